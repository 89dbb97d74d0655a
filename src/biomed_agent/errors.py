"""Typed errors raised by biomed-agent.

Every error the package raises on purpose derives from :class:`BiomedAgentError`,
so callers can catch one class. Foreign exceptions (RDKit, requests, torch,
transformers, chromadb) are translated into these at the boundary that calls the
foreign library, never left to leak::

    BiomedAgentError
    ├── InvalidInputError            (also a ValueError) the caller gave bad input
    │   ├── InvalidMoleculeError     SMILES / InChI / molblock that does not parse or sanitise
    │   ├── InvalidQueryError        SMARTS, search query, k, batch arguments
    │   ├── InvalidSequenceError     protein sequence or FASTA
    │   ├── InvalidMutationError     mutation notation, position or wild-type mismatch
    │   ├── InvalidIdentifierError   malformed accession, PMID, CID, InChIKey
    │   ├── UnreadableFileError      a local file to ingest: missing, encrypted, corrupt, no text
    │   └── UnknownToolError         a tool name that is not registered
    ├── NotFoundError                a well-formed identifier no record answers to
    ├── UpstreamError                a remote service failed (names service and last status)
    │   ├── RateLimitedError         429 / throttling that outlasted the retries
    │   ├── ServiceBusyError         503, PUGREST.ServerBusy
    │   ├── UpstreamTimeoutError     timeouts, PUGREST.Timeout
    │   └── OfflineError             BIOMED_OFFLINE=1 and the answer is not cached
    ├── ModelLoadError               weights/config missing, wrong format, no GPU, out of memory
    ├── GenerationError              a loaded model failed while generating (device lost, ...)
    ├── StoreError                   the knowledge store cannot be opened or written
    └── ConfigurationError           a setting that cannot work
        └── InvalidSettingError      (also a ValueError) a BIOMED_* value of the wrong kind

Each error carries a message that names the offending input and says what to do,
plus ``input_name`` so tools can return a structured error (:meth:`to_dict`)
that an agent can read instead of a traceback.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BiomedAgentError",
    "ConfigurationError",
    "GenerationError",
    "InvalidIdentifierError",
    "InvalidInputError",
    "InvalidMoleculeError",
    "InvalidMutationError",
    "InvalidQueryError",
    "InvalidSequenceError",
    "InvalidSettingError",
    "ModelLoadError",
    "NotFoundError",
    "OfflineError",
    "RateLimitedError",
    "ServiceBusyError",
    "StoreError",
    "UnknownToolError",
    "UnreadableFileError",
    "UpstreamError",
    "UpstreamTimeoutError",
]

_MAX_SHOWN = 80


def shorten(value: object, limit: int = _MAX_SHOWN) -> str:
    """Render an offending value for a message without flooding it (10,000-char SMILES)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
        return f"<an integer of about {int(value.bit_length() * 0.30103):,} digits>"
    try:
        text = repr(value)
    except ValueError:  # holds an int past Python's 4,300-digit conversion limit
        return f"<a {type(value).__name__} too large to show>"
    if len(text) <= limit:
        return text
    size = f" ({len(value)} chars)" if isinstance(value, str) else ""
    return f"{text[:limit]}…{size}"


class BiomedAgentError(Exception):
    """Base class of every error biomed-agent raises on purpose."""

    def __init__(self, message: str, *, input_name: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.input_name = input_name

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description of the error, for tool results and ``--json`` output."""
        payload: dict[str, Any] = {"type": type(self).__name__, "message": self.message}
        if self.input_name is not None:
            payload["input"] = self.input_name
        return payload


class InvalidInputError(BiomedAgentError, ValueError):
    """The caller passed input that cannot be used; the message says which and why."""


class InvalidMoleculeError(InvalidInputError):
    """A molecule (SMILES, InChI, molblock) that does not parse or fails sanitisation."""


class InvalidQueryError(InvalidInputError):
    """A query argument that cannot work: bad SMARTS, empty query, ``k <= 0``, ..."""


class InvalidSequenceError(InvalidInputError):
    """A protein sequence or FASTA text that is empty or holds non-amino-acid characters."""


class InvalidMutationError(InvalidInputError):
    """Mutation notation that does not parse, points past the sequence, or mismatches it."""


class InvalidIdentifierError(InvalidInputError):
    """A malformed database identifier (UniProt accession, PMID, CID, InChIKey)."""


class UnreadableFileError(InvalidInputError):
    """A local file given for ingest that is missing, unsupported, encrypted, corrupt or empty."""


class UnknownToolError(InvalidInputError):
    """A tool name that is not registered."""


class NotFoundError(BiomedAgentError):
    """A well-formed query that no record answers to."""


class UpstreamError(BiomedAgentError):
    """A remote service failed after retries; ``service`` and ``status`` say which and how."""

    def __init__(
        self,
        message: str,
        *,
        service: str,
        status: int | None = None,
        input_name: str | None = None,
    ) -> None:
        super().__init__(message, input_name=input_name)
        self.service = service
        self.status = status

    def to_dict(self) -> dict[str, Any]:
        payload = super().to_dict()
        payload["service"] = self.service
        if self.status is not None:
            payload["status"] = self.status
        return payload


class RateLimitedError(UpstreamError):
    """The service kept answering 429 (or its own throttling fault) after every retry."""


class ServiceBusyError(UpstreamError):
    """The service reported itself busy (HTTP 503, ``PUGREST.ServerBusy``)."""


class UpstreamTimeoutError(UpstreamError):
    """The service did not answer within the timeout, or reported its own timeout."""


class OfflineError(UpstreamError):
    """Offline mode is on and the answer is neither cached nor stored."""


class ModelLoadError(BiomedAgentError):
    """A model could not be loaded; the message names the path/id and what to do."""


class GenerationError(BiomedAgentError):
    """A loaded model failed while generating; the message names the model and the cause."""


class StoreError(BiomedAgentError):
    """The knowledge store cannot be opened, read or written."""


class ConfigurationError(BiomedAgentError):
    """A setting (environment variable or ``.env`` entry) that cannot work."""


class InvalidSettingError(ConfigurationError, ValueError):
    """A ``BIOMED_*`` variable whose value is not one the setting accepts.

    The message is one line naming the variable, the value and the values accepted;
    ``input_name`` is the variable (``BIOMED_OFFLINE``). The CLI exits 2 on it.
    """
