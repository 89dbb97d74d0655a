"""Per-residue and mean-pooled ESM-2 embeddings, batched by token budget.

Sequences are cut into windows and packed into batches as :mod:`.batching`
describes; vectors come back in input order. The mean-pooled vector averages the
per-residue vectors of the real residues only (``<cls>``, ``<eos>`` and padding
excluded), as fair-esm's ``extract.py --include mean`` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from biomed_agent.errors import InvalidQueryError
from biomed_agent.proteins.batching import owning_windows, plan_windows
from biomed_agent.proteins.esm import EsmModel
from biomed_agent.proteins.sequences import esm_token_ids, parse_sequence

__all__ = [
    "DEFAULT_OVERLAP",
    "DEFAULT_TOKEN_BUDGET",
    "ProteinEmbedding",
    "embed_sequences",
    "residue_outputs",
    "window_size",
]

DEFAULT_TOKEN_BUDGET = 4096
"""Padded tokens per forward pass (fair-esm ``extract.py``'s default ``--toks_per_batch``)."""
DEFAULT_OVERLAP = 256
"""Residues shared by neighbouring windows of a sequence longer than the model context."""


@dataclass(frozen=True)
class ProteinEmbedding:
    """ESM-2 vectors of one sequence at one layer."""

    per_residue: np.ndarray
    """``(length, dim)`` float32, one row per residue."""
    layer: int
    windows: int
    """Model windows the sequence was cut into (1 unless longer than the context)."""

    @property
    def mean(self) -> np.ndarray:
        """``(dim,)`` float32 average over residues."""
        return self.per_residue.mean(axis=0, dtype=np.float64).astype(np.float32)


def window_size(model: EsmModel, window: int | None) -> int:
    """The window length to use: the model context unless a shorter one is asked for."""
    if window is None:
        return model.max_residues
    if not 1 <= window <= model.max_residues:
        raise InvalidQueryError(
            f"window {window} cannot work for {model.label}; give 1..{model.max_residues} "
            "residues (the context ESM-2 was trained on).",
            input_name="window",
        )
    return window


def residue_outputs(
    sequences: Sequence[str],
    model: EsmModel,
    *,
    token_budget: int,
    window: int | None,
    overlap: int,
    layer: int | None = None,
    log_probs: bool = False,
) -> list[np.ndarray]:
    """Per validated sequence, one ``(length, features)`` array: the layer representation
    or (``log_probs``) the log-probabilities, windows merged by most-central window."""
    size = window_size(model, window)
    plans = [plan_windows(len(sequence), size, overlap) for sequence in sequences]
    rows = [
        esm_token_ids(sequence[w.start : w.end])
        for sequence, windows in zip(sequences, plans, strict=True)
        for w in windows
    ]
    outputs = model.forward_rows(rows, token_budget=token_budget, layer=layer, log_probs=log_probs)
    merged: list[np.ndarray] = []
    first_row = 0
    for sequence, windows in zip(sequences, plans, strict=True):
        owners = np.asarray(owning_windows(windows, len(sequence)))
        result = np.empty((len(sequence), outputs[first_row].shape[-1]), dtype=np.float32)
        for number, w in enumerate(windows):
            positions = np.flatnonzero(owners == number)
            result[positions] = outputs[first_row + number][positions - w.start + 1]
        merged.append(result)
        first_row += len(windows)
    return merged


def embed_sequences(
    sequences: Sequence[str],
    model: EsmModel,
    *,
    token_budget: int = DEFAULT_TOKEN_BUDGET,
    window: int | None = None,
    overlap: int = DEFAULT_OVERLAP,
    layer: int | None = None,
) -> list[ProteinEmbedding]:
    """ESM-2 embeddings of ``sequences`` (raw or one-record FASTA each), in input order.

    ``layer`` defaults to the last (layer-normed) one; ``window`` defaults to the model
    context (1,022 residues) and ``overlap`` to 256.
    """
    parsed = [parse_sequence(text, name=f"sequences[{i}]") for i, text in enumerate(sequences)]
    layer_index = model.layer_index(layer)
    size = window_size(model, window)
    vectors = residue_outputs(
        parsed, model, token_budget=token_budget, window=size, overlap=overlap, layer=layer_index
    )
    return [
        ProteinEmbedding(
            per_residue=per_residue,
            layer=layer_index,
            windows=len(plan_windows(len(sequence), size, overlap)),
        )
        for sequence, per_residue in zip(parsed, vectors, strict=True)
    ]
