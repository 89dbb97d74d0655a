"""A Hugging Face hub on 127.0.0.1 serving dataset repositories from local directories.

It answers the requests ``datasets.load_dataset_builder`` / ``download_and_prepare``
and ``huggingface_hub`` make for a data-file dataset, as the hub does:

- ``HEAD|GET /datasets/{repo}/resolve/{revision}/{path}``: the file, with
  ``X-Repo-Commit`` and ``ETag``; 404 with ``X-Error-Code`` ``RepoNotFound``,
  ``RevisionNotFound`` or ``EntryNotFound``;
- ``GET /api/datasets/{repo}/revision/{revision}``: the repository info (``sha``, files);
- ``GET /api/datasets/{repo}/tree/{revision}[/{path}]?recursive=``: a folder listing;
- ``POST /api/datasets/{repo}/paths-info/{revision}``: infos of the named paths.

Each repository is a directory ``root/ORG/NAME``; its only commit is a hash of its
files (so changing a file makes a new commit), reachable as ``main`` or by that hash.
``requests`` records every request (method, path). :func:`write_hub_copies` lays out
copies of the real benchmark fixtures exactly as the hub repositories hold them.

Point the libraries at it with the environment (``HF_ENDPOINT``, read at import, in a
child process) or, in this process, :func:`use_fake_hub`.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import yaml

__all__ = ["FakeHub", "use_fake_hub", "write_hub_copies"]


class FakeHub:
    """The server; use as a context manager (``url`` while it runs)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.requests: list[tuple[str, str]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def commit(self, repo_id: str) -> str:
        """The commit of ``repo_id``'s files as they are now."""
        digest = hashlib.sha1()
        for path in _files(self.root / repo_id):
            digest.update(path.encode() + b"\0" + (self.root / repo_id / path).read_bytes())
        return digest.hexdigest()

    def __enter__(self) -> FakeHub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def _files(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())


def _handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_HEAD(self) -> None:
            self._answer()

        def do_GET(self) -> None:
            self._answer()

        def do_POST(self) -> None:
            self._answer()

        def _send(self, status: int, body: bytes = b"", **headers: str) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, payload: Any) -> None:
            self._send(200, json.dumps(payload).encode(), Content_Type="application/json")

        def _error(self, code: str) -> None:
            self._send(404, json.dumps({"error": code}).encode(), X_Error_Code=code)

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            url = urlsplit(self.path)
            hub.requests.append((self.command, url.path))
            parts = [unquote(part) for part in url.path.split("/") if part]
            if parts[:1] == ["datasets"] and len(parts) >= 5 and parts[3] == "resolve":
                return self._resolve("/".join(parts[1:3]), parts[4], "/".join(parts[5:]))
            if parts[:2] == ["api", "datasets"] and len(parts) in {4, 5} | {6, 7, 8, 9}:
                repo_id, rest = "/".join(parts[2:4]), parts[6:]
                action, revision = parts[4:6] if len(parts) >= 6 else ("revision", "main")
                commit = self._commit(repo_id, revision)
                if commit is None:
                    return None
                files = _files(hub.root / repo_id)
                if action == "revision":
                    siblings = [{"rfilename": name} for name in files]
                    return self._json(
                        {"id": repo_id, "sha": commit, "siblings": siblings, "private": False}
                    )
                if action == "tree":
                    recursive = parse_qs(url.query).get("recursive") == ["true"]
                    return self._json(self._tree(repo_id, files, "/".join(rest), recursive))
                if action == "paths-info":
                    wanted = _paths(body, self.headers.get("Content-Type", ""))
                    entries = self._tree(repo_id, files, "", recursive=True)
                    return self._json([entry for entry in entries if entry["path"] in wanted])
            return self._send(404)

        def _commit(self, repo_id: str, revision: str) -> str | None:
            if not (hub.root / repo_id).is_dir():
                self._error("RepoNotFound")
                return None
            commit = hub.commit(repo_id)
            if revision not in {"main", commit}:
                self._error("RevisionNotFound")
                return None
            return commit

        def _resolve(self, repo_id: str, revision: str, path: str) -> None:
            commit = self._commit(repo_id, revision)
            if commit is None:
                return
            file = hub.root / repo_id / path
            if not file.is_file():
                return self._send(404, X_Error_Code="EntryNotFound", X_Repo_Commit=commit)
            data = file.read_bytes()
            etag = f'"{hashlib.sha1(data).hexdigest()}"'
            self._send(200, data, X_Repo_Commit=commit, ETag=etag)

        def _tree(
            self, repo_id: str, files: list[str], folder: str, recursive: bool
        ) -> list[dict[str, Any]]:
            entries: dict[str, dict[str, Any]] = {}
            prefix = f"{folder}/" if folder else ""
            for name in files:
                if not name.startswith(prefix):
                    continue
                parts = name[len(prefix) :].split("/")
                depth = len(parts) if recursive else 1
                for level in range(1, min(depth, len(parts) - 1) + 1):
                    path = prefix + "/".join(parts[:level])
                    entries.setdefault(path, {"type": "directory", "path": path, "oid": "0" * 40})
                if recursive or len(parts) == 1:
                    data = (hub.root / repo_id / name).read_bytes()
                    oid = hashlib.sha1(data).hexdigest()
                    entries[name] = {"type": "file", "path": name, "size": len(data), "oid": oid}
            return list(entries.values())

    return Handler


def _paths(body: bytes, content_type: str) -> set[str]:
    if "json" in content_type:
        return set(json.loads(body or b"{}").get("paths", []))
    return set(parse_qs(body.decode()).get("paths", []))


@contextmanager
def use_fake_hub(hub: FakeHub, cache: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """Point ``datasets``/``huggingface_hub`` at ``hub``, online, caching in ``cache``.

    The libraries read ``HF_ENDPOINT``, ``HF_HUB_OFFLINE`` and the cache folders at
    import; these are the module values they read them into.
    """
    import datasets.config
    import huggingface_hub.constants as hub_constants

    monkeypatch.setattr(hub_constants, "ENDPOINT", hub.url)
    monkeypatch.setattr(
        hub_constants,
        "HUGGINGFACE_CO_URL_TEMPLATE",
        hub.url + "/{repo_id}/resolve/{revision}/{filename}",
    )
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(cache / "hub"))
    monkeypatch.setattr(datasets.config, "HF_ENDPOINT", hub.url)
    monkeypatch.setattr(
        datasets.config,
        "HUB_DATASETS_URL",
        hub.url + "/datasets/{repo_id}/resolve/{revision}/{path}",
    )
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache / "datasets")
    yield hub


@contextmanager
def serving_fixtures(
    tmp_path: Path, fixtures_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeHub]:
    """The benchmark fixtures as hub repositories, served, with the libraries pointed at them
    (what the ``fake_hub`` fixtures of the hub tests yield)."""
    write_hub_copies(tmp_path / "repos", fixtures_dir)
    with (
        FakeHub(tmp_path / "repos") as server,
        use_fake_hub(server, tmp_path / "hf-cache", monkeypatch),
    ):
        yield server


# --- the benchmark fixtures, laid out as their hub repositories ----------------------------


def _card(configs: list[dict[str, Any]], features: list[dict[str, Any]] | None = None) -> str:
    """A dataset card whose YAML header declares ``configs`` (and their features)."""
    header: dict[str, Any] = {"configs": configs}
    if features is not None:
        header["dataset_info"] = [
            {"config_name": config["config_name"], "features": features} for config in configs
        ]
    return "---\n" + yaml.safe_dump(header, sort_keys=False) + "---\n"


def _configs(names: tuple[str, ...], splits: tuple[str, ...], path: str) -> list[dict[str, Any]]:
    """``configs:`` entries: each config's splits at ``path`` (``{config}``, ``{split}`` filled)."""
    return [
        {
            "config_name": name,
            "data_files": [
                {"split": split, "path": path.format(config=name, split=split)} for split in splits
            ],
        }
        for name in names
    ]


def _parquet(path: Path, rows: list[dict[str, Any]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)


def _class_label(name: str, names: str) -> dict[str, Any]:
    return {"name": name, "dtype": {"class_label": {"names": dict(enumerate(names))}}}


def _strings(*names: str) -> list[dict[str, Any]]:
    return [{"name": name, "dtype": "string"} for name in names]


def write_hub_copies(root: Path, fixtures: Path) -> None:
    """Write the benchmark fixtures under ``root`` as their hub repositories hold them.

    Layouts (paths, configs, features) follow the hub repositories named in
    docs/evaluation.md; the rows are the real fixture items converted to each layout.
    README ``dataset_info`` carries features but no split sizes, since these are subsets.
    """
    bench = fixtures / "benchmarks"

    def repo(repo_id: str, card: str) -> Path:
        directory = root / repo_id
        directory.mkdir(parents=True)
        (directory / "README.md").write_text(card, encoding="utf-8")
        return directory

    # GBaker/MedQA-USMLE-4-options: the jind11/MedQA JSON Lines files; splits from file names.
    medqa = repo("GBaker/MedQA-USMLE-4-options", "---\nlicense: cc-by-4.0\n---\n")
    lines = (bench / "medqa_usmle" / "US_4_options_phrases_no_exclude_test.jsonl").read_bytes()
    (medqa / "phrases_no_exclude_test.jsonl").write_bytes(lines)
    (medqa / "phrases_no_exclude_train.jsonl").write_bytes(b"".join(lines.splitlines(True)[:3]))

    # openlifescienceai/medmcqa: Parquet under data/, cop a ClassLabel a-d stored 0-3,
    # the test split unlabelled (cop -1, as the converted loading script wrote it).
    medmcqa_rows = [
        json.loads(line)
        for line in (bench / "medmcqa" / "dev.json").read_text("utf-8").splitlines()
        if line.strip()
    ]
    medmcqa = repo(
        "openlifescienceai/medmcqa",
        _card(
            _configs(("default",), ("train", "test", "validation"), "data/{split}-*"),
            [
                *_strings("id", "question", "opa", "opb", "opc", "opd"),
                _class_label("cop", "abcd"),
                *_strings("choice_type", "exp", "subject_name", "topic_name"),
            ],
        ),
    )
    columns = ("id", "question", "opa", "opb", "opc", "opd", "cop", "choice_type", "exp")
    columns += ("subject_name", "topic_name")
    hub_rows = [
        {name: row.get(name) for name in columns} | {"cop": row["cop"] - 1} for row in medmcqa_rows
    ]
    _parquet(medmcqa / "data" / "validation-00000-of-00001.parquet", hub_rows)
    _parquet(medmcqa / "data" / "train-00000-of-00001.parquet", hub_rows[:3])
    unlabelled = [row | {"cop": -1, "exp": ""} for row in hub_rows[:3]]
    _parquet(medmcqa / "data" / "test-00000-of-00001.parquet", unlabelled)

    # cais/mmlu: one config per subject, Parquet in a folder named after it; answer a
    # ClassLabel A-D stored 0-3, choices a list of 4.
    import csv

    subject = "professional_medicine"
    with (bench / "mmlu_professional_medicine" / f"{subject}_test.csv").open(
        encoding="utf-8", newline=""
    ) as handle:
        mmlu_rows = [
            {"question": r[0], "subject": subject, "choices": r[1:5], "answer": "ABCD".index(r[5])}
            for r in csv.reader(handle)
        ]
    mmlu = repo(
        "cais/mmlu",
        _card(
            _configs((subject,), ("test", "validation", "dev"), "{config}/{split}-*"),
            [
                *_strings("question", "subject"),
                {"name": "choices", "sequence": "string"},
                _class_label("answer", "ABCD"),
            ],
        ),
    )
    _parquet(mmlu / subject / "test-00000-of-00001.parquet", mmlu_rows)
    _parquet(mmlu / subject / "validation-00000-of-00001.parquet", mmlu_rows[:2])
    _parquet(mmlu / subject / "dev-00000-of-00001.parquet", mmlu_rows[2:4])

    # qiaojin/PubMedQA pqa_labeled: all PQA-L items in one train split, nested context.
    records = json.loads((bench / "pubmedqa" / "ori_pqal.json").read_text("utf-8"))
    pubmedqa = repo(
        "qiaojin/PubMedQA",
        _card(
            _configs(("pqa_labeled",), ("train",), "{config}/{split}-*"),
            [
                {"name": "pubid", "dtype": "int32"},
                *_strings("question"),
                {
                    "name": "context",
                    "sequence": _strings(
                        "contexts",
                        "labels",
                        "meshes",
                        "reasoning_required_pred",
                        "reasoning_free_pred",
                    ),
                },
                *_strings("long_answer", "final_decision"),
            ],
        ),
    )
    pqa_rows = [
        {
            "pubid": int(pmid),
            "question": record["QUESTION"],
            "context": {
                "contexts": record["CONTEXTS"],
                "labels": record["LABELS"],
                "meshes": record["MESHES"],
                "reasoning_required_pred": [record["reasoning_required_pred"]],
                "reasoning_free_pred": [record["reasoning_free_pred"]],
            },
            "long_answer": record["LONG_ANSWER"],
            "final_decision": record["final_decision"],
        }
        for pmid, record in records.items()
    ]
    _parquet(pubmedqa / "pqa_labeled" / "train-00000-of-00001.parquet", pqa_rows)

    # ofir408/MedConceptsQA: configs "all" and "{vocab}_{level}" with dev and test splits,
    # the columns of its CSV files.
    with (bench / "medconceptsqa" / "icd9cm_easy_synthetic.csv").open(
        encoding="utf-8", newline=""
    ) as handle:
        concept_rows = list(csv.DictReader(handle))
    concepts = repo(
        "ofir408/MedConceptsQA",
        _card(_configs(("all", "icd9cm_easy"), ("dev", "test"), "data/{config}/{split}-*")),
    )
    for name in ("all", "icd9cm_easy"):
        _parquet(concepts / "data" / name / "test-00000-of-00001.parquet", concept_rows)
        _parquet(concepts / "data" / name / "dev-00000-of-00001.parquet", concept_rows[:2])
