"""Per-item results on disk: a JSON Lines file that a run appends to and resumes from.

Each finished batch is appended in one write and fsync'd, so an interrupted run
loses at most the batch in flight. A crash in the middle of a write leaves a
last line without its newline; :meth:`ResultFile.load` drops that torn line (and
truncates it away) so the item is simply asked again. Any other damage is
reported, never silently skipped.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from biomed_agent.errors import StoreError

__all__ = ["ResultFile", "write_atomic"]

Row = dict[str, Any]


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that readers see the old or the new file, never half."""
    staging = path.with_name(f".{path.name}.tmp")
    with staging.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(staging, path)


class ResultFile:
    """The JSON Lines file of one run's per-item results, keyed by item ``id``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, Row]:
        """Finished rows by id; a torn last line from a crash is removed from the file."""
        if not self.path.exists():
            return {}
        data = self.path.read_bytes()
        complete = data.rfind(b"\n") + 1
        if complete < len(data):
            with self.path.open("r+b") as handle:
                handle.truncate(complete)
        rows: dict[str, Row] = {}
        for number, line in enumerate(data[:complete].splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                rows[str(row["id"])] = row
            except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError):
                raise StoreError(
                    f"{self.path}, line {number}, is not a result row;"
                    " move the file away to start over"
                ) from None
        return rows

    def append(self, rows: Iterable[Row]) -> None:
        """Append ``rows`` in one write and make them durable before returning."""
        text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
