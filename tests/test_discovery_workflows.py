"""The drug-discovery workflows (issue 16): plan steps hop by hop, cited answer sections.

The four example questions run as multi-round flows over the registered tools against the
replay server: each round plans with :func:`discovery_plan` from what earlier rounds found,
runs the steps, and the answer is rendered with citations to the evidence the agent's
own extractor (:func:`evidence_from_observations`) builds; :func:`check_answer` must
find every number in the evidence and every hop cited.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from biomed_agent.agent.citations import evidence_from_observations
from biomed_agent.agent.state import CompoundEntity, Entities, Observation, empty_entities
from biomed_agent.agent.verify import check_answer
from biomed_agent.agent.workflows import discovery_plan, render_discovery
from biomed_agent.tools import ToolSpec, tool_specs
from tests.helpers.discovery_world import install_discovery
from tests.helpers.replay_server import ReplayServer, install_recorded, settings_for

CAFFEINE = "CN1C=NC2=C1C(=O)N(C(=O)N2C)C"
THEOPHYLLINE = "CN1C2=C(C(=O)N(C1=O)C)NC=N2"


@pytest.fixture(scope="module")
def tools(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ToolSpec]]:
    with ReplayServer() as server:
        install_recorded(server)
        install_discovery(server)
        settings = settings_for(server, tmp_path_factory.mktemp("workflows"))
        yield {spec.name: spec for spec in tool_specs(settings)}


def _entities(**values: Any) -> Entities:
    entities = empty_entities()
    entities.update(values)  # type: ignore[typeddict-item]
    return entities


def _compound(name: str, cid: int, smiles: str) -> CompoundEntity:
    return CompoundEntity(
        name=name, smiles=smiles, cid=cid, url=f"https://pubchem.ncbi.nlm.nih.gov/compound/{cid}"
    )


def run_flow(
    question: str, entities: Entities, tools: dict[str, ToolSpec], rounds: int = 3
) -> tuple[list[Observation], str]:
    """Plan/act rounds as the agent runs them, then the cited answer text."""
    observations: list[Observation] = []
    seen: set[str] = set()
    for round_ in range(1, rounds + 1):
        steps = [
            step
            for step in discovery_plan(question, entities, observations, tools)
            if repr(step[:2]) not in seen
        ]
        if not steps:
            break
        for tool, args, _ in steps:
            seen.add(repr((tool, args)))
            started = time.perf_counter()
            observations.append(
                Observation(
                    id=len(observations) + 1,
                    tool=tool,
                    args=args,
                    status="ok",
                    result=tools[tool].run(args),
                    error=None,
                    elapsed_ms=(time.perf_counter() - started) * 1000,
                    round=round_,
                )
            )
    evidence = evidence_from_observations(observations)
    numbers = {item["key"]: n for n, item in enumerate(evidence, start=1)}

    def cite(key: str) -> str:
        return f" [{numbers[key]}]" if key in numbers else ""

    text = "\n".join(render_discovery(observations, cite))
    assert check_answer(text, evidence, [question]) == []
    return observations, text


def _steps(observations: list[Observation]) -> list[tuple[int, str]]:
    return [(obs["round"], obs["tool"]) for obs in observations]


def test_drugs_of_a_named_target_and_the_most_drug_like(tools: dict[str, ToolSpec]) -> None:
    question = (
        "Which drugs target the adenosine A1 receptor, and which of them is the most drug-like?"
    )
    observations, text = run_flow(question, empty_entities(), tools)
    assert _steps(observations) == [
        (1, "uniprot_lookup"),
        (2, "target_ligands"),
        (3, "profile_molecules"),
    ]
    assert observations[0]["args"] == {"query": "adenosine A1 receptor", "organism": "9606"}
    assert observations[1]["args"] == {"target": "P30542"}
    assert "**Drugs and ligands of Adenosine receptor A1** (ADORA1" in text
    assert "- Caffeine (PubChem CID 2519; DrugBank DB00201" in text
    profile = observations[2]["result"]
    assert {row["label"] for row in profile["rows"]} >= {"Caffeine", "Istradefylline"}
    best = profile["rows"][0]
    assert f"Most drug-like: **{best['label']}** (QED {best['qed']}" in text
    uniprot_ref = text.split("UniProt P30542)")[1].split("\n")[0]
    assert uniprot_ref.startswith(" [") and uniprot_ref.endswith("]")  # hop 1 cited


def test_close_analogs_of_caffeine_with_a_tpsa_limit(tools: dict[str, ToolSpec]) -> None:
    entities = _entities(compounds=[_compound("Caffeine", 2519, CAFFEINE)])
    question = "Find close analogs of caffeine in PubChem with TPSA under 60 Å²"
    observations, text = run_flow(question, entities, tools)
    assert _steps(observations) == [(1, "similar_compounds")]
    assert observations[0]["args"] == {"query": "2519", "threshold": 90, "max_tpsa": 60.0}
    assert "**Analogs of Caffeine** in PubChem (2D similarity ≥ 90%; 3 hits, 3 removed" in text
    assert "No PubChem hit passes tpsa < 60.0" in text


def test_bioactivity_and_safety_of_theophylline(tools: dict[str, ToolSpec]) -> None:
    entities = _entities(compounds=[_compound("Theophylline", 2153, THEOPHYLLINE)])
    question = "What is known about the bioactivity and safety of theophylline?"
    observations, text = run_flow(question, entities, tools)
    assert _steps(observations) == [(1, "compound_bioactivity"), (1, "compound_safety")]
    assert "tested in 5 assays, active in 3, inactive in 1, inconclusive in 1" in text
    assert "- ADORA1 (adenosine A1 receptor; P30542): active in 1 of 1 assays, best Ki 8.5 µM" in (
        text
    )
    assert "GHS (European Chemicals Agency (ECHA)): Danger, pictograms Acute Toxic; H301" in text
    assert "Structural alerts (RDKit): PAINS none; Brenk none" in text


def test_compare_the_approved_ligands_of_an_accession(tools: dict[str, ToolSpec]) -> None:
    entities = _entities(accessions=["P30542"])
    question = "Compare the drug-likeness of the approved ligands of P30542"
    observations, text = run_flow(question, entities, tools)
    assert _steps(observations) == [
        (1, "uniprot_lookup"),
        (1, "target_ligands"),
        (2, "profile_molecules"),
    ]
    labels = [row["label"] for row in observations[2]["result"]["rows"]]
    assert "8-Cyclopentyl-1,3-dipropylxanthine" not in labels  # PubChem-only, not a drug
    assert len(labels) == 12 and "| 1 | " in text


@pytest.mark.parametrize(
    ("question", "entities", "first"),
    [
        (
            "What does P30542 do, and which drugs target it?",
            {"accessions": ["P30542"]},
            ("uniprot_lookup", {"query": "P30542"}),
        ),
        (
            "Which drugs target ADORA1?",
            {"genes": ["ADORA1"]},
            ("uniprot_lookup", {"query": "ADORA1", "organism": "9606"}),
        ),
        (
            "List inhibitors of the adenosine A2a receptor",
            {},
            ("uniprot_lookup", {"query": "adenosine A2a receptor", "organism": "9606"}),
        ),
    ],
)
def test_ligand_questions_start_by_resolving_the_target(
    question: str, entities: dict[str, Any], first: tuple[str, dict[str, Any]]
) -> None:
    tools = {"uniprot_lookup": None, "target_ligands": None, "profile_molecules": None}
    plan = discovery_plan(question, _entities(**entities), [], tools)
    assert plan[0][:2] == first


def test_the_llm_planner_schema_accepts_the_discovery_steps(tools: dict[str, ToolSpec]) -> None:
    from biomed_agent.agent.planner import plan_schema

    schema = plan_schema(tools, 8)
    steps = [
        {"tool": "uniprot_lookup", "args": {"query": "adenosine A1 receptor"}},
        {"tool": "target_ligands", "args": {"target": "P30542"}},
        {"tool": "profile_molecules", "args": {"cids": [2519, 2153], "rank_by": "qed"}},
        {"tool": "similar_compounds", "args": {"query": "2519", "max_tpsa": 60}},
        {"tool": "compound_bioactivity", "args": {"query": "theophylline"}},
        {"tool": "compound_safety", "args": {"query": "2153"}},
    ]
    plan = schema.model_validate({"steps": steps})
    assert [step.tool for step in plan.steps] == [s["tool"] for s in steps]  # type: ignore[attr-defined]
    with pytest.raises(ValueError):
        schema.model_validate({"steps": [{"tool": "profile_molecules", "args": {}}]})
    json_schema = schema.model_json_schema()
    assert "SimilarCompoundsArgs" in json_schema["$defs"]


def test_no_discovery_steps_for_other_questions() -> None:
    entities = _entities(compounds=[_compound("Aspirin", 2244, "CC(=O)Oc1ccccc1C(=O)O")])
    assert discovery_plan("Is aspirin drug-like?", entities, [], {"compound_safety": None}) == []
    assert discovery_plan("What does P30542 do?", _entities(accessions=["P30542"]), [], {}) == []


def test_steps_are_limited_to_registered_tools() -> None:
    entities = _entities(compounds=[_compound("Theophylline", 2153, THEOPHYLLINE)])
    plan = discovery_plan("Is theophylline safe?", entities, [], {"compound_safety": None})
    assert plan == [("compound_safety", {"query": "2153"}, "GHS and structural alerts")]
    assert discovery_plan("Is theophylline safe?", entities, [], {}) == []


def test_failed_steps_render_nothing() -> None:
    failed = Observation(
        id=1, tool="compound_safety", args={"query": "2153"}, status="error", result=None,
        error={"type": "ServiceBusyError", "message": "busy"}, elapsed_ms=1.0, round=1,
    )  # fmt: skip
    assert render_discovery([failed], lambda key: " [1]") == []


def test_render_keeps_numbers_as_the_tools_wrote_them(tmp_path: Path) -> None:
    obs = Observation(
        id=3, tool="profile_molecules", args={}, status="ok", elapsed_ms=1.0, round=1,
        error=None, result={"rows": [{"rank": 1, "label": "X", "qed": 0.5385,
                                      "molecular_weight": 194.194, "logp": -1.0293,
                                      "tpsa": 61.82, "lipinski_passes": True,
                                      "veber_passes": True, "pains": [], "brenk": [],
                                      "drug_like": True}]},
    )  # fmt: skip
    text = "\n".join(render_discovery([obs], lambda key: " [2]" if key == "tool:3" else ""))
    assert "| 1 | X | 0.5385 | 194.194 | -1.0293 | 61.82 | passes | passes | none |" in text
    assert "Most drug-like: **X** (QED 0.5385, drug-like) [2]." in text
