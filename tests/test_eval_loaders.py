"""Benchmark loaders on real items (subsets of the published files) and on bad files."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from biomed_agent.errors import InvalidInputError
from biomed_agent.eval import BENCHMARKS, get_benchmark


@pytest.fixture
def bench_dir(fixtures_dir: Path) -> Path:
    return fixtures_dir / "benchmarks"


def test_pubmedqa_test_split_uses_ground_truth_labels(bench_dir: Path) -> None:
    items = get_benchmark("pubmedqa").load(bench_dir / "pubmedqa")
    assert len(items) == 32
    assert Counter(item.answer for item in items) == {"yes": 18, "no": 10, "maybe": 4}
    first = items[0]
    assert first.id == "12377809"
    assert first.question == "Is anorectal endosonography valuable in dyschesia?"
    assert first.context.startswith("Dyschesia can be provoked by inappropriate defecation")
    assert first.options == {}


def test_pubmedqa_train_split_is_the_rest_and_accepts_the_file_path(bench_dir: Path) -> None:
    bench = get_benchmark("pubmedqa")
    test_ids = {item.id for item in bench.load(bench_dir / "pubmedqa")}
    train = bench.load(bench_dir / "pubmedqa" / "ori_pqal.json", "train")
    assert len(train) == 10
    assert train[0].id == "10808977"
    assert (
        train[0].question == "Can tailored interventions increase mammography use among HMO women?"
    )
    assert train[0].answer == "yes"
    assert not test_ids & {item.id for item in train}


def test_medqa_reads_options_and_answer_idx(bench_dir: Path) -> None:
    path = bench_dir / "medqa_usmle" / "US_4_options_phrases_no_exclude_test.jsonl"
    items = get_benchmark("medqa").load(path)
    assert len(items) == 40
    first = items[0]
    assert first.question.startswith("A junior orthopaedic surgery resident")
    assert first.options["B"] == "Tell the attending that he cannot fail to disclose this mistake"
    assert list(first.options) == ["A", "B", "C", "D"]
    assert first.answer == "B"
    assert {item.answer for item in items} <= {"A", "B", "C", "D"}


def test_medmcqa_reads_json_lines_named_json(bench_dir: Path) -> None:
    items = get_benchmark("medmcqa").load(bench_dir / "medmcqa" / "dev.json")
    assert len(items) == 40
    first = items[0]
    assert first.id == "45258d3d-b974-44dd-a161-c3fccbdadd88"
    assert first.question == "Which of the following is not true for myelinated nerve fibers:"
    assert first.options["A"].startswith("Impulse through myelinated fibers is slower")
    assert first.answer == "A"  # cop 1


def test_mmlu_csv_without_header(bench_dir: Path) -> None:
    path = bench_dir / "mmlu_professional_medicine" / "professional_medicine_test.csv"
    items = get_benchmark("mmlu-medicine").load(path)
    assert len(items) == 40
    assert items[0].id == "professional_medicine_test-1"
    assert items[0].options["C"] == "Compression of the lateral femoral cutaneous nerve"
    assert items[0].answer == "C"
    assert items[2].answer == "B"


def test_medconceptsqa_synthetic_csv_strips_inline_options(bench_dir: Path) -> None:
    items = get_benchmark("medconceptsqa").load(
        bench_dir / "medconceptsqa" / "icd9cm_easy_synthetic.csv"
    )
    assert len(items) == 8
    first = items[0]
    assert first.id == "ICD9CM-easy-1"
    assert first.question == "What is the description of the medical code 250.00 in ICD9CM?"
    assert first.options[first.answer].startswith("Diabetes mellitus without mention")
    assert [item.answer for item in items[:4]] == ["A", "B", "C", "D"]


def test_medconceptsqa_parquet_rows(tmp_path: Path, bench_dir: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    rows = [
        {
            "question_id": 7,
            "answer": "Unspecified essential hypertension",
            "answer_id": "B",
            "option1": "Pneumonia, organism unspecified",
            "option2": "Unspecified essential hypertension",
            "option3": "Unspecified septicemia",
            "option4": "Acute kidney failure, unspecified",
            "question": "What is the description of the medical code 401.9 in ICD9CM?\nA. x\nB. y",
            "vocab": "ICD9CM",
            "level": "hard",
        }
    ]
    path = tmp_path / "test-00000-of-00001_synthetic.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    (item,) = get_benchmark("medconceptsqa").load(path)
    assert item.id == "ICD9CM-hard-7"
    assert item.answer == "B"
    assert item.question == "What is the description of the medical code 401.9 in ICD9CM?"


def test_pubchemqa_and_uniprotqa_synthetic(bench_dir: Path) -> None:
    molecules = get_benchmark("pubchemqa").load(
        bench_dir / "pubchemqa" / "pubchemqa_test_synthetic.json"
    )
    proteins = get_benchmark("uniprotqa").load(
        bench_dir / "uniprotqa" / "uniprotqa_test_synthetic.jsonl"
    )
    assert len(molecules) == 4 and len(proteins) == 4
    assert molecules[0].context == "Molecule (SMILES): CC(=O)OC1=CC=CC=C1C(=O)O"
    assert molecules[0].answer.startswith("The molecule is a member of the class of benzoic acids")
    assert proteins[0].context == "Protein (UniProt accession): P04637"
    assert proteins[3].answer == "Insulin decreases blood glucose concentration."


def test_every_benchmark_has_paper_numbers() -> None:
    assert BENCHMARKS["pubmedqa"].paper == {"accuracy": 0.761}
    assert BENCHMARKS["medconceptsqa"].paper == {"accuracy": 0.249}
    assert BENCHMARKS["uniprotqa"].paper == {"bleu2": 0.571, "rougeL": 0.622, "meteor": 0.754}
    assert all(bench.paper for bench in BENCHMARKS.values())


# --- bad input ---------------------------------------------------------------------------


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_unknown_benchmark_lists_the_known_ones() -> None:
    with pytest.raises(InvalidInputError, match=r"unknown benchmark 'medqa2'.*pubmedqa, medqa"):
        get_benchmark("medqa2")


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"does not exist") as info:
        get_benchmark("medqa").load(tmp_path / "nope.jsonl")
    assert "nope.jsonl" in info.value.message
    assert info.value.input_name == "--data"


def test_missing_path_that_looks_like_a_hub_id_suggests_the_prefix() -> None:
    with pytest.raises(
        InvalidInputError, match=r"does not exist\. If you meant the Hugging Face dataset"
    ) as info:
        get_benchmark("uniprotqa").load(Path("PharMolix/UniProtQA"))
    assert "--data hf:PharMolix/UniProtQA" in info.value.message


_MEDQA_ROW = '{"question": "q", "options": {"A": "x", "B": "y"}, "answer_idx": "A"}'
_MEDMCQA_UNLABELLED = {"question": "q", "opa": "a", "opb": "b", "opc": "c", "opd": "d", "cop": -1}


@pytest.mark.parametrize(
    ("bench_name", "file_name", "content", "message"),
    [
        ("medqa", "m.jsonl", _MEDQA_ROW + "\n{oops\n", r"m\.jsonl, line 2: is not valid JSON"),
        (
            "medqa",
            "m.jsonl",
            '{"question": "q", "answer_idx": "A"}\n',
            "record 1: has no 'options'",
        ),
        (
            "medqa",
            "m.jsonl",
            _MEDQA_ROW.replace('"A"}', '"E"}') + "\n",
            r"answer 'E' is not one of the options \['A', 'B'\]",
        ),
        (
            "medmcqa",
            "test.json",
            json.dumps(_MEDMCQA_UNLABELLED) + "\n",
            r"'cop' must be 1-4 or a-d, got -1.*use dev",
        ),
        ("mmlu-medicine", "x_test.csv", "question,A,B,C,D\n", "row 1: expected 6 columns"),
        ("pubchemqa", "q.json", '[["CCO", "q", "a"]]', "item 1: expected a JSON object, got list"),
        ("pubmedqa", "ori_pqal.json", "[]", "expected an object keyed by PMID"),
    ],
)
def test_malformed_files_name_the_problem(
    bench_name: str, file_name: str, content: str, message: str, tmp_path: Path
) -> None:
    with pytest.raises(InvalidInputError, match=message) as info:
        get_benchmark(bench_name).load(_write(tmp_path / file_name, content))
    assert str(tmp_path / file_name) in info.value.message
    assert info.value.input_name == "--data"


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    row = {"id": "same", "smiles": "CCO", "question": "q", "answer": "a"}
    path = _write(tmp_path / "q.jsonl", (json.dumps(row) + "\n") * 2)
    with pytest.raises(InvalidInputError, match=r"item id 'same' appears twice"):
        get_benchmark("pubchemqa").load(path)


def test_empty_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"holds no MedQA"):
        get_benchmark("medqa").load(_write(tmp_path / "empty.jsonl", "\n"))


def test_pubmedqa_without_ground_truth_file(tmp_path: Path, bench_dir: Path) -> None:
    source = bench_dir / "pubmedqa" / "ori_pqal.json"
    copy = _write(tmp_path / "ori_pqal.json", source.read_text(encoding="utf-8"))
    with pytest.raises(InvalidInputError, match=r"test_ground_truth\.json' does not exist"):
        get_benchmark("pubmedqa").load(copy)


def test_pubmedqa_unknown_split(bench_dir: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"split must be 'test' or 'train', got 'dev'"):
        get_benchmark("pubmedqa").load(bench_dir / "pubmedqa", "dev")


def test_unreadable_parquet_is_named(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"not parquet at all")
    with pytest.raises(InvalidInputError, match=r"broken\.parquet: is not a readable Parquet file"):
        get_benchmark("medconceptsqa").load(path)
