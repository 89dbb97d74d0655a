"""ESM-2's forward pass on fair-esm's own modules, with fused attention.

fair-esm's ``ESM2.forward`` computes attention explicitly: it materialises the
``rows x heads x tokens²`` score tensor, softmaxes it in a second tensor, and (because
its layers always ask for attention weights) averages that over heads once more per
layer. On a CPU those tensors (80 MB per layer for one 1,000-residue row of the 8M
model) are fresh allocations the kernel must zero page by page; measured on the 8M
shape at 1 thread, a third of the loop's CPU time was system time. Here the same
weights run through ``torch.nn.functional.scaled_dot_product_attention``, which never
materialises the scores; everything else — token-dropout rescaling, padding zeroing,
rotary tables (fair-esm's own ``rot_emb`` module), pre-norm layers, exact-erf GELU,
the final layer norm and the LM head — is fair-esm's code or its modules called in
fair-esm's order. The pass stops at the requested layer and runs the LM head only
for log-probabilities. Outputs equal fair-esm's forward to float rounding
(``tests/test_proteins_embeddings.py`` checks against ``module(tokens)`` itself).

Any module that is not a plain fair-esm ESM-2 (extra key/value biases, zero
attention, no rotary embedding) runs through its own ``forward`` instead.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

__all__ = ["esm2_forward", "supports_fused"]


def supports_fused(module: Any) -> bool:
    """Whether ``module`` is a fair-esm ESM-2 whose attention this pass reproduces."""
    from esm.model.esm2 import ESM2

    if not isinstance(module, ESM2):
        return False
    return all(
        layer.self_attn.rot_emb is not None
        and layer.self_attn.bias_k is None
        and not layer.self_attn.add_zero_attn
        for layer in module.layers
    )


def esm2_forward(module: Any, tokens: torch.Tensor, *, layer: int, logits: bool = False) -> Any:
    """``(rows, tokens, dim)`` representation at ``layer`` (``num_layers`` = last, layer
    normed), or with ``logits`` the LM head's ``(rows, tokens, vocab)`` logits."""
    if not supports_fused(module):
        output = module(tokens, repr_layers=[layer])
        return output["logits"] if logits else output["representations"][layer]
    from esm.modules import gelu

    padding = tokens.eq(module.padding_idx)
    x = module.embed_scale * module.embed_tokens(tokens)
    if module.token_dropout:  # fair-esm rescales by the share of <mask> tokens seen
        masked = tokens == module.mask_idx
        x.masked_fill_(masked.unsqueeze(-1), 0.0)
        observed = masked.sum(-1).to(x.dtype) / (~padding).sum(-1)
        x = x * (1 - 0.15 * 0.8) / (1 - observed)[:, None, None]
    x = x * (1 - padding.unsqueeze(-1).type_as(x))
    attend = ~padding[:, None, None, :] if bool(padding.any()) else None
    last = len(module.layers)
    stop = last if logits else layer
    for block in list(module.layers)[:stop]:
        residual = x
        x = residual + _attention(block.self_attn, block.self_attn_layer_norm(x), attend)
        residual = x
        x = residual + block.fc2(gelu(block.fc1(block.final_layer_norm(x))))
    if stop == last:
        x = module.emb_layer_norm_after(x)
    return module.lm_head(x) if logits else x


def _attention(attention: Any, x: torch.Tensor, attend: torch.Tensor | None) -> Any:
    rows, length, dim = x.shape
    heads, head_dim = attention.num_heads, attention.head_dim

    def split(t: torch.Tensor) -> torch.Tensor:
        return t.view(rows, length, heads, head_dim).transpose(1, 2)

    q = split(attention.q_proj(x) * attention.scaling)
    k = split(attention.k_proj(x))
    v = split(attention.v_proj(x))
    q, k = attention.rot_emb(q, k)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=attend, scale=1.0)
    return attention.out_proj(out.transpose(1, 2).reshape(rows, length, dim))
