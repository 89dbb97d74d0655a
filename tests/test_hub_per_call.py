"""Hub reads decide offline mode and progress bars per call, not by flipping library flags.

Against the hub on 127.0.0.1 (tests.helpers.fake_hub) with the real ``datasets`` and
``huggingface_hub`` code: offline and online reads run at the same moment in threads,
while a watcher samples the libraries' process-wide ``HF_HUB_OFFLINE`` flags.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from biomed_agent.errors import OfflineError
from biomed_agent.eval import get_benchmark, hub
from tests.helpers.fake_hub import FakeHub

pytest.importorskip("datasets")


def _library_flags() -> tuple[bool, bool]:
    import datasets.config
    import huggingface_hub.constants as hub_constants

    return bool(hub_constants.HF_HUB_OFFLINE), bool(datasets.config.HF_HUB_OFFLINE)


def test_offline_and_online_reads_at_once_leave_the_library_flags_alone(
    fake_hub: FakeHub,
) -> None:
    mmlu = get_benchmark("mmlu-medicine")
    cached = mmlu.open(None, progress=False)  # cache one dataset, online
    asked = len(fake_hub.requests)

    seen_flags: set[tuple[bool, bool]] = set()
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            seen_flags.add(_library_flags())
            done.wait(0.0005)

    start = threading.Barrier(5)

    def read(kind: str) -> Any:
        start.wait(10)
        if kind == "offline":  # the cached dataset: no request may leave
            return mmlu.open(None, offline=True, progress=False)
        if kind == "online":  # an uncached dataset, fetched meanwhile
            return get_benchmark("medmcqa").open(None, progress=False)
        try:  # offline and uncached: refused, however the online call is doing
            get_benchmark("medconceptsqa").open(None, offline=True, progress=False)
        except OfflineError as exc:
            return exc
        return None

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with ThreadPoolExecutor(5) as pool:
            kinds = ["offline", "online", "offline", "uncached", "offline"]
            results = list(pool.map(read, kinds))
    finally:
        done.set()
        watcher.join(10)

    assert [results[i] for i in (0, 2, 4)] == [cached] * 3
    assert results[1].source.repo_id == "openlifescienceai/medmcqa" and results[1].items
    assert isinstance(results[3], OfflineError)
    assert "not in the local Hugging Face cache" in results[3].message
    later = [path for _, path in fake_hub.requests[asked:]]
    assert later and all("medmcqa" in path for path in later)  # only the online call asked
    assert seen_flags == {(False, False)}  # never flipped, not even for an instant


def test_library_offline_flag_is_read_not_written(
    fake_hub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``HF_HUB_OFFLINE=1`` as the libraries read it at import makes a call offline."""
    import huggingface_hub.constants as hub_constants

    mmlu = get_benchmark("mmlu-medicine")
    online = mmlu.open(None, offline=False, progress=False)
    asked = len(fake_hub.requests)
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
    assert mmlu.open(None, offline=False, progress=False) == online
    assert len(fake_hub.requests) == asked
    with pytest.raises(OfflineError, match="offline mode is on"):
        get_benchmark("medmcqa").open(None, offline=False, progress=False)
    assert _library_flags() == (True, False)  # as set, untouched


def test_no_progress_hides_bars_once_and_nothing_turns_them_back_on(
    fake_hub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    import datasets
    import huggingface_hub.utils as hub_utils

    # the modules, not the tqdm classes their packages re-export under the same name
    datasets_tqdm = importlib.import_module("datasets.utils.tqdm")
    hub_tqdm = importlib.import_module("huggingface_hub.utils.tqdm")

    # start from bars shown (another test may have hidden them); restored afterwards
    monkeypatch.setattr(hub, "_bars_hidden", False)
    monkeypatch.setattr(datasets_tqdm, "_hf_datasets_progress_bars_disabled", False)
    monkeypatch.setattr(hub_tqdm, "progress_bar_states", {})
    assert datasets.is_progress_bar_enabled() and not hub_utils.are_progress_bars_disabled()

    mmlu = get_benchmark("mmlu-medicine")
    mmlu.open(None, progress=True)
    assert datasets.is_progress_bar_enabled()  # progress=True changes nothing

    start = threading.Barrier(3)

    def read(progress: bool) -> Any:
        start.wait(10)
        return mmlu.open(None, offline=True, progress=progress)

    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(read, [False, True, False]))
    assert results[0] == results[1] == results[2]
    # hidden by the first call that asked; not restored by any call that finished later
    assert not datasets.is_progress_bar_enabled()
    assert hub_utils.are_progress_bars_disabled()
    mmlu.open(None, offline=True, progress=True)
    assert not datasets.is_progress_bar_enabled()
