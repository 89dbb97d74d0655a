"""``ChatBioMedGPT``: BioMedGPT-LM-7B (or any Llama-style causal LM) as a LangChain chat model."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import RunnableConfig
from pydantic import Field, PrivateAttr, model_validator

if TYPE_CHECKING:
    from transformers import GenerationConfig

    from biomed_agent.models.row_sampling import Sampling
    from biomed_agent.models.scoring import ContinuationScore

from biomed_agent.errors import BiomedAgentError, GenerationError, ModelLoadError
from biomed_agent.models.base import GenerationParams, GenerationRequest
from biomed_agent.models.loading import LoadedModel, LoadSpec, load_model
from biomed_agent.models.local_prompt import (
    LocalPrompt,
    build_prompt,
    chat_format_for,
    context_window_for,
    stop_ids,
)
from biomed_agent.models.template_format import ChatFormatName
from biomed_agent.models.token_counts import LocalTokenCounts, TextCut
from biomed_agent.models.tool_calling import CLOSING_ALLOWANCE, ToolMode

__all__ = ["ChatBioMedGPT"]

_UNBOUNDED = 1 << 30
"""A window no prompt reaches: counting renders without truncation."""


class ChatBioMedGPT(LocalTokenCounts):
    """BioMedGPT running locally with HF transformers, with schema-valid tool calls.

    Weights load lazily on first use and are shared by every instance with the same
    loading settings (``model``, ``dtype``, ``device_map``, quantization, offload).
    Prompts use BioMedGPT's own conversation format; bound tools are offered in the
    system text and their calls are decoded under each tool's JSON Schema with
    xgrammar, so every call in ``AIMessage.tool_calls`` parses and validates.
    ``batch`` (and concurrent calls) decode up to ``max_batch_size`` requests in one
    padded forward pass (:mod:`biomed_agent.models.batching`).

    Example::

        from biomed_agent import ChatBioMedGPT

        chat = ChatBioMedGPT(model="/models/BioMedGPT-LM-7B", dtype="bf16")
        chat.invoke("What does the protein p53 do?")
        chat.bind_tools([molecule_properties], tool_choice="any").invoke("Describe aspirin")
    """

    model: str = "PharMolix/BioMedGPT-LM-7B"
    """Hub id (read from the local Hugging Face cache), a local checkpoint directory, or a
    GGUF file (``*.gguf``; dequantized on load, needs the ``gguf`` package)."""

    dtype: Literal["auto", "bf16", "fp16", "fp32"] = "auto"
    """Weight dtype; ``auto`` is fp16 on GPUs, fp32 on CPU (:mod:`biomed_agent.devices`)."""

    device_map: str = "auto"
    """Placement: ``auto`` (all visible GPUs, else CPU), ``cpu``, ``cuda`` or ``cuda:N``."""

    load_in_8bit: bool = False
    """Quantize the weights to 8 bit with bitsandbytes (CUDA only; about 7 GB for 7B)."""

    load_in_4bit: bool = False
    """Quantize the weights to 4 bit NF4 with bitsandbytes (CUDA only; about 4 GB for 7B)."""

    offload: bool = False
    """Let layers that do not fit on the GPU live on CPU/disk (slower, but loads)."""

    context_window: int | None = Field(default=None, ge=64)
    """Tokens the model attends to (prompt + answer); ``None`` reads it from the checkpoint
    (BioMedGPT-LM-7B: 2,048, its training length; otherwise the config's
    ``max_position_embeddings``). A value is capped at what the checkpoint supports."""

    chat_format: Literal["auto", "biomedgpt", "tokenizer"] = "auto"
    """How messages become a prompt: ``biomedgpt`` (OpenBioMed's ``### Human:`` turns),
    ``tokenizer`` (the checkpoint's own chat template, stopping at its end-of-turn token),
    or ``auto``: BioMedGPT checkpoints and tokenizers without a template get ``biomedgpt``,
    every other checkpoint its own template."""

    allow_download: bool = False
    """Download missing weights from the hub (13 GB for BioMedGPT-LM-7B); off by default."""

    max_batch_size: int = Field(default=8, ge=1)
    """Most requests decoded together in one left-padded ``generate`` call (``batch`` and
    concurrent calls); 1 decodes one request at a time. Larger batches need more memory
    for the KV cache (about 0.5 GB per 1,000 tokens per sequence for 7B in fp16)."""

    choose_tool_first: bool = True
    """When a call to one of several tools is required, pick the tool by the model's
    log-likelihood of each call opening, calibrated against a content-free prompt and
    added to the retrieval similarity (:mod:`~biomed_agent.models.tool_choice`), then
    decode only that tool's arguments."""

    prefix_cache: bool = True
    """Keep the KV cache of the system text and tool catalogue and reuse it in later calls
    that start with them (calls decoded alone); only the new tokens are encoded."""

    _loaded: LoadedModel | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _one_quantization(self) -> ChatBioMedGPT:
        if self.load_in_8bit and self.load_in_4bit:
            raise ValueError("Choose one of load_in_8bit and load_in_4bit, not both.")
        return self

    @property
    def model_name(self) -> str:
        """The configured model id or path."""
        return self.model

    @property
    def load_spec(self) -> LoadSpec:
        """The loading settings; instances with equal specs share one loaded model."""
        from biomed_agent.settings import get_settings

        quantization: Literal["none", "8bit", "4bit"] = (
            "8bit" if self.load_in_8bit else "4bit" if self.load_in_4bit else "none"
        )
        offload_dir = str(get_settings().data_dir / "offload") if self.offload else None
        return LoadSpec(
            model=self.model,
            dtype=self.dtype,
            device_map=self.device_map,
            quantization=quantization,
            offload_dir=offload_dir,
            allow_download=self.allow_download,
        )

    def loaded(self) -> LoadedModel:
        """The model and tokenizer, loaded now if this is the first use."""
        if self._loaded is None:
            self._loaded = load_model(self.load_spec)
        return self._loaded

    def _format_stop_strings(self) -> list[str]:
        if self.chat_format == "tokenizer":
            return []  # the template's end-of-turn token ends the answer
        if self.chat_format == "auto" and self.resolved_chat_format() == "tokenizer":
            return []
        return super()._format_stop_strings()

    def resolved_chat_format(self) -> ChatFormatName:
        """The chat format in use (``auto`` resolved from the checkpoint; loads the model)."""
        return chat_format_for(self.loaded(), self.chat_format)

    def resolved_context_window(self) -> int:
        """The context window in use (the setting capped at the checkpoint's; loads the model)."""
        return context_window_for(self.loaded(), self.context_window)

    def _text_pieces(self, request: GenerationRequest) -> Generator[str, None, None]:
        from biomed_agent.models.batching import GenerationJob, scheduler_for
        from biomed_agent.models.decoding import PieceStreamer, make_constrained_decoding

        loaded = self.loaded()
        params = request.params
        extra = CLOSING_ALLOWANCE if request.mode is not None else 0
        chat_format = self.resolved_chat_format()
        prompt = build_prompt(
            loaded,
            request,
            chat_format=chat_format,
            window=self.resolved_context_window(),
            reserved=params.max_new_tokens + extra,
        )
        input_ids = prompt.input_ids
        processors = []
        if request.mode is not None:
            processors.append(
                make_constrained_decoding(
                    loaded,
                    self._decoding_mode(loaded, request, prompt),
                    prompt_length=len(input_ids),
                    closing_after=params.max_new_tokens,
                )
            )
        config = _generation_config(loaded, params, max_tokens=params.max_new_tokens + extra)
        config.eos_token_id = stop_ids(loaded, chat_format) or config.eos_token_id
        job = GenerationJob(
            loaded=loaded,
            input_ids=input_ids,
            config=config,
            streamer=PieceStreamer(loaded.tokenizer, request.stop, request.mode),
            shareable=self._shareable(request),
            max_batch=self.max_batch_size,
            processors=processors,
            sampling=_sampling(params),
            seed=params.seed,
            prefix_length=prompt.prefix_length if self.prefix_cache else 0,
        )
        scheduler = scheduler_for(loaded)
        if request.streaming or not scheduler.run_here(job):  # invoke decodes in this thread
            scheduler.submit(job)
        try:
            yield from job.streamer
        finally:
            job.cancel.set()
            job.wait()
        if job.error is not None:
            raise translate_generation_error(job.error, self.model)
        request.set_usage(len(input_ids), job.output_tokens)
        if request.mode is not None:
            # A call still open at max_new_tokens was force-closed (decoding's closing mode).
            if job.output_tokens > params.max_new_tokens:
                request.finish_reason = "length"
        elif job.output_tokens >= params.max_new_tokens and not job.streamer.stop_hit:
            request.finish_reason = "length"

    def prompt_text(self, messages: LanguageModelInput) -> str:
        """The prompt ``messages`` render to in this model's chat format (answer turn open)."""
        request = self._request(self._convert_input(messages).to_messages(), None, {})
        return build_prompt(
            self.loaded(),
            request,
            chat_format=self.resolved_chat_format(),
            window=self.resolved_context_window(),
            reserved=1,
        ).text

    def prompt_counter(
        self,
    ) -> tuple[int, Callable[..., int], Callable[[str], int], TextCut]:
        """(context window, prompt tokens of messages [and call options: bound tools], tokens
        of a text, text cut to n tokens), with this model's tokenizer and chat format (loads
        the model)."""
        loaded = self.loaded()
        tokenizer = loaded.tokenizer
        chat_format = self.resolved_chat_format()

        def count(messages: Sequence[BaseMessage], options: Mapping[str, Any] | None = None) -> int:
            request = self._request(list(messages), None, dict(options or {}))
            ids = build_prompt(
                loaded, request, chat_format=chat_format, window=_UNBOUNDED, reserved=1
            ).input_ids
            return len(ids)

        def count_text(text: str) -> int:
            return len(tokenizer(text, add_special_tokens=False).input_ids)

        def cut_text(text: str, tokens: int) -> str:
            ids = tokenizer(text, add_special_tokens=False).input_ids[:tokens]
            return str(tokenizer.decode(ids, skip_special_tokens=True))

        return self.resolved_context_window(), count, count_text, cut_text

    def loglikelihood(self, requests: list[tuple[str, str]]) -> list[ContinuationScore]:
        """Log-likelihood of each ``(context, continuation)`` pair of raw strings.

        The request lm-evaluation-harness scores multiple choice with; continuation
        tokens are cut from the joint tokenization, as the harness does.
        """
        from biomed_agent.models.scoring import loglikelihoods

        special = self.resolved_chat_format() == "biomedgpt"
        return loglikelihoods(self.loaded(), requests, special=special)

    def _decoding_mode(
        self, loaded: LoadedModel, request: GenerationRequest, prompt: LocalPrompt
    ) -> ToolMode:
        """The grammar's mode: with a forced choice among several tools the tool is chosen
        first (:mod:`~biomed_agent.models.tool_choice`), then identifier arguments are
        limited to spans copied from the message (:mod:`~biomed_agent.models.argument_spans`)."""
        from biomed_agent.models.argument_spans import constrain_arguments
        from biomed_agent.models.tool_choice import content_free_messages

        mode = request.mode
        assert mode is not None
        if self.choose_tool_first and mode.required and len(mode.allowed) > 1:
            from biomed_agent.models.tool_choice import choose_tool

            def content_free() -> tuple[list[int], int]:
                blank = replace(request, messages=content_free_messages(request.messages))
                null = build_prompt(
                    loaded,
                    blank,
                    chat_format=self.resolved_chat_format(),
                    window=self.resolved_context_window(),
                    reserved=1,
                )
                return null.input_ids, null.prefix_length if self.prefix_cache else 0

            prefix = prompt.prefix_length if self.prefix_cache else 0
            mode = choose_tool(loaded, mode, (prompt.input_ids, prefix), content_free)
        return constrain_arguments(mode, request.messages)

    def _shareable(self, request: GenerationRequest) -> bool:
        """Whether ``request`` may be decoded in one padded batch with others.

        Not when decoding is constrained (per-request grammar state), nor for a seeded
        sample, whose result is reproducible only when it is decoded alone.
        """
        params = request.params
        return request.mode is None and (params.temperature == 0 or params.seed is None)

    def batch(
        self,
        inputs: list[LanguageModelInput],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[AIMessage]:
        """Answer ``inputs``; requests that may share a forward pass are decoded as one batch."""
        with self._gathering(len(inputs)):
            return super().batch(inputs, config, return_exceptions=return_exceptions, **kwargs)

    async def abatch(
        self,
        inputs: list[LanguageModelInput],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[AIMessage]:
        """Async :meth:`batch`."""
        with self._gathering(len(inputs)):
            return await super().abatch(
                inputs, config, return_exceptions=return_exceptions, **kwargs
            )

    @contextmanager
    def _gathering(self, count: int) -> Iterator[None]:
        """Tell the scheduler ``count`` requests are coming, once the model is loaded.

        A model that fails to load is left to fail in each request, as ``invoke`` does.
        """
        from biomed_agent.models.batching import scheduler_for

        try:
            scheduler = scheduler_for(self.loaded()) if count > 1 else None
        except BiomedAgentError:
            scheduler = None
        if scheduler is None:
            yield
            return
        with scheduler.expect(count):
            yield


def _generation_config(
    loaded: LoadedModel, params: GenerationParams, *, max_tokens: int
) -> GenerationConfig:
    """Always greedy: a sampled request draws its tokens in its own final logits step
    (:func:`_sampling`, :mod:`biomed_agent.models.row_sampling`), with its own generator."""
    from transformers import GenerationConfig

    return GenerationConfig(
        max_new_tokens=max_tokens,
        min_new_tokens=1,
        do_sample=False,
        repetition_penalty=params.repetition_penalty,
        bos_token_id=loaded.tokenizer.bos_token_id,
        eos_token_id=loaded.tokenizer.eos_token_id,
        pad_token_id=loaded.model.generation_config.pad_token_id,
    )


def _sampling(params: GenerationParams) -> Sampling | None:
    """The request's sampling filters (no top-k: the full distribution); ``None`` when greedy."""
    from biomed_agent.models.row_sampling import Sampling

    if params.temperature == 0:
        return None
    return Sampling(temperature=params.temperature, top_p=params.top_p, top_k=0)


def translate_generation_error(error: BaseException, model: str) -> BaseException:
    """A generation failure as the package's typed error (the one boundary for ``generate``)."""
    import torch

    if isinstance(error, BiomedAgentError) or not isinstance(error, Exception):
        return error  # already typed, or KeyboardInterrupt/SystemExit: never wrapped
    if isinstance(error, torch.OutOfMemoryError | MemoryError):
        translated: BiomedAgentError = ModelLoadError(
            f"Out of memory while generating with {model!r}: lower max_new_tokens, "
            "max_batch_size or the conversation length, or load the model in 4/8 bit.",
            input_name="model",
        )
    else:
        translated = GenerationError(
            f"Generation with {model!r} failed: {type(error).__name__}: {error}"
        )
    translated.__cause__ = error
    return translated
