"""Zero-shot variant effects from ESM-2 log-likelihood ratios (Meier et al. 2021).

Sign convention: a substitution's score is
``log p(mutant residue) - log p(wild-type residue)`` at its position, so
**positive = the model finds the mutant more likely than the wild type**
(tolerated or even favoured), **negative = less likely** (predicted damaging).
A multi-substitution variant scores the sum of its substitutions (the additive
model of the ESM-1v paper).

Methods:

* ``masked_marginal`` (default, most accurate): for each mutated position, the
  wild-type sequence with that one position masked is run, and the ratio is read
  off the masked position. One forward pass per distinct position, batched.
* ``wt_marginal`` (fast): one unmasked forward pass of the wild type; the ratio is
  read at every mutated position from that pass.

Sequences longer than the model context use the windows of :mod:`.batching`: a
position is scored inside the window where it is most central.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from biomed_agent.errors import InvalidMutationError
from biomed_agent.proteins.batching import owning_windows, plan_windows
from biomed_agent.proteins.embeddings import (
    DEFAULT_OVERLAP,
    DEFAULT_TOKEN_BUDGET,
    residue_outputs,
    window_size,
)
from biomed_agent.proteins.esm import EsmModel
from biomed_agent.proteins.mutations import Mutation, check_mutations
from biomed_agent.proteins.sequences import esm_token_id, esm_token_ids, parse_sequence

__all__ = ["ScoringMethod", "VariantScore", "score_variants"]

ScoringMethod = Literal["masked_marginal", "wt_marginal"]


@dataclass(frozen=True)
class VariantScore:
    """Score of one variant; positive = mutant more likely than wild type."""

    mutations: tuple[Mutation, ...]
    per_mutation: tuple[float, ...]
    method: ScoringMethod

    @property
    def score(self) -> float:
        """Sum over the variant's substitutions."""
        return float(sum(self.per_mutation))

    @property
    def label(self) -> str:
        """The variant in ``A123G:L45P`` notation."""
        return ":".join(str(mutation) for mutation in self.mutations)


def score_variants(
    sequence: str,
    variants: Sequence[Sequence[Mutation]],
    model: EsmModel,
    *,
    method: ScoringMethod = "masked_marginal",
    token_budget: int = DEFAULT_TOKEN_BUDGET,
    window: int | None = None,
    overlap: int = DEFAULT_OVERLAP,
) -> list[VariantScore]:
    """Score each variant (a list of substitutions) of the wild-type ``sequence``."""
    wild_type = parse_sequence(sequence)
    if not variants:
        raise InvalidMutationError(
            "no variants given; pass at least one substitution such as 'A123G'.",
            input_name="mutations",
        )
    for mutations in variants:
        check_mutations(wild_type, mutations)
    positions = sorted({mutation.index for mutations in variants for mutation in mutations})
    if method == "wt_marginal":
        log_probs = residue_outputs(
            [wild_type],
            model,
            token_budget=token_budget,
            window=window,
            overlap=overlap,
            log_probs=True,
        )[0]
        by_position = {index: log_probs[index] for index in positions}
    elif method == "masked_marginal":
        by_position = _masked_log_probs(
            wild_type, positions, model, token_budget=token_budget, window=window, overlap=overlap
        )
    else:
        raise InvalidMutationError(
            f"unknown scoring method {method!r}; use 'masked_marginal' or 'wt_marginal'.",
            input_name="method",
        )
    return [
        VariantScore(
            mutations=tuple(mutations),
            per_mutation=tuple(
                float(
                    by_position[m.index][esm_token_id(m.mutant)]
                    - by_position[m.index][esm_token_id(m.wild_type)]
                )
                for m in mutations
            ),
            method=method,
        )
        for mutations in variants
    ]


def _masked_log_probs(
    sequence: str,
    positions: Sequence[int],
    model: EsmModel,
    *,
    token_budget: int,
    window: int | None,
    overlap: int,
) -> dict[int, np.ndarray]:
    windows = plan_windows(len(sequence), window_size(model, window), overlap)
    owners = owning_windows(windows, len(sequence))
    chosen = [windows[owners[index]] for index in positions]
    rows = [
        esm_token_ids(sequence[w.start : w.end], mask=[index - w.start])
        for index, w in zip(positions, chosen, strict=True)
    ]
    outputs = model.forward_rows(rows, token_budget=token_budget, log_probs=True)
    return {
        index: output[index - w.start + 1]
        for index, w, output in zip(positions, chosen, outputs, strict=True)
    }
