"""KnowledgeStore: deterministic ids, idempotent upserts, chunking, search, failures."""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import chromadb
import pytest

from biomed_agent.cli import main
from biomed_agent.errors import (
    ConfigurationError,
    InvalidInputError,
    InvalidQueryError,
    StoreError,
)
from biomed_agent.retrievers.store import KnowledgeStore, chunk_id
from biomed_agent.settings import Settings, get_settings
from tests.helpers.knowledge import TOPICS, chroma_server, make_document, topic_documents

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def store() -> KnowledgeStore:
    return KnowledgeStore(Settings())


def stored_chunks(store: KnowledgeStore) -> dict[str, list[dict]]:
    """record_key -> metadata of every stored chunk, read straight from Chroma."""
    everything = store.collection.get(include=["metadatas"])
    records: dict[str, list[dict]] = defaultdict(list)
    for chunk_id_, meta in zip(everything["ids"], everything["metadatas"] or [], strict=True):
        assert meta is not None
        assert chunk_id_ == f"{meta['record_key']}:{meta['chunk']}"
        records[str(meta["record_key"])].append(dict(meta))
    return records


def assert_each_record_once(store: KnowledgeStore, expected_keys: set[str]) -> None:
    """Every record present, each with chunks 0..n-1 exactly once and one content hash."""
    records = stored_chunks(store)
    assert set(records) == expected_keys
    for key, chunks in records.items():
        numbers = sorted(int(c["chunk"]) for c in chunks)
        assert numbers == list(range(int(chunks[0]["chunks"]))), key
        assert len({c["content_hash"] for c in chunks}) == 1, key


def test_add_uses_deterministic_ids_and_keeps_metadata(store: KnowledgeStore) -> None:
    counts = store.add_documents(topic_documents())
    assert counts.to_dict() == {"records": 5, "stored": 5, "skipped": 0, "chunks": 5}
    assert store.count() == 5
    assert store.has("pubchem", "2244") and not store.has("pubchem", "9999")
    [chunk] = store.get("pubchem", "2244")
    assert chunk.id == chunk_id("pubchem", "2244", 0) == "pubchem:2244:0"
    assert chunk.page_content == TOPICS[("pubchem", "2244")]
    assert chunk.metadata["url"] == "https://example.org/pubchem/2244"
    assert chunk.metadata["title"] == "pubchem 2244"
    assert chunk.metadata["chunk"] == 0 and chunk.metadata["chunks"] == 1


def test_reingest_is_idempotent_and_skips_unchanged_records(store: KnowledgeStore) -> None:
    store.add_documents(topic_documents())
    before = store.collection.get(include=["metadatas"])
    again = store.add_documents([*topic_documents(), *topic_documents()])
    assert again.to_dict() == {"records": 5, "stored": 0, "skipped": 5, "chunks": 0}
    after = store.collection.get(include=["metadatas"])
    assert store.count() == 5
    assert sorted(after["ids"]) == sorted(before["ids"])


def test_changed_record_is_rewritten_and_stale_chunks_removed() -> None:
    store = KnowledgeStore(Settings(chunk_size=80, chunk_overlap=10))
    long_text = " ".join(f"Sentence {i} about aspirin pharmacology." for i in range(12))
    store.add_documents([make_document("pubchem", "2244", long_text)])
    assert len(store.get("pubchem", "2244")) > 3
    counts = store.add_documents([make_document("pubchem", "2244", "Aspirin inhibits COX.")])
    assert (counts.stored, counts.skipped, counts.chunks) == (1, 0, 1)
    [only] = store.get("pubchem", "2244")
    assert only.page_content == "Aspirin inhibits COX."
    assert store.count() == 1


def test_long_text_is_chunked_with_overlap_and_metadata() -> None:
    store = KnowledgeStore(Settings(chunk_size=120, chunk_overlap=40))
    text = " ".join(f"word{i:03d}" for i in range(100))  # 799 characters
    store.add_documents([make_document("pubmed", "1", text, year=2020)])
    chunks = store.get("pubmed", "1")
    assert len(chunks) >= 7
    assert all(len(c.page_content) <= 120 for c in chunks)
    assert [c.metadata["chunk"] for c in chunks] == list(range(len(chunks)))
    assert all(c.metadata["year"] == 2020 and c.metadata["chunks"] == len(chunks) for c in chunks)
    # consecutive chunks share text (overlap) and together cover every word in order
    for first, second in itertools.pairwise(chunks):
        assert first.page_content.split()[-1] in second.page_content.split()
    words = [w for c in chunks for w in c.page_content.split()]
    assert list(dict.fromkeys(words)) == text.split()


def test_documents_of_one_record_are_numbered_in_order_with_pages(store: KnowledgeStore) -> None:
    pages = [
        make_document("file", "abc", "Introduction to kinase inhibitors.", page=1),
        make_document("file", "abc", "Methods: an assay of EGFR activity.", page=2),
    ]
    store.add_documents(pages)
    chunks = store.get("file", "abc")
    assert [(c.metadata["chunk"], c.metadata["page"]) for c in chunks] == [(0, 1), (1, 2)]
    # dropping a page shrinks the record and leaves no stale chunk behind
    store.add_documents(pages[:1])
    assert [c.metadata["page"] for c in store.get("file", "abc")] == [1]


def test_similarity_search_ranks_the_matching_record_first(store: KnowledgeStore) -> None:
    store.add_documents(topic_documents())
    hits = store.search("hormone that controls blood sugar", k=3)
    assert hits[0].document.metadata["record_id"] == "P01308"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert 0.3 < hits[0].score <= 1.0
    hit = hits[0].to_dict()
    assert hit["source"] == "uniprot" and hit["url"] == "https://example.org/uniprot/P01308"


def test_search_filters_by_source(store: KnowledgeStore) -> None:
    store.add_documents(topic_documents())
    hits = store.search("hormone that controls blood sugar", k=5, sources=["pubmed"])
    assert {h.document.metadata["source"] for h in hits} == {"pubmed"}
    assert len(hits) == 2
    assert store.search("anything", k=3, sources=["file"]) == []


def test_mmr_prefers_diverse_chunks(store: KnowledgeStore) -> None:
    near_duplicates = [
        make_document("pubmed", str(i), f"Aspirin inhibits cyclooxygenase and platelets ({i}).")
        for i in range(4)
    ]
    store.add_documents([*near_duplicates, *topic_documents()])
    plain = store.search("aspirin cyclooxygenase", k=3)
    diverse = store.search("aspirin cyclooxygenase", k=3, mmr=True, fetch_k=9, lambda_mult=0.1)
    assert len(diverse) == 3
    assert all(h.document.metadata["source"] == "pubmed" for h in plain)
    assert len({h.document.metadata["source"] for h in diverse}) > 1


def test_empty_store_search_returns_nothing(store: KnowledgeStore) -> None:
    assert store.search("insulin", k=4) == []
    assert store.get("uniprot", "P01308") == []


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"query": "  "}, "query"),
        ({"query": "x", "k": 0}, "k"),
        ({"query": "x", "mmr": True, "fetch_k": 0}, "fetch_k"),
        ({"query": "x", "lambda_mult": 1.5}, "lambda_mult"),
        ({"query": "x", "sources": "pubmed"}, "sources"),
    ],
)
def test_bad_search_arguments_raise_named_errors(
    store: KnowledgeStore, kwargs: dict, name: str
) -> None:
    with pytest.raises(InvalidQueryError) as info:
        store.search(**kwargs)
    assert info.value.input_name == name
    assert name in info.value.message


def test_bad_documents_are_refused_before_anything_is_written(store: KnowledgeStore) -> None:
    good = make_document("pubchem", "1", "fine")
    with pytest.raises(InvalidInputError, match="no metadata 'source' and 'record_id'"):
        store.add_documents([good, make_document("pubchem", "", "no id")])
    with pytest.raises(InvalidInputError, match=r"metadata 'authors' .* is a list"):
        store.add_documents([good, make_document("pubmed", "2", "text", authors=["A", "B"])])
    with pytest.raises(InvalidInputError, match="record 'pubmed:3' has no text"):
        store.add_documents([good, make_document("pubmed", "3", "   ")])
    assert store.count() == 0


def test_overlap_not_below_chunk_size_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="BIOMED_CHUNK_OVERLAP=200 must be smaller"):
        KnowledgeStore(Settings(chunk_size=200, chunk_overlap=200))


def test_bad_chroma_url_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="'ftp://x' is not a Chroma server"):
        KnowledgeStore(Settings(chroma_url="ftp://x"))


def test_unreachable_chroma_server_is_a_store_error() -> None:
    from tests.helpers.knowledge import free_port

    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(StoreError) as info:
        KnowledgeStore(Settings(chroma_url=url))
    assert url in info.value.message and "running" in info.value.message


def test_unwritable_data_dir_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the store directory should be")
    with pytest.raises(StoreError, match=r"could not open the knowledge store at .*not-a-dir"):
        KnowledgeStore(Settings(data_dir=blocker))


def test_offline_mode_ingests_and_searches(tmp_path: Path) -> None:
    """BIOMED_OFFLINE=1 with sockets blocked: the embedder and store never need the network."""
    store = KnowledgeStore(Settings(offline=True))
    store.add_documents(topic_documents())
    assert (
        store.search("tumour suppressor and apoptosis", k=1)[0].document.metadata["record_id"]
        == "P04637"
    )


def _cli(*args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "biomed_agent.cli", *args],
        env={**os.environ, **env},
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _write_topic_files(folder: Path, copies: int) -> set[str]:
    folder.mkdir()
    for i in range(copies):
        for (source, rid), text in TOPICS.items():
            (folder / f"{i:03d}-{source}-{rid}.txt").write_text(f"Note {i}. {text}\n" * 2)
    return {p.name for p in folder.iterdir()}


def test_store_persists_across_processes(tmp_path: Path, isolated_settings: Path) -> None:
    folder = tmp_path / "notes"
    _write_topic_files(folder, 1)
    process = _cli("ingest", "files", str(folder), "--json", "--no-progress", env={})
    out, err = process.communicate(timeout=240)
    assert process.returncode == 0, err.decode()
    summary = json.loads(out)
    assert summary["stored"] == 5
    store = KnowledgeStore(Settings())
    assert store.count() == summary["store_chunks"] == 5
    top = store.search("hormone that controls blood sugar", k=1)[0]
    assert top.document.metadata["file_name"] == "000-uniprot-P01308.txt"


def test_killed_ingest_rerun_stores_every_record_exactly_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "notes"
    names = _write_topic_files(folder, 8)  # 40 files, two or more chunks each
    # batch size 1: embedding windows of 32 chunks, so the kill lands between windows
    env = {"BIOMED_STORE_BATCH_SIZE": "1", "BIOMED_CHUNK_SIZE": "200", "BIOMED_CHUNK_OVERLAP": "20"}
    process = _cli("ingest", "files", str(folder), env=env)
    progress = re.compile(rb"(\d+)/40")
    seen = bytearray()

    def watch() -> None:
        assert process.stderr is not None
        while chunk := process.stderr.read1(256):  # type: ignore[attr-defined]
            seen.extend(chunk)
            done = [int(m) for m in progress.findall(bytes(seen))]
            if done and done[-1] >= 8:
                process.send_signal(signal.SIGKILL)
                return

    watcher = threading.Thread(target=watch)
    watcher.start()
    watcher.join(timeout=240)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL, seen.decode(errors="replace")[-2000:]

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    capsys.readouterr()
    assert main(["ingest", "files", str(folder), "--json", "--no-progress"]) == 0
    rerun = json.loads(capsys.readouterr().out)
    assert rerun["skipped"] >= 8 and rerun["stored"] >= 1  # the kill landed part-way
    assert rerun["skipped"] + rerun["stored"] == 40

    store = KnowledgeStore(get_settings())
    records = stored_chunks(store)
    assert {str(c[0]["file_name"]) for c in records.values()} == names
    assert_each_record_once(store, set(records))
    assert store.count() == sum(len(c) for c in records.values())
    assert all(len(chunks) >= 2 for chunks in records.values())

    assert main(["ingest", "files", str(folder), "--json", "--no-progress"]) == 0
    assert json.loads(capsys.readouterr().out)["skipped"] == 40


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with chroma_server(tmp_path_factory.mktemp("chroma-server") / "data") as url:
        yield url


def test_real_chroma_server_through_chroma_url(chroma_url: str) -> None:
    settings = Settings(chroma_url=chroma_url, collection="server-test")
    store = KnowledgeStore(settings)
    assert store.location == chroma_url
    assert store.add_documents(topic_documents()).stored == 5
    again = KnowledgeStore(settings)  # a second client sees the same collection
    assert again.add_documents(topic_documents()).skipped == 5
    assert again.count() == 5
    top = again.search("virus outbreak vaccination", k=2, sources=["pubmed"])[0]
    assert top.document.metadata["record_id"] == "29963580"
    assert_each_record_once(again, {f"{s}:{r}" for s, r in TOPICS})


class CountingEmbedder:
    """Wraps the real embedder; counts each encode call and its texts (optionally slowed)."""

    def __init__(self, real: object, delay: float = 0.0) -> None:
        self.real, self.delay = real, delay
        self.calls: list[int] = []
        self.lock = threading.Lock()

    def __getattr__(self, name: str) -> object:
        return getattr(self.real, name)

    def encode(self, texts: list[str], **kwargs: object) -> object:
        with self.lock:
            self.calls.append(len(texts))
        time.sleep(self.delay)
        return self.real.encode(texts, **kwargs)  # type: ignore[attr-defined]

    def encode_query(self, text: str) -> object:
        return self.real.encode_query(text)  # type: ignore[attr-defined]


def test_an_ingest_embeds_its_chunks_in_one_pass(store: KnowledgeStore) -> None:
    counting = CountingEmbedder(store.embedder)
    store.embedder = counting  # type: ignore[assignment]
    documents = [
        make_document("pubmed", str(i), f"{i}. " + " ".join(TOPICS.values()) * (1 + i % 3))
        for i in range(30)
    ]
    store.settings = store.settings.model_copy(update={"store_batch_size": 8})  # 256 per pass
    counts = store.add_documents(documents)
    assert counts.stored == 30 and counts.chunks > 30
    assert counting.calls == [counts.chunks]  # one length-sorted pass, not one per 8 chunks
    assert_each_record_once(store, {f"pubmed:{i}" for i in range(30)})
    store.settings = store.settings.model_copy(update={"store_batch_size": 1})  # 32 per pass
    documents = [make_document("pubmed", str(i), f"changed {i}") for i in range(70)]
    assert store.add_documents(documents).stored == 70
    assert counting.calls[1:] == [32, 32, 6]


def test_two_identical_concurrent_ingests_embed_once(isolated_settings: Path) -> None:
    first, second = KnowledgeStore(Settings()), KnowledgeStore(Settings())
    counting = CountingEmbedder(first.embedder, delay=0.3)  # both are inside at once
    first.embedder = second.embedder = counting  # type: ignore[assignment]
    results: list[object] = []
    threads = [
        threading.Thread(target=lambda s=s: results.append(s.add_documents(topic_documents())))
        for s in (first, second)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(r.stored for r in results) == [0, 5]  # type: ignore[attr-defined]
    assert sorted(r.skipped for r in results) == [0, 5]  # type: ignore[attr-defined]
    assert sum(counting.calls) == 5  # every chunk embedded once
    assert_each_record_once(first, {f"{s}:{r}" for s, r in TOPICS})


def test_repeated_query_reuses_its_vector(
    store: KnowledgeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.add_documents(topic_documents())
    store.embedder.clear_query_cache()
    calls: list[str] = []
    onnx = store.embedder.query_encoder()
    assert onnx is not None  # a new question is encoded by onnxruntime, not torch
    for encoder in (store.embedder, onnx):
        real_encode = encoder.encode

        def encode(texts: list[str], real: object = real_encode) -> object:
            calls.extend(texts)
            return real(texts)  # type: ignore[operator]

        monkeypatch.setattr(encoder, "encode", encode)
    first = store.search("hormone that lowers blood sugar", k=2)
    again = store.search("hormone that lowers blood sugar", k=2)
    store.search("virus outbreak", k=1)
    assert calls == ["hormone that lowers blood sugar", "virus outbreak"]
    assert [h.document.id for h in first] == [h.document.id for h in again]
    assert first[0].document.metadata["record_id"] == "P01308"


class _Boom(Exception):
    """An exception type no guard lists by name."""


_CHROMA = lambda: __import__("chromadb.errors").errors.InternalError("index corrupted")  # noqa: E731
_SQLITE = lambda: __import__("sqlite3").OperationalError("database is locked")  # noqa: E731


@pytest.mark.parametrize(
    ("method", "call", "error"),
    [
        ("get", lambda s: s.add_documents(topic_documents()), _CHROMA),
        ("upsert", lambda s: s.add_documents(topic_documents()), _SQLITE),
        ("count", lambda s: s.count(), lambda: KeyError("'_type'")),
        ("get", lambda s: s.has("pubchem", "2244"), lambda: _Boom("something else")),
        ("get", lambda s: s.get("pubchem", "2244"), _SQLITE),
        ("query", lambda s: s.search("aspirin", k=2), _CHROMA),
        ("query", lambda s: s.search("aspirin", k=2, mmr=True), lambda: _Boom("other")),
    ],
    ids=["ingest-check", "ingest-write", "count", "has", "get", "search", "search-mmr"],
)
def test_every_chroma_failure_is_a_store_error(
    store: KnowledgeStore, monkeypatch: pytest.MonkeyPatch, method: str, call: object, error: object
) -> None:
    """Fault injection at every Chroma call: one typed error naming the store, never raw."""

    def fail(*args: object, **kwargs: object) -> None:
        raise error()  # type: ignore[operator]

    monkeypatch.setattr(store.collection, method, fail)
    with pytest.raises(StoreError) as info:
        call(store)  # type: ignore[operator]
    assert store.location in info.value.message
    assert info.value.__cause__ is not None


def test_stale_chunk_delete_failure_is_a_store_error(
    store: KnowledgeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.add_documents(topic_documents())
    monkeypatch.setattr(
        store.collection, "delete", lambda **_: (_ for _ in ()).throw(RuntimeError("disk full"))
    )
    changed = [make_document("pubchem", "2244", "aspirin, now with different text")]
    with pytest.raises(StoreError, match=r"could not write to the knowledge store.*disk full"):
        store.add_documents(changed)


def test_opening_failure_is_a_store_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise __import__("sqlite3").DatabaseError("file is not a database")

    monkeypatch.setattr(chromadb.api.client.Client, "get_or_create_collection", fail)
    with pytest.raises(StoreError, match=r"could not open .* file is not a database"):
        KnowledgeStore(Settings())
