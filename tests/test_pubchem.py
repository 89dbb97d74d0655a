"""PubChem client against recorded PUG-REST / PUG-View answers on the replay server."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from biomed_agent.errors import (
    InvalidIdentifierError,
    InvalidQueryError,
    NotFoundError,
    OfflineError,
    ServiceBusyError,
)
from biomed_agent.retrievers import pubchem
from biomed_agent.retrievers.pubchem import PubChemClient, classify_query
from tests.helpers.replay_server import (
    PUBCHEM,
    SERVER_BUSY,
    ReplayServer,
    fast_retry,
    install_recorded,
    settings_for,
)

ASPIRIN_SMILES = "CC(=O)OC1=CC=CC=C1C(=O)O"
ASPIRIN_KEY = "BSYNRYMUTXBXSQ-UHFFFAOYSA-N"


def client_for(server: ReplayServer, data_dir: Path, **settings: object) -> PubChemClient:
    return PubChemClient.from_settings(
        settings_for(server, data_dir, **settings), retry=fast_retry()
    )


@pytest.mark.parametrize(
    ("query", "kind", "value"),
    [
        (2244, "cid", "2244"),
        ("2244", "cid", "2244"),
        ("CID 2244", "cid", "2244"),
        ("aspirin", "name", "aspirin"),
        ("acetylsalicylic acid", "name", "acetylsalicylic acid"),
        (ASPIRIN_SMILES, "smiles", ASPIRIN_SMILES),
        ("c1ccccc1", "smiles", "c1ccccc1"),
        ("CCO", "smiles", "CCO"),
        ("C00267", "name", "C00267"),
        ("50-78-2", "name", "50-78-2"),
        (ASPIRIN_KEY.lower(), "inchikey", ASPIRIN_KEY),
        ("InChI=1S/CH4/h1H4", "inchi", "InChI=1S/CH4/h1H4"),
    ],
)
def test_classify_query(query: str | int, kind: str, value: str) -> None:
    assert classify_query(query) == (kind, value)


@pytest.mark.parametrize(
    ("query", "error", "message"),
    [
        ("", InvalidQueryError, "empty compound query"),
        ("   ", InvalidQueryError, "empty compound query"),
        (0, InvalidIdentifierError, "'0' is not a PubChem CID"),
        ("CID 0", InvalidIdentifierError, "'0' is not a PubChem CID"),
        (True, InvalidIdentifierError, "True is not a compound query"),
    ],
)
def test_bad_queries_fail_before_any_request(
    replay_server: ReplayServer, tmp_path: Path, query: object, error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        client_for(replay_server, tmp_path).compound_documents([query])  # type: ignore[list-item]
    assert replay_server.count() == 0


@pytest.mark.parametrize(
    ("query", "kind", "error", "message"),
    [
        ("aspirin", "cid", InvalidIdentifierError, "'aspirin' is not a PubChem CID"),
        ("aspirin", "formula", InvalidQueryError, "unknown query kind 'formula'"),
    ],
)
def test_bad_explicit_kind(
    replay_server: ReplayServer, tmp_path: Path, query: str, kind: str, error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        client_for(replay_server, tmp_path).resolve_cid(query, kind=kind)  # type: ignore[arg-type]
    assert replay_server.count() == 0


def test_malformed_inchikey_with_explicit_kind(replay_server: ReplayServer, tmp_path: Path) -> None:
    with pytest.raises(InvalidIdentifierError, match="'BSYNRYMUTXBXSQ' is not an InChIKey"):
        client_for(replay_server, tmp_path).resolve_cid("BSYNRYMUTXBXSQ", kind="inchikey")


def test_name_smiles_and_inchikey_resolve_to_one_cid(
    replay_server: ReplayServer, tmp_path: Path
) -> None:
    client = client_for(replay_server, tmp_path)
    assert client.resolve_cid("aspirin") == 2244
    assert client.resolve_cid(ASPIRIN_SMILES) == 2244
    assert client.resolve_cid(ASPIRIN_KEY) == 2244
    assert client.resolve_cid("C00267") == 79025  # a KEGG id is a PubChem synonym
    methods = [(r.method, r.path.removeprefix(PUBCHEM)) for r in replay_server.requests]
    assert methods[1] == ("POST", "/pug/compound/smiles/cids/JSON")  # SMILES go in the form
    assert replay_server.requests[1].params["smiles"] == ASPIRIN_SMILES
    assert len(methods) == 4


def test_unknown_name_is_a_clear_not_found(replay_server: ReplayServer, tmp_path: Path) -> None:
    client = client_for(replay_server, tmp_path)
    with pytest.raises(NotFoundError, match="PubChem has no compound for: 'nosuchdrugxyz'"):
        client.compound_documents(["nosuchdrugxyz"])
    assert replay_server.count() == 1  # a 404 fault is not retried


def test_unknown_names_can_be_skipped(replay_server: ReplayServer, tmp_path: Path) -> None:
    client = client_for(replay_server, tmp_path)
    docs = client.compound_documents(["aspirin", "nosuchdrugxyz"], skip_missing=True)
    assert [d.metadata["cid"] for d in docs] == [2244]
    assert client.stats.missing == 1


def test_compound_documents(replay_server: ReplayServer, tmp_path: Path) -> None:
    client = client_for(replay_server, tmp_path)
    aspirin, cillin = client.compound_documents(["aspirin", 2349, ASPIRIN_KEY])

    assert aspirin.metadata == {
        "source": "pubchem",
        "record_id": "2244",
        "title": "Aspirin",
        "url": "https://pubchem.ncbi.nlm.nih.gov/compound/2244",
        "cid": 2244,
        "name": "Aspirin",
        "iupac_name": "2-acetyloxybenzoic acid",
        "formula": "C9H8O4",
        "molecular_weight": 180.16,
        "smiles": ASPIRIN_SMILES,
        "connectivity_smiles": ASPIRIN_SMILES,
        "inchi": "InChI=1S/C9H8O4/c1-6(10)13-8-5-3-2-4-7(8)9(11)12/h2-5H,1H3,(H,11,12)",
        "inchikey": ASPIRIN_KEY,
        "xlogp": 1.2,
        "tpsa": 63.6,
        "exact_mass": 180.04225873,
        "hbond_donors": 1,
        "hbond_acceptors": 4,
        "rotatable_bonds": 3,
        "heavy_atoms": 13,
        "charge": 0,
        "synonyms": aspirin.metadata["synonyms"],
    }
    assert aspirin.metadata["synonyms"].startswith("aspirin; ACETYLSALICYLIC ACID; 50-78-2")
    assert aspirin.metadata["synonyms"].count("; ") == pubchem.SYNONYMS_KEPT - 1
    assert aspirin.page_content.splitlines()[:3] == [
        "Aspirin (PubChem CID 2244)",
        "IUPAC name: 2-acetyloxybenzoic acid",
        "Molecular formula: C9H8O4",
    ]
    # PUG-View annotations of CID 2349 (recorded); CID 2244 has none on the server
    assert cillin.metadata["description"] == (
        "Cillin has been reported in Penicillium chrysogenum with data available."
    )
    assert "Drug Classes: Breast Feeding; Lactation; Milk, Human; Anti-Infective Agents" in (
        cillin.page_content
    )
    for doc in (aspirin, cillin):
        assert all(isinstance(v, str | int | float | bool) for v in doc.metadata.values())
    # name + InChIKey (same CID) + 1 properties + 1 synonyms + 2 PUG-View = 6
    posts = [r for r in replay_server.requests if r.method == "POST"]
    assert {r.params["cid"] for r in posts if "cid" in r.params} == {"2244,2349"}
    assert replay_server.count() == 6


def test_legacy_property_names_are_read(replay_server: ReplayServer, tmp_path: Path) -> None:
    props = client_for(replay_server, tmp_path).properties([2349])[2349]
    smiles = "CC1(C(N2C(S1)C(C2=O)NC(=O)CC3=CC=CC=C3)C(=O)O)C"
    assert (props["smiles"], props["connectivity_smiles"]) == (smiles, smiles)
    assert props["molecular_weight"] == 334.4
    assert "IsomericSMILES" not in props and "CanonicalSMILES" not in props


def test_property_lists_are_posted_in_chunks(
    replay_server: ReplayServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pubchem, "LIST_BATCH", 1)
    table = client_for(replay_server, tmp_path).properties([2244, 2349, 2244])
    assert sorted(table) == [2244, 2349]
    assert [r.params["cid"] for r in replay_server.requests] == ["2244", "2349"]


def test_server_busy_on_every_retry(replay_server: ReplayServer, tmp_path: Path) -> None:
    replay_server.fail_status(SERVER_BUSY, times=None)
    with pytest.raises(ServiceBusyError, match=r"PubChem failed .* \(last status 503\)") as caught:
        client_for(replay_server, tmp_path).compound_documents(["aspirin"])
    assert (caught.value.service, caught.value.status) == ("PubChem", 503)


def test_cache_then_offline(replay_server: ReplayServer, tmp_path: Path) -> None:
    first = client_for(replay_server, tmp_path).compound_documents(["aspirin", 2349])
    served = replay_server.count()

    again = client_for(replay_server, tmp_path)
    assert again.compound_documents(["aspirin", 2349]) == first
    offline = client_for(replay_server, tmp_path, offline=True)
    assert offline.compound_documents(["aspirin", 2349]) == first
    assert replay_server.count() == served  # zero requests on the warm cache
    assert again.stats.requests == 0 and again.stats.from_cache == 5

    with pytest.raises(OfflineError, match="compound name 'ibuprofen' is not in the PubChem cache"):
        offline.compound_documents(["ibuprofen"])


def test_unknown_cid_is_not_found(replay_server: ReplayServer, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="PubChem has no compound for: CID 99999999"):
        client_for(replay_server, tmp_path).compound_documents([99999999])
    assert replay_server.count() == 1  # the property POST answered PUGREST.NotFound


def test_names_resolve_concurrently_under_the_limiter(tmp_path: Path) -> None:
    with ReplayServer(latency=0.5) as server:
        install_recorded(server)
        client = client_for(server, tmp_path)
        began = time.monotonic()
        resolved = client.resolve_cids(["aspirin", "C00267", ASPIRIN_SMILES, ASPIRIN_KEY])
        elapsed = time.monotonic() - began
    assert resolved == {"aspirin": 2244, "C00267": 79025, ASPIRIN_SMILES: 2244, ASPIRIN_KEY: 2244}
    # one after another would take 4 x 0.5 s; paced starts (0.21 s apart) overlap the waits
    assert elapsed < 1.8
