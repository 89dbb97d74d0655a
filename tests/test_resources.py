"""One owner for the shared resources: built once under concurrency, closed completely.

The handle check reads the process's own descriptor table (``/proc/self/fd``): every
SQLite database the package opens (Chroma's ``chroma.sqlite3``, one HTTP cache per
service, the agent memory) lives under ``BIOMED_DATA_DIR``, so "nothing open below the
data directory" after ``close()`` means no file descriptor and no SQLite connection left.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from biomed_agent.errors import ConfigurationError
from biomed_agent.once import load_once
from biomed_agent.resources import Resources
from biomed_agent.settings import Settings
from biomed_agent.tools import tool_specs
from tests.helpers.replay_server import ReplayServer, settings_for

THREADS = 8


def open_under(root: Path) -> list[str]:
    """Paths below ``root`` this process holds open (file descriptors, SQLite files)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed between listdir and readlink
            continue
        if target.startswith(str(root)):
            found.append(target)
    return found


def all_at_once(calls: list[Callable[[], Any]]) -> tuple[list[Any], list[BaseException]]:
    """Run every call in its own thread, released together by a barrier."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = calls[index]()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results, errors


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How many stores and clients get constructed (counted at the constructors)."""
    from biomed_agent.retrievers import pubchem, pubmed, store, uniprot

    counts: Counter[str] = Counter()
    for name, cls in (
        ("store", store.KnowledgeStore),
        ("pubchem", pubchem.PubChemClient),
        ("uniprot", uniprot.UniProtClient),
        ("pubmed", pubmed.PubMedClient),
    ):
        original = cls.__init__

        def counting(self: Any, *args: Any, _o: Any = original, _n: str = name, **kw: Any) -> None:
            counts[_n] += 1
            _o(self, *args, **kw)

        monkeypatch.setattr(cls, "__init__", counting)
    return counts


def test_eight_threads_first_calls_build_one_store_and_one_client_per_service(
    replay_server: ReplayServer, tmp_path: Path, built: Counter[str]
) -> None:
    settings = settings_for(replay_server, tmp_path / "data")
    with Resources(settings) as resources:
        specs = {spec.name: spec for spec in tool_specs(settings, resources=resources)}
        calls: list[Callable[[], Any]] = [
            lambda: specs["knowledge_search"].run({"query": "insulin", "limit": 2}),
            lambda: specs["knowledge_search"].run({"query": "aspirin"}),
            lambda: specs["pubchem_lookup"].run({"query": "aspirin"}),
            lambda: specs["pubchem_lookup"].run({"query": "2244"}),
            lambda: specs["uniprot_lookup"].run({"query": "P30542"}),
            lambda: specs["uniprot_lookup"].run({"query": "P30542"}),
            lambda: resources.store(),
            lambda: resources.client("pubmed"),
        ]
        results, errors = all_at_once(calls)
        assert errors == []
        assert dict(built) == {"store": 1, "pubchem": 1, "uniprot": 1, "pubmed": 1}
        assert results[6] is resources.store() and results[7] is resources.pubmed
        assert results[2]["cid"] == results[3]["cid"] == 2244
        assert results[4]["url"] == "https://www.uniprot.org/uniprotkb/P30542/entry"


def test_close_leaves_no_file_or_sqlite_connection_open(
    replay_server: ReplayServer, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    settings = settings_for(replay_server, data)
    resources = Resources(settings)
    specs = {spec.name: spec for spec in tool_specs(settings, resources=resources)}
    specs["pubchem_lookup"].run({"query": "aspirin"})
    specs["uniprot_lookup"].run({"query": "P30542"})
    specs["knowledge_search"].run({"query": "aspirin"})
    resources.client("pubmed")
    resources.memory()
    held = open_under(data)
    assert any(p.endswith("chroma.sqlite3") for p in held)
    assert any("agent-memory.sqlite" in p for p in held)
    assert {Path(p).parent.name for p in held} >= {"chroma", "http-cache", "data"}

    resources.close()

    assert open_under(data) == []
    assert resources.closed
    resources.close()  # idempotent
    with pytest.raises(ConfigurationError, match="closed"):
        resources.store()


def test_agent_closes_every_handle_it_opened(replay_server: ReplayServer, tmp_path: Path) -> None:
    from biomed_agent.agent.api import BioMedAgent

    data = tmp_path / "data"
    settings = settings_for(replay_server, data, model="none")
    with BioMedAgent(settings=settings) as agent:
        answer = agent.ask("Is aspirin drug-like?")
        assert answer.citations and open_under(data)
        assert {"client:pubchem", "memory"} <= set(agent.resources.built())
    assert open_under(data) == []


def test_given_store_is_shared_and_left_open(tmp_path: Path, built: Counter[str]) -> None:
    from biomed_agent.retrievers.store import KnowledgeStore

    settings = Settings(data_dir=tmp_path / "data")
    store = KnowledgeStore(settings)
    with Resources(settings, store=store) as resources:
        spec = {s.name: s for s in tool_specs(settings, resources=resources)}["knowledge_search"]
        assert spec.run({"query": "insulin"})["hits"] == []
        assert resources.store() is store
    assert built["store"] == 1
    assert store.count() == 0  # still usable: the caller owns it


def test_run_demo_with_a_store_builds_no_other(
    tmp_path: Path, built: Counter[str], capsys: pytest.CaptureFixture[str]
) -> None:
    from biomed_agent.agent.demo import run_demo
    from biomed_agent.retrievers.store import KnowledgeStore

    settings = Settings(data_dir=tmp_path / "data")
    store = KnowledgeStore(settings)
    assert run_demo(settings, store=store) == 0
    assert built["store"] == 1
    assert "Verification: verified" in capsys.readouterr().out
    assert store.count() > 0


def test_a_failed_build_is_retried_and_not_kept(tmp_path: Path) -> None:
    resources = Resources(Settings(data_dir=tmp_path, pubchem_url="ftp://nowhere"))
    with pytest.raises(ConfigurationError, match="not an http"):
        resources.client("pubchem")
    assert resources.built() == []
    with pytest.raises(ConfigurationError, match="not an http"):
        resources.pubchem  # noqa: B018
    resources.close()


def test_load_once_loads_each_key_once_under_contention() -> None:
    started = threading.Event()
    loads: Counter[str] = Counter()

    @load_once(maxsize=2)
    def load(name: str) -> object:
        loads[name] += 1
        started.wait(0.2)  # stay inside the loader while the other threads arrive
        return object()

    results, errors = all_at_once([lambda: load("a")] * 6 + [lambda: load("b")] * 2)
    started.set()
    assert errors == [] and loads == {"a": 1, "b": 1}
    assert len({id(r) for r in results[:6]}) == 1 and results[6] is results[7]
    load.cache_clear()
    load("a")
    assert loads["a"] == 2


def test_sqlite_connections_are_closed_not_just_dereferenced(tmp_path: Path) -> None:
    resources = Resources(Settings(data_dir=tmp_path))
    connection = resources.memory().conn
    resources.close()
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        connection.execute("select 1")
