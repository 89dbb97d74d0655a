"""A tool-calling chat model that plays prepared AI messages, for snippets of other agents.

``create_agent`` and similar loops need ``bind_tools``; this model accepts any tools,
returns ``script`` one message per call, and records the messages it was sent so a test
can check what the tools answered.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from pydantic import Field

__all__ = ["ToolScriptModel"]


class ToolScriptModel(BaseChatModel):
    """Answers with ``script[0]``, ``script[1]``, ...; fails clearly when the script runs out."""

    script: list[AIMessage]
    """Replies in order (tool calls or final text)."""
    received: list[list[BaseMessage]] = Field(default_factory=list)
    """Every message list sent to the model."""

    @property
    def _llm_type(self) -> str:
        return "tool-script"

    def bind_tools(
        self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any
    ) -> Runnable[Any, AIMessage]:
        return self

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        turn = len(self.received)
        if turn >= len(self.script):
            raise AssertionError(f"the model was called {turn + 1} times; script has {turn}")
        self.received.append(list(messages))
        return ChatResult(generations=[ChatGeneration(message=self.script[turn])])
