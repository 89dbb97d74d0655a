"""Prompts for zero-shot and few-shot evaluation, from ``prompts/eval.json``.

A prompt is a list of ``(role, text)`` pairs, the message form every LangChain
chat model accepts. Few-shot examples are earlier human/assistant turns, drawn
by :class:`FewShotSampler` in a fixed, seeded order and never equal to the item
being asked.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from biomed_agent.errors import InvalidInputError
from biomed_agent.eval.items import EvalItem, TaskKind

if TYPE_CHECKING:
    from biomed_agent.agent.prompt_fit import PromptBudget

__all__ = [
    "FewShotSampler",
    "Prompt",
    "answer_prefix",
    "build_prompt",
    "fit_examples",
    "templates_digest",
]

Prompt = list[tuple[str, str]]
"""Chat messages as ``(role, text)``: ``system``, then ``human``/``ai`` turns."""

_TEMPLATE_FILE = "eval.json"


@lru_cache(maxsize=1)
def _template_text() -> str:
    return resources.files("biomed_agent.prompts").joinpath(_TEMPLATE_FILE).read_text("utf-8")


def _templates() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(_template_text())
    return loaded


def templates_digest() -> str:
    """Short hash of the templates: results made with other prompts must not be mixed in."""
    return hashlib.sha256(_template_text().encode()).hexdigest()[:12]


def _question_text(kind: TaskKind, item: EvalItem) -> str:
    options = "\n".join(f"{letter}. {text}" for letter, text in item.options.items())
    template: str = _templates()["question"][kind]
    return template.format(question=item.question, options=options, context=item.context).strip()


def build_prompt(kind: TaskKind, item: EvalItem, examples: Sequence[EvalItem] = ()) -> Prompt:
    """System message, one human/ai exchange per example, then the question."""
    templates = _templates()
    prompt: Prompt = [("system", templates["system"][kind])]
    for example in examples:
        prompt.append(("human", _question_text(kind, example)))
        prompt.append(("ai", templates["answer"][kind].format(answer=example.answer)))
    prompt.append(("human", _question_text(kind, item)))
    return prompt


def answer_prefix(kind: TaskKind) -> str:
    """What an answer turn writes before the answer (``"Answer: "``; ``""`` for text)."""
    template: str = _templates()["answer"][kind]
    return template.split("{answer}", 1)[0]


def fit_examples(
    kind: TaskKind, item: EvalItem, examples: Sequence[EvalItem], budget: PromptBudget | None
) -> list[EvalItem]:
    """The first examples whose prompt fits ``budget`` (whole shots are dropped from the
    end, never cut; ``None``: all). Counted in the model's own tokens
    (:func:`~biomed_agent.agent.prompt_fit.budget_for`)."""
    kept = list(examples)
    if budget is None or not kept:
        return kept
    from langchain_core.messages import convert_to_messages

    while kept and budget.count(convert_to_messages(build_prompt(kind, item, kept))) > budget.limit:
        kept.pop()
    return kept


class FewShotSampler:
    """Picks ``k`` examples from a pool in one seeded order, skipping the item being asked."""

    def __init__(self, pool: Sequence[EvalItem], k: int, seed: int = 0) -> None:
        if k < 0:
            raise InvalidInputError(f"--shots must be 0 or more, got {k}", input_name="--shots")
        if k and len(pool) <= k:
            raise InvalidInputError(
                f"{k}-shot prompts need more than {k} example items, the pool has {len(pool)}",
                input_name="--shots",
            )
        self.k = k
        self._order = sorted(
            pool, key=lambda item: hashlib.sha256(f"{seed}:{item.id}".encode()).hexdigest()
        )

    def examples_for(self, item: EvalItem) -> list[EvalItem]:
        """The first ``k`` pool items in seeded order that are not ``item`` (by id or question)."""
        chosen: list[EvalItem] = []
        for candidate in self._order:
            if len(chosen) == self.k:
                break
            if candidate.id != item.id and candidate.question != item.question:
                chosen.append(candidate)
        return chosen
