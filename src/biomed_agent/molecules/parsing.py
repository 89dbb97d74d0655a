"""Parse molecules and write their identifiers, with one contract for bad input.

Every public function of :mod:`biomed_agent.molecules` accepts a *molecule-like*
value: an RDKit ``Mol`` (used as is) or a string in SMILES, InChI or molblock
notation. Text that does not give a sanitised molecule raises
:class:`~biomed_agent.errors.InvalidMoleculeError` naming the input; RDKit's
own log lines are blocked so nothing is printed to stderr.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Literal, TypeAlias

from rdkit import Chem, rdBase
from rdkit.Chem import rdinchi, rdMolDescriptors

from biomed_agent import deadlines
from biomed_agent.errors import InvalidMoleculeError, shorten

__all__ = [
    "MAX_ATOMS",
    "MAX_LINE_NOTATION_LENGTH",
    "MAX_MOLBLOCK_LENGTH",
    "InputFormat",
    "MolLike",
    "as_text",
    "inchikey_from_inchi",
    "quiet_rdkit",
    "to_formula",
    "to_heavy_mol",
    "to_inchi",
    "to_inchikey",
    "to_mol",
    "to_smiles",
]

MolLike: TypeAlias = "Chem.Mol | str"
InputFormat = Literal["auto", "smiles", "inchi", "molblock"]

MAX_LINE_NOTATION_LENGTH = 5_000
"""Longest SMILES/InChI accepted. ChEMBL's longest approved small-molecule SMILES has
under 500 characters; large peptides stay under this, runaway strings do not."""

MAX_MOLBLOCK_LENGTH = 1_000_000
"""Longest molblock accepted (about 12,000 atoms; :data:`MAX_ATOMS` applies after parsing)."""

MAX_ATOMS = 1_000
"""Most heavy atoms in one molecule. The largest peptide drugs (insulin glargine: about
420 heavy atoms) stay well under it; descriptor work on a 1,000-atom molecule takes
under 0.1 s (docs/security.md), while a 5,000-atom chain would keep a tool busy."""


@contextmanager
def quiet_rdkit() -> Iterator[None]:
    """Block RDKit's log output (parse errors, InChI warnings) for the enclosed calls."""
    blocker = rdBase.BlockLogs()
    try:
        yield
    finally:
        del blocker


_NOTATION = {"smiles": "SMILES", "inchi": "InChI", "molblock": "molblock"}


def _detect_format(text: str) -> Literal["smiles", "inchi", "molblock"]:
    if text.startswith("InChI="):
        return "inchi"
    if "\n" in text and ("M  END" in text or "V2000" in text or "V3000" in text):
        return "molblock"
    return "smiles"


def _checked_text(
    value: object, fmt: InputFormat
) -> tuple[str, Literal["smiles", "inchi", "molblock"]]:
    """Reject non-strings, blank and oversized text before RDKit sees it."""
    if not isinstance(value, str):
        raise InvalidMoleculeError(
            f"a molecule must be a SMILES/InChI/molblock string or an RDKit Mol, "
            f"got {type(value).__name__} {shorten(value)}",
            input_name=shorten(value),
        )
    stripped = value.strip()
    if not stripped:
        raise InvalidMoleculeError(
            f"empty molecule {shorten(value)}: pass a SMILES such as 'CCO'",
            input_name=shorten(value),
        )
    kind = _detect_format(stripped) if fmt == "auto" else fmt
    # a molblock's first (name) line may be blank, so it keeps its whitespace
    text = value if kind == "molblock" else stripped
    limit = MAX_MOLBLOCK_LENGTH if kind == "molblock" else MAX_LINE_NOTATION_LENGTH
    if len(text) > limit:
        raise InvalidMoleculeError(
            f"{_NOTATION[kind]} {shorten(value)} is longer than the {limit:,}-character limit; "
            "pass one molecule per string",
            input_name=shorten(value),
        )
    if kind != "molblock" and any(char.isspace() for char in text):
        raise InvalidMoleculeError(
            f"{_NOTATION[kind]} {shorten(value)} contains whitespace; pass exactly one molecule "
            "without a name or other text",
            input_name=shorten(value),
        )
    return text, kind


_READERS: dict[str, Callable[..., Chem.Mol | None]] = {
    "smiles": Chem.MolFromSmiles,
    "inchi": Chem.MolFromInchi,
    "molblock": Chem.MolFromMolBlock,
}


def _failure_reason(text: str, kind: str) -> str:
    """Why RDKit rejected ``text``: re-read it unsanitised and sanitise to get the message."""
    if kind == "inchi":
        return "not a valid standard InChI (expected e.g. 'InChI=1S/CH4/h1H4')"
    mol = _READERS[kind](text, sanitize=False)
    if mol is None:
        if kind == "molblock":
            return "syntax error; check the counts line and the atom and bond blocks"
        return "syntax error; check brackets, ring-closure digits and element symbols"
    try:
        Chem.SanitizeMol(mol)
    except Chem.AtomValenceException as exc:
        return f"valence error ({exc})"
    except Chem.KekulizeException as exc:
        return f"aromaticity error ({exc}); check lowercase aromatic atoms and [nH]"
    except Chem.MolSanitizeException as exc:
        return f"sanitisation failed ({exc})"
    return "RDKit could not build a molecule from it"


def to_mol(value: MolLike, *, input_format: InputFormat = "auto") -> Chem.Mol:
    """Parse SMILES, InChI (``InChI=...``) or a molblock into a sanitised RDKit molecule.

    ``input_format="auto"`` picks InChI for text starting with ``InChI=``, molblock
    for multi-line text holding a ``V2000``/``V3000``/``M  END`` line, SMILES
    otherwise. Parsing is RDKit's own (sanitised, stereo perceived, explicit H
    removed); an RDKit ``Mol`` is returned unchanged.

    Raises:
        InvalidMoleculeError: empty/whitespace text, text over the length limits, more
            than :data:`MAX_ATOMS` heavy atoms, syntax errors, valence or aromaticity
            errors; the message names the input.
    """
    deadlines.check("molecule parsing")  # loops over molecules stop at the call's deadline
    if isinstance(value, Chem.Mol):
        if value.GetNumAtoms() == 0:
            raise InvalidMoleculeError("the RDKit Mol has no atoms", input_name="Mol")
        return _check_size(value, "the RDKit Mol")
    text, kind = _checked_text(value, input_format)
    with quiet_rdkit():
        mol = _READERS[kind](text)
        if mol is None:
            raise InvalidMoleculeError(
                f"could not parse {_NOTATION[kind]} {shorten(text)}: {_failure_reason(text, kind)}",
                input_name=shorten(text),
            )
    if mol.GetNumAtoms() == 0:
        raise InvalidMoleculeError(
            f"{_NOTATION[kind]} {shorten(text)} has no atoms", input_name=shorten(text)
        )
    return _check_size(mol, f"{_NOTATION[kind]} {shorten(text)}")


def _check_size(mol: Chem.Mol, shown: str) -> Chem.Mol:
    """``mol`` if it has at most :data:`MAX_ATOMS` heavy atoms; a clear error otherwise."""
    heavy = mol.GetNumHeavyAtoms()
    if heavy > MAX_ATOMS:
        raise InvalidMoleculeError(
            f"{shown} has {heavy:,} heavy atoms, over the {MAX_ATOMS:,}-atom limit for one "
            "molecule; the molecule tools are for small molecules and peptides (use the "
            "protein tools for a protein sequence)",
            input_name=shown if len(shown) < 100 else "molecule",
        )
    return mol


def to_heavy_mol(value: MolLike) -> Chem.Mol:
    """:func:`to_mol` with explicit hydrogen atoms removed (a Mol may carry them)."""
    mol = to_mol(value)
    if mol.GetNumAtoms() == mol.GetNumHeavyAtoms():
        return mol
    with quiet_rdkit():  # "not removing hydrogen atom without neighbors"
        return Chem.RemoveHs(mol)


def to_smiles(value: MolLike, *, isomeric: bool = True) -> str:
    """Canonical SMILES (isomeric by default), the same for every spelling of a molecule."""
    return Chem.MolToSmiles(to_mol(value), isomericSmiles=isomeric)


def as_text(value: MolLike) -> str:
    """A molecule as the caller gave it: the string itself, or the canonical SMILES of a Mol."""
    return value if isinstance(value, str) else Chem.MolToSmiles(value)


def to_inchi(value: MolLike) -> str | None:
    """Standard InChI, or None for structures InChI cannot express (dummy atoms ``*``).

    RDKit's InChI binding is called directly with ``Chem.MolToInchi``'s own options
    (``/AuxNone``): the Python wrapper adds only the logging of InChI's warnings
    ("Omitted undefined stereo"), which cost about 0.06 ms per molecule and are discarded.
    """
    return rdinchi.MolToInchi(to_mol(value), "/AuxNone")[0] or None


def to_inchikey(value: MolLike) -> str | None:
    """Standard InChIKey (27 characters), or None where there is no InChI."""
    inchi = to_inchi(value)
    return inchikey_from_inchi(inchi) if inchi else None


def inchikey_from_inchi(inchi: str) -> str | None:
    """Hash an InChI already computed into its InChIKey without recomputing the InChI."""
    with quiet_rdkit():
        key = Chem.InchiToInchiKey(inchi)
    return key or None


def to_formula(value: MolLike) -> str:
    """Hill-order molecular formula with charge, e.g. ``C9H8O4``."""
    return str(rdMolDescriptors.CalcMolFormula(to_mol(value)))
