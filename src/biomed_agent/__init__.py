"""biomed-agent: BioMedGPT in LangChain/LangGraph, with molecule, protein and literature tools.

Importing the package is cheap: heavy libraries (torch, transformers, rdkit,
chromadb) load only when the object that needs them is first used. Public names
below resolve lazily through :func:`__getattr__`.
"""

from __future__ import annotations

import importlib
from typing import Any

from biomed_agent.errors import *  # noqa: F403  (errors are light and always wanted)
from biomed_agent.errors import __all__ as _error_names
from biomed_agent.settings import Settings, get_settings

__version__ = "0.1.0"

# public name -> module that defines it; imported on first attribute access
_LAZY: dict[str, str] = {
    "get_tools": "biomed_agent.tools",
    "get_benchmark": "biomed_agent.eval",
    "run_eval": "biomed_agent.eval",
    "BioMedAgent": "biomed_agent.agent.api",
    "Answer": "biomed_agent.agent.api",
    "ChatBioMedGPT": "biomed_agent.models.chat_model",
    "ChatBioMedGPTRemote": "biomed_agent.models.remote",
    "ChatBioMedGPT10B": "biomed_agent.models.multimodal.chat",
    "load_biomedgpt10b": "biomed_agent.models.multimodal.loading",
    "init_biomed_model": "biomed_agent.models",
    "KnowledgeStore": "biomed_agent.retrievers.store",
    "PubChemClient": "biomed_agent.retrievers.pubchem",
    "UniProtClient": "biomed_agent.retrievers.uniprot",
    "PubMedClient": "biomed_agent.retrievers.pubmed",
    "BioMedRetriever": "biomed_agent.retrievers.retriever",
    "load_esm": "biomed_agent.proteins.esm",
    "embed_sequences": "biomed_agent.proteins.embeddings",
    "score_variants": "biomed_agent.proteins.variants",
}

__all__ = ["Settings", "__version__", "get_settings", *_error_names, *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'biomed_agent' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
