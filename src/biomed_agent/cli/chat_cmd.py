"""``biomed-agent chat [--model M] [--json] [--thread ID]``: an interactive session."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(subparsers: Any) -> None:
    chat = subparsers.add_parser(
        "chat",
        help="chat with the agent: streamed answers, live steps, sources, /new /sources /quit",
        description="An interactive session on one conversation thread. Answers stream to "
        "stdout, the agent's steps to stderr; /new starts a new thread, /sources shows the "
        "last answer's sources, /quit or Ctrl-D leaves, Ctrl-C stops the current answer.",
    )
    chat.add_argument(
        "--model",
        help="chat model: 'none' (model-free, no LLM), a hub id or local path, or "
        "'openai:<base_url>/<model>'; default: BIOMED_MODEL",
    )
    chat.add_argument(
        "--json", action="store_true", help="print each answer as one JSON object per line"
    )
    chat.add_argument("--thread", help="continue this conversation thread")
    chat.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from biomed_agent.agent.api import BioMedAgent
    from biomed_agent.interfaces.terminal import ChatSession
    from biomed_agent.settings import get_settings

    interactive = sys.stdin.isatty()
    if interactive:
        print("loading the agent...", file=sys.stderr, flush=True)
    with BioMedAgent(model=args.model, settings=get_settings()) as agent:
        session = ChatSession(
            stream=agent.stream,
            out=sys.stdout,
            err=sys.stderr,
            json_output=args.json,
            interactive=interactive,
        )
        if args.thread:
            session.thread_id = args.thread
        return session.run(input)
