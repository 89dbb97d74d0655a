"""Hypothesis fuzzing of every identifier parser and tool schema: typed errors only.

A "crash" is any exception that is not a :class:`~biomed_agent.errors.BiomedAgentError`
(a traceback instead of a one-line error). Inputs include non-strings (ints past
Python's 4,300-digit conversion limit, floats, None, lists, dicts) reaching the Python
API directly, as they can from MCP or a LangGraph client. Example counts are bounded
and the runs derandomised so CI is stable.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biomed_agent.errors import BiomedAgentError

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

_SMILES_ALPHABET = "CcNnOoSsPFIBrl()[]=#@+-.%/\\0123456789Hh*:~"
_json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.builds(lambda k: 10**k + 7, st.integers(min_value=4300, max_value=4400)),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.text(alphabet=_SMILES_ALPHABET, max_size=80),
    st.text(alphabet="0123456789", min_size=4300, max_size=4500),
)
ANY_VALUE = st.recursive(
    _json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)


def _typed_only(func: Callable[[Any], Any], value: Any) -> None:
    """Call ``func``; a typed error is a pass, any other exception fails the test."""
    with contextlib.suppress(BiomedAgentError):
        func(value)


# --- identifier and notation parsers ----------------------------------------------------
def _parsers() -> Iterator[tuple[str, Callable[[Any], Any]]]:
    from biomed_agent.molecules.parsing import to_inchikey, to_mol, to_smiles
    from biomed_agent.molecules.structure import murcko_scaffold, to_query
    from biomed_agent.proteins.mutations import parse_mutations
    from biomed_agent.proteins.sequences import parse_fasta, parse_sequence
    from biomed_agent.retrievers.pubchem import classify_query
    from biomed_agent.retrievers.pubmed import validate_pmid
    from biomed_agent.retrievers.uniprot import validate_accession

    yield "validate_accession", validate_accession
    yield "validate_pmid", validate_pmid
    yield "classify_query", classify_query
    yield "to_mol", to_mol
    yield "to_smiles", to_smiles
    yield "to_inchikey", to_inchikey
    yield "murcko_scaffold", murcko_scaffold
    yield "to_query", to_query
    from biomed_agent.molecules import compute_properties, drug_likeness

    yield "compute_properties", compute_properties
    yield "drug_likeness", drug_likeness
    yield "parse_sequence", parse_sequence
    yield "parse_fasta", parse_fasta
    yield "parse_mutations", parse_mutations


PARSERS = dict(_parsers())


@pytest.mark.parametrize("name", list(PARSERS))
def test_parser_raises_only_typed_errors(name: str) -> None:
    parser = PARSERS[name]

    @FUZZ
    @given(ANY_VALUE)
    def run(value: Any) -> None:
        _typed_only(parser, value)

    run()


# --- tool schemas and tool calls -----------------------------------------------------------
@pytest.fixture(scope="module")
def offline_specs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from biomed_agent.settings import Settings
    from biomed_agent.tools import tool_specs

    data = tmp_path_factory.mktemp("fuzz-data")
    config = Settings(data_dir=Path(data), offline=True, model="none")
    return {spec.name: spec for spec in tool_specs(config)}


# tools whose calls are cheap and local (or offline lookups): run, not just validated
RUNNABLE = (
    "molecule_properties",
    "drug_likeness",
    "molecule_similarity",
    "substructure_search",
    "protein_properties",
    "pubchem_lookup",
    "uniprot_lookup",
    "pubmed_search",
)


def _arguments(fields: list[str]) -> st.SearchStrategy[Any]:
    known = st.fixed_dictionaries({}, optional={f: ANY_VALUE for f in fields})
    return st.one_of(known, st.dictionaries(st.text(max_size=8), ANY_VALUE, max_size=3), ANY_VALUE)


def test_every_tool_schema_rejects_bad_arguments_with_typed_errors(
    offline_specs: dict[str, Any],
) -> None:
    specs = list(offline_specs.values())
    assert len(specs) >= 10

    @FUZZ
    @given(
        st.sampled_from(specs).flatmap(
            lambda s: st.tuples(st.just(s), _arguments(list(s.args_schema.model_fields)))
        )
    )
    def run(case: tuple[Any, Any]) -> None:
        spec, arguments = case
        _typed_only(spec.validate, arguments)

    run()


@pytest.mark.parametrize("name", RUNNABLE)
def test_tool_calls_raise_only_typed_errors(name: str, offline_specs: dict[str, Any]) -> None:
    spec = offline_specs[name]
    fields = list(spec.args_schema.model_fields)

    @settings(FUZZ, max_examples=30)
    @given(_arguments(fields))
    def run(arguments: Any) -> None:
        _typed_only(spec.run, arguments)

    run()
