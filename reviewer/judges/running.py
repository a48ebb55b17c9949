"""Running a model task: answers from the cache or the model, stored as they arrive, resumable.

A run goes: build the work items (``reviewer.judges.items``), look each up in the cache by (task,
prompt version, model, input hash), estimate the calls and tokens left (``reviewer.judges.estimates``),
then call the model from a thread pool of ``concurrency`` workers (``reviewer.judges.calls``) while
the calling thread alone writes to the database. Every answer is validated against the task's JSON
schema and its own rules; an invalid answer is asked again, then recorded as a failure with the raw
answer, never guessed. The job table and the cache let a crashed or cancelled run resume without
redoing finished items.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reviewer import audit
from reviewer.digests import judge_job_digest
from reviewer.errors import BugError, KnownError
from reviewer.ids import new_id, stable_id, utc_now
from reviewer.judges.answers import verdict_from_json, verdict_json
from reviewer.judges.base import FLAGS, Judge, RelevanceVerdict, StanceVerdict
from reviewer.judges.batch import BatchOptions, call_batch
from reviewer.judges.calls import Outcome, call_concurrently, one_per_input, with_twins
from reviewer.judges.estimates import cached_results
from reviewer.judges.items import WorkItem
from reviewer.judges.prompts import PROMPT_VERSIONS
from reviewer.modelconfig import ModelConfig, safe_url
from reviewer.prices import Cost, Price, cost_of
from reviewer.progress import Cancelled, NoProgress, Progress
from reviewer.store import APP_ACTOR, Store, sql_errors


# ROUTE-THROUGH-EVIDENCE: the one place that writes a model stance label. The lead may route this
# through reviewer.evidence (which owns labels and the effective stance) without touching callers.
def store_model_stance(store: Store, *, proposal_id: str, justification_id: str, verdict: StanceVerdict,
                       model: str, prompt_version: str, input_hash: str, job_id: str | None = None) -> bool:
    """Insert one model stance label (call inside the caller's transaction; no audit event of its own).

    The label id is derived from its inputs, so storing the same answer again adds nothing.

    Returns:
        Whether a new label was written.
    """
    label_id = stable_id("model-stance", proposal_id, justification_id, model, prompt_version, input_hash)
    detail: dict[str, Any] = {"reason": verdict.reason, "flags": list(verdict.flags), "input_hash": input_hash}
    if verdict.rejected_quote is not None:
        detail["rejected_quote"] = verdict.rejected_quote
    if job_id is not None:
        detail["job_id"] = job_id
    cursor = store.db.execute(
        "INSERT OR IGNORE INTO stance_labels (id, proposal_id, justification_id, stance, source_kind, source_name,"
        " prompt_version, confidence, quote, detail, supersedes, created_at)"
        " VALUES (?, ?, ?, ?, 'model', ?, ?, ?, ?, ?, NULL, ?)",
        [label_id, proposal_id, justification_id, verdict.stance, model, prompt_version, verdict.confidence,
         verdict.quote, json.dumps(detail, ensure_ascii=False), utc_now()],
    )
    return bool(cursor.rowcount)


def model_grader_name(model: str, prompt_version: str) -> str:
    """Return the ``grader`` recorded on model relevance grades, e.g. ``gpt-4.1@relevance-v1``."""
    return f"{model}@{prompt_version}"


def _store_relevance(store: Store, conversation_id: str, verdict: RelevanceVerdict, model: str,
                     prompt_version: str, input_hash: str) -> int:
    grader = model_grader_name(model, prompt_version)
    now = utc_now()
    rows = [(stable_id("model-relevance", conversation_id, section, grader, input_hash), conversation_id,
             section, grade, grader, now) for section, grade in sorted(verdict.grades.items())]
    cursor = store.db.conn.executemany(
        "INSERT OR IGNORE INTO relevance_grades (id, conversation_id, section_id, grade, grader_kind, grader,"
        " created_at) VALUES (?, ?, ?, ?, 'model', ?, ?)", rows)
    return int(cursor.rowcount)


@dataclass(frozen=True)
class Failure:
    """An item that got no usable answer.

    Attributes:
        item_key: the item.
        kind: how it failed.
        error: what went wrong.
    """

    item_key: str
    kind: str
    error: str


@dataclass(frozen=True)
class RunSummary:
    """What a run did.

    Attributes:
        job_id: the judge job (reused when resuming).
        task: the task.
        model: the model.
        prompt_version: the prompt.
        status: ``done`` (every item attempted), ``cancelled`` or ``failed`` (stopped by a fatal error).
        resumed: whether an earlier unfinished job was continued.
        items: items in the run.
        cached: items answered from the cache (no call).
        called: items sent to the model in this run.
        ok: items with a usable answer now.
        failed: items whose answer failed (recorded with the raw answer).
        flagged: stance labels kept with a flag: the model's answer still broke a quoting rule after
            it was asked again (see ``FLAGS`` and ``flagged_text``).
        stored: new rows written (labels, grades or rankings).
        ranker_run_id: the ranker run (ranker only).
        input_tokens: prompt tokens the endpoint reported for this run's calls.
        output_tokens: completion tokens the endpoint reported.
        failures: the failed items.
        flags: the flagged labels by flag (``no_quote``, ``quote_not_verbatim``).
        cached_tokens: of ``input_tokens``, those the endpoint read from its prompt cache.
        batches: Batch API batches this run sent or polled (``--batch``; empty otherwise).
    """

    job_id: str
    task: str
    model: str
    prompt_version: str
    status: str
    resumed: bool
    items: int
    cached: int
    called: int
    ok: int
    failed: int
    flagged: int
    stored: int
    ranker_run_id: str | None
    input_tokens: int
    output_tokens: int
    failures: tuple[Failure, ...] = ()
    flags: dict[str, int] = field(default_factory=dict)
    cached_tokens: int = 0
    batches: tuple[str, ...] = ()

    def cost(self, prices: Mapping[str, Price]) -> Cost:
        """What this run's calls cost at ``prices`` (the tokens the endpoint reported)."""
        return cost_of(prices, self.model, self.input_tokens, self.cached_tokens, self.output_tokens)


def run_usage(summaries: Sequence[RunSummary | None], prices: Mapping[str, Price]) -> dict[str, Any]:
    """What some runs' calls used, as the endpoint reported it, and what that cost at ``prices``.

    Returns:
        ``calls``, ``input_tokens``, ``cached_tokens`` (of the input, read from the prompt cache),
        ``output_tokens``, ``cost`` (dollars, None when a model has no price) and ``no_price``.
    """
    done = [s for s in summaries if s is not None]
    cost = Cost(0.0)
    for summary in done:
        if summary.called:
            cost = cost + summary.cost(prices)
    return {"calls": sum(s.called for s in done), "input_tokens": sum(s.input_tokens for s in done),
            "cached_tokens": sum(s.cached_tokens for s in done), "output_tokens": sum(s.output_tokens for s in done),
            "cost": cost.amount, "no_price": list(cost.missing)}


def usage_text(usage: Mapping[str, Any]) -> str:
    """One sentence on what ``run_usage`` found."""
    if not usage["calls"]:
        return "No model calls were made: nothing to pay for."
    cost = Cost(usage["cost"], tuple(usage["no_price"]))
    return (f"Used {usage['input_tokens']:,} input tokens ({usage['cached_tokens']:,} of them from the prompt cache) "
            f"and {usage['output_tokens']:,} output tokens in {usage['calls']:,} calls, as the endpoint reported "
            f"them: {cost.describe()}.")


WHERE_FLAGGED = (
    "To see them: choose a proposal on the review desk and select a justification labelled by this model; "
    "its labels list, below the text, marks a flagged label and says why."
)


def flagged_text(summary: RunSummary) -> str:
    """Say which answers were flagged, why, and where to see them ('' when none were).

    Returns:
        Plain text (it names a model: escape it for HTML).
    """
    if not summary.flagged:
        return ""
    reasons = "; ".join(f"{n:,} {FLAGS.get(flag, flag.replace('_', ' '))}"
                        for flag, n in sorted(summary.flags.items(), key=lambda kv: (-kv[1], kv[0])))
    labels = "label" if summary.flagged == 1 else "labels"
    return (f"{summary.flagged:,} flagged: stance {labels} by {summary.model} kept although the answer broke the "
            f"quoting rule after it was asked again" + (f" ({reasons})" if reasons else "")
            + f". They count like its other labels. {WHERE_FLAGGED}")


@dataclass
class _Tally:
    cached: int = 0
    called: int = 0
    ok: int = 0
    failed: int = 0
    flagged: int = 0
    stored: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    failures: list[Failure] = field(default_factory=list)
    flags: dict[str, int] = field(default_factory=dict)


class _Run:
    """One run's database side: the job, the batches of results, the finish. Calling thread only."""

    def __init__(self, store: Store, items: Sequence[WorkItem], *, model: str, prompt_version: str,
                 endpoint: str | None, spec_revision: str | None, params: dict[str, Any], actor: str,
                 ranker_run: bool = True) -> None:
        self.store = store
        self.items = {i.key: i for i in items}
        if len(self.items) != len(items):
            raise BugError("duplicate work item keys")
        self.task = items[0].request.task
        self.model = model
        self.prompt_version = prompt_version
        self.endpoint = safe_url(endpoint) if endpoint else None
        self.spec_revision = spec_revision
        self.params = params
        self.actor = actor
        self.ranker_run = ranker_run
        self.tally = _Tally()
        key_material = audit.canonical_json([self.task, prompt_version, model, spec_revision,
                                             sorted(i.input_hash for i in items)])
        self.job_key = hashlib.sha256(key_material.encode("utf-8")).hexdigest()
        self.job_id = ""
        self.resumed = False
        self.ranker_run_id: str | None = None
        self._status: dict[str, str] = {}  # each item's status as stored (read when the job opens)
        self._done = self._failed = 0
        self.batches: list[str] = []  # Batch API batches sent or polled (``reviewer.judges.batch``)

    def open_job(self, cached: int, calls: int) -> None:
        """Find the job doing the same work (resume it) or start one; one audit event either way."""
        now = utc_now()
        with sql_errors("starting the judge run"), self.store.db.atomic():
            row = self.store.db.execute(
                "SELECT id, status, ranker_run_id FROM judge_jobs WHERE job_key = ? ORDER BY created_at DESC LIMIT 1",
                [self.job_key]).fetchone()
            if row is not None:
                # The same work again: an unfinished job resumes; a finished one is reused (only
                # failed items are sent again, and a ranker run gets its missing rankings).
                self.job_id, previous, self.ranker_run_id = row
                self.resumed = previous != "done"
                self.store.db.execute("UPDATE judge_jobs SET status = 'running', endpoint = ?, updated_at = ?"
                                      " WHERE id = ?", [self.endpoint, now, self.job_id])
            else:
                previous = None
                self.job_id = new_id()
                self.store.db.execute(
                    "INSERT INTO judge_jobs (id, job_key, task, prompt_version, model, endpoint, spec_revision,"
                    " params, status, items_total, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)",
                    [self.job_id, self.job_key, self.task, self.prompt_version, self.model, self.endpoint,
                     self.spec_revision, json.dumps(self.params, ensure_ascii=False), len(self.items), now, now])
                self.store.db.conn.executemany(
                    "INSERT INTO judge_job_items (job_id, item_key, input_hash, status, updated_at)"
                    " VALUES (?, ?, ?, 'pending', ?)",
                    [(self.job_id, i.key, i.input_hash, now) for i in self.items.values()])
            # Each item's status, kept here too: the job's done and failed counts follow from it
            # without counting the job's items again at every write.
            self._status = dict(self.store.db.execute(
                "SELECT item_key, status FROM judge_job_items WHERE job_id = ?", [self.job_id]).fetchall())
            self._done = sum(1 for v in self._status.values() if v == "done")
            self._failed = sum(1 for v in self._status.values() if v == "failed")
            audit.append_event(
                self.store.db, actor=self.actor, action="judge.resume" if self.resumed else "judge.start",
                object_type="judge_job", object_id=self.job_id,
                payload={"task": self.task, "model": self.model, "prompt_version": self.prompt_version,
                         "endpoint": self.endpoint, "spec_revision": self.spec_revision, "items": len(self.items),
                         "cached": cached, "calls": calls, "previous_status": previous, "params": self.params},
            )

    def write(self, results: Sequence[tuple[WorkItem, Outcome | dict[str, Any]]]) -> None:
        """Store a batch of results in one transaction: cache, failure records, labels or grades.

        The rows of a kind go in one statement each (``executemany``): this thread writes while the
        workers call, and a statement per answer cost it a tenth of a concurrent run's CPU.
        """
        now = utc_now()
        marks: dict[str, str] = {}
        used = [0, 0, 0]  # input, cached, output tokens of the calls in this batch
        ok_rows: list[tuple[Any, ...]] = []
        failed_rows: list[tuple[Any, ...]] = []
        failure_rows: list[tuple[Any, ...]] = []
        with sql_errors("saving model answers"), self.store.db.atomic():
            for item, result in results:
                if isinstance(result, dict):  # from the cache
                    verdict = verdict_from_json(self.task, result)
                    self.tally.cached += 1
                    self._store_verdict(item, verdict)
                    marks[item.key] = "done"
                    continue
                self.tally.called += 1
                self.tally.input_tokens += result.input_tokens
                self.tally.output_tokens += result.output_tokens
                self.tally.cached_tokens += result.cached_tokens
                used[0] += result.input_tokens
                used[1] += result.cached_tokens
                used[2] += result.output_tokens
                if result.status == "ok":
                    ok_rows.append((self.task, self.prompt_version, self.model, item.input_hash, result.raw,
                                    json.dumps(verdict_json(result.verdict), ensure_ascii=False), result.attempts,
                                    result.input_tokens, result.output_tokens, result.cached_tokens, now))
                    self._store_verdict(item, result.verdict)
                    marks[item.key] = "done"
                else:
                    self.tally.failed += 1
                    self.tally.failures.append(Failure(item.key, result.kind or "failed", result.error or ""))
                    failed_rows.append((self.task, self.prompt_version, self.model, item.input_hash, result.raw,
                                        result.error, result.attempts, now))
                    failure_rows.append((new_id(), self.job_id, self.task, self.prompt_version, self.model,
                                         item.input_hash, item.key, result.kind or "failed", result.error or "",
                                         result.raw, result.attempts, now))
                    marks[item.key] = "failed"
            conn = self.store.db.conn
            if ok_rows:
                conn.executemany(
                    "INSERT INTO judge_cache (task, prompt_version, model, input_hash, status, raw, result, error,"
                    " attempts, input_tokens, output_tokens, cached_tokens, created_at)"
                    " VALUES (?, ?, ?, ?, 'ok', ?, ?, NULL, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (task, prompt_version, model, input_hash) DO UPDATE SET status = 'ok',"
                    " raw = excluded.raw, result = excluded.result, error = NULL, attempts = excluded.attempts,"
                    " input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens,"
                    " cached_tokens = excluded.cached_tokens, created_at = excluded.created_at", ok_rows)
            if failed_rows:
                conn.executemany(
                    "INSERT INTO judge_cache (task, prompt_version, model, input_hash, status, raw, result, error,"
                    " attempts, created_at) VALUES (?, ?, ?, ?, 'failed', ?, NULL, ?, ?, ?)"
                    " ON CONFLICT (task, prompt_version, model, input_hash) DO UPDATE SET status = 'failed',"
                    " raw = excluded.raw, result = NULL, error = excluded.error, attempts = excluded.attempts,"
                    " created_at = excluded.created_at WHERE judge_cache.status != 'ok'", failed_rows)
                conn.executemany(
                    "INSERT INTO judge_failures (id, job_id, task, prompt_version, model, input_hash, item_key,"
                    " kind, error, raw, attempts, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    failure_rows)
            conn.executemany("UPDATE judge_job_items SET status = ?, updated_at = ? WHERE job_id = ? AND item_key = ?",
                             [(status, now, self.job_id, key) for key, status in marks.items()])
            done, failed = self._done, self._failed
            for key, new in marks.items():
                old = self._status.get(key)
                done += (new == "done") - (old == "done")
                failed += (new == "failed") - (old == "failed")
            self.store.db.execute(
                "UPDATE judge_jobs SET updated_at = ?, items_done = ?, items_failed = ?, input_tokens = input_tokens + ?,"
                " cached_tokens = cached_tokens + ?, output_tokens = output_tokens + ? WHERE id = ?",
                [now, done, failed, *used, self.job_id])
        # Written: the statuses kept here follow.
        self._status.update(marks)
        self._done, self._failed = done, failed

    def _store_verdict(self, item: WorkItem, verdict: Any) -> None:
        self.tally.ok += 1
        payload = item.request.payload
        if self.task == "stance":
            if verdict.flags:
                self.tally.flagged += 1
                for flag in verdict.flags:
                    self.tally.flags[flag] = self.tally.flags.get(flag, 0) + 1
            if store_model_stance(self.store, proposal_id=payload["proposal_id"],
                                  justification_id=payload["justification_id"], verdict=verdict, model=self.model,
                                  prompt_version=self.prompt_version, input_hash=item.input_hash, job_id=self.job_id):
                self.tally.stored += 1
        elif self.task == "relevance":
            self.tally.stored += _store_relevance(self.store, payload["conversation_id"], verdict, self.model,
                                                  self.prompt_version, item.input_hash)
        # Ranker answers wait in the cache; the ranker run is written whole when the job finishes.

    def finish(self, status: str) -> None:
        """Close the job (writing the ranker run when it is done) with one audit event."""
        now = utc_now()
        with sql_errors("finishing the judge run"), self.store.db.atomic():
            if self.task == "ranker" and self.ranker_run and status == "done":
                self._write_ranker_run(now)
            self.store.db.execute("UPDATE judge_jobs SET status = ?, ranker_run_id = ?, updated_at = ? WHERE id = ?",
                                  [status, self.ranker_run_id, now, self.job_id])
            audit.append_event(
                self.store.db, actor=self.actor, action={"done": "judge.finish", "cancelled": "judge.cancel"}.get(
                    status, "judge.fail"), object_type="judge_job", object_id=self.job_id,
                payload=self._finish_payload(status),
            )

    def _finish_payload(self, status: str) -> dict[str, Any]:
        """Return the payload of the job's last event (``judge.finish``, or ``judge.cancel`` / ``judge.fail``).

        Called inside the finishing transaction, after the job's rows (and the ranker run) are final.
        """
        t = self.tally
        payload: dict[str, Any] = {
            "task": self.task, "model": self.model, "status": status, "cached": t.cached, "called": t.called,
            "ok": t.ok, "failed": t.failed, "flagged": t.flagged, "stored": t.stored,
            "ranker_run_id": self.ranker_run_id, "input_tokens": t.input_tokens, "output_tokens": t.output_tokens,
            "cached_tokens": t.cached_tokens,
        }
        # The job vouches for every row it stored (labels, grades or the ranker run): `audit verify`
        # recomputes the digest and names a row edited, deleted or added since.
        payload["result_digest"] = judge_job_digest(self.store.db.conn, self.job_id)
        return payload

    def _write_ranker_run(self, now: str) -> None:
        rows = self.store.db.execute(
            "SELECT i.item_key, c.result FROM judge_job_items i JOIN judge_cache c ON c.input_hash = i.input_hash"
            " AND c.task = ? AND c.prompt_version = ? AND c.model = ? AND c.status = 'ok'"
            " WHERE i.job_id = ? AND i.status = 'done' ORDER BY i.item_key",
            [self.task, self.prompt_version, self.model, self.job_id]).fetchall()
        if not rows:
            return
        if self.ranker_run_id is None:
            self.ranker_run_id = new_id()
            self.store.db.execute(
                "INSERT INTO ranker_runs (id, spec_revision, model, prompt_version, source, created_at)"
                " VALUES (?, ?, ?, ?, 'judge', ?)",
                [self.ranker_run_id, self.spec_revision or "", self.model, self.prompt_version, now])
        run_id = self.ranker_run_id
        values = []
        for conversation_id, result in rows:
            verdict = json.loads(result)
            values.append((stable_id("ranker-ranking", run_id, conversation_id), run_id, conversation_id,
                           verdict["ranking"], verdict["reason"]))
        cursor = self.store.db.conn.executemany(
            "INSERT OR IGNORE INTO ranker_rankings (id, run_id, conversation_id, ranking, reason)"
            " VALUES (?, ?, ?, ?, ?)", values)
        self.tally.stored += int(cursor.rowcount)

    def summary(self, status: str) -> RunSummary:
        t = self.tally
        return RunSummary(
            job_id=self.job_id, task=self.task, model=self.model, prompt_version=self.prompt_version, status=status,
            resumed=self.resumed, items=len(self.items), cached=t.cached, called=t.called, ok=t.ok, failed=t.failed,
            flagged=t.flagged, stored=t.stored, ranker_run_id=self.ranker_run_id, input_tokens=t.input_tokens,
            output_tokens=t.output_tokens, failures=tuple(t.failures), flags=dict(t.flags), cached_tokens=t.cached_tokens,
            batches=tuple(self.batches))


def _batches(values: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def run_items(store: Store, items: Sequence[WorkItem], judge: Judge, config: ModelConfig, *,
              progress: Progress | None = None, spec_revision: str | None = None,
              params: dict[str, Any] | None = None, actor: str = APP_ACTOR,
              on_cancel_wait: float = 5.0, ranker_run: bool = True, batch: BatchOptions | None = None,
              on_written: Callable[[Sequence[tuple[WorkItem, Any]]], None] | None = None) -> RunSummary:
    """Answer every item: from the cache where possible, else by calling ``judge`` concurrently.

    Only the calling thread touches the database; up to ``config.concurrency`` worker threads call
    the judge. Results are written as they arrive, in one transaction per batch, so a crash loses
    at most the answers still in flight, and running the same work again resumes the same job.

    Args:
        store: the workspace database (used on this thread only).
        items: the work (all of one task).
        judge: the model (its ``model`` names the results).
        config: concurrency, retries and backoff (the judge holds the endpoint itself).
        progress: receives one tick per finished item; raising ``Cancelled`` from ``tick`` stops the run.
        spec_revision: the spec commit the requests were built from (recorded; the ranker run's revision).
        params: the run's options, recorded with the job.
        actor: who started it (audit events).
        on_cancel_wait: seconds to wait for calls already in flight when cancelled (their answers are kept).
        ranker_run: for ranker items, write the rankings as a ranker run when the job is done; False for
            rankings under a text that is not the spec's (a what-if), which stay in the cache only.
        batch: send the calls through the Batch API (``reviewer.judges.batch``) instead of one by one;
            a batch the job sent earlier and has not read yet is polled, not sent again.
        on_written: called on this thread after each batch of results is stored, with the items and
            their results (an ``Outcome``, or the cached answer as JSON data): work that follows from
            the answers can be done while the other calls run.

    Returns:
        What the run did.

    Raises:
        Cancelled: the progress object cancelled the run (finished answers are kept; run again to resume).
        JudgeError: the endpoint refused every request (bad key, wrong URL or model, no server).
    """
    progress = progress or NoProgress()
    if not items:
        raise KnownError("There is nothing to send to the model.")
    tasks = {i.request.task for i in items}
    if len(tasks) != 1:
        raise BugError(f"one run holds one task, got {sorted(tasks)}")
    task = tasks.pop()
    prompt_version = PROMPT_VERSIONS[task]
    run = _Run(store, items, model=judge.model, prompt_version=prompt_version,
               endpoint=getattr(getattr(judge, "config", None), "endpoint", None), spec_revision=spec_revision,
               params=params or {}, actor=actor, ranker_run=ranker_run)
    cached = cached_results(store, task, prompt_version, judge.model, (i.input_hash for i in items))
    todo = [i for i in items if i.input_hash not in cached]
    run.open_job(cached=len(items) - len(todo), calls=len(todo))

    def store_results(results: Sequence[tuple[WorkItem, Any]]) -> None:
        run.write(results)
        if on_written is not None:
            on_written(results)

    progress.start(len(items), f"{task} with {judge.model}")
    status = "failed"
    try:
        done_cached = [(i, cached[i.input_hash]) for i in items if i.input_hash in cached]
        for chunk in _batches(done_cached, 500):
            store_results(chunk)
            progress.tick(len(chunk))
        if batch is not None:
            call_batch(todo, judge, batch, store=store, job_id=run.job_id, endpoint=run.endpoint,
                       write=store_results, progress=progress, sent=run.batches)
        else:
            first, twins = one_per_input(todo)

            def write(results: Sequence[tuple[WorkItem, Outcome]]) -> None:
                store_results(with_twins(results, twins))
                extra = sum(len(twins.get(item.input_hash, ())) for item, _outcome in results)
                if extra:
                    with contextlib.suppress(Cancelled):  # the next tick of the calls says it again
                        progress.tick(extra)

            call_concurrently(first, judge, config, progress, on_cancel_wait, write)
        status = "done"
    except (Cancelled, KeyboardInterrupt):
        status = "cancelled"
        raise
    finally:
        run.finish(status)
        progress.finish()
    return run.summary(status)

