"""Each benchmark's Hugging Face layout mapped onto the shared row mappers.

A ``*_items(table, split)`` adapter checks the columns of a :class:`~biomed_agent.eval.hub.HubTable`
and hands its rows to the matching mapper of :mod:`biomed_agent.eval.loaders`, so a hub
copy and a local file of one benchmark give identical items.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from biomed_agent.errors import InvalidInputError, shorten
from biomed_agent.eval import loaders
from biomed_agent.eval.hub import HubItems, HubTable
from biomed_agent.eval.items import EvalItem

__all__ = [
    "medconceptsqa_items",
    "medmcqa_items",
    "medqa_items",
    "mmlu_items",
    "official_pubmedqa_test_labels",
    "pubchemqa_items",
    "pubmedqa_items",
    "uniprotqa_items",
]


def official_pubmedqa_test_labels() -> dict[str, str]:
    """The 500 PMIDs of PubMedQA's official test split with their labels (package data).

    The hub's ``pqa_labeled`` config has all 1,000 PQA-L items in one ``train``
    split; this list (pubmedqa/pubmedqa ``data/test_ground_truth.json``) marks the test half.
    """
    text = (
        resources.files("biomed_agent")
        .joinpath("data/pubmedqa/test_ground_truth.json")
        .read_text(encoding="utf-8")
    )
    return {str(pmid): str(label) for pmid, label in json.loads(text).items()}


def pubmedqa_items(table: HubTable, split: str) -> list[EvalItem]:
    """``qiaojin/PubMedQA`` ``pqa_labeled``: ``pubid``, ``question``, ``context.contexts``,
    ``final_decision``; ``split`` ``test`` is the official test PMIDs, ``train`` the rest."""
    table.require(PUBMEDQA_COLUMNS)
    records: dict[str, Any] = {}
    for number, row in enumerate(table.rows, start=1):
        context = row["context"]
        contexts = context.get("contexts") if isinstance(context, dict) else None
        if not isinstance(contexts, list):
            raise InvalidInputError(
                f"{table.origin}, record {number}: 'context' has no 'contexts' list"
                f" (got {shorten(context)})",
                input_name="--data",
            )
        records[str(row["pubid"])] = {
            "QUESTION": row["question"],
            "CONTEXTS": contexts,
            "final_decision": row["final_decision"],
        }
    truth = official_pubmedqa_test_labels()
    return loaders.pubmedqa_items(
        records, truth, split, table.origin, "the official PubMedQA test list (500 PMIDs)"
    )


def medqa_items(table: HubTable, split: str) -> list[EvalItem]:
    """``GBaker/MedQA-USMLE-4-options``: the jind11/MedQA JSON Lines rows themselves."""
    table.require(MEDQA_COLUMNS)
    return loaders.medqa_items(table.rows, table.origin)


def medmcqa_items(table: HubTable, split: str) -> list[EvalItem]:
    """``openlifescienceai/medmcqa``: ``cop`` is a ClassLabel ``a``..``d`` (0-3 stored).

    The published JSON Lines count ``cop`` from 1. A copy with plain integers is
    read as 0-based when the column holds a 0 and as 1-based otherwise; one
    holding both 0 and 4 is refused.
    """
    table.require(MEDMCQA_COLUMNS)
    first_cop = 1
    if "cop" not in table.class_labels:
        numbers = {row["cop"] for row in table.rows if isinstance(row["cop"], int)}
        if {0, 4} <= numbers:
            raise InvalidInputError(
                f"{table.origin}: column 'cop' holds both 0 and 4, so it is neither 0-3 (hub)"
                " nor 1-4 (original) numbering; pass a consistent copy",
                input_name="--data",
            )
        first_cop = 0 if 0 in numbers else 1
    return loaders.medmcqa_items(table.rows, table.origin, first_cop=first_cop)


def mmlu_items(table: HubTable, split: str) -> list[EvalItem]:
    """``cais/mmlu``: ``question``, ``choices`` (4), ``answer`` (ClassLabel ``A``..``D``).

    Ids are ``{config}_{split}-{n}``, the same as the hendrycks/test CSV's stem gives.
    """
    table.require(MMLU_COLUMNS)
    return loaders.mmlu_items(table.rows, table.origin, id_prefix=f"{table.config}_{table.split}")


def medconceptsqa_items(table: HubTable, split: str) -> list[EvalItem]:
    """``ofir408/MedConceptsQA``: the same columns as its CSV files."""
    table.require(MEDCONCEPTSQA_COLUMNS)
    return loaders.medconceptsqa_items(table.rows, table.origin)


def _entity_qa(entity: tuple[str, str]) -> HubItems:
    """A copy with OpenBioMed's QA columns: the entity (SMILES, accession), question, answer."""
    field, label = entity
    columns = (field, "question", "answer")

    def items(table: HubTable, split: str) -> list[EvalItem]:
        table.require(columns)
        return loaders.entity_qa_items(table.rows, table.origin, entity_field=field, label=label)

    return items


pubchemqa_items = _entity_qa(loaders.PUBCHEMQA_ENTITY)
uniprotqa_items = _entity_qa(loaders.UNIPROTQA_ENTITY)

PUBMEDQA_COLUMNS = ("pubid", "question", "context", "final_decision")
MEDQA_COLUMNS = ("question", "options", "answer_idx")
MEDMCQA_COLUMNS = ("id", "question", "opa", "opb", "opc", "opd", "cop")
MMLU_COLUMNS = ("question", "choices", "answer")
MEDCONCEPTSQA_COLUMNS = (
    "question_id",
    "question",
    "option1",
    "option2",
    "option3",
    "option4",
    "answer_id",
    "vocab",
    "level",
)
