"""Chat models that play prepared replies, for tests of code that drives any LangChain model.

Each goes through the real ``BaseChatModel`` machinery (``invoke``, ``batch``,
``stream``, ``bind_tools``, ``with_structured_output``) and records every message
list it receives in ``received``, so a test can check what the model was (and was
not) shown. They differ only in where replies come from:

- :class:`ScriptedChatModel`: ``reply(last_message_text)``; can crash after
  ``fail_after`` calls to simulate a run that dies part-way (the eval harness).
- :class:`ScriptedAgentModel`: ``plans`` as forced tool calls (how
  ``with_structured_output`` works for tool-calling models, ChatBioMedGPT
  included) and ``answers`` as text, streamed word by word (the agent).
- :class:`ToolScriptModel`: ``script`` of AI messages, one per call, whatever
  tools are bound (``create_agent`` and other agents' loops).
"""

from __future__ import annotations

import re
import threading
from abc import abstractmethod
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field, PrivateAttr

__all__ = ["ScriptedAgentModel", "ScriptedChatModel", "SimulatedCrash", "ToolScriptModel"]


class _RecordingChatModel(BaseChatModel):
    """Records each message list, then answers with :meth:`_reply`."""

    received: list[list[BaseMessage]] = Field(default_factory=list)
    """Every message list sent to the model, in order."""

    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @abstractmethod
    def _reply(self, messages: list[BaseMessage], options: dict[str, Any], turn: int) -> AIMessage:
        """The reply to call number ``turn`` (from 0); ``options``: call arguments (``tools``)."""

    def _answer(self, messages: list[BaseMessage], options: dict[str, Any]) -> AIMessage:
        with self._lock:  # batch() calls come from several threads; replies run concurrently
            turn = len(self.received)
            self.received.append(list(messages))
        return self._reply(messages, options, turn)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._answer(messages, kwargs))])

    @property
    def _llm_type(self) -> str:
        return "scripted"


class SimulatedCrash(RuntimeError):
    """Raised by :class:`ScriptedChatModel` once ``fail_after`` calls have been answered."""


class ScriptedChatModel(_RecordingChatModel):
    """Replies ``reply(last_message_text)``; after ``fail_after`` calls raises SimulatedCrash."""

    reply: Callable[[str], str]
    fail_after: int | None = None

    @property
    def calls(self) -> int:
        """Prompts received so far (a crashed call included)."""
        return len(self.received)

    def _reply(self, messages: list[BaseMessage], options: dict[str, Any], turn: int) -> AIMessage:
        if self.fail_after is not None and turn >= self.fail_after:
            raise SimulatedCrash(f"simulated crash after {turn} calls")
        return AIMessage(content=self.reply(messages[-1].text))


class ScriptedAgentModel(_RecordingChatModel):
    """Returns ``plans`` (as structured output) and ``answers`` (as text) in order."""

    plans: list[dict[str, Any]] = Field(default_factory=list)
    """``{"steps": [...]}`` objects, one per planning call."""
    answers: list[str] = Field(default_factory=list)
    """Answer texts, one per answer (or repair) call."""

    def bind_tools(
        self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any
    ) -> Runnable[Any, AIMessage]:
        formatted = [convert_to_openai_tool(tool) for tool in tools]
        return self.bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    def _reply(self, messages: list[BaseMessage], options: dict[str, Any], turn: int) -> AIMessage:
        tools = options.get("tools")
        if tools:
            name = tools[0]["function"]["name"]
            call_id = f"call{turn + 1}"
            return AIMessage(
                content="", tool_calls=[{"name": name, "args": self.plans.pop(0), "id": call_id}]
            )
        return AIMessage(content=self.answers.pop(0))

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        message = self._answer(messages, kwargs)
        for piece in re.findall(r"\S+\s*", str(message.content)):
            yield ChatGenerationChunk(message=AIMessageChunk(content=piece))

    def prompt_texts(self) -> list[str]:
        """Each received prompt as one string."""
        return ["\n".join(str(m.content) for m in messages) for messages in self.received]


class ToolScriptModel(_RecordingChatModel):
    """Answers with ``script[0]``, ``script[1]``, ...; fails clearly when the script runs out."""

    script: list[AIMessage]
    """Replies in order (tool calls or final text)."""

    def bind_tools(
        self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any
    ) -> Runnable[Any, AIMessage]:
        return self

    def _reply(self, messages: list[BaseMessage], options: dict[str, Any], turn: int) -> AIMessage:
        if turn >= len(self.script):
            raise AssertionError(f"the model was called {turn + 1} times; script has {turn}")
        return self.script[turn]
