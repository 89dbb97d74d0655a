"""Pacing by response arrival: no server window ever sees more than the limit."""

from __future__ import annotations

import random
import threading
import time

from biomed_agent.retrievers.ratelimit import RateLimiter, rate_limiter_for


def test_slots_count_their_window_from_the_answer() -> None:
    now = [0.0]
    limiter = RateLimiter(
        2, 1.0, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s)
    )
    starts = []
    for _ in range(4):
        with limiter.slot():
            starts.append(round(now[0], 6))
            now[0] += 0.3  # each answer takes 0.3 s
    # the third start waits for the first answer (0.3) + 1 s, not the first start + 1 s
    assert starts == [0.0, 0.5, 1.3, 1.8]


def test_no_window_at_the_server_exceeds_the_limit_under_random_delays() -> None:
    """Simulated server: requests arrive anywhere between start and answer (load jitter)."""
    limit, period = 5, 0.2
    limiter = RateLimiter(limit, period)
    arrivals: list[float] = []
    lock = threading.Lock()
    rng = random.Random(1)
    delays = [(rng.uniform(0, 0.05), rng.uniform(0, 0.05)) for _ in range(40)]

    def request(before: float, after: float) -> None:
        with limiter.slot():
            time.sleep(before)  # the client thread is descheduled before sending
            with lock:
                arrivals.append(time.monotonic())
            time.sleep(after)  # the answer takes a while

    threads = [threading.Thread(target=request, args=d) for d in delays]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    arrivals.sort()
    for first, last in zip(arrivals, arrivals[limit:], strict=False):
        assert last - first >= period - 1e-3  # never limit + 1 arrivals within a period


def test_shared_limiter_has_no_guessed_margin() -> None:
    limiter = rate_limiter_for("pacing-test@example.org", 5)
    assert limiter is rate_limiter_for("pacing-test@example.org", 5)
    assert (limiter.max_calls, limiter.period) == (5, 1.0)
