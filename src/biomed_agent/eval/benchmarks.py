"""The benchmarks BioMedGPT reports, with their loaders and the paper's numbers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from biomed_agent.errors import InvalidInputError
from biomed_agent.eval import loaders
from biomed_agent.eval.items import EvalItem, TaskKind

__all__ = ["BENCHMARKS", "Benchmark", "get_benchmark"]


@dataclass(frozen=True)
class Benchmark:
    """A benchmark: how to read it, what kind of answer it wants, what the paper got."""

    name: str
    title: str
    kind: TaskKind
    loader: Callable[[Path, str], list[EvalItem]]
    default_split: str
    data_hint: str
    """What to pass as ``--data``."""

    paper: dict[str, float] = field(default_factory=dict)
    """Metric name -> value reported for BioMedGPT (fractions, not percent)."""

    few_shot_split: str | None = None
    """A split of the same files that serves few-shot examples (PubMedQA's non-test half)."""

    @property
    def answer_tokens(self) -> int:
        """Tokens enough for an answer: a letter or label with a short reason, or two sentences."""
        return 256 if self.kind == "text" else 48

    def load(self, path: Path, split: str | None = None) -> list[EvalItem]:
        """Read ``path`` (``split`` defaults to :attr:`default_split`) and check ids are unique."""
        items = self.loader(path, split or self.default_split)
        if not items:
            raise InvalidInputError(f"{path} holds no {self.title} items", input_name="--data")
        loaders.check_unique_ids(items, path)
        return items


BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in (
        Benchmark(
            "pubmedqa",
            "PubMedQA (PQA-L, reasoning required)",
            "yesno",
            loaders.load_pubmedqa,
            "test",
            "ori_pqal.json (with test_ground_truth.json beside it) or their directory",
            {"accuracy": 0.761},
            few_shot_split="train",
        ),
        Benchmark(
            "medqa",
            "MedQA-USMLE (4 options)",
            "choice",
            loaders.load_medqa,
            "test",
            "a MedQA JSON Lines file, e.g. US/4_options/phrases_no_exclude_test.jsonl",
            {"accuracy": 0.504},
        ),
        Benchmark(
            "medmcqa",
            "MedMCQA",
            "choice",
            loaders.load_medmcqa,
            "dev",
            "MedMCQA dev.json (JSON Lines)",
            {"accuracy": 0.514},
        ),
        Benchmark(
            "mmlu-medicine",
            "MMLU professional medicine",
            "choice",
            loaders.load_mmlu,
            "test",
            "professional_medicine_test.csv (no header)",
            {"accuracy": 0.511},
        ),
        Benchmark(
            "medconceptsqa",
            "MedConceptsQA",
            "choice",
            loaders.load_medconceptsqa,
            "test",
            "a MedConceptsQA CSV, JSON Lines or Parquet file",
            {"accuracy": 0.249},
        ),
        Benchmark(
            "pubchemqa",
            "PubChemQA",
            "text",
            loaders.load_pubchemqa,
            "test",
            "a PubChemQA JSON array or JSON Lines file (smiles, question, answer)",
            {"bleu2": 0.234, "rougeL": 0.332, "meteor": 0.308},
        ),
        Benchmark(
            "uniprotqa",
            "UniProtQA",
            "text",
            loaders.load_uniprotqa,
            "test",
            "a UniProtQA JSON array or JSON Lines file (protein_accession, question, answer)",
            {"bleu2": 0.571, "rougeL": 0.622, "meteor": 0.754},
        ),
    )
}


def get_benchmark(name: str) -> Benchmark:
    """The benchmark called ``name``; an unknown name lists the known ones."""
    try:
        return BENCHMARKS[name]
    except KeyError:
        raise InvalidInputError(
            f"unknown benchmark {name!r}; choose one of {', '.join(BENCHMARKS)}",
            input_name="BENCHMARK",
        ) from None
