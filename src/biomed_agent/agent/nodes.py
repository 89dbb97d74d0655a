"""The graph's nodes: understand, route, plan, act, ground, answer, verify, finish.

Each node is a method of :class:`AgentNodes`, bound to one
:class:`~biomed_agent.agent.context.AgentContext`, and returns the state keys it
changes. Progress goes to LangGraph's custom stream as ``{"type": "step", ...}``
and ``{"type": "token", ...}`` events (no-ops unless someone streams).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from biomed_agent.agent.citations import (
    evidence_from_hits,
    evidence_from_observations,
    merge_evidence,
    renumber,
)
from biomed_agent.agent.compose import templated_answer
from biomed_agent.agent.compose_molecules import REFERENCE_TEXTS
from biomed_agent.agent.context import RECORD_SOURCES, AgentContext
from biomed_agent.agent.entities import carry_over, extract_entities
from biomed_agent.agent.planner import (
    deterministic_plan,
    merge_plans,
    model_plan,
    new_steps,
    plan_schema,
    planner_tools,
    render_plan_prompt,
)
from biomed_agent.agent.preflight import check_question
from biomed_agent.agent.prompt_fit import answer_messages, clip_question, fit_plan_prompt
from biomed_agent.agent.relevance import relevant_evidence, searched_keys
from biomed_agent.agent.running import data_block, emit, failure_text, run_parallel, stream_text
from biomed_agent.agent.state import AgentState, Entities, Evidence, Observation, Route, Turn
from biomed_agent.agent.understanding import (
    resolve_compounds,
    standardize_compounds,
    stored_protein_refs,
    understand_question,
)
from biomed_agent.agent.verify import check_answer, is_non_answer, strip_unsupported
from biomed_agent.errors import BiomedAgentError

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage

__all__ = ["MAX_ROUNDS", "AgentNodes", "check_question"]

MAX_ROUNDS = 3
"""Plan/act rounds per question: the first plan, then follow-ups on what it found or missed."""
REFUSAL = (
    "This is outside what I can answer: I answer questions about molecules, proteins and "
    "the biomedical literature.\n"
)
_LITERATURE_INTENTS = frozenset({"literature", "safety", "bioactivity"})


class AgentNodes:
    """The node functions of the agent graph over one context."""

    def __init__(self, context: AgentContext) -> None:
        self.context = context

    # --- understand -----------------------------------------------------

    def understand(self, state: AgentState) -> dict[str, Any]:
        """Entities, clauses and intents; resolve follow-ups and drug names; reset state."""
        question = check_question(state.get("question"), self.context.settings)
        entities = carry_over(question, extract_entities(question), state.get("history") or [])
        understanding = understand_question(question, entities, self.context.shared.embedder)
        queries = list(entities["inchikeys"])
        if "compounds" not in entities["carried_over"] and not understanding["out_of_scope"]:
            queries += understanding["mentions"][:3]
        started = time.perf_counter()
        observations, evidence, notes, missing = resolve_compounds(self.context, queries, entities)
        understanding["unresolved"] = missing
        understanding["offline"] = self.context.settings.offline
        understanding["standardized"] = standardize_compounds(entities)
        emit({"type": "step", "node": "understand", "entities": _entity_summary(entities)})
        return {
            "question": question,
            "entities": entities,
            "understanding": understanding,
            "route": "general",
            "plan": [],
            "pending": [],
            "observations": observations,
            "rounds": 0,
            "evidence": evidence,
            "answer": "",
            "citations": [],
            "attempts": 0,
            "problems": [],
            "flagged": False,
            "notes": notes,
            "model_ms": 0.0,
            "tool_ms": (time.perf_counter() - started) * 1000 if queries else 0.0,
            "store_ms": 0.0,
        }

    # --- route ----------------------------------------------------------

    def route(self, state: AgentState) -> dict[str, Any]:
        """Classify: molecule, protein, literature, multi-step or general."""
        entities = state["entities"]
        understanding = state.get("understanding") or {}
        intents = {c["intent"] for c in understanding.get("clauses", [])}
        kinds = []
        if entities["compounds"] or entities["smiles"] or entities["inchikeys"]:
            kinds.append("molecule")
        if entities["accessions"] or entities["genes"] or entities["sequences"]:
            kinds.append("protein")
        if entities["pmids"] or intents & _LITERATURE_INTENTS:
            kinds.append("literature")
        route: Route = "general"
        if len(kinds) > 1:
            route = "multi-step"
        elif kinds:
            route = kinds[0]  # type: ignore[assignment]
        emit({"type": "step", "node": "route", "route": route})
        return {"route": route}

    # --- plan / act -----------------------------------------------------

    def plan(self, state: AgentState) -> dict[str, Any]:
        """Next steps: the model's plan (validated) or the rules'; cut to the step limit."""
        context = self.context
        observations = state["observations"]
        rounds = state["rounds"]
        notes = list(state["notes"])
        suggested = deterministic_plan(
            state["question"],
            state["entities"],
            observations,
            context.tools,
            offline=context.settings.offline,
            understanding=state.get("understanding"),
        )
        budget = max(context.max_steps - len(observations), 0)
        model_ms = state["model_ms"]
        candidates = suggested
        last_round_failed = any(
            obs["status"] == "error" and obs["round"] == rounds for obs in observations
        )
        if context.model is not None and budget:
            if rounds == 0 or last_round_failed:
                started = time.perf_counter()
                offered = planner_tools(
                    state["question"],
                    suggested,
                    context.tools,
                    has_10b=context.settings.biomedgpt10b_path is not None,
                )
                try:  # budgeting loads the model: a load failure falls back to the rules too
                    question = clip_question(context.model, state["question"])
                    prompt = fit_plan_prompt(  # the most rows that fit the model's budget
                        context.model,
                        lambda rows: render_plan_prompt(
                            question, state["entities"], suggested, observations, offered, rows
                        ),
                        plan_schema(offered, context.max_steps),
                    )
                    proposed = model_plan(context.model, prompt, offered, context.max_steps)
                except (ValueError, BiomedAgentError) as exc:
                    notes.append(f"the model's plan was rejected, rules used instead: {exc}")
                    candidates = suggested
                else:
                    candidates, refused = merge_plans(
                        suggested, proposed, state["question"], state["entities"]
                    )
                    if refused:
                        notes.append(
                            f"{refused} step(s) of the model's plan named nothing from the "
                            "question and were not run; the rules' steps were kept"
                        )
                model_ms += (time.perf_counter() - started) * 1000
            else:
                candidates = suggested  # the rules' follow-up steps are never dropped
        steps, dropped = new_steps(candidates, observations, budget)
        if dropped:
            notes.append(
                f"step limit reached (BIOMED_AGENT_MAX_STEPS={context.max_steps}): "
                f"{dropped} planned step(s) not run"
            )
        emit({"type": "step", "node": "plan", "steps": [dict(s) for s in steps]})
        return {
            "pending": steps,
            "plan": [*state["plan"], *steps],
            "notes": notes,
            "model_ms": model_ms,
        }

    def act(self, state: AgentState) -> dict[str, Any]:
        """Run the pending steps in parallel; errors come back as observations."""
        started = time.perf_counter()
        new = run_parallel(self.context, state["pending"], round_=state["rounds"] + 1)
        return {
            "observations": [*state["observations"], *new],
            "pending": [],
            "rounds": state["rounds"] + 1,
            "tool_ms": state["tool_ms"] + (time.perf_counter() - started) * 1000,
        }

    # --- ground ---------------------------------------------------------

    def ground(self, state: AgentState) -> dict[str, Any]:
        """Ingest the records the run found into the store if missing, then read them back."""
        refs = _record_refs(state["observations"], state["entities"])
        wants_protein = _unresolved_proteins(state)
        if not refs and not wants_protein:
            return {}
        started = time.perf_counter()
        notes = list(state["notes"])
        evidence = list(state["evidence"])
        try:
            store = self.context.knowledge_store()
            if wants_protein:  # a lookup failed (offline?): the store may hold the entry
                refs += stored_protein_refs(
                    store, state["entities"], state.get("understanding") or {}
                )
            missing: dict[str, list[str]] = {}
            for source, record_id in refs:
                if not store.has(source, record_id):
                    missing.setdefault(source, []).append(record_id)
            for source, record_ids in missing.items():
                try:
                    documents = self.context.record_fetcher().fetch(source, record_ids)
                except BiomedAgentError as exc:
                    notes.append(f"could not fetch {source} records {record_ids}: {exc.message}")
                    continue
                store.add_documents(documents)
            evidence += self._read_back(store, refs, state["question"])
        except BiomedAgentError as exc:
            notes.append(f"grounding skipped, knowledge store unavailable: {exc.message}")
        emit({"type": "step", "node": "ground", "records": [f"{s}:{r}" for s, r in refs]})
        return {
            "evidence": merge_evidence(evidence),
            "notes": notes,
            "store_ms": state["store_ms"] + (time.perf_counter() - started) * 1000,
        }

    def _read_back(
        self, store: Any, refs: Sequence[tuple[str, str]], question: str
    ) -> list[Evidence]:
        """Each record's first chunk, plus the chunks of these records closest to the question."""
        wanted = set(refs)
        rows: list[dict[str, Any]] = []
        for source, record_id in refs:
            chunks = store.get(source, record_id)
            if chunks:
                rows.append({**chunks[0].metadata, "text": chunks[0].page_content})
        sources = sorted({source for source, _ in refs})
        for hit in store.search(question, 4, sources=sources):
            meta = hit.document.metadata
            if (meta.get("source"), str(meta.get("record_id"))) in wanted:
                rows.append({**meta, "text": hit.document.page_content})
        return evidence_from_hits(rows)

    # --- answer / verify --------------------------------------------------

    def answer(self, state: AgentState) -> dict[str, Any]:
        """Write the answer from the evidence (model or template); second call = repair pass."""
        understanding = state.get("understanding") or {}
        if understanding.get("out_of_scope"):
            emit({"type": "token", "text": REFUSAL})
            return {"answer": REFUSAL, "evidence": [], "attempts": state["attempts"] + 1}
        evidence = relevant_evidence(
            merge_evidence(
                [*evidence_from_observations(state["observations"]), *state["evidence"]]
            ),
            state["entities"],
            understanding,
            searched_keys(state["observations"]),
        )
        attempts = state["attempts"]
        model = self.context.model
        started = time.perf_counter()
        notes = list(state["notes"])
        model_ms = state["model_ms"]
        if model is None:
            if attempts == 0:
                text = self._template(state, evidence)
                emit({"type": "token", "text": text})
            else:
                text = strip_unsupported(state["answer"], evidence, self._extra_sources(state))
        else:
            repair = (state["answer"], state["problems"]) if attempts else None
            messages = self._answer_messages(state, evidence, repair)
            try:
                text = stream_text(model, messages)
            except ValueError:  # LangChain: "No generation chunks were returned" (empty reply)
                text = ""
            model_ms += (time.perf_counter() - started) * 1000
            prompt = "\n".join(str(m.content) for m in messages[:2])
            reason = is_non_answer(text, state["question"], prompt)
            if reason:
                notes.append(f"the model's answer was not used ({reason}); template answer given")
                text = self._template(state, evidence)
                text = (
                    f"{text.rstrip()}\n\n_(The model gave no usable answer ({reason}); this is "
                    "the template answer from the same evidence.)_\n"
                )
        return {
            "answer": text,
            "evidence": evidence,
            "attempts": attempts + 1,
            "model_ms": model_ms,
            "notes": notes,
        }

    def _template(self, state: AgentState, evidence: list[Evidence]) -> str:
        return templated_answer(
            state["question"],
            state["entities"],
            state["observations"],
            evidence,
            state.get("understanding") or {},
            self.context.tools,
        )

    def _answer_messages(
        self,
        state: AgentState,
        evidence: Sequence[Evidence],
        repair: tuple[str, Sequence[str]] | None = None,
    ) -> list[BaseMessage]:
        blocks = [data_block(n, item) for n, item in enumerate(evidence, start=1)]
        failures = "; ".join(failure_text(state["observations"])) or "none"
        # within the model's token budget (BioMedGPT: 2,048 with room to answer and repair)
        return answer_messages(
            self.context.model, state["question"], blocks, failures, repair=repair
        )

    def _extra_sources(self, state: AgentState) -> list[str]:
        return [
            state["question"],
            *REFERENCE_TEXTS,
            *failure_text(state["observations"]),
            *state["notes"],
        ]

    def verify(self, state: AgentState) -> dict[str, Any]:
        """Numbers must come from the evidence, citations must exist."""
        problems = check_answer(state["answer"], state["evidence"], self._extra_sources(state))
        emit({"type": "step", "node": "verify", "problems": problems})
        return {"problems": problems}

    def finish(self, state: AgentState) -> dict[str, Any]:
        """Renumber citations, flag what verification could not fix, remember the turn."""
        text, citations = renumber(state["answer"], state["evidence"])
        turn = Turn(question=state["question"], entities=state["entities"], answer=text)
        return {
            "answer": text,
            "citations": [citation.model_dump() for citation in citations],
            "flagged": bool(state["problems"]),
            "history": [turn],
        }


def _entity_summary(entities: Entities) -> dict[str, Any]:
    summary: dict[str, Any] = {k: v for k, v in entities.items() if v and k != "compounds"}
    if entities["compounds"]:
        summary["compounds"] = [c["name"] or c["smiles"] for c in entities["compounds"]]
    return summary


def _unresolved_proteins(state: AgentState) -> bool:
    """True when the question names a protein and no UniProt lookup succeeded."""
    entities = state["entities"]
    named = (
        entities["accessions"]
        or entities["genes"]
        or ((state.get("understanding") or {}).get("protein_names"))
    )
    found = any(
        o["tool"] == "uniprot_lookup" and o["status"] == "ok" for o in state["observations"]
    )
    return bool(named) and not found


def _record_refs(observations: Sequence[Observation], entities: Entities) -> list[tuple[str, str]]:
    """(source, record_id) of every record the run touched, PubMed capped at five."""
    refs: list[tuple[str, str]] = []
    for item in evidence_from_observations(observations):
        if item["source"] in RECORD_SOURCES and item["record_id"]:
            refs.append((item["source"], item["record_id"]))
    refs += [("pubchem", str(c["cid"])) for c in entities["compounds"] if c["cid"] is not None]
    refs += [("pubmed", pmid) for pmid in entities["pmids"]]
    unique = list(dict.fromkeys(refs))
    pubmed = [ref for ref in unique if ref[0] == "pubmed"][5:]
    return [ref for ref in unique if ref not in pubmed]
