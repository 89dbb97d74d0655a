"""How sequences are cut into model windows and grouped into batches (pure planning).

**Windows.** ESM-2 was trained on crops of at most 1,022 residues (1,024 tokens
with ``<cls>``/``<eos>``). A longer sequence is cut into windows of exactly
``size`` residues whose starts advance by ``size - overlap``; the last window is
aligned to the sequence end, so every window is full length and neighbours
overlap by at least ``overlap`` residues. Overlaps are merged by *most-central
window*: each residue takes its output from the window in which it sits farthest
from a window edge (ties go to the earlier window). Every residue therefore keeps
at least ``overlap // 2`` residues of context on each side, except at the
protein's own ends, and no vector is an average of two different contexts.

**Batches.** Rows are sorted by length (longest first, so an out-of-memory shows
up on the first batch) and packed while ``rows x longest row`` — the padded
token count the model actually computes — stays within ``token_budget``. A
single row longer than the budget is run alone. Results are put back in input
order by the caller, using the indices returned here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from biomed_agent.errors import InvalidQueryError

__all__ = ["Window", "owning_windows", "plan_batches", "plan_windows"]


@dataclass(frozen=True)
class Window:
    """Residues ``start`` (inclusive) to ``end`` (exclusive), 0-based."""

    start: int
    end: int

    def centrality(self, index: int) -> int:
        """Residues of context on the nearer side of ``index`` inside this window."""
        return min(index - self.start, self.end - 1 - index)


def plan_windows(length: int, size: int, overlap: int) -> list[Window]:
    """Full-length windows covering ``length`` residues (one window if it fits)."""
    if size < 1 or not 0 <= overlap < size:
        raise InvalidQueryError(
            f"window size {size} with overlap {overlap} cannot work; need size >= 1 and "
            "0 <= overlap < size (settings esm_window_overlap).",
            input_name="overlap",
        )
    if length <= size:
        return [Window(0, length)]
    stride = size - overlap
    starts = [*range(0, length - size, stride), length - size]
    return [Window(start, start + size) for start in starts]


def owning_windows(windows: Sequence[Window], length: int) -> list[int]:
    """For each residue, the index of the window whose output it takes (most central)."""
    owners: list[int] = []
    current = 0
    for index in range(length):
        # centrality along a residue's windows rises then falls, so a forward scan suffices
        while (
            current + 1 < len(windows)
            and windows[current + 1].start <= index
            and windows[current + 1].centrality(index) > windows[current].centrality(index)
        ):
            current += 1
        owners.append(current)
    return owners


def plan_batches(lengths: Sequence[int], token_budget: int) -> list[list[int]]:
    """Group row indices into batches whose padded size stays within ``token_budget``."""
    if token_budget < 1:
        raise InvalidQueryError(
            f"token budget {token_budget} cannot work; give a positive number of tokens "
            "per batch (settings esm_token_budget).",
            input_name="token_budget",
        )
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    for index in order:
        if batches and (len(batches[-1]) + 1) * lengths[batches[-1][0]] <= token_budget:
            batches[-1].append(index)
        else:
            batches.append([index])
    return batches
