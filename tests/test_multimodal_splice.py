"""Splicing molecule and protein embeddings into the LM input, checked position by position."""

from __future__ import annotations

import pytest
import torch

from biomed_agent.errors import InvalidInputError, InvalidMoleculeError, InvalidSequenceError
from biomed_agent.models.multimodal.loading import load_biomedgpt10b
from biomed_agent.models.multimodal.model import BioMedGPT10B, MultimodalPrompt, Span, SplicedBatch
from biomed_agent.models.multimodal.placeholders import split_prompt
from tests.helpers.tiny_biomedgpt10b import TinySizes, build_tiny_biomedgpt10b

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"  # 13 heavy atoms
INSULIN_B = "FVNQHLCGSHLVEALYLVCGERGFFYTPKT"  # 30 residues


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> BioMedGPT10B:
    directory = build_tiny_biomedgpt10b(tmp_path_factory.mktemp("m"))
    return load_biomedgpt10b(directory, device_map="cpu")


def token_ids(model: BioMedGPT10B, text: str) -> tuple[int, ...]:
    return tuple(model.tokenizer(text, add_special_tokens=False)["input_ids"])


def assert_row_matches(
    model: BioMedGPT10B, batch: SplicedBatch, row: int, prompt: MultimodalPrompt
) -> None:
    """Every position of ``row`` holds what the prompt says, in order, and nothing else."""
    spans = batch.spans[row]
    embeds, mask = batch.inputs_embeds[row], batch.attention_mask[row]
    start = spans[0].start
    assert mask[:start].sum() == 0 and torch.all(embeds[:start] == 0)
    assert mask[start:].all()
    position = start
    molecules, proteins = iter(prompt.molecules), iter(prompt.proteins)
    embed = model.llm.get_input_embeddings()
    for span in spans:
        assert span.start == position
        piece = embeds[span.start : span.start + span.length]
        if span.kind in ("bos", "text"):
            torch.testing.assert_close(piece, embed(torch.tensor(span.token_ids)))
        elif span.kind == "molecule":
            torch.testing.assert_close(piece, model.encode_molecules([next(molecules)])[0])
        else:
            torch.testing.assert_close(
                piece, model.encode_proteins([next(proteins)])[0], rtol=1e-4, atol=1e-5
            )
        position += span.length
    assert position == embeds.shape[0]
    assert next(molecules, None) is None and next(proteins, None) is None


def test_split_prompt_keeps_text_around_each_placeholder() -> None:
    texts, kinds = split_prompt("A <moleculeHere> B <proteinHere><moleculeHere> C")
    assert texts == ["A ", " B ", "", " C"]
    assert kinds == ["molecule", "protein", "molecule"]


def test_molecule_and_protein_are_spliced_token_by_token(model: BioMedGPT10B) -> None:
    prompt = MultimodalPrompt(
        "Human: <molecule><moleculeHere></molecule> binds <protein><proteinHere></protein>? "
        "### Assistant: ",
        molecules=(ASPIRIN,),
        proteins=(INSULIN_B,),
    )
    batch = model.splice([prompt])
    spans = batch.spans[0]
    assert [s.kind for s in spans] == ["bos", "text", "molecule", "text", "protein", "text"]
    assert spans[0] == Span("bos", 0, 1, (model.tokenizer.bos_token_id,))
    assert spans[1].token_ids == token_ids(model, "Human: <molecule>")
    assert spans[2].length == 13
    assert spans[3].token_ids == token_ids(model, "</molecule> binds <protein>")
    assert spans[4].length == len(INSULIN_B) + 2  # <cls> residues <eos>
    assert spans[5].token_ids == token_ids(model, "</protein>? ### Assistant: ")
    assert batch.inputs_embeds.shape == (1, sum(s.length for s in spans), TinySizes.llm_hidden)
    assert_row_matches(model, batch, 0, prompt)


def test_text_only_prompt_equals_the_plain_token_path(model: BioMedGPT10B) -> None:
    batch = model.splice([MultimodalPrompt("What is aspirin?")])
    assert [s.kind for s in batch.spans[0]] == ["bos", "text"]
    ids = torch.tensor([[model.tokenizer.bos_token_id, *token_ids(model, "What is aspirin?")]])
    with torch.no_grad():
        from_ids = model.llm(input_ids=ids).logits
        from_embeds = model.llm(
            inputs_embeds=batch.inputs_embeds, attention_mask=batch.attention_mask
        ).logits
    torch.testing.assert_close(from_embeds, from_ids)


def test_protein_only_and_several_molecules_keep_their_order(model: BioMedGPT10B) -> None:
    protein_only = MultimodalPrompt("<proteinHere> does what?", proteins=("MKTAYIAKQR",))
    batch = model.splice([protein_only])
    assert [s.kind for s in batch.spans[0]] == ["bos", "protein", "text"]
    assert_row_matches(model, batch, 0, protein_only)
    several = MultimodalPrompt(
        "<moleculeHere> vs <moleculeHere> vs <moleculeHere>", molecules=("C", "CCO", ASPIRIN)
    )
    batch = model.splice([several])
    assert [s.length for s in batch.spans[0] if s.kind == "molecule"] == [1, 3, 13]
    assert_row_matches(model, batch, 0, several)


def test_batch_is_left_padded_and_each_row_matches_its_own_splice(model: BioMedGPT10B) -> None:
    prompts = [
        MultimodalPrompt("Describe <moleculeHere>.", molecules=(ASPIRIN,)),
        MultimodalPrompt("Hello"),
        MultimodalPrompt(
            "<moleculeHere> and <proteinHere>", molecules=("CCO",), proteins=(INSULIN_B,)
        ),
    ]
    batch = model.splice(prompts)
    for row, prompt in enumerate(prompts):
        assert_row_matches(model, batch, row, prompt)
        alone = model.splice([prompt])
        length = alone.inputs_embeds.shape[1]
        torch.testing.assert_close(
            batch.inputs_embeds[row, -length:], alone.inputs_embeds[0], rtol=1e-4, atol=1e-5
        )
    assert batch.attention_mask.sum(dim=1).tolist() == [
        sum(s.length for s in spans) for spans in batch.spans
    ]


def test_batched_generation_equals_one_at_a_time(model: BioMedGPT10B) -> None:
    prompts = [
        MultimodalPrompt(
            "Human: <molecule><moleculeHere></molecule> What is it? ### Assistant: ",
            molecules=(ASPIRIN,),
        ),
        MultimodalPrompt("Human: What does insulin do? ### Assistant: "),
        MultimodalPrompt(
            "Human: <protein><proteinHere></protein> ### Assistant: ", proteins=(INSULIN_B,)
        ),
    ]
    options = {"max_new_tokens": 6, "do_sample": False}
    together = model.generate(model.splice(prompts), **options)
    for row, prompt in enumerate(prompts):
        alone = model.generate(model.splice([prompt]), **options)
        assert together[row].tolist() == alone[0].tolist()


@pytest.mark.parametrize(
    ("prompt", "message"),
    [
        (MultimodalPrompt("<moleculeHere> and <moleculeHere>", molecules=("C",)),
         r"2 <moleculeHere> placeholder\(s\) but 1 molecule\(s\).*remove the extra placeholders"),
        (MultimodalPrompt("no placeholder", molecules=("C",)),
         r"0 <moleculeHere> placeholder\(s\) but 1 molecule\(s\).*add a <moleculeHere>"),
        (MultimodalPrompt("<proteinHere>"), r"1 <proteinHere> placeholder\(s\) but 0 protein\(s\)"),
    ],
)  # fmt: skip
def test_placeholders_and_inputs_must_pair_up(
    model: BioMedGPT10B, prompt: MultimodalPrompt, message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        model.splice([prompt])


def test_mismatch_in_a_batch_names_the_prompt(model: BioMedGPT10B) -> None:
    with pytest.raises(InvalidInputError, match=r"prompt 2 has 1 <proteinHere>"):
        model.splice([MultimodalPrompt("fine"), MultimodalPrompt("<proteinHere>")])


def test_invalid_molecule_and_sequence_are_named(model: BioMedGPT10B) -> None:
    with pytest.raises(InvalidMoleculeError, match=r"'C1CC'"):
        model.splice([MultimodalPrompt("<moleculeHere>", molecules=("C1CC",))])
    with pytest.raises(InvalidSequenceError, match=r"protein 1 has '1' at position 3"):
        model.splice([MultimodalPrompt("<proteinHere>", proteins=("MK1L",))])


def test_over_long_protein_is_truncated_to_1024_tokens_with_a_warning(model: BioMedGPT10B) -> None:
    with pytest.warns(UserWarning, match=r"protein 1 has 1,500 residues.*at most 1,022"):
        batch = model.splice([MultimodalPrompt("<proteinHere>", proteins=("A" * 1500,))])
    assert [s.length for s in batch.spans[0] if s.kind == "protein"] == [1024]


def test_the_reserved_pad_token_in_prompt_text_is_refused(model: BioMedGPT10B) -> None:
    with pytest.raises(InvalidInputError, match=r"1 feature positions but .* give 0 vectors"):
        model.splice([MultimodalPrompt("a [PAD] b")])
