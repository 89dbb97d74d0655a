"""BioMedGPT's conversation format: LangChain messages -> one prompt string.

BioMedGPT was trained with OpenBioMed's ``Conversation`` (data:
``prompts/biomedgpt_conversation.json``)::

    <system>### Human: <message> ### Assistant: <message> ### Human: <message> ### Assistant:

i.e. ``system + "###" + " "``, then ``role + ": " + text + " ### "`` per turn, and the
open ``"Assistant: "`` turn the model completes. Generation stops at the next
``###`` (:attr:`ConversationFormat.stop_strings`).

Mapping of LangChain messages (the format has only two roles):

- ``SystemMessage``s replace the default system text (several are joined); when
  tools are offered, the tool instructions (``prompts/tool_instructions.txt``)
  are appended to the system text.
- ``HumanMessage`` -> ``Human`` turn; ``AIMessage`` -> ``Assistant`` turn, its tool
  calls written as the JSON objects the model is asked to emit.
- ``ToolMessage`` -> a ``Human`` turn holding the result inside
  ``<tool_result>`` delimiters and labelled as data, not instructions
  (``prompts/tool_result.txt``).
- ``###`` inside any message text is rewritten to ``# # #`` so no message can
  forge a turn boundary.

The system text is always kept. When the prompt would not leave room for the
answer in the context window, whole turns are dropped from the oldest (a turn
is a message plus the tool results that answer it) with a
:class:`ContextTruncatedWarning`; the latest turn is never dropped.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from string import Template

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from biomed_agent.errors import InvalidInputError
from biomed_agent.models.tool_calling import ToolMode, tool_call_json, tool_catalogue
from biomed_agent.prompts import load_prompt, load_prompt_data

__all__ = [
    "ContextTruncatedWarning",
    "ConversationFormat",
    "RenderedPrompt",
    "is_system",
    "message_text",
    "render_prompt",
    "system_text",
]

_NEUTRAL_SEP = "# # #"


class ContextTruncatedWarning(UserWarning):
    """Old turns were dropped so the conversation fits the model's context window."""


@dataclass(frozen=True)
class ConversationFormat:
    """The separators and roles of a ``Conversation``-style chat format."""

    system: str
    """Default system text (used when the messages carry no ``SystemMessage``)."""

    roles: tuple[str, str]
    """Names of the user and assistant roles."""

    sep: str
    """Turn separator."""

    @classmethod
    def biomedgpt(cls) -> ConversationFormat:
        """The format BioMedGPT-LM-7B / BioMedGPT-10B were trained with."""
        data = load_prompt_data("biomedgpt_conversation")
        return cls(system=data["system"], roles=tuple(data["roles"]), sep=data["sep"])

    @property
    def stop_strings(self) -> list[str]:
        """Generation ends where the model starts the next turn."""
        return [self.sep]

    def header(self, system: str) -> str:
        """The prompt's start: the system text and the first separator."""
        return f"{system}{self.sep} "

    def neutralize(self, text: str) -> str:
        """``text`` with every separator defused, so it cannot forge a turn boundary."""
        return text.replace(self.sep, _NEUTRAL_SEP)

    def turn(self, role: str, text: str) -> str:
        """One finished turn."""
        return f"{role}: {self.neutralize(text)} {self.sep} "

    @property
    def generation_prefix(self) -> str:
        """The open assistant turn the model completes."""
        return f"{self.roles[1]}: "


@dataclass(frozen=True)
class RenderedPrompt:
    """A prompt ready for tokenization, and how much history had to go."""

    text: str
    dropped_turns: int


def system_text(
    messages: Sequence[BaseMessage], mode: ToolMode | None, fmt: ConversationFormat
) -> str:
    """The system text: the messages' system content (or the default) plus tool instructions."""
    custom = [m.text for m in messages if _role(m) == "system"]
    system = "\n".join(custom) if custom else fmt.system
    if mode is None:
        return system
    tools = tool_catalogue(mode)  # compact signatures; the grammar enforces the schemas
    instructions = Template(load_prompt("tool_instructions")).substitute(
        choice_rule=mode.choice_rule, tools=tools
    )
    return f"{system.rstrip()}\n\n{instructions.strip()}\n"


def render_prompt(
    messages: Sequence[BaseMessage],
    *,
    mode: ToolMode | None,
    count_tokens: Callable[[str], int],
    max_prompt_tokens: int,
    fmt: ConversationFormat | None = None,
) -> RenderedPrompt:
    """Render ``messages`` in the BioMedGPT format within ``max_prompt_tokens`` tokens.

    Raises :class:`InvalidInputError` when there is no message to answer, or when the
    system text and the latest turn alone do not fit.
    """
    fmt = fmt or ConversationFormat.biomedgpt()
    header = fmt.header(system_text(messages, mode, fmt))
    turns = _group_turns([m for m in messages if _role(m) != "system"], fmt)
    if not turns:
        raise InvalidInputError(
            "The conversation has no message to answer; pass at least one human message.",
            input_name="messages",
        )
    fixed = count_tokens(header + fmt.generation_prefix)
    sizes = [count_tokens(turn) for turn in turns]
    dropped = 0
    while dropped < len(turns) - 1 and fixed + sum(sizes[dropped:]) > max_prompt_tokens:
        dropped += 1
    text = _join(header, turns[dropped:], fmt)
    total = count_tokens(text)
    # Token counts of separately tokenized pieces can differ slightly from the whole.
    while total > max_prompt_tokens and dropped < len(turns) - 1:
        dropped += 1
        text = _join(header, turns[dropped:], fmt)
        total = count_tokens(text)
    if total > max_prompt_tokens:
        raise InvalidInputError(
            f"The system text and the latest message need {total} tokens but only "
            f"{max_prompt_tokens} fit before the answer (context window minus "
            "max_new_tokens); shorten the message or the system text, or lower max_new_tokens.",
            input_name="messages",
        )
    if dropped:
        warn_dropped_turns(dropped, len(turns), max_prompt_tokens, stacklevel=3)
    return RenderedPrompt(text=text, dropped_turns=dropped)


def warn_dropped_turns(dropped: int, turns: int, max_prompt_tokens: int, stacklevel: int) -> None:
    """The one :class:`ContextTruncatedWarning` every prompt renderer gives."""
    warnings.warn(
        f"The conversation does not fit the context window ({max_prompt_tokens} prompt "
        f"tokens); dropped the {dropped} oldest of {turns} turns, kept the system text.",
        ContextTruncatedWarning,
        stacklevel=stacklevel,
    )


def _join(header: str, turns: Sequence[str], fmt: ConversationFormat) -> str:
    return header + "".join(turns) + fmt.generation_prefix


def _group_turns(messages: Sequence[BaseMessage], fmt: ConversationFormat) -> list[str]:
    """Rendered turns; tool results stay with the message that asked for them."""
    groups: list[str] = []
    for message in messages:
        rendered = _render(message, fmt)
        if isinstance(message, ToolMessage) and groups:
            groups[-1] += rendered
        else:
            groups.append(rendered)
    return groups


def _render(message: BaseMessage, fmt: ConversationFormat) -> str:
    role, text = message_text(message)
    return fmt.turn(fmt.roles[1] if role == "assistant" else fmt.roles[0], text)


def message_text(message: BaseMessage) -> tuple[str, str]:
    """The role (``user``/``assistant``) and text a non-system message contributes.

    Tool results are wrapped as data (``prompts/tool_result.txt``); an assistant
    message's tool calls are written as the JSON objects the model emits.
    """
    if isinstance(message, ToolMessage):
        result = Template(load_prompt("tool_result")).substitute(
            name=message.name or "tool",
            call_id=message.tool_call_id,
            status=message.status,
            content=message.text,
        )
        return "user", result.strip()
    if _role(message) == "assistant":
        calls = message.tool_calls if isinstance(message, AIMessage) else []
        parts = [message.text.strip()] if message.text.strip() else []
        parts += [tool_call_json(call["name"], call["args"]) for call in calls]
        return "assistant", "\n".join(parts)
    return "user", message.text


def is_system(message: BaseMessage) -> bool:
    """Whether ``message`` contributes to the system text."""
    return _role(message) == "system"


def _role(message: BaseMessage) -> str:
    if isinstance(message, SystemMessage):
        return "system"
    if isinstance(message, AIMessage):
        return "assistant"
    if isinstance(message, HumanMessage | ToolMessage):
        return "user"
    if isinstance(message, ChatMessage):
        role = message.role.lower()
        if role == "system":
            return "system"
        if role in ("assistant", "ai"):
            return "assistant"
    return "user"
