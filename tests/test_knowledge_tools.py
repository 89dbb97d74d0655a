"""The ``knowledge_search`` tool: standard tool suite, results, structured errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from langchain_tests.unit_tests import ToolsUnitTests

from biomed_agent.cli import main
from biomed_agent.errors import InvalidInputError, InvalidQueryError
from biomed_agent.retrievers.store import KnowledgeStore
from biomed_agent.settings import Settings
from biomed_agent.tools import get_tool_spec
from tests.helpers.knowledge import make_document, topic_documents


class TestKnowledgeSearchStandard(ToolsUnitTests):
    @property
    def tool_constructor(self) -> BaseTool:
        return get_tool_spec("knowledge_search").as_langchain()

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"query": "what does aspirin inhibit", "limit": 2, "sources": ["pubchem"]}


@pytest.fixture
def filled() -> KnowledgeStore:
    store = KnowledgeStore(Settings())
    store.add_documents(
        [*topic_documents(), make_document("file", "f1", "EGFR inhibitors.", page=3)]
    )
    return store


def call(arguments: dict[str, Any]) -> ToolMessage:
    tool = get_tool_spec("knowledge_search").as_langchain()
    message = tool.invoke({"type": "tool_call", "id": "1", "name": tool.name, "args": arguments})
    assert isinstance(message, ToolMessage)
    return message


def test_hits_carry_text_citation_and_score(filled: KnowledgeStore) -> None:
    result = get_tool_spec("knowledge_search").run({"query": "hormone controlling blood sugar"})
    assert result["query"] == "hormone controlling blood sugar"
    assert len(result["hits"]) == 5 and "note" not in result
    top = result["hits"][0]
    assert top["record_id"] == "P01308" and top["source"] == "uniprot"
    assert top["url"] == "https://example.org/uniprot/P01308"
    assert top["text"].startswith("Insulin, encoded by the INS gene")
    assert top["chunk"] == 0 and 0.3 < top["score"] <= 1.0 and "page" not in top


def test_sources_filter_and_page_for_files(filled: KnowledgeStore) -> None:
    message = call({"query": "kinase inhibitors", "limit": 3, "sources": ["file"]})
    hits = json.loads(message.content)["hits"]  # type: ignore[arg-type]
    assert [(h["source"], h["record_id"], h["page"]) for h in hits] == [("file", "f1", 3)]
    assert message.artifact["hits"] == hits


def test_empty_store_answers_with_a_note() -> None:
    result = get_tool_spec("knowledge_search").run({"query": "insulin", "limit": 2})
    assert result["hits"] == [] and "biomed-agent ingest" in result["note"]


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        ({"query": ""}, "query"),
        ({"query": "x", "limit": 0}, "limit: Input should be greater than or equal to 1"),
        ({"query": "x", "sources": ["chembl"]}, "sources.0"),
    ],
)
def test_bad_arguments_are_named(arguments: dict[str, Any], fragment: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        get_tool_spec("knowledge_search").run(arguments)
    assert fragment in info.value.message
    error = json.loads(call(arguments).content)["error"]  # type: ignore[arg-type]
    assert error["type"] == "InvalidInputError" and fragment in error["message"]


def test_blank_query_comes_back_as_a_structured_error() -> None:
    with pytest.raises(InvalidQueryError, match="is empty"):
        get_tool_spec("knowledge_search").run({"query": "   "})
    message = call({"query": "   "})
    assert message.status == "error"
    assert json.loads(message.content)["error"]["input"] == "query"  # type: ignore[arg-type]


def test_cli_tool_command(filled: KnowledgeStore, capsys: pytest.CaptureFixture[str]) -> None:
    arguments = json.dumps({"query": "virus outbreak", "limit": 1})
    assert main(["tool", "knowledge_search", "--input", arguments]) == 0
    [hit] = json.loads(capsys.readouterr().out)["hits"]
    assert hit["record_id"] == "29963580"
