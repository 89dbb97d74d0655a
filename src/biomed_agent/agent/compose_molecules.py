"""Compound sections of the model-free answer: properties, drug-likeness verdict, BBB note.

Every value is copied from a tool result or a PubChem record field and cited. PubChem's
own XLogP3/TPSA/counts are shown beside the computed (RDKit) values when the record was
fetched; the verdict weighs Lipinski, Veber, PAINS, QED and SA score
(:func:`biomed_agent.molecules.druglikeness.verdict`); an inorganic substance gets no
verdict, and what standardisation removed is said.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from biomed_agent.agent.state import Entities, Evidence, Observation

__all__ = ["REFERENCE_TEXTS", "Numbers", "bbb_reason", "compound_sections", "first_sentences"]

# (tool key, label, unit, PubChem record field shown beside it)
_PROPERTY_ROWS: tuple[tuple[str, str, str, str | None], ...] = (
    ("formula", "Formula", "", "formula"),
    ("molecular_weight", "Molecular weight", " g/mol", "molecular_weight"),
    ("logp", "logP (Crippen)", "", "xlogp"),
    ("tpsa", "TPSA", " Å²", "tpsa"),
    ("hbd_lipinski", "H-bond donors (Lipinski)", "", "hbond_donors"),
    ("hba_lipinski", "H-bond acceptors (Lipinski)", "", "hbond_acceptors"),
    ("rotatable_bonds", "Rotatable bonds", "", "rotatable_bonds"),
    ("aromatic_ring_count", "Aromatic rings", "", None),
    ("qed", "QED", "", None),
    ("sa_score", "SA score", "", None),
)
_PUBCHEM_LABEL = {"xlogp": "XLogP3"}
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
BBB_RULE = (
    "rule of thumb, not a prediction: CNS drugs mostly have TPSA < 90 Å² and MW < 450 g/mol "
    "(Hitchcock & Pennington, J. Med. Chem. 49 (2006) 7559-7583)"
)


def _reference_texts() -> tuple[str, ...]:
    from biomed_agent.molecules.druglikeness import QED_UNATTRACTIVE, SA_HARD

    return (BBB_RULE, f"QED threshold {QED_UNATTRACTIVE}, SA score threshold {SA_HARD}")


REFERENCE_TEXTS = _reference_texts()
"""Published constants the answer may state (rules of thumb, thresholds): verified sources."""


def first_sentences(text: str, count: int = 2) -> str:
    """The first ``count`` sentences of ``text``, whitespace collapsed."""
    parts = _SENTENCE.split(" ".join(str(text).split()))
    return " ".join(parts[:count])


class Numbers:
    """Evidence number by key, and which evidence items the answer has used."""

    def __init__(self, evidence: Sequence[Evidence]) -> None:
        self.evidence = evidence
        self.by_key = {item["key"]: index for index, item in enumerate(evidence, start=1)}

    def of(self, key: str) -> str:
        number = self.by_key.get(key)
        return f" [{number}]" if number else ""

    def item(self, key: str) -> Evidence | None:
        number = self.by_key.get(key)
        return self.evidence[number - 1] if number else None

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


def _compound_of(smiles: str, entities: Entities, standardized: Mapping[str, Any]) -> Any:
    for compound in entities["compounds"]:
        raw = compound["smiles"]
        parent = (standardized.get(raw or "") or {}).get("smiles")
        if smiles in (raw, parent):
            return compound
    return None


def _fmt(value: Any, key: str = "") -> str:
    """Floats to two decimals (molecular weight to three, as PubChem gives it)."""
    if isinstance(value, float):
        return f"{round(value, 3 if key == 'molecular_weight' else 2):g}"
    return str(value)


def _properties_table(obs: Observation, record: Evidence | None, cite: Numbers) -> list[str]:
    result = obs["result"]
    ref = cite.of(f"tool:{obs['id']}")
    fields = record["details"] if record else {}
    rec_ref = cite.of(record["key"]) if record else ""
    beside = record is not None and any(f and fields.get(f) is not None for *_, f in _PROPERTY_ROWS)
    header = ["| property | computed (RDKit) |" + (" PubChem |" if beside else "")]
    header.append("|---|---|" + ("---|" if beside else ""))
    rows = []
    for key, label, unit, field in _PROPERTY_ROWS:
        if result.get(key) is None:
            continue
        row = f"| {label} | {_fmt(result[key], key)}{unit} |"
        if beside:
            pubchem = fields.get(field) if field else None
            name = _PUBCHEM_LABEL.get(field or "", "")
            row += (
                f" {name + ' ' if name else ''}{_fmt(pubchem, key)}{unit}{rec_ref} |"
                if (pubchem is not None)
                else " |"
            )
        rows.append(row)
    if not rows:
        return []
    sources = f"Computed properties{ref}" + (f", PubChem record values{rec_ref}" if beside else "")
    return [f"{sources}:", "", *header, *rows, ""]


def _verdict(obs: Observation, cite: Numbers) -> list[str]:
    from biomed_agent.molecules.druglikeness import verdict

    result = obs["result"]
    lipinski = result.get("lipinski") or {}
    veber = result.get("veber") or {}
    alerts = result.get("alerts") or {}
    ref = cite.of(f"tool:{obs['id']}")
    call = (
        verdict(result)
        if {"lipinski", "veber", "alerts", "qed", "sa_score"} <= set(result)
        else {"label": "not assessed", "reasons": ["incomplete report"]}
    )
    why = f" ({'; '.join(call['reasons'])})" if call["reasons"] else ""
    pains = alerts.get("pains") or []
    brenk = alerts.get("brenk") or []
    lines = [
        f"Drug-likeness: **{call['label']}**{ref}{why}.",
        f"- Lipinski rule of five: {'passes' if lipinski.get('passes') else 'fails'} "
        f"({_violations(lipinski)}){ref}",
        f"- Veber (oral bioavailability): {'passes' if veber.get('passes') else 'fails'} "
        f"({_violations(veber)}){ref}",
        f"- PAINS alerts: {', '.join(pains) if pains else 'none'}; Brenk alerts: "
        f"{', '.join(brenk) if brenk else 'none'}{ref}",
    ]
    if result.get("qed") is not None:
        lines.append(
            f"- QED {result['qed']:.2f} (0-1, higher is more drug-like), SA score "
            f"{result.get('sa_score', 0):.2f} (1 easy to 10 hard to make){ref}"
        )
    return [*lines, ""]


def _violations(report: Mapping[str, Any]) -> str:
    items = report.get("violations") or []
    if not items:
        return "no violations"
    return "violations: " + ", ".join(f"{v['property']} {v['value']} > {v['limit']}" for v in items)


def compound_sections(
    observations: Sequence[Observation],
    entities: Entities,
    cite: Numbers,
    standardized: Mapping[str, Any],
) -> list[str]:
    """One section per profiled compound: heading, quote, table, verdict."""
    properties = _by_smiles(observations, "molecule_properties")
    likeness = _by_smiles(observations, "drug_likeness")
    lines: list[str] = []
    for smiles in dict.fromkeys([*properties, *likeness]):
        compound = _compound_of(smiles, entities, standardized)
        record = None
        if compound is not None and compound["cid"] is not None:
            key = f"pubchem:{compound['cid']}"
            record = cite.item(key)
            name = compound["name"] or f"CID {compound['cid']}"
            lines += [f"**{name}** (PubChem CID {compound['cid']}){cite.of(key)}", ""]
            description = record["details"].get("description") if record else None
            if isinstance(description, str) and description:
                lines += [f"> {first_sentences(description)}{cite.of(key)}", ""]
        else:
            lines += [f"**{smiles}**", ""]
        info = standardized.get((compound or {}).get("smiles") or smiles) or {}
        for note in info.get("notes", []):
            lines += [f"Standardised before profiling: {note}.", ""]
        if smiles in properties:
            lines += _properties_table(properties[smiles], record, cite)
        if smiles in likeness:
            lines += _verdict(likeness[smiles], cite)
        elif info.get("inorganic"):
            lines += [
                "Drug-likeness: **no verdict** — an inorganic substance (no carbon-containing "
                "component); Lipinski, Veber, QED and SA score describe organic molecules.",
                "",
            ]
    return lines


def bbb_reason(observations: Sequence[Observation], cite: Numbers) -> str:
    """Why BBB penetration is not answered, with the TPSA/MW rule of thumb when computed."""
    base = "no tool here predicts blood-brain barrier penetration"
    for obs in observations:
        if obs["tool"] == "molecule_properties" and obs["status"] == "ok":
            tpsa, mw = obs["result"].get("tpsa"), obs["result"].get("molecular_weight")
            if isinstance(tpsa, int | float) and isinstance(mw, int | float):
                side = "inside" if tpsa < 90 and mw < 450 else "outside"
                ref = cite.of(f"tool:{obs['id']}")
                return (
                    f"{base}; TPSA {_fmt(tpsa)} Å² and MW {_fmt(mw)} g/mol{ref}"
                    f" are {side} the range typical of CNS drugs ({BBB_RULE})"
                )
    return f"{base}; give a SMILES or name so TPSA and MW can be computed ({BBB_RULE})"
