"""Scored evaluation of the model-free agent on the expert-judged question set.

The set (``benchmarks/agent_questions.jsonl``, 65 questions in 7 categories) states
for each question what a domain expert expects: the entities, the intent of each
clause, which kinds of evidence should appear (none for out-of-scope questions and
names nothing in reach can resolve), numbers that must be shown, clauses that must be
listed under "Not answered", refusals. The agent runs offline and model-free over the
demo store (PubChem aspirin, UniProt P30542, PubMed 23121403, as ``biomed-agent demo``)
plus one user document (``benchmarks/data/kx902_project_notes.md``).

Reported per category: share of questions fully correct, and per check (entity, intents,
evidence, refusal, numbers/text); overall the issue's targets: answers with unrelated
evidence, silently dropped clauses, names resolved or honestly declined, salts called
drug-like; latency p50; and the store-score calibration of the relevance gate.

Run: ``.venv/bin/python benchmarks/eval_agent.py [--json OUT] [--only ID]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
QUESTIONS = ROOT / "agent_questions.jsonl"
NOTES = ROOT / "data" / "kx902_project_notes.md"
_MARKERS = {
    "properties": ("computed (RDKit)", "protein_properties("),
    "druglikeness": ("Drug-likeness:",),
    "function": ("(UniProt)",),
    "variants": ("variant_effect(",),
    "literature": ("Literature and documents",),
    "safety": ("Literature and documents",),
    "bioactivity": ("Literature and documents",),
    "compare": ("molecule_similarity(", "computed (RDKit)"),
}


def load_questions() -> list[dict[str, Any]]:
    return [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()]


def build_agent(data_dir: Path) -> Any:
    from biomed_agent.agent.api import BioMedAgent
    from biomed_agent.agent.demo import demo_documents
    from biomed_agent.retrievers.files import load_file
    from biomed_agent.retrievers.store import KnowledgeStore
    from biomed_agent.settings import Settings

    settings = Settings(data_dir=data_dir, model="none", offline=True)
    store = KnowledgeStore(settings)
    store.add_documents([*demo_documents(), *load_file(NOTES)])
    return BioMedAgent(model="none", settings=settings, store=store)


def _section(text: str, header: str) -> str:
    if header not in text:
        return ""
    return text.split(header, 1)[1].split("\n\n", 1)[0]


def score(item: dict[str, Any], answer: Any, understanding: dict[str, Any]) -> dict[str, Any]:
    """Every check of one question: name -> bool, plus counts for the issue's targets."""
    from biomed_agent.agent.nodes import REFUSAL

    text = answer.text
    entities = answer.entities
    cited = {c.source for c in answer.citations}
    checks: dict[str, bool] = {}
    resolved = [c for c in entities.get("compounds", []) if c.get("smiles")]
    names_total = len(item.get("compounds", [])) + len(item.get("declined", []))
    names_ok = 0
    if item.get("compounds"):
        names_ok += min(len(resolved), len(item["compounds"]))
    for name in item.get("declined", []):
        declined = f"'{name}'" in text.lower() and "could not" in text.lower()
        names_ok += declined
    checks["entity"] = names_ok == names_total
    for kind in ("accessions", "genes"):
        if item.get(kind):
            checks["entity"] &= set(item[kind]) <= set(entities.get(kind, []))
    if item.get("smiles"):
        checks["entity"] &= bool(entities.get("smiles"))
    for written in item.get("readings", []):
        checks["entity"] &= f"Read '{written}' as" in text
    for bad in item.get("invalid_smiles", []):
        checks["entity"] &= f"'{bad}' is not a valid SMILES" in text
    predicted = {c["intent"] for c in understanding["clauses"]}
    checks["intents"] = set(item["intents"]) <= predicted
    unrelated = []
    for c in answer.citations:
        if c.source == "pubmed" and c.record_id not in item.get("pmids", []):
            unrelated.append(c.title)
        if c.source == "file" and not item.get("files"):
            unrelated.append(c.title)
        if c.source == "uniprot" and not (
            item.get("accessions") or item.get("genes") or item.get("protein_names")
        ):
            unrelated.append(c.title)
        if c.source == "pubchem" and not item.get("compounds"):
            unrelated.append(c.title)
    checks["evidence"] = set(item["evidence"]) <= cited and not unrelated
    refused = text == REFUSAL
    checks["refusal"] = refused == bool(item.get("refusal")) and not (refused and cited)
    not_answered = _section(text, "Not answered:")
    content = [*item.get("contains", []), *item.get("numbers", [])]
    checks["text"] = all(s in text for s in content) and not any(
        s in text for s in item.get("not_contains", [])
    )
    checks["text"] &= all(s in not_answered for s in item.get("not_answered", []))
    dropped = 0
    if not refused:
        for clause in understanding["clauses"]:
            markers = _MARKERS.get(clause["intent"], ())
            listed = clause["text"] in not_answered
            if not listed and not any(m in text for m in markers):
                dropped += 1
    checks["clauses"] = dropped == 0
    salt_called_druglike = bool(item.get("salt")) and "**drug-like**" in text
    return {
        "checks": checks,
        "unrelated": unrelated,
        "dropped": dropped,
        "names": (names_ok, names_total),
        "salt_druglike": salt_called_druglike,
    }


def calibration_hits(
    agent: Any, item: dict[str, Any], answer: Any, understanding: dict[str, Any]
) -> list[tuple[float, bool, bool]]:
    """(store score, related?, names an entity?) of the top store passages for the question.

    Related = the passage's record is one the expert expects (the PMIDs/files of the item,
    the aspirin record for aspirin questions, P30542 for ADORA1/adenosine A1 questions).
    """
    from biomed_agent.agent.relevance import entity_terms
    from biomed_agent.agent.state import empty_entities

    if item.get("refusal"):
        return []
    found = agent.context.tools["knowledge_search"].run({"query": item["question"], "limit": 5})
    wanted = set(item.get("pmids", [])) | set(item.get("files", []))
    wanted |= {"2244"} if item.get("compounds") == ["aspirin"] else set()
    wanted |= set(item.get("accessions", []))
    if "ADORA1" in item.get("genes", []) or item.get("protein_names"):
        wanted.add("P30542")
    entities = {**empty_entities(), **answer.entities}
    terms = entity_terms(entities, understanding)  # type: ignore[arg-type]
    rows = []
    for hit in found.get("hits", []):
        ident = {str(hit.get("record_id")), str(hit.get("url", "")).rsplit("/", 1)[-1]}
        text = f"{hit.get('title', '')} {hit.get('text', '')}".lower()
        mentions = any(t in text for t in terms)
        rows.append((float(hit["score"]), bool(ident & wanted), mentions))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write per-question results here")
    parser.add_argument("--only", help="run one question id")
    parser.add_argument("--show", action="store_true", help="print each answer")
    args = parser.parse_args()
    from biomed_agent.agent.entities import extract_entities
    from biomed_agent.agent.understanding import understand_question

    items = [q for q in load_questions() if not args.only or q["id"] == args.only]
    with tempfile.TemporaryDirectory(prefix="eval-agent-") as tmp:
        agent = build_agent(Path(tmp))
        embedder = agent.context.shared.embedder
        agent.ask("Is aspirin drug-like?")  # warm: models, store
        rows = []
        for item in items:
            started = time.perf_counter()
            answer = agent.ask(item["question"])
            elapsed = (time.perf_counter() - started) * 1000
            started = time.perf_counter()
            understanding = understand_question(
                item["question"], extract_entities(item["question"]), embedder
            )
            understand_ms = (time.perf_counter() - started) * 1000
            result = score(item, answer, understanding)
            hits = calibration_hits(agent, item, answer, understanding)
            rows.append({**item, **result, "ms": elapsed, "hits": hits,
                         "understand_ms": understand_ms,
                         "predicted": [c["intent"] for c in understanding["clauses"]],
                         "answer": answer.text})  # fmt: skip
            if args.show or not all(result["checks"].values()):
                failed = [k for k, ok in result["checks"].items() if not ok]
                print(
                    f"--- {item['id']} {item['question']!r} failed={failed} "
                    f"intents={rows[-1]['predicted']} unrelated={result['unrelated']}"
                )
                if args.show or failed:
                    print(answer.text)
    report(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, default=str))
    return 0


def report(rows: list[dict[str, Any]]) -> None:
    by_category: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_category[row["category"]].append(row)
    names = ["entity", "intents", "evidence", "refusal", "text", "clauses"]
    print(f"\n{'category':<22}{'n':>3}{'correct':>9}" + "".join(f"{n:>10}" for n in names))
    for category, group in [*by_category.items(), ("ALL", rows)]:
        correct = sum(all(r["checks"].values()) for r in group)
        cells = "".join(f"{sum(r['checks'][n] for r in group):>7}/{len(group):<2}" for n in names)
        print(f"{category:<22}{len(group):>3}{correct:>6}/{len(group):<2}{cells}")
    ok, total = (sum(r["names"][i] for r in rows) for i in (0, 1))
    print(f"\nanswers showing unrelated evidence: {sum(bool(r['unrelated']) for r in rows)}")
    print(f"silently dropped clauses: {sum(r['dropped'] for r in rows)}")
    print(f"names resolved or honestly declined: {ok}/{total} ({100 * ok / max(total, 1):.0f}%)")
    print(f"salts called drug-like: {sum(r['salt_druglike'] for r in rows)}")
    understand = [r["understand_ms"] for r in rows]
    print(f"understand (entities, lexicons, clauses/intents; warm): p50 "
          f"{statistics.median(understand):.0f} ms, max {max(understand):.0f} ms")  # fmt: skip
    times = [r["ms"] for r in rows]
    for mentions in (True, False):
        related = [s for r in rows for s, ok, m in r["hits"] if ok and m == mentions]
        unrelated = [s for r in rows for s, ok, m in r["hits"] if not ok and m == mentions]
        label = "naming an entity" if mentions else "naming no entity"
        print(f"store passages {label}: related n={len(related)} min "
              f"{min(related, default=float('nan')):.3f}; unrelated n={len(unrelated)} max "
              f"{max(unrelated, default=float('nan')):.3f}")  # fmt: skip
    print(f"ask latency (warm, offline, model-free): p50 {statistics.median(times):.0f} ms, "
          f"max {max(times):.0f} ms")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
