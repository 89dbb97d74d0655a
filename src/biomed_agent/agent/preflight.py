"""Checks on the question and the chat-model setting, before anything heavy is imported.

``biomed-agent ask`` calls :func:`check_model_setting` first, so a missing path or a
directory that is not a checkpoint fails in well under two seconds with one line,
before torch or transformers load and before any tool runs. Hub ids and remote
(``openai:``) models are left to the loader (they need the cache or the network).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from biomed_agent.errors import InvalidQueryError, ModelLoadError, shorten

if TYPE_CHECKING:
    from biomed_agent.settings import Settings

__all__ = ["check_model_setting", "check_question"]

_TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "tokenizer_config.json", "vocab.json")
_WEIGHT_PATTERNS = ("*.safetensors", "*.bin", "*.pt", "*.pth", "*.gguf")


def _path_like(model: str) -> bool:
    return model.startswith((".", "/", "~")) or "\\" in model or model.count("/") != 1


def check_model_setting(model: str | None) -> None:
    """Raise :class:`ModelLoadError` when ``model`` names a local checkpoint that cannot load.

    ``None``/``"none"``, ``openai:...`` and hub ids (``org/name``) pass unchecked.
    """
    if model is None or model.strip().lower() in ("", "none") or model.startswith("openai:"):
        return
    path = Path(model).expanduser()
    if path.suffix.lower() == ".gguf":
        if not path.is_file():
            raise ModelLoadError(
                f"GGUF file {str(path)!r} does not exist; point --model/BIOMED_MODEL at an "
                "existing *.gguf file or a transformers checkpoint directory, or use --model none",
                input_name="model",
            )
        return
    if not path.exists() and not _path_like(model):
        return  # a hub id: the loader reads the cache (or downloads when allowed)
    if not path.is_dir():
        raise ModelLoadError(
            f"model path {str(path)!r} does not exist or is not a directory; point "
            "--model/BIOMED_MODEL at a checkpoint directory (config.json, tokenizer, weights) "
            "or use --model none for the model-free agent",
            input_name="model",
        )
    missing = []
    if not (path / "config.json").is_file():
        missing.append("config.json")
    if not any((path / name).is_file() for name in _TOKENIZER_FILES):
        missing.append("tokenizer files")
    if not any(next(path.glob(pattern), None) for pattern in _WEIGHT_PATTERNS):
        missing.append("weights (*.safetensors/*.bin)")
    if missing:
        raise ModelLoadError(
            f"{str(path)!r} is not a complete model checkpoint (missing {', '.join(missing)}); "
            "point --model/BIOMED_MODEL at the directory holding config.json, the tokenizer "
            "files and the weights, or use --model none",
            input_name="model",
        )


def check_question(question: object, settings: Settings) -> str:
    """The question stripped; :class:`InvalidQueryError` when it is empty or too long."""
    if not isinstance(question, str) or not question.strip():
        raise InvalidQueryError(
            f"the question {shorten(question)} is empty; ask something, e.g. "
            "'Is aspirin drug-like?'",
            input_name="question",
        )
    limit = settings.agent_max_question_chars
    if len(question) > limit:
        raise InvalidQueryError(
            f"the question has {len(question):,} characters, more than the {limit:,} allowed "
            "(BIOMED_AGENT_MAX_QUESTION_CHARS); ask about one thing at a time or ingest long "
            "texts with `biomed-agent ingest files` and ask about them",
            input_name="question",
        )
    return question.strip()
