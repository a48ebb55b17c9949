"""Digests of stored rows and files, so that an audit event can vouch for the rows its change wrote.

One form everywhere: the digest of a list of rows is the SHA-256 hex digest of its canonical JSON
(``audit.canonical_json``: sorted keys, no spaces, UTF-8 kept), each row a list of its column values
in the table's order below (``ROW_COLUMNS``); the empty list digests ``[]``. Writers put the digest
and the row count in their audit event, and ``audit verify`` (``reviewer.replay``) recomputes it
from the tables, so a row edited, deleted or added among them is found.

The order of the rows:

- the rows one writer (an import, a ranking-rule run) stored are listed **in the order they were
  stored** (``rowid``; a table without rowid, ``votes``, by its key, which is its storage order).
  Reading a million rows in storage order takes half the time of reading them by their random
  UUID keys, and ``audit verify`` must stay fast on a million imported assessments. Nothing the
  app does reorders stored rows (an update keeps the rowid; ``VACUUM`` keeps their order); a
  rebuild copies them in that order;
- rows gathered from several places (``judge_job_digest``) are **sorted by their key**.

Large sets are digested inside SQLite: ``json_array`` writes each row's JSON, ``group_concat`` joins
a chunk of them, and only the chunk crosses into Python to be hashed. For text, integers and NULL,
SQLite writes exactly what ``canonical_json`` writes (``tests/reviewer/test_digests.py`` checks both
ways agree); the tables digested this way hold nothing else, except a label's ``confidence`` (a
real number: both sides of a comparison then use the same SQLite, so they agree).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reviewer.audit import canonical_json
from reviewer.ids import stable_id

CHUNK_ROWS = 20_000
"""The most rows joined by SQLite per chunk while digesting a large set."""
CHUNK_BYTES = 4 << 20
"""About how many bytes of JSON a chunk holds: fewer rows per chunk where rows are large (a
conversation with its four responses), so memory stays flat whatever the rows."""
_FILE_CHUNK = 1 << 22

CROWD_TABLES = ("conversations", "participants", "assessments", "justifications", "polis_statements", "votes")
"""The tables crowd imports write; each row names the import that last wrote it (``import_id``)."""
FORMAT_TABLES = ("relevance_grades", "ranker_runs", "ranker_rankings")
"""Other tables whose imported rows name their import (``reviewer.formats``); judge runs and the
lexical grader write them too, without one."""
CANDIDATE_TABLES = ("candidates",)
"""Tables whose rows name the propose run that wrote them (``run_id``; ``reviewer.propose``)."""
GROUP_TABLES = ("group_runs", "group_members")
"""Tables whose rows name the opinion-group run that wrote them (``id``/``run_id``; ``reviewer.groups``)."""

ROW_COLUMNS: dict[str, tuple[str, ...]] = {
    "conversations": ("id", "source", "source_id", "prompt", "responses", "extra", "created_at", "content_hash"),
    "participants": ("id", "source", "source_id", "demographics", "extra", "created_at", "content_hash"),
    "assessments": (
        "id", "conversation_id", "participant_id", "importance", "representativeness", "subjectivity",
        "personal_ranking", "world_ranking", "unacceptable", "extra", "created_at", "content_hash",
    ),
    "justifications": ("id", "assessment_id", "block", "position", "ranking", "text", "language", "created_at",
                       "extra"),
    "polis_statements": (
        "justification_id", "conversation_key", "comment_id", "author_id", "timestamp", "datetime", "agrees",
        "disagrees", "moderated", "extra",
    ),
    "votes": ("statement_id", "participant_id", "vote"),
    "stance_labels": (
        "id", "proposal_id", "justification_id", "stance", "source_kind", "source_name", "prompt_version",
        "confidence", "quote", "detail", "supersedes", "created_at",
    ),
    "relevance_grades": ("id", "conversation_id", "section_id", "grade", "grader_kind", "grader", "created_at"),
    "ranker_runs": ("id", "spec_revision", "model", "prompt_version", "source", "created_at"),
    "ranker_rankings": ("id", "run_id", "conversation_id", "ranking", "reason"),
    "candidates": (
        "id", "mode", "section_id", "spec_revision", "model", "prompt_version", "input_hash", "ranker_model",
        "ranker_prompt_version", "title", "intent", "kind", "new_text", "conversations", "holdout", "before_share",
        "before_low", "before_high", "after_share", "after_low", "after_high", "change", "change_low", "change_high",
        "threshold", "status", "reason", "proposal_id", "merged_with", "detail", "created_at",
    ),
    "group_runs": (
        "id", "source", "params", "input_digest", "crowd_event", "k", "silhouette", "participants", "left_out",
        "items", "entries", "ari", "detail", "created_at", "created_by",
    ),
    "group_members": ("participant_id", "group_index", "x", "y"),
}
"""The columns digested per table, key first; never the column that says which writer wrote the row."""

ROW_KEYS: dict[str, tuple[str, ...]] = {
    **{table: (columns[0],) for table, columns in ROW_COLUMNS.items()},
    "votes": ("statement_id", "participant_id"),
}
"""Each table's key (rows gathered from several places are sorted by it)."""


@dataclass(frozen=True)
class RowsDigest:
    """How many rows a set holds and their digest.

    Attributes:
        rows: the number of rows.
        sha256: the digest (see the module's docstring).
    """

    rows: int
    sha256: str

    def to_json(self) -> dict[str, Any]:
        """Return ``{"rows": n, "sha256": digest}``, as audit events carry it."""
        return {"rows": self.rows, "sha256": self.sha256}

    @classmethod
    def from_json(cls, data: Any) -> RowsDigest:
        """Read what ``to_json`` wrote."""
        return cls(int(data["rows"]), str(data["sha256"]))


def file_sha256(path: Path) -> str:
    """Return the SHA-256 hex digest of a file's bytes, read in large chunks."""
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_FILE_CHUNK):
            hasher.update(chunk)
    return hasher.hexdigest()


def _json_value(value: Any) -> Any:
    # A BLOB has no JSON form; only a hand-made row holds one (it then simply fails to match).
    return {"blob": value.hex()} if isinstance(value, bytes) else value


def rows_digest(rows: Iterable[Sequence[Any]], *, key: int | None = None) -> RowsDigest:
    """Return the digest of rows given as value sequences (this is the definition; see the module).

    Args:
        rows: the rows, each a sequence of column values.
        key: sort the rows by their first ``key`` values first; None keeps the order given.
    """
    listed = [[_json_value(v) for v in row] for row in rows]
    if key is not None:
        listed.sort(key=lambda r: [str(v) for v in r[:key]])
    text = canonical_json(listed)
    return RowsDigest(len(listed), hashlib.sha256(text.encode("utf-8")).hexdigest())


EMPTY = rows_digest([])
"""The digest of no rows."""


WRITER_COLUMN = {"stance_labels": "written_by", "candidates": "run_id", "group_runs": "id", "group_members": "run_id"}
"""The column naming a row's writer, where it is not ``import_id``."""


def _stored_order(table: str) -> tuple[str, ...]:
    return ROW_KEYS[table] if table == "votes" else ("rowid",)


def _chunks(conn: sqlite3.Connection, table: str, writer: str, scan: bool) -> Iterator[tuple[bytes, int]]:
    """Yield a writer's rows of ``table`` as JSON joined by commas, a chunk at a time in storage order.

    Each chunk is one range of the ``(writer, rowid)`` index, or with ``scan`` one range of the table
    itself (faster when the writer stored most of the table), so a chunk costs the same however far in.
    """
    columns = ", ".join(ROW_COLUMNS[table])
    # A unary + keeps SQLite off the writer's index: the table is then read straight through.
    where = f"{'+' if scan else ''}{WRITER_COLUMN.get(table, 'import_id')} = ?"
    if table == "votes":
        # No rowid, and a two-column key: few enough rows to stream one by one.
        cursor = conn.execute(
            f"SELECT CAST(json_array({columns}) AS BLOB) FROM {table} WHERE {where}"
            f" ORDER BY {', '.join(ROW_KEYS[table])}", [writer])
        while rows := cursor.fetchmany(CHUNK_ROWS):
            yield b",".join([r[0] for r in rows]), len(rows)
        return
    last, limit = -(2**63), min(1000, CHUNK_ROWS)
    while True:
        text, count, last = conn.execute(
            f"SELECT CAST(group_concat(j, ',') AS BLOB), count(*), max(k) FROM"
            f" (SELECT rowid AS k, json_array({columns}) AS j FROM {table} WHERE {where} AND rowid > ?"
            f" ORDER BY rowid LIMIT ?)",
            [writer, last, limit],
        ).fetchone()
        if not count:
            return
        yield text, count
        if count < limit:
            return
        limit = max(1, min(CHUNK_ROWS, CHUNK_BYTES * count // max(len(text), 1)))


def writer_rows_digest(conn: sqlite3.Connection, table: str, writer: str, *, scan: bool = False) -> RowsDigest:
    """Return the digest of the rows of ``table`` that name ``writer`` (an import or rule run), in storage order.

    Args:
        conn: the workspace database.
        table: one of ``ROW_COLUMNS`` with a writer column (``import_id``, or ``written_by`` for labels).
        writer: the writer's id.
        scan: read the whole table rather than the writer's index (when the writer stored most of it).
    """
    hasher = hashlib.sha256(b"[")
    total = 0
    try:
        for text, count in _chunks(conn, table, writer, scan):
            if total:
                hasher.update(b",")
            hasher.update(text)
            total += count
    except sqlite3.OperationalError:
        # json_array refuses a BLOB (only a hand-made row holds one): digest in Python instead.
        return rows_digest(writer_rows(conn, table, writer))
    hasher.update(b"]")
    return RowsDigest(total, hasher.hexdigest())


def writer_rows(conn: sqlite3.Connection, table: str, writer: str) -> list[tuple[Any, ...]]:
    """Return the rows ``writer_rows_digest`` covers, as tuples in ``ROW_COLUMNS`` order and storage order."""
    column = WRITER_COLUMN.get(table, "import_id")
    order = ", ".join(_stored_order(table))
    return conn.execute(
        f"SELECT {', '.join(ROW_COLUMNS[table])} FROM {table} WHERE {column} = ? ORDER BY {order}", [writer]
    ).fetchall()


def judge_job_digest(conn: sqlite3.Connection, job_id: str) -> str:
    """Return the digest of the rows a judge job stored: its ``judge.finish`` event's ``result_digest``.

    What it covers, by the job's task (``judge_jobs.task``), for the job's items marked ``done`` in
    ``judge_job_items`` (their ``item_key`` and ``input_hash``), with the job's ``model`` and
    ``prompt_version``:

    - ``stance``: the ``stance_labels`` rows whose id is ``stable_id("model-stance", proposal,
      justification, model, prompt_version, input_hash)``, the item key being
      ``proposal:justification`` (the ids ``store_model_stance`` gives; a label is stored once per
      input, so a label an earlier job stored for the same input counts here too);
    - ``relevance``: the ``relevance_grades`` of the item's conversation (the item key) by grader
      ``model@prompt_version`` whose id is ``stable_id("model-relevance", conversation, section,
      grader, input_hash)``;
    - ``ranker``: the job's ranker run (``judge_jobs.ranker_run_id``): its ``ranker_runs`` row and
      every ``ranker_rankings`` row of that run.

    Each row is ``[table, *values]`` with the values in ``ROW_COLUMNS`` order, and the rows are
    sorted by table and key before digesting (``rows_digest(rows, key=2)``). A job that stored
    nothing, or that is unknown, digests no rows (``EMPTY``).

    Call it inside the transaction that finishes the job, after its rows are written, and put the
    result in the event's payload as ``result_digest``; ``audit verify`` calls it again and compares
    (any later ``judge.*`` event of the job without a ``result_digest`` leaves the job unchecked,
    since a resumed run may store more rows).
    """
    return rows_digest(_judge_rows(conn, job_id), key=2).sha256


def judge_job_rows(conn: sqlite3.Connection, job_id: str) -> list[tuple[str, str]]:
    """Return ``(table, row id)`` of every row ``judge_job_digest`` covers for the job."""
    return [(row[0], row[1]) for row in _judge_rows(conn, job_id)]


def _select_by_ids(conn: sqlite3.Connection, table: str, ids: Sequence[str]) -> list[list[Any]]:
    columns = ", ".join(ROW_COLUMNS[table])
    out: list[list[Any]] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        out += [[table, *r] for r in conn.execute(
            f"SELECT {columns} FROM {table} WHERE id IN ({','.join('?' * len(chunk))})", chunk)]
    return out


def _judge_rows(conn: sqlite3.Connection, job_id: str) -> list[list[Any]]:
    """The rows ``judge_job_digest`` covers, each ``[table, *values]``."""
    job = conn.execute(
        "SELECT task, model, prompt_version, ranker_run_id FROM judge_jobs WHERE id = ?", [job_id]
    ).fetchone()
    if job is None:
        return []
    task, model, prompt_version, run_id = job
    items = conn.execute(
        "SELECT item_key, input_hash FROM judge_job_items WHERE job_id = ? AND status = 'done'", [job_id]
    ).fetchall()
    if task == "stance":
        ids = []
        for key, input_hash in items:
            proposal_id, _, justification_id = key.partition(":")
            ids.append(stable_id("model-stance", proposal_id, justification_id, model, prompt_version, input_hash))
        return _select_by_ids(conn, "stance_labels", ids)
    if task == "relevance":
        grader = f"{model}@{prompt_version}"
        columns = ", ".join(ROW_COLUMNS["relevance_grades"])
        out = []
        for conversation_id, input_hash in items:
            for row in conn.execute(
                f"SELECT {columns} FROM relevance_grades WHERE conversation_id = ? AND grader = ?"
                " AND grader_kind = 'model'", [conversation_id, grader]
            ):
                if row[0] == stable_id("model-relevance", conversation_id, row[2], grader, input_hash):
                    out.append(["relevance_grades", *row])
        return out
    if task == "ranker" and run_id is not None:
        columns = ", ".join(ROW_COLUMNS["ranker_rankings"])
        rankings = [["ranker_rankings", *r] for r in conn.execute(
            f"SELECT {columns} FROM ranker_rankings WHERE run_id = ?", [run_id])]
        return _select_by_ids(conn, "ranker_runs", [run_id]) + rankings
    return []
