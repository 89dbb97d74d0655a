"""Sequence parsing, the alphabet contract, ESM tokens and ProtParam properties."""

from __future__ import annotations

import pytest

from biomed_agent.errors import InvalidSequenceError
from biomed_agent.proteins.properties import compute_properties
from biomed_agent.proteins.sequences import (
    ESM_VOCABULARY,
    esm_token_ids,
    parse_fasta,
    parse_record,
    parse_sequence,
    parse_sequences,
)

UBIQUITIN = "MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG"


def test_raw_sequence_is_uppercased_and_unwrapped() -> None:
    assert parse_sequence("mkta yiak\nqr\n") == "MKTAYIAKQR"


def test_one_trailing_stop_is_dropped() -> None:
    assert parse_sequence("MKTA*") == "MKTA"


@pytest.mark.parametrize("code", ["X", "B", "Z", "U", "O"])
def test_nonstandard_codes_are_accepted(code: str) -> None:
    assert parse_sequence(f"MK{code}A") == f"MK{code}A"


def test_fasta_many_records_keep_ids_and_descriptions() -> None:
    text = ">sp|P1|ONE first protein\nMKT\nAYI\n; a comment\n\n>two\nGGGG\n"
    records = parse_fasta(text)
    assert [(r.id, r.description, r.sequence) for r in records] == [
        ("sp|P1|ONE", "first protein", "MKTAYI"),
        ("two", "", "GGGG"),
    ]
    assert parse_sequences(text) == records


def test_single_record_fasta_is_a_sequence() -> None:
    assert parse_sequence(">p\nMKTA\n") == "MKTA"
    assert parse_record(">p desc\nMKTA").id == "p"
    assert parse_record("MKTA", name="query").id == "query"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "sequence is empty"),
        ("   \n", "sequence is empty"),
        ("*", "sequence is empty"),
        ("MKT1A", "'1' at position 4, a digit"),
        ("MK-TA", "'-' at position 3, an alignment gap"),
        ("MK*TA", "'*' at position 3, a stop codon inside"),
        ("MKJA", "'J' at position 3, not an amino-acid code"),
        ("MKTA!", "'!' at position 5"),
    ],
)
def test_bad_raw_sequences_name_the_problem(text: str, fragment: str) -> None:
    with pytest.raises(InvalidSequenceError) as info:
        parse_sequence(text)
    assert fragment in info.value.message
    assert info.value.input_name == "sequence"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (">only_header\n", "record 'only_header' in sequence has a header but no sequence lines"),
        (">a\nMKT\n>b\n\n", "record 'b'"),
        (">a\nMK1T\n", "record 'a'"),
    ],
)
def test_bad_fasta_names_the_record(text: str, fragment: str) -> None:
    with pytest.raises(InvalidSequenceError) as info:
        parse_sequences(text)
    assert fragment in info.value.message


def test_non_text_is_rejected() -> None:
    with pytest.raises(InvalidSequenceError, match="sequence must be text"):
        parse_sequence(None)  # type: ignore[arg-type]


def test_text_before_first_header_is_rejected() -> None:
    with pytest.raises(InvalidSequenceError, match=r"line 1 .* before any '>' header"):
        parse_fasta("MKTA\n>a\nGG")


def test_several_records_where_one_is_expected() -> None:
    with pytest.raises(InvalidSequenceError, match="holds 2 FASTA records"):
        parse_sequence(">a\nMK\n>b\nGG")


def test_esm_vocabulary_matches_fair_esm() -> None:
    import esm

    alphabet = esm.Alphabet.from_architecture("ESM-1b")
    assert list(ESM_VOCABULARY) == alphabet.all_toks
    batch_converter = alphabet.get_batch_converter()
    _, _, tokens = batch_converter([("p", "MKUXA")])
    assert esm_token_ids("MKUXA") == tokens[0].tolist()
    masked = esm_token_ids("MKUXA", mask=[1])
    assert masked[2] == alphabet.mask_idx
    assert masked[:2] + masked[3:] == tokens[0].tolist()[:2] + tokens[0].tolist()[3:]


def test_ubiquitin_properties_match_expasy() -> None:
    values = compute_properties(UBIQUITIN).to_dict()
    assert values["length"] == 76
    assert values["molecular_weight"] == pytest.approx(8564.84, abs=0.2)  # ExPASy ProtParam
    assert values["isoelectric_point"] == pytest.approx(6.56, abs=0.01)
    assert values["gravy"] == pytest.approx(-0.489, abs=0.001)
    assert values["aromaticity"] == pytest.approx(3 / 76, abs=1e-4)  # F4, F45, Y59
    assert values["extinction_coefficient_reduced"] == 1490  # one Tyr, no Trp
    assert values["extinction_coefficient_cystines"] == 1490  # no Cys
    assert values["instability_index"] < 40
    assert values["stable"] is True
    assert values["nonstandard_residues"] == {} and values["undefined"] == {}


def test_extinction_counts_cystines() -> None:
    values = compute_properties("WCYC").to_dict()
    assert values["extinction_coefficient_reduced"] == 5500 + 1490
    assert values["extinction_coefficient_cystines"] == 5500 + 1490 + 125


def test_selenocysteine_keeps_mass_but_not_hydropathy() -> None:
    values = compute_properties("MKUW").to_dict()
    assert values["nonstandard_residues"] == {"U": 1}
    cysteine_mass = compute_properties("MKCW").molecular_weight
    assert cysteine_mass is not None and values["molecular_weight"] > cysteine_mass
    assert values["gravy"] is None and values["instability_index"] is None
    assert values["stable"] is None
    assert "Kyte-Doolittle" in values["undefined"]["gravy"]
    assert values["extinction_coefficient_reduced"] == 5500


def test_unknown_residue_leaves_composition_values_undefined() -> None:
    values = compute_properties("MKXW").to_dict()
    for name in ("molecular_weight", "isoelectric_point", "gravy", "aromaticity"):
        assert values[name] is None
        assert "contains X" in values["undefined"][name]
    assert values["length"] == 4
