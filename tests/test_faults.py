"""Fault kinds served from a loopback server: each is survived and none poisons the cache.

"Survived" means: the lookup either succeeds on a retry (transient faults) or ends in a
typed :class:`~biomed_agent.errors.BiomedAgentError` (faults that retrying cannot fix),
never a foreign exception; and afterwards a fresh client on the same cache fetches again
and gets the real answer, which is what the cache then holds (offline replay).
"""

from __future__ import annotations

import pickle
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from biomed_agent.errors import BiomedAgentError, UpstreamError, UpstreamTimeoutError
from biomed_agent.retrievers.pubchem import PubChemClient
from biomed_agent.retrievers.uniprot import UniProtClient
from biomed_agent.settings import Settings
from tests.helpers.faults import Marker, pubchem_client
from tests.helpers.replay_server import (
    PUBCHEM,
    SERVER_BUSY,
    TOO_MANY,
    UNIPROT,
    ReplayServer,
    Reply,
    fast_retry,
    settings_for,
)

ASPIRIN = f"{PUBCHEM}/pug/compound/name/aspirin/cids/JSON"
GOOD = b'{"IdentifierList": {"CID": [2244]}}'
HUGE = 2 * 1024 * 1024  # the test sessions read at most 1 MiB


def _off_host(server: ReplayServer, other: ReplayServer) -> None:
    server.fail_status(Reply(302, b"", headers={"Location": f"{other.url}/steal"}))


# kind -> (install the fault on the server, whether a retry within the same call fixes it)
FAULTS: dict[str, tuple[Callable[[ReplayServer, ReplayServer], None], bool]] = {
    "truncated JSON 200": (
        lambda s, o: s.fail_status(Reply(200, b'{"IdentifierList": {"CID": [22'), times=1),
        True,
    ),
    "HTML 200": (
        lambda s, o: s.fail_status(
            Reply(200, b"<html><body>Service maintenance</body></html>", "text/html"), times=1
        ),
        True,
    ),
    "empty {} 200": (lambda s, o: s.fail_status(Reply(200, b"{}"), times=1), True),
    "429 Retry-After": (lambda s, o: s.fail_status(TOO_MANY, times=1), True),
    "503 ServerBusy": (lambda s, o: s.fail_status(SERVER_BUSY, times=1), True),
    "stall past the timeout": (lambda s, o: s.fail_slow(1.5, times=1), True),
    "connection reset": (lambda s, o: s.fail_reset(times=1), True),
    "body cut mid-stream": (lambda s, o: s.fail_truncated(times=1), True),
    "wrong content type": (
        lambda s, o: s.fail_status(Reply(200, GOOD, "text/plain"), times=1),
        True,
    ),
    "redirect off-host": (_off_host, False),
    "huge body": (
        lambda s, o: s.fail_status(Reply(200, b" " * HUGE + GOOD), times=1),
        False,
    ),
}


@pytest.mark.parametrize("kind", list(FAULTS))
def test_fault_is_survived_and_never_cached(
    kind: str, replay_server: ReplayServer, tmp_path: Path
) -> None:
    install, transient = FAULTS[kind]
    with ReplayServer() as other:
        install(replay_server, other)
        client = pubchem_client(replay_server, tmp_path)
        if transient:
            assert client.resolve_cid("aspirin") == 2244
        else:
            with pytest.raises(UpstreamError, match="PubChem"):
                client.resolve_cid("aspirin")
        assert other.count() == 0  # nothing reached another host
    # the next run fetches again (nothing bad was cached) and succeeds
    before = replay_server.count()
    assert pubchem_client(replay_server, tmp_path).resolve_cid("aspirin") == 2244
    assert replay_server.count() == before + (0 if transient else 1)
    # and what the cache holds is the real answer: offline replay gives it
    offline = pubchem_client(replay_server, tmp_path, offline=True)
    assert offline.resolve_cid("aspirin") == 2244
    assert replay_server.count() == before + (0 if transient else 1)


@pytest.mark.parametrize(
    "reply",
    [
        Reply(200, b'{"IdentifierList": {"CID": [22'),
        Reply(200, b"<html>Bad gateway</html>", "text/html"),
        Reply(200, b"{}"),
    ],
    ids=["truncated", "html", "empty"],
)
def test_persistent_poison_fails_typed_then_next_run_succeeds(
    reply: Reply, replay_server: ReplayServer, tmp_path: Path
) -> None:
    replay_server.fail_status(reply, times=3)  # every try of the first run
    with pytest.raises(UpstreamError, match="malformed answer"):
        pubchem_client(replay_server, tmp_path).resolve_cid("aspirin")
    assert pubchem_client(replay_server, tmp_path).resolve_cid("aspirin") == 2244


def test_uniprot_empty_object_is_a_typed_error_not_keyerror(
    replay_server: ReplayServer, tmp_path: Path
) -> None:
    replay_server.fail_status(Reply(200, b"{}"), times=3, path_prefix=UNIPROT)
    config = settings_for(replay_server, tmp_path)
    with pytest.raises(UpstreamError, match="primaryAccession"):
        UniProtClient.from_settings(config, retry=fast_retry(2)).entry("P30542")
    entry = UniProtClient.from_settings(config, retry=fast_retry(2)).entry("P30542")
    assert entry.accession == "P30542"


def test_poisoned_row_already_in_the_cache_is_dropped_and_refetched(
    replay_server: ReplayServer, tmp_path: Path
) -> None:
    client = pubchem_client(replay_server, tmp_path)
    assert client.resolve_cid("aspirin") == 2244
    cache = client.http.cache
    key = next(iter(cache.responses.keys()))
    row = cache.get_response(key)
    assert row is not None
    row._content = b"<html>poisoned</html>"
    cache.responses[key] = row
    assert pubchem_client(replay_server, tmp_path).resolve_cid("aspirin") == 2244
    assert replay_server.count() == 2  # fetched again instead of failing


def test_crafted_pickle_row_never_runs(replay_server: ReplayServer, tmp_path: Path) -> None:
    client = pubchem_client(replay_server, tmp_path)
    assert client.resolve_cid("aspirin") == 2244
    marker = tmp_path / "pwned"
    files = list(Path(client.http.cache.cache_name).parent.glob("*.sqlite"))
    assert [f.name for f in files] == ["pubchem.json.sqlite"]
    with sqlite3.connect(files[0]) as con:
        con.execute("UPDATE responses SET value = ?", (pickle.dumps(Marker(marker)),))
    # a legacy (pickled) file beside it is never opened either
    legacy = files[0].with_name("pubchem.sqlite")
    legacy.write_bytes(pickle.dumps(Marker(marker)))
    assert pubchem_client(replay_server, tmp_path).resolve_cid("aspirin") == 2244
    assert not marker.exists()


def test_stalled_service_is_bounded_by_the_lookup_deadline(
    replay_server: ReplayServer, tmp_path: Path
) -> None:
    replay_server.fail_slow(5.0, times=None)
    config = settings_for(replay_server, tmp_path, http_timeout=2.0, http_deadline=1.0)
    client = PubChemClient.from_settings(config, retry=fast_retry(5))
    start = time.monotonic()
    with pytest.raises(UpstreamTimeoutError, match="within the 1 s budget of PubChem lookup"):
        client.resolve_cid("aspirin")
    elapsed = time.monotonic() - start
    assert elapsed < 1.1  # 6 tries x 2 s without the deadline


def test_every_failure_is_a_biomed_agent_error(replay_server: ReplayServer, tmp_path: Path) -> None:
    replay_server.fail_status(Reply(200, b"\xff\xfe not utf-8 {", "application/json"), times=None)
    with pytest.raises(BiomedAgentError):
        pubchem_client(replay_server, tmp_path).resolve_cid("aspirin")


def test_settings_deadline_default_is_thirty_seconds() -> None:
    assert Settings().http_deadline == 30.0


@pytest.mark.parametrize("tool", ["pubchem_lookup", "uniprot_lookup", "pubmed_search"])
def test_tool_call_never_overshoots_its_deadline_by_10_percent(
    tool: str, replay_server: ReplayServer, tmp_path: Path
) -> None:
    from biomed_agent.tools import get_tool_spec

    # A 3 s deadline under 8 s per-try timeouts: only the deadline can end the call, and
    # 10% (0.3 s) leaves room for client set-up on a loaded 2-core CI machine.
    replay_server.fail_slow(10.0, times=None)  # every service stalls
    config = settings_for(replay_server, tmp_path, http_timeout=8.0, tool_deadline=3.0)
    spec = get_tool_spec(tool, config)
    start = time.monotonic()
    with pytest.raises(UpstreamTimeoutError):
        spec.run({"query": "aspirin" if tool == "pubchem_lookup" else "ADORA1"})
    elapsed = time.monotonic() - start
    assert elapsed <= 3.3, f"{tool} took {elapsed:.2f} s against a 3 s deadline"


def test_corrupt_cache_file_is_replaced_not_fatal(
    replay_server: ReplayServer, tmp_path: Path
) -> None:
    config = settings_for(replay_server, tmp_path)
    config.cache_dir.mkdir(parents=True)
    (config.cache_dir / "pubchem.json.sqlite").write_bytes(b"\x00garbage, not SQLite" * 100)
    assert pubchem_client(replay_server, tmp_path).resolve_cid("aspirin") == 2244
    offline = pubchem_client(replay_server, tmp_path, offline=True)
    assert offline.resolve_cid("aspirin") == 2244


def test_a_proxy_html_404_is_not_cached_as_no_such_record(
    replay_server: ReplayServer, tmp_path: Path
) -> None:
    from biomed_agent.errors import NotFoundError

    replay_server.fail_status(Reply(404, b"<html>Not Found</html>", "text/html"), times=1)
    with pytest.raises(NotFoundError):
        pubchem_client(replay_server, tmp_path).resolve_cid("aspirin")
    assert pubchem_client(replay_server, tmp_path).resolve_cid("aspirin") == 2244
    # PubChem's own not-found fault is an answer and is cached
    with pytest.raises(NotFoundError):
        pubchem_client(replay_server, tmp_path).resolve_cid("nosuchdrugxyz")
    before = replay_server.count()
    with pytest.raises(NotFoundError):
        pubchem_client(replay_server, tmp_path, offline=True).resolve_cid("nosuchdrugxyz")
    assert replay_server.count() == before


def _first_answer(config: Settings, prefix: str) -> object:
    """The FASTA's first character, or whether the PubMed search found anything."""
    from biomed_agent.retrievers.pubmed import PubMedClient

    if "fasta" in prefix:
        return UniProtClient.from_settings(config, retry=fast_retry(2)).fasta("P30542")[:1]
    return PubMedClient.from_settings(config, retry=fast_retry(2)).search("cancer").count > 0


@pytest.mark.parametrize(
    ("prefix", "reply", "expected"),
    [
        (
            f"{UNIPROT}/uniprotkb/P30542.fasta",
            Reply(200, b"<html>oops</html>", "text/plain"),
            ">",
        ),
        ("/eutils/esearch.fcgi", Reply(200, b"<html><body>busy</body></html>", "text/xml"), True),
        ("/eutils/esearch.fcgi", Reply(200, b"<eSearchResult><Count>1", "text/xml"), True),
    ],
    ids=["uniprot-fasta-not-fasta", "ncbi-xml-wrong-root", "ncbi-xml-cut-off"],
)
def test_text_and_xml_endpoints_are_checked_too(
    prefix: str, reply: Reply, expected: object, replay_server: ReplayServer, tmp_path: Path
) -> None:
    replay_server.fail_status(reply, times=1, path_prefix=prefix)
    assert _first_answer(settings_for(replay_server, tmp_path), prefix) == expected
    before = replay_server.count()
    offline = settings_for(replay_server, tmp_path, offline=True)
    assert _first_answer(offline, prefix) == expected  # the cache holds the good answer
    assert replay_server.count() == before
