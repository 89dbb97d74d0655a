"""``biomed-agent chat``: driven through stdin in a child process, model-free, against the
replay server; Ctrl-C and the loop's edge cases in-process."""

from __future__ import annotations

import io
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from biomed_agent.interfaces.terminal import ChatSession
from tests.helpers.agent_world import World, agent_world, make_agent
from tests.helpers.subprocesses import CLI, settings_env

QUESTION = "Is aspirin drug-like?"
ASPIRIN_URL = "https://pubchem.ncbi.nlm.nih.gov/compound/2244"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with agent_world(tmp_path / "data") as world:
        yield world


def chat(world: World, stdin: str, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "chat", *flags],
        input=stdin,
        env=settings_env(world.settings),
        capture_output=True,
        text=True,
        timeout=280,
    )


def test_session_answers_with_sources_and_commands(world: World) -> None:
    lines = [QUESTION, "/sources", "/frobnicate", "", "x" * 100_000, "/new", "/sources", "/quit"]
    done = chat(world, "\n".join(lines) + "\nnever read\n")

    assert done.returncode == 0, done.stderr
    answer, _, rest = done.stdout.partition("Sources:\n")
    assert answer.startswith("**Aspirin** (PubChem CID 2244) [1]")
    assert "| Molecular weight | 180.159 g/mol |" in answer
    assert "Drug-likeness: **drug-like** [3]." in answer
    assert rest.splitlines()[0] == f"  [1] Aspirin — {ASPIRIN_URL}"
    assert "never read" not in done.stdout + done.stderr

    err = done.stderr.splitlines()
    # live steps, in the order the agent took them
    steps = [line for line in err if line.startswith("  · ")]
    assert steps[:4] == [
        steps[0],
        "  · found compounds: Aspirin",
        "  · route: molecule",
        "  · plan: molecule_properties, drug_likeness",
    ]
    assert steps[0].startswith("  · pubchem_lookup(query='aspirin') ok in ")
    assert any(
        s.startswith("  · drug_likeness(smiles='CC(=O)OC1=CC=CC=C1C(=O)O') ok") for s in steps
    )
    # /sources repeats them; the bad inputs each get one clear line; /new forgets them
    after_steps = err[len(steps) :]
    assert after_steps[0] == "Sources:" and after_steps[1] == f"  [1] Aspirin — {ASPIRIN_URL}"
    assert "error: unknown command '/frobnicate'; commands: /new, /sources, /help, /quit" in err
    assert any(line.startswith("error: empty question: type a question") for line in err)
    assert any(
        line.startswith("error: the question has 100,000 characters, more than the 8,000 allowed")
        for line in err
    )
    assert any(line.startswith("new conversation (thread ") for line in err)
    assert err[-1] == "no sources yet: the last answer cited none, or nothing was asked"


def test_json_prints_one_object_per_answer(world: World) -> None:
    done = chat(world, f"{QUESTION}\n\n", "--json")  # then end of input: a clean exit

    assert done.returncode == 0, done.stderr
    objects = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(objects) == 2
    answer, refused = objects
    assert answer["question"] == QUESTION and answer["route"] == "molecule"
    assert answer["citations"][0] == {
        "id": 1,
        "source": "pubchem",
        "title": "Aspirin",
        "url": ASPIRIN_URL,
        "record_id": "2244",
    }
    assert [s["tool"] for s in answer["steps"]] == [
        "pubchem_lookup",
        "molecule_properties",
        "drug_likeness",
    ]
    assert refused["error"]["type"] == "InvalidInputError"
    assert refused["error"]["input"] == "question"
    assert refused["error"]["message"].startswith("empty question")


def _interrupt_at_first_tool(events: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for event in events:
        yield event
        if event["type"] == "step" and "tool" in event:
            # Ctrl-C while the agent is still working. Raised here rather than with a real
            # SIGINT: RDKit consumes a SIGINT that lands inside its C++ matching (it logs
            # "Substructure search was interrupted"), which made the real signal flaky.
            raise KeyboardInterrupt


def test_ctrl_c_stops_the_answer_not_the_session(world: World) -> None:
    agent = make_agent(world)
    calls: list[str] = []

    def stream(question: str, thread_id: str) -> Iterator[dict[str, Any]]:
        calls.append(thread_id)
        events = agent.stream(question, thread_id)
        return _interrupt_at_first_tool(events) if len(calls) == 1 else events

    def read(prompt: str) -> str:
        if not lines:
            raise EOFError
        return lines.pop(0)

    lines = [QUESTION, "/sources", QUESTION]
    out, err = io.StringIO(), io.StringIO()
    session = ChatSession(stream=stream, out=out, err=err)

    assert session.run(read) == 0
    notices = err.getvalue()
    assert "[interrupted: answer stopped; ask again or /quit]" in notices
    # the interrupted answer left nothing behind; the next question on the thread works
    assert "no sources yet" in notices
    assert out.getvalue().startswith("**Aspirin** (PubChem CID 2244) [1]")
    assert out.getvalue().count("Sources:") == 1
    assert calls[0] == calls[1] == session.thread_id
    assert session.last is not None and session.last.citations[0].url == ASPIRIN_URL
    agent.close()


def test_ctrl_c_at_the_prompt_keeps_the_session() -> None:
    def read(prompt: str) -> str:
        if not inputs:
            raise EOFError
        item = inputs.pop(0)
        if item is None:
            raise KeyboardInterrupt
        return item

    inputs: list[str | None] = [None, "/help"]
    err = io.StringIO()
    session = ChatSession(stream=lambda q, t: iter(()), out=io.StringIO(), err=err)
    assert session.run(read) == 0
    assert "(type /quit or press Ctrl-D to leave)" in err.getvalue()
    assert "  /sources  show the sources of the last answer again" in err.getvalue()
