"""Morgan fingerprints and one-vs-many Tanimoto search with top-k.

Fingerprints come from ``rdFingerprintGenerator`` (one cached generator per
radius/size); scoring uses ``BulkTanimotoSimilarity`` and the top ``k`` come from
``np.argpartition`` (no full sort), so searching precomputed fingerprints of
10,000 molecules takes a few milliseconds.

:func:`similarity_search` remembers the fingerprints of recent candidate lists,
keyed by a SHA-256 of the list's text (and radius, size, ``on_error``), in an LRU
holding at most :data:`CACHE_MAX_FINGERPRINTS` fingerprints (about 3 MB per
10,000): asking about the same library again costs only the scoring. Lists
holding RDKit ``Mol`` objects are not cached (they have no cheap content key).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from typing import TypedDict

import numpy as np
from rdkit import DataStructs
from rdkit.Chem import rdFingerprintGenerator
from rdkit.DataStructs import ExplicitBitVect

from biomed_agent.errors import InvalidQueryError
from biomed_agent.molecules.batch import OnError, parallel_map
from biomed_agent.molecules.parsing import MolLike, as_text, to_mol

__all__ = [
    "CACHE_MAX_FINGERPRINTS",
    "DEFAULT_FP_SIZE",
    "DEFAULT_RADIUS",
    "SimilarityHit",
    "clear_fingerprint_cache",
    "similarity_search",
    "tanimoto_top_k",
    "to_fingerprint",
    "to_fingerprints",
]

DEFAULT_RADIUS = 2
"""Morgan radius 2 (ECFP4-like), the usual choice for similarity search."""
DEFAULT_FP_SIZE = 2048
CACHE_MAX_FINGERPRINTS = 200_000
"""Most candidate fingerprints kept across calls (oldest lists are dropped first)."""

_Kept = tuple[list[int], list[ExplicitBitVect]]
_CACHE: OrderedDict[tuple[str, int, int, str], _Kept] = OrderedDict()
_CACHE_LOCK = threading.Lock()


class SimilarityHit(TypedDict):
    """A candidate ranked by Tanimoto similarity to the query."""

    index: int
    smiles: str
    similarity: float


@lru_cache(maxsize=8)
def _generator(radius: int, fp_size: int) -> rdFingerprintGenerator.FingerprintGenerator64:
    if radius < 0 or fp_size <= 0:
        raise InvalidQueryError(
            f"Morgan fingerprints need radius >= 0 and fp_size > 0, got radius={radius}, "
            f"fp_size={fp_size}",
            input_name="radius" if radius < 0 else "fp_size",
        )
    return rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=fp_size)


def to_fingerprint(
    value: MolLike, *, radius: int = DEFAULT_RADIUS, fp_size: int = DEFAULT_FP_SIZE
) -> ExplicitBitVect:
    """Morgan bit-vector fingerprint of one molecule."""
    return _generator(radius, fp_size).GetFingerprint(to_mol(value))


def to_fingerprints(
    mols: Sequence[MolLike],
    *,
    radius: int = DEFAULT_RADIUS,
    fp_size: int = DEFAULT_FP_SIZE,
    n_jobs: int = 1,
    progress: bool = False,
    on_error: OnError = "raise",
) -> list[ExplicitBitVect | None]:
    """Fingerprints of a batch (``n_jobs``, ``progress``, ``on_error`` as everywhere)."""
    _generator(radius, fp_size)  # bad parameters fail here, not once per molecule
    return parallel_map(
        _SizedFingerprint(radius, fp_size),
        mols,
        n_jobs=n_jobs,
        progress=progress,
        on_error=on_error,
    )


class _SizedFingerprint:
    """Picklable ``to_fingerprint`` bound to its parameters, for worker processes."""

    def __init__(self, radius: int, fp_size: int) -> None:
        self.radius, self.fp_size = radius, fp_size

    def __call__(self, value: MolLike) -> ExplicitBitVect:
        return to_fingerprint(value, radius=self.radius, fp_size=self.fp_size)


def _check_k(k: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k <= 0:
        raise InvalidQueryError(f"k must be a positive integer, got {k!r}", input_name="k")


def tanimoto_top_k(
    query: ExplicitBitVect, fingerprints: Sequence[ExplicitBitVect], k: int = 5
) -> list[tuple[int, float]]:
    """``(index, similarity)`` of the ``k`` most similar fingerprints, best first.

    Ties keep input order. ``k`` larger than the list returns every fingerprint.

    Raises:
        InvalidQueryError: ``k <= 0``.
    """
    _check_k(k)
    if not fingerprints:
        return []
    scores = np.asarray(DataStructs.BulkTanimotoSimilarity(query, fingerprints))
    return [(int(i), float(scores[i])) for i in _top_k_order(scores, k)]


def _top_k_order(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest scores, best first, ties in input order (no full sort)."""
    if k >= len(scores):
        return np.argsort(-scores, kind="stable")
    threshold = np.partition(scores, len(scores) - k)[len(scores) - k]  # the k-th highest
    above = np.flatnonzero(scores > threshold)
    tied = np.flatnonzero(scores == threshold)[: k - len(above)]
    chosen = np.concatenate([above, tied])
    return chosen[np.lexsort((chosen, -scores[chosen]))]


def _candidate_fingerprints(
    candidates: Sequence[MolLike], radius: int, fp_size: int, on_error: OnError
) -> _Kept:
    """(input index, fingerprint) of every usable candidate, from the LRU when the same
    list of texts was fingerprinted before."""
    key = None
    if all(isinstance(c, str) for c in candidates):
        digest = hashlib.sha256("\0".join(candidates).encode()).hexdigest()
        key = (f"{len(candidates)}:{digest}", radius, fp_size, on_error)
        with _CACHE_LOCK:
            if key in _CACHE:
                _CACHE.move_to_end(key)
                return _CACHE[key]
    fps = parallel_map(
        _SizedFingerprint(radius, fp_size), candidates, on_error=on_error, label="candidate"
    )
    indices = [index for index, fp in enumerate(fps) if fp is not None]
    kept: _Kept = (indices, [fps[index] for index in indices])  # type: ignore[misc]
    if key is not None and len(candidates) <= CACHE_MAX_FINGERPRINTS:
        with _CACHE_LOCK:
            _CACHE[key] = kept
            while sum(len(value[1]) for value in _CACHE.values()) > CACHE_MAX_FINGERPRINTS:
                _CACHE.popitem(last=False)
    return kept


def clear_fingerprint_cache() -> None:
    """Forget cached candidate fingerprints (benchmarks time the cold path with it)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def similarity_search(
    query: MolLike,
    candidates: Sequence[MolLike],
    k: int = 5,
    *,
    radius: int = DEFAULT_RADIUS,
    fp_size: int = DEFAULT_FP_SIZE,
    on_error: OnError = "raise",
) -> list[SimilarityHit]:
    """Rank ``candidates`` by Morgan/Tanimoto similarity to ``query``; return the top ``k``.

    Each hit gives the candidate's index in ``candidates``, the candidate as given,
    and the similarity rounded to 4 decimals. With ``on_error="skip"`` candidates
    that do not parse are left out of the ranking.

    Raises:
        InvalidMoleculeError: the query, or (``on_error="raise"``) a candidate, does not parse.
        InvalidQueryError: ``k <= 0``.
    """
    _check_k(k)
    query_fp = to_fingerprint(query, radius=radius, fp_size=fp_size)
    indices, fps = _candidate_fingerprints(candidates, radius, fp_size, on_error)
    ranked = tanimoto_top_k(query_fp, fps, k)
    return [
        {
            "index": indices[pos],
            "smiles": as_text(candidates[indices[pos]]),
            "similarity": round(score, 4),
        }
        for pos, score in ranked
    ]
