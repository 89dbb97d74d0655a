"""PubChem client (PUG-REST and PUG-View): identifiers to CIDs, batched properties, Documents.

Request budget for ``n`` compounds: one request per *name*, SMILES or InChIKey to
resolve (PUG-REST resolves one per request; they run concurrently under the 5/s
limiter), one POST per 1,000 CIDs for properties, one per 1,000 for synonyms, and one
PUG-View request per compound when annotations are asked for.

Records and their parsing live in :mod:`biomed_agent.retrievers.pubchem_records`.
Every answer is checked for its endpoint's shape before it is used or cached.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Literal, get_args

from biomed_agent.deadlines import in_context
from biomed_agent.errors import (
    InvalidIdentifierError,
    InvalidQueryError,
    NotFoundError,
    shorten,
)
from biomed_agent.patterns import INCHIKEY, looks_like_smiles
from biomed_agent.retrievers.http import (
    Expect,
    RetryPolicy,
    ServiceClient,
    ServiceSession,
    quote_segment,
    read_json,
)
from biomed_agent.retrievers.pubchem_records import (
    REQUESTED_PROPERTIES,
    SYNONYMS_KEPT,
    CompoundRecord,
    compound_url,
    is_cid,
    normalise_properties,
    parse_pug_view,
)
from biomed_agent.settings import Settings

if TYPE_CHECKING:
    from langchain_core.documents import Document

__all__ = [
    "LIST_BATCH",
    "REQUESTED_PROPERTIES",
    "SYNONYMS_KEPT",
    "CompoundRecord",
    "PubChemClient",
    "QueryKind",
    "classify_query",
    "compound_url",
]


SERVICE = "PubChem"
QueryKind = Literal["auto", "cid", "name", "smiles", "inchikey", "inchi"]
_KINDS: tuple[str, ...] = get_args(QueryKind)

LIST_BATCH = 1000
"""CIDs per POST: one request for the 1,000-CID case (pubchempy's single request)."""
_CIDS = Expect("json", keys=("IdentifierList",))
_PROPERTY_TABLE = Expect("json", keys=("PropertyTable",))
_SYNONYM_LIST = Expect("json", keys=("InformationList",))
_RECORD = Expect("json", keys=("Record",))
_CID = re.compile(r"(?:cid[:\s]*)?(\d+)", re.IGNORECASE)
_INCHIKEY = INCHIKEY  # one definition: biomed_agent.patterns


def classify_query(
    query: str | int,
) -> tuple[Literal["cid", "name", "smiles", "inchikey", "inchi"], str]:
    """Guess what ``query`` is: CID, InChIKey, InChI, SMILES or (otherwise) a name.

    SMILES are recognised by bond/branch/ring marks or by being made only of
    organic-subset atoms with paired ring digits ("CCO", "c1ccccc1", but not the KEGG id
    "C00267"); pass ``kind=`` explicitly for ambiguous strings such as "NO".
    """
    if isinstance(query, bool):
        raise InvalidIdentifierError(f"{query!r} is not a compound query", input_name="query")
    if isinstance(query, int):
        if not 0 < query < 10**_CID_DIGITS:
            shown = shorten(str(query) if query.bit_length() < 256 else query)
            raise InvalidIdentifierError(
                f"{shown} is not a PubChem CID (CIDs are positive integers of up to "
                f"{_CID_DIGITS} digits, e.g. 2244)",
                input_name="query",
            )
        return "cid", str(query)
    if not isinstance(query, str):
        raise InvalidIdentifierError(
            f"a compound query is a string or an integer CID, got {type(query).__name__} "
            f"{shorten(query)}",
            input_name="query",
        )
    text = query.strip()
    if not text:
        raise InvalidQueryError(
            "empty compound query; give a name, CID, SMILES or InChIKey (e.g. 'aspirin', 2244)",
            input_name="query",
        )
    cid = _CID.fullmatch(text)
    if cid:
        return "cid", _check_cid(cid.group(1))
    if _INCHIKEY.fullmatch(text.upper()) and len(text) == 27:
        return "inchikey", text.upper()
    if text.startswith("InChI="):
        return "inchi", text
    if looks_like_smiles(text):  # one heuristic for the package: biomed_agent.patterns
        return "smiles", text
    return "name", text


_CID_DIGITS = 12
"""Longest CID accepted (PubChem's largest CIDs have 9 digits)."""


def _check_cid(digits: str) -> str:
    text = digits.lstrip("0")
    if not digits.isascii() or not digits.isdigit() or not text or len(text) > _CID_DIGITS:
        raise InvalidIdentifierError(
            f"{shorten(digits)} is not a PubChem CID "
            f"(CIDs are positive integers of up to {_CID_DIGITS} digits, e.g. 2244)",
            input_name="query",
        )
    return text


def _missing_message(shown: list[str]) -> str:
    return (
        f"PubChem has no compound for: {', '.join(shown)}. "
        "Check the spelling, or use a CID or InChIKey."
    )


def _chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class PubChemClient(ServiceClient):
    """Batched, cached, rate-limited PubChem client; see the module docstring for budgets."""

    def __init__(self, http: ServiceSession, *, workers: int = 8) -> None:
        super().__init__(http)
        self.workers = workers

    @classmethod
    def from_settings(
        cls, settings: Settings, *, retry: RetryPolicy | None = None
    ) -> PubChemClient:
        """A client on ``settings.pubchem_url`` (≤5 requests/s, shared across threads)."""
        return cls(
            ServiceSession(SERVICE, settings.pubchem_url, settings, max_per_second=5, retry=retry)
        )

    # --- identifiers ---------------------------------------------------------
    def resolve_cid(self, query: str | int, kind: QueryKind = "auto") -> int:
        """The CID of a name, SMILES, InChIKey, InChI or CID; :class:`NotFoundError` if none."""
        if kind not in _KINDS:
            raise InvalidQueryError(
                f"unknown query kind {kind!r}; use one of {', '.join(_KINDS)}", input_name="kind"
            )
        if kind == "auto" or (kind == "cid" and isinstance(query, int)):
            detected, value = classify_query(query)
        elif isinstance(query, str):
            detected, value = kind, query.strip()
        else:
            raise InvalidIdentifierError(
                f"a {kind} query is a string, got {type(query).__name__} {shorten(query)}",
                input_name="query",
            )
        if not value:
            raise InvalidQueryError(
                "empty compound query; give a name, CID, SMILES or InChIKey", input_name="query"
            )
        if detected == "cid":
            return int(_check_cid(value))
        if detected == "inchikey" and not _INCHIKEY.fullmatch(value):
            raise InvalidIdentifierError(
                f"{shorten(value)} is not an InChIKey "
                "(27 characters like BSYNRYMUTXBXSQ-UHFFFAOYSA-N)",
                input_name="query",
            )
        what = f"compound {detected} {shorten(value)}"
        if detected in ("name", "inchikey") and "/" not in value:
            response = self.http.get(
                f"/pug/compound/{detected}/{quote_segment(value)}/cids/JSON",
                what=what,
                expect=_CIDS,
            )
        else:  # SMILES and InChI carry '/', '#', '\\': PUG-REST takes them as a form
            response = self.http.post(
                f"/pug/compound/{detected}/cids/JSON", {detected: value}, what=what, expect=_CIDS
            )
        listed = read_json(response, SERVICE, what)["IdentifierList"]
        cids = [
            c for c in (listed.get("CID") or [] if isinstance(listed, dict) else []) if is_cid(c)
        ]
        if not cids:
            raise NotFoundError(
                f"PubChem has no compound for {what}. Check the spelling or use a CID."
            )
        return cids[0]

    def resolve_cids(
        self, queries: Sequence[str | int], kind: QueryKind = "auto", *, skip_missing: bool = False
    ) -> dict[str | int, int]:
        """Query -> CID for many queries, resolved concurrently under the rate limiter."""
        unique = list(dict.fromkeys(queries))
        if kind == "auto":
            for query in unique:
                classify_query(query)  # bad input fails before any request

        def resolve(query: str | int) -> int | NotFoundError:
            try:
                return self.resolve_cid(query, kind)
            except NotFoundError as exc:
                return exc

        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            answers = dict(zip(unique, pool.map(in_context(resolve), unique), strict=True))
        missing = {q: a for q, a in answers.items() if isinstance(a, NotFoundError)}
        shown = [shorten(q) for q in missing]
        self._handle_missing(shown, _missing_message(shown), skip_missing)
        return {q: a for q, a in answers.items() if isinstance(a, int)}

    # --- batched tables ------------------------------------------------------
    def properties(self, cids: Sequence[int]) -> dict[int, dict[str, str | int | float]]:
        """Properties of many CIDs: one POST per :data:`LIST_BATCH`; absent CIDs are left out."""
        path = f"/pug/compound/cid/property/{','.join(REQUESTED_PROPERTIES)}/JSON"
        table: dict[int, dict[str, str | int | float]] = {}
        for rows in self._post_lists(path, cids, "properties", _PROPERTY_TABLE, "Properties"):
            for row in rows:
                if is_cid(row.get("CID")):
                    table[int(row["CID"])] = normalise_properties(row)
        return table

    def synonyms(self, cids: Sequence[int]) -> dict[int, list[str]]:
        """Synonyms of many CIDs (most common first): one POST per :data:`LIST_BATCH`."""
        found: dict[int, list[str]] = {}
        for rows in self._post_lists(
            "/pug/compound/cid/synonyms/JSON", cids, "synonyms", _SYNONYM_LIST, "Information"
        ):
            for row in rows:
                if is_cid(row.get("CID")):
                    found[int(row["CID"])] = [str(s) for s in row.get("Synonym") or []]
        return found

    def annotations(self, cid: int) -> tuple[str | None, dict[str, str]]:
        """Description and key sections from PUG-View; empty when PubChem has none."""
        what = f"PUG-View record of CID {cid}"
        try:
            response = self.http.get(
                f"/pug_view/data/compound/{int(cid)}/JSON", what=what, expect=_RECORD
            )
        except NotFoundError:
            return None, {}
        return parse_pug_view(read_json(response, SERVICE, what))

    def _post_lists(
        self, path: str, cids: Sequence[int], label: str, expect: Expect, inner: str
    ) -> Iterator[list[Mapping[str, Any]]]:
        unique = list(dict.fromkeys(int(c) for c in cids))
        for chunk in _chunks(unique, LIST_BATCH):
            what = f"{label} of {len(chunk)} CID(s) starting {chunk[0]}"
            try:
                response = self.http.post(
                    path, {"cid": ",".join(map(str, chunk))}, what=what, expect=expect
                )
            except NotFoundError:
                continue  # none of this chunk exists
            table = read_json(response, SERVICE, what)[expect.keys[0]]
            rows = table.get(inner) if isinstance(table, dict) else None
            yield [row for row in rows if isinstance(row, dict)] if isinstance(rows, list) else []

    # --- records and documents -----------------------------------------------
    def compounds(
        self,
        queries: Sequence[str | int],
        *,
        kind: QueryKind = "auto",
        annotations: bool = True,
        skip_missing: bool = False,
    ) -> list[CompoundRecord]:
        """One record per distinct compound, in first-seen order of ``queries``."""
        if not queries:
            raise InvalidQueryError("no compound queries given", input_name="queries")
        resolved = self.resolve_cids(queries, kind, skip_missing=skip_missing)
        cids = list(dict.fromkeys(resolved.values()))
        table = self.properties(cids)
        absent = [str(cid) for cid in cids if cid not in table]
        shown = [f"CID {c}" for c in absent]
        self._handle_missing(shown, _missing_message(shown), skip_missing)
        cids = [cid for cid in cids if cid in table]
        names = self.synonyms(cids)
        notes: dict[int, tuple[str | None, dict[str, str]]] = {}
        if annotations:
            with ThreadPoolExecutor(max_workers=self.workers) as pool:
                notes = dict(zip(cids, pool.map(in_context(self.annotations), cids), strict=True))
        return [
            CompoundRecord(
                cid=cid,
                properties=table[cid],
                synonyms=tuple(names.get(cid, ())),
                description=notes.get(cid, (None, {}))[0],
                sections=notes.get(cid, (None, {}))[1],
            )
            for cid in cids
        ]

    def compound_documents(
        self,
        queries: Sequence[str | int],
        *,
        kind: QueryKind = "auto",
        annotations: bool = True,
        skip_missing: bool = False,
    ) -> list[Document]:
        """One :class:`Document` per distinct compound (names, CIDs, SMILES, InChIKeys)."""
        records = self.compounds(
            queries, kind=kind, annotations=annotations, skip_missing=skip_missing
        )
        return [record.to_document() for record in records]
