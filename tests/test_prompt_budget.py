"""Every prompt the project renders fits BioMedGPT-LM-7B's 2,048 tokens with >= 256 to spare.

Counted with the Llama-2 tokenizer (BioMedGPT-LM-7B's; tests/fixtures/llama2_tokenizer,
checked here against llama-tokenizer-js's ids) through ``ChatBioMedGPT``'s own rendering
(BioMedGPT chat format), each prompt at its worst case, the answer tokens the code
reserves included (tests/helpers/prompt_budget.py; ``benchmarks/prompt_sizes.py`` prints
the table of docs/benchmarks.md).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from biomed_agent.agent.plan_prompt import planner_tools
from biomed_agent.agent.prompt_fit import (
    QUESTION_TOKENS,
    SPARE_TOKENS,
    answer_messages,
    budget_for,
    clip_question,
)
from biomed_agent.models.chat_model import ChatBioMedGPT
from biomed_agent.models.tool_selection import NEEDS_10B
from biomed_agent.tools import tool_specs
from tests.helpers.prompt_budget import (
    LIMIT,
    SEQUENCE,
    SMILES,
    build_llama2_checkpoint,
    llama2_tokenizer,
    measure,
    prompt_tokens,
)

# ids from llama-tokenizer-js 1.2.2 (an independent implementation of the LLaMA 1/2 tokenizer)
LLAMA_JS_IDS = {
    "Hello world, P30542 is a protein. ### Human: hi": [
        1, 15043, 3186, 29892, 349, 29941, 29900, 29945, 29946, 29906, 338, 263, 26823,
        29889, 835, 12968, 29901, 7251,
    ],
    "CC(=O)OC1=CC=CC=C1C(=O)O aspirin logP 1.19 MW 180.16": [
        1, 19178, 29898, 29922, 29949, 29897, 20166, 29896, 29922, 4174, 29922, 4174, 29922,
        29907, 29896, 29907, 29898, 29922, 29949, 29897, 29949, 7051, 381, 262, 1480, 29925,
        29871, 29896, 29889, 29896, 29929, 341, 29956, 29871, 29896, 29947, 29900, 29889,
        29896, 29953,
    ],
    "The tumour suppressor p53 binds DNA and regulates the cell cycle — α-helix, β-sheet; "
    "naïve ∆G = −3.2 kcal/mol\n\n  indented\ttab": [
        1, 450, 21622, 473, 21301, 272, 282, 29945, 29941, 7868, 29879, 25348, 322, 24378,
        1078, 278, 3038, 11412, 813, 19883, 29899, 3952, 861, 29892, 29871, 30187, 29899,
        9855, 29936, 1055, 30085, 345, 29871, 31576, 29954, 353, 13935, 29941, 29889, 29906,
        413, 1052, 29914, 29885, 324, 13, 13, 29871, 1399, 14927, 12, 3891,
    ],
}  # fmt: skip


@pytest.fixture(scope="module")
def chat(tmp_path_factory: pytest.TempPathFactory) -> ChatBioMedGPT:
    path = build_llama2_checkpoint(tmp_path_factory.mktemp("llama2"))
    return ChatBioMedGPT(model=str(path), device_map="cpu")


def test_the_tokenizer_is_llama2s() -> None:
    tokenizer = llama2_tokenizer()
    assert len(tokenizer) == 32000
    for text, ids in LLAMA_JS_IDS.items():
        assert tokenizer(text).input_ids == ids, text


def test_the_checkpoint_renders_as_biomedgpt_lm_7b(chat: ChatBioMedGPT) -> None:
    assert chat.resolved_context_window() == 2048
    assert chat.resolved_chat_format() == "biomedgpt"


def test_every_prompt_fits_2048_tokens_with_256_to_spare(chat: ChatBioMedGPT) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # context-truncation warnings would mean a cut prompt
        measured = measure(chat)
    names = " ".join(m.name for m in measured)
    for kind in ("tools:", "planner (first", "planner (replanning", "answer (", "answer repair"):
        assert kind in names
    assert sum(m.name.startswith("eval ") for m in measured) == 7  # every benchmark
    over = [f"{m.name}: {m.tokens} + {m.reserved}" for m in measured if m.total > LIMIT]
    assert not over, over


def test_planner_offers_the_plans_tools_and_10b_only_when_configured() -> None:
    tools = {spec.name: spec for spec in tool_specs()}
    suggested = [("uniprot_lookup", {"query": "P04637"}, ""), ("pubmed_search", {}, "")]
    question = "What does this protein do? Ask BioMedGPT-10B about the protein P04637."
    offered = planner_tools(question, suggested, tools, has_10b=False)
    assert {"uniprot_lookup", "pubmed_search"} <= set(offered)
    assert len(offered) <= 6
    assert not set(offered) & set(NEEDS_10B)
    with_10b = planner_tools(question, [], tools, has_10b=True, limit=len(tools))
    assert set(NEEDS_10B) <= set(with_10b)


def test_answer_prompt_shows_evidence_in_order_and_says_what_it_left_out(
    chat: ChatBioMedGPT,
) -> None:
    blocks = [f"[{n}] record {n}\n<data>\n{SEQUENCE}\n</data>" for n in range(1, 11)]
    messages = answer_messages(chat, "What is it?", blocks, "none")
    text = messages[1].text
    budget = budget_for(chat)
    assert budget is not None
    assert budget.limit == 2048 - SPARE_TOKENS - chat.max_new_tokens
    assert prompt_tokens(chat, messages) <= budget.limit
    assert "[1] record 1" in text and "[10] record 10" not in text
    shown = [n for n in range(1, 11) if f"[{n}] record {n}\n" in text]
    assert shown == list(range(1, len(shown) + 1))  # a prefix, in order
    assert f"{10 - len(shown)} more evidence item(s) not shown" in text
    # a prompt with room keeps every block whole
    small = answer_messages(chat, "What is it?", ["[1] a\n<data>\nshort\n</data>"], "none")
    assert "short" in small[1].text and "not shown" not in small[1].text


def test_long_questions_are_cut_in_tokens(chat: ChatBioMedGPT) -> None:
    question = "P04637 " * 400
    clipped = clip_question(chat, question)
    assert clipped.endswith("[...]")
    tokenizer = chat.loaded().tokenizer
    assert len(tokenizer(clipped, add_special_tokens=False).input_ids) <= QUESTION_TOKENS
    assert clip_question(chat, "Short?") == "Short?"


def test_models_without_a_budget_get_prompts_unchanged() -> None:
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    model = FakeListChatModel(responses=["x"])
    blocks = [f"[{n}] {SEQUENCE}" for n in range(30)]
    messages = answer_messages(model, "q", blocks, "none")
    assert all(block in messages[1].text for block in blocks)
    assert budget_for(model) is None


@pytest.mark.parametrize(
    "text",
    [SEQUENCE, SMILES, "3.14159 2653589 " * 20, "αβγ ∆G −3.2 naïve 漢字 🙂" * 10, "word " * 200],
)
def test_the_remote_estimate_never_undercounts_llama2(text: str) -> None:
    from biomed_agent.agent import prompt_fit

    tokenizer = llama2_tokenizer()
    real = len(tokenizer(text, add_special_tokens=False).input_ids)
    assert prompt_fit._estimate_text(text) >= real
    cut = prompt_fit._estimate_cut(text, 50)
    assert len(tokenizer(cut, add_special_tokens=False).input_ids) <= 50


def test_remote_budget_uses_the_window_and_the_estimate() -> None:
    from biomed_agent.models.remote import ChatBioMedGPTRemote

    model = ChatBioMedGPTRemote(base_url="http://127.0.0.1:9/v1", max_new_tokens=300)
    budget = budget_for(model)
    assert budget is not None
    window = getattr(model, "context_window", None) or 2048
    assert budget.limit == window - SPARE_TOKENS - 300
    assert budget.count([SystemMessage("abc"), HumanMessage("de")]) >= 5


def test_fixture_checkpoint_is_reused(tmp_path: Path) -> None:
    first = build_llama2_checkpoint(tmp_path)
    assert build_llama2_checkpoint(tmp_path) == first
