"""ChatBioMedGPT10B: molecules and proteins in chat turns, via ChatBioMedGPT's generation path."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest
import torch
from langchain_core.messages import AIMessage, HumanMessage
from pydantic import BaseModel, Field

from biomed_agent.errors import (
    InvalidInputError,
    InvalidMoleculeError,
    InvalidSequenceError,
    ModelLoadError,
)
from biomed_agent.models.chat_format import ContextTruncatedWarning
from biomed_agent.models.multimodal.chat import ChatBioMedGPT10B
from biomed_agent.models.multimodal.loading import load_biomedgpt10b
from biomed_agent.models.multimodal.model import BioMedGPT10B, MultimodalPrompt, SplicedBatch
from biomed_agent.prompts import load_prompt_data
from tests.helpers.tiny_biomedgpt10b import build_tiny_biomedgpt10b

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"
CAFFEINE = "Cn1cnc2c1c(=O)n(C)c(=O)n2C"
INSULIN_B = "FVNQHLCGSHLVEALYLVCGERGFFYTPKT"
NEW_TOKENS = 6
BOTH = {"sequence": "MK", "accession": "P30542"}


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_biomedgpt10b(tmp_path_factory.mktemp("chat-10b"))


@pytest.fixture(scope="module")
def model(tiny_dir: Path) -> BioMedGPT10B:
    return load_biomedgpt10b(tiny_dir, device_map="cpu")


@pytest.fixture
def chat(tiny_dir: Path) -> ChatBioMedGPT10B:
    return ChatBioMedGPT10B(model=str(tiny_dir), device_map="cpu", max_new_tokens=NEW_TOKENS)


@dataclass
class Sent:
    """What ChatBioMedGPT10B handed to the LM's ``generate``."""

    input_ids: torch.Tensor
    inputs_embeds: torch.Tensor
    answer: str


@contextmanager
def recording(chat: ChatBioMedGPT10B) -> Iterator[list[dict[str, torch.Tensor]]]:
    """Record the ``input_ids``/``inputs_embeds`` of every LM ``generate`` call."""
    llm = chat._runtime().model.llm
    original = llm.generate
    calls: list[dict[str, torch.Tensor]] = []

    def spy(**options: Any) -> Any:
        calls.append({key: options[key] for key in ("input_ids", "inputs_embeds")})
        return original(**options)

    llm.generate = spy  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        del llm.generate


def sent(chat: ChatBioMedGPT10B, *args: Any, **kwargs: Any) -> Sent:
    """Invoke ``chat`` and record the LM inputs of that call."""
    with recording(chat) as calls:
        answer = chat.invoke(*args, **kwargs).text
    return Sent(calls[0]["input_ids"], calls[0]["inputs_embeds"], answer)


def openbiomed_inputs(
    model: BioMedGPT10B, turn: str, molecules: tuple[str, ...] = (), proteins: tuple[str, ...] = ()
) -> SplicedBatch:
    """OpenBioMed's chat prompt for one human turn, spliced by :meth:`BioMedGPT10B.splice`."""
    system = load_prompt_data("biomedgpt_conversation")["system_multimodal"]
    prompt = MultimodalPrompt(f"{system}### Human: {turn} ### Assistant: ", molecules, proteins)
    return model.splice([prompt])


def assert_same_inputs(got: Sent, expected: SplicedBatch | Sent) -> None:
    assert got.input_ids.tolist() == expected.input_ids.tolist()
    torch.testing.assert_close(got.inputs_embeds, expected.inputs_embeds, rtol=1e-4, atol=1e-5)


def test_call_arguments_splice_exactly_like_openbiomeds_prompt(
    chat: ChatBioMedGPT10B, model: BioMedGPT10B
) -> None:
    got = sent(chat, "What is this?", molecules=[ASPIRIN], proteins=[INSULIN_B])
    # OpenBioMed's Conversation: append_molecule, append_protein, ask -> two Human turns
    turn = (
        "<molecule><moleculeHere></molecule> ### Human: <protein><proteinHere></protein> "
        "What is this?"
    )
    expected = openbiomed_inputs(model, turn, (ASPIRIN,), (INSULIN_B,))
    assert_same_inputs(got, expected)
    ids = model.generate(expected, max_new_tokens=NEW_TOKENS, do_sample=False)
    assert got.answer.strip() == model.tokenizer.decode(ids[0], skip_special_tokens=True).strip()


def test_content_blocks_equal_call_arguments(chat: ChatBioMedGPT10B) -> None:
    blocks = HumanMessage(
        content=[
            {"type": "molecule", "smiles": CAFFEINE},
            {"type": "protein", "sequence": INSULIN_B},
            {"type": "text", "text": "Does it bind?"},
        ]
    )
    by_arguments = sent(chat, "Does it bind?", molecules=[CAFFEINE], proteins=[INSULIN_B])
    assert_same_inputs(sent(chat, [blocks]), by_arguments)


def test_molecule_only_protein_only_and_none(chat: ChatBioMedGPT10B, model: BioMedGPT10B) -> None:
    assert_same_inputs(
        sent(chat, "Describe it.", molecules=[CAFFEINE]),
        openbiomed_inputs(model, "<molecule><moleculeHere></molecule> Describe it.", (CAFFEINE,)),
    )
    assert_same_inputs(
        sent(chat, "Describe it.", proteins=[INSULIN_B]),
        openbiomed_inputs(model, "<protein><proteinHere></protein> Describe it.", (), (INSULIN_B,)),
    )
    assert_same_inputs(sent(chat, "Describe it."), openbiomed_inputs(model, "Describe it."))


def test_written_placeholders_are_filled_in_order(
    chat: ChatBioMedGPT10B, model: BioMedGPT10B
) -> None:
    question = "Compare <moleculeHere> with <moleculeHere>."
    written = sent(chat, question, molecules=[ASPIRIN, CAFFEINE])
    expected = (
        "Compare <molecule><moleculeHere></molecule> with <molecule><moleculeHere></molecule> ."
    )
    assert_same_inputs(written, openbiomed_inputs(model, expected, (ASPIRIN, CAFFEINE)))
    swapped = sent(chat, question, molecules=[CAFFEINE, ASPIRIN])
    assert swapped.input_ids.tolist() != written.input_ids.tolist()  # 13 vs 14 atoms first


def test_streaming_gives_the_invoke_text(chat: ChatBioMedGPT10B) -> None:
    streamed = "".join(chunk.text for chunk in chat.stream("What is it?", molecules=[ASPIRIN]))
    assert streamed == chat.invoke("What is it?", molecules=[ASPIRIN]).text


def test_truncated_history_drops_the_old_turns_features(tiny_dir: Path) -> None:
    long = ChatBioMedGPT10B(model=str(tiny_dir), device_map="cpu", max_new_tokens=NEW_TOKENS)
    small = ChatBioMedGPT10B(
        model=str(tiny_dir), device_map="cpu", max_new_tokens=NEW_TOKENS, context_window=160
    )
    history = [
        HumanMessage(
            content=[
                {"type": "protein", "sequence": INSULIN_B * 2},
                {"type": "text", "text": "What is it?"},
            ]
        ),
        AIMessage(content="A peptide."),
        HumanMessage(
            content=[
                {"type": "molecule", "smiles": CAFFEINE},
                {"type": "text", "text": "And this?"},
            ]
        ),
    ]
    with pytest.warns(ContextTruncatedWarning):
        truncated = sent(small, history)
    assert_same_inputs(truncated, sent(long, history[1:]))  # the protein turn went


def test_tool_calls_are_schema_valid_with_spliced_inputs(chat: ChatBioMedGPT10B) -> None:
    class Lookup(BaseModel):
        """Look a compound up by name."""

        # an enum, so the tiny random model's call closes within the budget
        name: Literal["aspirin", "caffeine"] = Field(description="compound name")

    bound = chat.bind_tools([Lookup], tool_choice="any")
    message = bound.invoke("Which compound is this?", molecules=[ASPIRIN], max_new_tokens=64)
    assert len(message.tool_calls) == 1
    Lookup.model_validate(message.tool_calls[0]["args"])


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.invoke("What does it do?", proteins=["P30542"]),
        lambda c: c.invoke([HumanMessage(content=[{"type": "protein", "accession": "P30542"}])]),
    ],
)
def test_an_accession_is_refused_before_loading_and_says_what_to_pass(
    tmp_path: Path, call: Any
) -> None:
    """The model fetches nothing: the caller (protein_qa, the UniProtQA eval) resolves it."""
    missing = ChatBioMedGPT10B(model=str(tmp_path / "no-such-model"), device_map="cpu")
    with pytest.raises(InvalidInputError, match=r"protein 1 is 'P30542', a UniProt accession.*"
                       r"pass the sequence .*protein_qa tool") as raised:  # fmt: skip
        call(missing)
    assert raised.value.input_name == "proteins"


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda c: c.invoke("Compare <moleculeHere> and <moleculeHere>", molecules=["C"]),
         InvalidInputError, r"last human message has 2 <moleculeHere> placeholder\(s\) but 1 "),
        (lambda c: c.invoke("Is <moleculeHere> toxic?", molecules=["C", "CC"]),
         InvalidInputError, r"1 <moleculeHere> placeholder\(s\) but 2 molecule\(s\).*add a <mol"),
        (lambda c: c.invoke("What is <proteinHere>?"),
         InvalidInputError, r"message 1 has 1 <proteinHere> placeholder\(s\) but 0 protein\(s\)"),
        (lambda c: c.invoke("What is it?", molecules=["C1CC"]),
         InvalidMoleculeError, r"'C1CC'"),
        (lambda c: c.invoke([HumanMessage(content=[{"type": "protein", "sequence": "MKJ"}])]),
         InvalidSequenceError, r"protein 1 has 'J' at position 3"),
        (lambda c: c.invoke("What is [PAD] here?", molecules=["C"]),
         InvalidInputError, r"message 1 contains '\[PAD\]'"),
        (lambda c: c.invoke([HumanMessage(content=[{"type": "image", "url": "x.png"}, "What?"])]),
         InvalidInputError, r"'image' content block"),
        (lambda c: c.invoke([HumanMessage(content=[{"type": "protein", **BOTH}])]),
         InvalidInputError, r"without exactly one string 'sequence' or 'accession'"),
        (lambda c: c.invoke("What?", molecules="CCO"),
         InvalidInputError, r"molecules must be a list of strings"),
        (lambda c: c.invoke([AIMessage(content="Hi")], molecules=["C"]),
         InvalidInputError, r"no human message to attach them to"),
    ],
)  # fmt: skip
def test_bad_input_in_a_chat_turn_is_named(
    chat: ChatBioMedGPT10B, call: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        call(chat)  # type: ignore[operator]


def test_over_long_protein_in_a_turn_warns(chat: ChatBioMedGPT10B) -> None:
    with pytest.warns(UserWarning, match=r"protein 1 has 1,200 residues"):
        chat.invoke("What is it?", proteins=["A" * 1200])


def test_quantization_is_refused_for_the_10b_model(tiny_dir: Path) -> None:
    chat = ChatBioMedGPT10B(model=str(tiny_dir), device_map="cpu", load_in_4bit=True)
    with pytest.raises(ModelLoadError, match=r"load_in_4bit is not supported for BioMedGPT-10B"):
        chat.invoke("Hi")


def test_unconfigured_path_is_a_model_load_error(tmp_path: Path) -> None:
    chat = ChatBioMedGPT10B(model=str(tmp_path / "missing"), device_map="cpu")
    with pytest.raises(ModelLoadError, match=r"missing.*does not exist"):
        chat.invoke("Hi")


def test_the_answer_is_json_serialisable_metadata(chat: ChatBioMedGPT10B) -> None:
    answer = chat.invoke("Hi", molecules=["C"])
    assert answer.response_metadata["model_name"].startswith("BioMedGPT-10B")
    json.dumps(answer.response_metadata)


async def test_async_invoke_splices_like_invoke(chat: ChatBioMedGPT10B) -> None:
    with recording(chat) as calls:
        asynchronous = await chat.ainvoke("What is it?", molecules=[ASPIRIN])
    synchronous = sent(chat, "What is it?", molecules=[ASPIRIN])
    assert asynchronous.text == synchronous.answer
    assert_same_inputs(Sent(**calls[0], answer=asynchronous.text), synchronous)
