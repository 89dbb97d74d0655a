"""``biomed-agent eval pubchemqa|uniprotqa`` through BioMedGPT-10B's encoders (issue 14)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from biomed_agent.cli import main
from biomed_agent.eval import RunSettings, get_benchmark, run_eval
from biomed_agent.eval.biomedgpt10b import ENCODERS, TEXT_ONLY, inputs_label, is_biomedgpt10b
from biomed_agent.eval.loaders import load_pubchemqa
from biomed_agent.eval.sampling import sample_items
from biomed_agent.models.multimodal.model import BioMedGPT10B

CHECKPOINT = Path(__file__).parent / "fixtures" / "openbiomed" / "weights" / "tf428_full.pth"
PUBCHEMQA = Path(__file__).parent / "fixtures/benchmarks/pubchemqa/pubchemqa_test_synthetic.json"


def test_pubchemqa_with_a_10b_checkpoint_feeds_the_molecule_graph(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    encoded: list[str] = []
    original = BioMedGPT10B.encode_molecules

    def spy(self: BioMedGPT10B, smiles: Sequence[str]) -> list[object]:
        encoded.extend(smiles)
        return original(self, smiles)  # type: ignore[return-value]

    monkeypatch.setattr(BioMedGPT10B, "encode_molecules", spy)
    out = tmp_path / "run"
    argv = [
        "eval", "pubchemqa", "--data", str(PUBCHEMQA), "--model", str(CHECKPOINT),
        "--limit", "2", "--max-new-tokens", "4", "--out", str(out), "--no-progress",
    ]  # fmt: skip
    assert main(argv) == 0
    assert f"inputs: {ENCODERS}" in capsys.readouterr().out
    # --limit 2 draws a seeded sample (eval.sampling); its items are fed in file order
    items = sample_items(load_pubchemqa(PUBCHEMQA), 2, kind=get_benchmark("pubchemqa").kind)
    assert encoded == [item.context.split(": ", 1)[1] for item in items]
    report = json.loads((out / "report.json").read_text())
    assert report["run"]["inputs"] == ENCODERS
    assert f"- inputs: {ENCODERS}" in (out / "report.md").read_text()
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and all(isinstance(row["prediction"], str) for row in rows)


def test_a_10b_checkpoint_refuses_agent_mode_and_shots(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["eval", "pubchemqa", "--data", str(PUBCHEMQA), "--model", str(CHECKPOINT)]
    assert main([*argv, "--mode", "agent", "--out", str(tmp_path)]) == 2
    assert "--mode bare" in capsys.readouterr().err


def test_a_text_model_on_pubchemqa_is_labelled_text_only(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    benchmark = get_benchmark("pubchemqa")
    items = load_pubchemqa(PUBCHEMQA)[:2]
    seen: list[str] = []

    def answer(prompts: Sequence[list[tuple[str, str]]]) -> list[str]:
        seen.extend(prompt[-1][1] for prompt in prompts)
        return ["a molecule"] * len(prompts)

    settings = RunSettings(model="text-model", inputs=inputs_label("pubchemqa", False))
    # the session's shared WordNet copy (test_eval_runner.py installs it there too)
    nltk_dir = tmp_path_factory.getbasetemp() / "nltk_data"
    outcome = run_eval(
        benchmark, items, answer, tmp_path, settings, progress=False, nltk_data_dir=nltk_dir
    )
    assert all("Molecule (SMILES):" in text for text in seen)  # the item reached it as text
    assert outcome.report["run"]["inputs"] == TEXT_ONLY
    assert "text-only, not comparable with the paper's 10B rows" in (
        outcome.report_markdown.read_text()
    )


def test_what_counts_as_a_10b_checkpoint(tmp_path: Path) -> None:
    assert is_biomedgpt10b(str(CHECKPOINT))
    assert is_biomedgpt10b(str(CHECKPOINT.parent.parent))  # a folder with weights/*.pth
    assert not is_biomedgpt10b(str(tmp_path))
    assert not is_biomedgpt10b("PharMolix/BioMedGPT-LM-7B")
    assert inputs_label("medqa", True) is None


def test_uniprotqa_accessions_reach_the_10b_model_as_sequences(
    tmp_path: Path, fixtures_dir: Path
) -> None:
    """The eval resolves accessions (the chat model reads sequences only) through UniProt."""
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    from biomed_agent.eval.biomedgpt10b import encoder_answerer
    from biomed_agent.eval.items import EvalItem
    from biomed_agent.proteins.sequences import parse_sequence
    from tests.helpers.replay_server import ReplayServer, install_recorded, settings_for

    seen: list[object] = []

    class Recording(FakeListChatModel):
        def invoke(self, input: object, *args: object, **kwargs: object) -> object:  # type: ignore[override]
            seen.append(input)
            return super().invoke(input, *args, **kwargs)  # type: ignore[arg-type]

    item = EvalItem(
        id="1", question="What does it do?", answer="x",
        context="Protein (UniProt accession): P30542",
    )  # fmt: skip
    with ReplayServer() as server:
        install_recorded(server)
        answerer = encoder_answerer(
            "uniprotqa", Recording(responses=["ok"]), settings_for(server, tmp_path)
        )
        assert answerer is not None
        assert answerer.answer_items([item]) == ["ok"]
        assert server.count("/uniprot") == 1
    fasta = (fixtures_dir / "uniprot" / "uniprotkb_P30542_synthetic.fasta").read_text()
    [messages] = seen
    assert messages[0].content[0] == {"type": "protein", "sequence": parse_sequence(fasta)}  # type: ignore[index]
