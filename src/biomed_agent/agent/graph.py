"""The agent as a LangGraph ``StateGraph``::

    understand -> route -> plan -> act -> plan ... -> ground -> answer -> verify -> finish
                              \\________ (no steps) __/              ^         |
                                                                   \\_repair_/

*plan* and *act* alternate (at most :data:`~biomed_agent.agent.nodes.MAX_ROUNDS`
rounds) while the planner finds new steps; *verify* sends the answer back for
one repair pass when it finds unsupported numbers or dangling citations.
:func:`make_graph` is the factory ``langgraph.json`` points at.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from langgraph.graph import END, START, StateGraph

from biomed_agent.agent.context import AgentContext
from biomed_agent.agent.nodes import MAX_ROUNDS, AgentNodes
from biomed_agent.agent.state import AgentState

if TYPE_CHECKING:
    from langgraph.graph.state import CompiledStateGraph
    from langgraph.types import Checkpointer

__all__ = ["NODES", "build_graph", "make_graph"]

NODES: tuple[str, ...] = (
    "understand", "route", "plan", "act", "ground", "answer", "verify", "finish",
)  # fmt: skip
REPAIR_PASSES = 1
"""Times a failed answer is rewritten before it is returned flagged."""


def _after_plan(state: AgentState) -> str:
    return "act" if state["pending"] else "ground"


def _after_act(state: AgentState) -> str:
    return "plan" if state["rounds"] < MAX_ROUNDS else "ground"


def _after_verify(state: AgentState) -> str:
    return "answer" if state["problems"] and state["attempts"] <= REPAIR_PASSES else "finish"


def build_graph(context: AgentContext, checkpointer: Checkpointer = None) -> CompiledStateGraph:
    """Compile the agent graph over ``context`` (with memory when a checkpointer is given)."""
    nodes = AgentNodes(context)
    graph = StateGraph(AgentState)
    for name in NODES:
        graph.add_node(name, getattr(nodes, name))
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


def make_graph(config: Any = None) -> CompiledStateGraph:
    """The graph from the environment's settings (``BIOMED_MODEL``), for ``langgraph.json``.

    The LangGraph server brings its own checkpointer, so none is attached here.
    """
    from biomed_agent.models import init_biomed_model
    from biomed_agent.settings import get_settings

    settings = get_settings()
    context = AgentContext.from_settings(settings, model=init_biomed_model(settings))
    return build_graph(context)
