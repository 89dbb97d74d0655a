"""The relevance gate: evidence enters an answer only when it concerns the question.

An item passes when it is tied to an entity the question names — a computation on
the question's compound or sequence, the record of a compound/protein the question
resolved to, a passage mentioning a name, symbol, accession, code (``KX-902``) or
PMID of the question — or when its retrieval score clears :data:`MIN_SCORE`,
calibrated on ``benchmarks/agent_questions.jsonl`` (see ``docs/benchmarks.md``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from biomed_agent.agent.state import Entities, Evidence

__all__ = ["MIN_SCORE", "entity_terms", "relevant_evidence", "searched_keys"]

MIN_SCORE = 0.55
"""Store cosine similarity above which a passage naming no entity of the question still
counts. Calibrated with ``benchmarks/eval_agent.py``: over the question set's top-5 store
passages, unrelated passages naming no entity of the question scored at most 0.446
(n=180), so none clears it; see ``docs/benchmarks.md``."""
_TOPIC_SOURCES = frozenset({"pubmed", "file", "web"})


def entity_terms(entities: Entities, understanding: Mapping[str, Any]) -> set[str]:
    """Lower-case words/ids that tie a passage to the question."""
    terms: set[str] = set()
    for compound in entities["compounds"]:
        if compound["name"]:
            terms.add(compound["name"].lower())
        if compound["cid"] is not None:
            terms.add(str(compound["cid"]))
    terms |= {a.lower() for a in entities["accessions"]}
    terms |= {g.lower() for g in entities["genes"]}
    terms |= set(entities["pmids"])
    terms |= {m.lower() for m in understanding.get("mentions", [])}
    terms |= {r["written"].lower() for r in understanding.get("readings", [])}
    terms |= {c.lower() for c in understanding.get("codes", [])}
    terms |= {p.lower() for p in understanding.get("protein_names", [])}
    return {t for t in terms if len(t) >= 3}


def _mentions(item: Evidence, terms: Iterable[str]) -> bool:
    haystack = " ".join(
        [item["title"], item["text"], str(item["record_id"] or "")]
        + [str(v) for v in item["details"].values() if isinstance(v, str)]
    ).lower()
    return any(
        re.search(rf"(?<![a-z0-9]){re.escape(term)}(?![a-z0-9])", haystack) for term in terms
    )


def searched_keys(observations: Iterable[Mapping[str, Any]]) -> set[str]:
    """Evidence keys of the articles a PubMed search (on the question's entities) returned."""
    keys = set()
    for obs in observations:
        if obs["tool"] == "pubmed_search" and obs["status"] == "ok":
            for article in (obs["result"] or {}).get("articles") or []:
                if isinstance(article, Mapping) and article.get("pmid"):
                    keys.add(f"pubmed:{article['pmid']}")
    return keys


def relevant_evidence(
    evidence: list[Evidence],
    entities: Entities,
    understanding: Mapping[str, Any],
    searched: Iterable[str] = (),
) -> list[Evidence]:
    """The items of ``evidence`` tied to the question (order kept).

    ``searched``: keys of articles a PubMed search built from the question's entities
    returned (PubMed's index tied them to the entity; see :func:`searched_keys`).
    """
    terms = entity_terms(entities, understanding)
    searched = set(searched)
    kept = []
    for item in evidence:
        if item["source"] == "tool" or item["key"] in searched:
            kept.append(item)  # computed on / searched for an entity of the question
        elif item["source"] in _TOPIC_SOURCES or item["details"].get("score") is not None:
            score = item["details"].get("score")
            related = _mentions(item, terms) if terms else False
            if related or (isinstance(score, int | float) and score >= MIN_SCORE):
                kept.append(item)
        elif (
            _mentions(item, terms)
            or item["record_id"] in _named_records(entities)
            or _names_protein(item, understanding.get("protein_names") or [])
        ):
            kept.append(item)
    return kept


def _names_protein(item: Evidence, names: Iterable[str]) -> bool:
    """A UniProt record whose name holds every word of a protein name of the question
    ("adenosine A1 receptor" -> "Adenosine receptor A1")."""
    if item["source"] != "uniprot":
        return False
    title = set(re.findall(r"[a-z0-9]+", item["title"].lower()))
    return any(set(re.findall(r"[a-z0-9]+", name.lower())) <= title for name in names)


def _named_records(entities: Entities) -> set[str]:
    ids = {str(c["cid"]) for c in entities["compounds"] if c["cid"] is not None}
    return ids | set(entities["accessions"]) | set(entities["pmids"])
