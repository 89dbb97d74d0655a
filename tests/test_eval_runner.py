"""The eval runner: scoring, batching, resuming after a crash, few-shot prompts, reports."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from biomed_agent.errors import BiomedAgentError, ConfigurationError, InvalidInputError, StoreError
from biomed_agent.eval import (
    EvalItem,
    FewShotSampler,
    Prompt,
    RunSettings,
    answerer_for_mode,
    build_prompt,
    chat_model_answerer,
    get_benchmark,
    run_eval,
)
from biomed_agent.eval import runner as runner_module
from tests.helpers.scripted_models import ScriptedChatModel, SimulatedCrash

MEDQA = Path("medqa_usmle/US_4_options_phrases_no_exclude_test.jsonl")


@pytest.fixture
def medqa_items(fixtures_dir: Path) -> list[EvalItem]:
    return get_benchmark("medqa").load(fixtures_dir / "benchmarks" / MEDQA)


@pytest.fixture
def nltk_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Shared with test_eval_metrics so WordNet is installed and loaded once per session."""
    return tmp_path_factory.getbasetemp() / "nltk_data"


def _item_asked(text: str, items: Sequence[EvalItem]) -> EvalItem:
    (item,) = [item for item in items if f"Question: {item.question}\n" in text]
    return item


def oracle(items: Sequence[EvalItem]) -> ScriptedChatModel:
    """Right on items 0, 1, 2 (mod 5) in varied styles, wrong on 3, unparsable on 4."""

    def reply(text: str) -> str:
        item = _item_asked(text, items)
        index = items.index(item)
        wrong = next(letter for letter in item.options if letter != item.answer)
        return [
            f"The answer is {item.answer}) {item.options[item.answer]}",
            f"({item.answer.lower()})",
            f"**{item.answer}.** because of the history",
            f"Answer: {wrong}",
            "I cannot answer this without more information.",
        ][index % 5]

    return ScriptedChatModel(reply=reply)


def test_run_scores_writes_results_and_report(medqa_items: list[EvalItem], tmp_path: Path) -> None:
    model = oracle(medqa_items)
    outcome = run_eval(
        get_benchmark("medqa"),
        medqa_items,
        chat_model_answerer(model),
        tmp_path / "run",
        RunSettings(model="scripted", data="medqa.jsonl", split="test"),
        batch_size=4,
        progress=False,
    )
    assert outcome.asked == 40 and model.calls == 40
    metrics = outcome.report["metrics"]
    assert (metrics["correct"], metrics["total"], metrics["unparsable"]) == (24, 40, 8)
    assert metrics["accuracy"] == 0.6
    assert metrics["ci95_low"] < 0.6 < metrics["ci95_high"]
    rows = [json.loads(line) for line in outcome.results_path.read_text().splitlines()]
    assert [row["id"] for row in rows] == [item.id for item in medqa_items]
    assert rows[0]["correct"] is True and rows[3]["correct"] is False and rows[4]["answer"] is None
    saved = json.loads(outcome.report_json.read_text())
    assert saved["comparison"] == [
        {
            "metric": "accuracy",
            "ours": 0.6,
            "paper": 0.504,
            "difference": pytest.approx(0.096),
            "unavailable": None,
        }
    ]
    markdown = outcome.report_markdown.read_text()
    assert "| Accuracy | 60.0 % | 50.4 % | +9.6 pp |" in markdown
    assert "24 of 40 correct; 8 answers named no single option" in markdown


def test_batches_are_sent_whole(medqa_items: list[EvalItem], tmp_path: Path) -> None:
    sizes: list[int] = []
    model = oracle(medqa_items)
    bare = chat_model_answerer(model)

    def recording(prompts: Sequence[Prompt]) -> list[str]:
        sizes.append(len(prompts))
        return bare(prompts)

    run_eval(
        get_benchmark("medqa"),
        medqa_items[:20],
        recording,
        tmp_path,
        RunSettings("m"),
        batch_size=8,
        progress=False,
    )
    assert sizes == [8, 8, 4]


def test_interrupted_run_resumes_without_redoing_items(
    medqa_items: list[EvalItem], tmp_path: Path
) -> None:
    bench, out = get_benchmark("medqa"), tmp_path / "run"
    crashing = oracle(medqa_items).model_copy(update={"fail_after": 13})
    with pytest.raises(SimulatedCrash):
        run_eval(
            bench,
            medqa_items,
            chat_model_answerer(crashing),
            out,
            RunSettings("m"),
            batch_size=4,
            progress=False,
        )
    written = (out / "results.jsonl").read_text().splitlines()
    assert len(written) == 12  # three whole batches; the fourth died with the crash
    assert not (out / "report.json").exists()

    resumed = oracle(medqa_items)
    outcome = run_eval(
        bench,
        medqa_items,
        chat_model_answerer(resumed),
        out,
        RunSettings("m"),
        batch_size=4,
        progress=False,
    )
    assert outcome.asked == 28 and resumed.calls == 28
    ids = [json.loads(line)["id"] for line in (out / "results.jsonl").read_text().splitlines()]
    assert sorted(ids, key=int) == [item.id for item in medqa_items]
    assert outcome.report["metrics"]["total"] == 40
    assert outcome.report["metrics"]["correct"] == 24  # same as an uninterrupted run


def test_torn_last_line_from_a_crash_is_dropped_and_redone(
    medqa_items: list[EvalItem], tmp_path: Path
) -> None:
    bench, items = get_benchmark("medqa"), medqa_items[:10]
    run_eval(
        bench, items, chat_model_answerer(oracle(items)), tmp_path, RunSettings("m"), progress=False
    )
    results = tmp_path / "results.jsonl"
    data = results.read_bytes()
    results.write_bytes(data[: len(data) - 25])  # the crash hit in the middle of row 10

    again = oracle(items)
    outcome = run_eval(
        bench, items, chat_model_answerer(again), tmp_path, RunSettings("m"), progress=False
    )
    assert outcome.asked == 1 and again.calls == 1
    lines = results.read_text().splitlines()
    assert len(lines) == 10 and json.loads(lines[-1])["id"] == items[9].id


def test_damaged_result_row_is_reported(medqa_items: list[EvalItem], tmp_path: Path) -> None:
    (tmp_path / "results.jsonl").write_text('{"id": "1"}\nnot json\n{"id": "2"}\n')
    with pytest.raises(StoreError, match=r"results\.jsonl, line 2, is not a result row"):
        run_eval(
            get_benchmark("medqa"),
            medqa_items,
            chat_model_answerer(oracle(medqa_items)),
            tmp_path,
            RunSettings("m"),
        )


def test_results_of_another_configuration_are_not_mixed_in(
    medqa_items: list[EvalItem], tmp_path: Path
) -> None:
    bench, items = get_benchmark("medqa"), medqa_items[:3]
    run_eval(
        bench,
        items,
        chat_model_answerer(oracle(items)),
        tmp_path,
        RunSettings("model-a"),
        progress=False,
    )
    with pytest.raises(
        InvalidInputError,
        match=r"holds results of a different run \(model: 'model-a' there, 'model-b' now\)",
    ):
        run_eval(
            bench,
            items,
            chat_model_answerer(oracle(items)),
            tmp_path,
            RunSettings("model-b"),
            progress=False,
        )


def test_few_shot_prompts_are_deterministic_and_skip_the_item(medqa_items: list[EvalItem]) -> None:
    sampler = FewShotSampler(medqa_items, k=3, seed=0)
    examples = sampler.examples_for(medqa_items[0])
    assert len(examples) == 3 and medqa_items[0] not in examples
    assert FewShotSampler(medqa_items, k=3, seed=0).examples_for(medqa_items[0]) == examples
    assert FewShotSampler(medqa_items, k=3, seed=1).examples_for(medqa_items[0]) != examples
    # the one item that is itself an example gets the next one instead
    shown = sampler.examples_for(examples[0])
    assert examples[0] not in shown and shown[:2] == examples[1:]

    prompt = build_prompt("choice", medqa_items[0], examples)
    assert [role for role, _ in prompt] == [
        "system",
        "human",
        "ai",
        "human",
        "ai",
        "human",
        "ai",
        "human",
    ]
    assert prompt[2][1] == f"Answer: {examples[0].answer}"
    assert prompt[-1][1].startswith(f"Question: {medqa_items[0].question}\nOptions:\nA. ")
    assert "D. Refuse to dictate the operative report" in prompt[-1][1]


def test_few_shot_pool_too_small(medqa_items: list[EvalItem]) -> None:
    with pytest.raises(
        InvalidInputError, match=r"5-shot prompts need more than 5 example items, the pool has 3"
    ):
        FewShotSampler(medqa_items[:3], k=5)
    with pytest.raises(InvalidInputError, match="--shots must be 0 or more"):
        FewShotSampler(medqa_items, k=-1)


def test_pubmedqa_few_shot_run_uses_the_train_split(fixtures_dir: Path, tmp_path: Path) -> None:
    bench = get_benchmark("pubmedqa")
    test_items = bench.load(fixtures_dir / "benchmarks" / "pubmedqa")[:6]
    pool = bench.load(fixtures_dir / "benchmarks" / "pubmedqa", bench.few_shot_split)
    prompts: list[Prompt] = []

    def answer(batch: Sequence[Prompt]) -> list[str]:
        prompts.extend(batch)
        return ["Answer: yes"] * len(batch)

    outcome = run_eval(
        bench,
        test_items,
        answer,
        tmp_path,
        RunSettings("m", shots=2),
        shot_pool=pool,
        progress=False,
    )
    pool_questions = {item.question for item in pool}
    for prompt in prompts:
        assert len(prompt) == 6
        assert prompt[1][1].split("\nQuestion: ")[1].split("\n")[0] in pool_questions
        assert prompt[-1][1].startswith("Abstract: ")
    assert outcome.report["metrics"]["correct"] == sum(item.answer == "yes" for item in test_items)


def test_text_benchmark_reports_bleu_rouge_meteor(
    fixtures_dir: Path, tmp_path: Path, nltk_dir: Path
) -> None:
    bench = get_benchmark("uniprotqa")
    items = bench.load(fixtures_dir / "benchmarks" / "uniprotqa" / "uniprotqa_test_synthetic.jsonl")

    def answer(batch: Sequence[Prompt]) -> list[str]:
        return [
            "Acts as a tumor suppressor in many tumor types"
            if "P04637" in prompt[-1][1]
            else "It is a protein."
            for prompt in batch
        ]

    outcome = run_eval(
        bench, items, answer, tmp_path, RunSettings("m"), progress=False, nltk_data_dir=nltk_dir
    )
    metrics = outcome.report["metrics"]
    assert set(metrics) == {"bleu2", "bleu4", "rouge1", "rouge2", "rougeL", "meteor"}
    assert 0 < metrics["meteor"] < 1 and 0 < metrics["rougeL"] < 1
    assert [row["metric"] for row in outcome.report["comparison"]] == ["bleu2", "rougeL", "meteor"]
    assert "| METEOR | " in outcome.report_markdown.read_text()


def test_meteor_unavailable_is_reported_not_zero(
    fixtures_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_wordnet(directory: Path) -> Any:
        raise ConfigurationError("METEOR needs WordNet and none is installed")

    monkeypatch.setattr(runner_module, "load_wordnet", no_wordnet)
    bench = get_benchmark("pubchemqa")
    items = bench.load(fixtures_dir / "benchmarks" / "pubchemqa" / "pubchemqa_test_synthetic.json")
    outcome = run_eval(
        bench,
        items,
        lambda batch: ["The molecule is"] * len(batch),
        tmp_path,
        RunSettings("m"),
        progress=False,
    )
    assert "meteor" not in outcome.report["metrics"]
    assert outcome.report["unavailable"] == {"meteor": "METEOR needs WordNet and none is installed"}
    meteor_row = outcome.report["comparison"][2]
    assert meteor_row["ours"] is None and meteor_row["unavailable"]
    assert "| METEOR | unavailable: METEOR needs WordNet" in outcome.report_markdown.read_text()


def test_agent_mode_refuses_few_shot_and_unknown_modes_before_building_anything() -> None:
    def never() -> Any:
        raise AssertionError("nothing may be built for a refused mode")

    with pytest.raises(InvalidInputError, match=r"cannot take few-shot examples; drop --shots 2"):
        answerer_for_mode("agent", never, shots=2)
    with pytest.raises(InvalidInputError, match=r"--mode must be one of bare, agent, got 'tools'"):
        answerer_for_mode("tools", never)


def test_agent_mode_asks_the_model_free_agent_the_last_human_turn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from biomed_agent.settings import Settings

    monkeypatch.setenv("BIOMED_OFFLINE", "1")
    answer = answerer_for_mode("agent", lambda: None, settings=Settings())
    prompt: Prompt = [
        ("system", "Answer with one letter."),
        ("human", "What does aspirin look like?"),
        ("ai", "B"),
        ("human", "What are the properties of CCO?"),
    ]
    [text] = answer([prompt])
    assert "C2H6O" in text and "46.069 g/mol" in text and "aspirin" not in text.lower()


def test_bare_mode_needs_a_model() -> None:
    with pytest.raises(ConfigurationError, match="--mode bare needs a chat model"):
        answerer_for_mode("bare", lambda: None)


def test_bad_batch_size_and_short_answers(medqa_items: list[EvalItem], tmp_path: Path) -> None:
    bench = get_benchmark("medqa")
    with pytest.raises(InvalidInputError, match="--batch-size must be at least 1, got 0"):
        run_eval(bench, medqa_items, lambda b: [], tmp_path, RunSettings("m"), batch_size=0)
    with pytest.raises(BiomedAgentError, match="answered 1 of 2 prompts"):
        run_eval(
            bench,
            medqa_items[:2],
            lambda b: ["A"],
            tmp_path,
            RunSettings("m"),
            batch_size=2,
            progress=False,
        )


def test_no_items_or_repeated_ids_are_refused(medqa_items: list[EvalItem], tmp_path: Path) -> None:
    bench = get_benchmark("medqa")
    with pytest.raises(InvalidInputError, match="no items to evaluate"):
        run_eval(bench, [], lambda b: [], tmp_path, RunSettings("m"))
    with pytest.raises(InvalidInputError, match="item ids repeat"):
        run_eval(bench, [medqa_items[0]] * 2, lambda b: [], tmp_path, RunSettings("m"))


def test_loglik_scoring_needs_a_local_model_bare_mode_and_a_known_name() -> None:
    remote = ScriptedChatModel(reply=lambda prompt: "A")
    with pytest.raises(InvalidInputError, match="needs a local model that gives log-likelihoods"):
        answerer_for_mode("bare", lambda: remote, scoring="loglik")
    with pytest.raises(InvalidInputError, match="--scoring loglik scores the bare model"):
        answerer_for_mode("agent", lambda: None, scoring="loglik")
    with pytest.raises(InvalidInputError, match="--scoring must be one of loglik, generate"):
        answerer_for_mode("bare", lambda: remote, scoring="logprob")


def test_default_scoring_is_loglik_only_where_log_likelihoods_exist() -> None:
    from biomed_agent.eval.runner import default_scoring

    assert default_scoring("choice", "bare", "/models/BioMedGPT-LM-7B") == "loglik"
    assert default_scoring("yesno", "bare", "x.gguf") == "loglik"
    assert default_scoring("text", "bare", "/models/BioMedGPT-LM-7B") == "generate"
    assert default_scoring("choice", "agent", "/models/BioMedGPT-LM-7B") == "generate"
    assert default_scoring("choice", "bare", "openai:http://h:8000/v1/m") == "generate"
