"""PubChemQA / UniProtQA through BioMedGPT-10B's encoders, as OpenBioMed evaluates them.

The paper's PubChemQA and UniProtQA rows are BioMedGPT-10B's: the molecule reaches
the model as a graph through the GIN encoder and the protein as a sequence through
ESM-2, spliced into OpenBioMed's conversation (``<molecule><moleculeHere></molecule>
question``). ``biomed-agent eval pubchemqa|uniprotqa --model <10B checkpoint>`` does
the same through :class:`~biomed_agent.models.multimodal.chat.ChatBioMedGPT10B`
(UniProt accessions are resolved to sequences here, through the UniProt client,
cache first: the chat model reads sequences only). Any other model sees the item
as text ("Molecule (SMILES): ...") and its report says so: *text-only, not
comparable with the paper's 10B rows*.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from biomed_agent.errors import InvalidInputError
from biomed_agent.eval.items import EvalItem
from biomed_agent.eval.loaders import PUBCHEMQA_ENTITY, UNIPROTQA_ENTITY

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from biomed_agent.settings import Settings

__all__ = [
    "ENCODER_BENCHMARKS",
    "TEXT_ONLY",
    "EncoderAnswerer",
    "build_biomedgpt10b",
    "inputs_label",
    "is_biomedgpt10b",
]

ENCODER_BENCHMARKS: dict[str, tuple[Literal["molecule", "protein"], str]] = {
    "pubchemqa": ("molecule", PUBCHEMQA_ENTITY[1]),
    "uniprotqa": ("protein", UNIPROTQA_ENTITY[1]),
}
"""Benchmark -> (encoder input kind, the label its loader writes before the entity)."""

TEXT_ONLY = "text-only, not comparable with the paper's 10B rows"
ENCODERS = "molecule graph / protein sequence through BioMedGPT-10B's encoders (as OpenBioMed)"


def is_biomedgpt10b(model: str) -> bool:
    """Whether ``model`` names a BioMedGPT-10B checkpoint: a ``.pth`` file or a folder with one."""
    path = Path(model).expanduser()
    if path.is_file():
        return path.suffix == ".pth"
    if path.is_dir():
        return any(path.glob("*.pth")) or any(path.glob("*/*.pth"))
    return False


def inputs_label(benchmark: str, encoders: bool) -> str | None:
    """How a molecule/protein benchmark's items reached the model (``None``: other benchmarks)."""
    if benchmark not in ENCODER_BENCHMARKS:
        return None
    return ENCODERS if encoders else TEXT_ONLY


def build_biomedgpt10b(model: str, settings: Settings, max_new_tokens: int) -> BaseChatModel:
    """``ChatBioMedGPT10B`` on ``model`` with the run's device, dtype and answer length."""
    from biomed_agent.models.multimodal.chat import ChatBioMedGPT10B

    return ChatBioMedGPT10B(
        model=model,
        dtype=settings.dtype,
        device_map=settings.device,
        max_new_tokens=max_new_tokens,
    )


def _entities(item: EvalItem, label: str) -> list[str]:
    prefix = f"{label}: "
    if not item.context.startswith(prefix):
        raise InvalidInputError(
            f"item {item.id!r} has no {label!r} context; the PubChemQA/UniProtQA loaders "
            "write one per item.",
            input_name="--data",
        )
    return [value.strip() for value in item.context[len(prefix) :].split(",") if value.strip()]


@dataclass(frozen=True)
class EncoderAnswerer:
    """Answers entity-QA items with their molecule / protein given to BioMedGPT-10B's encoders.

    :func:`~biomed_agent.eval.runner.run_eval` calls :meth:`answer_items` with the items
    (the text-prompt path, ``__call__``, is not used: the encoders need the entity).
    """

    chat: BaseChatModel
    kind: Literal["molecule", "protein"]
    label: str
    sequence_of: Callable[[str], str] | None = None
    """UniProt accession -> sequence (``None``: an accession is an error of the chat model)."""

    def __call__(self, prompts: Sequence[Any]) -> list[str]:
        raise InvalidInputError(
            "BioMedGPT-10B answers PubChemQA/UniProtQA items, not text prompts",
            input_name="--model",
        )

    def answer_items(self, items: Sequence[EvalItem]) -> list[str]:
        """One answer per item, in order (each with its own encoder inputs)."""
        from langchain_core.messages import HumanMessage

        from biomed_agent.models.multimodal.messages import protein_block

        replies: list[str] = []
        for item in items:
            blocks: list[str | dict[str, Any]] = [
                {"type": "molecule", "smiles": value}
                if self.kind == "molecule"
                else self._protein(protein_block(value))
                for value in _entities(item, self.label)
            ]
            blocks.append({"type": "text", "text": item.question})
            replies.append(str(self.chat.invoke([HumanMessage(content=blocks)]).text))
        return replies

    def _protein(self, block: dict[str, str]) -> dict[str, str]:
        if "accession" not in block or self.sequence_of is None:
            return block
        return {"type": "protein", "sequence": self.sequence_of(block["accession"])}


def encoder_answerer(
    benchmark: str, chat: BaseChatModel, settings: Settings | None = None
) -> EncoderAnswerer | None:
    """The encoder answerer of ``benchmark`` (``None`` for text benchmarks).

    UniProtQA accessions are fetched through a UniProt client built from ``settings``.
    """
    spec = ENCODER_BENCHMARKS.get(benchmark)
    if spec is None:
        return None
    if spec[0] != "protein" or settings is None:
        return EncoderAnswerer(chat, spec[0], spec[1])
    from biomed_agent.proteins.sequences import uniprot_sequence
    from biomed_agent.retrievers.uniprot import UniProtClient

    client = UniProtClient.from_settings(settings)
    return EncoderAnswerer(
        chat, spec[0], spec[1], lambda accession: uniprot_sequence(accession, client)
    )
