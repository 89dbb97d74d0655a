"""BioMedGPT-10B: molecule (GIN) and protein (ESM-2) encoders spliced into BioMedGPT-LM-7B.

- :mod:`.graph` — SMILES → molecule graph in GraphMVP's feature layout; batching.
- :mod:`.gin` — the GraphMVP GIN encoder (pure torch, published parameter names).
- :mod:`.placeholders` — ``<moleculeHere>`` / ``<proteinHere>`` handling (no torch).
- :mod:`.model` — :class:`~.model.BioMedGPT10B`: encoders, projections, splicing, generation.
- :mod:`.loading` — :func:`~.loading.load_biomedgpt10b` from one directory or file,
  memory-mapped onto a meta-device model, with precise key/shape errors.
- :mod:`.messages` / :mod:`.chat` — :class:`~.chat.ChatBioMedGPT10B`, the LangChain chat model.

Importing this package is light; torch and transformers load with the names that need them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from biomed_agent.models.multimodal.chat import ChatBioMedGPT10B
    from biomed_agent.models.multimodal.loading import load_biomedgpt10b
    from biomed_agent.models.multimodal.model import BioMedGPT10B, MultimodalPrompt

__all__ = ["BioMedGPT10B", "ChatBioMedGPT10B", "MultimodalPrompt", "load_biomedgpt10b"]

_LAZY = {
    "BioMedGPT10B": "biomed_agent.models.multimodal.model",
    "ChatBioMedGPT10B": "biomed_agent.models.multimodal.chat",
    "MultimodalPrompt": "biomed_agent.models.multimodal.model",
    "load_biomedgpt10b": "biomed_agent.models.multimodal.loading",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'biomed_agent.models.multimodal' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
