"""Sampling with each request's own generator (issue 19): reproducible under concurrent use
of torch's global RNG, which it never touches, and drawing from the exact target
distribution, computed here with transformers' own logits warpers from the model's logits."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from pydantic import BaseModel, Field
from scipy.stats import chisquare
from transformers import (
    LogitsProcessorList,
    MinNewTokensLengthLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

from biomed_agent.models.chat_model import ChatBioMedGPT
from biomed_agent.models.row_sampling import RowSampler, Sampling
from tests.helpers.tiny_llama import single_torch_thread

PROMPT = "What is aspirin?"


@pytest.fixture(scope="module", autouse=True)
def _one_thread() -> Iterator[None]:
    with single_torch_thread():
        yield


@pytest.fixture(scope="module")
def chat(tiny_llama_dir: Path) -> ChatBioMedGPT:
    return ChatBioMedGPT(model=str(tiny_llama_dir), device_map="cpu", max_new_tokens=12)


def first_tokens(
    chat: ChatBioMedGPT, monkeypatch: pytest.MonkeyPatch, draws: int, **options: Any
) -> tuple[list[int], torch.Tensor]:
    """First tokens of ``draws`` seeded one-token answers, and the exact target distribution:
    the model's own next-token logits through transformers' warpers (top-k only when set)."""
    model = chat.loaded().model
    original = model.generate
    seen: list[tuple[torch.Tensor, Any, torch.Tensor]] = []

    def recording(*args: Any, **kwargs: Any) -> Any:
        out = original(*args, **kwargs)  # type: ignore[operator]
        seen.append((kwargs["input_ids"], kwargs["generation_config"], out))
        return out

    monkeypatch.setattr(model, "generate", recording)
    for seed in range(draws):
        chat.invoke(PROMPT, max_new_tokens=1, seed=seed, **options)
    monkeypatch.undo()
    input_ids, config, _ = seen[0]
    assert all(torch.equal(ids, input_ids) for ids, _, _ in seen)
    tokens = [int(out[0, -1]) for _, _, out in seen]
    with torch.inference_mode():
        logits = model(input_ids).logits[:, -1, :].float()
    eos = config.eos_token_id
    warpers = LogitsProcessorList(
        [MinNewTokensLengthLogitsProcessor(input_ids.shape[1], 1, eos)]  # min_new_tokens=1
        + [TemperatureLogitsWarper(options["temperature"])]
        + ([TopKLogitsWarper(options["top_k"])] if options.get("top_k") else [])
        + ([TopPLogitsWarper(options["top_p"])] if options.get("top_p", 1.0) < 1 else [])
    )
    target = warpers(input_ids, logits).softmax(dim=-1)[0]  # type: ignore[arg-type]
    return tokens, target


def chi_square_p(tokens: list[int], target: torch.Tensor) -> float:
    """Chi-square goodness of fit, tokens expected fewer than 5 times pooled into one bin."""
    counts = torch.bincount(torch.tensor(tokens), minlength=target.numel()).double()
    expected = target.double() / target.double().sum() * len(tokens)
    assert counts[expected == 0].sum() == 0, "drew a token the target excludes"
    big = expected >= 5
    observed = [*counts[big].tolist(), float(counts[~big].sum())]
    wanted = [*expected[big].tolist(), float(expected[~big].sum())]
    if wanted[-1] == 0:
        observed, wanted = observed[:-1], wanted[:-1]
    return float(chisquare(observed, wanted).pvalue)


def test_first_token_follows_the_temperature_and_top_p_target(
    chat: ChatBioMedGPT, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokens, target = first_tokens(chat, monkeypatch, 400, temperature=0.08, top_p=0.9)
    assert 3 <= int((target > 0).sum()) < 200  # top-p really cut the vocabulary
    assert chi_square_p(tokens, target) > 1e-3


def test_no_top_k_samples_from_the_full_distribution(
    chat: ChatBioMedGPT, monkeypatch: pytest.MonkeyPatch
) -> None:
    """transformers fills ``GenerationConfig(top_k=None)`` with 50: not here."""
    tokens, target = first_tokens(chat, monkeypatch, 300, temperature=1.0)
    top50 = set(torch.topk(target, 50).indices.tolist())
    outside = sum(token not in top50 for token in tokens) / len(tokens)
    expected = 1 - float(target[list(top50)].sum())  # ~0.87 on the tiny model
    assert expected > 0.5
    assert abs(outside - expected) < 4 * (expected * (1 - expected) / len(tokens)) ** 0.5
    assert len(set(tokens)) > 150  # of 512 tokens: far beyond any top-50


@pytest.mark.parametrize(
    "sampling", [Sampling(1.0), Sampling(0.5, top_k=20), Sampling(2.0, top_p=0.3, top_k=300)]
)
def test_sampler_matches_transformers_warpers_on_the_model_logits(
    chat: ChatBioMedGPT, sampling: Sampling
) -> None:
    loaded = chat.loaded()
    input_ids = loaded.tokenizer(PROMPT, return_tensors="pt").input_ids
    with torch.inference_mode():
        logits = loaded.model(input_ids).logits[:, -1, :].float()
    warpers = LogitsProcessorList(
        [TemperatureLogitsWarper(sampling.temperature)]
        + ([TopKLogitsWarper(sampling.top_k)] if sampling.top_k else [])
        + ([TopPLogitsWarper(sampling.top_p)] if sampling.top_p < 1 else [])
    )
    target = warpers(input_ids, logits).softmax(dim=-1)[0]
    sampler = RowSampler(sampling, [0])
    tokens = []
    for _ in range(20_000):
        drawn = sampler(input_ids, logits.clone())
        assert int(torch.isfinite(drawn).sum()) == 1  # every other token masked
        tokens.append(int(drawn.argmax()))
    assert chi_square_p(tokens, target) > 1e-3
    empirical = torch.bincount(torch.tensor(tokens), minlength=target.numel()) / len(tokens)
    assert 0.5 * float((empirical - target).abs().sum()) < 0.1  # total variation


def test_batch_rows_draw_from_their_own_generators() -> None:
    scores = torch.randn(3, 64, generator=torch.Generator().manual_seed(1))
    ids = torch.zeros((3, 1), dtype=torch.long)
    together = RowSampler(Sampling(1.0), [5, 6, 5])
    alone = RowSampler(Sampling(1.0), [6])
    for _ in range(50):
        rows = together(ids, scores.clone()).argmax(-1)  # type: ignore[arg-type]
        assert int(rows[1]) == int(alone(ids[1:2], scores[1:2].clone()).argmax())  # type: ignore[arg-type]


def test_same_seed_same_tokens_while_another_thread_draws(chat: ChatBioMedGPT) -> None:
    options: dict[str, Any] = {"temperature": 0.9, "seed": 7}
    quiet = [chat.invoke(PROMPT, **options).content for _ in range(2)]
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            torch.rand(64)

    threads = [threading.Thread(target=hammer) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        busy = [chat.invoke(PROMPT, **options).content for _ in range(3)]
        streamed = "".join(str(c.content) for c in chat.stream(PROMPT, **options))
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert quiet[0] == quiet[1] == busy[0] == busy[1] == busy[2] == streamed
    assert chat.invoke(PROMPT, temperature=0.9, seed=8).content != quiet[0]


@pytest.mark.parametrize("seed", [7, None])
def test_sampling_leaves_the_global_rng_untouched(chat: ChatBioMedGPT, seed: int | None) -> None:
    torch.manual_seed(99)
    before = torch.get_rng_state()
    chat.invoke(PROMPT, temperature=0.9, seed=seed)
    assert torch.equal(torch.get_rng_state(), before)


class Lookup(BaseModel):
    """Look up a protein."""

    accession: str = Field(description="UniProt accession")
    fields: list[str] = Field(default_factory=list)


def test_constrained_sampling_gives_schema_valid_calls(chat: ChatBioMedGPT) -> None:
    """The grammar mask applies before the draw: every sampled call is schema-valid JSON
    (accepted, or force-closed at the budget and reported as cut)."""
    bound = chat.bind_tools([Lookup], tool_choice="Lookup")
    outcomes: list[dict[str, Any]] = []
    for seed in range(8):
        message = bound.invoke("P04637 function", temperature=1.5, seed=seed, max_new_tokens=24)
        calls = [(c["name"], c["args"]) for c in message.tool_calls] + [
            (c["name"], json.loads(str(c["args"]))) for c in message.invalid_tool_calls
        ]
        ((name, args),) = calls
        assert name == "Lookup"
        Lookup.model_validate(args)
        outcomes.append(args)
    assert len(outcomes) == 8
