"""Benchmark ChatBioMedGPT's overhead over raw ``model.generate`` (CPU, tiny random Llama).

Two measurements; the arms of each alternate (rotating order, one warm-up each) and
each figure is the median of ``--repeats`` runs, as wall time and process CPU-seconds
(every thread), with the load average printed:

1. **Wrapper overhead**: ``ChatBioMedGPT.invoke`` (prompt rendering, tokenization,
   generation in the calling thread, stop-string checks, output assembly, LangChain
   callbacks) against ``model.generate`` on the same prompt ids producing the same
   number of tokens (greedy; ``min_new_tokens`` pins the raw count); and
   ``ChatBioMedGPT.stream`` against ``generate`` in a thread + ``TextIteratorStreamer``
   (what a user streaming with transformers writes). Target: at most 10% extra.
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
import os
import statistics
import sys
import tempfile
import threading
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

from biomed_agent.models.chat_model import ChatBioMedGPT  # noqa: E402

PROMPT = "What does the tumour suppressor p53 do, and which drugs target its pathway?"


class UniprotLookup(BaseModel):
    """Fetch a UniProt entry."""

    accession: str = Field(description="UniProt accession, e.g. P04637")
    fields: list[str] = Field(description="Entry fields to return")


def load_average() -> str:
    """The 1/5/15-minute load averages, for the label of a figure taken on a shared machine."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.1f}/{five:.1f}/{fifteen:.1f}"


def alternating(arms: dict[str, Callable[[], Any]], repeats: int) -> dict[str, tuple[float, float]]:
    """Median (wall s, process CPU s) of each arm; every arm warmed once, then the arms run
    in rotating order ``repeats`` times, so load changes hit all of them alike. CPU time is
    the whole process's (every thread: a streamer thread's work counts)."""
    for run in arms.values():
        run()
    names = list(arms)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    for i in range(repeats):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            wall, cpu = time.perf_counter(), time.process_time()
            arms[name]()
            times[name].append((time.perf_counter() - wall, time.process_time() - cpu))
    return {
        name: (statistics.median(t[0] for t in runs), statistics.median(t[1] for t in runs))
        for name, runs in times.items()
    }


def compare(
    label: str, result: dict[str, tuple[float, float]], base: str, arm: str, tokens: int
) -> None:
    """Print ``arm`` against ``base``: wall and CPU-s medians, per token, and the overhead."""
    (bw, bc), (aw, ac) = result[base], result[arm]
    print(f"  {label}:")
    for name, (wall, cpu) in ((base, (bw, bc)), (arm, (aw, ac))):
        print(
            f"    {name:<34} {wall * 1e3:8.1f} ms wall ({wall / tokens * 1e3:6.2f} ms/token), "
            f"{cpu * 1e3:8.1f} ms CPU"
        )
    print(
        f"    overhead  wall {100 * (aw / bw - 1):+6.1f} %, CPU {100 * (ac / bc - 1):+6.1f} %"
        "  (target <= +10 %)"
    )


def raw_arms(loaded: Any, ids: Any, new_tokens: int) -> dict[str, Callable[[], Any]]:
    """The baselines users would otherwise run, on the same prompt ids and token count:
    ``model.generate`` alone, and ``generate`` in a thread + ``TextIteratorStreamer``."""
    from transformers import TextIteratorStreamer

    config = GenerationConfig(
        max_new_tokens=new_tokens,
        min_new_tokens=new_tokens,
        do_sample=False,
        eos_token_id=loaded.tokenizer.eos_token_id,
        pad_token_id=loaded.tokenizer.eos_token_id,
    )
    inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}

    def generate() -> Any:
        with torch.inference_mode():
            out = loaded.model.generate(**inputs, generation_config=config)
        assert out.shape[1] - ids.shape[1] == new_tokens
        return out

    def streamed() -> None:
        streamer = TextIteratorStreamer(loaded.tokenizer, skip_prompt=True)
        kwargs = {**inputs, "generation_config": config, "streamer": streamer}
        worker = threading.Thread(target=loaded.model.generate, kwargs=kwargs)
        worker.start()
        for _ in streamer:
            pass
        worker.join()

    return {"raw generate": generate, "raw generate + TextIteratorStreamer": streamed}


def request_ids(chat: ChatBioMedGPT, question: str, **options: Any) -> Any:
    """The prompt ids ``chat`` decodes for ``question`` (as a 1-row tensor)."""
    from langchain_core.messages import HumanMessage

    from biomed_agent.models.local_prompt import build_prompt

    prompt = build_prompt(
        chat.loaded(),
        chat._request([HumanMessage(question)], None, options),
        chat_format=chat.resolved_chat_format(),
        window=chat.resolved_context_window(),
        reserved=chat.max_new_tokens,
    )
    return torch.tensor([prompt.input_ids])


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

        # 1. wrapper overhead on a plain answer: invoke vs generate, stream vs streamer thread
        wrapped = chat.invoke(PROMPT)
        assert wrapped.usage_metadata is not None
        produced = wrapped.usage_metadata["output_tokens"]
        finish = wrapped.response_metadata["finish_reason"]
        arms = raw_arms(chat.loaded(), request_ids(chat, PROMPT), produced)
        arms["ChatBioMedGPT.invoke"] = lambda: chat.invoke(PROMPT)
        arms["ChatBioMedGPT.stream"] = lambda: list(chat.stream(PROMPT))
        result = alternating(arms, args.repeats)
        print(
            f"plain answer: {produced} tokens (finish: {finish}); medians of {args.repeats}, "
            f"arms alternating; {load_average()}"
        )
        compare("invoke (no streaming)", result, "raw generate", "ChatBioMedGPT.invoke", produced)
        compare(
            "stream",
            result,
            "raw generate + TextIteratorStreamer",
            "ChatBioMedGPT.stream",
            produced,
        )

        # 2. constrained decoding per token
        from langchain_core.utils.function_calling import convert_to_openai_tool

        tools = [convert_to_openai_tool(UniprotLookup)]
        bound = chat.bind_tools(tools, tool_choice="any")
        call = bound.invoke(PROMPT)
        assert call.usage_metadata is not None, call
        call_tokens = call.usage_metadata["output_tokens"]
        tool_ids = request_ids(chat, PROMPT, tools=tools, tool_choice="any")
        tool_arms = {
            "raw generate": raw_arms(chat.loaded(), tool_ids, call_tokens)["raw generate"],
            "constrained invoke": lambda: bound.invoke(PROMPT),
        }
        tool_result = alternating(tool_arms, args.repeats)
        (t_raw_tool, _), (t_tool, _) = (
            tool_result["raw generate"],
            tool_result["constrained invoke"],
        )
        calls = call.tool_calls or call.invalid_tool_calls
        print(
            f"tool call: {call_tokens} tokens ({'valid' if call.tool_calls else 'cut'}), "
            f"args {calls[0]['args'] if calls else None}; {load_average()}"
        )
        compare("constrained", tool_result, "raw generate", "constrained invoke", call_tokens)
        print(f"    per token {(t_tool - t_raw_tool) / call_tokens * 1e3:+7.3f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
