"""The MCP server, driven by the official ``mcp`` client over stdio and streamable HTTP."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp_types import CallToolResult

from biomed_agent.interfaces.mcp_server import build_server, is_loopback
from biomed_agent.settings import Settings
from biomed_agent.tools import tool_specs
from tests.helpers.replay_server import ReplayServer, settings_for
from tests.helpers.subprocesses import CLI, free_port, settings_env, wait_for_port

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"

MOLECULE_CALLS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    # tool -> (arguments, a subset of the expected structured result)
    "molecule_properties": (
        {"smiles": ASPIRIN},
        {"formula": "C9H8O4", "molecular_weight": 180.159, "hbd_lipinski": 1, "tpsa": 63.6},
    ),
    "drug_likeness": (
        {"smiles": ASPIRIN},
        {
            "lipinski": {"passes": True, "violations": []},
            "alerts": {"pains": [], "brenk": ["phenol_ester"]},
        },
    ),
    "molecule_similarity": (
        {"query": "CCO", "candidates": ["CCCO", "c1ccccc1", "CCO"], "limit": 2},
        {
            "candidates_searched": 3,
            "hits": [
                {"index": 2, "smiles": "CCO", "similarity": 1.0},
                {"index": 0, "smiles": "CCCO", "similarity": 0.5556},
            ],
        },
    ),
    "substructure_search": (
        {"smarts": "C(=O)O", "candidates": ["CC(=O)O", "c1ccccc1"]},
        {"match_count": 1},
    ),
}


def _ok(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, result.content
    text = json.loads(result.content[0].text)  # type: ignore[union-attr]
    assert result.structured_content == text  # the text block and structured result agree
    return dict(text)


def _error(result: CallToolResult) -> dict[str, Any]:
    assert result.is_error
    payload = json.loads(result.content[0].text)  # type: ignore[union-attr]
    assert result.structured_content == payload
    return dict(payload["error"])


async def _exercise(client: Client) -> None:
    """What every transport must do: list every tool, call them, report bad input."""
    listed = {tool.name: tool for tool in (await client.list_tools()).tools}
    specs = tool_specs(Settings())
    assert list(listed) == [spec.name for spec in specs]
    for spec in specs:
        assert listed[spec.name].input_schema == spec.args_schema.model_json_schema()
        assert listed[spec.name].description == spec.description.strip()

    for name, (arguments, expected) in MOLECULE_CALLS.items():
        result = _ok(await client.call_tool(name, arguments))
        assert {key: result[key] for key in expected} == expected, name

    aspirin = _ok(await client.call_tool("pubchem_lookup", {"query": "aspirin"}))
    assert (aspirin["cid"], aspirin["properties"]["formula"]) == (2244, "C9H8O4")

    wrong_type = _error(
        await client.call_tool("molecule_similarity", {"query": "CCO", "candidates": "CCCO"})
    )
    assert wrong_type["type"] == "InvalidInputError"
    assert wrong_type["input"] == "candidates"
    assert "candidates: Input should be a valid list (got 'CCCO')" in wrong_type["message"]

    not_a_string = _error(await client.call_tool("drug_likeness", {"smiles": 42}))
    assert (not_a_string["type"], not_a_string["input"]) == ("InvalidInputError", "smiles")

    unknown = _error(await client.call_tool("launch_rockets", {}))
    assert unknown["type"] == "UnknownToolError"
    assert "unknown tool 'launch_rockets'; known tools: compound_bioactivity" in unknown["message"]

    bad_molecule = _error(await client.call_tool("molecule_properties", {"smiles": "C1CC"}))
    assert bad_molecule["type"] == "InvalidMoleculeError"
    assert "'C1CC'" in bad_molecule["message"]

    missing = _error(await client.call_tool("pubchem_lookup", {"query": "nosuchdrugxyz"}))
    assert missing["type"] == "NotFoundError"
    assert "PubChem has no compound for: 'nosuchdrugxyz'" in missing["message"]


@pytest.fixture
def settings(replay_server: ReplayServer, tmp_path: Path) -> Settings:
    return settings_for(replay_server, tmp_path / "data")


async def test_in_process(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        await _exercise(client)


async def test_a_crashing_tool_is_a_tool_error(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from biomed_agent.interfaces import mcp_server

    def crash(specs: Any, name: str, arguments: Any) -> Any:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(mcp_server, "call_tool", crash)
    async with Client(build_server(settings)) as client:
        error = _error(await client.call_tool("molecule_properties", {"smiles": "CCO"}))
    assert error == {
        "type": "InternalError",
        "message": "tool 'molecule_properties' failed unexpectedly (ZeroDivisionError: division "
        "by zero); this is a bug in biomed-agent: please report it with the arguments used",
    }


async def test_stdio_subprocess(settings: Settings, replay_server: ReplayServer) -> None:
    params = StdioServerParameters(
        command=CLI[0], args=[*CLI[1:], "mcp"], env=settings_env(settings)
    )
    async with Client(params) as client:
        assert client.server_info is not None and client.server_info.name == "biomed-agent"
        await _exercise(client)
        uniprot = _ok(await client.call_tool("uniprot_lookup", {"query": "P30542"}))
    assert (uniprot["accession"], uniprot["gene"]) == ("P30542", "ADORA1")
    assert replay_server.count("/uniprot") >= 1


@pytest.fixture
def http_server(settings: Settings) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    process = subprocess.Popen(
        [*CLI, "mcp", "--transport", "http", "--port", str(port)],
        env=settings_env(settings),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}/mcp", process
    finally:
        process.terminate()
        process.wait(timeout=30)


async def test_streamable_http(http_server: tuple[str, subprocess.Popen[str]]) -> None:
    url, process = http_server
    async with Client(url) as client:
        await _exercise(client)
        articles = _ok(
            await client.call_tool(
                "pubmed_search",
                {"query": "science[journal] AND breast cancer AND 2008[pdat]", "limit": 2},
            )
        )
    assert [a["pmid"] for a in articles["articles"]] == ["19008416", "18927361"]
    process.terminate()
    _, stderr = process.communicate(timeout=30)
    assert f"MCP streamable HTTP on {url.removesuffix('/mcp')}/mcp" in stderr
    assert "warning" not in stderr


def test_non_loopback_host_warns(settings: Settings) -> None:
    # 192.0.2.1 (TEST-NET-1) is never assigned locally: the warning comes, then binding fails
    done = subprocess.run(
        [*CLI, "mcp", "--transport", "http", "--host", "192.0.2.1", "--port", str(free_port())],
        env=settings_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "warning: serving MCP on non-loopback host '192.0.2.1'" in done.stderr
    assert "without authentication" in done.stderr


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.3.4.5", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("192.168.1.10", False),
        ("example.org", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
