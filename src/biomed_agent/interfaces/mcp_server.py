"""Every registered biomed-agent tool as a Model Context Protocol server.

::

    biomed-agent mcp                          # stdio, for Claude Desktop, Cursor, ...
    biomed-agent mcp --transport http         # streamable HTTP on http://127.0.0.1:8765/mcp

The server is the low-level ``mcp.server.Server`` with explicit ``tools/list`` and
``tools/call`` handlers, so the tools' own pydantic JSON schemas are what clients see
and calls go through :meth:`ToolSpec.run` (the same path as the CLI). A typed error
(bad arguments, unknown tool, upstream failure) comes back as a tool result with
``isError: true`` whose text and ``structuredContent`` are ``{"error": {"type",
"message", "input"}}``, so the calling model can read it and recover.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import TYPE_CHECKING, Any

import anyio
import mcp_types as types
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server

from biomed_agent import __version__
from biomed_agent.errors import BiomedAgentError, UnknownToolError
from biomed_agent.interfaces import MCP_DEFAULT_PORT
from biomed_agent.resources import Resources
from biomed_agent.settings import Settings, get_settings
from biomed_agent.tools import tool_specs
from biomed_agent.tools.base import ToolSpec, error_payload, to_json

if TYPE_CHECKING:
    from starlette.applications import Starlette

__all__ = [
    "SERVER_NAME",
    "build_server",
    "call_tool",
    "is_loopback",
    "serve_http",
    "serve_stdio",
    "streamable_http_app",
]

logger = logging.getLogger(__name__)

SERVER_NAME = "biomed-agent"
"""Name the server reports to clients (and the key used in client configurations)."""
HTTP_PATH = "/mcp"
"""Path of the streamable HTTP endpoint."""

_INSTRUCTIONS = (
    "Biomedical tools: RDKit molecule properties, drug-likeness and similarity; protein "
    "properties and ESM-2 variant effects; PubChem, UniProt and PubMed look-ups; search of "
    "the local knowledge store. Errors come back as {'error': {'type', 'message', 'input'}} "
    "results that say which argument was wrong and how to fix it."
)


def _tool_listing(spec: ToolSpec) -> types.Tool:
    return types.Tool(
        name=spec.name,
        description=spec.description.strip(),
        input_schema=spec.args_schema.model_json_schema(),
    )


def _result(payload: Any, *, is_error: bool = False) -> types.CallToolResult:
    structured = payload if isinstance(payload, dict) else {"result": payload}
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=to_json(payload))],
        structured_content=structured,
        is_error=is_error,
    )


def call_tool(specs: dict[str, ToolSpec], name: str, arguments: dict[str, Any] | None) -> Any:
    """Run tool ``name`` with ``arguments``; typed errors propagate (unknown names included)."""
    spec = specs.get(name)
    if spec is None:
        raise UnknownToolError(
            f"unknown tool {name!r}; known tools: {', '.join(sorted(specs))}. "
            "List them with the MCP tools/list request.",
            input_name="name",
        )
    return spec.run(arguments or {})


def build_server(
    settings: Settings | None = None, *, resources: Resources | None = None
) -> Server[Any]:
    """An MCP server exposing every tool of :func:`biomed_agent.tools.tool_specs`.

    The tools share ``resources`` (one store, one HTTP client per service, one ESM
    model); the caller closes them when the server stops.
    """
    settings = settings or (resources.settings if resources else get_settings())
    specs = {spec.name: spec for spec in tool_specs(settings, resources=resources)}
    listing = [_tool_listing(spec) for spec in specs.values()]

    async def list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=listing)

    async def call(
        ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        try:
            # tools block (HTTP, RDKit, torch): keep the event loop free for other requests
            result = await anyio.to_thread.run_sync(call_tool, specs, params.name, params.arguments)
        except BiomedAgentError as exc:
            return _result(error_payload(exc), is_error=True)
        except Exception as exc:  # a bug, not bad input: still a result the caller can read
            logger.exception("tool %r failed", params.name)
            message = (
                f"tool {params.name!r} failed unexpectedly ({type(exc).__name__}: {exc}); this "
                "is a bug in biomed-agent: please report it with the arguments used"
            )
            return _result({"error": {"type": "InternalError", "message": message}}, is_error=True)
        return _result(result)

    return Server(
        SERVER_NAME,
        version=__version__,
        instructions=_INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call,
    )


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


async def serve_stdio(settings: Settings | None = None) -> None:
    """Serve over this process's stdin/stdout until the client closes them."""
    with Resources(settings or get_settings()) as resources:
        server = build_server(resources=resources)
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())


def streamable_http_app(
    settings: Settings | None = None,
    host: str = "127.0.0.1",
    *,
    resources: Resources | None = None,
) -> Starlette:
    """The ASGI app of the streamable HTTP transport, served at :data:`HTTP_PATH`.

    On a loopback ``host`` the SDK turns on DNS-rebinding protection (Host/Origin checks).
    """
    server = build_server(settings, resources=resources)
    return server.streamable_http_app(streamable_http_path=HTTP_PATH, host=host)


async def serve_http(
    settings: Settings | None = None, host: str = "127.0.0.1", port: int = MCP_DEFAULT_PORT
) -> None:
    """Serve streamable HTTP on ``http://host:port/mcp`` until interrupted."""
    import uvicorn

    with Resources(settings or get_settings()) as resources:
        app = streamable_http_app(host=host, resources=resources)
        config = uvicorn.Config(app, host=host, port=port, log_level="warning")
        await uvicorn.Server(config).serve()
