"""Named reads of the audit log for the auditor's list: filtered pages, newest first, their counts, one event.

The list reads a page at a time on a read-only connection (the desktop's page reader), so every
read is a keyset query on the primary key (``seq < last``) that an index serves without sorting
the log. ``reviewer.audit.list_events`` is the one-shot read with the same filter rules.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
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
