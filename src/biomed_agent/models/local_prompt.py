"""The local model's prompt: chat format, context window and token ids of one request.

- :func:`chat_format_for` resolves ``chat_format="auto"`` once per loaded model
  (BioMedGPT format for BioMedGPT checkpoints and template-less tokenizers, the
  checkpoint's own template otherwise).
- :func:`context_window_for` is the window a request must fit: the configured
  ``context_window`` (``BIOMED_MAX_CONTEXT``), capped at what the checkpoint
  supports (:attr:`LoadedModel.context_limit`: BioMedGPT-LM-7B's training length
  2,048, else the config's ``max_position_embeddings``).
- :func:`build_prompt` renders the request in that format and returns its ids and
  the ids of its *prefix* -- the system text and tool catalogue, shared by every
  call with the same system text -- whose KV cache
  :mod:`biomed_agent.models.prefix_cache` reuses.
"""

from __future__ import annotations

from dataclasses import dataclass

from biomed_agent.errors import InvalidInputError
from biomed_agent.models.base import GenerationRequest
from biomed_agent.models.chat_format import ConversationFormat, render_prompt, system_text
from biomed_agent.models.loading import LoadedModel
from biomed_agent.models.prompt_ids import prompt_encoder
from biomed_agent.models.template_format import (
    ChatFormatName,
    end_of_turn_ids,
    render_template_prompt,
    resolve_chat_format,
)

__all__ = ["LocalPrompt", "build_prompt", "chat_format_for", "context_window_for", "stop_ids"]

DEFAULT_WINDOW = 2048
"""Window used when neither the setting nor the checkpoint states one."""


@dataclass(frozen=True)
class LocalPrompt:
    """Token ids of one request's prompt and of its reusable prefix."""

    input_ids: list[int]
    prefix_length: int
    """How many leading ``input_ids`` are the shared system text (0: none worth caching)."""

    text: str = ""
    """The rendered prompt (what ``input_ids`` encode)."""


def chat_format_for(loaded: LoadedModel, requested: str) -> ChatFormatName:
    """The chat format ``requested`` means for ``loaded`` (``auto`` resolved once)."""
    formats: dict[str, ChatFormatName] = loaded.extras.setdefault("chat_formats", {})
    if requested not in formats:
        formats[requested] = resolve_chat_format(
            requested,
            model_name=loaded.spec.model,
            has_template=bool(getattr(loaded.tokenizer, "chat_template", None)),
        )
    return formats[requested]


def context_window_for(loaded: LoadedModel, configured: int | None) -> int:
    """The context window in tokens: the setting, capped at the checkpoint's limit."""
    limit = loaded.context_limit
    if configured is None:
        return limit or DEFAULT_WINDOW
    return min(configured, limit) if limit else configured


def stop_ids(loaded: LoadedModel, chat_format: ChatFormatName) -> list[int]:
    """Token ids that end generation: EOS, plus the template's end-of-turn tokens."""
    eos = loaded.tokenizer.eos_token_id
    if chat_format == "biomedgpt":
        return [int(eos)] if eos is not None else []
    return end_of_turn_ids(loaded.tokenizer, loaded.model.generation_config.eos_token_id)


def build_prompt(
    loaded: LoadedModel,
    request: GenerationRequest,
    *,
    chat_format: ChatFormatName,
    window: int,
    reserved: int,
) -> LocalPrompt:
    """Render ``request`` so it leaves ``reserved`` tokens of ``window`` for the answer."""
    tokenizer = loaded.tokenizer
    budget = window - reserved
    if budget <= 0:
        raise InvalidInputError(
            f"max_new_tokens leaves no room for a prompt in the {window}-token context window: "
            "lower max_new_tokens, or raise BIOMED_MAX_CONTEXT (context_window) if the model "
            "supports more.",
            input_name="max_new_tokens",
        )
    if chat_format == "tokenizer":
        rendered = render_template_prompt(
            request.messages,
            mode=request.mode,
            tokenizer=tokenizer,
            max_prompt_tokens=budget,
            window=window,
        )
        prefix_ids = tokenizer(rendered.prefix_text, add_special_tokens=False).input_ids
        shared = _shared(prefix_ids, rendered.input_ids)
        return LocalPrompt(rendered.input_ids, shared, rendered.text)
    fmt = ConversationFormat.biomedgpt()
    # ids as the official slow SentencePiece tokenizer gives them (issue 14)
    encode = prompt_encoder(tokenizer).encode
    try:
        prompt = render_prompt(
            request.messages,
            mode=request.mode,
            count_tokens=lambda text: len(encode(text)),
            max_prompt_tokens=budget,
            fmt=fmt,
        )
    except InvalidInputError as exc:
        if "fit" not in str(exc):
            raise
        raise InvalidInputError(
            f"{exc} The context window is {window} tokens (BIOMED_MAX_CONTEXT or "
            "context_window, capped at the checkpoint's limit).",
            input_name="messages",
        ) from exc
    input_ids = encode(prompt.text)
    header = fmt.header(system_text(request.messages, request.mode, fmt))
    return LocalPrompt(input_ids, _shared(encode(header), input_ids), prompt.text)


def _shared(prefix: list[int], ids: list[int]) -> int:
    """Length of the common start of ``prefix`` and ``ids``, leaving ``ids`` one token."""
    n = 0
    for a, b in zip(prefix, ids, strict=False):
        if a != b:
            break
        n += 1
    # The prefix's last token may merge with what follows it when tokenized together.
    return max(0, min(n, len(prefix) - 1, len(ids) - 1))
