"""Drug and ligand cross-references of a UniProtKB entry (DrugBank, ChEMBL, GtoPdb, ...).

Reads the ``uniProtKBCrossReferences`` of the JSON entry that
:meth:`~biomed_agent.retrievers.uniprot.UniProtClient.entry_json` returns; no extra
request. DrugBank references carry the drug's generic name (``GenericName``); the
others name the target's record in that database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from biomed_agent.retrievers.http import quote_segment

__all__ = ["DRUG_DATABASES", "DrugReference", "drug_references"]

DRUG_DATABASES: dict[str, str] = {
    "DrugBank": "https://go.drugbank.com/drugs/{id}",
    "ChEMBL": "https://www.ebi.ac.uk/chembl/target_report_card/{id}/",
    "GuidetoPHARMACOLOGY": (
        "https://www.guidetopharmacology.org/GRAC/ObjectDisplayForward?objectId={id}"
    ),
    "DrugCentral": "https://drugcentral.org/target/{id}",
    "BindingDB": "https://www.bindingdb.org/uniprot/{id}",
}
"""Databases read, with the page each reference links to."""


@dataclass(frozen=True)
class DrugReference:
    """One cross-reference: a DrugBank drug, or the target's record in a ligand database."""

    database: str
    id: str
    name: str
    """The drug's generic name (DrugBank); empty for target records."""

    @property
    def url(self) -> str:
        return DRUG_DATABASES[self.database].format(id=quote_segment(self.id))

    @property
    def is_drug(self) -> bool:
        return self.database == "DrugBank"

    def to_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "record_id": self.id,
            "name": self.name or f"{self.database} {self.id}",
            "url": self.url,
            "source": self.database.lower(),
        }


def _property(ref: Mapping[str, Any], key: str) -> str:
    for prop in ref.get("properties") or []:
        if prop.get("key") == key and prop.get("value") not in (None, "-"):
            return str(prop["value"])
    return ""


def drug_references(entry: Mapping[str, Any]) -> list[DrugReference]:
    """The entry's references to :data:`DRUG_DATABASES`, in the entry's order."""
    found: list[DrugReference] = []
    for ref in entry.get("uniProtKBCrossReferences") or []:
        database = ref.get("database")
        if database in DRUG_DATABASES and ref.get("id"):
            found.append(
                DrugReference(str(database), str(ref["id"]), _property(ref, "GenericName"))
            )
    return found
