"""Find and load BioMedGPT-10B from one user-named directory or file, lean on memory.

**Layout.** The published model is three things: the fused weights
``biomedgpt_10b.pth`` (one state dict; keys under ``mol_structure_encoder.``,
``prot_structure_encoder.``, ``llm.``, ``proj_mol.``, ``proj_prot.``), the
config + tokenizer of BioMedGPT-LM-7B, and the config of ESM-2 3B. The user
names one path; :func:`resolve_layout` finds the rest:

* the weights: the named file, or the ``*.pth`` file in the named directory or
  one level below (``biomedgpt_10b.pth`` wins when there are several);
* the two configs: every ``config.json`` in the search directory and two levels
  below it is read; ``model_type: llama`` is the LM, ``model_type: esm`` the
  protein encoder. When a file was named, its directory's parent is searched too
  (OpenBioMed's ``ckpts/fusion_ckpts``, ``ckpts/text_ckpts``, ``ckpts/protein_ckpts``);
* a config not found on disk is taken from the local Hugging Face cache
  (``PharMolix/BioMedGPT-LM-7B``, ``facebook/esm2_t36_3B_UR50D``), never downloaded.

**Memory.** The model is built on the meta device, the checkpoint is memory-mapped
(``torch.load(mmap=True, weights_only=True)``) and its tensors are assigned, not
copied (``load_state_dict(assign=True)``): host RAM peaks near the checkpoint size.
Weights already in the requested dtype stay file-backed; the GIN stays in float32.

**Checks.** Keys are compared before anything is assigned: a file without the five
prefixes is "not BioMedGPT-10B", missing/unexpected keys are listed, a shape mismatch
names the key and both shapes. Recomputed buffers (``position_ids``, rotary
``inv_freq``) may be present or absent; ESM's unused absolute position table is
dropped for rotary configs (:func:`drop_unused_position_embeddings`).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from biomed_agent.devices import DTypeName
from biomed_agent.errors import ModelLoadError

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedTokenizerBase

    from biomed_agent.models.multimodal.model import BioMedGPT10B

__all__ = [
    "CHECKPOINT_PREFIXES",
    "CheckpointLayout",
    "check_state_dict",
    "load_biomedgpt10b",
    "read_checkpoint",
    "resolve_layout",
]

WEIGHTS_NAME = "biomedgpt_10b.pth"
LLM_HUB_ID = "PharMolix/BioMedGPT-LM-7B"
ESM_HUB_ID = "facebook/esm2_t36_3B_UR50D"
CHECKPOINT_PREFIXES = (
    "mol_structure_encoder.",
    "prot_structure_encoder.",
    "llm.",
    "proj_mol.",
    "proj_prot.",
)
PAD_TOKEN = "[PAD]"
"""Added to the LM tokenizer (and the embedding table) when BioMedGPT-10B was trained."""

_RECOMPUTED_BUFFERS = ("position_ids", "inv_freq")
_ESM_POSITIONS = "prot_structure_encoder.embeddings.position_embeddings.weight"
_LOG = logging.getLogger(__name__)
_GIN_PREFIX = "mol_structure_encoder."
_GIN_LAYER = re.compile(r"^mol_structure_encoder\.gnns\.(\d+)\.")
_NO_SPLIT_MODULES = ["LlamaDecoderLayer", "EsmLayer", "GINEncoder"]
_SHOWN_KEYS = 8
DType = DTypeName


@dataclass(frozen=True)
class CheckpointLayout:
    """Where the three parts of BioMedGPT-10B were found."""

    weights: Path
    llm_dir: Path
    esm_dir: Path


def _layout_help() -> str:
    return (
        "Expected one directory holding biomedgpt_10b.pth, a BioMedGPT-LM-7B directory "
        "(config.json + tokenizer files) and an ESM-2 3B directory (config.json), e.g. "
        "biomedgpt-10b/{biomedgpt_10b.pth, llm/, esm/}; see docs/biomedgpt-10b.md."
    )


def _find_weights(root: Path) -> Path:
    candidates = sorted({*root.glob("*.pth"), *root.glob("*/*.pth")})
    preferred = [path for path in candidates if path.name == WEIGHTS_NAME]
    if len(preferred) == 1:
        return preferred[0]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise ModelLoadError(
            f"no BioMedGPT-10B weights (*.pth) in {root} or its subdirectories. {_layout_help()}",
            input_name=str(root),
        )
    raise ModelLoadError(
        f"{root} holds several .pth files ({', '.join(str(p) for p in candidates)}); "
        f"name the BioMedGPT-10B file itself or rename it {WEIGHTS_NAME}.",
        input_name=str(root),
    )


def _config_dirs(roots: Sequence[Path], model_type: str) -> list[Path]:
    found: set[Path] = set()
    for root in roots:
        for config in [
            root / "config.json",
            *root.glob("*/config.json"),
            *root.glob("*/*/config.json"),
        ]:
            try:
                kind = json.loads(config.read_text(encoding="utf-8")).get("model_type")
            except (OSError, ValueError, AttributeError):
                continue
            if kind == model_type:
                found.add(config.parent.resolve())
    return sorted(found)


def _cached_hub_dir(repo_id: str) -> Path | None:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(str(snapshot_download(repo_id, local_files_only=True)))
    except (LocalEntryNotFoundError, OSError, ValueError):
        return None


def _config_dir(roots: Sequence[Path], model_type: str, part: str, hub_id: str) -> Path:
    found = _config_dirs(roots, model_type)
    if len(found) > 1:
        raise ModelLoadError(
            f"several {part} configs (model_type {model_type!r}) found: "
            f"{', '.join(map(str, found))}; keep one next to the weights.",
            input_name=str(roots[0]),
        )
    if found:
        return found[0]
    cached = _cached_hub_dir(hub_id)
    if cached is None:
        raise ModelLoadError(
            f"no {part} config.json (model_type {model_type!r}) under "
            f"{' or '.join(map(str, roots))}, and {hub_id} is not in the local Hugging Face "
            f"cache (nothing is downloaded at run time). {_layout_help()}",
            input_name=str(roots[0]),
        )
    return cached


def resolve_layout(path: str | Path) -> CheckpointLayout:
    """Find the weights, the LM directory and the ESM directory from one path."""
    named = Path(path).expanduser()
    if not named.exists():
        raise ModelLoadError(
            f"BioMedGPT-10B path {str(named)!r} does not exist. {_layout_help()}",
            input_name=str(named),
        )
    if named.is_file():
        weights, roots = named, [named.parent, named.parent.parent]
    else:
        weights, roots = _find_weights(named), [named]
    return CheckpointLayout(
        weights=weights.resolve(),
        llm_dir=_config_dir(roots, "llama", "BioMedGPT-LM-7B", LLM_HUB_ID),
        esm_dir=_config_dir(roots, "esm", "ESM-2", ESM_HUB_ID),
    )


def read_checkpoint(weights: Path) -> dict[str, torch.Tensor]:
    """Memory-map a state dict with safe (weights-only) unpickling; check it is BioMedGPT-10B."""
    import pickle

    import torch

    try:
        state = torch.load(weights, map_location="cpu", mmap=True, weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, EOFError, ValueError, OSError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelLoadError(
            f"{weights} is not a checkpoint torch can read safely ({first_line}); expected "
            f"BioMedGPT-10B's {WEIGHTS_NAME}, a state dict saved with torch.save.",
            input_name=str(weights),
        ) from exc
    if not isinstance(state, Mapping) or not all(
        isinstance(key, str) and isinstance(value, torch.Tensor) for key, value in state.items()
    ):
        raise ModelLoadError(
            f"{weights} holds a {type(state).__name__}, not a state dict of tensors; expected "
            f"BioMedGPT-10B's {WEIGHTS_NAME}.",
            input_name=str(weights),
        )
    absent = [p for p in CHECKPOINT_PREFIXES if not any(key.startswith(p) for key in state)]
    if absent:
        sample = ", ".join(repr(key) for key in list(state)[:3]) or "no keys at all"
        raise ModelLoadError(
            f"{weights} is not a BioMedGPT-10B checkpoint: it has no keys under "
            f"{', '.join(map(repr, absent))} (its keys look like {sample}). Name the fused "
            f"{WEIGHTS_NAME}, not a BioMedGPT-LM-7B or ESM-2 checkpoint.",
            input_name=str(weights),
        )
    return dict(state)


def _is_recomputed(key: str) -> bool:
    return key.rsplit(".", 1)[-1] in _RECOMPUTED_BUFFERS


def _listing(keys: Sequence[str]) -> str:
    shown = ", ".join(repr(key) for key in keys[:_SHOWN_KEYS])
    more = f" and {len(keys) - _SHOWN_KEYS} more" if len(keys) > _SHOWN_KEYS else ""
    return f"{len(keys)} ({shown}{more})"


def check_state_dict(
    expected: Mapping[str, torch.Tensor], state: Mapping[str, torch.Tensor], weights: Path
) -> None:
    """Raise :class:`ModelLoadError` on missing/unexpected keys or any shape mismatch."""
    missing = [key for key in expected if key not in state and not _is_recomputed(key)]
    unexpected = [key for key in state if key not in expected and not _is_recomputed(key)]
    if missing or unexpected:
        problems = []
        if missing:
            problems.append(f"missing keys: {_listing(missing)}")
        if unexpected:
            problems.append(f"unexpected keys: {_listing(unexpected)}")
        raise ModelLoadError(
            f"{weights} does not match the BioMedGPT-10B architecture: {'; '.join(problems)}. "
            "Check that the file is the published biomedgpt_10b.pth and the configs beside "
            "it are BioMedGPT-LM-7B's and ESM-2 3B's.",
            input_name=str(weights),
        )
    for key, tensor in state.items():
        want = expected.get(key)
        if want is not None and tuple(want.shape) != tuple(tensor.shape):
            raise ModelLoadError(
                f"{weights}: key {key!r} has shape {tuple(tensor.shape)} in the checkpoint but "
                f"the model built from the configs expects {tuple(want.shape)}; the LM/ESM "
                "config or tokenizer beside the weights is not the one the checkpoint was "
                "trained with.",
                input_name=str(weights),
            )


def drop_unused_position_embeddings(
    state: dict[str, torch.Tensor],
    expected: Mapping[str, torch.Tensor],
    esm_config: object,
    weights: Path,
) -> dict[str, torch.Tensor]:
    """Drop ESM's absolute position table (never read by rotary ESM) when the config is rotary.

    transformers 4.28-4.45 built it even for rotary ESM-2, so OpenBioMed's own
    ``biomedgpt_10b.pth`` holds it ([1026, 2560] for ESM-2 3B); later versions do not.
    """
    rotary = getattr(esm_config, "position_embedding_type", None) == "rotary"
    if not rotary or _ESM_POSITIONS not in state or _ESM_POSITIONS in expected:
        return state
    shape = "x".join(str(n) for n in state[_ESM_POSITIONS].shape)
    message = "%s: ignoring %s [%s]: the ESM config is rotary, so this table is never read."
    _LOG.info(message, weights.name, _ESM_POSITIONS, shape)
    return {key: value for key, value in state.items() if key != _ESM_POSITIONS}


def _gin_shape(state: Mapping[str, torch.Tensor]) -> tuple[int, int]:
    """GIN layers and hidden size, read from the weights (the GIN has no config file)."""
    layers = {int(m.group(1)) for key in state if (m := _GIN_LAYER.match(key))}
    embedding = state.get(f"{_GIN_PREFIX}x_embedding1.weight")
    hidden = int(embedding.shape[1]) if embedding is not None and embedding.dim() == 2 else 0
    if not layers or hidden == 0:
        raise ModelLoadError(
            "the checkpoint's mol_structure_encoder has no 'gnns.N.' layers or no 2-D "
            "'x_embedding1.weight'; it is not BioMedGPT-10B's GraphMVP encoder.",
            input_name="mol_structure_encoder",
        )
    return max(layers) + 1, hidden


def _load_tokenizer(llm_dir: Path) -> PreTrainedTokenizerBase:
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(llm_dir))
    except (OSError, ValueError, TypeError) as exc:
        raise ModelLoadError(
            f"cannot load the BioMedGPT-LM-7B tokenizer from {llm_dir} ({exc}); the directory "
            "needs tokenizer.json or tokenizer.model with tokenizer_config.json.",
            input_name=str(llm_dir),
        ) from exc
    tokenizer.add_special_tokens({"pad_token": PAD_TOKEN})
    return tokenizer


def load_biomedgpt10b(
    path: str | Path,
    *,
    dtype: DType = "auto",
    device_map: str | dict[str, int | str] = "auto",
) -> BioMedGPT10B:
    """Load BioMedGPT-10B from one directory or file (see the module docstring for the layout).

    ``dtype``: ``auto`` (fp16 on GPUs, fp32 on CPU: :mod:`biomed_agent.devices`),
    ``bf16``, ``fp16``, ``fp32``. ``device_map``: ``auto`` spreads the model
    over every visible GPU with accelerate (CPU when there is none), ``cpu``,
    ``cuda``/``cuda:N`` put it on one device, and a dict maps module names
    (``llm.model.layers.3``, ``prot_structure_encoder`` ...) to devices.
    """
    import torch
    from accelerate import init_empty_weights
    from transformers import EsmConfig, LlamaConfig

    from biomed_agent.models.loading import LoadSpec, _resolve_device_map, _resolve_dtype
    from biomed_agent.models.multimodal.model import BioMedGPT10B

    layout = resolve_layout(path)
    has_cuda = torch.cuda.is_available()
    placement: str | dict[str, int | str] = (
        device_map
        if isinstance(device_map, dict)
        else _resolve_device_map(LoadSpec(model=str(path), device_map=device_map), has_cuda)
    )
    torch_dtype = _resolve_dtype(dtype, "cpu" if placement == "cpu" else "cuda", has_cuda)
    state = read_checkpoint(layout.weights)
    try:
        llm_config = LlamaConfig.from_pretrained(str(layout.llm_dir))
        esm_config = EsmConfig.from_pretrained(str(layout.esm_dir))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(
            f"cannot read the LM config in {layout.llm_dir} or the ESM config in "
            f"{layout.esm_dir}: {exc}",
            input_name=str(layout.weights),
        ) from exc
    tokenizer = _load_tokenizer(layout.llm_dir)
    llm_config.vocab_size = len(tokenizer)
    gin_layers, gin_hidden = _gin_shape(state)
    with init_empty_weights(include_buffers=False):
        model = BioMedGPT10B(
            llm_config, esm_config, tokenizer, gin_layers=gin_layers, gin_hidden=gin_hidden
        )
    expected = model.state_dict()
    state = drop_unused_position_embeddings(state, expected, esm_config, layout.weights)
    check_state_dict(expected, state, layout.weights)

    def cast(key: str, tensor: torch.Tensor) -> torch.Tensor:
        if not tensor.is_floating_point():
            return tensor
        return tensor.to(torch.float32 if key.startswith(_GIN_PREFIX) else torch_dtype)

    model.load_state_dict(
        {key: cast(key, tensor) for key, tensor in state.items() if key in expected},
        strict=False,
        assign=True,
    )
    del state
    model.requires_grad_(False).eval()
    model.llm.generation_config.pad_token_id = tokenizer.pad_token_id
    return _place(model, placement, torch_dtype)


def _place(
    model: BioMedGPT10B, placement: str | dict[str, int | str], dtype: torch.dtype
) -> BioMedGPT10B:
    """``cpu``: stay (memory-mapped); one device: move; ``auto``/dict: dispatch with accelerate."""
    if placement == "cpu":
        return model
    if isinstance(placement, str) and placement != "auto":
        return model.to(placement)
    from accelerate import dispatch_model, infer_auto_device_map

    device_map: dict[str, int | str] = (
        placement
        if isinstance(placement, dict)
        else infer_auto_device_map(model, no_split_module_classes=_NO_SPLIT_MODULES, dtype=dtype)
    )
    spilled = sorted(name for name, where in device_map.items() if where in ("cpu", "disk"))
    if spilled and len(spilled) < len(device_map):
        # accelerate would keep those weights on the meta device between calls
        raise ModelLoadError(
            f"device map puts {', '.join(spilled[:4])}{' ...' if len(spilled) > 4 else ''} on "
            f"CPU/disk next to GPU modules ({str(dtype).split('.')[-1]} weights); BioMedGPT-10B "
            "does not support offloading: use fp16/bf16, more or larger GPUs, or "
            "device_map='cpu'.",
            input_name="device_map",
        )
    dispatched: BioMedGPT10B = dispatch_model(model, device_map=device_map)
    return dispatched
