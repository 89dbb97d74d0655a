"""Protein similarity as cosine between mean-pooled embeddings, one query vs many."""

from __future__ import annotations

import numpy as np

from biomed_agent.errors import InvalidQueryError

__all__ = ["cosine_similarities", "top_k"]


def cosine_similarities(query: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Cosine of ``query`` ``(dim,)`` with each row of ``candidates`` ``(n, dim)``.

    A zero vector has cosine 0 with everything rather than NaN.
    """
    query = np.asarray(query, dtype=np.float64)
    candidates = np.atleast_2d(np.asarray(candidates, dtype=np.float64))
    if candidates.shape[1] != query.shape[0]:
        raise InvalidQueryError(
            f"query has dimension {query.shape[0]} but candidates have {candidates.shape[1]}; "
            "embed both with the same model and layer.",
            input_name="candidates",
        )
    norms = np.linalg.norm(candidates, axis=1) * np.linalg.norm(query)
    dots = candidates @ query
    return np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)


def top_k(query: np.ndarray, candidates: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The ``k`` most similar candidates as ``(index, cosine)``, best first.

    Ties keep input order; ``k`` larger than the number of candidates returns all.
    """
    if k < 1:
        raise InvalidQueryError(f"k={k} cannot work; ask for at least 1 result.", input_name="k")
    scores = cosine_similarities(query, candidates)
    order = np.argsort(-scores, kind="stable")[:k]
    return [(int(index), float(scores[index])) for index in order]
