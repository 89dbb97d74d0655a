"""PubChem bioactivity and safety: assay summaries, bioactivity by target, GHS from PUG-View.

Built on :class:`~biomed_agent.retrievers.pubchem.PubChemClient` (its session, cache,
5/s rate limiter and retries). Request budget:

* :func:`compound_activity`: one POST per :data:`ASSAY_BATCH` CIDs
  (``/compound/cid/assaysummary/JSON``) plus one POST for the gene symbols of every
  target (``/gene/geneid/summary/JSON``).
* :func:`target_activity`: one GET (``/protein/accession/{acc}/concise/JSON``).
* :func:`compound_ghs`: one GET (``/pug_view/data/compound/{cid}/JSON?heading=GHS+Classification``).

Assay tables (``assaysummary`` and ``concise``) share PubChem's documented layout
``{"Table": {"Columns": {"Column": [...]}, "Row": [{"Cell": [...]}, ...]}}`` with the
columns ``AID, Panel Member ID, SID, CID, Activity Outcome, Target Accession,
Target GeneID, Activity Value [uM], Activity Name, Assay Name, Assay Type, PubMed ID, RNAi``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from biomed_agent.errors import NotFoundError
from biomed_agent.retrievers.http import quote_segment, read_json
from biomed_agent.retrievers.pubchem import SERVICE, PubChemClient

__all__ = [
    "ASSAY_BATCH",
    "ActivityRow",
    "GhsClassification",
    "TargetSummary",
    "compound_activity",
    "compound_ghs",
    "gene_symbols",
    "parse_activity_table",
    "parse_ghs",
    "summarise_targets",
    "target_activity",
]

ASSAY_BATCH = 100
"""CIDs per assay-summary POST (a drug's summary runs to thousands of rows)."""
GHS_HEADING = "GHS Classification"


def _number(value: object) -> float | None:
    try:
        number = float(str(value))
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _int(value: object) -> int | None:
    number = _number(value)
    return int(number) if number is not None else None


def _text(value: object) -> str:
    return "" if value is None else " ".join(str(value).split())


@dataclass(frozen=True)
class ActivityRow:
    """One tested substance in one assay (a row of an assay summary or concise table)."""

    aid: int
    cid: int | None
    outcome: str
    target_accession: str
    target_gene_id: int | None
    activity_name: str
    activity_value_um: float | None
    assay_name: str
    assay_type: str
    pubmed_id: str

    @property
    def active(self) -> bool:
        return self.outcome.lower() == "active"


def parse_activity_table(payload: Mapping[str, Any]) -> list[ActivityRow]:
    """Rows of a PubChem assay ``Table`` (``assaysummary`` or ``concise``), by column name."""
    table = payload.get("Table") or {}
    columns = [str(c) for c in (table.get("Columns") or {}).get("Column") or []]
    rows: list[ActivityRow] = []
    for raw in table.get("Row") or []:
        cells = dict(zip(columns, raw.get("Cell") or [], strict=False))
        aid = _int(cells.get("AID"))
        if aid is None:
            continue
        rows.append(
            ActivityRow(
                aid=aid,
                cid=_int(cells.get("CID")),
                outcome=_text(cells.get("Activity Outcome") or cells.get("Bioactivity Outcome")),
                target_accession=_text(cells.get("Target Accession")),
                target_gene_id=_int(cells.get("Target GeneID")),
                activity_name=_text(cells.get("Activity Name")),
                activity_value_um=_number(cells.get("Activity Value [uM]")),
                assay_name=_text(cells.get("Assay Name")),
                assay_type=_text(cells.get("Assay Type")),
                pubmed_id=_text(cells.get("PubMed ID")),
            )
        )
    return rows


@dataclass
class TargetSummary:
    """What one compound (or all compounds) did against one target."""

    accession: str
    gene_id: int | None
    symbol: str = ""
    name: str = ""
    tested: int = 0
    active: int = 0
    best_um: float | None = None
    best_activity: str = ""
    best_aid: int | None = None
    aids: set[int] = field(default_factory=set)

    def add(self, row: ActivityRow) -> None:
        self.tested += 1
        self.aids.add(row.aid)
        if not row.active:
            return
        self.active += 1
        value = row.activity_value_um
        if value is not None and (self.best_um is None or value < self.best_um):
            self.best_um, self.best_activity, self.best_aid = value, row.activity_name, row.aid


def summarise_targets(rows: Iterable[ActivityRow]) -> list[TargetSummary]:
    """Per-target counts and best (lowest) active potency; most potent, then most active first."""
    by_target: dict[str, TargetSummary] = {}
    for row in rows:
        key = row.target_accession or (f"gene:{row.target_gene_id}" if row.target_gene_id else "")
        if not key:
            continue
        summary = by_target.setdefault(key, TargetSummary(row.target_accession, row.target_gene_id))
        summary.add(row)
    return sorted(
        by_target.values(),
        key=lambda s: (s.best_um is None, s.best_um or 0.0, -s.active, s.accession),
    )


def _chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def compound_activity(client: PubChemClient, cids: Sequence[int]) -> dict[int, list[ActivityRow]]:
    """Assay-summary rows of many CIDs (one POST per :data:`ASSAY_BATCH`); none -> empty list."""
    unique = list(dict.fromkeys(int(c) for c in cids))
    found: dict[int, list[ActivityRow]] = {cid: [] for cid in unique}
    for chunk in _chunks(unique, ASSAY_BATCH):
        what = f"assay summary of {len(chunk)} CID(s) starting {chunk[0]}"
        try:
            response = client.http.post(
                "/pug/compound/cid/assaysummary/JSON", {"cid": ",".join(map(str, chunk))}, what=what
            )
        except NotFoundError:
            continue  # PubChem has no bioassay data for any CID of this chunk
        for row in parse_activity_table(read_json(response, SERVICE, what)):
            if row.cid in found:
                found[row.cid].append(row)
    return found


def target_activity(client: PubChemClient, accession: str) -> list[ActivityRow]:
    """PubChem's concise bioactivity table for a protein accession; empty when it has none."""
    what = f"bioactivity of protein {accession}"
    try:
        response = client.http.get(
            f"/pug/protein/accession/{quote_segment(accession)}/concise/JSON", what=what
        )
    except NotFoundError:
        return []
    return parse_activity_table(read_json(response, SERVICE, what))


def gene_symbols(client: PubChemClient, gene_ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """Gene ID -> (symbol, name) from ``/gene/geneid/summary``, one POST for all of them."""
    unique = sorted({int(g) for g in gene_ids})
    if not unique:
        return {}
    what = f"gene summary of {len(unique)} gene ID(s)"
    try:
        response = client.http.post(
            "/pug/gene/geneid/summary/JSON", {"geneid": ",".join(map(str, unique))}, what=what
        )
    except NotFoundError:
        return {}
    summaries = read_json(response, SERVICE, what).get("GeneSummaries", {}).get("GeneSummary", [])
    return {
        int(s["GeneID"]): (_text(s.get("Symbol")), _text(s.get("Name")))
        for s in summaries
        if _int(s.get("GeneID")) is not None
    }


# --- GHS classification (PUG-View) -------------------------------------------------------


@dataclass
class GhsClassification:
    """One depositor's GHS classification of a compound."""

    source: str
    source_url: str | None
    signal: str = ""
    pictograms: list[str] = field(default_factory=list)
    hazard_statements: list[str] = field(default_factory=list)
    precautionary_codes: str = ""
    notifications: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "depositor": self.source,
            "depositor_url": self.source_url,
            "signal": self.signal or None,
            "pictograms": self.pictograms,
            "hazard_statements": self.hazard_statements,
            "precautionary_codes": self.precautionary_codes or None,
            "notifications": self.notifications or None,
        }


def _find(sections: Iterable[Mapping[str, Any]], heading: str) -> Iterator[Mapping[str, Any]]:
    for section in sections:
        if section.get("TOCHeading") == heading:
            yield section
        yield from _find(section.get("Section") or [], heading)


def _strings(info: Mapping[str, Any]) -> list[str]:
    return [
        _text(item.get("String"))
        for item in (info.get("Value") or {}).get("StringWithMarkup") or []
        if _text(item.get("String"))
    ]


def _pictograms(info: Mapping[str, Any]) -> list[str]:
    names = []
    for item in (info.get("Value") or {}).get("StringWithMarkup") or []:
        for markup in item.get("Markup") or []:
            extra = _text(markup.get("Extra"))
            if markup.get("Type") == "Icon" and extra:
                names.append(extra)
    return names


def parse_ghs(record: Mapping[str, Any]) -> list[GhsClassification]:
    """One classification per depositor (reference) from a PUG-View record or heading view."""
    body = record.get("Record") or {}
    references = {
        ref.get("ReferenceNumber"): ref
        for ref in body.get("Reference") or []
        if isinstance(ref, dict)
    }
    found: dict[Any, GhsClassification] = {}
    for section in _find(body.get("Section") or [], GHS_HEADING):
        for info in section.get("Information") or []:
            number = info.get("ReferenceNumber")
            ref = references.get(number, {})
            entry = found.get(number)
            if entry is None:
                entry = GhsClassification(
                    source=_text(ref.get("SourceName")) or "unnamed depositor",
                    source_url=ref.get("URL") or None,
                )
                found[number] = entry
            name = info.get("Name")
            texts = _strings(info)
            if name == "Pictogram(s)":
                entry.pictograms += [p for p in _pictograms(info) if p not in entry.pictograms]
            elif name == "Signal" and texts:
                entry.signal = texts[0]
            elif name == "GHS Hazard Statements":
                entry.hazard_statements += [t for t in texts if t not in entry.hazard_statements]
            elif name == "Precautionary Statement Codes" and texts:
                entry.precautionary_codes = " ".join(texts)
            elif name == "ECHA C&L Notifications Summary" and texts:
                entry.notifications = " ".join(texts)
    return [entry for entry in found.values() if entry.hazard_statements or entry.signal]


def compound_ghs(client: PubChemClient, cid: int) -> list[GhsClassification]:
    """GHS classifications deposited for a CID; empty when PubChem has none."""
    what = f"GHS classification of CID {int(cid)}"
    try:
        response = client.http.get(
            f"/pug_view/data/compound/{int(cid)}/JSON", {"heading": GHS_HEADING}, what=what
        )
    except NotFoundError:
        return []
    return parse_ghs(read_json(response, SERVICE, what))
