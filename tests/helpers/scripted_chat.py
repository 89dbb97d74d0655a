"""A chat model whose replies come from a Python function, with a call counter and a crash switch.

For tests of code that drives any LangChain chat model (the eval harness): it
goes through the real ``BaseChatModel`` ``invoke``/``batch`` machinery, counts
the prompts it answered, and can raise after a number of calls to simulate a
run that dies part-way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import PrivateAttr

__all__ = ["ScriptedChatModel", "SimulatedCrash"]


class SimulatedCrash(RuntimeError):
    """Raised by :class:`ScriptedChatModel` once ``fail_after`` calls have been answered."""


class ScriptedChatModel(BaseChatModel):
    """Replies ``reply(last_message_text)``; after ``fail_after`` calls raises SimulatedCrash."""

    reply: Callable[[str], str]
    fail_after: int | None = None
    _calls: int = PrivateAttr(default=0)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def calls(self) -> int:
        """Prompts answered so far."""
        return self._calls

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        with self._lock:
            if self.fail_after is not None and self._calls >= self.fail_after:
                raise SimulatedCrash(f"simulated crash after {self._calls} calls")
            self._calls += 1
        text = self.reply(messages[-1].text)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    @property
    def _llm_type(self) -> str:
        return "scripted"
