"""GPU decode throughput of a Llama-2-7B-shaped model: ChatBioMedGPT vs raw ``generate``.

Builds a model with BioMedGPT-LM-7B's shape (Llama-2-7B: 32 layers, hidden 4096,
MLP 11008, 32 heads, vocabulary 32000) and random bf16 weights directly on the
GPU from its config (nothing is downloaded), saves it with a synthetic
32000-word tokenizer, and loads it back through ``ChatBioMedGPT`` -- the same
``from_pretrained`` path as the real checkpoint. Then, greedy decoding of
``--new-tokens`` tokens after a ``--prompt-tokens`` prompt:

* tokens/s of raw ``model.generate`` at batch 1 and batch 8;
* tokens/s of ``ChatBioMedGPT.invoke`` (batch 1) and ``ChatBioMedGPT.batch`` of 8
  prompts (the local wrapper decodes one request at a time; batched serving is
  the job of the vLLM backend, ``BIOMED_MODEL=openai:...``);
* each as a fraction of the memory-bandwidth bound: a decode step must read every
  weight except the embedding table once, so at most
  ``batch * bandwidth / bytes_read_per_step`` tokens/s. The bandwidth comes from a
  table of data-sheet figures by device name, else from a measured device-to-device copy.

Needs one CUDA GPU with about 16 GB free (``--layers`` builds a shallower model
for smaller cards) and about 14 GB of disk in ``--workdir``. On a machine without
CUDA it exits with status 2 and says so.

Run: ``python benchmarks/gpu_decode.py`` (a few minutes, most of it saving/loading).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Data-sheet peak memory bandwidth in GB/s, matched by substring of the device name.
BANDWIDTH_GBPS: dict[str, float] = {
    "H200": 4800,
    "H100 NVL": 3900,
    "H100 PCIe": 2000,
    "H100": 3350,
    "GH200": 4000,
    "B200": 8000,
    "A100-SXM4-80GB": 2039,
    "A100 80GB PCIe": 1935,
    "A100": 1555,
    "L40S": 864,
    "L40": 864,
    "A10G": 600,
    "A10": 600,
    "L4": 300,
    "RTX 4090": 1008,
    "RTX 3090": 936,
    "V100": 900,
    "T4": 320,
}


def table_bandwidth(name: str) -> float | None:
    """Data-sheet bandwidth (bytes/s) of the first table entry found in ``name``."""
    for key, gbps in BANDWIDTH_GBPS.items():
        if key in name:
            return gbps * 1e9
    return None


def measured_bandwidth(torch: Any, gib: int = 2) -> float:
    """Bytes/s of a device-to-device copy (read + write), best of five."""
    source = torch.empty(gib << 30, dtype=torch.uint8, device="cuda")
    target = torch.empty_like(source)
    best = float("inf")
    for _ in range(5):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        target.copy_(source)
        end.record()
        torch.cuda.synchronize()
        best = min(best, start.elapsed_time(end) / 1e3)
    del source, target
    torch.cuda.empty_cache()
    return 2 * (gib << 30) / best


def build_checkpoint(directory: Path, layers: int) -> None:
    """Save a random bf16 Llama-2-7B-shaped model and a 32000-word tokenizer."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import AutoModelForCausalLM, LlamaConfig, PreTrainedTokenizerFast

    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2} | {f"w{i}": i for i in range(3, 32000)}
    words = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    words.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=words, bos_token="<s>", eos_token="</s>", unk_token="<unk>"
    )
    config = LlamaConfig(
        vocab_size=32000,
        hidden_size=4096,
        intermediate_size=11008,
        num_hidden_layers=layers,
        num_attention_heads=32,
        num_key_value_heads=32,
        max_position_embeddings=4096,
        bos_token_id=1,
        eos_token_id=2,
    )
    with torch.device("cuda"):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    del model
    torch.cuda.empty_cache()


def timed(torch: Any, run: Callable[[], int], repeats: int) -> tuple[float, int]:
    """Median seconds of ``run`` (which returns the tokens it produced) and its token count."""
    run()  # warm-up
    results = []
    for _ in range(repeats):
        torch.cuda.synchronize()
        start = time.perf_counter()
        tokens = run()
        torch.cuda.synchronize()
        results.append((time.perf_counter() - start, tokens))
    seconds = statistics.median(r[0] for r in results)
    return seconds, results[0][1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompt-tokens", type=int, default=128)
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--layers", type=int, default=32, help="32 = Llama-2-7B")
    parser.add_argument("--workdir", type=Path, default=None, help="where to save the weights")
    args = parser.parse_args(argv)

    import torch

    if not torch.cuda.is_available():
        print(
            "gpu_decode.py needs a CUDA GPU, and torch sees none (torch.cuda.is_available() "
            "is False). Run it on a GPU machine; CPU figures come from benchmarks/bench_chat.py.",
            file=sys.stderr,
        )
        return 2

    from langchain_core.messages import HumanMessage
    from transformers import GenerationConfig

    from biomed_agent.models.chat_format import render_prompt
    from biomed_agent.models.chat_model import ChatBioMedGPT

    name = torch.cuda.get_device_name(0)
    workdir = Path(tempfile.mkdtemp(prefix="gpu-decode-", dir=args.workdir))
    try:
        build_checkpoint(workdir, args.layers)
        chat = ChatBioMedGPT(
            model=str(workdir), dtype="bf16", device_map="cuda:0", max_new_tokens=args.new_tokens
        )
        loaded = chat.loaded()
        model = loaded.model
        embedding = model.get_input_embeddings().weight
        total_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
        step_bytes = total_bytes - embedding.numel() * embedding.element_size()
        bandwidth = table_bandwidth(name)
        copy_bandwidth = measured_bandwidth(torch)
        source = "data sheet" if bandwidth else "measured copy"
        bandwidth = bandwidth or copy_bandwidth

        prompt = " ".join(f"w{3 + i % 31000}" for i in range(args.prompt_tokens))
        config = GenerationConfig(
            max_new_tokens=args.new_tokens,
            min_new_tokens=args.new_tokens,
            do_sample=False,
            eos_token_id=2,
            pad_token_id=2,
        )

        # Raw generate gets the prompt exactly as the wrapper renders it (chat format).
        rendered = render_prompt(
            [HumanMessage(prompt)],
            mode=None,
            count_tokens=lambda text: len(loaded.tokenizer(text).input_ids),
            max_prompt_tokens=chat.context_window - args.new_tokens,
        ).text

        def raw(batch: int) -> Callable[[], int]:
            ids = loaded.tokenizer([rendered] * batch, return_tensors="pt").to("cuda")

            def run() -> int:
                with torch.inference_mode():
                    out = model.generate(**ids, generation_config=config)
                return int(out.shape[0] * (out.shape[1] - ids["input_ids"].shape[1]))

            return run

        def wrapper(batch: int) -> Callable[[], int]:
            def run() -> int:
                messages = chat.batch([prompt] * batch) if batch > 1 else [chat.invoke(prompt)]
                return sum(m.usage_metadata["output_tokens"] for m in messages)  # type: ignore[index]

            return run

        print(f"device: {name}; {total_bytes / 1e9:.2f} GB of bf16 weights, {args.layers} layers")
        print(
            f"bandwidth: {bandwidth / 1e9:.0f} GB/s ({source}); "
            f"measured copy {copy_bandwidth / 1e9:.0f} GB/s"
        )
        print(f"prompt {args.prompt_tokens} tokens, {args.new_tokens} new tokens, greedy")
        print(f"{'path':<28}{'batch':>6}{'tokens/s':>12}{'of bound':>10}{'vs raw':>9}")
        for batch in (1, 8):
            bound = batch * bandwidth / step_bytes
            raw_s, raw_tokens = timed(torch, raw(batch), args.repeats)
            chat_s, chat_tokens = timed(torch, wrapper(batch), args.repeats)
            raw_rate, chat_rate = raw_tokens / raw_s, chat_tokens / chat_s
            for label, rate in (("raw generate", raw_rate), ("ChatBioMedGPT", chat_rate)):
                print(
                    f"{label:<28}{batch:>6}{rate:>12.1f}{rate / bound:>10.1%}"
                    f"{rate / raw_rate:>9.2f}"
                )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
