"""LangChain's standard chat-model suites run against ChatBioMedGPT on the tiny random Llama.

The tiny model has random weights, so its text is gibberish; every case whose
semantics only need a well-formed message, streaming, usage or tool calls passes
(tool calls thanks to constrained decoding). Cases xfailed below need the model
to *understand* the prompt, which random weights cannot.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_tests.integration_tests import ChatModelIntegrationTests
from langchain_tests.unit_tests import ChatModelUnitTests

from biomed_agent.models.chat_model import ChatBioMedGPT
from tests.helpers.tiny_llama import build_tiny_llama, single_torch_thread

_MODEL_DIR: dict[str, Path] = {}


@pytest.fixture(scope="module", autouse=True)
def _tiny_model(tiny_llama_dir: Path) -> Iterator[None]:
    _MODEL_DIR["path"] = tiny_llama_dir
    with single_torch_thread():
        yield


def _params() -> dict[str, Any]:
    path = _MODEL_DIR["path"]  # set by the module's autouse fixture before any model is built
    # 48 tokens: room for a call whose strings the grammar fixes (names, enums) to close
    # by itself; free strings never close with random weights (see the xfails below).
    return {"model": str(path), "device_map": "cpu", "max_new_tokens": 48, "temperature": 0.0}


class _TinyChatBioMedGPT:
    """What both standard suites need to know: the class, the tiny model, tool_choice."""

    @property
    def chat_model_class(self) -> type[BaseChatModel]:
        return ChatBioMedGPT

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return _params()

    @property
    def has_tool_choice(self) -> bool:
        return True


class TestChatBioMedGPTUnit(_TinyChatBioMedGPT, ChatModelUnitTests):
    pass


_NEEDS_A_TRAINED_MODEL = (
    "random weights cannot follow the prompt: the test needs the model to pick a "
    "meaningful value, not just a schema-valid one"
)


_NEVER_CLOSES = (
    "random weights never close a free JSON string (the joke's text): the closing mode cuts "
    "the call at the budget, which is a `length` finish and never a parsed output; the "
    "same case runs on SmolLM2 in test_chat_model_smollm2_standard.py"
)


class TestChatBioMedGPTIntegration(_TinyChatBioMedGPT, ChatModelIntegrationTests):
    @property
    def supports_json_mode(self) -> bool:
        return False

    @pytest.mark.parametrize("model", [{}, {"output_version": "v1"}], indirect=True)
    @pytest.mark.xfail(reason=_NEEDS_A_TRAINED_MODEL + ": it asserts the args equal {'input': 3}")
    def test_tool_calling(self, model: BaseChatModel) -> None:
        super().test_tool_calling(model)

    @pytest.mark.xfail(reason=_NEEDS_A_TRAINED_MODEL + ": it asserts the args equal {'input': 3}")
    async def test_tool_calling_async(self, model: BaseChatModel) -> None:
        await super().test_tool_calling_async(model)

    @pytest.mark.xfail(reason=_NEEDS_A_TRAINED_MODEL + ": it asserts a non-empty 'answer_style'")
    def test_bind_runnables_as_tools(self, model: BaseChatModel) -> None:
        super().test_bind_runnables_as_tools(model)

    @pytest.mark.xfail(
        reason="with tool_choice='auto' a random model chooses text or a call by chance; "
        "the test needs it to decide to call get_weather"
    )
    @pytest.mark.parametrize("model", [{}, {"output_version": "v1"}], indirect=True)
    def test_agent_loop(self, model: BaseChatModel) -> None:
        super().test_agent_loop(model)

    @pytest.mark.xfail(reason=_NEEDS_A_TRAINED_MODEL + ": it asserts the name contains 你好")
    def test_unicode_tool_call_integration(self, model: BaseChatModel) -> None:
        super().test_unicode_tool_call_integration(model)

    @pytest.mark.xfail(strict=True, reason=_NEVER_CLOSES)
    @pytest.mark.parametrize("schema_type", ["pydantic", "typeddict", "json_schema"])
    def test_structured_output(self, model: BaseChatModel, schema_type: Any) -> None:
        super().test_structured_output(model, schema_type)

    @pytest.mark.xfail(strict=True, reason=_NEVER_CLOSES)
    @pytest.mark.parametrize("schema_type", ["pydantic", "typeddict", "json_schema"])
    async def test_structured_output_async(self, model: BaseChatModel, schema_type: Any) -> None:
        await super().test_structured_output_async(model, schema_type)

    @pytest.mark.xfail(strict=True, reason=_NEVER_CLOSES)
    def test_structured_output_pydantic_2_v1(self, model: BaseChatModel) -> None:
        super().test_structured_output_pydantic_2_v1(model)

    @pytest.mark.xfail(strict=True, reason=_NEVER_CLOSES)
    def test_structured_output_optional_param(self, model: BaseChatModel) -> None:
        super().test_structured_output_optional_param(model)


def test_build_is_reproducible(tmp_path: Path) -> None:
    """Other helpers rely on the tiny model being identical across builds with one seed."""
    import torch
    from safetensors.torch import load_file

    first = load_file(build_tiny_llama(tmp_path / "a") / "model.safetensors")
    second = load_file(build_tiny_llama(tmp_path / "b") / "model.safetensors")
    assert first.keys() == second.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)
