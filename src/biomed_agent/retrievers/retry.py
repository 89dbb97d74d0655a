"""Retry policy and request counters of the HTTP layer (see :mod:`biomed_agent.retrievers.http`)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace

__all__ = ["FetchStats", "RetryPolicy"]


@dataclass
class FetchStats:
    """Cumulative counters of one client (thread-safe); ``snapshot()`` gives a frozen copy."""

    requests: int = 0
    """Requests that reached the network (retries included)."""
    from_cache: int = 0
    """Answers served from the HTTP cache."""
    retries: int = 0
    """Requests re-sent after a failure."""
    throttled: int = 0
    """429 answers received."""
    missing: int = 0
    """Inputs skipped because no record answers to them."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)

    def snapshot(self) -> FetchStats:
        with self._lock:
            return replace(self, _lock=threading.Lock())

    def __sub__(self, other: FetchStats) -> FetchStats:
        counts = {
            f.name: getattr(self, f.name) - getattr(other, f.name)
            for f in fields(self)
            if f.compare
        }
        return FetchStats(**counts)


@dataclass(frozen=True)
class RetryPolicy:
    """How failed requests are retried; tests shrink the delays or inject ``sleep``."""

    retries: int = 5
    backoff_base: float = 0.5
    """First backoff in seconds; doubles on each retry."""
    backoff_max: float = 30.0
    retry_after_max: float = 120.0
    """Longest ``Retry-After`` honoured; a longer one is cut to this."""
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[], float] = random.random

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number ``attempt + 1`` (equal jitter)."""
        if retry_after is not None:
            return min(retry_after, self.retry_after_max)
        ceiling = min(self.backoff_max, self.backoff_base * 2**attempt)
        return ceiling / 2 + self.jitter() * ceiling / 2
