"""ESM-2 embedding throughput: token-budget batching vs one sequence at a time, on CPU.

Embeds N random protein sequences (uniform lengths 50-1,000, residues drawn
uniformly from the 20 standard amino acids — acceptable because the model is
random too) with a small random ESM-2 written in fair-esm's checkpoint format and
loaded through :func:`biomed_agent.proteins.esm.load_esm`, like real weights.

Each mode runs in its own fresh process, so its peak resident memory
(``ru_maxrss``) is its own; the modes alternate across repeats so background load
hits both alike. Reported: residues per wall-clock second and per CPU-second
(the latter is steadier on a shared machine), medians over repeats, the ratio
batched / one-at-a-time (target >= 2x), and peak RSS beside the RSS after loading.

    python benchmarks/bench_proteins.py                      # default, a few minutes on 2 cores
    python benchmarks/bench_proteins.py --layers 6 --dim 320 --heads 20   # ESM-2 8M shape
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.helpers: the checkpoint builder the test suite uses

STANDARD = "ACDEFGHIKLMNPQRSTVWY"


def make_sequences(count: int, low: int, high: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choices(STANDARD, k=rng.randint(low, high))) for _ in range(count)]


def rss_mib() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(args: argparse.Namespace) -> None:
    import torch

    from biomed_agent.proteins.embeddings import embed_sequences
    from biomed_agent.proteins.esm import load_esm

    torch.set_num_threads(args.threads)
    model = load_esm(args.checkpoint, device="cpu", dtype="fp32")
    sequences = make_sequences(args.sequences, args.min_len, args.max_len, args.seed)
    embed_sequences(sequences[:2], model)  # warm-up: allocator, kernels
    loaded = rss_mib()
    start, cpu_start = time.perf_counter(), time.process_time()
    if args.mode == "batched":
        vectors = embed_sequences(sequences, model, token_budget=args.token_budget)
    else:
        vectors = [embed_sequences([s], model)[0] for s in sequences]
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    assert [v.per_residue.shape[0] for v in vectors] == [len(s) for s in sequences]
    residues = sum(len(s) for s in sequences)
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "residues": residues,
                      "rss_loaded": loaded, "rss_peak": rss_mib()}))  # fmt: skip


def run_mode(mode: str, checkpoint: Path, args: argparse.Namespace) -> dict[str, float]:
    command = [
        sys.executable, __file__, "--worker", mode, "--checkpoint", str(checkpoint),
        "--sequences", str(args.sequences), "--min-len", str(args.min_len),
        "--max-len", str(args.max_len), "--seed", str(args.seed),
        "--token-budget", str(args.token_budget), "--threads", str(args.threads),
    ]  # fmt: skip
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    result: dict[str, float] = json.loads(output.strip().splitlines()[-1])
    print(f"  {mode:>14}: {result['residues'] / result['seconds']:8.0f} residues/s wall "
          f"({result['seconds']:.1f} s), {result['residues'] / result['cpu_seconds']:8.0f} "
          f"residues per CPU-second ({result['cpu_seconds']:.1f} s), peak RSS "
          f"{result['rss_peak']:.0f} MiB (after load {result['rss_loaded']:.0f} MiB)",
          flush=True)  # fmt: skip
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=500)
    parser.add_argument("--min-len", type=int, default=50)
    parser.add_argument("--max-len", type=int, default=1000)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--token-budget", type=int, default=4096)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worker", choices=["batched", "one-at-a-time"], help=argparse.SUPPRESS)
    parser.add_argument("--checkpoint", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        args.mode = args.worker
        worker(args)
        return

    from tests.helpers.tiny_esm import build_tiny_esm

    with tempfile.TemporaryDirectory() as directory:
        checkpoint = build_tiny_esm(
            Path(directory) / "bench-esm2.pt",
            num_layers=args.layers,
            embed_dim=args.dim,
            attention_heads=args.heads,
        )
        print(f"{args.sequences} sequences, lengths {args.min_len}-{args.max_len}; random ESM-2 "
              f"{args.layers} layers x {args.dim} dim x {args.heads} heads; token budget "
              f"{args.token_budget}; {args.threads} threads", flush=True)  # fmt: skip
        runs: dict[str, list[dict[str, float]]] = {"one-at-a-time": [], "batched": []}
        for repeat in range(args.repeats):
            print(f"repeat {repeat + 1}/{args.repeats}", flush=True)
            for mode in runs:
                runs[mode].append(run_mode(mode, checkpoint, args))

    def median_rate(mode: str, clock: str) -> float:
        return statistics.median(r["residues"] / r[clock] for r in runs[mode])

    for clock, label in (("seconds", "residues/s (wall)"), ("cpu_seconds", "residues/CPU-s")):
        single, batched = median_rate("one-at-a-time", clock), median_rate("batched", clock)
        print(f"median {label}: one-at-a-time {single:.0f}, batched {batched:.0f}, "
              f"ratio {batched / single:.2f}x (target >= 2x)")  # fmt: skip
    for mode, results in runs.items():
        print(f"peak RSS {mode}: {max(r['rss_peak'] for r in results):.0f} MiB "
              f"(after load {max(r['rss_loaded'] for r in results):.0f} MiB)")  # fmt: skip


if __name__ == "__main__":
    main()
