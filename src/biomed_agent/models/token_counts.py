"""Token counts with a local model's own tokenizer and chat format.

LangChain's defaults count with GPT-2's tokenizer (downloaded on first use) and count
messages as one plain-text buffer. A local BioMedGPT model counts exactly what it would
feed the model: text with its own tokenizer, messages (and bound tools) as the rendered
prompt (:meth:`~biomed_agent.models.chat_model.ChatBioMedGPT.prompt_counter`).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.messages import BaseMessage

from biomed_agent.models.base import BioMedChatBase

if TYPE_CHECKING:
    from biomed_agent.models.loading import LoadedModel

__all__ = ["LocalTokenCounts", "TextCut"]

TextCut = Callable[[str, int], str]


class LocalTokenCounts(BioMedChatBase):
    """``get_token_ids``, ``get_num_tokens`` and ``get_num_tokens_from_messages`` of a
    local chat model (they load the model's tokenizer on first use)."""

    @abstractmethod
    def loaded(self) -> LoadedModel:
        """The loaded model and its tokenizer."""

    @abstractmethod
    def prompt_counter(
        self,
    ) -> tuple[int, Callable[..., int], Callable[[str], int], TextCut]:
        """(context window, prompt tokens of messages, tokens of a text, text cut)."""

    def get_token_ids(self, text: str) -> list[int]:
        """Ids of ``text`` by the model's own tokenizer (no BOS or other special tokens)."""
        if self.custom_get_token_ids is not None:
            return self.custom_get_token_ids(text)
        return [int(i) for i in self.loaded().tokenizer(text, add_special_tokens=False).input_ids]

    def get_num_tokens(self, text: str) -> int:
        """Tokens of ``text`` by the model's own tokenizer."""
        return len(self.get_token_ids(text))

    def get_num_tokens_from_messages(
        self, messages: list[BaseMessage], tools: Sequence[Any] | None = None
    ) -> int:
        """Tokens of the prompt ``messages`` render to in this model's chat format (answer
        turn open), with ``tools`` offered as :meth:`bind_tools` would offer them."""
        _, count, _, _ = self.prompt_counter()
        options: dict[str, Any] = {}
        if tools:
            options = dict(self.bind_tools(tools).kwargs)  # type: ignore[attr-defined]
        return count(messages, options)
