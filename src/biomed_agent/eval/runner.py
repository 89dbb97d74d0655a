"""Run a benchmark against a model: batched, resumable, with a progress bar and a report.

A *mode* is just an :data:`AnswerFn`: a callable that turns a batch of prompts
into answer texts. ``bare`` wraps any LangChain chat model
(:func:`chat_model_answerer`); ``agent`` sends each question to the grounded
:class:`~biomed_agent.agent.api.BioMedAgent` (:func:`agent_answerer`). The
runner appends one row per item to ``results.jsonl`` in the output directory and
skips the items already there, so an interrupted run picks up where it stopped;
``run.json`` pins what the results were made with (data file or hub commit,
config, split, model, mode, shots, prompt templates) so a resumed run cannot mix in
results of another configuration.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from biomed_agent.errors import BiomedAgentError, ConfigurationError, InvalidInputError
from biomed_agent.eval.benchmarks import Benchmark
from biomed_agent.eval.extract import extract_answer
from biomed_agent.eval.items import EvalItem, TaskKind
from biomed_agent.eval.metrics import load_wordnet
from biomed_agent.eval.prompting import (
    FewShotSampler,
    Prompt,
    build_prompt,
    fit_examples,
    templates_digest,
)
from biomed_agent.eval.report import build_report, write_report
from biomed_agent.eval.results import ResultFile, Row, write_atomic

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from biomed_agent.agent.api import BioMedAgent
    from biomed_agent.agent.prompt_fit import PromptBudget
    from biomed_agent.settings import Settings

__all__ = [
    "MODES",
    "SCORINGS",
    "AnswerFn",
    "ChatAnswerer",
    "EvalOutcome",
    "RunSettings",
    "agent_answerer",
    "answerer_for_mode",
    "chat_model_answerer",
    "default_scoring",
    "run_eval",
]

AnswerFn = Callable[[Sequence[Prompt]], list[str]]
"""Answers a batch of prompts, one text per prompt, in order."""

MODES = ("bare", "agent")
SCORINGS = ("loglik", "generate")
"""``loglik``: each option's log-likelihood picks the answer (lm-evaluation-harness's
multiple-choice scoring, :mod:`biomed_agent.eval.loglik`); ``generate``: the model
writes an answer and :func:`~biomed_agent.eval.extract.extract_answer` reads it."""


def default_scoring(kind: TaskKind, mode: str, model: str) -> str:
    """``loglik`` for choice and yes/no benchmarks on a local model in bare mode, else
    ``generate`` (the agent and remote ``openai:`` models give no log-likelihoods)."""
    if kind in ("choice", "yesno") and mode == "bare" and not model.startswith("openai:"):
        return "loglik"
    return "generate"


class ChatAnswerer:
    """The bare mode's free generation: each prompt goes straight to ``chat`` (``batch`` for
    more than one); the reply is read by :func:`~biomed_agent.eval.extract.extract_answer`."""

    def __init__(self, chat: BaseChatModel) -> None:
        self.chat = chat

    def __call__(self, prompts: Sequence[Prompt]) -> list[str]:
        if len(prompts) == 1:
            replies = [self.chat.invoke(prompts[0])]
        else:
            replies = self.chat.batch(list(prompts), config={"max_concurrency": len(prompts)})
        return [reply.text for reply in replies]


def chat_model_answerer(model: BaseChatModel) -> AnswerFn:
    """The bare mode with free generation (see :class:`ChatAnswerer`)."""
    return ChatAnswerer(model)


def agent_answerer(agent: BioMedAgent) -> AnswerFn:
    """The agent mode: the prompt's last human turn goes to the agent as a fresh question.

    The agent plans, calls tools and retrieves before answering, so a prompt's system
    text and few-shot turns do not apply (few-shot runs are refused for this mode).
    """

    def answer(prompts: Sequence[Prompt]) -> list[str]:
        return [agent.ask(_last_human_turn(prompt)).text for prompt in prompts]

    return answer


def _last_human_turn(prompt: Prompt) -> str:
    return next(text for role, text in reversed(prompt) if role == "human")


def answerer_for_mode(
    mode: str,
    model: Callable[[], BaseChatModel | None],
    *,
    settings: Settings | None = None,
    shots: int = 0,
    scoring: str = "generate",
    kind: TaskKind = "choice",
    constrain: bool = True,
) -> AnswerFn:
    """The :data:`AnswerFn` of ``mode``; ``model`` is built only when the mode needs it.

    ``bare`` needs a chat model; ``agent`` also runs model-free when ``model`` gives
    ``None`` (``BIOMED_MODEL=none``), answering from its tools and records alone.
    ``scoring="loglik"`` (bare mode, a local ``ChatBioMedGPT``) scores ``kind``'s
    options by log-likelihood instead of generating; ``scoring="generate"`` on a local
    ``ChatBioMedGPT`` with a choice or yes/no ``kind`` decodes only the item's options
    (:mod:`biomed_agent.eval.constrained`) unless ``constrain`` is false (BioMedGPT-10B,
    evaluated as OpenBioMed does); other models generate freely.
    """
    if mode not in MODES:
        raise InvalidInputError(
            f"--mode must be one of {', '.join(MODES)}, got {mode!r}", input_name="--mode"
        )
    if scoring not in SCORINGS:
        raise InvalidInputError(
            f"--scoring must be one of {', '.join(SCORINGS)}, got {scoring!r}",
            input_name="--scoring",
        )
    if scoring == "loglik" and mode != "bare":
        raise InvalidInputError(
            f"--scoring loglik scores the bare model's options; --mode {mode} answers in "
            "text, so use --scoring generate (or --mode bare)",
            input_name="--scoring",
        )
    if mode == "agent":
        if shots:
            raise InvalidInputError(
                "--mode agent answers each question on its own and cannot take few-shot "
                f"examples; drop --shots {shots} (or use --mode bare)",
                input_name="--shots",
            )
        from biomed_agent.agent.api import BioMedAgent

        return agent_answerer(BioMedAgent(model=model() or "none", settings=settings, memory=False))
    chat = model()
    if chat is None:
        raise ConfigurationError(
            "--mode bare needs a chat model, but the model setting is 'none'; pass --model "
            "or set BIOMED_MODEL (or evaluate the model-free agent with --mode agent)"
        )
    if scoring == "loglik":
        from biomed_agent.eval.loglik import LoglikAnswerer
        from biomed_agent.models.chat_model import ChatBioMedGPT

        if not isinstance(chat, ChatBioMedGPT):
            raise InvalidInputError(
                f"--scoring loglik needs a local model that gives log-likelihoods, not "
                f"{type(chat).__name__}; use --scoring generate",
                input_name="--scoring",
            )
        return LoglikAnswerer(chat, kind)
    if constrain and kind in ("choice", "yesno"):
        from biomed_agent.models.chat_model import ChatBioMedGPT

        if isinstance(chat, ChatBioMedGPT):  # local: decode only the item's options
            from biomed_agent.eval.constrained import OptionConstrainedAnswerer

            return OptionConstrainedAnswerer(chat, kind)
    return chat_model_answerer(chat)


@dataclass(frozen=True)
class RunSettings:
    """What a run's results depend on; a resumed run must match these exactly."""

    model: str
    mode: str = "bare"
    shots: int = 0
    data: str = ""
    """The resolved file path, or ``hf:ORG/NAME@<commit>``: the exact data read."""

    split: str = ""
    config: str | None = None
    """The hub config (subset) read; ``None`` for a local file."""

    max_new_tokens: int | None = None
    """Generation limit the model was built with (``None``: the model's own default)."""

    scoring: str = "generate"
    """``generate`` or ``loglik`` (see :data:`SCORINGS`)."""

    inputs: str | None = None
    """PubChemQA/UniProtQA: how the molecule/protein reached the model -- through
    BioMedGPT-10B's encoders, or as text (not comparable with the paper's 10B rows);
    ``None`` for text benchmarks (:mod:`biomed_agent.eval.biomedgpt10b`)."""

    decoding: str | None = None
    """``options``: generation constrained to the item's option labels
    (:mod:`biomed_agent.eval.constrained`); ``None``: free generation or loglik. Set by
    :func:`run_eval` from the answerer."""

    caption_tokens: str | None = None
    """Tokens BLEU/METEOR read on text benchmarks: ``None`` (whitespace, OpenBioMed's
    proteinqa.py) or ``wordpiece[:VOCAB]`` (OpenBioMed main's molcap.py); see
    :mod:`biomed_agent.eval.metrics`."""


@dataclass(frozen=True)
class EvalOutcome:
    """What :func:`run_eval` did: the report and where things were written."""

    report: dict[str, Any]
    results_path: Path
    report_json: Path
    report_markdown: Path
    asked: int
    """Items sent to the model in this call (the rest were already in ``results.jsonl``)."""


def _check_manifest(path: Path, identity: dict[str, Any]) -> None:
    if path.exists():
        stored = json.loads(path.read_text(encoding="utf-8"))
        differing = sorted(
            key for key in identity.keys() | stored.keys() if stored.get(key) != identity.get(key)
        )
        if differing:
            details = "; ".join(
                f"{key}: {stored.get(key)!r} there, {identity.get(key)!r} now" for key in differing
            )
            raise InvalidInputError(
                f"{path.parent} holds results of a different run ({details}); pass another --out"
                " or remove that directory to start over",
                input_name="--out",
            )
        return
    write_atomic(path, json.dumps(identity, indent=2) + "\n")


def _row(benchmark: Benchmark, item: EvalItem, reply: str) -> Row:
    answer = extract_answer(benchmark.kind, reply, item.options)
    correct = None if benchmark.kind == "text" else answer == item.answer
    return {
        "id": item.id,
        "gold": item.answer,
        "prediction": reply,
        "answer": answer,
        "correct": correct,
    }


def _shot_budget(answer: AnswerFn) -> PromptBudget | None:
    """The prompt budget of the answerer's chat model (``None``: unbudgeted model)."""
    chat = getattr(answer, "chat", None)
    if chat is None:
        return None
    from biomed_agent.agent.prompt_fit import budget_for

    return budget_for(chat)


def _shots_summary(rows: Sequence[Row], requested: int) -> dict[str, Any]:
    """How many few-shot examples the prompts held (fewer where the budget dropped some)."""
    used = [int(row.get("shots", requested)) for row in rows]
    return {
        "requested": requested,
        "min": min(used),
        "max": max(used),
        "mean": sum(used) / len(used),
        "items_with_fewer": sum(n < requested for n in used),
    }


def run_eval(
    benchmark: Benchmark,
    items: Sequence[EvalItem],
    answer: AnswerFn,
    out_dir: Path,
    settings: RunSettings,
    *,
    shot_pool: Sequence[EvalItem] = (),
    batch_size: int = 8,
    progress: bool = True,
    nltk_data_dir: Path | None = None,
) -> EvalOutcome:
    """Ask every item not yet in ``out_dir/results.jsonl``, then write the report.

    ``shot_pool`` serves ``settings.shots`` examples per prompt (see
    :class:`FewShotSampler`), as many as fit the model's prompt budget
    (:func:`~biomed_agent.agent.prompt_fit.budget_for`): whole shots are dropped, never
    cut, and each row's ``shots`` and the report's ``shots_used`` say how many were used.
    ``nltk_data_dir`` is where WordNet for METEOR is
    installed if nltk has none (default: ``<data_dir>/nltk_data``).
    """
    from tqdm.auto import tqdm

    if batch_size < 1:
        raise InvalidInputError(
            f"--batch-size must be at least 1, got {batch_size}", input_name="--batch-size"
        )
    if not items:
        raise InvalidInputError("there are no items to evaluate", input_name="--data")
    if len({item.id for item in items}) != len(items):
        raise InvalidInputError(
            "item ids repeat; results are keyed by id, so each item needs its own",
            input_name="--data",
        )
    sampler = FewShotSampler(shot_pool, settings.shots) if settings.shots else None
    settings = replace(settings, decoding=getattr(answer, "decoding", None))
    budget = _shot_budget(answer) if sampler is not None else None
    shots_used: dict[str, int] = {}

    def examples_for(item: EvalItem) -> list[EvalItem]:
        if sampler is None:
            return []
        kept = fit_examples(benchmark.kind, item, sampler.examples_for(item), budget)
        shots_used[item.id] = len(kept)
        return kept

    out_dir.mkdir(parents=True, exist_ok=True)
    _check_manifest(
        out_dir / "run.json",
        {"benchmark": benchmark.name, **asdict(settings), "prompts": templates_digest()},
    )
    results = ResultFile(out_dir / "results.jsonl")
    done = results.load()
    todo = [item for item in items if item.id not in done]
    with tqdm(
        total=len(items),
        initial=len(items) - len(todo),
        desc=benchmark.name,
        unit="item",
        disable=not progress,
    ) as bar:
        for start in range(0, len(todo), batch_size):
            batch = todo[start : start + batch_size]
            by_items = getattr(answer, "answer_items", None)  # encoder inputs (10B)
            scored = getattr(answer, "score_rows", None)  # --scoring loglik
            prompts = (
                []
                if by_items is not None
                else [build_prompt(benchmark.kind, item, examples_for(item)) for item in batch]
            )
            if scored is not None:
                rows = scored(batch, prompts)
            else:
                replies = by_items(batch) if by_items is not None else answer(prompts)
                if len(replies) != len(batch):
                    raise BiomedAgentError(
                        f"--mode {settings.mode} answered {len(replies)} of {len(batch)} prompts"
                    )
                rows = [_row(benchmark, item, r) for item, r in zip(batch, replies, strict=True)]
            for row in rows:
                if row["id"] in shots_used:
                    row["shots"] = shots_used[row["id"]]
            results.append(rows)
            done.update((row["id"], row) for row in rows)
            bar.update(len(batch))

    def wordnet() -> Any:
        if nltk_data_dir is not None:
            return load_wordnet(nltk_data_dir)
        from biomed_agent.settings import get_settings

        return load_wordnet(get_settings().data_dir / "nltk_data")

    rows = [done[item.id] for item in items]
    report = build_report(benchmark, rows, asdict(settings), wordnet)
    if rows and all("correct_norm" in row for row in rows):  # loglik: acc_norm beside acc
        report["metrics"]["accuracy_norm"] = sum(bool(r["correct_norm"]) for r in rows) / len(rows)
    if sampler is not None:
        report["shots_used"] = _shots_summary(rows, settings.shots)
    json_path, md_path = write_report(out_dir, report)
    return EvalOutcome(report, results.path, json_path, md_path, asked=len(todo))
