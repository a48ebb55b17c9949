"""Lazy table model of the audit log, newest event first, read in pages on a ``PageReader``."""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont

from reviewer.audit import AuditEvent
from ui.workers import PageReader, ReadConnection

COLUMNS = ("Seq", "Time", "Actor", "Action", "Object", "Details")
PAGE = 200
# The list shows a short payload; the detail pane reads the whole event.
_PAYLOAD_CHARS = 2000
_SHORT = 160
_SINCE = re.compile(r"^\d{4}(-\d{2}(-\d{2}([T ][0-9:.]*Z?)?)?)?$")
_BAD_BRUSH = QBrush(QColor("#fde8e8"))
_BAD_TEXT = QBrush(QColor("#b3261e"))

_Index = QModelIndex | QPersistentModelIndex


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


def short_payload(raw: str) -> str:
    """Return a one-line summary of a stored payload (``key: value; ...``), cut to a readable length."""
    try:
        data = json.loads(raw)
    except ValueError:
        text = " ".join(raw.split())
    else:
        if isinstance(data, dict):
            parts = []
            for key, value in data.items():
                shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                parts.append(f"{key}: {' '.join(str(shown).split())}")
            text = "; ".join(parts)
        else:
            text = json.dumps(data, ensure_ascii=False)
    return text if len(text) <= _SHORT else text[: _SHORT - 1] + "…"


def short_time(at: str) -> str:
    """Return ``2025-06-01 12:34:56`` for ``2025-06-01T12:34:56.123456Z``."""
    return at.replace("T", " ").rstrip("Z").split(".")[0]


class AuditLogModel(QAbstractTableModel):
    """The audit events that match a filter, newest first, read 200 at a time off the GUI thread.

    Holds the sequence numbers of the rows read so far and a cache of their display values; each
    page is read on a ``PageReader`` with a keyset query on the primary key (``seq < last ORDER BY
    seq DESC``), and the first page of a filter comes with its counts. A filter that makes SQLite
    sort a quarter of a million-event log takes half a second: on the reader, not in the window.

    Signals:
        loaded(object): the first page of the filter in force is shown, with ``LogCounts``.
        failed(object): a page could not be read (the ``sqlite3.Error``); the list stops there.

    Attributes:
        seqs: the sequence numbers of the rows shown, in row order.
        log_filter: the filter in force.
        counts: the events matching it and in all, once its first page is read (else None).
        bad_seq: an event to mark as bad (from a chain verification), or None.
        error: why the last page could not be read, if it could not.
    """

    SeqRole = Qt.ItemDataRole.UserRole + 1

    loaded = Signal(object)
    failed = Signal(object)

    def __init__(self, reader: PageReader | None = None, read: ReadConnection | None = None, parent: Any = None) -> None:
        super().__init__(parent)
        self._reader = reader
        self._read = read
        self.seqs: list[int] = []
        self._rows: dict[int, tuple[Any, ...]] = {}
        self._exhausted = reader is None
        self._pending = False
        self._serial = 0
        self.log_filter = LogFilter()
        self.counts: LogCounts | None = None
        self.bad_seq: int | None = None
        self.error: sqlite3.Error | None = None

    # ---- reading -------------------------------------------------------------------------------

    def set_filter(self, log_filter: LogFilter) -> None:
        """List the events that match ``log_filter`` (its first page and counts are asked for)."""
        self.log_filter = log_filter
        self.reload()

    def reload(self) -> None:
        """Drop everything read and ask for the first page again (after the log grew)."""
        self.beginResetModel()
        self._serial += 1
        self.seqs = []
        self._rows = {}
        self.error = None
        self.counts = None
        self._pending = False
        self._exhausted = True  # nothing to fetch inside the reset (views fetch on modelReset)
        self.endResetModel()
        if self._reader is None or self.log_filter.problem():
            return
        self._exhausted = False
        self._ask(first=True)

    @property
    def ready(self) -> bool:
        """Whether the list shows the filter in force (its first page has been read, or cannot be)."""
        return self.counts is not None or self._reader is None or bool(self.log_filter.problem()) or (
            self.error is not None)

    def _ask(self, *, first: bool) -> None:
        assert self._reader is not None
        serial, log_filter = self._serial, self.log_filter
        after = self.seqs[-1] if self.seqs else None
        self._pending = True

        def read(conn: sqlite3.Connection) -> tuple[list[tuple[Any, ...]], LogCounts | None] | None:
            if serial != self._serial:
                return None  # another filter was chosen while this waited its turn
            rows = _page(conn, log_filter, after)
            return rows, (_counts(conn, log_filter) if first else None)

        self._reader.read(read, success=lambda result: self._arrived(serial, result),
                          failure=lambda error: self._read_failed(serial, error), context=self)

    def _arrived(self, serial: int, result: tuple[list[tuple[Any, ...]], LogCounts | None] | None) -> None:
        if serial != self._serial or result is None:
            return
        self._pending = False
        rows, counts = result
        self._append(rows)
        if counts is not None:
            self.counts = counts
            self.loaded.emit(counts)

    def _read_failed(self, serial: int, error: BaseException) -> None:
        if serial != self._serial:
            return
        self._pending = False
        self._exhausted = True  # a locked or damaged database: stop reading, let the view say why
        self.error = error if isinstance(error, sqlite3.Error) else sqlite3.Error(str(error))
        self.failed.emit(self.error)

    def _append(self, rows: list[tuple[Any, ...]]) -> None:
        if len(rows) < PAGE:
            self._exhausted = True
        if not rows:
            return
        first = len(self.seqs)
        self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
        for row in rows:
            self.seqs.append(row[0])
            self._rows[row[0]] = (row[0], short_time(row[1]), row[2], row[3], _object(row[4], row[5]),
                                  short_payload(row[6]))
        self.endInsertRows()

    def canFetchMore(self, parent: _Index = QModelIndex()) -> bool:  # noqa: B008 - Qt signature
        """Qt override: whether older events may remain."""
        return not parent.isValid() and not self._exhausted

    def fetchMore(self, parent: _Index = QModelIndex()) -> None:  # noqa: B008 - Qt signature
        """Qt override: ask for the next page of older events (shown when it arrives)."""
        if parent.isValid() or self._exhausted or self._pending or self._reader is None:
            return
        self._ask(first=not self.seqs and self.counts is None)

    def fetch_all(self) -> None:
        """Read every remaining page now, waiting for each (for exports and tests)."""
        if self._reader is None or self.log_filter.problem():
            return
        self._serial += 1  # what is being read now is read again here
        self._pending = False
        reader, log_filter = self._reader, self.log_filter
        if self.counts is None and self.error is None:
            self.counts = reader.call(lambda conn: _counts(conn, log_filter))
            self.loaded.emit(self.counts)
        while not self._exhausted:
            after = self.seqs[-1] if self.seqs else None

            def read(conn: sqlite3.Connection, after: int | None = after) -> list[tuple[Any, ...]]:
                return _page(conn, log_filter, after)

            self._append(reader.call(read))

    def matching_count(self) -> int:
        """Return how many events match the filter (all of them, read or not); waits for the count if needed."""
        if self._reader is None or self.log_filter.problem():
            return 0
        if self.counts is None:
            log_filter = self.log_filter
            return self._reader.call(lambda conn: _counts(conn, log_filter)).matching
        return self.counts.matching

    def read_event(self, seq: int) -> AuditEvent | None:
        """Return the whole event ``seq`` (payload parsed; None when there is none)."""
        if self._read is None:
            return None
        row = self._read.conn.execute(
            "SELECT seq, id, at, actor, action, object_type, object_id, payload, prev_hash, hash"
            " FROM audit_events WHERE seq = ?",
            [seq],
        ).fetchone()
        if row is None:
            return None
        try:
            payload = json.loads(row[7]) if row[7] else {}
        except ValueError:
            payload = {"unreadable": row[7]}
        return AuditEvent(row[0], row[1], row[2], row[3], row[4], row[5], row[6], payload, row[8], row[9])

    def seq_at(self, row: int) -> int | None:
        """Return the sequence number shown in ``row``."""
        return self.seqs[row] if 0 <= row < len(self.seqs) else None

    def set_bad_seq(self, seq: int | None) -> None:
        """Mark event ``seq`` as the first bad one (None clears the mark)."""
        self.bad_seq = seq
        if self.seqs:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.seqs) - 1, len(COLUMNS) - 1))

    # ---- Qt --------------------------------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        """Qt override: the rows fetched so far (a table has no children)."""
        return 0 if parent.isValid() else len(self.seqs)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        """Qt override: number of columns."""
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Qt override: column titles."""
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(COLUMNS):
            return COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Qt override: cell contents."""
        if not index.isValid() or not 0 <= index.row() < len(self.seqs):
            return None
        seq = self.seqs[index.row()]
        row = self._rows[seq]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return row[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 5:
                return row[5]
            if column == 4:
                return row[4]
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole and column == 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if seq == self.bad_seq:
            if role == Qt.ItemDataRole.BackgroundRole:
                return _BAD_BRUSH
            if role == Qt.ItemDataRole.ForegroundRole:
                return _BAD_TEXT
            if role == Qt.ItemDataRole.FontRole:
                font = QFont()
                font.setBold(True)
                return font
        if role == self.SeqRole:
            return seq
        return None


@dataclass(frozen=True)
class LogCounts:
    """How many events a filter matches, and how many the log holds."""

    matching: int
    total: int


_COLUMNS = f"seq, at, actor, action, object_type, object_id, substr(payload, 1, {_PAYLOAD_CHARS})"


def _page(conn: sqlite3.Connection, log_filter: LogFilter, after: int | None) -> list[tuple[Any, ...]]:
    """Return the next page of matching events, newest first, older than ``after``.

    With an action filter, each matching action is read on its own (the action index then gives
    that action's events newest first) and the pages are merged: asked for as one range, SQLite
    would sort every event of a prefix (250,000 of a million-event log for ``member``: 0.6 s).
    """
    where, params = log_filter.where(with_action=False)
    if after is not None:
        where += " AND seq < ?"
        params.append(after)
    actions = log_filter.action_range()
    if actions is None:
        return conn.execute(
            f"SELECT {_COLUMNS} FROM audit_events WHERE {where} ORDER BY seq DESC LIMIT {PAGE}", params
        ).fetchall()
    names = _actions_in(conn, *actions)
    if not names:
        return []
    part = f"SELECT * FROM (SELECT {_COLUMNS} FROM audit_events WHERE action = ? AND {where} ORDER BY seq DESC LIMIT {PAGE})"
    sql = " UNION ALL ".join([part] * len(names)) + f" ORDER BY 1 DESC LIMIT {PAGE}"
    return conn.execute(sql, [value for name in names for value in (name, *params)]).fetchall()


def _actions_in(conn: sqlite3.Connection, action: str, low: str, high: str) -> list[str]:
    """Return the distinct stored actions equal to ``action`` or in ``[low, high)``, by index skip-scan."""
    found = [action] if conn.execute("SELECT 1 FROM audit_events WHERE action = ? LIMIT 1", [action]).fetchone() else []
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


def _counts(conn: sqlite3.Connection, log_filter: LogFilter) -> LogCounts:
    where, params = log_filter.where()
    total = int(conn.execute("SELECT count(*) FROM audit_events").fetchone()[0])
    if where == "1":
        return LogCounts(total, total)
    matching = int(conn.execute(f"SELECT count(*) FROM audit_events WHERE {where}", params).fetchone()[0])
    return LogCounts(matching, total)


def _object(object_type: str, object_id: str | None) -> str:
    return f"{object_type} {object_id}" if object_id else object_type
