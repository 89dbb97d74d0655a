"""The ToolSpec contract shared by the CLI, LangChain and MCP."""

from __future__ import annotations

import json

import pytest
from langchain_core.messages import ToolMessage
from pydantic import BaseModel, Field

from biomed_agent.errors import InvalidInputError, InvalidQueryError
from biomed_agent.tools.base import ToolSpec


class RepeatArgs(BaseModel):
    word: str = Field(description="word to repeat", min_length=1)
    times: int = Field(default=2, description="how often", gt=0)


def repeat(word: str, times: int = 2) -> dict[str, object]:
    if word == "boom":
        raise InvalidQueryError("'boom' cannot be repeated; pick another word", input_name="word")
    return {"text": " ".join([word] * times), "times": times}


SPEC = ToolSpec(
    name="repeat", func=repeat, args_schema=RepeatArgs, description="Repeat a word.\nMore."
)


def test_run_validates_and_calls() -> None:
    assert SPEC.run({"word": "hi", "times": 3}) == {"text": "hi hi hi", "times": 3}
    assert SPEC.summary == "Repeat a word."


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        ({"times": 1}, "word: Field required"),
        ({"word": 5}, "word: Input should be a valid string"),
        ({"word": "x", "times": 0}, "times: Input should be greater than 0"),
        ([1, 2], "JSON object"),
    ],
)
def test_run_rejects_bad_arguments_with_named_field(arguments: object, fragment: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        SPEC.run(arguments)  # type: ignore[arg-type]
    assert fragment in info.value.message
    assert "repeat" in info.value.message


def test_langchain_tool_returns_json_content_and_artifact() -> None:
    tool = SPEC.as_langchain()
    message = tool.invoke({"type": "tool_call", "id": "1", "name": "repeat", "args": {"word": "a"}})
    assert isinstance(message, ToolMessage)
    assert json.loads(message.content) == {"text": "a a", "times": 2}
    assert message.artifact == {"text": "a a", "times": 2}
    assert message.status == "success"


def test_langchain_tool_turns_typed_errors_into_structured_results() -> None:
    tool = SPEC.as_langchain()
    message = tool.invoke(
        {"type": "tool_call", "id": "2", "name": "repeat", "args": {"word": "boom"}}
    )
    assert message.status == "error"
    error = json.loads(message.content)["error"]
    assert error == {
        "type": "InvalidQueryError",
        "message": "'boom' cannot be repeated; pick another word",
        "input": "word",
    }


def test_langchain_tool_turns_schema_violations_into_structured_results() -> None:
    tool = SPEC.as_langchain()
    message = tool.invoke(
        {"type": "tool_call", "id": "3", "name": "repeat", "args": {"word": ["x"]}}
    )
    assert message.status == "error"
    error = json.loads(message.content)["error"]
    assert error["type"] == "InvalidInputError"
    assert error["input"] == "word"


# --- the contract every registered tool keeps ------------------------------------------

COUNT_NAMES = {"k", "top_k", "top", "n", "size", "max", "max_results", "max_records",
               "max_targets", "max_bioactive", "count"}  # fmt: skip
"""Names a result count went by before ``limit`` became the one name."""
PENDING_RENAME: set[str] = set()
"""Tools still to move to ``limit`` and ``url`` (none: issue 16's tools moved)."""


def _registered() -> list[ToolSpec]:
    from biomed_agent.tools import tool_specs

    return tool_specs()


def test_every_tool_forbids_unknown_arguments() -> None:
    specs = _registered()
    assert len(specs) >= 14
    for spec in specs:
        assert spec.args_schema.model_config.get("extra") == "forbid", spec.name
        schema = spec.args_schema.model_json_schema()
        assert schema.get("additionalProperties") is False, spec.name
        with pytest.raises(InvalidInputError, match="Extra inputs are not permitted"):
            spec.validate({"no_such_argument": 1})


@pytest.mark.parametrize("name", [spec.name for spec in _registered()])
def test_one_count_name_and_one_link_key(name: str) -> None:
    if name in PENDING_RENAME:
        pytest.xfail("issue 16's tools: rename max_*/top to limit and source_url to url")
    spec = {spec.name: spec for spec in _registered()}[name]
    arguments = set(spec.args_schema.model_json_schema().get("properties", {}))
    assert not arguments & COUNT_NAMES, f"{name}: call the result count 'limit'"
    assert "source_url" not in spec.description, f"{name}: results link with 'url'"
