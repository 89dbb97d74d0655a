"""PAINS and Brenk structural alerts from RDKit's FilterCatalog, with a fast pre-screen.

Matching a molecule against all 585 PAINS + Brenk entries one by one costs several
milliseconds, nearly all of it in patterns that cannot match. Each entry is
therefore pre-screened (:mod:`biomed_agent.molecules.screening`) with the entry's
own SMARTS pattern, read back from the entry's serialised form (a boost archive
holding one pickled query molecule followed by its ``minCount maxCount``). The
match itself is always the catalog entry's own ``HasFilterMatch``. An entry whose
pattern cannot be read that way, or that could match with zero occurrences
(``minCount`` 0), is never screened out. Tests and the benchmark check that the
result equals ``FilterCatalog.GetMatches`` on real molecules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TypedDict

import numpy as np
from rdkit import Chem
from rdkit.Chem.FilterCatalog import FilterCatalog, FilterCatalogEntry, FilterCatalogParams

from biomed_agent.molecules.parsing import MolLike, to_heavy_mol
from biomed_agent.molecules.screening import PatternScreen, pattern_bits

__all__ = ["StructuralAlerts", "alert_catalog", "structural_alerts"]

# "<length> <RDKit mol pickle, starting with its magic number> <minCount> <maxCount> "
_PICKLED_QUERY = re.compile(rb" (\d+) (?=\xef\xbe\xad\xde)")


class StructuralAlerts(TypedDict):
    """Names of matched FilterCatalog entries, e.g. ``ene_five_het_A(201)``, ``thiol``."""

    pains: list[str]
    brenk: list[str]


@lru_cache(maxsize=1)
def alert_catalog() -> FilterCatalog:
    """RDKit's PAINS (A, B, C) + Brenk FilterCatalog, built once per process."""
    params = FilterCatalogParams()
    params.AddCatalog(FilterCatalogParams.FilterCatalogs.PAINS)
    params.AddCatalog(FilterCatalogParams.FilterCatalogs.BRENK)
    return FilterCatalog(params)


def _screening_query(entry: FilterCatalogEntry) -> Chem.Mol | None:
    """The entry's single SMARTS query if it needs at least one occurrence, else None."""
    data = entry.Serialize()
    found = list(_PICKLED_QUERY.finditer(data))
    if len(found) != 1:
        return None  # no pattern, or a compound matcher: always match it
    start, size = found[0].end(), int(found[0].group(1))
    counts = re.match(rb" (\d+) (\d+) ", data[start + size :])
    if counts is None or int(counts.group(1)) < 1:
        return None
    try:
        return Chem.Mol(data[start : start + size])
    except RuntimeError:
        return None


@dataclass(frozen=True)
class _ScreenedCatalog:
    entries: tuple[FilterCatalogEntry, ...]
    names: tuple[str, ...]
    is_pains: tuple[bool, ...]
    screen: PatternScreen

    def matches(self, mol: Chem.Mol, bits: np.ndarray) -> StructuralAlerts:
        found: dict[bool, set[str]] = {True: set(), False: set()}
        for index in self.screen.candidates(bits):
            if self.entries[index].HasFilterMatch(mol):
                found[self.is_pains[index]].add(self.names[index])
        return {"pains": sorted(found[True]), "brenk": sorted(found[False])}


@lru_cache(maxsize=1)
def _screened_catalog() -> _ScreenedCatalog:
    catalog = alert_catalog()
    entries = tuple(catalog.GetEntryWithIdx(i) for i in range(catalog.GetNumEntries()))
    return _ScreenedCatalog(
        entries=entries,
        names=tuple(entry.GetDescription() for entry in entries),
        is_pains=tuple(entry.GetProp("FilterSet").startswith("PAINS") for entry in entries),
        screen=PatternScreen([_screening_query(entry) for entry in entries]),
    )


def structural_alerts(value: MolLike, *, screen_bits: np.ndarray | None = None) -> StructuralAlerts:
    """PAINS (families A-C) and Brenk alerts the molecule matches, by entry name, sorted.

    ``screen_bits``: the H-free molecule's
    :func:`~biomed_agent.molecules.screening.pattern_bits` if the caller has them.
    """
    mol = to_heavy_mol(value)
    return _screened_catalog().matches(
        mol, pattern_bits(mol) if screen_bits is None else screen_bits
    )
