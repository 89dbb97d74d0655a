"""Benchmarks from the Hugging Face hub, against a hub on 127.0.0.1 (tests.helpers.fake_hub).

The fake hub serves the real fixture items laid out as each hub repository holds
them; the real ``datasets``/``huggingface_hub`` code downloads, caches and reads them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from biomed_agent.cli import main
from biomed_agent.errors import (
    InvalidInputError,
    NotFoundError,
    OfflineError,
    UpstreamError,
)
from biomed_agent.eval import HubSource, get_benchmark, hub_items, parse_data
from biomed_agent.eval.sampling import DEFAULT_SEED, describe_sample, sample_items
from tests.helpers.fake_hub import FakeHub
from tests.helpers.openai_server import OpenAIServer

BENCH = Path(__file__).parent / "fixtures" / "benchmarks"


# --- the hub copies give the items of the published files ---------------------------------


@pytest.mark.parametrize(
    ("name", "local_file", "split", "config", "repo_id"),
    [
        (
            "medqa",
            "medqa_usmle/US_4_options_phrases_no_exclude_test.jsonl",
            None,
            "default",
            "GBaker/MedQA-USMLE-4-options",
        ),
        ("medmcqa", "medmcqa/dev.json", None, "default", "openlifescienceai/medmcqa"),
        (
            "mmlu-medicine",
            "mmlu_professional_medicine/professional_medicine_test.csv",
            None,
            "professional_medicine",
            "cais/mmlu",
        ),
        ("pubmedqa", "pubmedqa", "train", "pqa_labeled", "qiaojin/PubMedQA"),
        (
            "medconceptsqa",
            "medconceptsqa/icd9cm_easy_synthetic.csv",
            None,
            "all",
            "ofir408/MedConceptsQA",
        ),
    ],
)
def test_default_hub_copy_gives_the_items_of_the_local_file(
    fake_hub: FakeHub, name: str, local_file: str, split: str | None, config: str, repo_id: str
) -> None:
    bench = get_benchmark(name)
    data = bench.open(None, split)
    assert data.items == bench.load(BENCH / local_file, split)
    assert data.source == HubSource(repo_id, fake_hub.commit(repo_id))
    assert data.config == config
    assert data.split == (split or bench.default_split)


def test_medmcqa_zero_based_classlabel_maps_to_the_published_letters(fake_hub: FakeHub) -> None:
    items = get_benchmark("medmcqa").open(None).items
    assert items[0].id == "45258d3d-b974-44dd-a161-c3fccbdadd88"
    assert items[0].answer == "A"  # cop 1 in dev.json, 0 (ClassLabel 'a') on the hub
    published = [json.loads(line)["cop"] for line in (BENCH / "medmcqa/dev.json").open()]
    assert [item.answer for item in items] == ["ABCD"[cop - 1] for cop in published]


def test_medmcqa_hub_test_split_has_no_answers(fake_hub: FakeHub) -> None:
    with pytest.raises(
        InvalidInputError, match=r"split 'test'\), record 1: 'cop' must be.*use dev"
    ):
        get_benchmark("medmcqa").open(None, "test")


def test_pubmedqa_test_split_is_the_official_list(
    fake_hub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    bench = get_benchmark("pubmedqa")
    # the fixture holds 42 of the 1,000 items: the full official list must be refused...
    with pytest.raises(InvalidInputError, match=r"lacks 468 test PMIDs of the official PubMedQA"):
        bench.open(None, "test")
    # ...and the fixture's own 32-PMID subset of that list selects the local test split
    subset = json.loads((BENCH / "pubmedqa/test_ground_truth.json").read_text())
    monkeypatch.setattr(hub_items, "official_pubmedqa_test_labels", lambda: subset)
    assert bench.open(None, "test").items == bench.load(BENCH / "pubmedqa", "test")


def test_shipped_pubmedqa_test_list_is_the_official_one() -> None:
    labels = hub_items.official_pubmedqa_test_labels()
    assert len(labels) == 500
    assert sorted(labels.values()).count("yes") == 276
    assert sorted(labels.values()).count("no") == 169
    subset = json.loads((BENCH / "pubmedqa/test_ground_truth.json").read_text())
    assert subset.items() <= labels.items()
    assert next(iter(labels)) == "12377809"  # the file's order


def test_pubmedqa_hub_split_must_be_test_or_train(fake_hub: FakeHub) -> None:
    with pytest.raises(InvalidInputError, match=r"must be one of test, train, got 'dev'") as info:
        get_benchmark("pubmedqa").open(None, "dev")
    assert info.value.input_name == "--split"
    assert fake_hub.requests == []  # refused before any download


def test_named_config_and_pinned_revision(fake_hub: FakeHub) -> None:
    bench = get_benchmark("medconceptsqa")
    commit = fake_hub.commit("ofir408/MedConceptsQA")
    data = bench.open(HubSource("ofir408/MedConceptsQA", commit), config="icd9cm_easy")
    assert (data.config, data.source.revision) == ("icd9cm_easy", commit)
    assert data.describe() == (
        f"hf:ofir408/MedConceptsQA@{commit}, config icd9cm_easy, split test, 8 items"
    )
    dev = bench.open(data.source, "dev", config=data.config).items
    assert [item.id for item in dev] == [item.id for item in data.items[:2]]


@pytest.mark.parametrize("entity", ["pubchemqa", "uniprotqa"])
def test_benchmarks_without_a_verified_copy_need_data(entity: str) -> None:
    with pytest.raises(InvalidInputError, match=r"no Hugging Face copy.*--data is required"):
        get_benchmark(entity).open(None)


def test_user_given_copy_with_openbiomed_columns(fake_hub: FakeHub) -> None:
    copy = fake_hub.root / "someone/pubchemqa-copy"
    copy.mkdir(parents=True)
    shutil.copy(BENCH / "pubchemqa/pubchemqa_test_synthetic.json", copy / "test.json")
    bench = get_benchmark("pubchemqa")
    data = bench.open(parse_data("hf:someone/pubchemqa-copy"))
    assert data.items == bench.load(BENCH / "pubchemqa/pubchemqa_test_synthetic.json")
    assert data.config == "default"


def _copy_medmcqa(fake_hub: FakeHub, name: str, cop: list[int] | None) -> HubSource:
    """A copy of the fake medmcqa validation rows without ClassLabel: plain ``cop`` or none."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(
        fake_hub.root / "openlifescienceai/medmcqa/data/validation-00000-of-00001.parquet"
    ).drop_columns(["cop"])
    if cop is not None:
        table = table.append_column("cop", pa.array(cop[: table.num_rows]))
    (fake_hub.root / name / "data").mkdir(parents=True)
    pq.write_table(table, fake_hub.root / name / "data/validation-00000-of-00001.parquet")
    return HubSource(name)


def test_plain_integer_cop_is_read_by_its_numbering(fake_hub: FakeHub) -> None:
    bench = get_benchmark("medmcqa")
    expected = [item.answer for item in bench.load(BENCH / "medmcqa/dev.json")]
    zero_based = ["ABCD".index(letter) for letter in expected]
    assert 0 in zero_based and 3 in zero_based
    items = bench.open(_copy_medmcqa(fake_hub, "a/zero-based", zero_based)).items
    assert [item.answer for item in items] == expected
    one_based = [number + 1 for number in zero_based]
    items = bench.open(_copy_medmcqa(fake_hub, "a/one-based", one_based)).items
    assert [item.answer for item in items] == expected
    with pytest.raises(InvalidInputError, match=r"'cop' holds both 0 and 4"):
        bench.open(_copy_medmcqa(fake_hub, "a/mixed", [0, 4] * 20))


def test_missing_column_is_named(fake_hub: FakeHub) -> None:
    with pytest.raises(
        InvalidInputError, match=r"has no column 'cop' \(it has id, question,"
    ) as info:
        get_benchmark("medmcqa").open(_copy_medmcqa(fake_hub, "a/no-cop", None))
    assert "hf:a/no-cop@" in info.value.message
    assert info.value.input_name == "--data"


# --- errors of the hub --------------------------------------------------------------------


def test_unknown_dataset_revision_config_and_split(fake_hub: FakeHub) -> None:
    bench = get_benchmark("mmlu-medicine")
    with pytest.raises(NotFoundError, match=r"hf:nobody/nothing.*doesn't exist on the Hub"):
        bench.open(HubSource("nobody/nothing"))
    with pytest.raises(NotFoundError, match=r"Revision 'v9' doesn't exist"):
        bench.open(HubSource("cais/mmlu", "v9"))
    with pytest.raises(
        InvalidInputError, match=r"'anatomy' not found.*professional_medicine"
    ) as info:
        bench.open(HubSource("cais/mmlu"), config="anatomy")
    assert info.value.input_name == "--config"
    with pytest.raises(
        InvalidInputError, match=r"has no split 'train'; it has test, validation, dev"
    ):
        bench.open(None, "train")


def test_unreachable_hub_is_an_upstream_error(
    fake_hub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    fake_hub.__exit__()
    monkeypatch.setattr(time, "sleep", lambda seconds: None)  # huggingface_hub's retry backoff
    with pytest.raises(
        UpstreamError, match=r"could not reach the Hugging Face hub for hf:cais/mmlu"
    ) as info:
        get_benchmark("mmlu-medicine").open(None)
    assert info.value.service == "huggingface"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hf:", "does not name a Hugging Face dataset"),
        ("hf:cais", "does not name a Hugging Face dataset"),
        ("hf:cais/mmlu/extra", "does not name a Hugging Face dataset"),
        ("hf:ca--is/mmlu", "does not name a Hugging Face dataset"),
        ("hf:cais/mmlu@", "revision '' in --data 'hf:cais/mmlu@' is not a branch"),
        ("hf:cais/mmlu@v1..2", "revision 'v1..2'"),
        ("hf:cais/mmlu@main branch", "revision 'main branch'"),
        ("hf:cais/mmlu@-rf", "revision '-rf'"),
    ],
)
def test_malformed_hub_ids_are_refused(text: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message) as info:
        parse_data(text)
    assert info.value.input_name == "--data"


def test_only_the_hf_prefix_reaches_the_hub() -> None:
    assert parse_data("cais/mmlu") == Path("cais/mmlu")
    assert parse_data("hf:refs-ok/x_y.z@refs/convert/parquet") == HubSource(
        "refs-ok/x_y.z", "refs/convert/parquet"
    )
    with pytest.raises(InvalidInputError, match=r"does not exist\. .*--data hf:cais/mmlu"):
        get_benchmark("mmlu-medicine").load(Path("cais/mmlu"))


# --- offline --------------------------------------------------------------------------------


def test_offline_reads_the_cache_without_a_request(fake_hub: FakeHub) -> None:
    bench = get_benchmark("mmlu-medicine")
    online = bench.open(None)
    asked = len(fake_hub.requests)
    offline = bench.open(None, offline=True)
    assert offline == online
    assert len(fake_hub.requests) == asked
    pinned = bench.open(online.source, offline=True)  # the commit itself, offline
    assert pinned.items == online.items


def test_offline_without_cache_says_what_to_run(fake_hub: FakeHub) -> None:
    with pytest.raises(
        OfflineError,
        match=r"hf:cais/mmlu \(config 'professional_medicine'\) is"
        r" not in the local Hugging Face cache.*run the same command once",
    ):
        get_benchmark("mmlu-medicine").open(None, offline=True)
    assert fake_hub.requests == []


def test_offline_refuses_a_cached_copy_of_another_commit(fake_hub: FakeHub) -> None:
    bench = get_benchmark("mmlu-medicine")
    old = bench.open(None).source.revision
    card = fake_hub.root / "cais/mmlu/README.md"
    card.write_text(card.read_text() + "\nUpdated card.\n")
    new = fake_hub.commit("cais/mmlu")
    assert new != old
    with pytest.raises(OfflineError, match=rf"cached copy of cais/mmlu.*commit {old}, but {new}"):
        bench.open(HubSource("cais/mmlu", new), offline=True)
    assert bench.open(HubSource("cais/mmlu", new)).source.revision == new  # online: fetched


# --- the command ----------------------------------------------------------------------------


def test_eval_without_data_reads_the_hub_copy_and_resumes_offline(
    fake_hub: FakeHub,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from biomed_agent.settings import get_settings

    out = tmp_path / "run"
    with OpenAIServer(["Answer: C"]) as model:
        argv = [
            "eval", "mmlu-medicine", "--model", f"openai:{model.base_url}/{model.model}",
            "--limit", "3", "--out", str(out), "--no-progress",
        ]  # fmt: skip
        assert main(argv) == 0
        assert len(model.requests) == 3
        commit = fake_hub.commit("cais/mmlu")
        printed = capsys.readouterr().out
        # --limit draws a seeded, label-stratified sample; the model always answers C
        bench = get_benchmark("mmlu-medicine")
        items = bench.load(BENCH / "mmlu_professional_medicine/professional_medicine_test.csv")
        sample = sample_items(items, 3, kind=bench.kind)
        accuracy = 100 * sum(item.answer == "C" for item in sample) / 3
        assert printed.startswith(f"mmlu-medicine, 3 items: accuracy {accuracy:.1f} %")
        drawn = describe_sample(items, sample, kind=bench.kind, seed=DEFAULT_SEED)
        assert (
            f"data: hf:cais/mmlu@{commit}, config professional_medicine, split test, 40 items"
            f" ({drawn} evaluated)" in printed
        )
        assert (
            f"- data: `hf:cais/mmlu@{commit}` (config `professional_medicine`, split `test`)"
            in (out / "report.md").read_text()
        )
        identity = json.loads((out / "run.json").read_text())
        assert identity["data"] == f"hf:cais/mmlu@{commit}"
        assert (identity["config"], identity["split"]) == ("professional_medicine", "test")

        # offline, the same command resumes the finished run from the cache: nothing is asked
        monkeypatch.setenv("BIOMED_OFFLINE", "1")
        get_settings.cache_clear()
        asked = len(fake_hub.requests)
        assert main(argv) == 0
        assert len(fake_hub.requests) == asked
        assert len(model.requests) == 3
    assert len((out / "results.jsonl").read_text().splitlines()) == 3


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--data", "cais/mmlu"], "does not exist. If you meant the Hugging Face dataset"),
        (["--data", str(BENCH / "mmlu_professional_medicine"), "--config", "x"], "drop --config"),
        (["--data", "hf:cais/mmlu@bad..rev"], "revision 'bad..rev'"),
    ],
)
def test_cli_data_errors_exit_2(
    extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["eval", "mmlu-medicine", "--model", "m", *extra]) == 2
    assert message in capsys.readouterr().err


def test_environment_variables_alone_drive_download_and_offline(
    fake_hub: FakeHub, tmp_path: Path
) -> None:
    """In a fresh process nothing is patched: HF_ENDPOINT, HF_HOME and HF_HUB_OFFLINE rule."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "BIOMED_"))}
    env |= {
        "HF_ENDPOINT": fake_hub.url,
        "HF_HOME": str(tmp_path / "hf-home"),
        "BIOMED_DATA_DIR": str(tmp_path / "data"),
        # anything not on 127.0.0.1 would go to a dead proxy
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    code = (
        "from biomed_agent.eval import get_benchmark;"
        " print(get_benchmark('mmlu-medicine').open(None, progress=False).describe())"
    )
    online = subprocess.run(
        [sys.executable, "-c", code], env=env | {"HF_HUB_OFFLINE": "0"},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    commit = fake_hub.commit("cais/mmlu")
    assert online.stdout.strip() == (
        f"hf:cais/mmlu@{commit}, config professional_medicine, split test, 40 items"
    )
    asked = len(fake_hub.requests)
    offline = subprocess.run(
        [sys.executable, "-c", code], env=env | {"HF_HUB_OFFLINE": "1"},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert offline.stdout == online.stdout
    assert len(fake_hub.requests) == asked


# Offline and progress bars per call, concurrently: tests/test_hub_per_call.py
