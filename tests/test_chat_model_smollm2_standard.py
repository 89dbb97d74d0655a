"""LangChain's standard integration suite on a real instruct model: SmolLM2-135M-Instruct.

SmolLM2 (a 135M stand-in for BioMedGPT, rendered through its own chat template) is
small enough for CI yet understands the prompts, so cases that the random tiny model
must xfail run for real here. Each remaining xfail states the measured reason.
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
