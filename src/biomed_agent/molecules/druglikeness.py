"""Drug-likeness: Lipinski's rule of five, Veber's rules, PAINS and Brenk alerts.

Rules are judged on a :class:`MoleculeProperties` dict, so properties computed once
serve both reports; alerts come from :mod:`biomed_agent.molecules.alerts`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict

import numpy as np
from rdkit import Chem

from biomed_agent.molecules.alerts import StructuralAlerts, structural_alerts
from biomed_agent.molecules.batch import OnError, parallel_map
from biomed_agent.molecules.descriptors import MoleculeProperties, compute_properties
from biomed_agent.molecules.parsing import MolLike, to_heavy_mol
from biomed_agent.molecules.screening import pattern_bits

__all__ = [
    "LIPINSKI_LIMITS",
    "VEBER_LIMITS",
    "DrugLikeness",
    "MoleculeProfile",
    "RuleReport",
    "Verdict",
    "Violation",
    "describe_violations",
    "drug_likeness",
    "lipinski",
    "profile",
    "profile_many",
    "summarise",
    "veber",
    "verdict",
]

# (property, upper limit): Lipinski et al., Adv. Drug Deliv. Rev. 23 (1997) 3-25,
# with the N+O / NH+OH counts of the original paper.
LIPINSKI_LIMITS: tuple[tuple[str, float], ...] = (
    ("molecular_weight", 500),
    ("logp", 5),
    ("hbd_lipinski", 5),
    ("hba_lipinski", 10),
)
# Veber et al., J. Med. Chem. 45 (2002) 2615-2623.
VEBER_LIMITS: tuple[tuple[str, float], ...] = (("rotatable_bonds", 10), ("tpsa", 140))


class Violation(TypedDict):
    """One broken rule: the property, its value and the limit it exceeds."""

    property: str
    value: float
    limit: float


class RuleReport(TypedDict):
    """A rule set's verdict with every violation listed."""

    passes: bool
    violations: list[Violation]


class DrugLikeness(TypedDict):
    """The ``drug_likeness`` report of one molecule."""

    canonical_smiles: str
    lipinski: RuleReport
    veber: RuleReport
    alerts: StructuralAlerts
    qed: float
    sa_score: float


class MoleculeProfile(TypedDict):
    """Properties and drug-likeness of one molecule, computed together."""

    properties: MoleculeProperties
    drug_likeness: DrugLikeness


def _violations(
    properties: MoleculeProperties, limits: tuple[tuple[str, float], ...]
) -> list[Violation]:
    values: dict[str, float] = properties  # type: ignore[assignment]
    return [
        {"property": name, "value": values[name], "limit": limit}
        for name, limit in limits
        if values[name] > limit
    ]


def lipinski(properties: MoleculeProperties) -> RuleReport:
    """Rule of five: MW <= 500, logP <= 5, NH+OH <= 5, N+O <= 10.

    ``passes`` allows one violation, as Lipinski states (poor absorption is likely
    when two or more rules are broken); every violation is listed either way.
    """
    violations = _violations(properties, LIPINSKI_LIMITS)
    return {"passes": len(violations) <= 1, "violations": violations}


def veber(properties: MoleculeProperties) -> RuleReport:
    """Oral bioavailability rules: rotatable bonds <= 10 and TPSA <= 140 Å², both required."""
    violations = _violations(properties, VEBER_LIMITS)
    return {"passes": not violations, "violations": violations}


def _report(mol: Chem.Mol, properties: MoleculeProperties, bits: np.ndarray) -> DrugLikeness:
    return {
        "canonical_smiles": properties["canonical_smiles"],
        "lipinski": lipinski(properties),
        "veber": veber(properties),
        "alerts": structural_alerts(mol, screen_bits=bits),
        "qed": properties["qed"],
        "sa_score": properties["sa_score"],
    }


def drug_likeness(value: MolLike, properties: MoleculeProperties | None = None) -> DrugLikeness:
    """Lipinski, Veber, PAINS/Brenk alerts, QED and SA score of one molecule.

    Pass ``properties`` from :func:`compute_properties` to avoid computing them again.

    Raises:
        InvalidMoleculeError: the input does not parse.
    """
    mol = to_heavy_mol(value)
    bits = pattern_bits(mol)
    props = properties if properties is not None else compute_properties(mol, screen_bits=bits)
    return _report(mol, props, bits)


QED_UNATTRACTIVE = 0.35
"""Below this QED a compound is scored unattractive (Bickerton et al., Nat. Chem. 4 (2012)
90-98: mean QED of chemists' 'unattractive' picks 0.34, of oral drugs 0.49)."""
SA_HARD = 6.0
"""Above this SA score synthesis is hard (Ertl & Schuffenhauer, J. Cheminf. 1 (2009) 8:
1 easy .. 10 very hard; most catalogue compounds score 2-4)."""


class Verdict(TypedDict):
    """The overall drug-likeness call and every reason that shaped it."""

    label: str
    """``drug-like``, ``borderline`` or ``not drug-like``."""
    reasons: list[str]


def verdict(report: DrugLikeness) -> Verdict:
    """One call weighing the rule sets, PAINS, QED and SA score together.

    ``not drug-like`` when Lipinski (more than one violation) or Veber fails;
    ``borderline`` when the rules pass but a PAINS alert fires, QED is below
    :data:`QED_UNATTRACTIVE` or SA score is above :data:`SA_HARD`; else ``drug-like``.
    """
    reasons: list[str] = []
    if not report["lipinski"]["passes"]:
        reasons.append(f"fails Lipinski ({describe_violations(report['lipinski'])})")
    if not report["veber"]["passes"]:
        reasons.append(f"fails Veber ({describe_violations(report['veber'])})")
    if reasons:
        return {"label": "not drug-like", "reasons": reasons}
    if report["alerts"]["pains"]:
        reasons.append(f"PAINS alert {', '.join(report['alerts']['pains'])}")
    if report["qed"] < QED_UNATTRACTIVE:
        reasons.append(f"QED {report['qed']:.2f} < {QED_UNATTRACTIVE}")
    if report["sa_score"] > SA_HARD:
        reasons.append(f"SA score {report['sa_score']:.2f} > {SA_HARD:g}")
    return {"label": "borderline" if reasons else "drug-like", "reasons": reasons}


def describe_violations(result: RuleReport) -> str:
    """Violations as text, e.g. ``molecular_weight 589.7 > 500, logp 5.6 > 5``; ``""`` if none."""
    return ", ".join(
        f"{v['property']} {v['value']:g} > {v['limit']:g}" for v in result["violations"]
    )


def summarise(report: DrugLikeness) -> str:
    """One sentence stating every verdict, for people and LLMs reading a report."""

    def verdict(rule: str, result: RuleReport) -> str:
        broken = describe_violations(result)
        state = "passes" if result["passes"] else "fails"
        return f"{state} {rule}" + (f" ({broken})" if broken else "")

    alerts = report["alerts"]
    flagged = [f"PAINS: {', '.join(alerts['pains'])}"] if alerts["pains"] else []
    flagged += [f"Brenk: {', '.join(alerts['brenk'])}"] if alerts["brenk"] else []
    return (
        f"{verdict('Lipinski', report['lipinski'])}; {verdict('Veber', report['veber'])}; "
        + (f"structural alerts: {'; '.join(flagged)}" if flagged else "no PAINS/Brenk alerts")
        + f"; QED {report['qed']:.2f}, SA score {report['sa_score']:.2f}."
    )


def profile(value: MolLike) -> MoleculeProfile:
    """Properties and drug-likeness together, every descriptor computed once."""
    mol = to_heavy_mol(value)
    bits = pattern_bits(mol)  # one pattern fingerprint screens QED's and the catalog's alerts
    properties = compute_properties(mol, screen_bits=bits)
    return {"properties": properties, "drug_likeness": _report(mol, properties, bits)}


def profile_many(
    mols: Sequence[MolLike],
    *,
    n_jobs: int = 1,
    progress: bool = False,
    on_error: OnError = "raise",
) -> list[MoleculeProfile | None]:
    """:func:`profile` over a batch (``n_jobs``, ``progress``, ``on_error`` as everywhere)."""
    return parallel_map(profile, mols, n_jobs=n_jobs, progress=progress, on_error=on_error)
