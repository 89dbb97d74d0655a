"""The shared HTTP layer: retries, fault mapping, cache, offline mode, rate limits, hosts."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from biomed_agent.errors import (
    ConfigurationError,
    InvalidQueryError,
    NotFoundError,
    OfflineError,
    RateLimitedError,
    ServiceBusyError,
    UpstreamError,
    UpstreamTimeoutError,
)
from biomed_agent.retrievers.http import (
    FetchStats,
    RateLimiter,
    RetryPolicy,
    ServiceSession,
    quote_segment,
)
from biomed_agent.retrievers.pubmed import PubMedClient
from biomed_agent.settings import Settings
from tests.helpers.replay_server import (
    PUBCHEM,
    SERVER_BUSY,
    TOO_MANY,
    UNIPROT,
    ReplayServer,
    Reply,
    fast_retry,
    load_reply,
    pugrest_fault,
    settings_for,
)

ASPIRIN = "/pug/compound/name/aspirin/cids/JSON"


def pubchem_session(
    server: ReplayServer, tmp_path: Path, retry: RetryPolicy | None = None, **settings: object
) -> ServiceSession:
    config = settings_for(server, tmp_path, **settings)
    return ServiceSession(
        "PubChem", config.pubchem_url, config, max_per_second=50, retry=retry or fast_retry()
    )


def test_429_is_retried_honouring_retry_after(replay_server: ReplayServer, tmp_path: Path) -> None:
    sleeps: list[float] = []
    replay_server.fail_status(TOO_MANY, times=2)
    http = pubchem_session(replay_server, tmp_path, fast_retry(3, sleeps))

    answer = http.get(ASPIRIN, what="compound name 'aspirin'").json()

    assert answer["IdentifierList"]["CID"] == [2244]
    assert sleeps == [1.0, 1.0]  # Retry-After: 1, not the exponential backoff
    assert replay_server.count() == 3
    assert (http.stats.requests, http.stats.retries, http.stats.throttled) == (3, 2, 2)


@pytest.mark.parametrize(
    ("fault", "error", "status"),
    [
        (SERVER_BUSY, ServiceBusyError, 503),
        (TOO_MANY, RateLimitedError, 429),
        (Reply(504, pugrest_fault("Timeout", "The request timed out")), UpstreamTimeoutError, 504),
        (
            Reply(500, pugrest_fault("ServerError", "Some problem on the server side")),
            UpstreamError,
            500,
        ),
        (Reply(502, b"<html>Bad Gateway</html>", "text/html"), UpstreamError, 502),
    ],
)
def test_fault_on_every_retry_names_service_and_last_status(
    replay_server: ReplayServer,
    tmp_path: Path,
    fault: Reply,
    error: type[UpstreamError],
    status: int,
) -> None:
    replay_server.fail_status(fault, times=None)
    http = pubchem_session(replay_server, tmp_path, fast_retry(2))

    with pytest.raises(error) as caught:
        http.get(ASPIRIN, what="compound name 'aspirin'")

    assert caught.value.service == "PubChem"
    assert caught.value.status == status
    assert f"last status {status}" in caught.value.message
    assert "compound name 'aspirin'" in caught.value.message
    assert "after 3 attempt(s)" in caught.value.message
    assert replay_server.count() == 3
    assert caught.value.to_dict()["service"] == "PubChem"


def test_serverbusy_fault_code_is_reported(replay_server: ReplayServer, tmp_path: Path) -> None:
    replay_server.fail_status(SERVER_BUSY, times=None)
    with pytest.raises(ServiceBusyError, match=r"PUGREST\.ServerBusy: Too many requests"):
        pubchem_session(replay_server, tmp_path, fast_retry(0)).get(ASPIRIN, what="x")


def test_backoff_grows_exponentially_with_jitter_and_caps() -> None:
    low = RetryPolicy(backoff_base=0.5, backoff_max=3.0, jitter=lambda: 0.0)
    high = RetryPolicy(backoff_base=0.5, backoff_max=3.0, jitter=lambda: 1.0)
    assert [low.delay(a, None) for a in range(4)] == [0.25, 0.5, 1.0, 1.5]
    assert [high.delay(a, None) for a in range(4)] == [0.5, 1.0, 2.0, 3.0]
    assert RetryPolicy(retry_after_max=10).delay(0, 500.0) == 10.0


def test_retry_after_http_date_is_honoured(replay_server: ReplayServer, tmp_path: Path) -> None:
    sleeps: list[float] = []
    moment = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    replay_server.fail_status(Reply(503, b"busy", "text/plain", {"Retry-After": moment}))
    pubchem_session(replay_server, tmp_path, fast_retry(1, sleeps)).get(ASPIRIN, what="x")
    assert len(sleeps) == 1 and 25 <= sleeps[0] <= 31


def test_slow_answer_times_out_then_recovers(replay_server: ReplayServer, tmp_path: Path) -> None:
    replay_server.fail_slow(1.5, times=1)
    http = pubchem_session(replay_server, tmp_path, http_timeout=0.3)
    assert http.get(ASPIRIN, what="x").json()["IdentifierList"]["CID"] == [2244]
    assert http.stats.retries == 1


def test_slow_on_every_retry_is_a_timeout_error(
    replay_server: ReplayServer, tmp_path: Path
) -> None:
    replay_server.fail_slow(1.5, times=None)
    http = pubchem_session(replay_server, tmp_path, fast_retry(1), http_timeout=0.3)
    with pytest.raises(UpstreamTimeoutError, match=r"no answer within 0.3s \(no HTTP status\)"):
        http.get(ASPIRIN, what="compound name 'aspirin'")


@pytest.mark.parametrize("fault", ["fail_truncated", "fail_reset"])
def test_truncated_body_and_reset_are_retried(
    replay_server: ReplayServer, tmp_path: Path, fault: str
) -> None:
    getattr(replay_server, fault)(times=1)
    http = pubchem_session(replay_server, tmp_path)
    assert http.get(ASPIRIN, what="x").json()["IdentifierList"]["CID"] == [2244]
    assert replay_server.count() == 2


@pytest.mark.parametrize("fault", ["fail_truncated", "fail_reset"])
def test_connection_failure_on_every_retry(
    replay_server: ReplayServer, tmp_path: Path, fault: str
) -> None:
    getattr(replay_server, fault)(times=None)
    with pytest.raises(UpstreamError, match="connection failed") as caught:
        pubchem_session(replay_server, tmp_path).get(ASPIRIN, what="x")
    assert caught.value.service == "PubChem"
    assert replay_server.count() == 3


def test_not_found_fault_is_not_retried(replay_server: ReplayServer, tmp_path: Path) -> None:
    http = pubchem_session(replay_server, tmp_path)
    with pytest.raises(NotFoundError, match=r"no record for compound name 'nosuch'.*No CID found"):
        http.get("/pug/compound/name/nosuch/cids/JSON", what="compound name 'nosuch'")
    assert replay_server.count() == 1


def test_pugrest_bad_request_is_invalid_query(replay_server: ReplayServer, tmp_path: Path) -> None:
    body = pugrest_fault("BadRequest", "Unable to standardize the given structure", "SMILES: C(((")
    path = "/pug/compound/smiles/cids/JSON"
    replay_server.route("POST", PUBCHEM + path, Reply(400, body))
    with pytest.raises(InvalidQueryError, match=r"PUGREST\.BadRequest: Unable to standardize"):
        pubchem_session(replay_server, tmp_path).post(
            path, {"smiles": "C((("}, what="SMILES 'C((('"
        )
    assert replay_server.count() == 1


def test_recorded_uniprot_400_is_invalid_query(
    replay_server: ReplayServer, tmp_path: Path, fixtures_dir: Path
) -> None:
    cassette = fixtures_dir / "uniprot/ai_gene_review_uniprotkb_INVALID123_txt_400.yaml"
    replay_server.route("GET", f"{UNIPROT}/uniprotkb/INVALID123.txt", load_reply(cassette))
    config = settings_for(replay_server, tmp_path)
    http = ServiceSession("UniProt", config.uniprot_url, config, max_per_second=50)
    with pytest.raises(InvalidQueryError, match="'accession' value has invalid format"):
        http.get("/uniprotkb/INVALID123.txt", what="entry INVALID123")


def test_unimplemented_is_upstream_error_without_retry(
    replay_server: ReplayServer, tmp_path: Path
) -> None:
    body = pugrest_fault("Unimplemented", "The requested operation has not (yet) been implemented")
    replay_server.route("GET", f"{PUBCHEM}/pug/compound/cid/1/nothing/JSON", Reply(501, body))
    with pytest.raises(UpstreamError, match=r"HTTP 501 PUGREST\.Unimplemented") as caught:
        pubchem_session(replay_server, tmp_path).get("/pug/compound/cid/1/nothing/JSON", what="x")
    assert caught.value.status == 501
    assert replay_server.count() == 1


def test_second_identical_call_is_served_from_cache(
    replay_server: ReplayServer, tmp_path: Path
) -> None:
    http = pubchem_session(replay_server, tmp_path)
    first = http.get(ASPIRIN, what="x").json()
    again = pubchem_session(replay_server, tmp_path)  # a new session: the cache is on disk
    assert again.get(ASPIRIN, what="x").json() == first
    assert replay_server.count() == 1
    assert (again.stats.requests, again.stats.from_cache) == (0, 1)


def test_post_cache_is_keyed_by_body(replay_server: ReplayServer, tmp_path: Path) -> None:
    http = pubchem_session(replay_server, tmp_path)
    path = "/pug/compound/cid/synonyms/JSON"
    http.post(path, {"cid": "2244"}, what="x")
    http.post(path, {"cid": "2244"}, what="x")
    with pytest.raises(NotFoundError):
        http.post(path, {"cid": "1"}, what="synonyms of CID 1")
    assert replay_server.count() == 2
    assert http.stats.from_cache == 1


def test_failures_are_not_cached(replay_server: ReplayServer, tmp_path: Path) -> None:
    replay_server.fail_status(SERVER_BUSY, times=1)
    with pytest.raises(ServiceBusyError):
        pubchem_session(replay_server, tmp_path, fast_retry(0)).get(ASPIRIN, what="x")
    assert pubchem_session(replay_server, tmp_path).get(ASPIRIN, what="x").status_code == 200
    assert replay_server.count() == 2


def test_offline_serves_cache_and_never_touches_network(
    replay_server: ReplayServer, tmp_path: Path
) -> None:
    online = pubchem_session(replay_server, tmp_path, http_cache_days=1e-9)
    online.get(ASPIRIN, what="x")
    time.sleep(0.01)  # the entry is now expired: offline mode still serves it
    offline = pubchem_session(replay_server, tmp_path, offline=True)

    assert offline.get(ASPIRIN, what="x").json()["IdentifierList"]["CID"] == [2244]
    with pytest.raises(OfflineError, match=r"BIOMED_OFFLINE=1.*compound name 'ibuprofen'"):
        offline.get("/pug/compound/name/ibuprofen/cids/JSON", what="compound name 'ibuprofen'")
    assert replay_server.count() == 1
    assert (offline.stats.requests, offline.stats.from_cache) == (0, 1)


def test_ncbi_identity_params_sent_but_never_cached(
    replay_server: ReplayServer, tmp_path: Path
) -> None:
    config = settings_for(replay_server, tmp_path, ncbi_api_key="s3cr3t-key-0123456789")
    client = PubMedClient.from_settings(config)
    client.fetch_articles(["21813367"])  # POST: the identity goes in the form
    client.search("cancer")
    assert replay_server.requests[0].params["api_key"] == "s3cr3t-key-0123456789"
    sent = replay_server.requests[-1].params
    assert (sent["tool"], sent["email"], sent["api_key"]) == (
        "biomed-agent",
        "tests@example.org",
        "s3cr3t-key-0123456789",
    )
    cache_bytes = b"".join(p.read_bytes() for p in config.cache_dir.glob("*"))
    assert b"s3cr3t-key" not in cache_bytes
    # another key, same question: the cached answer is reused
    other = PubMedClient.from_settings(settings_for(replay_server, tmp_path, ncbi_api_key="other"))
    assert other.search("cancer").count == client.search("cancer").count
    assert [d.pmid for d in other.fetch_articles(["21813367"])] == ["21813367"]
    assert replay_server.count() == 2
    assert sorted(p.name for p in config.cache_dir.glob("*.sqlite")) == [
        "ncbi-e-utilities.json.sqlite"
    ]


def test_rate_limiter_paces_starts_within_the_window() -> None:
    now = [0.0]
    starts = []
    limiter = RateLimiter(
        3, 1.0, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s)
    )
    for _ in range(7):
        limiter.acquire()
        starts.append(round(now[0], 6))
    assert starts == [0.0, 0.333333, 0.666667, 1.0, 1.333333, 1.666667, 2.0]


def test_rate_limiter_holds_across_threads() -> None:
    limiter = RateLimiter(3, 0.3)
    threads = [threading.Thread(target=limiter.acquire) for _ in range(10)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # ten starts paced 0.1 s apart by one shared limiter: the last no earlier than 0.9 s
    assert time.monotonic() - began >= 9 * 0.1 - 0.005


def test_client_limiter_keeps_server_limit(tmp_path: Path) -> None:
    with ReplayServer(rate_limit=5) as server:
        server.route("GET", f"{PUBCHEM}{ASPIRIN}", Reply(200, b'{"IdentifierList":{"CID":[2244]}}'))
        config = settings_for(server, tmp_path)
        # 4/s against a 5/s server: headroom for thread-wake jitter on a loaded 2-core box
        http = ServiceSession("PubChem", config.pubchem_url, config, max_per_second=4)
        errors: list[Exception] = []

        def call(index: int) -> None:
            try:
                http.get(ASPIRIN, {"i": index}, what="x")  # distinct URLs: no cache hits
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=call, args=(i,)) for i in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert server.throttled == 0
        assert server.count() == 10


def test_only_configured_host_is_contacted(replay_server: ReplayServer, tmp_path: Path) -> None:
    http = pubchem_session(replay_server, tmp_path)
    assert quote_segment("a/b?c=#d") == "a%2Fb%3Fc%3D%23d"
    for path in ("//evil.example/x", "http://evil.example/x", "pug/no-slash"):
        with pytest.raises(ValueError, match="relative template"):
            http.url_for(path)
    with pytest.raises(UpstreamError, match="outside"):
        http.follow("http://evil.example/pubchem/rest/pug", what="next page")
    assert replay_server.count() == 0


def test_redirects_stay_on_the_configured_endpoint(
    replay_server: ReplayServer, tmp_path: Path
) -> None:
    moved = Reply(302, b"", headers={"Location": f"{PUBCHEM}{ASPIRIN}"})
    replay_server.route("GET", f"{PUBCHEM}/pug/compound/name/moved/cids/JSON", moved)
    away = Reply(302, b"", headers={"Location": "http://evil.example/steal"})
    replay_server.route("GET", f"{PUBCHEM}/pug/compound/name/away/cids/JSON", away)
    http = pubchem_session(replay_server, tmp_path)

    assert http.get("/pug/compound/name/moved/cids/JSON", what="x").json()["IdentifierList"]
    with pytest.raises(UpstreamError, match=r"a redirect outside .*evil\.example.*refusing"):
        http.get("/pug/compound/name/away/cids/JSON", what="x")
    assert replay_server.count() == 3


def test_base_url_must_be_http(tmp_path: Path) -> None:
    config = Settings(data_dir=tmp_path, pubchem_url="file:///etc")
    with pytest.raises(ConfigurationError, match="'file:///etc' is not an http"):
        ServiceSession("PubChem", config.pubchem_url, config, max_per_second=5)


def test_stats_snapshot_difference() -> None:
    stats = FetchStats()
    stats.add(requests=2, from_cache=1)
    before = stats.snapshot()
    stats.add(requests=3, missing=1)
    delta = stats.snapshot() - before
    assert (delta.requests, delta.from_cache, delta.missing) == (3, 0, 1)


def test_answer_shape_is_inferred_when_a_caller_names_none() -> None:
    from biomed_agent.retrievers.responses import Expect, expect_for

    assert expect_for("/pug/compound/cid/2244/property/MolecularWeight/JSON", None).kind == "json"
    assert expect_for("/uniprotkb/P30542", {"format": "json"}).kind == "json"
    assert expect_for("/uniprotkb/P30542.fasta", None).kind == "fasta"
    assert expect_for("/efetch.fcgi", {"retmode": "xml", "db": "pubmed"}).kind == "xml"
    assert expect_for("/einfo.fcgi", {}) == Expect("any")


def test_only_a_documented_404_is_an_answer() -> None:
    import requests

    from biomed_agent.retrievers.responses import documented_404

    def response(status: int, body: bytes) -> requests.Response:
        made = requests.Response()
        made.status_code, made._content = status, body
        return made

    assert documented_404(response(404, pugrest_fault("NotFound", "No CID found")))
    assert documented_404(response(404, b'{"url":"","messages":["Resource not found"]}'))
    assert not documented_404(response(404, b"<html>Not Found</html>"))
    assert not documented_404(response(200, b'{"messages": []}'))
