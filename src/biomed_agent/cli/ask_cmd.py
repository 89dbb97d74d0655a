"""``biomed-agent ask "QUESTION" [--model M] [--json] [--thread ID]``: a cited answer."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from biomed_agent.patterns import citation_line


def register(subparsers: Any) -> None:
    ask = subparsers.add_parser(
        "ask",
        help="answer a question with cited sources (molecules, proteins, literature)",
        description="Answer a drug-discovery question with tools, records and citations.",
    )
    ask.add_argument("question", help="the question, e.g. 'Is aspirin drug-like?'")
    ask.add_argument(
        "--model",
        help="chat model: 'none' (model-free, no LLM), a hub id or local path, or "
        "'openai:<base_url>/<model>'; default: BIOMED_MODEL",
    )
    ask.add_argument("--json", action="store_true", help="print the answer as a JSON object")
    ask.add_argument("--thread", help="conversation thread id, for follow-up questions")
    ask.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from biomed_agent.agent.preflight import check_model_setting, check_question
    from biomed_agent.settings import get_settings

    settings = get_settings()
    check_question(args.question, settings)  # bad input fails before any model loads
    # a bad checkpoint too, in < 2 s (an uncached hub id included)
    check_model_setting(args.model or settings.model, allow_download=settings.model_download)
    from biomed_agent.agent.api import BioMedAgent

    with BioMedAgent(model=args.model, settings=settings) as agent:
        answer = agent.ask(args.question, thread_id=args.thread)
    if args.json:
        print(json.dumps(answer.to_json_dict(), indent=2, ensure_ascii=False, default=str))
        return 0
    print(answer.text.rstrip())
    if answer.citations:
        print("\nSources:")
        for citation in answer.citations:
            print("  " + citation_line(citation.id, citation.title, citation.url, citation.tool))
    if answer.flagged:
        print("\nWarning: verification found problems: " + "; ".join(answer.problems))
    steps = ", ".join(f"{s.tool}:{s.status}" for s in answer.steps) or "none"
    print(f"\nSteps: {steps}  (thread {answer.thread_id}, {answer.timings['total']:.0f} ms)")
    sys.stdout.flush()
    return 0
