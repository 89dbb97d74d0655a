"""The four protein tools: LangChain standard suite, results, errors, light import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from langchain_tests.unit_tests import ToolsUnitTests

from biomed_agent.errors import (
    InvalidInputError,
    InvalidMutationError,
    InvalidQueryError,
    InvalidSequenceError,
    ModelLoadError,
)
from biomed_agent.settings import Settings
from biomed_agent.tools.base import ToolSpec
from biomed_agent.tools.protein_tools import build_tools
from tests.helpers.tiny_esm import random_protein, shared_tiny_esm

QUERY = random_protein(48, seed=21)
OTHERS = [random_protein(n, seed=30 + n) for n in (35, 52, 20)]


def protein_tools(**overrides: Any) -> dict[str, ToolSpec]:
    """The tools bound to the tiny checkpoint (data_dir comes from the test's environment)."""
    settings = Settings(**{"esm_model": str(shared_tiny_esm()), "device": "cpu", **overrides})
    return {spec.name: spec for spec in build_tools(settings)}


class _ProteinToolSuite(ToolsUnitTests):
    tool_name = ""

    @property
    def tool_constructor(self) -> BaseTool:
        return protein_tools()[self.tool_name].as_langchain()


class TestProteinPropertiesStandard(_ProteinToolSuite):
    tool_name = "protein_properties"

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"sequence": QUERY}


class TestVariantEffectStandard(_ProteinToolSuite):
    tool_name = "variant_effect"

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"sequence": "MKTAYIAKQR", "mutations": ["A4G", "A4G:K8R"]}


class TestProteinSimilarityStandard(_ProteinToolSuite):
    tool_name = "protein_similarity"

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"query": QUERY, "candidates": OTHERS, "limit": 2}


class TestProteinEmbeddingStandard(_ProteinToolSuite):
    tool_name = "protein_embedding"

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"sequence": QUERY}


def test_properties_tool() -> None:
    result = protein_tools()["protein_properties"].run({"sequence": ">ub\nMQIFVKTLTGKTITLEV"})
    assert result["length"] == 17
    assert result["extinction_coefficient_reduced"] == 0
    assert result["undefined"] == {}


def test_variant_effect_tool_scores_each_variant() -> None:
    result = protein_tools()["variant_effect"].run(
        {"sequence": "MKTAYIAKQR", "mutations": ["A4G", "p.Lys8Arg", "A4G:K8R"]}
    )
    assert result["model"] == str(shared_tiny_esm())
    assert result["method"] == "masked_marginal"
    assert "positive = mutant more likely" in result["sign_convention"]
    single_a, single_b, double = result["variants"]
    assert [v["variant"] for v in result["variants"]] == ["A4G", "K8R", "A4G:K8R"]
    assert [s["mutation"] for s in double["substitutions"]] == ["A4G", "K8R"]
    assert double["score"] == pytest.approx(single_a["score"] + single_b["score"], abs=2e-4)


def test_similarity_tool_ranks_a_copy_of_the_query_first() -> None:
    fasta = "".join(f">cand{i}\n{s}\n" for i, s in enumerate([*OTHERS, QUERY]))
    result = protein_tools()["protein_similarity"].run(
        {"query": QUERY, "candidates": fasta, "limit": 2}
    )
    assert result["candidates"] == 4
    best, second = result["results"]
    assert (best["rank"], best["id"], best["index"], best["cosine"]) == (1, "cand3", 3, 1.0)
    assert second["rank"] == 2 and second["cosine"] < 1.0
    assert result["metric"] == "cosine of mean-pooled ESM-2 embeddings (layer 2)"


def test_embedding_tool_returns_paths_not_vectors(isolated_settings: Path) -> None:
    tool = protein_tools()["protein_embedding"]
    result = tool.run({"sequence": QUERY})
    assert len(json.dumps(result)) < 1000
    assert (result["length"], result["dimension"], result["windows"]) == (48, 32, 1)
    assert result["per_residue_shape"] == [48, 32]
    assert result["cached"] is False
    mean_path = Path(result["mean_path"])
    assert mean_path.is_relative_to(isolated_settings / "embeddings")
    vector = np.load(mean_path)
    assert result["mean_norm"] == pytest.approx(float(np.linalg.norm(vector)), abs=1e-3)
    assert np.load(result["per_residue_path"]).shape == (48, 32)
    assert tool.run({"sequence": QUERY.lower()})["cached"] is True


def test_langchain_tool_returns_json_content() -> None:
    tool = protein_tools()["protein_embedding"].as_langchain()
    message = tool.invoke(
        {"type": "tool_call", "id": "1", "name": "protein_embedding", "args": {"sequence": "MKT"}}
    )
    assert isinstance(message, ToolMessage) and message.status == "success"
    assert isinstance(message.content, str)
    assert json.loads(message.content)["dimension"] == 32


@pytest.mark.parametrize(
    ("name", "arguments", "error", "fragment"),
    [
        ("protein_properties", {"sequence": ""}, InvalidSequenceError, "sequence is empty"),
        ("protein_properties", {"sequence": "MKT9"}, InvalidSequenceError, "'9' at position 4"),
        ("protein_properties", {"sequence": ">p1\n"}, InvalidSequenceError, "no sequence lines"),
        ("variant_effect", {"sequence": "MKT", "mutations": "K9R"}, InvalidMutationError,
         "points past the end"),
        ("variant_effect", {"sequence": "MKT", "mutations": ["K2R", "G2R"]}, InvalidMutationError,
         "mutations[1]: G2R says position 2 is G, but the sequence has K"),
        ("variant_effect", {"sequence": "MKT", "mutations": []}, InvalidMutationError,
         "empty list"),
        ("variant_effect", {"sequence": "MKT", "mutations": "K2R", "method": "best"},
         InvalidInputError, "method"),
        ("protein_similarity", {"query": "MKT", "candidates": []}, InvalidQueryError,
         "candidates is an empty list"),
        ("protein_similarity", {"query": "MKT", "candidates": ["GG", "G-G"]},
         InvalidSequenceError, "candidates[1] has '-'"),
        ("protein_similarity", {"query": "MKT", "candidates": ["GG"], "limit": 0},
         InvalidInputError, "limit: Input should be greater than or equal to 1"),
        ("protein_properties", {"sequence": "MKTAYIAKQR", "sequense": "x"}, InvalidInputError,
         "sequense: Extra inputs are not permitted"),
        ("protein_embedding", {"sequence": "MK T\nZZ#"}, InvalidSequenceError, "'#'"),
    ],
)  # fmt: skip
def test_bad_input_gets_a_typed_error(
    name: str, arguments: dict[str, Any], error: type[Exception], fragment: str
) -> None:
    with pytest.raises(error) as info:
        protein_tools()[name].run(arguments)
    assert fragment in str(info.value)


@pytest.mark.parametrize("name", ["variant_effect", "protein_similarity", "protein_embedding"])
def test_missing_model_is_a_structured_error_naming_the_path(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    tools = {spec.name: spec for spec in build_tools(Settings())}  # default 650M model
    examples: dict[str, dict[str, Any]] = {
        "variant_effect": {"sequence": "MKT", "mutations": "K2R"},
        "protein_similarity": {"query": "MKT", "candidates": ["GG"]},
        "protein_embedding": {"sequence": "MKT"},
    }
    arguments = examples[name]
    with pytest.raises(ModelLoadError):
        tools[name].run(arguments)
    message = (
        tools[name]
        .as_langchain()
        .invoke({"type": "tool_call", "id": "9", "name": name, "args": arguments})
    )
    assert message.status == "error"
    error = json.loads(message.content)["error"]
    assert error["type"] == "ModelLoadError" and error["input"] == "esm_model"
    assert str(tmp_path / "hub" / "checkpoints" / "esm2_t33_650M_UR50D.pt") in error["message"]
    assert "BIOMED_ESM_MODEL" in error["message"]


def test_properties_and_bad_input_need_no_model(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    tools = {spec.name: spec for spec in build_tools(Settings())}
    assert tools["protein_properties"].run({"sequence": "MKT"})["length"] == 3
    with pytest.raises(InvalidMutationError, match="points past the end"):
        tools["variant_effect"].run({"sequence": "MKT", "mutations": "K9R"})
    with pytest.raises(InvalidSequenceError):
        tools["protein_embedding"].run({"sequence": "MK1"})
    with pytest.raises(InvalidSequenceError):
        tools["protein_similarity"].run({"query": "MKT", "candidates": ["1"]})


def test_tool_module_imports_neither_torch_nor_esm() -> None:
    code = (
        "import sys; from biomed_agent.settings import Settings; "
        "from biomed_agent.tools.protein_tools import build_tools; build_tools(Settings()); "
        "print(sorted(m for m in ('torch', 'esm', 'Bio') if m in sys.modules))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert output.strip() == "[]"


def test_cli_uses_the_checkpoint_named_by_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from biomed_agent.cli import main
    from biomed_agent.settings import get_settings

    monkeypatch.setenv("BIOMED_ESM_MODEL", str(shared_tiny_esm()))
    get_settings.cache_clear()
    arguments = json.dumps({"sequence": "MKTAYIAKQR", "mutations": "A4G"})
    assert main(["tool", "variant_effect", "--input", arguments]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["model"] == str(shared_tiny_esm())
    assert result["variants"][0]["variant"] == "A4G"
    bad = json.dumps({"sequence": "MKTAYIAKQR", "mutations": "G4A"})
    assert main(["tool", "variant_effect", "--input", bad]) == 2
    assert "G4A says position 4 is G" in capsys.readouterr().err
