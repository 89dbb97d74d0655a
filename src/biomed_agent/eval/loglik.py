"""Multiple choice scored by log-likelihood, as lm-evaluation-harness does.

Generation-based scoring of a small or base model counts every reply that names
no option as wrong (PubMedQA 27 of 40 unparsable on SmolLM2). The harness
instead asks how likely the model finds each option after the prompt:

- ``acc``: the option with the highest summed log-probability;
- ``acc_norm``: the highest log-probability per character of the option
  (lm-evaluation-harness 0.4's ``acc_norm``: ``lls / len(choice)``, characters of
  the choice without the target delimiter; its ``acc_bytes`` divides by UTF-8
  bytes instead), so long options are not penalised for their length.

As in the harness, whitespace ending the context (the chat template's newline
after ``assistant``) is scored as the start of each continuation; ties go to the
first option (``numpy.argmax``). ``tests/test_lm_eval.py`` checks both choices
item for item against lm_eval's own HF model.

Every item gets an answer, so the unparsable rate is 0 by construction. The
context is the model's own rendering of :func:`~biomed_agent.eval.prompting.build_prompt`
(answer turn open); the continuation is the option as it would be answered:
``"C. Lisinopril"`` for choice tasks, ``"yes"``/``"no"``/``"maybe"`` for yes/no.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from biomed_agent.errors import InvalidInputError
from biomed_agent.eval.items import EvalItem, TaskKind
from biomed_agent.eval.prompting import Prompt, build_prompt

if TYPE_CHECKING:
    from biomed_agent.models.chat_model import ChatBioMedGPT

__all__ = [
    "ItemScores",
    "LoglikAnswerer",
    "option_continuations",
    "score_items",
    "score_prompts",
]

YESNO_LABELS = ("yes", "no", "maybe")


@dataclass(frozen=True)
class ItemScores:
    """One item's option log-likelihoods and the choices they imply."""

    item_id: str
    gold: str
    labels: tuple[str, ...]
    logprobs: tuple[float, ...]
    chars: tuple[int, ...]

    @property
    def pred(self) -> str:
        """``acc``'s choice: the most likely option."""
        return self.labels[max(range(len(self.labels)), key=lambda i: self.logprobs[i])]

    @property
    def pred_norm(self) -> str:
        """``acc_norm``'s choice: the most likely option per character."""
        return self.labels[
            max(range(len(self.labels)), key=lambda i: self.logprobs[i] / max(1, self.chars[i]))
        ]


def option_continuations(kind: TaskKind, item: EvalItem) -> dict[str, str]:
    """Label -> the text the model would answer with for that option."""
    if kind == "choice":
        return {letter: f"{letter}. {text}" for letter, text in item.options.items()}
    if kind == "yesno":
        return {label: label for label in YESNO_LABELS}
    raise InvalidInputError(
        "log-likelihood scoring needs a multiple-choice or yes/no benchmark, not free text",
        input_name="--scoring",
    )


def score_items(
    chat: ChatBioMedGPT,
    kind: TaskKind,
    items: Sequence[EvalItem],
    examples: Sequence[Sequence[EvalItem]] | None = None,
) -> list[ItemScores]:
    """Score every option of every item (``examples[i]``: few-shot examples of item i)."""
    prompts = [
        build_prompt(kind, item, examples[i] if examples is not None else ())
        for i, item in enumerate(items)
    ]
    return score_prompts(chat, kind, items, prompts)


def score_prompts(
    chat: ChatBioMedGPT, kind: TaskKind, items: Sequence[EvalItem], prompts: Sequence[Prompt]
) -> list[ItemScores]:
    """Score every option of ``items[i]`` after ``prompts[i]`` (rendered by ``chat``)."""
    results = []
    for item, prompt in zip(items, prompts, strict=True):
        context = chat.prompt_text(prompt)
        options = option_continuations(kind, item)
        scores = chat.loglikelihood([(context, text) for text in options.values()])
        results.append(
            ItemScores(
                item_id=item.id,
                gold=item.answer,
                labels=tuple(options),
                logprobs=tuple(s.logprob for s in scores),
                chars=tuple(len(text) for text in options.values()),
            )
        )
    return results


class LoglikAnswerer:
    """``--scoring loglik`` for :func:`~biomed_agent.eval.runner.run_eval`: rows from scores.

    Each row's ``answer`` is ``acc``'s choice (never ``None``: nothing is unparsable);
    ``answer_norm``/``correct_norm`` carry ``acc_norm``'s and ``logprobs`` every option's.
    """

    def __init__(self, chat: ChatBioMedGPT, kind: TaskKind) -> None:
        if kind not in ("choice", "yesno"):
            raise InvalidInputError(
                "--scoring loglik needs a multiple-choice or yes/no benchmark; text QA "
                "is scored by generation (--scoring generate)",
                input_name="--scoring",
            )
        self.chat = chat
        self.kind: TaskKind = kind

    def __call__(self, prompts: Sequence[Prompt]) -> list[str]:
        raise TypeError("LoglikAnswerer scores items; call score_rows(items, prompts)")

    def score_rows(
        self, items: Sequence[EvalItem], prompts: Sequence[Prompt]
    ) -> list[dict[str, Any]]:
        rows = []
        for item, scores in zip(
            items, score_prompts(self.chat, self.kind, items, prompts), strict=True
        ):
            continuations = option_continuations(self.kind, item)
            rows.append(
                {
                    "id": item.id,
                    "gold": item.answer,
                    "prediction": continuations[scores.pred],
                    "answer": scores.pred,
                    "correct": scores.pred == item.answer,
                    "answer_norm": scores.pred_norm,
                    "correct_norm": scores.pred_norm == item.answer,
                    "logprobs": dict(zip(scores.labels, scores.logprobs, strict=True)),
                }
            )
        return rows
