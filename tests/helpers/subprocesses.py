"""Run biomed-agent commands in a child process configured like an in-test ``Settings``."""

from __future__ import annotations

import os
import socket
import sys
import time

from biomed_agent.settings import Settings

__all__ = ["CLI", "free_port", "settings_env", "wait_for_port"]

CLI = (sys.executable, "-m", "biomed_agent.cli")
"""The command line, run by this interpreter."""

_PASSED_ON = (
    "data_dir",
    "model",
    "offline",
    "pubchem_url",
    "uniprot_url",
    "ncbi_url",
    "http_timeout",
    "http_retries",
    "email",
)


def settings_env(settings: Settings) -> dict[str, str]:
    """This process's environment minus its BIOMED_* variables, plus ``settings`` as BIOMED_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BIOMED_")}
    for name in _PASSED_ON:
        value = getattr(settings, name)
        if value is not None:
            env[f"BIOMED_{name.upper()}"] = str(value)
    return env


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def wait_for_port(port: int, timeout: float = 60.0) -> None:
    """Block until something accepts connections on 127.0.0.1:``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")
