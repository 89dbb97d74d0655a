"""Protein toolkit: sequences, properties, mutations and ESM-2 (fair-esm), no LangChain.

Import from the submodules; importing this package loads nothing heavy. torch and
fair-esm are imported by :mod:`.esm` (and the modules that use it) only.

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
