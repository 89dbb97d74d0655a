"""PubChem client (PUG-REST and PUG-View): identifiers to CIDs, batched properties, Documents.

Request budget for ``n`` compounds: one request per *name*, SMILES or InChIKey to
resolve (PUG-REST resolves one per request; they run concurrently under the 5/s
limiter), one POST per 1,000 CIDs for properties, one per 1,000 for synonyms, and one
PUG-View request per compound when annotations are asked for.

Both property vocabularies are read: before 2025 PUG-REST answered ``IsomericSMILES``
and ``CanonicalSMILES``; since 2025 it answers ``SMILES`` and ``ConnectivitySMILES``.
They are normalised to ``smiles`` and ``connectivity_smiles``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, get_args

from biomed_agent.errors import (
    InvalidIdentifierError,
    InvalidQueryError,
    NotFoundError,
    shorten,
)
from biomed_agent.retrievers.http import (
    RetryPolicy,
    ServiceClient,
    ServiceSession,
    quote_segment,
    read_json,
)
from biomed_agent.settings import Settings

if TYPE_CHECKING:
    from langchain_core.documents import Document

__all__ = ["CompoundRecord", "PubChemClient", "QueryKind", "classify_query", "compound_url"]


SERVICE = "PubChem"
QueryKind = Literal["auto", "cid", "name", "smiles", "inchikey", "inchi"]
_KINDS: tuple[str, ...] = get_args(QueryKind)

# PUG-REST property name -> our key (both the pre-2025 and the 2025 SMILES names)
PROPERTY_KEYS: dict[str, str] = {
    "Title": "name",
    "IUPACName": "iupac_name",
    "MolecularFormula": "formula",
    "MolecularWeight": "molecular_weight",
    "SMILES": "smiles",
    "IsomericSMILES": "smiles",
    "ConnectivitySMILES": "connectivity_smiles",
    "CanonicalSMILES": "connectivity_smiles",
    "InChI": "inchi",
    "InChIKey": "inchikey",
    "XLogP": "xlogp",
    "TPSA": "tpsa",
    "ExactMass": "exact_mass",
    "HBondDonorCount": "hbond_donors",
    "HBondAcceptorCount": "hbond_acceptors",
    "RotatableBondCount": "rotatable_bonds",
    "HeavyAtomCount": "heavy_atoms",
    "Charge": "charge",
}
_LEGACY_NAMES = ("IsomericSMILES", "CanonicalSMILES")
REQUESTED_PROPERTIES = tuple(name for name in PROPERTY_KEYS if name not in _LEGACY_NAMES)
_FLOAT_KEYS = frozenset({"molecular_weight", "exact_mass", "xlogp", "tpsa"})
_INT_KEYS = frozenset(
    {"hbond_donors", "hbond_acceptors", "rotatable_bonds", "heavy_atoms", "charge"}
)

DESCRIPTION_HEADING = "Record Description"
KEY_SECTIONS = (
    "Drug Indication",
    "Mechanism of Action",
    "Pharmacology",
    "Drug Classes",
    "Therapeutic Uses",
    "Toxicity Summary",
)
LIST_BATCH = 1000
"""CIDs per POST: one request for the 1,000-CID case (pubchempy's single request)."""
SYNONYMS_KEPT = 20
_SECTION_CHARS = 1500

_CID = re.compile(r"(?:cid[:\s]*)?(\d+)", re.IGNORECASE)
_INCHIKEY = re.compile(r"[A-Z]{14}-[A-Z]{10}-[A-Z]")
_SMILES_MARKS = frozenset("=#()[]@+\\/%")
_ORGANIC_ONLY = re.compile(r"(?:Cl|Br|[BCNOSPFIbcnosp]|\d)+")


def compound_url(cid: int) -> str:
    """The compound page used as citation."""
    return f"https://pubchem.ncbi.nlm.nih.gov/compound/{cid}"


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
        return "cid", _check_cid(str(query))
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
    if " " not in text and (_SMILES_MARKS & set(text) or _looks_like_plain_smiles(text)):
        return "smiles", text
    return "name", text


def _looks_like_plain_smiles(text: str) -> bool:
    """Organic-subset atoms whose ring-closure digits pair up ("CCO", "c1ccccc1"; not "C00267")."""
    return bool(_ORGANIC_ONLY.fullmatch(text)) and all(
        text.count(digit) % 2 == 0 for digit in set(text) if digit.isdigit()
    )


def _check_cid(digits: str) -> str:
    if not digits.isdigit() or int(digits) <= 0:
        raise InvalidIdentifierError(
            f"{digits!r} is not a PubChem CID (CIDs are positive integers, e.g. 2244)",
            input_name="query",
        )
    return str(int(digits))


def _normalise_properties(row: Mapping[str, Any]) -> dict[str, str | int | float]:
    """PUG-REST property row -> our keys, numbers as numbers (weights come as strings)."""
    out: dict[str, str | int | float] = {}
    for name, value in row.items():
        key = PROPERTY_KEYS.get(name)
        if key is None or value is None or value == "":
            continue
        if key in _FLOAT_KEYS:
            out[key] = float(value)
        elif key in _INT_KEYS:
            out[key] = int(value)
        else:
            out.setdefault(key, str(value))  # 2025 names first in REQUESTED_PROPERTIES
    return out


def _strings(information: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    for info in information:
        for item in info.get("Value", {}).get("StringWithMarkup", []):
            text = " ".join(str(item.get("String", "")).split())
            if text:
                yield text


def _find_sections(
    sections: Iterable[Mapping[str, Any]], wanted: set[str]
) -> Iterator[Mapping[str, Any]]:
    for section in sections:
        if section.get("TOCHeading") in wanted:
            yield section
        yield from _find_sections(section.get("Section", []), wanted)


def _section_text(section: Mapping[str, Any]) -> str:
    """Unique strings of a section and its subsections, cut to a readable length."""
    texts = list(dict.fromkeys(_strings(section.get("Information", []))))
    for child in section.get("Section", []):
        texts.extend(t for t in _strings(child.get("Information", [])) if t not in texts)
    joined = " ".join(texts)
    return joined if len(joined) <= _SECTION_CHARS else joined[: _SECTION_CHARS - 1] + "…"


def parse_pug_view(record: Mapping[str, Any]) -> tuple[str | None, dict[str, str]]:
    """(description, {heading: text}) from a PUG-View compound record."""
    sections = record.get("Record", {}).get("Section", [])
    found: dict[str, str] = {}
    for section in _find_sections(sections, {DESCRIPTION_HEADING, *KEY_SECTIONS}):
        heading = section["TOCHeading"]
        text = _section_text(section)
        if text and heading not in found:
            found[heading] = text
    return found.pop(DESCRIPTION_HEADING, None), {h: found[h] for h in KEY_SECTIONS if h in found}


@dataclass(frozen=True)
class CompoundRecord:
    """What PubChem says about one compound."""

    cid: int
    properties: dict[str, str | int | float]
    synonyms: tuple[str, ...] = ()
    description: str | None = None
    sections: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        title = self.properties.get("name")
        return str(title) if title else (self.synonyms[0] if self.synonyms else f"CID {self.cid}")

    @property
    def url(self) -> str:
        return compound_url(self.cid)

    def to_text(self) -> str:
        p = self.properties
        lines = [f"{self.name} (PubChem CID {self.cid})"]
        labelled = (
            ("IUPAC name", "iupac_name", ""),
            ("Molecular formula", "formula", ""),
            ("Molecular weight", "molecular_weight", " g/mol"),
            ("SMILES", "smiles", ""),
            ("InChIKey", "inchikey", ""),
            ("XLogP", "xlogp", ""),
            ("Topological polar surface area", "tpsa", " Å²"),
            ("H-bond donors", "hbond_donors", ""),
            ("H-bond acceptors", "hbond_acceptors", ""),
            ("Rotatable bonds", "rotatable_bonds", ""),
        )
        lines += [f"{label}: {p[key]}{unit}" for label, key, unit in labelled if key in p]
        if self.synonyms:
            lines.append("Synonyms: " + "; ".join(self.synonyms[:SYNONYMS_KEPT]))
        if self.description:
            lines.append(f"Description: {self.description}")
        lines += [f"{heading}: {text}" for heading, text in self.sections.items()]
        return "\n".join(lines)

    def to_document(self) -> Document:
        from langchain_core.documents import Document

        metadata: dict[str, str | int | float | bool] = {
            "source": "pubchem",
            "record_id": str(self.cid),
            "title": self.name,
            "url": self.url,
            "cid": self.cid,
            **self.properties,
            "name": self.name,
        }
        if self.synonyms:
            metadata["synonyms"] = "; ".join(self.synonyms[:SYNONYMS_KEPT])
        if self.description:
            metadata["description"] = self.description
        return Document(page_content=self.to_text(), metadata=metadata)


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
        detected, value = classify_query(query) if kind == "auto" else (kind, str(query).strip())
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
                f"/pug/compound/{detected}/{quote_segment(value)}/cids/JSON", what=what
            )
        else:  # SMILES and InChI carry '/', '#', '\\': PUG-REST takes them as a form
            response = self.http.post(
                f"/pug/compound/{detected}/cids/JSON", {detected: value}, what=what
            )
        cids = [
            int(c)
            for c in read_json(response, SERVICE, what).get("IdentifierList", {}).get("CID", [])
            if int(c) > 0
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
            answers = dict(zip(unique, pool.map(resolve, unique), strict=True))
        missing = {q: a for q, a in answers.items() if isinstance(a, NotFoundError)}
        shown = [shorten(q) for q in missing]
        self._handle_missing(shown, _missing_message(shown), skip_missing)
        return {q: a for q, a in answers.items() if isinstance(a, int)}

    # --- batched tables ------------------------------------------------------
    def properties(self, cids: Sequence[int]) -> dict[int, dict[str, str | int | float]]:
        """Properties of many CIDs: one POST per :data:`LIST_BATCH`; absent CIDs are left out."""
        path = f"/pug/compound/cid/property/{','.join(REQUESTED_PROPERTIES)}/JSON"
        table: dict[int, dict[str, str | int | float]] = {}
        for rows in self._post_lists(path, cids, "properties", ("PropertyTable", "Properties")):
            for row in rows:
                table[int(row["CID"])] = _normalise_properties(row)
        return table

    def synonyms(self, cids: Sequence[int]) -> dict[int, list[str]]:
        """Synonyms of many CIDs (most common first): one POST per :data:`LIST_BATCH`."""
        found: dict[int, list[str]] = {}
        for rows in self._post_lists(
            "/pug/compound/cid/synonyms/JSON", cids, "synonyms", ("InformationList", "Information")
        ):
            for row in rows:
                found[int(row["CID"])] = [str(s) for s in row.get("Synonym", [])]
        return found

    def annotations(self, cid: int) -> tuple[str | None, dict[str, str]]:
        """Description and key sections from PUG-View; empty when PubChem has none."""
        what = f"PUG-View record of CID {cid}"
        try:
            response = self.http.get(f"/pug_view/data/compound/{int(cid)}/JSON", what=what)
        except NotFoundError:
            return None, {}
        return parse_pug_view(read_json(response, SERVICE, what))

    def _post_lists(
        self, path: str, cids: Sequence[int], label: str, keys: tuple[str, str]
    ) -> Iterator[list[Mapping[str, Any]]]:
        unique = list(dict.fromkeys(int(c) for c in cids))
        for chunk in _chunks(unique, LIST_BATCH):
            what = f"{label} of {len(chunk)} CID(s) starting {chunk[0]}"
            try:
                response = self.http.post(path, {"cid": ",".join(map(str, chunk))}, what=what)
            except NotFoundError:
                continue  # none of this chunk exists
            yield read_json(response, SERVICE, what).get(keys[0], {}).get(keys[1], [])

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
                notes = dict(zip(cids, pool.map(self.annotations, cids), strict=True))
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
