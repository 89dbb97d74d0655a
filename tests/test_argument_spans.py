"""Identifier arguments limited to spans copied from the message (the candidate-span grammar)."""

from __future__ import annotations

import json

import xgrammar as xgr
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.utils.function_calling import convert_to_openai_tool

from biomed_agent.models.argument_spans import (
    argument_kinds,
    constrain_arguments,
    find_candidates,
    generic_spans,
)
from biomed_agent.models.tool_calling import ToolMode, build_grammar, resolve_tool_mode
from biomed_agent.tools import get_tools


def _mode(choice: str) -> ToolMode:
    mode = resolve_tool_mode([convert_to_openai_tool(t) for t in get_tools()], choice)
    assert mode is not None
    return mode


def _accepts(mode: ToolMode, text: str) -> bool:
    """Whether the grammar of ``mode`` accepts ``text`` as a whole output (char tokenizer)."""
    vocab = ["<eos>", *[chr(c) for c in range(32, 127)]]
    info = xgr.TokenizerInfo(vocab, stop_token_ids=[0])
    matcher = xgr.GrammarMatcher(xgr.GrammarCompiler(info).compile_grammar(build_grammar(mode)))
    return matcher.accept_string(text) and matcher.accept_token(0) and matcher.is_terminated()


def _property(mode: ToolMode, tool: str, argument: str) -> dict[str, object]:
    return mode.parameters(tool)["properties"][argument]


def test_candidates_come_from_the_entity_rules_copied_as_written() -> None:
    text = (
        "Compare Aspirin with CC(=O)NC1=CC=C(C=C1)O, the gene BRCA1, the protein P04637 "
        "and the peptide GIGAVLKVLTTGLPALISWIKRKRQQ"
    )
    found = find_candidates([text], text)
    assert found.entities["drug"] == ("Aspirin",)  # the dictionary hit, in the user's case
    assert found.entities["smiles"] == ("CC(=O)NC1=CC=C(C=C1)O",)
    assert found.entities["gene"] == ("BRCA1",)
    assert found.entities["accession"] == ("P04637",)
    assert found.entities["sequence"] == ("GIGAVLKVLTTGLPALISWIKRKRQQ",)
    assert all(span in text for kind in found.entities.values() for span in kind)


def test_generic_spans_never_start_or_end_with_a_function_word() -> None:
    spans = generic_spans("What do my ingested documents say about kinase inhibitors?")
    assert "kinase inhibitors" in spans and "kinase" in spans
    assert not any(s.split()[0] in {"what", "about", "my"} for s in map(str.lower, spans))
    assert not any(s.lower().endswith((" about", " say", "?")) for s in spans)
    assert all(len(s.split()) <= 4 for s in spans)


def test_identifier_arguments_become_an_enum_of_copied_spans() -> None:
    smiles = "CN1CCC[C@H]1C2=CN=CC=C2"
    mode = constrain_arguments(_mode("drug_likeness"), [HumanMessage(f"Is {smiles} drug-like?")])
    assert _property(mode, "drug_likeness", "smiles") == {"type": "string", "enum": [smiles]}
    good = json.dumps({"name": "drug_likeness", "arguments": {"smiles": smiles}})
    assert _accepts(mode, good)
    assert not _accepts(mode, good.replace("C@H", "CH"))  # an edited copy is not allowed
    assert not _accepts(mode, json.dumps({"name": "drug_likeness", "arguments": {"smiles": "C"}}))


def test_uniprot_query_offers_accession_and_gene_but_not_free_words() -> None:
    mode = constrain_arguments(
        _mode("uniprot_lookup"), [HumanMessage("Compare P30542 with the gene ADORA2A")]
    )
    prop = _property(mode, "uniprot_lookup", "query")
    assert set(prop["enum"]) >= {"P30542", "ADORA2A"}  # type: ignore[call-overload]
    assert "Compare" not in prop["enum"]  # type: ignore[operator]
    assert _property(mode, "uniprot_lookup", "organism") != prop  # not an identifier: free


def test_search_queries_also_offer_word_spans() -> None:
    mode = constrain_arguments(
        _mode("pubmed_search"),
        [HumanMessage("Search PubMed for caffeine and adenosine receptors")],
    )
    values = _property(mode, "pubmed_search", "query")["enum"]
    assert "caffeine" in values and "caffeine and adenosine receptors" in values  # type: ignore[operator]


def test_no_candidate_leaves_the_argument_free_text() -> None:
    mode = constrain_arguments(
        _mode("molecule_properties"), [HumanMessage("Compute the weight of aspirin")]
    )
    free = _mode("molecule_properties").parameters("molecule_properties")["properties"]["smiles"]
    assert _property(mode, "molecule_properties", "smiles") == free
    assert _accepts(
        mode, json.dumps({"name": "molecule_properties", "arguments": {"smiles": "xyz"}})
    )


def test_only_allowed_tools_and_identifier_arguments_change() -> None:
    mode = _mode("any")
    constrained = constrain_arguments(mode, [HumanMessage("Is CCO drug-like?")])
    assert constrained.tools != mode.tools
    assert argument_kinds(mode.parameters("pubmed_search")) == ["query"]
    forced = _mode("pubmed_search")
    narrowed = constrain_arguments(forced, [HumanMessage("Is CCO drug-like?")])
    # drug_likeness is bound but not allowed: its schema is untouched
    assert narrowed.parameters("drug_likeness") == forced.parameters("drug_likeness")


def test_tool_results_after_the_latest_message_are_candidates_too() -> None:
    messages = [
        HumanMessage("What does aspirin bind?"),
        AIMessage(
            "", tool_calls=[{"name": "pubchem_lookup", "args": {"query": "aspirin"}, "id": "1"}]
        ),
        ToolMessage('{"targets": ["PTGS2"]}', tool_call_id="1", name="pubchem_lookup"),
    ]
    mode = constrain_arguments(_mode("target_ligands"), messages)
    assert "PTGS2" in _property(mode, "target_ligands", "target")["enum"]  # type: ignore[operator]
