"""Window planning, most-central merging and token-budget batches."""

from __future__ import annotations

import itertools

import pytest

from biomed_agent.errors import InvalidQueryError
from biomed_agent.proteins.batching import (
    BatchTuner,
    Window,
    length_class,
    owning_windows,
    plan_batches,
    plan_windows,
)


def test_short_sequence_is_one_window() -> None:
    assert plan_windows(100, 1022, 256) == [Window(0, 100)]
    assert plan_windows(1022, 1022, 256) == [Window(0, 1022)]


def test_long_sequence_windows_are_full_length_and_cover_the_end() -> None:
    windows = plan_windows(2500, 1022, 256)
    assert [(w.start, w.end) for w in windows] == [(0, 1022), (766, 1788), (1478, 2500)]
    for left, right in itertools.pairwise(windows):
        assert left.end - right.start >= 256


def test_each_residue_takes_its_most_central_window() -> None:
    windows = plan_windows(30, 10, 4)  # starts 0, 6, 12, 18, 20
    owners = owning_windows(windows, 30)
    for index, owner in enumerate(owners):
        best = max(w.centrality(index) for w in windows if w.start <= index < w.end)
        assert windows[owner].centrality(index) == best
        assert windows[owner].start <= index < windows[owner].end
    assert owners == sorted(owners)
    assert owners[0] == 0 and owners[-1] == len(windows) - 1


@pytest.mark.parametrize(("size", "overlap"), [(10, 10), (10, -1), (0, 0)])
def test_impossible_window_settings(size: int, overlap: int) -> None:
    with pytest.raises(InvalidQueryError, match="cannot work"):
        plan_windows(50, size, overlap)


def test_batches_respect_the_padded_token_budget() -> None:
    lengths = [10, 50, 12, 48, 11, 30]
    batches = plan_batches(lengths, token_budget=100)
    assert sorted(i for batch in batches for i in batch) == list(range(6))
    for batch in batches:
        assert len(batch) * max(lengths[i] for i in batch) <= 100
        assert [lengths[i] for i in batch] == sorted((lengths[i] for i in batch), reverse=True)
    assert batches[0] == [1, 3]  # longest first: 50 and 48 fit in 100


def test_row_longer_than_budget_runs_alone() -> None:
    assert plan_batches([500, 5, 5], token_budget=100) == [[0], [1, 2]]


def test_non_positive_budget_is_rejected() -> None:
    with pytest.raises(InvalidQueryError, match="token budget 0"):
        plan_batches([5], token_budget=0)


def _tuned_run(
    tuner: BatchTuner, lengths: list[int], cost: object, budget: int = 10_000
) -> list[list[int]]:
    """Run the tuner against a simulated model: ``cost(rows, padded_length)`` seconds."""
    clock = [0.0]
    batches: list[list[int]] = []

    def forward(batch: list[int]) -> None:
        batches.append(batch)
        clock[0] += cost(len(batch), max(lengths[i] for i in batch))  # type: ignore[operator]

    tuner.run(lengths, budget, "cpu", forward, lambda: clock[0])
    return batches


def test_tuner_batches_where_batching_is_measured_cheaper() -> None:
    tuner = BatchTuner()
    lengths = [100] * 40
    # fixed 1 s per call + 0.01 s per token: bigger batches are always cheaper per token
    batches = _tuned_run(tuner, lengths, lambda rows, length: 1.0 + 0.01 * rows * length)
    assert [len(b) for b in batches[:4]] == [1, 2, 4, 8]  # the climb, on real rows
    # 16 is not tried with 25 rows left (under 4 x 16): the best measured size is kept
    assert [len(b) for b in batches[4:]] == [8, 8, 8, 1]
    assert sorted(i for b in batches for i in b) == list(range(40))


def test_tuner_runs_one_at_a_time_where_batches_cost_more() -> None:
    tuner = BatchTuner()
    lengths = [500] * 12
    # per-row cost grows with batch size (cache-bound attention): singles are cheapest
    batches = _tuned_run(tuner, lengths, lambda rows, length: rows * length * (1 + 0.3 * rows))
    assert [len(b) for b in batches] == [1, 2] + [1] * 9
    # a class with too few rows left never tries a batch it could not make up for
    assert [len(b) for b in _tuned_run(BatchTuner(), [500] * 3, lambda r, n: r * n)] == [1, 1, 1]
    # what was measured is remembered: the next call goes straight to single rows
    assert [len(b) for b in _tuned_run(tuner, [500] * 3, lambda r, n: r * n)] == [1, 1, 1]


def test_tuner_keeps_padding_and_token_budget() -> None:
    tuner = BatchTuner()
    lengths = [100, 99, 98, 97, 60, 59, 58, 57, 56, 55, 54, 53]
    batches = _tuned_run(tuner, lengths, lambda rows, length: 1.0 + rows * length, budget=250)
    for batch in batches:
        padded = len(batch) * max(lengths[i] for i in batch)
        assert padded <= 250
        assert padded <= 1.1 * sum(lengths[i] for i in batch)
        assert len({length_class(lengths[i]) for i in batch}) == 1
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    with pytest.raises(InvalidQueryError, match="token budget 0"):
        tuner.run([5], 0, "cpu", lambda batch: None, lambda: 0.0)
