"""Lazy table model of the audit log, newest event first, read in pages through a ``ReadConnection``."""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont

from reviewer.audit import AuditEvent
from ui.workers import ReadConnection

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

    def where(self) -> tuple[str, list[Any]]:
        """Return the SQL condition (without WHERE; '1' when empty) and its parameters.

        The same rules as ``reviewer.audit.list_events`` (actions are lower case).
        """
        clauses: list[str] = []
        params: list[Any] = []
        if self.action:
            # A prefix as a range ('member.' up to 'member/'), which an index on action can serve.
            action = self.action.strip().lower()
            prefix = action.rstrip(".") + "."
            clauses.append("(action = ? OR (action >= ? AND action < ?))")
            params += [action, prefix, prefix[:-1] + "/"]
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
    """The audit events that match a filter, newest first, fetched 200 at a time.

    Holds the sequence numbers of the rows fetched so far and a cache of their display values;
    each page is read with a keyset query on the primary key (``seq < last ORDER BY seq DESC``).

    Attributes:
        seqs: the sequence numbers of the fetched rows, in row order.
        log_filter: the filter in force.
        bad_seq: an event to mark as bad (from a chain verification), or None.
        error: why the last page could not be read, if it could not.
    """

    SeqRole = Qt.ItemDataRole.UserRole + 1

    def __init__(self, read: ReadConnection | None = None, parent: Any = None) -> None:
        super().__init__(parent)
        self._read = read
        self.seqs: list[int] = []
        self._rows: dict[int, tuple[Any, ...]] = {}
        self._exhausted = read is None
        self.log_filter = LogFilter()
        self.bad_seq: int | None = None
        self.error: sqlite3.Error | None = None

    # ---- reading -------------------------------------------------------------------------------

    def set_filter(self, log_filter: LogFilter) -> None:
        """List the events that match ``log_filter`` (reads the first page)."""
        self.log_filter = log_filter
        self.reload()

    def reload(self) -> None:
        """Drop everything fetched and read the first page again (after the log grew)."""
        self.beginResetModel()
        self.seqs = []
        self._rows = {}
        self.error = None
        # Nothing to fetch until the reset is over: views react to modelReset by fetching, and
        # rows inserted inside a reset confuse them (and the model tester).
        self._exhausted = True
        self.endResetModel()
        self._exhausted = self._read is None or bool(self.log_filter.problem())
        if self.canFetchMore():
            self.fetchMore()

    def _page(self) -> list[tuple[Any, ...]]:
        assert self._read is not None
        where, params = self.log_filter.where()
        if self.seqs:
            where += " AND seq < ?"
            params.append(self.seqs[-1])
        return self._read.conn.execute(
            f"SELECT seq, at, actor, action, object_type, object_id, substr(payload, 1, {_PAYLOAD_CHARS})"
            f" FROM audit_events WHERE {where} ORDER BY seq DESC LIMIT {PAGE}",
            params,
        ).fetchall()

    def canFetchMore(self, parent: _Index = QModelIndex()) -> bool:  # noqa: B008 - Qt signature
        """Qt override: whether older events may remain."""
        return not parent.isValid() and not self._exhausted

    def fetchMore(self, parent: _Index = QModelIndex()) -> None:  # noqa: B008 - Qt signature
        """Qt override: read the next page of older events."""
        if parent.isValid() or self._exhausted:
            return
        try:
            rows = self._page()
        except sqlite3.Error as exc:  # a locked or damaged database: stop fetching, let the view say why
            self._exhausted = True
            self.error = exc
            return
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

    def fetch_all(self) -> None:
        """Read every remaining page (for exports and tests; the view fetches as it scrolls)."""
        while self.canFetchMore():
            self.fetchMore()

    def matching_count(self) -> int:
        """Return how many events match the filter (all of them, fetched or not)."""
        if self._read is None or self.log_filter.problem():
            return 0
        where, params = self.log_filter.where()
        return int(self._read.conn.execute(f"SELECT count(*) FROM audit_events WHERE {where}", params).fetchone()[0])

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


def _object(object_type: str, object_id: str | None) -> str:
    return f"{object_type} {object_id}" if object_id else object_type
