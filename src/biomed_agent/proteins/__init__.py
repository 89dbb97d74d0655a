"""Protein toolkit: sequences, properties, mutations and ESM-2 (fair-esm), no LangChain.

Importing this package loads nothing heavy: the names below (``from
biomed_agent.proteins import load_esm``) resolve lazily from their submodules, and
torch and fair-esm are imported by :mod:`.esm` (and the modules that use it) only.

* :mod:`.sequences` — raw/FASTA parsing, the alphabet contract, ESM token ids
* :mod:`.properties` — ProtParam properties (MW, pI, GRAVY, ...)
* :mod:`.mutations` — ``A123G``, ``A123G:L45P``, ``p.Ala123Gly``, checked against a sequence
* :mod:`.batching` — windows for long proteins, token-budget batches
* :mod:`.esm` — ESM-2 registry, safe loading, batched forward
* :mod:`.embeddings` — per-residue and mean-pooled embeddings
* :mod:`.variants` — masked- and wild-type-marginal variant scores
* :mod:`.similarity` — cosine one-vs-many, top-k
* :mod:`.store` — embeddings on disk under ``data_dir/embeddings``

See ``docs/proteins.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from biomed_agent.lazy import lazy_exports

if TYPE_CHECKING:  # type checkers see these; at run time __getattr__ imports on first use
    from biomed_agent.proteins.embeddings import ProteinEmbedding as ProteinEmbedding
    from biomed_agent.proteins.embeddings import embed_sequences as embed_sequences
    from biomed_agent.proteins.esm import EsmModel as EsmModel
    from biomed_agent.proteins.esm import load_esm as load_esm
    from biomed_agent.proteins.mutations import Mutation as Mutation
    from biomed_agent.proteins.mutations import parse_mutations as parse_mutations
    from biomed_agent.proteins.properties import compute_properties as compute_properties
    from biomed_agent.proteins.sequences import parse_fasta as parse_fasta
    from biomed_agent.proteins.sequences import parse_sequence as parse_sequence
    from biomed_agent.proteins.similarity import top_k as top_k
    from biomed_agent.proteins.store import EmbeddingStore as EmbeddingStore
    from biomed_agent.proteins.variants import VariantScore as VariantScore
    from biomed_agent.proteins.variants import score_variants as score_variants

_LAZY: dict[str, str] = {
    "ProteinEmbedding": "biomed_agent.proteins.embeddings",
    "embed_sequences": "biomed_agent.proteins.embeddings",
    "EsmModel": "biomed_agent.proteins.esm",
    "load_esm": "biomed_agent.proteins.esm",
    "Mutation": "biomed_agent.proteins.mutations",
    "parse_mutations": "biomed_agent.proteins.mutations",
    "compute_properties": "biomed_agent.proteins.properties",
    "parse_fasta": "biomed_agent.proteins.sequences",
    "parse_sequence": "biomed_agent.proteins.sequences",
    "top_k": "biomed_agent.proteins.similarity",
    "EmbeddingStore": "biomed_agent.proteins.store",
    "VariantScore": "biomed_agent.proteins.variants",
    "score_variants": "biomed_agent.proteins.variants",
}

__all__ = sorted(_LAZY)

if not TYPE_CHECKING:
    __getattr__ = lazy_exports(__name__, _LAZY, globals())


def __dir__() -> list[str]:
    return sorted(__all__)
