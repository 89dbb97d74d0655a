"""The knowledge store: chunked records in a Chroma collection, safe to re-ingest.

Every record (one PubChem compound, UniProt entry, PubMed article or local
file) is identified by its ``source`` and ``record_id`` metadata and split into
chunks with the ids ``source:record_id:0``, ``…:1``, … . Writes are upserts, so
ingesting a record twice stores it once. Each chunk carries the record's content
hash and chunk count: a record whose chunks are all present with the same hash
is skipped without embedding it again, a changed record first loses the chunks
past its new length and is then overwritten. A write killed half-way therefore
leaves a record that fails the check and is rewritten by the next run: every
record ends up stored exactly once, never duplicated, never stale.

The collection lives in an embedded ``chromadb.PersistentClient`` under
``settings.store_dir`` or, when ``settings.chroma_url`` is set, on a Chroma
server. It is created with :class:`~biomed_agent.retrievers.embeddings.SentenceEmbeddingFunction`
(cosine space) and never with Chroma's downloading default. :attr:`KnowledgeStore.vectorstore`
is a ``langchain-chroma`` ``Chroma`` over the same collection for LangChain code.
Chroma's own exceptions are translated to :class:`StoreError` in :func:`_store_errors`.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import chromadb
import httpx
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import ChromaError
from langchain_core.documents import Document
from langchain_text_splitters import RecursiveCharacterTextSplitter
from tqdm.auto import tqdm

from biomed_agent.errors import (
    BiomedAgentError,
    ConfigurationError,
    InvalidInputError,
    InvalidQueryError,
    StoreError,
    shorten,
)
from biomed_agent.retrievers.embeddings import SentenceEmbeddingFunction, SentenceEmbeddings
from biomed_agent.settings import Settings, get_settings

if TYPE_CHECKING:
    import numpy as np
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

KNOWN_SOURCES: tuple[str, ...] = ("pubchem", "uniprot", "pubmed", "file")
"""Values of the ``source`` metadata written by biomed-agent's ingesters."""

_SCALAR = (str, int, float, bool)
_RESERVED = ("record_key", "chunk", "chunks", "content_hash")


def chunk_id(source: str, record_id: str, chunk: int) -> str:
    """The deterministic id of one chunk: ``source:record_id:chunk``."""
    return f"{source}:{record_id}:{chunk}"


@dataclass
class IngestCounts:
    """What one :meth:`KnowledgeStore.add_documents` call did."""

    records: int = 0
    """Distinct records (source, record_id) given."""
    stored: int = 0
    """Records written because they were new or changed."""
    skipped: int = 0
    """Records already stored with the same content (not embedded again)."""
    chunks: int = 0
    """Chunks embedded and written."""

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class SearchHit:
    """One retrieved chunk and its cosine similarity to the query (1 = same direction)."""

    document: Document
    score: float

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready citation form used by tools: text, source, ids, url/page, score."""
        meta = self.document.metadata
        hit: dict[str, Any] = {
            "text": self.document.page_content,
            "source": meta.get("source"),
            "record_id": meta.get("record_id"),
            "title": meta.get("title"),
            "url": meta.get("url"),
            "chunk": meta.get("chunk"),
            "score": round(self.score, 4),
        }
        if "page" in meta:
            hit["page"] = meta["page"]
        return hit


@dataclass
class PreparedRecord:
    """A record ready to write: its chunks, their ids and metadata, and its content hash."""

    source: str
    record_id: str
    texts: list[str] = field(default_factory=list)
    metadatas: list[dict[str, Any]] = field(default_factory=list)
    content_hash: str = ""

    @property
    def key(self) -> str:
        return f"{self.source}:{self.record_id}"

    @property
    def ids(self) -> list[str]:
        return [chunk_id(self.source, self.record_id, i) for i in range(len(self.texts))]


@contextmanager
def _store_errors(action: str, location: str) -> Iterator[None]:
    """Translate Chroma's exceptions (and its HTTP client's) into :class:`StoreError`."""
    try:
        yield
    except BiomedAgentError:
        raise
    except (ChromaError, ValueError, OSError, RuntimeError, httpx.HTTPError) as exc:
        raise StoreError(
            f"could not {action} the knowledge store at {location}: {exc}. Check that "
            "BIOMED_DATA_DIR is writable or that the Chroma server at BIOMED_CHROMA_URL is running",
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


def _clean_metadata(metadata: dict[str, Any], where: str) -> dict[str, Any]:
    """Chroma keeps scalars only: drop ``None``, refuse lists/dicts, drop reserved keys."""
    clean: dict[str, Any] = {}
    for key, value in metadata.items():
        if value is None or key in _RESERVED:
            continue
        if not isinstance(value, _SCALAR):
            raise InvalidInputError(
                f"metadata {key!r} of {where} is a {type(value).__name__}; the knowledge store "
                "keeps str, int, float and bool values only: join lists into a string first",
                input_name="metadata",
            )
        clean[key] = value
    return clean


def _identity(document: Document) -> tuple[str, str]:
    source, record_id = document.metadata.get("source"), document.metadata.get("record_id")
    if not isinstance(source, str) or not source or record_id in (None, ""):
        raise InvalidInputError(
            f"document {shorten(document.page_content)} has no metadata 'source' and "
            "'record_id'; both are needed to give it a stable id (source:record_id:chunk)",
            input_name="metadata",
        )
    return source, str(record_id)


def _batches(
    records: Sequence[PreparedRecord], chunks_per_batch: int
) -> Iterator[list[PreparedRecord]]:
    """Consecutive groups of whole records holding about ``chunks_per_batch`` chunks."""
    batch: list[PreparedRecord] = []
    size = 0
    for record in records:
        batch.append(record)
        size += len(record.texts)
        if size >= chunks_per_batch:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


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
        self._splitter = RecursiveCharacterTextSplitter(
            chunk_size=self.settings.chunk_size, chunk_overlap=self.settings.chunk_overlap
        )
        with self._errors("open"):
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

    def _errors(self, action: str) -> AbstractContextManager[None]:
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

        with self._errors("open"):
            return Chroma(
                client=self.client,
                collection_name=self.settings.collection,
                embedding_function=SentenceEmbeddings(self.embedder),
            )

    # --- writing ------------------------------------------------------------

    def prepare(self, documents: Iterable[Document]) -> list[PreparedRecord]:
        """Group documents into records, chunk and hash them, as :meth:`add_documents` would.

        Nothing is written; bad documents raise here, before any write.
        """
        groups: dict[tuple[str, str], list[Document]] = {}
        for document in documents:
            group = groups.setdefault(_identity(document), [])
            if document not in group:
                group.append(document)
        chunking = [self.settings.chunk_size, self.settings.chunk_overlap]
        records = []
        for (source, record_id), group in groups.items():
            record = PreparedRecord(source, record_id)
            where = f"record {record.key!r}"
            hashed: list[Any] = [chunking]
            for document in group:
                metadata = _clean_metadata(document.metadata, where)
                hashed.append([document.page_content, metadata])
                for piece in self._splitter.split_text(document.page_content):
                    record.metadatas.append({**metadata, "chunk": len(record.texts)})
                    record.texts.append(piece)
            if not record.texts:
                raise InvalidInputError(
                    f"{where} has no text to store; drop it or give it content",
                    input_name="page_content",
                )
            payload = json.dumps(hashed, sort_keys=True, ensure_ascii=False)
            record.content_hash = hashlib.sha256(payload.encode()).hexdigest()
            for metadata in record.metadatas:
                metadata.update(
                    record_key=record.key,
                    chunks=len(record.texts),
                    content_hash=record.content_hash,
                )
            records.append(record)
        return records

    def _changed(self, batch: list[PreparedRecord]) -> list[tuple[PreparedRecord, bool]]:
        """Records of ``batch`` to (re)write, each with whether some of its chunks exist."""
        ids = [i for record in batch for i in record.ids]
        with self._errors("read"):
            found = self.collection.get(ids=ids, include=["metadatas"])
        stored_hash = {
            i: (meta or {}).get("content_hash")
            for i, meta in zip(found["ids"], found["metadatas"] or [], strict=True)
        }
        changed = []
        for record in batch:
            hashes = [stored_hash.get(i) for i in record.ids]
            if any(h != record.content_hash for h in hashes):
                changed.append((record, any(h is not None for h in hashes)))
        return changed

    def _write(self, changed: list[tuple[PreparedRecord, bool]]) -> None:
        """Drop chunks past each changed record's new length, then upsert its chunks."""
        texts = [t for record, _ in changed for t in record.texts]
        vectors = self.embedder.encode(texts)
        ids = [i for record, _ in changed for i in record.ids]
        metadatas = [m for record, _ in changed for m in record.metadatas]
        with self._errors("write to"):
            for record, existed in changed:
                if existed:
                    stale: Any = {
                        "$and": [{"record_key": record.key}, {"chunk": {"$gte": len(record.texts)}}]
                    }
                    self.collection.delete(where=stale)
            step = self.client.get_max_batch_size()
            for start in range(0, len(ids), step):
                end = start + step
                self.collection.upsert(
                    ids=ids[start:end],
                    embeddings=vectors[start:end],
                    documents=texts[start:end],
                    metadatas=metadatas[start:end],  # type: ignore[arg-type]
                )

    def add_documents(
        self, documents: Iterable[Document], *, progress: bool = False
    ) -> IngestCounts:
        """Store documents (grouped into records by source and record_id); skip unchanged ones.

        Documents sharing ``source`` and ``record_id`` (the pages of one file) form one
        record whose chunks are numbered in order. Metadata values must be scalars.
        """
        records = self.prepare(documents)
        counts = IngestCounts(records=len(records))
        with tqdm(
            total=len(records), unit="record", desc="storing", file=sys.stderr, disable=not progress
        ) as bar:
            for batch in _batches(records, self.settings.store_batch_size):
                changed = self._changed(batch)
                if changed:
                    self._write(changed)
                counts.stored += len(changed)
                counts.skipped += len(batch) - len(changed)
                counts.chunks += sum(len(record.texts) for record, _ in changed)
                bar.update(len(batch))
        return counts

    # --- reading ------------------------------------------------------------

    def count(self) -> int:
        """Number of chunks in the collection."""
        with self._errors("read"):
            return self.collection.count()

    def has(self, source: str, record_id: str) -> bool:
        """Whether the record's first chunk is stored."""
        with self._errors("read"):
            found = self.collection.get(ids=[chunk_id(source, str(record_id), 0)], include=[])
        return bool(found["ids"])

    def get(self, source: str, record_id: str) -> list[Document]:
        """The record's chunks in order (empty when it is not stored)."""
        with self._errors("read"):
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
        _check_search(query, k, sources, fetch_k, lambda_mult)
        vector = self.embedder.encode([query])[0]
        where: Any = None
        if sources:
            where = {"source": {"$in": list(sources)}}
        include: Any = ["documents", "metadatas", "distances"] + (["embeddings"] if mmr else [])
        with self._errors("search"):
            found = self.collection.query(
                query_embeddings=[vector],
                n_results=max(k, fetch_k) if mmr else k,
                where=where,
                include=include,
            )
        hits = [
            SearchHit(
                Document(id=i, page_content=text or "", metadata=dict(meta or {})), 1.0 - dist
            )
            for i, text, meta, dist in zip(
                found["ids"][0],
                (found["documents"] or [[]])[0],
                (found["metadatas"] or [[]])[0],
                (found["distances"] or [[]])[0],
                strict=True,
            )
        ]
        if mmr and hits:
            hits = [
                hits[i]
                for i in _mmr_order(vector, (found["embeddings"] or [[]])[0], k, lambda_mult)
            ]
        return hits[:k]


def _mmr_order(query: np.ndarray, vectors: Any, k: int, lambda_mult: float) -> list[int]:
    from langchain_chroma.vectorstores import maximal_marginal_relevance

    return maximal_marginal_relevance(query, list(vectors), lambda_mult=lambda_mult, k=k)


def _check_search(
    query: str, k: int, sources: Sequence[str] | None, fetch_k: int, lambda_mult: float
) -> None:
    if not isinstance(query, str) or not query.strip():
        raise InvalidQueryError(
            f"search query {shorten(query)} is empty; ask for something, e.g. 'aspirin mechanism'",
            input_name="query",
        )
    if k < 1:
        raise InvalidQueryError(f"k={k} must be at least 1", input_name="k")
    if fetch_k < 1:
        raise InvalidQueryError(f"fetch_k={fetch_k} must be at least 1", input_name="fetch_k")
    if not 0.0 <= lambda_mult <= 1.0:
        raise InvalidQueryError(
            f"lambda_mult={lambda_mult} must lie in [0, 1] "
            "(1 = relevance only, 0 = diversity only)",
            input_name="lambda_mult",
        )
    if sources is not None and (
        isinstance(sources, str) or not all(isinstance(s, str) and s for s in sources)
    ):
        raise InvalidQueryError(
            f"sources={shorten(sources)} must be a list of source names such as "
            f"{list(KNOWN_SOURCES)}",
            input_name="sources",
        )
