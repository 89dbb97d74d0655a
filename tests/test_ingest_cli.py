"""``biomed-agent ingest``: files and the three services (replayed), summaries, failures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biomed_agent.cli import main
from biomed_agent.retrievers.store import KnowledgeStore
from biomed_agent.settings import Settings, get_settings
from tests.helpers.knowledge import write_pdf
from tests.helpers.replay_server import NCBI, PUBCHEM, UNIPROT, ReplayServer

BREAST_CANCER_2008 = "science[journal] AND breast cancer AND 2008[pdat]"


@pytest.fixture
def services(replay_server: ReplayServer, monkeypatch: pytest.MonkeyPatch) -> ReplayServer:
    """Point the clients' base URLs (read from the environment, as users set them) at the replay."""
    monkeypatch.setenv("BIOMED_PUBCHEM_URL", replay_server.url + PUBCHEM)
    monkeypatch.setenv("BIOMED_UNIPROT_URL", replay_server.url + UNIPROT)
    monkeypatch.setenv("BIOMED_NCBI_URL", replay_server.url + NCBI)
    monkeypatch.setenv("BIOMED_HTTP_RETRIES", "1")
    monkeypatch.setenv("BIOMED_HTTP_TIMEOUT", "5")
    get_settings.cache_clear()
    return replay_server


def ingest_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict, str]:
    status = main(["ingest", *argv, "--json", "--no-progress"])
    captured = capsys.readouterr()
    return status, json.loads(captured.out), captured.err


@pytest.mark.parametrize(
    ("argv", "records"),
    [
        (["pubchem", "aspirin", "2349"], [("pubchem", "2244"), ("pubchem", "2349")]),
        (["uniprot", "P30542"], [("uniprot", "P30542")]),
        (
            ["pubmed", BREAST_CANCER_2008, "--limit", "3"],
            [("pubmed", "19008416"), ("pubmed", "18927361"), ("pubmed", "18787170")],
        ),
    ],
)
def test_service_ingest_stores_then_skips_from_cache(
    services: ReplayServer,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    records: list[tuple[str, str]],
) -> None:
    status, first, _ = ingest_json(capsys, *argv)
    assert status == 0
    assert first["fetched"] == first["stored"] == len(records)
    assert first["requests"] >= 1 and first["skipped"] == 0 and first["missing"] == 0
    store = KnowledgeStore(Settings())
    assert all(store.has(source, rid) for source, rid in records)
    assert store.count() == first["store_chunks"] >= len(records)

    arrived = services.count()
    status, second, _ = ingest_json(capsys, *argv)
    assert status == 0
    assert second["stored"] == 0 and second["skipped"] == len(records)
    assert second["cached"] >= 1 and second["store_chunks"] == first["store_chunks"]
    if argv[0] != "pubchem":  # PubChem has no recorded PUG-View page for 2244: re-asked
        assert second["requests"] == 0 and services.count() == arrived


def test_ingested_records_are_searchable_with_citations(
    services: ReplayServer, capsys: pytest.CaptureFixture[str]
) -> None:
    ingest_json(capsys, "uniprot", "P30542")
    ingest_json(capsys, "pubchem", "aspirin")
    top = KnowledgeStore(Settings()).search("adenosine receptor", k=1)[0].to_dict()
    assert top["source"] == "uniprot" and top["record_id"] == "P30542"
    assert top["url"] == "https://www.uniprot.org/uniprotkb/P30542/entry"


def test_summary_line_and_progress_bar(
    services: ReplayServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ingest", "uniprot", "P30542"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("uniprot: fetched 1 records (")
    assert "stored 1, skipped 0 unchanged" in out and "the store holds" in out
    assert "storing: 100%" in err and "1/1" in err


def test_missing_records_are_counted_and_the_rest_stored(
    services: ReplayServer, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    status, summary, _ = ingest_json(capsys, "uniprot", "P30542", "Q00007")
    assert status == 1
    assert summary["missing"] == 1 and summary["stored"] == 1
    assert "Q00007 (demerged into P63151, P63150)" in caplog.text  # the client's warning


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["uniprot", "NOT-AN-ACCESSION"], "NOT-AN-ACCESSION"),
        (["pubmed", "  "], "empty"),
    ],
)
def test_bad_input_exits_2_and_stores_nothing(
    services: ReplayServer, capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str
) -> None:
    assert main(["ingest", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("biomed-agent: error:") and fragment in err
    assert len(err.strip().splitlines()) == 1
    assert KnowledgeStore(Settings()).count() == 0


def test_max_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["ingest", "pubmed", "cancer", "--limit", "0"])
    assert info.value.code == 2
    assert "--limit: must be at least 1, got 0" in capsys.readouterr().err


def test_offline_request_not_cached_fails_clearly(
    services: ReplayServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BIOMED_OFFLINE", "1")
    get_settings.cache_clear()
    assert main(["ingest", "pubchem", "aspirin"]) == 1
    assert "OfflineError" in capsys.readouterr().err
    assert services.count() == 0


def test_files_ingest_reports_failures_and_keeps_the_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    papers = tmp_path / "papers"
    papers.mkdir()
    write_pdf(papers / "kinases.pdf", ["EGFR kinase inhibitors in lung cancer.", "Resistance."])
    (papers / "notes.md").write_text("# Notes\nInsulin lowers blood glucose.")
    write_pdf(papers / "locked.pdf", ["secret"], password="pw")
    status, summary, err = ingest_json(capsys, "files", str(papers))
    assert status == 1
    assert (summary["fetched"], summary["failed"], summary["stored"]) == (2, 1, 2)
    assert summary["failures"][0]["type"] == "UnreadableFileError"
    assert "locked.pdf" in err and "password-protected" in err
    top = KnowledgeStore(Settings()).search("EGFR lung cancer", k=1)[0].to_dict()
    assert (top["title"], top["page"]) == ("kinases.pdf", 1)

    status, again, _ = ingest_json(capsys, "files", str(papers / "kinases.pdf"))
    assert status == 0 and again["skipped"] == 1 and again["stored"] == 0
