"""Embeddings on disk, so tools can hand back a path instead of thousands of floats.

Layout under ``settings.data_dir / "embeddings"``::

    <model identity>/layer<L>-window<W>-overlap<O>/<sha256 of sequence, 32 hex>.mean.npy
    <model identity>/layer<L>-window<W>-overlap<O>/<sha256 of sequence, 32 hex>.residues.npy

``.mean.npy`` is the ``(dim,)`` mean-pooled vector, ``.residues.npy`` the
``(length, dim)`` per-residue matrix, both float32 (``numpy.load``). The model
identity is the registry name, or ``<file stem>-<hash of path, size, mtime>`` for
a local checkpoint, so replacing a checkpoint file never serves stale vectors.
Files are written to a temporary name and renamed, so a reader never sees half a
file; a vector present on disk is reused instead of recomputed.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from biomed_agent.errors import StoreError
from biomed_agent.proteins.batching import plan_windows
from biomed_agent.proteins.embeddings import (
    DEFAULT_OVERLAP,
    DEFAULT_TOKEN_BUDGET,
    embed_sequences,
    window_size,
)
from biomed_agent.proteins.esm import EsmModel
from biomed_agent.proteins.sequences import parse_sequence

__all__ = ["EmbeddingStore", "StoredEmbedding"]


@dataclass(frozen=True)
class StoredEmbedding:
    """One sequence's embedding as stored: the mean vector in memory, both files on disk."""

    length: int
    mean: np.ndarray
    mean_path: Path
    per_residue_path: Path
    windows: int
    cached: bool
    """True when the vectors were already on disk and nothing was computed."""


class EmbeddingStore:
    """Read-through store of ESM-2 embeddings for one model, layer and window setting."""

    def __init__(
        self,
        root: Path,
        model: EsmModel,
        *,
        layer: int | None = None,
        window: int | None = None,
        overlap: int = DEFAULT_OVERLAP,
        token_budget: int = DEFAULT_TOKEN_BUDGET,
    ) -> None:
        self.model = model
        self.layer = model.layer_index(layer)
        self.window = window_size(model, window)
        self.overlap = overlap
        self.token_budget = token_budget
        self.directory = (
            Path(root) / model.identity / f"layer{self.layer}-window{self.window}-overlap{overlap}"
        )

    def paths(self, sequence: str) -> tuple[Path, Path]:
        """``(mean path, per-residue path)`` of a validated sequence."""
        digest = hashlib.sha256(sequence.encode()).hexdigest()[:32]
        return self.directory / f"{digest}.mean.npy", self.directory / f"{digest}.residues.npy"

    def embed(self, sequences: Sequence[str]) -> list[StoredEmbedding]:
        """Embeddings of ``sequences`` in input order, computing (once each) only those
        not on disk yet."""
        parsed = [parse_sequence(text, name=f"sequences[{i}]") for i, text in enumerate(sequences)]
        missing = list(
            dict.fromkeys(s for s in parsed if not all(p.is_file() for p in self.paths(s)))
        )
        computed = embed_sequences(
            missing,
            self.model,
            token_budget=self.token_budget,
            window=self.window,
            overlap=self.overlap,
            layer=self.layer,
        )
        for sequence, embedding in zip(missing, computed, strict=True):
            mean_path, residues_path = self.paths(sequence)
            _save(residues_path, embedding.per_residue)
            _save(mean_path, embedding.mean)
        fresh = set(missing)
        results = []
        for sequence in parsed:
            mean_path, residues_path = self.paths(sequence)
            results.append(
                StoredEmbedding(
                    length=len(sequence),
                    mean=np.load(mean_path),
                    mean_path=mean_path,
                    per_residue_path=residues_path,
                    windows=len(plan_windows(len(sequence), self.window, self.overlap)),
                    cached=sequence not in fresh,
                )
            )
        return results


def _save(path: Path, array: np.ndarray) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
        )
    except OSError as exc:
        raise _store_error(path, exc) from exc
    try:
        with os.fdopen(handle, "wb") as stream:
            np.save(stream, array)
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise _store_error(path, exc) from exc


def _store_error(path: Path, exc: OSError) -> StoreError:
    return StoreError(
        f"cannot write embedding file {path} ({exc.strerror or exc}); make "
        "BIOMED_DATA_DIR point to a writable directory.",
        input_name="data_dir",
    )
