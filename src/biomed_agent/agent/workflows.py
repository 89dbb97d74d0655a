"""Multi-hop drug-discovery workflows: which steps to plan, and how to write their answer.

Interface (all the planner and composer need):

* :func:`discovery_plan` ``(question, entities, observations, tools) -> list[Candidate]``
  — the next ``(tool, args, why)`` steps of the flows below, given what earlier rounds
  found (already-run steps may be returned again; ``planner.new_steps`` drops them).
  Empty when the question asks for none of them.
* :func:`render_discovery` ``(observations, cite) -> list[str]`` — cited markdown lines
  for the results of :data:`DISCOVERY_TOOLS`; ``cite(key)`` returns `` [n]`` for an
  evidence key (``"pubchem:2519"``, ``"uniprot:P30542"``, ``"tool:3"``) or ``""``.
  Every number printed is copied from a tool result.

Flows (one hop per plan round, each hop cited):

1. target -> ligands -> ranked profile: ``uniprot_lookup`` (only when the target is
   named, not given as an accession), ``target_ligands(accession)``, then
   ``profile_molecules(cids)`` when the question asks which is most drug-like / to compare.
2. compound -> analogs with a property filter: ``similar_compounds(cid, max_tpsa=...)``.
3. compound -> bioactivity and safety: ``compound_bioactivity`` and/or ``compound_safety``.
4. "compare the approved ligands of P30542": flow 1 restricted to the DrugBank drugs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from biomed_agent.agent.state import Entities, Observation

__all__ = ["DISCOVERY_TOOLS", "Candidate", "discovery_plan", "render_discovery"]

Candidate = tuple[str, dict[str, Any], str]
Cite = Callable[[str], str]

DISCOVERY_TOOLS = frozenset(
    {
        "target_ligands",
        "similar_compounds",
        "compound_bioactivity",
        "compound_safety",
        "profile_molecules",
    }
)
HUMAN = "9606"

_LIGANDS = re.compile(
    r"\b(?:drugs?|ligands?|inhibitors?|agonists?|antagonists?|binders?)\b[^?.]*"
    r"\b(?:targets?|targeting|of|for|bind\w*|act\w* on)\b",
    re.IGNORECASE,
)
_TARGET_PHRASE = re.compile(
    r"\b(?:targets?|targeting|of|for|on)\s+(?:the\s+)?(?P<target>[A-Za-z0-9][\w\- /]*?"
    r"(?:receptor|kinase|channel|transporter|enzyme|protease|synthase|oxidase|reductase"
    r"|phosphodiesterase|cyclase))\b",
    re.IGNORECASE,
)
_RANK = re.compile(
    r"\b(?:drug[- ]?like\w*|rank\w*|compare|comparison|profile|best|most|qed)\b", re.I
)
_APPROVED = re.compile(r"\b(?:approved|marketed|drugs?)\b", re.IGNORECASE)
_ANALOGS = re.compile(
    r"\b(?:analogs?|analogues?|similar (?:compounds?|molecules?|structures?)|neighbou?rs?)\b",
    re.IGNORECASE,
)
_CLOSE = re.compile(r"\b(?:close|closest|near|very similar)\b", re.IGNORECASE)
_SUBSTRUCTURE = re.compile(r"\b(?:substructures?|contain(?:s|ing)?)\b", re.IGNORECASE)
_BIOACTIVITY = re.compile(
    r"\b(?:bioactivit\w*|activit(?:y|ies)|assays?|potency|IC50|Ki|targets? of it)\b", re.I
)
_SAFETY = re.compile(r"\b(?:safety|safe|hazards?|hazardous|toxic\w*|GHS)\b", re.IGNORECASE)
_BELOW = r"\s*(?:under|below|<|less than|lower than|at most|<=|≤)\s*(\d+(?:\.\d+)?)"
_LIMITS = {
    "max_tpsa": re.compile(r"\b(?:TPSA|polar surface area)" + _BELOW, re.IGNORECASE),
    "max_molecular_weight": re.compile(r"\b(?:molecular weight|MW|mass)" + _BELOW, re.IGNORECASE),
    "max_xlogp": re.compile(r"\b(?:x?logP)" + _BELOW, re.IGNORECASE),
}


def _ok(observations: Sequence[Observation], tool: str) -> list[Observation]:
    return [obs for obs in observations if obs["tool"] == tool and obs["status"] == "ok"]


def _accession(entities: Entities, observations: Sequence[Observation]) -> str | None:
    if entities["accessions"]:
        return entities["accessions"][0]
    for obs in _ok(observations, "uniprot_lookup"):
        accession = obs["result"].get("accession")
        if accession:
            return str(accession)
    return None


def _target_plan(
    question: str, entities: Entities, observations: Sequence[Observation]
) -> list[Candidate]:
    accession = _accession(entities, observations)
    steps: list[Candidate] = []
    if accession is not None and not _ok(observations, "uniprot_lookup"):
        steps.append(("uniprot_lookup", {"query": accession}, "the target's UniProt entry"))
    if accession is None:
        match = _TARGET_PHRASE.search(question)
        name = match.group("target").strip() if match else None
        name = name or (entities["genes"][0] if entities["genes"] else None)
        if not name:
            return []
        return [("uniprot_lookup", {"query": name, "organism": HUMAN}, "resolve the target")]
    steps.append(("target_ligands", {"target": accession}, "drugs and ligands"))
    done = [o for o in _ok(observations, "target_ligands") if o["args"].get("target") == accession]
    if done and _RANK.search(question):
        ligands = done[-1]["result"].get("ligands") or []
        if _APPROVED.search(question):
            drugs = [lig for lig in ligands if lig.get("listed_in") == "DrugBank"]
            ligands = drugs or ligands
        if ligands:
            steps.append(
                (
                    "profile_molecules",
                    {
                        "cids": [int(lig["cid"]) for lig in ligands],
                        "labels": [str(lig.get("name") or f"CID {lig['cid']}") for lig in ligands],
                        "rank_by": "drug_likeness",
                        "limit": len(ligands),
                    },
                    "profile and rank the ligands",
                )
            )
    return steps


def _compound_query(entities: Entities) -> str | None:
    for compound in entities["compounds"]:
        if compound["cid"] is not None:
            return str(compound["cid"])
    for compound in entities["compounds"]:
        if compound["smiles"]:
            return compound["smiles"]
    return entities["smiles"][0] if entities["smiles"] else None


def discovery_plan(
    question: str,
    entities: Entities,
    observations: Sequence[Observation],
    tools: Mapping[str, Any],
) -> list[Candidate]:
    """Steps of the drug-discovery flows this question asks for (see the module docstring)."""
    steps: list[Candidate] = []
    compound = _compound_query(entities)
    if _ANALOGS.search(question) and compound:
        args: dict[str, Any] = {"query": compound}
        if _SUBSTRUCTURE.search(question):
            args["mode"] = "substructure"
        else:
            args["threshold"] = 90 if _CLOSE.search(question) else 80
        for name, pattern in _LIMITS.items():
            match = pattern.search(question)
            if match:
                args[name] = float(match.group(1))
        steps.append(("similar_compounds", args, "analogs in PubChem"))
    elif _LIGANDS.search(question) or (
        entities["accessions"] and re.search(r"\bligands?\b", question, re.I)
    ):
        steps += _target_plan(question, entities, observations)
    if compound and _BIOACTIVITY.search(question) and not _ANALOGS.search(question):
        steps.append(("compound_bioactivity", {"query": compound}, "assay summary"))
    if compound and _SAFETY.search(question):
        steps.append(("compound_safety", {"query": compound}, "GHS and structural alerts"))
    return [step for step in steps if step[0] in tools]


# --- rendering -----------------------------------------------------------------------


def _ref(cite: Cite, *keys: str) -> str:
    """The first of ``keys`` that is cited evidence."""
    for key in keys:
        marker = cite(key)
        if marker:
            return marker
    return ""


def _refs(cite: Cite, *keys: str) -> str:
    """Every one of ``keys`` that is cited evidence (a record and the computation over it)."""
    return "".join(dict.fromkeys(marker for marker in map(cite, keys) if marker))


def _potency(row: Mapping[str, Any]) -> str:
    if row.get("best_potency_um") is None:
        if row.get("tested_assays"):
            return f"active in {row.get('active_assays')} of {row['tested_assays']} assays"
        return ""
    return (
        f"active in {row.get('active_assays')} of {row.get('tested_assays')} assays, "
        f"best {row.get('best_activity') or 'potency'} {row['best_potency_um']} µM "
        f"(AID {row.get('best_aid')})"
    )


def _ligands(obs: Observation, cite: Cite) -> list[str]:
    result = obs["result"]
    target = result.get("target") or {}
    tool = f"tool:{obs['id']}"
    head = _ref(cite, f"uniprot:{target.get('accession')}", tool)
    lines = [
        f"**Drugs and ligands of {target.get('name')}** ({target.get('gene')}, "
        f"{target.get('organism')}; UniProt {target.get('accession')}){head}",
        "",
    ]
    for lig in result.get("ligands") or []:
        where = (
            f"DrugBank {lig['drugbank_id']}, listed in the UniProt entry"
            if lig.get("drugbank_id")
            else "active in PubChem bioassays"
        )
        activity = _potency(lig)
        lines.append(
            f"- {lig.get('name')} (PubChem CID {lig['cid']}; {where})"
            + (f": {activity}" if activity else "")
            + _ref(cite, f"pubchem:{lig['cid']}", tool)
        )
    databases = [f"{x['database']} {x['record_id']}" for x in result.get("cross_references") or []]
    if databases:
        lines.append(f"- Ligand databases with this target: {', '.join(databases)}{head}")
    if result.get("note"):
        lines.append(f"- Note: {result['note']}")
    return [*lines, ""]


def _profile(obs: Observation, cite: Cite) -> list[str]:
    result = obs["result"]
    ref = _ref(cite, f"tool:{obs['id']}")
    rows = result.get("rows") or []
    if not rows:
        return []
    lines = [
        f"Ranked by drug-likeness (Lipinski, Veber, PAINS, then QED; RDKit){ref}:",
        "",
        "| rank | compound | QED | MW | logP | TPSA | Lipinski | Veber | alerts |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        alerts = ", ".join([*row.get("pains", []), *row.get("brenk", [])]) or "none"
        lines.append(
            f"| {row['rank']} | {row['label']} | {row['qed']} | {row['molecular_weight']} | "
            f"{row['logp']} | {row['tpsa']} | {'passes' if row['lipinski_passes'] else 'fails'} "
            f"| {'passes' if row['veber_passes'] else 'fails'} | {alerts} |"
        )
    best = rows[0]
    lines += [
        "",
        f"Most drug-like: **{best['label']}** (QED {best['qed']}, "
        f"{'drug-like' if best['drug_like'] else 'not clearly drug-like'}){ref}.",
    ]
    if result.get("missing_cids"):
        lines.append(f"Not profiled (no PubChem structure): CIDs {result['missing_cids']}.")
    return [*lines, ""]


def _analogs(obs: Observation, cite: Cite) -> list[str]:
    result = obs["result"]
    tool = f"tool:{obs['id']}"
    search = _refs(cite, f"pubchem:{result.get('cid')}", tool)
    name = result.get("name") or result.get("smiles")
    filters = ", ".join(f"{k} < {v}" for k, v in (result.get("filters") or {}).items())
    how = (
        f"2D similarity ≥ {result['threshold']}%"
        if result.get("mode") == "similarity"
        else str(result.get("mode"))
    )
    lines = [
        f"**Analogs of {name}** in PubChem ({how}; {result.get('pubchem_hits')} hits"
        + (f", {result.get('removed_by_filters')} removed by {filters}" if filters else "")
        + f"){search}",
        "",
    ]
    analogs = result.get("analogs") or []
    for hit in analogs:
        lines.append(
            f"- {hit.get('name')} (CID {hit['cid']}): Tanimoto {hit.get('tanimoto')} (RDKit "
            f"Morgan), TPSA {hit.get('tpsa')} Å², MW {hit.get('molecular_weight')}"
            + _ref(cite, tool)
        )
    if not analogs:
        lines.append(f"- No PubChem hit passes {filters or 'the search'}{_ref(cite, tool)}.")
    return [*lines, ""]


def _bioactivity(obs: Observation, cite: Cite) -> list[str]:
    result = obs["result"]
    ref = _ref(cite, f"tool:{obs['id']}")
    lines = [
        f"**Bioactivity of {result.get('name')}** (PubChem CID {result.get('cid')}): tested in "
        f"{result.get('assays_tested')} assays, active in {result.get('active_assays')}, "
        f"inactive in {result.get('inactive_assays')}, inconclusive in "
        f"{result.get('inconclusive_assays')}"
        + _refs(cite, f"pubchem:{result.get('cid')}", f"tool:{obs['id']}"),
        "",
    ]
    for target in result.get("targets") or []:
        label = target.get("symbol") or target.get("accession") or f"gene {target.get('gene_id')}"
        lines.append(
            f"- {label} ({target.get('name') or 'unnamed'}; {target.get('accession')}): "
            f"{_potency(target)}{ref}"
        )
    return [*lines, ""]


def _safety(obs: Observation, cite: Cite) -> list[str]:
    result = obs["result"]
    ref = _ref(cite, f"tool:{obs['id']}")
    head = _refs(cite, f"pubchem:{result.get('cid')}", f"tool:{obs['id']}")
    lines = [f"**Safety of {result.get('name')}** (PubChem CID {result.get('cid')}){head}", ""]
    for item in result.get("ghs_classifications") or []:
        statements = "; ".join(item.get("hazard_statements") or []) or "no hazard statement"
        pictograms = ", ".join(item.get("pictograms") or [])
        lines.append(
            f"- GHS ({item.get('depositor')}): {item.get('signal') or 'no signal word'}"
            + (f", pictograms {pictograms}" if pictograms else "")
            + f"; {statements}{ref}"
        )
    if result.get("ghs_note"):
        lines.append(f"- {result['ghs_note']}{ref}")
    alerts = result.get("structural_alerts") or {}
    lines.append(
        f"- Structural alerts (RDKit): PAINS {', '.join(alerts.get('pains') or []) or 'none'}; "
        f"Brenk {', '.join(alerts.get('brenk') or []) or 'none'}{ref}"
    )
    return [*lines, ""]


_RENDERERS: dict[str, Callable[[Observation, Cite], list[str]]] = {
    "target_ligands": _ligands,
    "profile_molecules": _profile,
    "similar_compounds": _analogs,
    "compound_bioactivity": _bioactivity,
    "compound_safety": _safety,
}


def render_discovery(observations: Sequence[Observation], cite: Cite) -> list[str]:
    """Cited markdown lines for every successful discovery-tool observation, in step order."""
    lines: list[str] = []
    for obs in sorted(observations, key=lambda o: o["id"]):
        if obs["status"] == "ok" and obs["tool"] in _RENDERERS:
            lines += _RENDERERS[obs["tool"]](obs, cite)
    return lines
