"""``langgraph.json`` names a graph factory that loads from its file path and answers.

The first test resolves the ``"./path.py:attr"`` entry the way the LangGraph server
does and runs one request in-process; the second serves it for real with the LangGraph
CLI's in-memory server (``langgraph dev``, from ``langgraph-cli[inmem]``) on loopback and
answers one HTTP request.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from biomed_agent.settings import get_settings
from tests.helpers.agent_world import World, agent_world
from tests.helpers.subprocesses import free_port, settings_env, wait_for_port

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


def test_langgraph_dev_serves_the_graph_and_answers_one_request(world: World) -> None:
    port = free_port()
    env = settings_env(world.settings) | {
        "LANGSMITH_TRACING": "false",
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
    }
    langgraph = Path(sys.executable).with_name("langgraph")
    server = subprocess.Popen(
        [str(langgraph), "dev", "--no-browser", "--no-reload", "--allow-blocking",
         "--host", "127.0.0.1", "--port", str(port), "--config", str(ROOT / "langgraph.json")],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_for_port(port, timeout=120)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/runs/wait",
            data=json.dumps(
                {"assistant_id": "biomed_agent", "input": {"question": "Is aspirin drug-like?"}}
            ).encode(),
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            state = json.load(response)
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)

    assert state["answer"].startswith("**Aspirin** (PubChem CID 2244) [1]"), errors[-2000:]
    assert state["citations"][0]["url"] == "https://pubchem.ncbi.nlm.nih.gov/compound/2244"
    assert state["flagged"] is False
    assert world.server.count("/pubchem") >= 1
