"""Window planning, most-central merging and token-budget batches."""

from __future__ import annotations

import itertools

import pytest

from biomed_agent.errors import InvalidQueryError
from biomed_agent.proteins.batching import Window, owning_windows, plan_batches, plan_windows


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
