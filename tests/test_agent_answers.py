"""The expert-judged question set, answered offline over the demo store plus a user file.

Runs every question of ``benchmarks/agent_questions.jsonl`` through the model-free agent
and scores it with ``benchmarks/eval_agent.py``'s scorer, asserting the issue's targets:
no answer shows unrelated evidence, no clause is silently dropped, at least 95% of names
are resolved or honestly declined, no salt is called drug-like; plus a few exact answers.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

EVAL = Path(__file__).resolve().parents[1] / "benchmarks" / "eval_agent.py"


def _eval_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("eval_agent", EVAL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ModuleType, Any]]:
    module = _eval_module()
    agent = module.build_agent(tmp_path_factory.mktemp("answers"))
    with agent:
        yield module, agent


def _ask(run: tuple[ModuleType, Any], question: str) -> Any:
    return run[1].ask(question)


def test_question_set_meets_the_done_when_targets(run: tuple[ModuleType, Any]) -> None:
    from biomed_agent.agent.entities import extract_entities
    from biomed_agent.agent.understanding import understand_question

    module, agent = run
    embedder = agent.context.shared.embedder
    results = []
    for item in module.load_questions():
        answer = agent.ask(item["question"])
        understood = understand_question(
            item["question"], extract_entities(item["question"]), embedder
        )
        results.append((item["id"], module.score(item, answer, understood)))
    assert [i for i, r in results if r["unrelated"]] == []
    assert [i for i, r in results if r["dropped"]] == []
    assert [i for i, r in results if r["salt_druglike"]] == []
    resolved = sum(r["names"][0] for _, r in results)
    total = sum(r["names"][1] for _, r in results)
    assert resolved >= 0.95 * total
    wrong = [i for i, r in results if not all(v for k, v in r["checks"].items() if k != "intents")]
    assert wrong == []  # entity, evidence, refusal, text and clause checks all pass
    intents_ok = sum(r["checks"]["intents"] for _, r in results)
    assert intents_ok >= 0.9 * len(results)  # measured 62/65 (docs/benchmarks.md)


def test_issue_examples(run: tuple[ModuleType, Any]) -> None:
    imatinib = _ask(run, "Is imatinib drug-like?")
    assert imatinib.citations == []  # no adenosine receptor card, no aspirin trial
    assert "'imatinib' is a known drug (DrugBank DB00619)" in imatinib.text
    france = _ask(run, "What is the capital of France?")
    assert france.text.startswith("This is outside what I can answer") and not france.citations
    assert france.steps == []  # no lookup of "capital" or "France"
    split = _ask(run, "What does P30542 do, and which drugs target it?")
    assert '- "which drugs target it": no targets data source answered it here' in split.text
    kx = _ask(run, "Why was KX-902 dropped?")
    assert "> KX-902 was dropped in March 2021 because the 28-day rat study showed QT" in kx.text
    assert "kx902_project_notes.md" in kx.text and kx.citations[0].source == "file"


def test_salts_and_mixtures(run: tuple[ModuleType, Any]) -> None:
    salt = _ask(run, "Is [Na+].[Cl-] drug-like?")
    assert "Drug-likeness: **no verdict**" in salt.text and "drug_likeness" not in [
        s.tool for s in salt.steps
    ]
    mixture = _ask(run, "Is CC(=O)Oc1ccccc1C(=O)O.CC(C)Cc1ccc(cc1)C(C)C(=O)O drug-like?")
    assert "Standardised before profiling: removed CC(=O)Oc1ccccc1C(=O)O" in mixture.text
    assert "| Molecular weight | 206.285 g/mol |" in mixture.text  # ibuprofen alone


def test_pubchem_values_beside_computed_ones(run: tuple[ModuleType, Any]) -> None:
    answer = _ask(run, "Is asprin drug-like?")
    assert answer.text.startswith("Read 'asprin' as aspirin.")
    assert "| logP (Crippen) | 1.31 | XLogP3 1.2 [1] |" in answer.text
    assert "| TPSA | 63.6 Å² | 63.6 Å² [1] |" in answer.text
    assert {c.source for c in answer.citations} == {"pubchem", "tool"}
    assert not answer.flagged
