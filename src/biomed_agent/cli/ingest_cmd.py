"""``biomed-agent ingest files|pubchem|uniprot|pubmed ...``: fill the knowledge store.

Records are fetched (or read from disk), chunked, embedded and upserted with
deterministic ids, so running a command twice stores everything once and the
second run reports the records as skipped. A progress bar goes to stderr, one
summary line (or ``--json``) to stdout. Exit status 1 when some files failed or
some names/accessions had no record (the rest is still stored).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langchain_core.documents import Document

    from biomed_agent.resources import Resources


@dataclass
class Fetched:
    """What the fetch step produced, before anything is stored."""

    documents: list[Document]
    records: int
    requests: int = 0
    cached: int = 0
    missing: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def register(subparsers: Any) -> None:
    ingest = subparsers.add_parser(
        "ingest", help="add PubChem, UniProt, PubMed records or local files to the knowledge store"
    )
    kinds = ingest.add_subparsers(dest="kind", metavar="SOURCE", required=True)

    def add(name: str, help_text: str, fetch: Any) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = kinds.add_parser(name, help=help_text)
        parser.add_argument("--json", action="store_true", help="print the summary as JSON")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
        parser.set_defaults(handler=run_ingest, fetch=fetch, source=name)
        return parser

    add(
        "files", "PDF, text and Markdown files (directories are searched)", _fetch_files
    ).add_argument("paths", nargs="+", metavar="PATH", help=".pdf/.txt/.md files or directories")
    add("pubchem", "compounds by name, CID, SMILES or InChIKey", _fetch_pubchem).add_argument(
        "queries", nargs="+", metavar="NAME_OR_CID", help="names, CIDs, SMILES or InChIKeys"
    )
    add("uniprot", "UniProtKB entries by accession", _fetch_uniprot).add_argument(
        "accessions", nargs="+", metavar="ACCESSION", help="UniProtKB accessions, e.g. P30542"
    )
    pubmed = add("pubmed", "PubMed articles matching a query", _fetch_pubmed)
    pubmed.add_argument("query", metavar="QUERY", help="PubMed search, e.g. 'adenosine A1 agonist'")
    pubmed.add_argument(
        "--limit", type=_positive, default=20, help="most articles to ingest (default 20)"
    )


def _fetch_files(args: argparse.Namespace, resources: Resources) -> Fetched:
    from biomed_agent.retrievers.files import load_files

    loaded = load_files(args.paths)
    return Fetched(
        loaded.documents,
        records=len(loaded.files),
        failures=[failure.to_dict() for failure in loaded.failures],
    )


def _fetched_by(client: Any, documents: list[Document]) -> Fetched:
    stats = client.stats
    return Fetched(
        documents,
        records=len(documents),
        requests=stats.requests,
        cached=stats.from_cache,
        missing=stats.missing,
    )


def _fetch_pubchem(args: argparse.Namespace, resources: Resources) -> Fetched:
    client = resources.pubchem
    return _fetched_by(client, client.compound_documents(args.queries, skip_missing=True))


def _fetch_uniprot(args: argparse.Namespace, resources: Resources) -> Fetched:
    client = resources.uniprot
    return _fetched_by(client, client.entry_documents(args.accessions, skip_missing=True))


def _fetch_pubmed(args: argparse.Namespace, resources: Resources) -> Fetched:
    client = resources.pubmed
    return _fetched_by(client, client.search_documents(args.query, max_results=args.limit))


def summary_line(summary: dict[str, Any]) -> str:
    """One human line: what was fetched and what the store did with it."""
    unit = "files" if summary["source"] == "files" else "records"
    fetched = f"{summary['source']}: fetched {summary['fetched']} {unit}"
    if summary["source"] != "files":
        fetched += f" ({summary['requests']} requests, {summary['cached']} from cache"
        fetched += f", {summary['missing']} not found)" if summary["missing"] else ")"
    if summary["failed"]:
        fetched += f", {summary['failed']} failed"
    return (
        f"{fetched}; stored {summary['stored']}, skipped {summary['skipped']} unchanged "
        f"({summary['chunks']} chunks written); the store holds {summary['store_chunks']} chunks"
    )


def run_ingest(args: argparse.Namespace) -> int:
    from biomed_agent.resources import Resources
    from biomed_agent.settings import get_settings

    with Resources(get_settings()) as resources:
        return _ingest(args, resources)


def _ingest(args: argparse.Namespace, resources: Resources) -> int:
    store = resources.store()  # a store or embedder setting that cannot work fails first
    fetched: Fetched = args.fetch(args, resources)
    counts = store.add_documents(fetched.documents, progress=not args.no_progress)
    summary: dict[str, Any] = {
        "source": args.source,
        "fetched": fetched.records,
        "requests": fetched.requests,
        "cached": fetched.cached,
        "missing": fetched.missing,
        "failed": len(fetched.failures),
        "stored": counts.stored,
        "skipped": counts.skipped,
        "chunks": counts.chunks,
        "store_chunks": store.count(),
        "failures": fetched.failures,
    }
    for failure in fetched.failures:
        print(f"biomed-agent: {failure['message']}", file=sys.stderr)
    print(json.dumps(summary, indent=2) if args.json else summary_line(summary))
    return 1 if fetched.failures or fetched.missing else 0
