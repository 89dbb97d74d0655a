"""Standardise a molecule before profiling it: parent compound, neutral, and what was removed.

Uses RDKit's ``rdMolStandardize`` as the ChEMBL structure pipeline does: cleanup
(normalise functional groups, disconnect metals), keep the largest *organic* fragment
(counter-ions, salts and solvents go), neutralise charges where a neutral form
exists. A medicinal chemist profiles the parent of ``imatinib mesylate``, not the salt;
a mixture ``aspirin.ibuprofen`` is two molecules, not one of MW 386.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rdkit import Chem
from rdkit.Chem.MolStandardize import rdMolStandardize

from biomed_agent.molecules.parsing import MolLike, quiet_rdkit, to_mol

__all__ = ["Standardized", "standardize"]

_ORGANIC = Chem.MolFromSmarts("[#6]")


@dataclass(frozen=True)
class Standardized:
    """The parent molecule of an input and what standardisation did to it."""

    input_smiles: str
    smiles: str | None
    """Canonical SMILES of the parent; None when nothing organic is left (inorganic salt)."""
    removed: tuple[str, ...] = ()
    """Canonical SMILES of every fragment dropped (counter-ions, solvents, other components)."""
    neutralized: bool = False
    organic_fragments: int = 1
    """How many distinct organic fragments the input had (more than one: a mixture)."""
    notes: tuple[str, ...] = field(default=())

    @property
    def inorganic(self) -> bool:
        """True when the input has no carbon-containing fragment."""
        return self.smiles is None

    @property
    def mixture(self) -> bool:
        """True when the input holds more than one distinct organic component."""
        return self.organic_fragments > 1


def standardize(value: MolLike) -> Standardized:
    """Cleanup, largest organic fragment, neutralise; every change listed in ``notes``.

    Raises:
        InvalidMoleculeError: the input does not parse.
    """
    mol = to_mol(value)
    original = Chem.MolToSmiles(mol)
    with quiet_rdkit():
        cleaned = rdMolStandardize.Cleanup(mol)
        fragments = [Chem.MolToSmiles(f) for f in Chem.GetMolFrags(cleaned, asMols=True)]
        organic = [
            f for f in Chem.GetMolFrags(cleaned, asMols=True) if f.HasSubstructMatch(_ORGANIC)
        ]
        if not organic:
            return Standardized(
                input_smiles=original,
                smiles=None,
                removed=tuple(dict.fromkeys(fragments)),
                organic_fragments=0,
                notes=("no carbon-containing component: an inorganic substance",),
            )
        # known counter-ions and solvents (RDKit's salt list) are not components of a mixture
        stripped = rdMolStandardize.FragmentRemover().remove(cleaned)
        distinct = {
            Chem.MolToSmiles(f)
            for f in Chem.GetMolFrags(stripped, asMols=True)
            if f.HasSubstructMatch(_ORGANIC)
        } or {Chem.MolToSmiles(f) for f in organic}
        parent = rdMolStandardize.LargestFragmentChooser(preferOrganic=True).choose(cleaned)
        charged = Chem.MolToSmiles(parent)
        neutral = rdMolStandardize.Uncharger().uncharge(parent)
        smiles = Chem.MolToSmiles(neutral)
    removed = list(dict.fromkeys(f for f in fragments if f != charged))
    notes = []
    if removed:
        notes.append(f"removed {', '.join(removed)} (kept the largest organic component)")
    if smiles != charged:
        notes.append(f"neutralised {charged} to {smiles}")
    return Standardized(
        input_smiles=original,
        smiles=smiles,
        removed=tuple(removed),
        neutralized=smiles != charged,
        organic_fragments=len(distinct),
        notes=tuple(notes),
    )
