"""PubChem rate limiting: no 429 under scheduling delays, and close to the 5/s bound.

``resolve_cids`` (one request per name, PUG-REST's rule) against the replay server of
``bench_fetch.py`` (``--latency`` added to every answer; PubChem's 5 requests/s
enforced on arrival times, ``429`` + ``Retry-After: 1`` beyond). Arms, alternating:

* ``ours`` — the shipped limiter: each request holds its place from its start until
  1 s after its answer (pacing by response arrival, no margin);
* ``previous`` — the limiter before this change: start times spaced over a window of
  1.05 s (a fixed 5% margin);
* ``pubchempy`` — pubchempy's best paced loop: ``get_cids(name, "name")`` one after
  another, starts 0.2 s apart (the outside baseline; run without injected delays).

``--send-delay D`` stands in for a loaded machine: every request of our client sleeps
a random 0..D seconds between leaving the limiter and reaching the socket (a thread
descheduled at load 25 did exactly this), so the server sees arrivals later and
bunched. Reported: seconds, requests, 429s received, and seconds vs the n/5 bound.

    python benchmarks/bench_limiter.py --names 50 --send-delay 0.3    # under "load"
    python benchmarks/bench_limiter.py --names 200 --repeats 1        # quiet, the bound
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pubchempy
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_fetch
from biomed_agent.retrievers import http as http_module
from biomed_agent.retrievers.pubchem import PubChemClient
from biomed_agent.retrievers.ratelimit import RateLimiter

RATE = bench_fetch.PUBCHEM_RATE


class StartPacedLimiter(RateLimiter):
    """The previous behaviour: windows count from start times, 5% margin."""

    @contextmanager
    def slot(self) -> Iterator[None]:
        self.acquire()
        yield


@contextmanager
def send_delay(maximum: float, seed: int) -> Iterator[None]:
    """Sleep 0..``maximum`` s before each request reaches the socket (our client only)."""
    original = requests.adapters.HTTPAdapter.send
    rng = random.Random(seed)

    def delayed(self: Any, request: Any, **kwargs: Any) -> Any:
        time.sleep(rng.uniform(0, maximum))
        return original(self, request, **kwargs)

    requests.adapters.HTTPAdapter.send = delayed  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        requests.adapters.HTTPAdapter.send = original  # type: ignore[method-assign]


def ours(server: Any, names: list[str], previous: bool) -> Callable[[], Any]:
    settings = bench_fetch.fresh_settings(server)
    if previous:
        limiters: dict[str, RateLimiter] = {}
        original = http_module.rate_limiter_for

        def old(key: str, per_second: int) -> RateLimiter:
            return limiters.setdefault(key, StartPacedLimiter(per_second, 1.05))

        http_module.rate_limiter_for = old  # type: ignore[assignment]
        try:
            client = PubChemClient.from_settings(settings)
        finally:
            http_module.rate_limiter_for = original
    else:
        client = PubChemClient.from_settings(settings)
    return lambda: client.resolve_cids(names)


def pubchempy_loop(names: list[str]) -> Callable[[], Any]:
    def run() -> int:
        began = time.perf_counter()
        for i, name in enumerate(names):
            pause = began + i / RATE - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            while True:
                try:
                    pubchempy.get_cids(name, "name")
                    break
                except pubchempy.PubChemHTTPError:
                    time.sleep(1.0)
        return len(names)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--send-delay", type=float, default=0.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-pubchempy", action="store_true")
    args = parser.parse_args()
    bench_fetch.exit_cleanly_on_sigterm()  # a killed run still removes its folders
    server = bench_fetch.start_server(args.latency, [])
    pubchempy.API_BASE = f"{server.url}{bench_fetch.PUBCHEM}/pug"
    bound = args.names / RATE
    print(f"{args.names} names, {args.latency * 1e3:.0f} ms latency, send delay 0-"
          f"{args.send_delay * 1e3:.0f} ms, bound {bound:g} s, {args.repeats} rounds")  # fmt: skip
    results: dict[str, list[tuple[float, int, int]]] = {}
    loads = [os.getloadavg()[0]]
    try:
        for repeat in range(args.repeats):
            names = [f"synthetic drug {repeat}-{i}" for i in range(args.names)]  # cold cache
            arms: dict[str, Callable[[], Any]] = {
                "ours (pacing by answer)": ours(server, names, previous=False),
                "previous (start times, 5% margin)": ours(server, names, previous=True),
            }
            if not args.no_pubchempy:
                arms["pubchempy best paced loop (baseline)"] = pubchempy_loop(names)
            order = list(arms)
            order = order[repeat % len(order) :] + order[: repeat % len(order)]
            for name in order:
                time.sleep(1.1)  # the server's window forgets the previous arm's requests
                delay = args.send_delay if not name.startswith("pubchempy") else 0.0
                with send_delay(delay, seed=repeat):
                    run = bench_fetch.measure(server, bench_fetch.PUBCHEM, arms[name])
                results.setdefault(name, []).append((run.seconds, run.requests, run.throttled))
                loads.append(os.getloadavg()[0])
                print(f"  round {repeat + 1} {name}: {run.seconds:.2f} s, {run.requests} "
                      f"requests, {run.throttled} x 429", flush=True)  # fmt: skip
    finally:
        server.__exit__(None, None, None)
        bench_fetch._WORKDIR.cleanup()
    print(f"load average (1 min): {min(loads):.1f}-{max(loads):.1f}")
    print("| arm | median s | vs bound | requests | 429s received (all rounds) |")
    print("|---|---|---|---|---|")
    for name, runs in results.items():
        seconds = statistics.median(r[0] for r in runs)
        print(f"| {name} | {seconds:.2f} | {100 * (seconds / bound - 1):+.1f}% | "
              f"{max(r[1] for r in runs)} | {sum(r[2] for r in runs)} |")  # fmt: skip


if __name__ == "__main__":
    main()
