"""The model planner's prompt and output: offered tools, bounded prompt, schema-checked plan.

Split from :mod:`biomed_agent.agent.planner` (which re-exports these names).
:func:`planner_tools` offers only the tools of the rules' plan and the ones most
relevant to the question (BioMedGPT-10B's only when a 10B checkpoint is configured),
and :func:`render_plan_prompt` quotes entities, arguments and earlier steps with
bounded lengths, so the planner prompt fits BioMedGPT-LM-7B's 2,048 tokens.
:func:`model_plan` asks for structured output whose schema is a union of one object
per offered tool, so constrained decoding cannot name another tool.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from string import Template
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from biomed_agent.agent.state import Entities, Observation
from biomed_agent.prompts import load_prompt
from biomed_agent.tools import ToolSpec

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

__all__ = [
    "Candidate",
    "model_plan",
    "plan_schema",
    "planner_tools",
    "render_plan_prompt",
]

Candidate = tuple[str, dict[str, Any], str]
"""(tool, arguments, why) before it gets a step id."""

PLANNER_TOOLS = 6
"""Most tools the model planner is offered (the rules' plan's tools are always among them)."""
SHOWN_CHARS = 32
"""Longest string (sequence, SMILES, error message) quoted whole in the planner prompt."""
ARGS_CHARS = 80
"""Most characters of one step's arguments as quoted in the planner prompt."""
ENTITY_CHARS = 300
"""Most characters of the entities as quoted in the planner prompt."""
SHOWN_ITEMS = 4
"""Most items of a list (entities of one kind, candidates) quoted in the planner prompt."""
SHOWN_STEPS = 4
"""Most suggested steps, and most earlier steps (the latest), listed in the planner prompt."""


def plan_schema(tools: Mapping[str, ToolSpec], max_steps: int) -> type[BaseModel]:
    """Structured-output schema ``{"steps": [{"tool", "args", "why"}, ...]}`` over ``tools``."""
    step_models: list[type[BaseModel]] = [
        create_model(
            f"Call_{name}",
            __config__=ConfigDict(extra="forbid"),
            tool=(Literal[name], Field(description=spec.summary)),  # type: ignore[arg-type]
            args=(spec.args_schema, ...),
            why=(str, Field(default="", description="one short reason for this step")),
        )
        for name, spec in tools.items()
    ]
    if not step_models:
        step_type: Any = dict
    elif len(step_models) == 1:
        step_type = step_models[0]
    else:
        step_type = Annotated[Union[tuple(step_models)], Field(discriminator="tool")]  # noqa: UP007
    return create_model(
        "Plan",
        __doc__="Ordered tool calls that answer the question; empty when no tool helps.",
        steps=(list[step_type], Field(default_factory=list, max_length=max_steps)),
    )


def planner_tools(
    question: str,
    suggested: Sequence[Candidate],
    tools: Mapping[str, ToolSpec],
    *,
    has_10b: bool,
    limit: int = PLANNER_TOOLS,
) -> dict[str, ToolSpec]:
    """The tools the model planner is offered, so its prompt fits BioMedGPT's 2,048 tokens.

    At most ``limit``: the tools of the rules' plan (``suggested``: the route's steps;
    its steps run whatever the model plans), then the tools most
    relevant to the question (:func:`~biomed_agent.models.tool_selection.select_tools`:
    MiniLM similarity to the tool descriptions, word overlap without MiniLM) up to
    ``limit``; BioMedGPT-10B's tools only when a 10B checkpoint is configured. Registry
    order is kept, so the prompt of the same question is the same.
    """
    from biomed_agent.models.tool_calling import ToolMode
    from biomed_agent.models.tool_selection import NEEDS_10B, select_tools

    runnable = {n: s for n, s in tools.items() if has_10b or n not in NEEDS_10B}
    keep = list(dict.fromkeys(step[0] for step in suggested if step[0] in runnable))[:limit]
    rest = [name for name in runnable if name not in keep]
    if len(keep) < limit and rest:
        mode = ToolMode(
            tools=tuple(_openai_tool(runnable[name]) for name in rest),
            allowed=tuple(rest),
            required=False,
        )
        chosen = select_tools(mode, question, limit=limit - len(keep), has_10b=has_10b)
        keep += [spec["function"]["name"] for spec in chosen.tools]
    return {name: spec for name, spec in runnable.items() if name in keep}


def _openai_tool(spec: ToolSpec) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": spec.name,
            "description": spec.description,
            "parameters": spec.args_schema.model_json_schema(),
        },
    }


def _tool_catalogue(tools: Mapping[str, ToolSpec]) -> str:
    lines = []
    for spec in tools.values():
        schema = spec.args_schema.model_json_schema()
        args = ", ".join(
            f"{name}{'' if name in schema.get('required', []) else '?'}"
            for name in schema.get("properties", {})
        )
        lines.append(f"- {spec.name}({args}): {spec.summary}")
    return "\n".join(lines)


def _short(value: Any) -> Any:
    """``value`` with every long string (a sequence, a SMILES) cut to :data:`SHOWN_CHARS`."""
    if isinstance(value, str) and len(value) > SHOWN_CHARS:
        return value[: SHOWN_CHARS - 3] + "..."
    if isinstance(value, Mapping):
        return {k: _short(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        shown = [_short(v) for v in value[:SHOWN_ITEMS]]
        return [*shown, "..."] if len(value) > SHOWN_ITEMS else shown
    return value


def _json(value: Any, limit: int) -> str:
    """``value`` as JSON with long strings and lists cut, at most ``limit`` characters."""
    text = json.dumps(_short(value), ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _failures(observations: Sequence[Observation]) -> str:
    """The steps run, each one line of bounded length."""
    rows = [
        f"- step {obs['id']} {obs['tool']}({_json(obs['args'], ARGS_CHARS)}): "
        + (
            f"FAILED {obs['error']['type']}: {_short(str(obs['error']['message']))}"
            if obs["error"]
            else "ok"
        )
        for obs in observations
    ]
    return "\n".join(rows) or "(none yet)"


def render_plan_prompt(
    question: str,
    entities: Entities,
    suggested: Sequence[Candidate],
    observations: Sequence[Observation],
    tools: Mapping[str, ToolSpec],
    rows: int = SHOWN_STEPS,
) -> str:
    """The planner's user message (no record or tool output text, by design); at most
    ``rows`` suggested steps and ``rows`` earlier steps (the latest)."""
    shown_entities = {k: v for k, v in entities.items() if v}
    return Template(load_prompt("agent_plan")).substitute(
        tools=_tool_catalogue(tools),
        entities=_json(shown_entities, ENTITY_CHARS),
        suggested="\n".join(
            f"- {tool}({_json(args, ARGS_CHARS)})" for tool, args, _ in suggested[:rows]
        )
        or "(none)",
        steps=_failures(observations[-rows:] if rows else []),
        question=question,
    )


def model_plan(
    model: BaseChatModel,
    prompt: str,
    tools: Mapping[str, ToolSpec],
    max_steps: int,
) -> list[Candidate]:
    """Ask the model for a plan; raises ValueError when its output does not fit the schema."""
    from langchain_core.messages import HumanMessage, SystemMessage

    schema = plan_schema(tools, max_steps)
    messages = [SystemMessage(load_prompt("agent_system")), HumanMessage(prompt)]
    output = model.with_structured_output(schema).invoke(messages)
    try:
        plan = schema.model_validate(
            output.model_dump() if isinstance(output, BaseModel) else output
        )
    except ValidationError as exc:
        raise ValueError(f"the model's plan does not fit the tool schemas: {exc}") from None
    candidates: list[Candidate] = []
    for step in plan.steps:  # type: ignore[attr-defined]
        tool = str(getattr(step, "tool", ""))
        if tool not in tools:
            raise ValueError(f"the model's plan names an unregistered tool {tool!r}")
        args = {k: v for k, v in step.args.model_dump(exclude_unset=True).items() if v is not None}
        candidates.append((tool, args, str(getattr(step, "why", ""))))
    return candidates
