"""molecule_qa / protein_qa check the question in tokens against the room the structure and
the answer leave in BioMedGPT-10B's 2,048-token window, before any encoder or generation
work, and agree with the chat model's own prompt limit."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage

from biomed_agent.errors import InvalidInputError
from biomed_agent.models.multimodal.chat import ChatBioMedGPT10B
from biomed_agent.models.multimodal.model import BioMedGPT10B
from biomed_agent.settings import Settings
from biomed_agent.tools.base import ToolSpec
from biomed_agent.tools.multimodal_tools import build_tools
from tests.helpers.tiny_biomedgpt10b import build_tiny_biomedgpt10b

# 1,500 residues: ESM reads 1,022 of them, so the protein takes 1,024 positions.
LONG_PROTEIN = ("MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPD" * 24)[:1500]
WORDS = "What does this protein do in the cell and why does it matter? "
REFUSED = re.compile(
    r"^question is (\d+) tokens, but beside this protein and 4 answer tokens only (\d+) fit "
    r"BioMedGPT-10B's 2048-token window: shorten it\.$"
)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_biomedgpt10b(tmp_path_factory.mktemp("tiny-10b"))


def specs(model_dir: Path, **overrides: Any) -> dict[str, ToolSpec]:
    values = {"biomedgpt10b_path": model_dir, "device": "cpu", "max_new_tokens": 4, **overrides}
    return {spec.name: spec for spec in build_tools(Settings(**values))}


@pytest.fixture
def no_model_work(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("the encoders ran for a question that cannot fit")

    monkeypatch.setattr(BioMedGPT10B, "encode_proteins", forbidden)
    monkeypatch.setattr(BioMedGPT10B, "encode_molecules", forbidden)
    yield


def chat_for(model_dir: Path) -> ChatBioMedGPT10B:
    return ChatBioMedGPT10B(model=str(model_dir), device_map="cpu", max_new_tokens=4)


def question_of(tokens: int, count: Any) -> str:
    """English text of about ``tokens`` tokens (by the model's tokenizer)."""
    text = ""
    while count(text + WORDS) <= tokens:
        text += WORDS
    for char in WORDS:
        if count(text + char) > tokens:
            break
        text += char
    return text.strip()


@pytest.mark.filterwarnings("ignore:protein 1 has 1,500 residues")
def test_a_question_that_cannot_fit_is_refused_before_model_work(
    model_dir: Path, no_model_work: None
) -> None:
    question = (WORDS * 40)[:2000]  # within the 2,000-character schema bound
    with pytest.raises(InvalidInputError) as caught:
        specs(model_dir)["protein_qa"].run({"protein": LONG_PROTEIN, "question": question})
    assert caught.value.input_name == "question"
    match = REFUSED.match(str(caught.value))
    assert match, str(caught.value)
    asked, left = int(match[1]), int(match[2])
    assert asked > left > 0


@pytest.mark.filterwarnings("ignore:protein 1 has 1,500 residues")
def test_the_token_bound_agrees_with_the_chat_models_own_limit(model_dir: Path) -> None:
    chat = chat_for(model_dir)
    _, _, count, _ = chat.prompt_counter()
    tool = specs(model_dir)["protein_qa"]
    with pytest.raises(InvalidInputError) as caught:
        tool.run({"protein": LONG_PROTEIN, "question": (WORDS * 40)[:2000]})
    match = REFUSED.match(str(caught.value))
    assert match
    left = int(match[2])
    over = question_of(left + 3, count)
    block = {"type": "protein", "sequence": LONG_PROTEIN}
    # the outside reference: the chat model itself (its prompt builder) refuses it too
    with pytest.raises(InvalidInputError, match="lower max_new_tokens"):
        chat.invoke([HumanMessage(content=[block, {"type": "text", "text": over}])])
    with pytest.raises(InvalidInputError, match=r"^question is"):
        tool.run({"protein": LONG_PROTEIN, "question": over})
    under = question_of(left - 3, count)
    assert tool.run({"protein": LONG_PROTEIN, "question": under})["answer"] is not None


def test_a_structure_that_fills_the_window_names_the_structure(
    model_dir: Path, no_model_work: None
) -> None:
    tools = specs(model_dir, max_context=300)
    with pytest.raises(InvalidInputError, match=r"^this protein alone fills") as caught:
        tools["protein_qa"].run({"protein": LONG_PROTEIN[:400], "question": "What is it?"})
    assert caught.value.input_name == "protein"
