"""``biomed-agent cache info|clear [--service S]``: inspect or empty the HTTP cache."""

from __future__ import annotations

import argparse
import json
from typing import Any

_SERVICE_HELP = "only this service: pubchem, uniprot or ncbi (repeatable; default: all)"


def register(subparsers: Any) -> None:
    cache = subparsers.add_parser(
        "cache", help="show or clear the HTTP cache of PubChem/UniProt/NCBI"
    )
    actions = cache.add_subparsers(dest="cache_action", metavar="ACTION", required=True)
    info = actions.add_parser("info", help="where the cache is, how many answers, how large")
    info.add_argument("--service", action="append", help=_SERVICE_HELP)
    info.add_argument("--json", action="store_true", help="print the listing as JSON")
    info.set_defaults(handler=show_info)
    clear = actions.add_parser("clear", help="delete cached answers (they are fetched again)")
    clear.add_argument("--service", action="append", help=_SERVICE_HELP)
    clear.set_defaults(handler=clear_entries)


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover


def show_info(args: argparse.Namespace) -> int:
    from biomed_agent.retrievers.cache import cache_info
    from biomed_agent.settings import get_settings

    cache_dir = get_settings().cache_dir
    entries = cache_info(cache_dir, args.service)
    if args.json:
        rows = [
            {
                "service": e.service,
                "path": str(e.path),
                "responses": e.responses,
                "size_bytes": e.size_bytes,
                "legacy_pickle": e.legacy,
            }
            for e in entries
        ]
        print(json.dumps({"cache_dir": str(cache_dir), "files": rows}, indent=2))
        return 0
    print(f"HTTP cache: {cache_dir}")
    if not entries:
        print("  (empty)")
    for e in entries:
        count = "legacy pickle file, never read" if e.legacy else f"{e.responses} answer(s)"
        if e.responses is None and not e.legacy:
            count = "unreadable"
        print(f"  {e.service}: {count}, {_human(e.size_bytes)} ({e.path.name})")
    return 0


def clear_entries(args: argparse.Namespace) -> int:
    from biomed_agent.retrievers.cache import clear_cache
    from biomed_agent.settings import get_settings

    removed = clear_cache(get_settings().cache_dir, args.service)
    if not removed:
        print("HTTP cache already empty.")
    for e in removed:
        print(f"removed {e.path} ({_human(e.size_bytes)})")
    return 0
