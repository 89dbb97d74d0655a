"""The shared patterns against outside references: UniProt's documented accession
examples, InChIKeys RDKit computes, SMILES RDKit parses, and the lookalikes that are not."""

from __future__ import annotations

import pytest
from rdkit import Chem

from biomed_agent.patterns import (
    INCHIKEY_IN_TEXT,
    STANDARD_AMINO_ACIDS,
    UNIPROT_ACCESSION_IN_TEXT,
    citation_line,
    is_inchikey,
    is_uniprot_accession,
    looks_like_path,
    looks_like_smiles,
)

# https://www.uniprot.org/help/accession_numbers: the examples given there
ACCESSIONS = ["P12345", "Q1AAA9", "O1AAA9", "A0A023GPI8", "P04637", "q9y6k9 "]
NOT_ACCESSIONS = ["P1234", "12345P", "A0A023GPI", "PUBMED", "TP53", "ADORA1", "C00267"]


@pytest.mark.parametrize("text", ACCESSIONS)
def test_uniprot_examples_are_accessions(text: str) -> None:
    assert is_uniprot_accession(text)


@pytest.mark.parametrize("text", NOT_ACCESSIONS)
def test_lookalikes_are_not_accessions(text: str) -> None:
    assert not is_uniprot_accession(text)


def test_accessions_in_text_keep_the_base_of_an_isoform() -> None:
    found = UNIPROT_ACCESSION_IN_TEXT.findall("P30542-2 binds; see also A0A023GPI8 and XP04637")
    assert found == ["P30542", "A0A023GPI8"]


@pytest.mark.parametrize(
    "smiles", ["CC(=O)Oc1ccccc1C(=O)O", "CCO", "c1ccccc1", "C[C@H](N)C(=O)O", "[Na+].[Cl-]"]
)
def test_rdkit_inchikeys_and_smiles_are_recognised(smiles: str) -> None:
    mol = Chem.MolFromSmiles(smiles)
    key = Chem.MolToInchiKey(mol)
    assert is_inchikey(key) and is_inchikey(key.lower())
    assert INCHIKEY_IN_TEXT.findall(f"key {key}.") == [key]
    assert looks_like_smiles(smiles)
    assert looks_like_smiles(Chem.MolToSmiles(mol))


@pytest.mark.parametrize("text", ["aspirin", "C00267", "NO", "2,4-D", "ibuprofen tablets", ""])
def test_names_and_ids_are_not_smiles(text: str) -> None:
    assert not looks_like_smiles(text, min_plain_length=3)


def test_amino_acids_are_biopythons_twenty() -> None:
    from Bio.Data.IUPACData import protein_letters

    assert "".join(sorted(protein_letters)) == STANDARD_AMINO_ACIDS


@pytest.mark.parametrize(
    ("value", "hub_ids", "expected"),
    [
        ("PharMolix/BioMedGPT-LM-7B", True, False),
        ("PharMolix/BioMedGPT-LM-7B", False, True),
        ("esm2_t6_8M_UR50D", False, False),
        ("./models/llama", True, True),
        ("~/weights/esm.pt", False, True),
        ("model.gguf", True, True),
        ("C:\\models\\llm", True, True),
        ("a/b/c", True, True),
    ],
)
def test_paths_and_registry_names(value: str, hub_ids: bool, expected: bool) -> None:
    assert looks_like_path(value, hub_ids=hub_ids) is expected


def test_citation_line() -> None:
    assert citation_line(1, "Aspirin", "https://x.org/2244", None) == (
        "[1] Aspirin — https://x.org/2244"
    )
    assert citation_line(2, "drug_likeness", None, "drug_likeness") == (
        "[2] drug_likeness — computed by tool drug_likeness"
    )
