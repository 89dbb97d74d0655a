"""Substructure search with SMARTS, and Bemis-Murcko scaffolds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict

from rdkit import Chem
from rdkit.Chem.Scaffolds import MurckoScaffold

from biomed_agent.errors import InvalidQueryError, shorten
from biomed_agent.molecules.batch import OnError, parallel_map
from biomed_agent.molecules.parsing import (
    MAX_LINE_NOTATION_LENGTH,
    MolLike,
    as_text,
    quiet_rdkit,
    to_mol,
)

__all__ = ["SubstructureHit", "murcko_scaffold", "substructure_search", "to_query"]


class SubstructureHit(TypedDict):
    """A candidate containing the pattern: its index, the candidate as given, the matches."""

    index: int
    smiles: str
    match_count: int
    atom_indices: list[list[int]]


def to_query(smarts: str) -> Chem.Mol:
    """Parse a SMARTS pattern.

    Raises:
        InvalidQueryError: not a string, empty, too long, or not valid SMARTS.
    """
    if not isinstance(smarts, str) or not smarts.strip():
        raise InvalidQueryError(
            f"SMARTS pattern must be a non-empty string such as 'c1ccccc1', got {shorten(smarts)}",
            input_name=shorten(smarts),
        )
    text = smarts.strip()
    if len(text) > MAX_LINE_NOTATION_LENGTH:
        raise InvalidQueryError(
            f"SMARTS {shorten(smarts)} is longer than the "
            f"{MAX_LINE_NOTATION_LENGTH:,}-character limit",
            input_name=shorten(smarts),
        )
    with quiet_rdkit():
        query = Chem.MolFromSmarts(text)
    if query is None:
        raise InvalidQueryError(
            f"could not parse SMARTS {shorten(smarts)}; check brackets, ring-closure digits "
            "and atom primitives (e.g. 'c1ccccc1', '[NX3;H2]', 'C(=O)[OH]')",
            input_name=shorten(smarts),
        )
    return query


class _Matcher:
    """Picklable per-molecule matcher (RDKit query molecules pickle with their queries)."""

    def __init__(self, query: Chem.Mol, max_matches: int) -> None:
        self.query, self.max_matches = query, max_matches

    def __call__(self, value: MolLike) -> list[list[int]]:
        matches = to_mol(value).GetSubstructMatches(
            self.query, uniquify=True, maxMatches=self.max_matches
        )
        return [list(match) for match in matches]


def substructure_search(
    smarts: str,
    candidates: Sequence[MolLike],
    *,
    max_matches: int = 100,
    n_jobs: int = 1,
    progress: bool = False,
    on_error: OnError = "raise",
) -> list[SubstructureHit]:
    """Candidates that contain the SMARTS pattern, in input order, with matched atom indices.

    Raises:
        InvalidQueryError: the SMARTS does not parse.
        InvalidMoleculeError: a candidate does not parse (``on_error="raise"``).
    """
    matcher = _Matcher(to_query(smarts), max_matches)  # a bad pattern fails first
    matches = parallel_map(
        matcher, candidates, n_jobs=n_jobs, progress=progress, on_error=on_error, label="candidate"
    )
    return [
        {
            "index": index,
            "smiles": as_text(candidates[index]),
            "match_count": len(found),
            "atom_indices": found,
        }
        for index, found in enumerate(matches)
        if found
    ]


def murcko_scaffold(value: MolLike) -> str:
    """Bemis-Murcko scaffold (ring systems and linkers) as canonical SMILES; ``""`` if acyclic."""
    scaffold = MurckoScaffold.GetScaffoldForMol(to_mol(value))
    return Chem.MolToSmiles(scaffold)
