"""PubMed client over NCBI E-utilities: esearch on the history server, batched efetch.

A search is one ``esearch`` (``usehistory=y``) plus one ``efetch`` per
:data:`EFETCH_BATCH` articles read from the history server (``WebEnv`` + ``query_key``);
fetching known PMIDs is one POST per :data:`EFETCH_BATCH` ids. Never one request per
article (LangChain's PubMed retriever makes one efetch per hit).

Articles (``PubmedArticle``) and books and chapters (``PubmedBookArticle``) are parsed
with the standard library's ElementTree (documents that declare entities are refused).
Inline markup inside titles and abstracts (``<i>``, ``<sup>``, ``<sub>``, ``<b>``) keeps
its text; MathML keeps its tokens run together (``V̇O2max`` reads as ``V.O2max``).
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from biomed_agent.errors import (
    InvalidIdentifierError,
    InvalidQueryError,
    UpstreamError,
    shorten,
)
from biomed_agent.retrievers.http import RetryPolicy, ServiceClient, ServiceSession
from biomed_agent.settings import Settings

if TYPE_CHECKING:
    from langchain_core.documents import Document

__all__ = [
    "Article",
    "PubMedClient",
    "SearchResult",
    "article_url",
    "parse_articles",
    "validate_pmid",
]

logger = logging.getLogger(__name__)

SERVICE = "NCBI E-utilities"
TOOL_NAME = "biomed-agent"
EFETCH_BATCH = 200
"""Articles per efetch request (history-server page or POSTed id list)."""
MAX_RESULTS = 10_000
"""esearch returns at most 10,000 PMIDs."""
LONG_QUERY = 1500
"""Queries longer than this (characters) are POSTed to esearch."""

_PMID = re.compile(r"[1-9]\d{0,8}")
_MATHML = "{http://www.w3.org/1998/Math/MathML}math"


def validate_pmid(value: str | int) -> str:
    """The PMID as a string; :class:`InvalidIdentifierError` if it is not a positive integer."""
    text = (
        str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
    )
    if text.upper().startswith("PMID:"):
        text = text[5:].strip()
    if not _PMID.fullmatch(text):
        raise InvalidIdentifierError(
            f"{shorten(value)} is not a PubMed id "
            "(a positive integer of up to 9 digits, e.g. 21813367)",
            input_name="pmid",
        )
    return text


def article_url(pmid: str) -> str:
    """The PubMed page used as citation."""
    return f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/"


def _math_text(element: ET.Element) -> str:
    return "".join(t.strip() for t in element.itertext())


def _inline_text(element: ET.Element | None) -> str:
    """Text of an element with inline HTML kept as text and MathML tokens run together."""
    if element is None:
        return ""
    parts = [element.text or ""]
    for child in element:
        parts.append(_math_text(child) if child.tag == _MATHML else _inline_text(child))
        parts.append(child.tail or "")
    return " ".join("".join(parts).split())


def _first_year(*elements: ET.Element | None) -> int | None:
    for element in elements:
        if element is None:
            continue
        match = re.search(r"\b(1[89]\d\d|20\d\d)\b", " ".join(element.itertext()))
        if match:
            return int(match.group(1))
    return None


def _authors(author_list: ET.Element | None) -> list[str]:
    names = []
    for author in author_list.findall("Author") if author_list is not None else []:
        collective = _inline_text(author.find("CollectiveName"))
        if collective:
            names.append(collective)
            continue
        last = author.findtext("LastName", "").strip()
        initials = (
            author.findtext("Initials", "").strip() or author.findtext("ForeName", "").strip()
        )
        if last:
            names.append(f"{last} {initials}".strip())
    return names


def _abstract(abstract: ET.Element | None) -> str:
    """Abstract paragraphs; structured sections keep their label (``METHODS: ...``)."""
    if abstract is None:
        return ""
    paragraphs = []
    for part in abstract.findall("AbstractText"):
        text = _inline_text(part)
        label = part.get("Label")
        if text:
            paragraphs.append(f"{label}: {text}" if label else text)
    return "\n".join(paragraphs)


def _doi(*id_lists: ET.Element | None) -> str:
    for id_list in id_lists:
        if id_list is None:
            continue
        for item in list(id_list):
            if (item.get("IdType") or item.get("EIdType")) == "doi" and item.text:
                return item.text.strip()
    return ""


@dataclass(frozen=True)
class Article:
    """One PubMed record: a journal article, a book or a book chapter."""

    pmid: str
    title: str
    abstract: str
    authors: tuple[str, ...]
    journal: str
    year: int | None
    doi: str
    publication_type: Literal["journal-article", "book", "book-chapter"]
    book_title: str = ""
    publisher: str = ""

    @property
    def url(self) -> str:
        return article_url(self.pmid)

    @classmethod
    def from_pubmed_article(cls, node: ET.Element) -> Article:
        citation = node.find("MedlineCitation")
        article = citation.find("Article") if citation is not None else None
        if citation is None or article is None:
            raise ValueError("PubmedArticle without MedlineCitation/Article")
        journal = article.find("Journal")
        issue_date = journal.find("JournalIssue/PubDate") if journal is not None else None
        return cls(
            pmid=citation.findtext("PMID", "").strip(),
            title=_inline_text(article.find("ArticleTitle"))
            or _inline_text(article.find("VernacularTitle")),
            abstract=_abstract(article.find("Abstract")),
            authors=tuple(_authors(article.find("AuthorList"))),
            journal=(
                journal.findtext("Title", "") or journal.findtext("ISOAbbreviation", "")
            ).strip()
            if journal is not None
            else "",
            year=_first_year(issue_date, article.find("ArticleDate")),
            doi=_doi(node.find("PubmedData/ArticleIdList"), article),  # ArticleId, then ELocationID
            publication_type="journal-article",
        )

    @classmethod
    def from_book_article(cls, node: ET.Element) -> Article:
        document = node.find("BookDocument")
        if document is None:
            raise ValueError("PubmedBookArticle without BookDocument")
        book = document.find("Book")
        book_title = _inline_text(book.find("BookTitle")) if book is not None else ""
        chapter_title = _inline_text(document.find("ArticleTitle"))
        authors = _authors(document.find("AuthorList")) or _authors(
            book.find("AuthorList") if book is not None else None
        )
        return cls(
            pmid=document.findtext("PMID", "").strip(),
            title=chapter_title or book_title,
            abstract=_abstract(document.find("Abstract")),
            authors=tuple(authors),
            journal="",
            year=_first_year(
                book.find("PubDate") if book is not None else None,
                document.find("ContributionDate"),
            ),
            doi=_doi(
                document.find("ArticleIdList"), node.find("PubmedBookData/ArticleIdList"), book
            ),
            publication_type="book-chapter" if chapter_title else "book",
            book_title=book_title,
            publisher=(
                book.findtext("Publisher/PublisherName", "") if book is not None else ""
            ).strip(),
        )

    def to_text(self) -> str:
        lines = [self.title]
        if self.authors:
            shown = list(self.authors[:10]) + (["et al."] if len(self.authors) > 10 else [])
            lines.append("Authors: " + ", ".join(shown))
        venue = self.journal or (
            f"In: {self.book_title}" if self.publication_type == "book-chapter" else ""
        )
        venue = ", ".join(v for v in (venue, self.publisher, str(self.year or "")) if v)
        if venue:
            lines.append(venue)
        if self.doi:
            lines.append(f"DOI: {self.doi}")
        lines.append(f"PMID: {self.pmid}")
        if self.abstract:
            lines += ["", self.abstract]
        return "\n".join(lines)

    def to_document(self) -> Document:
        from langchain_core.documents import Document

        metadata: dict[str, str | int | float | bool] = {
            "source": "pubmed",
            "record_id": self.pmid,
            "title": self.title,
            "url": self.url,
            "pmid": self.pmid,
            "publication_type": self.publication_type,
        }
        optional: dict[str, str | int | None] = {
            "authors": "; ".join(self.authors),
            "journal": self.journal,
            "year": self.year,
            "doi": self.doi,
            "book_title": self.book_title,
            "publisher": self.publisher,
        }
        metadata.update({k: v for k, v in optional.items() if v not in (None, "")})
        return Document(page_content=self.to_text(), metadata=metadata)


def _parse_xml(text: str, what: str) -> ET.Element:
    """Parse an E-utilities answer; entity declarations (XML bombs) are refused."""
    if "<!ENTITY" in text:
        raise UpstreamError(
            f"NCBI answered {what} with XML that declares entities; refused.", service=SERVICE
        )
    try:
        return ET.fromstring(text)
    except ET.ParseError as exc:
        raise UpstreamError(
            f"NCBI answered {what} with XML that does not parse ({exc}); try again later.",
            service=SERVICE,
        ) from None


def parse_articles(xml_text: str, what: str = "efetch") -> list[Article]:
    """Every article, book and chapter of an efetch ``PubmedArticleSet``."""
    root = _parse_xml(xml_text, what)
    if root.tag == "eFetchResult":
        logger.warning("NCBI efetch error for %s: %s", what, root.findtext("ERROR", "").strip())
        return []
    articles = []
    for node in root:
        try:
            if node.tag == "PubmedArticle":
                articles.append(Article.from_pubmed_article(node))
            elif node.tag == "PubmedBookArticle":
                articles.append(Article.from_book_article(node))
        except ValueError as exc:
            raise UpstreamError(
                f"NCBI answered {what} with an unreadable record: {exc}", service=SERVICE
            ) from None
    return articles


@dataclass(frozen=True)
class SearchResult:
    """An esearch answer on the history server."""

    query: str
    count: int
    pmids: tuple[str, ...]
    webenv: str
    query_key: str


class PubMedClient(ServiceClient):
    """Batched, cached, rate-limited PubMed client; see the module docstring."""

    @classmethod
    def from_settings(cls, settings: Settings, *, retry: RetryPolicy | None = None) -> PubMedClient:
        """A client on ``settings.ncbi_url``: 3 requests/s, 10/s with ``ncbi_api_key``."""
        params = {"tool": TOOL_NAME}
        if settings.email:
            params["email"] = settings.email
        if settings.ncbi_api_key is not None:
            params["api_key"] = settings.ncbi_api_key.get_secret_value()
        rate = 10 if "api_key" in params else 3
        http = ServiceSession(
            SERVICE,
            settings.ncbi_url,
            settings,
            max_per_second=rate,
            default_params=params,
            retry=retry,
        )
        return cls(http)

    def search(self, query: str, max_results: int = 10) -> SearchResult:
        """esearch with ``usehistory=y``: total count, the first PMIDs, WebEnv and query_key."""
        if not isinstance(query, str) or not query.strip():
            raise InvalidQueryError(
                "empty PubMed query; give search terms (e.g. 'aspirin COX-1')", input_name="query"
            )
        if not 1 <= max_results <= MAX_RESULTS:
            raise InvalidQueryError(
                f"max_results must be 1..{MAX_RESULTS}, got {max_results}", input_name="max_results"
            )
        what = f"esearch {shorten(query.strip())}"
        params = {
            "db": "pubmed",
            "term": query.strip(),
            "usehistory": "y",
            "retmax": max_results,
            "retmode": "xml",
        }
        # long queries go in a form: URLs past a few kB are refused by proxies and servers
        send = self.http.post if len(query) > LONG_QUERY else self.http.get
        root = _parse_xml(send("/esearch.fcgi", params, what=what).text, what)
        error = root.findtext("ERROR")
        if error:
            raise InvalidQueryError(
                f"PubMed rejected the query {shorten(query)}: {error.strip()}", input_name="query"
            )
        return SearchResult(
            query=query.strip(),
            count=int(root.findtext("Count", "0")),
            pmids=tuple(i.text.strip() for i in root.findall("IdList/Id") if i.text),
            webenv=root.findtext("WebEnv", "").strip(),
            query_key=root.findtext("QueryKey", "").strip(),
        )

    def search_articles(self, query: str, max_results: int = 10) -> list[Article]:
        """The first ``max_results`` hits of ``query``, in PubMed's order, fetched in batches."""
        return self.articles_for(self.search(query, max_results), max_results)

    def articles_for(self, result: SearchResult, max_results: int) -> list[Article]:
        """The first ``max_results`` articles of a search, read from the history server."""
        wanted = min(max_results, result.count)
        if wanted == 0:
            return []
        if not result.webenv or not result.query_key:
            return self.fetch_articles(result.pmids[:wanted], skip_missing=True)
        articles: list[Article] = []
        for start in range(0, wanted, EFETCH_BATCH):
            size = min(EFETCH_BATCH, wanted - start)
            params: dict[str, str | int] = {
                "db": "pubmed",
                "WebEnv": result.webenv,
                "query_key": result.query_key,
                "retstart": start,
                "retmax": size,
                "retmode": "xml",
            }
            what = f"efetch {start}..{start + size} of {shorten(result.query)}"
            articles += parse_articles(self.http.get("/efetch.fcgi", params, what=what).text, what)
        if not articles:
            raise UpstreamError(
                f"esearch found {result.count} article(s) for {shorten(result.query)} "
                "but efetch returned none "
                "(history-server session lost?); try again.",
                service=SERVICE,
            )
        order = {pmid: rank for rank, pmid in enumerate(result.pmids)}
        return sorted(articles, key=lambda a: order.get(a.pmid, len(order)))[:wanted]

    def fetch_articles(
        self, pmids: Sequence[str | int], *, skip_missing: bool = False
    ) -> list[Article]:
        """Records for known PMIDs in input order: one POST per :data:`EFETCH_BATCH` ids."""
        if not pmids:
            raise InvalidQueryError("no PMIDs given", input_name="pmids")
        wanted = list(dict.fromkeys(validate_pmid(p) for p in pmids))
        found: dict[str, Article] = {}
        for start in range(0, len(wanted), EFETCH_BATCH):
            batch = wanted[start : start + EFETCH_BATCH]
            what = f"efetch of {len(batch)} PMID(s) starting {batch[0]}"
            response = self.http.post(
                "/efetch.fcgi", {"db": "pubmed", "id": ",".join(batch), "retmode": "xml"}, what=what
            )
            found.update((a.pmid, a) for a in parse_articles(response.text, what))
        missing = [p for p in wanted if p not in found]
        message = f"PubMed has no record for PMID(s) {', '.join(missing)}. Check the ids."
        self._handle_missing(missing, message, skip_missing)
        return [found[p] for p in wanted if p in found]

    def search_documents(self, query: str, max_results: int = 10) -> list[Document]:
        """One :class:`Document` per hit (articles, books, chapters)."""
        return [article.to_document() for article in self.search_articles(query, max_results)]

    def fetch_documents(
        self, pmids: Sequence[str | int], *, skip_missing: bool = False
    ) -> list[Document]:
        """One :class:`Document` per PMID, in input order."""
        return [
            article.to_document()
            for article in self.fetch_articles(pmids, skip_missing=skip_missing)
        ]
