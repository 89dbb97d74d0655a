"""Offline fallback of the lookup tools: exact matches among records in the knowledge store.

When a lookup cannot reach its service (offline mode and no cached answer: an
:class:`~biomed_agent.errors.OfflineError`), ``uniprot_lookup`` and ``pubchem_lookup``
answer from a record already ingested into the store, if one matches the query
*exactly*: UniProt by accession, entry name, gene or protein name; PubChem by CID,
name or synonym, InChIKey or SMILES. Names compare case-insensitively; nothing fuzzy
(no semantic search) is ever returned. The result keeps the tool's schema, built from
the record's stored metadata; fields the store does not keep are ``None``, and
``retrieved_from`` says ``"knowledge store"`` (not ``source``: the agent's
citations read ``source`` as the record's database).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from biomed_agent.patterns import is_inchikey, is_uniprot_accession
from biomed_agent.retrievers.pubchem_records import PROPERTY_KEYS

if TYPE_CHECKING:
    from biomed_agent.retrievers.store import KnowledgeStore

__all__ = ["STORE_SOURCE", "stored_compound", "stored_protein"]

STORE_SOURCE = "knowledge store"
_PAGE = 500
_PROPERTIES = tuple(dict.fromkeys(key for key in PROPERTY_KEYS.values() if key != "name"))


def _first_chunks(store: KnowledgeStore, source: str) -> Iterator[dict[str, Any]]:
    """The metadata of every stored record of ``source`` (first chunks), a page at a time."""
    offset = 0
    while True:
        with store.errors("read"):
            found = store.collection.get(
                where={"$and": [{"source": source}, {"chunk": 0}]},
                include=["metadatas"],
                limit=_PAGE,
                offset=offset,
            )
        metadatas = found["metadatas"] or []
        for meta in metadatas:
            yield dict(meta or {})
        if len(metadatas) < _PAGE:
            return
        offset += _PAGE


def _record(store: KnowledgeStore, source: str, record_id: str) -> dict[str, Any] | None:
    chunks = store.get(source, record_id)
    return dict(chunks[0].metadata) if chunks else None


def _find(
    store: KnowledgeStore, source: str, matches: Callable[[dict[str, Any]], bool]
) -> list[dict[str, Any]]:
    return [meta for meta in _first_chunks(store, source) if matches(meta)]


def _same(value: object, query: str) -> bool:
    return isinstance(value, str) and value.strip().casefold() == query.casefold()


def _organism_matches(meta: dict[str, Any], organism: str | None) -> bool:
    if organism is None or not organism.strip():
        return True
    org = organism.strip()
    if org.isdigit():
        return str(meta.get("organism_id", "")) == org
    name = str(meta.get("organism", ""))
    return _same(name, org) or (org.casefold() == "human" and _same(name, "Homo sapiens"))


def _protein(meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "accession": meta.get("accession") or meta.get("record_id"),
        "name": meta.get("protein_name"),
        "gene": meta.get("gene"),
        "organism": meta.get("organism"),
        "reviewed": meta.get("reviewed"),
        "length": meta.get("length"),
        "function": meta.get("function"),
        "subcellular_location": meta.get("subcellular_location"),
        "disease": meta.get("disease"),
        "url": meta.get("url"),
        "other_matches": [],
        "retrieved_from": STORE_SOURCE,
    }


def stored_protein(
    store: KnowledgeStore, query: str, organism: str | None = None
) -> dict[str, Any] | None:
    """The ``uniprot_lookup`` result for the stored entry matching ``query`` exactly, if any."""
    query = query.strip()
    if is_uniprot_accession(query):
        meta = _record(store, "uniprot", query.upper())
        if meta is not None and _organism_matches(meta, organism):
            return _protein(meta)
    hits = _find(
        store,
        "uniprot",
        lambda m: (
            _organism_matches(m, organism)
            and any(_same(m.get(key), query) for key in ("uniprot_id", "gene", "protein_name"))
        ),
    )
    if not hits:
        return None
    hits.sort(key=lambda m: (not m.get("reviewed"), not _same(m.get("gene"), query)))
    result = _protein(hits[0])
    result["other_matches"] = [
        {
            "accession": m.get("accession") or m.get("record_id"),
            "name": m.get("protein_name"),
            "gene": m.get("gene"),
            "organism": m.get("organism"),
        }
        for m in hits[1:5]
    ]
    return result


def _compound(meta: dict[str, Any], synonyms_shown: int) -> dict[str, Any]:
    synonyms = [s for s in str(meta.get("synonyms", "")).split("; ") if s]
    return {
        "cid": meta.get("cid"),
        "name": meta.get("name") or meta.get("title"),
        "properties": {key: meta.get(key) for key in _PROPERTIES},
        "synonyms": synonyms[:synonyms_shown],
        "description": meta.get("description"),
        "sections": None,
        "url": meta.get("url"),
        "retrieved_from": STORE_SOURCE,
    }


def _compound_matches(meta: dict[str, Any], query: str) -> bool:
    if is_inchikey(query):
        return _same(meta.get("inchikey"), query)
    if _same(meta.get("name"), query) or meta.get("smiles") == query:
        return True
    if meta.get("connectivity_smiles") == query:
        return True
    return any(_same(s, query) for s in str(meta.get("synonyms", "")).split("; "))


def stored_compound(
    store: KnowledgeStore, query: str, synonyms_shown: int = 10
) -> dict[str, Any] | None:
    """The ``pubchem_lookup`` result for the stored compound matching ``query`` exactly."""
    query = query.strip()
    if query.isdigit():
        meta = _record(store, "pubchem", str(int(query)))
    else:
        hits = _find(store, "pubchem", lambda m: _compound_matches(m, query))
        meta = min(hits, key=lambda m: int(m.get("cid") or 0)) if hits else None
    return None if meta is None else _compound(meta, synonyms_shown)
