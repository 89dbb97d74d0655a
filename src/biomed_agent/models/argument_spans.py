"""Identifier arguments copied from the conversation, enforced by the grammar.

A small model asked for ``{"smiles": ...}`` often paraphrases, truncates or invents
the identifier instead of copying it. For *identifier-typed* string arguments
(SMILES, SMARTS, protein sequences, UniProt accessions and gene symbols, drug and
compound names, search queries) the grammar therefore allows only **spans copied
from the user's message** (and from tool results that followed it), and the model
picks among them while decoding:

- candidates come from the project's own entity rules
  (:func:`biomed_agent.agent.entities.extract_entities`: RDKit-checked SMILES, InChIKeys,
  UniProt accessions by UniProt's pattern, approved HGNC symbols, sequences;
  :func:`~biomed_agent.agent.entities.drug_mentions`: dictionary drug names), each
  copied as written;
- an argument also accepts *generic spans* (1-4 consecutive words of the latest user
  message, not starting or ending with a function word) when it is a free-text
  query (``query`` of a search tool) or when no entity of its kind was found;
- with no candidate at all the argument stays free text (the tool's own schema).

:func:`constrain_arguments` rewrites the schema of each allowed tool: a constrained
top-level string property becomes ``{"type": "string", "enum": [...]}``. The grammar
compiled from it (:func:`~biomed_agent.models.tool_calling.build_grammar`) lets the
model write only those values; the call is still validated against the tool's own
schema, which every candidate satisfies (it is a string).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from langchain_core.messages import BaseMessage

from biomed_agent.models.tool_calling import ToolMode

__all__ = [
    "ARGUMENT_KINDS",
    "Candidates",
    "argument_kinds",
    "constrain_arguments",
    "find_candidates",
    "generic_spans",
]

ENTITY_KINDS = ("smiles", "inchikey", "accession", "gene", "sequence", "drug", "cid")

ARGUMENT_KINDS: dict[str, tuple[str, ...]] = {
    "smiles": ("smiles", "inchikey"),
    "smarts": ("smiles",),
    "sequence": ("sequence",),
    "target": ("accession", "gene", "drug"),
    "protein": ("accession", "sequence", "gene"),
    "accession": ("accession",),
    "gene": ("gene",),
    "query": ENTITY_KINDS,
}
"""Identifier-typed argument names and the entity kinds each accepts (others stay free)."""

MAX_CANDIDATES = 48
"""Most values one argument's grammar allows (entities first, then the shortest spans)."""

MAX_SPAN_WORDS = 4

_SEARCH = re.compile(r"^\s*search\b", re.IGNORECASE)
_CID = re.compile(r"\bCID\s*:?\s*(\d{1,10})\b", re.IGNORECASE)
_TOKEN = re.compile(r"[^\s]+")
_EDGE = "'\"“”‘’`,;:?!.()[]{}"

# Words a query span may not start or end with: function words and request verbs.
_FUNCTION_TEXT = """
    a about above after all also an and any are as at be been by can could did do does
    for from give get has have how i if in into is it its me my of on or our please
    show tell that the their them these this those to was were what when where which
    who why will with would you your find search look up list name report retrieve
    fetch query check compute calculate run work out need say says said contain
    contains according known recent there
"""
_FUNCTION_WORDS = frozenset(_FUNCTION_TEXT.split())


@dataclass(frozen=True)
class Candidates:
    """Values found in the conversation, by kind (each a span copied as written)."""

    entities: dict[str, tuple[str, ...]]
    spans: tuple[str, ...]

    def for_argument(self, argument: str, *, free_text_query: bool) -> tuple[str, ...]:
        """The values allowed for ``argument`` (empty: leave it free text)."""
        kinds = ARGUMENT_KINDS.get(argument)
        if kinds is None:
            return ()
        found = [value for kind in kinds for value in self.entities.get(kind, ())]
        if argument == "query" and (free_text_query or not found):
            found += self.spans
        elif not found and argument in ("target", "protein"):
            found += self.spans  # a protein named in words ("adenosine A1 receptor")
        return tuple(dict.fromkeys(found))[:MAX_CANDIDATES]


def argument_kinds(schema: dict[str, Any]) -> list[str]:
    """Top-level string properties of ``schema`` that name an identifier."""
    properties = schema.get("properties") or {}
    return [
        name for name, prop in properties.items() if name in ARGUMENT_KINDS and _is_string(prop)
    ]


def _is_string(prop: Any) -> bool:
    if not isinstance(prop, dict) or "enum" in prop or "const" in prop:
        return False
    if prop.get("type") == "string":
        return True
    options = prop.get("anyOf") or []
    return any(isinstance(o, dict) and o.get("type") == "string" for o in options) and all(
        isinstance(o, dict) and o.get("type") in ("string", "null") for o in options
    )


def find_candidates(texts: Sequence[str], span_text: str) -> Candidates:
    """Entity values in ``texts`` (as written) and generic spans of ``span_text``."""
    from biomed_agent.agent.entities import drug_mentions, extract_entities

    entities: dict[str, list[str]] = {kind: [] for kind in ENTITY_KINDS}
    for text in texts:
        found = extract_entities(text)
        entities["smiles"] += found["smiles"]
        entities["inchikey"] += found["inchikeys"]
        entities["accession"] += found["accessions"]
        entities["gene"] += found["genes"]
        entities["sequence"] += [s for s in found["sequences"] if s in text]
        entities["cid"] += _CID.findall(text)
        for variant, written in drug_mentions(text):
            entities["drug"] += [span for span in [_as_written(written or variant, text)] if span]
    unique = {kind: tuple(dict.fromkeys(values)) for kind, values in entities.items()}
    return Candidates(entities=unique, spans=generic_spans(span_text))


def _as_written(name: str, text: str) -> str | None:
    """``name`` as it is spelled in ``text`` (case kept), or None when it is not a span."""
    match = re.search(rf"(?<![A-Za-z0-9]){re.escape(name)}(?![A-Za-z0-9])", text, re.IGNORECASE)
    return match.group(0) if match else None


def generic_spans(text: str, max_words: int = MAX_SPAN_WORDS) -> tuple[str, ...]:
    """Runs of 1-``max_words`` words of ``text`` with no function word at either end,
    shortest first, each exactly as written (inner punctuation kept, edges stripped)."""
    words = [(m.start(), m.end()) for m in _TOKEN.finditer(text)]
    spans: dict[int, list[str]] = {}
    for i in range(len(words)):
        for size in range(1, max_words + 1):
            if i + size > len(words):
                break
            start, end = words[i][0], words[i + size - 1][1]
            span = text[start:end].strip(_EDGE)
            inner = span.split()
            if not inner or len(inner) != size:
                continue
            if _plain(inner[0]) in _FUNCTION_WORDS or _plain(inner[-1]) in _FUNCTION_WORDS:
                continue
            if any(c in span for c in "?!;") or len(span) < 2:
                continue
            spans.setdefault(size, []).append(span)
    ordered = [span for size in sorted(spans) for span in spans[size]]
    return tuple(dict.fromkeys(ordered))


def _plain(word: str) -> str:
    return word.strip(_EDGE).lower()


def conversation_texts(messages: Sequence[BaseMessage]) -> tuple[list[str], str]:
    """Texts candidates may be copied from: the latest user message and the tool results
    after it; and the latest user message alone (for generic spans)."""
    texts: list[str] = []
    for message in reversed(messages):
        if message.type == "tool":
            texts.append(message.text)
        elif message.type == "human":
            texts.append(message.text)
            return texts[::-1], message.text
    return texts[::-1], ""


def constrain_arguments(mode: ToolMode, messages: Sequence[BaseMessage]) -> ToolMode:
    """``mode`` with each allowed tool's identifier arguments limited to copied spans."""
    texts, latest = conversation_texts(messages)
    if not latest:
        return mode
    candidates: Candidates | None = None
    specs = []
    for spec in mode.tools:
        function = spec["function"]
        name = function["name"]
        schema = dict(function.get("parameters") or {})
        targets = argument_kinds(schema) if name in mode.allowed else []
        if not targets:
            specs.append(spec)
            continue
        if candidates is None:
            candidates = find_candidates(texts, latest)
        free_text = bool(_SEARCH.match(str(function.get("description", ""))))
        properties = dict(schema["properties"])
        for argument in targets:
            values = _valid(
                candidates.for_argument(argument, free_text_query=free_text),
                properties[argument],
            )
            if values:
                properties[argument] = {"type": "string", "enum": list(values)}
        schema["properties"] = properties
        specs.append({**spec, "function": {**function, "parameters": schema}})
    return replace(mode, tools=tuple(specs))


def _valid(values: Sequence[str], prop: dict[str, Any]) -> list[str]:
    """The values the tool's own property schema accepts (length, pattern), so a copied
    span can never make the call invalid."""
    import json

    import fastjsonschema

    from biomed_agent.models.tool_calling import schema_validator

    check = schema_validator(json.dumps(prop, sort_keys=True))
    kept = []
    for value in values:
        try:
            check(value)
        except fastjsonschema.JsonSchemaValueException:
            continue
        kept.append(value)
    return kept
