"""The drug-discovery tools end to end against the replay server (issue 16).

Results are checked against outside references where there is one: the recorded UniProt
entry (DrugBank/ChEMBL/GtoPdb cross-references), the recorded PUG-View GHS record of
benzene, and RDKit's own Tanimoto/QED for the local re-ranking. Bad input exits 2 with
one line from the CLI; 429/503/timeouts and a ListKey that never completes are faults.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from rdkit import Chem, DataStructs
from rdkit.Chem import QED, rdFingerprintGenerator

from biomed_agent.cli import main
from biomed_agent.errors import ServiceBusyError, UpstreamTimeoutError
from biomed_agent.retrievers import pubchem_search
from biomed_agent.retrievers.http import ServiceSession
from biomed_agent.retrievers.pubchem import LIST_BATCH, REQUESTED_PROPERTIES, PubChemClient
from biomed_agent.retrievers.uniprot import UniProtClient
from biomed_agent.settings import Settings
from biomed_agent.tools import tool_specs
from biomed_agent.tools.base import ToolSpec
from biomed_agent.tools.discovery_tools import build_tools
from tests.helpers.discovery_world import (
    LIST_KEY,
    install_discovery,
    property_rows,
    property_table,
    waiting_reply,
)
from tests.helpers.replay_server import (
    PUBCHEM,
    SERVER_BUSY,
    TOO_MANY,
    ReplayServer,
    fast_retry,
    install_recorded,
    settings_for,
)

DISCOVERY = ("target_ligands", "similar_compounds", "compound_bioactivity", "compound_safety")


@pytest.fixture
def server() -> Iterator[ReplayServer]:
    with ReplayServer() as replay:
        install_recorded(replay)
        install_discovery(replay)
        yield replay


def _tools(settings: Settings, sleeps: list[float] | None = None) -> dict[str, ToolSpec]:
    """The tools on clients whose retries record their pauses instead of sleeping.

    PubChem's limiter is raised to 50/s here (the 19 DrugBank names of P30542 would take
    4 s at 5/s); rate limiting itself is tested with the HTTP layer.
    """
    retry = fast_retry(2, sleeps)
    pubchem = ServiceSession("PubChem", settings.pubchem_url, settings, max_per_second=50,
                             retry=retry)  # fmt: skip
    resources = SimpleNamespace(
        pubchem=PubChemClient(pubchem),
        uniprot=UniProtClient.from_settings(settings, retry=retry),
    )
    return {spec.name: spec for spec in build_tools(settings, resources=resources)}


@pytest.fixture
def tools(server: ReplayServer, tmp_path: Path) -> dict[str, ToolSpec]:
    return _tools(settings_for(server, tmp_path / "data"))


def test_registry_exposes_the_discovery_tools() -> None:
    names = [spec.name for spec in tool_specs(Settings())]
    assert set(DISCOVERY) | {"profile_molecules"} <= set(names)


# --- target_ligands -------------------------------------------------------------------------


def test_target_ligands_by_name_lists_drugbank_drugs_and_pubchem_actives(
    tools: dict[str, ToolSpec], server: ReplayServer
) -> None:
    result = tools["target_ligands"].run({"target": "adenosine A1 receptor"})
    assert result["target"]["accession"] == "P30542"
    assert result["target"]["url"] == "https://www.uniprot.org/uniprotkb/P30542/entry"
    ligands = {lig["name"]: lig for lig in result["ligands"]}
    caffeine = ligands["Caffeine"]
    assert (caffeine["cid"], caffeine["drugbank_id"], caffeine["listed_in"]) == (
        2519, "DB00201", "DrugBank"
    )  # fmt: skip
    assert (caffeine["best_potency_um"], caffeine["active_assays"], caffeine["tested_assays"]) == (
        29.0, 1, 2
    )  # fmt: skip
    assert caffeine["compound_url"] == "https://pubchem.ncbi.nlm.nih.gov/compound/2519"
    dpcpx = ligands["8-Cyclopentyl-1,3-dipropylxanthine"]
    assert dpcpx["listed_in"] == "PubChem bioassay" and dpcpx["best_potency_um"] == 0.0039
    assert "Defibrotide" in result["note"]  # no structure answered for it in the replay
    refs = {(x["database"], x["record_id"]) for x in result["cross_references"]}
    assert ("ChEMBL", "CHEMBL226") in refs and ("GuidetoPHARMACOLOGY", "18") in refs
    properties = [r for r in server.requests if "/property/" in r.path]
    assert len(properties) == 1  # every ligand's properties in one POST


def test_target_ligands_keeps_the_uniprot_part_when_pubchem_bioactivity_fails(
    tools: dict[str, ToolSpec], server: ReplayServer
) -> None:
    server.fail_status(SERVER_BUSY, times=None, path_prefix=f"{PUBCHEM}/pug/protein/")
    result = tools["target_ligands"].run({"target": "P30542"})
    assert "PubChem bioactivity unavailable" in result["note"] and "503" in result["note"]
    assert len(result["ligands"]) == 12 and "best_potency_um" not in result["ligands"][0]


def test_target_ligands_by_accession_needs_no_search(
    tools: dict[str, ToolSpec], server: ReplayServer
) -> None:
    result = tools["target_ligands"].run({"target": "p30542", "limit": 0})
    assert result["target"]["gene"] == "ADORA1"
    assert all(lig["listed_in"] == "DrugBank" for lig in result["ligands"])
    assert not any(r.path.endswith("/uniprotkb/search") for r in server.requests)


# --- similar_compounds ------------------------------------------------------------------------


def _tanimoto(a: str, b: str) -> float:
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    fps = [generator.GetFingerprint(Chem.MolFromSmiles(s)) for s in (a, b)]
    return round(DataStructs.TanimotoSimilarity(*fps), 4)


def test_similar_compounds_reranks_pubchem_hits_by_rdkit_tanimoto(
    tools: dict[str, ToolSpec],
) -> None:
    result = tools["similar_compounds"].run({"query": "caffeine", "threshold": 90})
    assert result["cid"] == 2519 and result["pubchem_hits"] == 3  # caffeine itself left out
    assert result["query_url"] == "https://pubchem.ncbi.nlm.nih.gov/compound/2519"
    analogs = result["analogs"]
    query = result["smiles"]
    assert [a["tanimoto"] for a in analogs] == [_tanimoto(query, a["smiles"]) for a in analogs]
    assert [a["tanimoto"] for a in analogs] == sorted(
        (a["tanimoto"] for a in analogs), reverse=True
    )
    assert {a["name"] for a in analogs} == {"Theophylline", "Theobromine", "Paraxanthine"}


def test_similar_compounds_property_filter(tools: dict[str, ToolSpec]) -> None:
    result = tools["similar_compounds"].run({"query": "2519", "max_tpsa": 60})
    assert (result["pubchem_hits"], result["removed_by_filters"], result["analogs"]) == (3, 3, [])
    kept = tools["similar_compounds"].run({"query": "2519", "max_tpsa": 73, "max_xlogp": 0})
    assert kept["removed_by_filters"] == 0 and all(a["tpsa"] < 73 for a in kept["analogs"])


# --- compound_bioactivity / compound_safety ---------------------------------------------------


def test_compound_bioactivity_counts_assays_and_names_targets(tools: dict[str, ToolSpec]) -> None:
    result = tools["compound_bioactivity"].run({"query": "theophylline"})
    assert (result["assays_tested"], result["active_assays"], result["inactive_assays"]) == (
        5,
        3,
        1,
    )
    first = result["targets"][0]
    assert (first["symbol"], first["accession"], first["best_potency_um"]) == (
        "ADORA1", "P30542", 8.5
    )  # fmt: skip
    assert [t["symbol"] for t in result["targets"]] == ["ADORA1", "ADORA2A", "PDE4A"]


def test_compound_safety_of_benzene_from_the_recorded_record(tools: dict[str, ToolSpec]) -> None:
    result = tools["compound_safety"].run({"query": "241"})
    depositors = {c["depositor"]: c for c in result["ghs_classifications"]}
    assert (
        "H340 (99.8%): May cause genetic defects [Danger Germ cell mutagenicity]"
        in depositors["European Chemicals Agency (ECHA)"]["hazard_statements"]
    )
    assert result["structural_alerts"] == {"pains": [], "brenk": []}


def test_compound_safety_reports_alerts_beside_ghs(tools: dict[str, ToolSpec]) -> None:
    result = tools["compound_safety"].run({"query": "theophylline"})
    assert result["ghs_classifications"][0]["hazard_statements"] == [
        "H301: Toxic if swallowed [Danger Acute toxicity, oral]"
    ]
    assert result["alerts_computed_on"] == "CN1C2=C(C(=O)N(C1=O)C)NC=N2"
    none = tools["compound_safety"].run({"query": "caffeine"})
    assert none["ghs_classifications"] == [] and "no GHS" in none["ghs_note"]


# --- profile_molecules and scale --------------------------------------------------------------


def test_profile_ranks_by_drug_likeness_against_rdkit_qed(tools: dict[str, ToolSpec]) -> None:
    result = tools["profile_molecules"].run({"cids": [2519, 2153, 644019, 5311037]})
    rows = result["rows"]
    assert [r["rank"] for r in rows] == [1, 2, 3, 4]
    for row in rows:
        assert row["qed"] == pytest.approx(QED.qed(Chem.MolFromSmiles(row["smiles"])), abs=1e-4)
    assert rows[-1]["label"] == "Cannabidiol"  # Lipinski passes, but logP 5.8 > 5 is a violation
    assert rows[0]["drug_like"] and rows[0]["cid"] in (2519, 2153, 5311037)


def test_profile_lists_molecules_that_do_not_parse(tools: dict[str, ToolSpec]) -> None:
    result = tools["profile_molecules"].run(
        {"molecules": ["CCO", "c1cccc1"], "labels": ["ethanol", "broken"]}
    )
    assert [r["label"] for r in result["rows"]] == ["ethanol"]
    assert result["failed"] == [{"label": "broken", "smiles": "c1cccc1"}]


@pytest.mark.slow  # profiling 1,000 molecules with RDKit: about 10 s
def test_profile_of_1000_ligands_costs_one_pubchem_request(
    server: ReplayServer, tmp_path: Path
) -> None:
    known = list(property_rows().values())
    rows = {10_000 + i: {**known[i % len(known)], "CID": 10_000 + i} for i in range(1000)}
    path = PUBCHEM + "/pug/compound/cid/property/" + ",".join(REQUESTED_PROPERTIES) + "/JSON"
    server.route("POST", path, property_table(rows))
    tools = _tools(settings_for(server, tmp_path / "data"))
    server.reset_counts()
    result = tools["profile_molecules"].run({"cids": list(rows), "limit": 5})
    assert server.count(PUBCHEM) == math.ceil(1000 / LIST_BATCH) == 1
    assert result["profiled"] == 1000 and len(result["rows"]) == 5


# --- bad input: exit 2, one line ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("tool", "arguments", "fragment"),
    [
        ("target_ligands", {"target": ""}, "target"),
        ("target_ligands", {"target": "P30542", "limit": -1}, "limit"),
        ("similar_compounds", {"query": "c1cccc1"}, "'c1cccc1'"),
        ("similar_compounds", {"query": "caffeine", "threshold": 150}, "threshold"),
        ("similar_compounds", {"query": "caffeine", "mode": "3d"}, "mode"),
        ("compound_bioactivity", {"query": "0"}, "'0' is not a PubChem CID"),
        ("compound_bioactivity", {"query": "theophylline", "limit": 0}, "limit"),
        ("compound_safety", {"query": "c1cccc1"}, "'c1cccc1'"),
        ("compound_safety", {"smiles": "CCO"}, "smiles"),
        ("profile_molecules", {"molecules": ["CCO"], "cids": [1]}, "exactly one of"),
        ("profile_molecules", {"cids": [0]}, "cids"),
        ("profile_molecules", {"molecules": ["CCO"], "rank_by": "price"}, "rank_by"),
        ("profile_molecules", {"molecules": ["c1cccc1", "C1CC"]}, "none of the 2 molecule(s)"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    capfd: pytest.CaptureFixture[str], tool: str, arguments: dict[str, Any], fragment: str
) -> None:
    status = main(["tool", tool, "--input", json.dumps(arguments)])
    out, err = capfd.readouterr()
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("biomed-agent: error: ")
    assert fragment in err


# --- faults --------------------------------------------------------------------------------------

CALLS: dict[str, dict[str, Any]] = {
    "target_ligands": {"target": "P30542"},
    "similar_compounds": {"query": "2519"},
    "compound_bioactivity": {"query": "2153"},
    "compound_safety": {"query": "2153"},
    "profile_molecules": {"cids": [2519, 2153]},
}


@pytest.mark.parametrize("tool", list(CALLS))
def test_429_is_retried_after_retry_after(server: ReplayServer, tmp_path: Path, tool: str) -> None:
    sleeps: list[float] = []
    tools = _tools(settings_for(server, tmp_path / "data"), sleeps)
    server.fail_status(TOO_MANY, times=1, path_prefix=PUBCHEM)
    assert tools[tool].run(CALLS[tool])
    assert 1.0 in sleeps  # Retry-After: 1 honoured


@pytest.mark.parametrize("tool", list(CALLS))
def test_503_after_every_retry_is_a_typed_error(
    server: ReplayServer, tmp_path: Path, tool: str
) -> None:
    tools = _tools(settings_for(server, tmp_path / "data"))
    server.fail_status(SERVER_BUSY, times=None, path_prefix=PUBCHEM)
    with pytest.raises(ServiceBusyError) as caught:
        tools[tool].run(CALLS[tool])
    assert caught.value.service == "PubChem" and caught.value.status == 503


@pytest.mark.parametrize("tool", list(CALLS))
def test_timeout_is_a_typed_error(server: ReplayServer, tmp_path: Path, tool: str) -> None:
    tools = _tools(settings_for(server, tmp_path / "data", http_timeout=0.2))
    server.fail_slow(0.6, times=None, path_prefix=PUBCHEM)
    with pytest.raises(UpstreamTimeoutError) as caught:
        tools[tool].run(CALLS[tool])
    assert "no answer within 0.2s" in caught.value.message


def test_similar_compounds_listkey_never_completing_is_a_clear_timeout(
    server: ReplayServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pauses: list[float] = []
    clock = {"now": 0.0}

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        clock["now"] += seconds

    policy = pubchem_search.PollPolicy(timeout=20.0, sleep=sleep, clock=lambda: clock["now"])
    monkeypatch.setattr(pubchem_search, "DEFAULT_POLL", policy)
    server.route("POST", f"{PUBCHEM}/pug/compound/fastsimilarity_2d/smiles/cids/JSON",
                 waiting_reply())  # fmt: skip
    server.route("GET", f"{PUBCHEM}/pug/compound/listkey/{LIST_KEY}/cids/JSON", waiting_reply())
    tools = _tools(settings_for(server, tmp_path / "data"))
    with pytest.raises(UpstreamTimeoutError) as caught:
        tools["similar_compounds"].run({"query": "CN1C=NC2=C1C(=O)N(C(=O)N2C)C"})
    assert f"ListKey {LIST_KEY}" in caught.value.message and "within 20s" in caught.value.message
    assert pauses == [1.0, 2.0, 4.0, 8.0] and sum(pauses) <= 20.0
