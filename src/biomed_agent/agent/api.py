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
turns, also in a later process.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from biomed_agent.agent.citations import Citation
from biomed_agent.agent.context import AgentContext
from biomed_agent.agent.graph import build_graph
from biomed_agent.agent.nodes import check_question
from biomed_agent.errors import StoreError
from biomed_agent.settings import Settings, get_settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langgraph.graph.state import CompiledStateGraph

    from biomed_agent.retrievers.store import KnowledgeStore

__all__ = ["MEMORY_FILE", "MODEL_FREE", "Answer", "BioMedAgent", "Step"]

MODEL_FREE = "none"
"""``BIOMED_MODEL`` / ``--model`` value of the model-free agent."""
MEMORY_FILE = "agent-memory.sqlite"
"""File of the thread checkpointer, under ``settings.data_dir``."""


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


def _open_memory(settings: Settings) -> Any:
    from langgraph.checkpoint.sqlite import SqliteSaver

    path = settings.data_dir / MEMORY_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, check_same_thread=False)
        saver = SqliteSaver(connection)
        saver.setup()
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(
            f"cannot open the agent memory at {path}: {exc}; check that BIOMED_DATA_DIR is a "
            "writable directory",
            input_name="data_dir",
        ) from exc
    return saver


class BioMedAgent:
    """Routes, plans, calls tools, grounds in the knowledge store and answers with citations.

    Args:
        model: a LangChain chat model; a model spec string (``"none"`` for the model-free
            agent, a hub id/path, ``openai:<url>/<model>``); or None for ``settings.model``.
        settings: configuration; ``get_settings()`` when omitted.
        store: an open knowledge store to share (opened from ``settings`` on first use otherwise).
        memory: keep threads in the SQLite checkpointer (False: every question stands alone).
    """

    def __init__(
        self,
        model: BaseChatModel | str | None = None,
        settings: Settings | None = None,
        *,
        store: KnowledgeStore | None = None,
        memory: bool = True,
    ) -> None:
        settings = settings or get_settings()
        if isinstance(model, str):
            settings = settings.model_copy(update={"model": model})
        chat_model = model if not (model is None or isinstance(model, str)) else None
        if chat_model is None and settings.model.strip().lower() != MODEL_FREE:
            from biomed_agent.models import init_biomed_model

            chat_model = init_biomed_model(settings)
        self.settings = settings
        self.context = AgentContext.from_settings(settings, model=chat_model, store=store)
        self._memory = _open_memory(settings) if memory else None
        self.graph: CompiledStateGraph = build_graph(self.context, self._memory)

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

    def stream(self, question: str, thread_id: str | None = None) -> Iterator[dict[str, Any]]:
        """Events as the agent works: ``{"type": "step", ...}`` per node or tool call,
        ``{"type": "token", "text": ...}`` as the answer is written, and finally
        ``{"type": "answer", "answer": Answer}``."""
        question = check_question(question, self.settings)
        thread = thread_id or uuid.uuid4().hex
        config: dict[str, Any] = {"configurable": {"thread_id": thread}}
        timings: dict[str, float] = {}
        values: dict[str, Any] = {}
        started = last = time.perf_counter()
        runs: Any = self.graph.stream(  # type: ignore[call-overload]
            {"question": question},
            config,
            stream_mode=["updates", "custom", "values"],
            # with memory, write the thread once at the end instead of after every node
            **({"durability": "exit"} if self._memory is not None else {}),
        )
        for mode, payload in runs:
            if mode == "custom":
                yield payload
            elif mode == "values":
                values = payload
            else:
                now = time.perf_counter()
                for node in payload:
                    timings[node] = timings.get(node, 0.0) + (now - last) * 1000
                last = now
        total = (time.perf_counter() - started) * 1000
        yield {"type": "answer", "answer": self._answer(values, thread, timings, total)}

    @staticmethod
    def _answer(
        values: dict[str, Any], thread: str, timings: dict[str, float], total: float
    ) -> Answer:
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
            steps=[
                Step(**{k: obs[k] for k in Step.model_fields}) for obs in values["observations"]
            ],
            timings=timings,
            flagged=values.get("flagged", False),
            problems=values.get("problems", []) if values.get("flagged") else [],
            route=values.get("route", "general"),
            entities=entities,
            notes=values.get("notes", []),
            thread_id=thread,
        )

    def close(self) -> None:
        """Close the memory database (the agent cannot be used afterwards)."""
        if self._memory is not None:
            self._memory.conn.close()

    def __enter__(self) -> BioMedAgent:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
