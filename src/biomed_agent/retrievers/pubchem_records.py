"""PubChem records: property rows, PUG-View annotations and :class:`CompoundRecord`.

Both property vocabularies are read: before 2025 PUG-REST answered ``IsomericSMILES``
and ``CanonicalSMILES``; since 2025 it answers ``SMILES`` and ``ConnectivitySMILES``.
They are normalised to ``smiles`` and ``connectivity_smiles``. Values from the service
are data: a number that does not parse is left out, never a crash.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langchain_core.documents import Document

__all__ = [
    "DESCRIPTION_HEADING",
    "KEY_SECTIONS",
    "PROPERTY_KEYS",
    "REQUESTED_PROPERTIES",
    "SYNONYMS_KEPT",
    "CompoundRecord",
    "compound_url",
    "normalise_properties",
    "parse_pug_view",
]

# PUG-REST property name -> our key (both the pre-2025 and the 2025 SMILES names)
PROPERTY_KEYS: dict[str, str] = {
    "Title": "name",
    "IUPACName": "iupac_name",
    "MolecularFormula": "formula",
    "MolecularWeight": "molecular_weight",
    "SMILES": "smiles",
    "IsomericSMILES": "smiles",
    "ConnectivitySMILES": "connectivity_smiles",
    "CanonicalSMILES": "connectivity_smiles",
    "InChI": "inchi",
    "InChIKey": "inchikey",
    "XLogP": "xlogp",
    "TPSA": "tpsa",
    "ExactMass": "exact_mass",
    "HBondDonorCount": "hbond_donors",
    "HBondAcceptorCount": "hbond_acceptors",
    "RotatableBondCount": "rotatable_bonds",
    "HeavyAtomCount": "heavy_atoms",
    "Charge": "charge",
}
_LEGACY_NAMES = ("IsomericSMILES", "CanonicalSMILES")
REQUESTED_PROPERTIES = tuple(name for name in PROPERTY_KEYS if name not in _LEGACY_NAMES)
_FLOAT_KEYS = frozenset({"molecular_weight", "exact_mass", "xlogp", "tpsa"})
_INT_KEYS = frozenset(
    {"hbond_donors", "hbond_acceptors", "rotatable_bonds", "heavy_atoms", "charge"}
)

DESCRIPTION_HEADING = "Record Description"
KEY_SECTIONS = (
    "Drug Indication",
    "Mechanism of Action",
    "Pharmacology",
    "Drug Classes",
    "Therapeutic Uses",
    "Toxicity Summary",
)
SYNONYMS_KEPT = 20
_SECTION_CHARS = 1500


def compound_url(cid: int) -> str:
    """The compound page used as citation."""
    return f"https://pubchem.ncbi.nlm.nih.gov/compound/{cid}"


def is_cid(value: object) -> bool:
    """A CID as PubChem's JSON gives it: a positive integer (anything else is skipped)."""
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _number(value: object, kind: type[int] | type[float]) -> int | float | None:
    """A numeric property as ``kind``; ``None`` for a value that is not one (left out)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str) or len(str(value)) > 30:
        return None
    try:
        number = kind(value)
    except ValueError:
        return None
    return number if number == number and abs(number) != float("inf") else None


def normalise_properties(row: Mapping[str, Any]) -> dict[str, str | int | float]:
    """PUG-REST property row -> our keys, numbers as numbers (weights come as strings)."""
    out: dict[str, str | int | float] = {}
    for name, value in row.items():
        key = PROPERTY_KEYS.get(name)
        if key is None or value is None or value == "":
            continue
        if key in _FLOAT_KEYS or key in _INT_KEYS:
            number = _number(value, int if key in _INT_KEYS else float)
            if number is not None:
                out[key] = number
        else:
            out.setdefault(key, str(value))  # 2025 names first in REQUESTED_PROPERTIES
    return out


def _strings(information: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    for info in information:
        for item in info.get("Value", {}).get("StringWithMarkup", []):
            text = " ".join(str(item.get("String", "")).split())
            if text:
                yield text


def _find_sections(
    sections: Iterable[Mapping[str, Any]], wanted: set[str]
) -> Iterator[Mapping[str, Any]]:
    for section in sections:
        if section.get("TOCHeading") in wanted:
            yield section
        yield from _find_sections(section.get("Section", []), wanted)


def _section_text(section: Mapping[str, Any]) -> str:
    """Unique strings of a section and its subsections, cut to a readable length."""
    texts = list(dict.fromkeys(_strings(section.get("Information", []))))
    for child in section.get("Section", []):
        texts.extend(t for t in _strings(child.get("Information", [])) if t not in texts)
    joined = " ".join(texts)
    return joined if len(joined) <= _SECTION_CHARS else joined[: _SECTION_CHARS - 1] + "…"


def parse_pug_view(record: Mapping[str, Any]) -> tuple[str | None, dict[str, str]]:
    """(description, {heading: text}) from a PUG-View compound record."""
    sections = record.get("Record", {}).get("Section", [])
    found: dict[str, str] = {}
    for section in _find_sections(sections, {DESCRIPTION_HEADING, *KEY_SECTIONS}):
        heading = section["TOCHeading"]
        text = _section_text(section)
        if text and heading not in found:
            found[heading] = text
    return found.pop(DESCRIPTION_HEADING, None), {h: found[h] for h in KEY_SECTIONS if h in found}


@dataclass(frozen=True)
class CompoundRecord:
    """What PubChem says about one compound."""

    cid: int
    properties: dict[str, str | int | float]
    synonyms: tuple[str, ...] = ()
    description: str | None = None
    sections: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        title = self.properties.get("name")
        return str(title) if title else (self.synonyms[0] if self.synonyms else f"CID {self.cid}")

    @property
    def url(self) -> str:
        return compound_url(self.cid)

    def to_text(self) -> str:
        p = self.properties
        lines = [f"{self.name} (PubChem CID {self.cid})"]
        labelled = (
            ("IUPAC name", "iupac_name", ""),
            ("Molecular formula", "formula", ""),
            ("Molecular weight", "molecular_weight", " g/mol"),
            ("SMILES", "smiles", ""),
            ("InChIKey", "inchikey", ""),
            ("XLogP", "xlogp", ""),
            ("Topological polar surface area", "tpsa", " Å²"),
            ("H-bond donors", "hbond_donors", ""),
            ("H-bond acceptors", "hbond_acceptors", ""),
            ("Rotatable bonds", "rotatable_bonds", ""),
        )
        lines += [f"{label}: {p[key]}{unit}" for label, key, unit in labelled if key in p]
        if self.synonyms:
            lines.append("Synonyms: " + "; ".join(self.synonyms[:SYNONYMS_KEPT]))
        if self.description:
            lines.append(f"Description: {self.description}")
        lines += [f"{heading}: {text}" for heading, text in self.sections.items()]
        return "\n".join(lines)

    def to_document(self) -> Document:
        from langchain_core.documents import Document

        metadata: dict[str, str | int | float | bool] = {
            "source": "pubchem",
            "record_id": str(self.cid),
            "title": self.name,
            "url": self.url,
            "cid": self.cid,
            **self.properties,
            "name": self.name,
        }
        if self.synonyms:
            metadata["synonyms"] = "; ".join(self.synonyms[:SYNONYMS_KEPT])
        if self.description:
            metadata["description"] = self.description
        return Document(page_content=self.to_text(), metadata=metadata)
