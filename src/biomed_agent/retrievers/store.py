"""The knowledge store: chunked records in a Chroma collection, safe to re-ingest.

Every record (one PubChem compound, UniProt entry, PubMed article or local
file) is identified by its ``source`` and ``record_id`` metadata and split into
chunks with the ids ``source:record_id:0``, ``…:1``, … . Writes are upserts, so
ingesting a record twice stores it once. Each chunk carries the record's content
hash and chunk count: a record whose chunks are all present with the same hash
is skipped without embedding it again, a changed record first loses the chunks
past its new length and is then overwritten. A write killed half-way therefore
leaves a record that fails the check and is rewritten by the next run: every
record ends up stored exactly once, never duplicated, never stale. Writing is in
:mod:`.store_ingest` (one length-sorted embedding pass per window, a claim per
source), reading in :mod:`.store_query`.

The collection lives in an embedded ``chromadb.PersistentClient`` under
``settings.store_dir`` or, when ``settings.chroma_url`` is set, on a Chroma
server. It is created with :class:`~biomed_agent.retrievers.embeddings.SentenceEmbeddingFunction`
(cosine space) and never with Chroma's downloading default. :attr:`KnowledgeStore.vectorstore`
is a ``langchain-chroma`` ``Chroma`` over the same collection for LangChain code.
Every exception a Chroma call raises (Chroma's own, SQLite's, its HTTP client's,
anything else) is translated to :class:`StoreError` in :func:`_store_errors`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from functools import cached_property
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import chromadb
from chromadb.config import Settings as ChromaSettings
from langchain_core.documents import Document
from langchain_text_splitters import RecursiveCharacterTextSplitter

from biomed_agent.errors import BiomedAgentError, ConfigurationError, StoreError
from biomed_agent.retrievers import store_ingest, store_query
from biomed_agent.retrievers.embeddings import SentenceEmbeddingFunction, SentenceEmbeddings
from biomed_agent.retrievers.store_ingest import IngestCounts, PreparedRecord, chunk_id
from biomed_agent.retrievers.store_query import KNOWN_SOURCES, SearchHit
from biomed_agent.settings import Settings, get_settings

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection
    from langchain_chroma import Chroma

__all__ = [
    "KNOWN_SOURCES",
    "IngestCounts",
    "KnowledgeStore",
    "PreparedRecord",
    "SearchHit",
    "chunk_id",
]


@contextmanager
def _store_errors(action: str, location: str) -> Iterator[None]:
    """Translate whatever a Chroma call raises into :class:`StoreError`.

    Only Chroma calls run inside this guard, so any exception here is the store's:
    Chroma's own errors, SQLite's, its HTTP client's and whatever else its
    implementation lets through all become one typed error naming the store.
    """
    try:
        yield
    except BiomedAgentError:
        raise
    except Exception as exc:
        raise StoreError(
            f"could not {action} the knowledge store at {location}: "
            f"{type(exc).__name__}: {exc}. Check that BIOMED_DATA_DIR is writable or "
            "that the Chroma server at BIOMED_CHROMA_URL is running",
            input_name="store",
        ) from exc


def _connect(settings: Settings) -> ClientAPI:
    """An HTTP client when ``chroma_url`` is set, else the embedded persistent client."""
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url is None:
        return chromadb.PersistentClient(path=str(settings.store_dir), settings=chroma_settings)
    url = urlsplit(settings.chroma_url)
    if url.scheme not in ("http", "https") or not url.hostname or url.path not in ("", "/"):
        raise ConfigurationError(
            f"BIOMED_CHROMA_URL={settings.chroma_url!r} is not a Chroma server address; "
            "use http://HOST:PORT (or https://...), without a path",
            input_name="chroma_url",
        )
    secure = url.scheme == "https"
    return chromadb.HttpClient(
        host=url.hostname,
        port=url.port or (443 if secure else 8000),
        ssl=secure,
        settings=chroma_settings,
    )


class KnowledgeStore:
    """Chunked, idempotent document storage and semantic search over one Chroma collection."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        embedder: SentenceEmbeddingFunction | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        if self.settings.chunk_overlap >= self.settings.chunk_size:
            raise ConfigurationError(
                f"BIOMED_CHUNK_OVERLAP={self.settings.chunk_overlap} must be smaller than "
                f"BIOMED_CHUNK_SIZE={self.settings.chunk_size}",
                input_name="chunk_overlap",
            )
        self.embedder = embedder or SentenceEmbeddingFunction.from_settings(self.settings)
        self.location = self.settings.chroma_url or str(self.settings.store_dir)
        self.splitter = RecursiveCharacterTextSplitter(
            chunk_size=self.settings.chunk_size, chunk_overlap=self.settings.chunk_overlap
        )
        with self.errors("open"):
            self.client = _connect(self.settings)
            self.collection: Collection = self.client.get_or_create_collection(
                name=self.settings.collection,
                embedding_function=self.embedder,  # type: ignore[arg-type]
                configuration={"hnsw": {"space": "cosine"}},
            )
        self._check_embedding_model()

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> KnowledgeStore:
        return cls(settings)

    def errors(self, action: str) -> AbstractContextManager[None]:
        """The guard that turns a failing Chroma call into a :class:`StoreError`."""
        return _store_errors(action, self.location)

    def _check_embedding_model(self) -> None:
        persisted = (self.collection.configuration_json or {}).get("embedding_function") or {}
        model = (persisted.get("config") or {}).get("model")
        if model is not None and model != self.embedder.model:
            raise StoreError(
                f"collection {self.settings.collection!r} at {self.location} holds vectors from "
                f"embedding model {model!r}, but BIOMED_EMBEDDING_MODEL is "
                f"{self.embedder.model!r}; "
                "set it back, or set BIOMED_COLLECTION to a new name and ingest again",
                input_name="embedding_model",
            )

    @cached_property
    def vectorstore(self) -> Chroma:
        """A LangChain ``Chroma`` vector store over the same collection and embedder."""
        from langchain_chroma import Chroma

        with self.errors("open"):
            return Chroma(
                client=self.client,
                collection_name=self.settings.collection,
                embedding_function=SentenceEmbeddings(self.embedder),
            )

    # --- writing (biomed_agent.retrievers.store_ingest) ----------------------

    def prepare(self, documents: Iterable[Document]) -> list[PreparedRecord]:
        """Group documents into records, chunk and hash them, as :meth:`add_documents` would.

        Nothing is written; bad documents raise here, before any write.
        """
        return store_ingest.prepare(self, documents)

    def add_documents(
        self, documents: Iterable[Document], *, progress: bool = False
    ) -> IngestCounts:
        """Store documents (grouped into records by source and record_id); skip unchanged ones.

        Documents sharing ``source`` and ``record_id`` (the pages of one file) form one
        record whose chunks are numbered in order. Metadata values must be scalars.
        Concurrent ingests of the same records embed them once (a claim per source).
        """
        return store_ingest.ingest(self, documents, progress=progress)

    # --- reading ------------------------------------------------------------

    def count(self) -> int:
        """Number of chunks in the collection."""
        with self.errors("read"):
            return self.collection.count()

    def has(self, source: str, record_id: str) -> bool:
        """Whether the record's first chunk is stored."""
        with self.errors("read"):
            found = self.collection.get(ids=[chunk_id(source, str(record_id), 0)], include=[])
        return bool(found["ids"])

    def get(self, source: str, record_id: str) -> list[Document]:
        """The record's chunks in order (empty when it is not stored)."""
        with self.errors("read"):
            found = self.collection.get(
                where={"record_key": f"{source}:{record_id}"}, include=["documents", "metadatas"]
            )
        chunks = [
            Document(id=i, page_content=text or "", metadata=dict(meta or {}))
            for i, text, meta in zip(
                found["ids"], found["documents"] or [], found["metadatas"] or [], strict=True
            )
        ]
        return sorted(chunks, key=lambda doc: int(doc.metadata.get("chunk", 0)))

    def search(
        self,
        query: str,
        k: int = 4,
        *,
        sources: Sequence[str] | None = None,
        mmr: bool = False,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
    ) -> list[SearchHit]:
        """The ``k`` chunks closest to ``query``, optionally from some sources only.

        With ``mmr`` the ``fetch_k`` closest chunks are re-ranked by maximal marginal
        relevance (``lambda_mult`` 1 = pure relevance, 0 = pure diversity).
        """
        return store_query.search(
            self, query, k, sources=sources, mmr=mmr, fetch_k=fetch_k, lambda_mult=lambda_mult
        )
