"""Which tool to call: a constrained choice among the offered names, then its arguments.

When a call to one of several tools is required, the local model does not decode the
name freely. Each offered name is scored and the best one is fixed in the grammar;
only that tool's arguments are decoded (identifier arguments limited to spans copied
from the message, :mod:`biomed_agent.models.argument_spans`). A name's score is

    score(name) = [log P(opening | prompt) - log P(opening | content-free prompt)]
                  + PRIOR_WEIGHT * relevance(name)

- ``opening`` is how the call starts, ``{"name": "<tool>", "arguments": `` (the grammar's
  own text); its log-likelihood after the real prompt is the model's preference;
- the content-free prompt is the same system text and tools with the user message
  replaced by ``"N/A"``: subtracting it calibrates the surface-form competition between
  names (longer or rarer names are less likely whatever the question; domain-conditional
  PMI, Holtzman et al. 2021, "Surface Form Competition"). It is scored once per system
  text and tool set;
- ``relevance`` is the MiniLM cosine similarity between the message and the tool's name
  and description that picked the offered tools (:mod:`biomed_agent.models.tool_selection`),
  a prior the model's evidence is added to.

``PRIOR_WEIGHT`` was chosen on a development prompt set
(tests/fixtures/tool_prompts/tool_prompts_dev.json), never on the 40-prompt test set; see
docs/benchmarks.md. :func:`score_names` returns every term so that benchmarks can report
retrieval alone, the model alone and their combination.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from langchain_core.messages import BaseMessage

from biomed_agent.models.loading import LoadedModel
from biomed_agent.models.tool_calling import ToolMode, tool_call_opening

__all__ = [
    "CONTENT_FREE",
    "PRIOR_WEIGHT",
    "NameScore",
    "best_name",
    "choose_tool",
    "content_free_messages",
    "score_names",
]

CONTENT_FREE = "N/A"
"""The user message of the calibration prompt (Holtzman et al.; Zhao et al. 2021)."""

PRIOR_WEIGHT = 40.0
"""Nats per unit of cosine similarity added to the calibrated log-likelihood: the smallest
weight reaching the best right-tool rate on the dev set (20/30; weights 0-20 gave 11-19/30)."""

_NULL_CACHE_SIZE = 32


@dataclass(frozen=True)
class NameScore:
    """The terms of one offered name's score."""

    name: str
    logprob: float
    """log P(call opening | prompt)."""
    null_logprob: float
    """log P(call opening | content-free prompt)."""
    relevance: float
    """Retrieval similarity of the message and the tool description (0 when unknown)."""

    @property
    def pmi(self) -> float:
        """The calibrated model score: log-likelihood over the content-free one."""
        return self.logprob - self.null_logprob

    def combined(self, prior_weight: float = PRIOR_WEIGHT, *, calibrate: bool = True) -> float:
        """The score the choice maximises."""
        model = self.pmi if calibrate else self.logprob
        return model + prior_weight * self.relevance


def best_name(
    scores: Sequence[NameScore], prior_weight: float = PRIOR_WEIGHT, *, calibrate: bool = True
) -> str:
    """The highest-scoring name (ties: the earlier offered)."""
    best = max(
        range(len(scores)),
        key=lambda i: (scores[i].combined(prior_weight, calibrate=calibrate), -i),
    )
    return scores[best].name


Prompt = tuple[list[int], int]
"""Token ids of a prompt and how many leading ids its reusable prefix is."""


def score_names(
    loaded: LoadedModel,
    mode: ToolMode,
    prompt: Prompt,
    content_free: Callable[[], Prompt],
) -> list[NameScore]:
    """Every allowed name's log-likelihood after ``prompt`` and after the content-free one."""
    from biomed_agent.models.scoring import continuation_logprobs

    names = list(mode.allowed)
    openings = [
        loaded.tokenizer(tool_call_opening(name), add_special_tokens=False).input_ids
        for name in names
    ]
    ids, prefix = prompt
    scores = continuation_logprobs(loaded, ids, openings, prefix_length=prefix)
    null_ids, null_prefix = content_free()
    cache: OrderedDict[Any, list[float]] = loaded.extras.setdefault(
        "content_free_name_scores", OrderedDict()
    )
    key = (tuple(null_ids), tuple(names))
    if key not in cache:
        null = continuation_logprobs(loaded, null_ids, openings, prefix_length=null_prefix)
        cache[key] = [s.logprob for s in null]
        while len(cache) > _NULL_CACHE_SIZE:
            cache.popitem(last=False)
    cache.move_to_end(key)
    relevance = dict(mode.relevance)
    return [
        NameScore(name, s.logprob, n, relevance.get(name, 0.0))
        for name, s, n in zip(names, scores, cache[key], strict=True)
    ]


def choose_tool(
    loaded: LoadedModel,
    mode: ToolMode,
    prompt: Prompt,
    content_free: Callable[[], Prompt],
) -> ToolMode:
    """``mode`` narrowed to the best-scoring allowed tool (unchanged when it allows one)."""
    if not mode.required or len(mode.allowed) < 2:
        return mode
    scores = score_names(loaded, mode, prompt, content_free)
    return replace(mode, allowed=(best_name(scores),))


def content_free_messages(messages: Sequence[BaseMessage]) -> list[BaseMessage]:
    """The calibration conversation: the same system messages, one content-free user turn."""
    from langchain_core.messages import HumanMessage, SystemMessage

    kept: list[BaseMessage] = [m for m in messages if isinstance(m, SystemMessage)]
    return [*kept, HumanMessage(CONTENT_FREE)]
