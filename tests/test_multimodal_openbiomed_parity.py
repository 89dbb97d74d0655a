"""BioMedGPT-10B parity with OpenBioMed's own code (OpenBioMed ce3ccab, transformers 4.28.1).

Every reference here was produced by OpenBioMed's unmodified ``BioMedGPTV`` and
``Conversation`` (``tests/fixtures/openbiomed/make_reference.py``, provenance in that
folder's README.md): the checkpoints are ``state_dict()``s it saved, the outputs are
what its featurizers, encoders and ``Conversation.answer`` returned for the notebook
flows. The project is driven only through its public entry points.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from biomed_agent.models.multimodal.chat import ChatBioMedGPT10B
from biomed_agent.models.multimodal.graph import smiles_to_graph
from biomed_agent.models.multimodal.loading import load_biomedgpt10b
from biomed_agent.models.multimodal.model import BioMedGPT10B
from biomed_agent.proteins.sequences import esm_token_ids
from biomed_agent.settings import Settings
from biomed_agent.tools.multimodal_tools import build_tools

FIXTURES = Path(__file__).parent / "fixtures" / "openbiomed"
WEIGHTS = FIXTURES / "weights"
LAYOUTS = ["tf428_full", "no_position_ids", "no_position_ids_no_inv_freq", "rotary_only"]
CHECKPOINT = WEIGHTS / "tf428_full.pth"
"""The layout OpenBioMed's own code writes under its declared transformers 4.28.1."""


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    loaded: dict[str, Any] = torch.load(FIXTURES / "reference.pt", weights_only=True)
    return loaded


@pytest.fixture(scope="module")
def model() -> BioMedGPT10B:
    return load_biomedgpt10b(CHECKPOINT, dtype="fp32", device_map="cpu")


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_layout_users_have_loads(layout: str, model: BioMedGPT10B) -> None:
    loaded = load_biomedgpt10b(WEIGHTS / f"{layout}.pth", dtype="fp32", device_map="cpu")
    for name, tensor in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name


def test_hand_spelled_test_layout_is_openbiomeds(reference: dict[str, Any]) -> None:
    from tests.helpers.tiny_biomedgpt10b import published_keys

    assert published_keys(gin_layers=2, esm_layers=2, llm_layers=2) == set(reference["state_keys"])


def test_rotary_esm_position_table_is_dropped_with_one_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level("INFO", logger="biomed_agent.models.multimodal.loading"):
        load_biomedgpt10b(CHECKPOINT, dtype="fp32", device_map="cpu")
    lines = [r.getMessage() for r in caplog.records if "position_embeddings" in r.getMessage()]
    assert len(lines) == 1 and "rotary" in lines[0] and "1026x16" in lines[0]


def _inputs(reference: dict[str, Any]) -> Iterator[tuple[str, int, str, str]]:
    for name, flow in reference["flows"].items():
        counters = {"mol": 0, "prot": 0}
        for kind, value in flow["inputs"]:
            yield name, counters[kind], kind, value
            counters[kind] += 1


def test_featurizer_and_gin_match_openbiomed(
    reference: dict[str, Any], model: BioMedGPT10B
) -> None:
    checked = 0
    for name, index, kind, smiles in _inputs(reference):
        if kind != "mol":
            continue
        flow = reference["flows"][name]
        graph = smiles_to_graph(smiles)
        assert torch.equal(graph.x.long(), flow["atom_features"][index].long()), name
        assert torch.equal(graph.edge_index.long(), flow["edge_index"][index].long()), name
        assert torch.equal(graph.edge_attr.long(), flow["edge_features"][index].long()), name
        with torch.inference_mode():
            nodes = model.mol_structure_encoder(graph)
        assert (nodes - flow["gin_nodes"][index]).abs().max() <= 1e-5, name
        checked += 1
    assert checked == 3


def test_esm_tokens_and_residue_states_match_openbiomed(
    reference: dict[str, Any], model: BioMedGPT10B
) -> None:
    checked = 0
    for name, index, kind, sequence in _inputs(reference):
        if kind != "prot":
            continue
        flow = reference["flows"][name]
        ids = torch.tensor([esm_token_ids(sequence)])
        assert torch.equal(ids, flow["esm_input_ids"][index].reshape(1, -1).long()), name
        with torch.inference_mode():
            states = model.prot_structure_encoder(input_ids=ids).last_hidden_state[0]
        assert (states - flow["esm_states"][index]).abs().max() <= 1e-5, name
        checked += 1
    assert checked == 3


class _Spy:
    """Records what the LM's ``generate`` was given and returned (inputs_embeds path)."""

    def __init__(self, model: BioMedGPT10B) -> None:
        self.model = model
        self.calls: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
        self._generate = model.llm.generate

    def __call__(self, **kwargs: Any) -> torch.Tensor:
        output: torch.Tensor = self._generate(**kwargs)
        self.calls.append((kwargs["input_ids"].clone(), kwargs["inputs_embeds"].clone(), output))
        return output

    def call(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The ``index``-th call, once its ``generate`` returned (a stop string ends the
        answer a moment before the worker's ``generate`` call returns)."""
        deadline = time.monotonic() + 60
        while len(self.calls) <= index and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.calls[index]


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> _Spy:
    chat = ChatBioMedGPT10B(model=str(CHECKPOINT), dtype="fp32", device_map="cpu")
    model = chat._runtime().model
    recorder = _Spy(model)
    monkeypatch.setattr(model.llm, "generate", recorder)
    return recorder


def _blocks(inputs: list[tuple[str, str]], question: str) -> list[str | dict[str, Any]]:
    blocks: list[str | dict[str, Any]] = [
        {"type": "molecule", "smiles": value}
        if kind == "mol"
        else {"type": "protein", "sequence": value}
        for kind, value in inputs
    ]
    return [*blocks, {"type": "text", "text": question}]


def _expected_ids(flow: dict[str, Any], turn: dict[str, Any], slot: int) -> list[int]:
    """OpenBioMed's segment ids with one slot per encoder vector, in placeholder order."""
    sizes = [nodes.shape[0] for nodes in flow.get("gin_nodes", [])]
    sizes_prot = [states.shape[0] for states in flow.get("esm_states", [])]
    order = [kind for kind, _ in flow["inputs"]]
    lengths = [sizes.pop(0) if kind == "mol" else sizes_prot.pop(0) for kind in order]
    ids: list[int] = []
    for index, segment in enumerate(turn["segment_ids"]):
        ids += list(segment)
        if index < len(lengths):
            ids += [slot] * lengths[index]
    return ids


def _check_turn(
    spy: _Spy, call: int, flow: dict[str, Any], turn: dict[str, Any], answer: str
) -> None:
    input_ids, embeds, output = spy.call(call)
    slot = spy.model.feature_slot_id
    assert input_ids[0].tolist() == _expected_ids(flow, turn, slot)
    assert (embeds[0] - turn["spliced_embeds"]).abs().max() <= 1e-4
    steps = turn["answer_tokens"][: turn["step_scores"].shape[0]]
    with torch.inference_mode():
        logits = spy.model.llm(inputs_embeds=embeds).logits[0, -1]
        answer_embeds = spy.model.llm.get_input_embeddings()(steps[None])
        teacher = spy.model.llm(inputs_embeds=torch.cat([embeds, answer_embeds], 1)).logits[0]
    assert (logits - turn["prompt_last_logits"]).abs().max() <= 1e-4
    # the logits of OpenBioMed's first greedy steps (its generate scores), teacher-forced
    scored = teacher[embeds.shape[1] - 1 : embeds.shape[1] - 1 + len(steps)]
    assert (scored - turn["step_scores"][: len(steps)]).abs().max() <= 1e-4
    ours = output[0, input_ids.shape[1] :].tolist()
    eos = spy.model.tokenizer.eos_token_id
    if ours and ours[-1] == eos:
        ours = ours[:-1]
    theirs = turn["answer_tokens"].tolist()
    assert ours == theirs[: len(ours)]
    if len(ours) < len(theirs):  # stopped early only at the '###' turn marker (a deviation)
        assert "###" in answer or "###" in spy.model.tokenizer.decode(theirs[: len(ours) + 1])


FLOWS = ["molecule", "protein", "molecule_protein", "stereo_molecule"]


@pytest.mark.parametrize("name", FLOWS)
def test_chat_greedy_answer_equals_openbiomed(
    name: str, reference: dict[str, Any], spy: _Spy
) -> None:
    flow = reference["flows"][name]
    turn = flow["turns"][0]
    chat = ChatBioMedGPT10B(model=str(CHECKPOINT), dtype="fp32", device_map="cpu")
    messages: list[BaseMessage] = [
        SystemMessage(flow["system"]),
        HumanMessage(content=_blocks(flow["inputs"], flow["questions"][0])),
    ]
    answer = chat.invoke(messages, max_new_tokens=len(turn["answer_tokens"])).text
    _check_turn(spy, 0, flow, turn, answer)


def test_two_turn_chat_equals_openbiomed(reference: dict[str, Any], spy: _Spy) -> None:
    flow = reference["flows"]["two_turns"]
    first, second = flow["turns"]
    chat = ChatBioMedGPT10B(model=str(CHECKPOINT), dtype="fp32", device_map="cpu")
    history: list[BaseMessage] = [
        SystemMessage(flow["system"]),
        HumanMessage(content=_blocks(flow["inputs"], flow["questions"][0])),
    ]
    answer = chat.invoke(history, max_new_tokens=len(first["answer_tokens"])).text
    _check_turn(spy, 0, flow, first, answer)
    # the second turn sees OpenBioMed's own first answer, as its Conversation kept it
    history += [AIMessage(first["answer_text"]), HumanMessage(flow["questions"][1])]
    answer = chat.invoke(history, max_new_tokens=len(second["answer_tokens"])).text
    _check_turn(spy, 1, flow, second, answer)


def test_molecule_qa_and_protein_qa_answer_as_openbiomed(
    reference: dict[str, Any], spy: _Spy
) -> None:
    molecule = reference["flows"]["stereo_molecule"]
    protein = reference["flows"]["two_turns"]
    settings = Settings(
        biomedgpt10b_path=CHECKPOINT,
        device="cpu",
        dtype="fp32",
        max_new_tokens=len(protein["turns"][0]["answer_tokens"]),
    )
    tools = {spec.name: spec for spec in build_tools(settings)}
    smiles = molecule["inputs"][0][1]
    result = tools["molecule_qa"].func(smiles=smiles, question=molecule["questions"][0])
    _check_turn(spy, 0, molecule, molecule["turns"][0], result["answer"])
    sequence = protein["inputs"][0][1]
    result = tools["protein_qa"].func(protein=sequence, question=protein["questions"][0])
    _check_turn(spy, 1, protein, protein["turns"][0], result["answer"])


def test_defaults_are_openbiomeds_generation_settings() -> None:
    from biomed_agent.tools.multimodal_tools import _chat

    chat = ChatBioMedGPT10B(model=str(CHECKPOINT))
    assert (chat.max_new_tokens, chat.context_window, chat.temperature) == (256, 2048, 0.0)
    tool_chat = _chat(Settings(biomedgpt10b_path=CHECKPOINT), "molecule_qa")
    assert (tool_chat.max_new_tokens, tool_chat.context_window) == (256, 2048)
    configured = _chat(Settings(biomedgpt10b_path=CHECKPOINT, max_new_tokens=9), "molecule_qa")
    assert configured.max_new_tokens == 9


def test_splice_gives_openbiomeds_ids_and_embeddings(
    reference: dict[str, Any], model: BioMedGPT10B
) -> None:
    from biomed_agent.models.multimodal.model import MultimodalPrompt

    for name in FLOWS:
        flow = reference["flows"][name]
        turn = flow["turns"][0]
        molecules = tuple(v for k, v in flow["inputs"] if k == "mol")
        proteins = tuple(v for k, v in flow["inputs"] if k == "prot")
        batch = model.splice([MultimodalPrompt(turn["prompt"], molecules, proteins)])
        assert batch.input_ids[0].tolist() == _expected_ids(flow, turn, model.feature_slot_id)
        assert (batch.inputs_embeds[0] - turn["spliced_embeds"]).abs().max() <= 1e-4
