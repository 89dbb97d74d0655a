"""Which tools a prompt offers: runnable ones, the most relevant, compactly written."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from langchain_core.utils.function_calling import convert_to_openai_tool

from biomed_agent.models.tool_calling import resolve_tool_mode, tool_catalogue
from biomed_agent.models.tool_selection import NEEDS_10B, select_tools
from biomed_agent.settings import Settings
from biomed_agent.tools import get_tools, tool_specs

FIXTURES = Path(__file__).parent / "fixtures"


def _mode(choice: str = "any"):  # type: ignore[no-untyped-def]
    return resolve_tool_mode([convert_to_openai_tool(t) for t in get_tools()], choice)


def test_needs_10b_names_the_multimodal_tools() -> None:
    from biomed_agent.tools.multimodal_tools import build_tools

    assert set(NEEDS_10B) == {spec.name for spec in build_tools(Settings())}


def test_multimodal_tools_are_offered_only_with_a_10b_checkpoint() -> None:
    mode = _mode()
    without = select_tools(mode, "What does P30542 do?", limit=50, has_10b=False)
    assert not set(NEEDS_10B) & set(without.allowed)
    with_10b = select_tools(mode, "What does P30542 do?", limit=50, has_10b=True)
    assert set(NEEDS_10B) <= set(with_10b.allowed)


def test_a_forced_tool_is_the_only_one_shown() -> None:
    mode = select_tools(_mode("uniprot_lookup"), "anything", limit=3, has_10b=False)
    assert [t["function"]["name"] for t in mode.tools] == ["uniprot_lookup"]


def test_retrieval_keeps_the_expected_tool_for_the_written_prompt_set() -> None:
    """MiniLM ranking of tool descriptions on the 40-prompt set: the expected tool is among
    the 6 offered for at least 38 prompts (measured: 39/40; top-1 28/40)."""
    items = json.loads((FIXTURES / "tool_prompts" / "tool_prompts.json").read_text())["items"]
    assert len(items) >= 40
    mode = _mode()
    kept = sum(
        item["tool"] in select_tools(mode, item["prompt"], limit=6, has_10b=False).allowed
        for item in items
    )
    assert kept >= 38


def test_compact_catalogue_is_far_smaller_than_the_schemas() -> None:
    mode = _mode()
    catalogue = tool_catalogue(mode)
    schemas = json.dumps([t["function"] for t in mode.tools])
    assert len(catalogue) * 3 < len(schemas)
    assert "- uniprot_lookup(query: str, organism?: str)" in catalogue
    lines = catalogue.splitlines()
    assert sum(line.startswith("- ") for line in lines) == len(tool_specs())


def test_catalogue_demonstrates_each_offered_project_tool_once() -> None:
    from biomed_agent.models.tool_examples import TOOL_EXAMPLES

    mode = select_tools(_mode(), "Is CCO drug-like?", limit=6, has_10b=False)
    lines = tool_catalogue(mode).splitlines()
    shown = [line for line in lines if " -> {" in line]
    assert len(shown) == sum(name in TOOL_EXAMPLES for name in mode.names) >= 5
    for line in shown:  # each demonstration is a call the grammar would accept
        request, call = line.split(" -> ", 1)
        payload = json.loads(call)
        assert payload["name"] in mode.names and request


def test_demonstrations_share_no_entity_with_the_prompt_sets() -> None:
    """The demonstrations must not leak the scored prompts (test set) or the dev set."""
    from biomed_agent.models.tool_examples import TOOL_EXAMPLES

    shown = json.dumps(TOOL_EXAMPLES).lower()
    for name in ("tool_prompts.json", "tool_prompts_dev.json"):
        items = json.loads((FIXTURES / "tool_prompts" / name).read_text())["items"]
        for item in items:
            assert item["entity"].lower() not in shown, item["entity"]
            assert item["prompt"].lower() not in shown


def test_retrieval_requests_share_no_entity_or_wording_with_the_prompt_sets() -> None:
    """The generic requests retrieval ranks by: no entity, and no run of three words in
    common with any prompt of either set (so they cannot echo a scored prompt)."""
    from biomed_agent.models.tool_examples import TOOL_REQUESTS

    def runs(text: str) -> set[tuple[str, ...]]:
        words = re.findall(r"[a-z0-9]+", text.lower())
        return {tuple(words[i : i + 3]) for i in range(len(words) - 2)}

    requests = [r for group in TOOL_REQUESTS.values() for r in group]
    assert len(requests) >= 3 * len(TOOL_REQUESTS)
    for name in ("tool_prompts.json", "tool_prompts_dev.json"):
        items = json.loads((FIXTURES / "tool_prompts" / name).read_text())["items"]
        for item in items:
            for request in requests:
                assert item["entity"].lower() not in request.lower(), (item["entity"], request)
                assert not runs(request) & runs(item["prompt"]), (request, item["prompt"])


def test_relevance_averages_description_and_closest_request() -> None:
    """A message worded exactly as one of a tool's requests scores (cos(description) + 1) / 2
    (fake encoder: one unit axis per word, so cosines are computable by hand)."""
    from biomed_agent.models.tool_examples import TOOL_REQUESTS
    from biomed_agent.models.tool_selection import tool_text

    def words(text: str) -> set[str]:
        return set(re.findall(r"[a-z]+", text.lower()))

    vocabulary: dict[str, int] = {}

    def embed(texts: list[str]) -> list[list[float]]:
        rows = []
        for text in texts:
            row = [0.0] * 4096
            for word in words(text):
                row[vocabulary.setdefault(word, len(vocabulary))] = len(words(text)) ** -0.5
            rows.append(row)
        return rows

    query = TOOL_REQUESTS["compound_safety"][2]
    mode = select_tools(_mode(), query, limit=3, has_10b=False, embed=embed)
    relevance = dict(mode.relevance)
    (spec,) = [s for s in mode.tools if s["function"]["name"] == "compound_safety"]
    description = words(tool_text(spec))
    cosine = len(words(query) & description) / (len(words(query)) * len(description)) ** 0.5
    assert relevance["compound_safety"] == pytest.approx((cosine + 1) / 2)
    assert max(relevance, key=relevance.__getitem__) == "compound_safety"


def test_relevance_of_the_offered_tools_travels_with_the_mode() -> None:
    mode = select_tools(_mode(), "Look up the protein P30542 in UniProt", limit=6, has_10b=False)
    relevance = dict(mode.relevance)
    assert set(relevance) == set(mode.names)
    assert max(relevance, key=relevance.__getitem__) == "uniprot_lookup"
