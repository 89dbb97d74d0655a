"""Benchmark the knowledge store: ingest throughput and query latency.

Measured in one run, in one process, on fresh stores under a temporary directory:

1. **embedder alone** (the bound): ``SentenceEmbeddingFunction.encode`` on exactly the
   chunks the store will write (the default packaged MiniLM, batch 64);
2. **store ingest**: ``KnowledgeStore.add_documents`` of ``--docs`` documents (chunking,
   hashing, the skip check, embedding, upsert in ``store_batch_size`` batches);
3. **store vs raw chromadb with the same precomputed embeddings**: ``add_documents`` into a
   fresh store whose embedder looks the step-1 vectors up, against ``collection.add`` of the
   same chunks, ids, metadata and vectors (max batch size) into a fresh ``PersistentClient``:
   what the store itself costs (chunking, hashing, the skip check, batching);
4. **re-ingest**: the same documents again (every record unchanged, so skipped);
5. **query latency** (p50/p95 of ``--queries`` queries) of ``KnowledgeStore.search``
   (embeds the query, k=5) and of raw ``collection.query`` with precomputed query
   vectors, at ``--sizes`` chunks. The store holds the chunks of step 2 padded with
   random unit 384-d vectors up to each size, so 100,000 chunks need no 100,000
   embeddings (random vectors are the hard case for HNSW: no cluster structure).

Documents are real PubMed abstracts: the PubMedQA PQA-L items in
``tests/fixtures/benchmarks/pubmedqa/ori_pqal.json`` (question, abstract sections,
conclusion; ~1,300 characters, two chunks at the default 1,200/150 chunking), cycled
with distinct ids (``PMID-i``) and a numbered first line to reach ``--docs``.
Queries are the PubMedQA questions.

Run: ``.venv/bin/python benchmarks/bench_store.py`` (100 documents; latency at 10,000
and 100,000 chunks) or ``--docs 10000`` for the full-size ingest. MiniLM embeds about
5 chunks of 256 tokens per CPU-second, so 10,000 documents (~20,000 chunks) take over an
hour of CPU on a 2-core machine: run the full size where a GPU or many cores are free.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings
from langchain_core.documents import Document

from biomed_agent.retrievers.embeddings import SentenceEmbeddingFunction
from biomed_agent.retrievers.store import KnowledgeStore
from biomed_agent.settings import Settings

PUBMEDQA = Path(__file__).resolve().parents[1] / "tests/fixtures/benchmarks/pubmedqa/ori_pqal.json"


def pubmed_documents(n: int) -> tuple[list[Document], list[str]]:
    """``n`` documents cycled from the real PubMedQA abstracts, and the questions."""
    items = json.loads(PUBMEDQA.read_text())
    abstracts = [
        (pmid, item["QUESTION"], " ".join(item["CONTEXTS"]) + " " + item["LONG_ANSWER"])
        for pmid, item in items.items()
    ]
    documents = []
    for i in range(n):
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
    return documents, [question for _, question, _ in abstracts]


def timed(action: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def percentiles(samples: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples, n=100)
    return {"p50_ms": round(cuts[49] * 1e3, 2), "p95_ms": round(cuts[94] * 1e3, 2)}


def pad_with_random(collection: Any, target: int, dim: int, rng: np.random.Generator) -> None:
    """Add random unit vectors (with short documents) until the collection holds ``target``."""
    step = 5000
    while (have := collection.count()) < target:
        size = min(step, target - have)
        vectors = rng.standard_normal((size, dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        ids = [f"random:{have + j}:0" for j in range(size)]
        collection.add(
            ids=ids,
            embeddings=vectors,
            documents=[f"padding {have + j}" for j in range(size)],
            metadatas=[
                {"source": "random", "record_key": f"random:{have + j}"} for j in range(size)
            ],
        )


class PrecomputedEmbedder(SentenceEmbeddingFunction):
    """The default embedder's vectors, looked up instead of computed (same model config)."""

    def __init__(self, texts: list[str], vectors: np.ndarray) -> None:
        super().__init__()
        self.table = dict(zip(texts, vectors, strict=True))

    def encode(self, texts: list[str]) -> np.ndarray:
        return np.stack([self.table[text] for text in texts])


def query_latency(
    store: KnowledgeStore, questions: list[str], vectors: np.ndarray, count: int
) -> dict[str, Any]:
    """p50/p95 of the whole store search, of embedding the query, and of the raw query."""
    ours, embed, raw = [], [], []
    for i in range(count):
        question, vector = questions[i % len(questions)], vectors[i % len(vectors)]
        ours.append(timed(lambda q=question: store.search(q, k=5))[0])
        embed.append(timed(lambda q=question: store.embedder.encode([q]))[0])
        raw.append(
            timed(lambda v=vector: store.collection.query(query_embeddings=[v], n_results=5))[0]
        )
    return {
        "store_search": percentiles(ours),
        "query_embedding_alone": percentiles(embed),
        "raw_chromadb_query": percentiles(raw),
    }


def rate(docs: int, seconds: float) -> dict[str, float]:
    return {"seconds": round(seconds, 2), "docs_per_s": round(docs / seconds, 1)}


def run(docs: int, sizes: list[int], queries: int, workdir: Path) -> dict[str, Any]:
    documents, questions = pubmed_documents(docs)
    embedder = SentenceEmbeddingFunction()
    embedder.encode(["warm-up"])  # model load is not part of any timing
    store = KnowledgeStore(Settings(data_dir=workdir / "store"), embedder=embedder)
    records = store.prepare(documents)  # the exact chunks the store will write
    texts = [t for record in records for t in record.texts]
    ids = [i for record in records for i in record.ids]
    metadatas = [m for record in records for m in record.metadatas]

    embed_s, vectors = timed(lambda: embedder.encode(texts))
    ingest_s, counts = timed(lambda: store.add_documents(documents))
    assert counts.stored == docs and store.count() == len(texts)
    reingest_s, again = timed(lambda: store.add_documents(documents))
    assert again.skipped == docs

    precomputed = KnowledgeStore(
        Settings(data_dir=workdir / "precomputed"), embedder=PrecomputedEmbedder(texts, vectors)
    )
    precomputed_s, _ = timed(lambda: precomputed.add_documents(documents))
    client = chromadb.PersistentClient(
        path=str(workdir / "raw"), settings=ChromaSettings(anonymized_telemetry=False)
    )
    raw = client.create_collection(
        "raw", embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
    )
    step = client.get_max_batch_size()

    def raw_add() -> None:
        for start in range(0, len(ids), step):
            end = start + step
            raw.add(
                ids=ids[start:end],
                embeddings=vectors[start:end],
                documents=texts[start:end],
                metadatas=metadatas[start:end],
            )

    raw_add_s, _ = timed(raw_add)

    question_vectors = embedder.encode(questions)
    rng = np.random.default_rng(0)
    latency = {}
    for size in sorted(sizes):
        pad_with_random(store.collection, size, vectors.shape[1], rng)
        latency[str(size)] = query_latency(store, questions, question_vectors, queries)

    return {
        "documents": docs,
        "chunks": len(texts),
        "embedder_only": rate(docs, embed_s),
        "store_ingest": rate(docs, ingest_s),
        "store_ingest_vs_embedder_bound": round(embed_s / ingest_s, 3),
        "store_ingest_precomputed_embeddings": rate(docs, precomputed_s),
        "raw_chromadb_add_precomputed_embeddings": rate(docs, raw_add_s),
        "store_precomputed_vs_raw_add_time": round(precomputed_s / raw_add_s, 2),
        "reingest_unchanged": rate(docs, reingest_s),
        "query_latency_k5": latency,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=100, help="documents to ingest (full: 10000)")
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[10_000, 100_000], help="chunk counts for latency"
    )
    parser.add_argument("--queries", type=int, default=100, help="queries per latency measurement")
    parser.add_argument(
        "--torch-threads", type=int, help="torch intra-op threads (default: torch's choice)"
    )
    args = parser.parse_args()
    if args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)
    with tempfile.TemporaryDirectory(prefix="bench-store-") as workdir:
        result = run(args.docs, args.sizes, args.queries, Path(workdir))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
