"""ESM-2 through fair-esm: the model registry, safe checkpoint loading, batched forward.

Where a model comes from (``settings.esm_model`` / ``BIOMED_ESM_MODEL``):

* a registry name (:data:`ESM2_MODELS`) is read from the torch hub cache,
  ``torch.hub.get_dir()/checkpoints/<name>.pt`` — where ``esm.pretrained`` puts
  downloads; nothing is downloaded here;
* anything that looks like a path (has a separator, starts with ``~`` or ``.``, or
  ends in ``.pt``) is a local fair-esm ESM-2 checkpoint.

Checkpoints are read with ``torch.load(weights_only=True)``, allowing only
``argparse.Namespace`` (the config class fair-esm pickled into its files) — never
``weights_only=False``. The contact-regression file is not needed (contacts are
not exposed) and not read. A loaded model is cached per process, keyed by
checkpoint file (path, size, mtime), device and dtype.

Precision: ``dtype=auto`` is fp32 on CPU and fp16 on GPUs. ESM-2 was trained in
fp16, and fair-esm computes its rotary position table in the weight dtype, which
in bf16 is exact only up to position 256, so bf16 is used only when asked for.
"""

from __future__ import annotations

import argparse
import hashlib
import threading
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from biomed_agent.errors import InvalidQueryError, ModelLoadError, shorten
from biomed_agent.patterns import looks_like_path
from biomed_agent.proteins.batching import BatchTuner
from biomed_agent.proteins.esm_forward import esm2_forward
from biomed_agent.proteins.sequences import ESM_PAD

if TYPE_CHECKING:
    from biomed_agent.settings import Settings

__all__ = [
    "ESM2_MAX_RESIDUES",
    "ESM2_MODELS",
    "EsmModel",
    "EsmSpec",
    "esm_from_settings",
    "load_esm",
    "resolve_checkpoint",
    "resolve_device",
    "resolve_dtype",
]

ESM2_MAX_RESIDUES = 1022
"""Longest crop ESM-2 saw in training (1,024 tokens with ``<cls>`` and ``<eos>``)."""

_DOWNLOAD_URL = "https://dl.fbaipublicfiles.com/fair-esm/models/{name}.pt"


@dataclass(frozen=True)
class EsmSpec:
    """One published ESM-2 model: architecture and size."""

    name: str
    num_layers: int
    embed_dim: int
    attention_heads: int
    parameters: str

    @property
    def url(self) -> str:
        """Where fair-esm downloads the checkpoint from."""
        return _DOWNLOAD_URL.format(name=self.name)


ESM2_MODELS: dict[str, EsmSpec] = {
    spec.name: spec
    for spec in (
        EsmSpec("esm2_t6_8M_UR50D", 6, 320, 20, "8M"),
        EsmSpec("esm2_t12_35M_UR50D", 12, 480, 20, "35M"),
        EsmSpec("esm2_t30_150M_UR50D", 30, 640, 20, "150M"),
        EsmSpec("esm2_t33_650M_UR50D", 33, 1280, 20, "650M"),
        EsmSpec("esm2_t36_3B_UR50D", 36, 2560, 40, "3B"),
        EsmSpec("esm2_t48_15B_UR50D", 48, 5120, 40, "15B"),
    )
}
"""Every published ESM-2 model (Lin et al. 2023), by fair-esm name."""

_EXPECTED = (
    "a fair-esm ESM-2 checkpoint (.pt file holding a dict with 'model' weights and a "
    "'cfg' whose 'model' entry gives encoder_layers/encoder_embed_dim/encoder_attention_heads, "
    f"as downloaded from {_DOWNLOAD_URL.format(name='<name>')})"
)
_CONFIG_FIELDS = ("encoder_layers", "encoder_embed_dim", "encoder_attention_heads")


def resolve_checkpoint(model: str) -> tuple[str, Path]:
    """``(label, checkpoint file)`` of a registry name or path; ModelLoadError if absent."""
    what_to_do = (
        "Set BIOMED_ESM_MODEL to a local ESM-2 checkpoint (.pt) path, or put the "
        "published file in the torch hub cache."
    )
    if model in ESM2_MODELS:
        path = Path(torch.hub.get_dir()) / "checkpoints" / f"{model}.pt"
        if not path.is_file():
            raise ModelLoadError(
                f"ESM-2 model {model!r} is not in the torch hub cache: no file at {path}. "
                f"Download {ESM2_MODELS[model].url} to that path on a machine with internet "
                f"access, or set BIOMED_ESM_MODEL to a local ESM-2 checkpoint (.pt) path.",
                input_name="esm_model",
            )
        return model, path
    if not looks_like_path(model):
        raise ModelLoadError(
            f"unknown ESM model name {model!r}; valid names: {', '.join(ESM2_MODELS)}, "
            f"or a path to an ESM-2 checkpoint (.pt). {what_to_do}",
            input_name="esm_model",
        )
    path = Path(model).expanduser()
    if not path.exists():
        raise ModelLoadError(
            f"ESM checkpoint path {str(path)!r} does not exist; expected {_EXPECTED}. {what_to_do}",
            input_name="esm_model",
        )
    if not path.is_file():
        raise ModelLoadError(
            f"ESM checkpoint path {str(path)!r} is a directory; expected {_EXPECTED}.",
            input_name="esm_model",
        )
    return str(path), path.resolve()


def resolve_device(setting: str) -> torch.device:
    """``auto`` -> CUDA when present, else CPU (:func:`biomed_agent.devices.resolve_device`)."""
    from biomed_agent.devices import resolve_device as shared

    return shared(setting)


def resolve_dtype(setting: str, device: torch.device) -> torch.dtype:
    """``auto`` -> fp32 on CPU, fp16 on GPU: the one rule of :mod:`biomed_agent.devices`."""
    from biomed_agent.devices import resolve_dtype as shared

    return shared(setting, device.type)


class EsmModel:
    """A loaded ESM-2 model with what callers need to know about it.

    Only one forward pass runs at a time per model: fair-esm caches its rotary
    tables on the module, which concurrent calls of different lengths would race on.
    """

    def __init__(
        self,
        module: torch.nn.Module,
        *,
        label: str,
        identity: str,
        device: torch.device,
        dtype: torch.dtype,
    ) -> None:
        self.module = module
        self.label = label
        """What the user named: registry name or checkpoint path."""
        self.identity = identity
        """Stable id of the weights, used to key stored embeddings."""
        self.device = device
        self.dtype = dtype
        self.num_layers: int = module.num_layers  # type: ignore[assignment]
        self.embed_dim: int = module.embed_dim  # type: ignore[assignment]
        self.max_residues = ESM2_MAX_RESIDUES
        self.tuner = BatchTuner()
        """Measured cost per batch size (see :mod:`biomed_agent.proteins.batching`)."""
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"EsmModel({self.label!r}, layers={self.num_layers}, dim={self.embed_dim}, "
            f"device={self.device}, dtype={self.dtype})"
        )

    def layer_index(self, layer: int | None) -> int:
        """Normalise a representation layer: ``None``/``-1`` = last, ``0`` = token embeddings."""
        if layer is None:
            return self.num_layers
        index = layer + self.num_layers + 1 if layer < 0 else layer
        if not 0 <= index <= self.num_layers:
            raise InvalidQueryError(
                f"layer {layer} does not exist in {self.label} ({self.num_layers} layers); "
                f"give 0..{self.num_layers} or a negative index from the end.",
                input_name="layer",
            )
        return index

    def forward_rows(
        self,
        rows: Sequence[Sequence[int]],
        *,
        token_budget: int,
        layer: int | None = None,
        log_probs: bool = False,
    ) -> list[np.ndarray]:
        """Run token rows in batches of measured size (at most ``token_budget`` padded
        tokens each); per row, its ``(tokens, dim)`` float32 representation at ``layer``
        or, with ``log_probs``, its ``(tokens, vocab)`` log-probabilities. Results come
        back in the order of ``rows``."""
        layer_index = self.layer_index(layer)
        results: list[np.ndarray] = [np.empty(0)] * len(rows)

        def forward(batch: list[int]) -> None:
            tokens = torch.full((len(batch), len(rows[batch[0]])), ESM_PAD, dtype=torch.long)
            for slot, index in enumerate(batch):
                tokens[slot, : len(rows[index])] = torch.as_tensor(rows[index])
            with torch.inference_mode():
                selected = esm2_forward(
                    self.module, tokens.to(self.device), layer=layer_index, logits=log_probs
                )
                values = selected.float()
                if log_probs:
                    values = torch.log_softmax(values, dim=-1)
                array = values.cpu().numpy()  # waits for the device: the timing is complete
            for slot, index in enumerate(batch):
                results[index] = array[slot, : len(rows[index])].copy()

        context = f"{self.device}:{self.dtype}:{torch.get_num_threads()}:{log_probs}"
        with self._lock:
            self.tuner.run(
                [len(row) for row in rows], token_budget, context, forward, time.perf_counter
            )
        return results


_CACHE: dict[tuple[str, int, int, str, str], EsmModel] = {}
_CACHE_LOCK = threading.Lock()


def load_esm(model: str, *, device: str = "auto", dtype: str = "auto") -> EsmModel:
    """Load (once per process) the ESM-2 model named by ``model``: registry name or path."""
    label, path = resolve_checkpoint(model)
    torch_device = resolve_device(device)
    torch_dtype = resolve_dtype(dtype, torch_device)
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns, str(torch_device), str(torch_dtype))
    with _CACHE_LOCK:
        if key not in _CACHE:
            module = _build_module(label, path).to(device=torch_device, dtype=torch_dtype)
            if label in ESM2_MODELS:
                identity = label
            else:
                digest = hashlib.sha256(repr(key[:3]).encode()).hexdigest()[:12]
                identity = f"{path.stem}-{digest}"
            _CACHE[key] = EsmModel(
                module.eval(),
                label=label,
                identity=identity,
                device=torch_device,
                dtype=torch_dtype,
            )
        return _CACHE[key]


def esm_from_settings(settings: Settings) -> EsmModel:
    """The model ``settings.esm_model`` names, on ``settings.device`` in ``settings.dtype``."""
    return load_esm(settings.esm_model, device=settings.device, dtype=settings.dtype)


def _read_checkpoint(path: Path) -> dict[str, Any]:
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            try:  # memory-map: tensors are paged in as the model copies them, not all at once
                data = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
            except RuntimeError as exc:
                if "mmap" not in str(exc):
                    raise
                data = torch.load(path, map_location="cpu", weights_only=True)  # legacy format
    except Exception as exc:  # torch.load's failures have no common base class
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelLoadError(
            f"{str(path)!r} could not be read as a safe torch checkpoint ({shorten(reason, 160)}); "
            f"expected {_EXPECTED}.",
            input_name="esm_model",
        ) from exc
    if not isinstance(data, dict) or not isinstance(data.get("model"), Mapping):
        holds = (
            f"a dict with keys {shorten(list(data))}"
            if isinstance(data, dict)
            else f"a {type(data).__name__}"
        )
        raise ModelLoadError(
            f"{str(path)!r} is not an ESM checkpoint: it holds {holds}; expected {_EXPECTED}.",
            input_name="esm_model",
        )
    if "cfg" not in data:
        family = (
            "an ESM-1/ESM-1b/ESM-1v checkpoint" if "args" in data else "not an ESM-2 checkpoint"
        )
        raise ModelLoadError(
            f"{str(path)!r} is {family} (no 'cfg' entry); only ESM-2 is supported: expected "
            f"{_EXPECTED}.",
            input_name="esm_model",
        )
    return data


def _model_config(path: Path, data: Mapping[str, Any]) -> argparse.Namespace:
    cfg = data["cfg"].get("model") if isinstance(data["cfg"], Mapping) else None
    values = vars(cfg) if isinstance(cfg, argparse.Namespace) else cfg
    if not isinstance(values, Mapping) or not all(
        isinstance(values.get(field), int) for field in _CONFIG_FIELDS
    ):
        raise ModelLoadError(
            f"{str(path)!r} has no usable ESM-2 model config (cfg['model'] = {shorten(cfg)}); "
            f"expected {_EXPECTED}.",
            input_name="esm_model",
        )
    return argparse.Namespace(**{"token_dropout": True, **values})


def _build_module(label: str, path: Path) -> torch.nn.Module:
    import esm

    data = _read_checkpoint(path)
    config = _model_config(path, data)
    spec = ESM2_MODELS.get(label)
    found = (config.encoder_layers, config.encoder_embed_dim, config.encoder_attention_heads)
    if spec and found != (spec.num_layers, spec.embed_dim, spec.attention_heads):
        raise ModelLoadError(
            f"{str(path)!r} is named {label} but holds a model with layers/dim/heads {found}, "
            f"not {(spec.num_layers, spec.embed_dim, spec.attention_heads)}; replace the file "
            f"with {spec.url}.",
            input_name="esm_model",
        )
    data = {**data, "cfg": {**data["cfg"], "model": config}}
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Regression weights not found")
            # the "esm2" name selects fair-esm's ESM-2 code path whatever the file is called
            module, _ = esm.pretrained.load_model_and_alphabet_core("esm2", data)
    except (RuntimeError, KeyError, AttributeError, TypeError) as exc:
        raise ModelLoadError(
            f"{str(path)!r} has an ESM-2 config but its weights do not fit it "
            f"({shorten(str(exc), 300)}); expected {_EXPECTED}.",
            input_name="esm_model",
        ) from exc
    return module
