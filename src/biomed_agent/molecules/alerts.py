"""PAINS and Brenk structural alerts from RDKit's FilterCatalog, with a fast pre-screen.

Matching one molecule against all 585 PAINS + Brenk entries costs several
milliseconds, mostly in PAINS patterns that cannot match. PAINS entries are
therefore pre-screened (:mod:`biomed_agent.molecules.screening`) with the PAINS
SMARTS RDKit ships (``Data/Pains/wehi_pains.csv``, the source of its PAINS
catalog); the match itself is always the catalog entry's own. Entries without a
known SMARTS (Brenk) are always matched. Tests and the benchmark check that the
result equals ``FilterCatalog.GetMatches`` on real molecules.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TypedDict

import numpy as np
from rdkit import Chem, RDConfig
from rdkit.Chem.FilterCatalog import FilterCatalog, FilterCatalogEntry, FilterCatalogParams

from biomed_agent.molecules.parsing import MolLike, quiet_rdkit, to_mol
from biomed_agent.molecules.screening import PatternScreen, pattern_bits

__all__ = ["StructuralAlerts", "alert_catalog", "structural_alerts"]

_PAINS_SMARTS = os.path.join(RDConfig.RDDataDir, "Pains", "wehi_pains.csv")


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


def _pains_queries() -> dict[str, Chem.Mol]:
    """PAINS query molecules by entry name; empty where this RDKit build lacks the file."""
    if not os.path.exists(_PAINS_SMARTS):
        return {}
    with open(_PAINS_SMARTS, newline="") as handle, quiet_rdkit():
        rows = [
            (re.fullmatch(r"<regId=(.+)>", label), smarts) for smarts, label in csv.reader(handle)
        ]
        return {
            match.group(1): query
            for match, smarts in rows
            if match and (query := Chem.MolFromSmarts(smarts, mergeHs=True)) is not None
        }


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
    names = tuple(entry.GetDescription() for entry in entries)
    is_pains = tuple(entry.GetProp("FilterSet").startswith("PAINS") for entry in entries)
    pains = _pains_queries()
    queries = [
        pains.get(name) if flag else None for name, flag in zip(names, is_pains, strict=True)
    ]
    return _ScreenedCatalog(entries, names, is_pains, PatternScreen(queries))


def structural_alerts(value: MolLike, *, screen_bits: np.ndarray | None = None) -> StructuralAlerts:
    """PAINS (families A-C) and Brenk alerts the molecule matches, by entry name, sorted.

    ``screen_bits``: the molecule's :func:`~biomed_agent.molecules.screening.pattern_bits`
    when the caller already has them (saves recomputing them).
    """
    mol = to_mol(value)
    bits = pattern_bits(mol) if screen_bits is None else screen_bits
    return _screened_catalog().matches(mol, bits)
