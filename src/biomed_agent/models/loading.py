"""Load a causal LM and its tokenizer with transformers, once per process per loading setting.

:func:`load_model` is the only place that calls ``from_pretrained`` for chat
models. It

- accepts a local directory, a GGUF file (``*.gguf``, dequantized by transformers;
  needs the ``gguf`` package) or a hub id; a hub id is only read from the local
  Hugging Face cache unless downloading is allowed and the hub is not offline
  (``HF_HUB_OFFLINE``), so nothing large downloads behind the user's back;
- resolves ``dtype`` (``auto``: fp16 on GPUs, fp32 on CPU -- one rule for every local
  model, :mod:`biomed_agent.devices`) and ``device_map`` (``auto``, ``cpu``, ``cuda``,
  ``cuda:N``);
- optionally quantizes to 8 or 4 bit with bitsandbytes (CUDA only) and offloads
  layers that do not fit to CPU/disk;
- keeps ONE process-wide cache keyed by :class:`LoadSpec`, so every chat model
  instance with the same loading settings shares the weights;
- translates every failure (missing path, not a model directory, no GPU, out of
  memory, missing bitsandbytes) into :class:`~biomed_agent.errors.ModelLoadError`
  whose message names the model and says what to do.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from biomed_agent.devices import DTypeName
from biomed_agent.errors import ModelLoadError
from biomed_agent.patterns import looks_like_path

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

__all__ = [
    "TRAINED_CONTEXT",
    "LoadSpec",
    "LoadedModel",
    "check_hub_model",
    "check_local_checkpoint",
    "clear_model_cache",
    "load_model",
]

Dtype = DTypeName  # the one dtype vocabulary (biomed_agent.devices)
Quantization = Literal["none", "8bit", "4bit"]

TRAINED_CONTEXT = {"biomedgpt-lm-7b": 2048}
"""Context length a checkpoint was trained at, where its config overstates it (by name)."""

_GET_WEIGHTS = (
    "Download the weights once on a machine with internet, e.g. "
    "`hf download {model} --local-dir ./BioMedGPT-LM-7B`, then point BIOMED_MODEL "
    "(or ChatBioMedGPT(model=...)) at that directory."
)


@dataclass(frozen=True)
class LoadSpec:
    """Everything that decides which weights are loaded and how (the cache key)."""

    model: str
    """Hub id or local directory."""

    dtype: Dtype = "auto"
    device_map: str = "auto"
    quantization: Quantization = "none"
    offload_dir: str | None = None
    """Directory for layers offloaded to disk; ``None`` disables offloading."""

    allow_download: bool = False


@dataclass
class LoadedModel:
    """A loaded model, its tokenizer, and per-model caches used at generation time."""

    spec: LoadSpec
    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    lock: threading.Lock = field(default_factory=threading.Lock)
    """Serializes generation: one model instance decodes one request at a time."""

    extras: dict[str, Any] = field(default_factory=dict)
    """Lazily built helpers tied to this tokenizer (grammar compiler, token priorities)."""

    @property
    def device(self) -> torch.device:
        """Device of the input embeddings (where input ids must go)."""
        weight = cast("torch.Tensor", self.model.get_input_embeddings().weight)
        return weight.device

    @property
    def context_limit(self) -> int | None:
        """Longest sequence the checkpoint supports, if known.

        The training length of a known checkpoint (BioMedGPT-LM-7B: 2,048, per its model
        card, although its Llama-2 config allows 4,096), else the config's
        ``max_position_embeddings``, capped by the tokenizer's ``model_max_length``.
        """
        names = f"{self.spec.model} {getattr(self.model.config, '_name_or_path', '')}".lower()
        for marker, trained in TRAINED_CONTEXT.items():
            if marker in names:
                return trained
        limits = [getattr(self.model.config, "max_position_embeddings", None)]
        limits.append(getattr(self.tokenizer, "model_max_length", None))
        known = [int(n) for n in limits if isinstance(n, int) and 0 < n < 10_000_000]
        return min(known) if known else None


_CACHE: dict[LoadSpec, LoadedModel] = {}
_CACHE_LOCK = threading.Lock()


def load_model(spec: LoadSpec) -> LoadedModel:
    """The model for ``spec``, loaded on first request and shared afterwards."""
    with _CACHE_LOCK:
        loaded = _CACHE.get(spec)
        if loaded is None:
            loaded = _load(spec)
            _CACHE[spec] = loaded
        return loaded


def clear_model_cache() -> None:
    """Forget every loaded model (their memory is freed once no instance holds them)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def _load(spec: LoadSpec) -> LoadedModel:
    source = _resolve_source(spec)
    import pickle

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    has_cuda = torch.cuda.is_available()
    device_map = _resolve_device_map(spec, has_cuda)
    kwargs: dict[str, Any] = {
        "dtype": _resolve_dtype(spec.dtype, device_map, has_cuda),
        "device_map": device_map,
        "local_files_only": not _may_download(spec.allow_download),
    }
    if spec.quantization != "none":
        kwargs["quantization_config"] = _quantization_config(spec, has_cuda, kwargs["dtype"])
    if spec.offload_dir is not None:
        Path(spec.offload_dir).mkdir(parents=True, exist_ok=True)
        kwargs["offload_folder"] = spec.offload_dir
    source, gguf_file = _split_gguf(source)
    if gguf_file is not None:
        _require_gguf(spec.model)
        kwargs["gguf_file"] = gguf_file
    try:
        tokenizer = AutoTokenizer.from_pretrained(
            source, local_files_only=kwargs["local_files_only"], gguf_file=gguf_file
        )
        model = AutoModelForCausalLM.from_pretrained(source, **kwargs)
    except (torch.OutOfMemoryError, MemoryError) as exc:
        raise ModelLoadError(
            f"Out of memory loading {spec.model!r} ({spec.dtype}, device_map={spec.device_map!r}): "
            "load it in 4 or 8 bit (BIOMED_QUANTIZATION=4bit), enable CPU offload "
            "(BIOMED_MODEL_OFFLOAD=1), use fp16/bf16, or use a larger GPU.",
            input_name="model",
        ) from exc
    except pickle.UnpicklingError as exc:  # a .bin that weights-only loading refuses
        raise ModelLoadError(
            f"Refused to load {spec.model!r}: its pickled weights hold objects other than "
            "tensors, which could run code when read. Use a safetensors checkpoint from a "
            "source you trust; do not load this file with weights_only=False.",
            input_name="model",
        ) from exc
    except (OSError, ValueError, KeyError, EOFError) as exc:
        raise ModelLoadError(
            f"Cannot load {spec.model!r} as a causal language model: {exc}. It must be a "
            "transformers checkpoint directory (config.json, tokenizer files and weights) "
            "or a GGUF file of an architecture transformers reads. "
            + _GET_WEIGHTS.format(model=spec.model),
            input_name="model",
        ) from exc
    model.eval()
    if model.generation_config.pad_token_id is None:
        model.generation_config.pad_token_id = tokenizer.eos_token_id
    return LoadedModel(spec=spec, model=model, tokenizer=tokenizer)


def _looks_like_path(model: str) -> bool:
    """A local path: the shared rule with hub ids, and a bare name too (chat models are
    only read from the hub as ``org/name``, never by a bare legacy id)."""
    return looks_like_path(model, hub_ids=True) or "/" not in model


_TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "tokenizer_config.json", "vocab.json")
_WEIGHT_PATTERNS = ("*.safetensors", "*.bin", "*.pt", "*.pth", "*.gguf")


def check_local_checkpoint(model: str, *, complete: bool = False) -> Path | None:
    """The local checkpoint ``model`` names (a ``*.gguf`` file or a directory); None for a hub id.

    The one rule for the loader and ``ask``'s preflight: raises :class:`ModelLoadError`
    for a missing GGUF file, a path that is not a directory, or a directory without
    ``config.json`` — with ``complete``, also without tokenizer files or weights (checked
    before torch is imported).
    """
    path = Path(model).expanduser()
    if path.suffix.lower() == ".gguf":
        if not path.is_file():
            raise ModelLoadError(
                f"GGUF file {str(path)!r} does not exist: point the model setting"
                " (--model/BIOMED_MODEL) at an existing *.gguf file, or at a transformers"
                " checkpoint directory.",
                input_name="model",
            )
        return path
    if not path.exists() and not _looks_like_path(model):
        return None  # a hub id: read from the cache (or downloaded when allowed)
    if not path.is_dir():
        raise ModelLoadError(
            f"Model path {str(path)!r} does not exist or is not a directory. "
            + _GET_WEIGHTS.format(model="PharMolix/BioMedGPT-LM-7B"),
            input_name="model",
        )
    missing = [] if (path / "config.json").is_file() else ["config.json"]
    if complete:
        if not any((path / name).is_file() for name in _TOKENIZER_FILES):
            missing.append("tokenizer files")
        if not any(next(path.glob(pattern), None) for pattern in _WEIGHT_PATTERNS):
            missing.append("weights (*.safetensors/*.bin)")
    if missing:
        raise ModelLoadError(
            f"{str(path)!r} is not a transformers model directory (missing"
            f" {', '.join(missing)}). Point the model setting (--model/BIOMED_MODEL) at the"
            " directory that holds config.json, the tokenizer files and the *.safetensors"
            " weights.",
            input_name="model",
        )
    return path


def _resolve_source(spec: LoadSpec) -> str:
    """A local directory to load from, or the hub id when it may be read from cache/hub."""
    local = check_local_checkpoint(spec.model)
    if local is not None:
        return str(local)
    check_hub_model(spec.model, allow_download=spec.allow_download)
    return spec.model


def check_hub_model(repo_id: str, *, allow_download: bool) -> None:
    """Raise :class:`ModelLoadError` when hub id ``repo_id`` can be neither read from the
    local Hugging Face cache nor downloaded (the loader's rule; also ``ask``'s preflight,
    so a missing default model fails in about a second, before torch is imported)."""
    from huggingface_hub import constants

    if _may_download(allow_download) or _is_cached(repo_id):
        return
    why = (
        "the Hugging Face hub is offline (HF_HUB_OFFLINE)"
        if constants.HF_HUB_OFFLINE
        else "downloading is off (BIOMED_MODEL_DOWNLOAD=1 or allow_download=True turns it on)"
    )
    raise ModelLoadError(
        f"Model {repo_id!r} is not in the local Hugging Face cache and {why}. "
        + _GET_WEIGHTS.format(model=repo_id)
        + " Without weights, --model none (BIOMED_MODEL=none) runs the model-free agent.",
        input_name="model",
    )


def _split_gguf(source: str) -> tuple[str, str | None]:
    """``(directory, file name)`` for a GGUF file, else ``(source, None)``."""
    path = Path(source)
    if path.suffix.lower() == ".gguf":
        return str(path.parent), path.name
    return source, None


def _require_gguf(model: str) -> None:
    try:
        import gguf  # noqa: F401
    except ImportError as exc:
        raise ModelLoadError(
            f"Loading the GGUF file {model!r} needs the gguf package: `pip install gguf` "
            "(or convert it once to a transformers directory).",
            input_name="model",
        ) from exc


def _may_download(allow_download: bool) -> bool:
    from huggingface_hub import constants

    return allow_download and not constants.HF_HUB_OFFLINE


def _is_cached(repo_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)


def _resolve_device_map(spec: LoadSpec, has_cuda: bool) -> str:
    device_map = spec.device_map
    if device_map == "auto":
        return "auto" if has_cuda else "cpu"
    if device_map == "cpu":
        return "cpu"
    if device_map == "cuda" or device_map.startswith("cuda:"):
        if not has_cuda:
            raise ModelLoadError(
                f"device_map={device_map!r} for {spec.model!r} but no CUDA GPU is visible to "
                "torch: use device_map='cpu' (slow for 7B), or run on a GPU machine.",
                input_name="device_map",
            )
        return device_map
    raise ModelLoadError(
        f"device_map {device_map!r} is not understood: use 'auto', 'cpu', 'cuda' or 'cuda:N'.",
        input_name="device_map",
    )


def _resolve_dtype(dtype: Dtype, device_map: str, has_cuda: bool) -> torch.dtype:
    from biomed_agent.devices import resolve_dtype

    return resolve_dtype(dtype, "cpu" if device_map == "cpu" or not has_cuda else "cuda")


def _quantization_config(spec: LoadSpec, has_cuda: bool, compute_dtype: torch.dtype) -> Any:
    bits = spec.quantization
    if not has_cuda or spec.device_map == "cpu":
        raise ModelLoadError(
            f"{bits} loading of {spec.model!r} needs a CUDA GPU (bitsandbytes), and none is "
            "in use: drop the quantization setting to run on CPU, or run on a GPU machine.",
            input_name="quantization",
        )
    try:
        import bitsandbytes  # noqa: F401
    except ImportError as exc:
        raise ModelLoadError(
            f"{bits} loading of {spec.model!r} needs the bitsandbytes package: "
            "`pip install bitsandbytes`, or drop the quantization setting.",
            input_name="quantization",
        ) from exc
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(
        load_in_8bit=bits == "8bit",
        load_in_4bit=bits == "4bit",
        bnb_4bit_compute_dtype=compute_dtype,
        llm_int8_enable_fp32_cpu_offload=spec.offload_dir is not None,
    )
