"""Option-constrained generation: ``--scoring generate`` that cannot be unparsable.

Free generation by a small model often names no option (PubMedQA: 27 of 40
SmolLM2 replies unparsable). For multiple-choice and yes/no benchmarks on a local
model, the bare mode therefore decodes under a grammar (xgrammar, as tool calls
are, :mod:`biomed_agent.models.decoding`) that admits only::

    root ::= ("Answer: ")? ( "A" | "B" | ... )        (choice: the item's option letters)
    root ::= ("Answer: ")? ( "yes" | "no" | "maybe" ) (yes/no)

``"Answer: "`` is the few-shot answer turn's own prefix (``prompts/eval.json``).
End of sequence is masked until a label is complete and is the only token allowed
after it, so the reply is exactly one option.

**Token limit.** Every token is at least one byte, so the longest allowed text's
UTF-8 length + 1 (the end token) is enough to finish any path the grammar admits;
that is the generation limit used, whatever ``--max-new-tokens`` says (a cut
answer cannot happen). The reply is still read back strictly: a reply that is not
one allowed text would count as unparsable (``answer: None``), never as a guess.

Remote (OpenAI-compatible) models and the agent keep free generation read by
:func:`~biomed_agent.eval.extract.extract_answer`: the remote client offers the
server's guided decoding only for tool calls.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from biomed_agent.errors import InvalidInputError
from biomed_agent.eval.items import EvalItem, TaskKind
from biomed_agent.eval.loglik import YESNO_LABELS
from biomed_agent.eval.prompting import Prompt, answer_prefix

if TYPE_CHECKING:
    from biomed_agent.models.chat_model import ChatBioMedGPT

__all__ = ["OptionConstrainedAnswerer", "allowed_labels", "option_grammar", "read_label"]

DECODING = "options"
"""What ``run.json`` records as the decoding of option-constrained runs."""


def allowed_labels(kind: TaskKind, item: EvalItem) -> tuple[str, ...]:
    """The labels ``item``'s reply may be: its option letters, or yes/no/maybe."""
    if kind == "choice":
        return tuple(item.options)
    if kind == "yesno":
        return YESNO_LABELS
    raise InvalidInputError(
        "option-constrained generation needs a multiple-choice or yes/no benchmark",
        input_name="--scoring",
    )


def option_grammar(kind: TaskKind, labels: Sequence[str]) -> str:
    """The EBNF (xgrammar) of a reply: the optional answer prefix, then one label."""
    choices = " | ".join(json.dumps(label) for label in labels)
    prefix = json.dumps(answer_prefix(kind))
    return f"root ::= ({prefix})? ({choices})"


def read_label(kind: TaskKind, reply: str, labels: Sequence[str]) -> str | None:
    """The label ``reply`` is, exactly (prefix allowed), or ``None``."""
    text = reply.strip()
    prefix = answer_prefix(kind)
    if text.startswith(prefix):
        text = text[len(prefix) :]
    return text if text in labels else None


def token_limit(kind: TaskKind, labels: Sequence[str]) -> int:
    """Tokens that finish every reply the grammar admits (each token >= 1 byte), + end."""
    longest = max(len(label.encode()) for label in labels)
    return len(answer_prefix(kind).encode()) + longest + 1


class OptionConstrainedAnswerer:
    """``--scoring generate`` on a local model for choice/yes-no benchmarks (greedy)."""

    decoding = DECODING

    def __init__(self, chat: ChatBioMedGPT, kind: TaskKind) -> None:
        if kind not in ("choice", "yesno"):
            raise InvalidInputError(
                "option-constrained generation needs a multiple-choice or yes/no benchmark",
                input_name="--scoring",
            )
        self.chat = chat
        self.kind: TaskKind = kind

    def __call__(self, prompts: Sequence[Prompt]) -> list[str]:
        raise TypeError(
            "OptionConstrainedAnswerer needs the items; call score_rows(items, prompts)"
        )

    def reply(self, prompt: Prompt, labels: Sequence[str]) -> tuple[str, int]:
        """The constrained greedy reply to ``prompt`` and how many tokens it took."""
        import torch

        from biomed_agent.models.chat_model import translate_generation_error
        from biomed_agent.models.decoding import ConstrainedDecoding, compile_ebnf

        loaded = self.chat.loaded()
        special = self.chat.resolved_chat_format() == "biomedgpt"
        ids = loaded.tokenizer(self.chat.prompt_text(prompt), add_special_tokens=special).input_ids
        compiled = compile_ebnf(loaded, option_grammar(self.kind, labels))
        limit = token_limit(self.kind, labels)
        processor = ConstrainedDecoding(
            compiled,
            priorities=torch.zeros(loaded.model.config.vocab_size),
            prompt_length=len(ids),
            closing_after=limit + 1,  # never: the limit itself finishes every reply
        )
        eos = loaded.tokenizer.eos_token_id
        try:
            with loaded.lock, torch.inference_mode():
                out = loaded.model.generate(  # type: ignore[operator]
                    input_ids=torch.tensor([ids], device=loaded.device),
                    attention_mask=torch.ones(1, len(ids), dtype=torch.long, device=loaded.device),
                    logits_processor=[processor],
                    max_new_tokens=limit,
                    do_sample=False,
                    eos_token_id=eos,
                    pad_token_id=loaded.tokenizer.pad_token_id or eos,
                )
        except Exception as exc:  # the chat model's own boundary: typed model errors
            raise translate_generation_error(exc, self.chat.model) from exc
        new = [int(t) for t in out[0, len(ids) :] if int(t) != eos]
        return str(loaded.tokenizer.decode(new, skip_special_tokens=True)), len(new)

    def score_rows(
        self, items: Sequence[EvalItem], prompts: Sequence[Prompt]
    ) -> list[dict[str, Any]]:
        rows = []
        for item, prompt in zip(items, prompts, strict=True):
            labels = allowed_labels(self.kind, item)
            reply, tokens = self.reply(prompt, labels)
            answer = read_label(self.kind, reply, labels)
            rows.append(
                {
                    "id": item.id,
                    "gold": item.answer,
                    "prediction": reply,
                    "answer": answer,
                    "correct": answer == item.answer,
                    "reply_tokens": tokens,
                }
            )
        return rows
