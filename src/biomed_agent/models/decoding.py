"""Decoding controls for transformers ``generate``: constrained tool calls, streaming, stops.

Grammar (see :mod:`biomed_agent.models.tool_calling` for why it makes every
emitted call valid)::

    root        ::= text_answer | tool_call        (tool_choice="auto")
    root        ::= tool_call                      (tool_choice="any"/"required"/a name)
    text_answer ::= [^{ \\t\\r\\n] [^]*              (any text not starting with "{" or a blank)
    tool_call   ::= JSON Schema of {"name": const, "arguments": <tool's schema>}, anyOf over
                    the allowed tools, strict (no extra keys), compact separators

The grammar is compiled once per (tokenizer, tool set) against the model's
vocabulary, and :class:`ConstrainedDecoding` masks, at every step, the tokens the
grammar cannot accept; EOS is allowed only where the grammar accepts, so a tool
call cannot end before its JSON is complete.

**Forcing termination.** A random or confused model could keep a JSON string
open forever. After ``closing_after`` generated tokens (the request's
``max_new_tokens``) the processor switches to *closing mode*: among the tokens
the grammar allows it prefers, in this order, EOS, tokens made only of
``"``/``}``/``]`` that start with ``"`` (inside a string they close it; ``}`` or
``]`` alone would only extend it), tokens made only of ``}``/``]``, then ``,``;
the model's own scores decide among equals and wherever none is allowed. A text answer therefore
ends at once (EOS is always allowed in text), and a tool call closes its open
string, fills remaining required keys (the grammar forces their names) and
closes its brackets within a few tokens. The generation budget of a
constrained request is ``max_new_tokens + CLOSING_ALLOWANCE``; a call that still
has not closed then (pathological schemas, e.g. long ``minLength``) is reported
as an invalid tool call, never as a valid one.
"""

from __future__ import annotations

import queue
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

import torch
import xgrammar as xgr
from transformers import LogitsProcessor

from biomed_agent.models.loading import LoadedModel
from biomed_agent.models.tool_calling import ToolMode, build_grammar

__all__ = [
    "ConstrainedDecoding",
    "PieceStreamer",
    "compile_ebnf",
    "compile_for",
    "make_constrained_decoding",
]

_BIG = 1.0e4


GRAMMAR_CACHE_SIZE = 64
"""Compiled grammars kept per model (argument grammars differ per message: bounded LRU)."""


def compile_for(loaded: LoadedModel, mode: ToolMode) -> xgr.CompiledGrammar:
    """``build_grammar(mode)`` compiled for ``loaded``'s vocabulary, cached per model."""
    return _cached(loaded, mode.cache_key(), lambda: build_grammar(mode))


def compile_ebnf(loaded: LoadedModel, ebnf: str) -> xgr.CompiledGrammar:
    """An EBNF grammar (e.g. an eval item's option labels) compiled for ``loaded``'s
    vocabulary, in the same bounded per-model cache as the tool-call grammars."""
    return _cached(loaded, "ebnf:" + ebnf, lambda: xgr.Grammar.from_ebnf(ebnf))


def _cached(
    loaded: LoadedModel, key: str, grammar: Callable[[], xgr.Grammar]
) -> xgr.CompiledGrammar:
    grammars: OrderedDict[str, Any] = loaded.extras.setdefault("grammars", OrderedDict())
    if key not in grammars:
        grammars[key] = _compiler(loaded).compile_grammar(grammar())
        while len(grammars) > GRAMMAR_CACHE_SIZE:
            grammars.popitem(last=False)
    grammars.move_to_end(key)
    return grammars[key]


def make_constrained_decoding(
    loaded: LoadedModel, mode: ToolMode, *, prompt_length: int, closing_after: int
) -> ConstrainedDecoding:
    """A fresh logits processor for one ``generate`` call (matchers hold per-call state)."""
    return ConstrainedDecoding(
        compile_for(loaded, mode),
        priorities=_closing_priorities(loaded),
        prompt_length=prompt_length,
        closing_after=closing_after,
    )


def _compiler(loaded: LoadedModel) -> xgr.GrammarCompiler:
    compiler = loaded.extras.get("grammar_compiler")
    if compiler is None:
        info = xgr.TokenizerInfo.from_huggingface(
            loaded.tokenizer,
            vocab_size=loaded.model.config.vocab_size,
            stop_token_ids=[loaded.tokenizer.eos_token_id],
        )
        compiler = xgr.GrammarCompiler(info, cache_enabled=True)
        loaded.extras["grammar_compiler"] = compiler
        loaded.extras["tokenizer_info"] = info
    return compiler


def _closing_priorities(loaded: LoadedModel) -> torch.Tensor:
    """Per-token preference in closing mode (0 = none, higher wins)."""
    cached = loaded.extras.get("closing_priorities")
    if cached is not None:
        return cached
    _compiler(loaded)
    info = loaded.extras["tokenizer_info"]
    priorities = torch.zeros(loaded.model.config.vocab_size)
    for token_id, raw in enumerate(info.decoded_vocab):
        priorities[token_id] = _priority(raw)
    priorities[loaded.tokenizer.eos_token_id] = 4.0  # EOS first: text answers end at once
    loaded.extras["closing_priorities"] = priorities
    return priorities


def _priority(raw: bytes) -> float:
    text = raw.decode("utf-8", errors="replace")
    if text and set(text) <= {'"', "}", "]"}:
        # '"'-first tokens close an open string (and brackets after it); the grammar only
        # allows them outside a string where a new value may start, which the next step closes.
        return 3.0 if text.startswith('"') else 2.0
    if text.strip() == ",":
        return 1.0
    return 0.0


class ConstrainedDecoding(LogitsProcessor):
    """Masks logits to the grammar; past ``closing_after`` tokens, steers to a quick close."""

    def __init__(
        self,
        compiled: xgr.CompiledGrammar,
        *,
        priorities: torch.Tensor,
        prompt_length: int,
        closing_after: int,
    ) -> None:
        self._matcher = xgr.GrammarMatcher(compiled)
        self._bitmask = xgr.allocate_token_bitmask(1, compiled.tokenizer_info.vocab_size)
        self._priorities = priorities
        self._prompt_length = prompt_length
        self._closing_after = closing_after

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.Tensor:
        generated = input_ids.shape[1] - self._prompt_length
        if generated > 0 and not self._matcher.accept_token(int(input_ids[0, -1])):
            raise RuntimeError("constrained decoding: the grammar rejected a sampled token")
        self._matcher.fill_next_token_bitmask(self._bitmask)
        masked = scores if scores.device.type == "cuda" else scores.to("cpu")
        xgr.apply_token_bitmask_inplace(masked, self._bitmask.to(masked.device))
        if generated >= self._closing_after:
            bonus = self._priorities.to(device=masked.device, dtype=masked.dtype)
            masked = masked + bonus[: masked.shape[-1]] * _BIG
        return masked.to(scores.device)


class PieceStreamer:
    """Decodes one row's generated tokens incrementally and queues text pieces for its reader.

    Unlike ``TextIteratorStreamer``, which re-decodes all text since the last line
    break at every token, it decodes only the newest tokens (the "prefix/read
    offset" scheme of vLLM's detokenizer), so each token costs O(1). It also
    watches the text for stop strings (not inside a tool call), so
    :class:`~biomed_agent.models.batching.RowStop` can end the row on the step after
    a stop string appears.
    """

    def __init__(self, tokenizer: Any, stop: list[str], mode: ToolMode | None) -> None:
        self._tokenizer = tokenizer
        self._stop = stop
        self._keep = max((len(s) for s in stop), default=1)
        self._mode = mode
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._ids: list[int] = []
        self._prefix = self._read = 0
        self._start = ""
        self._tail = ""
        self.stop_hit = False
        """True once a stop string appeared in the generated text."""

    def put(self, token_ids: list[int]) -> None:
        """Take newly generated tokens (the prompt is never passed here)."""
        self._ids.extend(token_ids)
        done = self._decode(self._prefix, self._read)
        text = self._decode(self._prefix, len(self._ids))
        # A trailing U+FFFD may be a character whose bytes span tokens: wait for the rest
        # (at most 4 tokens for UTF-8), then let an invalid byte through as U+FFFD.
        pending = len(self._ids) - self._read
        if len(text) > len(done) and (not text.endswith("\ufffd") or pending >= 4):
            self._prefix, self._read = self._read, len(self._ids)
            self._emit(text[len(done) :])

    def end(self) -> None:
        """Flush what is left and tell the reader generation is over."""
        done = self._decode(self._prefix, self._read)
        text = self._decode(self._prefix, len(self._ids))
        if len(text) > len(done):
            self._emit(text[len(done) :])
        self._queue.put(None)

    def __iter__(self) -> Iterator[str]:
        while (piece := self._queue.get()) is not None:
            yield piece

    def _decode(self, start: int, stop: int) -> str:
        text: str = self._tokenizer.decode(self._ids[start:stop], skip_special_tokens=True)
        return text

    def _emit(self, piece: str) -> None:
        if not self._start:
            self._start = piece.lstrip()
        if not (self._mode is not None and self._start.startswith("{")):
            window = self._tail + piece
            self.stop_hit = self.stop_hit or any(s in window for s in self._stop)
            self._tail = window[-self._keep :]
        self._queue.put(piece)
