"""UniProt client against recorded rest.uniprot.org answers on the replay server."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from biomed_agent.errors import (
    InvalidIdentifierError,
    InvalidQueryError,
    NotFoundError,
    OfflineError,
)
from biomed_agent.retrievers.uniprot import ProteinEntry, UniProtClient, validate_accession
from tests.helpers.replay_server import (
    UNIPROT,
    ReplayServer,
    fast_retry,
    settings_for,
    uniprot_search,
)


def client_for(server: ReplayServer, data_dir: Path, **settings: object) -> UniProtClient:
    return UniProtClient.from_settings(
        settings_for(server, data_dir, **settings), retry=fast_retry()
    )


@pytest.mark.parametrize(
    ("value", "accession"),
    [
        ("P30542", "P30542"),
        (" p30542 ", "P30542"),
        ("A0A023GPI8", "A0A023GPI8"),
        ("Q00007", "Q00007"),
    ],
)
def test_valid_accessions(value: str, accession: str) -> None:
    assert validate_accession(value) == accession


@pytest.mark.parametrize("value", ["INVALID123", "P3054", "", "12345", "P30542-2", "ADORA1"])
def test_malformed_accessions(replay_server: ReplayServer, tmp_path: Path, value: str) -> None:
    with pytest.raises(InvalidIdentifierError, match=f"{value!r} is not a UniProt accession"):
        client_for(replay_server, tmp_path).entry_documents(["P30542", value])
    assert replay_server.count() == 0  # validated before any request


def test_entry_document(replay_server: ReplayServer, tmp_path: Path) -> None:
    (doc,) = client_for(replay_server, tmp_path).entry_documents(["P30542"])
    meta = doc.metadata
    assert {k: meta[k] for k in ("source", "record_id", "title", "url", "gene", "organism")} == {
        "source": "uniprot",
        "record_id": "P30542",
        "title": "Adenosine receptor A1",
        "url": "https://www.uniprot.org/uniprotkb/P30542/entry",
        "gene": "ADORA1",
        "organism": "Homo sapiens",
    }
    assert (meta["organism_id"], meta["length"], meta["reviewed"]) == (9606, 326, True)
    assert meta["uniprot_id"] == "AA1R_HUMAN"
    assert meta["function"].startswith("Receptor for adenosine. The activity of this receptor")
    assert meta["subcellular_location"] == "Cell membrane"
    assert meta["go_terms"].startswith("C:axolemma; C:basolateral plasma membrane")
    assert "disease" not in meta  # the entry has no DISEASE comment; no empty values stored
    assert doc.page_content.splitlines()[:3] == [
        "Adenosine receptor A1 (UniProt P30542, reviewed (Swiss-Prot))",
        "Gene: ADORA1",
        "Organism: Homo sapiens",
    ]
    assert all(isinstance(v, str | int | float | bool) for v in meta.values())
    # one search request for the batch, not one per entry
    assert [r.path for r in replay_server.requests] == [f"{UNIPROT}/uniprotkb/search"]
    assert replay_server.requests[0].params["query"] == "accession:P30542"


def test_disease_comments_are_kept() -> None:
    entry = json.loads(
        (Path(__file__).parent / "fixtures/uniprot/uniprotkb_P30542_entry_2023.json").read_text()
    )
    entry = copy.deepcopy(entry)
    # the DISEASE comment shape of current rest.uniprot.org entries
    entry["comments"].append(
        {
            "commentType": "DISEASE",
            "disease": {
                "diseaseId": "Li-Fraumeni syndrome",
                "description": "Autosomal dominant cancer",
            },
        }
    )
    parsed = ProteinEntry.from_json(entry)
    assert parsed.disease == "Li-Fraumeni syndrome: Autosomal dominant cancer"
    assert "Disease: Li-Fraumeni syndrome: Autosomal dominant cancer" in parsed.to_text()


@pytest.mark.parametrize(
    ("accession", "reason"),
    [("Q00007", r"demerged into P63151, P63150\); use the accession"), ("I8FBX0", r"deleted\)")],
)
def test_inactive_entries_are_reported(
    replay_server: ReplayServer, tmp_path: Path, accession: str, reason: str
) -> None:
    with pytest.raises(NotFoundError, match=rf"UniProt entry {accession} is inactive \({reason}"):
        client_for(replay_server, tmp_path).entry(accession)


def test_batch_with_inactive_and_unknown_entries(
    replay_server: ReplayServer, tmp_path: Path
) -> None:
    client = client_for(replay_server, tmp_path)
    accessions = ["Q00007", "P30542", "I8FBX0", "P12345"]
    with pytest.raises(NotFoundError) as caught:
        client.entry_documents(accessions)
    assert caught.value.message == (
        "UniProt has no active entry for: Q00007 (demerged into P63151, P63150), I8FBX0 (deleted), "
        "P12345 (no such entry). Pass skip_missing=True to keep the others."
    )
    docs = client.entry_documents(accessions, skip_missing=True)
    assert [d.metadata["accession"] for d in docs] == ["P30542"]
    assert client.stats.missing == 3


def test_many_accessions_follow_link_paging(tmp_path: Path, fixtures_dir: Path) -> None:
    template = json.loads((fixtures_dir / "uniprot/uniprotkb_P30542_entry_2023.json").read_text())
    accessions = ["P30542", "P29274", "P29275", "P0DMS8", "Q9Y2T6"]
    entries = {a: {**template, "primaryAccession": a} for a in accessions}
    with ReplayServer() as server:
        server.route(
            "GET", f"{UNIPROT}/uniprotkb/search", uniprot_search(entries, server.url, max_page=2)
        )
        client = client_for(server, tmp_path)
        docs = client.entry_documents(list(reversed(accessions)))
        assert [d.metadata["accession"] for d in docs] == list(reversed(accessions))  # input order
        assert server.count() == 3  # pages of 2, 2 and 1 via Link: rel="next"
        assert [r.params.get("cursor") for r in server.requests] == [None, "2", "4"]


def test_search_by_gene_with_organism(replay_server: ReplayServer, tmp_path: Path) -> None:
    hits = client_for(replay_server, tmp_path).search("ADORA1", organism="9606")
    assert [(h.accession, h.gene, h.organism) for h in hits] == [
        ("P30542", "ADORA1", "Homo sapiens")
    ]
    assert replay_server.requests[0].params["query"].endswith("AND organism_id:9606")


def test_search_without_hits(replay_server: ReplayServer, tmp_path: Path) -> None:
    assert client_for(replay_server, tmp_path).search("NOSUCHGENE") == []


@pytest.mark.parametrize("query", ["", "   "])
def test_empty_search(replay_server: ReplayServer, tmp_path: Path, query: str) -> None:
    with pytest.raises(InvalidQueryError, match="empty protein query"):
        client_for(replay_server, tmp_path).search(query)


def test_search_quotes_user_text(replay_server: ReplayServer, tmp_path: Path) -> None:
    client_for(replay_server, tmp_path).search('p53" OR organism_id:*')
    assert (
        replay_server.requests[0]
        .params["query"]
        .startswith('(gene_exact:"p53\\" OR organism_id:*"')
    )


def test_fasta(replay_server: ReplayServer, tmp_path: Path) -> None:
    fasta = client_for(replay_server, tmp_path).fasta("P30542")
    header, *sequence = fasta.splitlines()
    assert header.startswith(">sp|P30542|AA1R_HUMAN Adenosine receptor A1 OS=Homo sapiens")
    assert len("".join(sequence)) == 326


def test_offline_miss(replay_server: ReplayServer, tmp_path: Path) -> None:
    client = client_for(replay_server, tmp_path, offline=True)
    with pytest.raises(OfflineError, match="entry P30542 is not in the UniProt cache"):
        client.entry("P30542")
    assert replay_server.count() == 0
