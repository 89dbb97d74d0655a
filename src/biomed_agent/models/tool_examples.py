"""Fixed demonstrations of the project's tools, shown under the tool catalogue.

A small model chooses a tool and copies its argument far more reliably after seeing
one request per offered tool answered in the exact call format (in-context
demonstrations). These were written for the package's own tools; they share no
request, wording template or entity with the evaluation prompt sets
(tests/fixtures/tool_prompts). Only the demonstrations of the tools offered in a
call are shown, one line each (about 30 tokens per tool); tools without one (a
user's own tools) are simply not demonstrated.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

__all__ = ["TOOL_EXAMPLES", "TOOL_REQUESTS", "examples_text", "tool_requests"]

TOOL_EXAMPLES: dict[str, tuple[str, dict[str, object]]] = {
    "molecule_properties": ("What is the logP of CC(C)O?", {"smiles": "CC(C)O"}),
    "drug_likeness": ("Could COC1=CC=CC=C1O be an oral drug?", {"smiles": "COC1=CC=CC=C1O"}),
    "molecule_similarity": (
        "Which of CCCl and CCBr is most like CCF?",
        {"query": "CCF", "candidates": ["CCCl", "CCBr"]},
    ),
    "substructure_search": (
        "Do CCS or CCN contain the pattern [SX2H]?",
        {"smarts": "[SX2H]", "candidates": ["CCS", "CCN"]},
    ),
    "protein_properties": (
        "Net charge of the chain MKWVTFISLLFLFSSAYS?",
        {"sequence": "MKWVTFISLLFLFSSAYS"},
    ),
    "variant_effect": (
        "Effect of G2A on MGSSHHHHHHSSG?",
        {"sequence": "MGSSHHHHHHSSG", "mutations": "G2A"},
    ),
    "protein_similarity": (
        "Is MKVLAAGIV closer to MKVLSAGIV or MRRLLAG?",
        {"query": "MKVLAAGIV", "candidates": ["MKVLSAGIV", "MRRLLAG"]},
    ),
    "protein_embedding": ("Embed MSTNPKPQRKTKRN with ESM-2", {"sequence": "MSTNPKPQRKTKRN"}),
    "pubchem_lookup": ("PubChem entry of naloxone, please", {"query": "naloxone"}),
    "uniprot_lookup": ("UniProt record for MTOR", {"query": "MTOR"}),
    "pubmed_search": ("Papers on ketamine for depression", {"query": "ketamine for depression"}),
    "knowledge_search": ("What did I save about heparin?", {"query": "heparin"}),
    "target_ligands": ("Which ligands does HDAC1 have?", {"target": "HDAC1"}),
    "similar_compounds": ("Analogs of ketoprofen in PubChem", {"query": "ketoprofen"}),
    "compound_bioactivity": ("Assays where rapamycin was active", {"query": "rapamycin"}),
    "compound_safety": ("Hazards of acetonitrile", {"query": "acetonitrile"}),
    "profile_molecules": (
        "Rank CCN, CCS and CCF for drug-likeness",
        {"molecules": ["CCN", "CCS", "CCF"]},
    ),
}
"""Tool name -> (a request, the arguments of its call)."""


TOOL_REQUESTS: dict[str, tuple[str, ...]] = {
    "molecule_properties": (
        "Calculate molar mass, formula and logP from a SMILES",
        "Compute TPSA, H-bond donors and ring count for a structure",
        "Physicochemical descriptors of a molecule from its SMILES string",
    ),
    "drug_likeness": (
        "Does this molecule pass Lipinski's rules?",
        "Check a structure for PAINS alerts and Veber violations",
        "Is this structure drug-like?",
    ),
    "molecule_similarity": (
        "Rank these SMILES by Tanimoto similarity to a reference molecule",
        "Which candidate structure is closest to the query molecule?",
        "Fingerprint similarity between a query SMILES and a list of molecules",
    ),
    "substructure_search": (
        "Which of these molecules contain a given SMARTS pattern?",
        "Find the candidates that have a carboxylic acid group",
        "Match a substructure query against a list of SMILES",
    ),
    "protein_properties": (
        "Isoelectric point and mass for an amino-acid sequence",
        "Compute GRAVY and instability index for a protein sequence",
        "280 nm extinction coefficient for a peptide chain",
    ),
    "variant_effect": (
        "Predict whether these point mutations damage the protein",
        "Score amino-acid substitutions in a sequence with a language model",
        "Is a missense change in this sequence tolerated?",
    ),
    "protein_similarity": (
        "Rank candidate protein sequences by similarity to a query sequence",
        "Which of these proteins is most similar to the reference chain?",
        "Embedding similarity between a query protein and candidates",
    ),
    "protein_embedding": (
        "Compute and save the ESM-2 embedding vector of a sequence",
        "Get per-residue representations of a protein chain",
        "Store a protein language model embedding on disk",
    ),
    "pubchem_lookup": (
        "Look up a drug's PubChem record: CID, synonyms and IUPAC name",
        "Identifiers and description of a chemical from PubChem",
        "Get a drug's PubChem summary by its name",
    ),
    "uniprot_lookup": (
        "Fetch a gene's UniProt record and its function",
        "Which protein has this UniProt accession and where is it located?",
        "Look up a human protein's record in UniProtKB",
    ),
    "pubmed_search": (
        "Find recent articles about a treatment in PubMed",
        "Literature on treating a disease, from PubMed",
        "Which publications report trials of this therapy?",
    ),
    "knowledge_search": (
        "Search the papers I ingested for a topic",
        "Anything in my saved papers and notes on a topic?",
        "Find passages in my own knowledge base",
    ),
    "target_ligands": (
        "Which ligands are reported for this protein target?",
        "List compounds that bind or inhibit a given receptor",
        "Known inhibitors of an enzyme from DrugBank and PubChem",
    ),
    "similar_compounds": (
        "Find analogs of a drug in PubChem by 2D similarity",
        "Search PubChem for compounds structurally similar to this one",
        "Close analogues of a compound below a molecular weight limit",
    ),
    "compound_bioactivity": (
        "In which bioassays was this compound active, and against which targets?",
        "Targets on which a compound showed activity in PubChem screens",
        "Assay counts and best potency of a compound",
    ),
    "compound_safety": (
        "GHS hazard codes of a chemical",
        "Is this compound toxic or risky to work with?",
        "Hazard pictograms and signal word for a substance",
    ),
    "profile_molecules": (
        "Profile a list of molecules and rank them by drug-likeness",
        "Rank many SMILES by QED and Lipinski rules",
        "Score a batch of PubChem CIDs for drug-likeness",
    ),
}
"""Tool name -> generic requests it answers, for retrieval only (never shown in the prompt).

:func:`biomed_agent.models.tool_selection.select_tools` ranks a tool by the mean of its
description's similarity and its closest request's (the demonstration's request included):
a description says what a tool returns, a request how users ask for it. Written for the
tools, with no entity, request or three-word run shared with either evaluation prompt
set (checked by tests/test_tool_selection.py)."""


def tool_requests(name: str) -> tuple[str, ...]:
    """The demonstration request and the generic requests of ``name`` (empty if none)."""
    shown = (TOOL_EXAMPLES[name][0],) if name in TOOL_EXAMPLES else ()
    return shown + TOOL_REQUESTS.get(name, ())


def examples_text(names: Iterable[str]) -> str:
    """One demonstration line per name that has one: ``request -> call``; empty if none."""
    lines = []
    for name in names:
        if name in TOOL_EXAMPLES:
            request, arguments = TOOL_EXAMPLES[name]
            call = json.dumps({"name": name, "arguments": arguments}, ensure_ascii=False)
            lines.append(f"{request} -> {call}")
    return "\n".join(lines)
