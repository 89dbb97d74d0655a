"""Agent pieces without a store or server: entities, verification, plan schema, CLI, demo data."""

from __future__ import annotations

import json

import pytest

from biomed_agent.agent.entities import carry_over, drug_name_candidates, extract_entities
from biomed_agent.agent.planner import plan_schema
from biomed_agent.agent.state import Turn, empty_entities
from biomed_agent.agent.verify import check_answer, numbers_in
from biomed_agent.cli import main
from biomed_agent.tools import tool_specs


def test_entities_found_deterministically() -> None:
    found = extract_entities(
        "Compare (CC(=O)Oc1ccccc1C(=O)O) with BSYNRYMUTXBXSQ-UHFFFAOYSA-N, P30542, TP53 and "
        "PMID: 23121403; is A23G bad in MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ? DNA, FDA."
    )
    assert found["smiles"] == ["CC(=O)Oc1ccccc1C(=O)O"]
    assert found["inchikeys"] == ["BSYNRYMUTXBXSQ-UHFFFAOYSA-N"]
    assert found["accessions"] == ["P30542"]
    assert found["genes"] == ["TP53"]
    assert found["pmids"] == ["23121403"]
    assert found["sequences"] == ["MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ"]
    assert found["mutations"] == ["A23G"]


def test_invalid_smiles_and_plain_words_are_not_entities() -> None:
    found = extract_entities("Is C1CC(N valid, and what about ADMET or DNA?")
    assert found["smiles"] == [] and found["genes"] == []
    assert drug_name_candidates("What does the adenosine receptor do in ibuprofen users?")[:1] == [
        "ibuprofen"
    ]


def test_follow_up_takes_the_earlier_target() -> None:
    earlier = extract_entities("Is CCO drug-like? It blocks P30542.")
    history = [Turn(question="q", entities=earlier, answer="a")]
    follow = carry_over("And what does its target do?", empty_entities(), history)
    assert follow["accessions"] == ["P30542"] and follow["compounds"] == []
    assert follow["carried_over"] == ["accessions"]


def test_numbers_and_citations_are_verified() -> None:
    evidence: list[dict[str, object]] = [
        {"key": "tool:1", "source": "tool", "record_id": None, "title": "t", "url": None,
         "tool": "molecule_properties", "arguments": {}, "details": {},
         "text": '{"molecular_weight": 180.159}'}
    ]  # fmt: skip
    assert check_answer("Weight 180.16 g/mol [1].", evidence, []) == []  # type: ignore[arg-type]
    problems = check_answer("Weight 181 g/mol [2].", evidence, [])  # type: ignore[arg-type]
    assert "181" in problems[0] and "[2]" in problems[1]
    assert [n for n, _, _ in numbers_in("P30542 IC50 5-HT4 at 37.2 and -0.93 [3]")] == [
        "37.2",
        "-0.93",
    ]


def test_plan_schema_allows_only_registered_tools() -> None:
    tools = {spec.name: spec for spec in tool_specs() if spec.name.startswith("molecule")}
    schema = plan_schema(tools, max_steps=3)
    ok = schema.model_validate(
        {"steps": [{"tool": "molecule_properties", "args": {"smiles": "CCO"}}]}
    )
    assert ok.steps[0].tool == "molecule_properties"  # type: ignore[attr-defined]
    with pytest.raises(ValueError):
        schema.model_validate({"steps": [{"tool": "python_exec", "args": {"code": "1"}}]})
    with pytest.raises(ValueError):
        schema.model_validate({"steps": [{"tool": "molecule_properties", "args": {}}] * 4})


def test_cli_ask_json_and_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "  ", "--model", "none"]) == 2
    assert "question" in capsys.readouterr().err
    assert main(["ask", "Is CCO drug-like?", "--model", "none", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert {"answer", "citations", "steps", "timings"} <= set(payload)
    assert "| Molecular weight | 46.069 g/mol |" in payload["answer"]
    assert [c["tool"] for c in payload["citations"]] == ["molecule_properties", "drug_likeness"]
    assert payload["timings"]["total"] >= payload["timings"]["tools"]


def test_demo_records_parse_into_documents() -> None:
    from biomed_agent.agent.demo import demo_documents

    docs = {(d.metadata["source"], d.metadata["record_id"]): d for d in demo_documents()}
    assert set(docs) == {("pubchem", "2244"), ("uniprot", "P30542"), ("pubmed", "23121403")}
    assert docs[("pubchem", "2244")].metadata["smiles"] == "CC(=O)OC1=CC=CC=C1C(=O)O"
    assert "aspirin" in docs[("pubchem", "2244")].metadata["synonyms"].lower()
