"""Evaluation harness for the benchmarks BioMedGPT reports.

Load a benchmark file, ask a model (``bare``) or, later, the agent, and score
the answers the way the papers do::

    from pathlib import Path
    from biomed_agent.eval import RunSettings, chat_model_answerer, get_benchmark, run_eval

    bench = get_benchmark("medqa")
    items = bench.load(Path("phrases_no_exclude_test.jsonl"))
    outcome = run_eval(bench, items[:50], chat_model_answerer(chat_model), Path("runs/medqa"),
                       RunSettings(model="my-model"), batch_size=8)
    print(outcome.report["metrics"]["accuracy"])

``bench.open(HubSource("cais/mmlu"))`` (or ``bench.open(None)``: the benchmark's known
hub copy) reads a Hugging Face dataset instead and says which commit it read.

Nothing heavy is imported here: nltk, rouge-score, tqdm and datasets load when used.
"""

from __future__ import annotations

from biomed_agent.eval.benchmarks import BENCHMARKS, Benchmark, BenchmarkData, get_benchmark
from biomed_agent.eval.extract import extract_answer, extract_choice, extract_yesno
from biomed_agent.eval.hub import HubSource, parse_data
from biomed_agent.eval.items import EvalItem, TaskKind
from biomed_agent.eval.metrics import Accuracy, accuracy, load_wordnet, text_scores, wilson_interval
from biomed_agent.eval.prompting import FewShotSampler, Prompt, build_prompt
from biomed_agent.eval.runner import (
    MODES,
    AnswerFn,
    EvalOutcome,
    RunSettings,
    answerer_for_mode,
    chat_model_answerer,
    run_eval,
)

__all__ = [
    "BENCHMARKS",
    "MODES",
    "Accuracy",
    "AnswerFn",
    "Benchmark",
    "BenchmarkData",
    "EvalItem",
    "EvalOutcome",
    "FewShotSampler",
    "HubSource",
    "Prompt",
    "RunSettings",
    "TaskKind",
    "accuracy",
    "answerer_for_mode",
    "build_prompt",
    "chat_model_answerer",
    "extract_answer",
    "extract_choice",
    "extract_yesno",
    "get_benchmark",
    "load_wordnet",
    "parse_data",
    "run_eval",
    "text_scores",
    "wilson_interval",
]
