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

__all__ = ["TOOL_EXAMPLES", "examples_text"]

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


def examples_text(names: Iterable[str]) -> str:
    """One demonstration line per name that has one: ``request -> call``; empty if none."""
    lines = []
    for name in names:
        if name in TOOL_EXAMPLES:
            request, arguments = TOOL_EXAMPLES[name]
            call = json.dumps({"name": name, "arguments": arguments}, ensure_ascii=False)
            lines.append(f"{request} -> {call}")
    return "\n".join(lines)
