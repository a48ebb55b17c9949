"""Rows that travel whole on the log ref, for events another machine cannot compute again.

An import of a crowd file is run again from the file (``reviewer.sync``). Other events vouch by
digest for rows that only this machine could make (a model's answers) or that are cheaper to
carry than to make again (a ranking rule's labels, lexical grades, imported rankings, grades and
stance labels): their commit carries those rows as ``rows/<event id>.json``, every column of each
row, in the order stored. The receiving machine writes them into its scratch database as they are
(a row already there is updated in place, as the writer did), and the rebuild that follows keeps
them only when they match the event's digests.

The file is JSON: ``{"tables": [{"table": name, "columns": [...], "rows": [[...], ...]}, ...]}``,
tables in an order that satisfies their foreign keys.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from reviewer.digests import WRITER_COLUMN, judge_job_rows
from reviewer.errors import KnownError
from reviewer.store import stored_order

ROWS_FOLDER = "rows"
ROW_IMPORTS = frozenset({"import.rankings", "import.relevance", "import.stances", "relevance.lexical",
                         "propose.record", "groups.compute"})
"""Events whose payload lists, by table, the digest of the rows named after the event's object."""
_ORDER = ("judge_jobs", "judge_job_items", "ranker_runs", "ranker_rankings", "relevance_grades", "stance_labels",
          "candidates", "group_runs", "group_members")
"""Tables in an order their foreign keys allow (a run before its rankings, a job before its items)."""


def carries_rows(record: dict[str, Any]) -> bool:
    """Whether an event's commit carries the rows it vouches for (``rows/<event id>.json``)."""
    action, payload = record.get("action"), record.get("payload") or {}
    if action in ROW_IMPORTS:
        return bool(record.get("object_id")) and isinstance(payload.get("digests"), dict)
    if action == "evidence.rule":
        return "labels" in payload and bool(payload.get("rule_run_id"))
    return str(action).startswith("judge.") and bool(record.get("object_id")) and bool(payload.get("result_digest"))


def rows_name(record: dict[str, Any]) -> str:
    """The file of the log commit that carries an event's rows."""
    return f"{ROWS_FOLDER}/{record['id']}.json"


def _selections(conn: sqlite3.Connection, record: dict[str, Any]) -> list[tuple[str, str, list[Any]]]:
    """``(table, where, parameters)`` of the rows an event vouches for."""
    action, payload, object_id = record["action"], record.get("payload") or {}, record.get("object_id")
    if action in ROW_IMPORTS:
        return [(t, f"{WRITER_COLUMN.get(t, 'import_id')} = ?", [object_id]) for t in payload["digests"]]
    if action == "evidence.rule":
        return [("stance_labels", "written_by = ?", [payload["rule_run_id"]])]
    rows = judge_job_rows(conn, str(object_id))
    found: list[tuple[str, str, list[Any]]] = [("judge_jobs", "id = ?", [object_id]),
                                               ("judge_job_items", "job_id = ?", [object_id])]
    for table in sorted({t for t, _id in rows}):
        ids = json.dumps([i for t, i in rows if t == table])
        found.append((table, "id IN (SELECT value FROM json_each(?))", [ids]))
    return found


def rows_blob(conn: sqlite3.Connection, record: dict[str, Any]) -> bytes:
    """The bytes of ``rows/<event id>.json`` for an event that ``carries_rows``, read as stored now."""
    tables = []
    for table, where, params in sorted(_selections(conn, record), key=lambda s: _ORDER.index(s[0])):
        cursor = conn.execute(f"SELECT * FROM {table} WHERE {where}{stored_order(conn, table)}", params)
        columns = [c[0] for c in cursor.description]
        tables.append({"table": table, "columns": columns, "rows": [list(r) for r in cursor]})
    return json.dumps({"tables": tables}, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def write_rows(conn: sqlite3.Connection, record: dict[str, Any], blob: bytes) -> None:
    """Write an event's rows as the writer did: new rows appended, rows already there updated in place.

    Raises:
        KnownError: the file is not what ``rows_blob`` writes.
    """
    try:
        data = json.loads(blob)
        tables = [(str(t["table"]), [str(c) for c in t["columns"]], t["rows"]) for t in data["tables"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise KnownError(f"The rows of event {record.get('id')} on the log ref are not readable ({exc}).",
                         hint="Run `spec-review audit verify --repo URL` on the remote.") from exc
    if record.get("action") == "relevance.lexical":
        # The run replaced the grader's earlier grades (their events' digests now say so).
        grader = (record.get("payload") or {}).get("grader")
        conn.execute("DELETE FROM relevance_grades WHERE grader_kind = 'rule' AND grader = ?", [grader])
    for table, columns, rows in tables:
        if table not in _ORDER:
            raise KnownError(f"The rows of event {record.get('id')} name a table that does not travel: {table}.")
        info = conn.execute(f"PRAGMA table_info({table})").fetchall()  # (cid, name, type, notnull, default, pk)
        known = {str(r[1]) for r in info}
        if not set(columns) <= known:
            raise KnownError(
                f"The rows of event {record.get('id')} have columns this version does not know "
                f"({', '.join(sorted(set(columns) - known))}).", hint="Update Spec Review on this machine.")
        keys = [str(r[1]) for r in sorted(info, key=lambda r: r[5]) if r[5]]
        names = ", ".join(columns)
        update = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in keys) or f"{keys[0]} = excluded.{keys[0]}"
        conn.executemany(
            f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})"
            f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {update}", rows)


__all__ = ["ROWS_FOLDER", "ROW_IMPORTS", "carries_rows", "rows_blob", "rows_name", "write_rows"]
