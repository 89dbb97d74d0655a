"""LangChain's standard integration suite on a real instruct model: SmolLM2-135M-Instruct.

The whole suite runs on the tiny random Llama (tests/test_chat_model_standard.py); the
cases that need a model that *understands* the prompt are xfailed there. They run here
on SmolLM2 (a 135M stand-in for BioMedGPT, rendered through its own chat template,
converted once per run by the ``smollm2_dir`` fixture). Only those cases run here, to
keep the suite's time small. Each remaining xfail states the reason measured on SmolLM2.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_tests.integration_tests import ChatModelIntegrationTests

from biomed_agent.models.chat_model import ChatBioMedGPT

pytestmark = pytest.mark.slow

_MODEL_DIR: dict[str, Path] = {}

_RUN_HERE = {
    "test_invoke",
    "test_tool_calling",
    "test_tool_calling_async",
    "test_bind_runnables_as_tools",
    "test_unicode_tool_call_integration",
    "test_structured_output",
    "test_agent_loop",
}
"""Cases run on SmolLM2: every case the tiny model xfails, plus plain chat as a baseline."""


@pytest.fixture(scope="module", autouse=True)
def _smollm2(smollm2_dir: Path) -> Iterator[None]:
    _MODEL_DIR["path"] = smollm2_dir
    yield


class TestSmolLM2Integration(ChatModelIntegrationTests):
    @property
    def chat_model_class(self) -> type[BaseChatModel]:
        return ChatBioMedGPT

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {
            "model": str(_MODEL_DIR["path"]),
            "device_map": "cpu",
            "max_new_tokens": 64,
            "temperature": 0.0,
        }

    @property
    def has_tool_choice(self) -> bool:
        return True

    @property
    def supports_json_mode(self) -> bool:
        return False

    @pytest.mark.xfail(
        strict=True,
        reason="measured: SmolLM2-135M loops inside the punchline string ('it was a cat and it "
        "was a cat ...', 67 tokens at max_new_tokens=64; 131 at 128; repetition_penalty=1.2 "
        "gives empty strings) until the budget force-closes it, which is reported as a "
        "`length` finish and never parsed",
    )
    @pytest.mark.parametrize("schema_type", ["pydantic"])
    def test_structured_output(self, model: BaseChatModel, schema_type: str) -> None:
        super().test_structured_output(model, schema_type)  # type: ignore[arg-type]

    @pytest.mark.xfail(
        strict=True,
        reason="measured: with tool_choice='auto' SmolLM2-135M answers the weather question in "
        "text ('The weather in San Francisco, CA, is mostly sunny with a high of 75.') "
        "instead of calling get_weather; the forced-choice tests above pass",
    )
    @pytest.mark.parametrize("model", [{}], indirect=True)
    def test_agent_loop(self, model: BaseChatModel) -> None:
        super().test_agent_loop(model)


# Everything else in the suite runs on the tiny model; keep it out of this (slower) class.
for _name in dir(ChatModelIntegrationTests):
    if _name.startswith("test_") and _name not in _RUN_HERE:
        setattr(TestSmolLM2Integration, _name, None)
