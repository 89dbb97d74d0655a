"""A LangChain retriever over the knowledge store, with source filters and MMR."""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from biomed_agent.retrievers.store import KnowledgeStore
from biomed_agent.settings import Settings

__all__ = ["BioMedRetriever"]


class BioMedRetriever(BaseRetriever):
    """Retrieve chunks of PubChem, UniProt, PubMed and local-file records for RAG.

    Each returned document keeps its citation metadata (``source``, ``record_id``,
    ``title``, ``url``, ``page`` for files) and gains ``score``, the cosine
    similarity to the query. ``invoke(query, k=N)`` overrides ``k`` for one call.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: KnowledgeStore = Field(default_factory=KnowledgeStore)
    """The store to search (default: the one ``get_settings()`` describes)."""

    k: int = Field(default=4, ge=1)
    """Number of documents to return."""

    sources: list[str] | None = None
    """Only chunks from these sources (``pubchem``, ``uniprot``, ``pubmed``, ``file``)."""

    search_type: Literal["similarity", "mmr"] = "similarity"
    """``similarity`` ranks by cosine similarity; ``mmr`` also favours diverse chunks."""

    fetch_k: int = Field(default=20, ge=1)
    """For ``mmr``: how many nearest chunks to re-rank."""

    lambda_mult: float = Field(default=0.5, ge=0.0, le=1.0)
    """For ``mmr``: 1 keeps pure relevance order, 0 maximises diversity."""

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **kwargs: Any) -> BioMedRetriever:
        """A retriever over the store described by ``settings``; other fields as keywords."""
        return cls(store=KnowledgeStore(settings), **kwargs)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        hits = self.store.search(
            query,
            kwargs.get("k", self.k),
            sources=kwargs.get("sources", self.sources),
            mmr=kwargs.get("search_type", self.search_type) == "mmr",
            fetch_k=kwargs.get("fetch_k", self.fetch_k),
            lambda_mult=kwargs.get("lambda_mult", self.lambda_mult),
        )
        return [
            Document(
                id=hit.document.id,
                page_content=hit.document.page_content,
                metadata={**hit.document.metadata, "score": hit.score},
            )
            for hit in hits
        ]
