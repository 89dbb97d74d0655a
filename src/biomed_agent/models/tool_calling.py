"""Tool calls without a native tool-calling format: what may be emitted, and how it is read back.

BioMedGPT-LM-7B was never trained on a tool-calling format, so tools are offered
in the system text (see :mod:`biomed_agent.models.chat_format`) and a tool call is
one JSON object, ``{"name": <tool>, "arguments": <that tool's arguments>}``.
Reliability comes from *constrained decoding*: the output is restricted to a
grammar (xgrammar locally, the server's guided decoding remotely) that is

- with ``tool_choice="auto"``: either a plain-text answer (anything whose first
  character is not ``{``) **or** one tool-call object;
- with ``tool_choice="any"``/``"required"`` or a tool name: only a tool-call object.

The tool-call object is the JSON Schema :func:`tool_call_schema` -- an ``anyOf`` of
one branch per allowed tool, ``name`` fixed to the tool's name by ``const`` and
``arguments`` being that tool's own parameter schema -- compiled in strict mode
(no extra properties). So a tool call that the grammar lets finish parses as
JSON, names a bound tool, and its arguments validate against that tool's schema
by construction. :func:`parse_output` still validates with ``fastjsonschema`` before a
call reaches ``AIMessage.tool_calls``; anything else (only a call cut off by the
token budget) lands in ``invalid_tool_calls`` with the reason, never in
``tool_calls``.

This module is backend-neutral: the local model and the remote server share it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.messages import InvalidToolCall, ToolCall
from langchain_core.messages.tool import invalid_tool_call as make_invalid_tool_call
from langchain_core.messages.tool import tool_call as make_tool_call

from biomed_agent.errors import InvalidInputError, UnknownToolError, shorten

if TYPE_CHECKING:
    import xgrammar

__all__ = [
    "CLOSING_ALLOWANCE",
    "TEXT_ANSWER_EBNF",
    "ParsedOutput",
    "ToolMode",
    "build_grammar",
    "new_tool_call_id",
    "parse_output",
    "resolve_tool_mode",
    "tool_call_json",
    "tool_call_schema",
]

TOOL_CALL_START = "{"
"""First character of a tool call; a plain-text answer may not start with it."""

CLOSING_ALLOWANCE = 128
"""Tokens a tool call may use after ``max_new_tokens`` to close its JSON (see ``decoding``)."""

TEXT_ANSWER_EBNF = "root ::= [^{ \\t\\r\\n] [^]*"
"""A plain-text answer: anything that does not start with ``{`` or whitespace."""


@dataclass(frozen=True)
class ToolMode:
    """The tools offered to the model for one request and whether it must call one."""

    tools: tuple[dict[str, Any], ...]
    """Every bound tool, in OpenAI format (``{"type": "function", "function": {...}}``)."""

    allowed: tuple[str, ...]
    """Names of the tools the model may call now (one name when a tool is forced)."""

    required: bool
    """True when the output must be a tool call (``"any"``, ``"required"``, a tool name)."""

    relevance: tuple[tuple[str, float], ...] = ()
    """Retrieval similarity of the request to each offered tool (``select_tools``), a prior
    for the name choice (:mod:`biomed_agent.models.tool_choice`); empty when not ranked."""

    @property
    def choice_rule(self) -> str:
        """The sentence of the tool instructions that states what the model must do."""
        if not self.required:
            return "If no tool is needed, answer in plain text instead."
        if len(self.allowed) == 1:
            return f"You must call the tool {self.allowed[0]} now."
        return "You must call one of the tools now."

    def parameters(self, name: str) -> dict[str, Any]:
        """JSON Schema of the arguments of the bound tool ``name``."""
        for spec in self.tools:
            function = spec["function"]
            if function["name"] == name:
                return dict(function.get("parameters") or {"type": "object", "properties": {}})
        raise UnknownToolError(
            f"Tool {name!r} is not bound; bound tools: {', '.join(self.names)}.",
            input_name="tool_choice",
        )

    @property
    def names(self) -> tuple[str, ...]:
        """Names of every bound tool."""
        return tuple(spec["function"]["name"] for spec in self.tools)

    def cache_key(self) -> str:
        """A stable text identifying the grammar this mode needs (for compiled-grammar caches)."""
        schemas = {name: self.parameters(name) for name in self.allowed}
        return json.dumps([schemas, self.required], sort_keys=True)


def resolve_tool_mode(
    tools: Sequence[Mapping[str, Any]] | None, tool_choice: Any = None
) -> ToolMode | None:
    """Turn bound tools and a LangChain ``tool_choice`` into a :class:`ToolMode`.

    ``None``/``"auto"`` lets the model answer or call; ``"any"``, ``"required"`` or
    ``True`` forces a call to one of the tools; a tool name or
    ``{"type": "function", "function": {"name": ...}}`` forces that tool; ``"none"``
    or no tools gives ``None`` (plain generation).
    """
    if not tools or tool_choice == "none" or tool_choice is False:
        return None
    specs = tuple(dict(spec) for spec in tools)
    names = tuple(spec["function"]["name"] for spec in specs)
    if tool_choice in (None, "auto"):
        return ToolMode(tools=specs, allowed=names, required=False)
    if tool_choice in ("any", "required", True):
        return ToolMode(tools=specs, allowed=names, required=True)
    forced: object = tool_choice
    if isinstance(tool_choice, Mapping):
        forced = (tool_choice.get("function") or {}).get("name") or tool_choice.get("name")
    if isinstance(forced, str) and forced in names:
        return ToolMode(tools=specs, allowed=(forced,), required=True)
    raise UnknownToolError(
        f"tool_choice {shorten(tool_choice)} names no bound tool; use 'auto', 'any', 'none' "
        f"or one of: {', '.join(names)}.",
        input_name="tool_choice",
    )


def tool_call_schema(mode: ToolMode) -> dict[str, Any]:
    """JSON Schema of one tool call allowed by ``mode`` (``anyOf`` over the allowed tools)."""
    branches = [
        {
            "type": "object",
            "properties": {"name": {"const": name}, "arguments": mode.parameters(name)},
            "required": ["name", "arguments"],
            "additionalProperties": False,
        }
        for name in mode.allowed
    ]
    return branches[0] if len(branches) == 1 else {"anyOf": branches}


_LENGTH_STRING_CHAR = r"[^\"\\\r\n]"
"""xgrammar 0.2.8's character rule for strings with minLength/maxLength: it admits raw
U+0000-U+001F, which JSON (RFC 8259, section 7) forbids unescaped and ``json.loads`` rejects."""

_JSON_STRING_CHAR = r"[^\0-\x1f\"\\\r\n]"
"""The same rule without control characters, as xgrammar's own unbounded string rule has it."""


def build_grammar(mode: ToolMode) -> xgrammar.Grammar:
    """The xgrammar grammar of the outputs ``mode`` allows: a tool call, or text or a call.

    Tool calls are compact JSON (``", "`` and ``": "`` separators, as ``json.dumps``
    writes them) in strict mode: no keys beyond the schema's.
    """
    import xgrammar as xgr

    call = xgr.Grammar.from_json_schema(
        tool_call_schema(mode), any_whitespace=False, strict_mode=True
    )
    ebnf = str(call)
    if _LENGTH_STRING_CHAR in ebnf:
        call = xgr.Grammar.from_ebnf(ebnf.replace(_LENGTH_STRING_CHAR, _JSON_STRING_CHAR))
    if mode.required:
        return call
    return xgr.Grammar.union(xgr.Grammar.from_ebnf(TEXT_ANSWER_EBNF), call)


def tool_call_json(name: str, arguments: Mapping[str, Any]) -> str:
    """A tool call exactly as the model is asked to write it (used to render history)."""
    return json.dumps({"name": name, "arguments": dict(arguments)}, ensure_ascii=False)


def tool_call_opening(name: str) -> str:
    """How a call of ``name`` starts, exactly as the grammar makes the model write it."""
    return json.dumps({"name": name, "arguments": {}})[:-3]


def new_tool_call_id() -> str:
    """A fresh id for a tool call the model emitted (the model itself writes none)."""
    return f"call_{uuid.uuid4().hex[:24]}"


@dataclass
class ParsedOutput:
    """The model's final output split into answer text and tool calls."""

    content: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    invalid_tool_calls: list[InvalidToolCall] = field(default_factory=list)

    @property
    def finish_reason(self) -> Literal["tool_calls", "stop"]:
        """``tool_calls`` when a valid call was emitted, else ``stop``."""
        return "tool_calls" if self.tool_calls else "stop"

    def cut_by_budget(self) -> ParsedOutput:
        """This output when generation ran out of tokens: no call counts as accepted.

        A call closed by the forced-closing mode (see ``decoding``) parses and validates,
        but its strings were cut short; it becomes an invalid call with the reason.
        """
        if not self.tool_calls:
            return self
        cut = [
            make_invalid_tool_call(
                name=call["name"],
                args=json.dumps(call["args"], ensure_ascii=False),
                id=call["id"],
                error="the tool call was cut short by the token budget and force-closed; "
                "raise max_new_tokens",
            )
            for call in self.tool_calls
        ]
        return ParsedOutput(
            content=self.content, invalid_tool_calls=[*self.invalid_tool_calls, *cut]
        )


def is_tool_call_text(text: str, mode: ToolMode | None) -> bool:
    """Whether ``text`` (the output so far, leading whitespace stripped) is a tool call."""
    return mode is not None and text.startswith(TOOL_CALL_START)


def parse_output(text: str, mode: ToolMode | None) -> ParsedOutput:
    """Split the final output ``text`` into content and (valid or invalid) tool calls."""
    if not is_tool_call_text(text, mode):
        return ParsedOutput(content=text)
    assert mode is not None  # narrowed by is_tool_call_text
    call_id = new_tool_call_id()
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        return _invalid(
            text,
            call_id,
            f"tool call is not complete JSON ({exc.msg}); the "
            "token budget ran out: raise max_new_tokens",
        )
    if not isinstance(payload, dict) or payload.get("name") not in mode.allowed:
        return _invalid(text, call_id, f"tool call must name one of {list(mode.allowed)}")
    name = payload["name"]
    arguments = payload.get("arguments")
    error = _schema_error(arguments, mode.parameters(name))
    if error is not None or not isinstance(arguments, dict):
        return _invalid(text, call_id, error or "", name=name)
    return ParsedOutput(
        content="", tool_calls=[make_tool_call(name=name, args=arguments, id=call_id)]
    )


def _schema_error(arguments: object, schema: dict[str, Any]) -> str | None:
    import fastjsonschema

    if not isinstance(arguments, dict):
        return "tool call arguments must be a JSON object"
    try:
        schema_validator(json.dumps(schema, sort_keys=True))(arguments)
    except fastjsonschema.JsonSchemaValueException as exc:
        return f"arguments do not match the tool schema: {exc.message}"
    return None


@lru_cache(maxsize=256)
def schema_validator(schema_json: str) -> Callable[[Any], Any]:
    import fastjsonschema

    try:
        return fastjsonschema.compile(json.loads(schema_json), use_default=False)
    except fastjsonschema.JsonSchemaDefinitionException as exc:
        raise InvalidInputError(
            f"Tool parameter schema {shorten(schema_json)} is not valid JSON Schema: {exc}",
            input_name="tools",
        ) from exc


def _invalid(text: str, call_id: str, error: str, *, name: str | None = None) -> ParsedOutput:
    return ParsedOutput(
        content="",
        invalid_tool_calls=[make_invalid_tool_call(name=name, args=text, id=call_id, error=error)],
    )


SHOW_EXAMPLES = True
"""Show one fixed demonstration per offered tool under the catalogue (:mod:`tool_examples`)."""

_MAX_SIGNATURE = 300
"""Longest argument signature shown for one tool (the grammar enforces the full schema)."""


def tool_catalogue(mode: ToolMode) -> str:
    """The tools offered in the prompt, one compact line each: ``name(args): summary``.

    Full JSON Schemas cost several hundred tokens per tool; the prompt shows a
    TypeScript-like signature (``?`` marks optional arguments, enums as ``"a"|"b"``)
    and the description's first sentence, while constrained decoding still enforces
    every detail of the schema. Below the tools, one fixed demonstration per offered
    tool that has one (:mod:`biomed_agent.models.tool_examples`).
    """
    lines = []
    for spec in mode.tools:
        function = spec["function"]
        name = function["name"]
        schema = mode.parameters(name)
        signature = _type_text(schema, schema.get("$defs", {}), depth=0, top=True)
        if len(signature) > _MAX_SIGNATURE:
            signature = signature[: _MAX_SIGNATURE - 3] + "..."
        summary = _first_sentence(function.get("description", ""))
        lines.append(f"- {name}({signature})" + (f": {summary}" if summary else ""))
    if SHOW_EXAMPLES:
        from biomed_agent.models.tool_examples import examples_text

        examples = examples_text(mode.names)
        if examples:
            lines += ["Examples (request -> call):", examples]
    return "\n".join(lines)


def _first_sentence(text: str) -> str:
    flat = " ".join(text.split())
    head, dot, _ = flat.partition(". ")
    return (head + "." if dot else flat).strip()


def _type_text(schema: Any, defs: Mapping[str, Any], *, depth: int, top: bool = False) -> str:
    if not isinstance(schema, Mapping):
        return "any"
    if "$ref" in schema:
        target = defs.get(str(schema["$ref"]).rsplit("/", 1)[-1], {})
        return _type_text(target, defs, depth=depth, top=top)
    if "const" in schema:
        return json.dumps(schema["const"])
    if "enum" in schema:
        return "|".join(json.dumps(value) for value in schema["enum"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [_type_text(s, defs, depth=depth) for s in schema[key]]
            return "|".join(dict.fromkeys(o for o in options if o != "null")) or "null"
    kind = schema.get("type")
    if kind == "array":
        item = _type_text(schema.get("items", {}), defs, depth=depth)
        return f"({item})[]" if "|" in item else f"{item}[]"
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        if not properties:
            return "" if top else "object"
        if depth >= 3:
            return "{...}"
        required = set(schema.get("required", []))
        fields = ", ".join(
            f"{key}{'' if key in required else '?'}: " + _type_text(value, defs, depth=depth + 1)
            for key, value in properties.items()
        )
        return fields if top else "{" + fields + "}"
    names = {"integer": "int", "number": "number", "boolean": "bool", "string": "str"}
    return names.get(str(kind), "null" if kind == "null" else "any")
