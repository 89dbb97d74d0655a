"""Finding and loading BioMedGPT-10B: layout, key checks, dtype, and clear failures."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from biomed_agent.errors import ModelLoadError
from biomed_agent.models.multimodal.loading import (
    CHECKPOINT_PREFIXES,
    load_biomedgpt10b,
    resolve_layout,
)
from tests.helpers.tiny_biomedgpt10b import (
    TinySizes,
    build_tiny_biomedgpt10b,
    published_keys,
)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_biomedgpt10b(tmp_path_factory.mktemp("biomedgpt-10b"))


@pytest.fixture(scope="module")
def saved_state(tiny_dir: Path) -> dict[str, torch.Tensor]:
    return torch.load(tiny_dir / "biomedgpt_10b.pth", weights_only=True)


CHECKPOINT_PREFIXES_AS_MODULES = [prefix.rstrip(".") for prefix in CHECKPOINT_PREFIXES]


def copy_with_state(tiny_dir: Path, target: Path, state: dict[str, torch.Tensor]) -> Path:
    shutil.copytree(tiny_dir / "llm", target / "llm")
    shutil.copytree(tiny_dir / "esm", target / "esm")
    torch.save(state, target / "biomedgpt_10b.pth")
    return target


def test_synthetic_checkpoint_has_the_published_key_layout(
    saved_state: dict[str, torch.Tensor],
) -> None:
    sizes = TinySizes
    assert set(saved_state) == published_keys(sizes.gin_layers, sizes.esm_layers, sizes.llm_layers)


def test_loads_every_weight_and_statistic(
    tiny_dir: Path, saved_state: dict[str, torch.Tensor]
) -> None:
    model = load_biomedgpt10b(tiny_dir, device_map="cpu")
    loaded = model.state_dict()
    for key, value in saved_state.items():
        if not key.endswith(("position_ids", "inv_freq", "position_embeddings.weight")):
            assert torch.equal(loaded[key], value), key
    assert not model.training
    assert all(not p.requires_grad for p in model.parameters())
    assert all(p.device.type == "cpu" for p in model.parameters())  # nothing left on meta
    assert model.mol_structure_encoder.hidden == TinySizes.gin_hidden
    assert len(model.mol_structure_encoder.gnns) == TinySizes.gin_layers
    assert model.tokenizer.pad_token == "[PAD]"
    assert model.llm.config.vocab_size == len(model.tokenizer)


def test_recomputed_buffers_are_rebuilt_not_loaded(tiny_dir: Path) -> None:
    model = load_biomedgpt10b(tiny_dir, device_map="cpu")
    inv_freq = model.prot_structure_encoder.rotary_embeddings.inv_freq
    dim = TinySizes.esm_hidden // TinySizes.esm_heads
    torch.testing.assert_close(inv_freq, 1.0 / 10000 ** (torch.arange(0, dim, 2).float() / dim))


def test_bf16_keeps_the_gin_in_float32(tiny_dir: Path) -> None:
    model = load_biomedgpt10b(tiny_dir, dtype="bf16", device_map="cpu")
    assert model.llm.model.embed_tokens.weight.dtype == torch.bfloat16
    assert model.prot_structure_encoder.embeddings.word_embeddings.weight.dtype == torch.bfloat16
    assert model.proj_mol.weight.dtype == torch.bfloat16
    assert model.mol_structure_encoder.x_embedding1.weight.dtype == torch.float32
    assert model.encode_molecules(["CCO"])[0].dtype == torch.bfloat16


def test_an_explicit_device_map_dispatches_with_accelerate(tiny_dir: Path) -> None:
    placement = {name: "cpu" for name in CHECKPOINT_PREFIXES_AS_MODULES}
    model = load_biomedgpt10b(tiny_dir, device_map=placement)
    assert model.hf_device_map == placement  # set by accelerate's dispatch_model
    assert model.encode_molecules(["CCO"])[0].shape == (3, TinySizes.llm_hidden)


def test_offloading_next_to_gpu_modules_is_refused(
    tiny_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import accelerate

    from biomed_agent.models.multimodal import loading

    mixed = {"llm": 0, "prot_structure_encoder": "cpu", "mol_structure_encoder": "disk"}
    with pytest.raises(
        ModelLoadError, match=r"mol_structure_encoder, prot_structure_encoder on CPU/disk"
    ):
        load_biomedgpt10b(tiny_dir, device_map=mixed)
    # "auto" on a GPU machine whose GPUs are too small: accelerate proposes the same
    monkeypatch.setattr(accelerate, "infer_auto_device_map", lambda *a, **k: mixed)
    model = load_biomedgpt10b(tiny_dir, device_map="cpu")
    with pytest.raises(ModelLoadError, match=r"float32 weights.*does not support offloading"):
        loading._place(model, "auto", torch.float32)


def test_unknown_or_unavailable_devices_are_refused(tiny_dir: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"device_map 'tpu' is not understood"):
        load_biomedgpt10b(tiny_dir, device_map="tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ModelLoadError, match=r"no CUDA GPU is visible"):
            load_biomedgpt10b(tiny_dir, device_map="cuda:0")


def test_a_named_file_finds_openbiomed_sibling_directories(tiny_dir: Path, tmp_path: Path) -> None:
    ckpts = tmp_path / "ckpts"
    shutil.copytree(tiny_dir / "llm", ckpts / "text_ckpts" / "biomedgpt-lm-7b")
    shutil.copytree(tiny_dir / "esm", ckpts / "protein_ckpts" / "esm2-3b")
    (ckpts / "fusion_ckpts").mkdir()
    shutil.copy(tiny_dir / "biomedgpt_10b.pth", ckpts / "fusion_ckpts" / "biomedgpt_10b.pth")
    for named in (ckpts / "fusion_ckpts" / "biomedgpt_10b.pth", ckpts):
        layout = resolve_layout(named)
        assert layout.weights == (ckpts / "fusion_ckpts" / "biomedgpt_10b.pth").resolve()
        assert layout.llm_dir == (ckpts / "text_ckpts" / "biomedgpt-lm-7b").resolve()
        assert layout.esm_dir == (ckpts / "protein_ckpts" / "esm2-3b").resolve()


def test_configs_missing_on_disk_come_from_the_local_hub_cache(
    tiny_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import constants

    cache = tmp_path / "hub"
    snapshot = cache / "models--facebook--esm2_t36_3B_UR50D" / "snapshots" / "abc123"
    shutil.copytree(tiny_dir / "esm", snapshot)
    (snapshot.parent.parent / "refs").mkdir()
    (snapshot.parent.parent / "refs" / "main").write_text("abc123")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    user_dir = tmp_path / "mine"
    shutil.copytree(tiny_dir / "llm", user_dir / "llm")
    shutil.copy(tiny_dir / "biomedgpt_10b.pth", user_dir / "weights.pth")
    layout = resolve_layout(user_dir)
    assert layout.esm_dir == snapshot
    assert layout.weights == (user_dir / "weights.pth").resolve()


def test_missing_path_names_it_and_the_layout(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"does-not-exist.*does not exist.*biomedgpt_10b\.pth"):
        load_biomedgpt10b(tmp_path / "does-not-exist")


def test_directory_without_weights_or_configs_says_what_is_missing(
    tiny_dir: Path, tmp_path: Path
) -> None:
    with pytest.raises(ModelLoadError, match=r"no BioMedGPT-10B weights \(\*\.pth\)"):
        resolve_layout(tmp_path)
    shutil.copy(tiny_dir / "biomedgpt_10b.pth", tmp_path / "biomedgpt_10b.pth")
    shutil.copytree(tiny_dir / "llm", tmp_path / "llm")
    with pytest.raises(ModelLoadError, match=r"no ESM-2 config\.json.*facebook/esm2_t36_3B_UR50D"):
        resolve_layout(tmp_path)


def test_several_weight_files_are_ambiguous(tiny_dir: Path, tmp_path: Path) -> None:
    for name in ("a.pth", "b.pth"):
        shutil.copy(tiny_dir / "biomedgpt_10b.pth", tmp_path / name)
    with pytest.raises(ModelLoadError, match=r"several \.pth files"):
        resolve_layout(tmp_path)


def test_missing_key_is_named(
    tiny_dir: Path, saved_state: dict[str, torch.Tensor], tmp_path: Path
) -> None:
    state = {k: v for k, v in saved_state.items() if k != "proj_prot.bias"}
    with pytest.raises(ModelLoadError, match=r"missing keys: 1 \('proj_prot\.bias'\)"):
        load_biomedgpt10b(copy_with_state(tiny_dir, tmp_path, state), device_map="cpu")


def test_unexpected_key_is_named(
    tiny_dir: Path, saved_state: dict[str, torch.Tensor], tmp_path: Path
) -> None:
    state = {**saved_state, "llm.model.layers.0.self_attn.q_proj.lora_A.weight": torch.zeros(2, 2)}
    with pytest.raises(
        ModelLoadError,
        match=r"unexpected keys: 1 \('llm\.model\.layers\.0\.self_attn\.q_proj\.lora_A\.weight'\)",
    ):
        load_biomedgpt10b(copy_with_state(tiny_dir, tmp_path, state), device_map="cpu")


def test_wrong_shape_names_the_key_and_both_shapes(
    tiny_dir: Path, saved_state: dict[str, torch.Tensor], tmp_path: Path
) -> None:
    state = dict(saved_state)
    state["proj_prot.weight"] = torch.zeros(TinySizes.llm_hidden, TinySizes.esm_hidden + 1)
    hidden, esm = TinySizes.llm_hidden, TinySizes.esm_hidden
    expected = rf"'proj_prot\.weight' has shape \({hidden}, {esm + 1}\).*"
    expected += rf"expects \({hidden}, {esm}\)"
    with pytest.raises(ModelLoadError, match=expected):
        load_biomedgpt10b(copy_with_state(tiny_dir, tmp_path, state), device_map="cpu")


def test_buffers_of_other_transformers_versions_are_optional(
    tiny_dir: Path, saved_state: dict[str, torch.Tensor], tmp_path: Path
) -> None:
    state = {k: v for k, v in saved_state.items() if not k.endswith(("position_ids", "inv_freq"))}
    model = load_biomedgpt10b(copy_with_state(tiny_dir, tmp_path, state), device_map="cpu")
    assert torch.equal(model.proj_mol.weight, saved_state["proj_mol.weight"])


def test_a_plain_llama_checkpoint_is_not_biomedgpt10b(tiny_dir: Path, tmp_path: Path) -> None:
    from transformers import LlamaConfig, LlamaForCausalLM

    llama = LlamaForCausalLM(LlamaConfig.from_pretrained(tiny_dir / "llm"))
    state = dict(llama.state_dict())
    with pytest.raises(
        ModelLoadError, match=r"not a BioMedGPT-10B checkpoint.*'model\.embed_tokens\.weight'"
    ):
        load_biomedgpt10b(copy_with_state(tiny_dir, tmp_path, state), device_map="cpu")


def test_a_file_that_is_not_a_checkpoint(tiny_dir: Path, tmp_path: Path) -> None:
    shutil.copytree(tiny_dir / "llm", tmp_path / "llm")
    shutil.copytree(tiny_dir / "esm", tmp_path / "esm")
    (tmp_path / "biomedgpt_10b.pth").write_text("not a checkpoint")
    with pytest.raises(ModelLoadError, match=r"is not a checkpoint torch can read safely"):
        load_biomedgpt10b(tmp_path, device_map="cpu")


def test_pickled_objects_are_refused_not_executed(tiny_dir: Path, tmp_path: Path) -> None:
    shutil.copytree(tiny_dir / "llm", tmp_path / "llm")
    shutil.copytree(tiny_dir / "esm", tmp_path / "esm")
    torch.save({"model": Path("/etc/passwd")}, tmp_path / "biomedgpt_10b.pth")
    with pytest.raises(ModelLoadError, match=r"torch can read safely"):
        load_biomedgpt10b(tmp_path, device_map="cpu")


def test_a_list_of_tensors_is_not_a_state_dict(tiny_dir: Path, tmp_path: Path) -> None:
    shutil.copytree(tiny_dir / "llm", tmp_path / "llm")
    shutil.copytree(tiny_dir / "esm", tmp_path / "esm")
    torch.save([torch.zeros(2)], tmp_path / "biomedgpt_10b.pth")
    with pytest.raises(ModelLoadError, match=r"holds a list, not a state dict"):
        load_biomedgpt10b(tmp_path, device_map="cpu")


def test_ambiguous_llm_configs_are_refused(tiny_dir: Path, tmp_path: Path) -> None:
    shutil.copytree(tiny_dir, tmp_path / "model")
    shutil.copytree(tiny_dir / "llm", tmp_path / "model" / "another-llama")
    with pytest.raises(ModelLoadError, match=r"several BioMedGPT-LM-7B configs"):
        resolve_layout(tmp_path / "model")


def test_unreadable_config_json_is_skipped(tiny_dir: Path, tmp_path: Path) -> None:
    shutil.copytree(tiny_dir, tmp_path / "model")
    (tmp_path / "model" / "notes").mkdir()
    (tmp_path / "model" / "notes" / "config.json").write_text(json.dumps(["not", "a", "config"]))
    assert resolve_layout(tmp_path / "model").llm_dir == (tmp_path / "model" / "llm").resolve()
