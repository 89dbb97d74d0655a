"""Cost of sampling with the request's own generator (issue 19) against transformers' own.

Two arms on the same prompt ids and the same number of new tokens (``min_new_tokens``
pins it), alternating in rotating order, one warm-up each, medians of ``--repeats``
runs, wall time and process CPU-seconds, load average printed:

- ``transformers``: ``generate(do_sample=True, temperature, top_p, top_k=0)`` seeded on the
  global generator inside ``torch.random.fork_rng`` (what ``models/batching.py`` did);
- ``row sampler``: ``generate(do_sample=False)`` with
  :class:`~biomed_agent.models.row_sampling.RowSampler` as the last logits processor,
  drawing with its own ``torch.Generator`` (what it does now).

Model: the tiny random Llama of ``tests/helpers/tiny_llama.py`` (``--hidden``/``--layers``),
CPU, one torch thread, so the per-token sampling step is a large share of the time.

Run: ``.venv/bin/python benchmarks/bench_sampling.py`` (about 30 s on 2 quiet cores).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    args = parser.parse_args()

    import torch
    from tests.helpers.tiny_llama import build_tiny_llama
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    from biomed_agent.models.row_sampling import RowSampler, Sampling

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        path = build_tiny_llama(Path(tmp), hidden_size=args.hidden, num_layers=args.layers)
        model = AutoModelForCausalLM.from_pretrained(str(path)).eval()
        tokenizer = AutoTokenizer.from_pretrained(str(path))
    ids = tokenizer("### Human: What is aspirin? ### Assistant:", return_tensors="pt").input_ids
    common = {"max_new_tokens": args.tokens, "min_new_tokens": args.tokens, "pad_token_id": 0}
    sampled = GenerationConfig(do_sample=True, temperature=0.9, top_p=0.95, top_k=0, **common)
    greedy = GenerationConfig(do_sample=False, **common)

    def transformers_arm() -> None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(7)
            model.generate(input_ids=ids, generation_config=sampled)

    def row_sampler_arm() -> None:
        sampler = RowSampler(Sampling(0.9, top_p=0.95), [7])
        model.generate(input_ids=ids, generation_config=greedy, logits_processor=[sampler])

    arms: dict[str, Callable[[], None]] = {
        "transformers": transformers_arm,
        "row sampler": row_sampler_arm,
    }
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in arms}
    with torch.inference_mode():
        for run in range(args.repeats + 1):
            names = list(arms)
            names = names[run % len(names) :] + names[: run % len(names)]
            for name in names:
                wall, cpu = time.perf_counter(), time.process_time()
                arms[name]()
                if run:  # the first round warms up
                    times[name].append((time.perf_counter() - wall, time.process_time() - cpu))
    print(f"load average {os.getloadavg()}; {args.tokens} tokens, medians of {args.repeats}")
    base = statistics.median(c for _, c in times["transformers"])
    for name, values in times.items():
        wall = statistics.median(w for w, _ in values)
        cpu = statistics.median(c for _, c in values)
        print(
            f"{name:>12}: {cpu * 1e3:7.1f} ms CPU, {wall * 1e3:7.1f} ms wall, "
            f"{cpu / args.tokens * 1e3:.3f} ms CPU/token, CPU vs transformers {cpu / base - 1:+.1%}"
        )


if __name__ == "__main__":
    main()
