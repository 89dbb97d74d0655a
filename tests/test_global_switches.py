"""Process-wide switches are never flipped per call: concurrent callers do not interfere.

* transformers' progress-bar switch: the embedder's load hides its "Loading weights" bar
  through a context-local hook, so another thread's bars stay on meanwhile.
* ``warnings`` filters: BLEU passes nltk's no-smoothing rule per call (no
  ``catch_warnings()``, which is process-wide and races between threads); the values equal
  nltk's own default.
* nltk's WordNet reader and data path: built once under a lock, whatever the threads.
"""

from __future__ import annotations

import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from biomed_agent.errors import ConfigurationError
from biomed_agent.eval import load_wordnet, text_scores
from biomed_agent.eval import metrics as metrics_module

# hypotheses with no matching 3-/4-grams: nltk's default (method0) warns here
PREDICTIONS = ["aspirin inhibits the enzyme", "it is an alcohol", "binds kinase domain"]
REFERENCES = ["aspirin irreversibly inhibits COX", "it is a primary alcohol", "binds DNA"]


def test_quiet_bars_silence_only_the_calling_thread() -> None:
    pytest.importorskip("transformers")
    from transformers.utils import logging as hf_logging

    from biomed_agent.retrievers.embeddings import quiet_bars

    inside = threading.Event()
    checked = threading.Event()
    seen: dict[str, Any] = {}

    def quiet_loader() -> None:
        with quiet_bars():
            seen["quiet"] = hf_logging.tqdm(range(2), disable=False)
            inside.set()
            checked.wait(10)
            seen["quiet_switch"] = hf_logging.is_progress_bar_enabled()

    def other_thread() -> None:
        inside.wait(10)
        seen["other"] = hf_logging.tqdm(range(2))
        seen["other_switch"] = hf_logging.is_progress_bar_enabled()
        checked.set()

    assert hf_logging.is_progress_bar_enabled()
    threads = [threading.Thread(target=quiet_loader), threading.Thread(target=other_thread)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    try:
        assert getattr(seen["quiet"], "disable", True) is True  # hidden in the quiet thread
        assert seen["other"].disable is False  # drawn in the other one, at the same moment
        assert seen["quiet_switch"] and seen["other_switch"]  # the global switch never moved
    finally:
        for bar in (seen.get("quiet"), seen.get("other")):
            if bar is not None and hasattr(bar, "close"):
                bar.close()


def test_bleu_equals_nltk_default_without_touching_warning_filters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from nltk.translate.bleu_score import corpus_bleu

    refs = [[r.split(" ")] for r in REFERENCES]
    hyps = [p.split(" ") for p in PREDICTIONS]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        expected = {
            "bleu2": corpus_bleu(refs, hyps, weights=(0.5, 0.5)),
            "bleu4": corpus_bleu(refs, hyps, weights=(0.25,) * 4),
        }
    assert any("0 counts" in str(w.message) for w in caught)  # the case method0 warns about

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("text_scores changed the process-wide warning filters")

    with monkeypatch.context() as patch:  # undone before pytest reports a failure
        for name in ("catch_warnings", "simplefilter", "filterwarnings"):
            patch.setattr(warnings, name, refuse)
        scores = text_scores(PREDICTIONS, REFERENCES, None)
    assert scores["bleu2"] == pytest.approx(expected["bleu2"], abs=0)
    assert scores["bleu4"] == pytest.approx(expected["bleu4"], abs=0)


def test_concurrent_scoring_leaves_filters_and_results_alone() -> None:
    before = list(warnings.filters)
    expected = text_scores(PREDICTIONS, REFERENCES, None)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: text_scores(PREDICTIONS, REFERENCES, None), range(16)))
    assert all(result == expected for result in results)
    assert list(warnings.filters) == before


def test_wordnet_loads_once_for_concurrent_first_calls(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    import nltk

    directory = tmp_path_factory.getbasetemp() / "nltk_data"  # shared with test_eval_metrics
    barrier = threading.Barrier(4)

    def first_call(_: int) -> Any:
        barrier.wait(10)
        return load_wordnet(directory)

    try:
        with ThreadPoolExecutor(4) as pool:
            readers = list(pool.map(first_call, range(4)))
    except ConfigurationError as exc:  # no WordNet installable on this machine
        pytest.skip(str(exc))
    assert len({id(reader) for reader in readers}) == 1
    if (directory / "corpora" / "wordnet").is_dir():
        assert nltk.data.path.count(str(directory)) == 1
        assert metrics_module._WORDNET_READERS[str(directory / "corpora" / "wordnet")] is readers[0]
