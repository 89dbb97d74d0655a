"""Helpers shared by the fault and limit tests (tests/test_faults.py, tests/test_limits.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from biomed_agent.retrievers.pubchem import PubChemClient
from tests.helpers.replay_server import ReplayServer, fast_retry, settings_for


def pubchem_client(server: ReplayServer, data_dir: Path, **settings: Any) -> PubChemClient:
    """A PubChem client on ``server``: 0.5 s timeout, 2 instant retries, 1 MiB body limit."""
    config = settings_for(server, data_dir, http_timeout=0.5, **settings)
    client = PubChemClient.from_settings(config, retry=fast_retry(2))
    client.http.max_body_bytes = 1024 * 1024
    return client


class Marker:
    """Pickles to a call that creates ``path``: proof that unpickling ran code."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.path,))
