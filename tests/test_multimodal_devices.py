"""One dtype/device rule for the LM, BioMedGPT-10B and ESM-2 loaders (issue 14)."""

from __future__ import annotations

import pytest
import torch

from biomed_agent.devices import resolve_device, resolve_dtype
from biomed_agent.errors import ConfigurationError, ModelLoadError
from biomed_agent.models.loading import _resolve_dtype as lm_dtype
from biomed_agent.proteins.esm import resolve_dtype as esm_dtype


@pytest.mark.parametrize("setting", ["auto", "fp32", "fp16", "bf16"])
def test_lm_and_protein_loaders_resolve_dtype_alike(setting: str) -> None:
    for device in ("cpu", "cuda"):
        lm = lm_dtype(setting, "cpu" if device == "cpu" else "auto", True)  # type: ignore[arg-type]
        assert lm == esm_dtype(setting, torch.device(device)) == resolve_dtype(setting, device)


def test_auto_is_fp32_on_cpu_and_fp16_on_gpus() -> None:
    assert resolve_dtype("auto", "cpu") == torch.float32
    assert resolve_dtype("auto", "cuda") == torch.float16
    assert lm_dtype("auto", "auto", False) == torch.float32  # no GPU visible: CPU


def test_bad_settings_are_typed_errors() -> None:
    with pytest.raises(ConfigurationError, match="dtype 'half'"):
        resolve_dtype("half", "cpu")
    with pytest.raises(ConfigurationError, match="not a device"):
        resolve_device("gpu0")
    assert resolve_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(ModelLoadError, match="no CUDA device"):
            resolve_device("cuda")
