"""Suite-wide setup: offline, isolated data directory, fixture paths."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

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
