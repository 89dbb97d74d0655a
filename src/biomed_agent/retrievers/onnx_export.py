"""Export a sentence-transformers BERT encoder to ONNX, verified against its own ``encode``.

Run as ``python -m biomed_agent.retrievers.onnx_export MODEL_DIR TARGET`` by
:mod:`biomed_agent.retrievers.onnx_query`, in a child process: torch's exporter flips
process-wide state while it traces (``torch.onnx`` export flags, tracer warnings, a
second copy of the weights in memory), none of which may touch a process that is
answering queries.

The graph is the model's own embeddings and encoder (eager attention, an additive
padding mask built here rather than by transformers' mask utilities, whose Python
shape logic a trace would freeze), then sentence-transformers' mean pooling over the
attention mask and L2 normalisation: inputs ``input_ids``, ``attention_mask``,
``token_type_ids`` (batch x tokens, int64), output ``sentence_embedding`` (batch x
dimension, float32, unit length). Before the file is moved into place (write to a
temporary name in the same folder, then ``os.replace``), onnxruntime's vectors for
:data:`PROBES` (short and long texts, one batch with padding, one past the model's
``max_seq_length``) must match sentence-transformers' ``encode`` within
:data:`TOLERANCE`; otherwise nothing is written and the exit status is 3.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["PROBES", "TOLERANCE", "export", "main"]

TOLERANCE = 1e-4
"""Largest absolute difference accepted per vector component (measured: ~2e-7)."""

PROBES: tuple[str, ...] = (
    "What is the mechanism of action of aspirin?",
    "insulin",
    "Cellular tumor antigen p53 induces cell cycle arrest and apoptosis in response to "
    "DNA damage; loss of function is common in human cancers.",
    " ".join(["Statin therapy lowered LDL cholesterol and cardiovascular events."] * 60),
)


def _graph(model: Any) -> Any:
    import torch

    class SentenceEncoder(torch.nn.Module):
        def __init__(self, bert: Any) -> None:
            super().__init__()
            self.bert = bert

        def forward(
            self,
            input_ids: torch.Tensor,
            attention_mask: torch.Tensor,
            token_type_ids: torch.Tensor,
        ) -> torch.Tensor:
            hidden = self.bert.embeddings(input_ids=input_ids, token_type_ids=token_type_ids)
            mask = attention_mask.to(hidden.dtype)
            additive = (1.0 - mask[:, None, None, :]) * torch.finfo(hidden.dtype).min
            tokens = self.bert.encoder(hidden, attention_mask=additive).last_hidden_state
            weights = mask.unsqueeze(-1)
            pooled = (tokens * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    return SentenceEncoder(model).eval()


def export(model_dir: Path, target: Path) -> float:
    """Write the verified ONNX graph of ``model_dir`` to ``target``; the largest difference."""
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import AutoModel

    from biomed_agent.retrievers.onnx_query import OnnxQueryEncoder

    torch.set_num_threads(1)
    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager")
    sample = {
        "input_ids": torch.tensor([[101, 7592, 2088, 102], [101, 7592, 102, 0]]),
        "attention_mask": torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]]),
        "token_type_ids": torch.zeros((2, 4), dtype=torch.long),
    }
    axes = {name: {0: "batch", 1: "tokens"} for name in sample}
    staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with torch.inference_mode():
            torch.onnx.export(
                _graph(model),
                (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"]),
                str(staging),
                input_names=list(sample),
                output_names=["sentence_embedding"],
                dynamic_axes={**axes, "sentence_embedding": {0: "batch"}},
                opset_version=17,
                dynamo=False,
            )
        reference = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
        expected = reference.encode(list(PROBES), normalize_embeddings=True, batch_size=8)
        encoder = OnnxQueryEncoder.open(staging, model_dir)
        got = np.concatenate([encoder.encode(list(PROBES[:2])), encoder.encode(list(PROBES[2:]))])
        difference = float(np.abs(got - np.asarray(expected, dtype=np.float32)).max())
        if not difference <= TOLERANCE:
            raise ValueError(
                f"ONNX vectors differ from sentence-transformers' by {difference:.2e} "
                f"(tolerance {TOLERANCE:.0e})"
            )
        os.replace(staging, target)
        return difference
    finally:
        staging.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print(
            "usage: python -m biomed_agent.retrievers.onnx_export MODEL_DIR TARGET", file=sys.stderr
        )
        return 2
    try:
        difference = export(Path(args[0]), Path(args[1]))
    except Exception as exc:  # the parent logs this line and falls back to torch
        print(f"ONNX export failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 3
    print(f"max abs difference {difference:.2e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
