"""Chat models: BioMedGPT locally (transformers) or on an OpenAI-compatible server.

- :class:`~biomed_agent.models.chat_model.ChatBioMedGPT`: local model, lazy shared loading,
  BioMedGPT's chat format, tool calls decoded under their JSON Schemas (xgrammar).
- :class:`~biomed_agent.models.remote.ChatBioMedGPTRemote`: the same over vLLM & co.
- :func:`init_biomed_model`: the configured one (``BIOMED_MODEL``), for the agent and CLI.

Importing this package is light; torch and transformers load with the first generation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from biomed_agent.errors import ConfigurationError
from biomed_agent.settings import Settings, get_settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from biomed_agent.models.chat_model import ChatBioMedGPT
    from biomed_agent.models.remote import ChatBioMedGPTRemote

__all__ = ["ChatBioMedGPT", "ChatBioMedGPTRemote", "init_biomed_model", "parse_remote_model"]

_REMOTE_PREFIX = "openai:"


def __getattr__(name: str) -> object:
    if name == "ChatBioMedGPT":
        from biomed_agent.models.chat_model import ChatBioMedGPT

        return ChatBioMedGPT
    if name == "ChatBioMedGPTRemote":
        from biomed_agent.models.remote import ChatBioMedGPTRemote

        return ChatBioMedGPTRemote
    raise AttributeError(f"module 'biomed_agent.models' has no attribute {name!r}")


def parse_remote_model(spec: str) -> tuple[str, str]:
    """Split ``openai:<base_url>/<model>`` into ``(base_url, model)``.

    The base URL ends at ``/v1`` when present (model names contain slashes:
    ``openai:http://host:8000/v1/PharMolix/BioMedGPT-LM-7B``); otherwise at the last ``/``.
    """
    target = spec.removeprefix(_REMOTE_PREFIX)
    if "/v1/" in target:
        base, model = target.split("/v1/", 1)
        base += "/v1"
    else:
        base, _, model = target.rpartition("/")
    if not base.startswith(("http://", "https://")) or not model:
        raise ConfigurationError(
            f"Model setting {spec!r} is not 'openai:<base_url>/<model>'; e.g. "
            "BIOMED_MODEL=openai:http://localhost:8000/v1/PharMolix/BioMedGPT-LM-7B.",
            input_name="model",
        )
    return base, model


def init_biomed_model(settings: Settings | None = None) -> BaseChatModel | None:
    """The chat model ``settings.model`` names (``None`` for ``none``: the model-free agent).

    Nothing loads here: a local model loads its weights on first use.
    """
    settings = settings or get_settings()
    name = settings.model.strip()
    if name.lower() == "none":
        return None
    if name.startswith(_REMOTE_PREFIX):
        from pydantic import SecretStr

        from biomed_agent.models.remote import NO_API_KEY, ChatBioMedGPTRemote

        base_url, model = parse_remote_model(name)
        return ChatBioMedGPTRemote(
            base_url=base_url,
            model=model,
            api_key=settings.model_api_key or SecretStr(NO_API_KEY),
            chat_format=settings.chat_format,
            max_new_tokens=settings.max_new_tokens,
        )
    from biomed_agent.models.chat_model import ChatBioMedGPT

    return ChatBioMedGPT(
        model=name,
        dtype=settings.dtype,
        device_map=settings.device,
        load_in_8bit=settings.quantization == "8bit",
        load_in_4bit=settings.quantization == "4bit",
        offload=settings.model_offload,
        context_window=settings.max_context if "max_context" in settings.model_fields_set else None,
        chat_format=settings.chat_format,
        max_new_tokens=settings.max_new_tokens,
        allow_download=settings.model_download,
    )
