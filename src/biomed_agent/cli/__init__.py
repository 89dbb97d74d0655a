"""The ``biomed-agent`` command line.

Each command lives in its own module listed in :data:`COMMAND_MODULES`; a module
defines ``register(subparsers)`` and imports nothing heavy at module level, so
``biomed-agent --help`` stays fast. Exit status: 0 success, 2 bad input or a bad
``BIOMED_*`` setting (one line on stderr naming the input or variable), 1 any other
biomed-agent error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from biomed_agent import __version__
from biomed_agent.errors import BiomedAgentError, InvalidInputError, InvalidSettingError

__all__ = ["COMMAND_MODULES", "build_parser", "main"]

COMMAND_MODULES: tuple[str, ...] = (
    "biomed_agent.cli.ask_cmd",
    "biomed_agent.cli.demo_cmd",
    "biomed_agent.cli.eval_cmd",
    "biomed_agent.cli.tools_cmd",
    "biomed_agent.cli.ingest_cmd",
    "biomed_agent.cli.mcp_cmd",
    "biomed_agent.cli.chat_cmd",
    "biomed_agent.cli.cache_cmd",
)

EXIT_OK, EXIT_ERROR, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="biomed-agent",
        description="BioMedGPT agent and biomedical tools for LangChain/LangGraph.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def _one_line(message: str) -> str:
    return " ".join(message.split())


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.handler(args)
        sys.stdout.flush()  # inside the try: a closed pipe surfaces here, not at exit
    except (InvalidInputError, InvalidSettingError) as exc:
        print(f"biomed-agent: error: {_one_line(exc.message)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BiomedAgentError as exc:
        print(f"biomed-agent: {type(exc).__name__}: {_one_line(exc.message)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("biomed-agent: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader went away (`| head`): stop quietly, as other Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ERROR
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
