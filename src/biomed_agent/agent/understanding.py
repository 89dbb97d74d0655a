"""Understanding a question: clauses and intents, drug names, scope, and name resolution.

:func:`understand_question` returns the ``understanding`` state key (JSON-ready):

* ``clauses``: ``[{"text", "intent", "score", "method"}]`` (:mod:`~biomed_agent.agent.intents`);
* ``readings``: ``[{"written", "read_as"}]`` typos read as a dictionary drug name;
* ``unresolved``: names the question gives that no source resolved;
* ``invalid_smiles``: SMILES-like tokens RDKit rejects (named under "Not checked");
* ``codes``: code names such as ``KX-902`` (matched in the user's documents);
* ``protein_names``: phrases such as "adenosine A1 receptor";
* ``standardized``: ``{input SMILES: {"smiles", "notes", "inorganic", "mixture"}}``;
* ``out_of_scope``: True when no clause is biomedical and nothing biomedical is named.

:func:`resolve_compounds` turns names into compounds through PubChem (the store
when offline or PubChem fails); a word that is not a dictionary drug name is never
sent (see :mod:`~biomed_agent.agent.lexicon`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from biomed_agent.agent.citations import evidence_from_hits
from biomed_agent.agent.entities import drug_mentions, invalid_smiles
from biomed_agent.agent.intents import classify
from biomed_agent.agent.running import emit, run_parallel, step_event
from biomed_agent.agent.state import CompoundEntity, Entities, Evidence, Observation, PlanStep
from biomed_agent.errors import BiomedAgentError, InvalidInputError, NotFoundError
from biomed_agent.tools.arguments import LINK_KEY

if TYPE_CHECKING:
    from biomed_agent.agent.context import AgentContext

__all__ = [
    "BIOMEDICAL_KINDS",
    "resolve_compounds",
    "standardize_compounds",
    "stored_protein_refs",
    "understand_question",
]

EntityKind = Literal[
    "smiles", "inchikeys", "accessions", "genes", "pmids", "sequences", "compounds"
]
BIOMEDICAL_KINDS: tuple[EntityKind, ...] = (
    "smiles", "inchikeys", "accessions", "genes", "pmids", "sequences", "compounds",
)  # fmt: skip
# development code names: "KX-902", "ABT-737", "AZD9291" (not IC50, COX-1, CYP3A4)
_CODE = re.compile(r"\b([A-Z]{1,5}-\d{2,6}[A-Z]?|[A-Z]{2,5}\d{3,7})\b")
_PROTEIN_NAME = re.compile(
    r"\b((?:[A-Za-z0-9-]+\s){1,3}(?:receptor|kinase|channel|transporter|synthase|protease|"
    r"phosphatase|cyclase|oxidase|reductase|dehydrogenase)(?:\s(?:[A-Z]\d?[A-Za-z]?|\d))?)\b"
)
_SMILES_KEYS = ("smiles", "isomeric_smiles", "SMILES", "IsomericSMILES", "canonical_smiles",
                "CanonicalSMILES", "connectivity_smiles", "ConnectivitySMILES")  # fmt: skip
_INPUT_ERRORS = frozenset(
    {InvalidInputError.__name__, *(cls.__name__ for cls in InvalidInputError.__subclasses__())}
)
_STOP_LEAD = re.compile(r"^(?:the|a|an|of|does|do|what|which|is|and)\s+", re.IGNORECASE)


def understand_question(
    question: str, entities: Entities, embedder: Callable[[], Any] | None
) -> dict[str, Any]:
    """The ``understanding`` of ``question`` (see the module docstring); no network."""
    masks = {s: "the compound" for s in [*entities["smiles"], *invalid_smiles(question)]}
    masks |= {s: "the sequence" for s in entities["sequences"]}
    masks |= {a: "the protein" for a in entities["accessions"]}
    clauses = classify(question, embedder, masks)
    mentions = drug_mentions(question)
    codes = [
        c
        for c in dict.fromkeys(_CODE.findall(question))
        if c not in entities["accessions"] and c not in entities["genes"]
        and not re.fullmatch(r"[A-Z]\d+[A-Z]", c)  # a mutation such as A23G
        and not c.startswith(("PMID", "CID"))
    ]  # fmt: skip
    protein_names = [
        _STOP_LEAD.sub("", m).strip() for m in dict.fromkeys(_PROTEIN_NAME.findall(question))
    ]
    named = any(entities[kind] for kind in BIOMEDICAL_KINDS) or mentions or codes or protein_names
    out_of_scope = not named and all(c.intent == "out_of_scope" for c in clauses)
    return {
        "clauses": [
            {"text": c.text, "intent": c.intent, "score": round(c.score, 3), "method": c.method}
            for c in clauses
        ],
        "mentions": [name for name, _ in mentions],
        "known_drugs": _known_drugs([name for name, _ in mentions]),
        "readings": [{"written": w, "read_as": name} for name, w in mentions if w],
        "unresolved": [],
        "invalid_smiles": invalid_smiles(question),
        "codes": codes,
        "protein_names": protein_names,
        "standardized": {},
        "out_of_scope": out_of_scope,
    }


def _known_drugs(names: Sequence[str]) -> dict[str, str]:
    """Name -> "DrugBank DBxxxxx" (or "drug dictionary") for dictionary drug names."""
    from biomed_agent.agent.lexicon import drug_lexicon

    lexicon = drug_lexicon()
    known = {}
    for name in names:
        if name in lexicon:
            drugbank = lexicon[name][1]
            known[name] = f"DrugBank {drugbank}" if drugbank else "in the drug dictionary"
    return known


def _smiles_of(result: dict[str, Any]) -> str | None:
    for container in (result, result.get("properties") or {}):
        for key in _SMILES_KEYS:
            if isinstance(container.get(key), str) and container[key]:
                return str(container[key])
    return None


def _add_compound(entities: Entities, obs: Observation) -> None:
    result = obs["result"]
    cid = result.get("cid")
    if any(c["cid"] == cid for c in entities["compounds"]):
        return
    entities["compounds"].append(
        CompoundEntity(
            name=str(result.get("name") or obs["args"]["query"]),
            smiles=_smiles_of(result),
            cid=int(cid) if cid is not None else None,
            url=result.get(LINK_KEY),
        )
    )


def resolve_compounds(
    context: AgentContext, queries: Sequence[str], entities: Entities
) -> tuple[list[Observation], list[Evidence], list[str], list[str]]:
    """Resolve names/InChIKeys through PubChem, else the store.

    Returns (observations, evidence, notes, names nothing resolved).
    """
    observations: list[Observation] = []
    notes: list[str] = []
    unresolved = list(queries)
    not_found: list[str] = []
    if queries and "pubchem_lookup" in context.tools and not context.settings.offline:
        steps = [
            PlanStep(id=i, tool="pubchem_lookup", args={"query": q}, why="resolve name")
            for i, q in enumerate(queries, start=1)
        ]
        for obs in run_parallel(context, steps, round_=0, emit_steps=False):
            query = obs["args"]["query"]
            error_type = (obs["error"] or {}).get("type")
            if obs["status"] == "ok":
                _add_compound(entities, obs)
                observations.append(obs)
                unresolved.remove(query)
            elif error_type == NotFoundError.__name__ or error_type in _INPUT_ERRORS:
                not_found.append(query)
            else:
                notes.append(f"PubChem lookup of {query!r} failed: {error_type}")
                observations.append(obs)
    evidence: list[Evidence] = []
    if unresolved:
        evidence = _resolve_in_store(context, unresolved, entities, notes)
    found = {str(c["name"]).lower() for c in entities["compounds"] if c["name"]}
    for item in evidence:
        found |= {s.strip().lower() for s in str(item["details"].get("synonyms", "")).split(";")}
    missing = [q for q in unresolved if q.lower() not in found]
    for index, obs in enumerate(observations, start=1):
        obs["id"] = index
        emit(step_event(obs))  # guesses that named no compound are not shown
    return observations, evidence, notes, missing


def _resolve_in_store(
    context: AgentContext, names: Sequence[str], entities: Entities, notes: list[str]
) -> list[Evidence]:
    """Names that match a stored PubChem record's name or synonym exactly."""
    try:
        store = context.knowledge_store()
        found = []
        for name in names:
            for hit in store.search(name, 3, sources=["pubchem"]):
                meta = hit.document.metadata
                synonyms = {s.strip().lower() for s in str(meta.get("synonyms", "")).split(";")}
                titles = {str(meta.get("title", "")).lower(), str(meta.get("name", "")).lower()}
                if name.lower() in titles | synonyms:
                    found.append(hit)
                    entities["compounds"].append(
                        CompoundEntity(
                            name=str(meta.get("title") or name),
                            smiles=meta.get("smiles") or meta.get("connectivity_smiles"),
                            cid=int(meta["cid"]) if "cid" in meta else None,
                            url=meta.get("url"),
                        )
                    )
                    break
    except BiomedAgentError as exc:
        notes.append(f"knowledge store unavailable for name lookup: {exc.message}")
        return []
    return evidence_from_hits({**hit.to_dict(), **dict(hit.document.metadata)} for hit in found)


def standardize_compounds(entities: Entities) -> dict[str, Any]:
    """Standardise every compound's SMILES (parent, neutral); the ``standardized`` map."""
    from biomed_agent.molecules.standardize import standardize

    done: dict[str, Any] = {}
    for compound in entities["compounds"]:
        smiles = compound["smiles"]
        if not smiles or smiles in done:
            continue
        try:
            result = standardize(smiles)
        except BiomedAgentError:
            continue
        done[smiles] = {
            "smiles": result.smiles,
            "notes": list(result.notes),
            "inorganic": result.inorganic,
            "mixture": result.mixture,
        }
    return done


def stored_protein_refs(
    store: Any, entities: Entities, understanding: Mapping[str, Any]
) -> list[tuple[str, str]]:
    """("uniprot", accession) of stored entries the question names: by accession, by
    gene symbol (the entry's gene field equals it) or by protein name (all its words in
    the entry's title). Used when a UniProt lookup could not run (offline)."""
    refs = [("uniprot", a) for a in entities["accessions"] if store.has("uniprot", a)]
    wanted = [(g, "gene") for g in entities["genes"]]
    wanted += [(n, "name") for n in understanding.get("protein_names") or []]
    for text, kind in wanted:
        for hit in store.search(text, 3, sources=["uniprot"]):
            meta = hit.document.metadata
            title_words = set(re.findall(r"[a-z0-9]+", str(meta.get("title", "")).lower()))
            if (kind == "gene" and meta.get("gene") == text) or (
                kind == "name" and set(re.findall(r"[a-z0-9]+", text.lower())) <= title_words
            ):
                refs.append(("uniprot", str(meta.get("record_id"))))
                break
    return list(dict.fromkeys(refs))
