"""The agent as a LangGraph ``StateGraph``::

    understand -> route -> plan -> act -> plan ... -> ground -> answer -> verify -> finish
                              \\________ (no steps) __/              ^         |
                                                                   \\_repair_/

*plan* and *act* alternate (at most :data:`~biomed_agent.agent.nodes.MAX_ROUNDS`
rounds) while the planner finds new steps; *verify* sends the answer back for
one repair pass when it finds unsupported numbers or dangling citations.

LangGraph's conventions: the state is a ``typing_extensions.TypedDict``
(:class:`~biomed_agent.agent.state.AgentState`), the graph declares its input
(:class:`~biomed_agent.agent.state.AgentInput`: the question) and output
(:class:`~biomed_agent.agent.state.AgentOutput`) schemas, and every node reads its
dependencies from ``Runtime[AgentContext]`` (``context_schema``), so a run can bring
its own model, settings or step limit. :func:`make_graph` is the factory
``langgraph.json`` points at.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from biomed_agent.agent.context import AgentContext
from biomed_agent.agent.nodes import MAX_ROUNDS, AgentNodes
from biomed_agent.agent.state import AgentInput, AgentOutput, AgentState, finished_turns

if TYPE_CHECKING:
    from langgraph.graph.state import CompiledStateGraph
    from langgraph.types import Checkpointer

__all__ = ["NODES", "build_graph", "make_graph"]

NODES: tuple[str, ...] = (
    "understand", "route", "plan", "act", "ground", "answer", "verify", "finish",
)  # fmt: skip
REPAIR_PASSES = 1
"""Times a failed answer is rewritten before it is returned flagged."""


class Node(Protocol):
    """A node as LangGraph calls it: the state, and the run's ``Runtime`` by keyword."""

    def __call__(self, state: AgentState, *, runtime: Runtime[AgentContext]) -> dict[str, Any]:
        """The state keys the node updates."""
        ...


def _after_plan(state: AgentState) -> str:
    return "act" if state["pending"] else "ground"


def _after_act(state: AgentState) -> str:
    return "plan" if state["rounds"] < MAX_ROUNDS else "ground"


def _after_verify(state: AgentState) -> str:
    return "answer" if state["problems"] and state["attempts"] <= REPAIR_PASSES else "finish"


def _node(name: str, default: AgentContext | None) -> Node:
    """Node ``name`` of :class:`AgentNodes`, over the run's context (or ``default``)."""

    def run(state: AgentState, *, runtime: Runtime[AgentContext]) -> dict[str, Any]:
        context = default.for_run(runtime.context) if default is not None else runtime.context
        if not isinstance(context, AgentContext):
            from biomed_agent.errors import ConfigurationError

            raise ConfigurationError(
                "the agent graph runs with an AgentContext: pass context=AgentContext(...) "
                "to invoke/stream, or build the graph with build_graph(context)",
                input_name="context",
            )
        update: dict[str, Any] = getattr(AgentNodes(context), name)(state)
        if "history" in update:  # the graph's own turns: the only history it appends
            update = {**update, "history": finished_turns(update["history"])}
        return update

    run.__name__ = name
    return run


def build_graph(
    context: AgentContext | None = None, checkpointer: Checkpointer = None
) -> CompiledStateGraph[AgentState, AgentContext, AgentInput, AgentOutput]:
    """Compile the agent graph (with memory when a checkpointer is given).

    ``context`` is the default run context: runs that pass none (the LangGraph server)
    or only a partial one (``{"step_limit": 3}``) use it. Without it every run must
    pass ``context=AgentContext(...)``.
    """
    graph = StateGraph(
        AgentState,
        context_schema=AgentContext,
        input_schema=AgentInput,
        output_schema=AgentOutput,
    )
    for name in NODES:
        graph.add_node(name, _node(name, context))
    graph.add_edge(START, "understand")
    graph.add_edge("understand", "route")
    graph.add_edge("route", "plan")
    graph.add_conditional_edges("plan", _after_plan, ["act", "ground"])
    graph.add_conditional_edges("act", _after_act, ["plan", "ground"])
    graph.add_edge("ground", "answer")
    graph.add_edge("answer", "verify")
    graph.add_conditional_edges("verify", _after_verify, ["answer", "finish"])
    graph.add_edge("finish", END)
    return graph.compile(checkpointer=checkpointer, name="biomed-agent")


def make_graph(
    config: Any = None,
) -> CompiledStateGraph[AgentState, AgentContext, AgentInput, AgentOutput]:
    """The graph from the environment's settings (``BIOMED_MODEL``), for ``langgraph.json``.

    The LangGraph server brings its own checkpointer, so none is attached here. The
    store, clients and model are built once, for every run the server makes.
    """
    from biomed_agent.resources import Resources
    from biomed_agent.settings import get_settings

    settings = get_settings()
    resources = Resources(settings)
    context = AgentContext.from_settings(
        settings, model=resources.chat_model(), resources=resources
    )
    return build_graph(context)
