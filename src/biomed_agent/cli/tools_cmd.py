"""``biomed-agent tools`` and ``biomed-agent tool NAME --input JSON``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from biomed_agent.errors import InvalidInputError


def register(subparsers: Any) -> None:
    listing = subparsers.add_parser("tools", help="list the tools with one-line descriptions")
    listing.add_argument(
        "--json", action="store_true", help="print names, descriptions and argument schemas as JSON"
    )
    listing.set_defaults(handler=list_tools)

    one = subparsers.add_parser("tool", help="run one tool and print its JSON result")
    one.add_argument("name", help="tool name (see `biomed-agent tools`)")
    one.add_argument(
        "--input",
        default="{}",
        help="arguments as a JSON object, e.g. '{\"smiles\": \"CCO\"}'; '-' reads it from stdin",
    )
    one.set_defaults(handler=run_tool)


def list_tools(args: argparse.Namespace) -> int:
    from biomed_agent.tools import tool_specs

    specs = tool_specs()
    if args.json:
        rows = [
            {
                "name": s.name,
                "description": s.description.strip(),
                "parameters": s.args_schema.model_json_schema(),
            }
            for s in specs
        ]
        print(json.dumps(rows, indent=2))
        return 0
    width = max(len(s.name) for s in specs)
    for spec in specs:
        print(f"{spec.name.ljust(width)}  {spec.summary}")
    return 0


def parse_arguments(text: str) -> dict[str, Any]:
    """Decode ``--input``; anything but a JSON object is bad input."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            f"--input is not valid JSON ({exc.msg} at char {exc.pos}); "
            'pass an object like \'{"smiles": "CCO"}\'',
            input_name="--input",
        ) from None
    if not isinstance(value, dict):
        raise InvalidInputError(
            f"--input must be a JSON object of arguments, got {type(value).__name__}",
            input_name="--input",
        )
    return value


def run_tool(args: argparse.Namespace) -> int:
    from biomed_agent.resources import Resources
    from biomed_agent.settings import get_settings
    from biomed_agent.tools import get_tool_spec
    from biomed_agent.tools.base import to_json

    text = sys.stdin.read() if args.input == "-" else args.input
    arguments = parse_arguments(text)
    with Resources(get_settings()) as resources:
        spec = get_tool_spec(args.name, resources=resources)
        print(to_json(spec.run(arguments)))
    return 0
