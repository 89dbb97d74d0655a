"""``biomed-agent mcp [--transport stdio|http] [--host H] [--port P]``: tools over MCP."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from biomed_agent.interfaces import MCP_DEFAULT_PORT


def register(subparsers: Any) -> None:
    mcp = subparsers.add_parser(
        "mcp",
        help="serve every tool to MCP clients (Claude Desktop, Cursor, other agents)",
        description="Serve every biomed-agent tool over the Model Context Protocol: stdio "
        "(default, for clients that launch the command) or streamable HTTP at "
        "http://HOST:PORT/mcp.",
    )
    mcp.add_argument(
        "--transport",
        choices=("stdio", "http"),
        default="stdio",
        help="stdio (default) or http (streamable HTTP)",
    )
    mcp.add_argument(
        "--host",
        default="127.0.0.1",
        help="HTTP address to bind (default 127.0.0.1; anything else exposes the tools "
        "to the network without authentication)",
    )
    mcp.add_argument(
        "--port", type=int, default=MCP_DEFAULT_PORT, help=f"HTTP port (default {MCP_DEFAULT_PORT})"
    )
    mcp.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import anyio

    from biomed_agent.interfaces.mcp_server import is_loopback, serve_http, serve_stdio
    from biomed_agent.settings import get_settings

    settings = get_settings()
    if args.transport == "stdio":
        anyio.run(serve_stdio, settings)
        return 0
    if not is_loopback(args.host):
        print(
            f"biomed-agent: warning: serving MCP on non-loopback host {args.host!r}: any "
            "machine that can reach it can call every tool, without authentication. "
            "Use --host 127.0.0.1 unless that is what you want.",
            file=sys.stderr,
        )
    print(
        f"biomed-agent: MCP streamable HTTP on http://{args.host}:{args.port}/mcp",
        file=sys.stderr,
        flush=True,
    )
    anyio.run(serve_http, settings, args.host, args.port)
    return 0
