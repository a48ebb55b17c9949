"""Sending a run's calls through the OpenAI Batch API: a JSONL file, a batch, polled until it ends, resumable.

The requests not answered yet are written one per line (``custom_id``, ``method``, ``url``, ``body``:
the same body a single call sends), uploaded with ``files.create(purpose="batch")`` and turned into a
batch with ``batches.create(..., endpoint="/v1/chat/completions", completion_window="24h")``. The
batch's id is stored with the job (``judge_batches``) as soon as it exists, so a run stopped while
the provider works on it (cancelled, closed, crashed) polls the same batch when it is run again
instead of sending, and paying for, the requests twice.

When the batch ends, its output file (and error file) are read and each line goes back to its
request by ``custom_id``; the answers go through the same checks as a single call's (the schema,
the task's own rules) and are written like them (the cache, the job's items, failures with their
raw answer). A line that failed is recorded as that item's failure, with the status and message
the provider gave. A batch that failed as a whole, expired or was cancelled keeps every answer it
has and says so plainly; the requests it did not answer are sent again by the next run.

Requests with the same input (the same hash) go once: their answer serves each of them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reviewer.errors import KnownError
from reviewer.ids import utc_now
from reviewer.judges.answers import parse_answer
from reviewer.judges.base import Judge, JudgeError
from reviewer.judges.calls import Outcome, with_twins
from reviewer.judges.items import WorkItem
from reviewer.progress import Progress
from reviewer.store import Store, sql_errors

ENDPOINT = "/v1/chat/completions"
MAX_REQUESTS = 50_000
"""Requests in one batch at most (the provider's limit)."""
MAX_BYTES = 190 * 1024 * 1024
"""Bytes in one batch file at most (the provider's limit is 200 MB)."""
ENDED = {"completed": "read", "failed": "failed", "expired": "expired", "cancelled": "cancelled"}
"""A batch's final statuses, and the state the job's record of it takes."""


@dataclass(frozen=True)
class BatchOptions:
    """How a run uses the Batch API.

    Attributes:
        poll_every: seconds between two looks at a batch's status.
        completion_window: the window the provider has to finish (``24h``, the only one it offers).
        max_requests: requests per batch at most; max_bytes: bytes per batch file at most.
    """

    poll_every: float = 30.0
    completion_window: str = "24h"
    max_requests: int = MAX_REQUESTS
    max_bytes: int = MAX_BYTES

    def __post_init__(self) -> None:
        if self.poll_every < 0:
            raise KnownError(f"The polling interval cannot be negative (got {self.poll_every}).")


def custom_id(input_hash: str) -> str:
    """A request's ``custom_id``: short, and the same for the same input in every run."""
    return "h" + input_hash[:40]


def call_batch(todo: Sequence[WorkItem], judge: Judge, options: BatchOptions, *, store: Store, job_id: str,
               endpoint: str | None, write: Callable[[Sequence[tuple[WorkItem, Any]]], None],
               progress: Progress, sent: list[str]) -> None:
    """Answer ``todo`` through the Batch API: poll the job's open batches, send the rest in new ones.

    Args:
        todo: the items not answered yet.
        judge: an ``OpenAIJudge`` (its client sends the files and batches; its body and reply readers are shared).
        options: the polling interval and limits.
        store: the workspace database (this thread only).
        job_id: the judge job the batches belong to.
        endpoint: the endpoint recorded with each batch.
        write: stores a batch of finished items (``_Run.write``).
        progress: ``tick(0)`` while waiting lets a run be cancelled (the batch goes on at the provider);
            one tick per item written.
        sent: the ids of the batches this run created or polled are appended here.

    Raises:
        Cancelled: while waiting (the batch stays open; the next run polls it).
        KnownError: the Batch API cannot be used here, the endpoint failed, or a batch failed or expired
            (its answers are written first; what it did not answer is sent again by the next run).
    """
    if not todo:
        return
    client = getattr(judge, "client", None)
    if client is None or not hasattr(judge, "request_body") or not hasattr(client, "batches"):
        raise KnownError("The Batch API needs the OpenAI client; this model is not reached through one.",
                         hint="Run without --batch.")
    pending: dict[str, list[WorkItem]] = {}
    for item in todo:
        pending.setdefault(item.input_hash, []).append(item)
    while pending:
        batches = _open_batches(store, job_id)
        if not batches:
            batches = _submit(client, judge, pending, options, store=store, job_id=job_id, endpoint=endpoint)
        for batch_id, ids in batches:
            sent.append(batch_id)
            batch = _poll(client, judge, batch_id, options, store, progress)
            problem = _read(client, judge, batch, ids, pending, store, write, progress)
            if problem:
                raise KnownError(problem, hint="Run the same command again to send what it did not answer in a "
                                               "new batch; the answers received are kept.")


def _open_batches(store: Store, job_id: str) -> list[tuple[str, dict[str, str]]]:
    with sql_errors("reading the job's batches"):
        rows = store.db.execute("SELECT id, custom_ids FROM judge_batches WHERE job_id = ? AND state = 'open'"
                                " ORDER BY created_at, id", [job_id]).fetchall()
    return [(batch_id, json.loads(ids)) for batch_id, ids in rows]


def _lines(judge: Any, pending: Mapping[str, Sequence[WorkItem]]) -> list[tuple[str, str, bytes]]:
    """``(custom_id, input hash, line)`` for every pending input."""
    out = []
    for input_hash, items in pending.items():
        cid = custom_id(input_hash)
        head = json.dumps({"custom_id": cid, "method": "POST", "url": ENDPOINT})[:-1].encode("utf-8")
        out.append((cid, input_hash, head + b',"body":' + judge.encode_body(judge.request_body(items[0].request))
                    + b"}\n"))
    return out


def _submit(client: Any, judge: Any, pending: Mapping[str, Sequence[WorkItem]], options: BatchOptions, *,
            store: Store, job_id: str, endpoint: str | None) -> list[tuple[str, dict[str, str]]]:
    """Upload the pending requests (in as many files as the limits need) and create a batch over each."""
    chunks: list[list[tuple[str, str, bytes]]] = [[]]
    size = 0
    for line in _lines(judge, pending):
        if chunks[-1] and (len(chunks[-1]) >= options.max_requests or size + len(line[2]) > options.max_bytes):
            chunks.append([])
            size = 0
        chunks[-1].append(line)
        size += len(line[2])
    made = []
    for n, chunk in enumerate(chunks):
        data = b"".join(line for _cid, _hash, line in chunk)
        ids = {cid: input_hash for cid, input_hash, _line in chunk}
        uploaded = _api(judge, "uploading the batch file", client.files.create,
                        file=(f"spec-review-{job_id}-{n + 1}.jsonl", data, "application/jsonl"), purpose="batch")
        batch = _api(judge, "creating the batch", client.batches.create, input_file_id=uploaded.id,
                     endpoint=ENDPOINT, completion_window=options.completion_window,
                     metadata={"spec_review_job": job_id})
        # Kept at once, in its own transaction: from here on a restart polls this batch.
        now = utc_now()
        with sql_errors("recording the batch"), store.db.atomic():
            store.db.execute(
                "INSERT INTO judge_batches (id, job_id, endpoint, input_file_id, state, status, requests, custom_ids,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, 'open', ?, ?, ?, ?, ?)",
                [batch.id, job_id, endpoint, uploaded.id, str(batch.status), len(chunk),
                 json.dumps(ids, sort_keys=True), now, now])
        made.append((str(batch.id), ids))
    return made


def _poll(client: Any, judge: Any, batch_id: str, options: BatchOptions, store: Store, progress: Progress) -> Any:
    """Look at the batch until it ends; return it."""
    last = None
    while True:
        batch = _api(judge, f"polling batch {batch_id}", client.batches.retrieve, batch_id)
        if batch.status != last:
            last = batch.status
            with sql_errors("recording the batch's status"), store.db.atomic():
                store.db.execute("UPDATE judge_batches SET status = ?, updated_at = ? WHERE id = ?",
                                 [str(batch.status), utc_now(), batch_id])
        if batch.status in ENDED:
            return batch
        deadline = time.monotonic() + options.poll_every
        while True:
            progress.tick(0)  # a cancel stops waiting; the batch goes on and the next run polls it
            left = deadline - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(0.25, left))


def _read(client: Any, judge: Any, batch: Any, ids: Mapping[str, str], pending: dict[str, list[WorkItem]],
          store: Store, write: Callable[[Sequence[tuple[WorkItem, Any]]], None],
          progress: Progress) -> str | None:
    """Write what an ended batch answered; return why it ended short (None when it completed)."""
    status = str(batch.status)
    found: dict[str, Outcome] = {}
    for file_id in (batch.output_file_id, batch.error_file_id):
        if file_id:
            content = _api(judge, "reading the batch's results", client.files.content, file_id)
            for line in content.content.decode("utf-8").splitlines():
                if line.strip():
                    _line_outcome(judge, line, ids, pending, found)
    firsts: list[tuple[WorkItem, Outcome]] = []
    twins: dict[str, list[WorkItem]] = {}
    if status == "completed":
        for input_hash in ids.values():  # the provider lost a line: a failure, sent again next time
            if input_hash in pending and input_hash not in found:
                found[input_hash] = Outcome("failed", error="The batch's results have no line for this request.",
                                            kind="batch", attempts=1)
    for input_hash, outcome in found.items():
        # One answer serves every item with this input (its twins get it as an answer without a call).
        first, *others = pending.pop(input_hash)
        firsts.append((first, outcome))
        if others:
            twins[input_hash] = others
    results = with_twins(firsts, twins)
    error = None
    if status != "completed":
        errors = getattr(getattr(batch, "errors", None), "data", None) or []
        said = "; ".join(judge.clean(str(getattr(e, "message", e))) for e in errors[:5])
        answered = sum(1 for o in found.values() if o.status == "ok")
        error = (f"The batch {batch.id} {status}" + (f" ({said})" if said else "")
                 + f": {answered} of {len(ids)} requests were answered and are kept.")
    now = utc_now()
    if results:
        write(results)
        progress.tick(len(results))
    with sql_errors("recording the batch's end"), store.db.atomic():
        store.db.execute("UPDATE judge_batches SET state = ?, status = ?, output_file_id = ?, error_file_id = ?,"
                         " error = ?, updated_at = ? WHERE id = ?",
                         [ENDED[status], status, batch.output_file_id, batch.error_file_id, error, now, batch.id])
    return error


def _line_outcome(judge: Any, line: str, ids: Mapping[str, str], pending: Mapping[str, Sequence[WorkItem]],
                  found: dict[str, Outcome]) -> None:
    """Turn one line of an output or error file into its request's outcome (lines for other requests are skipped)."""
    try:
        record = json.loads(line)
        input_hash = ids.get(str(record.get("custom_id")))
    except (json.JSONDecodeError, AttributeError):
        return
    if input_hash is None or input_hash not in pending or input_hash in found:
        return
    response, error = record.get("response"), record.get("error")
    if not response:
        error = error if isinstance(error, dict) else {}
        code = str(error.get("code") or "batch_error")
        found[input_hash] = Outcome("failed", raw=judge.clean(line[:20000]), kind="expired" if "expired" in code
                                    else "batch", error=judge.clean(f"{code}: {error.get('message') or ''}"),
                                    attempts=1)
        return
    status, body = int(response.get("status_code") or 0), response.get("body")
    if status != 200:
        inner = body.get("error", body) if isinstance(body, dict) else {}
        detail = str(inner.get("message") or "") if isinstance(inner, dict) else ""
        failure = judge.status_error(status, judge.clean(detail), judge.clean(json.dumps(body)[:20000]))
        found[input_hash] = Outcome("failed", raw=failure.raw, error=str(failure), kind=failure.kind, attempts=1)
        return
    try:
        reply = judge.reply_from(body)
    except JudgeError as exc:
        found[input_hash] = Outcome("failed", raw=exc.raw, error=str(exc), kind=exc.kind, attempts=1)
        return
    item = pending[input_hash][0]
    parsed = parse_answer(reply, item)
    raw = reply.content if reply.content is not None else reply.refusal
    tokens = {"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens,
              "cached_tokens": reply.cached_tokens}
    if parsed.problem is None or parsed.acceptable:
        # No asking again here: a batch has no conversation to go on; an answer the schema refuses is a
        # failure, which the next run sends again.
        found[input_hash] = Outcome("ok", verdict=parsed.verdict, raw=raw, attempts=1, **tokens)
    else:
        kind = "refusal" if reply.refusal and not reply.content else "invalid_output"
        found[input_hash] = Outcome("failed", raw=raw, error=parsed.problem, kind=kind, attempts=1, **tokens)


def _api(judge: Any, doing: str, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Make one Batch API call; an endpoint failure becomes a plain error (the job and its batches stay)."""
    import openai

    try:
        return call(*args, **kwargs)
    except openai.APIStatusError as exc:
        failure = judge._status_error(exc)
        raise KnownError(f"The endpoint failed while {doing}: {failure}", hint=failure.hint) from exc
    except openai.APIError as exc:  # connection, timeout, a reply that is not what the API returns
        raise KnownError(f"The endpoint failed while {doing}: {judge.clean(str(exc))}.",
                         hint="Check the endpoint, then run the same command again: a batch already sent is "
                              "polled, not sent again.") from exc


__all__ = ["ENDPOINT", "MAX_BYTES", "MAX_REQUESTS", "BatchOptions", "call_batch", "custom_id"]
