"""One definition of each identifier pattern and text heuristic the package shares.

UniProt accessions, InChIKeys, the amino-acid alphabet, "is this token SMILES?",
"is this model spec a path?" and the one-line citation format live here, so entity
extraction, the retrieval clients, the tools and the interfaces cannot drift apart.
Pure standard library: importing this module costs nothing.
"""

from __future__ import annotations

import re

__all__ = [
    "INCHIKEY",
    "INCHIKEY_IN_TEXT",
    "SMILES_CHARACTERS",
    "STANDARD_AMINO_ACIDS",
    "UNIPROT_ACCESSION",
    "UNIPROT_ACCESSION_IN_TEXT",
    "citation_line",
    "is_inchikey",
    "is_uniprot_accession",
    "looks_like_path",
    "looks_like_smiles",
]

# https://www.uniprot.org/help/accession_numbers
_ACCESSION = r"[OPQ][0-9][A-Z0-9]{3}[0-9]|[A-NR-Z][0-9](?:[A-Z][A-Z0-9]{2}[0-9]){1,2}"
UNIPROT_ACCESSION = re.compile(_ACCESSION)
"""A UniProtKB accession (use ``fullmatch``): 6 or 10 characters, e.g. P04637, A0A023GPI8."""
UNIPROT_ACCESSION_IN_TEXT = re.compile(rf"(?<![A-Za-z0-9])({_ACCESSION})(?:-\d+)?(?![A-Za-z0-9])")
"""An accession standing alone in running text (an isoform suffix ``-2`` is allowed, not kept)."""

_INCHIKEY = r"[A-Z]{14}-[A-Z]{10}-[A-Z]"
INCHIKEY = re.compile(_INCHIKEY)
"""A standard InChIKey (use ``fullmatch``): 14 + 10 + 1 upper-case letters."""
INCHIKEY_IN_TEXT = re.compile(rf"(?<![A-Z])({_INCHIKEY})(?![A-Z])")
"""An InChIKey standing alone in running text."""

STANDARD_AMINO_ACIDS = "ACDEFGHIKLMNPQRSTVWY"
"""One-letter codes of the 20 standard residues, alphabetical."""

SMILES_CHARACTERS = re.compile(r"[A-Za-z0-9@+\-\[\]()=#$/\\%.:*]+")
"""Only characters SMILES uses (use ``fullmatch``): a shape check, not a parse."""
_SMILES_MARKS = frozenset("=#()[]@+\\/%.")
_ORGANIC_ONLY = re.compile(r"(?:Cl|Br|[BCNOSPFIbcnosp]|\d)+")


def is_uniprot_accession(text: str) -> bool:
    """True when ``text`` (stripped, any case) is shaped like a UniProtKB accession."""
    return bool(UNIPROT_ACCESSION.fullmatch(text.strip().upper()))


def is_inchikey(text: str) -> bool:
    """True when ``text`` (stripped, any case) is shaped like a standard InChIKey."""
    return bool(INCHIKEY.fullmatch(text.strip().upper()))


def looks_like_smiles(text: str, *, min_plain_length: int = 1) -> bool:
    """A cheap guess (no RDKit) that ``text`` is one SMILES string.

    Yes when it has only SMILES characters and a bond, branch, ring, charge or
    stereo mark (``CC(=O)O``, ``C[C@H](N)C(=O)O``); otherwise when it is made only of
    organic-subset atoms whose ring-closure digits pair up (``CCO``, ``c1ccccc1``; not the
    KEGG id ``C00267``) and is at least ``min_plain_length`` characters long (running
    text passes 3 so that words like ``NO`` or ``CO`` stay words). Confirm with RDKit.
    """
    if not text or not SMILES_CHARACTERS.fullmatch(text):
        return False
    if _SMILES_MARKS & set(text):
        return True
    return (
        len(text) >= min_plain_length
        and bool(_ORGANIC_ONLY.fullmatch(text))
        and all(text.count(digit) % 2 == 0 for digit in set(text) if digit.isdigit())
    )


_CHECKPOINT_SUFFIXES = (".pt", ".pth", ".bin", ".gguf", ".safetensors", ".ckpt")


def looks_like_path(value: str, *, hub_ids: bool = False) -> bool:
    """True when a model setting names a local path rather than a registry/hub name.

    Paths start with ``/``, ``.`` or ``~``, hold a backslash, end in a checkpoint
    suffix (``.pt``, ``.pth``, ``.gguf``, ...) or have more than one ``/``. With
    ``hub_ids`` a single ``org/name`` is a Hugging Face hub id; without it (ESM
    registry names have no ``/``) any ``/`` makes a path.
    """
    if value.startswith(("/", ".", "~")) or "\\" in value:
        return True
    if value.lower().endswith(_CHECKPOINT_SUFFIXES):
        return True
    slashes = value.count("/")
    return slashes > 1 or (slashes == 1 and not hub_ids)


def citation_line(number: int, title: str, url: str | None, tool: str | None) -> str:
    """``[n] title — url`` (``computed by tool T`` for a computation): how citations print."""
    where = url or (f"computed by tool {tool}" if tool else "computed locally")
    return f"[{number}] {title} — {where}"
