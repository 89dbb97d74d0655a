"""The graph's nodes: understand, route, plan, act, ground, answer, verify, finish.

Each node is a method of :class:`AgentNodes`, bound to one
:class:`~biomed_agent.agent.context.AgentContext`, and returns the state keys it
changes. Progress goes to LangGraph's custom stream as ``{"type": "step", ...}``
and ``{"type": "token", ...}`` events (no-ops unless someone streams).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from string import Template
from typing import TYPE_CHECKING, Any

from biomed_agent.agent.citations import (
    evidence_from_hits,
    evidence_from_observations,
    merge_evidence,
    renumber,
)
from biomed_agent.agent.compose import templated_answer
from biomed_agent.agent.context import RECORD_SOURCES, AgentContext
from biomed_agent.agent.entities import (
    carry_over,
    drug_name_candidates,
    extract_entities,
    literature_intent,
)
from biomed_agent.agent.planner import (
    deterministic_plan,
    model_plan,
    new_steps,
    render_plan_prompt,
)
from biomed_agent.agent.state import (
    AgentState,
    CompoundEntity,
    Entities,
    Evidence,
    Observation,
    PlanStep,
    Route,
    Turn,
)
from biomed_agent.agent.verify import check_answer, strip_unsupported
from biomed_agent.errors import (
    BiomedAgentError,
    InvalidInputError,
    InvalidQueryError,
    NotFoundError,
    UnknownToolError,
    shorten,
)
from biomed_agent.prompts import load_prompt
from biomed_agent.settings import Settings

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage

__all__ = ["MAX_ROUNDS", "AgentNodes", "check_question"]

logger = logging.getLogger(__name__)

MAX_ROUNDS = 3
"""Plan/act rounds per question: the first plan, then follow-ups on what it found or missed."""
MAX_WORKERS = 8
"""Tool calls of one round that run at the same time."""
PROMPT_EVIDENCE_CHARS = 2000
"""Characters of one evidence item shown to the model."""
_SMILES_KEYS = ("smiles", "isomeric_smiles", "SMILES", "IsomericSMILES", "canonical_smiles",
                "CanonicalSMILES", "connectivity_smiles", "ConnectivitySMILES")  # fmt: skip


def check_question(question: object, settings: Settings) -> str:
    """The question stripped; :class:`InvalidQueryError` when it is empty or too long."""
    if not isinstance(question, str) or not question.strip():
        raise InvalidQueryError(
            f"the question {shorten(question)} is empty; ask something, e.g. "
            "'Is aspirin drug-like?'",
            input_name="question",
        )
    limit = settings.agent_max_question_chars
    if len(question) > limit:
        raise InvalidQueryError(
            f"the question has {len(question):,} characters, more than the {limit:,} allowed "
            "(BIOMED_AGENT_MAX_QUESTION_CHARS); ask about one thing at a time or ingest long "
            "texts with `biomed-agent ingest files` and ask about them",
            input_name="question",
        )
    return question.strip()


def _emit(event: dict[str, Any]) -> None:
    from langgraph.config import get_stream_writer

    try:
        writer = get_stream_writer()
    except RuntimeError:  # called outside a graph run (unit tests of a node)
        return
    writer(event)


def _smiles_of(result: dict[str, Any]) -> str | None:
    for container in (result, result.get("properties") or {}):
        for key in _SMILES_KEYS:
            if isinstance(container.get(key), str) and container[key]:
                return str(container[key])
    return None


def _run_tool(context: AgentContext, step: PlanStep, round_: int) -> Observation:
    """One step, with every failure turned into an error observation."""
    spec = context.tools.get(step["tool"])
    started = time.perf_counter()
    result: Any = None
    error: dict[str, Any] | None = None
    try:
        if spec is None:
            raise UnknownToolError(
                f"unknown tool {step['tool']!r}; the plan may only use: "
                f"{', '.join(sorted(context.tools))}",
                input_name="tool",
            )
        result = spec.run(step["args"])
    except BiomedAgentError as exc:
        error = exc.to_dict()
    except Exception as exc:  # a tool bug must not end the run; it becomes an observation
        logger.exception("tool %s failed", step["tool"])
        error = {"type": type(exc).__name__, "message": str(exc) or repr(exc)}
    return Observation(
        id=step["id"],
        tool=step["tool"],
        args=dict(step["args"]),
        status="ok" if error is None else "error",
        result=result,
        error=error,
        elapsed_ms=round((time.perf_counter() - started) * 1000, 3),
        round=round_,
    )


def _step_event(obs: Observation) -> dict[str, Any]:
    return {
        "type": "step",
        "node": "understand" if obs["round"] == 0 else "act",
        "id": obs["id"],
        "tool": obs["tool"],
        "args": obs["args"],
        "status": obs["status"],
        "error": obs["error"],
        "elapsed_ms": obs["elapsed_ms"],
    }


def _failure_text(observations: Iterable[Observation]) -> list[str]:
    return [
        f"{obs['tool']}: {obs['error']['type']}: {obs['error']['message']}"
        for obs in observations
        if obs["status"] == "error" and obs["error"]
    ]


def _data_block(number: int, item: Evidence) -> str:
    """One evidence item delimited as data; a closing tag inside it cannot end the block."""
    text = item["text"][:PROMPT_EVIDENCE_CHARS].replace("</data", "<\\/data")
    where = item["url"] or f"tool {item['tool']}"
    return f"[{number}] {item['title']} ({item['source']}: {where})\n<data>\n{text}\n</data>"


class AgentNodes:
    """The node functions of the agent graph over one context."""

    def __init__(self, context: AgentContext) -> None:
        self.context = context

    # --- understand -----------------------------------------------------

    def understand(self, state: AgentState) -> dict[str, Any]:
        """Extract entities, resolve follow-ups and drug names; reset per-question state."""
        question = check_question(state.get("question"), self.context.settings)
        entities = carry_over(question, extract_entities(question), state.get("history") or [])
        queries = list(entities["inchikeys"])
        if "compounds" not in entities["carried_over"]:
            queries += drug_name_candidates(question)
        started = time.perf_counter()
        observations, evidence, notes = self._resolve_compounds(queries, entities)
        _emit({"type": "step", "node": "understand", "entities": _entity_summary(entities)})
        return {
            "question": question,
            "entities": entities,
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

    def _resolve_compounds(
        self, queries: Sequence[str], entities: Entities
    ) -> tuple[list[Observation], list[Evidence], list[str]]:
        """Resolve names/InChIKeys through PubChem (the store when offline or PubChem fails)."""
        observations: list[Observation] = []
        notes: list[str] = []
        unresolved = list(queries)
        if queries and "pubchem_lookup" in self.context.tools and not self.context.settings.offline:
            steps = [
                PlanStep(id=i, tool="pubchem_lookup", args={"query": q}, why="resolve name")
                for i, q in enumerate(queries, start=1)
            ]
            for obs in self._run_parallel(steps, round_=0, emit=False):
                query = obs["args"]["query"]
                error_type = (obs["error"] or {}).get("type")
                if obs["status"] == "ok":
                    self._add_compound(entities, obs)
                    observations.append(obs)
                    unresolved.remove(query)
                elif error_type == NotFoundError.__name__ or error_type in _INPUT_ERRORS:
                    unresolved.remove(query)  # a word that names no compound
                else:
                    notes.append(f"PubChem lookup of {query!r} failed: {error_type}")
                    observations.append(obs)
        evidence: list[Evidence] = []
        if unresolved:
            evidence = self._resolve_in_store(unresolved, entities, notes)
        for index, obs in enumerate(observations, start=1):
            obs["id"] = index
            _emit(_step_event(obs))  # guesses that named no compound are not shown
        return observations, evidence, notes

    def _add_compound(self, entities: Entities, obs: Observation) -> None:
        result = obs["result"]
        cid = result.get("cid")
        if any(c["cid"] == cid for c in entities["compounds"]):
            return
        entities["compounds"].append(
            CompoundEntity(
                name=str(result.get("name") or obs["args"]["query"]),
                smiles=_smiles_of(result),
                cid=int(cid) if cid is not None else None,
                url=result.get("source_url") or result.get("url"),
            )
        )

    def _resolve_in_store(
        self, names: Sequence[str], entities: Entities, notes: list[str]
    ) -> list[Evidence]:
        """Names that match a stored PubChem record's name or synonym exactly."""
        try:
            store = self.context.knowledge_store()
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
        return evidence_from_hits({**hit.to_dict(), **_metadata(hit)} for hit in found)

    # --- route ----------------------------------------------------------

    def route(self, state: AgentState) -> dict[str, Any]:
        """Classify: molecule, protein, literature, multi-step or general."""
        entities = state["entities"]
        kinds = []
        if entities["compounds"] or entities["smiles"] or entities["inchikeys"]:
            kinds.append("molecule")
        if entities["accessions"] or entities["genes"] or entities["sequences"]:
            kinds.append("protein")
        if entities["pmids"] or literature_intent(state["question"]):
            kinds.append("literature")
        route: Route = "general"
        if len(kinds) > 1:
            route = "multi-step"
        elif kinds:
            route = kinds[0]  # type: ignore[assignment]
        _emit({"type": "step", "node": "route", "route": route})
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
                prompt = render_plan_prompt(
                    state["question"], state["entities"], suggested, observations, context.tools
                )
                try:
                    candidates = model_plan(context.model, prompt, context.tools, context.max_steps)
                except (ValueError, BiomedAgentError) as exc:
                    notes.append(f"the model's plan was rejected, rules used instead: {exc}")
                    candidates = suggested
                else:
                    if not candidates and rounds == 0:
                        candidates = suggested
                model_ms += (time.perf_counter() - started) * 1000
            else:
                candidates = []
        steps, dropped = new_steps(candidates, observations, budget)
        if dropped:
            notes.append(
                f"step limit reached (BIOMED_AGENT_MAX_STEPS={context.max_steps}): "
                f"{dropped} planned step(s) not run"
            )
        _emit({"type": "step", "node": "plan", "steps": [dict(s) for s in steps]})
        return {
            "pending": steps,
            "plan": [*state["plan"], *steps],
            "notes": notes,
            "model_ms": model_ms,
        }

    def _run_parallel(
        self, steps: Sequence[PlanStep], round_: int, *, emit: bool = True
    ) -> list[Observation]:
        """Run steps at the same time; a step event for each as it finishes when ``emit``."""
        if len(steps) <= 1:
            done = [_run_tool(self.context, step, round_) for step in steps]
            if emit and done:
                _emit(_step_event(done[0]))
            return done
        done = []
        with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(steps))) as pool:
            futures = [pool.submit(_run_tool, self.context, step, round_) for step in steps]
            for future in as_completed(futures):
                done.append(future.result())
                if emit:
                    _emit(_step_event(done[-1]))
        return sorted(done, key=lambda obs: obs["id"])

    def act(self, state: AgentState) -> dict[str, Any]:
        """Run the pending steps in parallel; errors come back as observations."""
        started = time.perf_counter()
        new = self._run_parallel(state["pending"], round_=state["rounds"] + 1)
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
        if not refs:
            return {}
        started = time.perf_counter()
        notes = list(state["notes"])
        evidence = list(state["evidence"])
        try:
            store = self.context.knowledge_store()
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
        _emit({"type": "step", "node": "ground", "records": [f"{s}:{r}" for s, r in refs]})
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
        evidence = merge_evidence(
            [*evidence_from_observations(state["observations"]), *state["evidence"]]
        )
        attempts = state["attempts"]
        model = self.context.model
        started = time.perf_counter()
        if model is None:
            if attempts == 0:
                text = templated_answer(
                    state["question"], state["entities"], state["observations"], evidence
                )
                _emit({"type": "token", "text": text})
            else:
                text = strip_unsupported(state["answer"], evidence, self._extra_sources(state))
            model_ms = state["model_ms"]
        else:
            messages = self._answer_messages(state, evidence)
            if attempts:
                from langchain_core.messages import AIMessage, HumanMessage

                repair = Template(load_prompt("agent_repair")).substitute(
                    problems="\n".join(f"- {p}" for p in state["problems"]),
                    count=len(evidence),
                )
                messages += [AIMessage(state["answer"]), HumanMessage(repair)]
            text = _stream_text(model, messages)
            model_ms = state["model_ms"] + (time.perf_counter() - started) * 1000
        return {
            "answer": text,
            "evidence": evidence,
            "attempts": attempts + 1,
            "model_ms": model_ms,
        }

    def _answer_messages(
        self, state: AgentState, evidence: Sequence[Evidence]
    ) -> list[BaseMessage]:
        from langchain_core.messages import HumanMessage, SystemMessage

        blocks = "\n\n".join(_data_block(n, item) for n, item in enumerate(evidence, start=1))
        failures = "; ".join(_failure_text(state["observations"])) or "none"
        prompt = Template(load_prompt("agent_answer")).substitute(
            question=state["question"], evidence=blocks or "(no evidence found)", failures=failures
        )
        return [SystemMessage(load_prompt("agent_system")), HumanMessage(prompt)]

    def _extra_sources(self, state: AgentState) -> list[str]:
        return [state["question"], *_failure_text(state["observations"]), *state["notes"]]

    def verify(self, state: AgentState) -> dict[str, Any]:
        """Numbers must come from the evidence, citations must exist."""
        problems = check_answer(state["answer"], state["evidence"], self._extra_sources(state))
        _emit({"type": "step", "node": "verify", "problems": problems})
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


_INPUT_ERRORS = frozenset(
    {InvalidInputError.__name__, *(cls.__name__ for cls in InvalidInputError.__subclasses__())}
)


def _metadata(hit: Any) -> dict[str, Any]:
    return dict(hit.document.metadata)


def _entity_summary(entities: Entities) -> dict[str, Any]:
    summary: dict[str, Any] = {k: v for k, v in entities.items() if v and k != "compounds"}
    if entities["compounds"]:
        summary["compounds"] = [c["name"] or c["smiles"] for c in entities["compounds"]]
    return summary


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


def _stream_text(model: Any, messages: list[BaseMessage]) -> str:
    """Generate with token events; the full text."""
    parts: list[str] = []
    for chunk in model.stream(messages):
        text = chunk.content if isinstance(chunk.content, str) else json.dumps(chunk.content)
        if text:
            parts.append(text)
            _emit({"type": "token", "text": text})
    return "".join(parts).strip()
