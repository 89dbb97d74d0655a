"""``biomed-agent eval BENCHMARK [--data FILE | hf:ORG/NAME[@REV]]``: score a model on it."""

from __future__ import annotations

import argparse
import functools
from pathlib import Path
from typing import Any

from biomed_agent.errors import InvalidInputError


def register(subparsers: Any) -> None:
    from biomed_agent.eval.benchmarks import BENCHMARKS

    command = subparsers.add_parser(
        "eval",
        help="score the model on a benchmark (PubMedQA, MedQA, MedMCQA, MMLU, ...)",
        description=(
            "Ask the model every item of a benchmark (a local file or a Hugging Face dataset),"
            " score the answers the way the BioMedGPT papers do and write report.md/report.json"
            " beside per-item results.jsonl. Rerunning the same command resumes an interrupted"
            " run."
        ),
    )
    command.add_argument("benchmark", metavar="BENCHMARK", help=", ".join(BENCHMARKS))
    command.add_argument(
        "--data",
        help="a local benchmark file, or hf:ORG/NAME[@REVISION] for a Hugging Face dataset"
        " (default: the benchmark's known hub copy; see docs/evaluation.md)",
    )
    command.add_argument(
        "--config", help="config (subset) of a hf: dataset (default: the benchmark's own)"
    )
    command.add_argument(
        "--split", help="split to evaluate (default: the benchmark's test split, MedMCQA: dev)"
    )
    command.add_argument(
        "--model",
        help="model id, path or openai:<url>/<model> (default: settings); a BioMedGPT-10B "
        "checkpoint (.pth or its folder) reads PubChemQA/UniProtQA molecules and proteins "
        "through its encoders",
    )
    command.add_argument("--mode", choices=("bare", "agent"), default="bare", help="default: bare")
    command.add_argument(
        "--scoring",
        help="loglik: pick the option the model finds most likely (lm-evaluation-harness's "
        "acc and acc_norm; default for choice and yes/no benchmarks with --mode bare on a "
        "local model); generate: read the answer from the model's reply (default otherwise)",
    )
    command.add_argument(
        "--limit",
        type=int,
        help="evaluate N items: a seeded sample, stratified by gold label for choice and "
        "yes/no benchmarks (the same N items every run)",
    )
    command.add_argument("--shots", type=int, default=0, help="few-shot examples per prompt")
    command.add_argument(
        "--shots-data",
        help="file or hf: dataset to draw few-shot examples from (default: --data)",
    )
    command.add_argument("--batch-size", type=int, default=8, help="prompts per model.batch call")
    command.add_argument(
        "--max-new-tokens",
        type=int,
        help="answer length limit (default: 48 for choice and yes/no benchmarks, 256 for text QA)",
    )
    command.add_argument(
        "--out", type=Path, help="output directory (default: eval-runs/BENCHMARK-MODE-MODEL-Kshot)"
    )
    command.add_argument(
        "--caption-tokens",
        default=None,
        help="text benchmarks: tokens BLEU/METEOR read: whitespace (default, OpenBioMed's "
        "proteinqa.py) or wordpiece[:VOCAB] (OpenBioMed main's molcap.py BERT WordPiece)",
    )
    command.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    command.set_defaults(handler=run)


def _summary(report: dict[str, Any]) -> str:
    parts = []
    for row in report["comparison"]:
        name, ours, paper = row["metric"], row["ours"], row["paper"]
        if row["unavailable"]:
            parts.append(f"{name} unavailable ({row['unavailable']})")
        elif name == "accuracy":
            metrics = report["metrics"]
            norm = metrics.get("accuracy_norm")
            parts.append(
                f"accuracy {100 * ours:.1f} % (95 % CI {100 * metrics['ci95_low']:.1f}"
                f"–{100 * metrics['ci95_high']:.1f}), {metrics['unparsable']} unparsable"
                + (f", length-normalised {100 * norm:.1f} %" if norm is not None else "")
                + f"; paper {100 * paper:.1f} %"
            )
        else:
            parts.append(f"{name} {ours:.3f} (paper {paper:.3f})")
    return f"{report['benchmark']}, {report['items']} items: " + "; ".join(parts)


def run(args: argparse.Namespace) -> int:
    from biomed_agent.eval import RunSettings, answerer_for_mode, get_benchmark, run_eval
    from biomed_agent.eval.hub import parse_data
    from biomed_agent.settings import get_settings

    benchmark = get_benchmark(args.benchmark)
    if args.limit is not None and args.limit < 1:
        raise InvalidInputError(
            f"--limit must be at least 1, got {args.limit}", input_name="--limit"
        )
    max_new_tokens = args.max_new_tokens or benchmark.answer_tokens
    if max_new_tokens < 1:
        raise InvalidInputError(
            f"--max-new-tokens must be at least 1, got {max_new_tokens}",
            input_name="--max-new-tokens",
        )
    settings = get_settings()
    model_name = args.model or settings.model
    from biomed_agent.eval import biomedgpt10b
    from biomed_agent.eval.runner import SCORINGS, default_scoring

    ten_b = biomedgpt10b.is_biomedgpt10b(model_name)
    scoring = args.scoring or (
        "generate" if ten_b else default_scoring(benchmark.kind, args.mode, model_name)
    )
    if scoring not in SCORINGS or (scoring == "loglik" and (ten_b or benchmark.kind == "text")):
        why = "a BioMedGPT-10B checkpoint" if ten_b else f"{benchmark.name} (free text)"
        raise InvalidInputError(
            f"--scoring must be one of {', '.join(SCORINGS)}, got {scoring!r}"
            if scoring not in SCORINGS
            else f"--scoring loglik is not available for {why}; use --scoring generate",
            input_name="--scoring",
        )
    if benchmark.kind == "text":
        from biomed_agent.eval.metrics import caption_tokenizer

        caption_tokenizer(args.caption_tokens)  # a bad setting fails before the model loads
    read = functools.partial(
        benchmark.open, offline=settings.offline, progress=not args.no_progress
    )

    # Data first: a bad --data fails in seconds, before a model of many GB loads.
    data = read(parse_data(args.data), args.split, config=args.config)
    items = data.items
    if args.limit:  # a seeded, label-stratified sample, never just the first N (issue 17)
        from biomed_agent.eval.sampling import DEFAULT_SEED, describe_sample, sample_items

        items = sample_items(data.items, args.limit, kind=benchmark.kind, seed=DEFAULT_SEED)
        sampled = describe_sample(data.items, items, kind=benchmark.kind, seed=DEFAULT_SEED)
    pool = data.items
    if args.shots and args.shots_data:
        pool = read(parse_data(args.shots_data)).items
    elif args.shots and benchmark.few_shot_split:
        pool = read(data.source, benchmark.few_shot_split, config=data.config).items

    def build_model() -> Any:
        from biomed_agent.models import init_biomed_model

        return init_biomed_model(
            settings.model_copy(update={"model": model_name, "max_new_tokens": max_new_tokens})
        )

    if ten_b:
        if args.mode != "bare" or args.shots:
            raise InvalidInputError(
                "a BioMedGPT-10B checkpoint is evaluated as OpenBioMed does: --mode bare, "
                f"0 shots (got --mode {args.mode}, --shots {args.shots})",
                input_name="--mode" if args.mode != "bare" else "--shots",
            )
        chat = biomedgpt10b.build_biomedgpt10b(model_name, settings, max_new_tokens)
        answer = biomedgpt10b.encoder_answerer(benchmark.name, chat, settings) or answerer_for_mode(
            "bare", lambda: chat, settings=settings, kind=benchmark.kind, constrain=False
        )
    else:
        answer = answerer_for_mode(
            args.mode,
            build_model,
            settings=settings,
            shots=args.shots,
            scoring=scoring,
            kind=benchmark.kind,
        )
    out_dir = args.out or Path("eval-runs") / (
        f"{benchmark.name}-{args.mode}-{Path(model_name).name}-{args.shots}shot"
    )
    outcome = run_eval(
        benchmark,
        items,
        answer,
        out_dir,
        RunSettings(
            model=model_name,
            mode=args.mode,
            shots=args.shots,
            data=str(data.source),
            split=data.split,
            config=data.config,
            max_new_tokens=None if scoring == "loglik" else max_new_tokens,
            scoring=scoring,
            inputs=biomedgpt10b.inputs_label(benchmark.name, ten_b),
            caption_tokens=args.caption_tokens,
        ),
        shot_pool=pool,
        batch_size=args.batch_size,
        progress=not args.no_progress,
    )
    print(_summary(outcome.report))
    if outcome.report["run"].get("inputs"):
        print(f"inputs: {outcome.report['run']['inputs']}")
    limited = f" ({sampled} evaluated)" if len(items) < len(data.items) else ""
    if outcome.report["run"].get("decoding") == "options":
        scoring += " (decoding constrained to the options)"
    print(f"data: {data.describe()}{limited}; scoring: {scoring}")
    if used := outcome.report.get("shots_used"):
        print(
            f"shots used: {used['min']}-{used['max']} (mean {used['mean']:.1f}) of "
            f"{used['requested']}; {used['items_with_fewer']} items got fewer to fit the window"
        )
    print(f"report: {outcome.report_markdown} (per-item results: {outcome.results_path})")
    return 0
