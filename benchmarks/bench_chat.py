"""Benchmark ChatBioMedGPT's overhead over raw ``model.generate`` (CPU, tiny random Llama).

Two measurements, each the median of ``--repeats`` runs alternating with the baseline:

1. **Wrapper overhead**: ``ChatBioMedGPT.invoke`` (prompt rendering, tokenization,
   the generation thread, ``TextIteratorStreamer``, stop-string checks, output
   assembly, LangChain callbacks) against ``model.generate`` on the same prompt
   ids producing the same number of tokens (greedy; ``min_new_tokens`` pins the
   raw count). Target: at most 10% extra wall time.
2. **Constrained decoding**: ``bind_tools(..., tool_choice="any").invoke`` (xgrammar
   mask per token, closing mode, JSON parsing and validation) against raw
   ``generate`` on the same tool prompt and token count; reported per token.

The model is the tiny Llama of ``tests/helpers/tiny_llama.py`` (``--hidden``/``--layers``
make it bigger), loaded through the same ``from_pretrained`` path as real checkpoints.
Torch runs on ``--threads`` threads (1 by default: a model this small only pays for
thread hand-offs).

Run: ``.venv/bin/python benchmarks/bench_chat.py`` (about a minute on 2 cores).
``benchmarks/bench_chat.py --smollm2 [...]`` runs ``bench_chat_smollm2.py`` instead: prefix
caching (first vs repeat call), streaming overhead and the tool set on SmolLM2-135M.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.helpers.tiny_llama

import torch  # noqa: E402
from pydantic import BaseModel, Field  # noqa: E402
from tests.helpers.tiny_llama import build_tiny_llama  # noqa: E402
from transformers import GenerationConfig  # noqa: E402

from biomed_agent.models.chat_format import render_prompt  # noqa: E402
from biomed_agent.models.chat_model import ChatBioMedGPT  # noqa: E402
from biomed_agent.models.tool_calling import resolve_tool_mode  # noqa: E402

PROMPT = "What does the tumour suppressor p53 do, and which drugs target its pathway?"


class UniprotLookup(BaseModel):
    """Fetch a UniProt entry."""

    accession: str = Field(description="UniProt accession, e.g. P04637")
    fields: list[str] = Field(description="Entry fields to return")


def paired_medians(
    baseline: Callable[[], Any], candidate: Callable[[], Any], repeats: int
) -> tuple[float, float]:
    """Median wall times of both, run alternately so load changes hit both alike."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for run, bucket in ((baseline, times[0]), (candidate, times[1])):
            start = time.perf_counter()
            run()
            bucket.append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


def report(label: str, seconds: float, tokens: int) -> None:
    rate = f"{seconds / tokens * 1e3:6.2f} ms/token, {tokens / seconds:7.1f} tokens/s"
    print(f"  {label:<15} {seconds * 1e3:8.1f} ms  ({rate})")


def raw_generate(chat: ChatBioMedGPT, prompt: str, new_tokens: int) -> Callable[[], Any]:
    loaded = chat.loaded()
    inputs = loaded.tokenizer(prompt, return_tensors="pt")
    config = GenerationConfig(
        max_new_tokens=new_tokens,
        min_new_tokens=new_tokens,
        do_sample=False,
        eos_token_id=loaded.tokenizer.eos_token_id,
        pad_token_id=loaded.tokenizer.eos_token_id,
    )

    def run() -> Any:
        with torch.inference_mode():
            out = loaded.model.generate(**inputs, generation_config=config)
        assert out.shape[1] - inputs["input_ids"].shape[1] == new_tokens
        return out

    return run


def rendered(chat: ChatBioMedGPT, tools: list[dict[str, Any]] | None) -> str:
    from langchain_core.messages import HumanMessage

    tokenizer = chat.loaded().tokenizer
    return render_prompt(
        [HumanMessage(PROMPT)],
        mode=resolve_tool_mode(tools, "any") if tools else None,
        count_tokens=lambda text: len(tokenizer(text).input_ids),
        max_prompt_tokens=chat.context_window,
    ).text


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--smollm2"]:  # the real-model figures: benchmarks/bench_chat_smollm2.py
        sys.path.insert(0, str(Path(__file__).parent))
        from bench_chat_smollm2 import main as smollm2_main

        return smollm2_main(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=128, help="new tokens per answer")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = build_tiny_llama(Path(tmp), hidden_size=args.hidden, num_layers=args.layers)
        chat = ChatBioMedGPT(model=str(model_dir), device_map="cpu", max_new_tokens=args.tokens)
        chat.invoke(PROMPT)  # load + warm up

        # 1. wrapper overhead on a plain answer
        wrapped = chat.invoke(PROMPT)
        assert wrapped.usage_metadata is not None
        produced = wrapped.usage_metadata["output_tokens"]
        raw = raw_generate(chat, rendered(chat, None), produced)
        raw()
        t_raw, t_chat = paired_medians(raw, lambda: chat.invoke(PROMPT), args.repeats)
        finish = wrapped.response_metadata["finish_reason"]
        print(f"plain answer: {produced} tokens (finish: {finish})")
        report("raw generate", t_raw, produced)
        report("ChatBioMedGPT", t_chat, produced)
        print(f"  overhead        {100 * (t_chat / t_raw - 1):+7.1f} %  (target <= +10 %)")

        # 2. constrained decoding per token
        from langchain_core.utils.function_calling import convert_to_openai_tool

        tools = [convert_to_openai_tool(UniprotLookup)]
        bound = chat.bind_tools(tools, tool_choice="any")
        call = bound.invoke(PROMPT, max_new_tokens=args.tokens // 2)
        assert call.tool_calls and call.usage_metadata is not None, call
        call_tokens = call.usage_metadata["output_tokens"]
        raw_tool = raw_generate(chat, rendered(chat, tools), call_tokens)
        raw_tool()
        t_raw_tool, t_tool = paired_medians(
            raw_tool, lambda: bound.invoke(PROMPT, max_new_tokens=args.tokens // 2), args.repeats
        )
        per_token_ms = (t_tool - t_raw_tool) / call_tokens * 1e3
        relative = 100 * (t_tool / t_raw_tool - 1)
        print(f"tool call: {call_tokens} tokens, args {call.tool_calls[0]['args']}")
        report("raw generate", t_raw_tool, call_tokens)
        report("constrained", t_tool, call_tokens)
        print(f"  overhead        {per_token_ms:+7.3f} ms/token ({relative:+.1f} %)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
