"""Embeddings with a tiny random ESM-2: shapes, determinism, batching, windows, store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from biomed_agent.errors import InvalidQueryError, InvalidSequenceError, StoreError
from biomed_agent.proteins.embeddings import embed_sequences
from biomed_agent.proteins.esm import EsmModel, load_esm
from biomed_agent.proteins.similarity import cosine_similarities, top_k
from biomed_agent.proteins.store import EmbeddingStore
from tests.helpers.tiny_esm import random_protein, shared_tiny_esm

SEQUENCES = [random_protein(n, seed) for seed, n in enumerate((7, 60, 23, 140, 41))]


@pytest.fixture
def model() -> EsmModel:
    return load_esm(str(shared_tiny_esm()), device="cpu")


def test_shapes_and_layers(model: EsmModel) -> None:
    embeddings = embed_sequences(SEQUENCES, model)
    assert [e.per_residue.shape for e in embeddings] == [(len(s), 32) for s in SEQUENCES]
    assert all(e.per_residue.dtype == np.float32 for e in embeddings)
    assert all(e.mean.shape == (32,) and e.layer == 2 and e.windows == 1 for e in embeddings)
    np.testing.assert_allclose(
        embeddings[1].mean, embeddings[1].per_residue.mean(axis=0), atol=1e-6
    )
    first_layer = embed_sequences(SEQUENCES[:1], model, layer=1)[0]
    assert first_layer.layer == 1
    assert not np.allclose(first_layer.per_residue, embeddings[0].per_residue)


def test_embeddings_are_deterministic(model: EsmModel) -> None:
    """Equal up to float rounding: measured batch sizes may group rows differently."""
    first = embed_sequences(SEQUENCES, model)
    second = embed_sequences(SEQUENCES, model)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_allclose(a.per_residue, b.per_residue, atol=1e-5)


def test_per_residue_vectors_equal_fair_esm_own_forward(model: EsmModel) -> None:
    """Outside reference: fair-esm's batch converter and forward, row i = residue i.

    A shift by one token (``<cls>`` kept, last residue dropped) would fail here.
    """
    import esm
    import torch

    convert = esm.Alphabet.from_architecture("ESM-1b").get_batch_converter()
    model.tuner.reset()
    for _ in range(2):  # cold, then with measured batch sizes
        ours = embed_sequences([*SEQUENCES, *SEQUENCES[:3]], model, token_budget=300)
        for sequence, embedding in zip([*SEQUENCES, *SEQUENCES[:3]], ours, strict=True):
            _, _, tokens = convert([("x", sequence)])
            with torch.no_grad():
                reference = model.module(tokens, repr_layers=[2])["representations"][2]
            expected = reference[0, 1 : len(sequence) + 1].numpy()
            np.testing.assert_allclose(embedding.per_residue, expected, atol=1e-5)
            assert not np.allclose(embedding.per_residue[1:], expected[:-1], atol=1e-3)


def test_batched_equals_one_at_a_time_in_input_order(model: EsmModel) -> None:
    batched = embed_sequences(SEQUENCES, model, token_budget=400)  # several multi-row batches
    for sequence, embedding in zip(SEQUENCES, batched, strict=True):
        alone = embed_sequences([sequence], model, token_budget=10_000)[0]
        np.testing.assert_allclose(embedding.per_residue, alone.per_residue, atol=1e-5)


def test_residue_depends_on_context(model: EsmModel) -> None:
    """The model is a transformer, not a lookup table: one change moves other residues."""
    wild = embed_sequences([SEQUENCES[1]], model)[0].per_residue
    mutant_sequence = (
        SEQUENCES[1][:30] + ("A" if SEQUENCES[1][30] != "A" else "G") + SEQUENCES[1][31:]
    )
    mutant = embed_sequences([mutant_sequence], model)[0].per_residue
    assert not np.allclose(wild[0], mutant[0])


def test_long_sequence_uses_overlapping_windows(model: EsmModel) -> None:
    sequence = SEQUENCES[3]  # 140 residues; windows of 50 with overlap 20 -> starts 0, 30, 60, 90
    windowed = embed_sequences([sequence], model, window=50, overlap=20)[0]
    assert windowed.windows == 4 and windowed.per_residue.shape == (140, 32)
    # residues 0..34 are most central in the first window: identical to embedding that crop
    crop = embed_sequences([sequence[:50]], model)[0].per_residue
    np.testing.assert_allclose(windowed.per_residue[:35], crop[:35], atol=1e-5)
    # the last residues come from the window aligned to the end
    tail = embed_sequences([sequence[90:]], model)[0].per_residue
    np.testing.assert_allclose(windowed.per_residue[-20:], tail[-20:], atol=1e-5)
    whole = embed_sequences([sequence], model)[0].per_residue
    assert not np.allclose(windowed.per_residue[40:100], whole[40:100])


def test_bad_inputs(model: EsmModel) -> None:
    with pytest.raises(InvalidSequenceError, match=r"sequences\[1\] has '1' at position 3"):
        embed_sequences(["MKT", "MK1"], model)
    with pytest.raises(InvalidQueryError, match="window 2000 cannot work"):
        embed_sequences(["MKT"], model, window=2000)
    with pytest.raises(InvalidQueryError, match="layer 3 does not exist"):
        embed_sequences(["MKT"], model, layer=3)
    assert embed_sequences([], model) == []


def test_store_writes_once_and_reuses(model: EsmModel, tmp_path: Path) -> None:
    store = EmbeddingStore(tmp_path / "embeddings", model)
    first = store.embed([SEQUENCES[0], SEQUENCES[2], SEQUENCES[0].lower()])
    assert [e.cached for e in first] == [False, False, False]
    assert first[0].mean_path == first[2].mean_path  # same sequence, one file
    assert first[0].mean_path.parent == tmp_path / "embeddings" / model.identity / (
        "layer2-window1022-overlap256"
    )
    per_residue = np.load(first[0].per_residue_path)
    expected = embed_sequences([SEQUENCES[0]], model)[0]
    np.testing.assert_allclose(per_residue, expected.per_residue, atol=1e-6)
    np.testing.assert_allclose(np.load(first[0].mean_path), expected.mean, atol=1e-6)
    again = store.embed([SEQUENCES[2]])
    assert again[0].cached and again[0].mean_path == first[1].mean_path
    assert not list(first[0].mean_path.parent.glob(".*"))  # no temporary files left


def test_similarity_ranks_identical_sequence_first(model: EsmModel) -> None:
    vectors = np.stack([e.mean for e in embed_sequences(SEQUENCES, model)])
    ranking = top_k(vectors[3], vectors, k=2)
    assert ranking[0][0] == 3 and ranking[0][1] == pytest.approx(1.0, abs=1e-6)
    assert ranking[1][1] < 1.0


def test_cosine_and_top_k_contract() -> None:
    candidates = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [1.0, 0.0], [0.0, 0.0]])
    np.testing.assert_allclose(
        cosine_similarities(np.array([2.0, 0.0]), candidates), [1, 0, -1, 1, 0]
    )
    assert top_k(np.array([1.0, 0.0]), candidates, k=3) == [(0, 1.0), (3, 1.0), (1, 0.0)]
    assert len(top_k(np.array([1.0, 0.0]), candidates, k=50)) == 5
    with pytest.raises(InvalidQueryError, match="k=0"):
        top_k(np.array([1.0, 0.0]), candidates, k=0)
    with pytest.raises(InvalidQueryError, match="dimension 3"):
        cosine_similarities(np.ones(3), candidates)


def test_half_precision_gives_float32_vectors_close_to_fp32(model: EsmModel) -> None:
    half = load_esm(str(shared_tiny_esm()), device="cpu", dtype="bf16")
    reference = embed_sequences(SEQUENCES[:2], model)
    lowered = embed_sequences(SEQUENCES[:2], half)
    for a, b in zip(reference, lowered, strict=True):
        assert b.per_residue.dtype == np.float32
        assert np.corrcoef(a.per_residue.ravel(), b.per_residue.ravel())[0, 1] > 0.99


def test_unwritable_store_is_a_store_error(model: EsmModel, tmp_path: Path) -> None:
    blocker = tmp_path / "embeddings"
    blocker.write_text("a file where the store directory should be")
    with pytest.raises(StoreError, match=r"cannot write embedding file .* BIOMED_DATA_DIR"):
        EmbeddingStore(blocker, model).embed(["MKT"])
