"""Our log-likelihood scores beside lm-evaluation-harness's, item for item.

:func:`run_harness` runs local lm_eval tasks (``tests/fixtures/lm_eval``: the
repository's PubMedQA and MedQA fixture items with our prompt) through lm_eval's
own ``simple_evaluate`` with per-sample logging, on any lm_eval model (its ``hf``
model, or ``biomedgpt`` from :mod:`biomed_agent.eval.lm_eval_model`), under the
model's chat template. :func:`compare` sets our scorer's
(:func:`biomed_agent.eval.loglik.score_items`) choices beside the harness's:
``acc`` (highest log-likelihood) and ``acc_norm`` (highest log-likelihood per
character of the choice, lm_eval 0.4's definition).

Imports ``lm_eval``; only tests and benchmarks use this module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from biomed_agent.eval.items import TaskKind
from biomed_agent.eval.loglik import ItemScores

__all__ = ["TASKS", "Agreement", "HarnessItem", "compare", "run_harness"]

TASKS: dict[str, tuple[str, TaskKind]] = {
    "biomed_pubmedqa": ("pubmedqa", "yesno"),
    "biomed_medqa": ("medqa", "choice"),
}
"""Local lm_eval task -> (our benchmark name, task kind)."""


@dataclass(frozen=True)
class HarnessItem:
    """One logged lm_eval sample of a multiple-choice task."""

    item_id: str
    context: str
    continuations: tuple[str, ...]
    logprobs: tuple[float, ...]
    acc: bool
    acc_norm: bool


@dataclass(frozen=True)
class Agreement:
    """How often our scorer and the harness agree on one task."""

    task: str
    items: int
    acc_agree: int
    acc_norm_agree: int
    ours_acc: float
    ours_acc_norm: float
    harness_acc: float
    harness_acc_norm: float
    max_logprob_diff: float


def run_harness(
    model: Any,
    tasks_dir: Path,
    *,
    model_args: Mapping[str, Any] | None = None,
    samples: Mapping[str, list[int]] | None = None,
) -> dict[str, list[HarnessItem]]:
    """Per-item results of lm_eval's ``simple_evaluate`` on the local tasks in ``tasks_dir``.

    ``model``: an lm_eval model name (``"hf"``, ``"biomedgpt"``) or ``LM`` instance;
    ``samples``: doc indices per task (all docs when ``None``).
    """
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=str(tasks_dir), include_defaults=False)
    results = simple_evaluate(
        model=model,
        model_args=dict(model_args) if model_args else None,
        tasks=list(TASKS),
        task_manager=manager,
        apply_chat_template=True,
        log_samples=True,
        bootstrap_iters=0,
        samples=dict(samples) if samples else None,
    )
    if results is None:
        raise RuntimeError("lm_eval returned no results (not the main process?)")
    out: dict[str, list[HarnessItem]] = {}
    for task in TASKS:
        rows = sorted(results["samples"][task], key=lambda row: int(row["doc_id"]))
        out[task] = [
            HarnessItem(
                item_id=str(row["doc"]["id"]),
                context=str(row["arguments"][0][0]),
                continuations=tuple(str(argument[1]) for argument in row["arguments"]),
                logprobs=tuple(float(resp[0]) for resp in row["filtered_resps"]),
                acc=bool(row["acc"]),
                acc_norm=bool(row["acc_norm"]),
            )
            for row in rows
        ]
    return out


def compare(task: str, harness: Sequence[HarnessItem], ours: Sequence[ItemScores]) -> Agreement:
    """Agreement of our scores with the harness's on the same items (matched by id)."""
    by_id = {score.item_id: score for score in ours}
    missing = [item.item_id for item in harness if item.item_id not in by_id]
    if missing:
        raise ValueError(f"{task}: no score of ours for items {missing}")
    pairs = [(item, by_id[item.item_id]) for item in harness]
    n = len(pairs)
    return Agreement(
        task=task,
        items=n,
        acc_agree=sum(item.acc == (score.pred == score.gold) for item, score in pairs),
        acc_norm_agree=sum(
            item.acc_norm == (score.pred_norm == score.gold) for item, score in pairs
        ),
        ours_acc=sum(score.pred == score.gold for _, score in pairs) / n,
        ours_acc_norm=sum(score.pred_norm == score.gold for _, score in pairs) / n,
        harness_acc=sum(item.acc for item, _ in pairs) / n,
        harness_acc_norm=sum(item.acc_norm for item, _ in pairs) / n,
        max_logprob_diff=max(
            abs(a - b)
            for item, score in pairs
            for a, b in zip(item.logprobs, score.logprobs, strict=True)
        ),
    )
