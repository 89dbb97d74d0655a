"""The fused-attention ESM-2 pass against fair-esm's own ``ESM2.forward`` (the reference)."""

from __future__ import annotations

import esm
import pytest
import torch

from biomed_agent.proteins.esm import load_esm
from biomed_agent.proteins.esm_forward import esm2_forward, supports_fused
from tests.helpers.tiny_esm import random_protein, shared_tiny_esm

ALPHABET = esm.Alphabet.from_architecture("ESM-1b")


@pytest.fixture(scope="module")
def module() -> torch.nn.Module:
    return load_esm(str(shared_tiny_esm()), device="cpu").module


def _tokens() -> torch.Tensor:
    """A padded three-row batch (lengths 40, 17, 3) with one ``<mask>`` token."""
    sequences = [random_protein(n, seed) for seed, n in enumerate((40, 17, 3))]
    _, _, tokens = ALPHABET.get_batch_converter()([(str(i), s) for i, s in enumerate(sequences)])
    tokens[0, 5] = ALPHABET.mask_idx  # token dropout rescales rows holding <mask>
    return tokens


@pytest.mark.parametrize("rows", [slice(0, 3), slice(0, 1), slice(1, 2)])
def test_every_layer_and_logits_equal_fair_esm_forward(
    module: torch.nn.Module, rows: slice
) -> None:
    tokens = _tokens()[rows]
    if rows != slice(0, 3):
        tokens = tokens[:, : int(tokens.ne(ALPHABET.padding_idx).sum())]  # one row: no padding
    assert supports_fused(module)
    with torch.inference_mode():
        reference = module(tokens, repr_layers=[0, 1, 2])
        for layer in (0, 1, 2):  # 2 = last, layer normed
            ours = esm2_forward(module, tokens, layer=layer)
            torch.testing.assert_close(ours, reference["representations"][layer], atol=1e-5, rtol=0)
        logits = esm2_forward(module, tokens, layer=2, logits=True)
        torch.testing.assert_close(logits, reference["logits"], atol=1e-4, rtol=0)
        # the real rows of a padded batch equal the rows run alone (the mask is applied)
        if rows == slice(0, 3):
            alone = esm2_forward(module, tokens[1:2, :19], layer=2)
            torch.testing.assert_close(ours[1:2, :19], alone, atol=1e-5, rtol=0)


def test_modules_it_does_not_reproduce_run_their_own_forward(module: torch.nn.Module) -> None:
    class Wrapped(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, tokens: torch.Tensor, repr_layers: list[int]) -> dict[str, object]:
            return self.inner(tokens, repr_layers=repr_layers)  # type: ignore[no-any-return]

    wrapped = Wrapped(module)
    assert not supports_fused(wrapped)
    tokens = _tokens()[:1, :42]
    with torch.inference_mode():
        torch.testing.assert_close(
            esm2_forward(wrapped, tokens, layer=1),
            module(tokens, repr_layers=[1])["representations"][1],
        )
