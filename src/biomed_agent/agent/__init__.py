"""The biomed-agent LangGraph agent: understand, route, plan, act, ground, answer, verify.

Public API: :class:`~biomed_agent.agent.api.BioMedAgent` and
:class:`~biomed_agent.agent.api.Answer` (also importable from ``biomed_agent``),
:func:`~biomed_agent.agent.graph.build_graph` / :func:`~biomed_agent.agent.graph.make_graph`
for the compiled graph, and :func:`~biomed_agent.agent.demo.run_demo`. Submodules
import LangGraph, so this package imports nothing on its own.
"""
