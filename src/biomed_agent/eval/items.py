"""What one benchmark item is, whatever file format it came from.

Loaders turn PubMedQA, MedQA, MedMCQA, MMLU, MedConceptsQA, PubChemQA and
UniProtQA files into :class:`EvalItem` values; prompts, answer extraction and
scoring only ever see these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["EvalItem", "TaskKind"]

TaskKind = Literal["choice", "yesno", "text"]
"""``choice``: pick an option letter; ``yesno``: answer yes/no/maybe; ``text``: free answer."""


@dataclass(frozen=True)
class EvalItem:
    """One question with its gold answer.

    ``answer`` is an option letter for ``choice`` tasks, ``yes``/``no``/``maybe``
    for ``yesno`` tasks and the reference text for ``text`` tasks.
    """

    id: str
    """Identifier unique within the file (PMID, dataset id, or row number)."""

    question: str
    answer: str

    options: dict[str, str] = field(default_factory=dict)
    """Option letter -> option text (choice tasks only), in display order."""

    context: str = ""
    """Text shown before the question: a PubMedQA abstract, a SMILES, an accession."""
