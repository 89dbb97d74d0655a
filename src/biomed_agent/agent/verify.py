"""Checks that an answer says nothing the evidence does not: numbers and citations.

A number in the answer is supported when some number in the evidence (or in
the question) rounds to it at the precision the answer wrote: ``180.16`` is
supported by ``180.159``, ``180.2`` too, ``181`` is not. Citation markers are
not numbers of the answer. Digits inside identifiers (``P30542``, ``IC50``,
``C9H8O4``) are part of a word and are not checked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from biomed_agent.agent.citations import CITATION, cited_numbers
from biomed_agent.agent.state import Evidence

__all__ = [
    "check_answer",
    "is_non_answer",
    "numbers_in",
    "strip_unsupported",
    "unsupported_numbers",
]

_FREE_TEXT_CHARS = 80
"""A string field longer than this is record prose (a description), not a structured value."""
_QUOTE = re.compile(r"^\s*>")
_DATA_TAG = re.compile(r"</?data>")
_NEGATED_KIND = re.compile(
    r"\b([A-Za-z0-9-]{3,})\s+is\s+not\s+an?\s+(protein|compound|drug|molecule|gene|receptor|"
    r"enzyme)\b",
    re.IGNORECASE,
)
_KIND_OF_SOURCE = {"uniprot": {"protein", "gene", "receptor", "enzyme"},
                   "pubchem": {"compound", "drug", "molecule"}}  # fmt: skip

_NUMBER = re.compile(
    r"(?<![A-Za-z0-9_.\-−])([-−]?\d+(?:,\d{3})*(?:\.\d+)?)(?![A-Za-z0-9_])(?!\.\d)(?!-[A-Za-z])"
)


def numbers_in(text: str) -> list[tuple[str, float, int]]:
    """Numbers written in ``text`` as (as written, value, decimals), citation markers excluded."""
    found = []
    for match in _NUMBER.finditer(CITATION.sub(" ", text)):
        written = match.group(1)
        plain = written.replace(",", "").replace("−", "-")
        decimals = len(plain.split(".")[1]) if "." in plain else 0
        found.append((written, float(plain), decimals))
    return found


def _supported(value: float, decimals: int, known: Iterable[float]) -> bool:
    tolerance = 0.5 * 10**-decimals + 1e-9
    return any(abs(value - other) <= tolerance for other in known)


def unsupported_numbers(answer: str, sources: Iterable[str]) -> list[str]:
    """Numbers of ``answer`` that no number in ``sources`` rounds to, as written."""
    known = {value for text in sources for _, value, _ in numbers_in(text)}
    missing: list[str] = []
    for written, value, decimals in numbers_in(answer):
        if not _supported(value, decimals, known) and written not in missing:
            missing.append(written)
    return missing


def _sources(evidence: Iterable[Evidence], extra: Iterable[str]) -> list[str]:
    texts = list(extra)
    for item in evidence:
        texts.append(item["text"])
        texts.append(json.dumps(item["details"], default=str))
        texts.append(item["title"])
    return texts


def _structured(evidence: Iterable[Evidence], extra: Iterable[str]) -> list[str]:
    """Texts a number may come from outside a quote: tool results, record fields, the question."""
    texts = list(extra)
    for item in evidence:
        if item["source"] == "tool":
            texts.append(item["text"])
        fields = {
            k: v
            for k, v in item["details"].items()
            if not (isinstance(v, str) and len(v) > _FREE_TEXT_CHARS)
        }
        texts.append(json.dumps(fields, default=str))
    return texts


def _contradictions(answer: str, evidence: Iterable[Evidence]) -> list[str]:
    """ "X is not a protein" when the evidence holds X's UniProt record (and the like)."""
    found = []
    records = [(item["source"], str(item["record_id"] or ""), item["title"]) for item in evidence]
    for match in _NEGATED_KIND.finditer(answer):
        name, kind = match.group(1).lower(), match.group(2).lower()
        for source, record_id, title in records:
            if kind in _KIND_OF_SOURCE.get(source, set()) and name in (
                record_id.lower(),
                title.lower(),
            ):
                found.append(match.group(0))
    return found


def is_non_answer(answer: str, question: str, prompt: str = "") -> str | None:
    """Why ``answer`` is no answer (empty, echoed prompt or question, raw data), else None.

    ``prompt``: the text the model was given; an answer repeating one of its lines of
    40+ characters (instructions, evidence headers) echoes the prompt.
    """
    text = answer.strip()
    if not text or not re.search(r"[A-Za-z]{2}", text):
        return "it was empty"
    if _DATA_TAG.search(text):
        return "it repeated raw data blocks of the prompt"
    if text.strip(" ?.").lower() == question.strip(" ?.").lower():
        return "it repeated the question"
    if len(text.split()) < 3:
        return "it was too short to answer anything"
    echoed = [ln.strip() for ln in prompt.splitlines() if len(ln.strip()) >= 40]
    if any(line in text for line in echoed):
        return "it echoed the prompt"
    return None


def check_answer(answer: str, evidence: list[Evidence], extra_sources: Iterable[str]) -> list[str]:
    """What is wrong with ``answer``: unsupported numbers, dangling or missing citations.

    ``extra_sources`` are texts numbers may also come from (the question, error messages).
    """
    if not answer.strip():
        return ["the answer is empty"]
    problems: list[str] = []
    extra = list(extra_sources)
    numbers = unsupported_numbers(answer, _sources(evidence, extra))
    if numbers:
        problems.append(
            "these numbers appear in no evidence: "
            + ", ".join(numbers)
            + "; use only values from the evidence or leave them out"
        )
    claims = "\n".join(line for line in answer.splitlines() if not _QUOTE.match(line))
    prose_only = [
        n for n in unsupported_numbers(claims, _structured(evidence, extra)) if n not in numbers
    ]
    if prose_only:
        problems.append(
            "these numbers come only from record free text, which is not evidence for a "
            f"value: {', '.join(prose_only)}; quote the record (> ...) or use a structured field"
        )
    if _DATA_TAG.search(answer):
        problems.append("the answer repeats raw <data> blocks of the prompt; answer in prose")
    contradicted = _contradictions(answer, evidence)
    if contradicted:
        problems.append(f"the answer contradicts the evidence: {'; '.join(contradicted)}")
    dangling = [n for n in cited_numbers(answer) if not 1 <= n <= len(evidence)]
    if dangling:
        shown = ", ".join(f"[{n}]" for n in dangling)
        problems.append(
            f"these citations point at no evidence: {shown}; cite only [1] to [{len(evidence)}]"
            if evidence
            else f"the answer cites {shown} but there is no evidence; remove the citations"
        )
    if evidence and not cited_numbers(answer):
        problems.append("the answer cites no source; add [n] after each claim")
    return problems


def strip_unsupported(answer: str, evidence: list[Evidence], extra_sources: Iterable[str]) -> str:
    """The answer without the lines that carry an unsupported number or a dangling citation."""
    sources = _sources(evidence, extra_sources)
    kept = [
        line
        for line in answer.splitlines()
        if not unsupported_numbers(line, sources)
        and all(1 <= n <= len(evidence) for n in cited_numbers(line))
    ]
    return "\n".join(kept).strip() + "\n"
