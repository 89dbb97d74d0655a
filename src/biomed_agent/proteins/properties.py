"""Physico-chemical properties of a protein sequence (Biopython ProtParam).

Non-standard residues (see :mod:`.sequences`) follow one rule: a property is
``None`` — with the reason in :attr:`ProteinProperties.undefined` — when the
sequence holds a residue that could change its value and that the property's
parameter table has no entry for. ``U`` and ``O`` have exact masses, so the
molecular weight stays defined for selenoproteins; the Kyte-Doolittle and DIWV
tables cover only the standard 20, so GRAVY and the instability index do not;
``X`` could be anything, so every composition-based value is undefined.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from biomed_agent.proteins.sequences import NONSTANDARD_RESIDUES

__all__ = ["ProteinProperties", "compute_properties"]

# property -> (non-standard residues it cannot account for, the parameters it lacks them in)
_UNCOVERED: dict[str, tuple[str, str]] = {
    "molecular_weight": ("XBZ", "the residue mass table"),
    "isoelectric_point": ("XBZU", "the pKa table"),
    "gravy": ("XBZUO", "the Kyte-Doolittle scale"),
    "aromaticity": ("X", "the F/W/Y count"),
    "instability_index": ("XBZUO", "the DIWV dipeptide table"),
    "extinction_coefficient": ("X", "the W/Y/C absorbance count"),
}
_STABLE_BELOW = 40.0  # Guruprasad et al. 1990: instability index < 40 means stable in vitro


@dataclass(frozen=True)
class ProteinProperties:
    """ProtParam values of one sequence; ``None`` where :attr:`undefined` says why."""

    length: int
    molecular_weight: float | None
    """Average mass in daltons."""
    isoelectric_point: float | None
    gravy: float | None
    """Grand average of hydropathy (Kyte-Doolittle); positive = hydrophobic."""
    aromaticity: float | None
    """Fraction of F + W + Y."""
    instability_index: float | None
    """Guruprasad index; below 40 predicts a protein stable in vitro."""
    extinction_coefficient_reduced: int | None
    """Molar extinction at 280 nm (M⁻¹ cm⁻¹), all cysteines reduced."""
    extinction_coefficient_cystines: int | None
    """Molar extinction at 280 nm (M⁻¹ cm⁻¹), all cysteine pairs forming cystines."""
    nonstandard_residues: dict[str, int] = field(default_factory=dict)
    undefined: dict[str, str] = field(default_factory=dict)

    @property
    def stable(self) -> bool | None:
        """Instability index below 40 (``None`` when the index is undefined)."""
        return None if self.instability_index is None else self.instability_index < _STABLE_BELOW

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values, rounded to what the underlying scales can resolve."""
        data = asdict(self)
        for key, digits in (
            ("molecular_weight", 2),
            ("isoelectric_point", 2),
            ("gravy", 3),
            ("aromaticity", 4),
            ("instability_index", 2),
        ):
            if data[key] is not None:
                data[key] = round(data[key], digits)
        data["stable"] = self.stable
        return data


def compute_properties(sequence: str) -> ProteinProperties:
    """Properties of a sequence already validated by :func:`.sequences.parse_sequence`."""
    from Bio.SeqUtils.ProtParam import ProteinAnalysis

    counts = Counter(sequence)
    present = {code: counts[code] for code in NONSTANDARD_RESIDUES if counts[code]}
    undefined = {
        name: f"sequence contains {', '.join(sorted(set(codes) & present.keys()))}, "
        f"which {table} has no value for"
        for name, (codes, table) in _UNCOVERED.items()
        if set(codes) & present.keys()
    }
    analysis = ProteinAnalysis(sequence)

    def value(name: str, compute: Callable[[], Any]) -> Any:
        return None if name in undefined else compute()

    extinction = value("extinction_coefficient", analysis.molar_extinction_coefficient)
    return ProteinProperties(
        length=len(sequence),
        molecular_weight=value("molecular_weight", analysis.molecular_weight),
        isoelectric_point=value("isoelectric_point", analysis.isoelectric_point),
        gravy=value("gravy", analysis.gravy),
        aromaticity=value("aromaticity", analysis.aromaticity),
        instability_index=value("instability_index", analysis.instability_index),
        extinction_coefficient_reduced=None if extinction is None else int(extinction[0]),
        extinction_coefficient_cystines=None if extinction is None else int(extinction[1]),
        nonstandard_residues=present,
        undefined=undefined,
    )
