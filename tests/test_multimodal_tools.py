"""molecule_qa / protein_qa: BioMedGPT-10B as tools, configured through settings."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from langchain_tests.unit_tests import ToolsUnitTests

from biomed_agent.errors import InvalidInputError, InvalidMoleculeError, ModelLoadError
from biomed_agent.proteins.sequences import parse_sequence
from biomed_agent.resources import Resources
from biomed_agent.settings import Settings
from biomed_agent.tools import TOOL_MODULES, get_tool_spec
from biomed_agent.tools.base import ToolSpec
from biomed_agent.tools.multimodal_tools import build_tools
from tests.helpers.replay_server import ReplayServer, install_recorded, settings_for
from tests.helpers.tiny_biomedgpt10b import build_tiny_biomedgpt10b

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"
_TINY: list[Path] = []


@pytest.fixture(scope="module", autouse=True)
def _build_tiny(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    _TINY.append(build_tiny_biomedgpt10b(tmp_path_factory.mktemp("tiny-10b")))
    yield
    _TINY.clear()


def tiny_dir() -> Path:
    """The module's tiny BioMedGPT-10B (ToolsUnitTests properties cannot take fixtures)."""
    return _TINY[0]


def tools(**overrides: Any) -> dict[str, ToolSpec]:
    values = {"biomedgpt10b_path": tiny_dir(), "device": "cpu", "max_new_tokens": 4, **overrides}
    return {spec.name: spec for spec in build_tools(Settings(**values))}


class TestMoleculeQAStandard(ToolsUnitTests):
    @property
    def tool_constructor(self) -> BaseTool:
        return tools()["molecule_qa"].as_langchain()

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"smiles": ASPIRIN, "question": "What is this molecule used for?"}


class TestProteinQAStandard(ToolsUnitTests):
    @property
    def tool_constructor(self) -> BaseTool:
        return tools()["protein_qa"].as_langchain()

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"protein": "MKTAYIAKQRQISFVKSHFSRQ", "question": "What does it do?"}


def test_registered_without_importing_torch() -> None:
    assert "biomed_agent.tools.multimodal_tools" in TOOL_MODULES
    code = (
        "import sys; import biomed_agent.tools.multimodal_tools as m; from biomed_agent.settings "
        "import Settings; m.build_tools(Settings()); print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert get_tool_spec("protein_qa", Settings()).summary.startswith("Ask BioMedGPT-10B")


def test_molecule_qa_answers_from_the_model() -> None:
    result = tools()["molecule_qa"].run({"smiles": ASPIRIN, "question": "What is it?"})
    assert set(result) == {"answer", "smiles", "model"}
    assert result["smiles"] == ASPIRIN
    assert isinstance(result["answer"], str) and result["answer"]
    json.dumps(result)


def test_protein_qa_resolves_an_accession_through_the_shared_client(
    tmp_path: Path, fixtures_dir: Path
) -> None:
    with ReplayServer() as server:
        install_recorded(server)
        settings = settings_for(
            server, tmp_path, biomedgpt10b_path=tiny_dir(), device="cpu", max_new_tokens=4
        )
        with Resources(settings) as resources:
            spec = {s.name: s for s in build_tools(settings, resources=resources)}["protein_qa"]
            result = spec.run({"protein": "P30542", "question": "What does it do?"})
            assert server.count("/uniprot") == 1
            assert any("uniprot" in name for name in resources.built())
    assert result["accession"] == "P30542"
    assert result["answer"]
    # the model was asked about the recorded entry's sequence, as if it had been given
    fasta = (fixtures_dir / "uniprot" / "uniprotkb_P30542_synthetic.fasta").read_text()
    by_sequence = tools()["protein_qa"].run(
        {"protein": parse_sequence(fasta), "question": "What does it do?"}
    )
    assert by_sequence["answer"] == result["answer"]


def test_protein_qa_fetches_nothing_when_no_model_is_configured(tmp_path: Path) -> None:
    with ReplayServer() as server:
        install_recorded(server)
        settings = settings_for(server, tmp_path, biomedgpt10b_path=None)
        spec = {s.name: s for s in build_tools(settings)}["protein_qa"]
        with pytest.raises(ModelLoadError, match=r"BIOMED_BIOMEDGPT10B_PATH"):
            spec.run({"protein": "P30542", "question": "What does it do?"})
        assert server.count("/uniprot") == 0


def test_without_a_configured_model_the_error_says_what_to_set() -> None:
    spec = tools(biomedgpt10b_path=None)["molecule_qa"]
    with pytest.raises(ModelLoadError, match=r"BIOMED_BIOMEDGPT10B_PATH"):
        spec.run({"smiles": ASPIRIN, "question": "What is it?"})
    message = spec.as_langchain().invoke(
        {"type": "tool_call", "id": "1", "name": "molecule_qa",
         "args": {"smiles": ASPIRIN, "question": "What is it?"}}
    )  # fmt: skip
    assert isinstance(message, ToolMessage) and message.status == "error"
    error = json.loads(message.content)["error"]
    assert error["type"] == "ModelLoadError"
    assert error["input"] == "biomedgpt10b_path"


def test_a_configured_path_that_does_not_exist_is_named(tmp_path: Path) -> None:
    spec = tools(biomedgpt10b_path=tmp_path / "nowhere")["protein_qa"]
    with pytest.raises(ModelLoadError, match=r"nowhere.*does not exist"):
        spec.run({"protein": "MKTAYIAK", "question": "What is it?"})


def test_bad_arguments_are_typed_errors() -> None:
    specs = tools()
    with pytest.raises(InvalidMoleculeError, match=r"'C1CC'"):
        specs["molecule_qa"].run({"smiles": "C1CC", "question": "What is it?"})
    with pytest.raises(InvalidInputError, match=r"question: String should have at least 1"):
        specs["protein_qa"].run({"protein": "MKTAYIAK", "question": ""})
    with pytest.raises(InvalidInputError, match=r"smile: Extra inputs are not permitted"):
        specs["molecule_qa"].run({"smiles": "C", "smile": "C", "question": "Why?"})
