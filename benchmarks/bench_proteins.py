"""ESM-2 per-residue embeddings on CPU: ours against what users would otherwise run.

Three arms embed the same random protein sequences (lengths uniform in
``--min-len``..``--max-len``, residues uniform over the 20 standard amino acids —
acceptable because the weights are random too) with the same random ESM-2
(``--layers/--dim/--heads``; 6/320/20 is the ESM-2 8M shape, 12/480/20 the 35M
shape), written in fair-esm's checkpoint format and loaded through ``load_esm``:

* ``fair-esm loop``: fair-esm's README pattern, one ``batch_converter`` call and one
  forward per sequence (the outside baseline);
* ``esm-extract``: fair-esm ``scripts/extract.py``'s batching —
  ``FastaBatchedDataset.get_batch_indices(toks_per_batch=4096, extra_toks_per_seq=1)``
  through a ``DataLoader`` with the alphabet's batch converter;
* ``ours``: ``embed_sequences`` — the same weights through ``proteins/esm_forward.py``
  (fair-esm's modules, attention fused by ``scaled_dot_product_attention`` instead of
  materialised score tensors) in measured batch sizes (``proteins/batching.py``), with its
  measurements **forgotten before every timed run** (``tuner.reset()``), so the
  exploration it does is paid inside the timing.

Every arm returns the same thing (a float32 ``(length, dim)`` array per sequence, last
layer) and the outputs are checked equal across arms. All arms run in one process
on the same module; one warm-up per arm; then ``--repeats`` rounds whose arm order
rotates. Reported per arm: median wall seconds and CPU-seconds (``process_time``, all
threads), residues per second, the load average around the run, and each arm's ratio
to the fair-esm loop (> 1 = faster than the loop).

    python benchmarks/bench_proteins.py                                  # quick, tiny model
    python benchmarks/bench_proteins.py --layers 6 --dim 320 --heads 20  # ESM-2 8M shape
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.helpers: the checkpoint builder the test suite uses

STANDARD = "ACDEFGHIKLMNPQRSTVWY"
Arm = Callable[[list[str]], list[np.ndarray]]


def make_sequences(count: int, low: int, high: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choices(STANDARD, k=rng.randint(low, high))) for _ in range(count)]


def fair_esm_loop(module: torch.nn.Module, alphabet: object, layer: int) -> Arm:
    convert = alphabet.get_batch_converter()  # type: ignore[attr-defined]

    def run(sequences: list[str]) -> list[np.ndarray]:
        out = []
        for i, sequence in enumerate(sequences):
            _, _, tokens = convert([(str(i), sequence)])
            with torch.no_grad():
                result = module(tokens, repr_layers=[layer])
            out.append(result["representations"][layer][0, 1 : len(sequence) + 1].numpy().copy())
        return out

    return run


def esm_extract(module: torch.nn.Module, alphabet: object, layer: int, toks: int) -> Arm:
    from esm.data import FastaBatchedDataset

    def run(sequences: list[str]) -> list[np.ndarray]:
        dataset = FastaBatchedDataset([str(i) for i in range(len(sequences))], sequences)
        batches = dataset.get_batch_indices(toks, extra_toks_per_seq=1)
        loader = torch.utils.data.DataLoader(
            dataset,
            collate_fn=alphabet.get_batch_converter(1022),  # type: ignore[attr-defined]
            batch_sampler=batches,
        )
        out: list[np.ndarray] = [np.empty(0)] * len(sequences)
        with torch.no_grad():
            for labels, strs, tokens in loader:
                reps = module(tokens, repr_layers=[layer])["representations"][layer]
                for row, label in enumerate(labels):
                    out[int(label)] = reps[row, 1 : len(strs[row]) + 1].clone().numpy()
        return out

    return run


def ours(model: object) -> Arm:
    from biomed_agent.proteins.embeddings import embed_sequences

    def run(sequences: list[str]) -> list[np.ndarray]:
        model.tuner.reset()  # type: ignore[attr-defined]  # cold: exploration is timed
        return [e.per_residue for e in embed_sequences(sequences, model)]  # type: ignore[arg-type]

    return run


def measure(arm: Arm, sequences: list[str]) -> tuple[float, float, float, list[np.ndarray]]:
    """Wall seconds, CPU-seconds and, of those, kernel (system) seconds of one run."""
    wall, cpu, system = time.perf_counter(), time.process_time(), os.times().system
    out = arm(sequences)
    elapsed = time.perf_counter() - wall, time.process_time() - cpu, os.times().system - system
    return *elapsed, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=40)
    parser.add_argument("--min-len", type=int, default=50)
    parser.add_argument("--max-len", type=int, default=1000)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import esm
    from tests.helpers.tiny_esm import build_tiny_esm

    from biomed_agent.proteins.esm import load_esm

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="bench-esm-") as directory:
        path = build_tiny_esm(
            Path(directory) / "bench-esm2.pt",
            num_layers=args.layers,
            embed_dim=args.dim,
            attention_heads=args.heads,
        )
        model = load_esm(str(path), device="cpu", dtype="fp32")
    alphabet = esm.Alphabet.from_architecture("ESM-1b")
    arms: dict[str, Arm] = {
        "fair-esm loop": fair_esm_loop(model.module, alphabet, args.layers),
        "esm-extract": esm_extract(model.module, alphabet, args.layers, 4096),
        "ours": ours(model),
    }
    sequences = make_sequences(args.sequences, args.min_len, args.max_len, args.seed)
    warm = make_sequences(6, args.min_len, args.max_len, args.seed + 1)
    residues = sum(map(len, sequences))
    print(
        f"{args.sequences} sequences ({residues} residues, {args.min_len}-{args.max_len}); "
        f"random ESM-2 {args.layers} layers x {args.dim} dim x {args.heads} heads; "
        f"{args.threads} torch threads; {args.repeats} repeats, arm order rotating",
        flush=True,
    )
    for arm in arms.values():
        arm(warm)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in arms}
    loads = [os.getloadavg()[0]]
    names = list(arms)
    reference: list[np.ndarray] | None = None
    for repeat in range(args.repeats):
        for name in names[repeat % 3 :] + names[: repeat % 3]:
            wall, cpu, system, out = measure(arms[name], sequences)
            times[name].append((wall, cpu))
            loads.append(os.getloadavg()[0])
            print(
                f"  repeat {repeat + 1} {name:>14}: {wall:7.2f} s wall {cpu:7.2f} CPU-s "
                f"(system {system:.2f})"
            )
            if reference is None:
                reference = out
            for got, want in zip(out, reference, strict=True):
                np.testing.assert_allclose(got, want, atol=1e-3, rtol=1e-3)
    base_wall = statistics.median(w for w, _ in times["fair-esm loop"])
    base_cpu = statistics.median(c for _, c in times["fair-esm loop"])
    print(f"load average (1 min) during the runs: {min(loads):.1f}-{max(loads):.1f}")
    print("| arm | median wall s | median CPU-s | residues/s | vs loop (wall) | vs loop (CPU) |")
    print("|---|---|---|---|---|---|")
    for name in arms:
        wall = statistics.median(w for w, _ in times[name])
        cpu = statistics.median(c for _, c in times[name])
        print(
            f"| {name} | {wall:.2f} | {cpu:.2f} | {residues / wall:.0f} | "
            f"{base_wall / wall:.2f}x | {base_cpu / cpu:.2f}x |"
        )


if __name__ == "__main__":
    main()
