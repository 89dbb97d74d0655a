"""Sampling with each request's own ``torch.Generator``, never the process's global one.

transformers' ``generate`` draws sampled tokens from torch's global generator (it
takes no ``torch.Generator``), so seeding it per call would flip process-wide state
that other threads draw from at the same time. Instead the local chat model calls
``generate`` greedily (``do_sample=False``) and adds :class:`RowSampler` as the last
logits processor: it applies temperature, top-k and top-p to each row's scores (after
every other processor, so a grammar mask and the repetition penalty still apply), draws
the row's token with that row's generator and masks every other token, so the greedy
pick is the drawn token. Rows of one batch draw from their own generators, so a row's
tokens never depend on its batch mates' draws; the global RNG state is never touched.

The filters follow transformers' ``TemperatureLogitsWarper``, ``TopKLogitsWarper`` and
``TopPLogitsWarper`` (in that order, at least one token kept); ``top_k=0`` disables
top-k (``GenerationConfig(top_k=None)`` would silently mean 50 in transformers).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers import LogitsProcessor

__all__ = ["RowSampler", "Sampling", "filtered_logits", "generator_for"]


@dataclass(frozen=True)
class Sampling:
    """The sampling filters of one request (equal for every row of a batch)."""

    temperature: float
    top_p: float = 1.0
    top_k: int = 0
    """Keep only the ``top_k`` most likely tokens; 0 keeps them all."""

    def __post_init__(self) -> None:
        if not self.temperature > 0:
            raise ValueError(f"temperature must be > 0 to sample, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.top_k < 0:
            raise ValueError(f"top_k must be >= 0 (0 disables it), got {self.top_k}")


def generator_for(seed: int | None, device: torch.device) -> torch.Generator:
    """A generator on ``device`` seeded with ``seed`` (a fresh random seed when ``None``)."""
    generator = torch.Generator(device=device)
    generator.manual_seed(secrets.randbits(63) if seed is None else seed)
    return generator


def filtered_logits(scores: torch.Tensor, sampling: Sampling) -> torch.Tensor:
    """``scores`` (rows x vocabulary) divided by the temperature, with the tokens top-k and
    top-p remove set to ``-inf``; ``softmax`` of the result is the distribution drawn from."""
    logits = scores.float() / sampling.temperature
    if 0 < sampling.top_k < logits.shape[-1]:
        kth = torch.topk(logits, sampling.top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if sampling.top_p < 1.0:
        ordered, order = torch.sort(logits, descending=True, dim=-1)
        probs = ordered.softmax(dim=-1)
        before = probs.cumsum(dim=-1) - probs  # mass of the more likely tokens
        drop = before >= sampling.top_p
        drop[..., 0] = False  # at least one token stays
        logits = logits.masked_fill(drop.scatter(-1, order, drop), float("-inf"))
    return logits


class RowSampler(LogitsProcessor):
    """The last logits processor of a sampled ``generate`` call: row ``i`` draws its token
    with its own generator, seeded with ``seeds[i]`` (``None``: a random seed), and every
    other token is masked, so greedy search emits it.

    The generators are made on the first call, on the device the scores are on.
    """

    def __init__(self, sampling: Sampling, seeds: Sequence[int | None]) -> None:
        self.sampling = sampling
        self.seeds = [secrets.randbits(63) if seed is None else seed for seed in seeds]
        self.generators: list[torch.Generator] = []

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if scores.shape[0] != len(self.seeds):
            raise ValueError(f"{scores.shape[0]} rows but {len(self.seeds)} seeds")
        if not self.generators:
            self.generators = [generator_for(seed, scores.device) for seed in self.seeds]
        probs = filtered_logits(scores, self.sampling).softmax(dim=-1)
        chosen = scores.argmax(dim=-1)
        open_rows = torch.isfinite(scores).any(dim=-1).tolist()  # one device sync per step
        for row, generator in enumerate(self.generators):
            if open_rows[row]:  # a fully masked row keeps its argmax
                chosen[row] = torch.multinomial(probs[row], 1, generator=generator)[0]
        drawn = torch.full_like(scores, float("-inf"))
        drawn.scatter_(-1, chosen.unsqueeze(-1), 0.0)
        return drawn  # type: ignore[return-value]
