"""The persistent HTTP cache: one JSON-serialised SQLite file per service.

Rows are stored with requests-cache's ``json`` serializer, so reading a row can never
run code (the default pickle serializer would: a crafted row is a code-execution
vector). Files written by older versions (``<service>.sqlite``, pickled) are never
opened; ``biomed-agent cache clear`` removes them.

A cache file that is not a readable SQLite database (cut off, overwritten) is replaced
by an empty one with a warning. Only answers that passed their endpoint's shape check
are written (see
:mod:`biomed_agent.retrievers.http`); :func:`cache_info` and :func:`clear_cache`
back the ``biomed-agent cache`` command.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from biomed_agent.errors import InvalidInputError

if TYPE_CHECKING:
    from requests_cache import SQLiteCache

__all__ = [
    "SERVICES",
    "CacheFile",
    "cache_file",
    "cache_info",
    "clear_cache",
    "open_cache",
    "service_slug",
]

logger = logging.getLogger(__name__)

SERVICES: tuple[str, ...] = ("PubChem", "UniProt", "NCBI E-utilities")
"""Services whose answers are cached (``--service`` takes these or their slugs)."""
SUFFIX = ".json.sqlite"
PRIVATE_PARAMS = ("api_key", "email", "tool")
"""Parameters that identify the caller; kept out of cache keys and never stored."""


def service_slug(service: str) -> str:
    """``"NCBI E-utilities"`` -> ``"ncbi-e-utilities"`` (the cache file's stem)."""
    return re.sub(r"[^a-z0-9]+", "-", service.lower()).strip("-")


def cache_file(cache_dir: Path, service: str) -> Path:
    return cache_dir / f"{service_slug(service)}{SUFFIX}"


def open_cache(cache_dir: Path, service: str) -> SQLiteCache:
    """The service's cache backend (JSON rows, WAL journal, caller ids redacted)."""
    from requests_cache import SQLiteCache
    from requests_cache.policy.settings import CacheSettings

    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_file(cache_dir, service)
    if path.exists() and not _readable(path):
        logger.warning("HTTP cache %s is not a readable SQLite file; starting a new one", path)
        for part in _files(path):
            part.unlink(missing_ok=True)
    cache = SQLiteCache(path, serializer="json", wal=True)
    # what CachedSession does: the key function and redaction read these settings
    cache._settings = CacheSettings(ignored_parameters=PRIVATE_PARAMS)
    return cache


@dataclass(frozen=True)
class CacheFile:
    """One cache file as ``cache info`` reports it."""

    service: str
    path: Path
    responses: int | None
    """Stored answers; ``None`` for a legacy (pickled) or unreadable file."""
    size_bytes: int
    legacy: bool = False


def _pick(services: Sequence[str] | None) -> list[str]:
    if not services:
        return list(SERVICES)
    known = {service_slug(s): s for s in SERVICES}
    chosen = []
    for name in services:
        slug = service_slug(name)
        if slug not in known and slug in ("ncbi", "pubmed", "eutils", "e-utilities"):
            slug = "ncbi-e-utilities"
        if slug not in known:
            raise InvalidInputError(
                f"unknown service {name!r}; use one of: pubchem, uniprot, ncbi",
                input_name="service",
            )
        chosen.append(known[slug])
    return chosen


def _readable(path: Path) -> bool:
    """Whether ``path`` opens as an SQLite database (a cut-off or overwritten file does not)."""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
            con.execute("PRAGMA schema_version").fetchone()
    except sqlite3.Error:
        return False
    return True


def _count(path: Path) -> int | None:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
            return int(con.execute("SELECT COUNT(*) FROM responses").fetchone()[0])
    except sqlite3.Error:
        return None


def _files(path: Path) -> list[Path]:
    return [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]


def cache_info(cache_dir: Path, services: Sequence[str] | None = None) -> list[CacheFile]:
    """The cache files of ``services`` (default: all) that exist, with their sizes."""
    found = []
    for service in _pick(services):
        current = cache_file(cache_dir, service)
        legacy = cache_dir / f"{service_slug(service)}.sqlite"
        for path, is_legacy in ((current, False), (legacy, True)):
            if path.exists():
                size = sum(p.stat().st_size for p in _files(path))
                count = None if is_legacy else _count(path)
                found.append(CacheFile(service, path, count, size, is_legacy))
    return found


def clear_cache(cache_dir: Path, services: Sequence[str] | None = None) -> list[CacheFile]:
    """Delete the cache files of ``services`` (default: all), legacy ones included."""
    removed = cache_info(cache_dir, services)
    for entry in removed:
        for path in _files(entry.path):
            path.unlink(missing_ok=True)
    return removed
