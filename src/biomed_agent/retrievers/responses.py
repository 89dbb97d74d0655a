"""What a usable answer looks like: shape checks per endpoint, bounded bodies, error details.

A ``200 OK`` is not an answer until it parses and has the shape its endpoint promises.
:class:`Expect` describes that shape (JSON object with required keys, XML with a known
root element, FASTA); :meth:`Expect.parse` returns the parsed payload or raises
:class:`MalformedAnswer`, which the HTTP layer retries like a 5xx and never caches.
Truncated JSON, an HTML error page, ``{}`` and a body of the wrong content type are
all malformed.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import requests

from biomed_agent.errors import (
    InvalidQueryError,
    NotFoundError,
    RateLimitedError,
    ServiceBusyError,
    UpstreamError,
    UpstreamTimeoutError,
)

if TYPE_CHECKING:
    from biomed_agent.retrievers.retry import FetchStats

__all__ = [
    "MAX_BODY_BYTES",
    "Expect",
    "MalformedAnswer",
    "documented_404",
    "error_detail",
    "expect_for",
    "parse_xml",
    "retry_after_seconds",
]

MAX_BODY_BYTES = 64 * 1024 * 1024
"""Largest answer body read (decoded). The largest PUG-View compound records are ~20 MB."""

Kind = Literal["json", "xml", "fasta", "any"]
_CONTENT_TYPES: dict[str, tuple[str, ...]] = {
    "json": ("json",),
    "xml": ("xml",),
    "fasta": ("text/plain", "fasta"),
}


class MalformedAnswer(ValueError):
    """A 2xx answer that is not what the endpoint returns (retried, never cached)."""


def parse_xml(text: str) -> ET.Element:
    """Parse XML text; documents that declare entities (XML bombs) are refused."""
    if "<!ENTITY" in text:
        raise MalformedAnswer("XML that declares entities (refused)")
    try:
        return ET.fromstring(text)
    except ET.ParseError as exc:
        raise MalformedAnswer(f"XML that does not parse ({exc})") from None


@dataclass(frozen=True)
class Expect:
    """The shape of one endpoint's successful answer.

    ``keys``: top-level keys a JSON object must hold (each an object or a list).
    ``roots``: allowed root elements of an XML answer.
    """

    kind: Kind = "any"
    keys: tuple[str, ...] = ()
    roots: tuple[str, ...] = ()

    def parse(self, response: requests.Response) -> Any:
        """The parsed payload; :class:`MalformedAnswer` saying what is wrong otherwise."""
        if self.kind == "any":
            return None
        declared = (response.headers.get("Content-Type") or "").lower()
        if not any(marker in declared for marker in _CONTENT_TYPES[self.kind]):
            raise MalformedAnswer(
                f"content type {declared or '(none)'!r} where {self.kind.upper()} was expected"
            )
        text = response.content.decode(response.encoding or "utf-8", errors="replace")
        if self.kind == "fasta":
            if not text.startswith(">"):
                raise MalformedAnswer("text that is not FASTA")
            return text
        if self.kind == "xml":
            root = parse_xml(text)
            if self.roots and root.tag not in self.roots:
                raise MalformedAnswer(f"XML with root <{root.tag}>, not <{self.roots[0]}>")
            return root
        try:
            payload = json.loads(text)
        except ValueError:
            raise MalformedAnswer("JSON that does not parse (cut off?)") from None
        if not isinstance(payload, dict):
            raise MalformedAnswer("JSON that is not an object")
        missing = [k for k in self.keys if not isinstance(payload.get(k), dict | list | str)]
        if missing:
            raise MalformedAnswer(f"a JSON object without {', '.join(map(repr, missing))}")
        return payload


def expect_for(path: str, params: Mapping[str, Any] | None) -> Expect:
    """The check used when a caller names none: inferred from the path and parameters."""
    values = {str(k).lower(): str(v).lower() for k, v in (params or {}).items()}
    if path.endswith("/JSON") or values.get("format") == "json":
        return Expect("json")
    if path.endswith(".fasta") or values.get("format") == "fasta":
        return Expect("fasta")
    if values.get("retmode") == "xml":
        return Expect("xml")
    return Expect("any")


def read_body(response: requests.Response, limit: int, expired: Any) -> None:
    """Read a streamed body into ``response._content``, at most ``limit`` bytes.

    ``expired()`` is asked between chunks (a server trickling bytes cannot outlast the
    deadline). Raises :class:`MalformedAnswer` for an oversized body and
    :class:`TimeoutError` past the deadline.
    """
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        response.close()
        raise MalformedAnswer(f"a {int(declared):,}-byte body (limit {limit:,})")
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(chunk_size=65536):
        size += len(chunk)
        if size > limit:
            response.close()
            raise MalformedAnswer(f"a body over the {limit:,}-byte limit")
        if expired():
            response.close()
            raise TimeoutError("deadline reached while reading the body")
        chunks.append(chunk)
    response._content = b"".join(chunks)
    response._content_consumed = True  # type: ignore[attr-defined]


FAULT_ERRORS: dict[str, type[Exception]] = {
    "PUGREST.ServerBusy": ServiceBusyError,
    "PUGREST.Timeout": UpstreamTimeoutError,
    "PUGREST.NotFound": NotFoundError,
    "PUGREST.BadRequest": InvalidQueryError,
    "PUGREST.ServerError": UpstreamError,
    "PUGREST.Unimplemented": UpstreamError,
}
STATUS_ERRORS: dict[int, type[Exception]] = {
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


def error_detail(response: requests.Response) -> tuple[str | None, str]:
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
            code = fault.get("Code")
            return (code if isinstance(code, str) else None), " ".join(p for p in parts if p)
        if isinstance(payload.get("messages"), list):
            return None, " ".join(map(str, payload["messages"]))
        if "error" in payload:
            return None, str(payload["error"])
    match = re.search(r"<ERROR>(.*?)</ERROR>", text, re.S)
    if match:
        return None, match.group(1).strip()
    return None, " ".join(text.split())[:200]


def documented_404(response: requests.Response) -> bool:
    """A 404 in the service's own format (PubChem fault, UniProt messages), not a proxy's page.

    Only these are cached as "no such record": an HTML 404 from a misconfigured proxy
    must not hide a record for the cache's lifetime.
    """
    if response.status_code != 404:
        return False
    try:
        payload = json.loads(response.content)
    except ValueError:
        return False
    return isinstance(payload, dict) and any(k in payload for k in ("Fault", "messages"))


def retry_after_seconds(value: str | None) -> float | None:
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


RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Failure:
    """A retryable failure of one try: the error to raise if it is the last, and why."""

    error: type[UpstreamError]
    status: int | None
    detail: str
    retry_after: float | None = None


def judge(
    response: requests.Response, service: str, what: str, stats: FetchStats
) -> requests.Response | Failure:
    """A usable answer, a retryable :class:`Failure`, or the typed error raised."""
    status = response.status_code
    if status < 400:
        return response
    if status == 429:
        stats.add(throttled=1)
    code, detail = error_detail(response)
    error = FAULT_ERRORS.get(code or "") or STATUS_ERRORS.get(status, UpstreamError)
    label = f"{code}: {detail}" if code else detail or response.reason
    if status in RETRYABLE_STATUS and issubclass(error, UpstreamError):
        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        return Failure(error, status, f"HTTP {status} {label}".strip(), retry_after)
    if error is NotFoundError:
        raise NotFoundError(
            f"{service} has no record for {what} ({label}). "
            "Check the spelling or try another identifier."
        )
    if error is InvalidQueryError:
        raise InvalidQueryError(
            f"{service} rejected {what} as malformed ({label}). Fix the query and retry."
        )
    assert issubclass(error, UpstreamError)
    raise error(
        f"{service} failed for {what}: HTTP {status} {label}".strip(),
        service=service,
        status=status,
    )
