"""Reading benchmark files into rows: JSON arrays, JSON Lines, CSV with header, Parquet.

Errors name the file (or hub dataset) and the line or item, and say what to do.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

from biomed_agent.errors import ConfigurationError, InvalidInputError

__all__ = ["Origin", "Row", "bad", "parse_json", "read_rows", "read_text"]

_HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")
Row = dict[str, Any]
Origin = str | Path
"""What a message names as the data: a file path, or ``hf:ORG/NAME@commit (config, split)``."""


def bad(origin: Origin, where: str, problem: str) -> InvalidInputError:
    return InvalidInputError(f"{origin}{where}: {problem}", input_name="--data")


def existing(path: Path) -> Path:
    if path.exists():
        return path
    hint = ""
    if _HUB_ID.match(str(path)):
        hint = (
            " If you meant the Hugging Face dataset, say so with the hf: prefix:"
            f" --data hf:{path} (local paths never go to the network)."
        )
    raise InvalidInputError(
        f"benchmark data {str(path)!r} does not exist.{hint}", input_name="--data"
    )


def read_text(path: Path) -> str:
    try:
        return existing(path).read_text(encoding="utf-8")
    except IsADirectoryError:
        raise bad(path, "", "is a directory; pass the data file") from None
    except UnicodeDecodeError as exc:
        raise bad(path, "", f"is not UTF-8 text ({exc.reason})") from None


def parse_json(path: Path, text: str, line: int | None = None) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = f", line {line}" if line is not None else f", line {exc.lineno}"
        raise bad(path, where, f"is not valid JSON ({exc.msg})") from None


def read_rows(path: Path) -> list[Row]:
    """Records of a JSON array, JSON Lines, CSV-with-header or Parquet file."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return read_parquet(existing(path))
    text = read_text(path)
    if suffix == ".csv":
        return list(csv.DictReader(io.StringIO(text, newline="")))
    if text.lstrip().startswith("["):
        rows = parse_json(path, text)
        numbered = list(enumerate(rows, start=1))
        where = "item"
    else:
        numbered = [
            (number, parse_json(path, line, number))
            for number, line in enumerate(text.splitlines(), start=1)
            if line.strip()
        ]
        where = "line"
    for number, row in numbered:
        if not isinstance(row, dict):
            raise bad(
                path, f", {where} {number}", f"expected a JSON object, got {type(row).__name__}"
            )
    return [row for _, row in numbered]


def read_parquet(path: Path) -> list[Row]:
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
        raise bad(path, "", f"is not a readable Parquet file ({exc})") from None
    return rows
