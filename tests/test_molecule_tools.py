"""The four molecule tools: LangChain standard suite, contract keys, structured errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from langchain_tests.unit_tests import ToolsUnitTests

from biomed_agent.errors import InvalidInputError, InvalidMoleculeError, InvalidQueryError
from biomed_agent.settings import Settings
from biomed_agent.tools import get_tool_spec, tool_specs
from biomed_agent.tools.molecule_tools import MAX_CANDIDATES, build_tools

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"
IMATINIB = "Cc1ccc(NC(=O)c2ccc(CN3CCN(C)CC3)cc2)cc1Nc1nccc(-c2cccnc2)n1"
NILOTINIB = "Cc1cn(-c2cc(NC(=O)c3ccc(C)c(Nc4nccc(-c5cccnc5)n4)c3)cc(C(F)(F)F)c2)cn1"

CONTRACT_KEYS = {
    "canonical_smiles", "inchikey", "formula", "molecular_weight", "exact_mass", "logp",
    "tpsa", "hbd", "hba", "hbd_lipinski", "hba_lipinski", "rotatable_bonds", "ring_count",
    "aromatic_ring_count", "heavy_atom_count", "fraction_csp3", "formal_charge", "qed",
    "sa_score",
}  # fmt: skip


def langchain_tool(name: str) -> BaseTool:
    return get_tool_spec(name).as_langchain()


class TestMoleculePropertiesTool(ToolsUnitTests):
    @property
    def tool_constructor(self) -> BaseTool:
        return langchain_tool("molecule_properties")

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"smiles": ASPIRIN}


class TestDrugLikenessTool(ToolsUnitTests):
    @property
    def tool_constructor(self) -> BaseTool:
        return langchain_tool("drug_likeness")

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"smiles": IMATINIB}


class TestMoleculeSimilarityTool(ToolsUnitTests):
    @property
    def tool_constructor(self) -> BaseTool:
        return langchain_tool("molecule_similarity")

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"query": IMATINIB, "candidates": [ASPIRIN, NILOTINIB], "limit": 1}


class TestSubstructureSearchTool(ToolsUnitTests):
    @property
    def tool_constructor(self) -> BaseTool:
        return langchain_tool("substructure_search")

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"smarts": "C(=O)[OH]", "candidates": [ASPIRIN, IMATINIB]}


def call(name: str, args: dict[str, Any]) -> ToolMessage:
    message = langchain_tool(name).invoke(
        {"type": "tool_call", "id": "call-1", "name": name, "args": args}
    )
    assert isinstance(message, ToolMessage)
    return message


def test_registry_lists_the_four_molecule_tools_first() -> None:
    names = [spec.name for spec in build_tools(Settings())]
    assert names == [
        "molecule_properties",
        "drug_likeness",
        "molecule_similarity",
        "substructure_search",
    ]
    assert [spec.name for spec in tool_specs()][:4] == names


def test_molecule_properties_has_every_contract_key() -> None:
    message = call("molecule_properties", {"smiles": ASPIRIN})
    result = json.loads(message.content)  # type: ignore[arg-type]
    assert message.status == "success"
    assert result.keys() >= CONTRACT_KEYS
    assert result == message.artifact
    assert result["inchikey"] == "BSYNRYMUTXBXSQ-UHFFFAOYSA-N"
    assert (result["hbd_lipinski"], result["hba_lipinski"], result["hba"]) == (1, 4, 3)
    assert result["murcko_scaffold"] == "c1ccccc1"


def test_drug_likeness_tool_reports_rules_alerts_and_summary() -> None:
    result = get_tool_spec("drug_likeness").run({"smiles": "O=C1C(=Cc2ccccc2)SC(=S)N1"})
    assert result["alerts"]["pains"] == ["ene_rhod_A(235)"]
    assert result["lipinski"] == {"passes": True, "violations": []}
    assert result["summary"].startswith("passes Lipinski; passes Veber; structural alerts: PAINS")


def test_similarity_tool_ranks_nilotinib_above_aspirin_for_imatinib() -> None:
    result = get_tool_spec("molecule_similarity").run(
        {"query": IMATINIB, "candidates": [ASPIRIN, NILOTINIB, "CCO"], "limit": 2}
    )
    assert result["query"] == IMATINIB
    assert result["candidates_searched"] == 3
    assert [hit["index"] for hit in result["hits"]] == [1, 0]
    assert result["hits"][0]["smiles"] == NILOTINIB
    assert result["hits"][0]["similarity"] > result["hits"][1]["similarity"]


def test_substructure_tool_finds_carboxylic_acids() -> None:
    result = get_tool_spec("substructure_search").run(
        {"smarts": "C(=O)[OH]", "candidates": [ASPIRIN, IMATINIB, "CC(C)Cc1ccc(C(C)C(=O)O)cc1"]}
    )
    assert result["match_count"] == 2
    assert [match["index"] for match in result["matches"]] == [0, 2]


@pytest.mark.parametrize(
    ("name", "args", "error_type", "fragment", "input_name"),
    [
        (
            "molecule_properties",
            {"smiles": "C1CC"},
            "InvalidMoleculeError",
            "syntax error",
            "'C1CC'",
        ),
        (
            "molecule_properties",
            {"smiles": "N(C)(C)(C)(C)C"},
            "InvalidMoleculeError",
            "valence error",
            "'N(C)(C)(C)(C)C'",
        ),
        ("drug_likeness", {"smiles": "   "}, "InvalidMoleculeError", "empty molecule", "'   '"),
        ("drug_likeness", {"smiles": 42}, "InvalidInputError", "valid string", "smiles"),
        (
            "molecule_properties",
            {"smiles": "C" * 10_000},
            "InvalidInputError",
            "at most 5000 characters",
            "smiles",
        ),
        (
            "molecule_similarity",
            {"query": "CCO", "candidates": ["CCO"], "limit": 0},
            "InvalidInputError",
            "limit: Input should be greater than or equal to 1",
            "limit",
        ),
        (
            "molecule_similarity",
            {"query": "CCO", "candidates": []},
            "InvalidInputError",
            "candidates",
            "candidates",
        ),
        (
            "substructure_search",
            {"smarts": "c1ccc(", "candidates": ["CCO"]},
            "InvalidQueryError",
            "could not parse SMARTS",
            "'c1ccc('",
        ),
        (
            "substructure_search",
            {"smarts": "C", "candidates": ["CCO", "C1CC"]},
            "InvalidMoleculeError",
            "candidate 1",
            "'C1CC'",
        ),
    ],
)
def test_bad_input_comes_back_as_a_structured_error(
    name: str,
    args: dict[str, Any],
    error_type: str,
    fragment: str,
    input_name: str,
    capfd: pytest.CaptureFixture[str],
) -> None:
    message = call(name, args)
    assert message.status == "error"
    error = json.loads(message.content)["error"]  # type: ignore[arg-type]
    assert error["type"] == error_type
    assert fragment in error["message"]
    assert error["input"] == input_name
    assert "Traceback" not in message.content
    assert capfd.readouterr().err == ""


def test_run_raises_the_typed_errors() -> None:
    with pytest.raises(InvalidMoleculeError, match="syntax error"):
        get_tool_spec("molecule_properties").run({"smiles": "C1CC"})
    with pytest.raises(InvalidQueryError, match="SMARTS"):
        get_tool_spec("substructure_search").run({"smarts": "[", "candidates": ["C"]})
    with pytest.raises(InvalidInputError, match="Extra inputs are not permitted"):
        get_tool_spec("molecule_properties").run({"smiles": "CCO", "smile": "CCO"})
    too_many = {"query": "C", "candidates": ["C"] * (MAX_CANDIDATES + 1)}
    with pytest.raises(InvalidInputError, match=f"at most {MAX_CANDIDATES} items"):
        get_tool_spec("molecule_similarity").run(too_many)


def test_schemas_describe_every_argument_for_the_llm() -> None:
    for spec in build_tools(Settings()):
        schema = spec.args_schema.model_json_schema()
        for field, details in schema["properties"].items():
            assert details.get("description"), f"{spec.name}.{field} has no description"
        assert len(spec.summary) < 100
