"""The graph's LangGraph conventions and BioMedAgent's async API.

``Runtime[AgentContext]``: nodes read the run's context, so two runs of one compiled
graph can use different tools; ``aask``/``astream`` give the same answers and events
as ``ask``/``stream`` without blocking the event loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from biomed_agent.agent.api import BioMedAgent
from biomed_agent.agent.context import AgentContext
from biomed_agent.agent.graph import build_graph
from biomed_agent.errors import ConfigurationError, InvalidInputError
from tests.helpers.agent_world import World, agent_world, make_agent

QUESTION = "Is aspirin drug-like?"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with agent_world(tmp_path / "data") as world:
        yield world


def test_aask_and_astream_match_the_sync_api(world: World) -> None:
    with make_agent(world, memory=False) as agent:
        expected = agent.ask(QUESTION)

        async def main() -> tuple[Any, list[dict[str, Any]], int]:
            ticks = 0
            stop = asyncio.Event()

            async def ticker() -> None:  # runs only if the loop stays free during the run
                nonlocal ticks
                while not stop.is_set():
                    ticks += 1
                    await asyncio.sleep(0.001)

            tick_task = asyncio.create_task(ticker())
            await asyncio.sleep(0)
            before = ticks
            answer = await agent.aask(QUESTION)
            during = ticks - before  # a blocking aask would leave the ticker no turn
            events = [event async for event in agent.astream(QUESTION)]
            stop.set()
            await tick_task
            return answer, events, during

        answer, events, ticks = asyncio.run(main())
    assert answer.text == expected.text
    assert [c.url for c in answer.citations] == [c.url for c in expected.citations]
    assert [s.tool for s in answer.steps] == [s.tool for s in expected.steps]
    assert events[-1]["type"] == "answer" and events[-1]["answer"].text == expected.text
    assert {"understand", "route"} <= {e.get("node") for e in events if e["type"] == "step"}
    assert ticks >= 2


def test_astream_raises_bad_input_in_the_caller(world: World) -> None:
    with make_agent(world, memory=False) as agent:

        async def main() -> None:
            async for _ in agent.astream("   "):
                pass

        with pytest.raises(InvalidInputError, match="question"):
            asyncio.run(main())


def test_nodes_read_the_run_context(world: World) -> None:
    with make_agent(world, memory=False) as agent:
        graph = build_graph()  # no default context: every run brings its own
        full = graph.invoke({"question": QUESTION}, context=agent.context)
        assert [o["tool"] for o in full["observations"]][:2] == [
            "pubchem_lookup",
            "molecule_properties",
        ]
        tools = {k: v for k, v in agent.context.tools.items() if k != "drug_likeness"}
        narrow = replace(agent.context, tools=tools)
        fewer = graph.invoke({"question": QUESTION}, context=narrow)
        called = [o["tool"] for o in fewer["observations"]]
        assert "drug_likeness" in [o["tool"] for o in full["observations"]]
        assert "drug_likeness" not in called
        with pytest.raises(ConfigurationError, match="AgentContext"):
            graph.invoke({"question": QUESTION})


def test_a_given_resources_object_outlives_the_agent(world: World) -> None:
    from biomed_agent.resources import Resources

    with Resources(world.settings, store=world.store) as resources:
        with BioMedAgent(settings=world.settings, resources=resources, memory=False) as agent:
            agent.ask(QUESTION)
        assert not resources.closed
        assert resources.store() is world.store
    assert resources.closed


def test_context_schema_coerces_a_json_context(world: World) -> None:
    with make_agent(world, memory=False) as agent:
        started = time.perf_counter()
        state = agent.graph.invoke({"question": QUESTION}, context={"step_limit": 1})
        assert time.perf_counter() - started < 60
    assert len([o for o in state["observations"] if o["round"] > 0]) <= 1
    assert isinstance(agent.context, AgentContext) and agent.context.step_limit is None


@pytest.mark.parametrize("bad", [0, -2, "three", True, 2.5])
def test_a_bad_run_context_is_refused(world: World, bad: object) -> None:
    refused = pytest.raises(InvalidInputError, match="step_limit must be a whole number")
    with make_agent(world, memory=False) as agent, refused:
        agent.graph.invoke({"question": QUESTION}, context={"step_limit": bad})
