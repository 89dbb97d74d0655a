"""PubMed client over NCBI E-utilities: esearch on the history server, batched efetch.

A search is one ``esearch`` (``usehistory=y``) plus one ``efetch`` per
:data:`EFETCH_BATCH` articles read from the history server (``WebEnv`` + ``query_key``);
fetching known PMIDs is one POST per :data:`EFETCH_BATCH` ids. Never one request per
article (LangChain's PubMed retriever makes one efetch per hit).

Articles (``PubmedArticle``) and books and chapters (``PubmedBookArticle``) are parsed
with the standard library's ElementTree (documents that declare entities are refused)
into :class:`~biomed_agent.retrievers.pubmed_records.Article`.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from biomed_agent.errors import (
    InvalidIdentifierError,
    InvalidQueryError,
    UpstreamError,
    shorten,
)
from biomed_agent.retrievers.http import (
    Expect,
    RetryPolicy,
    ServiceClient,
    ServiceSession,
    payload_of,
)
from biomed_agent.retrievers.pubmed_records import Article, article_url
from biomed_agent.retrievers.responses import MalformedAnswer, parse_xml
from biomed_agent.settings import Settings

if TYPE_CHECKING:
    import requests
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


def validate_pmid(value: str | int) -> str:
    """The PMID as a string; :class:`InvalidIdentifierError` if it is not a positive integer."""
    if isinstance(value, int) and not isinstance(value, bool):
        text = str(value) if 0 < value < 10**9 else ""
    else:
        text = value.strip() if isinstance(value, str) else ""
    if text.upper().startswith("PMID:"):
        text = text[5:].strip()
    if not _PMID.fullmatch(text):
        raise InvalidIdentifierError(
            f"{shorten(value)} is not a PubMed id "
            "(a positive integer of up to 9 digits, e.g. 21813367)",
            input_name="pmid",
        )
    return text


_SEARCH = Expect("xml", roots=("eSearchResult",))
_ARTICLES = Expect("xml", roots=("PubmedArticleSet", "eFetchResult"))


def _parse_xml(text: str, what: str) -> ET.Element:
    """Parse an E-utilities answer; entity declarations (XML bombs) are refused."""
    try:
        return parse_xml(text)
    except MalformedAnswer as exc:
        raise UpstreamError(
            f"NCBI answered {what} with {exc}; try again later.", service=SERVICE
        ) from None


def _root(response: requests.Response, what: str) -> ET.Element:
    payload = payload_of(response)
    return payload if isinstance(payload, ET.Element) else _parse_xml(response.text, what)


def parse_articles(xml: str | ET.Element, what: str = "efetch") -> list[Article]:
    """Every article, book and chapter of an efetch ``PubmedArticleSet`` (text or parsed)."""
    root = xml if isinstance(xml, ET.Element) else _parse_xml(xml, what)
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
        root = _root(send("/esearch.fcgi", params, what=what, expect=_SEARCH), what)
        error = root.findtext("ERROR")
        if error:
            raise InvalidQueryError(
                f"PubMed rejected the query {shorten(query)}: {error.strip()}", input_name="query"
            )
        count = (root.findtext("Count") or "0").strip()
        if not count.isdigit() or len(count) > 12:
            raise UpstreamError(
                f"NCBI answered {what} with a count that is not a number ({shorten(count)}).",
                service=SERVICE,
            )
        return SearchResult(
            query=query.strip(),
            count=int(count),
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
            response = self.http.get("/efetch.fcgi", params, what=what, expect=_ARTICLES)
            articles += parse_articles(_root(response, what), what)
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
                "/efetch.fcgi",
                {"db": "pubmed", "id": ",".join(batch), "retmode": "xml"},
                what=what,
                expect=_ARTICLES,
            )
            found.update((a.pmid, a) for a in parse_articles(_root(response, what), what))
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
