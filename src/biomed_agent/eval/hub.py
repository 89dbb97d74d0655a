"""Benchmarks read from the Hugging Face hub: ``--data hf:ORG/NAME[@REVISION]``.

Downloading goes through the ``datasets`` library (``load_dataset_builder``,
``download_and_prepare``, ``as_dataset``: what ``load_dataset`` does, keeping
the builder so the commit it read is known). It understands every layout these
benchmarks are published in (README ``configs:``, Parquet, JSON Lines, CSV),
keeps ClassLabel names, and caches both the files (hub cache) and the prepared
Arrow tables (datasets cache), so a second or an offline run reads from disk.
It is imported only here, when a hub source is used.

Reproducibility: a :class:`HubTable` carries the commit it was read from, and
:attr:`HubTable.source` pins it (``hf:ORG/NAME@<commit>``) for run identities and
for reading a second split of the same data. ``datasets`` falls back to the
newest cached copy when the hub cannot be reached (always, offline), whatever
revision was asked for; :func:`_check_commit` compares that copy with the hub
cache's record of the revision and refuses a different one.

Offline: ``BIOMED_OFFLINE=1`` (passed in as ``offline``) or ``HF_HUB_OFFLINE=1``
(which both libraries read once at import). Offline is decided per call, never by
flipping the libraries' process-wide flags: an offline call builds its reader from the
``datasets`` cache directly (:func:`_cached_builder`, the same cached-module path that
``load_dataset_builder`` takes when the hub cannot be reached), so it makes no request
whatever another thread is doing. Progress bars of both libraries have only a
process-wide switch; a call with ``progress=False`` turns it off once for the process
and nothing turns it back on (:func:`hide_hub_progress_bars`).

Foreign exceptions are translated in :func:`_translate`, the one boundary, into
:mod:`biomed_agent.errors` types that name the dataset and say what to do.

Each benchmark's hub columns are mapped onto the row mappers of
:mod:`biomed_agent.eval.loaders` by :mod:`biomed_agent.eval.hub_items`, so hub and
file sources give identical items.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from biomed_agent.errors import (
    BiomedAgentError,
    ConfigurationError,
    InvalidInputError,
    NotFoundError,
    OfflineError,
    UpstreamError,
    shorten,
)
from biomed_agent.eval.items import EvalItem

__all__ = [
    "HUB_PREFIX",
    "HubItems",
    "HubSource",
    "HubTable",
    "hide_hub_progress_bars",
    "load_hub_table",
    "parse_data",
    "parse_hub_source",
]

HUB_PREFIX = "hf:"
Row = dict[str, Any]
HubItems = Callable[["HubTable", str], list[EvalItem]]
"""Maps one split of a benchmark's hub copy to items (the second argument: our split name)."""

# Hub rules: letters, digits, '-', '_', '.'; no leading/trailing '-' or '.'; no '--' or '..'.
_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?"
_REPO_ID = re.compile(rf"^{_NAME}/{_NAME}$")
# Branches, tags (git ref rules) and commit hashes; 'refs/convert/parquet' style refs too.
_REVISION = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+/-]{0,254}$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_SERVICE = "huggingface"


@dataclass(frozen=True)
class HubSource:
    """A dataset repository on the Hugging Face hub, at a branch, tag or commit."""

    repo_id: str
    revision: str | None = None
    """Branch, tag or commit hash; ``None`` is the repository's default branch."""

    def __str__(self) -> str:
        return f"{HUB_PREFIX}{self.repo_id}" + (f"@{self.revision}" if self.revision else "")


def parse_hub_source(text: str) -> HubSource:
    """``hf:ORG/NAME[@REVISION]`` (the prefix may be left out) as a :class:`HubSource`."""
    body = text.removeprefix(HUB_PREFIX)
    repo_id, at, revision = body.partition("@")
    if "--" in repo_id or ".." in repo_id or not _REPO_ID.match(repo_id):
        raise InvalidInputError(
            f"--data {shorten(text)} does not name a Hugging Face dataset: write"
            " hf:ORG/NAME[@REVISION], e.g. hf:cais/mmlu or hf:cais/mmlu@main",
            input_name="--data",
        )
    if at and not _valid_revision(revision):
        raise InvalidInputError(
            f"revision {shorten(revision)} in --data {shorten(text)} is not a branch, tag or"
            " commit name; write hf:ORG/NAME@REVISION, e.g. @main or a 40-character commit hash",
            input_name="--data",
        )
    return HubSource(repo_id, revision or None)


def _valid_revision(revision: str) -> bool:
    return bool(
        _REVISION.match(revision)
        and ".." not in revision
        and "//" not in revision
        and not revision.endswith(("/", ".", ".lock"))
    )


def parse_data(text: str | None) -> Path | HubSource | None:
    """What ``--data`` names: ``None`` (the benchmark's default hub copy), a hub dataset, a path.

    Only the explicit ``hf:`` prefix reaches the network: a mistyped local path
    that happens to look like ``ORG/NAME`` stays a (missing) local path.
    """
    if text is None:
        return None
    if text.startswith(HUB_PREFIX):
        return parse_hub_source(text)
    return Path(text)


@dataclass(frozen=True)
class HubTable:
    """One split of a hub dataset, in memory, with the commit it was read from."""

    repo_id: str
    config: str
    """The config (subset) that was read, as ``datasets`` names it (``default`` if unnamed)."""

    split: str
    commit: str
    columns: tuple[str, ...]
    rows: list[Row]
    """Rows as dicts; ClassLabel values are their names (-1, "no label", is ``None``)."""

    class_labels: dict[str, list[str]]
    """ClassLabel columns and their names."""

    @property
    def source(self) -> HubSource:
        """The dataset pinned to the commit that was read."""
        return HubSource(self.repo_id, self.commit)

    @property
    def origin(self) -> str:
        """How messages name this data."""
        return f"{self.source} (config {self.config!r}, split {self.split!r})"

    def require(self, columns: tuple[str, ...]) -> None:
        """Refuse a copy without ``columns``, naming the first one missing."""
        missing = [name for name in columns if name not in self.columns]
        if missing:
            raise InvalidInputError(
                f"{self.origin} has no column {missing[0]!r} (it has {', '.join(self.columns)});"
                f" this benchmark reads {', '.join(columns)}: pass a copy with these columns"
                " or a local file as --data",
                input_name="--data",
            )


def load_hub_table(
    source: HubSource,
    *,
    config: str | None,
    split: str,
    offline: bool = False,
    progress: bool = True,
) -> HubTable:
    """Download (or read from the cache) one split of ``source`` and return its rows.

    ``offline`` forces offline mode (``BIOMED_OFFLINE``); ``HF_HUB_OFFLINE`` does too.
    ``progress=False`` hides the libraries' bars (process-wide, see
    :func:`hide_hub_progress_bars`).
    """
    datasets = _import_datasets()
    named = f"{source}" + (f" (config {config!r})" if config else "")
    is_offline = offline or _libraries_offline()
    if not progress:
        hide_hub_progress_bars()
    try:
        if is_offline:
            builder = _cached_builder(source, config)
        else:
            builder = datasets.load_dataset_builder(
                source.repo_id, config, revision=source.revision
            )
    except Exception as exc:  # the library's whole surface: translated below
        raise _translate(exc, named, is_offline, input_name="--config") from exc
    try:
        builder.download_and_prepare()
    except Exception as exc:
        raise _translate(exc, named, is_offline, input_name="--data") from exc
    commit = str(builder.hash)
    named = f"{HubSource(source.repo_id, commit)} (config {builder.config.name!r})"
    _check_commit(source, commit, is_offline)
    available = list(builder.info.splits or {})
    if split not in available:
        raise InvalidInputError(
            f"{named} has no split {split!r}; it has {', '.join(available)}:"
            " pass one of them as --split",
            input_name="--split",
        )
    try:
        table = builder.as_dataset(split=split)
    except Exception as exc:
        raise _translate(exc, named, is_offline, input_name="--data") from exc
    class_labels = {
        name: list(feature.names)
        for name, feature in table.features.items()
        if isinstance(feature, datasets.ClassLabel)
    }
    rows = [
        {
            name: _label_name(class_labels[name], value) if name in class_labels else value
            for name, value in row.items()
        }
        for row in table.to_list()
    ]
    return HubTable(
        repo_id=source.repo_id,
        config=str(builder.config.name),
        split=split,
        commit=commit,
        columns=tuple(table.column_names),
        rows=rows,
        class_labels=class_labels,
    )


def _label_name(names: list[str], value: Any) -> str | None:
    return names[value] if isinstance(value, int) and 0 <= value < len(names) else None


def _import_datasets() -> Any:
    try:
        import datasets
    except ImportError:
        raise ConfigurationError(
            "reading a hf: dataset needs the `datasets` package:"
            " pip install 'biomed-agent[eval]' (or pass a local file as --data)"
        ) from None
    return datasets


def _libraries_offline() -> bool:
    """``HF_HUB_OFFLINE`` as ``huggingface_hub`` and ``datasets`` read it at import (read only)."""
    import datasets.config
    import huggingface_hub.constants as hub_constants

    return bool(hub_constants.HF_HUB_OFFLINE or datasets.config.HF_HUB_OFFLINE)


def _cached_builder(source: HubSource, config: str | None) -> Any:
    """The reader of the newest cached copy of ``source``, built without the network.

    What ``datasets.load_dataset_builder`` builds when the hub cannot be reached
    (``CachedDatasetModuleFactory``, then the builder class of that module), asked for
    directly, so no process-wide offline flag is needed. :func:`_check_commit` then
    refuses a cached copy other than the revision asked for. Raises
    ``FileNotFoundError`` when nothing is cached and ``ValueError`` for a config that is
    not, as ``load_dataset_builder`` does offline.
    """
    from datasets.load import CachedDatasetModuleFactory, get_dataset_builder_class

    module = CachedDatasetModuleFactory(source.repo_id).get_module()
    kwargs = dict(module.builder_kwargs)
    builder_class = get_dataset_builder_class(module, dataset_name=kwargs.get("dataset_name"))
    return builder_class(config_name=config, hash=module.hash, **kwargs)


_BARS_LOCK = threading.Lock()
_bars_hidden = False


def hide_hub_progress_bars() -> None:
    """Hide the progress bars of ``datasets`` and ``huggingface_hub`` for this process.

    Both libraries have only a process-wide switch (no per-call argument reaches
    every bar: "Generating split" and hub downloads read the switch alone). It is set
    once, by the first caller that asks for no bars (the ``eval`` command's
    ``--no-progress``), and never flipped back: turning it off and on around each call
    let concurrent calls restore each other's state.
    """
    global _bars_hidden
    with _BARS_LOCK:
        if _bars_hidden:
            return
        import datasets
        import huggingface_hub.utils as hub_utils

        datasets.disable_progress_bars()
        hub_utils.disable_progress_bars()
        _bars_hidden = True


def _check_commit(source: HubSource, commit: str, offline: bool) -> None:
    """Refuse a cached copy other than the revision asked for.

    The hub cache records which commit each downloaded revision was
    (``refs/<revision>``); reading the dataset card there tells that commit.
    """
    from huggingface_hub import try_to_load_from_cache

    revision = source.revision or "main"
    card = try_to_load_from_cache(
        source.repo_id, "README.md", revision=revision, repo_type="dataset"
    )
    if isinstance(card, str):
        expected: str | None = Path(card).parent.name
    else:
        expected = revision if _COMMIT.match(revision) else None
    if expected is None:
        if offline and source.revision:
            raise OfflineError(
                f"offline, {source} cannot be matched to a cached commit; run once with network,"
                f" or pass the cached commit: --data {HubSource(source.repo_id, commit)}",
                service=_SERVICE,
                input_name="--data",
            )
        return
    if expected != commit:
        raise OfflineError(
            f"without the hub, only a cached copy of {source.repo_id} could be read: commit"
            f" {commit}, but {revision} is {expected}; run with network to fetch {revision},"
            f" or use the cached copy: --data {HubSource(source.repo_id, commit)}",
            service=_SERVICE,
            input_name="--data",
        )


def _translate(exc: Exception, named: str, offline: bool, *, input_name: str) -> BiomedAgentError:
    """The typed error for a failure of ``datasets``/``huggingface_hub`` reading ``named``."""
    from datasets.exceptions import DatasetNotFoundError
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    reason = f"{type(exc).__name__}: {exc}"
    if offline and isinstance(exc, ConnectionError | LocalEntryNotFoundError | FileNotFoundError):
        return OfflineError(
            f"{named} is not in the local Hugging Face cache and offline mode is on"
            " (BIOMED_OFFLINE or HF_HUB_OFFLINE): run the same command once with network"
            " to cache it, or pass a local file as --data",
            service=_SERVICE,
            input_name="--data",
        )
    if isinstance(exc, ConnectionError):
        return UpstreamError(
            f"could not reach the Hugging Face hub for {named} ({reason}); check the network"
            " (HF_ENDPOINT, proxy settings), or pass a local file as --data",
            service=_SERVICE,
            input_name="--data",
        )
    if isinstance(exc, DatasetNotFoundError):
        return NotFoundError(
            f"{named}: {exc} Check the id and revision in --data (hf:ORG/NAME[@REVISION]);"
            " private or gated datasets need `hf auth login` first",
            input_name="--data",
        )
    if isinstance(exc, HfHubHTTPError):
        status = exc.response.status_code if exc.response is not None else None
        return UpstreamError(
            f"the Hugging Face hub failed for {named} ({reason}); try again later",
            service=_SERVICE,
            status=status,
            input_name="--data",
        )
    if isinstance(exc, FileNotFoundError):
        return NotFoundError(
            f"{named}: no data files found ({reason}); check --data and --config",
            input_name="--data",
        )
    if isinstance(exc, RuntimeError) and "scripts are no longer supported" in str(exc):
        return InvalidInputError(
            f"{named} is a loading-script dataset, which the datasets library no longer runs;"
            " pass a copy published as data files (Parquet, JSON Lines) or a local file",
            input_name="--data",
        )
    if isinstance(exc, ValueError) and input_name == "--config":
        return InvalidInputError(
            f"{named}: {exc}; pass one of them as --config", input_name=input_name
        )
    return InvalidInputError(f"{named} could not be read ({reason})", input_name="--data")
