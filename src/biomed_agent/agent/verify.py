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

__all__ = ["check_answer", "numbers_in", "strip_unsupported", "unsupported_numbers"]

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


def check_answer(answer: str, evidence: list[Evidence], extra_sources: Iterable[str]) -> list[str]:
    """What is wrong with ``answer``: unsupported numbers, dangling or missing citations.

    ``extra_sources`` are texts numbers may also come from (the question, error messages).
    """
    if not answer.strip():
        return ["the answer is empty"]
    problems: list[str] = []
    numbers = unsupported_numbers(answer, _sources(evidence, extra_sources))
    if numbers:
        problems.append(
            "these numbers appear in no evidence: "
            + ", ".join(numbers)
            + "; use only values from the evidence or leave them out"
        )
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
