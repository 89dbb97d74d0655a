"""One contract for every biomed-agent tool.

A :class:`ToolSpec` pairs a pure domain function with its pydantic argument
schema. The same spec serves three callers, so they cannot drift apart:

* :meth:`ToolSpec.run` validates arguments and calls the function, raising the
  typed errors of :mod:`biomed_agent.errors` (the CLI and MCP server use it);
* :meth:`ToolSpec.as_langchain` builds a LangChain ``StructuredTool`` whose
  content is the JSON result (the artifact is the same object, unserialised) and
  whose bad input comes back as a structured JSON error with ``status="error"``
  instead of a traceback, so an agent can read it and recover.

Results are plain JSON-ready data (dicts/lists of str, int, float, bool, None).

Every call runs under a deadline (``deadline`` seconds, default the ``tool_deadline``
setting, 60 s): the HTTP lookups inside it get what is left of it (see
:mod:`biomed_agent.deadlines`), so a stalled service cannot hold a call past it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from biomed_agent.deadlines import deadline
from biomed_agent.errors import BiomedAgentError, InvalidInputError, shorten

if TYPE_CHECKING:
    from langchain_core.tools import StructuredTool

__all__ = ["ToolSpec", "error_payload", "invalid_input_from_validation", "to_json"]


def to_json(result: Any) -> str:
    """Serialise a tool result the same way everywhere (stable key order, no NaN)."""
    return json.dumps(result, ensure_ascii=False, allow_nan=False, default=str)


def error_payload(error: BiomedAgentError) -> dict[str, Any]:
    """The structured error a tool returns: ``{"error": {"type", "message", "input"?}}``."""
    return {"error": error.to_dict()}


def invalid_input_from_validation(tool: str, exc: ValidationError) -> InvalidInputError:
    """Translate pydantic's report into one readable line naming the argument and the fix."""
    problems = []
    for item in exc.errors(include_url=False):
        field = ".".join(str(part) for part in item["loc"]) or "arguments"
        shown = f" (got {shorten(item['input'])})" if "input" in item else ""
        problems.append(f"{field}: {item['msg']}{shown}")
    first_field = ".".join(str(p) for p in exc.errors()[0]["loc"]) if exc.errors() else None
    return InvalidInputError(
        f"bad arguments for tool {tool!r}: "
        + "; ".join(problems)
        + f". See `biomed-agent tools` for the arguments {tool!r} takes.",
        input_name=first_field or None,
    )


@dataclass(frozen=True)
class ToolSpec:
    """A named tool: pure function + argument schema + description an LLM can act on."""

    name: str
    func: Callable[..., Any]
    args_schema: type[BaseModel]
    description: str
    deadline: float | None = None
    """Seconds one call may take; ``None``: the ``tool_deadline`` setting."""

    def budget(self) -> float:
        """This tool's deadline in seconds."""
        if self.deadline is not None:
            return self.deadline
        from biomed_agent.settings import get_settings

        return get_settings().tool_deadline

    @property
    def summary(self) -> str:
        """First line of the description, for listings."""
        return self.description.strip().splitlines()[0]

    def validate(self, arguments: Mapping[str, Any]) -> BaseModel:
        """Check arguments against the schema; raise :class:`InvalidInputError` if they fail."""
        if not isinstance(arguments, Mapping):
            raise InvalidInputError(
                f"tool {self.name!r} takes a JSON object of arguments, got {shorten(arguments)}",
                input_name="arguments",
            )
        try:
            return self.args_schema.model_validate(dict(arguments))
        except ValidationError as exc:
            raise invalid_input_from_validation(self.name, exc) from None

    def run(self, arguments: Mapping[str, Any]) -> Any:
        """Validate and call; typed errors propagate to the caller."""
        parsed = self.validate(arguments)
        with deadline(self.budget(), f"tool {self.name!r}"):
            return self.func(**{name: getattr(parsed, name) for name in type(parsed).model_fields})

    def as_langchain(self) -> StructuredTool:
        """A LangChain tool over this spec (content: JSON text, artifact: the result)."""
        from langchain_core.tools import StructuredTool, ToolException

        def call(**kwargs: Any) -> tuple[str, Any]:
            try:
                with deadline(self.budget(), f"tool {self.name!r}"):
                    result = self.func(**kwargs)
            except BiomedAgentError as exc:
                raise ToolException(to_json(error_payload(exc))) from exc
            return to_json(result), result

        def on_validation_error(exc: ValidationError) -> str:
            return to_json(error_payload(invalid_input_from_validation(self.name, exc)))

        return StructuredTool.from_function(
            func=call,
            name=self.name,
            description=self.description.strip(),
            args_schema=self.args_schema,
            response_format="content_and_artifact",
            handle_tool_error=lambda exc: str(exc),
            handle_validation_error=on_validation_error,
        )
