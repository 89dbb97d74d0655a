"""The HTTP layer every retriever client shares: one polite, cached session per service.

A :class:`ServiceSession` sends requests to ONE configured base URL. Paths are fixed
templates filled with percent-quoted user values (:func:`quote_segment`); no URL taken
from a record or an LLM is ever fetched, and paging links and redirects are followed only
when they stay under the configured base URL.

Layers, outermost first::

    ServiceSession.get/post ── deadline, retries, backoff + jitter, Retry-After, errors
      ├─ cache (retrievers.cache) ── JSON rows in SQLite; read first, written only after
      │                              the answer passed its endpoint's shape check
      └─ PoliteAdapter ─── per-host rate limiter, counts network requests
           └─ urllib3 ── timeouts always on, bodies streamed under a size limit

Every lookup has an overall deadline (``http_deadline``, default 30 s, retries
included; an enclosing tool deadline wins if earlier): each try's timeout and each
backoff pause are cut to the time left. Foreign failures become typed errors in ONE
place, :meth:`ServiceSession._send`::

    requests.Timeout, PUGREST.Timeout, 504, 408 ─retried─> UpstreamTimeoutError
    ConnectionError, reset, truncated body     ─retried─> UpstreamError
    malformed 200 (cut-off JSON, HTML, {})     ─retried─> UpstreamError (never cached)
    429 (honours Retry-After)                  ─retried─> RateLimitedError
    503, PUGREST.ServerBusy                    ─retried─> ServiceBusyError
    500, 502, PUGREST.ServerError              ─retried─> UpstreamError
    404, 410, PUGREST.NotFound                 ────────> NotFoundError
    400, 414, 422, PUGREST.BadRequest          ────────> InvalidQueryError
    any other 4xx/5xx (501 Unimplemented ...)  ────────> UpstreamError
    body over the size limit                   ────────> UpstreamError
    deadline spent                             ────────> UpstreamTimeoutError
    offline and not cached                     ────────> OfflineError

Every :class:`~biomed_agent.errors.UpstreamError` names the service and the last status.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import requests

from biomed_agent import deadlines
from biomed_agent.errors import (
    ConfigurationError,
    NotFoundError,
    OfflineError,
    UpstreamError,
    UpstreamTimeoutError,
    shorten,
)
from biomed_agent.retrievers.cache import open_cache
from biomed_agent.retrievers.ratelimit import RateLimiter, rate_limiter_for
from biomed_agent.retrievers.responses import (
    MAX_BODY_BYTES,
    Expect,
    Failure,
    MalformedAnswer,
    documented_404,
    expect_for,
    judge,
    read_body,
)
from biomed_agent.retrievers.retry import FetchStats, RetryPolicy
from biomed_agent.settings import Settings

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = [
    "Expect",
    "FetchStats",
    "RateLimiter",
    "RetryPolicy",
    "ServiceClient",
    "ServiceSession",
    "payload_of",
    "quote_segment",
    "rate_limiter_for",
    "read_json",
]

logger = logging.getLogger(__name__)

USER_AGENT = "biomed-agent/0.1 (+https://github.com/biomed-agent; python-requests)"
_PAYLOAD = "biomed_payload"


def quote_segment(value: str | int) -> str:
    """Percent-quote one path segment so a user value can never change the path or host."""
    return quote(str(value), safe="")


def payload_of(response: requests.Response) -> Any:
    """The payload the endpoint check parsed (dict, XML element, FASTA text), or ``None``."""
    return getattr(response, _PAYLOAD, None)


def read_json(response: requests.Response, service: str, what: str) -> dict[str, Any]:
    """The JSON object of a 2xx answer; :class:`UpstreamError` when it is not one."""
    payload = payload_of(response)
    if not isinstance(payload, dict):
        try:
            payload = Expect("json").parse(response)
        except MalformedAnswer as exc:
            raise UpstreamError(
                f"{service} answered {what} with {exc}; try again later.",
                service=service,
                status=response.status_code,
            ) from None
    return payload


class ServiceSession:
    """One service's HTTP session: base URL, deadline, retries, rate limit, cache, errors."""

    def __init__(
        self,
        service: str,
        base_url: str,
        settings: Settings,
        *,
        max_per_second: int,
        default_params: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.service = service
        self.base_url = base_url.rstrip("/")
        self.timeout = settings.http_timeout
        self.deadline = settings.http_deadline
        self.offline = settings.offline
        self.retry = retry or RetryPolicy(retries=settings.http_retries)
        self.max_body_bytes = MAX_BODY_BYTES
        self.stats = FetchStats()
        self._default_params = dict(default_params or {})
        self._fresh_for = timedelta(days=settings.http_cache_days)
        origin = urlsplit(self.base_url)
        if origin.scheme not in ("http", "https") or not origin.netloc:
            raise ConfigurationError(
                f"{service} base URL {self.base_url!r} is not an http(s) URL; set "
                "BIOMED_PUBCHEM_URL / BIOMED_UNIPROT_URL / BIOMED_NCBI_URL to http(s)://host/path.",
                input_name="base_url",
            )
        self._origin = (origin.scheme, origin.netloc)
        self.cache = open_cache(settings.cache_dir, service)
        from biomed_agent.retrievers.guarded_session import GuardedSession, PoliteAdapter

        self.limiter = rate_limiter_for(f"{service}@{origin.netloc}", max_per_second)
        self._session = GuardedSession(
            self.cache,
            PoliteAdapter(self.limiter, self.stats),
            offline=self.offline,
            check_redirect=lambda url: self._check_endpoint(url, "a redirect"),
        )
        self._session.headers["User-Agent"] = USER_AGENT

    def close(self) -> None:
        self._session.close()
        self.cache.close()

    def url_for(self, path: str) -> str:
        """Base URL + a fixed path template (values already quoted with :func:`quote_segment`)."""
        if not path.startswith("/") or "//" in path or "://" in path:
            raise ValueError(f"path must be a relative template under the base URL, got {path!r}")
        return self.base_url + path

    def get(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        what: str,
        expect: Expect | None = None,
    ) -> requests.Response:
        """GET base URL + ``path``; ``what`` names the request in errors ("PubChem name 'x'").

        ``expect``: the endpoint's answer shape (default: inferred from path and params);
        the parsed payload is available as :func:`payload_of`.
        """
        check = expect or expect_for(path, params)
        return self._send("GET", self.url_for(path), params, None, what, check)

    def post(
        self, path: str, data: Mapping[str, Any], *, what: str, expect: Expect | None = None
    ) -> requests.Response:
        """POST a form to base URL + ``path`` (long identifier lists)."""
        check = expect or expect_for(path, data)
        return self._send("POST", self.url_for(path), None, data, what, check)

    def follow(self, url: str, *, what: str, expect: Expect | None = None) -> requests.Response:
        """GET a paging URL the service returned, only if it stays on the configured endpoint."""
        self._check_endpoint(url, "a paging link")
        check = expect or expect_for(urlsplit(url).path, None)
        return self._send("GET", url, None, None, what, check)

    def _check_endpoint(self, url: str, kind: str) -> None:
        target = urlsplit(url)
        base_path = urlsplit(self.base_url).path
        if (target.scheme, target.netloc) != self._origin or not target.path.startswith(base_path):
            raise UpstreamError(
                f"{self.service} returned {kind} outside {self.base_url} "
                f"({shorten(url)}); refusing to follow it.",
                service=self.service,
            )

    def _send(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        data: Mapping[str, Any] | None,
        what: str,
        expect: Expect,
    ) -> requests.Response:
        if method == "GET":
            params = {**(params or {}), **self._default_params}
        else:
            data = {**(data or {}), **self._default_params}
        request = self._session.prepare_request(
            requests.Request(method, url, params=params, data=data)
        )
        if self.offline:
            return self._from_cache_only(request, what, expect)
        key = self.cache.create_key(request)
        cached = self._cached(key, expect)
        if cached is not None:
            return self._outcome(cached, what)
        with deadlines.deadline(self.deadline, f"{self.service} lookup of {what}"):
            return self._fetch(request, key, what, expect)

    def _fetch(
        self, request: requests.PreparedRequest, key: str, what: str, expect: Expect
    ) -> requests.Response:
        attempts = self.retry.retries + 1
        failure = Failure(UpstreamTimeoutError, None, "no time left")
        for attempt in range(attempts):
            left = deadlines.remaining()
            if left is not None and left <= 0.01:
                break
            outcome = self._attempt(request, what, expect, left)
            if isinstance(outcome, requests.Response):
                if outcome.status_code == 200 or documented_404(outcome):  # "no such record"
                    expires = datetime.now(timezone.utc) + self._fresh_for
                    self.cache.save_response(outcome, key, expires)
                return self._outcome(outcome, what)
            failure = outcome
            if attempt + 1 < attempts:
                pause = self.retry.delay(attempt, failure.retry_after)
                left = deadlines.remaining()
                if left is not None and pause >= left:
                    break  # the next try could not start before the deadline
                self.stats.add(retries=1)
                logger.info(
                    "%s: %s (%s); retry in %.2fs", self.service, failure.detail, what, pause
                )
                self.retry.sleep(pause)
        else:
            status = f"last status {failure.status}" if failure.status else "no HTTP status"
            raise failure.error(
                f"{self.service} failed for {what} after {attempts} attempt(s): "
                f"{failure.detail} ({status}). "
                "Try again later, or raise BIOMED_HTTP_RETRIES / BIOMED_HTTP_TIMEOUT.",
                service=self.service,
                status=failure.status,
            )
        raise UpstreamTimeoutError(
            f"{self.service} gave no usable answer for {what} within {deadlines.active()} "
            f"(last: {failure.detail}). Try again later, or raise BIOMED_HTTP_DEADLINE "
            "(per lookup) / BIOMED_TOOL_DEADLINE (per tool call).",
            service=self.service,
            status=failure.status,
        )

    def _attempt(
        self, request: requests.PreparedRequest, what: str, expect: Expect, left: float | None
    ) -> requests.Response | Failure:
        """One try: a usable or error response, a retryable :class:`Failure`, or a raise."""
        timeout = self.timeout if left is None else max(0.01, min(self.timeout, left))
        try:
            response = self._session.send(request, timeout=timeout, stream=True)
            end = time.monotonic() + timeout  # the whole body within one timeout of its headers
            if left is not None:
                end = min(end, time.monotonic() + (deadlines.remaining() or 0.0))
            read_body(response, self.max_body_bytes, lambda: time.monotonic() > end)
        except (requests.Timeout, TimeoutError):
            return Failure(UpstreamTimeoutError, None, f"no answer within {timeout:.3g}s")
        except (
            requests.ConnectionError,
            requests.exceptions.ChunkedEncodingError,
            requests.exceptions.ContentDecodingError,
        ) as exc:
            return Failure(UpstreamError, None, f"connection failed ({type(exc).__name__})")
        except MalformedAnswer as exc:  # over the size limit: retrying would not help
            raise UpstreamError(
                f"{self.service} answered {what} with {exc}; refused.", service=self.service
            ) from None
        if response.status_code == 404:
            return response  # cached as an answer; raises NotFoundError in _outcome
        if response.status_code >= 300:
            return judge(response, self.service, what, self.stats)
        try:
            setattr(response, _PAYLOAD, expect.parse(response))
        except MalformedAnswer as exc:
            return Failure(UpstreamError, response.status_code, f"malformed answer: {exc}")
        return response

    def _cached(self, key: str, expect: Expect) -> requests.Response | None:
        """A fresh cached answer, or ``None`` (see :meth:`_checked`)."""
        cached = self.cache.get_response(key)
        if cached is None or cached.is_expired:
            return None
        return self._checked(cached, key, expect)

    def _checked(self, cached: Any, key: str, expect: Expect) -> requests.Response | None:
        """``cached`` if it still passes its check; a poisoned row is deleted (``None``)."""
        if cached.status_code < 300:
            try:
                setattr(cached, _PAYLOAD, expect.parse(cached))
            except MalformedAnswer as exc:
                logger.warning("%s: dropping a cached answer: %s", self.service, exc)
                self.cache.delete(key)
                return None
        self.stats.add(from_cache=1)
        return cached

    def _outcome(self, response: requests.Response, what: str) -> requests.Response:
        outcome = judge(response, self.service, what, self.stats)  # 404: NotFoundError
        assert isinstance(outcome, requests.Response), "only 2xx and 404 answers get here"
        return outcome

    def _from_cache_only(
        self, request: requests.PreparedRequest, what: str, expect: Expect
    ) -> requests.Response:
        """Offline: the cached answer (fresh or expired) or :class:`OfflineError`; no network.

        The session is ``only_if_cached`` + ``stale_if_error`` (see ``guarded_session``).
        """
        from biomed_agent.retrievers.guarded_session import is_offline_miss

        answer = self._session.send(request, timeout=self.timeout)
        key = self.cache.create_key(request)
        cached = None if is_offline_miss(answer) else self._checked(answer, key, expect)
        if cached is None:
            raise OfflineError(
                f"offline mode (BIOMED_OFFLINE=1) and {what} is not in the {self.service} cache. "
                "Run once online (or ingest it into the store) first, or unset BIOMED_OFFLINE.",
                service=self.service,
            )
        return self._outcome(cached, what)


class ServiceClient:
    """Base of the PubChem, UniProt and PubMed clients: one session and its counters."""

    def __init__(self, http: ServiceSession) -> None:
        self.http = http

    @property
    def stats(self) -> FetchStats:
        """Cumulative request/cache counters of this client (see :class:`FetchStats`)."""
        return self.http.stats

    def close(self) -> None:
        """Close the HTTP session and its cache file."""
        self.http.close()

    def _handle_missing(self, missing: Sequence[str], message: str, skip_missing: bool) -> None:
        """Raise :class:`NotFoundError` naming every missing input, or count and log them."""
        if not missing:
            return
        if not skip_missing:
            raise NotFoundError(f"{message} Pass skip_missing=True to keep the others.")
        self.stats.add(missing=len(missing))
        logger.warning("%s Skipped %d.", message, len(missing))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
