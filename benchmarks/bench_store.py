"""Knowledge store: ingest throughput and query latency against raw Chroma, same embedder.

All arms run in one process, on fresh stores under one temporary directory (removed
at the end), with the default packaged MiniLM on CPU; every arm gets a warm-up; the
arms' order rotates across ``--repeats`` rounds. Reported: median wall seconds and
CPU-seconds (``process_time``, all threads) with the load average around the runs.

Ingest arms (the same ``--docs`` documents, chunked by the store's own splitter):

* ``embedder alone`` — ``SentenceEmbeddingFunction.encode`` on exactly the chunks the
  store writes (the bound: nothing but the embedding);
* ``raw chroma`` — the baseline a user would write: ``collection.add(ids, documents,
  metadatas)`` into a ``PersistentClient`` collection created with the same embedding
  function, in ``get_max_batch_size()`` slices (Chroma embeds each slice);
* ``store`` — ``KnowledgeStore.add_documents`` (chunking, hashing, skip check, one
  length-sorted embedding pass per window, upserts).

Query arms, at each of ``--sizes`` chunks (the ingested chunks padded with random unit
vectors, the hard case for HNSW), k=5, ``--queries`` distinct questions, p50/p95:

* ``raw chroma`` — ``collection.query(query_texts=[q], n_results=5)`` with the same
  embedding function (sentence-transformers on the embedder's torch threads);
* ``store, cold`` — ``KnowledgeStore.search`` with its query cache cleared first (the
  question is encoded by the ONNX query encoder, one thread);
* ``store, repeated`` — the same question asked again (the LRU's case);
* ``query embedding alone`` — the ONNX query encoder, and sentence-transformers'
  ``encode`` of the same text (torch at the embedder's thread count).

The query stores are built from ``--query-docs`` documents; ``--docs`` sizes the ingest
(1,000 documents are ~2,700 chunks).

Documents are real PubMed abstracts (the 42 PubMedQA PQA-L items of
``tests/fixtures/benchmarks/pubmedqa/ori_pqal.json``), cycled with distinct ids and a
numbered first line; queries are their questions and the abstracts' first sentences.

    python benchmarks/bench_store.py                               # quick
    python benchmarks/bench_store.py --skip ingest --sizes 10000 100000
    python benchmarks/bench_store.py --skip query --docs 1000 --repeats 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings
from langchain_core.documents import Document

from biomed_agent.retrievers.embeddings import SentenceEmbeddingFunction, available_cores
from biomed_agent.retrievers.store import KnowledgeStore
from biomed_agent.settings import Settings

PUBMEDQA = Path(__file__).resolve().parents[1] / "tests/fixtures/benchmarks/pubmedqa/ori_pqal.json"


def pubmed_documents(n: int, offset: int = 0) -> tuple[list[Document], list[str]]:
    """``n`` documents cycled from the real PubMedQA abstracts, and distinct queries."""
    items = json.loads(PUBMEDQA.read_text())
    abstracts = [
        (pmid, item["QUESTION"], " ".join(item["CONTEXTS"]) + " " + item["LONG_ANSWER"])
        for pmid, item in items.items()
    ]
    documents = []
    for i in range(offset, offset + n):
        pmid, question, abstract = abstracts[i % len(abstracts)]
        documents.append(
            Document(
                page_content=f"Record {i}. {question}\n{abstract}",
                metadata={
                    "source": "pubmed",
                    "record_id": f"{pmid}-{i}",
                    "title": question,
                    "url": f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/",
                },
            )
        )
    queries = [q for _, q, _ in abstracts] + [a.split(". ")[0][:200] for _, _, a in abstracts]
    return documents, queries


def clocked(action: Callable[[], Any]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - wall, time.process_time() - cpu


def percentiles(samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=100)
    return f"{cuts[49] * 1e3:.1f} / {cuts[94] * 1e3:.1f} ms"


def raw_collection(path: Path, embedder: SentenceEmbeddingFunction) -> Any:
    client = chromadb.PersistentClient(
        path=str(path), settings=ChromaSettings(anonymized_telemetry=False)
    )
    collection = client.create_collection(
        "raw",
        embedding_function=embedder,  # type: ignore[arg-type]
        configuration={"hnsw": {"space": "cosine"}},
    )
    return client, collection


def make_embedder(workdir: Path) -> SentenceEmbeddingFunction:
    """The store's embedder as ``from_settings`` builds it (ONNX query graph under workdir)."""
    return SentenceEmbeddingFunction.from_settings(Settings(data_dir=workdir / "models-home"))


def ingest_arms(docs: int, repeats: int, workdir: Path) -> None:
    embedder = make_embedder(workdir)
    documents, _ = pubmed_documents(docs)
    warm_docs, _ = pubmed_documents(4, offset=docs)
    counter = iter(range(10**6))

    def fresh_store() -> KnowledgeStore:
        return KnowledgeStore(
            Settings(data_dir=workdir / f"store-{next(counter)}"), embedder=embedder
        )

    records = fresh_store().prepare(documents)
    texts = [t for r in records for t in r.texts]
    ids = [i for r in records for i in r.ids]
    metadatas = [m for r in records for m in r.metadatas]
    warm_texts = [t for r in fresh_store().prepare(warm_docs) for t in r.texts]

    def raw_add(chunks: list[str], chunk_ids: list[str], metas: list[dict[str, Any]]) -> None:
        client, collection = raw_collection(workdir / f"raw-{next(counter)}", embedder)
        step = client.get_max_batch_size()
        for start in range(0, len(chunk_ids), step):
            end = start + step
            collection.add(
                ids=chunk_ids[start:end], documents=chunks[start:end], metadatas=metas[start:end]
            )

    arms: dict[str, Callable[[], Any]] = {
        "embedder alone (bound)": lambda: embedder.encode(texts),
        "raw chroma add, same embedder (baseline)": lambda: raw_add(texts, ids, metadatas),
        "store add_documents": lambda: fresh_store().add_documents(documents),
    }
    embedder.encode(warm_texts)
    raw_add(warm_texts, [f"w{i}" for i in range(len(warm_texts))], [{"w": 1}] * len(warm_texts))
    fresh_store().add_documents(warm_docs)
    print(f"ingest: {docs} documents, {len(texts)} chunks, {available_cores()} cores available, "
          f"{embedder.threads} torch threads")  # fmt: skip
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in arms}
    loads = [os.getloadavg()[0]]
    names = list(arms)
    for repeat in range(repeats):
        for name in names[repeat % 3 :] + names[: repeat % 3]:
            times[name].append(clocked(arms[name]))
            loads.append(os.getloadavg()[0])
            print(f"  repeat {repeat + 1} {name}: {times[name][-1][0]:.2f} s wall "
                  f"{times[name][-1][1]:.2f} CPU-s", flush=True)  # fmt: skip
    bound = [statistics.median(t[i] for t in times[names[0]]) for i in (0, 1)]
    print(f"load average (1 min): {min(loads):.1f}-{max(loads):.1f}")
    print("| arm | wall s | CPU-s | chunks/s (wall) | vs embedder alone (wall / CPU) |")
    print("|---|---|---|---|---|")
    for name in names:
        wall, cpu = (statistics.median(t[i] for t in times[name]) for i in (0, 1))
        print(f"| {name} | {wall:.2f} | {cpu:.2f} | {len(texts) / wall:.1f} | "
              f"{bound[0] / wall:.2f} / {bound[1] / cpu:.2f} |")  # fmt: skip


def pad_with_random(collection: Any, target: int, dim: int, rng: np.random.Generator) -> None:
    """Add random unit vectors (with short documents) until the collection holds ``target``."""
    while (have := collection.count()) < target:
        size = min(5000, target - have)
        vectors = rng.standard_normal((size, dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        collection.add(
            ids=[f"random:{have + j}:0" for j in range(size)],
            embeddings=vectors,
            documents=[f"padding {have + j}" for j in range(size)],
            metadatas=[
                {"source": "random", "record_key": f"random:{have + j}"} for j in range(size)
            ],
        )


def query_arms(docs: int, sizes: list[int], queries: int, repeats: int, workdir: Path) -> None:
    embedder = make_embedder(workdir)
    documents, questions = pubmed_documents(docs)
    store = KnowledgeStore(Settings(data_dir=workdir / "query-store"), embedder=embedder)
    store.add_documents(documents)
    _, raw = raw_collection(workdir / "query-raw", embedder)
    everything = store.collection.get(include=["embeddings", "documents", "metadatas"])
    raw.add(
        ids=everything["ids"],
        embeddings=everything["embeddings"],
        documents=everything["documents"],
        metadatas=everything["metadatas"],
    )
    cold_store = KnowledgeStore(  # the same collection, its own (empty) query cache
        Settings(data_dir=workdir / "query-store"), embedder=make_embedder(workdir)
    )
    onnx = cold_store.embedder.query_encoder()
    if onnx is None:
        print("no ONNX query encoder (onnx/onnxruntime missing?): queries use torch")
    rng = np.random.default_rng(0)
    for size in sorted(sizes):
        pad_with_random(store.collection, size, embedder.dimension, rng)
        pad_with_random(raw, size, embedder.dimension, np.random.default_rng(size))

        def cold(q: str) -> None:
            cold_store.embedder.clear_query_cache()
            cold_store.search(q, k=5)

        def torch_alone(text: str) -> None:
            embedder._encoder().encode([text], normalize_embeddings=True)

        arms: dict[str, Callable[[str], Any]] = {
            "raw chroma query(query_texts), same embedder (baseline)": lambda q: raw.query(
                query_texts=[q], n_results=5
            ),
            "store search, cold (no cached vector)": cold,
            "store search, repeated question (LRU)": lambda q: store.search(q, k=5),
            f"query embedding alone, sentence-transformers ({embedder.threads} torch threads)": (
                torch_alone
            ),
        }
        if onnx is not None:
            arms["query embedding alone, ONNX (1 thread)"] = lambda q: onnx.encode([q])
        for arm in arms.values():
            for q in questions[:3]:
                arm(q)
        for question in questions:  # what the repeated arm asks was asked before
            store.search(question, k=5)
        samples: dict[str, list[float]] = {name: [] for name in arms}
        loads = [os.getloadavg()[0]]
        names = list(arms)
        cpu = {name: 0.0 for name in arms}
        for repeat in range(repeats):
            for i in range(queries):
                q = questions[i % len(questions)]
                for name in names[(i + repeat) % len(names) :] + names[: (i + repeat) % len(names)]:
                    wall, cpu_s = clocked(partial(arms[name], q))
                    samples[name].append(wall)
                    cpu[name] += cpu_s
            loads.append(os.getloadavg()[0])
        print(f"query latency at {store.count()} chunks, k=5, {queries} queries x {repeats} "
              f"rounds per arm, load average {min(loads):.1f}-{max(loads):.1f}")  # fmt: skip
        print("| arm | p50 / p95 wall | mean CPU-s per query |")
        print("|---|---|---|")
        for name in names:
            print(f"| {name} | {percentiles(samples[name])} | "
                  f"{cpu[name] / len(samples[name]) * 1e3:.1f} ms |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=40, help="documents to ingest")
    parser.add_argument(
        "--query-docs", type=int, default=40, help="real documents in the query stores"
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000])
    parser.add_argument("--queries", type=int, default=42, help="distinct queries per round")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip", choices=["ingest", "query"], help="leave one part out")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-store-") as directory:
        if args.skip != "ingest":
            ingest_arms(args.docs, args.repeats, Path(directory))
        if args.skip != "query":
            query_arms(args.query_docs, args.sizes, args.queries, args.repeats, Path(directory))


if __name__ == "__main__":
    main()
