"""Argument schemas of the drug-discovery tools (:mod:`biomed_agent.tools.discovery_tools`)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from biomed_agent.retrievers.pubchem import LIST_BATCH

__all__ = [
    "DESCRIPTIONS",
    "MAX_PROFILE",
    "BioactivityArgs",
    "CompoundArgs",
    "ProfileArgs",
    "SimilarCompoundsArgs",
    "TargetLigandsArgs",
]

MAX_PROFILE = LIST_BATCH
"""Most molecules one ``profile_molecules`` call takes: PubChem's one-POST list size."""
_QUERY_TEXT = "compound name ('caffeine'), PubChem CID (2519) or SMILES"


class _Arguments(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TargetLigandsArgs(_Arguments):
    target: str = Field(
        min_length=1,
        max_length=200,
        description="protein: UniProt accession ('P30542'), gene ('ADORA1') or name "
        "('adenosine A1 receptor')",
    )
    organism: str | None = Field(
        default="9606", max_length=200, description="taxon id or name for name searches"
    )
    limit: int = Field(
        default=20, ge=0, le=500, description="most PubChem-active compounds added (0: none)"
    )


class SimilarCompoundsArgs(_Arguments):
    query: str = Field(min_length=1, max_length=2000, description=_QUERY_TEXT)
    mode: Literal["similarity", "substructure", "identity"] = Field(
        default="similarity", description="PubChem search: 2D similarity, substructure, identity"
    )
    threshold: int = Field(
        default=90, ge=0, le=100, description="2D similarity threshold in percent (PubChem)"
    )
    limit: int = Field(default=20, ge=1, le=1000, description="most PubChem hits fetched")
    max_tpsa: float | None = Field(default=None, gt=0, description="keep TPSA below this (Å²)")
    max_molecular_weight: float | None = Field(
        default=None, gt=0, description="keep molecular weight below this (g/mol)"
    )
    max_xlogp: float | None = Field(default=None, description="keep XLogP below this")


class CompoundArgs(_Arguments):
    query: str = Field(min_length=1, max_length=2000, description=_QUERY_TEXT)


class BioactivityArgs(CompoundArgs):
    limit: int = Field(default=10, ge=1, le=200, description="most targets listed")


class ProfileArgs(_Arguments):
    molecules: Annotated[list[str], Field(min_length=1, max_length=MAX_PROFILE)] | None = Field(
        default=None, description="SMILES or InChI strings to profile (or give cids)"
    )
    cids: (
        Annotated[list[Annotated[int, Field(gt=0)]], Field(min_length=1, max_length=MAX_PROFILE)]
        | None
    ) = Field(default=None, description="PubChem CIDs to profile (SMILES fetched in one request)")
    labels: list[str] | None = Field(default=None, description="one label per molecule")
    rank_by: Literal["drug_likeness", "qed", "sa_score", "molecular_weight", "logp", "tpsa"] = (
        "drug_likeness"
    )
    limit: int = Field(default=20, ge=1, le=MAX_PROFILE, description="rows returned")

    @model_validator(mode="after")
    def _one_input(self) -> ProfileArgs:
        if (self.molecules is None) == (self.cids is None):
            raise ValueError("give exactly one of molecules (SMILES) or cids")
        return self


DESCRIPTIONS: dict[str, str] = {
    "target_ligands": """\
Known drugs and ligands of a protein target (UniProt accession, gene or protein name).
Returns target (accession, name, gene, organism, url), ligands (each with cid, name,
listed_in 'DrugBank' (from the UniProt entry) or 'PubChem bioassay', drugbank_id, smiles,
molecular_weight, tpsa, xlogp, and where PubChem has data active_assays, tested_assays,
best_potency_um, best_activity, best_aid; compound_url = PubChem page), cross_references
(ChEMBL, Guide to Pharmacology, DrugCentral, BindingDB records of the target) and a note.""",
    "similar_compounds": """\
Find analogs of a compound in PubChem (2D similarity, substructure or identity search).
The query is a name, CID or SMILES; hits can be kept below max_tpsa,
max_molecular_weight, max_xlogp (PubChem's values). Hits are re-ranked locally by RDKit
Morgan Tanimoto to the query. Returns the query's cid, name, smiles and query_url,
pubchem_hits, removed_by_filters and analogs (cid, name, smiles, molecular_weight, tpsa,
xlogp, tanimoto, pubchem_rank, compound_url).""",
    "compound_bioactivity": """\
PubChem bioactivity of one compound (name, CID or SMILES): assay counts and targets.
Returns assays_tested, active_assays, inactive_assays, inconclusive_assays and targets
(gene symbol, name, accession, active and tested assay counts, best_potency_um = lowest
active potency in µM with its activity name, assay id and assay_url), most potent first;
compound_url is the compound page.""",
    "compound_safety": """\
Safety of one compound (name, CID or SMILES): PubChem GHS hazards and structural alerts.
Returns GHS classifications (one per depositor: depositor, depositor_url, signal word,
pictograms, hazard statements such as 'H301: Toxic if swallowed', precautionary codes)
and RDKit PAINS/Brenk structural alerts computed on PubChem's SMILES; compound_url is the
compound page.""",
    "profile_molecules": f"""\
Profile and rank up to {MAX_PROFILE} molecules by drug-likeness (SMILES or PubChem CIDs).
CIDs are fetched in one PubChem request. Each row: molecular_weight, logp, tpsa,
H-bond donors/acceptors, rotatable_bonds, qed, sa_score, Lipinski/Veber verdicts,
PAINS/Brenk alerts and drug_like, ranked by rank_by (drug_likeness: rule-passing
molecules first, then higher QED). Returns the first limit rows.""",
}
"""What each tool does and returns, as the LLM and `biomed-agent tools` show it."""
