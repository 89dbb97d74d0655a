"""LangChain-ready lookup tools over the PubChem, UniProt and PubMed clients.

``pubchem_lookup(query)``, ``uniprot_lookup(query, organism=None)`` and
``pubmed_search(query, limit=10)``. The clients belong to the shared
:class:`~biomed_agent.resources.Resources` and are built on first use (no HTTP session
or cache file is opened while tools are only listed). Every result carries ``url``, the
citation the agent must quote. Unknown names and ids come
back as a structured ``NotFoundError``, malformed ones as ``InvalidIdentifierError``.
Offline, a PubChem or UniProt lookup that is not cached answers from a record already in
the knowledge store when one matches the query exactly (:mod:`.stored_records`), marked
``retrieved_from: "knowledge store"``; otherwise the ``OfflineError`` stands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from biomed_agent.errors import NotFoundError, OfflineError, StoreError, shorten
from biomed_agent.patterns import is_uniprot_accession
from biomed_agent.resources import Resources
from biomed_agent.settings import Settings
from biomed_agent.tools.arguments import StrictArgs
from biomed_agent.tools.base import ToolSpec
from biomed_agent.tools.stored_records import stored_compound, stored_protein

if TYPE_CHECKING:
    from collections.abc import Callable

    from biomed_agent.retrievers.store import KnowledgeStore
    from biomed_agent.retrievers.uniprot import ProteinEntry

__all__ = ["MAX_ARTICLES", "build_tools"]

MAX_ARTICLES = 50
"""Most articles one ``pubmed_search`` call returns (ingest more with the CLI)."""
ABSTRACT_CHARS = 1500
SYNONYMS_SHOWN = 10
OTHER_MATCHES = 4


class PubChemLookupArgs(StrictArgs):
    query: str = Field(
        min_length=1,
        max_length=2000,
        description="compound name ('aspirin'), PubChem CID (2244), SMILES or InChIKey",
    )


class UniProtLookupArgs(StrictArgs):
    query: str = Field(
        min_length=1,
        max_length=200,
        description="UniProt accession ('P30542') or gene / protein name ('ADORA1', 'p53')",
    )
    organism: str | None = Field(
        default=None,
        max_length=200,
        description="optional organism filter for name searches: taxon id ('9606') or name "
        "('Homo sapiens', 'human')",
    )


class PubMedSearchArgs(StrictArgs):
    query: str = Field(
        min_length=1,
        max_length=2000,
        description="PubMed query; field tags allowed, "
        "e.g. 'adenosine A1 receptor[tiab] AND 2020:2024[dp]'",
    )
    limit: int = Field(
        default=10, ge=1, le=MAX_ARTICLES, description=f"articles to return, 1 to {MAX_ARTICLES}"
    )


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _protein_result(hits: list[ProteinEntry]) -> dict[str, Any]:
    best = hits[0]
    return {
        "accession": best.accession,
        "name": best.protein_name,
        "gene": best.gene,
        "organism": best.organism,
        "reviewed": best.reviewed,
        "length": best.length,
        "function": best.function,
        "subcellular_location": best.subcellular_location,
        "disease": best.disease,
        "url": best.url,
        "other_matches": [
            {
                "accession": h.accession,
                "name": h.protein_name,
                "gene": h.gene,
                "organism": h.organism,
            }
            for h in hits[1:]
        ],
    }


def build_tools(settings: Settings, resources: Resources | None = None) -> list[ToolSpec]:
    """The three lookup tools over the clients of ``resources`` (built on first use)."""
    clients = resources or Resources(settings)

    def from_store(
        exc: OfflineError, lookup: Callable[[KnowledgeStore], dict[str, Any] | None]
    ) -> dict[str, Any]:
        """Offline: the exact stored record ``lookup`` finds, else ``exc`` again."""
        local = clients.settings
        if "store" not in clients.built() and not local.chroma_url and not local.store_dir.exists():
            raise exc  # no store to look in: do not create an empty one
        try:
            found = lookup(clients.store())
        except StoreError:
            found = None
        if found is None:
            raise exc
        return found

    def pubchem_lookup(query: str) -> dict[str, Any]:
        try:
            return pubchem_online(query)
        except OfflineError as exc:
            return from_store(exc, lambda store: stored_compound(store, query, SYNONYMS_SHOWN))

    def pubchem_online(query: str) -> dict[str, Any]:
        record = clients.pubchem.compounds([query])[0]
        return {
            "cid": record.cid,
            "name": record.name,
            "properties": {k: v for k, v in record.properties.items() if k != "name"},
            "synonyms": list(record.synonyms[:SYNONYMS_SHOWN]),
            "description": record.description,
            "sections": record.sections,
            "url": record.url,
        }

    def uniprot_lookup(query: str, organism: str | None = None) -> dict[str, Any]:
        try:
            return uniprot_online(query, organism)
        except OfflineError as exc:
            return from_store(exc, lambda store: stored_protein(store, query, organism))

    def uniprot_online(query: str, organism: str | None = None) -> dict[str, Any]:
        unknown: NotFoundError | None = None
        if is_uniprot_accession(query):
            try:
                return _protein_result([clients.uniprot.entry(query)])
            except NotFoundError as exc:  # retired, or a gene name shaped like an accession
                unknown = exc
        hits = clients.uniprot.search(query, organism, size=OTHER_MATCHES + 1)
        if not hits:
            where = f" in organism {shorten(organism)}" if organism else ""
            raise unknown or NotFoundError(
                f"UniProt has no entry with gene or protein name {shorten(query)}{where}. "
                "Check the spelling, try the gene symbol (e.g. TP53) or drop the organism filter.",
                input_name="query",
            )
        return _protein_result(hits)

    def pubmed_search(query: str, limit: int = 10) -> dict[str, Any]:
        result = clients.pubmed.search(query, limit)
        articles = clients.pubmed.articles_for(result, limit)
        return {
            "query": result.query,
            "total_count": result.count,
            "articles": [
                {
                    "pmid": a.pmid,
                    "title": a.title,
                    "authors": list(a.authors[:6]) + (["et al."] if len(a.authors) > 6 else []),
                    "journal": a.journal or a.book_title,
                    "year": a.year,
                    "doi": a.doi or None,
                    "publication_type": a.publication_type,
                    "abstract": _cut(a.abstract, ABSTRACT_CHARS),
                    "url": a.url,
                }
                for a in articles
            ],
        }

    return [
        ToolSpec(
            name="pubchem_lookup",
            func=pubchem_lookup,
            args_schema=PubChemLookupArgs,
            description="""\
Look up one compound in PubChem by name, CID, SMILES or InChIKey.
Returns cid, name, properties (formula, molecular_weight, smiles, connectivity_smiles, inchi,
inchikey, iupac_name, xlogp, tpsa, exact_mass, hbond_donors, hbond_acceptors,
rotatable_bonds, heavy_atoms, charge), synonyms, description and key sections (drug
indication, mechanism of action, ... when PubChem has them) and url, the compound page
to cite. Unknown names give a not-found error.""",
        ),
        ToolSpec(
            name="uniprot_lookup",
            func=uniprot_lookup,
            args_schema=UniProtLookupArgs,
            description="""\
Look up a protein in UniProtKB by accession (P30542) or by gene / protein name (ADORA1),
optionally restricted to an organism (taxon id or name). Reviewed (Swiss-Prot) entries and
exact gene matches come first. Returns accession, name, gene, organism, reviewed, length,
function, subcellular_location, disease, url (the entry page to cite) and up to four
other_matches.""",
        ),
        ToolSpec(
            name="pubmed_search",
            func=pubmed_search,
            args_schema=PubMedSearchArgs,
            description="""\
Search PubMed and return the top articles (PubMed's relevance order) with pmid, title,
authors, journal, year, doi, publication_type, abstract (cut to 1,500 characters; structured
sections keep labels like 'METHODS:') and url, the PubMed page to cite. total_count
is the number of hits PubMed has for the query.""",
        ),
    ]
