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

**Batches.** :func:`plan_batches` sorts rows longest first (so an out-of-memory
shows up on the first batch) and packs them while ``rows x longest
row`` — the padded token count the model actually computes — stays within
``token_budget`` (fair-esm ``extract.py``'s rule). A single row longer than the
budget is run alone. Results are put back in input order by the caller.

**Measured batch sizes.** Batching is not free on a CPU: padding is computed
like real tokens, and a batch's working set leaves the cache sooner than one
row's, so for rows of a few hundred residues a batch can cost more per residue
than the same rows one at a time (with fair-esm's explicit attention, whose
``rows x heads x length²`` score tensors made this worse, batches of 8 cost 1.3-2.6x
per row from 120 residues up; see docs/benchmarks.md). The
:class:`BatchTuner` therefore decides from measured cost, not a fixed rule. Rows
fall into half-octave length classes; a batch never pads more than
``PADDING_BUDGET`` of its real tokens and never exceeds ``token_budget``. In each
class the batch size climbs 1, 2, 4, … while the measured seconds per real token
keep falling, and stays at the cheapest size found; a size is tried only while
at least four times its rows are left in the class; classes run shortest first, and a
longer class never climbs above the best size of a shorter one. Every measurement is a real
forward pass over the caller's rows, so exploring wastes nothing but the
difference between the sizes tried. Costs are kept per model, per device and
torch thread count, as the minimum seen (other load only ever adds time).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from biomed_agent.errors import InvalidQueryError

__all__ = [
    "PADDING_BUDGET",
    "BatchTuner",
    "Window",
    "length_class",
    "owning_windows",
    "plan_batches",
    "plan_windows",
]

PADDING_BUDGET = 0.10
"""Most padding a batch may carry, as a fraction of its real tokens."""


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
    _check_budget(token_budget)
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    for index in order:
        if batches and (len(batches[-1]) + 1) * lengths[batches[-1][0]] <= token_budget:
            batches[-1].append(index)
        else:
            batches.append([index])
    return batches


def _check_budget(token_budget: int) -> None:
    if token_budget < 1:
        raise InvalidQueryError(
            f"token budget {token_budget} cannot work; give a positive number of tokens "
            "per batch (settings esm_token_budget).",
            input_name="token_budget",
        )


def length_class(length: int) -> int:
    """Half-octave class of a row length: rows within a factor of about 1.41 share one."""
    return int(2 * math.log2(max(length, 1)))


@dataclass
class BatchTuner:
    """Chooses each batch's size from measured seconds per real token (see module docs)."""

    padding_budget: float = PADDING_BUDGET
    _cost: dict[tuple[str, int, int], float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def cost(self, context: str, klass: int, size: int) -> float | None:
        """Lowest measured seconds per real token of ``size``-row batches in a class."""
        return self._cost.get((context, klass, size))

    def record(self, context: str, klass: int, size: int, seconds_per_token: float) -> None:
        with self._lock:
            key = (context, klass, size)
            self._cost[key] = min(seconds_per_token, self._cost.get(key, math.inf))

    def reset(self) -> None:
        """Forget every measurement (benchmarks use it to time a cold start)."""
        with self._lock:
            self._cost.clear()

    def best_size(self, context: str, klass: int) -> int | None:
        """Cheapest measured size of a class whose climb has compared two sizes, else None."""
        measured = {
            size: cost
            for (ctx, k, size), cost in self._cost.items()
            if ctx == context and k == klass
        }
        if len(measured) < 2:
            return None
        return min(measured, key=lambda size: measured[size])

    def size_for(self, context: str, klass: int, limit: int, remaining: int | None = None) -> int:
        """Batch size to run next: the next unmeasured size on the climb, else the best.

        The climb never goes above the best size of the nearest shorter class that has
        one: a longer row never gains more from batching than a shorter one (padding
        aside, its own work grows faster than the per-call cost it shares). A size is
        only tried when at least four times as many rows of the class are left
        (``remaining``), so a wrong guess costs little against the rows that follow.
        """
        remaining = limit if remaining is None else remaining
        for shorter in range(klass - 1, -1, -1):
            cap = self.best_size(context, shorter)
            if cap is not None:
                limit = min(limit, cap)
                break
        best = 0
        size = 1
        while size <= limit:
            cost = self.cost(context, klass, size)
            if cost is None:
                return size if size == 1 or remaining >= 4 * size else best or 1
            if best and cost >= self._cost[(context, klass, best)]:
                break  # worse than half this size: the climb stops
            best, size = size, size * 2
        return best or 1

    def run(
        self,
        lengths: Sequence[int],
        token_budget: int,
        context: str,
        forward: Callable[[list[int]], None],
        clock: Callable[[], float],
    ) -> None:
        """Call ``forward(batch)`` on batches of row indices covering ``lengths``, timing each."""
        _check_budget(token_budget)
        # shortest first: cheap classes are measured first and cap the climb of longer ones
        order = sorted(range(len(lengths)), key=lambda i: lengths[i])
        start = 0
        while start < len(order):
            klass = length_class(lengths[order[start]])
            end = start + 1
            real = lengths[order[start]]
            while end < len(order) and length_class(lengths[order[end]]) == klass:
                padded = (end - start + 1) * lengths[order[end]]
                real += lengths[order[end]]
                if padded > token_budget or padded > (1 + self.padding_budget) * real:
                    break
                end += 1
            left = start
            while left < len(order) and length_class(lengths[order[left]]) == klass:
                left += 1
            size = self.size_for(context, klass, end - start, left - start)
            batch = order[start : start + size][::-1]  # longest first: the padded length
            began = clock()
            forward(batch)
            elapsed = clock() - began
            self.record(context, klass, len(batch), elapsed / sum(lengths[i] for i in batch))
            start += len(batch)
