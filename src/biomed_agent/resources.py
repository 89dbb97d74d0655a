"""One owner for every shared resource: store, HTTP clients, embedder, models, memory.

An agent, a CLI command or an MCP server creates one :class:`Resources` and hands it
to :func:`biomed_agent.tools.tool_specs` and to the agent context; tools never open
their own store or clients. Each member is built on first use, once, under its own
lock (threads asking at the same time wait for the one that builds it and get the
same object; a build that fails stores nothing, so the next call tries again).
:meth:`Resources.close` closes what it built: the store's database, every HTTP
session and cache file, the agent memory::

    with Resources(settings) as resources:
        specs = tool_specs(settings, resources=resources)
        ...

Nothing heavy is imported until a member is asked for.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from biomed_agent.errors import ConfigurationError, StoreError
from biomed_agent.settings import Settings, get_settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langgraph.checkpoint.sqlite import SqliteSaver

    from biomed_agent.proteins.esm import EsmModel
    from biomed_agent.proteins.store import EmbeddingStore
    from biomed_agent.retrievers.embeddings import SentenceEmbeddingFunction
    from biomed_agent.retrievers.pubchem import PubChemClient
    from biomed_agent.retrievers.pubmed import PubMedClient
    from biomed_agent.retrievers.store import KnowledgeStore
    from biomed_agent.retrievers.uniprot import UniProtClient

__all__ = ["MEMORY_FILE", "MODEL_FREE", "SERVICES", "Resources", "Service"]

Service = Literal["pubchem", "uniprot", "pubmed"]
SERVICES: tuple[Service, ...] = ("pubchem", "uniprot", "pubmed")
MODEL_FREE = "none"
"""``BIOMED_MODEL`` / ``--model`` value of the model-free agent."""
MEMORY_FILE = "agent-memory.sqlite"
"""File of the thread checkpointer, under ``settings.data_dir``."""

T = TypeVar("T")


class Resources:
    """The shared resources of one agent, CLI command or server, built lazily, closed together.

    Args:
        settings: configuration; ``get_settings()`` when omitted.
        store: an open knowledge store to use instead of opening one (the caller keeps
            ownership: :meth:`close` leaves it open).
        chat_model: a chat model to use instead of loading ``settings.model``.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        store: KnowledgeStore | None = None,
        chat_model: BaseChatModel | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._members: dict[str, Any] = {}
        self._owned: list[tuple[str, Callable[[], None]]] = []
        self._closed = False
        if store is not None:
            self._members["store"] = store
        if chat_model is not None:
            self._members["chat_model"] = chat_model

    # --- the building block ---------------------------------------------------

    def _member(self, name: str, build: Callable[[], T], close: Callable[[T], None] | None) -> T:
        """``name``, built by ``build`` once; ``close`` runs at :meth:`close`."""
        with self._guard:
            if name in self._members:
                value: T = self._members[name]
                return value
            self._check_open()
            lock = self._locks.setdefault(name, threading.Lock())
        with lock:
            with self._guard:
                if name in self._members:
                    value = self._members[name]
                    return value
            value = build()
            with self._guard:
                self._members[name] = value
                if close is not None:
                    self._owned.append((name, lambda: close(value)))
                closed = self._closed
            if closed:  # close() ran while this member was being built
                self.close()
                self._check_open()
            return value

    def _check_open(self) -> None:
        if self._closed:
            raise ConfigurationError(
                "these resources are closed; create a new agent (or Resources) to go on",
                input_name="resources",
            )

    def built(self) -> list[str]:
        """Names of the members built (or given) so far."""
        with self._guard:
            return sorted(self._members)

    # --- members --------------------------------------------------------------

    def embedder(self) -> SentenceEmbeddingFunction:
        """The knowledge store's text embedder (``settings.embedding_model``)."""

        def build() -> SentenceEmbeddingFunction:
            from biomed_agent.retrievers.embeddings import SentenceEmbeddingFunction

            return SentenceEmbeddingFunction.from_settings(self.settings)

        return self._member("embedder", build, None)

    def store(self) -> KnowledgeStore:
        """The knowledge store (raises :class:`~biomed_agent.errors.StoreError`)."""

        def build() -> KnowledgeStore:
            from biomed_agent.retrievers.store import KnowledgeStore

            return KnowledgeStore(self.settings, embedder=self.embedder())

        return self._member("store", build, _close_store)

    @overload
    def client(self, service: Literal["pubchem"]) -> PubChemClient: ...
    @overload
    def client(self, service: Literal["uniprot"]) -> UniProtClient: ...
    @overload
    def client(self, service: Literal["pubmed"]) -> PubMedClient: ...
    def client(self, service: Service) -> PubChemClient | UniProtClient | PubMedClient:
        """The HTTP client of ``service`` (one session and cache file per service)."""

        def build() -> PubChemClient | UniProtClient | PubMedClient:
            if service == "pubchem":
                from biomed_agent.retrievers.pubchem import PubChemClient

                return PubChemClient.from_settings(self.settings)
            if service == "uniprot":
                from biomed_agent.retrievers.uniprot import UniProtClient

                return UniProtClient.from_settings(self.settings)
            if service == "pubmed":
                from biomed_agent.retrievers.pubmed import PubMedClient

                return PubMedClient.from_settings(self.settings)
            raise ConfigurationError(
                f"unknown service {service!r}; one of {', '.join(SERVICES)}",
                input_name="service",
            )

        return self._member(f"client:{service}", build, lambda client: client.close())

    @property
    def pubchem(self) -> PubChemClient:
        """The PubChem client."""
        return self.client("pubchem")

    @property
    def uniprot(self) -> UniProtClient:
        """The UniProt client."""
        return self.client("uniprot")

    @property
    def pubmed(self) -> PubMedClient:
        """The PubMed (E-utilities) client."""
        return self.client("pubmed")

    def esm(self) -> EsmModel:
        """The ESM-2 model ``settings.esm_model`` names (loaded once per process)."""

        def build() -> EsmModel:
            from biomed_agent.proteins.esm import esm_from_settings

            return esm_from_settings(self.settings)

        return self._member("esm", build, None)

    def embedding_store(self) -> EmbeddingStore:
        """Protein embeddings on disk under ``data_dir/embeddings``, over :meth:`esm`."""

        def build() -> EmbeddingStore:
            from biomed_agent.proteins.store import EmbeddingStore

            return EmbeddingStore(
                self.settings.data_dir / "embeddings",
                self.esm(),
                overlap=self.settings.esm_window_overlap,
                token_budget=self.settings.esm_token_budget,
            )

        return self._member("embedding_store", build, None)

    def chat_model(self) -> BaseChatModel | None:
        """The chat model ``settings.model`` names; None in model-free mode (``none``)."""

        def build() -> BaseChatModel | None:
            if self.settings.model.strip().lower() == MODEL_FREE:
                return None
            from biomed_agent.models import init_biomed_model

            return init_biomed_model(self.settings)

        return self._member("chat_model", build, None)

    def memory(self) -> SqliteSaver:
        """The agent's thread checkpointer (SQLite under ``data_dir``)."""
        return self._member("memory", lambda: open_memory(self.settings), _close_memory)

    # --- lifetime -------------------------------------------------------------

    def close(self) -> None:
        """Close every member this object built (latest first); idempotent."""
        with self._guard:
            self._closed = True
            owned, self._owned = self._owned, []
            for name, _ in owned:
                self._members.pop(name, None)
        errors: list[BaseException] = []
        for _, close in reversed(owned):
            try:
                close()
            except Exception as exc:  # close the rest, then report the first
                errors.append(exc)
        if errors:
            raise StoreError(
                f"closing shared resources failed: {errors[0]}", input_name="resources"
            ) from errors[0]

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        return self._closed

    def __enter__(self) -> Resources:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_memory(settings: Settings) -> SqliteSaver:
    """A SQLite checkpointer at ``data_dir/agent-memory.sqlite`` (StoreError if it cannot open)."""
    from langgraph.checkpoint.sqlite import SqliteSaver

    path = settings.data_dir / MEMORY_FILE
    connection: sqlite3.Connection | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, check_same_thread=False)
        saver = SqliteSaver(connection)
        saver.setup()
    except (OSError, sqlite3.Error) as exc:
        if connection is not None:
            connection.close()
        raise StoreError(
            f"cannot open the agent memory at {path}: {exc}; check that BIOMED_DATA_DIR is a "
            "writable directory",
            input_name="data_dir",
        ) from exc
    return saver


def _close_memory(saver: SqliteSaver) -> None:
    saver.conn.close()


def _close_store(store: KnowledgeStore) -> None:
    close = getattr(store, "close", None)
    if callable(close):
        close()
        return
    client = getattr(store, "client", None)  # the chromadb client under the store
    if client is not None and callable(getattr(client, "close", None)):
        client.close()
