"""Writing to the knowledge store: records, chunks, the skip check, one embedding pass.

:func:`prepare` groups documents into records (``source`` + ``record_id``), chunks
and hashes them; nothing is written and bad documents raise before any write.
:func:`ingest` then works through the records in *windows* of about
``store_batch_size x EMBED_WINDOW_BATCHES`` chunks (bounded memory: the texts and
vectors of one window). For each window it

1. takes the ingest claim of every source in the window (:func:`source_claims`), so
   two processes or threads ingesting the same documents never embed them twice:
   the second waits, then finds them stored and skips them;
2. reads which records are missing or changed (their content hash);
3. embeds all chunks of those records in **one** call, which sorts them by length
   across the whole window (sentence-transformers pads each batch to its longest
   text; sorting 64 chunks at a time padded 37-52% more tokens);
4. removes chunks past each changed record's new length and upserts the rest,
   ``store_batch_size`` chunks at a time.

A write killed half-way leaves records whose hash check fails, so the next run
rewrites them: every record is stored exactly once.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.documents import Document
from tqdm.auto import tqdm

from biomed_agent.errors import InvalidInputError, StoreError, shorten

if TYPE_CHECKING:
    from biomed_agent.retrievers.store import KnowledgeStore

__all__ = [
    "EMBED_WINDOW_BATCHES",
    "IngestCounts",
    "PreparedRecord",
    "chunk_id",
    "ingest",
    "prepare",
    "source_claims",
]

EMBED_WINDOW_BATCHES = 32
"""Chunks embedded in one length-sorted pass, in units of ``store_batch_size`` (2,048 by
default: 3 MB of 384-d vectors)."""

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


def prepare(store: KnowledgeStore, documents: Iterable[Document]) -> list[PreparedRecord]:
    """Group documents into records, chunk and hash them (see :meth:`KnowledgeStore.prepare`)."""
    groups: dict[tuple[str, str], list[Document]] = {}
    for document in documents:
        group = groups.setdefault(_identity(document), [])
        if document not in group:
            group.append(document)
    chunking = [store.settings.chunk_size, store.settings.chunk_overlap]
    records = []
    for (source, record_id), group in groups.items():
        record = PreparedRecord(source, record_id)
        where = f"record {record.key!r}"
        hashed: list[Any] = [chunking]
        for document in group:
            metadata = _clean_metadata(document.metadata, where)
            hashed.append([document.page_content, metadata])
            for piece in store.splitter.split_text(document.page_content):
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
                record_key=record.key, chunks=len(record.texts), content_hash=record.content_hash
            )
        records.append(record)
    return records


def _windows(
    records: Sequence[PreparedRecord], chunks_per_window: int
) -> Iterator[list[PreparedRecord]]:
    """Consecutive groups of whole records holding about ``chunks_per_window`` chunks."""
    window: list[PreparedRecord] = []
    size = 0
    for record in records:
        window.append(record)
        size += len(record.texts)
        if size >= chunks_per_window:
            yield window
            window, size = [], 0
    if window:
        yield window


@contextmanager
def source_claims(store: KnowledgeStore, sources: Iterable[str]) -> Iterator[None]:
    """Hold the ingest claim of each source (an exclusive file lock, taken in sorted
    order so two ingests never deadlock). Claims are per collection and machine: they
    live under ``data_dir/locks``, also when the collection is on a Chroma server."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no claim, upserts stay idempotent
        yield
        return
    folder = Path(store.settings.data_dir) / "locks"
    with ExitStack() as stack:
        for source in sorted(set(sources)):
            name = f"{store.location}\0{store.settings.collection}\0{source}"
            path = folder / f"ingest-{hashlib.sha256(name.encode()).hexdigest()[:24]}.lock"
            try:
                folder.mkdir(parents=True, exist_ok=True)
                handle = stack.enter_context(open(path, "a+b"))
            except OSError as exc:
                raise StoreError(
                    f"cannot create the ingest lock {str(path)!r}: {exc}. Check that "
                    "BIOMED_DATA_DIR is writable",
                    input_name="store",
                ) from exc
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            stack.callback(fcntl.flock, handle.fileno(), fcntl.LOCK_UN)
        yield


def _changed(
    store: KnowledgeStore, window: list[PreparedRecord]
) -> list[tuple[PreparedRecord, bool]]:
    """Records of ``window`` to (re)write, each with whether some of its chunks exist."""
    ids = [i for record in window for i in record.ids]
    stored_hash: dict[str, Any] = {}
    with store.errors("read"):
        step = store.client.get_max_batch_size()
        for start in range(0, len(ids), step):
            found = store.collection.get(ids=ids[start : start + step], include=["metadatas"])
            for i, meta in zip(found["ids"], found["metadatas"] or [], strict=True):
                stored_hash[i] = (meta or {}).get("content_hash")
    changed = []
    for record in window:
        hashes = [stored_hash.get(i) for i in record.ids]
        if any(h != record.content_hash for h in hashes):
            changed.append((record, any(h is not None for h in hashes)))
    return changed


def _write(store: KnowledgeStore, changed: list[tuple[PreparedRecord, bool]], bar: Any) -> None:
    """Embed every chunk of ``changed`` in one pass, drop stale chunks, upsert in batches."""
    texts = [t for record, _ in changed for t in record.texts]
    vectors = store.embedder.encode(texts)  # one length-sorted pass
    with store.errors("write to"):
        for record, existed in changed:
            if existed:
                stale: Any = {
                    "$and": [{"record_key": record.key}, {"chunk": {"$gte": len(record.texts)}}]
                }
                store.collection.delete(where=stale)
    step = min(store.settings.store_batch_size, store.client.get_max_batch_size())
    batch: list[PreparedRecord] = []
    first = 0
    for index, (record, _) in enumerate(changed):
        batch.append(record)
        if sum(len(r.texts) for r in batch) < step and index + 1 < len(changed):
            continue
        count = sum(len(r.texts) for r in batch)
        with store.errors("write to"):
            store.collection.upsert(
                ids=[i for r in batch for i in r.ids],
                embeddings=vectors[first : first + count],
                documents=texts[first : first + count],
                metadatas=[m for r in batch for m in r.metadatas],
            )
        bar.update(len(batch))
        first += count
        batch = []


def ingest(
    store: KnowledgeStore, documents: Iterable[Document], *, progress: bool = False
) -> IngestCounts:
    """Store documents, skipping unchanged records (see the module docs for the steps)."""
    records = prepare(store, documents)
    counts = IngestCounts(records=len(records))
    window_chunks = store.settings.store_batch_size * EMBED_WINDOW_BATCHES
    with tqdm(
        total=len(records), unit="record", desc="storing", file=sys.stderr, disable=not progress
    ) as bar:
        for window in _windows(records, window_chunks):
            with source_claims(store, (record.source for record in window)):
                changed = _changed(store, window)
                if changed:
                    _write(store, changed, bar)
            counts.stored += len(changed)
            counts.skipped += len(window) - len(changed)
            counts.chunks += sum(len(record.texts) for record, _ in changed)
            bar.update(len(window) - len(changed))
    return counts
