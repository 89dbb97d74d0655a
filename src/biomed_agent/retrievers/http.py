"""The HTTP layer every retriever client shares: one polite, cached session per service.

A :class:`ServiceSession` sends requests to ONE configured base URL. Paths are fixed
templates filled with percent-quoted user values (:func:`quote_segment`); no URL taken
from a record or an LLM is ever fetched, and paging links and redirects are followed only
when they stay under the configured base URL.

Layers, outermost first::

    ServiceSession.get/post ── retries, backoff + jitter, Retry-After, error mapping
      └─ requests_cache.CachedSession ── persistent SQLite cache (GET and POST),
         │                                offline mode reads it directly
         └─ _PoliteAdapter ── per-host rate limiter, counts network requests
              └─ urllib3 ── timeouts always on

Foreign failures become typed errors in ONE place, :meth:`ServiceSession._send`::

    requests.Timeout, PUGREST.Timeout, 504, 408 ─retried─> UpstreamTimeoutError
    ConnectionError, reset, truncated body     ─retried─> UpstreamError
    429 (honours Retry-After)                  ─retried─> RateLimitedError
    503, PUGREST.ServerBusy                    ─retried─> ServiceBusyError
    500, 502, PUGREST.ServerError              ─retried─> UpstreamError
    404, 410, PUGREST.NotFound                 ────────> NotFoundError
    400, 414, 422, PUGREST.BadRequest          ────────> InvalidQueryError
    any other 4xx/5xx (501 Unimplemented ...)  ────────> UpstreamError
    offline and not cached                     ────────> OfflineError

Every :class:`~biomed_agent.errors.UpstreamError` names the service and the last status.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter

from biomed_agent.errors import (
    ConfigurationError,
    InvalidQueryError,
    NotFoundError,
    OfflineError,
    RateLimitedError,
    ServiceBusyError,
    UpstreamError,
    UpstreamTimeoutError,
    shorten,
)
from biomed_agent.settings import Settings

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = [
    "FetchStats",
    "RateLimiter",
    "RetryPolicy",
    "ServiceClient",
    "ServiceSession",
    "quote_segment",
    "rate_limiter_for",
    "read_json",
]

logger = logging.getLogger(__name__)

USER_AGENT = "biomed-agent/0.1 (+https://github.com/biomed-agent; python-requests)"
# parameters that identify the caller; kept out of cache keys and never stored
_PRIVATE_PARAMS = ("api_key", "email", "tool")
_RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})


def quote_segment(value: str | int) -> str:
    """Percent-quote one path segment so a user value can never change the path or host."""
    return quote(str(value), safe="")


@dataclass
class FetchStats:
    """Cumulative counters of one client (thread-safe); ``snapshot()`` gives a frozen copy."""

    requests: int = 0
    """Requests that reached the network (retries included)."""
    from_cache: int = 0
    """Answers served from the HTTP cache."""
    retries: int = 0
    """Requests re-sent after a failure."""
    throttled: int = 0
    """429 answers received."""
    missing: int = 0
    """Inputs skipped because no record answers to them."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)

    def snapshot(self) -> FetchStats:
        with self._lock:
            return replace(self, _lock=threading.Lock())

    def __sub__(self, other: FetchStats) -> FetchStats:
        counts = {
            f.name: getattr(self, f.name) - getattr(other, f.name)
            for f in fields(self)
            if f.compare
        }
        return FetchStats(**counts)


class RateLimiter:
    """At most ``max_calls`` starts in any ``period`` seconds, across every thread.

    Starts are also spaced ``period / max_calls`` apart (no bursts: a burst that reaches
    the server late would share its window with the next one). Start times are recorded
    under the lock at the moment a caller proceeds, not when it queued.
    """

    def __init__(
        self,
        max_calls: int,
        period: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_calls < 1 or period <= 0:
            raise ValueError(
                f"rate limit needs max_calls >= 1 and period > 0, got {max_calls}/{period}"
            )
        self.max_calls = max_calls
        self.period = period
        self.spacing = period / max_calls
        self._clock = clock
        self._sleep = sleep
        self._starts: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Wait for a free slot; return the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                while self._starts and self._starts[0] <= now - self.period:
                    self._starts.popleft()
                pause = self._starts[-1] + self.spacing - now if self._starts else 0.0
                if len(self._starts) == self.max_calls:
                    pause = max(pause, self._starts[0] + self.period - now)
                if pause <= 0:
                    self._starts.append(now)
                    return waited
            self._sleep(pause)
            waited += pause


_LIMITERS: dict[tuple[str, int, float], RateLimiter] = {}
_LIMITERS_LOCK = threading.Lock()
# a small safety margin so the server's window (arrival times) never sees max_calls + 1
_WINDOW_MARGIN = 0.05


def rate_limiter_for(key: str, max_per_second: int) -> RateLimiter:
    """The process-wide limiter for ``key`` (service and host), shared by every client."""
    ident = (key, max_per_second, 1.0 + _WINDOW_MARGIN)
    with _LIMITERS_LOCK:
        if ident not in _LIMITERS:
            _LIMITERS[ident] = RateLimiter(max_per_second, 1.0 + _WINDOW_MARGIN)
        return _LIMITERS[ident]


@dataclass(frozen=True)
class RetryPolicy:
    """How failed requests are retried; tests shrink the delays or inject ``sleep``."""

    retries: int = 5
    backoff_base: float = 0.5
    """First backoff in seconds; doubles on each retry."""
    backoff_max: float = 30.0
    retry_after_max: float = 120.0
    """Longest ``Retry-After`` honoured; a longer one is cut to this."""
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[], float] = random.random

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number ``attempt + 1`` (equal jitter)."""
        if retry_after is not None:
            return min(retry_after, self.retry_after_max)
        ceiling = min(self.backoff_max, self.backoff_base * 2**attempt)
        return ceiling / 2 + self.jitter() * ceiling / 2


def _retry_after_seconds(value: str | None) -> float | None:
    """Parse ``Retry-After``: delta seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


class _PoliteAdapter(HTTPAdapter):
    """The network boundary: waits for the rate limiter and counts what is really sent."""

    def __init__(self, limiter: RateLimiter, stats: FetchStats) -> None:
        super().__init__(pool_connections=4, pool_maxsize=16)
        self._limiter = limiter
        self._stats = stats

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self._limiter.acquire()
        self._stats.add(requests=1)
        return super().send(request, **kwargs)


@dataclass(frozen=True)
class _Failure:
    error: type[UpstreamError]
    status: int | None
    detail: str
    retry_after: float | None = None


_FAULT_ERRORS: dict[str, type[Exception]] = {
    "PUGREST.ServerBusy": ServiceBusyError,
    "PUGREST.Timeout": UpstreamTimeoutError,
    "PUGREST.NotFound": NotFoundError,
    "PUGREST.BadRequest": InvalidQueryError,
    "PUGREST.ServerError": UpstreamError,
    "PUGREST.Unimplemented": UpstreamError,
}
_STATUS_ERRORS: dict[int, type[Exception]] = {
    400: InvalidQueryError,
    404: NotFoundError,
    408: UpstreamTimeoutError,
    410: NotFoundError,
    414: InvalidQueryError,
    422: InvalidQueryError,
    429: RateLimitedError,
    503: ServiceBusyError,
    504: UpstreamTimeoutError,
}


def _error_detail(response: requests.Response) -> tuple[str | None, str]:
    """(fault code, human detail) from a PubChem fault, UniProt message list, NCBI error or text."""
    text = response.text[:2000]
    try:
        payload = json.loads(text)
    except ValueError:
        payload = None
    if isinstance(payload, dict):
        fault = payload.get("Fault")
        if isinstance(fault, dict):
            parts = [str(fault.get("Message", "")), *map(str, fault.get("Details") or [])]
            return fault.get("Code"), " ".join(p for p in parts if p)
        if isinstance(payload.get("messages"), list):
            return None, " ".join(map(str, payload["messages"]))
        if "error" in payload:
            return None, str(payload["error"])
    match = re.search(r"<ERROR>(.*?)</ERROR>", text, re.S)
    if match:
        return None, match.group(1).strip()
    return None, " ".join(text.split())[:200]


def read_json(response: requests.Response, service: str, what: str) -> dict[str, Any]:
    """The JSON object of a 2xx answer; :class:`UpstreamError` when it is not one (cut off...)."""
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise UpstreamError(
            f"{service} answered {what} with something that is not a JSON object; try again later.",
            service=service,
            status=response.status_code,
        )
    return payload


class ServiceSession:
    """One service's HTTP session: base URL, timeouts, retries, rate limit, cache, errors."""

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
        from requests_cache import CachedSession, SQLiteCache

        self.service = service
        self.base_url = base_url.rstrip("/")
        self.timeout = settings.http_timeout
        self.offline = settings.offline
        self.retry = retry or RetryPolicy(retries=settings.http_retries)
        self.stats = FetchStats()
        self._default_params = dict(default_params or {})
        origin = urlsplit(self.base_url)
        if origin.scheme not in ("http", "https") or not origin.netloc:
            raise ConfigurationError(
                f"{service} base URL {self.base_url!r} is not an http(s) URL; set "
                "BIOMED_PUBCHEM_URL / BIOMED_UNIPROT_URL / BIOMED_NCBI_URL to http(s)://host/path.",
                input_name="base_url",
            )
        self._origin = (origin.scheme, origin.netloc)
        settings.cache_dir.mkdir(parents=True, exist_ok=True)
        slug = re.sub(r"[^a-z0-9]+", "-", service.lower())
        cache = SQLiteCache(settings.cache_dir / f"{slug}.sqlite", wal=True)
        self._session = CachedSession(
            backend=cache,
            expire_after=timedelta(days=settings.http_cache_days),
            allowable_methods=("GET", "POST"),
            allowable_codes=(200, 404),  # "no such record" is an answer too (offline replays it)
            ignored_parameters=_PRIVATE_PARAMS,
            cache_control=False,
        )
        self._session.headers["User-Agent"] = USER_AGENT
        # requests calls self.get_redirect_target(resp): an instance attribute overrides it
        setattr(self._session, "get_redirect_target", self._redirect_target)  # noqa: B010
        self.limiter = rate_limiter_for(f"{service}@{origin.netloc}", max_per_second)
        adapter = _PoliteAdapter(self.limiter, self.stats)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    def close(self) -> None:
        self._session.close()

    def url_for(self, path: str) -> str:
        """Base URL + a fixed path template (values already quoted with :func:`quote_segment`)."""
        if not path.startswith("/") or "//" in path or "://" in path:
            raise ValueError(f"path must be a relative template under the base URL, got {path!r}")
        return self.base_url + path

    def get(
        self, path: str, params: Mapping[str, Any] | None = None, *, what: str
    ) -> requests.Response:
        """GET base URL + ``path``; ``what`` names the request in errors ("PubChem name 'x'")."""
        return self._send("GET", self.url_for(path), params, None, what)

    def post(self, path: str, data: Mapping[str, Any], *, what: str) -> requests.Response:
        """POST a form to base URL + ``path`` (long identifier lists)."""
        return self._send("POST", self.url_for(path), None, data, what)

    def follow(self, url: str, *, what: str) -> requests.Response:
        """GET a paging URL the service returned, only if it stays on the configured endpoint."""
        self._check_endpoint(url, "a paging link")
        return self._send("GET", url, None, None, what)

    def _check_endpoint(self, url: str, kind: str) -> None:
        target = urlsplit(url)
        base_path = urlsplit(self.base_url).path
        if (target.scheme, target.netloc) != self._origin or not target.path.startswith(base_path):
            raise UpstreamError(
                f"{self.service} returned {kind} outside {self.base_url} "
                f"({shorten(url)}); refusing to follow it.",
                service=self.service,
            )

    def _redirect_target(self, response: requests.Response) -> str | None:
        """requests' redirect hook: redirects are followed only within the configured endpoint."""
        target = requests.Session.get_redirect_target(self._session, response)
        if target is not None:
            self._check_endpoint(urljoin(response.url, target), "a redirect")
        return target

    def _send(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        data: Mapping[str, Any] | None,
        what: str,
    ) -> requests.Response:
        if method == "GET":
            params = {**(params or {}), **self._default_params}
        else:
            data = {**(data or {}), **self._default_params}
        request = self._session.prepare_request(
            requests.Request(method, url, params=params, data=data)
        )
        if self.offline:
            return self._from_cache_only(request, what)
        attempts = self.retry.retries + 1
        for attempt in range(attempts):
            outcome = self._attempt(request, what)
            if isinstance(outcome, requests.Response):
                return outcome
            failure = outcome
            if attempt + 1 < attempts:
                self.stats.add(retries=1)
                pause = self.retry.delay(attempt, failure.retry_after)
                logger.info(
                    "%s: %s (%s); retry in %.2fs", self.service, failure.detail, what, pause
                )
                self.retry.sleep(pause)
        status = f"last status {failure.status}" if failure.status else "no HTTP status"
        raise failure.error(
            f"{self.service} failed for {what} after {attempts} attempt(s): "
            f"{failure.detail} ({status}). "
            "Try again later, or raise BIOMED_HTTP_RETRIES / BIOMED_HTTP_TIMEOUT.",
            service=self.service,
            status=failure.status,
        )

    def _attempt(
        self, request: requests.PreparedRequest, what: str
    ) -> requests.Response | _Failure:
        """One try: the response when usable, a retryable :class:`_Failure`, or a raised error."""
        try:
            response = self._session.send(request, timeout=self.timeout)
        except requests.Timeout:
            return _Failure(UpstreamTimeoutError, None, f"no answer within {self.timeout:g}s")
        except (
            requests.ConnectionError,
            requests.exceptions.ChunkedEncodingError,
            requests.exceptions.ContentDecodingError,
        ) as exc:
            return _Failure(UpstreamError, None, f"connection failed ({type(exc).__name__})")
        if getattr(response, "from_cache", False):
            self.stats.add(from_cache=1)
        return self._judge(response, what)

    def _judge(self, response: requests.Response, what: str) -> requests.Response | _Failure:
        """A usable answer, a retryable :class:`_Failure`, or the typed error raised."""
        status = response.status_code
        if status < 400:
            return response
        if status == 429:
            self.stats.add(throttled=1)
        code, detail = _error_detail(response)
        error = _FAULT_ERRORS.get(code or "") or _STATUS_ERRORS.get(status, UpstreamError)
        label = f"{code}: {detail}" if code else detail or response.reason
        if status in _RETRYABLE_STATUS and issubclass(error, UpstreamError):
            retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
            return _Failure(error, status, f"HTTP {status} {label}".strip(), retry_after)
        if error is NotFoundError:
            raise NotFoundError(
                f"{self.service} has no record for {what} ({label}). "
                "Check the spelling or try another identifier."
            )
        if error is InvalidQueryError:
            raise InvalidQueryError(
                f"{self.service} rejected {what} as malformed ({label}). Fix the query and retry."
            )
        assert issubclass(error, UpstreamError)
        raise error(
            f"{self.service} failed for {what}: HTTP {status} {label}".strip(),
            service=self.service,
            status=status,
        )

    def _from_cache_only(self, request: requests.PreparedRequest, what: str) -> requests.Response:
        """Offline: the cached answer (fresh or expired) or :class:`OfflineError`; no network."""
        cache = self._session.cache
        cached = cache.get_response(cache.create_key(request))
        if cached is None:
            raise OfflineError(
                f"offline mode (BIOMED_OFFLINE=1) and {what} is not in the {self.service} cache. "
                "Run once online (or ingest it into the store) first, or unset BIOMED_OFFLINE.",
                service=self.service,
            )
        self.stats.add(from_cache=1)
        outcome = self._judge(cached, what)  # a cached 404 raises NotFoundError here
        assert isinstance(outcome, requests.Response), "only 200 and 404 answers are cached"
        return outcome


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
