"""A local HTTP server (127.0.0.1, random port) that replays recorded API answers.

One server plays PubChem, UniProt and NCBI E-utilities under three path prefixes; point
the clients at it with :func:`settings_for`::

    with ReplayServer() as server:
        install_recorded(server)               # routes for tests/fixtures/{pubchem,uniprot,pubmed}
        settings = settings_for(server, tmp_path, http_retries=2)
        PubChemClient.from_settings(settings).resolve_cid("aspirin")   # -> 2244
        assert server.count("/pubchem") == 1

Routing: ``route(method, path, reply, params=...)`` matches the method, the exact path
and a subset of the query/form parameters (comma lists compare as sets, repeated keys
are joined); the route with the most matching parameters wins, then the latest added.
A reply is a :class:`Reply` or a function ``Request -> Reply`` (answers synthesised
from recorded records). Unmatched requests get the reply of the longest matching
``fallback(prefix, reply)`` (the service's documented 404, or a synthesising function).

Faults, consumed in order for requests under ``path_prefix``, ``times`` times each
(``times=None``: forever): :meth:`fail_status` (429 + Retry-After, 503 ServerBusy...),
:meth:`fail_slow` (answer after ``delay`` seconds), :meth:`fail_truncated` (half the
body, then close), :meth:`fail_reset` (TCP reset, no answer).

Load: ``latency`` seconds are added to every answer; ``rate_limit=N`` answers 429
(``Retry-After: 1``) to any request under ``rate_limit_prefix`` beyond N in the last
second (``throttled`` counts them). ``requests`` records every request that arrived;
``count(prefix)`` counts them.
"""

from __future__ import annotations

import functools
import json
import re
import socket
import struct
import threading
import time
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import yaml

from biomed_agent.retrievers.http import RetryPolicy
from biomed_agent.retrievers.pubchem import REQUESTED_PROPERTIES
from biomed_agent.settings import Settings

PUBCHEM = "/pubchem/rest"
UNIPROT = "/uniprot"
NCBI = "/eutils"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@dataclass(frozen=True)
class Request:
    """One request as the server saw it (query and form parameters merged)."""

    method: str
    path: str
    params: dict[str, str]
    body: bytes
    arrived: float


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)


Responder = Reply | Callable[[Request], Reply]


@dataclass
class _Route:
    method: str
    path: str
    params: dict[str, str]
    responder: Responder


@dataclass
class _Fault:
    kind: str  # "status" | "slow" | "truncate" | "reset"
    path_prefix: str
    times: int | None
    reply: Reply | None = None
    delay: float = 0.0


def pugrest_fault(code: str, message: str, *details: str) -> bytes:
    """A PUG-REST fault body in its documented format (``{"Fault": {...}}``)."""
    fault: dict[str, Any] = {"Code": f"PUGREST.{code}", "Message": message}
    if details:
        fault["Details"] = list(details)
    return json.dumps({"Fault": fault}, indent=2).encode()


SERVER_BUSY = Reply(503, pugrest_fault("ServerBusy", "Too many requests or server too busy"))
TOO_MANY = Reply(
    429, b'{"error":"API rate limit exceeded","count":"11"}', headers={"Retry-After": "1"}
)


class _QuietServer(ThreadingHTTPServer):
    """Daemon handler threads; a client that hung up (timeouts, resets) is not an error."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        return


def _values(value: str) -> frozenset[str]:
    return frozenset(v.strip() for v in value.split(",") if v.strip())


class ReplayServer:
    """Threaded replay server; use as a context manager (see the module docstring)."""

    def __init__(
        self, *, latency: float = 0.0, rate_limit: int | None = None, rate_limit_prefix: str = ""
    ) -> None:
        self.latency = latency
        self.rate_limit = rate_limit
        self.rate_limit_prefix = rate_limit_prefix
        self.requests: list[Request] = []
        self.throttled = 0
        self._routes: list[_Route] = []
        self._fallbacks: list[tuple[str, Responder]] = []
        self._faults: list[_Fault] = []
        self._arrivals: deque[float] = deque()
        self._lock = threading.Lock()
        self._httpd = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> ReplayServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    # --- configuration ---------------------------------------------------------
    def route(
        self, method: str, path: str, reply: Responder, *, params: Mapping[str, str] | None = None
    ) -> None:
        self._routes.append(_Route(method.upper(), path, dict(params or {}), reply))

    def route_file(
        self,
        method: str,
        path: str,
        file: Path,
        *,
        params: Mapping[str, str] | None = None,
        status: int = 200,
    ) -> None:
        """Serve a fixture file (vcrpy cassettes: the first interaction's status and body)."""
        self.route(method, path, load_reply(file, status), params=params)

    def fallback(self, path_prefix: str, reply: Responder) -> None:
        """The answer to unmatched requests under ``path_prefix`` (the longest prefix wins)."""
        self._fallbacks.append((path_prefix, reply))

    def fail_status(self, reply: Reply, *, times: int | None = 1, path_prefix: str = "") -> None:
        self._faults.append(_Fault("status", path_prefix, times, reply=reply))

    def fail_slow(self, delay: float, *, times: int | None = 1, path_prefix: str = "") -> None:
        self._faults.append(_Fault("slow", path_prefix, times, delay=delay))

    def fail_truncated(self, *, times: int | None = 1, path_prefix: str = "") -> None:
        self._faults.append(_Fault("truncate", path_prefix, times))

    def fail_reset(self, *, times: int | None = 1, path_prefix: str = "") -> None:
        self._faults.append(_Fault("reset", path_prefix, times))

    # --- observation -------------------------------------------------------------
    def count(self, path_prefix: str = "") -> int:
        with self._lock:
            return sum(r.path.startswith(path_prefix) for r in self.requests)

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()
            self.throttled = 0

    # --- serving -----------------------------------------------------------------
    def _admit(self, request: Request) -> _Fault | Reply | None:
        """Record the request; the fault or 429 it gets, if any."""
        with self._lock:
            self.requests.append(request)
            for fault in self._faults:
                if request.path.startswith(fault.path_prefix) and fault.times != 0:
                    if fault.times is not None:
                        fault.times -= 1
                    return fault
            if self.rate_limit is not None and request.path.startswith(self.rate_limit_prefix):
                while self._arrivals and self._arrivals[0] <= request.arrived - 1.0:
                    self._arrivals.popleft()
                if len(self._arrivals) >= self.rate_limit:
                    self.throttled += 1
                    return TOO_MANY
                self._arrivals.append(request.arrived)
        return None

    def _answer(self, request: Request) -> Reply:
        best: tuple[int, int] | None = None
        chosen: Responder | None = None
        for index, candidate in enumerate(self._routes):
            if candidate.method != request.method or candidate.path != request.path:
                continue
            if all(
                name in request.params and _values(request.params[name]) == _values(value)
                for name, value in candidate.params.items()
            ):
                rank = (len(candidate.params), index)
                if best is None or rank > best:
                    best, chosen = rank, candidate.responder
        if chosen is not None:
            return chosen(request) if callable(chosen) else chosen
        for prefix, reply in sorted(self._fallbacks, key=lambda f: -len(f[0])):
            if request.path.startswith(prefix):
                return reply(request) if callable(reply) else reply
        return Reply(404, b"not found", "text/plain")


def _handler_for(server: ReplayServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            pairs = parse_qsl(parts.query, keep_blank_values=True)
            if "form-urlencoded" in (self.headers.get("Content-Type") or ""):
                pairs += parse_qsl(body.decode(), keep_blank_values=True)
            params: dict[str, str] = {}
            for key, value in pairs:
                params[key] = f"{params[key]},{value}" if key in params else value
            request = Request(self.command, parts.path, params, body, time.monotonic())
            verdict = server._admit(request)
            if isinstance(verdict, _Fault) and verdict.kind == "reset":
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.close_connection = True
                return
            if server.latency:
                time.sleep(server.latency)
            if isinstance(verdict, Reply):
                self._write(verdict)
                return
            if isinstance(verdict, _Fault) and verdict.kind == "status":
                assert verdict.reply is not None
                self._write(verdict.reply)
                return
            if isinstance(verdict, _Fault) and verdict.kind == "slow":
                time.sleep(verdict.delay)
            reply = server._answer(request)
            truncate = isinstance(verdict, _Fault) and verdict.kind == "truncate"
            self._write(reply, truncate=truncate)

        def _write(self, reply: Reply, *, truncate: bool = False) -> None:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if truncate:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(reply.body[: len(reply.body) // 2] if truncate else reply.body)

    return Handler


# --- recorded fixtures ---------------------------------------------------------------
@functools.cache
def load_reply(file: Path, status: int = 200) -> Reply:
    """A fixture file as a reply; vcrpy cassettes give their first interaction's answer."""
    if file.suffix == ".yaml":
        cassette = yaml.load(file.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        response = cassette["interactions"][0]["response"]
        types = response["headers"].get("Content-Type") or response["headers"].get("content-type")
        return Reply(
            response["status"]["code"],
            response["body"]["string"].encode(),
            types[0] if types else "text/plain",
        )
    content_type = {
        ".json": "application/json",
        ".xml": "text/xml; charset=UTF-8",
        ".fasta": "text/plain;format=fasta",
    }.get(file.suffix, "text/plain")
    return Reply(status, file.read_bytes(), content_type)


def settings_for(server: ReplayServer, data_dir: Path, **overrides: Any) -> Settings:
    """Settings whose three base URLs point at ``server``; short timeouts by default."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "pubchem_url": server.url + PUBCHEM,
        "uniprot_url": server.url + UNIPROT,
        "ncbi_url": server.url + NCBI,
        "http_timeout": 2.0,
        "http_retries": 2,
        "email": "tests@example.org",
    }
    values.update(overrides)
    return Settings(**values)


def fast_retry(retries: int = 2, sleeps: list[float] | None = None) -> RetryPolicy:
    """Retries that do not wait; the delays they would have slept are appended to ``sleeps``."""
    record = sleeps if sleeps is not None else []
    return RetryPolicy(retries=retries, sleep=record.append)


@functools.cache
def _pubmed_records(files: tuple[Path, ...]) -> dict[str, bytes]:
    """PMID -> the recorded ``<PubmedArticle>``/``<PubmedBookArticle>`` XML."""
    records: dict[str, bytes] = {}
    for file in files:
        text = load_reply(file).body.decode()
        for node in ET.fromstring(re.sub(r"<!DOCTYPE[^>]*>", "", text)):
            pmid = node.findtext("MedlineCitation/PMID") or node.findtext("BookDocument/PMID")
            if pmid:
                records[pmid.strip()] = ET.tostring(node, encoding="utf-8")
    return records


def efetch_by_id(records: Mapping[str, bytes]) -> Callable[[Request], Reply]:
    """efetch ``id=...`` answered with the recorded records of those PMIDs (unknown: left out)."""

    def answer(request: Request) -> Reply:
        wanted = [p for p in request.params.get("id", "").split(",") if p]
        body = b"".join(records[p] for p in wanted if p in records)
        xml = b'<?xml version="1.0" ?>\n<PubmedArticleSet>\n' + body + b"\n</PubmedArticleSet>\n"
        return Reply(200, xml, "text/xml; charset=UTF-8")

    return answer


_COMMENT_FIELDS = {
    "cc_function": "FUNCTION",
    "cc_subcellular_location": "SUBCELLULAR LOCATION",
    "cc_disease": "DISEASE",
}
_PLAIN_FIELDS = {
    "id": ("uniProtkbId",),
    "protein_name": ("proteinDescription",),
    "gene_names": ("genes",),
    "organism_name": ("organism",),
    "organism_id": ("organism",),
}


def _select_fields(entry: Mapping[str, Any], fields: list[str]) -> dict[str, Any]:
    """An entry cut to the requested return ``fields``, approximating rest.uniprot.org."""
    chosen: dict[str, Any] = {k: entry[k] for k in ("entryType", "primaryAccession") if k in entry}
    for name in fields:
        chosen.update({k: entry[k] for k in _PLAIN_FIELDS.get(name, ()) if k in entry})
    if "length" in fields and "sequence" in entry:
        chosen["sequence"] = {"length": entry["sequence"]["length"]}
    kinds = {_COMMENT_FIELDS[f] for f in fields if f in _COMMENT_FIELDS}
    chosen["comments"] = [c for c in entry.get("comments", []) if c.get("commentType") in kinds]
    if "go" in fields:
        references = entry.get("uniProtKBCrossReferences", [])
        chosen["uniProtKBCrossReferences"] = [r for r in references if r.get("database") == "GO"]
    return chosen


def uniprot_search(
    entries: Mapping[str, Mapping[str, Any]], base_url: str, max_page: int = 500
) -> Callable[[Request], Reply]:
    """``/uniprotkb/search`` for ``accession:X OR ...`` queries over recorded entries.

    Pages of ``size`` results (at most ``max_page``, UniProt's cap is 500); a
    ``Link: <...&cursor=N>; rel="next"`` header points at the next page, and ``fields``
    cuts entries to the requested sections, as rest.uniprot.org does.
    """

    def answer(request: Request) -> Reply:
        query = request.params.get("query", "")
        accessions = re.findall(r"accession:([A-Z0-9]+)", query)
        hits = [entries[a] for a in accessions if a in entries]
        size = min(max_page, int(request.params.get("size", "25")))
        start = int(request.params.get("cursor", "0"))
        fields = request.params.get("fields")
        page = [
            _select_fields(e, fields.split(",")) if fields else e
            for e in hits[start : start + size]
        ]
        headers = {"X-Total-Results": str(len(hits))}
        if start + size < len(hits):
            following = {**request.params, "cursor": str(start + size)}
            headers["Link"] = f'<{base_url}{request.path}?{urlencode(following)}>; rel="next"'
        return Reply(200, json.dumps({"results": page}).encode(), headers=headers)

    return answer


def _gene_query(name: str) -> str:
    return f'(gene_exact:"{name}" OR gene:"{name}" OR protein_name:"{name}")'


_PROPERTIES = "/pug/compound/cid/property/{}/JSON".format(",".join(REQUESTED_PROPERTIES))
_ASPIRIN_CIDS = "pubchem/compound_name_aspirin_cids.json"
_SYNONYMS = "pubchem/compound_cid_2244_synonyms.json"
_HISTORY = {"WebEnv": "MCID_synthetic_science_breast_cancer_2008", "query_key": "1"}
# (method, path under the server, fixture file, parameters the request must carry)
RECORDED_ROUTES: tuple[tuple[str, str, str, dict[str, str] | None], ...] = (
    ("GET", f"{PUBCHEM}/pug/compound/name/aspirin/cids/JSON", _ASPIRIN_CIDS, None),
    ("GET", f"{PUBCHEM}/pug/compound/name/C00267/cids/JSON",
     "pubchem/compound_name_C00267_cids.json", None),
    # the same recorded answer (CID 2244) for aspirin's SMILES and InChIKey
    ("POST", f"{PUBCHEM}/pug/compound/smiles/cids/JSON", _ASPIRIN_CIDS,
     {"smiles": "CC(=O)OC1=CC=CC=C1C(=O)O"}),
    ("GET", f"{PUBCHEM}/pug/compound/inchikey/BSYNRYMUTXBXSQ-UHFFFAOYSA-N/cids/JSON",
     _ASPIRIN_CIDS, None),
    ("POST", PUBCHEM + _PROPERTIES, "pubchem/compound_cid_2244_properties_synthetic.json",
     {"cid": "2244"}),
    ("POST", PUBCHEM + _PROPERTIES,
     "pubchem/compound_cid_2349_properties_legacy_names_synthetic.json", {"cid": "2349"}),
    ("POST", PUBCHEM + _PROPERTIES, "pubchem/compound_cid_2244_2349_properties_synthetic.json",
     {"cid": "2244,2349"}),
    ("POST", f"{PUBCHEM}/pug/compound/cid/synonyms/JSON", _SYNONYMS, {"cid": "2244"}),
    ("POST", f"{PUBCHEM}/pug/compound/cid/synonyms/JSON", _SYNONYMS, {"cid": "2244,2349"}),
    ("GET", f"{PUBCHEM}/pug_view/data/compound/2349/JSON",
     "pubchem/pug_view_compound_2349_record.json", None),
    ("GET", f"{UNIPROT}/uniprotkb/P30542", "uniprot/uniprotkb_P30542_entry_2023.json", None),
    ("GET", f"{UNIPROT}/uniprotkb/I8FBX0", "uniprot/uniprotkb_inactive_deleted_I8FBX0.json", None),
    ("GET", f"{UNIPROT}/uniprotkb/Q00007", "uniprot/uniprotkb_inactive_demerged_Q00007.json", None),
    ("GET", f"{UNIPROT}/uniprotkb/search", "uniprot/uniprotkb_search_no_results_with_facets.json",
     {"query": _gene_query("NOSUCHGENE")}),
    ("GET", f"{UNIPROT}/uniprotkb/P30542.fasta", "uniprot/uniprotkb_P30542_synthetic.fasta", None),
    ("GET", f"{NCBI}/efetch.fcgi", "pubmed/cassettes/hawc_TestPubMedFetch.test_standard_query.yaml",
     _HISTORY),
    ("GET", f"{NCBI}/esearch.fcgi",
     "pubmed/esearch_pubmed_science_breast_cancer_2008_usehistory_synthetic.xml",
     {"term": "science[journal] AND breast cancer AND 2008[pdat]"}),
    ("GET", f"{NCBI}/esearch.fcgi", "pubmed/esearch_pubmed_cancer_usehistory.xml",
     {"term": "cancer"}),
    ("GET", f"{NCBI}/esearch.fcgi", "pubmed/esearch_protein_no_results_phrase_not_found.xml",
     {"term": "abcXYZ"}),
)  # fmt: skip
# recorded efetch answers whose articles the efetch-by-id route serves
RECORDED_ARTICLES = tuple(
    f"pubmed/cassettes/hawc_TestPubMedFetch.test_{name}.yaml"
    for name in ("structured_abstract", "abstract_with_child_text", "collective_author", "doi",
                 "utf8", "book", "book_chapter", "title_with_child_text", "standard_query")
) + tuple(
    f"pubmed/efetch_pubmed_{name}.xml"
    for name in ("30108519_mathml", "27797938_html_tags", "12091962_9997_abstract")
)  # fmt: skip


def install_recorded(server: ReplayServer, fixtures: Path = FIXTURES) -> None:
    """Routes for every recorded (and documented synthetic) answer the client tests use."""
    not_found = pugrest_fault(
        "NotFound", "No CID found", "No CID found that matches the given name"
    )
    server.fallback(PUBCHEM, Reply(404, not_found))
    server.fallback(UNIPROT, Reply(404, b'{"url":"","messages":["Resource not found"]}'))
    for method, path, file, params in RECORDED_ROUTES:
        server.route_file(method, path, fixtures / file, params=params)
    entry = json.loads((fixtures / "uniprot/uniprotkb_P30542_entry_2023.json").read_text())
    server.route(
        "GET", f"{UNIPROT}/uniprotkb/search", uniprot_search({"P30542": entry}, server.url)
    )
    server.route(
        "GET",
        f"{UNIPROT}/uniprotkb/search",
        Reply(200, json.dumps({"results": [entry]}).encode()),
        params={"query": _gene_query("ADORA1") + " AND organism_id:9606"},
    )
    articles = _pubmed_records(tuple(fixtures / file for file in RECORDED_ARTICLES))
    server.route("POST", f"{NCBI}/efetch.fcgi", efetch_by_id(articles))
