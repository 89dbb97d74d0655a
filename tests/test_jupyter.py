"""``biomed_agent.jupyter``: the quickstart notebook on a real kernel, streaming into a
cell, the plain-text fallback outside a kernel, and a missing kernel."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from biomed_agent import jupyter
from biomed_agent.agent.api import Answer
from biomed_agent.agent.citations import Citation
from biomed_agent.errors import ConfigurationError, UnreadableFileError
from tests.helpers.agent_world import World, agent_world, make_agent

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "quickstart.ipynb"
ASPIRIN_URL = "https://pubchem.ncbi.nlm.nih.gov/compound/2244"


def _outputs(cell: Any) -> dict[str, str]:
    """Text of a cell's outputs by MIME type (streams under ``stream``), joined."""
    found: dict[str, list[str]] = {}
    for output in cell.outputs:
        if output.output_type == "stream":
            found.setdefault("stream", []).append(output.text)
        for mime, value in output.get("data", {}).items():
            found.setdefault(mime, []).append(value)
    return {mime: "\n".join(texts) for mime, texts in found.items()}


def test_quickstart_runs_offline_on_a_kernel() -> None:
    notebook = jupyter.run_notebook(NOTEBOOK, timeout=240)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(o.output_type != "error" for cell in code for o in cell.outputs)

    assert re.fullmatch(r"knowledge store: [1-9]\d* chunks\n", _outputs(code[0])["stream"])

    first = _outputs(code[1])
    markdown, shown = first["text/markdown"], first["text/html"]
    assert markdown.startswith(f"**aspirin** (PubChem CID 2244) [\\[1\\]]({ASPIRIN_URL})")
    assert "| Molecular weight | 180.159 g/mol |" in markdown
    assert "<summary>6 steps</summary>" in shown and "<li>route: molecule</li>" in shown
    assert shown.count("<svg") == 1 and "aspirin</text>" not in shown  # legend is paths
    assert "<th>Molecular weight (g/mol)</th><td>180.159</td>" in shown
    assert "<th>QED</th><td>0.5501</td>" in shown
    assert f'<li value="1"><a href="{ASPIRIN_URL}" target="_blank">aspirin</a></li>' in shown

    assert _outputs(code[2])["stream"].splitlines()[0] == f"1 pubchem {ASPIRIN_URL}"
    assert code[3].outputs == []  # %load_ext
    follow_up = _outputs(code[4])  # %%biomed, on the same thread
    assert "<li>route: multi-step</li>" in follow_up["text/html"]
    assert "(https://pubmed.ncbi.nlm.nih.gov/23121403/)" in follow_up["text/markdown"]
    assert 'href="https://pubmed.ncbi.nlm.nih.gov/23121403/"' in follow_up["text/html"]
    assert _outputs(code[5])["stream"] == "True\n"


def test_missing_kernel_is_a_clear_error() -> None:
    with pytest.raises(ConfigurationError) as caught:
        jupyter.run_notebook(NOTEBOOK, kernel_name="no-such-kernel")
    message = caught.value.message
    assert "no Jupyter kernel named 'no-such-kernel' is installed" in message
    assert "quickstart.ipynb" in message and "-m ipykernel install --user" in message


def test_unreadable_notebook(tmp_path: Path) -> None:
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not json")
    with pytest.raises(UnreadableFileError, match=r"cannot read the notebook .*broken\.ipynb"):
        jupyter.run_notebook(broken)
    with pytest.raises(UnreadableFileError, match=r"missing\.ipynb"):
        jupyter.run_notebook(tmp_path / "missing.ipynb")


class _Handle:
    def __init__(self, log: list[tuple[str, str]], obj: Any) -> None:
        self.log = log
        self.log.append(("display", _text(obj)))

    def update(self, obj: Any) -> None:
        self.log.append(("update", _text(obj)))


def _text(obj: Any) -> str:
    return str(getattr(obj, "data", obj))


class _FakeAgent:
    """Plays events like BioMedAgent.stream; remembers the threads it was asked on."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.threads: list[str | None] = []

    def stream(self, question: str, thread_id: str | None = None) -> Iterator[dict[str, Any]]:
        self.threads.append(thread_id)
        yield {"type": "step", "node": "route", "route": "molecule"}
        yield {"type": "token", "text": "Ethanol is small "}
        yield {"type": "token", "text": "[1]."}
        yield {"type": "answer", "answer": self.answer}


def test_chat_streams_into_the_cell(monkeypatch: pytest.MonkeyPatch) -> None:
    import IPython.display

    log: list[tuple[str, str]] = []
    monkeypatch.setattr(jupyter, "_in_kernel", lambda: True)
    monkeypatch.setattr(IPython.display, "display", lambda obj, display_id=None: _Handle(log, obj))
    answer = Answer(
        question="q",
        text="Ethanol is small [1].",
        citations=[Citation(id=1, source="pubchem", title="Ethanol", url="https://x.org/702")],
        entities={"compounds": [{"name": "ethanol", "smiles": "CCO"}]},
        thread_id="t1",
    )
    agent = _FakeAgent(answer)

    assert jupyter.chat("q", agent=agent) is answer  # type: ignore[arg-type]
    jupyter.chat("q2", agent=agent)  # type: ignore[arg-type]
    jupyter.chat("q3", agent=agent, new=True)  # type: ignore[arg-type]
    assert agent.threads == [None, "t1", None]

    extras_at = next(i for i, (kind, text) in enumerate(log) if "<svg" in text)
    first_call = log[:extras_at]
    text_updates = [text for kind, text in first_call if kind == "update" and "Ethanol" in text]
    assert text_updates == [
        "Ethanol is small ",
        "Ethanol is small [1].",
        "Ethanol is small [\\[1\\]](https://x.org/702).",
    ]
    assert first_call[:2] == [("display", ""), ("display", "*thinking…*")]
    assert (
        "update",
        "<details open><summary>working…</summary><ul><li>route: molecule</li></ul></details>",
    ) in first_call
    extras = log[extras_at][1]
    assert "<svg" in extras and "<th>Formula</th><td>C2H6O</td>" in extras
    assert '<a href="https://x.org/702" target="_blank">Ethanol</a>' in extras


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with agent_world(tmp_path / "data") as world:
        yield world


def test_outside_a_kernel_prints_plain_text(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    agent = make_agent(world)
    answer = jupyter.chat("Is aspirin drug-like?", agent=agent)
    agent.close()
    printed = capsys.readouterr()
    assert "not running in a Jupyter kernel, so answers are printed as plain text" in printed.err
    assert printed.out.startswith("**Aspirin** (PubChem CID 2244) [1]")
    assert f"  [1] Aspirin — {ASPIRIN_URL}" in printed.out
    assert answer.citations[0].url == ASPIRIN_URL
