"""Query vectors of the store's own MiniLM through onnxruntime (one thread, no torch).

A new question's vector cost ~15-18 ms of CPU through sentence-transformers and torch
at one thread (tokenising 0.1 ms of it; a direct ``AutoModel`` forward with mean
pooling ~14.7 ms), most of a 20 ms query budget. The same weights run through
onnxruntime in ~7 ms (see ``docs/benchmarks.md``), so a query is encoded here and the
stored vectors keep coming from sentence-transformers: the model does not change,
only the runtime of one forward pass (vectors agree within :data:`TOLERANCE`, cosine
>= 0.9999, tested against sentence-transformers' ``encode``).

* The graph is exported once per model from its sentence-transformers directory by
  :mod:`.onnx_export` in a child process (torch's exporter flips process-wide state),
  verified against ``encode`` before it is moved into place, and cached as
  ``<cache_dir>/<model>-<key>.onnx`` (``cache_dir`` is ``data_dir/models/onnx``). The
  key hashes the model directory's path and the names, sizes and modification times of
  its files, so changed weights are exported again. An exclusive file lock beside the
  file makes two processes export it once; threads share one encoder per model key.
* The session runs with ``intra_op_num_threads=1``: its own setting, no process-wide
  switch, and one thread is the fastest for a query on 2 cores, quiet or loaded.
* Tokens come from the model's ``tokenizer.json`` (the ``tokenizers`` library that
  sentence-transformers uses underneath) with padding off and truncation at the
  model's ``max_seq_length``.
* Only a BERT-family model with mean pooling is exported (the packaged MiniLM is one);
  for anything else, without ``onnx`` (the exporter's dependency, extra ``store``) or
  ``onnxruntime``, or when an export fails, :func:`query_encoder` returns ``None`` and
  queries go through sentence-transformers as before.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from biomed_agent.once import load_once

if TYPE_CHECKING:
    import onnxruntime
    from tokenizers import Tokenizer

__all__ = ["EXPORT_TIMEOUT_S", "OnnxQueryEncoder", "onnx_file", "query_encoder", "supported"]

log = logging.getLogger(__name__)

EXPORT_TIMEOUT_S = 600.0
"""Longest an export may take before queries fall back to torch (measured ~10 s)."""

_FORMAT = "1"  # bump when the exported graph changes


class OnnxQueryEncoder:
    """Unit-length sentence vectors from an exported graph (see :mod:`.onnx_export`)."""

    def __init__(self, session: onnxruntime.InferenceSession, tokenizer: Tokenizer) -> None:
        self.session = session
        self.tokenizer = tokenizer
        self.inputs = {node.name for node in session.get_inputs()}
        self.lower_case = False

    @classmethod
    def open(cls, graph: Path, model_dir: Path) -> OnnxQueryEncoder:
        """A one-thread session over ``graph`` and the tokenizer of ``model_dir``."""
        import onnxruntime
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        session = onnxruntime.InferenceSession(
            str(graph), options, providers=["CPUExecutionProvider"]
        )
        config = _sentence_config(model_dir)
        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        tokenizer.no_padding()
        tokenizer.enable_truncation(int(config["max_seq_length"]))
        encoder = cls(session, tokenizer)
        encoder.lower_case = bool(config.get("do_lower_case", False))
        return encoder

    def encode(self, texts: list[str]) -> np.ndarray:
        """One float32 unit vector per text (a batch is padded to its longest text)."""
        if not texts:
            width = self.session.get_outputs()[0].shape[-1]
            return np.zeros((0, width if isinstance(width, int) else 0), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(
            [text.lower() for text in texts] if self.lower_case else list(texts)
        )
        width = max(len(e.ids) for e in encodings)
        feeds = {
            name: np.zeros((len(encodings), width), dtype=np.int64)
            for name in ("input_ids", "attention_mask", "token_type_ids")
        }
        for row, encoding in enumerate(encodings):
            size = len(encoding.ids)
            feeds["input_ids"][row, :size] = encoding.ids
            feeds["attention_mask"][row, :size] = encoding.attention_mask
            feeds["token_type_ids"][row, :size] = encoding.type_ids
        feeds = {name: array for name, array in feeds.items() if name in self.inputs}
        [vectors] = self.session.run(["sentence_embedding"], feeds)
        return np.asarray(vectors, dtype=np.float32)


def _sentence_config(model_dir: Path) -> dict[str, Any]:
    return dict(json.loads((model_dir / "sentence_bert_config.json").read_text()))


def supported(model_dir: Path) -> bool:
    """Whether ``model_dir`` is a BERT-family sentence-transformers model with mean pooling
    (Transformer, Pooling, optional Normalize) and a fast tokenizer: what the export covers."""
    try:
        modules = json.loads((model_dir / "modules.json").read_text())
        kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
        pooling = next(m for m in modules if m["type"].endswith("Pooling"))
        pool = json.loads((model_dir / pooling["path"] / "config.json").read_text())
        architecture = json.loads((model_dir / "config.json").read_text()).get("model_type")
        int(_sentence_config(model_dir)["max_seq_length"])
    except (OSError, ValueError, KeyError, TypeError, StopIteration):
        return False
    modes = {name for name, on in pool.items() if name.startswith("pooling_mode") and on}
    return (
        kinds in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"])
        and modes == {"pooling_mode_mean_tokens"}
        and architecture == "bert"
        and (model_dir / "tokenizer.json").is_file()
    )


def onnx_file(model_dir: Path, cache_dir: Path) -> Path:
    """Where the graph of ``model_dir`` is cached: named by a key of its files' identity."""
    digest = hashlib.sha256(f"{_FORMAT}\0{model_dir.resolve()}".encode())
    for path in sorted(model_dir.rglob("*")):
        if path.is_file():
            stat = path.stat()
            relative = path.relative_to(model_dir)
            digest.update(f"\0{relative}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    return cache_dir / f"{model_dir.parent.name}-{model_dir.name}-{digest.hexdigest()[:16]}.onnx"


@dataclass(frozen=True)
class _Request:
    """What to load; equal (one encoder per process) for every cache dir of one model."""

    key: str
    model_dir: Path = field(compare=False)
    target: Path = field(compare=False)


def query_encoder(model_dir: Path, cache_dir: Path) -> OnnxQueryEncoder | None:
    """The ONNX query encoder of ``model_dir`` (exported on first use), or ``None`` when
    this model or installation cannot have one (queries then use sentence-transformers)."""
    if not supported(model_dir) or importlib.util.find_spec("onnxruntime") is None:
        return None
    target = onnx_file(model_dir, cache_dir)
    return _load(_Request(target.name, model_dir, target))


@load_once(maxsize=4)
def _load(request: _Request) -> OnnxQueryEncoder | None:
    target = request.target
    try:
        if not target.is_file():
            _export_under_lock(request.model_dir, target)
        return OnnxQueryEncoder.open(target, request.model_dir)
    except Exception as exc:  # any failure here only costs speed: queries use torch
        log.warning(
            "query encoding stays on sentence-transformers: no ONNX graph for %s (%s: %s)",
            request.model_dir,
            type(exc).__name__,
            exc,
        )
        return None


def _export_under_lock(model_dir: Path, target: Path) -> None:
    if importlib.util.find_spec("onnx") is None:
        raise ModuleNotFoundError("the exporter needs the onnx package (extra 'store')")
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.with_name(f"{target.name}.lock"), "a+b") as handle:
        try:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # released when the file closes
        except ImportError:  # pragma: no cover - Windows: the atomic rename still holds
            pass
        if target.is_file():  # another process exported it while we waited
            return
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "biomed_agent.retrievers.onnx_export",
                str(model_dir),
                str(target),
            ],
            capture_output=True,
            text=True,
            timeout=EXPORT_TIMEOUT_S,
            check=False,
        )
        if done.returncode != 0 or not target.is_file():
            lines = (done.stderr or done.stdout).strip().splitlines()
            raise RuntimeError(lines[-1] if lines else f"exit status {done.returncode}")
