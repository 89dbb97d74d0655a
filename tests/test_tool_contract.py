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
