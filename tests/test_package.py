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


def test_type_checkers_see_every_lazy_name() -> None:
    """Each lazily exported name is also imported under TYPE_CHECKING (real types, no Any)."""
    import ast

    for package in (biomed_agent, __import__("biomed_agent.proteins").proteins):
        tree = ast.parse(Path(package.__file__ or "").read_text())
        typed = {
            alias.asname
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
            for stmt in node.body
            if isinstance(stmt, ast.ImportFrom)
            for alias in stmt.names
            if alias.asname == alias.name  # an explicit re-export
        }
        assert typed == set(package._LAZY), package.__name__


def test_protein_names_import_from_the_package_lazily() -> None:
    code = (
        "import sys, biomed_agent.proteins as p; assert 'torch' not in sys.modules; "
        "from biomed_agent.proteins import load_esm, parse_sequence; "
        "from biomed_agent.proteins.esm import load_esm as direct; "
        "assert load_esm is direct; print(parse_sequence('mktayiakqr'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "MKTAYIAKQR"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        __import__("biomed_agent.proteins").proteins.nope  # noqa: B018


def test_bad_settings_raise_one_line_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIOMED_OFFLINE", "maybe")
    monkeypatch.setenv("BIOMED_ESM_WINDOW_OVERLAP", "5000")
    with pytest.raises(errors.InvalidSettingError) as info:
        Settings()
    message = info.value.message
    assert "\n" not in message
    assert info.value.input_name in ("BIOMED_OFFLINE", "BIOMED_ESM_WINDOW_OVERLAP")
    assert "BIOMED_OFFLINE='maybe' is not valid: offline takes true or false" in message
    assert (
        "BIOMED_ESM_WINDOW_OVERLAP='5000' is not valid: esm_window_overlap takes a whole "
        "number >= 0 and < 1022" in message
    )
    assert info.value.__cause__ is None and info.value.__suppress_context__
