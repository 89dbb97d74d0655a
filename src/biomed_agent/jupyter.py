"""``biomed_agent.jupyter``: the Jupyter interface, kept importable under its first name.

The code lives in :mod:`biomed_agent.interfaces.jupyter`; this name is the same module
object (``%load_ext biomed_agent.jupyter`` and ``from biomed_agent.jupyter import chat``
keep working, and patching one patches the other).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from biomed_agent.interfaces import jupyter as _interface
from biomed_agent.interfaces.jupyter import *  # noqa: F403
from biomed_agent.interfaces.jupyter import __all__ as __all__

if not TYPE_CHECKING:
    sys.modules[__name__] = _interface
