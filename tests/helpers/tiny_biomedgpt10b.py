"""A tiny BioMedGPT-10B laid out on disk exactly like the published one, built without downloads.

``build_tiny_biomedgpt10b(directory)`` writes::

    directory/
      biomedgpt_10b.pth   fused state dict, the published key layout at small sizes
      llm/                tiny Llama config + tokenizer (tests.helpers.tiny_llama)
      esm/                tiny ESM-2 config.json

The state dict is what OpenBioMed's ``BioMedGPTV`` saved with the transformers of
its time: besides the weights it holds ``prot_structure_encoder.embeddings.position_ids``,
ESM's unused absolute ``position_embeddings`` table, and per-layer rotary ``inv_freq``
buffers (``llm.model.layers.N.self_attn.rotary_emb.inv_freq``,
``prot_structure_encoder.encoder.layer.N.attention.self.rotary_embeddings.inv_freq``),
which current transformers no longer keeps there. :func:`published_keys` spells the
published layout out by hand, so tests can check the model's own names against it;
``tests/test_multimodal_openbiomed_parity.py`` checks it against the keys OpenBioMed's
own ``BioMedGPTV`` saves (``tests/fixtures/openbiomed``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from tests.helpers.tiny_llama import build_tiny_llama

__all__ = ["TinySizes", "build_tiny_biomedgpt10b", "published_keys", "tiny_state_dict"]


@dataclass(frozen=True)
class TinySizes:
    """Dimensions of the tiny model (the real one: GIN 5x300, ESM 36x2560, Llama 32x4096)."""

    gin_layers: int = 3
    gin_hidden: int = 16
    esm_layers: int = 2
    esm_hidden: int = 32
    esm_heads: int = 4
    llm_layers: int = 2
    llm_hidden: int = 64


def published_keys(gin_layers: int, esm_layers: int, llm_layers: int) -> set[str]:
    """Every key of ``biomedgpt_10b.pth`` at the given depths, spelled out from the architecture."""
    keys = {
        "mol_structure_encoder.x_embedding1.weight",
        "mol_structure_encoder.x_embedding2.weight",
        "prot_structure_encoder.embeddings.word_embeddings.weight",
        "prot_structure_encoder.embeddings.position_ids",
        # transformers 4.28-4.45 built it even for rotary ESM-2 (unused); OpenBioMed saves it
        "prot_structure_encoder.embeddings.position_embeddings.weight",
        "prot_structure_encoder.encoder.emb_layer_norm_after.weight",
        "prot_structure_encoder.encoder.emb_layer_norm_after.bias",
        "prot_structure_encoder.pooler.dense.weight",
        "prot_structure_encoder.pooler.dense.bias",
        "prot_structure_encoder.contact_head.regression.weight",
        "prot_structure_encoder.contact_head.regression.bias",
        "llm.model.embed_tokens.weight",
        "llm.model.norm.weight",
        "llm.lm_head.weight",
        "proj_mol.weight",
        "proj_mol.bias",
        "proj_prot.weight",
        "proj_prot.bias",
    }
    for i in range(gin_layers):
        gnn = f"mol_structure_encoder.gnns.{i}."
        keys |= {
            gnn + name for name in ("mlp.0.weight", "mlp.0.bias", "mlp.2.weight", "mlp.2.bias")
        }
        keys |= {gnn + "edge_embedding1.weight", gnn + "edge_embedding2.weight"}
        norm = f"mol_structure_encoder.batch_norms.{i}."
        keys |= {
            norm + name
            for name in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
        }
    for i in range(esm_layers):
        layer = f"prot_structure_encoder.encoder.layer.{i}."
        for linear in (
            "attention.self.query", "attention.self.key", "attention.self.value",
            "attention.output.dense", "attention.LayerNorm", "intermediate.dense",
            "output.dense", "LayerNorm",
        ):  # fmt: skip
            keys |= {f"{layer}{linear}.weight", f"{layer}{linear}.bias"}
        keys.add(layer + "attention.self.rotary_embeddings.inv_freq")
    for i in range(llm_layers):
        layer = f"llm.model.layers.{i}."
        keys |= {f"{layer}self_attn.{p}_proj.weight" for p in ("q", "k", "v", "o")} | {
            f"{layer}mlp.{p}_proj.weight" for p in ("gate", "up", "down")
        }
        keys |= {layer + "input_layernorm.weight", layer + "post_attention_layernorm.weight"}
        keys.add(layer + "self_attn.rotary_emb.inv_freq")
    return keys


def _write_configs(directory: Path, sizes: TinySizes) -> None:
    """LM config + tokenizer and ESM config only, as the published model ships them."""
    from transformers import EsmConfig, LlamaConfig

    llm_dir = build_tiny_llama(directory / "llm")
    for weights in llm_dir.glob("*.safetensors"):
        weights.unlink()  # the fused checkpoint holds the LM weights
    llm_config = LlamaConfig.from_pretrained(llm_dir)
    heads = max(4, sizes.llm_hidden // 128)
    llm_config.num_hidden_layers = sizes.llm_layers
    llm_config.hidden_size = sizes.llm_hidden
    llm_config.intermediate_size = sizes.llm_hidden * 2
    llm_config.num_attention_heads = llm_config.num_key_value_heads = heads
    llm_config.head_dim = sizes.llm_hidden // heads
    llm_config.save_pretrained(llm_dir)
    EsmConfig(
        vocab_size=33,
        hidden_size=sizes.esm_hidden,
        num_hidden_layers=sizes.esm_layers,
        num_attention_heads=sizes.esm_heads,
        intermediate_size=sizes.esm_hidden * 2,
        max_position_embeddings=1026,
        position_embedding_type="rotary",
        emb_layer_norm_before=False,
        token_dropout=True,
        pad_token_id=1,
        mask_token_id=32,
    ).save_pretrained(directory / "esm")


def tiny_state_dict(
    directory: Path, *, seed: int = 0, sizes: TinySizes = TinySizes()
) -> dict[str, torch.Tensor]:
    """A random state dict in the published layout for the configs under ``directory``."""
    from transformers import AutoTokenizer, EsmConfig, LlamaConfig

    from biomed_agent.models.multimodal.model import BioMedGPT10B

    tokenizer = AutoTokenizer.from_pretrained(directory / "llm")
    tokenizer.add_special_tokens({"pad_token": "[PAD]"})
    llm_config = LlamaConfig.from_pretrained(directory / "llm")
    llm_config.vocab_size = len(tokenizer)
    esm_config = EsmConfig.from_pretrained(directory / "esm")
    torch.manual_seed(seed)
    model = BioMedGPT10B(
        llm_config, esm_config, tokenizer,
        gin_layers=sizes.gin_layers, gin_hidden=sizes.gin_hidden,
    )  # fmt: skip
    state = {k: v for k, v in model.state_dict().items() if not k.endswith("inv_freq")}
    for i in range(sizes.gin_layers):  # trained batch-norm statistics, not the defaults
        norm = f"mol_structure_encoder.batch_norms.{i}."
        state[norm + "running_mean"] = torch.randn(sizes.gin_hidden)
        state[norm + "running_var"] = torch.rand(sizes.gin_hidden) + 0.5
    state["prot_structure_encoder.embeddings.position_ids"] = torch.arange(1026).unsqueeze(0)
    state["prot_structure_encoder.embeddings.position_embeddings.weight"] = torch.randn(
        1026, esm_config.hidden_size
    )
    esm_dim = esm_config.hidden_size // esm_config.num_attention_heads
    esm_inv_freq = 1.0 / (10000 ** (torch.arange(0, esm_dim, 2).float() / esm_dim))
    for i in range(esm_config.num_hidden_layers):
        key = f"prot_structure_encoder.encoder.layer.{i}.attention.self.rotary_embeddings.inv_freq"
        state[key] = esm_inv_freq
    llm_dim = llm_config.hidden_size // llm_config.num_attention_heads
    llm_inv_freq = 1.0 / (10000 ** (torch.arange(0, llm_dim, 2).float() / llm_dim))
    for i in range(llm_config.num_hidden_layers):
        state[f"llm.model.layers.{i}.self_attn.rotary_emb.inv_freq"] = llm_inv_freq
    return state


def build_tiny_biomedgpt10b(
    directory: Path, *, seed: int = 0, sizes: TinySizes = TinySizes()
) -> Path:
    """Write configs, tokenizer and ``biomedgpt_10b.pth``; returns ``directory``.

    ``sizes`` scales the model (the loading benchmark writes a multi-GB one).
    """
    directory.mkdir(parents=True, exist_ok=True)
    _write_configs(directory, sizes)
    state = tiny_state_dict(directory, seed=seed, sizes=sizes)
    torch.save(state, directory / "biomedgpt_10b.pth")
    return directory
