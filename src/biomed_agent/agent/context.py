"""What the graph's nodes run with: settings, the chat model, the tools, the store.

The context is built once per :class:`~biomed_agent.agent.api.BioMedAgent`; the
knowledge store and the HTTP clients open on first use, so a question that
needs neither (a SMILES property question in model-free mode) never loads the
embedding model or touches the network stack.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from biomed_agent.settings import Settings
from biomed_agent.tools import ToolSpec, tool_specs

if TYPE_CHECKING:
    from langchain_core.documents import Document
    from langchain_core.language_models import BaseChatModel

    from biomed_agent.retrievers.store import KnowledgeStore

__all__ = ["AgentContext", "RecordFetcher"]

RECORD_SOURCES: tuple[str, ...] = ("pubchem", "uniprot", "pubmed")


class RecordFetcher:
    """Fetches PubChem, UniProt and PubMed records as store Documents (clients open lazily)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _client(self, source: str) -> Any:
        with self._lock:
            if source not in self._clients:
                if source == "pubchem":
                    from biomed_agent.retrievers.pubchem import PubChemClient

                    self._clients[source] = PubChemClient.from_settings(self.settings)
                elif source == "uniprot":
                    from biomed_agent.retrievers.uniprot import UniProtClient

                    self._clients[source] = UniProtClient.from_settings(self.settings)
                else:
                    from biomed_agent.retrievers.pubmed import PubMedClient

                    self._clients[source] = PubMedClient.from_settings(self.settings)
            return self._clients[source]

    def fetch(self, source: str, record_ids: Sequence[str]) -> list[Document]:
        """Documents for the records that exist (missing ones are skipped)."""
        client = self._client(source)
        if source == "pubchem":
            queries: list[str | int] = [int(rid) for rid in record_ids]
            return list(client.compound_documents(queries, skip_missing=True))
        if source == "uniprot":
            return list(client.entry_documents(list(record_ids), skip_missing=True))
        return list(client.fetch_documents(list(record_ids), skip_missing=True))


@dataclass
class AgentContext:
    """Runtime dependencies of the agent graph."""

    settings: Settings
    """Configuration (data directory, offline mode, step limit, ...)."""
    model: BaseChatModel | None = None
    """Chat model that plans and writes answers; None runs the model-free path."""
    tools: Mapping[str, ToolSpec] = field(default_factory=dict)
    """The registered tools by name: the only tools a plan may call."""
    store: KnowledgeStore | None = None
    """Knowledge store for grounding; opened from ``settings`` on first use when None."""
    fetcher: RecordFetcher | None = None
    """Record fetcher for grounding; built from ``settings`` on first use when None."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        model: BaseChatModel | None = None,
        store: KnowledgeStore | None = None,
    ) -> AgentContext:
        """A context with every registered tool."""
        tools = {spec.name: spec for spec in tool_specs(settings)}
        return cls(settings=settings, model=model, tools=tools, store=store)

    @property
    def max_steps(self) -> int:
        """Most tool calls for one question."""
        return self.settings.agent_max_steps

    def knowledge_store(self) -> KnowledgeStore:
        """The store, opened once (raises :class:`~biomed_agent.errors.StoreError`)."""
        with self._lock:
            if self.store is None:
                from biomed_agent.retrievers.store import KnowledgeStore

                self.store = KnowledgeStore(self.settings)
            return self.store

    def record_fetcher(self) -> RecordFetcher:
        """The record fetcher, built once."""
        with self._lock:
            if self.fetcher is None:
                self.fetcher = RecordFetcher(self.settings)
            return self.fetcher
