"""The pubchem_lookup, uniprot_lookup and pubmed_search tools (replay server behind them)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from langchain_tests.unit_tests import ToolsUnitTests

from biomed_agent.errors import InvalidInputError, NotFoundError, OfflineError
from biomed_agent.settings import Settings
from biomed_agent.tools import get_tool_spec
from biomed_agent.tools.base import ToolSpec
from biomed_agent.tools.retrieval_tools import build_tools
from tests.helpers.replay_server import ReplayServer, settings_for


class TestPubChemLookupTool(ToolsUnitTests):
    @property
    def tool_constructor(self) -> BaseTool:
        return get_tool_spec("pubchem_lookup").as_langchain()

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"query": "aspirin"}


class TestUniProtLookupTool(ToolsUnitTests):
    @property
    def tool_constructor(self) -> BaseTool:
        return get_tool_spec("uniprot_lookup").as_langchain()

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"query": "ADORA1", "organism": "9606"}


class TestPubMedSearchTool(ToolsUnitTests):
    @property
    def tool_constructor(self) -> BaseTool:
        return get_tool_spec("pubmed_search").as_langchain()

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"query": "adenosine A1 receptor", "limit": 5}


def tools_for(server: ReplayServer, data_dir: Path, **settings: object) -> dict[str, ToolSpec]:
    return {spec.name: spec for spec in build_tools(settings_for(server, data_dir, **settings))}


def test_listing_tools_opens_no_client(tmp_path: Path) -> None:
    build_tools(Settings(data_dir=tmp_path))
    assert not (tmp_path / "http-cache").exists()


def test_pubchem_lookup(replay_server: ReplayServer, tmp_path: Path) -> None:
    result = tools_for(replay_server, tmp_path)["pubchem_lookup"].run({"query": "aspirin"})
    assert (result["cid"], result["name"], result["url"]) == (
        2244,
        "Aspirin",
        "https://pubchem.ncbi.nlm.nih.gov/compound/2244",
    )
    assert result["properties"]["formula"] == "C9H8O4"
    assert result["properties"]["molecular_weight"] == 180.16
    assert result["synonyms"][:3] == ["aspirin", "ACETYLSALICYLIC ACID", "50-78-2"]
    json.dumps(result, allow_nan=False)  # JSON-ready


def test_pubchem_lookup_by_cid_has_description(replay_server: ReplayServer, tmp_path: Path) -> None:
    result = tools_for(replay_server, tmp_path)["pubchem_lookup"].run({"query": "2349"})
    assert result["description"].startswith("Cillin has been reported in Penicillium")
    assert "Drug Classes" in result["sections"]


def test_unknown_compound_is_a_structured_not_found(
    replay_server: ReplayServer, tmp_path: Path
) -> None:
    spec = tools_for(replay_server, tmp_path)["pubchem_lookup"]
    with pytest.raises(NotFoundError, match="'nosuchdrugxyz'"):
        spec.run({"query": "nosuchdrugxyz"})
    message = spec.as_langchain().invoke(
        {
            "type": "tool_call",
            "id": "1",
            "name": "pubchem_lookup",
            "args": {"query": "nosuchdrugxyz"},
        }
    )
    assert isinstance(message, ToolMessage) and message.status == "error"
    error = json.loads(str(message.content))["error"]
    assert error["type"] == "NotFoundError"
    assert "PubChem has no compound for: 'nosuchdrugxyz'" in error["message"]


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("pubchem_lookup", {"query": ""}),
        ("uniprot_lookup", {"query": ""}),
        ("pubmed_search", {"query": ""}),
        ("pubmed_search", {"query": "x", "limit": 0}),
    ],
)
def test_empty_or_bad_arguments(
    replay_server: ReplayServer, tmp_path: Path, tool: str, args: dict[str, Any]
) -> None:
    with pytest.raises(InvalidInputError, match=f"bad arguments for tool '{tool}'"):
        tools_for(replay_server, tmp_path)[tool].run(args)
    assert replay_server.count() == 0


def test_uniprot_lookup_by_accession_and_by_gene(
    replay_server: ReplayServer, tmp_path: Path
) -> None:
    spec = tools_for(replay_server, tmp_path)["uniprot_lookup"]
    by_accession = spec.run({"query": "P30542"})
    by_gene = spec.run({"query": "ADORA1", "organism": "9606"})
    assert by_accession == by_gene
    assert {k: by_gene[k] for k in ("accession", "name", "gene", "organism", "url")} == {
        "accession": "P30542",
        "name": "Adenosine receptor A1",
        "gene": "ADORA1",
        "organism": "Homo sapiens",
        "url": "https://www.uniprot.org/uniprotkb/P30542/entry",
    }
    assert by_gene["function"].startswith("Receptor for adenosine.")
    assert by_gene["other_matches"] == []


def test_uniprot_lookup_retired_and_unknown(replay_server: ReplayServer, tmp_path: Path) -> None:
    spec = tools_for(replay_server, tmp_path)["uniprot_lookup"]
    with pytest.raises(NotFoundError, match=r"Q00007 is inactive \(demerged into P63151, P63150\)"):
        spec.run({"query": "Q00007"})
    with pytest.raises(NotFoundError, match="no entry with gene or protein name 'NOSUCHGENE'"):
        spec.run({"query": "NOSUCHGENE"})


def test_pubmed_search(replay_server: ReplayServer, tmp_path: Path) -> None:
    query = "science[journal] AND breast cancer AND 2008[pdat]"
    result = tools_for(replay_server, tmp_path)["pubmed_search"].run({"query": query, "limit": 3})
    assert result["total_count"] == 6
    assert [a["pmid"] for a in result["articles"]] == ["19008416", "18927361", "18787170"]
    first = result["articles"][0]
    assert first["url"] == "https://pubmed.ncbi.nlm.nih.gov/19008416/"
    assert first["authors"][-1] == "et al." and len(first["authors"]) == 7
    assert (first["journal"], first["year"], first["doi"]) == (
        "Science (New York, N.Y.)",
        2008,
        "10.1126/science.1165395",
    )
    assert len(first["abstract"]) <= 1500
    assert replay_server.count() == 2  # esearch + one efetch


def test_offline_tool_call_not_cached(replay_server: ReplayServer, tmp_path: Path) -> None:
    spec = tools_for(replay_server, tmp_path, offline=True)["pubmed_search"]
    with pytest.raises(OfflineError, match="BIOMED_OFFLINE=1"):
        spec.run({"query": "aspirin"})
    assert replay_server.count() == 0


def test_clients_close_as_context_managers(replay_server: ReplayServer, tmp_path: Path) -> None:
    from biomed_agent.retrievers.uniprot import UniProtClient

    with UniProtClient.from_settings(settings_for(replay_server, tmp_path)) as client:
        assert client.entry("P30542").gene == "ADORA1"
    assert client.stats.requests == 1


# --- offline: exact matches among records already in the knowledge store ---------------

_PROTEIN_FIELDS = (
    "accession",
    "name",
    "gene",
    "organism",
    "reviewed",
    "length",
    "function",
    "subcellular_location",
    "url",
)


@pytest.fixture
def stored_tools(replay_server: ReplayServer, tmp_path: Path) -> Iterator[dict[str, ToolSpec]]:
    """Offline tools over one shared store holding the real recorded aspirin and P30542."""
    from biomed_agent.agent.demo import demo_documents
    from biomed_agent.resources import Resources

    settings = settings_for(replay_server, tmp_path / "offline", offline=True)
    with Resources(settings) as resources:
        resources.store().add_documents(demo_documents()[:2])  # PubChem 2244, UniProt P30542
        yield {spec.name: spec for spec in build_tools(settings, resources)}
    assert replay_server.count() == 0


def test_offline_uniprot_lookup_answers_from_the_store(
    replay_server: ReplayServer, tmp_path: Path, stored_tools: dict[str, ToolSpec]
) -> None:
    online = tools_for(replay_server, tmp_path / "online")["uniprot_lookup"].run(
        {"query": "P30542"}
    )
    replay_server.reset_counts()
    spec = stored_tools["uniprot_lookup"]
    stored = spec.run({"query": "P30542"})
    assert stored["retrieved_from"] == "knowledge store"
    assert {k: stored[k] for k in _PROTEIN_FIELDS} == {k: online[k] for k in _PROTEIN_FIELDS}
    assert stored["other_matches"] == []
    assert spec.run({"query": "p30542"})["accession"] == "P30542"
    for query, organism in (("adora1", "9606"), ("AA1R_HUMAN", None), ("ADORA1", "human")):
        assert spec.run({"query": query, "organism": organism})["url"] == online["url"]


@pytest.mark.parametrize(
    ("query", "organism"),
    [
        ("P30543", None),  # unknown accession
        ("ADORA", None),  # prefix of the gene
        ("ADORA1A", None),
        ("adenosine receptor", None),  # part of the protein name
        ("ADORA1", "10090"),  # the gene, another organism
    ],
)
def test_offline_uniprot_lookup_never_returns_a_near_match(
    stored_tools: dict[str, ToolSpec], query: str, organism: str | None
) -> None:
    with pytest.raises(OfflineError, match="not in the UniProt cache"):
        stored_tools["uniprot_lookup"].run({"query": query, "organism": organism})


def test_offline_pubchem_lookup_answers_from_the_store(
    stored_tools: dict[str, ToolSpec],
) -> None:
    spec = stored_tools["pubchem_lookup"]
    result = spec.run({"query": "Aspirin"})
    assert (result["cid"], result["name"], result["retrieved_from"]) == (
        2244,
        "aspirin",
        "knowledge store",
    )
    assert result["url"] == "https://pubchem.ncbi.nlm.nih.gov/compound/2244"
    assert result["properties"]["inchikey"] == "BSYNRYMUTXBXSQ-UHFFFAOYSA-N"
    assert result["properties"]["molecular_weight"] == pytest.approx(180.16)
    assert result["properties"]["heavy_atoms"] is None  # not in the stored record
    assert result["sections"] is None and "acetylsalicylic acid" in [
        s.lower() for s in result["synonyms"]
    ]
    for query in ("2244", "acetylsalicylic acid", "BSYNRYMUTXBXSQ-UHFFFAOYSA-N"):
        assert spec.run({"query": query}) == result
    for near in ("aspiri", "aspirin tablet", "2245", "BSYNRYMUTXBXSQ-UHFFFAOYSA-O"):
        with pytest.raises(OfflineError, match="not in the PubChem cache"):
            spec.run({"query": near})


def test_offline_lookup_without_a_store_creates_none(
    replay_server: ReplayServer, tmp_path: Path
) -> None:
    settings = settings_for(replay_server, tmp_path, offline=True)
    spec = {s.name: s for s in build_tools(settings)}["uniprot_lookup"]
    with pytest.raises(OfflineError, match="P30542 is not in the UniProt cache"):
        spec.run({"query": "P30542"})
    assert not settings.store_dir.exists()
