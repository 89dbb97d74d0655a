"""The pattern-fingerprint pre-screen gives exactly RDKit's unscreened results."""

from __future__ import annotations

import csv
import json
import os
from importlib import resources

import pytest
from rdkit import Chem, RDConfig
from rdkit.Chem import QED
from rdkit.Chem.FilterCatalog import FilterCatalogEntry, SmartsMatcher

from biomed_agent import molecules as bm
from biomed_agent.molecules.alerts import _screening_query
from biomed_agent.molecules.screening import PatternScreen, pattern_bits


def real_molecules() -> list[Chem.Mol]:
    """Approved drugs from the demo data and 150 WEHI screening compounds shipped by RDKit
    (the set RDKit tests its PAINS filters on, rich in alert-bearing structures)."""
    text = resources.files("biomed_agent").joinpath("data/demo_drugs.json").read_text()
    smiles = [drug["smiles"] for drug in json.loads(text)["drugs"]]
    path = os.path.join(RDConfig.RDDataDir, "Pains", "test_data", "wehi_mols.csv")
    with open(path, newline="") as handle:
        smiles += [row[0] for _, row in zip(range(150), csv.reader(handle), strict=False)]
    with bm.quiet_rdkit():
        return [m for m in map(Chem.MolFromSmiles, smiles) if m is not None]


MOLECULES = real_molecules()


def test_screened_alerts_equal_filter_catalog_get_matches() -> None:
    catalog = bm.alert_catalog()
    flagged = 0
    for mol in MOLECULES:
        entries = catalog.GetMatches(mol)
        expected = {
            "pains": sorted(
                {e.GetDescription() for e in entries if e.GetProp("FilterSet").startswith("PAINS")}
            ),
            "brenk": sorted(
                {e.GetDescription() for e in entries if e.GetProp("FilterSet") == "Brenk"}
            ),
        }
        assert bm.structural_alerts(mol) == expected, Chem.MolToSmiles(mol)
        flagged += bool(expected["pains"])
    assert flagged >= 5  # the sample really exercises PAINS matches


def test_screened_qed_equals_rdkit_qed() -> None:
    with bm.quiet_rdkit():
        for mol in MOLECULES:
            assert bm.compute_properties(mol)["qed"] == round(QED.qed(mol), 4)


def test_every_catalog_entry_gets_a_screening_pattern() -> None:
    catalog = bm.alert_catalog()
    queries = [_screening_query(catalog.GetEntryWithIdx(i)) for i in range(catalog.GetNumEntries())]
    assert len(queries) == 585 and all(query is not None for query in queries)


def test_entries_that_match_zero_occurrences_are_never_screened_out() -> None:
    anything = FilterCatalogEntry("no nitrogen needed", SmartsMatcher("n", "[#7]", 0))
    needs_one = FilterCatalogEntry("nitrogen", SmartsMatcher("n", "[#7]", 1))
    assert _screening_query(anything) is None
    query = _screening_query(needs_one)
    assert query is not None and Chem.MolToSmarts(query) == "[#7]"


def test_pattern_screen_keeps_possible_matches_and_unknown_queries() -> None:
    screen = PatternScreen([Chem.MolFromSmarts("c1ccccc1"), Chem.MolFromSmarts("C#N"), None])
    assert screen.candidates(pattern_bits(Chem.MolFromSmiles("Oc1ccccc1"))) == [0, 2]
    assert screen.candidates(pattern_bits(Chem.MolFromSmiles("CCC#N"))) == [1, 2]


@pytest.mark.parametrize("smiles", ["CCO", "[H][H]"])
def test_explicit_hydrogens_do_not_change_results(
    smiles: str, capfd: pytest.CaptureFixture[str]
) -> None:
    implicit = Chem.MolFromSmiles(smiles)
    explicit = Chem.AddHs(implicit)
    assert bm.profile(explicit) == bm.profile(implicit)
    assert capfd.readouterr().err == ""
