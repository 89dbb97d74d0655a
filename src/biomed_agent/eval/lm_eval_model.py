"""``ChatBioMedGPT`` as an lm-evaluation-harness model: run any ``lm_eval`` task with it.

Importing this module registers the model name ``biomedgpt`` with ``lm_eval``
(``pip install lm-eval``; the dev extra pins it). lm_eval 0.4 finds models only in
its registry (no entry points), so run its CLI through this module, which registers
the model first and then hands every argument to ``lm_eval``::

    python -m biomed_agent.eval.lm_eval_model run --model biomedgpt \\
        --model_args pretrained=/models/BioMedGPT-LM-7B,dtype=bf16 \\
        --tasks pubmedqa --apply_chat_template

or from Python: ``import biomed_agent.eval.lm_eval_model`` and then
``lm_eval.simple_evaluate(model="biomedgpt", model_args={...}, tasks=[...])``.

``model_args``: ``pretrained`` (or ``model``) is the checkpoint (hub id, directory or
``.gguf`` file); every other :class:`~biomed_agent.models.chat_model.ChatBioMedGPT`
field may be given (``dtype``, ``chat_format``, ``context_window``, ``load_in_4bit``...).
The three request types go through ``ChatBioMedGPT``'s loaded model:

- ``loglikelihood``: :meth:`ChatBioMedGPT.loglikelihood` (context encoded once per
  item, the harness's split of context and continuation); an empty context is
  scored after the tokenizer's BOS (else EOS) token, as the harness's HF model does;
- ``loglikelihood_rolling``: the text's token log-likelihood in disjoint windows of
  the context window (the harness's ``get_rolling_token_windows``);
- ``generate_until``: greedy (or sampled, per ``gen_kwargs``) decoding of the raw
  context, cut at the first ``until`` string.

With ``--apply_chat_template`` the harness's messages are rendered in the model's own
chat format (BioMedGPT's ``### Human:`` turns, or the tokenizer's template).

Domain code never imports this module; ``lm_eval`` is imported only here.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from biomed_agent.errors import ConfigurationError, InvalidInputError

try:
    import lm_eval.models  # noqa: F401  (lm_eval's own models first: it loads them only into an empty registry)
    from lm_eval.api.model import LM
    from lm_eval.api.registry import register_model
except ModuleNotFoundError as missing:
    message = (
        "lm-eval is not installed: `pip install 'lm-eval==0.4.13'` (or the project's dev"
        " extra) to run lm_eval tasks with ChatBioMedGPT"
    )
    if __name__ == "__main__":  # the command line: one line, exit 2
        print(f"biomed-agent: {message}", file=sys.stderr)
        sys.exit(2)
    raise ConfigurationError(message) from missing

if TYPE_CHECKING:
    from lm_eval.api.instance import Instance

    from biomed_agent.models.chat_model import ChatBioMedGPT
    from biomed_agent.models.loading import LoadedModel

__all__ = ["BioMedGPTLM", "main"]

_HARNESS_ONLY = ("batch_size", "max_batch_size", "trust_remote_code", "parallelize")


@register_model("biomedgpt")
class BioMedGPTLM(LM):
    """lm_eval's view of a :class:`ChatBioMedGPT` (registered as ``biomedgpt``)."""

    def __init__(
        self,
        pretrained: str | None = None,
        device: str | None = None,
        chat: ChatBioMedGPT | None = None,
        **fields: Any,
    ) -> None:
        super().__init__()
        from biomed_agent.models.chat_model import ChatBioMedGPT

        for name in _HARNESS_ONLY:  # the harness passes these; we score one item at a time
            fields.pop(name, None)
        if chat is None:
            model = pretrained or fields.pop("model", None)
            if not model:
                raise InvalidInputError(
                    "model_args needs pretrained=<checkpoint> (hub id, directory or .gguf file)",
                    input_name="model_args",
                )
            if device:
                fields.setdefault("device_map", device)
            chat = ChatBioMedGPT(model=str(model), **fields)
        self.chat = chat

    @classmethod
    def create_from_arg_string(
        cls, arg_string: str, additional_config: dict[str, Any] | None = None
    ) -> BioMedGPTLM:
        from lm_eval.utils import simple_parse_args_string

        return cls.create_from_arg_obj(simple_parse_args_string(arg_string), additional_config)

    @classmethod
    def create_from_arg_obj(
        cls, arg_dict: dict[str, Any], additional_config: dict[str, Any] | None = None
    ) -> BioMedGPTLM:
        """``model_args`` win over the harness's own settings (its ``--device`` defaults
        to ``cuda:0``, which is ignored when no GPU is visible)."""
        extra = {k: v for k, v in (additional_config or {}).items() if v is not None}
        device = extra.pop("device", None)
        if device and "device" not in arg_dict and "device_map" not in arg_dict:
            import torch

            if not str(device).startswith("cuda") or torch.cuda.is_available():
                extra["device"] = device
        return cls(**{**extra, **arg_dict})

    @property
    def loaded(self) -> LoadedModel:
        return self.chat.loaded()

    @property
    def tokenizer_name(self) -> str:
        """Identifies the prompt rendering in lm_eval's request cache keys."""
        return f"{self.chat.model}-{self.chat.resolved_chat_format()}".replace("/", "__")

    def chat_template(self, chat_template: bool | str = False) -> str:
        return str(getattr(self.loaded.tokenizer, "chat_template", None) or "biomedgpt")

    def apply_chat_template(
        self, chat_history: list[dict[str, str]], add_generation_prompt: bool = True
    ) -> str:
        """The harness's messages in this model's chat format, the answer turn open."""
        if add_generation_prompt or chat_history[-1]["role"] != "assistant":
            return self.chat.prompt_text(chat_history)
        *head, last = chat_history  # continue a prefilled answer (gen_prefix)
        return self.chat.prompt_text(head) + last["content"]

    def _special(self) -> bool:
        return self.chat.resolved_chat_format() == "biomedgpt"

    def loglikelihood(self, requests: list[Instance]) -> list[tuple[float, bool]]:
        from biomed_agent.models.scoring import continuation_logprobs

        results: list[tuple[float, bool]] = []
        pairs = [(str(r.args[0]), str(r.args[1])) for r in requests]
        scored = iter(self.chat.loglikelihood([pair for pair in pairs if pair[0]]))
        for context, continuation in pairs:
            if context:
                score = next(scored)
            else:  # unconditional: after the BOS/EOS token, as lm_eval's HFLM scores it
                tail = self.loaded.tokenizer(continuation, add_special_tokens=False).input_ids
                (score,) = continuation_logprobs(self.loaded, [self._prefix_id()], [tail])
            results.append((score.logprob, score.is_greedy))
            self.cache_hook.add_partial("loglikelihood", (context, continuation), results[-1])
        return results

    def _prefix_id(self) -> int:
        tokenizer = self.loaded.tokenizer
        token = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else None
        return int(token if token is not None else tokenizer.eos_token_id)

    def loglikelihood_rolling(self, requests: list[Instance]) -> list[float]:
        from lm_eval.utils import get_rolling_token_windows, make_disjoint_window

        from biomed_agent.models.scoring import continuation_logprobs

        window = self.chat.resolved_context_window()
        results = []
        for request in requests:
            (text,) = request.args
            ids = self.loaded.tokenizer(str(text), add_special_tokens=False).input_ids
            total = 0.0
            for piece in get_rolling_token_windows(
                token_list=ids, prefix_token=self._prefix_id(), max_seq_len=window, context_len=1
            ):
                context, continuation = make_disjoint_window(piece)
                (score,) = continuation_logprobs(self.loaded, list(context), [list(continuation)])
                total += score.logprob
            results.append(total)
            self.cache_hook.add_partial("loglikelihood_rolling", (text,), total)
        return results

    def generate_until(self, requests: list[Instance]) -> list[str]:
        return [self._generate(str(r.args[0]), dict(r.args[1])) for r in requests]

    def _generate(self, context: str, gen_kwargs: dict[str, Any]) -> str:
        import torch

        from biomed_agent.models.local_prompt import stop_ids

        loaded = self.loaded
        tokenizer = loaded.tokenizer
        until = gen_kwargs.pop("until", None) or []
        until = [until] if isinstance(until, str) else list(until)
        max_new = int(gen_kwargs.pop("max_gen_toks", 256))
        do_sample = bool(gen_kwargs.pop("do_sample", False))
        temperature = float(gen_kwargs.pop("temperature", 0.0) or 0.0)
        ids = tokenizer(context, add_special_tokens=self._special()).input_ids
        keep = max(1, self.chat.resolved_context_window() - max_new)
        ids = ids[-keep:]  # left-truncated, as the harness's HF model does
        sampling = {"do_sample": True, "temperature": temperature} if do_sample else {}
        with loaded.lock, torch.inference_mode():
            out = loaded.model.generate(  # type: ignore[operator]
                input_ids=torch.tensor([ids], device=loaded.device),
                attention_mask=torch.ones(1, len(ids), dtype=torch.long, device=loaded.device),
                max_new_tokens=max_new,
                do_sample=do_sample,
                pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
                eos_token_id=stop_ids(loaded, self.chat.resolved_chat_format()) or None,
                **sampling,
            )
        text = str(tokenizer.decode(out[0, len(ids) :], skip_special_tokens=True))
        for stop in until:
            if stop:
                text = text.split(stop, 1)[0]
        self.cache_hook.add_partial("generate_until", (context, gen_kwargs), text)
        return text


def main(argv: list[str] | None = None) -> None:
    """lm_eval's own command line, with ``--model biomedgpt`` available."""
    from lm_eval.__main__ import cli_evaluate

    sys.argv = [sys.argv[0], *(sys.argv[1:] if argv is None else argv)]
    cli_evaluate()


if __name__ == "__main__":
    main()
