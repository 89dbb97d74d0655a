"""Log-likelihood evaluation against lm-evaluation-harness on SmolLM2 (a 135M stand-in).

The outside reference is lm_eval's own HF model (``hf``/HFLM) running the local tasks
of tests/fixtures/lm_eval (the repository's PubMedQA and MedQA fixture items, our
prompt, the model's chat template). Our scorer and our registered ``biomedgpt`` lm_eval
model must choose what the harness chooses, item for item, for ``acc`` and ``acc_norm``.
Bounded: the 3 shortest items of each task (the 20-item figure in docs/benchmarks.md
comes from ``benchmarks/bench_eval.py --lm-eval``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("lm_eval", reason="lm-eval is in the dev extra (pip install lm-eval)")

from biomed_agent.eval import get_benchmark
from biomed_agent.eval.items import EvalItem
from biomed_agent.eval.lm_eval_compare import TASKS, HarnessItem, compare, run_harness
from biomed_agent.eval.loglik import option_continuations, score_items
from biomed_agent.eval.prompting import build_prompt
from biomed_agent.models.chat_model import ChatBioMedGPT

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

FIXTURES = Path(__file__).parent / "fixtures"
TASKS_DIR = FIXTURES / "lm_eval"
DATA = {
    "pubmedqa": FIXTURES / "benchmarks" / "pubmedqa",
    "medqa": FIXTURES / "benchmarks" / "medqa_usmle" / "US_4_options_phrases_no_exclude_test.jsonl",
}
SAMPLES = {task: list(range(3)) for task in TASKS}  # the 3 shortest prompts of each task


@pytest.fixture(scope="module", autouse=True)
def _datasets_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    mp = pytest.MonkeyPatch()
    mp.setenv("HF_DATASETS_CACHE", str(tmp_path_factory.mktemp("hf-datasets")))
    yield
    mp.undo()


@pytest.fixture(scope="module")
def harness(smollm2_dir: Path) -> dict[str, list[HarnessItem]]:
    """lm_eval's HFLM on SmolLM2: the reference."""
    return run_harness(
        "hf",
        TASKS_DIR,
        model_args={
            "pretrained": str(smollm2_dir),
            "device": "cpu",
            "dtype": "float32",
            "batch_size": 8,
        },
        samples=SAMPLES,
    )


@pytest.fixture(scope="module")
def smol(smollm2_dir: Path) -> ChatBioMedGPT:
    return ChatBioMedGPT(model=str(smollm2_dir), device_map="cpu")


def _items(benchmark: str, ids: list[str]) -> list[EvalItem]:
    by_id = {
        item.id: item
        for item in get_benchmark(benchmark).open(DATA[benchmark], progress=False).items
    }
    return [by_id[item_id] for item_id in ids]


def test_our_scorer_matches_lm_eval_item_for_item(
    harness: dict[str, list[HarnessItem]], smol: ChatBioMedGPT
) -> None:
    for task, (benchmark, kind) in TASKS.items():
        reference = harness[task]
        assert len(reference) == 3
        items = _items(benchmark, [item.item_id for item in reference])
        for item, ref in zip(items, reference, strict=True):
            # the same prompt and the same continuations, rendered independently
            assert smol.prompt_text(build_prompt(kind, item)) == ref.context
            assert tuple(option_continuations(kind, item).values()) == ref.continuations
        agreement = compare(task, reference, score_items(smol, kind, items))
        assert agreement.acc_agree == agreement.items, agreement
        assert agreement.acc_norm_agree == agreement.items, agreement
        assert agreement.max_logprob_diff < 1e-2, agreement


def test_registered_biomedgpt_model_matches_hflm_through_simple_evaluate(
    harness: dict[str, list[HarnessItem]], smollm2_dir: Path
) -> None:
    import biomed_agent.eval.lm_eval_model  # noqa: F401  (registers "biomedgpt")

    ours = run_harness(
        "biomedgpt",
        TASKS_DIR,
        model_args={"pretrained": str(smollm2_dir), "device": "cpu"},
        samples=SAMPLES,
    )
    for task in TASKS:
        for mine, ref in zip(ours[task], harness[task], strict=True):
            assert (mine.item_id, mine.context) == (ref.item_id, ref.context)
            assert (mine.acc, mine.acc_norm) == (ref.acc, ref.acc_norm), (task, mine, ref)
            assert mine.logprobs == pytest.approx(ref.logprobs, abs=1e-2)
