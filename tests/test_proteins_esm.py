"""ESM-2 loading: registry, hub cache, local checkpoints, safe loading, clear errors."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import torch

from biomed_agent.errors import ConfigurationError, ModelLoadError
from biomed_agent.proteins.esm import (
    ESM2_MODELS,
    esm_from_settings,
    load_esm,
    resolve_checkpoint,
)
from biomed_agent.settings import Settings
from tests.helpers.tiny_esm import build_tiny_esm, shared_tiny_esm


def test_registry_lists_every_published_esm2_size() -> None:
    sizes = {
        name: (s.num_layers, s.embed_dim, s.attention_heads) for name, s in ESM2_MODELS.items()
    }
    assert sizes == {
        "esm2_t6_8M_UR50D": (6, 320, 20),
        "esm2_t12_35M_UR50D": (12, 480, 20),
        "esm2_t30_150M_UR50D": (30, 640, 20),
        "esm2_t33_650M_UR50D": (33, 1280, 20),
        "esm2_t36_3B_UR50D": (36, 2560, 40),
        "esm2_t48_15B_UR50D": (48, 5120, 40),
    }
    assert ESM2_MODELS["esm2_t6_8M_UR50D"].url.endswith("/fair-esm/models/esm2_t6_8M_UR50D.pt")


def test_checkpoint_path_from_settings_loads_through_fair_esm() -> None:
    path = shared_tiny_esm()
    model = esm_from_settings(Settings(esm_model=str(path), device="cpu"))
    assert (model.num_layers, model.embed_dim) == (2, 32)
    assert model.label == str(path)
    assert model.identity.startswith("tiny-")
    assert model.device == torch.device("cpu") and model.dtype == torch.float32
    assert not model.module.training


def test_model_is_loaded_once_per_process_and_dtype() -> None:
    path = str(shared_tiny_esm())
    first = load_esm(path, device="cpu", dtype="fp32")
    assert load_esm(path, device="cpu", dtype="auto") is first  # auto = fp32 on CPU
    half = load_esm(path, device="cpu", dtype="bf16")
    assert half is not first
    assert next(half.module.parameters()).dtype == torch.bfloat16


def test_loading_never_unpickles_arbitrary_objects(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"model": {}, "cfg": {"model": Path("/etc")}}, path)  # a non-allowlisted class
    with pytest.raises(ModelLoadError) as info:
        load_esm(str(path))
    assert "could not be read as a safe torch checkpoint" in info.value.message
    assert str(path) in info.value.message


def test_registry_name_loads_from_torch_hub_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    spec = ESM2_MODELS["esm2_t6_8M_UR50D"]
    build_tiny_esm(
        tmp_path / "hub" / "checkpoints" / f"{spec.name}.pt",
        num_layers=spec.num_layers,
        embed_dim=spec.embed_dim,
        attention_heads=spec.attention_heads,
    )
    model = load_esm(spec.name, device="cpu")
    assert (model.num_layers, model.embed_dim, model.identity) == (6, 320, spec.name)


def test_registry_name_with_wrong_architecture_in_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    build_tiny_esm(tmp_path / "hub" / "checkpoints" / "esm2_t12_35M_UR50D.pt")
    with pytest.raises(ModelLoadError, match=r"named esm2_t12_35M_UR50D but holds .* \(2, 32, 4\)"):
        load_esm("esm2_t12_35M_UR50D")


def test_registry_name_missing_from_cache_says_where_and_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    with pytest.raises(ModelLoadError) as info:
        esm_from_settings(Settings())  # default esm2_t33_650M_UR50D
    message = info.value.message
    assert str(tmp_path / "hub" / "checkpoints" / "esm2_t33_650M_UR50D.pt") in message
    assert "BIOMED_ESM_MODEL" in message
    assert "https://dl.fbaipublicfiles.com/fair-esm/models/esm2_t33_650M_UR50D.pt" in message


def test_unknown_model_name_lists_valid_names() -> None:
    with pytest.raises(ModelLoadError) as info:
        resolve_checkpoint("esm2_t99_1T")
    assert "unknown ESM model name 'esm2_t99_1T'" in info.value.message
    assert all(name in info.value.message for name in ESM2_MODELS)


def test_missing_checkpoint_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "model.pt"
    with pytest.raises(ModelLoadError) as info:
        load_esm(str(missing))
    assert f"{str(missing)!r} does not exist" in info.value.message
    assert "expected a fair-esm ESM-2 checkpoint" in info.value.message


def test_directory_instead_of_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="is a directory; expected a fair-esm ESM-2"):
        load_esm(str(tmp_path) + "/")


def _write(path: Path, payload: object) -> Path:
    torch.save(payload, path)
    return path


def _text(path: Path) -> Path:
    path.write_text("not a checkpoint")
    return path


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (_text, "could not be read as a safe torch"),
        (lambda p: _write(p, torch.zeros(3)), "is not an ESM checkpoint: it holds a Tensor"),
        (lambda p: _write(p, {"state_dict": {}}), "holds a dict with keys ['state_dict']"),
        (
            lambda p: _write(p, {"model": {}, "args": argparse.Namespace(arch="roberta_large")}),
            "is an ESM-1/ESM-1b/ESM-1v checkpoint",
        ),
        (lambda p: _write(p, {"model": {}, "cfg": {"model": {}}}), "no usable ESM-2 model config"),
    ],
)
def test_files_that_are_not_esm2_checkpoints(tmp_path: Path, make: object, fragment: str) -> None:
    path = make(tmp_path / "model.pt")  # type: ignore[operator]
    with pytest.raises(ModelLoadError) as info:
        load_esm(str(path))
    assert fragment in info.value.message
    assert str(path) in info.value.message
    assert "expected a fair-esm ESM-2 checkpoint" in info.value.message


def test_weights_that_do_not_fit_the_config(tmp_path: Path) -> None:
    path = build_tiny_esm(tmp_path / "tiny.pt")
    with torch.serialization.safe_globals([argparse.Namespace]):
        data = torch.load(path, weights_only=True)
    del data["model"]["encoder.sentence_encoder.layers.1.fc1.weight"]
    torch.save(data, path)
    with pytest.raises(ModelLoadError) as info:
        load_esm(str(path))
    assert "weights do not fit" in info.value.message
    assert "layers.1.fc1.weight" in info.value.message


def test_device_settings() -> None:
    path = str(shared_tiny_esm())
    with pytest.raises(ConfigurationError, match="'gpu0' is not a device"):
        load_esm(path, device="gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ModelLoadError, match="set BIOMED_DEVICE=cpu"):
            load_esm(path, device="cuda")


def test_legacy_torch_serialization_format_still_loads(tmp_path: Path) -> None:
    """Files saved before torch 1.6 cannot be memory-mapped; they load the plain way."""
    path = build_tiny_esm(tmp_path / "tiny.pt")
    with torch.serialization.safe_globals([argparse.Namespace]):
        data = torch.load(path, weights_only=True)
    legacy = tmp_path / "legacy.pt"
    torch.save(data, legacy, _use_new_zipfile_serialization=False)
    reference = load_esm(str(path), device="cpu")
    model = load_esm(str(legacy), device="cpu")
    tokens = torch.tensor([[0, 5, 6, 7, 2]])
    with torch.inference_mode():
        torch.testing.assert_close(
            model.module(tokens)["logits"], reference.module(tokens)["logits"]
        )
