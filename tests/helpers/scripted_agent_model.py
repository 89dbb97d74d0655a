"""A chat model that plays prepared plans and answers, for agent tests.

Plans come back as a forced tool call (how ``BaseChatModel.with_structured_output``
works for real tool-calling models, ChatBioMedGPT included), answers as text,
streamed word by word. Every prompt it receives is recorded in ``prompts`` so a
test can check what the model was (and was not) shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

__all__ = ["ScriptedAgentModel"]


class ScriptedAgentModel(BaseChatModel):
    """Returns ``plans`` (as structured output) and ``answers`` (as text) in order."""

    plans: list[dict[str, Any]] = Field(default_factory=list)
    """``{"steps": [...]}`` objects, one per planning call."""
    answers: list[str] = Field(default_factory=list)
    """Answer texts, one per answer (or repair) call."""
    prompts: list[list[BaseMessage]] = Field(default_factory=list)
    """Every message list received, in order."""

    @property
    def _llm_type(self) -> str:
        return "scripted-agent"

    def bind_tools(
        self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any
    ) -> Runnable[Any, AIMessage]:
        formatted = [convert_to_openai_tool(tool) for tool in tools]
        return self.bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    def _reply(self, messages: list[BaseMessage], tools: list[dict[str, Any]] | None) -> AIMessage:
        self.prompts.append(list(messages))
        if tools:
            name = tools[0]["function"]["name"]
            plan = self.plans.pop(0)
            return AIMessage(
                content="",
                tool_calls=[{"name": name, "args": plan, "id": f"call{len(self.prompts)}"}],
            )
        return AIMessage(content=self.answers.pop(0))

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(
            generations=[ChatGeneration(message=self._reply(messages, kwargs.get("tools")))]
        )

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        message = self._reply(messages, kwargs.get("tools"))
        for piece in re.findall(r"\S+\s*", str(message.content)):
            yield ChatGenerationChunk(message=AIMessageChunk(content=piece))

    def prompt_texts(self) -> list[str]:
        """Each received prompt as one string."""
        return ["\n".join(str(m.content) for m in messages) for messages in self.prompts]
