"""BioMedRetriever: the langchain-tests standard suite plus filters, MMR and scores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_tests.integration_tests import RetrieversIntegrationTests

from biomed_agent.errors import InvalidQueryError
from biomed_agent.retrievers.retriever import BioMedRetriever
from biomed_agent.retrievers.store import KnowledgeStore
from biomed_agent.settings import Settings
from tests.helpers.knowledge import make_document, topic_documents


@pytest.fixture(scope="module")
def filled_store(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeStore:
    store = KnowledgeStore(Settings(data_dir=tmp_path_factory.mktemp("retriever-store")))
    store.add_documents(topic_documents())
    return store


class TestBioMedRetrieverStandard(RetrieversIntegrationTests):
    store: KnowledgeStore

    @pytest.fixture(autouse=True)
    def _use_store(self, filled_store: KnowledgeStore) -> None:
        type(self).store = filled_store

    @property
    def retriever_constructor(self) -> type[BioMedRetriever]:
        return BioMedRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"store": self.store, "k": 2}

    @property
    def retriever_query_example(self) -> str:
        return "What does aspirin inhibit?"


def test_documents_carry_citation_metadata_and_score(filled_store: KnowledgeStore) -> None:
    [top] = BioMedRetriever(store=filled_store, k=1).invoke("tumour suppressor p53")
    assert top.id == "uniprot:P04637:0"
    assert top.metadata["url"] == "https://example.org/uniprot/P04637"
    assert 0.3 < top.metadata["score"] <= 1.0


def test_source_filter_and_per_call_overrides(filled_store: KnowledgeStore) -> None:
    retriever = BioMedRetriever(store=filled_store, k=4, sources=["pubmed"])
    documents = retriever.invoke("aspirin")
    assert len(documents) == 2 and {d.metadata["source"] for d in documents} == {"pubmed"}
    one = retriever.invoke("aspirin", k=1, sources=["pubchem"])
    assert [d.metadata["record_id"] for d in one] == ["2244"]


async def test_mmr_search_type(tmp_path: Path) -> None:
    store = KnowledgeStore(Settings(data_dir=tmp_path / "mmr"))
    copies = [
        make_document("pubmed", str(i), f"Aspirin blocks cyclooxygenase in platelets ({i}).")
        for i in range(4)
    ]
    store.add_documents([*copies, *topic_documents()])
    similar = await BioMedRetriever(store=store, k=3).ainvoke("aspirin cyclooxygenase")
    mmr = BioMedRetriever(store=store, k=3, search_type="mmr", fetch_k=9, lambda_mult=0.1)
    diverse = await mmr.ainvoke("aspirin cyclooxygenase")
    assert {d.metadata["source"] for d in similar} == {"pubmed"}
    assert len({d.metadata["source"] for d in diverse}) > 1


def test_from_settings_opens_the_configured_store(isolated_settings: Path) -> None:
    KnowledgeStore(Settings()).add_documents(topic_documents()[:2])
    retriever = BioMedRetriever.from_settings(Settings(), k=5)
    assert retriever.store.location == str(isolated_settings / "chroma")
    assert len(retriever.invoke("insulin")) == 2


def test_bad_arguments(filled_store: KnowledgeStore) -> None:
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        BioMedRetriever(store=filled_store, k=0)
    with pytest.raises(InvalidQueryError, match="empty"):
        BioMedRetriever(store=filled_store).invoke("")
