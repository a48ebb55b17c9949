"""Named reads of the audit log for the auditor's list: pages newest first, counts, one event, object names.

The list reads a page at a time on a read-only connection (the desktop's page reader), so every
read is a keyset query on the primary key (``seq < last``) that an index serves without sorting
the log. ``reviewer.audit.list_events`` is the one-shot read with the same filter rules.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, NamedTuple

from reviewer.audit import EVENT_COLUMNS, AuditEvent, event_from_row
from reviewer.store import Store, connection_of, read_errors

PAGE = 200
"""How many events a page holds (a shorter page is the last)."""
# The list shows a short payload; the detail pane reads the whole event.
PAYLOAD_CHARS = 2000
# Keys too long for a one-line summary (a proposal's section texts, an import's labels and links,
# a member's role changes, the digests of the rows an import wrote): the list leaves them out, so
# the rest of the payload stays readable; the detail pane shows everything.
LIST_OMITS = ("$.texts", "$.person_labels", "$.hand_links", "$.digests", "$.rewrote", "$.changes")
_OMIT = ", ".join(f"'{k}'" for k in LIST_OMITS)
LOG_COLUMNS = (
    "seq, at, actor, action, object_type, object_id, substr(CASE WHEN json_valid(payload)"
    f" THEN json_remove(payload, {_OMIT}) ELSE payload END, 1, {PAYLOAD_CHARS})"
)
"""The columns of a ``LogRow``, as selected from ``audit_events``."""
_SINCE = re.compile(r"^\d{4}(-\d{2}(-\d{2}([T ][0-9:.]*Z?)?)?)?$")
_WHAT = "reading the audit log"


@dataclass(frozen=True)
class LogFilter:
    """Which events to list (every field optional; all given ones must match).

    Attributes:
        action: an action (``decision.record``) or its prefix (``decision``).
        actor: who made the change, exactly.
        object_ref: an object type (``proposal``) or an object id.
        since: events at or after this ISO-8601 time or date.
    """

    action: str = ""
    actor: str = ""
    object_ref: str = ""
    since: str = ""

    def problem(self) -> str:
        """Return why the filter cannot be used ('' when it can)."""
        if self.since and not _SINCE.match(self.since):
            return f"“{self.since}” is not a date: use YYYY-MM-DD (or a full ISO time)."
        return ""

    def action_range(self) -> tuple[str, str, str] | None:
        """Return the action asked for and the range of actions it starts (None: any action).

        ``member`` matches ``member`` itself and every action from ``member.`` up to ``member/``.
        """
        if not self.action:
            return None
        action = self.action.strip().lower()
        prefix = action.rstrip(".") + "."
        return action, prefix, prefix[:-1] + "/"

    def where(self, *, with_action: bool = True) -> tuple[str, list[Any]]:
        """Return the SQL condition (without WHERE; '1' when empty) and its parameters.

        The same rules as ``reviewer.audit.list_events`` (actions are lower case).

        Args:
            with_action: include the action condition (the page query matches actions one by one).

        Returns:
            The condition and the values of its ``?`` parameters, in order.
        """
        clauses: list[str] = []
        params: list[Any] = []
        actions = self.action_range() if with_action else None
        if actions is not None:
            # A prefix as a range ('member.' up to 'member/'), which an index on action can serve.
            clauses.append("(action = ? OR (action >= ? AND action < ?))")
            params += list(actions)
        if self.object_ref:
            clauses.append("(object_type = ? OR object_id = ?)")
            params += [self.object_ref, self.object_ref]
        if self.actor:
            clauses.append("actor = ?")
            params.append(self.actor)
        if self.since:
            clauses.append("at >= ?")
            params.append(self.since)
        return (" AND ".join(clauses) or "1"), params


@dataclass(frozen=True)
class LogCounts:
    """How many events a filter matches, and how many the log holds.

    Attributes:
        matching: the events the filter matches.
        total: every event of the log.
    """

    matching: int
    total: int


class LogRow(NamedTuple):
    """One event as the list shows it (a tuple, so a page compares equal to the plain query's rows).

    Attributes:
        seq: position in the chain.
        at: when (ISO-8601, UTC).
        actor: who made the change.
        action: what kind of change (``decision.record``).
        object_type: the kind of object changed.
        object_id: the object changed, if any.
        payload: the start of the stored JSON payload without ``LIST_OMITS`` (at most ``PAYLOAD_CHARS``
            characters).
    """

    seq: int
    at: str
    actor: str
    action: str
    object_type: str
    object_id: str | None
    payload: str


def log_page(source: Store | sqlite3.Connection, log_filter: LogFilter, after: int | None = None) -> list[LogRow]:
    """Return the next page of matching events, newest first, older than ``after``.

    With an action filter, each matching action is read on its own (the action index then gives
    that action's events newest first) and the pages are merged: asked for as one range, SQLite
    would sort every event of a prefix (250,000 of a million-event log for ``member``: 0.6 s).

    Args:
        source: the workspace store, or a (read-only) connection to its database.
        log_filter: which events.
        after: the ``seq`` of the last event already read (None: from the newest).

    Returns:
        At most ``PAGE`` rows; fewer only when no older event matches.

    Raises:
        KnownError: the database is locked, damaged or unreadable.
        BugError: any other SQLite failure.
    """
    conn = connection_of(source)
    where, params = log_filter.where(with_action=False)
    if after is not None:
        where += " AND seq < ?"
        params.append(after)
    actions = log_filter.action_range()
    with read_errors(_WHAT):
        if actions is None:
            rows = conn.execute(
                f"SELECT {LOG_COLUMNS} FROM audit_events WHERE {where} ORDER BY seq DESC LIMIT {PAGE}", params
            ).fetchall()
            return [LogRow._make(r) for r in rows]
        names = log_actions(conn, *actions)
        if not names:
            return []
        part = (f"SELECT * FROM (SELECT {LOG_COLUMNS} FROM audit_events WHERE action = ? AND {where}"
                f" ORDER BY seq DESC LIMIT {PAGE})")
        sql = " UNION ALL ".join([part] * len(names)) + f" ORDER BY 1 DESC LIMIT {PAGE}"
        rows = conn.execute(sql, [value for name in names for value in (name, *params)]).fetchall()
    return [LogRow._make(r) for r in rows]


def log_actions(source: Store | sqlite3.Connection, action: str, low: str, high: str) -> list[str]:
    """Return the distinct stored actions equal to ``action`` or in ``[low, high)``, by index skip-scan.

    Args:
        source: the workspace store, or a connection to its database.
        action: an action matched exactly.
        low: the start of the range of actions (included).
        high: its end (excluded).

    Returns:
        The actions, sorted.

    Raises:
        KnownError: the database is locked, damaged or unreadable.
        BugError: any other SQLite failure.
    """
    conn = connection_of(source)
    with read_errors(_WHAT):
        exact = conn.execute("SELECT 1 FROM audit_events WHERE action = ? LIMIT 1", [action]).fetchone()
        found = [action] if exact else []
        # Each step jumps to the next distinct action through the index: a few lookups, not a scan.
        found += [r[0] for r in conn.execute(
            "WITH RECURSIVE next(name) AS ("
            " SELECT min(action) FROM audit_events WHERE action >= ? AND action < ?"
            " UNION ALL SELECT (SELECT min(action) FROM audit_events WHERE action > next.name AND action < ?)"
            " FROM next WHERE next.name IS NOT NULL)"
            " SELECT name FROM next WHERE name IS NOT NULL",
            [low, high, high],
        )]
    return sorted(set(found))


def log_counts(source: Store | sqlite3.Connection, log_filter: LogFilter) -> LogCounts:
    """Return how many events ``log_filter`` matches and how many the log holds.

    Args:
        source: the workspace store, or a connection to its database.
        log_filter: which events.

    Raises:
        KnownError: the database is locked, damaged or unreadable.
        BugError: any other SQLite failure.
    """
    conn = connection_of(source)
    where, params = log_filter.where()
    with read_errors(_WHAT):
        total = int(conn.execute("SELECT count(*) FROM audit_events").fetchone()[0])
        if where == "1":
            return LogCounts(total, total)
        matching = int(conn.execute(f"SELECT count(*) FROM audit_events WHERE {where}", params).fetchone()[0])
    return LogCounts(matching, total)


def log_event(source: Store | sqlite3.Connection, seq: int) -> AuditEvent | None:
    """Return the whole event ``seq``, its payload parsed (None when the log has no such event).

    Args:
        source: the workspace store, or a connection to its database.
        seq: the event's position in the chain.

    Raises:
        KnownError: the database is locked, damaged or unreadable.
        BugError: any other SQLite failure.
    """
    conn = connection_of(source)
    with read_errors(_WHAT):
        row = conn.execute(f"SELECT {EVENT_COLUMNS} FROM audit_events WHERE seq = ?", [seq]).fetchone()
    return None if row is None else event_from_row(row)


def _chunks(ids: list[str], size: int = 500) -> list[list[str]]:
    return [ids[start:start + size] for start in range(0, len(ids), size)]


def _marks(ids: list[str]) -> str:
    return ",".join("?" * len(ids))


def _short_sha(sha: str) -> str:
    return sha[:10]


def _names_of_proposals(conn: sqlite3.Connection, ids: list[str]) -> dict[str, str]:
    return {r[0]: r[1] for chunk in _chunks(ids)
            for r in conn.execute(f"SELECT id, title FROM proposals WHERE id IN ({_marks(chunk)})", chunk)}


def _names_of_decisions(conn: sqlite3.Connection, ids: list[str]) -> dict[str, str]:
    return {r[0]: r[1] for chunk in _chunks(ids) for r in conn.execute(
        "SELECT d.id, p.title FROM decisions d JOIN proposals p ON p.id = d.proposal_id"
        f" WHERE d.id IN ({_marks(chunk)})", chunk)}


def _names_of_members(conn: sqlite3.Connection, ids: list[str]) -> dict[str, str]:
    return {r[0]: r[1] for chunk in _chunks(ids)
            for r in conn.execute(f"SELECT id, name FROM members WHERE id IN ({_marks(chunk)})", chunk)}


def _names_of_commits(conn: sqlite3.Connection, ids: list[str]) -> dict[str, str]:
    # A commit is named by its short sha and the proposals it carried (the first by title, then how many more).
    carried: dict[str, list[str]] = {}
    for chunk in _chunks(ids):
        for sha, raw in conn.execute(
                f"SELECT sha, proposal_ids FROM spec_commits WHERE sha IN ({_marks(chunk)})", chunk):
            try:
                found = json.loads(raw)
            except ValueError:
                found = []
            carried[sha] = [str(p) for p in found] if isinstance(found, list) else []
    titles = _names_of_proposals(conn, sorted({p for ps in carried.values() for p in ps}))
    names = {}
    for sha in ids:
        proposals = [titles[p] for p in carried.get(sha, []) if p in titles]
        if not proposals:
            names[sha] = _short_sha(sha)
            continue
        more = f" and {len(proposals) - 1} more" if len(proposals) > 1 else ""
        names[sha] = f"{_short_sha(sha)}: {proposals[0]}{more}"
    return names


def _names_of_judge_jobs(conn: sqlite3.Connection, ids: list[str]) -> dict[str, str]:
    return {r[0]: f"{r[1]} by {r[2]} ({r[3]})" for chunk in _chunks(ids) for r in conn.execute(
        f"SELECT id, task, model, prompt_version FROM judge_jobs WHERE id IN ({_marks(chunk)})", chunk)}


def _names_from_events(conn: sqlite3.Connection, ids: list[str], object_type: str) -> dict[str, str]:
    # Imports, grading runs and the workspace have no table of their own: the first event on each
    # names what it read or was called. One index seek per id, however many events it has.
    names: dict[str, str] = {}
    for object_id, kind, action, file, first, files, grader, name in conn.execute(
            "SELECT e.object_id, e.object_type, e.action, json_extract(e.payload, '$.file'),"
            " json_extract(e.payload, '$.files[0].path'), json_array_length(e.payload, '$.files'),"
            " json_extract(e.payload, '$.grader'), json_extract(e.payload, '$.name') FROM audit_events e"
            " WHERE e.seq IN (SELECT (SELECT seq FROM audit_events WHERE object_id = ids.value ORDER BY seq LIMIT 1)"
            " FROM json_each(?) ids) AND json_valid(e.payload)", [json.dumps(ids)]):
        if kind != object_type:
            continue
        what = action.split(".", 1)[-1]
        if file or first:
            more = f" and {files - 1} more" if files and files > 1 else ""
            names[object_id] = f"{what} from {PurePath(str(file or first)).name}{more}"
        elif grader:
            names[object_id] = f"{what} grades by {grader}"
        elif name:
            names[object_id] = str(name)
    return names


_NAMERS = {
    "proposal": _names_of_proposals,
    "decision": _names_of_decisions,
    "member": _names_of_members,
    "spec_commit": _names_of_commits,
    "judge_job": _names_of_judge_jobs,
}


def object_names(source: Store | sqlite3.Connection, rows: Iterable[LogRow]) -> dict[tuple[str, str], str]:
    """Return the names of the objects a page of events changed, read in bulk (a query or two per kind).

    A proposal is named by its title, a decision by its proposal's title, a member by name, a spec
    commit by its short sha and the title of the proposal it carried, a model run by its task and
    model, an import by the file it read, the workspace by its name. An object that cannot be named (deleted, or of a kind with
    no name) is left out: the list shows its id.

    Args:
        source: the workspace store, or a (read-only) connection to its database.
        rows: the events (a page of the list).

    Returns:
        (object type, object id) → name, plain text (data: escape it before showing it as HTML).

    Raises:
        KnownError: the database is locked, damaged or unreadable.
        BugError: any other SQLite failure.
    """
    conn = connection_of(source)
    wanted: dict[str, set[str]] = {}
    for row in rows:
        if row.object_id:
            wanted.setdefault(row.object_type, set()).add(row.object_id)
    names: dict[tuple[str, str], str] = {}
    with read_errors(_WHAT):
        for object_type, ids in wanted.items():
            namer = _NAMERS.get(object_type)
            found = (namer(conn, sorted(ids)) if namer is not None
                     else _names_from_events(conn, sorted(ids), object_type))
            names.update(((object_type, object_id), name) for object_id, name in found.items())
    return names
