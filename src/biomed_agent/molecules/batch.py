"""One batch engine for every ``compute_many_*`` verb: ``n_jobs``, ``progress``, ``on_error``.

Workers are processes (RDKit holds the GIL in most descriptor code). Each item's
outcome travels back as a value, so a bad molecule never kills the pool and the
error can name the molecule *and* its position in the batch.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from biomed_agent.errors import InvalidInputError, InvalidMoleculeError, InvalidQueryError

__all__ = ["OnError", "parallel_map", "resolve_n_jobs"]

OnError = Literal["raise", "skip"]
"""What a batch does with an item that fails: ``"raise"`` the typed error (naming the item
and its index), or ``"skip"`` it, leaving ``None`` in its slot so results stay aligned."""

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass(frozen=True)
class _Failure:
    """A typed error carried back from a worker as plain data (it pickles reliably)."""

    message: str
    input_name: str | None


def resolve_n_jobs(n_jobs: int) -> int:
    """``n_jobs`` as a worker count: positive as given, ``-1`` for every CPU core."""
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
        raise InvalidQueryError(
            f"n_jobs must be a positive integer or -1 (all cores), got {n_jobs!r}",
            input_name="n_jobs",
        )
    return os.cpu_count() or 1 if n_jobs == -1 else n_jobs


def _check_on_error(on_error: str) -> None:
    if on_error not in ("raise", "skip"):
        raise InvalidQueryError(
            f"on_error must be 'raise' or 'skip', got {on_error!r}", input_name="on_error"
        )


class _Guarded(Generic[Item, Result]):
    """Picklable wrapper that turns a typed input error into a :class:`_Failure` value."""

    def __init__(self, func: Callable[[Item], Result]) -> None:
        self.func = func

    def __call__(self, item: Item) -> Result | _Failure:
        try:
            return self.func(item)
        except InvalidInputError as exc:
            return _Failure(exc.message, exc.input_name)


def _progress(results: Iterator[object], total: int, enabled: bool, label: str) -> Iterable[object]:
    if not enabled:
        return results
    from tqdm.auto import tqdm

    return tqdm(results, total=total, desc=f"{label}s", unit="mol")


def parallel_map(
    func: Callable[[Item], Result],
    items: Sequence[Item],
    *,
    n_jobs: int = 1,
    progress: bool = False,
    on_error: OnError = "raise",
    label: str = "molecule",
) -> list[Result | None]:
    """Apply ``func`` (a picklable, module-level function) to every item, in order.

    Args:
        func: raises :class:`InvalidInputError` for an item it cannot handle.
        items: the batch; its order is the order of the results.
        n_jobs: worker processes; ``1`` runs in this process, ``-1`` uses every core.
        progress: show a tqdm progress bar.
        on_error: see :data:`OnError`.
        label: what an item is called in errors and the progress bar ("candidate").

    Raises:
        InvalidMoleculeError: ``on_error="raise"`` and an item failed (the first, in order).
        InvalidQueryError: bad ``n_jobs`` or ``on_error``.
    """
    _check_on_error(on_error)
    workers = min(resolve_n_jobs(n_jobs), max(len(items), 1))
    guarded = _Guarded(func)
    outcomes: list[object]
    if workers == 1:
        outcomes = list(_progress(map(guarded, items), len(items), progress, label))
    else:
        chunksize = max(1, len(items) // (workers * 8))
        with ProcessPoolExecutor(max_workers=workers) as pool:
            mapped = pool.map(guarded, items, chunksize=chunksize)
            outcomes = list(_progress(mapped, len(items), progress, label))
    results: list[Result | None] = []
    for index, outcome in enumerate(outcomes):
        if isinstance(outcome, _Failure):
            if on_error == "raise":
                raise InvalidMoleculeError(
                    f"{label} {index} (counting from 0) of {len(items)}: {outcome.message}",
                    input_name=outcome.input_name,
                )
            results.append(None)
        else:
            results.append(outcome)  # type: ignore[arg-type]
    return results
