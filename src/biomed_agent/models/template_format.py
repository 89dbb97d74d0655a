"""Prompts rendered with the checkpoint's own chat template (``chat_format="tokenizer"``).

BioMedGPT-LM-7B was trained with OpenBioMed's ``### Human:`` conversation format
(:mod:`biomed_agent.models.chat_format`), but most instruct checkpoints (SmolLM2,
Llama 3, Qwen, ...) ship a Jinja chat template in their tokenizer and were
trained on that. With ``chat_format="tokenizer"`` the messages are rendered by
``tokenizer.apply_chat_template`` and generation stops at the template's
end-of-turn token instead of at ``###``.

The message mapping is the BioMedGPT one (the two formats differ only in how
turns are written): the system text carries the tool instructions; tool results
become user turns labelled as data; an assistant's tool calls are written as
the JSON the model is asked to emit. Consecutive turns of one role are merged,
so templates that insist on alternating roles accept every conversation. Text
that spells one of the tokenizer's special tokens (``<|im_end|>``...) is defused
so no message can forge a turn boundary. Old turns are dropped, with a
:class:`~biomed_agent.models.chat_format.ContextTruncatedWarning`, when the
prompt would not leave room for the answer.

:func:`resolve_chat_format` picks the format of a checkpoint when the setting is
``auto``: BioMedGPT checkpoints, and tokenizers without a chat template, get the
BioMedGPT format; every other checkpoint its own template.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.messages import BaseMessage

from biomed_agent.errors import InvalidInputError, ModelLoadError
from biomed_agent.models.chat_format import (
    ConversationFormat,
    is_system,
    message_text,
    system_text,
    warn_dropped_turns,
)
from biomed_agent.models.tool_calling import ToolMode

__all__ = [
    "END_OF_TURN_TOKENS",
    "ChatFormatName",
    "TemplatePrompt",
    "end_of_turn_ids",
    "render_template_prompt",
    "resolve_chat_format",
    "template_messages",
]

ChatFormatName = Literal["biomedgpt", "tokenizer"]

END_OF_TURN_TOKENS = ("<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>", "<|endoftext|>")
"""End-of-turn markers of common chat templates; generation stops at any the vocabulary has."""

_ZERO_WIDTH = "\u200b"


def resolve_chat_format(requested: str, *, model_name: str, has_template: bool) -> ChatFormatName:
    """The chat format to use: ``requested`` unless ``auto``, else the checkpoint's own."""
    if requested == "biomedgpt":
        return "biomedgpt"
    if requested == "tokenizer":
        if not has_template:
            raise ModelLoadError(
                f"chat_format='tokenizer' but the tokenizer of {model_name!r} has no chat "
                "template: use chat_format='biomedgpt' (BIOMED_CHAT_FORMAT=biomedgpt) or a "
                "checkpoint whose tokenizer_config.json defines chat_template.",
                input_name="chat_format",
            )
        return "tokenizer"
    if "biomedgpt" in model_name.lower() or not has_template:
        return "biomedgpt"
    return "tokenizer"


def end_of_turn_ids(tokenizer: Any, eos: int | list[int] | None) -> list[int]:
    """Token ids that end an answer: the EOS id(s) and the template's end-of-turn tokens."""
    ids = [eos] if isinstance(eos, int) else list(eos or [])
    if tokenizer.eos_token_id is not None:
        ids.append(int(tokenizer.eos_token_id))
    vocab = tokenizer.get_vocab()
    ids += [int(vocab[token]) for token in END_OF_TURN_TOKENS if token in vocab]
    return list(dict.fromkeys(ids))


def _defuse(text: str, specials: Sequence[str]) -> str:
    for token in specials:
        if token and token in text:
            text = text.replace(token, token[0] + _ZERO_WIDTH + token[1:])
    return text


def _special_tokens(tokenizer: Any) -> list[str]:
    found = set(getattr(tokenizer, "all_special_tokens", []) or [])
    decoder = getattr(tokenizer, "added_tokens_decoder", {}) or {}
    found |= {str(token) for token in decoder.values() if getattr(token, "special", False)}
    return sorted((t for t in found if len(t) > 1), key=len, reverse=True)


def template_messages(
    messages: Sequence[BaseMessage],
    mode: ToolMode | None,
    *,
    specials: Sequence[str] = (),
) -> tuple[dict[str, str] | None, list[list[dict[str, str]]]]:
    """The system message (``None`` when the template's default applies) and the turns.

    A turn is a message plus the tool results that answer it, as role/content dicts.
    """
    custom = [m for m in messages if is_system(m)]
    system: dict[str, str] | None = None
    if custom or mode is not None:
        blank = ConversationFormat(system="", roles=("user", "assistant"), sep="")
        text = system_text(messages, mode, blank).strip()
        system = {"role": "system", "content": _defuse(text, specials)}
    turns: list[list[dict[str, str]]] = []
    for message in messages:
        if is_system(message):
            continue
        role, text = message_text(message)
        entry = {"role": role, "content": _defuse(text, specials)}
        if message.type == "tool" and turns:
            turns[-1].append(entry)
        else:
            turns.append([entry])
    return system, turns


def _merged(system: dict[str, str] | None, turns: Sequence[list[dict[str, str]]]) -> list[Any]:
    merged: list[dict[str, str]] = [dict(system)] if system else []
    for entry in (entry for turn in turns for entry in turn):
        if merged and merged[-1]["role"] == entry["role"]:
            merged[-1]["content"] += "\n\n" + entry["content"]
        else:
            merged.append(dict(entry))
    return merged


@dataclass(frozen=True)
class TemplatePrompt:
    """A prompt rendered by the chat template, its token ids and the turns dropped."""

    text: str
    input_ids: list[int]
    dropped_turns: int
    prefix_text: str
    """The rendered system turn alone (the part shared by calls with one system text)."""


def render_template_prompt(
    messages: Sequence[BaseMessage],
    *,
    mode: ToolMode | None,
    tokenizer: Any,
    max_prompt_tokens: int,
    window: int,
) -> TemplatePrompt:
    """Render with ``tokenizer.apply_chat_template`` within ``max_prompt_tokens`` tokens."""
    system, turns = template_messages(messages, mode, specials=_special_tokens(tokenizer))
    if not turns:
        raise InvalidInputError(
            "The conversation has no message to answer; pass at least one human message.",
            input_name="messages",
        )
    for dropped in range(len(turns)):
        text = _apply(tokenizer, _merged(system, turns[dropped:]))
        ids: list[int] = tokenizer(text, add_special_tokens=False).input_ids
        if len(ids) <= max_prompt_tokens:
            break
    else:
        raise InvalidInputError(
            f"The system text and the latest message need {len(ids)} tokens but only "
            f"{max_prompt_tokens} fit before the answer (context window {window} minus "
            "max_new_tokens): shorten the message, bind fewer tools, lower max_new_tokens, "
            "or raise BIOMED_MAX_CONTEXT (context_window) if the model supports more.",
            input_name="messages",
        )
    if dropped:
        warn_dropped_turns(dropped, len(turns), max_prompt_tokens, stacklevel=3)
    prefix = _apply(tokenizer, [system], generation=False) if system else ""
    return TemplatePrompt(text=text, input_ids=ids, dropped_turns=dropped, prefix_text=prefix)


def _apply(tokenizer: Any, messages: list[Any], *, generation: bool = True) -> str:
    try:
        text = tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=generation
        )
    except Exception as exc:  # jinja2 TemplateError and friends, raised by the template
        raise InvalidInputError(
            f"The model's chat template rejected the conversation: {exc}. Use "
            "chat_format='biomedgpt' or pass alternating user/assistant messages.",
            input_name="messages",
        ) from exc
    return str(text)
