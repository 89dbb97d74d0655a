"""The agent tests' world: the replay server with recorded records, settings, a shared store.

Literature searches are answered from ``pubmed/esearch_pubmed_agent_topics_synthetic.json``
(query -> PMIDs of recorded articles); efetch serves the recorded articles plus the
synthetic injection record. Everything else is :func:`install_recorded`'s real recordings.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from biomed_agent.retrievers.store import KnowledgeStore
from biomed_agent.settings import Settings
from tests.helpers.replay_server import (
    FIXTURES,
    NCBI,
    ReplayServer,
    Reply,
    Request,
    _pubmed_records,
    efetch_by_id,
    install_recorded,
    settings_for,
)

__all__ = ["ASPIRIN_SMILES", "INJECTION_PMID", "World", "agent_world"]

ASPIRIN_SMILES = "CC(=O)Oc1ccccc1C(=O)O"
INJECTION_PMID = "99999901"
_PUBMED = FIXTURES / "pubmed"


def _esearch(topics: dict[str, list[str]]) -> Any:
    def answer(request: Request) -> Reply:
        pmids = topics.get(request.params.get("term", ""), [])
        ids = "".join(f"<Id>{pmid}</Id>" for pmid in pmids)
        xml = (
            '<?xml version="1.0" encoding="UTF-8" ?>\n<eSearchResult><Count>'
            f"{len(pmids)}</Count><RetMax>{len(pmids)}</RetMax><RetStart>0</RetStart>"
            f"<IdList>{ids}</IdList></eSearchResult>\n"
        )
        return Reply(200, xml.encode(), "text/xml; charset=UTF-8")

    return answer


def install_agent_routes(server: ReplayServer) -> None:
    """Recorded routes plus the agent's literature topics and the injection record."""
    install_recorded(server)
    files = (
        *sorted((_PUBMED / "cassettes").glob("*.yaml")),
        *sorted(_PUBMED.glob("efetch_*.xml")),
        _PUBMED / "injection_efetch_pubmed_99999901_synthetic.xml",
    )
    server.route("POST", f"{NCBI}/efetch.fcgi", efetch_by_id(_pubmed_records(files)))
    topics = json.loads((_PUBMED / "esearch_pubmed_agent_topics_synthetic.json").read_text())
    server.route("GET", f"{NCBI}/esearch.fcgi", _esearch(topics))


@dataclass
class World:
    """A running replay server, settings pointing at it, and the store they share."""

    server: ReplayServer
    settings: Settings
    store: KnowledgeStore


@contextmanager
def agent_world(data_dir: Path) -> Iterator[World]:
    with ReplayServer() as server:
        install_agent_routes(server)
        settings = settings_for(server, data_dir, model="none")
        yield World(server=server, settings=settings, store=KnowledgeStore(settings))


def client_tool_specs(settings: Settings) -> list[Any]:
    """``pubchem_lookup``/``uniprot_lookup``/``pubmed_search`` over the real clients.

    Used only while the registry lacks them (the retrieval tools are built in parallel);
    the results follow the published tool contract.
    """
    from pydantic import BaseModel

    from biomed_agent.retrievers.pubchem import PubChemClient
    from biomed_agent.retrievers.pubmed import PubMedClient
    from biomed_agent.retrievers.uniprot import UniProtClient
    from biomed_agent.tools.base import ToolSpec

    class Query(BaseModel):
        query: str

    class ProteinQuery(BaseModel):
        query: str
        organism: str | None = None

    class Search(BaseModel):
        query: str
        max_results: int = 10

    def pubchem_lookup(query: str) -> dict[str, Any]:
        meta = PubChemClient.from_settings(settings).compound_documents([query])[0].metadata
        return {"cid": meta["cid"], "name": meta["title"], "properties": meta,
                "source_url": meta["url"]}  # fmt: skip

    def uniprot_lookup(query: str, organism: str | None = None) -> dict[str, Any]:
        client = UniProtClient.from_settings(settings)
        entry = client.entry(query) if organism is None else client.search(query, organism)[0]
        return {"accession": entry.accession, "name": entry.protein_name, "gene": entry.gene,
                "organism": entry.organism, "function": entry.function,
                "source_url": entry.url}  # fmt: skip

    def pubmed_search(query: str, max_results: int = 10) -> dict[str, Any]:
        docs = PubMedClient.from_settings(settings).search_documents(query, max_results)
        return {"query": query, "articles": [
            {"pmid": d.metadata["record_id"], "title": d.metadata["title"],
             "source_url": d.metadata["url"]} for d in docs]}  # fmt: skip

    return [
        ToolSpec("pubchem_lookup", pubchem_lookup, Query, "PubChem compound record."),
        ToolSpec("uniprot_lookup", uniprot_lookup, ProteinQuery, "UniProt entry."),
        ToolSpec("pubmed_search", pubmed_search, Search, "PubMed search."),
    ]


def make_agent(world: World, model: Any = None, **kwargs: Any) -> Any:
    """A BioMedAgent on the world's settings and store (model-free unless ``model``)."""
    from biomed_agent.agent.api import BioMedAgent

    agent = BioMedAgent(model=model, settings=world.settings, store=world.store, **kwargs)
    tools = dict(agent.context.tools)
    for spec in client_tool_specs(world.settings):
        tools.setdefault(spec.name, spec)
    agent.context.tools = tools
    return agent
