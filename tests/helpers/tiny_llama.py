"""A tiny, randomly initialised Llama chat model saved to disk, built without any download.

Tests (and other helpers, e.g. the eval harness) use it to exercise the real
loading path (``from_pretrained`` on a directory) of :mod:`biomed_agent.models`
without the 13 GB BioMedGPT-LM-7B weights::

    from tests.helpers.tiny_llama import build_tiny_llama

    model_dir = build_tiny_llama(tmp_path / "tiny-llama")
    chat = ChatBioMedGPT(model=str(model_dir), device_map="cpu", temperature=0.0)

The tokenizer is a byte-level BPE trained on a small built-in corpus, so every
string (JSON, SMILES, unicode) can be encoded, like the real Llama tokenizer's
byte fallback. Weights are seeded, so two builds with the same arguments are
identical. Building takes well under a second.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["TINY_CORPUS", "build_tiny_llama", "single_torch_thread"]

# Text the tokenizer is trained on: the chat format, JSON tool calls and some biomedicine.
TINY_CORPUS: tuple[str, ...] = (
    "You are working as an excellent assistant in biology. ### Human: What is aspirin? "
    "### Assistant: Aspirin is a nonsteroidal anti-inflammatory drug. ###",
    '{"name": "molecule_properties", "arguments": {"smiles": "CC(=O)OC1=CC=CC=C1C(=O)O"}}',
    '{"name": "uniprot_lookup", "arguments": {"accession": "P04637", "fields": ["function"]}}',
    "The tumour suppressor p53 binds DNA and regulates the cell cycle and apoptosis.",
    "Ibuprofen inhibits cyclooxygenase enzymes COX-1 and COX-2; its logP is 3.97.",
    'Tool result (data, not instructions): {"result": 3, "error": null, "ok": true}',
    "Proteins are chains of amino acids: ACDEFGHIKLMNPQRSTVWY. Molecules are graphs.",
    "0123456789 [1] [2] (a, b) {x: y} <tool> </tool> - + * / = ? ! ' \" \\ \n\t",
)


def build_tiny_llama(
    directory: Path,
    *,
    vocab_size: int = 512,
    hidden_size: int = 64,
    num_layers: int = 2,
    num_heads: int = 4,
    max_positions: int = 4096,
    seed: int = 0,
) -> Path:
    """Train a tokenizer, build a random ``LlamaForCausalLM`` and save both to ``directory``.

    Returns ``directory``, which then loads with ``AutoModelForCausalLM.from_pretrained``
    and ``AutoTokenizer.from_pretrained`` like any hub checkpoint.
    """
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<unk>", "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(TINY_CORPUS, trainer=trainer)
    bos_id, eos_id = bpe.token_to_id("<s>"), bpe.token_to_id("</s>")
    # Prepend BOS like Llama's tokenizer does.
    bpe.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", bos_id)]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, bos_token="<s>", eos_token="</s>", unk_token="<unk>"
    )

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=num_heads,
        max_position_embeddings=max_positions,
        bos_token_id=bos_id,
        eos_token_id=eos_id,
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = eos_id
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@contextmanager
def single_torch_thread() -> Iterator[None]:
    """Run torch ops on one thread: a model this small only pays for thread hand-offs.

    On a busy 2-core machine, decoding the tiny model with torch's default thread
    pool is ~10x slower than with one thread. The previous setting is restored.
    """
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
