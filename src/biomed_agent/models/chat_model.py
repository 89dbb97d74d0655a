"""``ChatBioMedGPT``: BioMedGPT-LM-7B (or any Llama-style causal LM) as a LangChain chat model."""

from __future__ import annotations

import threading
from collections.abc import Generator
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, PrivateAttr, model_validator

if TYPE_CHECKING:
    from transformers import GenerationConfig

from biomed_agent.errors import ModelLoadError
from biomed_agent.models.base import BioMedChatBase, GenerationParams, GenerationRequest
from biomed_agent.models.chat_format import render_prompt
from biomed_agent.models.loading import LoadedModel, LoadSpec, load_model
from biomed_agent.models.tool_calling import CLOSING_ALLOWANCE

__all__ = ["ChatBioMedGPT"]


class ChatBioMedGPT(BioMedChatBase):
    """BioMedGPT running locally with HF transformers, with schema-valid tool calls.

    Weights load lazily on first use and are shared by every instance with the same
    loading settings (``model``, ``dtype``, ``device_map``, quantization, offload).
    Prompts use BioMedGPT's own conversation format; bound tools are offered in the
    system text and their calls are decoded under each tool's JSON Schema with
    xgrammar, so every call in ``AIMessage.tool_calls`` parses and validates.

    Example::

        from biomed_agent import ChatBioMedGPT

        chat = ChatBioMedGPT(model="/models/BioMedGPT-LM-7B", dtype="bf16")
        chat.invoke("What does the protein p53 do?")
        chat.bind_tools([molecule_properties], tool_choice="any").invoke("Describe aspirin")
    """

    model: str = "PharMolix/BioMedGPT-LM-7B"
    """Hub id (read from the local Hugging Face cache) or a local checkpoint directory."""

    dtype: Literal["auto", "bf16", "fp16", "fp32"] = "auto"
    """Weight dtype; ``auto`` is bf16 on GPUs that support it, fp16 on other GPUs, fp32 on CPU."""

    device_map: str = "auto"
    """Placement: ``auto`` (all visible GPUs, else CPU), ``cpu``, ``cuda`` or ``cuda:N``."""

    load_in_8bit: bool = False
    """Quantize the weights to 8 bit with bitsandbytes (CUDA only; about 7 GB for 7B)."""

    load_in_4bit: bool = False
    """Quantize the weights to 4 bit NF4 with bitsandbytes (CUDA only; about 4 GB for 7B)."""

    offload: bool = False
    """Let layers that do not fit on the GPU live on CPU/disk (slower, but loads)."""

    context_window: int = Field(default=4096, ge=64)
    """Tokens the model attends to (prompt + answer); 4,096 for BioMedGPT-LM-7B."""

    allow_download: bool = False
    """Download missing weights from the hub (13 GB for BioMedGPT-LM-7B); off by default."""

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

    def _text_pieces(self, request: GenerationRequest) -> Generator[str, None, None]:
        import torch
        from transformers import StoppingCriteriaList

        from biomed_agent.models.decoding import (
            PieceStreamer,
            StopCondition,
            make_constrained_decoding,
        )

        loaded = self.loaded()
        tokenizer = loaded.tokenizer
        params = request.params
        extra = CLOSING_ALLOWANCE if request.mode is not None else 0
        window = min(self.context_window, loaded.context_limit or self.context_window)
        prompt = render_prompt(
            request.messages,
            mode=request.mode,
            count_tokens=lambda text: len(tokenizer(text).input_ids),
            max_prompt_tokens=window - params.max_new_tokens - extra,
        )
        inputs = tokenizer(prompt.text, return_tensors="pt").to(loaded.device)
        prompt_length = int(inputs["input_ids"].shape[1])
        processors = []
        if request.mode is not None:
            processors.append(
                make_constrained_decoding(
                    loaded,
                    request.mode,
                    prompt_length=prompt_length,
                    closing_after=params.max_new_tokens,
                )
            )
        cancel = threading.Event()
        streamer = PieceStreamer(tokenizer, request.stop, request.mode)
        stopping = StopCondition(streamer, cancel)
        config = _generation_config(loaded, params, max_tokens=params.max_new_tokens + extra)
        outcome: dict[str, Any] = {}

        def generate() -> None:
            try:
                with loaded.lock, torch.inference_mode():
                    if params.seed is not None:
                        torch.manual_seed(params.seed)
                    outcome["ids"] = loaded.model.generate(  # type: ignore[operator]
                        **inputs,
                        generation_config=config,
                        logits_processor=processors,
                        stopping_criteria=StoppingCriteriaList([stopping]),
                        streamer=streamer,
                    )
            except BaseException as exc:  # re-raised in the caller's thread below
                outcome["error"] = exc
                streamer.end()

        worker = threading.Thread(target=generate, name="biomedgpt-generate", daemon=True)
        worker.start()
        try:
            yield from streamer
        finally:
            cancel.set()
            worker.join()
        if "error" in outcome:
            raise _translate(outcome["error"], self.model)
        output_tokens = int(outcome["ids"].shape[1]) - prompt_length
        request.set_usage(prompt_length, output_tokens)
        if output_tokens >= params.max_new_tokens and not streamer.stop_hit:
            request.finish_reason = "length"


def _generation_config(
    loaded: LoadedModel, params: GenerationParams, *, max_tokens: int
) -> GenerationConfig:
    from transformers import GenerationConfig

    sample = params.temperature > 0
    return GenerationConfig(
        max_new_tokens=max_tokens,
        min_new_tokens=1,
        do_sample=sample,
        temperature=params.temperature if sample else None,
        top_p=params.top_p if sample else None,
        top_k=None,
        repetition_penalty=params.repetition_penalty,
        bos_token_id=loaded.tokenizer.bos_token_id,
        eos_token_id=loaded.tokenizer.eos_token_id,
        pad_token_id=loaded.model.generation_config.pad_token_id,
    )


def _translate(error: BaseException, model: str) -> BaseException:
    import torch

    if isinstance(error, torch.OutOfMemoryError | MemoryError):
        return ModelLoadError(
            f"Out of memory while generating with {model!r}: lower max_new_tokens or the "
            "conversation length, or load the model in 4/8 bit.",
            input_name="model",
        )
    return error
