"""The RDKit molecule toolkit (pure functions): values, batch contract, typed errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rdkit import Chem

from biomed_agent import molecules as bm
from biomed_agent.errors import InvalidMoleculeError, InvalidQueryError, shorten

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"
IMATINIB = "Cc1ccc(NC(=O)c2ccc(CN3CCN(C)CC3)cc2)cc1Nc1nccc(-c2cccnc2)n1"
NILOTINIB = "Cc1cn(-c2cc(NC(=O)c3ccc(C)c(Nc4nccc(-c5cccnc5)n4)c3)cc(C(F)(F)F)c2)cn1"
ATORVASTATIN = "CC(C)c1c(C(=O)Nc2ccccc2)c(-c2ccccc2)c(-c2ccc(F)cc2)n1CC[C@@H](O)C[C@@H](O)CC(=O)O"
# 5-benzylidene rhodanine: the textbook PAINS (ene_rhod) and Michael-acceptor chemotype
BENZYLIDENE_RHODANINE = "O=C1C(=Cc2ccccc2)SC(=S)N1"


def pubchem_props(record: dict[str, Any]) -> dict[str, Any]:
    """PubChem PC_Compounds props as {"Label Name": value}."""
    props = {}
    for prop in record["PC_Compounds"][0]["props"]:
        urn = prop["urn"]
        key = " ".join(part for part in (urn.get("label"), urn.get("name")) if part)
        props[key] = next(iter(prop["value"].values()))
    return props


@pytest.fixture(scope="module")
def aspirin_record() -> dict[str, Any]:
    path = Path(__file__).parent / "fixtures" / "pubchem" / "compound_cid_2244_record.json"
    return pubchem_props(json.loads(path.read_text()))


# --- properties -------------------------------------------------------------------------


def test_aspirin_matches_the_pubchem_record(aspirin_record: dict[str, Any]) -> None:
    smiles = aspirin_record["SMILES Absolute"]
    props = bm.compute_properties(smiles)
    assert props["inchikey"] == aspirin_record["InChIKey Standard"] == "BSYNRYMUTXBXSQ-UHFFFAOYSA-N"
    assert props["inchi"] == aspirin_record["InChI Standard"]
    assert props["formula"] == aspirin_record["Molecular Formula"]
    assert round(props["molecular_weight"], 2) == float(aspirin_record["Molecular Weight"])
    assert props["exact_mass"] == pytest.approx(float(aspirin_record["Mass Exact"]), abs=1e-5)
    assert round(props["tpsa"], 1) == aspirin_record["Topological Polar Surface Area"] == 63.6
    # PubChem's counts are Lipinski's: 1 O-H donor, 4 oxygens as N+O acceptors
    assert props["hbd_lipinski"] == aspirin_record["Count Hydrogen Bond Donor"] == 1
    assert props["hba_lipinski"] == aspirin_record["Count Hydrogen Bond Acceptor"] == 4
    # RDKit's pharmacophore acceptor count leaves out the ester's sp3 oxygen
    assert (props["hbd"], props["hba"]) == (1, 3)


def test_every_contract_key_is_present_with_a_sensible_value() -> None:
    props = bm.compute_properties(IMATINIB)
    assert props == {
        "canonical_smiles": IMATINIB,
        "inchi": props["inchi"],
        "inchikey": "KTUFNOKKBVMGRW-UHFFFAOYSA-N",
        "formula": "C29H31N7O",
        "molecular_weight": pytest.approx(493.6, abs=0.05),
        "exact_mass": pytest.approx(493.259009, abs=1e-5),
        "logp": pytest.approx(4.59, abs=0.01),
        "tpsa": pytest.approx(86.28, abs=0.01),
        "hbd": 2,
        "hba": 7,
        "hbd_lipinski": 2,
        "hba_lipinski": 8,
        "rotatable_bonds": 7,
        "ring_count": 5,
        "aromatic_ring_count": 4,
        "heavy_atom_count": 37,
        "fraction_csp3": pytest.approx(7 / 29, abs=1e-4),
        "formal_charge": 0,
        "qed": pytest.approx(0.389, abs=0.001),
        "sa_score": pytest.approx(2.33, abs=0.01),
    }
    assert str(props["inchi"]).startswith("InChI=1S/C29H31N7O/")


def test_formal_charge_and_sa_score_ranges() -> None:
    assert bm.compute_properties("C[N+](C)(C)C")["formal_charge"] == 1
    assert bm.compute_properties("CC(=O)[O-]")["formal_charge"] == -1
    simple, complex_ = bm.sa_score("CCO"), bm.sa_score(ATORVASTATIN)
    assert 1 <= simple < complex_ <= 10


def test_stereo_and_explicit_hydrogens_are_read_like_rdkit_reads_them() -> None:
    sunitinib = "CCN(CC)CCNC(=O)c1c(C)[nH]c(/C=C2\\C(=O)Nc3ccc(F)cc32)c1C"
    assert bm.to_inchikey(sunitinib) == "WINHZLLDWRZWRT-ATVHPVEESA-N"  # Z double bond kept
    assert bm.to_smiles(sunitinib) == Chem.MolToSmiles(Chem.MolFromSmiles(sunitinib))
    assert bm.to_smiles("[H]OC([H])([H])[H]") == "CO"


def test_the_same_molecule_in_three_notations_gives_the_same_identifiers() -> None:
    mol = Chem.MolFromSmiles(ASPIRIN)
    molblock = Chem.MolToMolBlock(mol)
    inchi = bm.to_inchi(ASPIRIN)
    assert inchi is not None
    for value in (ASPIRIN, "OC(=O)c1ccccc1OC(C)=O", inchi, molblock, mol):
        assert bm.to_smiles(value) == ASPIRIN
        assert bm.to_inchikey(value) == "BSYNRYMUTXBXSQ-UHFFFAOYSA-N"
        assert bm.to_formula(value) == "C9H8O4"


def test_explicit_input_format_and_surrounding_whitespace() -> None:
    assert bm.to_smiles("  CCO\n") == "CCO"
    with pytest.raises(InvalidMoleculeError, match="could not parse InChI"):
        bm.to_mol("CCO", input_format="inchi")


def test_structures_without_inchi_give_none() -> None:
    assert bm.to_inchi("*CC") is None
    assert bm.to_inchikey("*CC") is None
    assert bm.compute_properties("*CC")["inchikey"] is None


# --- drug-likeness ------------------------------------------------------------------------


def test_lipinski_lists_every_violation_and_allows_one() -> None:
    report = bm.drug_likeness(ATORVASTATIN)
    assert report["lipinski"] == {
        "passes": False,
        "violations": [
            {
                "property": "molecular_weight",
                "value": pytest.approx(558.65, abs=0.01),
                "limit": 500,
            },
            {"property": "logp", "value": pytest.approx(6.31, abs=0.01), "limit": 5},
        ],
    }
    assert report["veber"] == {
        "passes": False,
        "violations": [{"property": "rotatable_bonds", "value": 12, "limit": 10}],
    }
    one_violation = bm.lipinski({**bm.compute_properties(IMATINIB), "molecular_weight": 501.0})
    assert one_violation["passes"] is True
    assert [v["property"] for v in one_violation["violations"]] == ["molecular_weight"]


def test_alerts_name_the_matched_pains_and_brenk_filters() -> None:
    alerts = bm.drug_likeness(BENZYLIDENE_RHODANINE)["alerts"]
    assert alerts == {
        "pains": ["ene_rhod_A(235)"],
        "brenk": ["Michael_acceptor_1", "Thiocarbonyl_group"],
    }
    assert bm.structural_alerts(IMATINIB) == {"pains": [], "brenk": []}


def test_drug_likeness_reuses_given_properties() -> None:
    props = bm.compute_properties(IMATINIB)
    doctored = props.copy()
    doctored["qed"] = 0.123
    assert bm.drug_likeness(IMATINIB, doctored)["qed"] == 0.123  # nothing recomputed
    assert bm.drug_likeness(IMATINIB)["qed"] == props["qed"]


def test_summary_states_every_verdict() -> None:
    text = bm.summarise(bm.drug_likeness(ATORVASTATIN))
    assert text.startswith("fails Lipinski (molecular_weight 558.65 > 500, logp 6.3136 > 5)")
    assert "fails Veber (rotatable_bonds 12 > 10)" in text
    assert "no PAINS/Brenk alerts" in text
    assert "PAINS: ene_rhod_A(235)" in bm.summarise(bm.drug_likeness(BENZYLIDENE_RHODANINE))


def test_profile_holds_properties_and_drug_likeness() -> None:
    result = bm.profile(IMATINIB)
    assert result["properties"] == bm.compute_properties(IMATINIB)
    assert result["drug_likeness"] == bm.drug_likeness(IMATINIB)


# --- similarity, substructure, scaffold ---------------------------------------------------


def test_similarity_ranks_closest_analogue_first() -> None:
    panel = ["CCO", ASPIRIN, NILOTINIB, IMATINIB]
    hits = bm.similarity_search(IMATINIB, panel, k=2)
    assert [hit["index"] for hit in hits] == [3, 2]
    assert hits[0] == {"index": 3, "smiles": IMATINIB, "similarity": 1.0}
    assert 0.4 < hits[1]["similarity"] < 0.7


def test_similarity_k_beyond_candidates_returns_all_and_ties_keep_order() -> None:
    hits = bm.similarity_search("CCO", ["OCC", "CCO", "c1ccccc1"], k=10)
    assert [(h["index"], h["similarity"]) for h in hits][:2] == [(0, 1.0), (1, 1.0)]
    assert len(hits) == 3


def test_tanimoto_top_k_on_precomputed_fingerprints() -> None:
    fps = bm.to_fingerprints(["CCO", "CCCO", "c1ccccc1"])
    query = bm.to_fingerprint("CCO")
    ranked = bm.tanimoto_top_k(query, [fp for fp in fps if fp is not None], k=2)
    assert [index for index, _ in ranked] == [0, 1]
    assert ranked[0][1] == 1.0
    assert bm.tanimoto_top_k(query, [], k=3) == []


@pytest.mark.parametrize("k", [0, -1, 2.5, True])
def test_k_must_be_a_positive_integer(k: Any) -> None:
    with pytest.raises(InvalidQueryError, match="k must be a positive integer") as info:
        bm.similarity_search("CCO", ["CCO"], k=k)
    assert info.value.input_name == "k"


def test_fingerprint_parameters_are_checked() -> None:
    assert bm.to_fingerprint("CCO", fp_size=1024).GetNumBits() == 1024
    with pytest.raises(InvalidQueryError, match="fp_size > 0"):
        bm.to_fingerprints(["CCO"], fp_size=0)


def test_substructure_search_reports_indices_and_atoms() -> None:
    hits = bm.substructure_search("c1ccccc1", ["CCO", "Oc1ccccc1", "c1ccccc1Cc1ccccc1"])
    assert hits == [
        {"index": 1, "smiles": "Oc1ccccc1", "match_count": 1, "atom_indices": [[1, 2, 3, 4, 5, 6]]},
        {
            "index": 2,
            "smiles": "c1ccccc1Cc1ccccc1",
            "match_count": 2,
            "atom_indices": [[0, 1, 2, 3, 4, 5], [7, 8, 9, 10, 11, 12]],
        },
    ]
    motif = bm.substructure_search("c1ccc(Nc2ncccn2)cc1", [ASPIRIN, IMATINIB, NILOTINIB])
    assert [hit["index"] for hit in motif] == [1, 2]


@pytest.mark.parametrize("smarts", ["c1ccc(", "[NX3;H2", "C(=O", "", "   "])
def test_bad_smarts_raise_invalid_query(smarts: str, capfd: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(InvalidQueryError, match="SMARTS") as info:
        bm.substructure_search(smarts, ["CCO"])
    assert repr(smarts) in info.value.message
    assert capfd.readouterr().err == ""


def test_long_smarts_is_rejected() -> None:
    with pytest.raises(InvalidQueryError, match="5,000-character limit"):
        bm.to_query("C" * 10_000)


def test_murcko_scaffold() -> None:
    assert bm.murcko_scaffold(ASPIRIN) == "c1ccccc1"
    assert bm.murcko_scaffold(IMATINIB) == "O=C(Nc1cccc(Nc2nccc(-c3cccnc3)n2)c1)c1ccc(CN2CCNCC2)cc1"
    assert bm.murcko_scaffold("CCCO") == ""


# --- depiction ------------------------------------------------------------------------------


def test_svg_and_png_depictions() -> None:
    svg = bm.to_svg(ASPIRIN, width=250, height=200, legend="aspirin")
    assert svg.lstrip().startswith("<?xml") and "</svg>" in svg
    assert "width='250px'" in svg and "height='200px'" in svg
    highlighted = bm.to_svg(ASPIRIN, highlight="C(=O)[OH]")
    assert highlighted != bm.to_svg(ASPIRIN)
    png = bm.to_png(ASPIRIN, width=120, height=90)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert int.from_bytes(png[16:20], "big") == 120 and int.from_bytes(png[20:24], "big") == 90


@pytest.mark.parametrize(("width", "height"), [(0, 100), (100, 10_000), (True, 100)])
def test_depiction_size_is_checked(width: Any, height: int) -> None:
    with pytest.raises(InvalidQueryError, match="pixels"):
        bm.to_png("CCO", width=width, height=height)


# --- bad molecules: one contract ------------------------------------------------------------

BAD_MOLECULES = [
    ("C1CC", "syntax error"),  # unclosed ring
    ("CC(C", "syntax error"),
    ("Xx", "syntax error"),
    ("N(C)(C)(C)(C)C", "valence error"),  # five-valent neutral nitrogen
    ("C(C)(C)(C)(C)C", "valence error"),
    ("c1cccc1", "aromaticity error"),
    ("", "empty molecule"),
    ("   \n\t", "empty molecule"),
    ("C" * 10_000, "5,000-character limit"),
    ("InChI=1S/garbage", "could not parse InChI"),
    ("CCO ethanol", "whitespace"),
]


@pytest.mark.parametrize(("value", "reason"), BAD_MOLECULES)
def test_bad_molecules_raise_named_errors_without_rdkit_noise(
    value: str, reason: str, capfd: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(InvalidMoleculeError, match=reason) as info:
        bm.compute_properties(value)
    assert shorten(value) in info.value.message  # the 10,000-char one as "'CCC…' (10000 chars)"
    assert info.value.input_name == shorten(value)
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""


@pytest.mark.parametrize("value", [None, 5, ["CCO"], b"CCO"])
def test_non_strings_are_invalid_molecules(value: Any) -> None:
    with pytest.raises(InvalidMoleculeError, match="must be a SMILES/InChI/molblock string"):
        bm.to_mol(value)


def test_empty_rdkit_mol_and_bad_molblock() -> None:
    with pytest.raises(InvalidMoleculeError, match="no atoms"):
        bm.to_mol(Chem.Mol())
    with pytest.raises(InvalidMoleculeError, match="could not parse molblock"):
        bm.to_mol("\n  junk\n\n  1  0  0  0  0  0  0  0  0  0999 V2000\nM  END\n")
    with pytest.raises(InvalidMoleculeError, match=r"molblock .* has no atoms"):
        bm.to_mol("\n  empty\n\n  0  0  0  0  0  0  0  0  0  0999 V2000\nM  END\n")


def test_undefined_stereo_inchi_warning_stays_off_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    assert bm.compute_properties("CC(F)C(Cl)Br")["inchikey"] is not None
    assert capfd.readouterr().err == ""


# --- batch contract -------------------------------------------------------------------------


def test_batch_raise_names_the_item_and_its_index() -> None:
    with pytest.raises(InvalidMoleculeError, match=r"molecule 1 \(counting from 0\) of 3") as info:
        bm.compute_many_properties(["CCO", "C1CC", "CCN"])
    assert "'C1CC'" in info.value.message
    assert info.value.input_name == "'C1CC'"


def test_batch_skip_keeps_results_aligned() -> None:
    results = bm.compute_many_properties(["CCO", "C1CC", "CCN"], on_error="skip")
    assert [r["canonical_smiles"] if r else None for r in results] == ["CCO", None, "CCN"]


def test_batch_with_two_workers_equals_single_process() -> None:
    mols = [ASPIRIN, IMATINIB, "bad(", NILOTINIB, ATORVASTATIN, "CCO"]
    serial = bm.profile_many(mols, on_error="skip")
    parallel = bm.profile_many(mols, n_jobs=2, on_error="skip")
    assert parallel == serial
    assert serial[2] is None and serial[1] == bm.profile(IMATINIB)
    with pytest.raises(InvalidMoleculeError, match=r"molecule 2 \(counting from 0\) of 6"):
        bm.profile_many(mols, n_jobs=2)


def test_batch_progress_bar_goes_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    assert len(bm.to_fingerprints(["CCO", "CCN"], progress=True)) == 2
    assert "2/2" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_jobs": 0}, "n_jobs must be a positive integer or -1"),
        ({"n_jobs": -2}, "n_jobs must be a positive integer or -1"),
        ({"on_error": "ignore"}, "on_error must be 'raise' or 'skip'"),
    ],
)
def test_batch_arguments_are_checked(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidQueryError, match=message):
        bm.compute_many_properties(["CCO"], **kwargs)


def test_similarity_and_substructure_name_bad_candidates_or_skip_them() -> None:
    with pytest.raises(InvalidMoleculeError, match=r"candidate 1 \(counting from 0\) of 2"):
        bm.similarity_search("CCO", ["CCO", "C1CC"])
    assert [h["index"] for h in bm.similarity_search("CCO", ["C1CC", "CCO"], on_error="skip")] == [
        1
    ]
    with pytest.raises(InvalidMoleculeError, match=r"candidate 0 \(counting from 0\) of 1"):
        bm.substructure_search("C", ["N(C)(C)(C)(C)C"])
    assert bm.substructure_search("O", ["C1CC", "CCO"], on_error="skip")[0]["index"] == 1


def test_missing_sa_score_contrib_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from rdkit import RDConfig

    from biomed_agent.errors import ConfigurationError
    from biomed_agent.molecules.descriptors import _sascorer

    monkeypatch.setattr(RDConfig, "RDContribDir", str(tmp_path))
    _sascorer.cache_clear()
    try:
        with pytest.raises(ConfigurationError, match="SA_Score contrib module is missing"):
            bm.sa_score("CCO")
    finally:
        monkeypatch.undo()
        _sascorer.cache_clear()
    assert bm.sa_score("CCO") == pytest.approx(1.98, abs=0.01)
