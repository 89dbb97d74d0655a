"""``biomed-agent eval``: a 20-item run with the tiny test model, and the typed errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biomed_agent.cli import main
from tests.helpers.tiny_llama import build_tiny_llama

MEDQA = Path("benchmarks/medqa_usmle/US_4_options_phrases_no_exclude_test.jsonl")


@pytest.mark.slow
def test_twenty_item_run_with_the_tiny_model_writes_the_report(
    fixtures_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model_dir = build_tiny_llama(tmp_path / "tiny-llama")
    out = tmp_path / "run"
    argv = [
        "eval", "medqa", "--data", str(fixtures_dir / MEDQA), "--model", str(model_dir),
        "--limit", "20", "--batch-size", "4", "--max-new-tokens", "8", "--out", str(out),
        "--no-progress", "--scoring", "generate",
    ]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("medqa, 20 items: accuracy ")
    assert f"report: {out / 'report.md'}" in printed

    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 20 and all(isinstance(row["prediction"], str) for row in rows)
    report = json.loads((out / "report.json").read_text())
    metrics = report["metrics"]
    assert report["items"] == 20 and metrics["total"] == 20
    assert metrics["correct"] == sum(row["correct"] for row in rows)
    assert metrics["unparsable"] == sum(row["answer"] is None for row in rows) == 0
    assert report["run"]["model"] == str(model_dir) and report["run"]["max_new_tokens"] == 8
    assert report["run"]["scoring"] == "generate" and report["run"]["decoding"] == "options"
    assert "scoring: generate (decoding constrained to the options)" in printed
    assert "| Accuracy |" in (out / "report.md").read_text()

    # the same command again finds every item done and asks the model nothing
    assert main(argv) == 0
    assert len((out / "results.jsonl").read_text().splitlines()) == 20


@pytest.mark.slow
def test_multiple_choice_is_scored_by_loglikelihood_by_default(
    fixtures_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model_dir = build_tiny_llama(tmp_path / "tiny-llama")
    out = tmp_path / "run"
    argv = [
        "eval", "medqa", "--data", str(fixtures_dir / MEDQA), "--model", str(model_dir),
        "--limit", "12", "--out", str(out), "--no-progress",
    ]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "0 unparsable, length-normalised " in printed and "scoring: loglik" in printed
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 12
    for row in rows:  # every item answered: the most likely option, by acc and acc_norm
        assert row["answer"] in "ABCD" and row["answer_norm"] in "ABCD"
        assert row["answer"] == max(row["logprobs"], key=row["logprobs"].get)
        assert row["prediction"].startswith(f"{row['answer']}. ")
    report = json.loads((out / "report.json").read_text())
    assert report["run"]["scoring"] == "loglik" and report["run"]["max_new_tokens"] is None
    assert report["metrics"]["unparsable"] == 0
    norm = sum(row["correct_norm"] for row in rows) / 12
    assert report["metrics"]["accuracy_norm"] == pytest.approx(norm)
    # a generation run cannot resume into these results
    assert main([*argv, "--scoring", "generate"]) == 2
    assert "scoring: 'loglik' there, 'generate' now" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--scoring", "bogus"], "--scoring must be one of loglik, generate, got 'bogus'"),
        (["--scoring", "loglik", "--mode", "agent"], "--scoring loglik scores the bare model"),
    ],
)
def test_bad_scoring_exits_2_with_one_line(
    extra: list[str], message: str, capsys: pytest.CaptureFixture[str], fixtures_dir: Path
) -> None:
    argv = ["eval", "medqa", "--data", str(fixtures_dir / MEDQA), "--model", "none", *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_loglik_scoring_refuses_free_text_benchmarks(
    capsys: pytest.CaptureFixture[str], fixtures_dir: Path
) -> None:
    data = fixtures_dir / "benchmarks" / "pubchemqa" / "pubchemqa_test_synthetic.json"
    argv = ["eval", "pubchemqa", "--data", str(data), "--model", "none", "--scoring", "loglik"]
    assert main(argv) == 2
    assert "--scoring loglik is not available for pubchemqa" in capsys.readouterr().err


def test_unknown_benchmark_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["eval", "medqa2", "--data", str(tmp_path)]) == 2
    assert "unknown benchmark 'medqa2'" in capsys.readouterr().err


def test_missing_data_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["eval", "medqa", "--data", str(tmp_path / "x.jsonl"), "--model", "m"]) == 2
    assert "x.jsonl' does not exist" in capsys.readouterr().err


def test_agent_mode_refuses_few_shot(
    capsys: pytest.CaptureFixture[str], fixtures_dir: Path
) -> None:
    argv = ["eval", "medqa", "--data", str(fixtures_dir / MEDQA), "--mode", "agent"]
    assert main([*argv, "--model", "none", "--shots", "2"]) == 2
    assert "--mode agent answers each question on its own" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--limit", "0", "--limit must be at least 1, got 0"),
        ("--max-new-tokens", "-3", "--max-new-tokens must be at least 1, got -3"),
    ],
)
def test_bad_numbers_exit_2(
    flag: str, value: str, message: str, capsys: pytest.CaptureFixture[str], fixtures_dir: Path
) -> None:
    assert main(["eval", "medqa", "--data", str(fixtures_dir / MEDQA), flag, value]) == 2
    assert message in capsys.readouterr().err


def test_model_none_cannot_answer(
    capsys: pytest.CaptureFixture[str], fixtures_dir: Path, tmp_path: Path
) -> None:
    argv = ["eval", "medqa", "--data", str(fixtures_dir / MEDQA), "--model", "none"]
    assert main([*argv, "--out", str(tmp_path)]) == 1
    assert (
        "--mode bare needs a chat model, but the model setting is 'none'" in capsys.readouterr().err
    )
