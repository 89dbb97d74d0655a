"""UniProt client (rest.uniprot.org): entries, searches, FASTA, many accessions per request.

Many accessions are fetched with ``/uniprotkb/search?query=accession:A OR accession:B ...``,
:data:`ACCESSIONS_PER_QUERY` per query, following the ``Link: rel="next"`` header for
further pages; 500 accessions cost 5 requests instead of 500. Accessions the search does
not return are looked up one by one, so inactive entries (deleted, demerged, merged) are
reported with their reason and successor accessions.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from biomed_agent.errors import (
    InvalidIdentifierError,
    InvalidQueryError,
    NotFoundError,
    UpstreamError,
    shorten,
)
from biomed_agent.patterns import UNIPROT_ACCESSION
from biomed_agent.retrievers.http import (
    Expect,
    RetryPolicy,
    ServiceClient,
    ServiceSession,
    quote_segment,
    read_json,
)
from biomed_agent.settings import Settings

if TYPE_CHECKING:
    import requests
    from langchain_core.documents import Document

__all__ = [
    "ACCESSION_PATTERN",
    "ProteinEntry",
    "UniProtClient",
    "entry_url",
    "inactive_reason",
    "validate_accession",
]


SERVICE = "UniProt"
ACCESSIONS_PER_QUERY = 100
"""Accessions OR-ed into one search query (keeps the URL near 2 kB)."""
SEARCH_FIELDS = (
    "accession,id,protein_name,gene_names,organism_name,organism_id,length,"
    "cc_function,cc_subcellular_location,cc_disease,go"
)
"""Only the sections a :class:`ProteinEntry` reads (full entries run to 100+ kB each)."""

_ENTRY = Expect("json", keys=("primaryAccession",))
_RESULTS = Expect("json", keys=("results",))
_FASTA = Expect("fasta")

# UniProt's documented accession format (one definition: biomed_agent.patterns)
ACCESSION_PATTERN = UNIPROT_ACCESSION


def validate_accession(value: str) -> str:
    """The accession, upper-cased; :class:`InvalidIdentifierError` if it is not one."""
    accession = value.strip().upper() if isinstance(value, str) else ""
    if not ACCESSION_PATTERN.fullmatch(accession):
        raise InvalidIdentifierError(
            f"{shorten(value)} is not a UniProt accession (6 or 10 characters like P04637 or "
            "A0A023GPI8); search by gene or protein name with uniprot_lookup instead",
            input_name="accession",
        )
    return accession


def entry_url(accession: str) -> str:
    """The entry page used as citation."""
    return f"https://www.uniprot.org/uniprotkb/{accession}/entry"


def inactive_reason(entry: Mapping[str, Any]) -> str | None:
    """Why an entry is inactive ("deleted", "demerged into P63151, P63150"), or None if active."""
    if entry.get("entryType") != "Inactive":
        return None
    reason = entry.get("inactiveReason")
    reason = reason if isinstance(reason, dict) else {}
    kind = str(reason.get("inactiveReasonType", "inactive")).lower()
    successors = reason.get("mergeDemergeTo")
    successors = [str(s) for s in successors] if isinstance(successors, list) else []
    return f"{kind} into {', '.join(successors)}" if successors else kind


def _texts(comment: Mapping[str, Any]) -> Iterator[str]:
    for text in comment.get("texts", []):
        if text.get("value"):
            yield str(text["value"])


def _join(values: Sequence[str]) -> str:
    return "; ".join(dict.fromkeys(v for v in values if v))


@dataclass(frozen=True)
class ProteinEntry:
    """The fields of a UniProtKB entry the agent and the store use."""

    accession: str
    uniprot_id: str
    protein_name: str
    gene: str
    organism: str
    organism_id: int | None
    reviewed: bool
    length: int | None
    function: str
    subcellular_location: str
    disease: str
    go_terms: str

    @property
    def url(self) -> str:
        return entry_url(self.accession)

    @classmethod
    def from_json(cls, entry: Mapping[str, Any]) -> ProteinEntry:
        """Parse a rest.uniprot.org UniProtKB JSON entry (active entries only).

        Raises:
            UpstreamError: the entry lacks its accession or a section has the wrong type.
        """
        accession = entry.get("primaryAccession") if isinstance(entry, Mapping) else None
        if not isinstance(accession, str) or not accession:
            raise UpstreamError(
                f"UniProt answered with an entry that has no accession ({shorten(entry)}); "
                "try again later.",
                service=SERVICE,
            )
        try:
            return cls._parse(entry, accession)
        except (AttributeError, KeyError, TypeError) as exc:
            raise UpstreamError(
                f"UniProt entry {accession} is not in the documented format "
                f"({type(exc).__name__}: {exc}); try again later.",
                service=SERVICE,
            ) from None

    @classmethod
    def _parse(cls, entry: Mapping[str, Any], accession: str) -> ProteinEntry:
        description = entry.get("proteinDescription", {})
        name_block: Mapping[str, Any] = description.get("recommendedName") or next(
            iter(description.get("submissionNames", [])), {}
        )
        comments: dict[str, list[Mapping[str, Any]]] = {}
        for comment in entry.get("comments", []):
            comments.setdefault(comment.get("commentType", ""), []).append(comment)
        locations = [
            loc["location"]["value"]
            for c in comments.get("SUBCELLULAR LOCATION", [])
            for loc in c.get("subcellularLocations", [])
            if loc.get("location", {}).get("value")
        ]
        diseases = []
        for c in comments.get("DISEASE", []):
            disease = c.get("disease", {})
            label = disease.get("diseaseId", "")
            if disease.get("description"):
                label = f"{label}: {disease['description']}" if label else disease["description"]
            diseases.append(label)
        go_terms = [
            prop["value"]
            for ref in entry.get("uniProtKBCrossReferences", [])
            if ref.get("database") == "GO"
            for prop in ref.get("properties", [])
            if prop.get("key") == "GoTerm"
        ]
        genes = entry.get("genes", [])
        organism = entry.get("organism", {})
        return cls(
            accession=accession,
            uniprot_id=str(entry.get("uniProtkbId") or entry.get("uniProtId") or ""),
            protein_name=str(name_block.get("fullName", {}).get("value", "")),
            gene=str(genes[0].get("geneName", {}).get("value", "")) if genes else "",
            organism=str(organism.get("scientificName", "")),
            organism_id=organism.get("taxonId"),
            reviewed="Swiss-Prot" in str(entry.get("entryType", "")),
            length=entry.get("sequence", {}).get("length"),
            function=" ".join(t for c in comments.get("FUNCTION", []) for t in _texts(c)),
            subcellular_location=_join(locations),
            disease=_join(diseases),
            go_terms=_join(go_terms),
        )

    def to_text(self) -> str:
        status = "reviewed (Swiss-Prot)" if self.reviewed else "unreviewed (TrEMBL)"
        lines = [f"{self.protein_name or self.uniprot_id} (UniProt {self.accession}, {status})"]
        labelled = (
            ("Gene", self.gene),
            ("Organism", self.organism),
            ("Length", f"{self.length} amino acids" if self.length else ""),
            ("Function", self.function),
            ("Subcellular location", self.subcellular_location),
            ("Disease", self.disease),
            ("GO terms", self.go_terms),
        )
        lines += [f"{label}: {value}" for label, value in labelled if value]
        return "\n".join(lines)

    def to_document(self) -> Document:
        from langchain_core.documents import Document

        metadata: dict[str, str | int | float | bool] = {
            "source": "uniprot",
            "record_id": self.accession,
            "title": self.protein_name or self.uniprot_id or self.accession,
            "url": self.url,
            "reviewed": self.reviewed,
        }
        optional = {
            "accession": self.accession,
            "uniprot_id": self.uniprot_id,
            "protein_name": self.protein_name,
            "gene": self.gene,
            "organism": self.organism,
            "organism_id": self.organism_id,
            "length": self.length,
            "function": self.function,
            "subcellular_location": self.subcellular_location,
            "disease": self.disease,
            "go_terms": self.go_terms,
        }
        metadata.update({k: v for k, v in optional.items() if v not in (None, "")})
        return Document(page_content=self.to_text(), metadata=metadata)


def _entries(page: Mapping[str, Any], what: str) -> list[Mapping[str, Any]]:
    """The entries of a search page; each must be an object with an accession."""
    results = page.get("results")
    if not isinstance(results, list) or not all(
        isinstance(e, dict) and isinstance(e.get("primaryAccession"), str) for e in results
    ):
        raise UpstreamError(
            f"UniProt answered {what} with results that are not entries; try again later.",
            service=SERVICE,
        )
    return results


def _quoted(text: str) -> str:
    """A user phrase as one UniProt query term (quotes and backslashes escaped)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class UniProtClient(ServiceClient):
    """Batched, cached, rate-limited UniProt client; see the module docstring."""

    @classmethod
    def from_settings(
        cls, settings: Settings, *, retry: RetryPolicy | None = None
    ) -> UniProtClient:
        """A client on ``settings.uniprot_url`` (10 requests/s, shared across threads)."""
        return cls(
            ServiceSession(SERVICE, settings.uniprot_url, settings, max_per_second=10, retry=retry)
        )

    def _raw_entry(self, accession: str) -> dict[str, Any]:
        what = f"entry {accession}"
        response = self.http.get(
            f"/uniprotkb/{quote_segment(accession)}", {"format": "json"}, what=what, expect=_ENTRY
        )
        return read_json(response, SERVICE, what)

    def entry_json(self, accession: str) -> dict[str, Any]:
        """The raw JSON of one entry; an inactive entry raises :class:`NotFoundError` saying why."""
        accession = validate_accession(accession)
        entry = self._raw_entry(accession)
        reason = inactive_reason(entry)
        if reason:
            advice = (
                "use the accession(s) it moved to."
                if "into" in reason
                else "it has no current record."
            )
            raise NotFoundError(f"UniProt entry {accession} is inactive ({reason}); {advice}")
        return entry

    def entry(self, accession: str) -> ProteinEntry:
        return ProteinEntry.from_json(self.entry_json(accession))

    def fasta(self, accession: str) -> str:
        """The entry's FASTA text (header line and sequence)."""
        accession = validate_accession(accession)
        what = f"FASTA of {accession}"
        response = self.http.get(
            f"/uniprotkb/{quote_segment(accession)}.fasta", what=what, expect=_FASTA
        )
        return str(response.text)

    def search(
        self, query: str, organism: str | int | None = None, *, size: int = 10
    ) -> list[ProteinEntry]:
        """Entries whose gene or protein name matches ``query``; reviewed and exact-gene hits first.

        ``organism`` is a taxon id (9606) or a name ("Homo sapiens", "human").
        """
        if not isinstance(query, str) or not query.strip():
            raise InvalidQueryError(
                "empty protein query; give a gene or protein name (e.g. 'TP53')", input_name="query"
            )
        if size < 1:
            raise InvalidQueryError(f"size must be at least 1, got {size}", input_name="size")
        phrase = _quoted(query.strip())
        terms = f"(gene_exact:{phrase} OR gene:{phrase} OR protein_name:{phrase})"
        if organism is not None and str(organism).strip():
            org = str(organism).strip()
            terms += (
                f" AND organism_id:{org}" if org.isdigit() else f" AND organism_name:{_quoted(org)}"
            )
        what = f"search {shorten(query.strip())}" + (
            f" in organism {shorten(organism)}" if organism else ""
        )
        page = read_json(
            self.http.get(
                "/uniprotkb/search",
                {"query": terms, "format": "json", "fields": SEARCH_FIELDS, "size": size},
                what=what,
                expect=_RESULTS,
            ),
            SERVICE,
            what,
        )
        hits = [ProteinEntry.from_json(e) for e in _entries(page, what) if not inactive_reason(e)]
        wanted = query.strip().upper()
        return sorted(hits, key=lambda e: (not e.reviewed, e.gene.upper() != wanted))

    def entries(
        self, accessions: Sequence[str], *, skip_missing: bool = False
    ) -> list[ProteinEntry]:
        """Entries for many accessions in input order, :data:`ACCESSIONS_PER_QUERY` per request."""
        if not accessions:
            raise InvalidQueryError("no UniProt accessions given", input_name="accessions")
        wanted = list(dict.fromkeys(validate_accession(a) for a in accessions))
        found: dict[str, Mapping[str, Any]] = {}
        for start in range(0, len(wanted), ACCESSIONS_PER_QUERY):
            chunk = wanted[start : start + ACCESSIONS_PER_QUERY]
            for entry in self._search_all(" OR ".join(f"accession:{a}" for a in chunk), len(chunk)):
                found[str(entry.get("primaryAccession"))] = entry
        problems = []
        for accession in (a for a in wanted if a not in found):
            try:  # not returned by search: find out why (inactive entries say so)
                entry = self._raw_entry(accession)
            except NotFoundError:
                problems.append(f"{accession} (no such entry)")
                continue
            reason = inactive_reason(entry)
            if reason:
                problems.append(f"{accession} ({reason})")
            else:
                found[accession] = entry
        message = f"UniProt has no active entry for: {', '.join(problems)}."
        self._handle_missing(problems, message, skip_missing)
        return [ProteinEntry.from_json(found[a]) for a in wanted if a in found]

    def entry_documents(
        self, accessions: Sequence[str], *, skip_missing: bool = False
    ) -> list[Document]:
        """One :class:`Document` per active entry, in input order."""
        return [
            entry.to_document() for entry in self.entries(accessions, skip_missing=skip_missing)
        ]

    def _search_all(self, query: str, expected: int) -> Iterator[Mapping[str, Any]]:
        what = f"batch of {expected} accession(s)"
        response: requests.Response | None = self.http.get(
            "/uniprotkb/search",
            {"query": query, "format": "json", "fields": SEARCH_FIELDS, "size": min(500, expected)},
            what=what,
            expect=_RESULTS,
        )
        while response is not None:
            yield from _entries(read_json(response, SERVICE, what), what)
            next_url = response.links.get("next", {}).get("url")
            response = self.http.follow(next_url, what=what, expect=_RESULTS) if next_url else None
