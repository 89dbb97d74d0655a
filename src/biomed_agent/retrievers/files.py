"""Local literature for the knowledge store: PDFs, text and Markdown files.

:func:`load_files` turns paths (directories are searched recursively) into
LangChain documents ready for :meth:`KnowledgeStore.add_documents`: one document
per PDF page (text extracted by ``pypdf``) or per text file, all with
``source="file"``, a ``record_id`` derived from the absolute path (so
re-ingesting the same file replaces it), ``title``, ``file_name``, ``path``,
a ``file://`` ``url`` and, for PDFs, the 1-based ``page`` for citations.

A file that cannot be used (missing, unsupported type, encrypted, corrupt, no
text) becomes an :class:`UnreadableFileError` in :attr:`LoadedFiles.failures`;
the other files still load. A directory is never left: symbolic links that resolve
outside it are refused and listed in the failures.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.documents import Document

from biomed_agent.errors import UnreadableFileError

__all__ = [
    "SUPPORTED_SUFFIXES",
    "FileFailure",
    "LoadedFiles",
    "file_record_id",
    "load_file",
    "load_files",
]

SUPPORTED_SUFFIXES: tuple[str, ...] = (".pdf", ".txt", ".md", ".markdown")
"""File types ingested; other files inside a directory are ignored."""


@dataclass(frozen=True)
class FileFailure:
    """A file that was not loaded, and why."""

    path: str
    error: UnreadableFileError

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, **self.error.to_dict()}


@dataclass
class LoadedFiles:
    """Documents from the files that loaded, and the files that did not."""

    documents: list[Document] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    failures: list[FileFailure] = field(default_factory=list)


def file_record_id(path: Path) -> str:
    """Stable id of a file: a digest of its absolute path (the same file keeps its id)."""
    return hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:20]


def _unreadable(path: Path, problem: str) -> UnreadableFileError:
    return UnreadableFileError(f"cannot ingest {str(path)!r}: {problem}", input_name=str(path))


def _base_metadata(path: Path, title: str) -> dict[str, Any]:
    resolved = path.resolve()
    return {
        "source": "file",
        "record_id": file_record_id(resolved),
        "title": title,
        "file_name": resolved.name,
        "path": str(resolved),
        "url": resolved.as_uri(),
    }


def _pdf_documents(path: Path) -> list[Document]:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise _unreadable(
                path, "the PDF is password-protected; save a decrypted copy and ingest that"
            )
        title = (reader.metadata.title if reader.metadata else None) or path.name
        pages = [(number, page.extract_text() or "") for number, page in enumerate(reader.pages, 1)]
    except UnreadableFileError:
        raise
    except DependencyError as exc:
        raise _unreadable(
            path, f"{exc} (install the 'cryptography' package for AES-encrypted PDFs)"
        ) from exc
    except Exception as exc:  # pypdf raises many unrelated types on corrupt files
        raise _unreadable(path, f"not a readable PDF ({type(exc).__name__}: {exc})") from exc
    base = _base_metadata(path, str(title).strip() or path.name)
    documents = [
        Document(page_content=text.strip(), metadata={**base, "page": number})
        for number, text in pages
        if text.strip()
    ]
    if not documents:
        raise _unreadable(
            path,
            "the PDF has no extractable text (scanned images?); "
            "run OCR on it (e.g. ocrmypdf) first",
        )
    return documents


def _text_documents(path: Path) -> list[Document]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _unreadable(path, f"not UTF-8 text (byte {exc.start}); convert it to UTF-8") from exc
    except OSError as exc:
        raise _unreadable(path, exc.strerror or str(exc)) from exc
    if not text.strip():
        raise _unreadable(path, "the file is empty")
    heading = next((line for line in text.splitlines() if line.startswith("# ")), None)
    title = heading[2:].strip() if path.suffix != ".txt" and heading else path.name
    return [Document(page_content=text.strip(), metadata=_base_metadata(path, title))]


def load_file(path: Path) -> list[Document]:
    """The documents of one PDF, text or Markdown file; :class:`UnreadableFileError` otherwise."""
    if not path.exists():
        raise _unreadable(path, "no such file or directory")
    if not path.is_file():
        raise _unreadable(path, "not a regular file")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise _unreadable(
            path,
            f"unsupported file type {suffix or '(none)'!r}; "
            f"ingest {', '.join(SUPPORTED_SUFFIXES)} files",
        )
    return _pdf_documents(path) if suffix == ".pdf" else _text_documents(path)


def _expand(path: Path, escapes: list[FileFailure]) -> list[Path]:
    """A directory's supported files (recursively, sorted), or the path itself.

    Nothing outside the directory is read: symbolic links (to files or directories) are
    resolved and those leading out of it are refused, each recorded in ``escapes``.
    """
    if not path.is_dir():
        return [path]
    root = path.resolve()
    found = []
    for folder, dirs, files in os.walk(path, followlinks=False):
        for name in sorted(dirs):  # a linked directory is not walked: check where it goes
            link = Path(folder, name)
            if link.is_symlink() and not link.resolve().is_relative_to(root):
                escapes.append(FileFailure(str(link), _escape(link, path)))
        for name in files:
            candidate = Path(folder, name)
            if candidate.suffix.lower() not in SUPPORTED_SUFFIXES:
                continue
            if not candidate.resolve().is_relative_to(root):
                escapes.append(FileFailure(str(candidate), _escape(candidate, path)))
            elif candidate.is_file():
                found.append(candidate)
    return sorted(found)


def _escape(path: Path, directory: Path) -> UnreadableFileError:
    return _unreadable(
        path,
        f"it is a link to {str(path.resolve())!r}, outside {str(directory)!r}; only files "
        "inside the directory are ingested (give that file explicitly to ingest it)",
    )


def load_files(paths: Iterable[str | Path]) -> LoadedFiles:
    """Load every path (directories recursed, never left); failures are collected, not raised."""
    loaded = LoadedFiles()
    seen: set[Path] = set()
    for given in paths:
        escapes: list[FileFailure] = []
        found = _expand(Path(given).expanduser(), escapes)
        loaded.failures.extend(escapes)
        if not found and not escapes:
            problem = f"the directory holds no {', '.join(SUPPORTED_SUFFIXES)} files"
            loaded.failures.append(FileFailure(str(given), _unreadable(Path(given), problem)))
        for path in found:
            if path.resolve() in seen:
                continue
            seen.add(path.resolve())
            try:
                loaded.documents.extend(load_file(path))
            except UnreadableFileError as exc:
                loaded.failures.append(FileFailure(str(path), exc))
            else:
                loaded.files.append(str(path))
    return loaded
