"""Plans: which registered tools to call, with which arguments.

Two planners share one output, a list of :class:`~biomed_agent.agent.state.PlanStep`:

* :func:`deterministic_plan` derives steps from the entities and what earlier
  rounds found (a UniProt lookup first, then a literature search on the gene it
  returned). It is the whole planner in model-free mode and the suggestion shown
  to the model otherwise.
* :func:`model_plan` (:mod:`.plan_prompt`) asks the chat model for structured output
  whose schema is a union of one object per offered tool (``tool`` fixed to its name,
  ``args`` its argument schema), so constrained decoding cannot name another tool.

The model planner is offered only :func:`planner_tools`: the tools of the rules'
plan and the ones most relevant to the question, BioMedGPT-10B's only when a 10B
checkpoint is configured, so its prompt fits BioMedGPT-LM-7B's 2,048 tokens.

A plan never sees record or tool text: the model gets the question, the
entities, the (offered) tool catalogue and, when replanning, the tools that failed with
their error messages. Text inside records therefore cannot add or change steps.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from biomed_agent.agent.entities import literature_intent
from biomed_agent.agent.lexicon import drug_lexicon, gene_symbols
from biomed_agent.agent.plan_prompt import (
    Candidate,
    model_plan,
    plan_schema,
    planner_tools,
    render_plan_prompt,
)
from biomed_agent.agent.state import Entities, Observation, PlanStep
from biomed_agent.tools import ToolSpec

__all__ = [
    "deterministic_plan",
    "literature_topic",
    "merge_plans",
    "model_plan",
    "new_steps",
    "plan_schema",
    "planner_tools",
    "render_plan_prompt",
]

HUMAN = "9606"
"""Taxon a bare gene symbol is looked up in (drug-discovery questions are about human targets)."""
LITERATURE_RESULTS = 5
"""Articles/passages a literature step asks for."""
_SIMILARITY = re.compile(r"\b(similar|similarity|closest|nearest|compare|comparison)\b", re.I)
_TOPIC = re.compile(
    r"\b(?:about|on|regarding|concerning|for|of)\s+(?P<topic>[^?.;!]+)", re.IGNORECASE
)
_PRONOUN_ONLY = re.compile(r"^(?:it|its|this|that|them|they|these|those)\b", re.IGNORECASE)


def _names(entities: Entities, observations: Sequence[Observation]) -> list[str]:
    """Readable names of what the question is about: compounds, then genes/proteins."""
    lexicon = drug_lexicon()
    # a record's name field becomes a query only when it passes the user-input check
    names = [c["name"] for c in entities["compounds"] if c["name"] and c["name"].lower() in lexicon]
    for obs in observations:
        if obs["tool"] == "uniprot_lookup" and obs["status"] == "ok":
            gene = obs["result"].get("gene")
            # a record field becomes a query only when it passes the user-input check
            if isinstance(gene, str) and gene in gene_symbols():
                names.append(gene)
    names += entities["genes"]
    return list(dict.fromkeys(names))


def literature_topic(
    question: str, entities: Entities, observations: Sequence[Observation] = ()
) -> str:
    """What to search the literature for: the phrase after "about"/"on", else the names."""
    names = _names(entities, observations)
    match = _TOPIC.search(question[literature_position(question) :])
    if match:
        topic = match.group("topic").strip()
        if not _PRONOUN_ONLY.match(topic):
            return topic
        rest = _PRONOUN_ONLY.sub("", topic).strip()
        return " ".join([*names, rest]).strip() or topic
    return " ".join(names) or question.strip()


def literature_position(question: str) -> int:
    """Where the literature part of a question starts (0 when it has none)."""
    match = re.search(
        r"\b(literature|papers?|studies|articles?|trials?|evidence)\b", question, re.I
    )
    return match.start() if match else 0


def _lookups_pending(entities: Entities, observations: Sequence[Observation]) -> bool:
    done = {obs["args"].get("query") for obs in observations if obs["tool"] == "uniprot_lookup"}
    wanted = entities["accessions"] or entities["genes"]
    return any(name not in done for name in wanted)


_MOLECULE_INTENTS = frozenset({"properties", "druglikeness", "bbb", "compare", "analogs"})
_LITERATURE_INTENTS = frozenset({"literature", "safety"})


def _molecule_steps(
    question: str, entities: Entities, understanding: Mapping[str, Any]
) -> list[Candidate]:
    standardized = understanding.get("standardized") or {}
    steps: list[Candidate] = []
    parents: list[str] = []
    for compound in entities["compounds"]:
        raw = compound["smiles"]
        if not raw:
            continue
        info = standardized.get(raw) or {}
        # the parent when standardisation changed the structure; else the SMILES as given
        parent = (info.get("smiles") if info.get("notes") else None) or raw
        if parent in parents or len(parents) == 3:
            continue
        parents.append(parent)
        steps.append(("molecule_properties", {"smiles": parent}, "compute properties"))
        if not info.get("inorganic"):  # no drug-likeness verdict for an inorganic salt
            steps.append(("drug_likeness", {"smiles": parent}, "rule-of-five, Veber, alerts"))
    if len(parents) > 1 and _SIMILARITY.search(question):
        steps.append(
            ("molecule_similarity", {"query": parents[0], "candidates": parents[1:]}, "compare")
        )
    return steps


def deterministic_plan(
    question: str,
    entities: Entities,
    observations: Sequence[Observation],
    tools: Mapping[str, ToolSpec],
    *,
    offline: bool = False,
    understanding: Mapping[str, Any] | None = None,
) -> list[Candidate]:
    """Every step the rules want given what is known now (already-run steps included).

    Intents (``understanding["clauses"]``) decide which kinds of step run: molecule
    tools for property/drug-likeness/BBB/comparison clauses (or when no clause asks
    something else), a literature search for literature, safety, target and activity
    clauses, so a clinical question finds the trial without the word "literature".
    """
    understanding = understanding or {}
    if understanding.get("out_of_scope"):
        return []
    clauses = understanding.get("clauses") or []
    intents = {c["intent"] for c in clauses}
    steps: list[Candidate] = []
    if not clauses or intents & _MOLECULE_INTENTS or not intents & _LITERATURE_INTENTS:
        steps += _molecule_steps(question, entities, understanding)
    for accession in entities["accessions"][:3]:
        steps.append(("uniprot_lookup", {"query": accession}, "protein function"))
    if not entities["accessions"]:
        for gene in entities["genes"][:3]:
            steps.append(("uniprot_lookup", {"query": gene, "organism": HUMAN}, "protein function"))
        if not entities["genes"]:
            for name in (understanding.get("protein_names") or [])[:2]:
                steps.append(("uniprot_lookup", {"query": name, "organism": HUMAN}, "protein"))
    sequences = entities["sequences"]
    for sequence in sequences[:2]:
        steps.append(("protein_properties", {"sequence": sequence}, "sequence properties"))
    if sequences and entities["mutations"]:
        steps.append(
            (
                "variant_effect",
                {"sequence": sequences[0], "mutations": entities["mutations"]},
                "mutation effects",
            )
        )
    if len(sequences) > 1 and _SIMILARITY.search(question):
        steps.append(
            ("protein_similarity", {"query": sequences[0], "candidates": sequences[1:]}, "compare")
        )
    wants_literature = (
        literature_intent(question)
        or bool(intents & _LITERATURE_INTENTS)
        or bool(entities["pmids"] or understanding.get("codes"))
        or not steps
    )
    if wants_literature and not _lookups_pending(entities, observations):
        topic = literature_topic(question, entities, observations)
        if not offline:
            steps.append(
                ("pubmed_search", {"query": topic, "limit": LITERATURE_RESULTS}, "literature")
            )
        steps.append(
            ("knowledge_search", {"query": question, "limit": LITERATURE_RESULTS}, "store")
        )
    steps += _discovery_steps(question, entities, observations, tools)
    failed_search = any(
        obs["tool"] == "pubmed_search" and obs["status"] == "error" for obs in observations
    )
    if failed_search and not any(step[0] == "knowledge_search" for step in steps):
        steps.append(
            ("knowledge_search", {"query": question, "limit": LITERATURE_RESULTS}, "fallback")
        )
    return [step for step in steps if step[0] in tools]


def _discovery_steps(
    question: str,
    entities: Entities,
    observations: Sequence[Observation],
    tools: Mapping[str, ToolSpec],
) -> list[Candidate]:
    """Target/ligand, analog, bioactivity and safety steps of :mod:`.workflows` (when present)."""
    try:
        from biomed_agent.agent.workflows import discovery_plan
    except ImportError:  # the drug-discovery flows are optional
        return []
    return list(discovery_plan(question, entities, observations, tools))


def _names_entity(args: Mapping[str, Any], question: str, entities: Entities) -> bool:
    """True when some argument value is (or contains) an entity or words of the question."""
    known = {c["smiles"] for c in entities["compounds"] if c["smiles"]}
    known |= {c["name"].lower() for c in entities["compounds"] if c["name"]}
    known |= set(entities["accessions"]) | set(entities["genes"]) | set(entities["smiles"])
    known |= set(entities["sequences"]) | set(entities["pmids"])
    lowered = question.lower()
    for value in args.values():
        texts = value if isinstance(value, list) else [value]
        for text in texts:
            if not isinstance(text, str) or not text.strip():
                continue
            if text in known or text.lower() in known or text.lower() in lowered:
                return True
            if any(k and k.lower() in text.lower() for k in known if len(k) >= 3):
                return True
    return False


def merge_plans(
    rules: Sequence[Candidate],
    model: Sequence[Candidate],
    question: str,
    entities: Entities,
) -> tuple[list[Candidate], int]:
    """The rules' steps (never dropped) plus the model's steps that name an entity of the
    question (its tool and argument schema were validated by :func:`model_plan`);
    model steps first so its order of work is kept. Returns (steps, model steps refused)."""
    accepted = [step for step in model if _names_entity(step[1], question, entities)]
    refused = len(model) - len(accepted)
    return [*accepted, *rules], refused


def _signature(tool: str, args: Mapping[str, Any]) -> str:
    return tool + json.dumps(args, sort_keys=True, default=str)


def new_steps(
    candidates: Iterable[Candidate], observations: Sequence[Observation], budget: int
) -> tuple[list[PlanStep], int]:
    """Steps not run yet, numbered after the observations, cut to ``budget``; and the cut count."""
    seen = {_signature(obs["tool"], obs["args"]) for obs in observations}
    next_id = max((obs["id"] for obs in observations), default=0) + 1
    steps: list[PlanStep] = []
    dropped = 0
    for tool, args, why in candidates:
        signature = _signature(tool, args)
        if signature in seen:
            continue
        seen.add(signature)
        if len(steps) >= budget:
            dropped += 1
            continue
        steps.append(PlanStep(id=next_id + len(steps), tool=tool, args=dict(args), why=why))
    return steps, dropped
