"""PLACEHOLDER until its helper writes it: no tools yet."""

from __future__ import annotations

from biomed_agent.settings import Settings
from biomed_agent.tools.base import ToolSpec


def build_tools(settings: Settings) -> list[ToolSpec]:
    return []
