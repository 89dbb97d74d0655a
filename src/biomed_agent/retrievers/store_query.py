"""Reading the knowledge store: similarity and MMR search, argument checks, hits.

The query vector comes from :meth:`SentenceEmbeddingFunction.encode_query` (the ONNX
query encoder, and an LRU of recent query vectors: the agent asks the same grounding
questions again, so a repeated query costs only Chroma's own search).

Why one ``collection.query`` here rather than langchain-chroma's ``Chroma`` search
(``KnowledgeStore.vectorstore`` stays available for LangChain code): its
``similarity_search`` returns no scores (tools cite them), its calls bypass
:meth:`KnowledgeStore.errors` (chromadb's ``AttributeError``/``KeyError`` would escape
untranslated), and its ``max_marginal_relevance_search`` returns the MMR picks
re-sorted by similarity (``[r for i, r in enumerate(candidates) if i in picks]``),
losing the pick order MMR ranks by. The ranking itself is the library's:
langchain-core's ``maximal_marginal_relevance`` (langchain-chroma calls an identical
copy) on the same ``fetch_k`` candidates. ``tests/test_store_langchain.py`` checks
against both: similarity results equal ``similarity_search_with_score`` (ids, texts,
score = 1 - distance); MMR equals the library function's pick order, and
langchain-chroma's MMR result is the same set, differing only in order (in 13 of the
test's 20 questions).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_core.documents import Document

from biomed_agent.errors import InvalidQueryError, shorten

if TYPE_CHECKING:
    import numpy as np

    from biomed_agent.retrievers.store import KnowledgeStore

__all__ = ["KNOWN_SOURCES", "SearchHit", "check_search", "search"]

KNOWN_SOURCES: tuple[str, ...] = ("pubchem", "uniprot", "pubmed", "file")
"""Values of the ``source`` metadata written by biomed-agent's ingesters."""


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


def search(
    store: KnowledgeStore,
    query: str,
    k: int,
    *,
    sources: Sequence[str] | None,
    mmr: bool,
    fetch_k: int,
    lambda_mult: float,
) -> list[SearchHit]:
    """See :meth:`KnowledgeStore.search`."""
    check_search(query, k, sources, fetch_k, lambda_mult)
    vector = store.embedder.encode_query(query)
    where: Any = {"source": {"$in": list(sources)}} if sources else None
    include: Any = ["documents", "metadatas", "distances"] + (["embeddings"] if mmr else [])
    with store.errors("search"):
        found = store.collection.query(
            query_embeddings=[vector],
            n_results=max(k, fetch_k) if mmr else k,
            where=where,
            include=include,
        )
    hits = [
        SearchHit(Document(id=i, page_content=text or "", metadata=dict(meta or {})), 1.0 - dist)
        for i, text, meta, dist in zip(
            found["ids"][0],
            (found["documents"] or [[]])[0],
            (found["metadatas"] or [[]])[0],
            (found["distances"] or [[]])[0],
            strict=True,
        )
    ]
    if mmr and hits:
        order = _mmr_order(vector, (found["embeddings"] or [[]])[0], k, lambda_mult)
        hits = [hits[i] for i in order]
    return hits[:k]


def _mmr_order(query: np.ndarray, vectors: Any, k: int, lambda_mult: float) -> list[int]:
    from langchain_core.vectorstores.utils import maximal_marginal_relevance

    return maximal_marginal_relevance(query, list(vectors), lambda_mult=lambda_mult, k=k)


def check_search(
    query: str, k: int, sources: Sequence[str] | None, fetch_k: int, lambda_mult: float
) -> None:
    """Refuse search arguments that cannot work, with a named error."""
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
