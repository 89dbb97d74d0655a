"""Option-constrained generation (``--scoring generate`` on a local model) and few-shot
prompts bounded by the model's context budget.

Outside references: a real model (SmolLM2-135M-Instruct, a stand-in for BioMedGPT) and
a random one (the tiny Llama) must each answer every fixture item with exactly one
option (unparsable 0), and the budget is counted with the model's own tokenizer
(:func:`~biomed_agent.agent.prompt_fit.budget_for`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biomed_agent.agent.prompt_fit import budget_for
from biomed_agent.errors import GenerationError
from biomed_agent.eval import RunSettings, get_benchmark, run_eval
from biomed_agent.eval.constrained import (
    OptionConstrainedAnswerer,
    option_grammar,
    read_label,
    token_limit,
)
from biomed_agent.eval.items import EvalItem
from biomed_agent.eval.prompting import FewShotSampler, build_prompt, fit_examples
from biomed_agent.eval.runner import ChatAnswerer, answerer_for_mode
from biomed_agent.models.chat_model import ChatBioMedGPT

FIXTURES = Path(__file__).parent / "fixtures" / "benchmarks"
MEDQA = FIXTURES / "medqa_usmle" / "US_4_options_phrases_no_exclude_test.jsonl"


def _items(name: str, path: Path, count: int) -> list[EvalItem]:
    """The ``count`` items with the shortest prompts (bounded CPU)."""
    bench = get_benchmark(name)
    items = bench.load(path)
    return sorted(items, key=lambda i: len(i.question) + len(i.context))[:count]


def _run(chat: ChatBioMedGPT, name: str, items: list[EvalItem], out: Path, **kw: object) -> dict:
    bench = get_benchmark(name)
    answer = answerer_for_mode("bare", lambda: chat, scoring="generate", kind=bench.kind)
    assert isinstance(answer, OptionConstrainedAnswerer)
    shots = int(kw.pop("shots", 0))  # type: ignore[call-overload]
    outcome = run_eval(
        bench,
        items,
        answer,
        out,
        RunSettings(model=chat.model, shots=shots),
        progress=False,
        **kw,  # type: ignore[arg-type]
    )
    assert json.loads((out / "run.json").read_text())["decoding"] == "options"
    return outcome.report


def test_grammar_labels_and_strict_reading() -> None:
    assert option_grammar("choice", ["A", "B"]) == 'root ::= ("Answer: ")? ("A" | "B")'
    assert read_label("yesno", "Answer: maybe", ("yes", "no", "maybe")) == "maybe"
    assert read_label("choice", " C ", ("A", "B", "C")) == "C"
    # a reply that is not exactly one label is unparsable, never guessed
    assert read_label("choice", "C. Lisinopril", ("A", "B", "C")) is None
    assert read_label("yesno", "Answer: ye", ("yes", "no", "maybe")) is None
    assert token_limit("yesno", ("yes", "no", "maybe")) == len("Answer: maybe") + 1


def test_tiny_random_model_never_unparsable(tiny_llama_dir: Path, tmp_path: Path) -> None:
    chat = ChatBioMedGPT(model=str(tiny_llama_dir), device_map="cpu", max_new_tokens=2)
    medqa = _items("medqa", MEDQA, 3)
    report = _run(chat, "medqa", medqa, tmp_path / "medqa")
    assert report["metrics"]["unparsable"] == 0
    rows = [json.loads(line) for line in (tmp_path / "medqa" / "results.jsonl").open()]
    assert all(row["answer"] in "ABCDE" and row["reply_tokens"] <= 10 for row in rows)
    pubmed = _items("pubmedqa", FIXTURES / "pubmedqa", 2)
    assert _run(chat, "pubmedqa", pubmed, tmp_path / "pqa")["metrics"]["unparsable"] == 0


def test_a_failing_constrained_generate_is_a_generation_error(
    tiny_llama_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the same typed boundary as the chat model's own generation path
    chat = ChatBioMedGPT(model=str(tiny_llama_dir), device_map="cpu", max_new_tokens=2)
    model = chat.loaded().model

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("device lost")

    monkeypatch.setattr(model, "generate", broken)
    item = _items("medqa", MEDQA, 1)[0]
    prompt = build_prompt("choice", item)
    answerer = OptionConstrainedAnswerer(chat, "choice")
    with pytest.raises(GenerationError, match="device lost"):
        answerer.reply(prompt, ["A", "B", "C", "D"])


def test_smollm2_never_unparsable(smollm2_dir: Path, tmp_path: Path) -> None:
    chat = ChatBioMedGPT(model=str(smollm2_dir), device_map="cpu", max_new_tokens=1)
    medqa = _items("medqa", MEDQA, 2)
    assert _run(chat, "medqa", medqa, tmp_path / "medqa")["metrics"]["unparsable"] == 0
    pubmed = _items("pubmedqa", FIXTURES / "pubmedqa", 2)
    report = _run(chat, "pubmedqa", pubmed, tmp_path / "pqa")
    assert report["metrics"]["unparsable"] == 0


def test_other_models_and_text_tasks_keep_free_generation() -> None:
    from langchain_core.language_models import FakeListChatModel

    fake = FakeListChatModel(responses=["A"])
    assert isinstance(answerer_for_mode("bare", lambda: fake, kind="choice"), ChatAnswerer)


def test_few_shot_prompts_drop_whole_shots_to_fit(tiny_llama_dir: Path, tmp_path: Path) -> None:
    chat = ChatBioMedGPT(
        model=str(tiny_llama_dir), device_map="cpu", max_new_tokens=2, context_window=1536
    )
    bench = get_benchmark("medqa")
    pool = bench.load(MEDQA)
    items = _items("medqa", MEDQA, 2)
    budget = budget_for(chat)
    assert budget is not None
    from langchain_core.messages import convert_to_messages

    def tokens(item: EvalItem, shots: list[EvalItem]) -> int:
        return budget.count(convert_to_messages(build_prompt(bench.kind, item, shots)))

    sampler = FewShotSampler(pool, 5)
    for item in items:
        wanted = sampler.examples_for(item)
        kept = fit_examples(bench.kind, item, wanted, budget)
        assert kept == wanted[: len(kept)] and len(kept) < len(wanted)  # whole, in order
        assert tokens(item, kept) <= budget.limit < tokens(item, wanted[: len(kept) + 1])
    report = _run(chat, "medqa", items, tmp_path / "run", shots=5, shot_pool=pool)
    used = report["shots_used"]
    assert used["requested"] == 5 and used["items_with_fewer"] == 2 and used["max"] < 5
    assert report["metrics"]["unparsable"] == 0
    assert "shots used:" in (tmp_path / "run" / "report.md").read_text()
    rows = [json.loads(line) for line in (tmp_path / "run" / "results.jsonl").open()]
    assert [row["shots"] for row in rows] == [
        len(fit_examples(bench.kind, i, sampler.examples_for(i), budget)) for i in items
    ]


def test_unbudgeted_models_keep_every_shot() -> None:
    items = get_benchmark("medqa").load(MEDQA)
    shots = FewShotSampler(items, 3).examples_for(items[0])
    assert fit_examples("choice", items[0], shots, None) == shots
