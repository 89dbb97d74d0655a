"""PubChem structure searches: 2D similarity, substructure and identity, with ListKey polling.

``fastsimilarity_2d``, ``fastsubstructure`` and ``fastidentity`` answer with an
``IdentifierList`` of CIDs, or, when the search runs long, with PubChem's asynchronous
answer ``{"Waiting": {"ListKey": "...", "Message": "Your request is running"}}``
(HTTP 202). :func:`structure_search` then polls ``/compound/listkey/{key}/cids/JSON``
with doubling pauses (:class:`PollPolicy`) until the list is ready or
``PollPolicy.timeout`` seconds have passed, when it raises
:class:`~biomed_agent.errors.UpstreamTimeoutError` naming the ListKey.

Request budget: one search request (SMILES by POST, a CID by GET) plus one per poll.
Every request goes through the client's session: 5/s limiter, retries, cache (a
202 "still running" answer is never cached).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from biomed_agent.errors import InvalidQueryError, UpstreamError, UpstreamTimeoutError, shorten
from biomed_agent.retrievers.http import quote_segment, read_json
from biomed_agent.retrievers.pubchem import SERVICE, PubChemClient

__all__ = ["DEFAULT_POLL", "OPERATIONS", "PollPolicy", "SearchMode", "structure_search"]

SearchMode = Literal["similarity", "substructure", "identity"]
OPERATIONS: dict[str, str] = {
    "similarity": "fastsimilarity_2d",
    "substructure": "fastsubstructure",
    "identity": "fastidentity",
}
MAX_RECORDS = 10_000


@dataclass(frozen=True)
class PollPolicy:
    """How a ``ListKey`` is polled: first pause, doubling up to ``max_pause``, ``timeout`` total."""

    first_pause: float = 1.0
    max_pause: float = 8.0
    timeout: float = 60.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic


DEFAULT_POLL = PollPolicy()
"""The poll policy used when none is passed (read at call time, so it can be replaced)."""


def _cids(payload: Mapping[str, Any]) -> list[int] | None:
    """The CIDs of a finished answer; ``None`` while PubChem is still running the search."""
    if "Waiting" in payload:
        return None
    listing = payload.get("IdentifierList")
    if not isinstance(listing, Mapping):
        raise UpstreamError(
            f"{SERVICE} answered a structure search without an IdentifierList; try again later.",
            service=SERVICE,
        )
    return [int(c) for c in listing.get("CID") or [] if int(c) > 0]


def _list_key(payload: Mapping[str, Any]) -> str:
    key = str((payload.get("Waiting") or {}).get("ListKey") or "")
    if not key.isdigit():
        raise UpstreamError(
            f"{SERVICE} said the search is running but gave no usable ListKey ({shorten(key)}).",
            service=SERVICE,
        )
    return key


def structure_search(
    client: PubChemClient,
    query: str | int,
    mode: SearchMode = "similarity",
    *,
    threshold: int = 90,
    max_records: int = 100,
    poll: PollPolicy | None = None,
) -> list[int]:
    """CIDs PubChem finds for ``query`` (a SMILES or a CID), in PubChem's order.

    Args:
        threshold: Tanimoto threshold in percent (PubChem fingerprints), similarity only.
        max_records: most CIDs returned.

    Raises:
        InvalidQueryError: unknown mode, threshold outside 0-100, max_records outside 1-10,000.
        UpstreamTimeoutError: the asynchronous search did not finish within ``poll.timeout``.
    """
    if mode not in OPERATIONS:
        raise InvalidQueryError(
            f"unknown search mode {mode!r}; use one of {', '.join(get_args(SearchMode))}",
            input_name="mode",
        )
    if not 0 <= threshold <= 100:
        raise InvalidQueryError(
            f"threshold is a percentage 0-100, got {threshold}", input_name="threshold"
        )
    if not 1 <= max_records <= MAX_RECORDS:
        raise InvalidQueryError(
            f"max_records must be 1 to {MAX_RECORDS:,}, got {max_records}", input_name="max_records"
        )
    poll = poll or DEFAULT_POLL
    operation = OPERATIONS[mode]
    options: dict[str, Any] = {"MaxRecords": max_records}
    if mode == "similarity":
        options["Threshold"] = threshold
    label = f"CID {query}" if isinstance(query, int) else f"SMILES {shorten(query)}"
    what = f"{mode} search for {label}"
    if isinstance(query, int):
        response = client.http.get(
            f"/pug/compound/{operation}/cid/{quote_segment(query)}/cids/JSON", options, what=what
        )
    else:
        response = client.http.post(
            f"/pug/compound/{operation}/smiles/cids/JSON", {"smiles": query, **options}, what=what
        )
    payload = read_json(response, SERVICE, what)
    cids = _cids(payload)
    if cids is not None:
        return cids[:max_records]
    return _poll(client, _list_key(payload), what, poll)[:max_records]


def _poll(client: PubChemClient, key: str, what: str, poll: PollPolicy) -> list[int]:
    started = poll.clock()
    pause = poll.first_pause
    polls = 0
    while True:
        waited = poll.clock() - started
        if waited + pause > poll.timeout:
            raise UpstreamTimeoutError(
                f"{SERVICE} did not finish the {what} within {poll.timeout:g}s "
                f"(ListKey {key}, {polls} poll(s)). Try again later, or narrow the search "
                "(a higher threshold, fewer records).",
                service=SERVICE,
                status=202,
            )
        poll.sleep(pause)
        pause = min(pause * 2, poll.max_pause)
        polls += 1
        response = client.http.get(
            f"/pug/compound/listkey/{quote_segment(key)}/cids/JSON", what=f"{what} (ListKey {key})"
        )
        cids = _cids(read_json(response, SERVICE, what))
        if cids is not None:
            return cids
