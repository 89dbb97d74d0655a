"""Answer extraction on the ways real chat models phrase (or fail to give) an answer."""

from __future__ import annotations

import pytest

from biomed_agent.eval import extract_answer, extract_choice, extract_yesno

OPTIONS = {
    "A": "Aspirin",
    "B": "Heparin",
    "C": "Aspirin and heparin",
    "D": "Warfarin",
}


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("C", "C"),
        ("Answer: C", "C"),
        ("answer:c.", "C"),
        ("(c)", "C"),
        ("C.", "C"),
        ("c) heparin", "C"),
        ("The answer is C) Aspirin and heparin, because both are needed.", "C"),
        ("The correct answer is: **D. Warfarin**", "D"),
        ("**B**", "B"),
        ("Option d", "D"),
        ("Option A is tempting, but the answer is C.", "C"),
        ("choice: B", "B"),
        ("B - heparin is an anticoagulant", "B"),
        ("I think (B) is right here.", "B"),
        ("[A]", "A"),
        ("  \n Answer:\n  (B)", "B"),
        # option text instead of a letter; the longer option wins over its substring
        ("Warfarin is the drug of choice.", "D"),
        ("Aspirin and heparin", "C"),
        ("aspirin", "A"),
    ],
)
def test_choice_is_read(reply: str, expected: str) -> None:
    assert extract_choice(reply, OPTIONS) == expected


@pytest.mark.parametrize(
    "reply",
    [
        "",
        "   ",
        "I am not sure.",
        "The answer is a drug that thins blood.",  # the article "a" is not option A
        "A or B?",
        "Answer: Acetaminophen",  # not an option
        "Both (A) and (B) could work",
        "Heparin or warfarin",
    ],
)
def test_unparsable_choice_is_none(reply: str) -> None:
    assert extract_choice(reply, OPTIONS) is None


def test_letters_outside_the_options_are_not_read() -> None:
    assert extract_choice("Answer: E", OPTIONS) is None
    assert extract_choice("Answer: E", {**OPTIONS, "E": "Clopidogrel"}) == "E"


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("Yes", "yes"),
        ("yes.", "yes"),
        ("No, the trial found no difference.", "no"),
        ("Answer: maybe", "maybe"),
        ("The answer is no", "no"),
        ("**Maybe** - the evidence is mixed", "maybe"),
        ("Based on the abstract, the answer is yes: it improved survival.", "yes"),
        ("The results suggest yes.", "yes"),
    ],
)
def test_yesno_is_read(reply: str, expected: str) -> None:
    assert extract_yesno(reply) == expected


@pytest.mark.parametrize(
    "reply", ["", "It depends on the population.", "There is no clear evidence, maybe later."]
)
def test_unclear_yesno_is_none(reply: str) -> None:
    assert extract_yesno(reply) is None


def test_extract_answer_dispatches_on_kind() -> None:
    assert extract_answer("choice", "Answer: B", OPTIONS) == "B"
    assert extract_answer("yesno", "Maybe.", {}) == "maybe"
    assert extract_answer("text", "  It is an NSAID.\n", {}) == "It is an NSAID."


def test_an_echoed_option_list_is_never_an_answer() -> None:
    from biomed_agent.eval.extract import extract_choice

    options = {"A": "Aspirin", "B": "Ibuprofen", "C": "Lisinopril", "D": "Metformin"}
    assert extract_choice("A.\nB.\nC.\nD.", options) is None
    assert extract_choice("A. Aspirin\nB. Ibuprofen\nC. Lisinopril\nD. Metformin", options) is None
    echoed_then_answer = "A. Aspirin\nB. Ibuprofen\nC. Lisinopril\nD. Metformin\nAnswer: C"
    assert extract_choice(echoed_then_answer, options) == "C"
    assert extract_choice("C. Lisinopril", options) == "C"  # one option line is an answer
