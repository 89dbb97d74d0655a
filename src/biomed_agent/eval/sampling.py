"""``--limit N``: a seeded, label-stratified sample instead of the first N items.

Benchmark files are often sorted (PubMedQA's first 40 test items are all
"yes"), so the first N items measure one label. :func:`sample_items` draws N
items with a fixed seed; when the gold labels are categorical (option letters,
yes/no/maybe) it allocates the N slots to labels in proportion to their share
(largest remainder, every present label at least once when N allows) and draws
within each label. The chosen items keep file order, and the same seed always
gives the same sample. :func:`describe_sample` says what was done, for the
report and the CLI.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Sequence

from biomed_agent.eval.items import EvalItem, TaskKind

__all__ = ["DEFAULT_SEED", "describe_sample", "sample_items"]

DEFAULT_SEED = 1234


def sample_items(
    items: Sequence[EvalItem], limit: int, *, kind: TaskKind, seed: int = DEFAULT_SEED
) -> list[EvalItem]:
    """``limit`` items drawn with ``seed``, stratified by label for choice and yes/no tasks."""
    if limit >= len(items):
        return list(items)
    rng = random.Random(seed)
    if kind == "text":
        chosen = set(rng.sample(range(len(items)), limit))
        return [item for i, item in enumerate(items) if i in chosen]
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, item in enumerate(items):
        by_label[item.answer].append(i)
    quotas = _quotas({label: len(ids) for label, ids in by_label.items()}, limit)
    chosen = set()
    for label in sorted(by_label):
        chosen.update(rng.sample(by_label[label], quotas[label]))
    return [item for i, item in enumerate(items) if i in chosen]


def _quotas(counts: dict[str, int], limit: int) -> dict[str, int]:
    total = sum(counts.values())
    labels = sorted(counts)
    floor = 1 if limit >= len(labels) else 0
    quotas = {label: max(floor, counts[label] * limit // total) for label in labels}
    quotas = {label: min(q, counts[label]) for label, q in quotas.items()}
    remainders = sorted(
        labels, key=lambda label: (-(counts[label] * limit / total - quotas[label]), label)
    )
    while sum(quotas.values()) > limit:  # floors of 1 overshot: trim the largest
        largest = max(labels, key=lambda label: (quotas[label], label))
        quotas[largest] -= 1
    i = 0
    while sum(quotas.values()) < limit:
        label = remainders[i % len(remainders)]
        if quotas[label] < counts[label]:
            quotas[label] += 1
        i += 1
    return quotas


def describe_sample(
    items: Sequence[EvalItem], sample: Sequence[EvalItem], *, kind: TaskKind, seed: int
) -> str:
    """One line saying how the sample was drawn and its label mix."""
    if len(sample) == len(items):
        return f"all {len(items)} items"
    how = "seeded random" if kind == "text" else "seeded, stratified by gold label"
    mix = ""
    if kind != "text":
        counts = Counter(item.answer for item in sample)
        mix = " (" + ", ".join(f"{label}: {n}" for label, n in sorted(counts.items())) + ")"
    return f"{len(sample)} of {len(items)} items, {how}, seed {seed}{mix}"
