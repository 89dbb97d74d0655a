"""One device and dtype resolution for every local model (LM, BioMedGPT-10B, ESM-2).

``device``: ``auto`` is CUDA when torch sees a GPU, else CPU; ``cpu``, ``cuda`` and
``cuda:N`` are taken as given, and a GPU that is not there is a
:class:`~biomed_agent.errors.ModelLoadError`.

``dtype``: ``fp32``, ``fp16`` and ``bf16`` are taken as given; ``auto`` is

* fp32 on CPU (half-precision matmuls are slow or missing there), and
* fp16 on GPUs: the precision BioMedGPT-10B was released and run in (OpenBioMed's
  ``biomedgpt.json``: ``use_float16`` for the LM and for ESM-2), ESM-2's training
  precision, and the one rotary ESM is exact in at every position (fair-esm builds its
  rotary table in the weight dtype, which in bf16 is exact only up to position 256).

bf16 is used only when asked for. ``biomed_agent.models.loading`` (LMs),
``biomed_agent.models.multimodal.loading`` (BioMedGPT-10B) and
``biomed_agent.proteins.esm`` (ESM-2) all resolve through here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from biomed_agent.errors import ConfigurationError, ModelLoadError

if TYPE_CHECKING:
    import torch

__all__ = ["DTypeName", "resolve_device", "resolve_dtype"]

DTypeName = Literal["auto", "bf16", "fp16", "fp32"]


def resolve_device(setting: str) -> torch.device:
    """``auto`` -> CUDA when present, else CPU; an unavailable GPU is a :class:`ModelLoadError`."""
    import torch

    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(setting)
    except RuntimeError as exc:
        raise ConfigurationError(
            f"BIOMED_DEVICE={setting!r} is not a device; use auto, cpu, cuda or cuda:N.",
            input_name="device",
        ) from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ModelLoadError(
            f"BIOMED_DEVICE={setting!r} asks for a GPU but torch sees no CUDA device; "
            "set BIOMED_DEVICE=cpu (or auto).",
            input_name="device",
        )
    return device


def resolve_dtype(setting: str, device_type: str) -> torch.dtype:
    """The torch dtype ``setting`` means on a device of type ``device_type`` (``cpu``/``cuda``)."""
    import torch

    explicit = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
    if setting in explicit:
        return explicit[setting]
    if setting != "auto":
        raise ConfigurationError(
            f"dtype {setting!r} is not understood; use auto, fp32, fp16 or bf16.",
            input_name="dtype",
        )
    return torch.float32 if device_type == "cpu" else torch.float16
