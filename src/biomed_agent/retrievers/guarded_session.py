"""The requests session under every :class:`~biomed_agent.retrievers.http.ServiceSession`.

:class:`GuardedSession` is a :class:`requests_cache.CachedSession` over the service's
SQLite cache (:func:`~biomed_agent.retrievers.cache.open_cache`) that

* sends through :class:`PoliteAdapter` (per-host rate limit, counts real requests);
* refuses redirects leaving the configured endpoint: requests asks
  ``get_redirect_target`` before following each hop, and this subclass hands the target
  to the owner's check, which raises;
* in offline mode answers from the cache alone, with requests-cache's own
  ``only_if_cached`` (a miss is a synthetic 504, never a network request) and
  ``stale_if_error`` (an expired entry is still served);
* online, neither reads nor writes the cache itself (``disabled``): the owner reads it
  first and writes an answer only after it passed its endpoint's shape check, with the
  body read under a size limit. requests-cache's own write would read the whole body
  unbounded and store it unchecked.

The settings are fixed when the session is made (offline is a per-client setting), so
nothing is switched per call.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

import requests
from requests.adapters import HTTPAdapter
from requests_cache import CachedSession

if TYPE_CHECKING:
    from requests_cache import SQLiteCache

    from biomed_agent.retrievers.ratelimit import RateLimiter
    from biomed_agent.retrievers.retry import FetchStats

__all__ = ["GuardedSession", "PoliteAdapter", "is_offline_miss"]


class PoliteAdapter(HTTPAdapter):
    """The network boundary: waits for the rate limiter and counts what is really sent."""

    def __init__(self, limiter: RateLimiter, stats: FetchStats) -> None:
        super().__init__(pool_connections=4, pool_maxsize=16)
        self._limiter = limiter
        self._stats = stats

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        with self._limiter.slot():  # the window counts from the answer (see ratelimit)
            self._stats.add(requests=1)
            return super().send(request, **kwargs)


class GuardedSession(CachedSession):
    """A cached session that follows redirects only where ``check_redirect`` allows."""

    def __init__(
        self,
        cache: SQLiteCache,
        adapter: PoliteAdapter,
        *,
        offline: bool,
        check_redirect: Callable[[str], None],
    ) -> None:
        settings = copy.copy(cache._settings)  # the key and redaction settings of open_cache
        settings.disabled = not offline
        settings.read_only = True
        settings.only_if_cached = settings.stale_if_error = offline
        settings.allowable_methods = ("GET", "HEAD", "POST")  # POSTs are cached too (long lists)
        settings.autoclose = False  # the owner closes the cache it opened
        super().__init__(backend=cache)
        self.settings = settings
        self._check_redirect = check_redirect
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        """requests' redirect hook: hand every target to the owner's check before following."""
        target = super().get_redirect_target(resp)
        if target is not None:
            self._check_redirect(urljoin(resp.url, target))
        return target


def is_offline_miss(response: Any) -> bool:
    """Whether ``response`` is requests-cache's ``only_if_cached`` miss ("504 Not Cached").

    No real 504 is ever in the cache: only 200 answers and documented 404s are written.
    """
    return response.status_code == 504 and response.reason == "Not Cached"
