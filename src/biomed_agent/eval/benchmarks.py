"""The benchmarks BioMedGPT reports: their file loaders, hub copies and the paper's numbers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from biomed_agent.errors import InvalidInputError
from biomed_agent.eval import hub, hub_items, loaders
from biomed_agent.eval.hub import HubItems, HubSource
from biomed_agent.eval.items import EvalItem, TaskKind

__all__ = ["BENCHMARKS", "Benchmark", "BenchmarkData", "HubLayout", "get_benchmark"]


@dataclass(frozen=True)
class HubLayout:
    """How a benchmark reads a Hugging Face copy: columns, split names, the well-known repo."""

    items: HubItems
    """Maps a split's rows to items (checks the columns it needs first)."""

    repo_id: str | None = None
    """The copy read when ``--data`` is left out; ``None``: no copy whose layout is verified."""

    config: str | None = None
    """Its config (subset); also the default for ``hf:`` ids of the same repository."""

    split_names: Mapping[str, str] = field(default_factory=dict)
    """Our split name -> the hub's, where they differ (MedMCQA ``dev`` is ``validation``)."""

    only_named_splits: bool = False
    """Only ``split_names`` are splits (PubMedQA: ``test``/``train`` are cut from one hub split)."""

    def hub_split(self, split: str, title: str) -> str:
        """The hub split holding our ``split``."""
        if self.only_named_splits and split not in self.split_names:
            raise InvalidInputError(
                f"{title} split must be one of {', '.join(self.split_names)}, got {split!r}",
                input_name="--split",
            )
        return self.split_names.get(split, split)


@dataclass(frozen=True)
class BenchmarkData:
    """The items of a run and exactly where they came from (recorded in ``run.json``)."""

    items: list[EvalItem]
    source: Path | HubSource
    """The resolved file, or the hub dataset pinned to the commit that was read."""

    split: str
    config: str | None = None
    """The hub config (subset) read; ``None`` for files."""

    def describe(self) -> str:
        """One line naming source, config and split, e.g. for the command's output."""
        config = f", config {self.config}" if self.config else ""
        return f"{self.source}{config}, split {self.split}, {len(self.items)} items"


@dataclass(frozen=True)
class Benchmark:
    """A benchmark: how to read it, what kind of answer it wants, what the paper got."""

    name: str
    title: str
    kind: TaskKind
    loader: Callable[[Path, str], list[EvalItem]]
    default_split: str
    data_hint: str
    """What to pass as ``--data`` for a local file."""

    hub: HubLayout
    """How ``hf:`` data (and, without ``--data``, the well-known copy) is read."""

    paper: dict[str, float] = field(default_factory=dict)
    """Metric name -> value reported for BioMedGPT (fractions, not percent)."""

    few_shot_split: str | None = None
    """A split of the same files that serves few-shot examples (PubMedQA's non-test half)."""

    @property
    def answer_tokens(self) -> int:
        """Tokens enough for an answer: a letter or label with a short reason, or two sentences."""
        return 256 if self.kind == "text" else 48

    def load(self, path: Path, split: str | None = None) -> list[EvalItem]:
        """The items of a local file (``split`` defaults to :attr:`default_split`)."""
        return self.open(path, split).items

    def open(
        self,
        data: Path | HubSource | None,
        split: str | None = None,
        *,
        config: str | None = None,
        offline: bool | None = None,
        progress: bool = True,
    ) -> BenchmarkData:
        """Read ``data``: a local file, a hub dataset, or (``None``) the benchmark's hub copy.

        ``config`` picks a hub config (default: :attr:`HubLayout.config` for the
        known repository); ``offline`` forbids network access (the hub cache
        still serves; default: the ``offline`` setting). Ids are checked to be unique.
        """
        split = split or self.default_split
        if data is None:
            data = self.default_hub_source()
        if isinstance(data, HubSource):
            if config is None and data.repo_id == self.hub.repo_id:
                config = self.hub.config
            if offline is None:
                from biomed_agent.settings import get_settings

                offline = get_settings().offline
            table = hub.load_hub_table(
                data,
                config=config,
                split=self.hub.hub_split(split, self.title),
                offline=offline,
                progress=progress,
            )
            loaded = BenchmarkData(self.hub.items(table, split), table.source, split, table.config)
            origin: loaders.Origin = table.origin
        else:
            if config is not None:
                raise InvalidInputError(
                    f"--config {config!r} picks a subset of a hf: dataset; the local file"
                    f" {data} has none: drop --config",
                    input_name="--config",
                )
            loaded = BenchmarkData(self.loader(data, split), data.resolve(), split)
            origin = data
        if not loaded.items:
            raise InvalidInputError(f"{origin} holds no {self.title} items", input_name="--data")
        loaders.check_unique_ids(loaded.items, origin)
        return loaded

    def default_hub_source(self) -> HubSource:
        """The well-known hub copy, for runs without ``--data``."""
        if self.hub.repo_id is None:
            raise InvalidInputError(
                f"{self.title} has no Hugging Face copy whose layout could be verified, so"
                f" --data is required: {self.data_hint}, or hf:ORG/NAME for a copy with"
                " OpenBioMed's columns (see docs/evaluation.md)",
                input_name="--data",
            )
        return HubSource(self.hub.repo_id)


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
            HubLayout(
                hub_items.pubmedqa_items,
                "qiaojin/PubMedQA",
                "pqa_labeled",
                split_names={"test": "train", "train": "train"},
                only_named_splits=True,
            ),
            paper={"accuracy": 0.761},
            few_shot_split="train",
        ),
        Benchmark(
            "medqa",
            "MedQA-USMLE (4 options)",
            "choice",
            loaders.load_medqa,
            "test",
            "a MedQA JSON Lines file, e.g. US/4_options/phrases_no_exclude_test.jsonl",
            HubLayout(hub_items.medqa_items, "GBaker/MedQA-USMLE-4-options"),
            paper={"accuracy": 0.504},
        ),
        Benchmark(
            "medmcqa",
            "MedMCQA",
            "choice",
            loaders.load_medmcqa,
            "dev",
            "MedMCQA dev.json (JSON Lines)",
            HubLayout(
                hub_items.medmcqa_items,
                "openlifescienceai/medmcqa",
                split_names={"dev": "validation"},
            ),
            paper={"accuracy": 0.514},
        ),
        Benchmark(
            "mmlu-medicine",
            "MMLU professional medicine",
            "choice",
            loaders.load_mmlu,
            "test",
            "professional_medicine_test.csv (no header)",
            HubLayout(hub_items.mmlu_items, "cais/mmlu", "professional_medicine"),
            paper={"accuracy": 0.511},
        ),
        Benchmark(
            "medconceptsqa",
            "MedConceptsQA",
            "choice",
            loaders.load_medconceptsqa,
            "test",
            "a MedConceptsQA CSV, JSON Lines or Parquet file",
            HubLayout(hub_items.medconceptsqa_items, "ofir408/MedConceptsQA", "all"),
            paper={"accuracy": 0.249},
        ),
        Benchmark(
            "pubchemqa",
            "PubChemQA",
            "text",
            loaders.load_pubchemqa,
            "test",
            "a PubChemQA JSON array or JSON Lines file (smiles, question, answer)",
            HubLayout(hub_items.pubchemqa_items),
            paper={"bleu2": 0.234, "rougeL": 0.332, "meteor": 0.308},
        ),
        Benchmark(
            "uniprotqa",
            "UniProtQA",
            "text",
            loaders.load_uniprotqa,
            "test",
            "a UniProtQA JSON array or JSON Lines file (protein_accession, question, answer)",
            HubLayout(hub_items.uniprotqa_items),
            paper={"bleu2": 0.571, "rougeL": 0.622, "meteor": 0.754},
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
