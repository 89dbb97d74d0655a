"""The agent's graph state: plain JSON-ready dicts, so any checkpointer can store it.

A thread's state carries ``history`` (one :class:`Turn` per answered question,
appended) across questions; every other key describes the current question and
is reset by the *understand* node when a new question arrives.

The graph takes :class:`AgentInput` (the question; nothing else, so a caller cannot
forge ``history`` or ``observations``) and returns :class:`AgentOutput`. The classes
are ``typing_extensions.TypedDict`` so pydantic can build their JSON schemas on every
supported Python (LangGraph's ``get_input_jsonschema`` / the server's schema endpoints).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, with_config
from pydantic.json_schema import SkipJsonSchema
from typing_extensions import NotRequired, Required, TypedDict

from biomed_agent.errors import InvalidInputError

__all__ = [
    "AgentInput",
    "AgentOutput",
    "AgentState",
    "CompoundEntity",
    "Entities",
    "Evidence",
    "Observation",
    "PlanStep",
    "Route",
    "Turn",
    "empty_entities",
]

Route = Literal["molecule", "protein", "literature", "multi-step", "general"]


class CompoundEntity(TypedDict):
    """A compound named or drawn in the question; ``cid``/``url`` once resolved in PubChem."""

    name: str | None
    smiles: str | None
    cid: int | None
    url: str | None


class Entities(TypedDict):
    """What the question is about, found deterministically before any model call."""

    smiles: list[str]
    inchikeys: list[str]
    accessions: list[str]
    genes: list[str]
    pmids: list[str]
    sequences: list[str]
    mutations: list[str]
    compounds: list[CompoundEntity]
    carried_over: list[str]
    """Entity kinds taken from earlier turns of the thread (follow-up questions)."""


class PlanStep(TypedDict):
    """One tool call the planner asked for."""

    id: int
    tool: str
    args: dict[str, Any]
    why: str


class Observation(TypedDict):
    """What running one plan step gave: the result, or the typed error as data."""

    id: int
    tool: str
    args: dict[str, Any]
    status: Literal["ok", "error"]
    result: Any
    error: dict[str, Any] | None
    elapsed_ms: float
    round: int


class Evidence(TypedDict):
    """One citable source: a record (PubChem, UniProt, PubMed, store) or a tool computation."""

    key: str
    source: str
    record_id: str | None
    title: str
    url: str | None
    tool: str | None
    arguments: dict[str, Any]
    details: dict[str, Any]
    """Scalar fields of the record (store metadata, lookup result) for templated answers."""
    text: str


class Turn(TypedDict):
    """A finished question of the thread, kept so follow-ups can resolve "it"/"its target"."""

    question: str
    entities: Entities
    answer: str


_FINISHED = "finished_turns"


def finished_turns(turns: list[Turn]) -> dict[str, list[Turn]]:
    """The ``history`` update of the *finish* node: turns the graph itself answered."""
    return {_FINISHED: turns}


def add_turns(current: list[Turn], update: Any) -> list[Turn]:
    """Reducer of ``history``: appends the graph's own finished turns and refuses the rest.

    A ``history`` in a run's input (a forged conversation that could make the planner
    act on entities no one asked about) is refused with one clear error.
    """
    if isinstance(update, Mapping) and set(update) == {_FINISHED}:
        return [*(current or []), *update[_FINISHED]]
    raise InvalidInputError(
        "'history' is not an input of the agent graph: earlier turns come from the thread's "
        "checkpoint. Send only {'question': ...} and ask follow-ups on the same thread "
        "(configurable.thread_id).",
        input_name="history",
    )


class AgentState(TypedDict, total=False):
    """Graph state; all keys but ``history`` belong to the current question."""

    question: str
    history: Annotated[list[Turn], add_turns]
    entities: Entities
    understanding: dict[str, Any]
    """Clauses with intents, typo readings, unresolved names, ... (agent.understanding)."""
    route: Route
    plan: list[PlanStep]
    pending: list[PlanStep]
    observations: list[Observation]
    rounds: int
    evidence: list[Evidence]
    answer: str
    citations: list[dict[str, Any]]
    attempts: int
    problems: list[str]
    flagged: bool
    notes: list[str]
    model_ms: float
    tool_ms: float
    store_ms: float


@with_config(ConfigDict(extra="forbid"))
class AgentInput(TypedDict):
    """What a run takes: one question (earlier turns come from the thread's checkpoint).

    Other keys are not part of the input: LangGraph drops them before the graph runs,
    and a ``history`` is refused (:func:`add_turns`), so neither can reach a node or
    drive a tool call. The JSON schema shows ``question`` only.
    """

    question: Required[str]
    history: NotRequired[SkipJsonSchema[Any]]


class AgentOutput(TypedDict, total=False):
    """What a run returns: the answer, its citations, the steps taken and the verdict."""

    question: str
    answer: str
    citations: list[dict[str, Any]]
    route: Route
    entities: Entities
    observations: list[Observation]
    flagged: bool
    problems: list[str]
    notes: list[str]
    model_ms: float
    tool_ms: float
    store_ms: float


def empty_entities() -> Entities:
    """Entities with every list empty."""
    return Entities(
        smiles=[],
        inchikeys=[],
        accessions=[],
        genes=[],
        pmids=[],
        sequences=[],
        mutations=[],
        compounds=[],
        carried_over=[],
    )
