"""``ChatBioMedGPTRemote``: BioMedGPT served by an OpenAI-compatible server (vLLM).

Selected with ``BIOMED_MODEL=openai:<base_url>/<model>``, e.g.
``openai:http://gpu-box:8000/v1/PharMolix/BioMedGPT-LM-7B``. It behaves like
:class:`~biomed_agent.models.chat_model.ChatBioMedGPT` (same fields, same
output handling, same tool-call protocol) but generation runs on the server:

- messages go to ``/v1/chat/completions`` (``chat_format``: BioMedGPT turns for the
  packaged template, or plain roles for the served model's own template); tools are
  offered in the system text
  and tool results are sent as data, exactly as locally (the server does not
  need a tool parser, and the ``tools`` request field is not used). Serve the
  model with the packaged chat template
  (``load_prompt("biomedgpt_chat_template")``, ``vllm serve ... --chat-template``)
  and the server sees the very prompt the local model would;
- tool calls use the server's guided decoding with the same grammar as locally:
  a forced call sends the tool-call JSON Schema (``structured_outputs.json``, or
  ``guided_json`` for vLLM before 0.10), ``tool_choice="auto"`` sends the
  text-or-call grammar as xgrammar EBNF (``structured_outputs.grammar`` /
  ``guided_grammar``; the server must use the xgrammar backend, vLLM's default);
- the answer text is parsed by the shared output assembler, so calls land in
  ``AIMessage.tool_calls`` only when they parse and validate.

History is not truncated here: the server knows its own context limit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator, Iterator
from typing import Any, Literal

from pydantic import Field, PrivateAttr, SecretStr

from biomed_agent.errors import ModelLoadError, UpstreamError, UpstreamTimeoutError
from biomed_agent.models.base import BioMedChatBase, GenerationRequest
from biomed_agent.models.chat_format import (
    ConversationFormat,
    is_system,
    message_text,
    system_text,
)
from biomed_agent.models.template_format import ChatFormatName, template_messages
from biomed_agent.models.tool_calling import CLOSING_ALLOWANCE, build_grammar, tool_call_schema

__all__ = ["NO_API_KEY", "ChatBioMedGPTRemote"]

NO_API_KEY = "EMPTY"
"""Placeholder key for servers started without ``--api-key`` (the client requires one)."""

_SERVICE = "openai-compatible server"


class ChatBioMedGPTRemote(BioMedChatBase):
    """BioMedGPT behind an OpenAI-compatible endpoint, with server-side guided tool calls."""

    base_url: str
    """Server URL up to and including ``/v1`` (e.g. ``http://localhost:8000/v1``)."""

    model: str = "PharMolix/BioMedGPT-LM-7B"
    """Model name the server serves (vLLM's ``--served-model-name``)."""

    api_key: SecretStr = Field(default=SecretStr(NO_API_KEY))
    """Key sent as bearer token (vLLM ``--api-key``); vLLM without one accepts any value."""

    timeout: float = Field(default=120.0, gt=0)
    """Seconds to wait for the server before an :class:`UpstreamTimeoutError`."""

    max_retries: int = Field(default=2, ge=0)
    """Retries on connection errors, 429 and 5xx."""

    guided_decoding_api: Literal["structured_outputs", "guided"] = "structured_outputs"
    """How guided decoding is requested: vLLM >= 0.10 ``structured_outputs``, or the older
    ``guided_json`` / ``guided_grammar`` fields."""

    chat_format: Literal["auto", "biomedgpt", "tokenizer"] = "auto"
    """How the server should see the conversation: ``biomedgpt`` (serve it with the packaged
    ``### Human:`` template; ``###`` stops generation), ``tokenizer`` (plain role messages for
    the served model's own template, which ends the turn), or ``auto``: ``biomedgpt`` when the
    served model's name contains "biomedgpt", else ``tokenizer``."""

    _client: Any = PrivateAttr(default=None)
    _async_client: Any = PrivateAttr(default=None)

    def model_post_init(self, context: Any) -> None:
        """Build the sync and async OpenAI clients (cheap; nothing connects yet)."""
        from openai import AsyncOpenAI, OpenAI

        base_url, key = self.base_url.rstrip("/"), self.api_key.get_secret_value()
        self._client = OpenAI(
            base_url=base_url, api_key=key, timeout=self.timeout, max_retries=self.max_retries
        )
        self._async_client = AsyncOpenAI(
            base_url=base_url, api_key=key, timeout=self.timeout, max_retries=self.max_retries
        )

    @property
    def model_name(self) -> str:
        """The served model name."""
        return self.model

    @property
    def resolved_chat_format(self) -> ChatFormatName:
        """``chat_format`` with ``auto`` resolved from the served model's name."""
        if self.chat_format != "auto":
            return self.chat_format
        return "biomedgpt" if "biomedgpt" in self.model.lower() else "tokenizer"

    def _format_stop_strings(self) -> list[str]:
        if self.resolved_chat_format == "tokenizer":
            return []  # the server's template ends the turn with its own token
        return super()._format_stop_strings()

    def request_payload(self, request: GenerationRequest) -> dict[str, Any]:
        """The ``/v1/chat/completions`` body for ``request`` (streaming, with usage)."""
        if self.resolved_chat_format == "tokenizer":
            system, turns = template_messages(request.messages, request.mode)
            messages: list[dict[str, str]] = [system] if system else []
            messages += [entry for turn in turns for entry in turn]
        else:
            fmt = ConversationFormat.biomedgpt()
            system_content = system_text(request.messages, request.mode, fmt)
            messages = [{"role": "system", "content": system_content}]
            for message in request.messages:
                if not is_system(message):
                    role, text = message_text(message)
                    messages.append({"role": role, "content": fmt.neutralize(text)})
        params = request.params
        extra_body: dict[str, Any] = {"repetition_penalty": params.repetition_penalty}
        max_tokens = params.max_new_tokens
        stop: list[str] | None = request.stop
        if request.mode is not None:
            max_tokens += CLOSING_ALLOWANCE
            extra_body.update(self._guided(request))
            if request.mode.required:
                stop = None  # a forced tool call ends by its schema, never at a stop string
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": max_tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
            "extra_body": extra_body,
        }
        if stop:
            payload["stop"] = stop
        if params.seed is not None:
            payload["seed"] = params.seed
        return payload

    def _guided(self, request: GenerationRequest) -> dict[str, Any]:
        mode = request.mode
        assert mode is not None
        if mode.required:
            schema = tool_call_schema(mode)
            if self.guided_decoding_api == "guided":
                return {"guided_json": schema}
            return {"structured_outputs": {"json": schema}}
        grammar = str(build_grammar(mode))
        if self.guided_decoding_api == "guided":
            return {"guided_grammar": grammar}
        return {"structured_outputs": {"grammar": grammar}}

    def _text_pieces(self, request: GenerationRequest) -> Generator[str, None, None]:
        import openai

        try:
            stream = self._client.chat.completions.create(**self.request_payload(request))
            with stream:
                for event in stream:
                    yield from self._consume(event, request)
        except openai.APIError as exc:
            raise self._translate(exc) from exc

    async def _atext_pieces(self, request: GenerationRequest) -> AsyncIterator[str]:
        import openai

        try:
            stream = await self._async_client.chat.completions.create(
                **self.request_payload(request)
            )
            async with stream:
                async for event in stream:
                    for piece in self._consume(event, request):
                        yield piece
        except openai.APIError as exc:
            raise self._translate(exc) from exc

    @staticmethod
    def _consume(event: Any, request: GenerationRequest) -> Iterator[str]:
        if event.usage is not None:
            request.set_usage(event.usage.prompt_tokens, event.usage.completion_tokens)
        for choice in event.choices:
            if choice.finish_reason == "length":
                request.finish_reason = "length"
            if choice.delta.content:
                yield choice.delta.content

    def _translate(self, exc: Exception) -> Exception:
        import openai

        where = f"{self.base_url} (model {self.model!r})"
        if isinstance(exc, openai.APITimeoutError):
            return UpstreamTimeoutError(
                f"The model server at {where} did not answer within {self.timeout:g} s; "
                "raise the timeout or check the server load.",
                service=_SERVICE,
            )
        if isinstance(exc, openai.NotFoundError):
            return ModelLoadError(
                f"The server at {where} does not serve this model: start vLLM with "
                f"--served-model-name {self.model} or fix BIOMED_MODEL.",
                input_name="model",
            )
        status = getattr(exc, "status_code", None)
        return UpstreamError(
            f"The model server at {where} failed: {exc}. Check that it is running and "
            "OpenAI-compatible.",
            service=_SERVICE,
            status=status,
        )
