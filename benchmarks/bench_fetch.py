"""Benchmark the PubChem and UniProt clients against pubchempy and per-entry loops.

Everything runs against the local replay server (``tests/helpers/replay_server.py``)
with ``--latency`` seconds (default 50 ms) added to every answer and PubChem's limit
(5 requests/s, 429 with ``Retry-After: 1`` beyond it) enforced by the server on the
PubChem paths. Answers for arbitrary ids are SYNTHETIC, built in the documented formats:
PropertyTable rows derived from the CID, name->CID answers derived from the name,
full compound records (for ``pubchempy.get_compounds``) and UniProt entries cloned from
the recorded aspirin record and P30542 entry with the id replaced.

Measured in one run (requests = what reached the server; 429s = throttled answers):

1. properties of ``--cids`` CIDs: ``PubChemClient.properties`` (POST, chunked),
   ``pubchempy.get_properties`` with the whole list, and the common per-compound loop
   ``pubchempy.get_compounds(cid)`` paced at PubChem's 5/s (``--loop-cids`` of them,
   extrapolated to ``--cids`` when fewer); ours is checked value by value;
2. ``--names`` names -> CIDs (one request per name is PUG-REST's rule, so
   ``names / 5`` seconds is the physical bound);
3. ``--accessions`` UniProt accessions: ``UniProtClient.entries`` vs one GET per entry;
4. the same runs of our clients again on the warm cache: zero requests expected;
5. a ranked drug-likeness profile of ``--cids`` ligands (``profile_molecules``, issue 16):
   one property POST per 1,000 CIDs plus local RDKit profiling, vs the per-compound loop
   (one property GET and one profile per CID, ``--loop-cids`` of them, extrapolated).

Fast runs (1-3 for ours and pubchempy's list) are repeated ``--repeats`` times with a cold
cache each time and the median is reported; the slow loops run once.

Run: ``.venv/bin/python benchmarks/bench_fetch.py`` (small, about a minute: 1,000 CIDs,
50-compound loop, 50 names, 200 accessions) or ``--full`` (1,000-compound loop, 200 names,
500 accessions, about 13 minutes) for the figures in docs/benchmarks.md;
``--parts uniprot`` runs one part. Needs the ``bench`` extra (pubchempy).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import pubchempy
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.helpers

from tests.helpers.replay_server import (  # noqa: E402
    FIXTURES,
    PUBCHEM,
    UNIPROT,
    ReplayServer,
    Reply,
    Request,
    settings_for,
    uniprot_search,
)

from biomed_agent.retrievers.pubchem import REQUESTED_PROPERTIES, PubChemClient  # noqa: E402
from biomed_agent.retrievers.uniprot import UniProtClient  # noqa: E402
from biomed_agent.settings import Settings  # noqa: E402

T = TypeVar("T")
PUBCHEM_RATE = 5


# --- synthetic answers ------------------------------------------------------------------
def synthetic_properties(cid: int) -> dict[str, Any]:
    """A deterministic PropertyTable row for any CID (2025 names, weight as a string)."""
    carbons = cid % 40 + 1
    digest = hashlib.sha1(str(cid).encode()).hexdigest().upper()
    key = "".join(chr(65 + int(c, 16) % 26) for c in digest)
    return {
        "CID": cid,
        "MolecularFormula": f"C{carbons}H{2 * carbons + 2}",
        "MolecularWeight": f"{12.011 * carbons + 1.008 * (2 * carbons + 2):.2f}",
        "SMILES": "C" * carbons,
        "ConnectivitySMILES": "C" * carbons,
        "InChIKey": f"{key[:14]}-{key[14:24]}-N",
        "IUPACName": f"synthetic-{cid}",
        "Title": f"Synthetic compound {cid}",
        "XLogP": round(carbons * 0.5, 1),
        "TPSA": 0,
        "HeavyAtomCount": carbons,
    }


def property_table(request: Request) -> Reply:
    cids = [int(c) for c in request.params.get("cid", "").split(",") if c]
    body = {"PropertyTable": {"Properties": [synthetic_properties(c) for c in cids]}}
    return Reply(200, json.dumps(body).encode())


def name_to_cid(request: Request) -> Reply:
    name = request.path.split("/name/", 1)[1].removesuffix("/cids/JSON")
    cid = int(hashlib.sha1(name.encode()).hexdigest()[:6], 16) + 1
    return Reply(200, json.dumps({"IdentifierList": {"CID": [cid]}}).encode())


def compound_record(template: str) -> Callable[[Request], Reply]:
    """Full PC_Compounds record (pubchempy.get_compounds) cloned from the recorded aspirin."""

    def answer(request: Request) -> Reply:
        return Reply(
            200, template.replace('"cid": 2244', f'"cid": {int(request.params["cid"])}').encode()
        )

    return answer


def start_server(latency: float, accessions: list[str]) -> ReplayServer:
    server = ReplayServer(latency=latency, rate_limit=PUBCHEM_RATE, rate_limit_prefix=PUBCHEM)
    props_path = f"{PUBCHEM}/pug/compound/cid/property/{','.join(REQUESTED_PROPERTIES)}/JSON"
    server.route("POST", props_path, property_table)
    server.fallback(f"{PUBCHEM}/pug/compound/name/", name_to_cid)
    record = (FIXTURES / "pubchem/compound_cid_2244_record.json").read_text()
    server.route("POST", f"{PUBCHEM}/pug/compound/cid/JSON", compound_record(record))
    entry = json.loads((FIXTURES / "uniprot/uniprotkb_P30542_entry_2023.json").read_text())
    entries = {a: {**entry, "primaryAccession": a} for a in accessions}
    server.__enter__()
    server.route("GET", f"{UNIPROT}/uniprotkb/search", uniprot_search(entries, server.url))
    server.fallback(
        f"{UNIPROT}/uniprotkb/",
        lambda r: Reply(200, json.dumps(entries[r.path.rsplit("/", 1)[1]]).encode()),
    )
    return server


# --- measurement ------------------------------------------------------------------------
@dataclass
class Run(Generic[T]):
    result: T
    seconds: float
    requests: int
    throttled: int


def measure(server: ReplayServer, prefix: str, run: Callable[[], T]) -> Run[T]:
    """One run: its result, seconds, requests that reached ``prefix`` and 429s sent."""
    server.reset_counts()
    began = time.perf_counter()
    result = run()
    return Run(result, time.perf_counter() - began, server.count(prefix), server.throttled)


def median_run(
    server: ReplayServer, prefix: str, make: Callable[[Settings], Callable[[], T]], repeats: int
) -> tuple[Run[T], Settings]:
    """Median seconds of ``repeats`` cold-cache runs (result and counts of the last one)."""
    runs, settings = [], fresh_settings(server)
    for _ in range(repeats):
        settings = fresh_settings(server)
        runs.append(measure(server, prefix, make(settings)))
    last = runs[-1]
    seconds = statistics.median(r.seconds for r in runs)
    return Run(last.result, seconds, last.requests, max(r.throttled for r in runs)), settings


_WORKDIR = tempfile.TemporaryDirectory(prefix="bench-fetch-")
"""Every run's cache folder lives under here; removed when the benchmark ends."""


def exit_cleanly_on_sigterm() -> None:
    """Turn SIGTERM (``timeout``, ``kill``) into ``SystemExit``, so ``finally`` blocks and
    temporary-folder finalizers still run; by default SIGTERM skips both."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def fresh_settings(server: ReplayServer) -> Settings:
    folder = Path(tempfile.mkdtemp(prefix="run-", dir=_WORKDIR.name))
    return settings_for(server, folder, http_timeout=30.0, http_retries=5)


def row(label: str, run: Run[Any], note: str = "", scale: float = 1.0) -> None:
    print(
        f"| {label} | {run.seconds * scale:.2f} | {round(run.requests * scale)} | "
        f"{round(run.throttled * scale)} | {note} |",
        flush=True,
    )


def bench_properties(
    server: ReplayServer, cids: list[int], loop_cids: int, repeats: int
) -> Settings:
    ours, settings = median_run(
        server, PUBCHEM, lambda s: lambda: PubChemClient.from_settings(s).properties(cids), repeats
    )
    wrong = [
        c for c in cids if ours.result[c]["formula"] != synthetic_properties(c)["MolecularFormula"]
    ]
    assert not wrong and len(ours.result) == len(cids), f"our table is wrong for {len(wrong)} CIDs"
    row(
        f"ours `PubChemClient.properties` ({len(cids)} CIDs, POST)",
        ours,
        f"median of {repeats}; all values checked",
    )

    listed, _ = median_run(
        server,
        PUBCHEM,
        lambda s: lambda: pubchempy.get_properties(list(REQUESTED_PROPERTIES), cids),
        repeats,
    )
    assert len(listed.result) == len(cids)
    row(f"`pubchempy.get_properties` whole list ({len(cids)} CIDs)", listed, f"median of {repeats}")

    def per_compound_loop() -> int:
        done = 0
        for cid in cids[:loop_cids]:
            while True:
                try:
                    pubchempy.get_compounds(cid, "cid")
                    break
                except pubchempy.PubChemHTTPError:
                    time.sleep(1.0)  # the usual "wait and try again"
            done += 1
            time.sleep(1 / PUBCHEM_RATE)  # PubChem's usage policy: at most 5 requests/s
        return done

    scale = len(cids) / loop_cids
    note = "measured" if scale == 1 else f"measured on {loop_cids}, x{scale:.3g} extrapolated"
    row(
        f"per-compound loop `pubchempy.get_compounds(cid)` ({len(cids)} CIDs)",
        measure(server, PUBCHEM, per_compound_loop),
        note,
        scale,
    )
    return settings


def bench_names(server: ReplayServer, names: list[str]) -> Settings:
    settings = fresh_settings(server)
    client = PubChemClient.from_settings(settings)
    run = measure(server, PUBCHEM, lambda: client.resolve_cids(names))
    assert len(run.result) == len(names)
    bound = len(names) / PUBCHEM_RATE
    row(
        f"ours `resolve_cids` ({len(names)} names)",
        run,
        f"bound {bound:g} s; {100 * (run.seconds / bound - 1):+.1f}% vs the bound",
    )
    return settings


def bench_uniprot(server: ReplayServer, accessions: list[str], repeats: int) -> Settings:
    ours, settings = median_run(
        server,
        UNIPROT,
        lambda s: lambda: UniProtClient.from_settings(s).entries(accessions),
        repeats,
    )
    assert [e.accession for e in ours.result] == accessions
    row(
        f"ours `UniProtClient.entries` ({len(accessions)} accessions)", ours, f"median of {repeats}"
    )

    base = settings.uniprot_url

    def one_per_entry() -> int:
        with requests.Session() as session:
            for accession in accessions:
                session.get(
                    f"{base}/uniprotkb/{accession}", params={"format": "json"}, timeout=30
                ).json()
        return len(accessions)

    loop = measure(server, UNIPROT, one_per_entry)
    row(f"one GET per entry ({len(accessions)} accessions)", loop, "requests.Session loop")
    return settings


def bench_warm(
    server: ReplayServer, runs: dict[str, tuple[Settings, Callable[[Settings], object]]]
) -> None:
    """Each part again on its warm cache (a new client on the same data directory)."""
    for label, (settings, run) in runs.items():
        row(
            f"warm cache: {label}",
            measure(server, "", functools.partial(run, settings)),
            "zero requests expected",
        )


def bench_profile(server: ReplayServer, cids: list[int], loop_cids: int) -> None:
    """Ranked profile of many ligands: one batched tool call vs one request per compound."""
    import math

    from biomed_agent.molecules import profile
    from biomed_agent.retrievers.pubchem import LIST_BATCH
    from biomed_agent.tools.discovery_tools import build_tools

    settings = fresh_settings(server)
    tool = {spec.name: spec for spec in build_tools(settings)}["profile_molecules"]
    ours = measure(server, PUBCHEM, lambda: tool.run({"cids": cids, "limit": 10}))
    assert ours.result["profiled"] == len(cids) and ours.requests <= math.ceil(
        len(cids) / LIST_BATCH
    )
    row(f"ours `profile_molecules` ({len(cids)} CIDs, ranked)", ours, "1 POST per 1,000 CIDs")

    def per_compound_loop() -> int:
        client = PubChemClient.from_settings(fresh_settings(server))
        for cid in cids[:loop_cids]:
            smiles = client.properties([cid])[cid]["smiles"]
            profile(str(smiles))
        return loop_cids

    scale = len(cids) / loop_cids
    note = "measured" if scale == 1 else f"measured on {loop_cids}, x{scale:.3g} extrapolated"
    row(
        f"per-compound loop: properties + profile per CID ({len(cids)} CIDs)",
        measure(server, PUBCHEM, per_compound_loop),
        note,
        scale,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cids", type=int, default=1000)
    parser.add_argument("--loop-cids", type=int, default=50, help="per-compound loop size")
    parser.add_argument("--names", type=int, default=50)
    parser.add_argument("--accessions", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--full", action="store_true", help="1,000-compound loop, 200 names, 500 accessions"
    )
    parser.add_argument(
        "--parts", default="properties,names,uniprot,profile", help="comma list of parts to run"
    )
    args = parser.parse_args()
    exit_cleanly_on_sigterm()
    if args.full:
        args.loop_cids, args.names, args.accessions = args.cids, 200, 500
    cids = list(range(1, args.cids + 1))
    names = [f"synthetic drug {i}" for i in range(args.names)]
    accessions = [f"P{i:05d}" for i in range(1, args.accessions + 1)]
    server = start_server(args.latency, accessions)
    pubchempy.API_BASE = f"{server.url}{PUBCHEM}/pug"
    print(
        f"replay server {server.url}: {args.latency * 1000:.0f} ms latency, PubChem limited to "
        f"{PUBCHEM_RATE}/s (429 beyond); synthetic answers\n"
    )
    print("| run | seconds | requests | 429s received | note |\n|---|---|---|---|---|")
    try:
        warm: dict[str, tuple[Settings, Callable[[Settings], object]]] = {}
        if "properties" in args.parts:
            loop = min(args.loop_cids, args.cids)
            warm["properties"] = (
                bench_properties(server, cids, loop, args.repeats),
                lambda s: PubChemClient.from_settings(s).properties(cids),
            )
        if "names" in args.parts:
            warm["names"] = (
                bench_names(server, names),
                lambda s: PubChemClient.from_settings(s).resolve_cids(names),
            )
        if "uniprot" in args.parts:
            warm["uniprot"] = (
                bench_uniprot(server, accessions, args.repeats),
                lambda s: UniProtClient.from_settings(s).entries(accessions),
            )
        bench_warm(server, warm)
        if "profile" in args.parts:
            bench_profile(server, cids, min(args.loop_cids, args.cids))
    finally:
        server.__exit__(None, None, None)
        _WORKDIR.cleanup()


if __name__ == "__main__":
    main()
