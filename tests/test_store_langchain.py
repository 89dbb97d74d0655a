"""KnowledgeStore search against langchain-chroma's own search over the same collection.

Outside reference for the hand-written query path (issue 19): langchain-chroma's
``similarity_search_with_score`` and ``max_marginal_relevance_search``, and
langchain-core's ``maximal_marginal_relevance`` on the same candidates.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from langchain_core.documents import Document
from langchain_core.vectorstores.utils import maximal_marginal_relevance

from biomed_agent.retrievers.store import KnowledgeStore
from biomed_agent.settings import Settings

PUBMEDQA = Path(__file__).resolve().parents[1] / "tests/fixtures/benchmarks/pubmedqa/ori_pqal.json"


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> tuple[KnowledgeStore, list[str]]:
    items = json.loads(PUBMEDQA.read_text())
    documents = [
        Document(
            page_content=" ".join(item["CONTEXTS"])[:500],
            metadata={"source": "pubmed", "record_id": pmid, "title": item["QUESTION"]},
        )
        for pmid, item in items.items()
    ]
    # near-duplicates, so that diversity changes the order
    documents += [
        Document(
            page_content=f"Note {i}. " + documents[i % 5].page_content[:300],
            metadata={"source": "file", "record_id": f"dup-{i}"},
        )
        for i in range(10)
    ]
    store = KnowledgeStore(Settings(data_dir=tmp_path_factory.mktemp("lc-store")))
    store.add_documents(documents)
    questions = [item["QUESTION"] for item in items.values()][:20]
    return store, questions


def test_similarity_search_equals_langchain_chroma(
    filled: tuple[KnowledgeStore, list[str]],
) -> None:
    store, questions = filled
    for question in questions:
        ours = store.search(question, k=5)
        theirs = store.vectorstore.similarity_search_with_score(question, k=5)
        assert [h.document.id for h in ours] == [d.id for d, _ in theirs]
        assert [h.document.page_content for h in ours] == [d.page_content for d, _ in theirs]
        # Chroma gives cosine distances; our score is the similarity 1 - distance
        np.testing.assert_allclose([h.score for h in ours], [1 - s for _, s in theirs], atol=1e-6)


def test_mmr_order_equals_the_library_on_the_same_candidates(
    filled: tuple[KnowledgeStore, list[str]],
) -> None:
    """Our MMR picks = langchain's function on the same candidates, in its pick order;
    langchain-chroma's search returns the same set, re-sorted by similarity."""
    store, questions = filled
    reordered = 0
    for question in questions:
        ours = [str(h.document.id) for h in store.search(question, k=4, mmr=True, fetch_k=12)]
        vector = store.embedder.encode_query(question)
        found = store.collection.query(
            query_embeddings=[vector], n_results=12, include=["embeddings"]
        )
        candidates = found["ids"][0]
        vectors = [list(map(float, v)) for v in (found["embeddings"] or [[]])[0]]
        picks = maximal_marginal_relevance(np.asarray(vector), vectors, 0.5, 4)
        assert ours == [candidates[i] for i in picks], question
        theirs = [
            str(d.id)
            for d in store.vectorstore.max_marginal_relevance_search(
                question, k=4, fetch_k=12, lambda_mult=0.5
            )
        ]
        rank = {id_: i for i, id_ in enumerate(candidates)}
        assert theirs == sorted(ours, key=rank.__getitem__), question
        reordered += theirs != ours
    assert reordered > 0  # the only difference: langchain-chroma drops the MMR pick order
