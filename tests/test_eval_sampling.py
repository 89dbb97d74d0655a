"""--limit draws a seeded, label-stratified sample, not the first N items."""

from __future__ import annotations

from collections import Counter

from biomed_agent.eval.items import EvalItem
from biomed_agent.eval.sampling import describe_sample, sample_items


def _items(labels: str) -> list[EvalItem]:
    return [EvalItem(id=str(i), question=f"q{i}", answer=label) for i, label in enumerate(labels)]


def test_sorted_file_gives_a_mixed_sample() -> None:
    # 60 "yes" first, then 30 "no" and 10 "maybe": the first 40 would be all "yes".
    items = _items("y" * 60 + "n" * 30 + "m" * 10)
    sample = sample_items(items, 40, kind="yesno", seed=1)
    assert len(sample) == 40
    assert Counter(item.answer for item in sample) == {"y": 24, "n": 12, "m": 4}
    assert sample == sample_items(items, 40, kind="yesno", seed=1)  # reproducible
    assert sample != sample_items(items, 40, kind="yesno", seed=2)
    ids = [int(item.id) for item in sample]
    assert ids == sorted(ids)  # file order kept
    line = describe_sample(items, sample, kind="yesno", seed=1)
    assert line == "40 of 100 items, seeded, stratified by gold label, seed 1 (m: 4, n: 12, y: 24)"


def test_rare_labels_are_kept_and_limits_respected() -> None:
    items = _items("A" * 97 + "B" * 2 + "C")
    sample = sample_items(items, 5, kind="choice", seed=0)
    counts = Counter(item.answer for item in sample)
    assert sum(counts.values()) == 5 and counts["C"] == 1 and counts["B"] >= 1


def test_limit_at_or_above_size_keeps_everything() -> None:
    items = _items("abc")
    assert sample_items(items, 10, kind="text") == items
    assert describe_sample(items, items, kind="text", seed=0) == "all 3 items"
