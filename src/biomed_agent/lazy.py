"""Lazy package exports: ``__getattr__`` that imports a name's module on first access.

A package lists ``{name: module}`` and calls :func:`lazy_exports`; importing the
package stays cheap, and type checkers read the same names from a ``TYPE_CHECKING``
block of explicit re-exports (``from m import X as X``), so they keep real types.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, names: Mapping[str, str], namespace: dict[str, Any]
) -> Callable[[str], Any]:
    """A module ``__getattr__`` resolving ``names`` (name -> module) into ``namespace``."""

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value  # later accesses skip __getattr__
        return value

    return __getattr__
