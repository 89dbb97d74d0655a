"""``ChatBioMedGPT10B``: BioMedGPT-10B as a LangChain chat model that reads molecules and proteins.

It is :class:`~biomed_agent.models.chat_model.ChatBioMedGPT` with the 10B model
behind it, so prompt rendering (BioMedGPT's conversation format, history
truncation), streaming, stop strings, usage metadata, ``bind_tools`` and
schema-constrained tool calls are the same code. What differs:

1. Call arguments ``molecules`` / ``proteins`` and ``molecule`` / ``protein``
   content blocks become OpenBioMed's turn text with placeholders
   (:mod:`.messages`). Proteins are given as sequences: resolving a UniProt
   accession is the caller's job (the ``protein_qa`` tool and the UniProtQA eval
   fetch it through the UniProt client); an accession here is an error saying so.
2. Each placeholder is expanded to one ``[PAD]`` token per atom (molecule) or ESM
   token (protein), so the rendered prompt's token count is its true length and
   history truncation counts encoder positions exactly. ``[PAD]`` is a special
   token, so the text between placeholders is tokenized piece by piece, as
   OpenBioMed's ``Conversation`` does (:mod:`biomed_agent.models.prompt_ids`):
   the prompt ids equal OpenBioMed's.
3. The generation path calls ``generate`` on :class:`_SplicingLM`, which fills
   those ``[PAD]`` positions with the projected encoder vectors
   (:meth:`BioMedGPT10B.embed_with_features`) and generates from ``inputs_embeds``.
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from pydantic import Field

from biomed_agent.errors import InvalidInputError, ModelLoadError, shorten
from biomed_agent.models.base import GenerationRequest
from biomed_agent.models.chat_format import is_system
from biomed_agent.models.chat_model import ChatBioMedGPT
from biomed_agent.models.loading import LoadedModel, LoadSpec
from biomed_agent.models.multimodal.loading import DType
from biomed_agent.models.multimodal.messages import EncoderInput, attach_inputs, to_conversation
from biomed_agent.models.multimodal.placeholders import split_prompt
from biomed_agent.once import load_once
from biomed_agent.prompts import load_prompt_data

if TYPE_CHECKING:
    import torch

    from biomed_agent.models.multimodal.model import BioMedGPT10B

__all__ = ["ChatBioMedGPT10B"]


class _SplicingLM:
    """Stands in for the LM in ChatBioMedGPT's generation path and splices features in.

    The features of a request are handed over through
    :meth:`features_for_next_generate`, which holds a lock until ``generate``
    has taken them, so concurrent requests on the shared model cannot swap them.
    """

    def __init__(self, model: BioMedGPT10B) -> None:
        self.model = model
        self._handoff = threading.Lock()
        self._pending: list[torch.Tensor] | None = None

    @property
    def config(self) -> Any:
        return self.model.llm.config

    @property
    def generation_config(self) -> Any:
        return self.model.llm.generation_config

    def get_input_embeddings(self) -> torch.nn.Module:
        return self.model.llm.get_input_embeddings()

    @contextmanager
    def features_for_next_generate(self, features: list[torch.Tensor]) -> Iterator[None]:
        """Make ``features`` the ones the next ``generate`` call splices in."""
        self._handoff.acquire()
        self._pending = features
        try:
            yield
        finally:
            if self._pending is features:  # generate never ran (e.g. the prompt did not fit)
                self._pending = None
                self._handoff.release()

    def _take(self) -> list[torch.Tensor]:
        features, self._pending = self._pending, None
        if features is None:
            return []
        self._handoff.release()
        return features

    def generate(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **kwargs: Any
    ) -> torch.Tensor:
        features = self._take()
        slots = int((input_ids == self.model.feature_slot_id).sum())
        # history truncation drops the oldest turns, hence the oldest features
        while features and sum(int(f.shape[0]) for f in features) > slots:
            features = features[1:]
        embeds = self.model.embed_with_features(input_ids, attention_mask, features)
        output: torch.Tensor = self.model.llm.generate(
            input_ids=input_ids, inputs_embeds=embeds, attention_mask=attention_mask, **kwargs
        )
        return output


@dataclass(frozen=True)
class _Runtime:
    model: BioMedGPT10B
    loaded: LoadedModel


@load_once(maxsize=2)  # two threads asking at once share one load
def _runtime(path: str, dtype: DType, device_map: str) -> _Runtime:
    """One loaded BioMedGPT-10B per (path, dtype, device_map) and process."""
    from biomed_agent.models.multimodal.loading import load_biomedgpt10b

    model = load_biomedgpt10b(path, dtype=dtype, device_map=device_map)
    splicer = _SplicingLM(model)  # duck-types the PreTrainedModel API the generation path uses
    spec = LoadSpec(model=path, dtype=dtype, device_map=device_map)
    loaded = LoadedModel(spec=spec, model=splicer, tokenizer=model.tokenizer)  # type: ignore[arg-type]
    return _Runtime(model, loaded)


class ChatBioMedGPT10B(ChatBioMedGPT):
    """BioMedGPT-10B (LM + molecule and protein encoders) as a LangChain chat model.

    Give molecules and proteins as content blocks or call arguments::

        chat = ChatBioMedGPT10B(model="/models/biomedgpt-10b", dtype="fp16")
        chat.invoke("What is this molecule used for?", molecules=["CC(=O)Oc1ccccc1C(=O)O"])
        chat.invoke([HumanMessage(content=[
            {"type": "protein", "sequence": "MEEPQSDPSVEPPLSQETFSDLWKLL"},
            {"type": "text", "text": "What does this protein do?"},
        ])])

    ``model`` is the BioMedGPT-10B directory or ``.pth`` file (docs/biomedgpt-10b.md);
    weights are loaded on first use and shared by instances with the same
    ``model``, ``dtype`` and ``device_map``. 8/4-bit quantization and offloading
    are not supported for the 10B model.
    """

    model: str
    """BioMedGPT-10B: a directory holding ``biomedgpt_10b.pth`` and the LM/ESM configs,
    or the ``.pth`` file (see :func:`~.loading.resolve_layout`)."""

    max_new_tokens: int = Field(default=256, ge=1)
    """Most tokens generated for an answer: 256, OpenBioMed's ``Conversation.answer`` default
    (there ``max_length=256`` also counts the BOS it starts from, and the last token is cut,
    so it shows at most 254; see docs/biomedgpt-10b.md, deliberate deviations)."""

    context_window: int | None = Field(default=2048, ge=64)
    """Prompt + answer tokens: 2,048, BioMedGPT-10B's training length and OpenBioMed's
    ``Conversation(max_length=2048)``."""

    prefix_cache: bool = False
    """Off: a 10B prompt's positions hold encoder vectors, which a token-id KV cache of the
    system text cannot reuse safely."""

    @property
    def model_name(self) -> str:
        return f"BioMedGPT-10B ({self.model})"

    def loaded(self) -> LoadedModel:
        """The splicing LM and tokenizer, loaded now if this is the first use."""
        return self._runtime().loaded

    def _runtime(self) -> _Runtime:
        unsupported = [
            name for name in ("load_in_8bit", "load_in_4bit", "offload") if getattr(self, name)
        ]
        if unsupported:
            raise ModelLoadError(
                f"{', '.join(unsupported)} is not supported for BioMedGPT-10B; load it in "
                "fp16/bf16 and spread it over GPUs with device_map='auto' instead.",
                input_name=unsupported[0],
            )
        return _runtime(self.model, self.dtype, self.device_map)

    def _request(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> GenerationRequest:
        options = dict(kwargs)
        molecules = _strings(options.pop("molecules", None), "molecules")
        proteins = _strings(options.pop("proteins", None), "proteins")
        attached = attach_inputs(messages, molecules, proteins)
        _check_sequences(to_conversation(attached)[1])  # before the model loads
        return super()._request(attached, stop, options)

    def _text_pieces(self, request: GenerationRequest) -> Generator[str, None, None]:
        runtime = self._runtime()
        messages, inputs = to_conversation(request.messages)
        features = self._encode(runtime.model, inputs)
        request.messages = _expanded(messages, features, runtime.model.tokenizer.pad_token)
        splicer = runtime.loaded.model
        assert isinstance(splicer, _SplicingLM)
        with splicer.features_for_next_generate(features):
            yield from super()._text_pieces(request)

    def prompt_room(self, messages: Sequence[BaseMessage]) -> tuple[int, int]:
        """(prompt tokens of ``messages``, most prompt tokens that fit beside the answer).

        Molecules and proteins count at their encoder lengths (atoms; residues, cut at
        1,022, plus 2), found without running the encoders, so a prompt that cannot fit
        is refused before any encoder or generation work (loads the model once).
        """
        runtime = self._runtime()
        plain, inputs = to_conversation(list(messages))
        _check_sequences(inputs)
        expanded = _expanded(plain, _positions(inputs), runtime.model.tokenizer.pad_token)
        window, count, _, _ = self.prompt_counter()
        return count(expanded), window - self.max_new_tokens

    def _shareable(self, request: GenerationRequest) -> bool:
        """Never: a request's encoder features are handed to the next ``generate`` call alone."""
        return False

    def _encode(self, model: BioMedGPT10B, inputs: Sequence[EncoderInput]) -> list[torch.Tensor]:
        molecules = iter(model.encode_molecules([i.value for i in inputs if i.kind == "molecule"]))
        proteins = iter(model.encode_proteins([i.value for i in inputs if i.kind == "protein"]))
        return [next(molecules if i.kind == "molecule" else proteins) for i in inputs]


def _positions(inputs: Sequence[EncoderInput]) -> list[int]:
    """Prompt positions each input's encoder output takes (as ``_encode`` would give)."""
    from biomed_agent.models.multimodal.graph import smiles_to_graph
    from biomed_agent.models.multimodal.model import MAX_PROTEIN_TOKENS
    from biomed_agent.proteins.sequences import esm_token_ids, parse_sequence

    counts, proteins = [], 0
    for item in inputs:
        if item.kind == "molecule":
            counts.append(smiles_to_graph(item.value).num_atoms)
        else:
            proteins += 1
            sequence = parse_sequence(item.value, name=f"protein {proteins}")
            counts.append(len(esm_token_ids(sequence[: MAX_PROTEIN_TOKENS - 2])))
    return counts


def _check_sequences(inputs: Sequence[EncoderInput]) -> None:
    """Accessions are resolved by the caller: the model reads sequences, it fetches nothing."""
    for number, protein in enumerate((i for i in inputs if i.kind == "protein"), start=1):
        if protein.accession:
            raise InvalidInputError(
                f"protein {number} is {shorten(protein.value)}, a UniProt accession; "
                "ChatBioMedGPT10B reads amino-acid sequences only: pass the sequence "
                "(e.g. UniProtClient.fasta) or ask through the protein_qa tool, which "
                "resolves accessions.",
                input_name="proteins",
            )


def _strings(values: object, name: str) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise InvalidInputError(
            f"{name} must be a list of strings, got {shorten(values)}; e.g. {name}=['...'].",
            input_name=name,
        )
    if not all(isinstance(value, str) for value in values):
        raise InvalidInputError(
            f"{name} must hold strings only, got {shorten(values)}.", input_name=name
        )
    return list(values)


def _expanded(
    messages: Sequence[BaseMessage], features: Sequence[torch.Tensor | int], slot: str | None
) -> list[BaseMessage]:
    """Each placeholder becomes one ``slot`` token per feature vector (``features``: the
    vectors, or their counts); adds the 10B system text."""
    assert slot is not None, "the BioMedGPT-10B tokenizer has no [PAD] token"
    for number, message in enumerate(messages, start=1):
        if slot in message.text:
            raise InvalidInputError(
                f"message {number} contains {slot!r}, a token BioMedGPT-10B reserves for "
                "molecule and protein positions; remove it from the text.",
                input_name="messages",
            )
    remaining = iter(features)
    expanded: list[BaseMessage] = []
    for message in messages:
        if isinstance(message, HumanMessage):
            pieces, kinds = split_prompt(message.text)
            text = pieces[0]
            for piece in pieces[1 : len(kinds) + 1]:
                feature = next(remaining)
                count = feature if isinstance(feature, int) else int(feature.shape[0])
                text += slot * count + piece
            message = HumanMessage(content=text, id=message.id, name=message.name)
        expanded.append(message)
    if not any(is_system(message) for message in expanded):
        system = load_prompt_data("biomedgpt_conversation")["system_multimodal"]
        expanded.insert(0, SystemMessage(content=system))
    return expanded
