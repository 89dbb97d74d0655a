"""Load-once-under-lock: the replacement for ``functools.lru_cache`` around model loading.

``lru_cache`` does not stop two threads that ask for the same key at the same time
from both running the loader (a 10B model loaded twice, twice the memory).
:func:`load_once` keeps one lock per key: the first caller loads, the others wait
for it and get the same object; a loader that raises caches nothing, so the next
call tries again. Different keys load in parallel.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from functools import update_wrapper
from typing import Generic, ParamSpec, TypeVar

__all__ = ["LoadOnce", "load_once"]

P = ParamSpec("P")
T = TypeVar("T")


class LoadOnce(Generic[P, T]):
    """A callable that runs ``loader`` once per argument tuple, whatever the threads."""

    def __init__(self, loader: Callable[P, T], maxsize: int | None = None) -> None:
        self._loader = loader
        self._maxsize = maxsize
        self._values: OrderedDict[Hashable, T] = OrderedDict()
        self._locks: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()
        update_wrapper(self, loader)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> T:
        key: Hashable = (args, tuple(sorted(kwargs.items())))
        with self._guard:
            if key in self._values:
                return self._values[key]
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            with self._guard:
                if key in self._values:
                    return self._values[key]
            value = self._loader(*args, **kwargs)
            with self._guard:
                self._values[key] = value
                self._locks.pop(key, None)
                while self._maxsize is not None and len(self._values) > self._maxsize:
                    self._values.popitem(last=False)
            return value

    def cache_clear(self) -> None:
        """Forget every loaded value (the next call loads again)."""
        with self._guard:
            self._values.clear()

    def cache_size(self) -> int:
        """How many values are held."""
        with self._guard:
            return len(self._values)


def load_once(
    maxsize: int | None = None,
) -> Callable[[Callable[P, T]], LoadOnce[P, T]]:
    """Decorator: ``@load_once(maxsize=2)`` over a loader function (see :class:`LoadOnce`)."""

    def wrap(loader: Callable[P, T]) -> LoadOnce[P, T]:
        return LoadOnce(loader, maxsize)

    return wrap
