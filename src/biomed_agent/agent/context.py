"""What the graph's nodes run with: the LangGraph run context (``context_schema``).

Nodes read it from ``Runtime[AgentContext]`` (see :mod:`biomed_agent.agent.graph`), so
a run can bring its own model, settings or step limit. The store, the HTTP clients
and the models belong to the context's :class:`~biomed_agent.resources.Resources`
and open on first use, so a question that needs neither (a SMILES property question
in model-free mode) never loads the embedding model or touches the network stack.

Over the LangGraph server a run's JSON ``context`` may set ``step_limit`` only; the
rest stays the server's (fields marked to be left out of the JSON schema).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Annotated

from langchain_core.language_models import BaseChatModel
from pydantic import ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from biomed_agent.errors import InvalidInputError, shorten
from biomed_agent.resources import Resources, Service
from biomed_agent.settings import Settings, get_settings
from biomed_agent.tools import ToolSpec, tool_specs

if TYPE_CHECKING:
    from langchain_core.documents import Document

    from biomed_agent.retrievers.store import KnowledgeStore

__all__ = ["RECORD_SOURCES", "AgentContext", "RecordFetcher"]

RECORD_SOURCES: tuple[Service, ...] = ("pubchem", "uniprot", "pubmed")


class RecordFetcher:
    """Fetches PubChem, UniProt and PubMed records as store Documents (the shared clients)."""

    def __init__(self, resources: Resources) -> None:
        self.resources = resources

    def fetch(self, source: str, record_ids: Sequence[str]) -> list[Document]:
        """Documents for the records that exist (missing ones are skipped)."""
        if source == "pubchem":
            queries: list[str | int] = [int(rid) for rid in record_ids]
            return list(self.resources.pubchem.compound_documents(queries, skip_missing=True))
        if source == "uniprot":
            return list(self.resources.uniprot.entry_documents(list(record_ids), skip_missing=True))
        return list(self.resources.pubmed.fetch_documents(list(record_ids), skip_missing=True))


@dataclass
class AgentContext:
    """Run-scoped dependencies of the agent graph (LangGraph ``context_schema``)."""

    __pydantic_config__ = ConfigDict(arbitrary_types_allowed=True)

    settings: SkipJsonSchema[Settings] = field(default_factory=get_settings)
    """Configuration (data directory, offline mode, step limit, ...)."""
    model: SkipJsonSchema[BaseChatModel | None] = None
    """Chat model that plans and writes answers; None runs the model-free path."""
    tools: SkipJsonSchema[Mapping[str, ToolSpec]] = field(default_factory=dict)
    """The registered tools by name: the only tools a plan may call."""
    resources: SkipJsonSchema[Resources | None] = None
    """The shared store, clients and models; built from ``settings`` when None."""
    step_limit: Annotated[int | None, Field(ge=1)] = None
    """Most tool calls for one question in this run (default ``BIOMED_AGENT_MAX_STEPS``)."""

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        model: BaseChatModel | None = None,
        store: KnowledgeStore | None = None,
        resources: Resources | None = None,
    ) -> AgentContext:
        """A context with every registered tool over one :class:`Resources`."""
        resources = resources or Resources(settings, store=store)
        tools = {spec.name: spec for spec in tool_specs(settings, resources=resources)}
        return cls(settings=settings, model=model, tools=tools, resources=resources)

    def for_run(self, given: object) -> AgentContext:
        """The context a run brought, completed from this one.

        A full context (``BioMedAgent`` passes one) is used as it is; a partial one (a
        server run's JSON ``context``, which can only set ``step_limit``) takes its
        settings, model, tools and resources from this context.
        """
        if isinstance(given, AgentContext) and given.resources is not None and given.tools:
            return given
        step_limit = given.step_limit if isinstance(given, AgentContext) else None
        if isinstance(given, Mapping):
            step_limit = given.get("step_limit")
        if step_limit is None:
            return self
        if isinstance(step_limit, bool) or not isinstance(step_limit, int) or step_limit < 1:
            raise InvalidInputError(
                f"context step_limit must be a whole number of at least 1, got "
                f"{shorten(step_limit)}",
                input_name="step_limit",
            )
        return replace(self, step_limit=step_limit)

    @property
    def shared(self) -> Resources:
        """The shared resources; a context built without them gets its own on first use."""
        if self.resources is None:
            self.resources = Resources(self.settings)
        return self.resources

    @property
    def max_steps(self) -> int:
        """Most tool calls for one question."""
        return self.step_limit if self.step_limit is not None else self.settings.agent_max_steps

    def knowledge_store(self) -> KnowledgeStore:
        """The shared store, opened once (raises :class:`~biomed_agent.errors.StoreError`)."""
        return self.shared.store()

    def record_fetcher(self) -> RecordFetcher:
        """A record fetcher over the shared HTTP clients."""
        return RecordFetcher(self.shared)
