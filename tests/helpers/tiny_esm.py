"""Tiny random ESM-2 checkpoints in fair-esm's published file format.

The file mirrors ``esm2_t*_UR50D.pt``: ``{"model": state_dict, "cfg": {"model":
argparse.Namespace(encoder_layers=..., ...)}}`` with the state-dict keys under
``encoder.sentence_encoder.`` (``encoder.`` for the LM head) and no contact-
regression weights, so tests load it through the same loader as real weights.
"""

from __future__ import annotations

import argparse
import atexit
import functools
import random
import shutil
import tempfile
from pathlib import Path

import torch


def build_tiny_esm(
    path: Path,
    *,
    num_layers: int = 2,
    embed_dim: int = 32,
    attention_heads: int = 4,
    seed: int = 0,
    favoured_residue: str | None = None,
    favour_by: float = 20.0,
) -> Path:
    """Write a random ESM-2 checkpoint to ``path`` and return the path.

    ``favoured_residue`` adds ``favour_by`` to that residue's LM-head bias, so the
    model predicts it almost everywhere: a known-answer case for variant scores.
    """
    import esm
    from esm.model.esm2 import ESM2

    torch.manual_seed(seed)
    alphabet = esm.Alphabet.from_architecture("ESM-1b")
    model = ESM2(
        num_layers=num_layers,
        embed_dim=embed_dim,
        attention_heads=attention_heads,
        alphabet=alphabet,
        token_dropout=True,
    )
    if favoured_residue is not None:
        with torch.no_grad():
            model.lm_head.bias[alphabet.get_idx(favoured_residue)] += favour_by
    state = {
        (
            f"encoder.{name}" if name.startswith("lm_head.") else f"encoder.sentence_encoder.{name}"
        ): tensor
        for name, tensor in model.state_dict().items()
        if not name.startswith("contact_head.")
    }
    config = argparse.Namespace(
        encoder_layers=num_layers,
        encoder_embed_dim=embed_dim,
        encoder_attention_heads=attention_heads,
        token_dropout=True,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": state, "cfg": {"model": config}}, path)
    return path


_SHARED = Path(tempfile.mkdtemp(prefix="tiny-esm-"))
atexit.register(shutil.rmtree, _SHARED, ignore_errors=True)


@functools.cache
def shared_tiny_esm(favoured_residue: str | None = None) -> Path:
    """One checkpoint per variant for the whole test session (built on first use).

    Usable from class properties (``ToolsUnitTests``), where fixtures are not.
    """
    name = f"tiny-favour-{favoured_residue}.pt" if favoured_residue else "tiny.pt"
    return build_tiny_esm(_SHARED / name, favoured_residue=favoured_residue)


def random_protein(length: int, seed: int) -> str:
    """A reproducible random sequence over the 20 standard residues."""
    rng = random.Random(seed)
    return "".join(rng.choice("ACDEFGHIKLMNPQRSTVWY") for _ in range(length))
