"""Read the model's chosen answer out of free text.

Chat models rarely answer with a bare letter: they write "Answer: C",
"(c)", "C. Lisinopril", "The answer is C) ...", "**B**" or just the option's
text. :func:`extract_choice` tries those forms from most to least explicit and
returns ``None`` when the text does not commit to exactly one option, so
unparsable answers are counted apart from wrong ones. Lower-case letters count
only when bracketed or punctuated ("(c)", "c."), never as the article "a".
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from biomed_agent.eval.items import TaskKind

__all__ = ["extract_answer", "extract_choice", "extract_yesno"]

_MARKUP = re.compile(r"[*_`#]+")
_ANSWER_CUE = r"\b(?i:answer)(?:\s+(?i:is|would\s+be|should\s+be))?\s*[:\-]?\s*(?i:option\s+)?"
_OPTION_CUE = r"\b(?i:option|choice)\s*[:\-]?\s*"
_LABELS = ("yes", "no", "maybe")


def _choice_patterns(letters: str) -> list[re.Pattern[str]]:
    upper, lower = re.escape(letters.upper()), re.escape(letters.lower())
    cued = [
        # "Answer: C", "the answer is (C)", "answer: (c)", "answer is c."; then "Option C"
        rf"{cue}(?:[\(\[]?([{upper}])\b|[\(\[]([{lower}])[\)\]]|([{lower}])(?:[).:]|$))"
        for cue in (_ANSWER_CUE, _OPTION_CUE)
    ]
    return [
        re.compile(cued[0]),
        # a reply that starts with the letter: "C", "C. text", "(C)", "c)", "B - text"
        re.compile(rf"^[\(\[]?([{upper}])(?:[\)\].:,]|\s+-|\s*$)"),
        re.compile(rf"^(?:[\(\[]([{lower}])[\)\]]|([{lower}])[).:])"),
        re.compile(cued[1]),
    ]


def _normalise(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def _matching_option(text: str, options: Mapping[str, str]) -> str | None:
    """The one option whose text the reply contains (longest wins over its own substrings)."""
    reply = f" {_normalise(text)} "
    found = {
        letter: norm
        for letter, option in options.items()
        if (norm := _normalise(option)) and f" {norm} " in reply
    }
    maximal = [
        letter
        for letter, norm in found.items()
        if not any(norm != other and f" {norm} " in f" {other} " for other in found.values())
    ]
    return maximal[0] if len(maximal) == 1 else None


def _drop_option_echo(reply: str, letters: str) -> str:
    """``reply`` without an echoed option list: lines "A.", "B. text", "(C) text"... naming
    two or more different options are the question's options repeated, not an answer."""
    line = re.compile(rf"^\s*[\(\[]?([{re.escape(letters)}])[\)\].:]")
    lines = reply.splitlines()
    named = {m.group(1) for row in lines if (m := line.match(row))}
    if len(named) < 2:
        return reply
    return "\n".join(row for row in lines if not line.match(row)).strip()


def extract_choice(text: str, options: Mapping[str, str]) -> str | None:
    """The option letter ``text`` commits to, or ``None`` when it names none or several.

    An echoed option list ("A.\nB.\nC.\nD." or the options with their texts) is never
    read as an answer: those lines are dropped before anything else is looked at.
    """
    letters = "".join(options)
    reply = _MARKUP.sub("", text).strip()
    if not reply or not options:
        return None
    reply = _drop_option_echo(reply, letters)
    if not reply:
        return None
    for pattern in _choice_patterns(letters):
        match = pattern.search(reply)
        if match:
            return next(group for group in match.groups() if group).upper()
    bracketed = set(re.findall(rf"\(([{re.escape(letters)}])\)", reply))
    if len(bracketed) == 1:
        return bracketed.pop()
    return _matching_option(reply, options)


def extract_yesno(text: str) -> str | None:
    """``yes``, ``no`` or ``maybe`` from a reply, or ``None`` when it is not clear which."""
    reply = _MARKUP.sub("", text).strip().lower()
    for pattern in (
        r"\banswer(?:\s+is)?\s*[:\-]?\s*(yes|no|maybe)\b",
        r"^\W*(yes|no|maybe)\b",
    ):
        match = re.search(pattern, reply)
        if match:
            return match.group(1)
    said = {label for label in _LABELS if re.search(rf"\b{label}\b", reply)}
    return said.pop() if len(said) == 1 else None


def extract_answer(kind: TaskKind, text: str, options: Mapping[str, str]) -> str | None:
    """The answer in ``text`` for a task of ``kind``; free-text answers are returned stripped."""
    if kind == "choice":
        return extract_choice(text, options)
    if kind == "yesno":
        return extract_yesno(text)
    return text.strip()
