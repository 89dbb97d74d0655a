"""BioMedGPT-10B: GIN molecule encoder + ESM-2 protein encoder spliced into BioMedGPT-LM-7B.

Architecture and attribute names follow OpenBioMed's ``BioMedGPTV`` so the
published ``biomedgpt_10b.pth`` loads unchanged:

* ``mol_structure_encoder`` — :class:`~.gin.GINEncoder` (5 layers, hidden 300),
  one vector per atom;
* ``prot_structure_encoder`` — HF ``EsmModel`` (ESM-2 3B), one vector per token
  (``<cls>``, residues, ``<eos>``), sequences truncated to 1,024 tokens;
* ``proj_mol`` / ``proj_prot`` — ``Linear`` into the LM's hidden size;
* ``llm`` — ``LlamaForCausalLM`` (BioMedGPT-LM-7B, vocabulary + ``[PAD]``).

**Splicing.** A prompt is split at ``<moleculeHere>`` / ``<proteinHere>``; each
text piece is tokenized on its own without special tokens and embedded with the
LM's embedding table; the projected atom (residue) vectors of the next molecule
(protein) are inserted at each placeholder, in order; one BOS starts the
sequence. A batch is left-padded (zero vectors, attention mask 0) so generation
continues every row from its last real token.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import torch
from torch import nn

from biomed_agent.errors import InvalidInputError
from biomed_agent.models.multimodal.gin import GINEncoder
from biomed_agent.models.multimodal.graph import batch_graphs, smiles_to_graph
from biomed_agent.models.multimodal.placeholders import check_placeholder_counts, split_prompt
from biomed_agent.models.prompt_ids import prompt_encoder
from biomed_agent.proteins.sequences import ESM_VOCABULARY, esm_token_ids, parse_sequence

if TYPE_CHECKING:
    from transformers import EsmConfig, LlamaConfig, PreTrainedTokenizerBase

__all__ = ["MAX_PROTEIN_TOKENS", "BioMedGPT10B", "MultimodalPrompt", "Span", "SplicedBatch"]

MAX_PROTEIN_TOKENS = 1024
"""ESM-2's training context: ``<cls>`` + 1,022 residues + ``<eos>``."""
_ESM_PAD = ESM_VOCABULARY.index("<pad>")


@dataclass(frozen=True)
class MultimodalPrompt:
    """A prompt with placeholders and the inputs they stand for, in order of appearance."""

    text: str
    molecules: tuple[str, ...] = ()
    """SMILES, one per ``<moleculeHere>``."""
    proteins: tuple[str, ...] = ()
    """Amino-acid sequences, one per ``<proteinHere>``."""


@dataclass(frozen=True)
class Span:
    """A run of positions in one row of a :class:`SplicedBatch`.

    ``kind`` is ``bos``, ``text``, ``molecule`` or ``protein``; ``token_ids`` are
    the LM token ids of ``bos``/``text`` spans (empty for encoder spans).
    """

    kind: Literal["bos", "text", "molecule", "protein"]
    start: int
    length: int
    token_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class SplicedBatch:
    """LM inputs of a batch, left-padded: ``inputs_embeds [rows, positions, hidden]``.

    ``input_ids`` holds the text token ids and ``[PAD]`` at encoder positions and
    padding, so ``generate`` can apply repetition penalties to the prompt text.
    """

    input_ids: torch.Tensor
    inputs_embeds: torch.Tensor
    attention_mask: torch.Tensor
    spans: tuple[tuple[Span, ...], ...]
    """Per row, where each piece landed (after padding), for inspection and tests."""


class BioMedGPT10B(nn.Module):
    """The multimodal model; build it with :func:`~.loading.load_biomedgpt10b`."""

    def __init__(
        self,
        llm_config: LlamaConfig,
        esm_config: EsmConfig,
        tokenizer: PreTrainedTokenizerBase,
        *,
        gin_layers: int = 5,
        gin_hidden: int = 300,
    ) -> None:
        from transformers import EsmModel, LlamaForCausalLM

        super().__init__()
        self.tokenizer = tokenizer
        self.mol_structure_encoder = GINEncoder(gin_layers, gin_hidden)
        self.prot_structure_encoder = EsmModel(esm_config)
        self.llm = LlamaForCausalLM(llm_config)
        self.proj_mol = nn.Linear(gin_hidden, llm_config.hidden_size)
        self.proj_prot = nn.Linear(esm_config.hidden_size, llm_config.hidden_size)

    @property
    def _embed_tokens(self) -> nn.Embedding:
        embedding = self.llm.get_input_embeddings()
        assert isinstance(embedding, nn.Embedding)
        return embedding

    @torch.inference_mode()
    def encode_molecules(self, smiles: Sequence[str]) -> list[torch.Tensor]:
        """Projected per-atom embeddings ``[atoms, hidden]`` of each SMILES (one GIN pass)."""
        if not smiles:
            return []
        graph = batch_graphs([smiles_to_graph(text) for text in smiles])
        gin_device = self.mol_structure_encoder.x_embedding1.weight.device
        atoms = self.mol_structure_encoder(graph.to(gin_device))
        projected = self.proj_mol(atoms.to(self.proj_mol.weight.device, self.proj_mol.weight.dtype))
        return list(projected.to(self._embed_tokens.weight.device).split(list(graph.atom_counts)))

    @torch.inference_mode()
    def encode_proteins(self, sequences: Sequence[str]) -> list[torch.Tensor]:
        """Projected per-token embeddings ``[tokens, hidden]`` of each sequence (one ESM pass).

        Sequences are validated by the protein toolkit's alphabet contract; one
        longer than 1,022 residues is truncated (with a warning) as the published
        model's tokenizer did.
        """
        if not sequences:
            return []
        rows = [
            esm_token_ids(self._checked_protein(text, index))
            for index, text in enumerate(sequences)
        ]
        device = self.prot_structure_encoder.embeddings.word_embeddings.weight.device
        longest = max(len(row) for row in rows)
        input_ids = torch.full((len(rows), longest), _ESM_PAD, dtype=torch.long)
        attention_mask = torch.zeros((len(rows), longest), dtype=torch.long)
        for index, row in enumerate(rows):
            input_ids[index, : len(row)] = torch.tensor(row)
            attention_mask[index, : len(row)] = 1
        hidden = self.prot_structure_encoder(
            input_ids=input_ids.to(device), attention_mask=attention_mask.to(device)
        ).last_hidden_state
        projected = self.proj_prot(
            hidden.to(self.proj_prot.weight.device, self.proj_prot.weight.dtype)
        )
        target = self._embed_tokens.weight.device
        return [projected[index, : len(row)].to(target) for index, row in enumerate(rows)]

    @staticmethod
    def _checked_protein(text: str, index: int) -> str:
        sequence = parse_sequence(text, name=f"protein {index + 1}")
        limit = MAX_PROTEIN_TOKENS - 2
        if len(sequence) > limit:
            warnings.warn(
                f"protein {index + 1} has {len(sequence):,} residues; BioMedGPT-10B's ESM-2 "
                f"encoder reads at most {limit:,}, so residues after {limit:,} are ignored.",
                stacklevel=3,
            )
            return sequence[:limit]
        return sequence

    def splice(self, prompts: Sequence[MultimodalPrompt]) -> SplicedBatch:
        """Embed a batch of prompts with their molecules and proteins spliced in."""
        pieces = []
        for number, prompt in enumerate(prompts, start=1):
            texts, kinds = split_prompt(prompt.text)
            where = "the prompt" if len(prompts) == 1 else f"prompt {number}"
            check_placeholder_counts(
                kinds, len(prompt.molecules), len(prompt.proteins), where=where
            )
            pieces.append((texts, kinds))
        molecules = iter(self.encode_molecules([m for p in prompts for m in p.molecules]))
        proteins = iter(self.encode_proteins([s for p in prompts for s in p.proteins]))
        bos, slot = self.tokenizer.bos_token_id, self.feature_slot_id
        assert bos is not None, "the LM tokenizer has no BOS token"
        segment_ids = prompt_encoder(self.tokenizer).segment  # OpenBioMed's slow-tokenizer ids
        rows: list[list[int]] = []
        row_spans: list[list[Span]] = []
        features: list[torch.Tensor] = []
        for texts, kinds in pieces:
            ids, spans = [bos], [Span("bos", 0, 1, (bos,))]
            for index, text in enumerate(texts):
                text_ids = segment_ids(text) if text else []
                if text_ids:
                    spans.append(Span("text", len(ids), len(text_ids), tuple(text_ids)))
                    ids += text_ids
                if index < len(kinds):
                    vectors = next(molecules if kinds[index] == "molecule" else proteins)
                    spans.append(Span(kinds[index], len(ids), vectors.shape[0]))
                    ids += [slot] * vectors.shape[0]
                    features.append(vectors)
            rows.append(ids)
            row_spans.append(spans)
        longest = max(len(ids) for ids in rows)
        input_ids = torch.full((len(rows), longest), slot, dtype=torch.long)
        attention_mask = torch.zeros((len(rows), longest), dtype=torch.long)
        for index, ids in enumerate(rows):
            input_ids[index, longest - len(ids) :] = torch.tensor(ids)
            attention_mask[index, longest - len(ids) :] = 1
        shifted = tuple(
            tuple(Span(s.kind, s.start + longest - len(ids), s.length, s.token_ids) for s in spans)
            for ids, spans in zip(rows, row_spans, strict=True)
        )
        device = self._embed_tokens.weight.device
        input_ids, attention_mask = input_ids.to(device), attention_mask.to(device)
        embeds = self.embed_with_features(input_ids, attention_mask, features)
        return SplicedBatch(input_ids, embeds, attention_mask, shifted)

    @property
    def feature_slot_id(self) -> int:
        """Token id marking a position whose embedding is an encoder vector: ``[PAD]``."""
        pad = self.tokenizer.pad_token_id
        assert isinstance(pad, int), "the LM tokenizer has no [PAD] token"
        return pad

    @torch.inference_mode()
    def embed_with_features(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        features: Sequence[torch.Tensor],
    ) -> torch.Tensor:
        """LM input embeddings of ``input_ids`` with ``features`` in the feature slots.

        Slots are the attended positions holding :attr:`feature_slot_id`; they are
        filled row by row, left to right, with the rows of ``features`` in order.
        Padding (attention mask 0) is set to zero vectors.
        """
        embeds = self._embed_tokens(input_ids)
        slots = (input_ids == self.feature_slot_id) & (attention_mask == 1)
        wanted = int(slots.sum())
        given = sum(int(vectors.shape[0]) for vectors in features)
        if wanted != given:
            raise InvalidInputError(
                f"the input has {wanted} feature positions but the molecules and proteins "
                f"give {given} vectors; do not write the reserved token "
                f"{self.tokenizer.pad_token!r} in messages.",
                input_name="messages",
            )
        if features:
            embeds[slots] = torch.cat(list(features)).to(embeds.device, embeds.dtype)
        embeds[attention_mask == 0] = 0
        return embeds

    @torch.inference_mode()
    def generate(self, batch: SplicedBatch, **generation_kwargs: Any) -> torch.Tensor:
        """New token ids ``[rows, new_tokens]`` continuing each row of ``batch``."""
        output: torch.Tensor = self.llm.generate(
            input_ids=batch.input_ids,
            inputs_embeds=batch.inputs_embeds,
            attention_mask=batch.attention_mask,
            **generation_kwargs,
        )
        return output[:, batch.input_ids.shape[1] :]
