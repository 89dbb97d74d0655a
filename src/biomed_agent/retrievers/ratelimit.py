"""Per-host rate limiting shared by every retriever client (one limiter per service and host)."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["RateLimiter", "rate_limiter_for"]


class RateLimiter:
    """At most ``max_calls`` starts in any ``period`` seconds, across every thread.

    Starts are also spaced ``period / max_calls`` apart (no bursts: a burst that reaches
    the server late would share its window with the next one). Start times are recorded
    under the lock at the moment a caller proceeds, not when it queued.

    :meth:`slot` paces by response arrival: a request holds its place from its start
    until ``period`` after its answer came back. The server saw it arrive somewhere in
    between, however late the client's thread ran on a loaded machine, so no window of
    ``period`` seconds at the server ever holds more than ``max_calls`` arrivals — with
    no margin to guess. The price is one round trip per ``max_calls`` requests.
    """

    def __init__(
        self,
        max_calls: int,
        period: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_calls < 1 or period <= 0:
            raise ValueError(
                f"rate limit needs max_calls >= 1 and period > 0, got {max_calls}/{period}"
            )
        self.max_calls = max_calls
        self.period = period
        self.spacing = period / max_calls
        self._clock = clock
        self._sleep = sleep
        self._starts: deque[float] = deque()
        self._held: list[list[float]] = []  # [start, end] of slots; end is inf in flight
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Wait for a free slot; return the seconds waited (the window counts from now)."""
        waited, _ = self._wait(hold=False)
        return waited

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Wait for a free slot, run the request, and count its window from its answer."""
        _, held = self._wait(hold=True)
        try:
            yield
        finally:
            with self._lock:
                held[1] = self._clock()

    def _wait(self, *, hold: bool) -> tuple[float, list[float]]:
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                while self._starts and self._starts[0] <= now - self.period:
                    self._starts.popleft()
                self._held = [h for h in self._held if h[1] > now - self.period]
                busy = sorted([*self._starts, *(h[1] for h in self._held)])  # window starts
                last = max([*self._starts, *(h[0] for h in self._held)], default=None)
                pause = last + self.spacing - now if last is not None else 0.0
                if len(busy) >= self.max_calls:
                    free_at = busy[len(busy) - self.max_calls] + self.period  # inf: in flight
                    pause = max(pause, free_at - now)
                if pause <= 0:
                    entry = [now, math.inf]
                    if hold:
                        self._held.append(entry)
                    else:
                        self._starts.append(now)
                    return waited, entry
            if math.isinf(pause):  # every slot is in flight: wait for an answer
                pause = self.spacing
            self._sleep(pause)
            waited += pause


_LIMITERS: dict[tuple[str, int], RateLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


def rate_limiter_for(key: str, max_per_second: int) -> RateLimiter:
    """The process-wide limiter for ``key`` (service and host), shared by every client.

    No safety margin on the window: requests go through :meth:`RateLimiter.slot`, whose
    windows count from each answer's arrival (a 5% margin on start times let 2 requests
    in 202 draw a 429 at load 25, when scheduling delays exceeded it).
    """
    ident = (key, max_per_second)
    with _LIMITERS_LOCK:
        if ident not in _LIMITERS:
            _LIMITERS[ident] = RateLimiter(max_per_second, 1.0)
        return _LIMITERS[ident]
