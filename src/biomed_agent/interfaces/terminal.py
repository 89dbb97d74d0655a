"""``biomed-agent chat``: an interactive session on one conversation thread.

The answer streams to stdout token by token; what the agent does (entities found, the
route, the plan, every tool call with its status and time) streams to stderr as it
happens, so ``2>/dev/null`` leaves only answers. Under each answer: its numbered
sources. Commands: ``/new`` (fresh thread), ``/sources`` (the last answer's sources
again), ``/help``, ``/quit``. Ctrl-C stops the answer being written and returns to
the prompt; Ctrl-D (end of input) or ``/quit`` leaves. With ``json_output`` every
answer (or refused question) is one JSON object on one stdout line.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from biomed_agent.errors import BiomedAgentError, shorten
from biomed_agent.patterns import citation_line

if TYPE_CHECKING:
    from biomed_agent.agent.api import Answer

__all__ = ["COMMANDS", "ChatSession", "format_sources", "format_step"]

COMMANDS: dict[str, str] = {
    "/new": "start a new conversation (forget earlier questions)",
    "/sources": "show the sources of the last answer again",
    "/help": "list these commands",
    "/quit": "leave (Ctrl-D works too)",
}
"""Slash commands and what they do."""

PROMPT = "you> "
"""Shown before each question when input is a terminal."""


def format_sources(answer: Answer) -> list[str]:
    """``[n] title — url`` (or the tool that computed it), one line per citation."""
    return [
        "  " + citation_line(citation.id, citation.title, citation.url, citation.tool)
        for citation in answer.citations
    ]


def format_step(event: dict[str, Any]) -> str | None:
    """One progress line for a step event (None for events not worth a line)."""
    if "tool" in event:
        status = "ok" if event.get("status") == "ok" else "failed"
        line = f"  · {event['tool']}({_brief_args(event.get('args') or {})}) {status}"
        line += f" in {event.get('elapsed_ms', 0.0):.0f} ms"
        if event.get("error"):
            line += f": {event['error'].get('message', '')}"
        return line
    node = event.get("node")
    if node == "understand" and event.get("entities"):
        return f"  · found {_brief(event['entities'])}"
    if node == "route":
        return f"  · route: {event.get('route')}"
    if node == "plan" and event.get("steps"):
        return "  · plan: " + ", ".join(str(step.get("tool")) for step in event["steps"])
    if node == "ground" and event.get("records"):
        return "  · reading " + ", ".join(event["records"])
    if node == "verify" and event.get("problems"):
        return f"  · verification: {len(event['problems'])} problem(s), repairing"
    return None


def _brief_args(args: dict[str, Any]) -> str:
    return ", ".join(f"{k}={shorten(v, 40)}" for k, v in args.items())


def _brief(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_brief(v)}" for k, v in value.items() if v)
    if isinstance(value, list):
        return ", ".join(_brief(v) for v in value)
    return shorten(value, 60) if not isinstance(value, str) else value


@dataclass
class ChatSession:
    """The read-answer loop over ``ask`` (a function like :meth:`BioMedAgent.stream`)."""

    stream: Callable[[str, str], Iterator[dict[str, Any]]]
    """``(question, thread_id) -> events``; normally ``BioMedAgent.stream``."""
    out: TextIO
    """Answers (and, with ``json_output``, the JSON lines)."""
    err: TextIO
    """Steps, notices and errors."""
    json_output: bool = False
    """One JSON object per answer on ``out`` instead of streamed text."""
    interactive: bool = False
    """Show the prompt (input is a terminal)."""
    thread_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    """The conversation's thread."""
    last: Answer | None = None
    """The latest answer, for ``/sources``."""

    def run(self, read_line: Callable[[str], str]) -> int:
        """Read and answer until ``/quit`` or end of input; returns the exit status."""
        if self.interactive:
            self._notice("Ask a question; /help lists commands, /quit or Ctrl-D leaves.")
        while True:
            try:
                line = read_line(PROMPT if self.interactive else "")
            except EOFError:
                if self.interactive:
                    self._notice("")
                return 0
            except KeyboardInterrupt:
                self._notice("\n(type /quit or press Ctrl-D to leave)")
                continue
            if not self.handle(line):
                return 0

    def handle(self, line: str) -> bool:
        """Answer one input line; False when the session should end."""
        text = line.strip()
        if not text:
            self._refuse(
                "empty question: type a question (e.g. 'Is aspirin drug-like?'), "
                "or /help for commands",
                "question",
            )
            return True
        if text.startswith("/") and " " not in text:
            return self._command(text.lower())
        try:
            self._answer(text)
        except KeyboardInterrupt:
            self._notice("\n[interrupted: answer stopped; ask again or /quit]")
        except BiomedAgentError as exc:
            self._refuse(exc.message, exc.input_name, type(exc).__name__)
        return True

    def _command(self, command: str) -> bool:
        if command in ("/quit", "/exit"):
            return False
        if command == "/new":
            self.thread_id = uuid.uuid4().hex
            self.last = None
            self._notice(f"new conversation (thread {self.thread_id})")
        elif command == "/sources":
            if self.last is None or not self.last.citations:
                self._notice("no sources yet: the last answer cited none, or nothing was asked")
            else:
                self._notice("\n".join(["Sources:", *format_sources(self.last)]))
        elif command == "/help":
            self._notice("\n".join(f"  {name:<9} {what}" for name, what in COMMANDS.items()))
        else:
            self._refuse(
                f"unknown command {shorten(command)}; commands: {', '.join(COMMANDS)}",
                "command",
            )
        return True

    def _answer(self, question: str) -> None:
        streamed: list[str] = []
        answer: Answer | None = None
        for event in self.stream(question, self.thread_id):
            if event["type"] == "token":
                streamed.append(event["text"])
                if not self.json_output:
                    self.out.write(event["text"])
                    self.out.flush()
            elif event["type"] == "step":
                line = format_step(event)
                if line is not None:
                    self._notice(line)
            elif event["type"] == "answer":
                answer = event["answer"]
        if answer is None:  # pragma: no cover - the agent always ends with an answer
            raise RuntimeError("the agent ended without an answer")
        self.last = answer
        if self.json_output:
            self._json(answer.to_json_dict())
            return
        self._show(answer, "".join(streamed))

    def _show(self, answer: Answer, streamed: str) -> None:
        lines = [""]
        if streamed.strip() != answer.text.strip():
            lines = ["", "", "Revised after checking numbers and citations:", answer.text.rstrip()]
        if answer.citations:
            lines += ["", "Sources:", *format_sources(answer)]
        if answer.flagged:
            lines += ["", "Warning: verification found problems: " + "; ".join(answer.problems)]
        self.out.write("\n".join(lines) + "\n\n")
        self.out.flush()

    def _refuse(
        self, message: str, input_name: str | None, kind: str = "InvalidInputError"
    ) -> None:
        if self.json_output:
            error = {"type": kind, "message": message}
            if input_name:
                error["input"] = input_name
            self._json({"error": error})
        else:
            self._notice(f"error: {message}")

    def _json(self, payload: dict[str, Any]) -> None:
        self.out.write(json.dumps(payload, ensure_ascii=False, default=str) + "\n")
        self.out.flush()

    def _notice(self, text: str) -> None:
        self.err.write(text + "\n")
        self.err.flush()
