"""PubMed records: :class:`Article` parsed from efetch XML (articles, books, chapters).

Inline markup inside titles and abstracts (``<i>``, ``<sup>``, ``<sub>``, ``<b>``) keeps
its text; MathML keeps its tokens run together (``V̇O2max`` reads as ``V.O2max``).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from langchain_core.documents import Document

__all__ = ["Article", "article_url"]

_MATHML = "{http://www.w3.org/1998/Math/MathML}math"


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
