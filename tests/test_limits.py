"""Bounded work and one-line errors: molecule size limits, deadlines on molecule loops, the
MCP server's limits, ingest confinement, unsafe checkpoints, CLI exit codes, ``cache`` CLI.

Numbers and the threat model: docs/security.md.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from biomed_agent.retrievers.uniprot import UniProtClient
from tests.helpers.faults import Marker, pubchem_client
from tests.helpers.replay_server import PUBCHEM, UNIPROT, ReplayServer, Reply, settings_for


# --- bounded molecule work ---------------------------------------------------------------
def test_oversized_molecule_is_refused_fast_with_a_clear_error() -> None:
    from biomed_agent.errors import InvalidMoleculeError
    from biomed_agent.tools.molecule_tools import molecule_properties

    start = time.process_time()
    with pytest.raises(InvalidMoleculeError, match="5,000 heavy atoms, over the 1,000-atom"):
        molecule_properties("C" * 5000)  # the 5,000-character alkane: 267 s before
    assert time.process_time() - start < 1.0


def test_large_molecule_skips_the_scaffold_with_a_note() -> None:
    from biomed_agent.molecules.structure import MAX_SCAFFOLD_ATOMS
    from biomed_agent.tools.molecule_tools import molecule_properties

    start = time.process_time()
    result = molecule_properties("c1ccccc1" + "C" * 900)
    assert time.process_time() - start < 2.0
    assert result["heavy_atom_count"] == 906 > MAX_SCAFFOLD_ATOMS
    assert result["murcko_scaffold"] is None
    assert "murcko_scaffold skipped" in result["notes"][0]
    small = molecule_properties("c1ccccc1CCCC")
    assert small["murcko_scaffold"] == "c1ccccc1" and "notes" not in small


def test_mcp_and_langgraph_paths_share_the_limits() -> None:
    """Both servers call ToolSpec.run: the same refusal reaches them."""
    from biomed_agent.errors import InvalidMoleculeError
    from biomed_agent.tools import get_tool_spec

    spec = get_tool_spec("molecule_properties")
    with pytest.raises(InvalidMoleculeError, match="1,000-atom limit"):
        spec.run({"smiles": "C" * 1500})
    tool = spec.as_langchain()
    message = tool.invoke({"smiles": "C" * 1500})
    assert "1,000-atom limit" in message and "InvalidMoleculeError" in message


# --- files, checkpoints, one-line errors ---------------------------------------------------
def test_ingest_never_leaves_the_directory(tmp_path: Path) -> None:
    from biomed_agent.retrievers.files import load_files

    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "creds.txt").write_text("password=hunter2\n")
    (secret / "more").mkdir()
    (secret / "more" / "keys.md").write_text("# keys\nAKIA...\n")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "paper.md").write_text("# A paper\nAspirin inhibits COX-1.\n")
    (docs / "creds.txt").symlink_to(secret / "creds.txt")
    (docs / "linked-dir").symlink_to(secret / "more", target_is_directory=True)
    (docs / "alias.md").symlink_to(docs / "paper.md")  # inside: fine (read once)

    loaded = load_files([docs])

    assert [Path(f).name for f in loaded.files] == ["alias.md"] or [
        Path(f).name for f in loaded.files
    ] == ["paper.md"]
    assert all("hunter2" not in d.page_content and "AKIA" not in d.page_content
               for d in loaded.documents)  # fmt: skip
    skipped = {Path(f.path).name: f.error.message for f in loaded.failures}
    assert set(skipped) == {"creds.txt", "linked-dir"}
    assert "outside" in skipped["creds.txt"] and "secret" in skipped["creds.txt"]


def test_unsafe_checkpoint_is_a_one_line_model_error(tiny_llama_dir: Path, tmp_path: Path) -> None:
    import shutil

    import torch

    from biomed_agent.errors import ModelLoadError
    from biomed_agent.models.loading import LoadSpec, load_model

    marker = tmp_path / "ran"
    bad = tmp_path / "bad-7b"
    shutil.copytree(tiny_llama_dir, bad)
    (bad / "model.safetensors").unlink()
    torch.save({"model.embed_tokens.weight": Marker(marker)}, bad / "pytorch_model.bin")
    with pytest.raises(ModelLoadError, match="could run code"):
        load_model(LoadSpec(model=str(bad), device_map="cpu", dtype="fp32"))
    assert not marker.exists()


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from biomed_agent.cli import main

    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_cli_exit_codes_bad_input_2_upstream_1(
    replay_server: ReplayServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from biomed_agent.settings import get_settings

    monkeypatch.setenv("BIOMED_UNIPROT_URL", replay_server.url + UNIPROT)
    monkeypatch.setenv("BIOMED_PUBCHEM_URL", replay_server.url + PUBCHEM)
    monkeypatch.setenv("BIOMED_HTTP_RETRIES", "0")
    get_settings.cache_clear()
    huge = '{"query": "CID' + "1" * 1990 + '"}'
    status, _, err = _cli(["tool", "pubchem_lookup", "--input", huge], capsys)
    assert status == 2 and err.count("\n") == 1 and "not a PubChem CID" in err
    status, _, err = _cli(["ingest", "pubchem", "1" * 4400], capsys)
    assert status == 2 and err.count("\n") == 1 and "Traceback" not in err
    replay_server.fail_status(Reply(200, b"{}"), times=None, path_prefix=UNIPROT)
    status, _, err = _cli(["tool", "uniprot_lookup", "--input", '{"query": "P30542"}'], capsys)
    assert status == 1 and err.count("\n") == 1 and "UpstreamError" in err


def test_cache_info_and_clear(
    replay_server: ReplayServer,
    isolated_settings: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from biomed_agent.settings import get_settings

    config = settings_for(replay_server, isolated_settings)
    assert pubchem_client(replay_server, isolated_settings).resolve_cid("aspirin") == 2244
    UniProtClient.from_settings(config).entry("P30542")
    (config.cache_dir / "pubchem.sqlite").write_bytes(b"legacy pickled cache")
    assert get_settings().cache_dir == config.cache_dir

    status, out, _ = _cli(["cache", "info"], capsys)
    assert status == 0
    assert "PubChem: 1 answer(s)" in out and "UniProt: 1 answer(s)" in out
    assert "legacy pickle file, never read" in out
    status, out, _ = _cli(["cache", "clear", "--service", "uniprot"], capsys)
    assert status == 0 and "uniprot.json.sqlite" in out
    assert not (config.cache_dir / "uniprot.json.sqlite").exists()
    assert (config.cache_dir / "pubchem.json.sqlite").exists()
    status, out, _ = _cli(["cache", "clear"], capsys)
    assert status == 0 and not list(config.cache_dir.glob("*.sqlite*"))
    status, _, err = _cli(["cache", "info", "--service", "chembl"], capsys)
    assert status == 2 and "unknown service 'chembl'" in err
    # the next lookup fetches again
    before = replay_server.count()
    assert pubchem_client(replay_server, isolated_settings).resolve_cid("aspirin") == 2244
    assert replay_server.count() == before + 1


def test_molecule_loops_stop_at_the_tool_deadline() -> None:
    """RDKit calls are bounded by the size limits; loops over molecules check the deadline."""
    from dataclasses import replace

    from biomed_agent.deadlines import DeadlineExceededError
    from biomed_agent.tools import get_tool_spec

    spec = replace(get_tool_spec("molecule_similarity"), deadline=0.3)
    # 1,000 distinct 200-atom candidates: about 7 s of work on the 2-core machine
    candidates = ["c1ccccc1" + "C(C)" * (90 + i % 40) + "O" + "C" * (i // 40) for i in range(1000)]
    start = time.monotonic()
    with pytest.raises(DeadlineExceededError, match=r"0\.3 s budget"):
        spec.run({"query": "CCO", "candidates": candidates})
    assert time.monotonic() - start <= 0.33


async def test_mcp_server_enforces_the_size_limit_and_the_deadline(
    replay_server: ReplayServer, tmp_path: Path
) -> None:
    import json

    from mcp import Client

    from biomed_agent.interfaces.mcp_server import build_server

    replay_server.fail_slow(5.0, times=None)
    config = settings_for(replay_server, tmp_path, http_timeout=3.0, tool_deadline=1.0)
    async with Client(build_server(config)) as client:
        big = await client.call_tool("molecule_properties", {"smiles": "C" * 1500})
        start = time.monotonic()
        stalled = await client.call_tool("uniprot_lookup", {"query": "ADORA1"})
        elapsed = time.monotonic() - start
    assert big.is_error and "1,000-atom limit" in big.content[0].text  # type: ignore[union-attr]
    assert stalled.is_error and elapsed <= 1.1
    error = json.loads(stalled.content[0].text)["error"]  # type: ignore[union-attr]
    assert error["type"] == "UpstreamTimeoutError"
