"""The tool-name choice (calibrated log-likelihood + retrieval prior) with the tiny random model,
and copied identifier arguments through the public API."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.tools import tool

from biomed_agent.models.chat_model import ChatBioMedGPT
from biomed_agent.models.scoring import continuation_logprobs
from biomed_agent.models.tool_calling import resolve_tool_mode, tool_call_opening
from biomed_agent.models.tool_choice import (
    CONTENT_FREE,
    NameScore,
    best_name,
    content_free_messages,
    score_names,
)


@tool
def drug_likeness(smiles: str) -> str:
    """Judge whether one molecule (SMILES) is drug-like."""
    return "{}"


@tool
def uniprot_lookup(query: str) -> str:
    """Look up a protein in UniProtKB by accession or gene name."""
    return "{}"


@pytest.fixture(scope="module")
def chat(tiny_llama_dir: Path) -> ChatBioMedGPT:
    return ChatBioMedGPT(model=str(tiny_llama_dir), device_map="cpu", max_new_tokens=24)


def test_best_name_adds_the_prior_to_the_calibrated_score() -> None:
    scores = [
        NameScore("a", logprob=-2.0, null_logprob=-1.0, relevance=0.6),  # pmi -1
        NameScore("b", logprob=-3.0, null_logprob=-5.0, relevance=0.2),  # pmi +2
    ]
    assert best_name(scores, 0.0, calibrate=False) == "a"  # raw likelihood
    assert best_name(scores, 0.0) == "b"  # calibration flips it
    assert best_name(scores, 10.0) == "a"  # 10 * 0.4 outweighs the 3-nat PMI gap
    assert best_name(scores, 5.0) == "b"


def test_content_free_prompt_keeps_the_system_text_only() -> None:
    messages = [SystemMessage("sys"), HumanMessage("Is CCO drug-like?")]
    blank = content_free_messages(messages)
    assert [m.text for m in blank] == ["sys", CONTENT_FREE]


def test_name_scores_are_the_model_log_likelihoods(chat: ChatBioMedGPT) -> None:
    loaded = chat.loaded()
    mode = resolve_tool_mode([_spec(t) for t in (drug_likeness, uniprot_lookup)], "any")
    assert mode is not None
    tokenizer = loaded.tokenizer
    prompt = tokenizer("Is CCO drug-like? Answer:", add_special_tokens=False).input_ids
    null = tokenizer("N/A Answer:", add_special_tokens=False).input_ids
    scores = score_names(loaded, mode, (prompt, 0), lambda: (null, 0))
    for score in scores:
        opening = tokenizer(tool_call_opening(score.name), add_special_tokens=False).input_ids
        (direct,) = continuation_logprobs(loaded, prompt, [opening])
        (direct_null,) = continuation_logprobs(loaded, null, [opening])
        assert score.logprob == pytest.approx(direct.logprob, abs=1e-4)
        assert score.null_logprob == pytest.approx(direct_null.logprob, abs=1e-4)
    cache = loaded.extras["content_free_name_scores"]
    size = len(cache)
    score_names(loaded, mode, (prompt, 0), lambda: (null, 0))
    assert len(cache) == size  # the content-free scores are computed once per tool set


def _spec(t: object) -> dict[str, object]:
    from langchain_core.utils.function_calling import convert_to_openai_tool

    return convert_to_openai_tool(t)  # type: ignore[arg-type]


def test_even_a_random_model_copies_the_smiles_exactly(chat: ChatBioMedGPT) -> None:
    """The grammar allows only spans of the message: the random weights cannot mangle it."""
    smiles = "CC(=O)NC1=CC=C(C=C1)O"
    bound = chat.bind_tools([drug_likeness], tool_choice="drug_likeness")
    message = bound.invoke(f"Is {smiles} drug-like?", max_new_tokens=64)
    assert message.tool_calls[0]["args"] == {"smiles": smiles}
    assert message.response_metadata["finish_reason"] == "tool_calls"


def test_a_cut_copied_argument_is_a_length_finish_never_a_call(chat: ChatBioMedGPT) -> None:
    smiles = "CC(C)CC1=CC=C(C=C1)C(C)C(=O)O"
    bound = chat.bind_tools([drug_likeness, uniprot_lookup], tool_choice="any")
    message = bound.invoke(f"Is {smiles} drug-like?", max_new_tokens=6)
    assert message.tool_calls == []
    assert message.response_metadata["finish_reason"] == "length"
    (cut,) = message.invalid_tool_calls
    assert "force-closed" in str(cut["error"])
