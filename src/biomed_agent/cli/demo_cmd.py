"""``biomed-agent demo``: the main job (being written)."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    demo = subparsers.add_parser("demo", help="run the main job on a real drug")
    demo.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    raise NotImplementedError
