"""Padded batch generation in ChatBioMedGPT: batched answers equal one-at-a-time answers."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage
from pydantic import BaseModel, Field, ValidationError

from biomed_agent.errors import GenerationError
from biomed_agent.models import batching
from biomed_agent.models.batching import scheduler_for
from biomed_agent.models.chat_model import ChatBioMedGPT
from tests.helpers.tiny_llama import single_torch_thread

PROMPTS = [
    "What is aspirin?",
    "Hi",
    "The tumour suppressor p53 binds DNA and regulates the cell cycle and apoptosis. Why?",
    "Ibuprofen inhibits cyclooxygenase enzymes",
    "Proteins are chains of amino acids",
]


@pytest.fixture(scope="module", autouse=True)
def _one_thread() -> Iterator[None]:
    with single_torch_thread():
        yield


@pytest.fixture(autouse=True)
def _patient_gathering(monkeypatch: pytest.MonkeyPatch) -> None:
    """Announced jobs always arrive together here, however loaded the test machine is."""
    monkeypatch.setattr(batching, "GATHER_S", 5.0)


@pytest.fixture(scope="module")
def chat(tiny_llama_dir: Path) -> ChatBioMedGPT:
    return ChatBioMedGPT(model=str(tiny_llama_dir), device_map="cpu", max_new_tokens=16)


@pytest.fixture
def batch_rows(chat: ChatBioMedGPT, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Rows of every ``generate`` call the model makes during the test."""
    model = chat.loaded().model
    original = model.generate
    rows: list[int] = []

    def counting(*args: Any, **kwargs: Any) -> Any:
        rows.append(int(kwargs["input_ids"].shape[0]))
        return original(*args, **kwargs)

    monkeypatch.setattr(model, "generate", counting)
    return rows


def same_answer(batched: AIMessage, alone: AIMessage) -> None:
    assert batched.content == alone.content
    assert batched.usage_metadata == alone.usage_metadata
    assert batched.response_metadata["finish_reason"] == alone.response_metadata["finish_reason"]


def test_batch_decodes_together_and_matches_one_at_a_time(
    chat: ChatBioMedGPT, batch_rows: list[int]
) -> None:
    alone = [chat.invoke(prompt) for prompt in PROMPTS]
    assert batch_rows == [1] * len(PROMPTS)
    batch_rows.clear()
    batched = chat.batch(PROMPTS)
    assert batch_rows == [len(PROMPTS)]  # one left-padded generate call
    for together, single in zip(batched, alone, strict=True):
        same_answer(together, single)


def test_batches_are_capped_at_max_batch_size(
    tiny_llama_dir: Path, chat: ChatBioMedGPT, batch_rows: list[int]
) -> None:
    small = ChatBioMedGPT(
        model=str(tiny_llama_dir), device_map="cpu", max_new_tokens=16, max_batch_size=2
    )
    assert small.loaded() is chat.loaded()
    batched = small.batch(PROMPTS)
    assert sorted(batch_rows) == [1, 2, 2]
    for together, prompt in zip(batched, PROMPTS, strict=True):
        same_answer(together, chat.invoke(prompt))


async def test_abatch_decodes_together(chat: ChatBioMedGPT, batch_rows: list[int]) -> None:
    batched = await chat.abatch(PROMPTS[:3])
    assert batch_rows == [3]
    for together, prompt in zip(batched, PROMPTS, strict=False):
        same_answer(together, chat.invoke(prompt))


def test_a_row_ends_at_its_own_stop_string(chat: ChatBioMedGPT, batch_rows: list[int]) -> None:
    free = chat.invoke(PROMPTS[0], max_new_tokens=24)
    assert isinstance(free.content, str) and len(free.content) > 4
    stop = free.content[2:4]  # a stop string this answer is known to reach
    expected = {
        "stopped": chat.invoke(PROMPTS[0], max_new_tokens=24, stop=[stop]),
        "free": chat.invoke(PROMPTS[2], max_new_tokens=24),
    }
    batch_rows.clear()
    results: dict[str, AIMessage] = {}

    def ask(name: str, prompt: str, **kwargs: Any) -> None:
        results[name] = chat.invoke(prompt, max_new_tokens=24, **kwargs)

    threads = [
        threading.Thread(target=ask, args=("stopped", PROMPTS[0]), kwargs={"stop": [stop]}),
        threading.Thread(target=ask, args=("free", PROMPTS[2])),
    ]
    with scheduler_for(chat.loaded()).expect(2):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert batch_rows == [2]
    assert stop not in results["stopped"].text
    for name, message in expected.items():
        same_answer(results[name], message)


def test_a_reader_leaving_ends_only_its_row(chat: ChatBioMedGPT, batch_rows: list[int]) -> None:
    expected = chat.invoke(PROMPTS[3], max_new_tokens=200, stop=["\x00"])
    batch_rows.clear()
    outcome: dict[str, AIMessage] = {}
    with scheduler_for(chat.loaded()).expect(2):
        other = threading.Thread(
            target=lambda: outcome.setdefault(
                "full", chat.invoke(PROMPTS[3], max_new_tokens=200, stop=["\x00"])
            )
        )
        other.start()
        stream = chat.stream(PROMPTS[1], max_new_tokens=200, stop=["\x00"])
        next(stream)
        stream.close()  # this row ends; its batch mate decodes on to the end
    other.join()
    assert batch_rows == [2]
    same_answer(outcome["full"], expected)


def test_constrained_tool_calls_are_decoded_alone(
    chat: ChatBioMedGPT, batch_rows: list[int]
) -> None:
    class Lookup(BaseModel):
        """Look a protein up."""

        accession: str = Field(min_length=1, max_length=12)

    bound = chat.bind_tools([Lookup], tool_choice="any", max_new_tokens=64)  # closes by itself
    replies = bound.batch(PROMPTS[:3])
    assert batch_rows == [1, 1, 1]
    for reply in replies:
        assert isinstance(reply, AIMessage)
        (call,) = reply.tool_calls
        Lookup.model_validate(call["args"])


def test_seeded_samples_are_reproducible_in_a_batch(
    chat: ChatBioMedGPT, batch_rows: list[int]
) -> None:
    options = {"temperature": 0.9, "seed": 7}
    batched = chat.batch(PROMPTS[:3], **options)
    assert batch_rows == [1, 1, 1]  # decoded alone: a seeded sample must not depend on mates
    for together, prompt in zip(batched, PROMPTS, strict=False):
        same_answer(together, chat.invoke(prompt, **options))


def test_a_seeded_sample_leaves_the_process_rng_as_it_was(chat: ChatBioMedGPT) -> None:
    import torch

    first = chat.invoke(PROMPTS[0], temperature=0.9, seed=7)
    torch.manual_seed(1234)
    before = torch.get_rng_state()
    again = chat.invoke(PROMPTS[0], temperature=0.9, seed=7)
    assert torch.equal(torch.get_rng_state(), before)  # no process-wide reseed per call
    same_answer(again, first)


def test_a_failed_generate_reaches_every_row(
    chat: ChatBioMedGPT, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("device lost")

    monkeypatch.setattr(chat.loaded().model, "generate", broken)
    outcomes = chat.batch(PROMPTS[:3], return_exceptions=True)
    # translated at the generation boundary: typed, naming the model and the cause
    assert all(isinstance(outcome, GenerationError) for outcome in outcomes)
    assert all(str(o).endswith("failed: RuntimeError: device lost") for o in outcomes)
    assert all(isinstance(o.__cause__, RuntimeError) for o in outcomes)  # type: ignore[union-attr]


def test_the_worker_thread_exits_when_idle(
    chat: ChatBioMedGPT, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batching, "IDLE_S", 0.1)
    chat.invoke("hi", max_new_tokens=2)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _workers():
        time.sleep(0.05)
    assert not _workers()


def _workers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "biomedgpt-generate"]


def test_max_batch_size_below_one_is_refused(tiny_llama_dir: Path) -> None:
    with pytest.raises(ValidationError, match="max_batch_size"):
        ChatBioMedGPT(model=str(tiny_llama_dir), max_batch_size=0)
