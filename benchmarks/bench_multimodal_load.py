"""BioMedGPT-10B loading: memory-mapped meta-device loading vs plain torch.load + load_state_dict.

Writes a synthetic BioMedGPT-10B checkpoint (the published key layout, random
weights, fp32) of about 2.3 GB to a temporary directory, then loads it in fresh
processes, alternating the two ways:

* ``lean``: :func:`biomed_agent.models.multimodal.loading.load_biomedgpt10b`
  (model built on the meta device, ``torch.load(mmap=True)``, ``assign=True``);
* ``naive``: what OpenBioMed does — build the model with real (randomly
  initialised) weights, ``torch.load`` the file into memory, ``load_state_dict``.

Each process then reads every parameter once (a sum), as the first forward pass
would, so the memory-mapped weights are really resident when the peak is taken.
Reported: load time, time to first touch of all weights, and peak resident set
(``ru_maxrss``) per way (medians over repeats); target: lean peak <= 0.6x naive.
The checkpoint is deleted at the end.

    python benchmarks/bench_multimodal_load.py                # ~2.3 GB, 3 repeats
    python benchmarks/bench_multimodal_load.py --llm-layers 24 --repeats 1   # ~4.6 GB
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.helpers: the checkpoint builder the test suite uses


def _touch_all(model: object) -> float:
    import torch

    total = torch.zeros((), dtype=torch.float64)
    with torch.no_grad():
        for parameter in model.parameters():  # type: ignore[attr-defined]
            total += parameter.double().sum()
    return float(total)


def _naive(directory: Path) -> object:
    import torch
    from transformers import AutoTokenizer, EsmConfig, LlamaConfig

    from biomed_agent.models.multimodal.model import BioMedGPT10B

    tokenizer = AutoTokenizer.from_pretrained(directory / "llm")
    tokenizer.add_special_tokens({"pad_token": "[PAD]"})
    llm_config = LlamaConfig.from_pretrained(directory / "llm")
    llm_config.vocab_size = len(tokenizer)
    esm_config = EsmConfig.from_pretrained(directory / "esm")
    state = torch.load(directory / "biomedgpt_10b.pth", map_location="cpu", weights_only=True)
    gin_layers = 1 + max(
        int(key.split(".")[2]) for key in state if key.startswith("mol_structure_encoder.gnns.")
    )
    gin_hidden = state["mol_structure_encoder.x_embedding1.weight"].shape[1]
    model = BioMedGPT10B(
        llm_config, esm_config, tokenizer, gin_layers=gin_layers, gin_hidden=gin_hidden
    )
    model.load_state_dict(state, strict=False)
    return model


def _high_water_mb() -> float:
    """Peak RSS of this process image (``VmHWM``, not inherited from the parent at fork)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


def child(mode: str, directory: Path) -> None:
    """Run one way in this (fresh) process and print its figures as JSON."""
    # imports are not part of the timed load
    import transformers.models.esm.modeling_esm
    import transformers.models.llama.modeling_llama  # noqa: F401

    from biomed_agent.models.multimodal.loading import load_biomedgpt10b

    imported = _high_water_mb()
    start = time.perf_counter()
    if mode == "lean":
        model: object = load_biomedgpt10b(directory, dtype="fp32", device_map="cpu")
    else:
        model = _naive(directory)
    loaded = time.perf_counter()
    checksum = _touch_all(model)
    touched = time.perf_counter()
    figures = {
        "mode": mode,
        "load_s": loaded - start,
        "touch_s": touched - loaded,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "hwm_mb": _high_water_mb(),
        "imports_mb": imported,
        "checksum": checksum,
    }
    print(json.dumps(figures))


def build(directory: Path, sizes: dict[str, int]) -> None:
    """Write the synthetic checkpoint (in a child, so the parent stays small)."""
    from tests.helpers.tiny_biomedgpt10b import TinySizes, build_tiny_biomedgpt10b

    build_tiny_biomedgpt10b(directory, sizes=TinySizes(**sizes))


def run(*arguments: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, *arguments], capture_output=True, text=True, check=True
    )
    lines = out.stdout.strip().splitlines()
    result: dict[str, float] = json.loads(lines[-1]) if lines else {}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--llm-layers", type=int, default=11)
    parser.add_argument("--llm-hidden", type=int, default=2048)
    parser.add_argument("--esm-layers", type=int, default=8)
    parser.add_argument("--esm-hidden", type=int, default=1280)
    parser.add_argument("--child", choices=["lean", "naive", "build"], help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--sizes", type=json.loads, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "build":
        build(args.dir, args.sizes)
        return
    if args.child:
        child(args.child, args.dir)
        return

    sizes = {
        "gin_layers": 5,
        "gin_hidden": 300,
        "esm_layers": args.esm_layers,
        "esm_hidden": args.esm_hidden,
        "esm_heads": 20,
        "llm_layers": args.llm_layers,
        "llm_hidden": args.llm_hidden,
    }
    workdir = Path(tempfile.mkdtemp(prefix="bench-10b-"))
    directory = workdir / "biomedgpt-10b"
    try:
        started = time.perf_counter()
        run("--child", "build", "--dir", str(directory), "--sizes", json.dumps(sizes))
        size_gb = (directory / "biomedgpt_10b.pth").stat().st_size / 1e9
        print(f"checkpoint: {size_gb:.2f} GB written in {time.perf_counter() - started:.0f} s")
        results: dict[str, list[dict[str, float]]] = {"lean": [], "naive": []}
        for repeat in range(args.repeats):
            order = ("lean", "naive") if repeat % 2 == 0 else ("naive", "lean")
            for mode in order:
                results[mode].append(run("--child", mode, "--dir", str(directory)))
                print(json.dumps(results[mode][-1]))
        checks = {r["checksum"] for rs in results.values() for r in rs}
        assert len(checks) == 1, f"the two ways loaded different weights: {checks}"
        keys = ("load_s", "touch_s", "peak_mb", "hwm_mb", "imports_mb")
        median = {
            mode: {key: statistics.median(r[key] for r in rs) for key in keys}
            for mode, rs in results.items()
        }
        for mode, m in median.items():
            print(
                f"{mode:5s}: load {m['load_s']:.1f} s, first touch of all weights "
                f"{m['touch_s']:.1f} s, peak RSS {m['peak_mb']:.0f} MB (ru_maxrss) / "
                f"{m['hwm_mb']:.0f} MB (VmHWM), after imports {m['imports_mb']:.0f} MB"
            )
        ratio = median["lean"]["peak_mb"] / median["naive"]["peak_mb"]
        print(f"peak RSS lean/naive: {ratio:.2f}x (target <= 0.6x); checkpoint {size_gb:.2f} GB")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
