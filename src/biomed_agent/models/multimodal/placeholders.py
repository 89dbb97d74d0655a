"""Where molecules and proteins go in a BioMedGPT-10B prompt (pure text handling, no torch).

A prompt marks each encoder input with ``<moleculeHere>`` or ``<proteinHere>``;
OpenBioMed's chat wraps them as ``<molecule><moleculeHere></molecule>`` and
``<protein><proteinHere></protein>`` in the human turn, followed by the question.
Inputs fill the placeholders of their kind in order of appearance, and every
placeholder needs exactly one input.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from biomed_agent.errors import InvalidInputError

__all__ = [
    "MOLECULE_PLACEHOLDER",
    "MOLECULE_TURN",
    "PROTEIN_PLACEHOLDER",
    "PROTEIN_TURN",
    "PlaceholderKind",
    "check_placeholder_counts",
    "split_prompt",
]

MOLECULE_PLACEHOLDER = "<moleculeHere>"
PROTEIN_PLACEHOLDER = "<proteinHere>"
MOLECULE_TURN = f"<molecule>{MOLECULE_PLACEHOLDER}</molecule>"
"""How OpenBioMed's chat shows a molecule in the human turn."""
PROTEIN_TURN = f"<protein>{PROTEIN_PLACEHOLDER}</protein>"
"""How OpenBioMed's chat shows a protein in the human turn."""

PlaceholderKind = Literal["molecule", "protein"]
_PLACEHOLDERS: dict[str, PlaceholderKind] = {
    MOLECULE_PLACEHOLDER: "molecule",
    PROTEIN_PLACEHOLDER: "protein",
}
_PLACEHOLDER_PATTERN = re.compile("|".join(map(re.escape, _PLACEHOLDERS)))


def split_prompt(prompt: str) -> tuple[list[str], list[PlaceholderKind]]:
    """Text pieces (one more than placeholders) and the placeholder kinds between them."""
    kinds = [_PLACEHOLDERS[match] for match in _PLACEHOLDER_PATTERN.findall(prompt)]
    return _PLACEHOLDER_PATTERN.split(prompt), kinds


def check_placeholder_counts(
    kinds: Sequence[PlaceholderKind], molecules: int, proteins: int, *, where: str = "the prompt"
) -> None:
    """Raise :class:`InvalidInputError` unless each placeholder has exactly one input."""
    for kind, given, placeholder in (
        ("molecule", molecules, MOLECULE_PLACEHOLDER),
        ("protein", proteins, PROTEIN_PLACEHOLDER),
    ):
        wanted = sum(1 for found in kinds if found == kind)
        if wanted != given:
            fix = (
                "remove the extra placeholders"
                if wanted > given
                else f"add a {placeholder} for each extra {kind}"
            )
            raise InvalidInputError(
                f"{where} has {wanted} {placeholder} placeholder(s) but {given} {kind}(s) "
                f"were given; give exactly one {kind} per {placeholder}, in order ({fix}).",
                input_name=f"{kind}s",
            )
