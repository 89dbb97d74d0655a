"""Loaders for the files the benchmarks are published as.

Every loader takes a local path and a split name and returns
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

Files are read from disk only: a Hugging Face dataset id is refused with the
command that downloads it, since nothing here fetches data at run time.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from biomed_agent.errors import ConfigurationError, InvalidInputError, shorten
from biomed_agent.eval.items import EvalItem

__all__ = [
    "check_unique_ids",
    "load_medconceptsqa",
    "load_medmcqa",
    "load_medqa",
    "load_mmlu",
    "load_pubchemqa",
    "load_pubmedqa",
    "load_uniprotqa",
]

_LETTERS = "ABCDEFGHIJ"
_HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")
Row = dict[str, Any]


def _bad(path: Path, where: str, problem: str) -> InvalidInputError:
    return InvalidInputError(f"{path}{where}: {problem}", input_name="--data")


def _existing(path: Path) -> Path:
    if path.exists():
        return path
    hint = ""
    if _HUB_ID.match(str(path)):
        hint = (
            " It looks like a Hugging Face dataset id: this command reads local files only;"
            f" download them first (`huggingface-cli download --repo-type dataset {path}"
            " --local-dir DIR`) and pass the file."
        )
    raise InvalidInputError(
        f"benchmark data {str(path)!r} does not exist.{hint}", input_name="--data"
    )


def _read_text(path: Path) -> str:
    try:
        return _existing(path).read_text(encoding="utf-8")
    except IsADirectoryError:
        raise _bad(path, "", "is a directory; pass the data file") from None
    except UnicodeDecodeError as exc:
        raise _bad(path, "", f"is not UTF-8 text ({exc.reason})") from None


def _parse_json(path: Path, text: str, line: int | None = None) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = f", line {line}" if line is not None else f", line {exc.lineno}"
        raise _bad(path, where, f"is not valid JSON ({exc.msg})") from None


def _read_rows(path: Path) -> list[Row]:
    """Records of a JSON array, JSON Lines, CSV-with-header or Parquet file."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return _read_parquet(_existing(path))
    text = _read_text(path)
    if suffix == ".csv":
        return list(csv.DictReader(io.StringIO(text, newline="")))
    if text.lstrip().startswith("["):
        rows = _parse_json(path, text)
        numbered = list(enumerate(rows, start=1))
        where = "item"
    else:
        numbered = [
            (number, _parse_json(path, line, number))
            for number, line in enumerate(text.splitlines(), start=1)
            if line.strip()
        ]
        where = "line"
    for number, row in numbered:
        if not isinstance(row, dict):
            raise _bad(
                path, f", {where} {number}", f"expected a JSON object, got {type(row).__name__}"
            )
    return [row for _, row in numbered]


def _read_parquet(path: Path) -> list[Row]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ConfigurationError(
            f"reading {path} needs pyarrow: `pip install pyarrow`,"
            " or convert the file to JSON Lines"
        ) from None
    try:
        rows: list[Row] = pq.read_table(path).to_pylist()
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise _bad(path, "", f"is not a readable Parquet file ({exc})") from None
    return rows


def _field(path: Path, number: int, row: Row, name: str) -> Any:
    value = row.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise _bad(path, f", record {number}", f"has no {name!r} (fields: {sorted(row)})")
    return value


def _text_field(path: Path, number: int, row: Row, name: str) -> str:
    return str(_field(path, number, row, name)).strip()


def _option_letter(path: Path, number: int, options: dict[str, str], letter: str) -> str:
    letter = letter.strip().upper()
    if letter not in options:
        raise _bad(
            path,
            f", record {number}",
            f"answer {letter!r} is not one of the options {sorted(options)}",
        )
    return letter


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
    missing = sorted(set(truth) - set(records))
    if missing:
        raise _bad(
            source, "", f"lacks {len(missing)} test PMIDs of {truth_path.name}, e.g. {missing[0]}"
        )
    if split == "test":
        chosen = [(pmid, truth[pmid]) for pmid in truth]
    elif split == "train":
        chosen = [(str(pmid), "") for pmid in records if str(pmid) not in truth]
    else:
        raise InvalidInputError(
            f"PubMedQA split must be 'test' or 'train', got {split!r}", input_name="--split"
        )
    items = []
    for number, (pmid, label) in enumerate(chosen, start=1):
        row = records[pmid]
        if not isinstance(row, dict):
            raise _bad(source, f", PMID {pmid}", "expected an object")
        answer = (label or _text_field(source, number, row, "final_decision")).lower()
        if answer not in {"yes", "no", "maybe"}:
            raise _bad(source, f", PMID {pmid}", f"label {answer!r} is not yes, no or maybe")
        contexts = _field(source, number, row, "CONTEXTS")
        items.append(
            EvalItem(
                id=pmid,
                question=_text_field(source, number, row, "QUESTION"),
                answer=answer,
                context="\n".join(str(part) for part in contexts),
            )
        )
    return items


def load_medqa(path: Path, split: str = "test") -> list[EvalItem]:
    """MedQA-USMLE JSON Lines (``question``, ``options``, ``answer_idx``)."""
    items = []
    for number, row in enumerate(_read_rows(path), start=1):
        options = _field(path, number, row, "options")
        if not isinstance(options, dict) or not options:
            raise _bad(path, f", record {number}", "'options' must be an object {letter: text}")
        options = {str(k).strip().upper(): str(v).strip() for k, v in options.items()}
        answer = _option_letter(path, number, options, _text_field(path, number, row, "answer_idx"))
        items.append(
            EvalItem(
                id=str(row.get("id", number)),
                question=_text_field(path, number, row, "question"),
                answer=answer,
                options=options,
            )
        )
    return items


def load_medmcqa(path: Path, split: str = "dev") -> list[EvalItem]:
    """MedMCQA JSON Lines (``question``, ``opa``..``opd``, ``cop`` 1-4)."""
    items = []
    for number, row in enumerate(_read_rows(path), start=1):
        options = {
            letter: _text_field(path, number, row, key)
            for letter, key in zip(_LETTERS, ("opa", "opb", "opc", "opd"), strict=False)
        }
        cop = row.get("cop")
        if not isinstance(cop, int) or not 1 <= cop <= 4:
            raise _bad(
                path,
                f", record {number}",
                f"'cop' must be 1-4, got {shorten(cop)}"
                " (the public test split has no answers; use dev)",
            )
        items.append(
            EvalItem(
                id=str(row.get("id") or number),
                question=_text_field(path, number, row, "question"),
                answer=_LETTERS[cop - 1],
                options=options,
            )
        )
    return items


def load_mmlu(path: Path, split: str = "test") -> list[EvalItem]:
    """An MMLU subject CSV without header: ``question,A,B,C,D,answer``."""
    items = []
    for number, row in enumerate(csv.reader(io.StringIO(_read_text(path), newline="")), start=1):
        if not row:
            continue
        if len(row) != 6:
            raise _bad(
                path,
                f", row {number}",
                f"expected 6 columns question,A,B,C,D,answer, got {len(row)}",
            )
        options = dict(zip(_LETTERS, (text.strip() for text in row[1:5]), strict=False))
        items.append(
            EvalItem(
                id=f"{path.stem}-{number}",
                question=row[0].strip(),
                answer=_option_letter(path, number, options, row[5]),
                options=options,
            )
        )
    return items


_OPTIONS_START = re.compile(r"\n\s*A\.\s")


def load_medconceptsqa(path: Path, split: str = "test") -> list[EvalItem]:
    """MedConceptsQA rows; the stem is the question text before its inline ``A.`` list."""
    items = []
    for number, row in enumerate(_read_rows(path), start=1):
        options = {
            letter: _text_field(path, number, row, f"option{index}")
            for index, letter in enumerate("ABCD", start=1)
        }
        question = _text_field(path, number, row, "question")
        stem = _OPTIONS_START.split("\n" + question, maxsplit=1)[0].strip() or question
        key = str(row.get("question_id", number))
        if row.get("vocab") and row.get("level"):
            key = f"{row['vocab']}-{row['level']}-{key}"
        items.append(
            EvalItem(
                id=key,
                question=" ".join(stem.split()),
                answer=_option_letter(
                    path, number, options, _text_field(path, number, row, "answer_id")
                ),
                options=options,
            )
        )
    return items


def _entity_qa(entity_field: str, label: str) -> Callable[[Path, str], list[EvalItem]]:
    def load(path: Path, split: str = "test") -> list[EvalItem]:
        items = []
        for number, row in enumerate(_read_rows(path), start=1):
            entity = _field(path, number, row, entity_field)
            entities = entity if isinstance(entity, list) else [entity]
            items.append(
                EvalItem(
                    id=str(row.get("id", number)),
                    question=_text_field(path, number, row, "question"),
                    answer=_text_field(path, number, row, "answer"),
                    context=f"{label}: {', '.join(str(e) for e in entities)}",
                )
            )
        return items

    return load


load_pubchemqa = _entity_qa("smiles", "Molecule (SMILES)")
load_pubchemqa.__doc__ = "PubChemQA: ``smiles``, ``question``, ``answer`` records."
load_uniprotqa = _entity_qa("protein_accession", "Protein (UniProt accession)")
load_uniprotqa.__doc__ = "UniProtQA: ``protein_accession``, ``question``, ``answer`` records."


def check_unique_ids(items: list[EvalItem], path: Path) -> None:
    """Results are keyed by item id, so a repeated id would be scored once."""
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise _bad(path, "", f"item id {item.id!r} appears twice; ids must be unique")
        seen.add(item.id)
