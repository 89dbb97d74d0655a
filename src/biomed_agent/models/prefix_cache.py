"""Prefix caching: the system text and tool catalogue are encoded once per model.

Every call of an agent step starts with the same system text and tool
catalogue, often most of the prompt. :class:`PrefixCache` keeps the KV cache of
the last few such prefixes (keyed by their token ids); a request whose prompt
starts with a cached prefix hands ``generate`` a copy of it, so only the
request's own tokens are encoded. A prefix not seen before is encoded once, by
one forward pass, and kept. Copies keep the cached entry pristine, since
``generate`` appends to the cache it is given.

Only requests decoded alone use it (a padded batch shifts every row's
positions); on CPU a repeat call of a ~700-token tool prompt is several times
faster (``benchmarks/bench_chat.py``).
"""

from __future__ import annotations

import copy
import inspect
import threading
from collections import OrderedDict
from typing import Any

import torch

from biomed_agent.models.loading import LoadedModel

__all__ = ["MIN_PREFIX_TOKENS", "PrefixCache", "cache_kwarg", "prefix_cache_for"]

MIN_PREFIX_TOKENS = 32
"""Shorter prefixes are not worth a cache entry."""


class PrefixCache:
    """KV caches of recent prompt prefixes of one model (least recently used dropped)."""

    def __init__(self, loaded: LoadedModel, capacity: int = 4) -> None:
        self._loaded = loaded
        self._capacity = capacity
        self._entries: OrderedDict[tuple[int, ...], Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def past_for(self, prefix: list[int]) -> Any:
        """A fresh copy of the KV cache of ``prefix`` (encoded now if not cached).

        Call with the model's generation lock held.
        """
        key = tuple(prefix)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                self.hits += 1
        if entry is None:
            entry = self._encode(prefix)
            with self._lock:
                self.misses += 1
                self._entries[key] = entry
                while len(self._entries) > self._capacity:
                    self._entries.popitem(last=False)
        return copy.deepcopy(entry)

    def _encode(self, prefix: list[int]) -> Any:
        from transformers import DynamicCache

        model = self._loaded.model
        ids = torch.tensor([prefix], dtype=torch.long, device=self._loaded.device)
        with torch.inference_mode():
            out = model(
                input_ids=ids,
                use_cache=True,
                **{cache_kwarg(model): DynamicCache(config=model.config)},
            )
        return out.past_key_values

    def clear(self) -> None:
        """Forget every cached prefix."""
        with self._lock:
            self._entries.clear()


_LOCK = threading.Lock()


def cache_kwarg(model: Any) -> str:
    """The keyword that passes a KV cache (``cache`` in transformers 5.x, else the old name)."""
    parameters = inspect.signature(type(model).forward).parameters
    return "cache" if "cache" in parameters else "past_key_values"


def prefix_cache_for(loaded: LoadedModel) -> PrefixCache:
    """The prefix cache of ``loaded``, created on first use."""
    with _LOCK:
        cache = loaded.extras.get("prefix_cache")
        if cache is None:
            cache = loaded.extras["prefix_cache"] = PrefixCache(loaded)
        assert isinstance(cache, PrefixCache)
        return cache
