"""The base of every tool's argument schema: unknown argument names are errors.

A typo such as ``{"sequense": ...}`` must fail loudly (exit 2 on the CLI, a structured
``InvalidInputError`` for agents and MCP clients) instead of being silently ignored.
Shared argument names: ``limit`` is the number of results a tool returns, and every
result links to its record with ``url``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["LIMIT_NAME", "LINK_KEY", "StrictArgs"]

LIMIT_NAME = "limit"
"""The argument that caps how many results a tool returns (CLI: ``--limit``)."""
LINK_KEY = "url"
"""The key of a result's link to its record, the citation to quote."""


class StrictArgs(BaseModel):
    """Tool arguments that forbid unknown fields."""

    model_config = ConfigDict(extra="forbid")
