"""The public face of the agent: :class:`BioMedAgent` and its :class:`Answer`.

::

    from biomed_agent import BioMedAgent

    agent = BioMedAgent(model="none")              # model-free; or a chat model / model id
    answer = agent.ask("Is aspirin drug-like?")
    print(answer.text)                             # cited markdown, [1] ... [n]
    for c in answer.citations:
        print(c.id, c.source, c.url or c.tool)
    follow = agent.ask("and what does the literature say about it?", thread_id=answer.thread_id)

Threads live in a SQLite checkpointer under ``BIOMED_DATA_DIR`` (``agent-memory.sqlite``),
so a follow-up on the same ``thread_id`` resolves "it"/"its target" against earlier
turns, also in a later process. The agent owns one
:class:`~biomed_agent.resources.Resources` (store, HTTP clients, models, memory) that
its tools share; ``with BioMedAgent(...)`` (or :meth:`BioMedAgent.close`) closes it.
``await agent.aask(...)`` and ``async for event in agent.astream(...)`` serve asyncio code.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from biomed_agent.agent.citations import Citation
from biomed_agent.agent.context import AgentContext
from biomed_agent.agent.graph import build_graph
from biomed_agent.agent.nodes import check_question
from biomed_agent.agent.state import AgentInput, AgentOutput, AgentState
from biomed_agent.resources import MEMORY_FILE, MODEL_FREE, Resources
from biomed_agent.settings import Settings, get_settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langgraph.graph.state import CompiledStateGraph

    from biomed_agent.retrievers.store import KnowledgeStore

__all__ = ["MEMORY_FILE", "MODEL_FREE", "Answer", "BioMedAgent", "Step"]


class Step(BaseModel):
    """One tool call the agent made."""

    id: int
    """Step number, shared with the plan."""
    tool: str
    """Registered tool name."""
    args: dict[str, Any]
    """Arguments it was called with."""
    status: str
    """``ok`` or ``error``."""
    error: dict[str, Any] | None = None
    """The typed error (``type``, ``message``, ``input``) when the step failed."""
    elapsed_ms: float
    """Wall time of the call."""
    round: int
    """0: name resolution while understanding; 1...: plan/act rounds."""


class Answer(BaseModel):
    """An answer with its sources, the steps taken and where the time went."""

    question: str
    """The question as asked (stripped)."""
    text: str
    """Markdown answer; ``[n]`` refers to ``citations`` with ``id == n``."""
    citations: list[Citation] = Field(default_factory=list)
    """Sources cited in ``text``, numbered 1..n in order of first use."""
    steps: list[Step] = Field(default_factory=list)
    """Tool calls made, in step order."""
    timings: dict[str, float] = Field(default_factory=dict)
    """Milliseconds per node, plus ``total``, ``model``, ``tools``, ``store`` and ``overhead``
    (total minus model, tool and store time)."""
    flagged: bool = False
    """True when verification still found problems after the repair pass."""
    problems: list[str] = Field(default_factory=list)
    """What verification found (empty unless ``flagged``)."""
    route: str = "general"
    """molecule, protein, literature, multi-step or general."""
    entities: dict[str, Any] = Field(default_factory=dict)
    """Entities found in (or carried over to) the question."""
    notes: list[str] = Field(default_factory=list)
    """Things the run could not do (store unavailable, step limit, planner fallback)."""
    thread_id: str
    """Thread of the conversation; pass it back for follow-up questions."""

    def to_json_dict(self) -> dict[str, Any]:
        """The ``--json`` form: ``answer``, ``citations``, ``steps``, ``timings`` and the rest."""
        return {
            "question": self.question,
            "answer": self.text,
            "citations": [c.model_dump(exclude_defaults=True) for c in self.citations],
            "steps": [s.model_dump() for s in self.steps],
            "timings": self.timings,
            "flagged": self.flagged,
            "problems": self.problems,
            "route": self.route,
            "notes": self.notes,
            "thread_id": self.thread_id,
        }


class BioMedAgent:
    """Routes, plans, calls tools, grounds in the knowledge store and answers with citations.

    Args:
        model: a LangChain chat model; a model spec string (``"none"`` for the model-free
            agent, a hub id/path, ``openai:<url>/<model>``); or None for ``settings.model``.
        settings: configuration; ``get_settings()`` when omitted.
        store: an open knowledge store to share (opened from ``settings`` on first use otherwise).
        memory: keep threads in the SQLite checkpointer (False: every question stands alone).
        resources: shared resources to use (the caller closes them); by default the agent
            builds its own, and :meth:`close` (or leaving ``with``) closes them.
    """

    def __init__(
        self,
        model: BaseChatModel | str | None = None,
        settings: Settings | None = None,
        *,
        store: KnowledgeStore | None = None,
        memory: bool = True,
        resources: Resources | None = None,
    ) -> None:
        settings = settings or (resources.settings if resources else get_settings())
        if isinstance(model, str):
            settings = settings.model_copy(update={"model": model})
        given = model if not (model is None or isinstance(model, str)) else None
        self._owns_resources = resources is None
        self.resources = resources or Resources(settings, store=store, chat_model=given)
        try:
            if given is None and self.resources.settings is settings:
                chat_model = self.resources.chat_model()
            elif given is None and settings.model.strip().lower() != MODEL_FREE:
                from biomed_agent.models import init_biomed_model

                chat_model = init_biomed_model(settings)
            else:
                chat_model = given
            self.settings = settings
            self.context = AgentContext.from_settings(
                settings, model=chat_model, resources=self.resources
            )
            self._memory = self.resources.memory() if memory else None
        except BaseException:
            if self._owns_resources:
                self.resources.close()
            raise
        self.graph: CompiledStateGraph[AgentState, AgentContext, AgentInput, AgentOutput] = (
            build_graph(self.context, self._memory)
        )

    @property
    def model(self) -> BaseChatModel | None:
        """The chat model, or None in model-free mode."""
        return self.context.model

    def ask(self, question: str, thread_id: str | None = None) -> Answer:
        """Answer one question (a follow-up when ``thread_id`` names an earlier thread)."""
        for event in self.stream(question, thread_id):
            if event["type"] == "answer":
                answer: Answer = event["answer"]
                return answer
        raise AssertionError("the agent graph ended without an answer")  # pragma: no cover

    async def aask(self, question: str, thread_id: str | None = None) -> Answer:
        """:meth:`ask` for asyncio code (nodes run in worker threads; the loop stays free)."""
        async for event in self.astream(question, thread_id):
            if event["type"] == "answer":
                answer: Answer = event["answer"]
                return answer
        raise AssertionError("the agent graph ended without an answer")  # pragma: no cover

    def _run(self, question: str, thread_id: str | None) -> tuple[AgentInput, dict[str, Any]]:
        question = check_question(question, self.settings)
        thread = thread_id or uuid.uuid4().hex
        options: dict[str, Any] = {
            "config": {"configurable": {"thread_id": thread}},
            "context": self.context,
            "stream_mode": ["updates", "custom", "values"],
        }
        if self._memory is not None:  # write the thread once at the end, not after every node
            options["durability"] = "exit"
        return AgentInput(question=question), options

    def stream(self, question: str, thread_id: str | None = None) -> Iterator[dict[str, Any]]:
        """Events as the agent works: ``{"type": "step", ...}`` per node or tool call,
        ``{"type": "token", "text": ...}`` as the answer is written, and finally
        ``{"type": "answer", "answer": Answer}``."""
        payload, options = self._run(question, thread_id)
        run = _Run(options["config"]["configurable"]["thread_id"])
        for mode, item in self.graph.stream(payload, **options):
            event = run.see(mode, item)
            if event is not None:
                yield event
        yield run.answer()

    async def astream(
        self, question: str, thread_id: str | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """:meth:`stream` for asyncio code: the same events, asynchronously.

        The run goes on in one worker thread (the nodes block on HTTP, RDKit and torch, and
        the SQLite memory is synchronous), so the event loop stays free meanwhile.
        """
        check_question(question, self.settings)  # bad input fails here, in the caller
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[dict[str, Any] | BaseException | None] = asyncio.Queue()

        def work() -> None:
            try:
                for event in self.stream(question, thread_id):
                    loop.call_soon_threadsafe(queue.put_nowait, event)
            except BaseException as exc:  # handed to the caller below
                loop.call_soon_threadsafe(queue.put_nowait, exc)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, None)

        worker = loop.run_in_executor(None, work)
        try:
            while (item := await queue.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            await worker

    def close(self) -> None:
        """Close the store, HTTP clients and memory database this agent opened (the agent
        cannot be used afterwards); resources passed in stay open."""
        if self._owns_resources:
            self.resources.close()

    def __enter__(self) -> BioMedAgent:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _Run:
    """Collects one run's stream into events, per-node timings and the final :class:`Answer`."""

    def __init__(self, thread: str) -> None:
        self.thread = thread
        self.timings: dict[str, float] = {}
        self.values: dict[str, Any] = {}
        self.started = self.last = time.perf_counter()

    def see(self, mode: str, payload: Any) -> dict[str, Any] | None:
        """The event to pass on for one stream item (None for state updates)."""
        if mode == "custom":
            event: dict[str, Any] = payload
            return event
        if mode == "values":
            self.values = payload
            return None
        now = time.perf_counter()
        for node in payload:
            self.timings[node] = self.timings.get(node, 0.0) + (now - self.last) * 1000
        self.last = now
        return None

    def answer(self) -> dict[str, Any]:
        """The final ``{"type": "answer", "answer": Answer}`` event."""
        total = (time.perf_counter() - self.started) * 1000
        answer = _answer(self.values, self.thread, self.timings, total)
        return {"type": "answer", "answer": answer}


def _answer(values: dict[str, Any], thread: str, timings: dict[str, float], total: float) -> Answer:
    spent = {
        "model": values.get("model_ms", 0.0),
        "tools": values.get("tool_ms", 0.0),
        "store": values.get("store_ms", 0.0),
    }
    timings = {name: round(ms, 3) for name, ms in timings.items()}
    timings.update({name: round(ms, 3) for name, ms in spent.items()})
    timings["total"] = round(total, 3)
    timings["overhead"] = round(max(total - sum(spent.values()), 0.0), 3)
    entities = {k: v for k, v in (values.get("entities") or {}).items() if v}
    return Answer(
        question=values.get("question", ""),
        text=values.get("answer", ""),
        citations=[Citation(**c) for c in values.get("citations", [])],
        steps=[Step(**{k: obs[k] for k in Step.model_fields}) for obs in values["observations"]],
        timings=timings,
        flagged=values.get("flagged", False),
        problems=values.get("problems", []) if values.get("flagged") else [],
        route=values.get("route", "general"),
        entities=entities,
        notes=values.get("notes", []),
        thread_id=thread,
    )
