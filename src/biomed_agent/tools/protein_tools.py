"""Protein tools: ``protein_properties``, ``variant_effect``, ``protein_similarity``,
``protein_embedding``.

The ESM-2 model (``settings.esm_model``) and the embedding store belong to the
shared :class:`~biomed_agent.resources.Resources`; the model is loaded on the first
call that needs it, never when the tools are built: listing tools imports neither torch nor
fair-esm. Without a usable checkpoint the ESM tools return a
:class:`~biomed_agent.errors.ModelLoadError` that names the path searched and
says to set ``BIOMED_ESM_MODEL``; ``protein_properties`` needs no model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from biomed_agent.errors import InvalidMutationError, InvalidQueryError
from biomed_agent.resources import Resources
from biomed_agent.settings import Settings
from biomed_agent.tools.arguments import StrictArgs
from biomed_agent.tools.base import ToolSpec

if TYPE_CHECKING:
    from biomed_agent.proteins.sequences import FastaRecord
    from biomed_agent.proteins.variants import ScoringMethod

__all__ = [
    "ProteinEmbeddingArgs",
    "ProteinPropertiesArgs",
    "ProteinSimilarityArgs",
    "VariantEffectArgs",
    "build_tools",
]

_SEQUENCE_HELP = (
    "Protein sequence in one-letter codes (e.g. 'MKTAYIAKQR...'), or one FASTA record. "
    "Standard residues plus X, B, Z, U, O; case and line breaks do not matter."
)
SIGN_CONVENTION = (
    "score = log p(mutant) - log p(wild type) under ESM-2, summed over a variant's "
    "substitutions; positive = mutant more likely than wild type (tolerated), "
    "negative = less likely (predicted damaging); no calibrated threshold."
)


class ProteinPropertiesArgs(StrictArgs):
    """Arguments of ``protein_properties``."""

    sequence: str = Field(description=_SEQUENCE_HELP)


class VariantEffectArgs(StrictArgs):
    """Arguments of ``variant_effect``."""

    sequence: str = Field(description="Wild-type protein sequence. " + _SEQUENCE_HELP)
    mutations: str | list[str] = Field(
        description="Substitutions with 1-based positions: 'A123G', a multi-mutant "
        "'A123G:L45P', or HGVS 'p.Ala123Gly'. A list scores several variants separately, "
        "e.g. ['A123G', 'L45P', 'A123G:L45P']."
    )
    method: Literal["masked_marginal", "wt_marginal"] = Field(
        default="masked_marginal",
        description="'masked_marginal' (accurate, one model pass per position) or "
        "'wt_marginal' (fast, one pass in total).",
    )


class ProteinSimilarityArgs(StrictArgs):
    """Arguments of ``protein_similarity``."""

    query: str = Field(description="The protein to compare. " + _SEQUENCE_HELP)
    candidates: list[str] | str = Field(
        description="Proteins to rank: a list of sequences (each raw or one FASTA record), "
        "or one multi-record FASTA text. FASTA ids are echoed in the results."
    )
    limit: int = Field(
        default=5, ge=1, le=100, description="How many of the closest to return (1-100)."
    )


class ProteinEmbeddingArgs(StrictArgs):
    """Arguments of ``protein_embedding``."""

    sequence: str = Field(description=_SEQUENCE_HELP)


def build_tools(settings: Settings, resources: Resources | None = None) -> list[ToolSpec]:
    """The four protein tools over the ESM model and embedding store of ``resources``."""
    shared = resources or Resources(settings)

    def protein_properties(sequence: str) -> dict[str, Any]:
        from biomed_agent.proteins.properties import compute_properties
        from biomed_agent.proteins.sequences import parse_sequence

        return compute_properties(parse_sequence(sequence)).to_dict()

    def variant_effect(
        sequence: str, mutations: str | list[str], method: ScoringMethod = "masked_marginal"
    ) -> dict[str, Any]:
        from biomed_agent.proteins.mutations import check_mutations, parse_mutations
        from biomed_agent.proteins.sequences import parse_sequence
        from biomed_agent.proteins.variants import score_variants

        named = (
            [("mutations", mutations)]
            if isinstance(mutations, str)
            else [(f"mutations[{i}]", text) for i, text in enumerate(mutations)]
        )
        if not named:
            raise InvalidMutationError(
                "mutations is an empty list; give at least one substitution such as 'A123G'.",
                input_name="mutations",
            )
        wild_type = parse_sequence(sequence)
        variants = [parse_mutations(text, name=name) for name, text in named]
        for (name, _), variant in zip(named, variants, strict=True):
            check_mutations(wild_type, variant, name=name)  # bad input fails before model loading
        model = shared.esm()
        scores = score_variants(
            wild_type,
            variants,
            model,
            method=method,
            token_budget=settings.esm_token_budget,
            overlap=settings.esm_window_overlap,
        )
        return {
            "model": model.label,
            "method": method,
            "sign_convention": SIGN_CONVENTION,
            "variants": [
                {
                    "variant": score.label,
                    "score": round(score.score, 4),
                    "substitutions": [
                        {"mutation": str(mutation), "score": round(value, 4)}
                        for mutation, value in zip(score.mutations, score.per_mutation, strict=True)
                    ],
                }
                for score in scores
            ],
        }

    def protein_similarity(
        query: str, candidates: list[str] | str, limit: int = 5
    ) -> dict[str, Any]:
        import numpy as np

        from biomed_agent.proteins.sequences import parse_record
        from biomed_agent.proteins.similarity import top_k

        query_record = parse_record(query, name="query")
        records = _candidate_records(candidates)
        store = shared.embedding_store()
        vectors = store.embed([query_record.sequence, *(r.sequence for r in records)])
        ranking = top_k(vectors[0].mean, np.stack([v.mean for v in vectors[1:]]), limit)
        return {
            "model": store.model.label,
            "metric": f"cosine of mean-pooled ESM-2 embeddings (layer {store.layer})",
            "query_length": vectors[0].length,
            "candidates": len(records),
            "results": [
                {
                    "rank": rank,
                    "id": records[index].id,
                    "index": index,
                    "length": len(records[index].sequence),
                    "cosine": round(score, 4),
                }
                for rank, (index, score) in enumerate(ranking, start=1)
            ],
        }

    def protein_embedding(sequence: str) -> dict[str, Any]:
        import numpy as np

        from biomed_agent.proteins.sequences import parse_sequence

        parsed = parse_sequence(sequence)
        store = shared.embedding_store()
        stored = store.embed([parsed])[0]
        return {
            "model": store.model.label,
            "layer": store.layer,
            "length": stored.length,
            "dimension": int(stored.mean.shape[0]),
            "windows": stored.windows,
            "mean_norm": round(float(np.linalg.norm(stored.mean)), 4),
            "mean_path": str(stored.mean_path),
            "per_residue_path": str(stored.per_residue_path),
            "per_residue_shape": [stored.length, int(stored.mean.shape[0])],
            "cached": stored.cached,
            "load_with": "numpy.load(path) -> float32 array",
        }

    return [
        ToolSpec(
            name="protein_properties",
            func=protein_properties,
            args_schema=ProteinPropertiesArgs,
            description=(
                "Physico-chemical properties of a protein sequence (Biopython ProtParam).\n"
                "Returns length, molecular weight (Da), isoelectric point, GRAVY, aromaticity, "
                "instability index (< 40 = stable), and molar extinction coefficients at 280 nm. "
                "Values a non-standard residue (X, B, Z, U, O) makes undefined are null, with "
                "the reason under 'undefined'. Needs no model."
            ),
        ),
        ToolSpec(
            name="variant_effect",
            func=variant_effect,
            args_schema=VariantEffectArgs,
            description=(
                "Zero-shot effect of amino-acid substitutions, scored by the ESM-2 protein "
                "language model.\n" + SIGN_CONVENTION + " The wild-type residue in each "
                "mutation is checked against the sequence (1-based positions)."
            ),
        ),
        ToolSpec(
            name="protein_similarity",
            func=protein_similarity,
            args_schema=ProteinSimilarityArgs,
            description=(
                "Rank candidate proteins by similarity to a query protein.\n"
                "Cosine similarity of mean-pooled ESM-2 embeddings (1 = identical direction); "
                "returns the top ``limit`` with their ids, indices and scores."
            ),
        ),
        ToolSpec(
            name="protein_embedding",
            func=protein_embedding,
            args_schema=ProteinEmbeddingArgs,
            description=(
                "Compute a protein's ESM-2 embedding and store it on disk.\n"
                "Returns a short summary (model, layer, dimension, norm) and the paths of the "
                "mean-pooled vector and the per-residue matrix (.npy files), not the numbers."
            ),
        ),
    ]


def _candidate_records(candidates: list[str] | str) -> list[FastaRecord]:
    from biomed_agent.proteins.sequences import parse_record, parse_sequences

    if isinstance(candidates, str):
        return parse_sequences(candidates, name="candidates")
    if not candidates:
        raise InvalidQueryError(
            "candidates is an empty list; give at least one protein sequence to compare with.",
            input_name="candidates",
        )
    return [parse_record(text, name=f"candidates[{i}]") for i, text in enumerate(candidates)]
