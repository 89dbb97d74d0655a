"""Package-level promises: light import, one settings object, one error hierarchy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import biomed_agent
from biomed_agent import errors
from biomed_agent.settings import Settings, get_settings

HEAVY = ("torch", "transformers", "rdkit", "chromadb", "langchain_core", "esm", "requests_cache")


def test_import_is_light() -> None:
    code = (
        "import json, sys, time; t = time.perf_counter(); import biomed_agent; "
        "elapsed = time.perf_counter() - t; "
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]; "
        "print(json.dumps({'elapsed': elapsed, 'heavy': heavy}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    report = json.loads(out.stdout)
    assert report["heavy"] == []
    assert report["elapsed"] < 2.0  # measured ~0.3 s on an idle dev-2c; slack for loaded CI


def test_lazy_export_resolves_and_unknown_name_fails() -> None:
    assert callable(biomed_agent.get_tools)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        biomed_agent.nope  # noqa: B018


def test_settings_read_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BIOMED_DATA_DIR", "~/somewhere")
    monkeypatch.setenv("BIOMED_OFFLINE", "1")
    monkeypatch.setenv("BIOMED_PUBCHEM_URL", "http://127.0.0.1:9/rest/")
    monkeypatch.setenv("BIOMED_NCBI_API_KEY", "secret-key")
    settings = Settings()
    assert settings.data_dir == Path("~/somewhere").expanduser()
    assert settings.offline is True
    assert settings.pubchem_url == "http://127.0.0.1:9/rest"
    assert settings.ncbi_api_key is not None
    assert settings.ncbi_api_key.get_secret_value() == "secret-key"
    assert "secret-key" not in repr(settings)


def test_settings_read_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BIOMED_DATA_DIR")
    (tmp_path / ".env").write_text("BIOMED_MODEL=none\nBIOMED_CHROMA_URL=http://127.0.0.1:8000\n")
    settings = Settings()
    assert settings.model == "none"
    assert settings.chroma_url == "http://127.0.0.1:8000"
    assert settings.data_dir == Path.home() / ".biomed-agent"


def test_settings_reject_bad_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIOMED_DTYPE", "fp8")
    with pytest.raises(ValueError, match="dtype"):
        Settings()


def test_get_settings_is_cached_until_cleared(monkeypatch: pytest.MonkeyPatch) -> None:
    first = get_settings()
    assert get_settings() is first
    monkeypatch.setenv("BIOMED_MODEL", "none")
    get_settings.cache_clear()
    assert get_settings().model == "none"


def test_every_error_derives_from_base_and_is_documented() -> None:
    doc = errors.__doc__ or ""
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.BiomedAgentError)
        assert name in doc, f"{name} missing from the hierarchy drawn in errors.__doc__"
    assert issubclass(errors.InvalidMoleculeError, ValueError)


def test_error_payloads_name_input_and_service() -> None:
    error = errors.RateLimitedError("PubChem kept answering 429", service="pubchem", status=429)
    assert error.to_dict() == {
        "type": "RateLimitedError",
        "message": "PubChem kept answering 429",
        "service": "pubchem",
        "status": 429,
    }
    invalid = errors.InvalidMoleculeError("bad SMILES", input_name="smiles")
    assert invalid.to_dict()["input"] == "smiles"


def test_shorten_caps_long_values() -> None:
    shown = errors.shorten("C" * 10_000)
    assert len(shown) < 120
    assert "10000 chars" in shown
    assert errors.shorten("CCO") == "'CCO'"
