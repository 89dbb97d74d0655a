"""The model-free answer: a cited report assembled from tool results and records.

Every value printed is copied from a tool result or record field and every line ends
with the number of the evidence it came from; sentences from a record (PubChem
description, UniProt function, an abstract, a user's file) appear only as cited ``>``
quotes. Every clause of the question is answered or listed under "Not answered" with
the reason; readings of misspelt names, unresolved names and invalid SMILES are said.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from biomed_agent.agent.compose_molecules import (
    Numbers,
    bbb_reason,
    compound_sections,
    first_sentences,
)
from biomed_agent.agent.state import Entities, Evidence, Observation

__all__ = ["templated_answer"]

_PROTEIN_FIELDS: tuple[tuple[str, str], ...] = (
    ("function", "Function"),
    ("subcellular_location", "Location"),
    ("disease", "Disease"),
)
_LITERATURE_LIMIT = 5
_MOLECULE_TOOLS = frozenset({"molecule_properties", "drug_likeness"})
_WORKFLOW_TOOLS = {
    "targets": ("target_ligands", "profile_molecules"),
    "analogs": ("similar_compounds", "molecule_similarity"),
    "bioactivity": ("compound_bioactivity",),
    "safety": ("compound_safety",),
}
_DISCOVERY = frozenset(tool for tools in _WORKFLOW_TOOLS.values() for tool in tools) - {
    "molecule_similarity"
}


def _discovery_sections(observations: Sequence[Observation], cite: Numbers) -> list[str]:
    """Cited lines of :mod:`.workflows` for the drug-discovery tools (when present)."""
    try:
        from biomed_agent.agent.workflows import render_discovery
    except ImportError:  # the drug-discovery flows are optional
        return []
    lines = render_discovery(observations, lambda key: cite.of(key))
    return [*lines, ""] if lines else []


def _protein_sections(cite: Numbers) -> list[str]:
    lines: list[str] = []
    for number, item in cite.records("uniprot"):
        details = item["details"]
        extra = ", ".join(str(v) for v in (details.get("gene"), details.get("organism")) if v)
        lines += [
            f"**{item['title']}** ({extra + '; ' if extra else ''}UniProt {item['record_id']}) "
            f"[{number}]",
            "",
        ]
        for key, label in _PROTEIN_FIELDS:
            if details.get(key):
                lines.append(f"- {label} (UniProt):")
                lines.append(f"  > {first_sentences(details[key], 3)} [{number}]")
        lines.append("")
    return lines


_STOP = frozenset(
    [
        "what",
        "which",
        "does",
        "did",
        "the",
        "and",
        "for",
        "with",
        "from",
        "that",
        "this",
        "about",
        "into",
        "when",
        "were",
        "was",
        "why",
        "how",
        "have",
        "has",
        "its",
        "their",
        "them",
        "they",
        "there",
        "then",
        "than",
        "been",
        "being",
        "also",
        "only",
        "most",
        "more",
        "does",
    ]
)


_ANSWERING = ("CONCLUSION", "RESULTS", "INTERPRETATION", "FINDINGS")


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9][a-z0-9-]{2,}", text.lower()) if w not in _STOP}


def _passage(item: Evidence, question: str) -> str:
    """The passage to quote: the abstract section or chunk paragraph sharing most words with
    the question (any paragraph length; headings and JSON left out)."""
    abstract = item["details"].get("abstract")
    text = abstract if isinstance(abstract, str) and abstract.strip() else item["text"]
    paragraphs = [
        " ".join(p.split())
        for p in re.split(r"\n\s*\n|\n(?=[A-Z]+: )", text)
        if p.strip()
        and not p.lstrip().startswith(("{", "#", item["title"]))  # JSON, headings, header
        and "Authors:" not in p
    ]
    if not paragraphs:
        return ""
    wanted = _words(question)

    def overlap_of(paragraph: str) -> int:  # an abstract's conclusion answers first
        return len(wanted & _words(paragraph)) + 2 * paragraph.startswith(_ANSWERING)

    ranked = sorted(paragraphs, key=lambda p: -overlap_of(p))  # stable: text order
    overlap = [overlap_of(p) for p in ranked]
    shown = [ranked[0]]
    if len(ranked) > 1 and overlap[1] >= max(1, overlap[0] - 1):
        shown.append(ranked[1])  # two passages share the question's words: quote both
    return " … ".join(first_sentences(p, 3) for p in shown)


def _where(item: Evidence) -> str:
    details = item["details"]
    if item["source"] == "file":
        name = details.get("file_name") or Path(urlsplit(item["url"] or "").path).name
        parts = [str(name or item["title"])]
        if details.get("page") is not None:
            parts.append(f"page {details['page']}")
        if details.get("chunk") is not None:
            parts.append(f"passage {int(details['chunk']) + 1}")
        return ", ".join(parts)
    return ", ".join(str(v) for v in (details.get("journal"), details.get("year")) if v)


def _literature_section(cite: Numbers, question: str) -> list[str]:
    records = [*cite.records("pubmed"), *cite.records("file"), *cite.records("web")]
    if not records:
        return []
    records.sort(key=lambda pair: -float(pair[1]["details"].get("score") or 0.0))
    lines = ["Literature and documents (most relevant first):", ""]
    for number, item in records[:_LITERATURE_LIMIT]:
        where = _where(item)
        kind = "your file" if item["source"] == "file" else "article"
        lines.append(f"- {item['title']} ({kind}{'; ' + where if where else ''}) [{number}]")
        passage = _passage(item, question)
        if passage:
            lines.append(f"  > {passage} [{number}]")  # quoted record text, not our claim
    return [*lines, ""]


def _other_computations(observations: Sequence[Observation], cite: Numbers) -> list[str]:
    lines: list[str] = []
    for obs in observations:
        key = f"tool:{obs['id']}"
        skip = _MOLECULE_TOOLS | _DISCOVERY
        if obs["status"] != "ok" or obs["tool"] in skip or key not in cite.by_key:
            continue
        summary = "; ".join(
            f"{name}: {value}"
            for name, value in obs["result"].items()
            if isinstance(value, str | int | float | bool) and name != "sequence"
        )
        lines.append(f"- {cite.evidence[cite.by_key[key] - 1]['title']}: {summary}{cite.of(key)}")
    return [*lines, ""] if lines else []


def _ran(observations: Sequence[Observation], tools: Sequence[str]) -> bool:
    return any(o["tool"] in tools and o["status"] == "ok" for o in observations)


def _not_answered(
    understanding: Mapping[str, Any],
    observations: Sequence[Observation],
    cite: Numbers,
    entities: Entities,
) -> list[str]:
    """Each clause the evidence does not answer, with the reason."""
    profiled = _ran(observations, (*_MOLECULE_TOOLS, "profile_molecules"))
    inorganic = any(v.get("inorganic") for v in (understanding.get("standardized") or {}).values())
    literature = bool(cite.records("pubmed") or cite.records("file") or cite.records("web"))
    protein = bool(cite.records("uniprot"))
    lines = []
    for clause in understanding.get("clauses") or []:
        intent, text = clause["intent"], clause["text"]
        reason = None
        if intent in ("properties", "druglikeness", "compare") and not profiled:
            reason = "no compound of this clause could be resolved to a structure"
        elif intent == "druglikeness" and inorganic and not _ran(observations, ("drug_likeness",)):
            reason = "an inorganic salt has no drug-likeness verdict"
        elif intent == "bbb":
            reason = bbb_reason(observations, cite)
        elif intent in ("function", "variants") and not (
            protein or _ran(observations, ("variant_effect",))
        ):
            reason = "no protein record was found for it"
        elif intent in _WORKFLOW_TOOLS and not _ran(observations, _WORKFLOW_TOOLS[intent]):
            if intent == "analogs" or not literature:
                reason = f"no {intent} data source answered it here" + (
                    "; the passages above are the closest evidence" if literature else ""
                )
        elif intent == "literature" and not literature:
            reason = "no article or document in reach discusses it"
        elif intent == "out_of_scope":
            reason = "outside the biomedical scope of this assistant"
        if reason:
            lines.append(f'- "{text}": {reason}.')
    return ["Not answered:", *lines, ""] if lines else []


def _understood(understanding: Mapping[str, Any]) -> list[str]:
    lines = [f"Read '{r['written']}' as {r['read_as']}." for r in understanding.get("readings", [])]
    known = understanding.get("known_drugs") or {}
    where = (
        "offline in the knowledge store"
        if understanding.get("offline")
        else ("in PubChem or the knowledge store")
    )
    for name in understanding.get("unresolved", []):
        if known.get(name):
            lines.append(
                f"'{name}' is a known drug ({known[name]}), but I could not find its structure "
                f"{where}; give its SMILES or PubChem CID instead."
            )
        else:
            lines.append(
                f"I could not identify '{name}' {where}; give its SMILES or PubChem CID instead."
            )
    return [*lines, ""] if lines else []


def _failures(observations: Sequence[Observation], understanding: Mapping[str, Any]) -> list[str]:
    failed = [obs for obs in observations if obs["status"] == "error" and obs["error"]]
    bad = understanding.get("invalid_smiles") or []
    if not failed and not bad:
        return []
    lines = ["Not checked (a step failed or an input was invalid):"]
    for obs in failed:
        error = obs["error"] or {}
        lines.append(f"- {obs['tool']}: {error.get('type')}: {error.get('message')}")
    for smiles in bad:
        lines.append(f"- '{smiles}' is not a valid SMILES (RDKit cannot parse it); check it")
    return [*lines, ""]


def templated_answer(
    question: str,
    entities: Entities,
    observations: Sequence[Observation],
    evidence: Sequence[Evidence],
    understanding: Mapping[str, Any] | None = None,
    tools: Mapping[str, Any] | None = None,
) -> str:
    """A cited markdown answer built from the observations and evidence alone."""
    understanding = understanding or {}
    cite = Numbers(evidence)
    body = [
        *compound_sections(observations, entities, cite, understanding.get("standardized") or {}),
        *_protein_sections(cite),
        *_discovery_sections(observations, cite),
        *_other_computations(observations, cite),
        *_literature_section(cite, question),
    ]
    if not body:
        body = [
            "I found no record or computation that answers this question"
            " (no compound, protein or literature evidence was retrieved).",
            "",
        ]
    lines = [
        *_understood(understanding),
        *body,
        *_not_answered(understanding, observations, cite, entities),
        *_failures(observations, understanding),
    ]
    return "\n".join(lines).strip() + "\n"
