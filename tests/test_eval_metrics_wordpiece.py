"""Caption metrics with OpenBioMed main's BERT WordPiece tokens (molcap.py), issue 14."""

from __future__ import annotations

from pathlib import Path

import pytest

from biomed_agent.errors import InvalidInputError
from biomed_agent.eval.metrics import (
    caption_tokenizer,
    default_wordpiece_vocab,
    text_scores,
    wordpiece_tokens,
)

TEXTS = [
    "The molecule is a member of the class of benzoic acids (CHEBI:22723).",
    "Acts as a tumor suppressor; induces growth-arrest or apoptosis.",
    "Ünïcode café, 5′-UTR, α-helix " + "word " * 600,
]


def openbiomed_tokens(tokenizer: object, text: str) -> list[str]:
    """molcap.py: ``tokenize(text, truncation=True, max_length=512, padding='max_length')``
    with [PAD], [CLS] and [SEP] filtered out."""
    tokens = tokenizer.tokenize(  # type: ignore[attr-defined]
        text, truncation=True, max_length=512, padding="max_length"
    )
    return [t for t in tokens if t not in ("[PAD]", "[CLS]", "[SEP]")]


def test_wordpiece_tokens_equal_transformers_bert_tokenizer() -> None:
    from transformers import BertTokenizerFast  # type: ignore[attr-defined]

    reference = BertTokenizerFast(str(default_wordpiece_vocab()))
    ours = wordpiece_tokens()
    for text in TEXTS[:2]:
        assert ours(text) == openbiomed_tokens(reference, text)
    # transformers 4.28.1 (OpenBioMed's) truncates tokenize() to max_length=512; 5.x no longer
    # does, so the long text is checked against its first 512 tokens (4.28.1 gave 512 too)
    long = openbiomed_tokens(reference, TEXTS[2])
    assert len(long) > 512 and ours(TEXTS[2]) == long[:512]


def test_wordpiece_scores_differ_from_whitespace_scores_only_in_bleu_and_meteor() -> None:
    predictions = ["The molecule is a benzoic acid.", "A tumor suppressor protein."]
    references = ["The molecule is a member of benzoic acids.", "Acts as a tumor suppressor."]
    plain = text_scores(predictions, references, None)
    pieces = text_scores(predictions, references, None, tokenize=wordpiece_tokens())
    assert plain["rougeL"] == pieces["rougeL"]  # ROUGE reads the raw text in both
    assert plain["bleu2"] != pieces["bleu2"]  # "acid." vs "acid", "." splits differently


def test_caption_tokenizer_settings(tmp_path: Path) -> None:
    assert caption_tokenizer(None) is None and caption_tokenizer("whitespace") is None
    assert caption_tokenizer("wordpiece") is not None
    vocab = default_wordpiece_vocab()
    tokenize = caption_tokenizer(f"wordpiece:{vocab}")
    assert tokenize is not None and tokenize("Acts") == ["acts"]
    with pytest.raises(InvalidInputError, match="caption-tokens"):
        caption_tokenizer("sentencepiece")
    with pytest.raises(InvalidInputError, match="does not exist"):
        caption_tokenizer(f"wordpiece:{tmp_path / 'vocab.txt'}")
