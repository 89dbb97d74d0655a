"""Chat with the agent from Jupyter: the answer streams into the cell, with drawings.

::

    from biomed_agent import Settings
    from biomed_agent.jupyter import chat          # or biomed_agent.interfaces.jupyter

    settings = Settings(model="none")              # model-free; or leave the default model
    answer = chat("Is aspirin drug-like?", settings=settings)
    chat("And what does the literature say about it?")   # same thread: a follow-up

or, after ``%load_ext biomed_agent.jupyter``, a cell that starts with ``%%biomed`` asks its text.

The answer is rendered as Markdown while it is written, the agent's steps are listed
live above it, every ``[n]`` becomes a link to its source, and each molecule the answer
is about is drawn (RDKit SVG) next to an HTML table of its computed properties.
:func:`new_chat` starts a fresh thread. Outside a Jupyter kernel :func:`chat` says so
and prints plain text. :func:`run_notebook` executes a notebook on a kernel (nbclient),
with a clear error when that kernel is not installed.
"""

from __future__ import annotations

import html
import re
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from biomed_agent.errors import BiomedAgentError, ConfigurationError, UnreadableFileError

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from biomed_agent.agent.api import Answer, BioMedAgent
    from biomed_agent.settings import Settings

__all__ = [
    "chat",
    "current_thread",
    "load_ipython_extension",
    "molecules_of",
    "new_chat",
    "render_answer",
    "run_notebook",
]

_SHOWN_PROPERTIES = (
    ("formula", "Formula"),
    ("molecular_weight", "Molecular weight (g/mol)"),
    ("logp", "logP (Crippen)"),
    ("tpsa", "TPSA (Å²)"),
    ("hbd_lipinski", "H-bond donors"),
    ("hba_lipinski", "H-bond acceptors"),
    ("rotatable_bonds", "Rotatable bonds"),
    ("qed", "QED"),
)


@dataclass
class _Session:
    agent: BioMedAgent
    owned: bool
    """True when :func:`chat` built the agent (it closes it when replaced)."""
    thread_id: str | None = None


class _Sessions:
    """The kernel's one chat session, switched under a lock (cells may run in threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.current: _Session | None = None

    def use(
        self,
        agent: BioMedAgent | None,
        model: BaseChatModel | str | None,
        settings: Settings | None,
    ) -> _Session:
        """The agent given, a new one when model/settings change, or the last one."""
        with self._lock:
            session = self.current
            if agent is not None:
                if session is None or session.agent is not agent:
                    self._replace(_Session(agent, owned=False))
            elif session is None or model is not None or settings is not None:
                from biomed_agent.agent.api import BioMedAgent

                self._replace(_Session(BioMedAgent(model=model, settings=settings), owned=True))
            assert self.current is not None
            return self.current

    def _replace(self, session: _Session) -> None:
        old, self.current = self.current, session
        if old is not None and old.owned:
            old.agent.close()  # its store, HTTP clients and memory database

    def reset_thread(self) -> None:
        with self._lock:
            if self.current is not None:
                self.current.thread_id = None

    def thread(self) -> str | None:
        with self._lock:
            return self.current.thread_id if self.current is not None else None


_sessions = _Sessions()


def new_chat() -> None:
    """Forget the conversation: the next :func:`chat` starts a new thread."""
    _sessions.reset_thread()


def current_thread() -> str | None:
    """The thread :func:`chat` continues; None before the first question or after a reset."""
    return _sessions.thread()


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext biomed_agent.jupyter``: a ``%%biomed`` cell asks the cell's text."""

    def biomed(line: str, cell: str) -> None:
        chat(cell)

    ipython.register_magic_function(biomed, magic_kind="cell", magic_name="biomed")


def molecules_of(answer: Answer) -> list[tuple[str, str]]:
    """``(label, smiles)`` of each molecule the answer is about, first mention first."""
    found: dict[str, str] = {}
    for compound in answer.entities.get("compounds", []):
        if compound.get("smiles"):
            found.setdefault(compound["smiles"], str(compound.get("name") or compound["smiles"]))
    for smiles in answer.entities.get("smiles", []):
        found.setdefault(smiles, smiles)
    for step in answer.steps:
        smiles = step.args.get("smiles")
        if isinstance(smiles, str) and step.status == "ok":
            found.setdefault(smiles, smiles)
    return [(label, smiles) for smiles, label in found.items()]


def _linked(text: str, answer: Answer) -> str:
    """Markdown with each ``[n]`` turned into a link to citation n's page (when it has one)."""
    urls = {c.id: c.url for c in answer.citations if c.url}

    def link(match: re.Match[str]) -> str:
        url = urls.get(int(match.group(1)))
        return f"[\\[{match.group(1)}\\]]({url})" if url else match.group(0)

    return re.sub(r"\[(\d+)\](?!\()", link, text)


def _sources_html(answer: Answer) -> str:
    items = []
    for c in answer.citations:
        title = html.escape(c.title)
        where = (
            f'<a href="{html.escape(c.url)}" target="_blank">{title}</a>'
            if c.url
            else f"{title} <i>(computed by {html.escape(str(c.tool))})</i>"
        )
        items.append(f'<li value="{c.id}">{where}</li>')
    return "<b>Sources</b><ol>" + "".join(items) + "</ol>" if items else ""


def _molecule_html(label: str, smiles: str) -> str:
    from biomed_agent.molecules import to_svg
    from biomed_agent.tools import get_tool_spec

    try:
        svg = to_svg(smiles, width=260, height=200, legend=label)
        properties = get_tool_spec("molecule_properties").run({"smiles": smiles})
    except BiomedAgentError as exc:  # a SMILES the answer mentions but RDKit rejects
        return f"<p><i>{html.escape(label)}: not drawn ({html.escape(exc.message)})</i></p>"
    rows = "".join(
        f"<tr><th>{name}</th><td>{html.escape(str(properties[key]))}</td></tr>"
        for key, name in _SHOWN_PROPERTIES
        if key in properties
    )
    table = f"<table class='biomed-properties'>{rows}</table>"
    return (
        "<div style='display:flex;gap:1em;align-items:center'>"
        f"<div class='biomed-molecule'>{svg}</div>{table}</div>"
    )


def render_answer(answer: Answer) -> str:
    """The answer's extras as HTML: molecule drawings with property tables, then sources."""
    parts = [_molecule_html(label, smiles) for label, smiles in molecules_of(answer)]
    if answer.flagged:
        problems = "; ".join(html.escape(p) for p in answer.problems)
        parts.append(f"<p><b>Warning:</b> verification found problems: {problems}</p>")
    parts.append(_sources_html(answer))
    return "\n".join(part for part in parts if part)


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def chat(
    question: str,
    *,
    agent: BioMedAgent | None = None,
    model: BaseChatModel | str | None = None,
    settings: Settings | None = None,
    new: bool = False,
) -> Answer:
    """Ask a question; the answer streams into the cell. Follow-ups share one thread.

    Args:
        question: the question.
        agent: an agent to use (kept for later calls).
        model: a chat model or model spec (``"none"`` for model-free); builds a new agent.
        settings: configuration; builds a new agent.
        new: start a new conversation thread first.
    """
    session = _sessions.use(agent, model, settings)
    if new:
        session.thread_id = None
    events = session.agent.stream(question, session.thread_id)
    answer = _show_in_cell(events) if _in_kernel() else _print_plain(events)
    session.thread_id = answer.thread_id
    return answer


def _final(event: dict[str, Any]) -> Answer:
    answer: Answer = event["answer"]
    return answer


def _show_in_cell(events: Iterator[dict[str, Any]]) -> Answer:
    from IPython.display import HTML, Markdown, display

    from biomed_agent.interfaces.terminal import format_step

    steps: list[str] = []
    step_view = display(HTML(""), display_id=True)
    text_view = display(Markdown("*thinking…*"), display_id=True)
    written = ""
    for event in events:
        if event["type"] == "step":
            line = format_step(event)
            if line is not None:
                steps.append(html.escape(line.strip(" ·")))
                step_view.update(HTML(_steps_html(steps, done=False)))
        elif event["type"] == "token":
            written += event["text"]
            text_view.update(Markdown(written))
        else:
            answer = _final(event)
    step_view.update(HTML(_steps_html(steps, done=True)))
    text_view.update(Markdown(_linked(answer.text, answer)))
    display(HTML(render_answer(answer)))
    return answer


def _steps_html(steps: list[str], *, done: bool) -> str:
    summary = f"{len(steps)} steps" if done else "working…"
    items = "".join(f"<li>{step}</li>" for step in steps)
    return (
        f"<details{'' if done else ' open'}><summary>{summary}</summary><ul>{items}</ul></details>"
    )


def _print_plain(events: Iterator[dict[str, Any]]) -> Answer:
    from biomed_agent.interfaces.terminal import format_sources

    print(
        "biomed_agent.jupyter.chat: not running in a Jupyter kernel, so answers are printed "
        "as plain text; use it in a notebook, or `biomed-agent chat` in a terminal",
        file=sys.stderr,
    )
    for event in events:
        if event["type"] == "answer":
            answer = _final(event)
    print(answer.text.rstrip())
    if answer.citations:
        print("\nSources:\n" + "\n".join(format_sources(answer)))
    return answer


def run_notebook(path: str | Path, *, kernel_name: str = "python3", timeout: float = 600.0) -> Any:
    """Execute every cell of the notebook at ``path`` on a fresh kernel; the executed notebook.

    :class:`ConfigurationError` names the kernel and how to install it when it is missing;
    :class:`UnreadableFileError` when the file is not a notebook. Cell errors propagate as
    nbclient's ``CellExecutionError``.
    """
    import nbformat
    from jupyter_client.kernelspec import NoSuchKernel
    from nbclient import NotebookClient

    path = Path(path)
    try:
        notebook = nbformat.read(path, as_version=4)
    except (OSError, ValueError) as exc:
        raise UnreadableFileError(
            f"cannot read the notebook {str(path)!r}: {exc}; give the path of an .ipynb file",
            input_name="path",
        ) from exc
    client = NotebookClient(
        notebook,
        kernel_name=kernel_name,
        timeout=timeout,
        resources={"metadata": {"path": str(path.parent)}},
    )
    try:
        client.execute()
    except NoSuchKernel as exc:
        raise ConfigurationError(
            f"no Jupyter kernel named {kernel_name!r} is installed, so the notebook "
            f"{path.name!r} cannot run; install one for this environment with "
            f"`{sys.executable} -m ipykernel install --user --name {kernel_name}` "
            "or pass the name of an installed kernel (`jupyter kernelspec list`)",
            input_name="kernel_name",
        ) from exc
    return notebook
