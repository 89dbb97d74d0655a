"""The model-free answer: a cited report assembled from tool results and records.

Every value printed is copied from a tool result or record field, and every
line ends with the number of the evidence it came from, so the same
verification that checks a model's answer passes this one by construction.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from biomed_agent.agent.state import Entities, Evidence, Observation

__all__ = ["templated_answer"]

# (result key, label, unit) of the molecule_properties rows shown, in order
_PROPERTY_ROWS: tuple[tuple[str, str, str], ...] = (
    ("formula", "Formula", ""),
    ("molecular_weight", "Molecular weight", " g/mol"),
    ("logp", "logP (Crippen)", ""),
    ("tpsa", "TPSA", " Å²"),
    ("hbd_lipinski", "H-bond donors (Lipinski)", ""),
    ("hba_lipinski", "H-bond acceptors (Lipinski)", ""),
    ("rotatable_bonds", "Rotatable bonds", ""),
    ("aromatic_ring_count", "Aromatic rings", ""),
    ("qed", "QED", ""),
    ("sa_score", "SA score", ""),
)
_PROTEIN_FIELDS: tuple[tuple[str, str], ...] = (
    ("function", "Function"),
    ("subcellular_location", "Location"),
    ("disease", "Disease"),
)
_LITERATURE_LIMIT = 5
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def _first_sentences(text: str, count: int = 2) -> str:
    parts = _SENTENCE.split(" ".join(str(text).split()))
    return " ".join(parts[:count])


class _Numbers:
    """Evidence number by key, and which evidence items the answer has used."""

    def __init__(self, evidence: Sequence[Evidence]) -> None:
        self.evidence = evidence
        self.by_key = {item["key"]: index for index, item in enumerate(evidence, start=1)}

    def of(self, key: str) -> str:
        number = self.by_key.get(key)
        return f" [{number}]" if number else ""

    def records(self, source: str) -> list[tuple[int, Evidence]]:
        return [
            (n, item) for n, item in enumerate(self.evidence, start=1) if item["source"] == source
        ]


def _by_smiles(observations: Iterable[Observation], tool: str) -> dict[str, Observation]:
    return {
        str(obs["args"].get("smiles")): obs
        for obs in observations
        if obs["tool"] == tool and obs["status"] == "ok"
    }


def _compound_heading(smiles: str, entities: Entities, cite: _Numbers) -> str:
    for compound in entities["compounds"]:
        if compound["smiles"] == smiles and compound["cid"] is not None:
            cid = compound["cid"]
            name = compound["name"] or f"CID {cid}"
            return f"**{name}** (PubChem CID {cid}){cite.of(f'pubchem:{cid}')}"
    return f"**{smiles}**"


def _compound_description(smiles: str, entities: Entities, cite: _Numbers) -> str | None:
    for compound in entities["compounds"]:
        if compound["smiles"] != smiles or compound["cid"] is None:
            continue
        key = f"pubchem:{compound['cid']}"
        number = cite.by_key.get(key)
        if number is None:
            return None
        description = cite.evidence[number - 1]["details"].get("description")
        if description:
            return f"{_first_sentences(description)}{cite.of(key)}"
    return None


def _properties_table(obs: Observation, cite: _Numbers) -> list[str]:
    result = obs["result"]
    rows = [
        f"| {label} | {result[key]}{unit} |"
        for key, label, unit in _PROPERTY_ROWS
        if result.get(key) is not None
    ]
    if not rows:
        return []
    ref = cite.of(f"tool:{obs['id']}")
    return [f"Computed properties{ref}:", "", "| property | value |", "|---|---|", *rows, ""]


def _violations(report: Mapping[str, Any]) -> str:
    items = report.get("violations") or []
    if not items:
        return "no violations"
    shown = ", ".join(f"{v['property']} {v['value']} > {v['limit']}" for v in items)
    return f"violations: {shown}"


def _verdict(obs: Observation, cite: _Numbers) -> list[str]:
    result = obs["result"]
    lipinski = result.get("lipinski") or {}
    veber = result.get("veber") or {}
    alerts = result.get("alerts") or {}
    ref = cite.of(f"tool:{obs['id']}")
    passes = bool(lipinski.get("passes")) and bool(veber.get("passes"))
    pains = alerts.get("pains") or []
    brenk = alerts.get("brenk") or []
    verdict = "drug-like" if passes and not pains else "not clearly drug-like"
    lines = [
        f"Drug-likeness: **{verdict}**{ref}.",
        f"- Lipinski rule of five: {'passes' if lipinski.get('passes') else 'fails'} "
        f"({_violations(lipinski)}){ref}",
        f"- Veber (oral bioavailability): {'passes' if veber.get('passes') else 'fails'} "
        f"({_violations(veber)}){ref}",
        f"- PAINS alerts: {', '.join(pains) if pains else 'none'}; Brenk alerts: "
        f"{', '.join(brenk) if brenk else 'none'}{ref}",
    ]
    if result.get("qed") is not None:
        lines.append(f"- QED {result['qed']}, SA score {result.get('sa_score')}{ref}")
    return [*lines, ""]


def _compound_sections(
    observations: Sequence[Observation], entities: Entities, cite: _Numbers
) -> list[str]:
    properties = _by_smiles(observations, "molecule_properties")
    likeness = _by_smiles(observations, "drug_likeness")
    lines: list[str] = []
    for smiles in dict.fromkeys([*properties, *likeness]):
        lines += [_compound_heading(smiles, entities, cite), ""]
        description = _compound_description(smiles, entities, cite)
        if description:
            lines += [description, ""]
        if smiles in properties:
            lines += _properties_table(properties[smiles], cite)
        if smiles in likeness:
            lines += _verdict(likeness[smiles], cite)
    return lines


def _protein_sections(cite: _Numbers) -> list[str]:
    lines: list[str] = []
    for number, item in cite.records("uniprot"):
        details = item["details"]
        gene = details.get("gene")
        organism = details.get("organism")
        extra = ", ".join(str(v) for v in (gene, organism) if v)
        lines.append(
            f"**{item['title']}** ({extra + '; ' if extra else ''}UniProt {item['record_id']}) "
            f"[{number}]"
        )
        lines.append("")
        for key, label in _PROTEIN_FIELDS:
            if details.get(key):
                lines.append(f"- {label}: {_first_sentences(details[key], 3)} [{number}]")
        lines.append("")
    return lines


def _literature_section(cite: _Numbers) -> list[str]:
    records = [*cite.records("pubmed"), *cite.records("file")]
    if not records:
        return []
    lines = ["Literature:", ""]
    for number, item in records[:_LITERATURE_LIMIT]:
        details = item["details"]
        where = ", ".join(str(v) for v in (details.get("journal"), details.get("year")) if v)
        lines.append(f"- {item['title']}{f' ({where})' if where else ''} [{number}]")
        abstract = _abstract_of(item)
        if abstract:
            lines.append(f"  > {abstract} [{number}]")  # quoted record text, not our claim
    return [*lines, ""]


def _abstract_of(item: Evidence) -> str:
    """First sentences of an article's abstract (the record field, else its text)."""
    abstract = item["details"].get("abstract")
    if isinstance(abstract, str) and abstract.strip():
        return _first_sentences(abstract)
    paragraphs = [
        p
        for p in item["text"].split("\n")
        if len(p) > 120 and not p.startswith("{") and item["title"] not in p
    ]
    return _first_sentences(paragraphs[0]) if paragraphs else ""


def _other_computations(observations: Sequence[Observation], cite: _Numbers) -> list[str]:
    shown = {"molecule_properties", "drug_likeness"}
    lines: list[str] = []
    for obs in observations:
        key = f"tool:{obs['id']}"
        if obs["status"] != "ok" or obs["tool"] in shown or key not in cite.by_key:
            continue
        summary = "; ".join(
            f"{name}: {value}"
            for name, value in obs["result"].items()
            if isinstance(value, str | int | float | bool) and name != "sequence"
        )
        lines.append(f"- {cite.evidence[cite.by_key[key] - 1]['title']}: {summary}{cite.of(key)}")
    return [*lines, ""] if lines else []


def _failures(observations: Sequence[Observation]) -> list[str]:
    failed = [obs for obs in observations if obs["status"] == "error" and obs["error"]]
    if not failed:
        return []
    lines = ["Not checked (a step failed):"]
    for obs in failed:
        error = obs["error"] or {}
        lines.append(f"- {obs['tool']}: {error.get('type')}: {error.get('message')}")
    return [*lines, ""]


def templated_answer(
    question: str,
    entities: Entities,
    observations: Sequence[Observation],
    evidence: Sequence[Evidence],
) -> str:
    """A cited markdown answer built from the observations and evidence alone."""
    cite = _Numbers(evidence)
    lines = [
        *_compound_sections(observations, entities, cite),
        *_protein_sections(cite),
        *_other_computations(observations, cite),
        *_literature_section(cite),
    ]
    if not lines:
        lines = [
            "I found no record or computation that answers this question"
            " (no compound, protein or literature evidence was retrieved).",
            "",
        ]
    lines += _failures(observations)
    return "\n".join(lines).strip() + "\n"
