"""The ``biomedgpt`` lm_eval model's three request types, on the tiny random Llama.

The agreement with lm_eval's own HF model on real tasks is tests/test_lm_eval.py (SmolLM2);
here each request type is checked against a plain transformers computation.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("lm_eval", reason="lm-eval is in the dev extra (pip install lm-eval)")

import torch
from lm_eval.api.instance import Instance
from lm_eval.api.registry import get_model

from biomed_agent.errors import InvalidInputError
from biomed_agent.eval.lm_eval_model import BioMedGPTLM
from biomed_agent.models.chat_model import ChatBioMedGPT


@pytest.fixture(scope="module")
def lm(tiny_llama_dir: Path) -> BioMedGPTLM:
    model = get_model("biomedgpt").create_from_arg_string(
        f"pretrained={tiny_llama_dir},device=cpu,context_window=64", {"batch_size": 4}
    )
    assert isinstance(model, BioMedGPTLM) and isinstance(model.chat, ChatBioMedGPT)
    return model


def _request(kind: str, *args: object) -> Instance:
    return Instance(request_type=kind, doc={}, arguments=args, idx=0)


def _direct_logprobs(lm: BioMedGPTLM, ids: list[int]) -> torch.Tensor:
    with torch.inference_mode():
        return lm.loaded.model(input_ids=torch.tensor([ids])).logits[0].float().log_softmax(-1)


def test_loglikelihood_moves_trailing_space_and_scores_empty_contexts(lm: BioMedGPTLM) -> None:
    tokenizer = lm.loaded.tokenizer
    (scored, empty) = lm.loglikelihood(
        [_request("loglikelihood", "The answer is ", "yes"), _request("loglikelihood", "", "no")]
    )
    special = lm._special()  # BioMedGPT format: the tokenizer's BOS leads the context
    whole = tokenizer("The answer is yes", add_special_tokens=special).input_ids
    head = tokenizer("The answer is", add_special_tokens=special).input_ids  # " " moved on
    rows = _direct_logprobs(lm, whole)
    expected = sum(float(rows[i - 1, whole[i]]) for i in range(len(head), len(whole)))
    assert scored[0] == pytest.approx(expected, abs=1e-4)
    tail = tokenizer("no", add_special_tokens=False).input_ids
    ids = [lm._prefix_id(), *tail]
    rows = _direct_logprobs(lm, ids)
    assert empty[0] == pytest.approx(
        sum(float(rows[i - 1, ids[i]]) for i in range(1, len(ids))), abs=1e-4
    )


def test_rolling_loglikelihood_sums_every_token_across_windows(lm: BioMedGPTLM) -> None:
    text = "aspirin inhibits cyclooxygenase " * 12  # longer than the 64-token window
    (total,) = lm.loglikelihood_rolling([_request("loglikelihood_rolling", text)])
    ids = lm.loaded.tokenizer(text, add_special_tokens=False).input_ids
    assert len(ids) > 64
    # the first window, scored directly, is part of the total; every token counts once
    first = [lm._prefix_id(), *ids[:63]]
    rows = _direct_logprobs(lm, first)
    head = sum(float(rows[i - 1, first[i]]) for i in range(1, len(first)))
    assert total < head < 0


def test_generate_until_is_greedy_decoding_cut_at_the_stop_string(lm: BioMedGPTLM) -> None:
    context = "Question: what is aspirin?\nAnswer:"
    (full,) = lm.generate_until([_request("generate_until", context, {"max_gen_toks": 12})])
    loaded = lm.loaded
    ids = loaded.tokenizer(context, add_special_tokens=lm._special()).input_ids
    with torch.inference_mode():
        out = loaded.model.generate(  # type: ignore[operator]
            input_ids=torch.tensor([ids]), max_new_tokens=12, do_sample=False
        )
    direct = loaded.tokenizer.decode(out[0, len(ids) :], skip_special_tokens=True)
    assert full == direct[: len(full)] and full
    stop = full[len(full) // 2 :][:2]
    (cut,) = lm.generate_until(
        [_request("generate_until", context, {"max_gen_toks": 12, "until": [stop]})]
    )
    assert cut == full.split(stop, 1)[0]


def test_missing_checkpoint_is_a_typed_error() -> None:
    with pytest.raises(InvalidInputError, match="pretrained="):
        BioMedGPTLM()


def test_registering_biomedgpt_keeps_lm_evals_own_models() -> None:
    # lm_eval loads its built-in models only into an empty registry: registering ours
    # first must not hide `--model hf` from users (nor from the agreement test)
    from lm_eval.api.registry import get_model

    assert get_model("biomedgpt") is BioMedGPTLM
    assert get_model("hf").__name__ == "HFLM"


def test_without_lm_eval_installed_the_error_is_one_typed_line() -> None:
    import subprocess
    import sys

    block = "import sys; sys.modules['lm_eval'] = None; import runpy\n"
    as_import = block + (
        "from biomed_agent.errors import ConfigurationError\n"
        "try:\n    import biomed_agent.eval.lm_eval_model\n"
        "except ConfigurationError as e:\n    print('typed:', e)\n"
    )
    done = subprocess.run([sys.executable, "-c", as_import], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("typed: lm-eval is not installed")
    as_command = block + "runpy.run_module('biomed_agent.eval.lm_eval_model', run_name='__main__')"
    done = subprocess.run([sys.executable, "-c", as_command], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "biomed-agent: lm-eval is not installed: `pip install 'lm-eval==0.4.13'` (or the"
        " project's dev extra) to run lm_eval tasks with ChatBioMedGPT"
    ]
