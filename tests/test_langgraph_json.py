"""``langgraph.json`` names a graph factory that loads from its file path and answers.

This resolves the ``"./path.py:attr"`` entry the way the LangGraph server does (a module
loaded from the file, the factory called, the server's own checkpointer attached) and
runs one request. Serving it with ``langgraph dev`` needs ``langgraph-cli[inmem]``, which
cannot be installed with this project's pins (see docs/interfaces.md).
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from biomed_agent.settings import get_settings
from tests.helpers.agent_world import World, agent_world

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with agent_world(tmp_path / "data") as world:
        for name in ("model", "pubchem_url", "uniprot_url", "ncbi_url", "email"):
            monkeypatch.setenv(f"BIOMED_{name.upper()}", str(getattr(world.settings, name)))
        get_settings.cache_clear()  # the factory reads the environment, as under the server
        yield world


def test_langgraph_json_graph_answers_one_request(world: World) -> None:
    config = json.loads((ROOT / "langgraph.json").read_text())
    assert config["dependencies"] == ["."]
    path, _, attribute = config["graphs"]["biomed_agent"].partition(":")
    spec = importlib.util.spec_from_file_location("langgraph_user_graph", ROOT / path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    graph = getattr(module, attribute)(None)
    graph.checkpointer = InMemorySaver()  # as the server does with its own
    state = graph.invoke(
        {"question": "Is aspirin drug-like?"}, {"configurable": {"thread_id": "server-1"}}
    )

    assert state["answer"].startswith("**Aspirin** (PubChem CID 2244) [1]")
    assert state["citations"][0]["url"] == "https://pubchem.ncbi.nlm.nih.gov/compound/2244"
    assert [o["tool"] for o in state["observations"]] == [
        "pubchem_lookup",
        "molecule_properties",
        "drug_likeness",
    ]
    assert state["flagged"] is False
    assert world.server.count("/pubchem") >= 1
