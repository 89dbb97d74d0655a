"""The four drug-discovery questions of issue 16 through the agent, offline on the replay server.

Model-free (rules plan with :mod:`biomed_agent.agent.workflows`, templated answer) and with
a scripted chat model whose plan goes through the LLM planner's schema. One world (replay
server, store, embedder) is shared by the module; loading the embedder is the slow part.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers.agent_world import World, agent_world, make_agent
from tests.helpers.discovery_world import install_discovery
from tests.helpers.scripted_models import ScriptedAgentModel

pytestmark = pytest.mark.slow  # the agent world loads the embedding model once

UNIPROT_ADORA1 = "https://www.uniprot.org/uniprotkb/P30542/entry"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with agent_world(tmp_path_factory.mktemp("discovery-agent")) as built:
        install_discovery(built.server)
        yield built


def _steps(answer: Any) -> list[tuple[str, str]]:
    return [(step.tool, step.status) for step in answer.steps]


def _cited(answer: Any, **match: object) -> int:
    for citation in answer.citations:
        if all(getattr(citation, key) == value for key, value in match.items()):
            return int(citation.id)
    raise AssertionError(f"no citation with {match} in {answer.citations}")


def test_drugs_of_the_adenosine_a1_receptor_and_the_most_drug_like(world: World) -> None:
    answer = make_agent(world).ask(
        "Which drugs target the adenosine A1 receptor, and which of them is the most drug-like?"
    )
    steps = _steps(answer)
    for hop in ("uniprot_lookup", "target_ligands", "profile_molecules"):
        assert (hop, "ok") in steps
    uniprot = _cited(answer, source="uniprot", url=UNIPROT_ADORA1)
    ligands = _cited(answer, source="tool", tool="target_ligands")
    profile = _cited(answer, source="tool", tool="profile_molecules")
    text = answer.text
    assert f"(ADORA1, Homo sapiens; UniProt P30542) [{uniprot}]" in text
    assert (
        "- Caffeine (PubChem CID 2519; DrugBank DB00201, listed in the UniProt entry): active in "
        f"1 of 2 assays, best Ki 29.0 µM (AID 1900001) [{ligands}]"
    ) in text
    assert f"Most drug-like: **Tramadol** (QED 0.9062, drug-like) [{profile}]." in text
    assert "Not answered" not in text  # the ranked profile answers "the most drug-like"
    assert not answer.flagged, answer.problems


def test_close_analogs_of_caffeine_with_tpsa_under_60(world: World) -> None:
    answer = make_agent(world).ask(
        "Find close analogs of caffeine in PubChem with TPSA under 60 Å²"
    )
    step = next(s for s in answer.steps if s.tool == "similar_compounds")
    assert step.status == "ok"
    assert step.args == {"query": "2519", "threshold": 90, "max_tpsa": 60.0}
    search = _cited(answer, source="tool", tool="similar_compounds")
    assert "(2D similarity ≥ 90%; 3 hits, 3 removed by tpsa < 60.0)" in answer.text
    assert f"- No PubChem hit passes tpsa < 60.0 [{search}]." in answer.text
    assert not answer.flagged, answer.problems


def test_bioactivity_and_safety_of_theophylline(world: World) -> None:
    answer = make_agent(world).ask(
        "What is known about the bioactivity and safety of theophylline?"
    )
    steps = _steps(answer)
    assert ("compound_bioactivity", "ok") in steps and ("compound_safety", "ok") in steps
    activity = _cited(answer, source="tool", tool="compound_bioactivity")
    safety = _cited(answer, source="tool", tool="compound_safety")
    text = answer.text
    assert "tested in 5 assays, active in 3, inactive in 1, inconclusive in 1" in text
    assert (
        "- ADORA1 (adenosine A1 receptor; P30542): active in 1 of 1 assays, best Ki 8.5 µM "
        f"(AID 1900001) [{activity}]"
    ) in text
    assert (
        "- GHS (European Chemicals Agency (ECHA)): Danger, pictograms Acute Toxic; H301: Toxic "
        f"if swallowed [Danger Acute toxicity, oral] [{safety}]"
    ) in text
    assert not answer.flagged, answer.problems


def test_compare_the_approved_ligands_of_p30542(world: World) -> None:
    answer = make_agent(world).ask("Compare the drug-likeness of the approved ligands of P30542")
    profile = next(s for s in answer.steps if s.tool == "profile_molecules")
    assert profile.status == "ok" and 1329 not in profile.args["cids"]  # DrugBank drugs only
    assert len(profile.args["cids"]) == 12
    assert "| 12 | Cannabidiol |" in answer.text and "Not answered" not in answer.text
    assert _cited(answer, source="uniprot", url=UNIPROT_ADORA1)
    assert not answer.flagged, answer.problems


def test_the_llm_planner_can_call_the_discovery_tools(world: World) -> None:
    model = ScriptedAgentModel(
        plans=[
            {
                "steps": [
                    {"tool": "uniprot_lookup", "args": {"query": "P30542"}},
                    {"tool": "target_ligands", "args": {"target": "P30542"}},
                ]
            },
            {"steps": []},
            {"steps": []},
        ],
        answers=["ADORA1 [1] is targeted by caffeine and theophylline [2]."],
    )
    answer = make_agent(world, model=model).ask("Which drugs target P30542?")
    assert ("target_ligands", "ok") in _steps(answer)
    assert {c.tool or c.source for c in answer.citations} >= {"uniprot", "target_ligands"}
    assert "target_ligands" in model.prompt_texts()[0]  # the catalogue offered the tool
