"""LangChain tools over the molecule, protein and retrieval toolkits.

Each module named in :data:`TOOL_MODULES` defines ``build_tools(settings) ->
list[ToolSpec]``. Modules are imported only when tools are asked for, and a
module must not import torch/rdkit/chromadb at import time of *this* package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from biomed_agent.errors import UnknownToolError
from biomed_agent.settings import Settings, get_settings
from biomed_agent.tools.base import ToolSpec

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool

__all__ = ["TOOL_MODULES", "ToolSpec", "get_tool_spec", "get_tools", "tool_specs"]

TOOL_MODULES: tuple[str, ...] = (
    "biomed_agent.tools.molecule_tools",
    "biomed_agent.tools.protein_tools",
    "biomed_agent.tools.retrieval_tools",
    "biomed_agent.tools.knowledge_tools",
    "biomed_agent.tools.multimodal_tools",
)


def tool_specs(settings: Settings | None = None) -> list[ToolSpec]:
    """Every registered tool spec, in registry order."""
    settings = settings or get_settings()
    specs: list[ToolSpec] = []
    for module_name in TOOL_MODULES:
        specs.extend(importlib.import_module(module_name).build_tools(settings))
    return specs


def get_tool_spec(name: str, settings: Settings | None = None) -> ToolSpec:
    """The spec called ``name``; :class:`UnknownToolError` lists the valid names otherwise."""
    specs = {spec.name: spec for spec in tool_specs(settings)}
    if name not in specs:
        raise UnknownToolError(
            f"unknown tool {name!r}; known tools: {', '.join(sorted(specs))}. "
            "Run `biomed-agent tools` to list them with descriptions.",
            input_name="tool",
        )
    return specs[name]


def get_tools(settings: Settings | None = None) -> list[BaseTool]:
    """Every tool as a LangChain ``BaseTool``, ready for ``create_agent`` or ``bind_tools``."""
    return [spec.as_langchain() for spec in tool_specs(settings)]
