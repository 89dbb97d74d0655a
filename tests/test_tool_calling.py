"""Tool choice, the tool-call grammar, parsing and the streaming output assembler."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import pytest
import xgrammar as xgr
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, Field

from biomed_agent.errors import UnknownToolError
from biomed_agent.models.output import OutputAssembler
from biomed_agent.models.tool_calling import (
    build_grammar,
    parse_output,
    resolve_tool_mode,
    tool_call_schema,
)


class Properties(BaseModel):
    """Compute molecular properties."""

    smiles: str
    which: list[Literal["logp", "tpsa", "mw"]] = Field(min_length=1)


class Lookup(BaseModel):
    """Look a protein up."""

    accession: str
    limit: int = Field(default=5, ge=1, le=50)


TOOLS = [convert_to_openai_tool(Properties), convert_to_openai_tool(Lookup)]


def accepts(mode_choice: object, text: str) -> bool:
    """Whether the grammar for ``mode_choice`` accepts ``text`` as a complete output."""
    mode = resolve_tool_mode(TOOLS, mode_choice)
    assert mode is not None
    grammar = build_grammar(mode)
    info = xgr.TokenizerInfo(["<eos>", *[chr(c) for c in range(32, 127)], "\n"], stop_token_ids=[0])
    matcher = xgr.GrammarMatcher(xgr.GrammarCompiler(info).compile_grammar(grammar))
    return matcher.accept_string(text) and matcher.accept_token(0) and matcher.is_terminated()


def test_tool_choice_modes() -> None:
    assert resolve_tool_mode(TOOLS, None).required is False  # type: ignore[union-attr]
    assert resolve_tool_mode(TOOLS, "auto").allowed == ("Properties", "Lookup")  # type: ignore[union-attr]
    for forced in ("any", "required", True):
        assert resolve_tool_mode(TOOLS, forced).required is True  # type: ignore[union-attr]
    named = resolve_tool_mode(TOOLS, {"type": "function", "function": {"name": "Lookup"}})
    assert named is not None and named.allowed == ("Lookup",) and named.required
    assert resolve_tool_mode(TOOLS, "none") is None
    assert resolve_tool_mode([], "any") is None


def test_unknown_tool_choice_is_a_typed_error() -> None:
    with pytest.raises(UnknownToolError, match=r"'Missing'.*Properties, Lookup"):
        resolve_tool_mode(TOOLS, "Missing")


def test_schema_fixes_name_and_arguments_per_tool() -> None:
    schema = tool_call_schema(resolve_tool_mode(TOOLS, "any"))  # type: ignore[arg-type]
    branches = schema["anyOf"]
    assert [b["properties"]["name"] for b in branches] == [
        {"const": "Properties"},
        {"const": "Lookup"},
    ]
    assert branches[1]["properties"]["arguments"]["required"] == ["accession"]
    assert all(b["additionalProperties"] is False for b in branches)


@pytest.mark.parametrize(
    ("choice", "text", "ok"),
    [
        ("any", '{"name": "Lookup", "arguments": {"accession": "P04637"}}', True),
        ("any", '{"name": "Lookup", "arguments": {"accession": "P04637", "limit": 3}}', True),
        ("any", '{"name": "Lookup", "arguments": {"accession": "P04637", "limit": 99}}', False),
        ("any", '{"name": "Lookup", "arguments": {"limit": 3}}', False),  # required key
        ("any", '{"name": "Lookup", "arguments": {"accession": 7}}', False),  # wrong type
        ("any", '{"name": "Other", "arguments": {}}', False),
        ("any", '{"name": "Lookup", "arguments": {"accession": "x", "evil": 1}}', False),
        ("any", '{"name": "Properties", "arguments": {"smiles": "CCO", "which": ["tpsa"]}}', True),
        ("any", '{"name": "Properties", "arguments": {"smiles": "CCO", "which": []}}', False),
        ("any", '{"name": "Properties", "arguments": {"smiles": "C", "which": ["pka"]}}', False),
        ("any", "Plain text answer", False),
        ("Lookup", '{"name": "Properties", "arguments": {"smiles": "C", "which": ["mw"]}}', False),
        ("auto", "Plain text answer {with braces}", True),
        ("auto", '{"name": "Lookup", "arguments": {"accession": "Q9"}}', True),
        ("auto", "{not json", False),
        ("auto", " leading blank", False),
    ],
)
def test_grammar_admits_exactly_valid_calls(choice: object, text: str, ok: bool) -> None:
    assert accepts(choice, text) is ok


def test_parse_valid_call_gets_an_id_and_validated_args() -> None:
    mode = resolve_tool_mode(TOOLS, "any")
    parsed = parse_output('{"name": "Lookup", "arguments": {"accession": "P04637"}}', mode)
    assert parsed.content == ""
    (call,) = parsed.tool_calls
    assert call["name"] == "Lookup" and call["args"] == {"accession": "P04637"}
    assert call["id"] is not None and call["id"].startswith("call_")
    assert parsed.finish_reason == "tool_calls"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('{"name": "Lookup", "arguments": {"accession": "P0', "not complete JSON"),
        ('{"name": "Nope", "arguments": {}}', "must name one of"),
        ('{"name": "Lookup", "arguments": {"limit": 2}}', "must contain ['accession'] properties"),
        ('{"name": "Lookup", "arguments": []}', "must be a JSON object"),
    ],
)
def test_parse_never_passes_an_invalid_call(text: str, error: str) -> None:
    parsed = parse_output(text, resolve_tool_mode(TOOLS, "auto"))
    assert parsed.tool_calls == []
    (bad,) = parsed.invalid_tool_calls
    assert error in (bad["error"] or "")
    assert bad["args"] == text


def test_text_is_content_without_tools() -> None:
    assert parse_output('{"looks": "like json"}', None).content == '{"looks": "like json"}'


def stream(assembler: OutputAssembler, pieces: list[str]) -> str:
    shown = "".join(assembler.feed(p) for p in pieces)
    rest, parsed = assembler.finish()
    assert shown + rest == parsed.content
    return shown + rest


def test_assembler_cuts_at_stop_string_split_across_pieces() -> None:
    assembler = OutputAssembler(["###"], None)
    shown = [assembler.feed(p) for p in ["  Aspirin is", " a drug. #", "#", "# Human: more"]]
    assert "#" not in "".join(shown)
    assert assembler.stopped
    rest, parsed = assembler.finish()
    assert "".join(shown) + rest == parsed.content == "Aspirin is a drug."


def test_assembler_streams_prefixes_of_final_answer() -> None:
    assembler = OutputAssembler(["###", "STOP"], None)
    pieces = ["Hel", "lo ", " wor", "ld  ", "\n", "ST", "OP tail"]
    assert stream(assembler, pieces) == "Hello  world"


def test_assembler_holds_tool_call_and_ignores_stop_inside_it() -> None:
    mode = resolve_tool_mode(TOOLS, "auto")
    assembler = OutputAssembler(["###"], mode)
    call = {"name": "Lookup", "arguments": {"accession": "a###b"}}
    text = json.dumps(call)
    shown = [assembler.feed(text[i : i + 4]) for i in range(0, len(text), 4)]
    assert shown == [""] * len(shown)
    rest, parsed = assembler.finish()
    assert rest == "" and parsed.tool_calls[0]["args"] == {"accession": "a###b"}


class Bounded(BaseModel):
    """A tool whose string argument has a length bound (xgrammar's separate string rule)."""

    name: str = Field(min_length=1, max_length=8)
    note: str


@pytest.mark.parametrize("control", ["\x00", "\x11", "\x1f", "\t"])
def test_grammar_never_admits_raw_control_characters_in_strings(control: str) -> None:
    """RFC 8259 section 7: U+0000-U+001F must be escaped inside strings (json.loads agrees)."""
    mode = resolve_tool_mode([convert_to_openai_tool(Bounded)], "any")
    assert mode is not None
    info = xgr.TokenizerInfo(["<eos>", *[chr(c) for c in range(127)]], stop_token_ids=[0])
    compiled = xgr.GrammarCompiler(info).compile_grammar(build_grammar(mode))
    head = '{"name": "Bounded", "arguments": {"name": "a'
    for text in (head, head + '", "note": "b'):
        matcher = xgr.GrammarMatcher(compiled)
        assert matcher.accept_string(text)
        assert not matcher.accept_string(control), (text, control)
    ok = head + '", "note": "b"}}'
    matcher = xgr.GrammarMatcher(compiled)
    assert matcher.accept_string(ok) and matcher.accept_token(0) and matcher.is_terminated()
    assert json.loads(ok)["arguments"] == {"name": "a", "note": "b"}


def test_sampled_calls_from_the_full_vocabulary_are_valid_json(tiny_llama_dir: Path) -> None:
    """At T=1 without top_p the random model draws control-character tokens often: the
    grammar must keep them out of strings, so every closed call parses and validates."""
    from biomed_agent.models.chat_model import ChatBioMedGPT
    from tests.helpers.tiny_llama import single_torch_thread

    class Props(BaseModel):
        """Compute properties of a molecule."""

        smiles: str = Field(min_length=1)
        which: list[Literal["logp", "tpsa", "mw", "hbd"]] = Field(min_length=1, max_length=3)

    chat = ChatBioMedGPT(model=str(tiny_llama_dir), device_map="cpu", max_new_tokens=400)
    bound = chat.bind_tools([convert_to_openai_tool(Props)], tool_choice="required")
    with single_torch_thread():
        messages = [bound.invoke("aspirin", seed=seed, temperature=1.0) for seed in range(18)]
    for seed, message in enumerate(messages):
        assert message.invalid_tool_calls == [], seed
        (call,) = message.tool_calls
        Props.model_validate(call["args"])
