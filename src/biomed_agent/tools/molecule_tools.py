"""LangChain-ready molecule tools over :mod:`biomed_agent.molecules`.

Four tools, the interface contract other tools and agents rely on:
``molecule_properties(smiles)``, ``drug_likeness(smiles)``,
``molecule_similarity(query, candidates, limit=5)`` and
``substructure_search(smarts, candidates)``. Each returns JSON-ready data; bad
input raises the typed error (``ToolSpec.run``) or comes back as a structured
``{"error": ...}`` result (``ToolSpec.as_langchain``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from biomed_agent.errors import InvalidMoleculeError, InvalidQueryError, shorten
from biomed_agent.molecules import (
    compute_properties,
    drug_likeness,
    profile_many,
    similarity_search,
    substructure_search,
    summarise,
    to_mol,
    to_smiles,
)
from biomed_agent.molecules.parsing import MAX_LINE_NOTATION_LENGTH
from biomed_agent.molecules.similarity import DEFAULT_FP_SIZE, DEFAULT_RADIUS
from biomed_agent.molecules.structure import scaffold_fields
from biomed_agent.settings import Settings
from biomed_agent.tools.base import ToolSpec

__all__ = ["MAX_CANDIDATES", "MAX_K", "RANK_KEYS", "build_tools", "profile_table"]

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
    limit: int = Field(
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
    return {**compute_properties(mol), **scaffold_fields(mol)}  # large: scaffold skipped, noted


def drug_likeness_report(smiles: str) -> dict[str, Any]:
    """Lipinski, Veber, PAINS/Brenk alerts, QED and SA score, plus a one-sentence summary."""
    report = drug_likeness(smiles)
    return {**report, "summary": summarise(report)}


def molecule_similarity(query: str, candidates: list[str], limit: int = 5) -> dict[str, Any]:
    """The ``limit`` candidates most similar to ``query`` by Morgan-fingerprint Tanimoto."""
    hits = similarity_search(query, candidates, limit)
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


RankBy = Literal["drug_likeness", "qed", "sa_score", "molecular_weight", "logp", "tpsa"]
RANK_KEYS: tuple[str, ...] = (
    "drug_likeness",
    "qed",
    "sa_score",
    "molecular_weight",
    "logp",
    "tpsa",
)
"""How :func:`profile_table` may rank: ``drug_likeness`` (rules passed, then QED) or one column."""
_ASCENDING = frozenset({"sa_score", "molecular_weight", "logp", "tpsa"})
_PROFILE_COLUMNS = (
    "molecular_weight",
    "logp",
    "tpsa",
    "hbd_lipinski",
    "hba_lipinski",
    "rotatable_bonds",
    "qed",
    "sa_score",
)


def _profile_row(index: int, label: str, smiles: str, profile: dict[str, Any]) -> dict[str, Any]:
    props, report = profile["properties"], profile["drug_likeness"]
    alerts = report["alerts"]
    lipinski_ok, veber_ok = report["lipinski"]["passes"], report["veber"]["passes"]
    return {
        "index": index,
        "label": label,
        "smiles": smiles,
        **{key: props[key] for key in _PROFILE_COLUMNS},
        "lipinski_passes": lipinski_ok,
        "lipinski_violations": len(report["lipinski"]["violations"]),
        "veber_passes": veber_ok,
        "pains": list(alerts["pains"]),
        "brenk": list(alerts["brenk"]),
        "drug_like": bool(lipinski_ok and veber_ok and not alerts["pains"]),
    }


def _rank_key(rank_by: str) -> Any:
    if rank_by == "drug_likeness":
        return lambda row: (
            not row["drug_like"],
            row["lipinski_violations"],
            len(row["brenk"]),
            -row["qed"],
        )
    sign = 1 if rank_by in _ASCENDING else -1
    return lambda row: sign * row[rank_by]


def profile_table(
    molecules: Sequence[str],
    labels: Sequence[str] | None = None,
    *,
    rank_by: str = "drug_likeness",
    n_jobs: int = 1,
) -> dict[str, Any]:
    """Profile many molecules with the batch engine and rank them; unparsable ones are listed.

    ``drug_likeness`` ranks molecules passing Lipinski and Veber without PAINS alerts
    first, then by fewer Lipinski violations and Brenk alerts, then by higher QED.
    Each row carries its 1-based ``rank`` and its ``index`` in ``molecules``; ``failed``
    names the molecules that did not parse.
    """
    if rank_by not in RANK_KEYS:
        raise InvalidQueryError(
            f"rank_by must be one of {', '.join(RANK_KEYS)}, got {rank_by!r}", input_name="rank_by"
        )
    names = list(labels) if labels else [f"molecule {i}" for i in range(len(molecules))]
    if len(names) != len(molecules):
        raise InvalidQueryError(
            f"labels has {len(names)} entries for {len(molecules)} molecules; give one label "
            "per molecule or none",
            input_name="labels",
        )
    profiles = profile_many(list(molecules), n_jobs=n_jobs, on_error="skip")
    rows = [
        _profile_row(index, name, smiles, profile)  # type: ignore[arg-type]
        for index, (name, smiles, profile) in enumerate(
            zip(names, molecules, profiles, strict=True)
        )
        if profile is not None
    ]
    rows.sort(key=_rank_key(rank_by))
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    failed = [
        {"label": name, "smiles": smiles}
        for name, smiles, profile in zip(names, molecules, profiles, strict=True)
        if profile is None
    ]
    if failed and not rows:
        raise InvalidMoleculeError(
            f"none of the {len(failed)} molecule(s) parses "
            f"(first: {shorten(failed[0]['smiles'])}); give SMILES or InChI strings",
            input_name="molecules",
        )
    return {
        "rank_by": rank_by,
        "profiled": len(rows),
        "drug_like_count": sum(row["drug_like"] for row in rows),
        "rows": rows,
        "failed": failed,
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
accessibility, 1 easy to 10 hard) and murcko_scaffold (null, with a reason in notes, above
500 heavy atoms; molecules over 1,000 heavy atoms are refused). H-bond counts come in two
conventions: hbd_lipinski/hba_lipinski are Lipinski's NH+OH and N+O counts (used by the
rule of five); hbd/hba are RDKit's pharmacophore-based donor/acceptor counts. Use a SMILES,
not a drug name.""",
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
Rank candidate molecules by structural similarity to a query molecule and return the top limit.
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
