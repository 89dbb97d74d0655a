"""Evidence and numbered citations: every claim of an answer points at one of these.

Evidence comes from two places: tool observations (a PubChem, UniProt or PubMed
record a lookup returned, a store passage, or a named tool computation) and the
store passages the *ground* node retrieves. Items with the same ``key``
(``source:record_id``) are one source, so a record found twice is cited once.
Citation ``[n]`` is the n-th evidence item; :func:`renumber` compacts the
numbers an answer actually uses to ``1..m`` in order of first use.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

from biomed_agent.agent.state import Evidence, Observation
from biomed_agent.tools.arguments import LINK_KEY

__all__ = [
    "CITATION",
    "Citation",
    "cited_numbers",
    "evidence_from_hits",
    "evidence_from_observations",
    "merge_evidence",
    "renumber",
]

CITATION = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
"""``[3]`` or ``[1, 4]`` in answer text."""

_SOURCE_OF_TOOL = {
    "pubchem_lookup": "pubchem",
    "uniprot_lookup": "uniprot",
    "pubmed_search": "pubmed",
}
_SOURCE_OF_HOST = {
    "pubchem.ncbi.nlm.nih.gov": "pubchem",
    "www.uniprot.org": "uniprot",
    "rest.uniprot.org": "uniprot",
    "pubmed.ncbi.nlm.nih.gov": "pubmed",
}
_ID_KEYS = ("record_id", "cid", "accession", "pmid")
_TITLE_KEYS = ("title", "name", "protein_name")
_SCALAR = (str, int, float, bool)


class Citation(BaseModel):
    """One numbered source of an answer."""

    id: int
    """The number used in the answer text, ``[id]``."""
    source: str
    """``pubchem``, ``uniprot``, ``pubmed``, ``file`` (a stored local file) or ``tool``."""
    title: str
    """Compound name, protein name, article title, or the computation done."""
    url: str | None = None
    """Record page (PubChem compound, UniProt entry, PubMed article); None for computations."""
    tool: str | None = None
    """Name of the tool whose computation this is (``source == "tool"``)."""
    record_id: str | None = None
    """CID, accession or PMID of a record."""
    arguments: dict[str, Any] = Field(default_factory=dict)
    """Arguments of the tool computation (empty for records)."""


def _record_source(item: Mapping[str, Any], tool: str) -> str | None:
    if isinstance(item.get("source"), str):
        return str(item["source"])
    url = item.get(LINK_KEY)
    if isinstance(url, str):
        host = urlsplit(url).netloc
        if host in _SOURCE_OF_HOST:
            return _SOURCE_OF_HOST[host]
    return _SOURCE_OF_TOOL.get(tool)


def _is_record(item: object) -> bool:
    return isinstance(item, Mapping) and isinstance(item.get(LINK_KEY), str)


def _first(item: Mapping[str, Any], keys: Iterable[str]) -> str | None:
    for key in keys:
        value = item.get(key)
        if value not in (None, ""):
            return str(value)
    return None


def _record_evidence(item: Mapping[str, Any], tool: str) -> Evidence:
    source = _record_source(item, tool) or "web"
    record_id = _first(item, _ID_KEYS)
    url = item.get(LINK_KEY)
    text = item["text"] if isinstance(item.get("text"), str) else _as_text(item)
    return Evidence(
        key=f"{source}:{record_id or url}",
        source=source,
        record_id=record_id,
        title=_first(item, _TITLE_KEYS) or f"{source} record {record_id}",
        url=str(url),
        tool=None,
        arguments={},
        details=_scalars(item),
        text=text,
    )


def _scalars(item: Mapping[str, Any]) -> dict[str, Any]:
    """Scalar fields of a record, nested mappings (``properties``) flattened one level."""
    flat: dict[str, Any] = {}
    for key, value in item.items():
        if isinstance(value, Mapping):
            flat.update({k: v for k, v in value.items() if isinstance(v, _SCALAR)})
        elif isinstance(value, _SCALAR):
            flat[key] = value
    return flat


def _as_text(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _computation_title(observation: Observation) -> str:
    shown = ", ".join(f"{name}={_short(value)}" for name, value in observation["args"].items())
    return f"{observation['tool']}({shown})"


def _short(value: object, limit: int = 40) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def evidence_from_observations(observations: Iterable[Observation]) -> list[Evidence]:
    """Citable evidence in every successful observation, in step order.

    Results that hold records (a ``url``, alone or in a list such
    as ``articles`` or ``hits``) give one item per record; any other result is a
    named tool computation.
    """
    items: list[Evidence] = []
    for observation in sorted(observations, key=lambda obs: obs["id"]):
        if observation["status"] != "ok":
            continue
        result = observation["result"]
        records: list[Mapping[str, Any]] | None = None
        if _is_record(result):
            records = [result]
        elif isinstance(result, Mapping):
            lists = [v for v in result.values() if isinstance(v, list)]
            if lists and all(_is_record(item) for value in lists for item in value):
                records = [item for value in lists for item in value]  # may be none found
        if records is not None:
            items.extend(_record_evidence(record, observation["tool"]) for record in records)
        else:
            items.append(
                Evidence(
                    key=f"tool:{observation['id']}",
                    source="tool",
                    record_id=None,
                    title=_computation_title(observation),
                    url=None,
                    tool=observation["tool"],
                    arguments=dict(observation["args"]),
                    details={},
                    text=_as_text(result),
                )
            )
    return merge_evidence(items)


def evidence_from_hits(hits: Iterable[Mapping[str, Any]]) -> list[Evidence]:
    """Evidence from store search hits (``SearchHit.to_dict()`` form)."""
    return merge_evidence(_record_evidence(hit, "knowledge_search") for hit in hits)


def merge_evidence(items: Iterable[Evidence]) -> list[Evidence]:
    """Join items with the same key (first title/url kept, distinct texts appended)."""
    merged: dict[str, Evidence] = {}
    for item in items:
        known = merged.get(item["key"])
        if known is None:
            merged[item["key"]] = Evidence(**item)
            continue
        if item["text"] not in known["text"]:
            known["text"] = f"{known['text']}\n\n{item['text']}"
        known["details"] = {**item["details"], **known["details"]}
    return list(merged.values())


def cited_numbers(text: str) -> list[int]:
    """Citation numbers in ``text`` in order of first use."""
    numbers: list[int] = []
    for match in CITATION.finditer(text):
        for part in match.group(1).split(","):
            number = int(part)
            if number not in numbers:
                numbers.append(number)
    return numbers


def renumber(text: str, evidence: list[Evidence]) -> tuple[str, list[Citation]]:
    """Rewrite citations to ``1..m`` in order of first use; the matching citation list.

    Numbers that point at no evidence are left as they are (verification flags them).
    """
    used = [n for n in cited_numbers(text) if 1 <= n <= len(evidence)]
    mapping = {old: new for new, old in enumerate(used, start=1)}

    def replace(match: re.Match[str]) -> str:
        parts = [int(p) for p in match.group(1).split(",")]
        return "[" + ", ".join(str(mapping.get(p, p)) for p in parts) + "]"

    citations = [citation_for(evidence[old - 1], new) for old, new in mapping.items()]
    return CITATION.sub(replace, text), citations


def citation_for(item: Evidence, number: int) -> Citation:
    """The public citation of an evidence item."""
    return Citation(
        id=number,
        source=item["source"],
        title=item["title"],
        url=item["url"],
        tool=item["tool"],
        record_id=item["record_id"],
        arguments=dict(item["arguments"]),
    )
