"""PubMed client against recorded E-utilities answers on the replay server."""

from __future__ import annotations

from pathlib import Path

import pytest

from biomed_agent.errors import (
    InvalidIdentifierError,
    InvalidQueryError,
    NotFoundError,
    OfflineError,
    RateLimitedError,
    UpstreamError,
)
from biomed_agent.retrievers import pubmed
from biomed_agent.retrievers.pubmed import PubMedClient, parse_articles, validate_pmid
from tests.helpers.replay_server import (
    NCBI,
    TOO_MANY,
    ReplayServer,
    Reply,
    fast_retry,
    load_reply,
    settings_for,
)

BREAST_CANCER = "science[journal] AND breast cancer AND 2008[pdat]"
SEARCH_HITS = ["19008416", "18927361", "18787170", "18487186", "18239126", "18239125"]


def client_for(server: ReplayServer, data_dir: Path, **settings: object) -> PubMedClient:
    return PubMedClient.from_settings(
        settings_for(server, data_dir, **settings), retry=fast_retry()
    )


@pytest.mark.parametrize(
    ("value", "pmid"), [("21813367", "21813367"), (21813367, "21813367"), ("PMID: 123", "123")]
)
def test_valid_pmids(value: str | int, pmid: str) -> None:
    assert validate_pmid(value) == pmid


@pytest.mark.parametrize(
    "value", ["abc", "0", "-1", "1234567890", "", "21813367.", "10.1038/nature"]
)
def test_malformed_pmids(replay_server: ReplayServer, tmp_path: Path, value: str) -> None:
    with pytest.raises(InvalidIdentifierError, match=f"{value!r} is not a PubMed id"):
        client_for(replay_server, tmp_path).fetch_documents(["21813367", value])
    assert replay_server.count() == 0


def by_pmid(client: PubMedClient, *pmids: str) -> dict[str, dict[str, object]]:
    return {
        d.metadata["pmid"]: {**d.metadata, "text": d.page_content}
        for d in client.fetch_documents(pmids)
    }


def test_batch_fetch_is_one_post(replay_server: ReplayServer, tmp_path: Path) -> None:
    pmids = ["26468569", "20301382", "21860499", "30108519", "21813367", "27933116", "21813142"]
    docs = client_for(replay_server, tmp_path).fetch_documents(pmids)
    assert [d.metadata["record_id"] for d in docs] == pmids  # input order
    assert [(r.method, r.path) for r in replay_server.requests] == [("POST", f"{NCBI}/efetch.fcgi")]
    assert replay_server.requests[0].params["id"] == ",".join(pmids)
    for doc in docs:
        assert doc.metadata["url"] == f"https://pubmed.ncbi.nlm.nih.gov/{doc.metadata['pmid']}/"
        assert all(isinstance(v, str | int | float | bool) for v in doc.metadata.values())


def test_structured_abstract_keeps_labels(replay_server: ReplayServer, tmp_path: Path) -> None:
    doc = by_pmid(client_for(replay_server, tmp_path), "21813367")["21813367"]
    assert doc["title"] == (
        "Retrospective exposure estimation and predicted versus observed serum perfluorooctanoic "
        "acid concentrations for participants in the C8 Health Project."
    )
    assert doc["authors"] == "Shin HM; Vieira VM; Ryan PB; Steenland K; Bartell SM"
    assert (doc["journal"], doc["year"], doc["doi"]) == (
        "Environmental health perspectives",
        2011,
        "10.1289/ehp.1103729",
    )
    text = str(doc["text"])
    assert "\nBACKGROUND: People living or working in eastern Ohio" in text
    assert "\nOBJECTIVES: Our objective was to estimate historical PFOA exposures" in text


def test_books_chapters_and_collective_authors(replay_server: ReplayServer, tmp_path: Path) -> None:
    docs = by_pmid(client_for(replay_server, tmp_path), "26468569", "20301382", "21860499")
    book, chapter, report = docs["26468569"], docs["20301382"], docs["21860499"]
    assert (book["publication_type"], book["publisher"], book["year"], book["doi"]) == (
        "book",
        "National Academies Press (US)",
        2015,
        "10.17226/21775",
    )
    assert str(book["authors"]).startswith("Committee on Predictive-Toxicology Approaches")
    assert "Board on Life Sciences" in str(book["authors"])
    assert (chapter["publication_type"], chapter["title"], chapter["book_title"]) == (
        "book-chapter",
        "Single Large-Scale Mitochondrial DNA Deletion Syndromes",
        "GeneReviews®",
    )
    assert chapter["authors"] == "Goldstein A; Falk MJ"  # chapter authors, not the book's editors
    assert "\nCLINICAL CHARACTERISTICS: Single large-scale mitochondrial DNA deletion" in str(
        chapter["text"]
    )
    assert report["authors"] == "National Toxicology Program"


def test_markup_and_mathml_keep_their_text(replay_server: ReplayServer, tmp_path: Path) -> None:
    docs = by_pmid(client_for(replay_server, tmp_path), "27933116", "30108519", "27797938")
    assert docs["27933116"]["title"] == (
        "Phoenix dactylifera mediated green synthesis of Cu2O particles "
        "for arsenite uptake from water."
    )
    assert docs["27797938"]["title"] == (
        "Leucocyte telomere length, genetic variants at the TERT gene region "
        "and risk of pancreatic cancer."
    )
    mathml = str(docs["30108519"]["text"])
    assert 'A "Blood Relationship" Between the Overlooked Minimum Lactate Equivalent' in mathml
    assert "maximal oxygen uptake ( V.O2max ) 67.6 ± 4.1 ml·kg-1·min-1]" in mathml
    assert "mml:" not in mathml and "<mml" not in mathml and "</" not in mathml
    assert "best predictors of V.O2max (r = 0.72-0.79; P < 0.001)" in mathml


def test_utf8_and_doi_from_elocation(replay_server: ReplayServer, tmp_path: Path) -> None:
    docs = by_pmid(client_for(replay_server, tmp_path), "16080930", "21813142")
    assert str(docs["16080930"]["authors"]).startswith("González-Reyes S; Martínez L; Tovar JA")
    assert docs["21813142"]["doi"] == "10.1016/j.medcli.2011.05.017"


def test_efetch_batches(
    replay_server: ReplayServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pubmed, "EFETCH_BATCH", 2)
    pmids = ["26468569", "20301382", "21860499", "30108519", "21813367"]
    docs = client_for(replay_server, tmp_path).fetch_documents(pmids)
    assert [d.metadata["pmid"] for d in docs] == pmids
    assert [r.params["id"].count(",") + 1 for r in replay_server.requests] == [2, 2, 1]


def test_unknown_pmids(replay_server: ReplayServer, tmp_path: Path) -> None:
    client = client_for(replay_server, tmp_path)
    with pytest.raises(NotFoundError, match=r"PubMed has no record for PMID\(s\) 99999999\."):
        client.fetch_documents(["21813367", "99999999"])
    docs = client.fetch_documents(["21813367", "99999999"], skip_missing=True)
    assert [d.metadata["pmid"] for d in docs] == ["21813367"]
    assert client.stats.missing == 1


def test_search_uses_history_server(replay_server: ReplayServer, tmp_path: Path) -> None:
    docs = client_for(replay_server, tmp_path).search_documents(BREAST_CANCER, max_results=10)
    assert [d.metadata["pmid"] for d in docs] == SEARCH_HITS  # esearch order
    esearch, efetch = replay_server.requests
    assert (esearch.path, esearch.params["usehistory"], esearch.params["term"]) == (
        f"{NCBI}/esearch.fcgi",
        "y",
        BREAST_CANCER,
    )
    assert efetch.path == f"{NCBI}/efetch.fcgi"
    assert (efetch.params["WebEnv"], efetch.params["query_key"]) == (
        "MCID_synthetic_science_breast_cancer_2008",
        "1",
    )
    assert (efetch.params["retstart"], efetch.params["retmax"]) == ("0", "6")  # min(max, count)
    assert (
        docs[0].metadata["title"].startswith("Genomic loss of microRNA-101 leads to overexpression")
    )


def test_search_max_results_is_respected(replay_server: ReplayServer, tmp_path: Path) -> None:
    docs = client_for(replay_server, tmp_path).search_documents(BREAST_CANCER, max_results=3)
    assert [d.metadata["pmid"] for d in docs] == SEARCH_HITS[:3]


def test_search_result_fields(replay_server: ReplayServer, tmp_path: Path) -> None:
    result = client_for(replay_server, tmp_path).search("cancer", max_results=100)
    assert result.count == 42249  # the recorded esearch answer
    assert len(result.pmids) == 100 and result.pmids[0] == "41297076"
    assert (result.webenv, result.query_key) == ("MCID_6927d6e7fee3e90f880ec190", "1")


def test_search_without_hits(replay_server: ReplayServer, tmp_path: Path) -> None:
    assert client_for(replay_server, tmp_path).search_documents("abcXYZ") == []
    assert replay_server.count() == 1  # no efetch for zero hits


@pytest.mark.parametrize(
    ("query", "limit", "message"),
    [("", 10, "empty PubMed query"), (" ", 10, "empty"), ("x", 0, "max_results must be 1..10000")],
)
def test_bad_search_arguments(
    replay_server: ReplayServer, tmp_path: Path, query: str, limit: int, message: str
) -> None:
    with pytest.raises(InvalidQueryError, match=message):
        client_for(replay_server, tmp_path).search_documents(query, limit)


def test_long_query_is_posted(
    replay_server: ReplayServer, tmp_path: Path, fixtures_dir: Path
) -> None:
    query = " OR ".join(f"gene{i}[tiab]" for i in range(200))  # about 3,000 characters
    no_hits = load_reply(fixtures_dir / "pubmed/esearch_protein_no_results_phrase_not_found.xml")
    replay_server.route("POST", f"{NCBI}/esearch.fcgi", no_hits, params={"term": query})
    assert client_for(replay_server, tmp_path).search(query).count == 0
    assert [r.method for r in replay_server.requests] == ["POST"]


def test_esearch_error_is_reported(replay_server: ReplayServer, tmp_path: Path) -> None:
    body = b"<eSearchResult><ERROR>Invalid query syntax near ((</ERROR></eSearchResult>"
    replay_server.route(
        "GET", f"{NCBI}/esearch.fcgi", Reply(200, body, "text/xml"), params={"term": "(("}
    )
    with pytest.raises(
        InvalidQueryError, match=r"PubMed rejected the query '\(\(': Invalid query syntax"
    ):
        client_for(replay_server, tmp_path).search("((")


def test_throttled_on_every_retry(replay_server: ReplayServer, tmp_path: Path) -> None:
    replay_server.fail_status(TOO_MANY, times=None)
    with pytest.raises(
        RateLimitedError,
        match=r"NCBI E-utilities failed .*API rate limit exceeded.*last status 429",
    ):
        client_for(replay_server, tmp_path).search("cancer")


def test_entity_declarations_are_refused() -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>'
        "<PubmedArticleSet>&a;</PubmedArticleSet>"
    )
    with pytest.raises(UpstreamError, match="declares entities"):
        parse_articles(bomb)


def test_truncated_xml_is_an_upstream_error() -> None:
    with pytest.raises(UpstreamError, match="does not parse"):
        parse_articles("<PubmedArticleSet><PubmedArticle><MedlineCitation>")


def test_api_key_raises_rate(replay_server: ReplayServer, tmp_path: Path) -> None:
    assert client_for(replay_server, tmp_path).http.limiter.max_calls == 3
    keyed = client_for(replay_server, tmp_path / "k", ncbi_api_key="abc")
    assert keyed.http.limiter.max_calls == 10


def test_warm_cache_and_offline(replay_server: ReplayServer, tmp_path: Path) -> None:
    first = client_for(replay_server, tmp_path).search_documents(BREAST_CANCER)
    served = replay_server.count()
    assert (
        client_for(replay_server, tmp_path, offline=True).search_documents(BREAST_CANCER) == first
    )
    assert replay_server.count() == served
    with pytest.raises(OfflineError):
        client_for(replay_server, tmp_path, offline=True).search_documents("aspirin")
