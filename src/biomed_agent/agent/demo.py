"""The main job, offline: ingest real recorded records, ask a multi-step question model-free.

:func:`run_demo` loads the records shipped in ``biomed_agent/data/demo`` (PubChem
aspirin, UniProt P30542, the PubMed article 23121403; see ``PROVENANCE.md``) into
the knowledge store with the retrieval clients' own record parsers, then asks the
model-free agent a question that needs a name resolution, two computations and a
literature search, and prints the answer, the steps and the citations.
"""

from __future__ import annotations

import json
import sys
from importlib import resources
from typing import TYPE_CHECKING, Any, TextIO

from biomed_agent.patterns import citation_line
from biomed_agent.resources import Resources
from biomed_agent.settings import Settings

if TYPE_CHECKING:
    from langchain_core.documents import Document

    from biomed_agent.retrievers.store import KnowledgeStore

__all__ = ["DEMO_QUESTION", "demo_documents", "run_demo"]

DEMO_QUESTION = (
    "Is aspirin drug-like, and what does the literature say about aspirin and venous "
    "thromboembolism?"
)
# PUG-REST "props" (label, name) -> the PubChem client's property keys
_PROPS: dict[tuple[str, str | None], str] = {
    ("IUPAC Name", "Preferred"): "iupac_name",
    ("Molecular Formula", None): "formula",
    ("Molecular Weight", None): "molecular_weight",
    ("SMILES", "Absolute"): "smiles",
    ("SMILES", "Connectivity"): "connectivity_smiles",
    ("InChI", "Standard"): "inchi",
    ("InChIKey", "Standard"): "inchikey",
    ("Log P", "XLogP3"): "xlogp",
    ("Topological", "Polar Surface Area"): "tpsa",
    ("Count", "Hydrogen Bond Donor"): "hbond_donors",
    ("Count", "Hydrogen Bond Acceptor"): "hbond_acceptors",
    ("Count", "Rotatable Bond"): "rotatable_bonds",
}


def _read(name: str) -> str:
    return resources.files("biomed_agent.data.demo").joinpath(name).read_text(encoding="utf-8")


def _compound_properties(record: dict[str, Any]) -> dict[str, str | int | float]:
    properties: dict[str, str | int | float] = {}
    for prop in record["PC_Compounds"][0]["props"]:
        key = _PROPS.get((prop["urn"].get("label"), prop["urn"].get("name")))
        if key:
            value = next(iter(prop["value"].values()))
            properties[key] = float(value) if key == "molecular_weight" else value
    return properties


def demo_documents() -> list[Document]:
    """The shipped records as store Documents, parsed by the retrieval clients' parsers."""
    from biomed_agent.retrievers.pubchem import CompoundRecord
    from biomed_agent.retrievers.pubmed import parse_articles
    from biomed_agent.retrievers.uniprot import ProteinEntry

    record = json.loads(_read("compound_cid_2244_record.json"))
    cid = int(record["PC_Compounds"][0]["id"]["id"]["cid"])
    synonyms = json.loads(_read("compound_cid_2244_synonyms.json"))
    names = tuple(synonyms["InformationList"]["Information"][0]["Synonym"])
    properties = {"name": names[0], **_compound_properties(record)}
    compound = CompoundRecord(cid=cid, properties=properties, synonyms=names)
    protein = ProteinEntry.from_json(json.loads(_read("uniprotkb_P30542_entry_2023.json")))
    articles = parse_articles(_read("efetch_pubmed_23121403.xml"))
    return [compound.to_document(), protein.to_document(), *(a.to_document() for a in articles)]


def run_demo(
    settings: Settings, out: TextIO | None = None, *, store: KnowledgeStore | None = None
) -> int:
    """Ingest the demo records, answer :data:`DEMO_QUESTION` offline; exit status 0.

    One store serves the ingest and the agent's tools: ``store`` when given (left
    open), else one opened from ``settings`` and closed at the end.
    """
    from biomed_agent.agent.api import BioMedAgent

    out = sys.stdout if out is None else out  # looked up per call, not bound at import
    settings = settings.model_copy(update={"model": "none", "offline": True})
    with Resources(settings, store=store) as resources:
        shared = resources.store()
        counts = shared.add_documents(demo_documents())
        print(
            f"Knowledge store: {counts.records} demo records ({counts.stored} newly stored) "
            f"in {shared.location}",
            file=out,
        )
        print(f"\nQuestion: {DEMO_QUESTION}\n", file=out)
        with BioMedAgent(model="none", settings=settings, resources=resources) as agent:
            answer = agent.ask(DEMO_QUESTION)
    print("Steps:", file=out)
    for step in answer.steps:
        shown = json.dumps(step.args)[:70]
        error = f"  ({step.error['type']})" if step.error else ""
        print(f"  {step.id}. {step.tool}({shown}) -> {step.status}{error}", file=out)
    print(f"\nAnswer ({answer.route}):\n\n{answer.text}", file=out)
    print("Citations:", file=out)
    for citation in answer.citations:
        line = citation_line(citation.id, citation.title, citation.url, citation.tool)
        print(f"  {line}", file=out)
    verdict = "FLAGGED: " + "; ".join(answer.problems) if answer.flagged else "verified"
    print(f"\nVerification: {verdict}; {answer.timings['total']:.0f} ms", file=out)
    return 0
