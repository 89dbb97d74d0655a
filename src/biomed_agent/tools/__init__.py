"""LangChain tools over the molecule, protein and retrieval toolkits.

Each module named in :data:`TOOL_MODULES` defines ``build_tools(settings) ->
list[ToolSpec]``, or ``build_tools(settings, resources)`` when its tools use the
shared store, HTTP clients or models of a :class:`~biomed_agent.resources.Resources`.
Modules are imported only when tools are asked for, and a module must not import
torch/rdkit/chromadb at import time of *this* package.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import replace
from typing import TYPE_CHECKING

from biomed_agent.errors import UnknownToolError
from biomed_agent.settings import Settings, get_settings
from biomed_agent.tools.base import ToolSpec

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool

    from biomed_agent.resources import Resources

__all__ = ["TOOL_MODULES", "ToolSpec", "get_tool_spec", "get_tools", "tool_specs"]

TOOL_MODULES: tuple[str, ...] = (
    "biomed_agent.tools.molecule_tools",
    "biomed_agent.tools.protein_tools",
    "biomed_agent.tools.retrieval_tools",
    "biomed_agent.tools.knowledge_tools",
    "biomed_agent.tools.multimodal_tools",
    "biomed_agent.tools.discovery_tools",
)


def tool_specs(
    settings: Settings | None = None, *, resources: Resources | None = None
) -> list[ToolSpec]:
    """Every registered tool spec, in registry order, sharing ``resources``.

    Without ``resources`` the tools share one new :class:`~biomed_agent.resources.Resources`
    that lives as long as they do; pass one (and close it) to control its lifetime.
    """
    from biomed_agent.resources import Resources

    if resources is None:
        resources = Resources(settings or get_settings())
    settings = settings or resources.settings
    specs: list[ToolSpec] = []
    for module_name in TOOL_MODULES:
        build = importlib.import_module(module_name).build_tools
        if "resources" in inspect.signature(build).parameters:
            specs.extend(build(settings, resources=resources))
        else:
            specs.extend(build(settings))
    # every call runs under the configured deadline unless its module set its own
    return [
        spec if spec.deadline is not None else replace(spec, deadline=settings.tool_deadline)
        for spec in specs
    ]


def get_tool_spec(
    name: str, settings: Settings | None = None, *, resources: Resources | None = None
) -> ToolSpec:
    """The spec called ``name``; :class:`UnknownToolError` lists the valid names otherwise."""
    specs = {spec.name: spec for spec in tool_specs(settings, resources=resources)}
    if name not in specs:
        raise UnknownToolError(
            f"unknown tool {name!r}; known tools: {', '.join(sorted(specs))}. "
            "Run `biomed-agent tools` to list them with descriptions.",
            input_name="tool",
        )
    return specs[name]


def get_tools(
    settings: Settings | None = None, *, resources: Resources | None = None
) -> list[BaseTool]:
    """Every tool as a LangChain ``BaseTool``, ready for ``create_agent`` or ``bind_tools``."""
    return [spec.as_langchain() for spec in tool_specs(settings, resources=resources)]
