"""Amino-acid substitution notation: ``A123G``, ``A123G:L45P``, HGVS ``p.Ala123Gly``.

Positions are 1-based, as in every notation users paste. Accepted forms, case-
insensitive, for one variant made of one or more substitutions:

* one-letter ``A123G``, optionally with HGVS prefix ``p.A123G``;
* three-letter HGVS ``p.Ala123Gly``, predicted ``p.(Ala123Gly)``;
* several substitutions joined by ``:`` (ESM/DMS style), ``;``, ``,`` or
  whitespace, or HGVS alleles ``p.[Ala123Gly;Leu45Pro]``.

Only substitutions between the 20 standard residues are variants here; stops
(``*``, ``Ter``), synonymous changes, deletions, insertions and frameshifts are an
:class:`~biomed_agent.errors.InvalidMutationError` that says so.
:func:`check_mutations` then checks each wild-type residue and position against
the sequence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from Bio.SeqUtils import seq1

from biomed_agent.errors import InvalidMutationError, shorten
from biomed_agent.proteins.sequences import STANDARD_RESIDUES

__all__ = ["Mutation", "check_mutations", "parse_mutations"]

_ONE = re.compile(r"^(?P<wt>[A-Z])(?P<pos>\d+)(?P<mt>[A-Z*])$")
_THREE = re.compile(r"^(?P<wt>[A-Z]{3})(?P<pos>\d+)(?P<mt>[A-Z]{3}|\*|=)$")
_SEPARATORS = re.compile(r"[:;,\s]+")
_UNSUPPORTED = re.compile(r"DEL|INS|DUP|FS|EXT")


@dataclass(frozen=True, order=True)
class Mutation:
    """One substitution; ``position`` is 1-based."""

    position: int
    wild_type: str
    mutant: str

    @property
    def index(self) -> int:
        """0-based index into the sequence."""
        return self.position - 1

    def __str__(self) -> str:
        return f"{self.wild_type}{self.position}{self.mutant}"


def parse_mutations(notation: str | Sequence[str], *, name: str = "mutations") -> list[Mutation]:
    """Parse one variant (one or more substitutions) into mutations, in the given order."""
    # anything but a list/tuple is one part; _split refuses parts that are not text
    parts: list[object] = list(notation) if isinstance(notation, list | tuple) else [notation]
    tokens = [token for part in parts for token in _split(part, name=name)]
    if not tokens:
        raise InvalidMutationError(
            f"{name} is empty; give substitutions such as 'A123G', 'A123G:L45P' or 'p.Ala123Gly'.",
            input_name=name,
        )
    mutations = [_parse_one(token, name=name) for token in tokens]
    seen: dict[int, Mutation] = {}
    for mutation in mutations:
        if mutation.position in seen:
            raise InvalidMutationError(
                f"{name} changes position {mutation.position} twice "
                f"({seen[mutation.position]} and {mutation}); give one substitution per position.",
                input_name=name,
            )
        seen[mutation.position] = mutation
    return mutations


def _split(part: object, *, name: str) -> list[str]:
    if not isinstance(part, str):
        raise InvalidMutationError(
            f"{name} must be text such as 'A123G', got {shorten(part)}.", input_name=name
        )
    text = part.strip()
    if text[:2].upper() == "P.":
        text = text[2:]
        if text[:1] in "([" and text[-1:] in ")]":
            text = text[1:-1]
    return [token for token in _SEPARATORS.split(text) if token]


def _parse_one(token: str, *, name: str) -> Mutation:
    match = _ONE.match(token.upper()) or _THREE.match(token.upper())
    if match is None or _UNSUPPORTED.fullmatch(match["mt"]):
        kind = "is not a substitution" if _UNSUPPORTED.search(token.upper()) else "does not parse"
        raise InvalidMutationError(
            f"{name}: {shorten(token)} {kind}; write substitutions as wild type, 1-based "
            "position, mutant: 'A123G' or HGVS 'p.Ala123Gly' (deletions, insertions, "
            "frameshifts and stops are not scored).",
            input_name=name,
        )
    wild_type, mutant = (_residue(match[key], token, name=name) for key in ("wt", "mt"))
    position = int(match["pos"])
    if position < 1:
        raise InvalidMutationError(
            f"{name}: {token} has position {position}; positions are 1-based.", input_name=name
        )
    if wild_type == mutant:
        raise InvalidMutationError(
            f"{name}: {token} does not change the residue; give a substitution to a "
            "different amino acid.",
            input_name=name,
        )
    return Mutation(position=position, wild_type=wild_type, mutant=mutant)


def _residue(code: str, token: str, *, name: str) -> str:
    # Biopython's IUPAC table: HGVS three-letter codes (any case) to one letter, "Ter" to "*"
    letter = seq1(code) if len(code) == 3 else code
    if letter not in STANDARD_RESIDUES:
        reason = {
            "*": "stop codons are not scored",
            "TER": "stop codons are not scored",
            "=": "'=' marks a synonymous change, not a substitution",
        }.get(code, f"{code!r} is not one of the 20 standard amino acids")
        raise InvalidMutationError(f"{name}: {token}: {reason}.", input_name=name)
    return letter


def check_mutations(
    sequence: str, mutations: Sequence[Mutation], *, name: str = "mutations"
) -> None:
    """Raise :class:`InvalidMutationError` unless every position and wild type fit ``sequence``."""
    for mutation in mutations:
        if mutation.position > len(sequence):
            raise InvalidMutationError(
                f"{name}: {mutation} points past the end of the sequence, which has "
                f"{len(sequence)} residues; positions are 1-based.",
                input_name=name,
            )
        actual = sequence[mutation.index]
        if actual != mutation.wild_type:
            nearby = sequence[max(0, mutation.index - 3) : mutation.index + 4]
            raise InvalidMutationError(
                f"{name}: {mutation} says position {mutation.position} is {mutation.wild_type}, "
                f"but the sequence has {actual} there (context {nearby!r}); check the "
                "numbering (1-based, first residue of the sequence given) and the isoform.",
                input_name=name,
            )
