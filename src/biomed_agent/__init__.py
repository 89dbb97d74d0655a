"""biomed-agent: BioMedGPT in LangChain/LangGraph, with molecule, protein and literature tools.

Importing the package is cheap: heavy libraries (torch, transformers, rdkit,
chromadb) load only when the object that needs them is first used. Public names
below resolve lazily through ``__getattr__``; type checkers see the same names
through the ``TYPE_CHECKING`` imports (as datamol does), so ``BioMedAgent``,
``get_tools``, ``KnowledgeStore`` ... keep their real types.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from biomed_agent.errors import *  # noqa: F403  (errors are light and always wanted)
from biomed_agent.errors import __all__ as _error_names
from biomed_agent.lazy import lazy_exports
from biomed_agent.settings import Settings as Settings
from biomed_agent.settings import get_settings as get_settings

if TYPE_CHECKING:  # what type checkers see; at run time __getattr__ imports on first use
    from biomed_agent.agent.api import Answer as Answer
    from biomed_agent.agent.api import BioMedAgent as BioMedAgent
    from biomed_agent.eval import get_benchmark as get_benchmark
    from biomed_agent.eval import run_eval as run_eval
    from biomed_agent.models import init_biomed_model as init_biomed_model
    from biomed_agent.models.chat_model import ChatBioMedGPT as ChatBioMedGPT
    from biomed_agent.models.multimodal.chat import ChatBioMedGPT10B as ChatBioMedGPT10B
    from biomed_agent.models.multimodal.loading import load_biomedgpt10b as load_biomedgpt10b
    from biomed_agent.models.remote import ChatBioMedGPTRemote as ChatBioMedGPTRemote
    from biomed_agent.proteins.embeddings import embed_sequences as embed_sequences
    from biomed_agent.proteins.esm import load_esm as load_esm
    from biomed_agent.proteins.variants import score_variants as score_variants
    from biomed_agent.resources import Resources as Resources
    from biomed_agent.retrievers.pubchem import PubChemClient as PubChemClient
    from biomed_agent.retrievers.pubmed import PubMedClient as PubMedClient
    from biomed_agent.retrievers.retriever import BioMedRetriever as BioMedRetriever
    from biomed_agent.retrievers.store import KnowledgeStore as KnowledgeStore
    from biomed_agent.retrievers.uniprot import UniProtClient as UniProtClient
    from biomed_agent.tools import get_tools as get_tools

__version__ = "0.1.0"

# public name -> module that defines it; imported on first attribute access
_LAZY: dict[str, str] = {
    "get_tools": "biomed_agent.tools",
    "Resources": "biomed_agent.resources",
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


if not TYPE_CHECKING:  # type checkers read the imports above, and flag unknown names
    __getattr__ = lazy_exports(__name__, _LAZY, globals())


def __dir__() -> list[str]:
    return sorted(__all__)
