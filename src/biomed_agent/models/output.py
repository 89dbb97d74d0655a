"""Turn a stream of generated text pieces into answer deltas and a final parsed output.

Both backends (local transformers, remote OpenAI-compatible server) feed their
text pieces through one :class:`OutputAssembler`, so streaming and non-streaming
calls, local and remote, cut stop strings, strip whitespace and split tool calls
identically:

- leading and trailing whitespace is dropped (the prompt ends in ``"Assistant: "``);
- text is cut at the first stop string; the tail that could still become a stop
  string is held back, so no partial stop string is ever streamed;
- when tools are bound and the output starts with ``{`` it is a tool call: it is
  held back and parsed once complete (:func:`~biomed_agent.models.tool_calling.parse_output`).
"""

from __future__ import annotations

from collections.abc import Sequence

from biomed_agent.models.tool_calling import ParsedOutput, ToolMode, is_tool_call_text, parse_output

__all__ = ["OutputAssembler"]


class OutputAssembler:
    """Accumulates generated text; :meth:`feed` returns what may be shown now."""

    def __init__(self, stop: Sequence[str], mode: ToolMode | None) -> None:
        self._stop = [s for s in stop if s]
        self._hold = max((len(s) - 1 for s in self._stop), default=0)
        self._mode = mode
        self._text = ""
        self._emitted = 0
        self.stopped = False
        """True once a stop string appeared; the backend should stop generating."""

    def feed(self, piece: str) -> str:
        """Add a generated piece; return the new answer text that is safe to emit."""
        if self.stopped or not piece:
            return ""
        self._text += piece
        if not self._text.strip():
            return ""
        self._text = self._text.lstrip()
        if is_tool_call_text(self._text, self._mode):
            return ""  # a tool call ends by its grammar, never at a stop string
        cut = self._first_stop()
        if cut is not None:
            self._text = self._text[:cut]
            self.stopped = True
        # Never emit trailing whitespace or a tail that may still grow into a stop string,
        # so the streamed text is always a prefix of the final (stripped) answer.
        kept = len(self._text) if self.stopped else len(self._text) - self._hold
        safe_end = max(self._emitted, len(self._text[: max(kept, 0)].rstrip()))
        delta = self._text[self._emitted : safe_end]
        self._emitted = safe_end
        return delta

    def finish(self) -> tuple[str, ParsedOutput]:
        """The answer text not emitted yet, and the parsed final output."""
        final = self._text.strip()
        parsed = parse_output(final, self._mode)
        if parsed.tool_calls or parsed.invalid_tool_calls:
            return "", parsed
        rest = final[self._emitted :]
        self._emitted = len(final)
        return rest, parsed

    def _first_stop(self) -> int | None:
        positions = [i for i in (self._text.find(s) for s in self._stop) if i >= 0]
        return min(positions) if positions else None
