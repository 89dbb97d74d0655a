"""Overall time budgets: one deadline per tool call or lookup, passed down to every layer.

A deadline is an absolute :func:`time.monotonic` instant held in a context variable, so
it reaches the HTTP layer without threading it through every signature::

    with deadline(60.0):          # a tool call (ToolSpec.run)
        with deadline(30.0):      # one lookup (ServiceSession); the earlier one wins
            remaining()           # -> seconds left, e.g. 29.98

Nested deadlines never extend an outer one. Worker threads do not inherit context
variables: submit work with :func:`in_context` so the budget travels with it. Code that
loops (retries, batches) calls :func:`check` between steps; a blocking call gets
``min(its own timeout, remaining())``.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from biomed_agent.errors import BiomedAgentError

__all__ = [
    "DeadlineExceededError",
    "active",
    "check",
    "deadline",
    "in_context",
    "remaining",
]

P = ParamSpec("P")
R = TypeVar("R")

_DEADLINE: contextvars.ContextVar[tuple[float, float, str] | None] = contextvars.ContextVar(
    "biomed_agent_deadline", default=None
)


class DeadlineExceededError(BiomedAgentError):
    """A tool call or lookup ran out of its time budget (exit status 1, like a timeout)."""


def remaining() -> float | None:
    """Seconds left before the innermost deadline, or ``None`` when none is set."""
    current = _DEADLINE.get()
    return None if current is None else current[0] - time.monotonic()


def active() -> str:
    """The innermost deadline in words ("the 1 s budget of tool 'x'"), or ``""``."""
    current = _DEADLINE.get()
    return "" if current is None else f"the {current[1]:g} s budget of {current[2]}"


def check(what: str) -> None:
    """Raise :class:`DeadlineExceededError` naming ``what`` when the budget is spent."""
    current = _DEADLINE.get()
    if current is not None and time.monotonic() >= current[0]:
        budget, label = current[1], current[2]
        raise DeadlineExceededError(
            f"{label} ran out of its {budget:g} s budget during {what}; "
            "try again later, narrow the request, or raise BIOMED_TOOL_DEADLINE / "
            "BIOMED_HTTP_DEADLINE."
        )


@contextmanager
def deadline(seconds: float | None, label: str = "the call") -> Iterator[None]:
    """Run the block under a budget of ``seconds`` (``None``: no new limit)."""
    current = _DEADLINE.get()
    if seconds is None:
        yield
        return
    end = time.monotonic() + seconds
    if current is not None and current[0] <= end:
        yield  # the outer deadline is earlier: it stays in charge
        return
    token = _DEADLINE.set((end, seconds, label))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def in_context(func: Callable[P, R]) -> Callable[P, R]:
    """``func`` wrapped to run in a copy of the caller's context (for thread pools)."""
    context = contextvars.copy_context()

    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        return context.copy().run(func, *args, **kwargs)

    return run
