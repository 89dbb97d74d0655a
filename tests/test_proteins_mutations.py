"""Mutation notation: one-letter, multi-mutant, HGVS; checks against the sequence."""

from __future__ import annotations

import pytest

from biomed_agent.errors import InvalidMutationError
from biomed_agent.proteins.mutations import Mutation, check_mutations, parse_mutations

SEQUENCE = "MKTAYIAKQR"


@pytest.mark.parametrize(
    ("notation", "expected"),
    [
        ("A4G", ["A4G"]),
        ("a4g", ["A4G"]),
        ("A4G:Y5W", ["A4G", "Y5W"]),
        ("A4G, Y5W;K8R", ["A4G", "Y5W", "K8R"]),
        ("p.Ala4Gly", ["A4G"]),
        ("p.(Ala4Gly)", ["A4G"]),
        ("p.[Ala4Gly;Tyr5Trp]", ["A4G", "Y5W"]),
        ("p.A4G", ["A4G"]),
        (["A4G", "Y5W"], ["A4G", "Y5W"]),
    ],
)
def test_notations_parse(notation: str | list[str], expected: list[str]) -> None:
    assert [str(m) for m in parse_mutations(notation)] == expected


def test_mutation_fields_are_one_based() -> None:
    (mutation,) = parse_mutations("p.Lys2Arg")
    assert mutation == Mutation(position=2, wild_type="K", mutant="R")
    assert mutation.index == 1


@pytest.mark.parametrize(
    ("notation", "fragment"),
    [
        ("", "mutations is empty"),
        ("A4", "'A4' does not parse"),
        ("4G", "'4G' does not parse"),
        ("A0G", "positions are 1-based"),
        ("A4A", "does not change the residue"),
        ("A4*", "stop codons are not scored"),
        ("p.Ala4_Gly5del", "is not a substitution"),
        ("p.Ala4fs", "is not a substitution"),
        ("p.Ala4Ter", "stop codons are not scored"),
        ("p.Ala4=", "synonymous"),
        ("A4J", "'J' is not one of the 20 standard amino acids"),
        ("p.Ala4Xyz", "'XYZ' is not one of the 20 standard amino acids"),
        ("p.Ala4del", "is not a substitution"),
        ("A4G:A4C", "changes position 4 twice"),
    ],
)
def test_bad_notation_is_an_invalid_mutation(notation: str, fragment: str) -> None:
    with pytest.raises(InvalidMutationError) as info:
        parse_mutations(notation)
    assert fragment in info.value.message
    assert info.value.input_name == "mutations"


def test_position_beyond_sequence() -> None:
    with pytest.raises(InvalidMutationError, match=r"A11G points past the end .* has 10 residues"):
        check_mutations(SEQUENCE, parse_mutations("K2R:A11G"))


def test_wild_type_mismatch_names_actual_residue() -> None:
    with pytest.raises(InvalidMutationError) as info:
        check_mutations(SEQUENCE, parse_mutations("G4A"))
    assert "position 4 is G, but the sequence has A there" in info.value.message
    assert "'MKTAYIA'" in info.value.message


def test_matching_mutations_pass() -> None:
    check_mutations(SEQUENCE, parse_mutations("M1V:R10K"))
