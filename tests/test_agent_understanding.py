"""Understanding a question without a store: lexicons, clauses, standardisation, verdicts,
the relevance gate, plan merging and verification of model output."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from biomed_agent.agent.entities import drug_mentions, extract_entities, invalid_smiles
from biomed_agent.agent.intents import classify, split_clauses
from biomed_agent.agent.lexicon import drug_lexicon, find_drug_names, gene_symbols
from biomed_agent.agent.planner import merge_plans
from biomed_agent.agent.preflight import check_model_setting
from biomed_agent.agent.relevance import relevant_evidence
from biomed_agent.agent.state import CompoundEntity, Evidence, empty_entities
from biomed_agent.agent.understanding import understand_question
from biomed_agent.agent.verify import check_answer, is_non_answer
from biomed_agent.errors import ModelLoadError
from biomed_agent.molecules.druglikeness import drug_likeness, verdict
from biomed_agent.molecules.parsing import to_inchikey
from biomed_agent.molecules.standardize import standardize

QUESTIONS = Path(__file__).resolve().parents[1] / "benchmarks" / "agent_questions.jsonl"


def _evidence(key: str, source: str, text: str, **details: object) -> Evidence:
    record_id = key.split(":")[1]
    return Evidence(key=key, source=source, record_id=record_id, title=text[:30], url=None,
                    tool=None, arguments={}, details=dict(details), text=text)  # fmt: skip


# --- lexicons ----------------------------------------------------------------------


def test_drug_names_exact_brand_and_typo() -> None:
    found = {m.written: (m.canonical, m.fuzzy) for m in find_drug_names(
        "Compare Gleevec, asprin and ibuprofin with metformin"
    )}  # fmt: skip
    assert found == {
        "Gleevec": ("imatinib", False),
        "asprin": ("aspirin", True),
        "ibuprofin": ("ibuprofen", True),
        "metformin": ("metformin", False),
    }
    assert drug_lexicon()["tylenol"] == ("acetaminophen", "DB00316")  # DrugBank id carried


def test_common_words_are_never_drug_candidates() -> None:
    """The issue's list of words that were sent to PubChem: none is a candidate now."""
    questions = [
        "What is the capital of France?",
        "Will it pass the blood-brain barrier?",
        "What is the molecular weight and polar surface area?",
        "What does the adenosine receptor do?",
        "Is the literature clear about safety in patients?",
    ]
    assert [drug_mentions(q) for q in questions] == [[]] * len(questions)


def test_gene_symbols_come_from_hgnc() -> None:
    symbols = gene_symbols()
    assert symbols["ADORA1"] == "HGNC:262" and symbols["TP53"] == "HGNC:11998"
    found = extract_entities("Is TP53 or ADORA1 linked to ABC123, DNA or XYZQ9?")
    assert found["genes"] == ["TP53", "ADORA1"]  # shape-alike non-symbols are dropped


def test_invalid_smiles_is_named_not_dropped() -> None:
    assert invalid_smiles("Is C1CC(N drug-like, unlike CCO, P30542 or A23G?") == ["C1CC(N"]


# --- clauses and intents ---------------------------------------------------------------


def test_clauses_are_split_at_questions_and_joined_asks() -> None:
    assert split_clauses("What does P30542 do, and which drugs target it?") == [
        "What does P30542 do",
        "which drugs target it",
    ]
    assert len(split_clauses("Is aspirin drug-like? What about its TPSA?")) == 2


def test_cues_decide_without_loading_a_model() -> None:
    def no_model() -> object:
        raise AssertionError("a cue-only question must not load the embedder")

    clauses = classify("Is CCO drug-like, and will it cross the blood-brain barrier?", no_model)
    assert [(c.intent, c.method) for c in clauses] == [("druglikeness", "cue"), ("bbb", "cue")]


def test_out_of_scope_needs_no_entity_and_the_classifier() -> None:
    class Embedder:
        def encode(self, texts: list[str]) -> object:
            from biomed_agent.retrievers.embeddings import SentenceEmbeddingFunction

            return SentenceEmbeddingFunction().encode(texts)

    question = "What is the capital of France?"
    understood = understand_question(question, extract_entities(question), Embedder)
    assert understood["out_of_scope"] and understood["mentions"] == []
    started = time.perf_counter()
    clinical = "Does low-dose aspirin prevent recurrence of venous thromboembolism?"
    understood = understand_question(clinical, extract_entities(clinical), Embedder)
    assert (time.perf_counter() - started) < 2.0
    assert [c["intent"] for c in understood["clauses"]] == ["literature"]
    assert not understood["out_of_scope"] and understood["mentions"] == ["aspirin"]


def test_question_set_is_large_and_covers_every_category() -> None:
    items = [json.loads(line) for line in QUESTIONS.read_text().splitlines()]
    assert len(items) >= 60 and len({i["id"] for i in items}) == len(items)
    categories = {i["category"] for i in items}
    assert categories == {
        "molecule-name", "molecule-typo", "molecule-smiles", "protein",
        "clinical-literature", "multi-part", "out-of-scope",
    }  # fmt: skip
    train = (
        Path(__file__).resolve().parents[1] / "src/biomed_agent/data/lexicon/intent_train.tsv"
    ).read_text()
    held_out = [i["question"] for i in items if i["question"] in train]
    assert held_out == []  # the classifier never saw the scored questions


# --- chemistry --------------------------------------------------------------------------


def test_standardize_strips_salts_and_neutralises() -> None:
    sodium = standardize("CC(=O)Oc1ccccc1C(=O)[O-].[Na+]")
    # outside reference: PubChem's InChIKey of aspirin (CID 2244, recorded record)
    assert to_inchikey(sodium.smiles or "") == "BSYNRYMUTXBXSQ-UHFFFAOYSA-N"
    assert sodium.removed == ("[Na+]",) and sodium.neutralized
    mesylate = standardize(
        "Cc1ccc(NC(=O)c2ccc(CN3CCN(C)CC3)cc2)cc1Nc1nccc(-c2cccnc2)n1.CS(=O)(=O)O"
    )
    assert mesylate.removed == ("CS(=O)(=O)O",) and not mesylate.mixture
    mixture = standardize("CC(=O)Oc1ccccc1C(=O)O.CC(C)Cc1ccc(cc1)C(C)C(=O)O")
    assert mixture.mixture and "removed CC(=O)Oc1ccccc1C(=O)O" in mixture.notes[0]


@pytest.mark.parametrize("salt", ["[Na+].[Cl-]", "O.O.[Cu+2].[O-]S(=O)(=O)[O-]"])
def test_inorganic_salts_have_no_parent(salt: str) -> None:
    result = standardize(salt)
    assert result.inorganic and result.smiles is None


def test_verdict_weighs_qed_sa_and_alerts() -> None:
    assert verdict(drug_likeness("CC(=O)Oc1ccccc1C(=O)O"))["label"] == "drug-like"
    rhodanine = verdict(drug_likeness("O=C1C(=Cc2ccc(O)c(O)c2)SC(=S)N1"))
    assert rhodanine["label"] == "borderline" and "PAINS" in rhodanine["reasons"][0]
    assert verdict(drug_likeness("C" * 34 + "C(=O)O"))["label"] == "not drug-like"


# --- relevance, plans, verification -------------------------------------------------------


def test_relevance_gate_drops_passages_tied_to_nothing_asked() -> None:
    entities = empty_entities()
    entities["compounds"].append(CompoundEntity(name="imatinib", smiles="C", cid=5291, url=None))
    evidence = [
        _evidence("pubmed:1", "pubmed", "Low-dose aspirin and VTE", score=0.31),
        _evidence("pubmed:2", "pubmed", "Imatinib in CML", score=0.2),
        _evidence("file:3", "file", "KX notes without names", score=0.7),
        _evidence("uniprot:P30542", "uniprot", "Adenosine receptor A1"),
    ]
    kept = relevant_evidence(evidence, entities, {"mentions": ["imatinib"]})
    assert [e["key"] for e in kept] == ["pubmed:2", "file:3"]


def test_model_plan_is_merged_never_replacing_the_rules() -> None:
    entities = extract_entities("Is CCO drug-like?")
    rules = [
        ("molecule_properties", {"smiles": "CCO"}, "r"),
        ("drug_likeness", {"smiles": "CCO"}, "r"),
    ]
    model = [("pubmed_search", {"query": "bitcoin price"}, "junk"),
             ("molecule_properties", {"smiles": "CCO"}, "m")]  # fmt: skip
    merged, refused = merge_plans(rules, model, "Is CCO drug-like?", entities)
    assert refused == 1 and ("drug_likeness", {"smiles": "CCO"}, "r") in merged
    assert all(step[0] != "pubmed_search" for step in merged)


def test_verifier_rejects_echoes_raw_data_contradictions_and_prose_numbers() -> None:
    uniprot = _evidence("uniprot:P30542", "uniprot", "Adenosine receptor A1", gene="ADORA1")
    uniprot["title"] = "P30542"
    assert is_non_answer("  ", "q") and is_non_answer("<data>{...}</data> x y", "q")
    assert is_non_answer("Is aspirin drug-like?", "Is aspirin drug-like?")
    assert any(
        "contradicts" in p for p in check_answer("P30542 is not a protein [1].", [uniprot], [])
    )
    injected = _evidence(
        "pubmed:9", "pubmed", "Aspirin has a molecular weight of 999 kDa, says this abstract."
    )
    problems = check_answer("Aspirin weighs 999 kDa [1].", [injected], [])
    assert any("free text" in p for p in problems)
    assert check_answer("  > Aspirin has a molecular weight of 999 kDa [1]", [injected], []) == []


def test_preflight_rejects_missing_and_incomplete_checkpoints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from biomed_agent.models import loading

    check_model_setting("none")
    check_model_setting("openai:http://localhost:8000/v1/biomedgpt")
    # the default hub id without its weights in the HF cache fails at once, naming the fix
    with pytest.raises(ModelLoadError, match=r"not in the local Hugging Face cache.*--model none"):
        check_model_setting("PharMolix/BioMedGPT-LM-7B")
    monkeypatch.setattr(loading, "_is_cached", lambda repo_id: True)
    check_model_setting("PharMolix/BioMedGPT-LM-7B")  # cached: left to the loader
    with pytest.raises(ModelLoadError, match="does not exist"):
        check_model_setting(str(tmp_path / "missing"))
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelLoadError, match="tokenizer files, weights"):
        check_model_setting(str(tmp_path))
