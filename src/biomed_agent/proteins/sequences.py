"""Protein sequences: parsing raw text and FASTA, the residue alphabet, ESM tokens.

Alphabet contract (one rule everywhere in :mod:`biomed_agent.proteins`):

* The 20 standard residues ``ACDEFGHIKLMNPQRSTVWY`` are accepted.
* Five further IUPAC/UniProt codes are accepted because real UniProt entries
  contain them and ESM has a token for each: ``X`` (unknown), ``B`` (Asp or Asn),
  ``Z`` (Glu or Gln), ``U`` (selenocysteine), ``O`` (pyrrolysine). They reach the
  language model unchanged. Properties whose parameter tables do not cover them
  are reported as undefined rather than guessed (see :mod:`.properties`), and
  mutation notation only names standard residues (see :mod:`.mutations`).
* Input is case-insensitive; whitespace (line wrapping) is dropped; one trailing
  ``*`` (a translated stop codon) is dropped.
* Anything else — digits, gaps ``-``/``.``, an internal ``*``, ``J``, punctuation —
  is an :class:`~biomed_agent.errors.InvalidSequenceError` naming the character
  and its 1-based position.

The ESM vocabulary is defined here, not in :mod:`.esm`, so that code running ESM-2
through another runtime (the HF ``EsmModel`` of BioMedGPT-10B) tokenizes with the
same rules without importing fair-esm or torch.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from biomed_agent.errors import InvalidSequenceError, shorten
from biomed_agent.patterns import STANDARD_AMINO_ACIDS

if TYPE_CHECKING:
    from biomed_agent.retrievers.uniprot import UniProtClient

__all__ = [
    "ESM_CLS",
    "ESM_EOS",
    "ESM_MASK",
    "ESM_PAD",
    "ESM_VOCABULARY",
    "NONSTANDARD_RESIDUES",
    "STANDARD_RESIDUES",
    "FastaRecord",
    "esm_token_id",
    "esm_token_ids",
    "parse_fasta",
    "parse_record",
    "parse_sequence",
    "parse_sequences",
    "uniprot_sequence",
]

STANDARD_RESIDUES = STANDARD_AMINO_ACIDS
"""The 20 proteinogenic amino acids, one-letter codes."""

NONSTANDARD_RESIDUES: dict[str, str] = {
    "X": "unknown residue",
    "B": "Asp or Asn (ambiguous)",
    "Z": "Glu or Gln (ambiguous)",
    "U": "selenocysteine",
    "O": "pyrrolysine",
}
"""Accepted codes beyond the standard 20, with what they mean."""

_ACCEPTED = frozenset(STANDARD_RESIDUES) | frozenset(NONSTANDARD_RESIDUES)
_WHITESPACE = re.compile(r"\s+")

ESM_VOCABULARY: tuple[str, ...] = (
    "<cls>", "<pad>", "<eos>", "<unk>",
    "L", "A", "G", "V", "S", "E", "R", "T", "I", "D", "P", "K", "Q", "N", "F", "Y",
    "M", "H", "W", "C", "X", "B", "U", "Z", "O", ".", "-", "<null_1>", "<mask>",
)  # fmt: skip
"""Tokens of every ESM-1b/ESM-2 model (fair-esm ``Alphabet("ESM-1b")``, HF ``EsmTokenizer``)."""

_ESM_INDEX = {token: index for index, token in enumerate(ESM_VOCABULARY)}
ESM_CLS, ESM_PAD, ESM_EOS, ESM_MASK = (_ESM_INDEX[t] for t in ("<cls>", "<pad>", "<eos>", "<mask>"))


@dataclass(frozen=True)
class FastaRecord:
    """One FASTA entry: ``id`` is the first word of the header, ``description`` the rest."""

    id: str
    description: str
    sequence: str


def _describe(char: str) -> str:
    if char.isdigit():
        return "a digit (paste residues only, without position numbers)"
    if char in "-.":
        return "an alignment gap (remove gaps; an aligned sequence is not a protein sequence)"
    if char == "*":
        return "a stop codon inside the sequence"
    return "not an amino-acid code"


def parse_sequence(text: str, *, name: str = "sequence") -> str:
    """Validate one sequence, raw or single-record FASTA, and return it in upper case.

    ``name`` is the argument name that error messages and ``input_name`` report.
    """
    return parse_record(text, name=name).sequence


def uniprot_sequence(accession: str, client: UniProtClient) -> str:
    """The sequence of UniProtKB entry ``accession``, fetched through ``client`` (cache first)."""
    return parse_sequence(client.fasta(accession), name=f"UniProt {accession.strip().upper()}")


def parse_record(text: str, *, name: str = "sequence") -> FastaRecord:
    """Like :func:`parse_sequence`, keeping the FASTA id (``name`` for raw text)."""
    records = parse_sequences(text, name=name)
    if len(records) > 1:
        raise InvalidSequenceError(
            f"{name} holds {len(records)} FASTA records "
            f"({', '.join(r.id for r in records[:3])}{', ...' if len(records) > 3 else ''}); "
            "give exactly one sequence here.",
            input_name=name,
        )
    return records[0]


def parse_sequences(text: str, *, name: str = "sequence") -> list[FastaRecord]:
    """Parse raw text (one sequence, its id ``name``) or FASTA (one or many records).

    Text whose first non-blank character is ``>`` is FASTA; anything else is one
    raw sequence. Every sequence is validated by the alphabet contract above.
    """
    if not isinstance(text, str):
        raise InvalidSequenceError(
            f"{name} must be text (one-letter codes or FASTA), got {shorten(text)}.",
            input_name=name,
        )
    if not text.strip():
        raise InvalidSequenceError(
            f"{name} is empty; give a protein sequence (one-letter codes) or FASTA text.",
            input_name=name,
        )
    stripped = text.strip()
    if stripped.startswith(">"):
        return parse_fasta(stripped, name=name)
    return [FastaRecord(id=name, description="", sequence=_clean(stripped, name=name))]


def parse_fasta(text: str, *, name: str = "fasta") -> list[FastaRecord]:
    """Parse FASTA text into records; every record must have at least one residue.

    Lines starting with ``;`` are comments. Text before the first header is an error
    (it is usually a sequence whose header was lost).
    """
    if not isinstance(text, str):
        raise InvalidSequenceError(
            f"{name} must be FASTA text, got {shorten(text)}.", input_name=name
        )
    records: list[FastaRecord] = []
    header: str | None = None
    lines: list[str] = []

    def close() -> None:
        if header is None:
            return
        ident, _, description = header.partition(" ")
        ident = ident or f"record {len(records) + 1}"
        if not "".join(lines).strip():
            raise InvalidSequenceError(
                f"FASTA record {ident!r} in {name} has a header but no sequence lines; "
                "add its residues on the lines after the '>' header.",
                input_name=name,
            )
        sequence = _clean("".join(lines), name=f"{name} record {ident!r}", input_name=name)
        records.append(FastaRecord(id=ident, description=description.strip(), sequence=sequence))

    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if line.startswith(">"):
            close()
            header, lines = line[1:].strip(), []
        elif line.startswith(";") or not line:
            continue
        elif header is None:
            raise InvalidSequenceError(
                f"{name}: line {number} ({shorten(line)}) comes before any '>' header; "
                "start each FASTA record with a '>' line.",
                input_name=name,
            )
        else:
            lines.append(line)
    close()
    if not records:
        raise InvalidSequenceError(
            f"{name} holds no FASTA records; give '>id' header lines followed by residues.",
            input_name=name,
        )
    return records


def _clean(raw: str, *, name: str, input_name: str | None = None) -> str:
    sequence = _WHITESPACE.sub("", raw).upper()
    if sequence.endswith("*"):
        sequence = sequence[:-1]
    if not sequence:
        raise InvalidSequenceError(
            f"{name} is empty; give at least one residue.", input_name=input_name or name
        )
    for position, char in enumerate(sequence, start=1):
        if char not in _ACCEPTED:
            raise InvalidSequenceError(
                f"{name} has {char!r} at position {position}, {_describe(char)}; "
                f"allowed: the 20 standard residues {STANDARD_RESIDUES} and "
                f"X, B, Z, U, O (got {shorten(raw)}).",
                input_name=input_name or name,
            )
    return sequence


def esm_token_ids(sequence: str, *, mask: Sequence[int] = ()) -> list[int]:
    """ESM token ids ``<cls> residues <eos>`` of a validated sequence.

    ``mask`` lists 0-based residue indices to replace by ``<mask>`` (masked marginals).
    """
    ids = [ESM_CLS, *(_ESM_INDEX[residue] for residue in sequence), ESM_EOS]
    for index in mask:
        ids[index + 1] = ESM_MASK
    return ids


def esm_token_id(residue: str) -> int:
    """The ESM token id of one residue letter."""
    return _ESM_INDEX[residue]
