"""Padded batch generation: local requests that arrive together share one ``generate`` call.

Every local generation is a :class:`GenerationJob` handed to the
:class:`GenerationScheduler` of its model. One worker thread per loaded model
runs the jobs: it takes the oldest waiting job and, when that job is
*shareable*, every other waiting job it may decode alongside, left-pads their
prompts and calls ``generate`` once. Decoding eight sequences per forward pass
costs little more than one on a GPU, so ``chat.batch(prompts)`` (and concurrent
``invoke`` calls, e.g. from a server) get several times the throughput of
running them one after another, with no change to what each caller sees:
each job keeps its own stream, stop strings, cancellation and usage.

A job is shareable when its answer cannot depend on its batch mates: no
per-request logits processor (constrained tool calls run alone), and greedy
decoding or unseeded sampling (a seeded sample is decoded alone, so padding cannot
change its logits). Sampled jobs draw their tokens with their own ``torch.Generator``
(:mod:`biomed_agent.models.row_sampling`), never torch's global one, so a seed is
reproducible while other threads draw random numbers, and the process's RNG state
is left alone. Jobs share a batch only with jobs of the same model, an equal
generation config and equal sampling filters.

Gathering: ``chat.batch`` announces how many jobs are coming
(:meth:`GenerationScheduler.expect`); while announced jobs are still missing the
worker waits for them (at most :data:`GATHER_S` after the last arrival) so
the first job does not leave alone. Without an announcement a job starts at once.

A request that does not stream (``invoke``) and finds the scheduler idle (nothing
queued, running or announced) is decoded by :meth:`GenerationScheduler.run_here` in
the caller's thread: the same ``generate`` call as the worker's, without the thread
hand-off (a streamer thread is what ``invoke`` would otherwise pay for).

A row of a batch ends when it emits EOS or when :class:`RowStop` ends it (a
stop string, or its reader went away); its reader is released then, not when
the whole batch ends. The worker thread exits after :data:`IDLE_S` without
work, so a model dropped from the cache is not kept alive by it.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Hashable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
from transformers import StoppingCriteria, StoppingCriteriaList
from transformers.generation.streamers import BaseStreamer

from biomed_agent.models.decoding import PieceStreamer
from biomed_agent.models.loading import LoadedModel
from biomed_agent.models.row_sampling import RowSampler, Sampling

if TYPE_CHECKING:
    from transformers import GenerationConfig, LogitsProcessor

__all__ = ["GATHER_S", "IDLE_S", "GenerationJob", "GenerationScheduler", "scheduler_for"]

GATHER_S = 0.05
"""Longest wait for the next announced job before a batch starts without it."""

IDLE_S = 2.0
"""Idle time after which a scheduler's worker thread exits (a new job starts another)."""


@dataclass(eq=False)
class GenerationJob:
    """One request for the worker: its prompt ids, decoding config and output stream."""

    loaded: LoadedModel
    input_ids: list[int]
    config: GenerationConfig
    streamer: PieceStreamer
    shareable: bool
    """May be decoded in one batch with other shareable jobs of an equal config."""

    max_batch: int = 1
    """Most jobs this one may share a batch with (itself included)."""

    processors: Sequence[LogitsProcessor] = ()
    sampling: Sampling | None = None
    """Sampling filters (``None``: greedy); ``config`` itself always decodes greedily."""

    seed: int | None = None
    """Seed of the job's own generator when it samples (``None``: a random one)."""

    prefix_length: int = 0
    """Leading ``input_ids`` shared with other calls (system text, tools): their KV cache is
    reused when the job is decoded alone (:mod:`biomed_agent.models.prefix_cache`)."""

    cancel: threading.Event = field(default_factory=threading.Event)
    """Set by the reader when it stops reading: the row ends at the next step."""

    output_tokens: int = 0
    """Tokens generated for this job (its EOS or stopping token included)."""

    error: BaseException | None = None
    stopped_at: int | None = None
    """Sequence length at which :class:`RowStop` ended the row (``None``: not ended by it)."""

    _done: threading.Event = field(default_factory=threading.Event, init=False)

    def wait(self) -> None:
        """Block until the job's row has ended (its tokens and ``error`` are final)."""
        self._done.wait()

    def finish(self, error: BaseException | None = None) -> None:
        """End the row once: flush its stream and release the reader."""
        if self._done.is_set():
            return
        self.error = error
        self.streamer.end()
        self._done.set()

    @property
    def finished(self) -> bool:
        return self._done.is_set()

    def batch_key(self) -> Hashable:
        return (id(self.loaded), self.config.to_json_string(use_diff=False), self.sampling)


class GenerationScheduler:
    """The queue and worker thread that run one loaded model's generation jobs."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._pending: deque[GenerationJob] = deque()
        self._expected = 0
        self._worker: threading.Thread | None = None
        self._running = 0

    def submit(self, job: GenerationJob) -> None:
        """Queue ``job``; its stream fills as the worker decodes it."""
        with self._cond:
            self._pending.append(job)
            self._expected = max(0, self._expected - 1)
            if self._worker is None:
                self._worker = threading.Thread(
                    target=self._work, name="biomedgpt-generate", daemon=True
                )
                self._worker.start()
            self._cond.notify_all()

    def run_here(self, job: GenerationJob) -> bool:
        """Decode ``job`` alone in the calling thread when nothing else is queued, running
        or announced (so no batch is given up); False, doing nothing, otherwise."""
        with self._cond:
            if self._pending or self._expected or self._running:
                return False
            self._running += 1
        try:
            _generate([job])
        finally:
            with self._cond:
                self._running -= 1
                self._cond.notify_all()
        return True

    @contextmanager
    def expect(self, count: int) -> Iterator[None]:
        """Announce ``count`` jobs about to be submitted, so the worker gathers them."""
        with self._cond:
            self._expected += count
        try:
            yield
        finally:
            with self._cond:
                self._expected = max(0, self._expected - count)
                self._cond.notify_all()

    def _work(self) -> None:
        while True:
            with self._cond:
                group = self._next_group()
                if group is None:
                    self._worker = None
                    return
                self._running += 1
            try:
                _generate(group)
            finally:
                with self._cond:
                    self._running -= 1

    def _next_group(self) -> list[GenerationJob] | None:
        """The jobs of the next ``generate`` call (called holding the condition)."""
        while True:
            if not self._cond.wait_for(lambda: bool(self._pending), timeout=IDLE_S):
                return None
            head = self._pending[0]
            while head.shareable and self._expected > 0 and len(self._pending) < head.max_batch:
                if not self._cond.wait(timeout=GATHER_S):
                    break
            first = self._pending.popleft()
            if first.cancel.is_set():  # its reader left before it started
                first.finish()
                continue
            group = [first]
            if first.shareable:
                key, kept = first.batch_key(), deque[GenerationJob]()
                for job in self._pending:
                    fits = len(group) < first.max_batch and job.shareable
                    if fits and not job.cancel.is_set() and job.batch_key() == key:
                        group.append(job)
                    else:
                        kept.append(job)
                self._pending = kept
            return group


_SCHEDULERS_LOCK = threading.Lock()


def scheduler_for(loaded: LoadedModel) -> GenerationScheduler:
    """The scheduler of ``loaded``, created on first use."""
    with _SCHEDULERS_LOCK:
        scheduler = loaded.extras.get("scheduler")
        if scheduler is None:
            scheduler = loaded.extras["scheduler"] = GenerationScheduler()
        assert isinstance(scheduler, GenerationScheduler)
        return scheduler


def _generate(group: list[GenerationJob]) -> None:
    """Decode ``group`` in one left-padded ``generate`` call; every job ends, error or not."""
    loaded = group[0].loaded
    try:
        pad = int(loaded.model.generation_config.pad_token_id)
        width = max(len(job.input_ids) for job in group)
        input_ids = torch.full((len(group), width), pad, dtype=torch.long)
        attention_mask = torch.zeros((len(group), width), dtype=torch.long)
        for row, job in enumerate(group):
            input_ids[row, width - len(job.input_ids) :] = torch.tensor(job.input_ids)
            attention_mask[row, width - len(job.input_ids) :] = 1
        eos = _eos_ids(group[0].config)
        with loaded.lock, torch.inference_mode():
            extra: dict[str, Any] = {}
            if len(group) == 1:
                extra = _cached_prefix(group[0])
            loaded.model.generate(  # type: ignore[operator]
                input_ids=input_ids.to(loaded.device),
                attention_mask=attention_mask.to(loaded.device),
                generation_config=group[0].config,
                logits_processor=_processors(group),
                stopping_criteria=StoppingCriteriaList([RowStop(group)]),
                streamer=RowStreamer(group, width, eos),
                **extra,
            )
    except BaseException as exc:  # handed to each reader, raised in its thread
        for job in group:
            job.finish(exc)
        return
    for job in group:
        job.finish()


def _processors(group: Sequence[GenerationJob]) -> list[LogitsProcessor]:
    """A lone job's own processors (its grammar), then the sampler, which must come last:
    it draws from the scores every other processor has already masked."""
    processors = list(group[0].processors) if len(group) == 1 else []
    sampling = group[0].sampling
    if sampling is not None:
        processors.append(RowSampler(sampling, [job.seed for job in group]))
    return processors


def _cached_prefix(job: GenerationJob) -> dict[str, Any]:
    """``generate`` keyword arguments reusing the job's prefix KV cache, if it has one."""
    from biomed_agent.models.prefix_cache import MIN_PREFIX_TOKENS, cache_kwarg, prefix_cache_for

    if job.prefix_length < MIN_PREFIX_TOKENS:
        return {}
    past = prefix_cache_for(job.loaded).past_for(job.input_ids[: job.prefix_length])
    return {cache_kwarg(job.loaded.model): past}


def _eos_ids(config: GenerationConfig) -> frozenset[int]:
    eos = config.eos_token_id
    if eos is None:
        return frozenset()
    return frozenset([eos] if isinstance(eos, int) else eos)


class RowStop(StoppingCriteria):
    """Ends a row whose stream hit a stop string or whose reader went away.

    It records the sequence length at which each row was ended, so
    :class:`RowStreamer` hands that row its tokens up to there and then ends it.
    """

    def __init__(self, group: Sequence[GenerationJob]) -> None:
        self._group = group

    def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> torch.Tensor:
        done = []
        for job in self._group:
            if job.stopped_at is None and (job.cancel.is_set() or job.streamer.stop_hit):
                job.stopped_at = int(input_ids.shape[1])
            done.append(job.stopped_at is not None)
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)


class RowStreamer(BaseStreamer):
    """Hands each row's new tokens to its job's stream and ends rows as they finish."""

    def __init__(
        self, group: Sequence[GenerationJob], prompt_width: int, eos: frozenset[int]
    ) -> None:
        self._group = group
        self._length = prompt_width
        self._eos = eos
        self._prompt_seen = False

    def put(self, value: torch.Tensor) -> None:
        """Called by ``generate`` with the padded prompts first, then each step's tokens."""
        if not self._prompt_seen:
            self._prompt_seen = True
            return
        self._length += 1
        for job, token in zip(self._group, value.reshape(-1).tolist(), strict=True):
            if job.finished:
                continue
            job.streamer.put([token])
            job.output_tokens += 1
            if token in self._eos or job.stopped_at == self._length:
                job.finish()

    def end(self) -> None:
        """Rows still open at the end ran out of tokens; the worker ends them."""
