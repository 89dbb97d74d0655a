"""``knowledge_search``: semantic search over the ingested knowledge store.

The store (and its embedding model) belongs to the shared
:class:`~biomed_agent.resources.Resources` and is opened on the first call, not
when the tool is built, so listing tools stays cheap and never imports chromadb.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from biomed_agent.resources import Resources
from biomed_agent.settings import Settings
from biomed_agent.tools.arguments import StrictArgs
from biomed_agent.tools.base import ToolSpec

__all__ = ["KnowledgeSearchArgs", "build_tools"]

Source = Literal["pubchem", "uniprot", "pubmed", "file"]


class KnowledgeSearchArgs(StrictArgs):
    """Arguments of ``knowledge_search``."""

    query: str = Field(
        min_length=1,
        description="What to look for, in plain words, e.g. 'adenosine A1 receptor agonists'.",
    )
    limit: int = Field(default=5, ge=1, le=50, description="Number of passages to return (1-50).")
    sources: list[Source] | None = Field(
        default=None,
        description="Only search these sources: pubchem, uniprot, pubmed, file (local papers). "
        "Default: all.",
    )


_DESCRIPTION = """Search the local knowledge store of ingested PubChem compounds, UniProt proteins,
PubMed articles and the user's own papers for passages relevant to a question.
Returns hits with text, source, record_id, title, url (and page for local files), chunk and
score (cosine similarity, higher is closer); cite the url/record_id of the passages you use.
Returns no hits, with a note, when nothing has been ingested yet."""


def build_tools(settings: Settings, resources: Resources | None = None) -> list[ToolSpec]:
    """``knowledge_search`` over the store of ``resources`` (one per settings when omitted)."""
    shared = resources or Resources(settings)

    def knowledge_search(
        query: str, limit: int = 5, sources: list[str] | None = None
    ) -> dict[str, Any]:
        hits = shared.store().search(query, limit, sources=sources)
        result: dict[str, Any] = {"query": query, "hits": [hit.to_dict() for hit in hits]}
        if not hits:
            result["note"] = (
                "no passage matched: the knowledge store holds nothing from these sources yet; "
                "ingest records with `biomed-agent ingest pubchem|uniprot|pubmed|files ...`"
            )
        return result

    return [ToolSpec("knowledge_search", knowledge_search, KnowledgeSearchArgs, _DESCRIPTION)]
