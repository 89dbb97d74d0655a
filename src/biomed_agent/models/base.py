"""What the local and the remote BioMedGPT chat models share.

A backend only turns a :class:`GenerationRequest` into text pieces
(:meth:`BioMedChatBase._text_pieces`). Everything else is here, once:
generation parameters as fields, per-call overrides, ``bind_tools`` /
``with_structured_output``, and a single generation path: ``_run`` feeds the
pieces through an :class:`~biomed_agent.models.output.OutputAssembler` and
yields answer deltas then one :class:`_Final` (pieces after a stop string are
read but dropped: backends stop at the same strings, and usage arrives last);
``_stream`` turns those into chunks and ``_generate`` into one message, so both
always produce the same text, tool calls and usage.
"""

from __future__ import annotations

import asyncio
import json
from abc import abstractmethod
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, Field

from biomed_agent.errors import InvalidInputError
from biomed_agent.models.chat_format import ConversationFormat
from biomed_agent.models.output import OutputAssembler
from biomed_agent.models.tool_calling import ParsedOutput, ToolMode, resolve_tool_mode

__all__ = ["BioMedChatBase", "GenerationParams", "GenerationRequest"]

_PROVIDER = "biomedgpt"


@dataclass(frozen=True)
class GenerationParams:
    """Decoding parameters of one request (fields of the model, overridable per call)."""

    temperature: float
    top_p: float
    max_new_tokens: int
    repetition_penalty: float
    seed: int | None


@dataclass
class GenerationRequest:
    """One request as a backend sees it; the backend fills ``usage`` and ``finish_reason``."""

    messages: list[BaseMessage]
    stop: list[str]
    mode: ToolMode | None
    params: GenerationParams
    usage: UsageMetadata = field(
        default_factory=lambda: UsageMetadata(input_tokens=0, output_tokens=0, total_tokens=0)
    )
    finish_reason: str | None = None
    streaming: bool = True
    """False for ``invoke``/``generate``: nobody reads pieces while they are decoded, so a
    backend may decode without a streaming hand-off (the pieces and result are the same)."""

    def set_usage(self, input_tokens: int, output_tokens: int) -> None:
        """Record token counts reported by the backend."""
        self.usage = UsageMetadata(
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            total_tokens=input_tokens + output_tokens,
        )


@dataclass(frozen=True)
class _Final:
    rest: str
    parsed: ParsedOutput
    usage: UsageMetadata
    metadata: dict[str, Any]


_PARAM_NAMES = ("temperature", "top_p", "max_new_tokens", "repetition_penalty", "seed")


class BioMedChatBase(BaseChatModel):
    """Generation fields and the one generation path of the BioMedGPT chat models."""

    temperature: float = Field(default=0.0, ge=0.0)
    """Sampling temperature; 0 decodes greedily (reproducible, as OpenBioMed's chat does)."""

    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    """Nucleus sampling: keep the smallest token set whose probability reaches ``top_p``."""

    max_new_tokens: int = Field(default=512, ge=1)
    """Most tokens generated for an answer (a tool call may use a few more to close its JSON)."""

    repetition_penalty: float = Field(default=1.0, gt=0.0)
    """Penalty (>1) on tokens already present; 1 disables it."""

    seed: int | None = None
    """Seed for sampling, so a sampled answer can be reproduced; unused when greedy."""

    stop: list[str] | None = None
    """Extra stop strings; with the BioMedGPT chat format generation always also stops at
    the next ``###`` turn marker (with a tokenizer template, at its end-of-turn token)."""

    max_offered_tools: int = Field(default=6, ge=1)
    """Most bound tools shown to the model in one call: the most relevant to the latest user
    message (MiniLM embeddings of the tool descriptions), so the prompt fits the context;
    BioMedGPT-10B tools only when a 10B checkpoint is configured."""

    @property
    @abstractmethod
    def model_name(self) -> str:
        """Name reported in ``response_metadata["model_name"]`` and traces."""

    @abstractmethod
    def _text_pieces(self, request: GenerationRequest) -> Generator[str, None, None]:
        """Generate for ``request`` and yield raw text pieces as they are decoded.

        Closing the iterator early must stop generation.
        """

    async def _atext_pieces(self, request: GenerationRequest) -> AsyncIterator[str]:
        """Async pieces; by default the sync iterator driven from a worker thread."""
        pieces = self._text_pieces(request)
        done = object()
        try:
            while (piece := await asyncio.to_thread(next, pieces, done)) is not done:
                yield piece  # type: ignore[misc]
        finally:
            await asyncio.to_thread(pieces.close)

    # --- tools ----------------------------------------------------------------

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | dict[str, Any] | bool | None = None,
        strict: bool | None = None,
        parallel_tool_calls: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Offer ``tools``; their calls are decoded under their JSON Schemas.

        ``tool_choice``: ``"auto"``/``None`` (answer or call), ``"any"``/``"required"``
        (must call), a tool name (must call that tool), ``"none"`` (no calls).
        ``strict`` and ``parallel_tool_calls`` are accepted for compatibility with
        agents written for OpenAI models and change nothing: decoding is always
        strict, and the model emits at most one call per turn.
        """
        formatted = [convert_to_openai_tool(tool) for tool in tools]
        resolve_tool_mode(formatted, tool_choice)  # reject an unknown tool_choice now
        return self.bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type,
        *,
        include_raw: bool = False,
        method: Literal["function_calling", "json_schema", "json_mode"] = "function_calling",
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | BaseModel]:
        """Return objects matching ``schema``: a forced tool call, decoded under its schema.

        Every ``method`` uses the same constrained decoding (``json_mode`` included:
        the JSON is not only well-formed but valid against ``schema``), so the
        output always parses into ``schema`` (a pydantic class, TypedDict or JSON Schema).
        """
        if method not in ("function_calling", "json_schema", "json_mode"):
            raise InvalidInputError(
                f"method {method!r} is not supported; use 'function_calling', 'json_schema' "
                "or 'json_mode'.",
                input_name="method",
            )
        return super().with_structured_output(schema, include_raw=include_raw, **kwargs)

    # --- the one generation path --------------------------------------------

    def _request(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> GenerationRequest:
        options = dict(kwargs)
        mode = resolve_tool_mode(options.pop("tools", None), options.pop("tool_choice", None))
        if mode is not None:
            mode = self._offered(mode, messages)
        values = {name: options.pop(name, getattr(self, name)) for name in _PARAM_NAMES}
        if options:
            raise InvalidInputError(
                f"Unsupported call arguments {sorted(options)}; supported: tools, tool_choice, "
                f"stop, {', '.join(_PARAM_NAMES)}.",
                input_name=sorted(options)[0],
            )
        stops = [*self._format_stop_strings(), *(self.stop or []), *(stop or [])]
        return GenerationRequest(
            messages=list(messages),
            stop=list(dict.fromkeys(stops)),
            mode=mode,
            params=GenerationParams(**values),
        )

    def _offered(self, mode: ToolMode, messages: list[BaseMessage]) -> ToolMode:
        """The bound tools that can run, at most ``max_offered_tools`` most relevant ones."""
        from biomed_agent.models.tool_selection import select_tools
        from biomed_agent.settings import get_settings

        query = next((m.text for m in reversed(messages) if m.type == "human"), "")
        has_10b = get_settings().biomedgpt10b_path is not None
        return select_tools(mode, query, limit=self.max_offered_tools, has_10b=has_10b)

    def _format_stop_strings(self) -> list[str]:
        """Stop strings of the chat format (BioMedGPT's: the next ``###`` turn marker)."""
        return ConversationFormat.biomedgpt().stop_strings

    def _final(self, request: GenerationRequest, assembler: OutputAssembler) -> _Final:
        rest, parsed = assembler.finish()
        if request.finish_reason == "length":
            parsed = parsed.cut_by_budget()  # a force-closed call is never accepted
        finish = parsed.finish_reason if parsed.tool_calls else request.finish_reason or "stop"
        metadata = {
            "model_name": self.model_name,
            "model_provider": _PROVIDER,
            "finish_reason": finish,
        }
        return _Final(rest=rest, parsed=parsed, usage=request.usage, metadata=metadata)

    def _run(self, request: GenerationRequest) -> Iterator[str | _Final]:
        assembler = OutputAssembler(request.stop, request.mode)
        pieces = self._text_pieces(request)
        try:
            for piece in pieces:
                if delta := assembler.feed(piece):
                    yield delta
        finally:
            pieces.close()
        yield self._final(request, assembler)

    async def _arun(self, request: GenerationRequest) -> AsyncIterator[str | _Final]:
        assembler = OutputAssembler(request.stop, request.mode)
        pieces = self._atext_pieces(request)
        try:
            async for piece in pieces:
                if delta := assembler.feed(piece):
                    yield delta
        finally:
            await pieces.aclose()  # type: ignore[attr-defined]
        yield self._final(request, assembler)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for event in self._run(self._request(messages, stop, kwargs)):
            chunk = _to_chunk(event)
            if run_manager is not None and chunk.text:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        async for event in self._arun(self._request(messages, stop, kwargs)):
            chunk = _to_chunk(event)
            if run_manager is not None and chunk.text:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        request = self._request(messages, stop, kwargs)
        request.streaming = False
        return _to_result(list(self._run(request)))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        request = self._request(messages, stop, kwargs)
        request.streaming = False
        events = [event async for event in self._arun(request)]
        return _to_result(events)

    # --- LangChain metadata ---------------------------------------------------

    @property
    def _llm_type(self) -> str:
        return _PROVIDER

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, **{n: getattr(self, n) for n in _PARAM_NAMES}}

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = LangSmithParams(
            ls_provider=_PROVIDER,
            ls_model_name=kwargs.get("model", self.model_name),
            ls_model_type="chat",
            ls_temperature=kwargs.get("temperature", self.temperature),
            ls_max_tokens=kwargs.get("max_new_tokens", self.max_new_tokens),
        )
        if stop or self.stop:
            params["ls_stop"] = stop or self.stop
        return params


def _to_chunk(event: str | _Final) -> ChatGenerationChunk:
    if isinstance(event, str):
        return ChatGenerationChunk(message=AIMessageChunk(content=event))
    parsed = event.parsed
    chunks = [
        tool_call_chunk(name=call["name"], args=json.dumps(call["args"]), id=call["id"], index=i)
        for i, call in enumerate(parsed.tool_calls)
    ]
    message = AIMessageChunk(
        content=event.rest,
        tool_call_chunks=chunks,
        invalid_tool_calls=parsed.invalid_tool_calls,
        usage_metadata=event.usage,
        response_metadata=event.metadata,
        chunk_position="last",
    )
    return ChatGenerationChunk(message=message, generation_info=event.metadata)


def _to_result(events: Sequence[str | _Final]) -> ChatResult:
    *deltas, final = events
    assert isinstance(final, _Final)
    text = "".join(d for d in deltas if isinstance(d, str)) + final.rest
    message = AIMessage(
        content=text,
        tool_calls=final.parsed.tool_calls,
        invalid_tool_calls=final.parsed.invalid_tool_calls,
        usage_metadata=final.usage,
        response_metadata=final.metadata,
    )
    return ChatResult(generations=[ChatGeneration(message=message, generation_info=final.metadata)])
