"""Log-likelihood of continuations: how lm-evaluation-harness scores multiple choice.

:func:`continuation_logprobs` encodes a context once and returns, for each
candidate continuation, the sum of its tokens' log-probabilities and whether
each token was the greedy choice (lm-evaluation-harness's ``loglikelihood``
request). It serves

- multiple-choice evaluation (:mod:`biomed_agent.eval.loglik`): the answer is
  the option with the highest log-likelihood (``acc``) or the highest
  log-likelihood per character (``acc_norm``);
- tool choice: the model's choice among the offered tool names is the name whose
  call opening ``{"name": "<tool>"`` it finds most likely; arguments are then
  decoded under that tool's grammar.

Continuation ids are taken from the tokenization of context + continuation, as
the harness does, so a merge across the boundary is scored as the model sees it.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from biomed_agent.models.loading import LoadedModel
from biomed_agent.models.prefix_cache import cache_kwarg

STEP_BATCH = 8
"""Continuations scored together in one forward pass (memory: that many copies of the
context's KV cache)."""

__all__ = ["ContinuationScore", "continuation_logprobs", "loglikelihoods", "split_continuation"]


@dataclass(frozen=True)
class ContinuationScore:
    """Log-likelihood of one continuation."""

    logprob: float
    """Sum of the continuation tokens' log-probabilities."""

    tokens: int
    is_greedy: bool
    """Every continuation token was the most likely one."""


def split_continuation(
    tokenizer: object, context: str, continuation: str, *, special: bool
) -> tuple[list[int], list[int]]:
    """Context ids and continuation ids, split where the joint tokenization allows.

    As lm-evaluation-harness does (``LM._encode_pair``), whitespace ending the context
    moves to the start of the continuation: a chat prompt's ``"assistant\n"`` is scored
    as ``"assistant"`` + ``"\nyes"``, so the newline's log-probability counts too.
    """
    spaces = len(context) - len(context.rstrip())
    if spaces and len(context) > spaces:
        context, continuation = context[:-spaces], context[-spaces:] + continuation
    whole: list[int] = tokenizer(context + continuation, add_special_tokens=special).input_ids  # type: ignore[operator]
    head: list[int] = tokenizer(context, add_special_tokens=special).input_ids  # type: ignore[operator]
    cut = len(head)
    while cut > 0 and whole[:cut] != head[:cut]:
        cut -= 1
    cut = min(cut, len(whole) - 1)
    return whole[:cut], whole[cut:]


def continuation_logprobs(
    loaded: LoadedModel,
    context: list[int],
    continuations: Sequence[list[int]],
    *,
    prefix_length: int = 0,
) -> list[ContinuationScore]:
    """Score each continuation after ``context`` (context encoded once, then reused).

    ``prefix_length`` leading context tokens come from the model's prefix cache
    (:mod:`biomed_agent.models.prefix_cache`) when it is at least ``MIN_PREFIX_TOKENS``.
    """
    if not context:
        raise ValueError("continuation_logprobs needs a non-empty context")
    from transformers import DynamicCache

    from biomed_agent.models.prefix_cache import MIN_PREFIX_TOKENS, prefix_cache_for

    model = loaded.model
    key = cache_kwarg(model)
    device = loaded.device
    scores = []
    with loaded.lock, torch.inference_mode():
        start = prefix_length if MIN_PREFIX_TOKENS <= prefix_length < len(context) else 0
        past = (
            prefix_cache_for(loaded).past_for(context[:start])
            if start
            else DynamicCache(config=model.config)
        )
        out = model(
            input_ids=torch.tensor([context[start:]], device=device),
            use_cache=True,
            **{key: past},
        )
        last = out.logits[0, -1].float().log_softmax(-1)
        steps = _continuation_steps(model, key, device, out.past_key_values, continuations)
        for index, ids in enumerate(continuations):
            if not ids:
                scores.append(ContinuationScore(0.0, 0, True))
                continue
            rows = [last, *steps.get(index, [])]
            logprob = sum(float(row[token]) for row, token in zip(rows, ids, strict=True))
            greedy = all(int(row.argmax()) == token for row, token in zip(rows, ids, strict=True))
            scores.append(ContinuationScore(logprob, len(ids), greedy))
    return scores


def _continuation_steps(
    model: Any, key: str, device: Any, past: Any, continuations: Sequence[list[int]]
) -> dict[int, list[torch.Tensor]]:
    """Log-softmax rows after each token but the last of every multi-token continuation.

    Up to :data:`STEP_BATCH` continuations run as one right-padded batch over copies
    of the context's cache (padding follows the real tokens, so it changes nothing
    they attend to); one forward pass per batch instead of one per continuation.
    """
    multi = [index for index, ids in enumerate(continuations) if len(ids) > 1]
    rows: dict[int, list[torch.Tensor]] = {}
    for start in range(0, len(multi), STEP_BATCH):
        chunk = multi[start : start + STEP_BATCH]
        width = max(len(continuations[i]) - 1 for i in chunk)
        batch = [
            continuations[i][:-1] + [continuations[i][0]] * (width - len(continuations[i]) + 1)
            for i in chunk
        ]
        cache = copy.deepcopy(past)
        if len(chunk) > 1:
            cache.batch_repeat_interleave(len(chunk))
        step = model(input_ids=torch.tensor(batch, device=device), use_cache=True, **{key: cache})
        logits = step.logits.float().log_softmax(-1)
        for row, i in enumerate(chunk):
            rows[i] = list(logits[row, : len(continuations[i]) - 1])
    return rows


def loglikelihoods(
    loaded: LoadedModel, requests: Sequence[tuple[str, str]], *, special: bool
) -> list[ContinuationScore]:
    """Score ``(context, continuation)`` string pairs, in order.

    Requests whose contexts tokenize alike share one encoding of the context (the
    options of one multiple-choice item cost one forward pass over the prompt).
    """
    split = [
        split_continuation(loaded.tokenizer, context, continuation, special=special)
        for context, continuation in requests
    ]
    groups: dict[tuple[int, ...], list[int]] = {}
    for index, (head, _) in enumerate(split):
        groups.setdefault(tuple(head), []).append(index)
    scores: list[ContinuationScore | None] = [None] * len(split)
    for key, indices in groups.items():
        results = continuation_logprobs(loaded, list(key), [split[i][1] for i in indices])
        for index, score in zip(indices, results, strict=True):
            scores[index] = score
    return [score for score in scores if score is not None]
