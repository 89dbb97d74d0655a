"""Molecules and proteins in LangChain messages → BioMedGPT-10B's conversation text.

Inputs reach :class:`~.chat.ChatBioMedGPT10B` in two ways:

* **content blocks** of a ``HumanMessage``: ``{"type": "molecule", "smiles": ...}``,
  ``{"type": "protein", "sequence": ...}`` or ``{"type": "protein", "accession": ...}``
  (a UniProt accession: the chat model refuses it, the caller resolves it to a sequence);
* **call arguments** ``molecules=[...]`` and ``proteins=[...]`` (a protein string is
  taken as an accession when it looks like one — 6 or 10 characters with a digit,
  which no sequence has — else as a sequence). They belong to the last human
  message: if its text writes ``<moleculeHere>`` / ``<proteinHere>`` they fill those
  placeholders in order, otherwise they go before its text, as blocks would.

Human turns are rendered as OpenBioMed's ``Conversation`` renders them
(``open_biomed/utils/chat_utils.py`` at ce3ccab): each molecule or protein block is
``append_molecule`` / ``append_protein`` -- a Human turn of its own,
``<molecule><moleculeHere></molecule>`` -- and text is ``ask``: it joins the previous
turn (after a space) when that is a Human turn ending with ``</molecule>`` or
``</protein>``, else it starts a new Human turn. So molecule + protein + question is
``Human: <molecule>…</molecule> ### Human: <protein>…</protein> question ###``.
A message whose text writes the placeholders itself keeps them where they are, in
one turn. A placeholder written in a message without an input for it is an error,
as is an input without a placeholder; so is a block type the model cannot read (images).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage

from biomed_agent.errors import InvalidInputError, shorten
from biomed_agent.models.multimodal.placeholders import (
    MOLECULE_TURN,
    PROTEIN_TURN,
    PlaceholderKind,
    check_placeholder_counts,
    split_prompt,
)

__all__ = ["EncoderInput", "attach_inputs", "protein_block", "to_conversation"]

_BLOCK_KIND: dict[str, PlaceholderKind] = {"molecule": "molecule", "protein": "protein"}
_TURN = {"molecule": MOLECULE_TURN, "protein": PROTEIN_TURN}
_TURN_ENDS = ("</molecule>", "</protein>")
_INLINE = "_placeholder_in_text"
"""Marks a block that fills a placeholder the user wrote in the text (kept inline)."""


@dataclass(frozen=True)
class EncoderInput:
    """One molecule or protein, in the order its placeholder appears in the conversation."""

    kind: PlaceholderKind
    value: str
    """SMILES, amino-acid sequence, or UniProt accession (``accession=True``)."""
    accession: bool = False


def protein_block(protein: str) -> dict[str, str]:
    """A protein content block from a sequence or a UniProt accession, told apart by shape."""
    text = protein.strip()
    looks_like_accession = len(text) in (6, 10) and any(char.isdigit() for char in text)
    return {"type": "protein", "accession" if looks_like_accession else "sequence": text}


def _content_blocks(message: BaseMessage) -> list[str | dict[str, Any]]:
    content = message.content
    return [content] if isinstance(content, str) else list(content)


def _literal_kinds(blocks: Sequence[str | dict[str, Any]]) -> list[PlaceholderKind]:
    kinds: list[PlaceholderKind] = []
    for block in blocks:
        text = block if isinstance(block, str) else block.get("text", "")
        if isinstance(text, str):
            kinds += split_prompt(text)[1]
    return kinds


def attach_inputs(
    messages: Sequence[BaseMessage], molecules: Sequence[str], proteins: Sequence[str]
) -> list[BaseMessage]:
    """Turn call-argument molecules/proteins into blocks of the last human message."""
    if not molecules and not proteins:
        return list(messages)
    humans = [index for index, message in enumerate(messages) if isinstance(message, HumanMessage)]
    if not humans:
        raise InvalidInputError(
            "molecules/proteins were given but the conversation has no human message to "
            "attach them to; add the question as a human message.",
            input_name="messages",
        )
    last = messages[humans[-1]]
    blocks = _content_blocks(last)
    pending = {
        "molecule": [{"type": "molecule", "smiles": smiles} for smiles in molecules],
        "protein": [protein_block(protein) for protein in proteins],
    }
    literal = _literal_kinds(blocks)
    if not literal:
        content = [*pending["molecule"], *pending["protein"], *blocks]
    else:
        check_placeholder_counts(
            literal, len(molecules), len(proteins), where="the last human message"
        )
        content = []
        for block in blocks:
            text = block if isinstance(block, str) else block.get("text")
            if not isinstance(text, str):
                content.append(block)
                continue
            pieces, kinds = split_prompt(text)
            for index, piece in enumerate(pieces):
                content.append({"type": "text", "text": piece})
                if index < len(kinds):
                    content.append({**pending[kinds[index]].pop(0), _INLINE: True})
    attached = HumanMessage(content=content, id=last.id, name=last.name)
    return [*messages[: humans[-1]], attached, *messages[humans[-1] + 1 :]]


def _block_input(block: dict[str, Any], number: int) -> EncoderInput:
    kind = _BLOCK_KIND.get(str(block.get("type")))
    if kind is None:
        raise InvalidInputError(
            f"message {number} has a {block.get('type')!r} content block; BioMedGPT-10B reads "
            "text, 'molecule' blocks ({'type': 'molecule', 'smiles': ...}) and 'protein' blocks "
            "({'type': 'protein', 'sequence' or 'accession': ...}).",
            input_name="messages",
        )
    keys = ("smiles",) if kind == "molecule" else ("sequence", "accession")
    given = [key for key in keys if isinstance(block.get(key), str)]
    if len(given) != 1:
        raise InvalidInputError(
            f"message {number} has a {kind} block {shorten(block)} without exactly one "
            f"string {' or '.join(map(repr, keys))}.",
            input_name="messages",
        )
    return EncoderInput(kind, block[given[0]], accession=given[0] == "accession")


def to_conversation(
    messages: Sequence[BaseMessage],
) -> tuple[list[BaseMessage], list[EncoderInput]]:
    """Human messages rewritten as OpenBioMed's turns, and their inputs in placeholder order."""
    rewritten: list[BaseMessage] = []
    inputs: list[EncoderInput] = []
    for number, message in enumerate(messages, start=1):
        if not isinstance(message, HumanMessage):
            rewritten.append(message)
            continue
        blocks = _content_blocks(message)
        inline = any(isinstance(b, dict) and b.get(_INLINE) for b in blocks)
        turns: list[str] = []
        for block in blocks:
            if isinstance(block, str) or block.get("type") == "text":
                text = block if isinstance(block, str) else str(block.get("text", ""))
                check_placeholder_counts(split_prompt(text)[1], 0, 0, where=f"message {number}")
                if text.strip():
                    turns.append(text)
                continue
            encoder_input = _block_input(block, number)
            turns.append(_TURN[encoder_input.kind])
            inputs.append(encoder_input)
        if inline:  # the user placed the inputs in the text: one turn, as written
            turns = [" ".join(turn.strip() for turn in turns)]
        for turn in turns:
            _conversation_turn(rewritten, turn, message)
    return rewritten, inputs


def _conversation_turn(rewritten: list[BaseMessage], text: str, source: HumanMessage) -> None:
    """``append_molecule``/``append_protein`` (a turn of its own) or ``ask`` (may join one)."""
    previous = rewritten[-1] if rewritten else None
    is_input = text in _TURN.values()
    if not is_input and isinstance(previous, HumanMessage) and previous.text.endswith(_TURN_ENDS):
        rewritten[-1] = HumanMessage(
            content=f"{previous.text} {text}", id=previous.id, name=previous.name
        )
        return
    rewritten.append(HumanMessage(content=text, id=source.id, name=source.name))
