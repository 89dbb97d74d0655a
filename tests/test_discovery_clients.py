"""PubChem bioassay/search/GHS and UniProt drug cross-reference clients (issue 16).

Real recordings: benzene's GHS classification (cheminfo/pubchem PUG-View record), the
PUG-View record of CID 2349 (no GHS section) and the UniProt P30542 entry. The assay,
similarity and ListKey answers are built in PubChem's documented formats (SOURCES.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from biomed_agent.errors import InvalidQueryError, UpstreamTimeoutError
from biomed_agent.retrievers.pubchem import PubChemClient
from biomed_agent.retrievers.pubchem_bioassay import (
    ASSAY_BATCH,
    compound_activity,
    compound_ghs,
    gene_symbols,
    parse_activity_table,
    parse_ghs,
    summarise_targets,
    target_activity,
)
from biomed_agent.retrievers.pubchem_search import PollPolicy, structure_search
from biomed_agent.retrievers.uniprot_drugs import drug_references
from tests.helpers.discovery_world import LIST_KEY, install_discovery, waiting_reply
from tests.helpers.replay_server import (
    FIXTURES,
    PUBCHEM,
    ReplayServer,
    Reply,
    Request,
    fast_retry,
    install_recorded,
    settings_for,
)

PUBCHEM_DIR = FIXTURES / "pubchem"


@pytest.fixture
def server() -> Iterator[ReplayServer]:
    with ReplayServer() as replay:
        install_recorded(replay)
        install_discovery(replay)
        yield replay


@pytest.fixture
def client(server: ReplayServer, tmp_path: Path) -> Iterator[PubChemClient]:
    settings = settings_for(server, tmp_path / "data")
    with PubChemClient.from_settings(settings, retry=fast_retry()) as built:
        yield built


def _load(name: str) -> dict[str, object]:
    return json.loads((PUBCHEM_DIR / name).read_text())


# --- GHS (real PUG-View recordings) ------------------------------------------------------


def test_ghs_of_benzene_names_each_depositor_with_its_statements() -> None:
    found = parse_ghs(_load("pug_view_compound_241_ghs_classification_derived.json"))
    by_source = {c.source: c for c in found}
    echa = by_source["European Chemicals Agency (ECHA)"]
    assert echa.signal == "Danger"
    assert echa.pictograms == ["Flammable", "Irritant", "Health Hazard"]
    assert "H350 (99.8%): May cause cancer [Danger Carcinogenicity]" in echa.hazard_statements
    assert echa.source_url and "echa.europa.eu" in echa.source_url
    assert "1934 reports" in echa.notifications
    assert "Regulation (EC) No 1272/2008 of the European Parliament and of the Council" in by_source
    assert all(c.hazard_statements for c in found)


def test_a_record_without_a_ghs_section_has_no_classification() -> None:
    assert parse_ghs(_load("pug_view_compound_2349_record.json")) == []


def test_compound_ghs_asks_pug_view_for_the_heading(
    client: PubChemClient, server: ReplayServer
) -> None:
    assert [c.signal for c in compound_ghs(client, 2153)] == ["Danger"]
    request = server.requests[-1]
    assert request.path == f"{PUBCHEM}/pug_view/data/compound/2153/JSON"
    assert request.params["heading"] == "GHS Classification"
    assert compound_ghs(client, 2244) == []  # PubChem's 404: nothing deposited


# --- UniProt drug cross-references (real entry) ------------------------------------------


def test_drug_references_of_p30542_list_drugbank_chembl_and_gtopdb() -> None:
    entry = json.loads((FIXTURES / "uniprot/uniprotkb_P30542_entry_2023.json").read_text())
    refs = drug_references(entry)
    drugs = {r.name: r.id for r in refs if r.is_drug}
    assert len(drugs) == 19  # as the issue counts them
    assert drugs["Caffeine"] == "DB00201" and drugs["Istradefylline"] == "DB11757"
    others = {(r.database, r.id) for r in refs if not r.is_drug}
    assert ("ChEMBL", "CHEMBL226") in others and ("GuidetoPHARMACOLOGY", "18") in others
    caffeine = next(r for r in refs if r.name == "Caffeine")
    assert caffeine.url == "https://go.drugbank.com/drugs/DB00201"


# --- assay tables ---------------------------------------------------------------------------


def test_assay_table_is_read_by_column_name_not_position() -> None:
    payload: Any = _load("compound_cid_2153_assaysummary_synthetic.json")
    table = payload["Table"]
    columns = list(reversed(table["Columns"]["Column"]))
    rows = [{"Cell": list(reversed(r["Cell"]))} for r in table["Row"]]
    shuffled = {"Table": {"Columns": {"Column": columns}, "Row": rows}}
    assert parse_activity_table(shuffled) == parse_activity_table(payload)
    first = parse_activity_table(payload)[0]
    assert (first.aid, first.cid, first.target_accession, first.activity_value_um) == (
        1900001,
        2153,
        "P30542",
        8.5,
    )


def test_targets_are_summarised_with_their_best_active_potency() -> None:
    rows = parse_activity_table(_load("protein_accession_P30542_concise_synthetic.json"))
    caffeine = summarise_targets([r for r in rows if r.cid == 2519])[0]
    assert (caffeine.tested, caffeine.active, caffeine.best_um, caffeine.best_aid) == (
        2,
        1,
        29.0,
        1900001,
    )


def test_compound_activity_batches_cids(client: PubChemClient, server: ReplayServer) -> None:
    cids = [2153, *range(10_000, 10_000 + 2 * ASSAY_BATCH)]
    server.reset_counts()
    found = compound_activity(client, cids)
    assert server.count(f"{PUBCHEM}/pug/compound/cid/assaysummary") == 3  # 201 CIDs / 100
    assert len(found[2153]) == 5 and found[10_000] == []


def test_target_activity_and_gene_symbols(client: PubChemClient) -> None:
    rows = target_activity(client, "P30542")
    assert {r.cid for r in rows if r.active} == {1329, 5311037, 2153, 2519}
    assert target_activity(client, "Q99999") == []
    assert gene_symbols(client, [134, 5141]) == {
        134: ("ADORA1", "adenosine A1 receptor"),
        135: ("ADORA2A", "adenosine A2a receptor"),
        5141: ("PDE4A", "phosphodiesterase 4A"),
    }


# --- structure search and ListKey polling -----------------------------------------------


class _Clock:
    """A fake monotonic clock that ``sleep`` advances (no real waiting)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.pauses: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds

    def policy(self, timeout: float = 10.0) -> PollPolicy:
        return PollPolicy(first_pause=0.5, max_pause=2.0, timeout=timeout,
                          sleep=self.sleep, clock=lambda: self.now)  # fmt: skip


def test_similarity_by_cid_returns_pubchem_order(client: PubChemClient) -> None:
    assert structure_search(client, 2519, threshold=90) == [2519, 4687, 5429, 2153]


def test_listkey_answer_is_polled_with_backoff_until_ready(
    client: PubChemClient, server: ReplayServer
) -> None:
    smiles_path = f"{PUBCHEM}/pug/compound/fastsubstructure/smiles/cids/JSON"
    server.route("POST", smiles_path, waiting_reply())
    polls: list[Request] = []

    def listkey(request: Request) -> Reply:
        polls.append(request)
        if len(polls) < 3:
            return waiting_reply()
        return Reply(200, b'{"IdentifierList": {"CID": [2519, 5429, 0]}}')

    server.route("GET", f"{PUBCHEM}/pug/compound/listkey/{LIST_KEY}/cids/JSON", listkey)
    clock = _Clock()
    found = structure_search(
        client, "CN1C=NC2=C1C(=O)N(C(=O)N2C)C", "substructure", poll=clock.policy()
    )
    assert found == [2519, 5429]
    assert clock.pauses == [0.5, 1.0, 2.0]
    search = next(r for r in server.requests if r.path == smiles_path)
    assert search.params["smiles"] == "CN1C=NC2=C1C(=O)N(C(=O)N2C)C"
    assert "Threshold" not in search.params and search.params["MaxRecords"] == "100"


def test_listkey_that_never_completes_times_out_clearly(
    client: PubChemClient, server: ReplayServer
) -> None:
    server.route("POST", f"{PUBCHEM}/pug/compound/fastsimilarity_2d/smiles/cids/JSON",
                 waiting_reply())  # fmt: skip
    server.route("GET", f"{PUBCHEM}/pug/compound/listkey/{LIST_KEY}/cids/JSON", waiting_reply())
    clock = _Clock()
    with pytest.raises(UpstreamTimeoutError) as caught:
        structure_search(client, "CCO", poll=clock.policy(timeout=5.0))
    message = caught.value.message
    assert f"ListKey {LIST_KEY}" in message and "within 5s" in message
    assert "\n" not in message and "narrow the search" in message
    assert sum(clock.pauses) <= 5.0 and len(clock.pauses) == 3  # 0.5 + 1 + 2 (+2 > 5)
    assert server.count(f"{PUBCHEM}/pug/compound/listkey/") == 3


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"mode": "superstructure"}, "mode"),
        ({"threshold": 101}, "threshold"),
        ({"max_records": 0}, "max_records"),
    ],
)
def test_bad_search_options_fail_before_any_request(
    client: PubChemClient, server: ReplayServer, kwargs: dict[str, object], name: str
) -> None:
    with pytest.raises(InvalidQueryError) as caught:
        structure_search(client, "CCO", **kwargs)  # type: ignore[arg-type]
    assert caught.value.input_name == name
    assert server.count(PUBCHEM) == 0
