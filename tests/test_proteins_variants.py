"""Variant scores: sign convention, antisymmetry, additivity, windows, bad input."""

from __future__ import annotations

import pytest

from biomed_agent.errors import InvalidMutationError
from biomed_agent.proteins.esm import EsmModel, load_esm
from biomed_agent.proteins.mutations import Mutation, parse_mutations
from biomed_agent.proteins.variants import ScoringMethod, score_variants
from tests.helpers.tiny_esm import random_protein, shared_tiny_esm

SEQUENCE = random_protein(60, seed=11)


@pytest.fixture
def model() -> EsmModel:
    return load_esm(str(shared_tiny_esm()), device="cpu")


def substitution(sequence: str, position: int, mutant: str) -> list[Mutation]:
    return [Mutation(position=position, wild_type=sequence[position - 1], mutant=mutant)]


@pytest.mark.parametrize("method", ["masked_marginal", "wt_marginal"])
def test_sign_convention_on_a_model_that_prefers_alanine(method: str) -> None:
    """The LM head strongly favours A: losing an A is damaging, gaining one is favoured."""
    model = load_esm(str(shared_tiny_esm(favoured_residue="A")), device="cpu")
    sequence = "MKAWAGAA"
    away, towards = score_variants(
        sequence,
        [parse_mutations("A3W"), parse_mutations("W4A")],
        model,
        method=method,  # type: ignore[arg-type]
    )
    assert away.score < -5
    assert towards.score > 5
    assert away.label == "A3W" and away.method == method


def test_masked_marginal_is_antisymmetric(model: EsmModel) -> None:
    """Masking hides the residue, so wt->mt on the wild type is exactly -(mt->wt) on the mutant."""
    mutant = "W" if SEQUENCE[19] != "W" else "C"
    forward = score_variants(SEQUENCE, [substitution(SEQUENCE, 20, mutant)], model)[0]
    mutated = SEQUENCE[:19] + mutant + SEQUENCE[20:]
    backward = score_variants(mutated, [substitution(mutated, 20, SEQUENCE[19])], model)[0]
    assert forward.score == pytest.approx(-backward.score, abs=1e-5)
    assert abs(forward.score) > 1e-3


def test_multi_mutant_is_the_sum_of_its_substitutions(model: EsmModel) -> None:
    first, second = substitution(SEQUENCE, 5, "A"), substitution(SEQUENCE, 40, "W")
    methods: tuple[ScoringMethod, ...] = ("masked_marginal", "wt_marginal")
    for method in methods:
        single_a, single_b, double = score_variants(
            SEQUENCE,
            [first, second, first + second],
            model,
            method=method,
        )
        assert double.per_mutation == pytest.approx((single_a.score, single_b.score), abs=1e-5)
        assert double.score == pytest.approx(single_a.score + single_b.score, abs=1e-5)


def test_methods_differ_but_agree_on_sign_for_the_biased_model() -> None:
    model = load_esm(str(shared_tiny_esm(favoured_residue="A")), device="cpu")
    variants = [parse_mutations("A3G")]
    masked = score_variants("MKAWAGAA", variants, model)[0].score
    fast = score_variants("MKAWAGAA", variants, model, method="wt_marginal")[0].score
    assert masked != pytest.approx(fast, abs=1e-6)
    assert masked < 0 and fast < 0


def test_long_sequence_scores_inside_the_most_central_window(model: EsmModel) -> None:
    sequence = random_protein(140, seed=5)  # windows of 50, overlap 20: starts 0, 30, 60, 90
    position = 100  # most central in window 60..110
    mutant = "W" if sequence[position - 1] != "W" else "C"
    windowed = score_variants(
        sequence, [substitution(sequence, position, mutant)], model, window=50, overlap=20
    )[0]
    crop = sequence[60:110]
    direct = score_variants(crop, [substitution(crop, position - 60, mutant)], model)[0]
    assert windowed.score == pytest.approx(direct.score, abs=1e-5)


def test_wild_type_mismatch_and_out_of_range(model: EsmModel) -> None:
    wrong = "A" if SEQUENCE[0] != "A" else "C"
    with pytest.raises(InvalidMutationError, match=f"position 1 is {wrong}, but the sequence has"):
        score_variants(SEQUENCE, [parse_mutations(f"{wrong}1G")], model)
    with pytest.raises(InvalidMutationError, match="points past the end"):
        score_variants(SEQUENCE, [parse_mutations("A61G")], model)
    with pytest.raises(InvalidMutationError, match="no variants given"):
        score_variants(SEQUENCE, [], model)
    with pytest.raises(InvalidMutationError, match="unknown scoring method 'best'"):
        score_variants(SEQUENCE, [substitution(SEQUENCE, 1, "W")], model, method="best")  # type: ignore[arg-type]


def test_wt_marginal_on_a_long_sequence_reads_the_owning_window(model: EsmModel) -> None:
    sequence = random_protein(140, seed=6)
    position = 20  # most central in the first window, 0..50
    mutant = "W" if sequence[position - 1] != "W" else "C"
    variant = [substitution(sequence, position, mutant)]
    windowed = score_variants(
        sequence, variant, model, method="wt_marginal", window=50, overlap=20
    )[0]
    direct = score_variants(sequence[:50], variant, model, method="wt_marginal")[0]
    assert windowed.score == pytest.approx(direct.score, abs=1e-5)
