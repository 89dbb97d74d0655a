"""LangChain-ready molecule tools over :mod:`biomed_agent.molecules`.

Four tools, the interface contract other tools and agents rely on:
``molecule_properties(smiles)``, ``drug_likeness(smiles)``,
``molecule_similarity(query, candidates, k=5)`` and
``substructure_search(smarts, candidates)``. Each returns JSON-ready data; bad
input raises the typed error (``ToolSpec.run``) or comes back as a structured
``{"error": ...}`` result (``ToolSpec.as_langchain``).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from biomed_agent.molecules import (
    compute_properties,
    drug_likeness,
    murcko_scaffold,
    similarity_search,
    substructure_search,
    summarise,
    to_mol,
    to_smiles,
)
from biomed_agent.molecules.parsing import MAX_LINE_NOTATION_LENGTH
from biomed_agent.molecules.similarity import DEFAULT_FP_SIZE, DEFAULT_RADIUS
from biomed_agent.settings import Settings
from biomed_agent.tools.base import ToolSpec

__all__ = ["MAX_CANDIDATES", "MAX_K", "build_tools"]

MAX_CANDIDATES = 1_000
"""Most candidate molecules one tool call accepts (use the Python API for larger sets)."""
MAX_K = 100

_MOLECULE_TEXT = (
    "one molecule as SMILES (e.g. 'CC(=O)Oc1ccccc1C(=O)O' for aspirin) or standard InChI "
    "('InChI=1S/...'); no names, no whitespace"
)

Molecule = Annotated[
    str,
    Field(min_length=1, max_length=MAX_LINE_NOTATION_LENGTH, description=_MOLECULE_TEXT),
]
Candidates = Annotated[
    list[Molecule],
    Field(
        min_length=1,
        max_length=MAX_CANDIDATES,
        description=f"candidate molecules (SMILES or InChI), 1 to {MAX_CANDIDATES}",
    ),
]


class _Arguments(BaseModel):
    # unknown argument names (typos such as "smile") are errors, not silently ignored
    model_config = ConfigDict(extra="forbid")


class MoleculeArgs(_Arguments):
    """Arguments of ``molecule_properties`` and ``drug_likeness``."""

    smiles: Molecule


class SimilarityArgs(_Arguments):
    """Arguments of ``molecule_similarity``."""

    query: Molecule
    candidates: Candidates
    k: int = Field(
        default=5, ge=1, le=MAX_K, description=f"how many top hits to return, 1 to {MAX_K}"
    )


class SubstructureArgs(_Arguments):
    """Arguments of ``substructure_search``."""

    smarts: str = Field(
        min_length=1,
        max_length=MAX_LINE_NOTATION_LENGTH,
        description="SMARTS pattern to look for, e.g. 'c1ccccc1' (benzene ring), "
        "'C(=O)[OH]' (carboxylic acid), '[NX3;H2]' (primary amine)",
    )
    candidates: Candidates


def molecule_properties(smiles: str) -> dict[str, Any]:
    """Identifiers, physchem descriptors, QED, SA score and Murcko scaffold of one molecule."""
    mol = to_mol(smiles)
    return {**compute_properties(mol), "murcko_scaffold": murcko_scaffold(mol)}


def drug_likeness_report(smiles: str) -> dict[str, Any]:
    """Lipinski, Veber, PAINS/Brenk alerts, QED and SA score, plus a one-sentence summary."""
    report = drug_likeness(smiles)
    return {**report, "summary": summarise(report)}


def molecule_similarity(query: str, candidates: list[str], k: int = 5) -> dict[str, Any]:
    """The ``k`` candidates most similar to ``query`` by Morgan-fingerprint Tanimoto."""
    hits = similarity_search(query, candidates, k)
    return {
        "query": to_smiles(query),
        "fingerprint": f"Morgan radius {DEFAULT_RADIUS}, {DEFAULT_FP_SIZE} bits; Tanimoto",
        "candidates_searched": len(candidates),
        "hits": hits,
    }


def find_substructure(smarts: str, candidates: list[str]) -> dict[str, Any]:
    """Candidates containing the SMARTS pattern, with matched atom indices."""
    hits = substructure_search(smarts, candidates)
    return {
        "smarts": smarts,
        "candidates_searched": len(candidates),
        "match_count": len(hits),
        "matches": hits,
    }


def build_tools(settings: Settings) -> list[ToolSpec]:
    """The four molecule tools (they need no settings: RDKit runs locally)."""
    return [
        ToolSpec(
            name="molecule_properties",
            func=molecule_properties,
            args_schema=MoleculeArgs,
            description="""\
Compute identifiers and physicochemical properties of one molecule given as SMILES or InChI.
Returns canonical_smiles, inchi, inchikey, formula, molecular_weight (g/mol), exact_mass,
logp (Crippen), tpsa (Å²), rotatable_bonds, ring_count, aromatic_ring_count, heavy_atom_count,
fraction_csp3, formal_charge, qed (0-1, higher is more drug-like), sa_score (synthetic
accessibility, 1 easy to 10 hard) and murcko_scaffold. H-bond counts come in two conventions:
hbd_lipinski/hba_lipinski are Lipinski's NH+OH and N+O counts (used by the rule of five);
hbd/hba are RDKit's pharmacophore-based donor/acceptor counts. Use a SMILES, not a drug name.""",
        ),
        ToolSpec(
            name="drug_likeness",
            func=drug_likeness_report,
            args_schema=MoleculeArgs,
            description="""\
Judge whether one molecule (SMILES or InChI) is drug-like and flag problem substructures.
Returns lipinski and veber ({passes, violations: [{property, value, limit}]}; Lipinski passes
with at most one violation, Veber needs rotatable_bonds <= 10 and tpsa <= 140), alerts
({pains: [...], brenk: [...]}: names of matched PAINS assay-interference and Brenk
unwanted-group filters), qed, sa_score and a one-sentence summary.""",
        ),
        ToolSpec(
            name="molecule_similarity",
            func=molecule_similarity,
            args_schema=SimilarityArgs,
            description="""\
Rank candidate molecules by structural similarity to a query molecule and return the top k.
Similarity is Tanimoto on Morgan fingerprints (radius 2, 2048 bits): 1.0 means identical
fingerprints, above ~0.4 usually means close analogues. Each hit gives the candidate's
index in the list, the candidate as given, and its similarity. Give SMILES, not names.""",
        ),
        ToolSpec(
            name="substructure_search",
            func=find_substructure,
            args_schema=SubstructureArgs,
            description="""\
Find which candidate molecules contain a substructure written as a SMARTS pattern.
Returns the matching candidates in input order with their index, the candidate as given,
how many times the pattern occurs and the matched atom indices. Example patterns:
'c1ccccc1' benzene ring, 'C(=O)[OH]' carboxylic acid, 'c1ccc(Nc2ncccn2)cc1'
anilino-pyrimidine (kinase hinge binder).""",
        ),
    ]
