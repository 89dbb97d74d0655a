"""Token budgets that keep the agent's prompts inside BioMedGPT's 2,048-token window.

BioMedGPT-LM-7B was trained at 2,048 tokens. A prompt plus the tokens reserved for the
answer must stay :data:`SPARE_TOKENS` below the window, so the answer prompt cannot
show every evidence item in full: :func:`fit_blocks` adds evidence blocks in order,
each counted in the model's own tokens, cuts the first one that does not fit at a token
boundary, and leaves out the rest (saying how many). Quoted user text (the question)
is cut to :data:`QUESTION_TOKENS` first.

Budgets apply to the BioMedGPT chat models (:class:`~biomed_agent.models.base.BioMedChatBase`):
the local model counts with its tokenizer, exactly as it will encode the prompt; the
remote one (no tokenizer here) with an upper bound of the Llama-2 tokenizer's count:
one token per ASCII character (digits are single tokens; measured 1.0 chars/token on
digit runs, 1.3 on SMILES, 1.5 on sequences, 3.6 on abstracts) and :data:`BYTE_TOKENS`
per other character. Other chat models have their own windows and get prompts unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage

__all__ = [
    "BYTE_TOKENS",
    "QUESTION_TOKENS",
    "REPAIR_PROBLEMS",
    "SPARE_TOKENS",
    "PromptBudget",
    "answer_messages",
    "budget_for",
    "clip_question",
    "fit_blocks",
    "fit_plan_prompt",
]

SPARE_TOKENS = 256
"""Tokens every prompt leaves unused below the window, after the answer's reservation."""

QUESTION_TOKENS = 128
"""Most tokens of the question quoted in a prompt (longer questions are cut, marked)."""

BYTE_TOKENS = 4
"""Tokens a non-ASCII character may take in the Llama-2 tokenizer (UTF-8 byte fallback)."""

DEFAULT_WINDOW = 2048
"""BioMedGPT-LM-7B's training length, used when the model states no window."""

REPAIR_PROBLEMS = 4
"""Most verification problems listed in a repair request."""

PROBLEM_TOKENS = 32
"""Most tokens of one listed problem."""

FAILURE_TOKENS = 64
"""Most tokens of the failed-steps line of the answer prompt."""

PLAN_ROWS = 4
"""Most suggested steps and earlier steps the planner prompt lists (fewer when over budget)."""

MIN_BLOCK_TOKENS = 48
"""A block cut to fewer tokens than this is left out instead."""

CUT_MARK = " [...]"

Counter = Callable[..., int]
"""``count(messages, options=None)``: prompt tokens of ``messages`` with call ``options``."""


@dataclass(frozen=True)
class PromptBudget:
    """How many tokens a prompt may use and how to count and cut text for one model."""

    limit: int
    """Most prompt tokens: window - :data:`SPARE_TOKENS` - tokens reserved for the answer."""

    count: Counter
    """Tokens of the rendered prompt of these messages and call options (tools bound)."""

    count_text: Callable[[str], int]
    cut_text: Callable[[str, int], str]
    """``text`` cut to at most that many tokens."""

    def clip(self, text: str, tokens: int) -> str:
        """``text``, or its first ``tokens`` tokens marked as cut."""
        if self.count_text(text) <= tokens:
            return text
        return self.cut_text(text, max(tokens - self.count_text(CUT_MARK), 0)) + CUT_MARK


def budget_for(model: Any, *, reserved_extra: int = 0) -> PromptBudget | None:
    """The budget of ``model``'s prompts (``None``: not a BioMedGPT chat model, no budget).

    ``reserved_extra``: tokens of later turns the prompt must leave room for too.
    """
    from biomed_agent.models.base import BioMedChatBase

    if not isinstance(model, BioMedChatBase):
        return None
    counter = getattr(model, "prompt_counter", None)
    if callable(counter):  # the local model: its tokenizer and chat format, exactly
        window, count, count_text, cut_text = counter()
    else:
        window = getattr(model, "context_window", None) or DEFAULT_WINDOW
        count, count_text, cut_text = _estimate, _estimate_text, _estimate_cut
    limit = window - SPARE_TOKENS - model.max_new_tokens - reserved_extra
    return PromptBudget(limit, count, count_text, cut_text)


def fit_blocks(
    render: Callable[[str], list[BaseMessage]],
    blocks: Sequence[str],
    budget: PromptBudget,
    *,
    separator: str = "\n\n",
    note: Callable[[int], str] | None = None,
) -> tuple[list[BaseMessage], int]:
    """The messages ``render(joined blocks)`` within ``budget``, and how many blocks were
    left out. Blocks are kept in order; the first that does not fit is cut to the room
    left (when at least :data:`MIN_BLOCK_TOKENS`), the rest are left out and ``note(count)``
    says so at the end."""
    room = budget.limit - budget.count(render("")) - budget.count_text(separator)
    kept: list[str] = []
    for block in blocks:
        cost = budget.count_text(block) + budget.count_text(separator)
        if cost <= room:
            kept.append(block)
            room -= cost
            continue
        if room - budget.count_text(separator) >= MIN_BLOCK_TOKENS:
            kept.append(budget.clip(block, room - budget.count_text(separator)))
        break

    def joined() -> str:
        text = separator.join(kept)
        if note is not None and len(kept) < len(blocks):
            text += separator + note(len(blocks) - len(kept))
        return text

    messages = render(joined())
    while kept and budget.count(messages) > budget.limit:  # the note, merged tokens: recheck
        kept.pop()
        messages = render(joined())
    return messages, len(blocks) - len(kept)


def fit_plan_prompt(model: Any, render: Callable[[int], str], schema: type[Any]) -> str:
    """The planner prompt ``render(rows)`` with the most rows (suggested and earlier steps,
    down to none) whose structured-output call fits ``model``'s budget; the tool call's
    closing allowance is reserved too."""
    from langchain_core.messages import HumanMessage, SystemMessage

    from biomed_agent.models.tool_calling import CLOSING_ALLOWANCE
    from biomed_agent.prompts import load_prompt

    budget = budget_for(model, reserved_extra=CLOSING_ALLOWANCE)
    rows = PLAN_ROWS
    prompt = render(rows)
    if budget is None:
        return prompt
    options = {k: v for k, v in model.bind_tools([schema], tool_choice="any").kwargs.items()}
    system = SystemMessage(load_prompt("agent_system"))
    while rows and budget.count([system, HumanMessage(prompt)], options) > budget.limit:
        rows -= 1
        prompt = render(rows)
    return prompt


def clip_question(model: Any, question: str) -> str:
    """``question`` cut to :data:`QUESTION_TOKENS` for ``model``'s prompts (when budgeted)."""
    budget = budget_for(model)
    return question if budget is None else budget.clip(question, QUESTION_TOKENS)


def answer_messages(
    model: Any,
    question: str,
    blocks: Sequence[str],
    failures: str,
    *,
    repair: tuple[str, Sequence[str]] | None = None,
) -> list[BaseMessage]:
    """The answer prompt (system text, question, evidence blocks, failed steps); with
    ``repair`` (the previous answer, the verifier's problems) also that answer and a
    request to fix it. Within ``model``'s budget when it has one: the repair turn is
    counted, so fewer evidence blocks fit then."""
    from string import Template

    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

    from biomed_agent.prompts import load_prompt

    budget = budget_for(model)
    extra: list[BaseMessage] = []
    if repair is not None:
        previous, problems = repair
        shown = list(problems)
        if budget is not None:
            shown = [budget.clip(p, PROBLEM_TOKENS) for p in shown[:REPAIR_PROBLEMS]]
        request = Template(load_prompt("agent_repair")).substitute(
            problems="\n".join(f"- {p}" for p in shown), count=len(blocks)
        )
        extra = [AIMessage(previous), HumanMessage(request)]
    if budget is not None:
        question = budget.clip(question, QUESTION_TOKENS)
        failures = budget.clip(failures, FAILURE_TOKENS)

    def render(evidence: str) -> list[BaseMessage]:
        prompt = Template(load_prompt("agent_answer")).substitute(
            question=question, evidence=evidence or "(no evidence found)", failures=failures
        )
        return [SystemMessage(load_prompt("agent_system")), HumanMessage(prompt), *extra]

    if budget is None:
        return render("\n\n".join(blocks))
    return fit_blocks(render, blocks, budget, note=_left_out)[0]


def _left_out(count: int) -> str:
    return f"({count} more evidence item(s) not shown: the prompt's token budget)"


def _estimate_text(text: str) -> int:
    """Never fewer than the Llama-2 tokenizer's tokens (+1: its leading ``▁`` piece)."""
    return 1 + len(text) + (BYTE_TOKENS - 1) * sum(1 for c in text if ord(c) > 127)


def _estimate_cut(text: str, tokens: int) -> str:
    cut = text[: max(tokens - 1, 0)]
    while cut and _estimate_text(cut) > tokens:
        cut = cut[: -max(1, (_estimate_text(cut) - tokens) // BYTE_TOKENS)]
    return cut


def _estimate(messages: Sequence[BaseMessage], options: Mapping[str, Any] | None = None) -> int:
    # 16 tokens per message for its turn markers and role names; bound tools as JSON
    tools = _estimate_text(json.dumps(dict(options or {}), default=str)) if options else 0
    return tools + sum(_estimate_text(message.text) + 16 for message in messages)
