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


def make_agent(world: World, model: Any = None, **kwargs: Any) -> Any:
    """A BioMedAgent on the world's settings and store (model-free unless ``model``)."""
    from biomed_agent.agent.api import BioMedAgent

    return BioMedAgent(model=model, settings=world.settings, store=world.store, **kwargs)
