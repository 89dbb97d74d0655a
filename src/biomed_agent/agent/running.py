"""Running plan steps: one tool call as an observation, many in parallel, stream events.

Split out of :mod:`biomed_agent.agent.nodes`; every failure of a tool becomes an
error observation, never an exception that ends the run.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TYPE_CHECKING, Any

from biomed_agent.agent.state import Evidence, Observation, PlanStep
from biomed_agent.errors import BiomedAgentError, UnknownToolError

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage

    from biomed_agent.agent.context import AgentContext

__all__ = [
    "MAX_WORKERS",
    "data_block",
    "emit",
    "failure_text",
    "run_parallel",
    "run_tool",
    "step_event",
    "stream_text",
]

logger = logging.getLogger(__name__)

MAX_WORKERS = 8
"""Tool calls of one round that run at the same time."""
PROMPT_EVIDENCE_CHARS = 2000
"""Characters of one evidence item shown to the model."""


def emit(event: dict[str, Any]) -> None:
    """Send an event to LangGraph's custom stream (no-op outside a graph run)."""
    from langgraph.config import get_stream_writer

    try:
        writer = get_stream_writer()
    except RuntimeError:  # called outside a graph run (unit tests of a node)
        return
    writer(event)


def run_tool(context: AgentContext, step: PlanStep, round_: int) -> Observation:
    """One step, with every failure turned into an error observation."""
    spec = context.tools.get(step["tool"])
    started = time.perf_counter()
    result: Any = None
    error: dict[str, Any] | None = None
    try:
        if spec is None:
            raise UnknownToolError(
                f"unknown tool {step['tool']!r}; the plan may only use: "
                f"{', '.join(sorted(context.tools))}",
                input_name="tool",
            )
        result = spec.run(step["args"])
    except BiomedAgentError as exc:
        error = exc.to_dict()
    except Exception as exc:  # a tool bug must not end the run; it becomes an observation
        logger.exception("tool %s failed", step["tool"])
        error = {"type": type(exc).__name__, "message": str(exc) or repr(exc)}
    return Observation(
        id=step["id"],
        tool=step["tool"],
        args=dict(step["args"]),
        status="ok" if error is None else "error",
        result=result,
        error=error,
        elapsed_ms=round((time.perf_counter() - started) * 1000, 3),
        round=round_,
    )


def step_event(obs: Observation) -> dict[str, Any]:
    """The stream event of a finished step."""
    return {
        "type": "step",
        "node": "understand" if obs["round"] == 0 else "act",
        "id": obs["id"],
        "tool": obs["tool"],
        "args": obs["args"],
        "status": obs["status"],
        "error": obs["error"],
        "elapsed_ms": obs["elapsed_ms"],
    }


def failure_text(observations: Iterable[Observation]) -> list[str]:
    """``tool: ErrorType: message`` of every failed step."""
    return [
        f"{obs['tool']}: {obs['error']['type']}: {obs['error']['message']}"
        for obs in observations
        if obs["status"] == "error" and obs["error"]
    ]


def run_parallel(
    context: AgentContext, steps: Sequence[PlanStep], round_: int, *, emit_steps: bool = True
) -> list[Observation]:
    """Run steps at the same time; a step event for each as it finishes when ``emit_steps``."""
    if len(steps) <= 1:
        done = [run_tool(context, step, round_) for step in steps]
        if emit_steps and done:
            emit(step_event(done[0]))
        return done
    done = []
    with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(steps))) as pool:
        futures = [pool.submit(run_tool, context, step, round_) for step in steps]
        for future in as_completed(futures):
            done.append(future.result())
            if emit_steps:
                emit(step_event(done[-1]))
    return sorted(done, key=lambda obs: obs["id"])


def data_block(number: int, item: Evidence) -> str:
    """One evidence item delimited as data; a closing tag inside it cannot end the block."""
    text = item["text"][:PROMPT_EVIDENCE_CHARS].replace("</data", "<\\/data")
    where = item["url"] or f"tool {item['tool']}"
    return f"[{number}] {item['title']} ({item['source']}: {where})\n<data>\n{text}\n</data>"


def stream_text(model: Any, messages: list[BaseMessage]) -> str:
    """Generate with token events; the full text."""
    parts: list[str] = []
    for chunk in model.stream(messages):
        text = chunk.content if isinstance(chunk.content, str) else json.dumps(chunk.content)
        if text:
            parts.append(text)
            emit({"type": "token", "text": text})
    return "".join(parts).strip()
