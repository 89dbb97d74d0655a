"""Turn per-item rows into scores, and scores into ``report.json`` and ``report.md``.

Our numbers stand next to those the BioMedGPT papers report, with the
difference; the Markdown says how the setups differ so nobody reads a 3-item
smoke run as a replication.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from biomed_agent.errors import ConfigurationError
from biomed_agent.eval.benchmarks import Benchmark
from biomed_agent.eval.metrics import accuracy, caption_tokenizer, text_scores
from biomed_agent.eval.results import Row, write_atomic

__all__ = ["build_report", "render_markdown", "write_report"]

_LABELS = {
    "accuracy": "Accuracy",
    "bleu2": "BLEU-2",
    "bleu4": "BLEU-4",
    "rouge1": "ROUGE-1",
    "rouge2": "ROUGE-2",
    "rougeL": "ROUGE-L",
    "meteor": "METEOR",
}


def _scores(
    benchmark: Benchmark,
    rows: Sequence[Row],
    wordnet: Callable[[], Any],
    caption_tokens: str | None = None,
) -> tuple[dict[str, float | int], dict[str, str]]:
    if benchmark.kind != "text":
        unparsable = sum(row["answer"] is None for row in rows)
        return accuracy([bool(row["correct"]) for row in rows], unparsable).as_dict(), {}
    unavailable: dict[str, str] = {}
    try:
        reader = wordnet()
    except ConfigurationError as exc:
        reader = None
        unavailable["meteor"] = exc.message
    predictions = [str(row["answer"]) for row in rows]
    references = [str(row["gold"]) for row in rows]
    tokenize = caption_tokenizer(caption_tokens)
    return dict(text_scores(predictions, references, reader, tokenize=tokenize)), unavailable


def build_report(
    benchmark: Benchmark,
    rows: Sequence[Row],
    run: dict[str, Any],
    wordnet: Callable[[], Any],
) -> dict[str, Any]:
    """Scores of ``rows`` with run settings and the paper's numbers.

    ``wordnet`` is called only for text benchmarks; if it raises
    :class:`ConfigurationError`, METEOR is listed under ``unavailable`` with the reason.
    """
    metrics, unavailable = _scores(benchmark, rows, wordnet, run.get("caption_tokens"))
    comparison = []
    for name, paper in benchmark.paper.items():
        ours = metrics.get(name)
        comparison.append(
            {
                "metric": name,
                "ours": ours,
                "paper": paper,
                "difference": None if ours is None else ours - paper,
                "unavailable": unavailable.get(name),
            }
        )
    return {
        "benchmark": benchmark.name,
        "title": benchmark.title,
        "run": run,
        "items": len(rows),
        "metrics": metrics,
        "unavailable": unavailable,
        "paper": benchmark.paper,
        "comparison": comparison,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _number(metric: str, value: float | None) -> str:
    if value is None:
        return "—"
    return f"{100 * value:.1f} %" if metric == "accuracy" else f"{value:.3f}"


def _difference(metric: str, value: float | None) -> str:
    if value is None:
        return "—"
    return f"{100 * value:+.1f} pp" if metric == "accuracy" else f"{value:+.3f}"


def _config(run: dict[str, Any]) -> str:
    return f"config `{run['config']}`, " if run.get("config") else ""


def _shots_line(used: dict[str, Any]) -> str:
    return (
        f"- shots used: {used['min']}–{used['max']} (mean {used['mean']:.1f}) of"
        f" {used['requested']} requested; {used['items_with_fewer']} items got fewer"
        " (whole shots dropped to fit the context window)"
    )


def render_markdown(report: dict[str, Any]) -> str:
    """A human-readable report: settings, our scores beside the paper's, caveats."""
    run, metrics = report["run"], report["metrics"]
    lines = [
        f"# {report['title']}: {run['mode']} model, {run['shots']}-shot",
        "",
        f"- model: `{run['model']}`",
        f"- data: `{run['data']}` ({_config(run)}split `{run['split']}`), {report['items']} items",
        f"- created: {report['created']}",
        *([f"- inputs: {run['inputs']}"] if run.get("inputs") else []),
        *([f"- caption tokens: {run['caption_tokens']}"] if run.get("caption_tokens") else []),
        *([f"- decoding: {run['decoding']}"] if run.get("decoding") else []),
        *([_shots_line(report["shots_used"])] if report.get("shots_used") else []),
        "",
        "| metric | ours | BioMedGPT paper | difference |",
        "|---|---|---|---|",
    ]
    for row in report["comparison"]:
        name = row["metric"]
        ours = (
            f"unavailable: {row['unavailable']}"
            if row["unavailable"]
            else _number(name, row["ours"])
        )
        difference = _difference(name, row["difference"])
        lines.append(f"| {_LABELS[name]} | {ours} | {_number(name, row['paper'])} | {difference} |")
    if "accuracy" in metrics:
        lines += [
            "",
            f"Accuracy {_number('accuracy', metrics['accuracy'])} "
            f"(95 % Wilson interval {_number('accuracy', metrics['ci95_low'])}"
            f" – {_number('accuracy', metrics['ci95_high'])}): {metrics['correct']} of"
            f" {metrics['total']} correct; {metrics['unparsable']} answers named no single option"
            " and count as wrong.",
        ]
    else:
        others = ", ".join(
            f"{_LABELS[name]} {value:.3f}"
            for name, value in metrics.items()
            if name not in report["paper"]
        )
        lines += ["", f"Also: {others}." if others else ""]
    lines += [
        "",
        "The paper's numbers come from its own prompts, decoding and (for some"
        " benchmarks) fine-tuning, on the full test sets; compare with care, and read"
        " the interval before reading a difference.",
        "",
    ]
    return "\n".join(lines)


def write_report(out_dir: Path, report: dict[str, Any]) -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.md`` atomically; return their paths."""
    json_path, md_path = out_dir / "report.json", out_dir / "report.md"
    write_atomic(json_path, json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    write_atomic(md_path, render_markdown(report))
    return json_path, md_path
