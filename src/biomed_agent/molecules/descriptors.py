"""Molecular properties: identifiers, physchem descriptors, QED and SA score.

:func:`compute_properties` computes everything once per molecule and returns a
JSON-ready dict; drug-likeness and the tools read from it instead of recomputing.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from functools import lru_cache
from types import ModuleType
from typing import TypedDict

import numpy as np
from rdkit import Chem, RDConfig
from rdkit.Chem import QED, rdMolDescriptors
from rdkit.Chem.FilterCatalog import FilterCatalog, FilterCatalogEntry, SmartsMatcher

from biomed_agent.errors import ConfigurationError
from biomed_agent.molecules.batch import OnError, parallel_map
from biomed_agent.molecules.parsing import (
    MolLike,
    inchikey_from_inchi,
    to_heavy_mol,
    to_inchi,
    to_mol,
)
from biomed_agent.molecules.screening import PatternScreen

__all__ = ["MoleculeProperties", "compute_many_properties", "compute_properties", "sa_score"]

_DECIMALS = 4
"""Floats are rounded to this many decimals (exact mass to 6): stable, readable JSON."""


class MoleculeProperties(TypedDict):
    """Properties of one molecule (keys are the tool contract of ``molecule_properties``).

    Two hydrogen-bond conventions are reported side by side:

    * ``hbd_lipinski`` / ``hba_lipinski``: Lipinski's rule-of-five counts, the number of
      N-H and O-H hydrogens and the number of N and O atoms (RDKit
      ``CalcNumLipinskiHBD`` / ``CalcNumLipinskiHBA``, alias ``NHOHCount`` / ``NOCount``).
      PubChem's donor/acceptor counts for simple molecules agree with these.
    * ``hbd`` / ``hba``: RDKit's pharmacophore definitions (``CalcNumHBD`` /
      ``CalcNumHBA``), which e.g. do not count an ester's sp3 oxygen as an acceptor.
    """

    canonical_smiles: str
    inchi: str | None
    inchikey: str | None
    formula: str
    molecular_weight: float
    exact_mass: float
    logp: float
    tpsa: float
    hbd: int
    hba: int
    hbd_lipinski: int
    hba_lipinski: int
    rotatable_bonds: int
    ring_count: int
    aromatic_ring_count: int
    heavy_atom_count: int
    fraction_csp3: float
    formal_charge: int
    qed: float
    sa_score: float


@lru_cache(maxsize=1)
def _sascorer() -> ModuleType:
    """Load Ertl & Schuffenhauer's ``sascorer`` from RDKit's Contrib directory, once.

    RDKit ships it as a loose script (no package), so it is loaded by file path under
    a private module name instead of putting Contrib on ``sys.path``.
    """
    path = os.path.join(RDConfig.RDContribDir, "SA_Score", "sascorer.py")
    spec = importlib.util.spec_from_file_location("_biomed_agent_sascorer", path)
    if spec is None or spec.loader is None or not os.path.exists(path):
        raise ConfigurationError(
            f"RDKit's SA_Score contrib module is missing (looked for {path}); install the "
            "PyPI 'rdkit' wheel, which ships rdkit/Contrib/SA_Score"
        )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.readFragmentScores()
    return module


def sa_score(value: MolLike) -> float:
    """Synthetic accessibility, 1 (easy) to 10 (hard), from RDKit Contrib's ``sascorer``."""
    return round(float(_sascorer().calculateScore(to_mol(value))), _DECIMALS)


@lru_cache(maxsize=1)
def _qed_alert_screen() -> PatternScreen:
    return PatternScreen(QED.StructuralAlerts)


@lru_cache(maxsize=1)
def _qed_alert_catalog() -> FilterCatalog:
    """QED's 116 structural alerts as one RDKit ``FilterCatalog`` (one entry per alert)."""
    catalog = FilterCatalog()
    for index, alert in enumerate(QED.StructuralAlerts):
        catalog.AddEntry(FilterCatalogEntry(str(index), SmartsMatcher(str(index), alert, 1)))
    return catalog


def _qed_alert_count(mol: Chem.Mol, bits: np.ndarray | None) -> int:
    """How many of QED's structural alerts ``mol`` matches (QED's ``ALERTS`` input).

    With the molecule's pattern fingerprint already at hand, only the alerts it leaves
    possible are matched; without it, computing one costs more than it saves
    (measured: ~0.3 ms for the fingerprint, half the alerts left), so all 116 are
    matched by one ``FilterCatalog.GetMatches`` call, which loops in C++.
    """
    if bits is None:
        return len(_qed_alert_catalog().GetMatches(mol))
    alerts = QED.StructuralAlerts
    return sum(
        1 for index in _qed_alert_screen().candidates(bits) if mol.HasSubstructMatch(alerts[index])
    )


def _qed_inputs(
    mol: Chem.Mol, bits: np.ndarray | None
) -> tuple[float, float, int, int, float, int, int, int]:
    """RDKit's ``QED.properties(mol)`` for an H-free ``mol``.

    The same eight inputs in the same order (MW, ALOGP, HBA, HBD, PSA, ROTB, AROM,
    ALERTS) and definitions as ``rdkit/Chem/QED.py``; only the count of QED's 116
    structural alerts is computed differently (:func:`_qed_alert_count`).
    """
    return (
        rdMolDescriptors._CalcMolWt(mol),
        rdMolDescriptors.CalcCrippenDescriptors(mol)[0],
        sum(len(mol.GetSubstructMatches(pattern)) for pattern in QED.Acceptors),
        rdMolDescriptors.CalcNumHBD(mol),
        rdMolDescriptors.CalcTPSA(mol),
        rdMolDescriptors.CalcNumRotatableBonds(
            mol, rdMolDescriptors.NumRotatableBondsOptions.Strict
        ),
        len(Chem.GetSSSR(Chem.DeleteSubstructs(Chem.Mol(mol), QED.AliphaticRings))),
        _qed_alert_count(mol, bits),
    )


def compute_properties(
    value: MolLike, *, screen_bits: np.ndarray | None = None
) -> MoleculeProperties:
    """Every property of :class:`MoleculeProperties`, each computed once.

    QED's inputs (MW, Crippen logP, RDKit HBD, TPSA, strict rotatable bonds) are
    computed once and serve as our own keys too. ``rotatable_bonds`` is RDKit's
    strict count (no amide C-N, no bonds to triple bonds); ``molecular_weight`` the
    average mass. ``screen_bits``: the H-free molecule's
    :func:`~biomed_agent.molecules.screening.pattern_bits` if the caller has them.

    Raises:
        InvalidMoleculeError: the input does not parse (see :func:`to_mol`).
    """
    mol = to_heavy_mol(value)
    inchi = to_inchi(mol)
    qed_inputs = _qed_inputs(mol, screen_bits)
    weight, logp, _, hbd, tpsa, rotatable, _, _ = qed_inputs
    return {
        "canonical_smiles": Chem.MolToSmiles(mol),
        "inchi": inchi,
        "inchikey": inchikey_from_inchi(inchi) if inchi else None,
        "formula": rdMolDescriptors.CalcMolFormula(mol),
        "molecular_weight": round(weight, _DECIMALS),
        "exact_mass": round(rdMolDescriptors.CalcExactMolWt(mol), 6),
        "logp": round(logp, _DECIMALS),
        "tpsa": round(tpsa, _DECIMALS),
        "hbd": hbd,
        "hba": rdMolDescriptors.CalcNumHBA(mol),
        "hbd_lipinski": rdMolDescriptors.CalcNumLipinskiHBD(mol),
        "hba_lipinski": rdMolDescriptors.CalcNumLipinskiHBA(mol),
        "rotatable_bonds": rotatable,
        "ring_count": rdMolDescriptors.CalcNumRings(mol),
        "aromatic_ring_count": rdMolDescriptors.CalcNumAromaticRings(mol),
        "heavy_atom_count": mol.GetNumHeavyAtoms(),
        "fraction_csp3": round(rdMolDescriptors.CalcFractionCSP3(mol), _DECIMALS),
        "formal_charge": Chem.GetFormalCharge(mol),
        "qed": round(QED.qed(mol, qedProperties=QED.QEDproperties(*qed_inputs)), _DECIMALS),
        "sa_score": round(float(_sascorer().calculateScore(mol)), _DECIMALS),
    }


def compute_many_properties(
    mols: Sequence[MolLike],
    *,
    n_jobs: int = 1,
    progress: bool = False,
    on_error: OnError = "raise",
) -> list[MoleculeProperties | None]:
    """:func:`compute_properties` over a batch (see :func:`parallel_map` for the arguments)."""
    return parallel_map(
        compute_properties, mols, n_jobs=n_jobs, progress=progress, on_error=on_error
    )
