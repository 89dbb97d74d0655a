"""Prompt token ids exactly as the official slow SentencePiece tokenizer gives them.

BioMedGPT-LM-7B and BioMedGPT-10B were trained and released with transformers'
*slow* ``LlamaTokenizer`` (OpenBioMed pins transformers 4.28.1; ``legacy=True``
semantics of later versions). For a Llama-style ``tokenizer.model`` that tokenizer

1. splits the text at special and added tokens (``<s>``, ``</s>``, ``<unk>``,
   ``[PAD]`` ...), keeping the whitespace around them (the release's special
   tokens are ``AddedToken(lstrip=False, rstrip=False)``);
2. encodes every other piece with SentencePiece on its own, so each piece gets the
   model's dummy-prefix ``▁`` (the ``legacy`` behaviour: ``"</s>b"`` -> ``</s>``, ``▁b``);
   whitespace is not normalised (double, leading and trailing spaces are kept);
3. puts ``<s>`` first when special tokens are added.

The fast tokenizers that transformers 5 builds from the same ``tokenizer.model``
differ on some of these inputs (issue 14: 7 of 20 probe strings), so for a
SentencePiece model this module calls SentencePiece itself; a tokenizer without
one (e.g. SmolLM2's byte-level BPE, whose official tokenizer *is* the fast one)
is used as it is. Checked against transformers 4.28.1's ``LlamaTokenizer`` in
``tests/test_chat_format.py`` (fixtures: ``tests/fixtures/openbiomed/``).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = ["PromptEncoder", "prompt_encoder", "sentencepiece_model"]

_SP_FILE = "tokenizer.model"
_LOCK = threading.Lock()
_CACHE: dict[int, PromptEncoder] = {}


@dataclass(frozen=True)
class PromptEncoder:
    """Encodes text as the official tokenizer of ``tokenizer`` does (see module docstring)."""

    tokenizer: Any
    processor: Any | None
    """A ``sentencepiece.SentencePieceProcessor``, or ``None``: use ``tokenizer`` as it is."""
    special: dict[str, int]
    pattern: re.Pattern[str] | None
    bos_first: bool
    """Whether the tokenizer starts every encoding with ``<s>`` (Llama: yes)."""

    @property
    def exact_sentencepiece(self) -> bool:
        """Whether ids come from SentencePiece (slow-tokenizer semantics)."""
        return self.processor is not None

    def segment(self, text: str) -> list[int]:
        """Ids of ``text`` without special tokens (OpenBioMed's ``add_special_tokens=False``)."""
        if self.processor is None:
            return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])
        ids: list[int] = []
        pieces = self.pattern.split(text) if self.pattern is not None else [text]
        for piece in pieces:
            if not piece:
                continue
            if piece in self.special:
                ids.append(self.special[piece])
            else:
                ids.extend(self.processor.encode(piece))
        return ids

    def encode(self, text: str) -> list[int]:
        """Ids of ``text`` with the tokenizer's special tokens (``<s>`` first for Llama)."""
        if self.processor is None:
            return list(self.tokenizer(text)["input_ids"])
        bos = self.tokenizer.bos_token_id
        return ([bos] if self.bos_first else []) + self.segment(text)


def sentencepiece_model(tokenizer: PreTrainedTokenizerBase) -> Path | None:
    """The ``tokenizer.model`` the tokenizer was made from, when it has one on disk."""
    candidates: list[Path] = []
    for value in (
        getattr(tokenizer, "vocab_file", None),
        tokenizer.init_kwargs.get("vocab_file") if hasattr(tokenizer, "init_kwargs") else None,
    ):
        if isinstance(value, str) and value.endswith(".model"):
            candidates.append(Path(value))
    name = str(getattr(tokenizer, "name_or_path", "") or "")
    if name:
        candidates.append(Path(name).expanduser() / _SP_FILE)
        if not Path(name).expanduser().exists():
            cached = _hub_cached(name)
            if cached is not None:
                candidates.append(cached)
    return next((path for path in candidates if path.is_file()), None)


def _hub_cached(repo_id: str) -> Path | None:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - huggingface_hub comes with transformers
        return None
    try:
        found = try_to_load_from_cache(repo_id, _SP_FILE)
    except (ValueError, OSError):
        return None
    return Path(found) if isinstance(found, str) else None


def prompt_encoder(tokenizer: PreTrainedTokenizerBase) -> PromptEncoder:
    """The :class:`PromptEncoder` of ``tokenizer`` (built once per tokenizer object)."""
    with _LOCK:
        cached = _CACHE.get(id(tokenizer))
        if cached is not None and cached.tokenizer is tokenizer:
            return cached
        encoder = _build(tokenizer)
        _CACHE[id(tokenizer)] = encoder
        return encoder


def _build(tokenizer: PreTrainedTokenizerBase) -> PromptEncoder:
    path = sentencepiece_model(tokenizer)
    processor = None
    if path is not None:
        try:
            import sentencepiece
        except ImportError:
            processor = None
        else:
            processor = sentencepiece.SentencePieceProcessor(model_file=str(path))
            if not _agrees(processor, tokenizer):
                processor = None
    special: dict[str, int] = {}
    if processor is not None:
        for token in [*tokenizer.all_special_tokens, *tokenizer.get_added_vocab()]:
            token_id = tokenizer.convert_tokens_to_ids(token)
            if isinstance(token_id, int) and token:
                special[token] = token_id
    pattern = (
        re.compile("(" + "|".join(map(re.escape, sorted(special, key=len, reverse=True))) + ")")
        if special
        else None
    )
    bos = tokenizer.bos_token_id
    bos_first = bos is not None and list(tokenizer("a")["input_ids"][:1]) == [bos]
    return PromptEncoder(tokenizer, processor, special, pattern, bos_first)


def _agrees(processor: Any, tokenizer: PreTrainedTokenizerBase) -> bool:
    """The SentencePiece model is the tokenizer's: same size (before added tokens), same ids."""
    size = int(processor.get_piece_size())
    if size > len(tokenizer):
        return False
    probe = ["<s>", "</s>", "<unk>"]
    return all(
        processor.piece_to_id(token) == tokenizer.convert_tokens_to_ids(token)
        for token in probe
        if processor.piece_to_id(token) != processor.unk_id() or token == "<unk>"
    )
