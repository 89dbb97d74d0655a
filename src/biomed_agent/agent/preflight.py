"""Checks on the question and the chat-model setting, before anything heavy is imported.

``biomed-agent ask`` calls :func:`check_model_setting` first, so a missing path or a
directory that is not a checkpoint fails in well under two seconds with one line,
before torch or transformers load and before any tool runs. A hub id must be in the
local Hugging Face cache unless downloading is allowed (the loader's own rule), so the
default ``PharMolix/BioMedGPT-LM-7B`` without its weights fails at once too; remote
(``openai:``) models are left to the client (they need the network).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from biomed_agent.errors import InvalidQueryError, shorten

if TYPE_CHECKING:
    from biomed_agent.settings import Settings

__all__ = ["check_model_setting", "check_question"]


def check_model_setting(model: str | None, *, allow_download: bool = False) -> None:
    """Raise :class:`ModelLoadError` when ``model`` names a checkpoint that cannot load.

    ``None``/``"none"`` and ``openai:...`` pass unchecked. The path rule and checks are
    the loader's own (:func:`~biomed_agent.models.loading.check_local_checkpoint`, here
    also requiring tokenizer files and weights; a hub id must be cached unless
    ``allow_download``: :func:`~biomed_agent.models.loading.check_hub_model`); that
    module imports neither torch nor transformers.
    """
    if model is None or model.strip().lower() in ("", "none") or model.startswith("openai:"):
        return
    from biomed_agent.models.loading import check_hub_model, check_local_checkpoint

    if check_local_checkpoint(model, complete=True) is None:
        check_hub_model(model, allow_download=allow_download)


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
