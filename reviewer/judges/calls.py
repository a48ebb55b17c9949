"""Calling the model: one item's attempts (backoff, re-asking invalid answers) and a pool of workers."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from reviewer.judges.answers import parse_answer
from reviewer.judges.base import Judge, JudgeError, JudgeRequest
from reviewer.judges.items import WorkItem
from reviewer.modelconfig import ModelConfig
from reviewer.progress import Progress

WRITE_EVERY = 0.1
"""Seconds at most between writes of the answers received (a crash loses at most these, and the calls in flight)."""


class RateGate:
    """A pause shared by every worker: a 429 seen by one makes all of them wait.

    Attributes:
        not_before: the monotonic time before which no request may start.
    """

    def __init__(self) -> None:
        self.not_before = 0.0
        self._lock = threading.Lock()

    def pause(self, seconds: float) -> None:
        """Hold every request back for ``seconds`` from now."""
        with self._lock:
            self.not_before = max(self.not_before, time.monotonic() + seconds)

    def wait(self, cancel: threading.Event) -> None:
        """Sleep until the pause is over (or the run is cancelled)."""
        while True:
            with self._lock:
                remaining = self.not_before - time.monotonic()
            if remaining <= 0 or cancel.wait(remaining):
                return


@dataclass(frozen=True)
class Outcome:
    """The end of one item's attempts.

    Attributes:
        status: ``ok``, ``failed`` or ``cancelled``.
        verdict: the verdict when ``ok``.
        raw: the last raw answer (or error body).
        error: why it failed.
        kind: the failure kind (``invalid_output``, ``refusal``, ``timeout``, ``rate_limited``...).
        attempts: requests sent for this item.
        input_tokens: prompt tokens the endpoint reported, over all attempts.
        output_tokens: completion tokens the endpoint reported, over all attempts.
        cached_tokens: of ``input_tokens``, those read from the endpoint's prompt cache.
    """

    status: str
    verdict: Any = None
    raw: str | None = None
    error: str | None = None
    kind: str | None = None
    attempts: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0


def one_per_input(items: Sequence[WorkItem]) -> tuple[list[WorkItem], dict[str, list[WorkItem]]]:
    """The items to send, one per input hash, and the others with the same input (its twins), by hash.

    Two items can be the same request under different keys (two candidates with the same text,
    re-ranked on the same conversation): the request goes once, and its answer serves both.
    """
    first: list[WorkItem] = []
    twins: dict[str, list[WorkItem]] = {}
    for item in items:
        if item.input_hash in twins:
            twins[item.input_hash].append(item)
        else:
            twins[item.input_hash] = []
            first.append(item)
    return first, {h: t for h, t in twins.items() if t}


def with_twins(results: Sequence[tuple[WorkItem, Outcome]], twins: dict[str, list[WorkItem]]
               ) -> list[tuple[WorkItem, Any]]:
    """The results, each followed by its twins': a good answer as a cached one (no call of their own), else the failure."""
    from reviewer.judges.answers import verdict_json

    out: list[tuple[WorkItem, Any]] = []
    for item, outcome in results:
        out.append((item, outcome))
        for twin in twins.get(item.input_hash, ()):
            out.append((twin, verdict_json(outcome.verdict) if outcome.status == "ok" else Outcome(
                outcome.status, None, outcome.raw, outcome.error, outcome.kind, 0)))
    return out


def attempt_item(judge: Judge, item: WorkItem, config: ModelConfig, gate: RateGate,
                 cancel: threading.Event) -> Outcome:
    """Get a valid answer for ``item``: retry transient failures with backoff, re-ask invalid answers.

    Raises:
        JudgeError: a failure that every request would meet (bad key, wrong URL or model, no server).
    """
    messages = list(item.request.messages)
    transient = invalid = attempts = tokens_in = tokens_out = tokens_cached = 0
    while True:
        gate.wait(cancel)
        if cancel.is_set():
            return Outcome("cancelled", attempts=attempts, input_tokens=tokens_in, output_tokens=tokens_out,
                           cached_tokens=tokens_cached)
        attempts += 1
        request = item.request if len(messages) == len(item.request.messages) else JudgeRequest(
            task=item.request.task, messages=tuple(messages), schema_name=item.request.schema_name,
            schema=item.request.schema, payload=item.request.payload)
        try:
            reply = judge.complete(request)
        except JudgeError as exc:
            if exc.fatal:
                raise
            if exc.retryable and transient < config.retries:
                transient += 1
                delay = config.backoff * (2 ** (transient - 1)) * (1 + random.random() / 10)
                if exc.retry_after is not None:
                    delay = exc.retry_after  # the server knows best; capped below like our own
                delay = min(delay, config.backoff_max)
                if exc.kind == "rate_limited":
                    gate.pause(delay)  # every worker waits, not just this one
                else:
                    cancel.wait(delay)
                continue
            return Outcome("failed", raw=exc.raw, error=str(exc), kind=exc.kind, attempts=attempts,
                           input_tokens=tokens_in, output_tokens=tokens_out, cached_tokens=tokens_cached)
        tokens_in += reply.input_tokens
        tokens_out += reply.output_tokens
        tokens_cached += reply.cached_tokens
        parsed = parse_answer(reply, item)
        raw = reply.content if reply.content is not None else reply.refusal
        if parsed.problem is None:
            return Outcome("ok", verdict=parsed.verdict, raw=raw, attempts=attempts,
                           input_tokens=tokens_in, output_tokens=tokens_out, cached_tokens=tokens_cached)
        if invalid < config.invalid_retries:
            invalid += 1
            # Show the model its answer and what was wrong, then ask again.
            messages = [*item.request.messages, {"role": "assistant", "content": raw or ""},
                        {"role": "user", "content": f"That answer was not accepted: {parsed.problem}. "
                         "Answer again with JSON only, following the schema and the rules above."}]
            continue
        if parsed.acceptable:
            return Outcome("ok", verdict=parsed.verdict, raw=raw, attempts=attempts,
                           input_tokens=tokens_in, output_tokens=tokens_out, cached_tokens=tokens_cached)
        kind = "refusal" if reply.refusal and not reply.content else "invalid_output"
        return Outcome("failed", raw=raw, error=parsed.problem, kind=kind, attempts=attempts,
                       input_tokens=tokens_in, output_tokens=tokens_out, cached_tokens=tokens_cached)


def call_concurrently(todo: Sequence[WorkItem], judge: Judge, config: ModelConfig, progress: Progress,
                      on_cancel_wait: float, write: Callable[[Sequence[tuple[WorkItem, Outcome]]], None]) -> None:
    """Attempt every item from ``config.concurrency`` worker threads, handing results to ``write`` in batches.

    Only the calling thread runs ``write``, as results arrive; the workers only call the judge.

    Args:
        todo: the items to send.
        judge: the model.
        config: concurrency, retries and backoff.
        progress: one tick per item written; raising ``Cancelled`` from ``tick`` stops the calls.
        on_cancel_wait: seconds to wait for calls already in flight when stopped (their results are written).
        write: stores a batch of finished items (cancelled attempts are left out); called at least every
            ``WRITE_EVERY`` seconds while answers arrive.

    Raises:
        Cancelled: the progress object cancelled.
        JudgeError: a failure that every request would meet.
    """
    if not todo:
        return
    cancel = threading.Event()
    gate = RateGate()
    pending = iter(todo)
    inflight: dict[Future[Outcome], WorkItem] = {}
    executor = ThreadPoolExecutor(max_workers=config.concurrency, thread_name_prefix="judge")

    def fill() -> None:
        # Keep a bounded queue so cancelling never leaves thousands of submitted calls behind.
        while len(inflight) < config.concurrency * 2 and not cancel.is_set():
            item = next(pending, None)
            if item is None:
                return
            inflight[executor.submit(attempt_item, judge, item, config, gate, cancel)] = item

    def collect(done: Iterable[Future[Outcome]]) -> tuple[list[tuple[WorkItem, Outcome]], BaseException | None]:
        results: list[tuple[WorkItem, Outcome]] = []
        error: BaseException | None = None
        for future in done:
            item = inflight.pop(future)
            try:
                outcome = future.result()
            except BaseException as exc:  # noqa: BLE001 - re-raised after the batch is saved
                error = error or exc
                continue
            if outcome.status != "cancelled":
                results.append((item, outcome))
        return results, error

    # Answers are written in batches of up to 2 x concurrency, or of what arrived within WRITE_EVERY
    # seconds: calls finish one by one, and a transaction per answer or two (each a disk sync) kept
    # the writing thread busy enough to slow a concurrent run of large requests by a tenth.
    buffered: list[tuple[WorkItem, Outcome]] = []
    flushed = time.monotonic()

    def flush(force: bool = False) -> None:
        nonlocal buffered, flushed
        if buffered and (force or len(buffered) >= 2 * config.concurrency
                         or time.monotonic() - flushed >= WRITE_EVERY):
            batch, buffered = buffered, []
            write(batch)
            flushed = time.monotonic()
            progress.tick(len(batch))

    try:
        fill()
        while inflight:
            done, _ = wait(list(inflight), timeout=min(0.25, WRITE_EVERY), return_when=FIRST_COMPLETED)
            if not done:
                flush()
                progress.tick(0)  # lets a GUI cancel while every call is still waiting
                continue
            results, error = collect(done)
            buffered += results
            if error is not None:
                raise error
            fill()
            flush()
        flush(force=True)
    except BaseException:
        cancel.set()
        # Answers already paid for are kept: wait briefly for the calls in flight, then save them.
        if inflight:
            done, _ = wait(list(inflight), timeout=on_cancel_wait)
            results, _error = collect(done)
            buffered += results
        if buffered:
            write(buffered)
        raise
    finally:
        cancel.set()
        executor.shutdown(wait=False, cancel_futures=True)
