"""Loaders for the files the benchmarks are published as, and the row mappers they share.

Every ``load_*`` function takes a local path and a split name and returns
:class:`~biomed_agent.eval.items.EvalItem` values in file order. Formats:

- **PubMedQA**: ``ori_pqal.json`` (PQA-L, ``{pmid: {QUESTION, CONTEXTS,
  final_decision, ...}}``) plus ``test_ground_truth.json`` (``{pmid: label}``)
  beside it. Split ``test`` is the 500 ground-truth PMIDs, ``train`` the other
  500 (the few-shot pool).
- **MedQA** (jind11/MedQA ``data_clean``): JSON Lines with ``question``,
  ``options`` ``{"A": ..., "D": ...}`` and ``answer_idx``.
- **MedMCQA**: JSON Lines (even when named ``dev.json``) with ``question``,
  ``opa``..``opd``, ``cop`` 1-4 and ``id``.
- **MMLU** (hendrycks/test): CSV without header: ``question,A,B,C,D,answer``.
- **MedConceptsQA**: rows with ``question_id, answer, answer_id, option1..option4,
  question, vocab, level`` as CSV with header, JSON/JSON Lines or Parquet (the
  Hugging Face files; needs ``pyarrow``).
- **PubChemQA / UniProtQA** (OpenBioMed format): a JSON array or JSON Lines of
  ``{"smiles" | "protein_accession": str | [str], "question", "answer"}``.

The ``*_items`` mappers turn rows into items whatever they were read from: the
files above, or a Hugging Face dataset (:mod:`biomed_agent.eval.hub` adapts each
hub layout's columns to them), so both sources yield identical items. Error
messages name ``origin``: a file path or the hub dataset with its commit.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from biomed_agent.errors import InvalidInputError, shorten
from biomed_agent.eval.items import EvalItem
from biomed_agent.eval.rows import Origin, Row
from biomed_agent.eval.rows import bad as _bad
from biomed_agent.eval.rows import parse_json as _parse_json
from biomed_agent.eval.rows import read_rows as _read_rows
from biomed_agent.eval.rows import read_text as _read_text

__all__ = [
    "check_unique_ids",
    "entity_qa_items",
    "load_medconceptsqa",
    "load_medmcqa",
    "load_medqa",
    "load_mmlu",
    "load_pubchemqa",
    "load_pubmedqa",
    "load_uniprotqa",
    "medconceptsqa_items",
    "medmcqa_items",
    "medqa_items",
    "mmlu_items",
    "pubmedqa_items",
]

LETTERS = "ABCDEFGHIJ"


def _field(origin: Origin, number: int, row: Row, name: str) -> Any:
    value = row.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise _bad(origin, f", record {number}", f"has no {name!r} (fields: {sorted(row)})")
    return value


def _text_field(origin: Origin, number: int, row: Row, name: str) -> str:
    return str(_field(origin, number, row, name)).strip()


def _option_letter(origin: Origin, number: int, options: dict[str, str], answer: Any) -> str:
    """The option letter ``answer`` names: a letter, or a 0-based index (Hugging Face MMLU)."""
    if isinstance(answer, int) and not isinstance(answer, bool) and 0 <= answer < len(options):
        answer = list(options)[answer]
    letter = str(answer).strip().upper()
    if letter not in options:
        raise _bad(
            origin,
            f", record {number}",
            f"answer {shorten(answer)} is not one of the options {sorted(options)}",
        )
    return letter


def pubmedqa_items(
    records: Mapping[str, Any],
    truth: Mapping[str, str],
    split: str,
    origin: Origin,
    truth_name: str,
) -> list[EvalItem]:
    """PQA-L ``records`` (``{pmid: {QUESTION, CONTEXTS, final_decision}}``) split by ``truth``.

    ``test`` is the PMIDs of ``truth`` in its order, labelled by it; ``train`` the
    other records in their order. For ``test``, a copy lacking any of those PMIDs
    is refused: a score on part of the test set is not comparable to the paper's.
    """
    if split == "test":
        missing = sorted(set(truth) - set(records))
        if missing:
            raise _bad(
                origin, "", f"lacks {len(missing)} test PMIDs of {truth_name}, e.g. {missing[0]}"
            )
        chosen = [(pmid, truth[pmid]) for pmid in truth]
    elif split == "train":
        chosen = [(pmid, "") for pmid in records if pmid not in truth]
    else:
        raise InvalidInputError(
            f"PubMedQA split must be 'test' or 'train', got {split!r}", input_name="--split"
        )
    items = []
    for number, (pmid, label) in enumerate(chosen, start=1):
        row = records[pmid]
        if not isinstance(row, dict):
            raise _bad(origin, f", PMID {pmid}", "expected an object")
        answer = (label or _text_field(origin, number, row, "final_decision")).lower()
        if answer not in {"yes", "no", "maybe"}:
            raise _bad(origin, f", PMID {pmid}", f"label {answer!r} is not yes, no or maybe")
        contexts = _field(origin, number, row, "CONTEXTS")
        items.append(
            EvalItem(
                id=pmid,
                question=_text_field(origin, number, row, "QUESTION"),
                answer=answer,
                context="\n".join(str(part) for part in contexts),
            )
        )
    return items


def load_pubmedqa(path: Path, split: str = "test") -> list[EvalItem]:
    """PubMedQA PQA-L: ``path`` is ``ori_pqal.json`` or the directory holding it."""
    source = path / "ori_pqal.json" if path.is_dir() else path
    records = _parse_json(source, _read_text(source))
    if not isinstance(records, dict):
        raise _bad(source, "", "expected an object keyed by PMID (ori_pqal.json)")
    truth_path = source.with_name("test_ground_truth.json")
    truth_raw = _parse_json(truth_path, _read_text(truth_path))
    if not isinstance(truth_raw, dict):
        raise _bad(truth_path, "", "expected an object {PMID: yes|no|maybe}")
    truth = {str(pmid): str(label) for pmid, label in truth_raw.items()}
    records = {str(pmid): row for pmid, row in records.items()}
    return pubmedqa_items(records, truth, split, source, truth_path.name)


def medqa_items(rows: Iterable[Row], origin: Origin) -> list[EvalItem]:
    """MedQA-USMLE rows: ``question``, ``options`` ``{letter: text}``, ``answer_idx``."""
    items = []
    for number, row in enumerate(rows, start=1):
        options = _field(origin, number, row, "options")
        if not isinstance(options, dict) or not options:
            raise _bad(origin, f", record {number}", "'options' must be an object {letter: text}")
        options = {str(k).strip().upper(): str(v).strip() for k, v in options.items()}
        answer = _option_letter(
            origin, number, options, _text_field(origin, number, row, "answer_idx")
        )
        items.append(
            EvalItem(
                id=str(row.get("id", number)),
                question=_text_field(origin, number, row, "question"),
                answer=answer,
                options=options,
            )
        )
    return items


def load_medqa(path: Path, split: str = "test") -> list[EvalItem]:
    """MedQA-USMLE JSON Lines (``question``, ``options``, ``answer_idx``)."""
    return medqa_items(_read_rows(path), path)


def medmcqa_items(rows: Iterable[Row], origin: Origin, *, first_cop: int = 1) -> list[EvalItem]:
    """MedMCQA rows: ``question``, ``opa``..``opd``, ``cop`` and ``id``.

    ``cop`` is an integer counted from ``first_cop`` (1 in the published JSON
    Lines) or an option letter (``a``..``d``: the names of the hub's ClassLabel).
    """
    items = []
    for number, row in enumerate(rows, start=1):
        options = {
            letter: _text_field(origin, number, row, key)
            for letter, key in zip(LETTERS, ("opa", "opb", "opc", "opd"), strict=False)
        }
        cop = row.get("cop")
        if isinstance(cop, str) and cop.strip().upper() in options:
            answer = cop.strip().upper()
        elif isinstance(cop, int) and 0 <= cop - first_cop < len(options):
            answer = LETTERS[cop - first_cop]
        else:
            numbers = f"{first_cop}-{first_cop + len(options) - 1}"
            raise _bad(
                origin,
                f", record {number}",
                f"'cop' must be {numbers} or a-d, got {shorten(cop)}"
                " (the public test split has no answers; use dev)",
            )
        items.append(
            EvalItem(
                id=str(row.get("id") or number),
                question=_text_field(origin, number, row, "question"),
                answer=answer,
                options=options,
            )
        )
    return items


def load_medmcqa(path: Path, split: str = "dev") -> list[EvalItem]:
    """MedMCQA JSON Lines (``question``, ``opa``..``opd``, ``cop`` 1-4)."""
    return medmcqa_items(_read_rows(path), path)


def mmlu_items(rows: Iterable[Row], origin: Origin, *, id_prefix: str) -> list[EvalItem]:
    """MMLU rows: ``question``, ``choices`` (4 texts), ``answer`` (letter or 0-based index).

    Ids are ``{id_prefix}-{row number}``: the CSV's stem (``professional_medicine_test``)
    or the hub's ``{config}_{split}``, which name the same items alike.
    """
    items = []
    for number, row in enumerate(rows, start=1):
        choices = _field(origin, number, row, "choices")
        if not isinstance(choices, list) or len(choices) != 4:
            raise _bad(
                origin, f", record {number}", f"'choices' must be 4 texts, got {shorten(choices)}"
            )
        options = dict(zip(LETTERS, (str(text).strip() for text in choices), strict=False))
        items.append(
            EvalItem(
                id=f"{id_prefix}-{number}",
                question=str(_field(origin, number, row, "question")).strip(),
                answer=_option_letter(origin, number, options, row.get("answer")),
                options=options,
            )
        )
    return items


def load_mmlu(path: Path, split: str = "test") -> list[EvalItem]:
    """An MMLU subject CSV without header: ``question,A,B,C,D,answer``."""
    rows = []
    for number, row in enumerate(csv.reader(io.StringIO(_read_text(path), newline="")), start=1):
        if not row:
            continue
        if len(row) != 6:
            raise _bad(
                path,
                f", row {number}",
                f"expected 6 columns question,A,B,C,D,answer, got {len(row)}",
            )
        rows.append({"question": row[0], "choices": row[1:5], "answer": row[5]})
    return mmlu_items(rows, path, id_prefix=path.stem)


_OPTIONS_START = re.compile(r"\n\s*A\.\s")


def medconceptsqa_items(rows: Iterable[Row], origin: Origin) -> list[EvalItem]:
    """MedConceptsQA rows; the stem is the question text before its inline ``A.`` list."""
    items = []
    for number, row in enumerate(rows, start=1):
        options = {
            letter: _text_field(origin, number, row, f"option{index}")
            for index, letter in enumerate("ABCD", start=1)
        }
        question = _text_field(origin, number, row, "question")
        stem = _OPTIONS_START.split("\n" + question, maxsplit=1)[0].strip() or question
        key = str(row.get("question_id", number))
        if row.get("vocab") and row.get("level"):
            key = f"{row['vocab']}-{row['level']}-{key}"
        items.append(
            EvalItem(
                id=key,
                question=" ".join(stem.split()),
                answer=_option_letter(
                    origin, number, options, _text_field(origin, number, row, "answer_id")
                ),
                options=options,
            )
        )
    return items


def load_medconceptsqa(path: Path, split: str = "test") -> list[EvalItem]:
    """MedConceptsQA as CSV with header, JSON, JSON Lines or Parquet."""
    return medconceptsqa_items(_read_rows(path), path)


def entity_qa_items(
    rows: Iterable[Row], origin: Origin, *, entity_field: str, label: str
) -> list[EvalItem]:
    """OpenBioMed QA rows: ``entity_field`` (one value or a list), ``question``, ``answer``."""
    items = []
    for number, row in enumerate(rows, start=1):
        entity = _field(origin, number, row, entity_field)
        entities = entity if isinstance(entity, list) else [entity]
        items.append(
            EvalItem(
                id=str(row.get("id", number)),
                question=_text_field(origin, number, row, "question"),
                answer=_text_field(origin, number, row, "answer"),
                context=f"{label}: {', '.join(str(e) for e in entities)}",
            )
        )
    return items


PUBCHEMQA_ENTITY = ("smiles", "Molecule (SMILES)")
UNIPROTQA_ENTITY = ("protein_accession", "Protein (UniProt accession)")


def load_pubchemqa(path: Path, split: str = "test") -> list[EvalItem]:
    """PubChemQA: ``smiles``, ``question``, ``answer`` records."""
    field, label = PUBCHEMQA_ENTITY
    return entity_qa_items(_read_rows(path), path, entity_field=field, label=label)


def load_uniprotqa(path: Path, split: str = "test") -> list[EvalItem]:
    """UniProtQA: ``protein_accession``, ``question``, ``answer`` records."""
    field, label = UNIPROTQA_ENTITY
    return entity_qa_items(_read_rows(path), path, entity_field=field, label=label)


def check_unique_ids(items: list[EvalItem], origin: Origin) -> None:
    """Results are keyed by item id, so a repeated id would be scored once."""
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise _bad(origin, "", f"item id {item.id!r} appears twice; ids must be unique")
        seen.add(item.id)
