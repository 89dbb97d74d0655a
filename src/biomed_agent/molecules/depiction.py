"""2D depictions as SVG text (Jupyter, HTML reports) and PNG bytes (files, chat UIs)."""

from __future__ import annotations

from typing import cast

from rdkit import Chem
from rdkit.Chem.Draw import rdMolDraw2D

from biomed_agent.errors import InvalidQueryError
from biomed_agent.molecules.parsing import MolLike, to_mol
from biomed_agent.molecules.structure import to_query

__all__ = ["to_png", "to_svg"]

_MAX_SIDE = 4096


def _check_size(width: int, height: int) -> None:
    for name, side in (("width", width), ("height", height)):
        if isinstance(side, bool) or not isinstance(side, int) or not 16 <= side <= _MAX_SIDE:
            raise InvalidQueryError(
                f"{name} must be an integer from 16 to {_MAX_SIDE} pixels, got {side!r}",
                input_name=name,
            )


def _render(
    drawer_class: type[rdMolDraw2D.MolDraw2D],
    value: MolLike,
    width: int,
    height: int,
    highlight: str | None,
    legend: str,
) -> str | bytes:
    _check_size(width, height)
    mol = to_mol(value)
    atoms: set[int] = set()
    if highlight is not None:
        for match in mol.GetSubstructMatches(to_query(highlight)):
            atoms.update(match)
    drawer = drawer_class(width, height)
    rdMolDraw2D.PrepareAndDrawMolecule(
        drawer, Chem.Mol(mol), legend=legend, highlightAtoms=sorted(atoms)
    )
    drawer.FinishDrawing()
    text: str | bytes = drawer.GetDrawingText()
    return text


def to_svg(
    value: MolLike,
    *,
    width: int = 300,
    height: int = 300,
    highlight: str | None = None,
    legend: str = "",
) -> str:
    """SVG drawing of the molecule; ``highlight`` is a SMARTS whose matched atoms are coloured.

    Wrap in ``IPython.display.SVG`` to show it in Jupyter.

    Raises:
        InvalidMoleculeError: the molecule does not parse.
        InvalidQueryError: bad ``highlight`` SMARTS or a size outside 16-4096 pixels.
    """
    return cast(str, _render(rdMolDraw2D.MolDraw2DSVG, value, width, height, highlight, legend))


def to_png(
    value: MolLike,
    *,
    width: int = 300,
    height: int = 300,
    highlight: str | None = None,
    legend: str = "",
) -> bytes:
    """PNG drawing of the molecule (bytes); arguments and errors as :func:`to_svg`."""
    return cast(bytes, _render(rdMolDraw2D.MolDraw2DCairo, value, width, height, highlight, legend))
