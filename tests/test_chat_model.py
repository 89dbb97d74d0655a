"""ChatBioMedGPT on a tiny random Llama loaded through the real ``from_pretrained`` path."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.tools import tool
from pydantic import BaseModel, Field, ValidationError

from biomed_agent.errors import ConfigurationError, InvalidInputError, ModelLoadError
from biomed_agent.models import init_biomed_model
from biomed_agent.models.chat_format import ContextTruncatedWarning
from biomed_agent.models.chat_model import ChatBioMedGPT
from biomed_agent.models.remote import ChatBioMedGPTRemote
from biomed_agent.settings import Settings
from tests.helpers.tiny_llama import TINY_CORPUS, single_torch_thread


@pytest.fixture(scope="module", autouse=True)
def _one_thread() -> Iterator[None]:
    with single_torch_thread():
        yield


@pytest.fixture(scope="module")
def chat(tiny_llama_dir: Path) -> ChatBioMedGPT:
    return ChatBioMedGPT(model=str(tiny_llama_dir), device_map="cpu", max_new_tokens=24)


class Properties(BaseModel):
    """Compute properties of a molecule."""

    smiles: str = Field(min_length=1)
    which: list[Literal["logp", "tpsa", "mw", "hbd"]] = Field(min_length=1, max_length=3)
    round_to: int = Field(default=2, ge=0, le=6)


class Target(BaseModel):
    organism: Literal["human", "mouse"]
    accession: str


class Compare(BaseModel):
    """Compare a molecule's binding to a protein target."""

    target: Target
    threshold: float
    strict: bool = False


@tool(args_schema=Properties)
def properties(smiles: str, which: list[str], round_to: int = 2) -> str:
    """Compute properties of a molecule."""
    return "{}"


@tool(args_schema=Compare)
def compare(target: Target, threshold: float, strict: bool = False) -> str:
    """Compare a molecule's binding to a protein target."""
    return "{}"


SCHEMAS = {"properties": Properties, "compare": Compare}

_ROOMY = 400
"""Tokens within which the random model closes its JSON strings by chance."""


def random_prompt(rng: random.Random) -> str:
    words = " ".join(TINY_CORPUS).split()
    return " ".join(rng.choice(words) for _ in range(rng.randint(1, 12)))


def test_stream_yields_the_same_text_as_invoke(chat: ChatBioMedGPT) -> None:
    for options in ({}, {"temperature": 0.9, "top_p": 0.95, "seed": 11}):
        message = chat.invoke("What does p53 do?", **options)
        chunks = list(chat.stream("What does p53 do?", **options))
        assert message.content
        assert "".join(str(c.content) for c in chunks) == message.content
        assert chunks[-1].chunk_position == "last"
        assert chunks[-1].usage_metadata == message.usage_metadata


async def test_async_paths_match_sync(chat: ChatBioMedGPT) -> None:
    expected = chat.invoke("Tell me about ibuprofen").content
    assert (await chat.ainvoke("Tell me about ibuprofen")).content == expected
    pieces = [str(c.content) async for c in chat.astream("Tell me about ibuprofen")]
    assert "".join(pieces) == expected


def test_usage_and_metadata(chat: ChatBioMedGPT, tiny_llama_dir: Path) -> None:
    message = chat.invoke([HumanMessage("hi")], max_new_tokens=7)
    prompt = "You are working as an excellent assistant in biology. ### Human: hi ### Assistant: "
    expected_input = len(chat.loaded().tokenizer(prompt).input_ids)
    usage = message.usage_metadata
    assert usage is not None
    assert usage["input_tokens"] == expected_input
    assert 1 <= usage["output_tokens"] <= 7
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert message.response_metadata["model_name"] == str(tiny_llama_dir)
    assert message.response_metadata["finish_reason"] in ("stop", "length")


def test_stop_strings_end_the_answer(chat: ChatBioMedGPT) -> None:
    full = str(chat.invoke("Describe aspirin", max_new_tokens=40).content)
    start = next(i for i in range(4, len(full) - 3) if full[i : i + 3].isalnum())
    stop = full[start : start + 3]
    expected = full[: full.find(stop)].strip()
    cut = chat.invoke("Describe aspirin", max_new_tokens=40, stop=[stop])
    assert cut.content == expected
    assert (
        "".join(
            str(c.content) for c in chat.stream("Describe aspirin", max_new_tokens=40, stop=[stop])
        )
        == expected
    )
    assert cut.usage_metadata is not None and cut.usage_metadata["output_tokens"] < 40
    assert cut.response_metadata["finish_reason"] == "stop"


def test_hundred_random_prompts_give_parseable_valid_tool_calls(chat: ChatBioMedGPT) -> None:
    bound = chat.bind_tools([properties, compare], tool_choice="any")
    rng = random.Random(0)
    closed_by_budget = 0
    for seed in range(100):
        message = bound.invoke(random_prompt(rng), temperature=1.0, seed=seed, max_new_tokens=16)
        assert message.usage_metadata is not None
        if message.usage_metadata["output_tokens"] > 16:
            # Force-closed by the closing mode: still schema-valid JSON, but cut short, so it
            # is a `length` finish and never an accepted call.
            closed_by_budget += 1
            assert message.tool_calls == []
            assert message.response_metadata["finish_reason"] == "length"
            (cut,) = message.invalid_tool_calls
            assert "force-closed" in str(cut["error"])
            SCHEMAS[str(cut["name"])].model_validate(json.loads(str(cut["args"])))
            continue
        assert message.invalid_tool_calls == []
        (call,) = message.tool_calls
        SCHEMAS[call["name"]].model_validate(call["args"])  # raises if invalid
        assert call["id"] and call["id"].startswith("call_")
        assert message.response_metadata["finish_reason"] == "tool_calls"
    assert closed_by_budget > 0  # the closing mode was exercised, and never accepted


def test_auto_tool_choice_gives_text_or_a_valid_call(chat: ChatBioMedGPT) -> None:
    bound = chat.bind_tools([properties, compare])
    rng = random.Random(1)
    kinds = set()
    for seed in range(20):
        message = bound.invoke(random_prompt(rng), temperature=1.0, seed=seed, max_new_tokens=16)
        if message.response_metadata["finish_reason"] == "length" and message.invalid_tool_calls:
            kinds.add("cut")  # force-closed at the budget: reported, never accepted
            assert message.tool_calls == []
            continue
        assert message.invalid_tool_calls == []
        if message.tool_calls:
            call = message.tool_calls[0]
            SCHEMAS[call["name"]].model_validate(call["args"])
            kinds.add("call")
        else:
            assert isinstance(message.content, str) and not message.content.startswith("{")
            kinds.add("text")
    assert kinds  # at least one outcome; both are legal under tool_choice="auto"


def test_streamed_tool_call_matches_invoke(chat: ChatBioMedGPT) -> None:
    bound = chat.bind_tools([properties], tool_choice="properties")
    # A budget the random model's call closes within by itself (force-closed is not a call).
    options = {
        "temperature": 0.7,
        "seed": 3,
        "max_new_tokens": _ROOMY,
    }
    message = bound.invoke("aspirin logp", **options)
    full = None
    for chunk in bound.stream("aspirin logp", **options):
        full = chunk if full is None else full + chunk
    assert full is not None
    assert [c["args"] for c in full.tool_calls] == [c["args"] for c in message.tool_calls]
    assert message.tool_calls[0]["name"] == "properties"


def test_structured_output_never_returns_a_force_closed_call(chat: ChatBioMedGPT) -> None:
    """The random model never closes Compare's string itself: the closing mode does, and that
    is reported as a cut (`length`) call, not parsed. (SmolLM2 tests cover parsed output.)"""
    raw = chat.with_structured_output(Compare, include_raw=True).invoke(
        "Compare aspirin and COX-1", temperature=1.0, seed=5
    )
    assert raw["parsed"] is None
    message = raw["raw"]
    assert message.tool_calls == []
    assert message.response_metadata["finish_reason"] == "length"
    (cut,) = message.invalid_tool_calls
    Compare.model_validate(json.loads(str(cut["args"])))  # schema-valid, yet not accepted


def test_structured_output_rejects_unknown_method(chat: ChatBioMedGPT) -> None:
    with pytest.raises(InvalidInputError, match="method 'xml'"):
        chat.with_structured_output(Compare, method="xml")  # type: ignore[arg-type]


def test_unknown_call_argument_is_rejected(chat: ChatBioMedGPT) -> None:
    with pytest.raises(InvalidInputError, match=r"\['beams'\]"):
        chat.invoke("hi", beams=4)


def test_openai_style_bind_options_are_accepted(chat: ChatBioMedGPT) -> None:
    bound = chat.bind_tools(
        [properties], tool_choice="required", strict=True, parallel_tool_calls=False
    )
    (call,) = bound.invoke("aspirin", seed=3, temperature=1.0, max_new_tokens=_ROOMY).tool_calls
    Properties.model_validate(call["args"])


def test_bind_tools_rejects_unknown_tool_choice(chat: ChatBioMedGPT) -> None:
    with pytest.raises(InvalidInputError, match="'nope' names no bound tool"):
        chat.bind_tools([properties], tool_choice="nope")


def test_long_history_is_truncated_with_warning(tiny_llama_dir: Path) -> None:
    small = ChatBioMedGPT(
        model=str(tiny_llama_dir), device_map="cpu", max_new_tokens=8, context_window=200
    )
    history: list = [SystemMessage("Keep this system text.")]
    for i in range(20):
        history += [HumanMessage(f"question {i} about p53 and aspirin"), AIMessage(f"answer {i}")]
    history.append(HumanMessage("last question"))
    with pytest.warns(ContextTruncatedWarning, match="dropped the"):
        message = small.invoke(history)
    assert message.usage_metadata is not None
    assert message.usage_metadata["input_tokens"] <= 200 - 8


def test_instances_with_same_settings_share_weights(tiny_llama_dir: Path) -> None:
    first = ChatBioMedGPT(model=str(tiny_llama_dir), device_map="cpu", temperature=0.5)
    second = ChatBioMedGPT(model=str(tiny_llama_dir), device_map="cpu", max_new_tokens=3)
    other = ChatBioMedGPT(model=str(tiny_llama_dir), device_map="cpu", dtype="bf16")
    assert first.loaded() is second.loaded()
    assert first.loaded().model is not other.loaded().model
    assert str(other.loaded().model.dtype) == "torch.bfloat16"


def test_missing_path_names_it_and_how_to_get_weights(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(ModelLoadError, match=r"no-such-model.*does not exist.*hf download"):
        ChatBioMedGPT(model=str(missing)).invoke("hi")


def test_directory_without_config_is_not_a_model(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="not a transformers model directory"):
        ChatBioMedGPT(model=str(tmp_path)).invoke("hi")


def test_broken_checkpoint_is_a_model_load_error(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    with pytest.raises(ModelLoadError, match=r"Cannot load .* as a causal language model"):
        ChatBioMedGPT(model=str(tmp_path), device_map="cpu").invoke("hi")


def test_uncached_hub_id_never_downloads() -> None:
    chat = ChatBioMedGPT(model="PharMolix/BioMedGPT-LM-7B", allow_download=True)
    with pytest.raises(
        ModelLoadError,
        match=r"not in the local Hugging Face cache.*offline.*hf "
        r"download PharMolix/BioMedGPT-LM-7B",
    ):
        chat.invoke("hi")


def test_quantization_without_gpu_is_explained(tiny_llama_dir: Path) -> None:
    for field in ("load_in_4bit", "load_in_8bit"):
        chat = ChatBioMedGPT(model=str(tiny_llama_dir), **{field: True})
        with pytest.raises(ModelLoadError, match=r"bit loading of .* needs a CUDA GPU"):
            chat.invoke("hi")


def test_cuda_device_without_gpu_is_explained(tiny_llama_dir: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"device_map='cuda:0'.*no CUDA GPU"):
        ChatBioMedGPT(model=str(tiny_llama_dir), device_map="cuda:0").invoke("hi")
    with pytest.raises(ModelLoadError, match="device_map 'tpu' is not understood"):
        ChatBioMedGPT(model=str(tiny_llama_dir), device_map="tpu").invoke("hi")


def test_both_quantizations_are_rejected() -> None:
    with pytest.raises(ValidationError, match="load_in_8bit and load_in_4bit"):
        ChatBioMedGPT(load_in_8bit=True, load_in_4bit=True)


def test_init_biomed_model_follows_settings(tiny_llama_dir: Path) -> None:
    assert init_biomed_model(Settings(model="none")) is None
    local = init_biomed_model(
        Settings(
            model=str(tiny_llama_dir),
            device="cpu",
            dtype="fp32",
            quantization="4bit",
            max_context=2048,
            max_new_tokens=99,
        )
    )
    assert isinstance(local, ChatBioMedGPT)
    assert (local.model, local.device_map, local.dtype) == (str(tiny_llama_dir), "cpu", "fp32")
    assert local.load_in_4bit and not local.load_in_8bit
    assert (local.context_window, local.max_new_tokens) == (2048, 99)
    remote = init_biomed_model(
        Settings(model="openai:http://gpu:8000/v1/PharMolix/BioMedGPT-LM-7B")
    )
    assert isinstance(remote, ChatBioMedGPTRemote)
    assert (remote.base_url, remote.model) == ("http://gpu:8000/v1", "PharMolix/BioMedGPT-LM-7B")


def test_init_biomed_model_rejects_malformed_remote_spec() -> None:
    with pytest.raises(ConfigurationError, match=r"'openai:gpu-box' is not 'openai:<base_url>"):
        init_biomed_model(Settings(model="openai:gpu-box"))


def test_package_import_stays_light() -> None:
    code = (
        "import sys, biomed_agent; biomed_agent.ChatBioMedGPT; biomed_agent.init_biomed_model;"
        "heavy = {'torch', 'transformers', 'xgrammar'} & set(sys.modules); assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_offload_loads_with_an_offload_folder(
    tiny_llama_dir: Path, isolated_settings: Path
) -> None:
    chat = ChatBioMedGPT(model=str(tiny_llama_dir), device_map="cpu", offload=True)
    assert chat.load_spec.offload_dir == str(isolated_settings / "offload")
    assert chat.invoke("hi", max_new_tokens=3).content
    assert (isolated_settings / "offload").is_dir()


def test_closing_a_stream_early_stops_generation(chat: ChatBioMedGPT) -> None:
    started = time.perf_counter()
    stream = chat.stream("Tell me everything about p53", max_new_tokens=3000, stop=["\x00"])
    first = next(stream)
    stream.close()  # the reader went away: the worker must stop, not decode 3000 tokens
    assert isinstance(first.content, str)
    lock = chat.loaded().lock  # held by the worker while it decodes
    assert lock.acquire(timeout=10), "generation went on after the reader left"
    lock.release()
    assert time.perf_counter() - started < 20


def test_invoke_decodes_in_the_calling_thread_and_stream_in_the_worker(
    chat: ChatBioMedGPT, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from biomed_agent.models import batching

    threads: list[threading.Thread] = []
    real = batching._generate

    def spy(group: list[batching.GenerationJob]) -> None:
        threads.append(threading.current_thread())
        real(group)

    monkeypatch.setattr(batching, "_generate", spy)
    scheduler = batching.scheduler_for(chat.loaded())
    with scheduler._cond:  # an earlier test's abandoned stream may still be decoding
        assert scheduler._cond.wait_for(
            lambda: not (scheduler._pending or scheduler._expected or scheduler._running),
            timeout=60,
        )
    invoked = chat.invoke("What does p53 do?", max_new_tokens=6)
    assert threads == [threading.current_thread()]  # no worker thread, no hand-off
    streamed = "".join(str(c.content) for c in chat.stream("What does p53 do?", max_new_tokens=6))
    assert len(threads) == 2 and threads[1] is not threading.current_thread()
    assert streamed == invoked.content  # one generation path: same text either way
    with batching.scheduler_for(chat.loaded()).expect(1):  # a batch is being gathered
        chat.invoke("What does p53 do?", max_new_tokens=6)
    assert threads[2] is not threading.current_thread()


def test_direct_invoke_failures_are_generation_errors(
    chat: ChatBioMedGPT, monkeypatch: pytest.MonkeyPatch
) -> None:
    from biomed_agent.errors import GenerationError

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("kernel failed")

    monkeypatch.setattr(chat.loaded().model, "generate", broken)
    with pytest.raises(GenerationError, match="kernel failed"):
        chat.invoke("What does p53 do?", max_new_tokens=4)
