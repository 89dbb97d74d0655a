"""Offer the model only the tools relevant to the request, so tool prompts fit 2,048 tokens.

Binding every registered tool (``chat.bind_tools(get_tools())``) puts ~20 tools in
the prompt. A 7B model trained at 2,048 tokens has no room for that and a small
model picks worse among many. :func:`select_tools` keeps

- only tools that can run: BioMedGPT-10B's ``molecule_qa``/``protein_qa`` only
  when a 10B checkpoint is configured (``BIOMED_BIOMEDGPT10B_PATH``);
- at most ``limit`` tools, ranked by cosine similarity between the latest user
  message and each tool's name and description -- averaged, for the project's
  tools, with its closest example request (models/tool_examples.py) -- embedded
  with the offline MiniLM sentence encoder the knowledge store uses (word
  overlap when that encoder is not installed).

A forced tool (``tool_choice=<name>``) is always kept. Decoding is then
constrained to the kept tools, so the model can only call a tool it was shown.
The similarities of the kept tools travel with the mode (``ToolMode.relevance``): the
name choice adds them to the model's calibrated score as a prior
(:mod:`biomed_agent.models.tool_choice`).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from biomed_agent.models.tool_calling import ToolMode

__all__ = ["NEEDS_10B", "select_tools", "tool_text"]

NEEDS_10B = ("molecule_qa", "protein_qa")
"""Tools answered by BioMedGPT-10B (tools/multimodal_tools.py); offered only when configured."""

Embed = Callable[[list[str]], Any]

_ENCODER: dict[str, Embed | None] = {}
_VECTORS: dict[tuple[Embed, str], Any] = {}
_LOCK = threading.Lock()


def tool_text(spec: dict[str, Any]) -> str:
    """What a tool is ranked by: its name (words split) and description."""
    function = spec["function"]
    name = str(function["name"]).replace("_", " ")
    return f"{name}: {function.get('description', '')}"


def select_tools(
    mode: ToolMode,
    query: str,
    *,
    limit: int,
    has_10b: bool,
    embed: Embed | None = None,
) -> ToolMode:
    """``mode`` restricted to the tools that can run and are most relevant to ``query``."""
    specs = [spec for spec in mode.tools if has_10b or spec["function"]["name"] not in NEEDS_10B]
    if mode.required and len(mode.allowed) == 1:  # a forced tool: show only that one
        forced = [s for s in mode.tools if s["function"]["name"] == mode.allowed[0]]
        return replace(mode, tools=tuple(forced))
    if not specs:
        return mode
    relevance: tuple[tuple[str, float], ...] = ()
    if len(specs) > limit or (mode.required and len(specs) > 1 and query.strip()):
        scores = _scores(query, [_ranked_texts(spec) for spec in specs], embed)
        order = sorted(range(len(specs)), key=lambda i: (-scores[i], i))
        keep = set(order[:limit])
        relevance = tuple((specs[i]["function"]["name"], scores[i]) for i in sorted(keep))
        specs = [spec for i, spec in enumerate(specs) if i in keep]
    names = {spec["function"]["name"] for spec in specs}
    allowed = tuple(name for name in mode.allowed if name in names)
    return replace(mode, tools=tuple(specs), allowed=allowed or mode.allowed, relevance=relevance)


def _ranked_texts(spec: dict[str, Any]) -> tuple[str, ...]:
    """The tool's text, then the requests it answers (models/tool_examples.py), if any."""
    from biomed_agent.models.tool_examples import tool_requests

    return (tool_text(spec), *tool_requests(str(spec["function"]["name"])))


def _scores(query: str, tools: Sequence[tuple[str, ...]], embed: Embed | None) -> list[float]:
    """Per tool: its text's similarity to ``query``, averaged with its closest request's."""
    encode = embed or _default_encoder()
    if encode is None:
        return _overlap(query, [text for text, *_ in tools])
    missing = list(
        dict.fromkeys(t for texts in tools for t in texts if (encode, t) not in _VECTORS)
    )
    if missing:  # tool texts and requests are embedded once per encoder
        _VECTORS.update({(encode, t): v for t, v in zip(missing, encode(missing), strict=True)})
    (q,) = encode([query])

    def similarity(text: str) -> float:
        return float(sum(a * b for a, b in zip(q, _VECTORS[(encode, text)], strict=True)))

    scores = []
    for text, *requests in tools:
        own = similarity(text)
        scores.append((own + max(map(similarity, requests))) / 2 if requests else own)
    return scores


def _default_encoder() -> Embed | None:
    with _LOCK:
        if "default" not in _ENCODER:
            _ENCODER["default"] = _load_minilm()
        return _ENCODER["default"]


def _load_minilm() -> Embed | None:
    try:
        from biomed_agent.errors import BiomedAgentError
        from biomed_agent.retrievers.embeddings import SentenceEmbeddingFunction

        function = SentenceEmbeddingFunction.from_settings()
    except (ImportError, BiomedAgentError):
        return None

    def encode(texts: list[str]) -> Any:
        return function.encode(texts).tolist()

    return encode


_WORD = re.compile(r"[a-z0-9]+")


def _overlap(query: str, texts: Sequence[str]) -> list[float]:
    words = set(_WORD.findall(query.lower()))
    return [len(words & set(_WORD.findall(text.lower()))) / (1 + len(words)) for text in texts]
