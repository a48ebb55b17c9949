"""Lazy table model of the audit log, newest event first, read in pages on a ``PageReader``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont

from reviewer.audit import AuditEvent
from reviewer.audit_queries import (
    PAGE,
    LogCounts,
    LogFilter,
    LogRow,
    log_counts,
    log_event,
    log_page,
    object_names,
)
from reviewer.errors import BugError, ReviewerError
from reviewer.governance import decision_marks
from ui.labels import plain_tooltip, shown
from ui.theme import bg, fg
from ui.workers import PageReader, ReadConnection

if TYPE_CHECKING:
    import sqlite3

COLUMNS = ("Seq", "Time", "Actor", "Action", "Object", "Details")
_SHORT = 160

_Index = QModelIndex | QPersistentModelIndex


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
    page is read on a ``PageReader`` by ``reviewer.audit_queries.log_page`` (a keyset read on the
    primary key, newest first) with the names of the objects it changed (``object_names``: a
    query or two per kind of object, for the whole page), and the first page of a filter comes
    with its counts. The Object column shows the name (a proposal's title, a member's name…);
    its tooltip and ``ObjectRole`` give the object's kind and id. A filter that
    makes SQLite sort a quarter of a million-event log takes half a second: on the reader, not in
    the window.

    Signals:
        loaded(object): the first page of the filter in force is shown, with ``LogCounts``.
        failed(object): a page could not be read (a ``ReviewerError``: ``KnownError`` for a locked or
            damaged database); the list stops there.

    Attributes:
        seqs: the sequence numbers of the rows shown, in row order.
        log_filter: the filter in force.
        counts: the events matching it and in all, once its first page is read (else None).
        bad_seq: an event to mark as bad (from a chain verification), or None.
        error: why the last page could not be read, if it could not.
    """

    SeqRole = Qt.ItemDataRole.UserRole + 1
    ObjectRole = Qt.ItemDataRole.UserRole + 2

    loaded = Signal(object)
    failed = Signal(object)

    def __init__(self, reader: PageReader | None = None, read: ReadConnection | None = None, parent: Any = None) -> None:
        super().__init__(parent)
        self._reader = reader
        self._read = read
        self.seqs: list[int] = []
        self._rows: dict[int, tuple[Any, ...]] = {}
        self._objects: dict[int, tuple[str, str | None]] = {}  # seq → (object type, object id)
        # What the log says before a decision's details (made before its reviewer's role change was
        # known, or on an earlier text of its proposal), by seq.
        self.marks: dict[int, str] = {}
        self._exhausted = reader is None
        self._pending = False
        self._serial = 0
        self.log_filter = LogFilter()
        self.counts: LogCounts | None = None
        self.bad_seq: int | None = None
        self.error: ReviewerError | None = None

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
        self._objects = {}
        self.marks = {}
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

        def read(conn: sqlite3.Connection) -> _Page | None:
            if serial != self._serial:
                return None  # another filter was chosen while this waited its turn
            rows = log_page(conn, log_filter, after)
            names = object_names(conn, rows)
            if not first:
                return rows, names, None, None
            return rows, names, log_counts(conn, log_filter), decision_marks(conn)

        self._reader.read(read, success=lambda result: self._arrived(serial, result),
                          failure=lambda error: self._read_failed(serial, error), context=self)

    def _arrived(self, serial: int, result: _Page | None) -> None:
        if serial != self._serial or result is None:
            return
        self._pending = False
        rows, names, counts, marks = result
        if marks is not None:
            self.marks = marks
        self._append(rows, names)
        if counts is not None:
            self.counts = counts
            self.loaded.emit(counts)

    def _read_failed(self, serial: int, error: BaseException) -> None:
        if serial != self._serial:
            return
        self._pending = False
        self._exhausted = True  # a locked or damaged database: stop reading, let the view say why
        # The queries raise only ReviewerError; anything else is our own failure.
        self.error = error if isinstance(error, ReviewerError) else BugError(f"{type(error).__name__}: {error}")
        self.failed.emit(self.error)

    def _append(self, rows: list[LogRow], names: dict[tuple[str, str], str]) -> None:
        if len(rows) < PAGE:
            self._exhausted = True
        if not rows:
            return
        first = len(self.seqs)
        self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
        for row in rows:
            self.seqs.append(row.seq)
            details = short_payload(row.payload)
            if row.seq in self.marks:
                details = f"{self.marks[row.seq]} · {details}"
            name = names.get((row.object_type, row.object_id)) if row.object_id else None
            self._rows[row.seq] = (row.seq, short_time(row.at), row.actor, row.action,
                                   name or _object(row.object_type, row.object_id), details)
            self._objects[row.seq] = (row.object_type, row.object_id)
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
            self.marks = reader.call(decision_marks)
            self.counts = reader.call(lambda conn: log_counts(conn, log_filter))
            self.loaded.emit(self.counts)
        while not self._exhausted:
            after = self.seqs[-1] if self.seqs else None

            def read(conn: sqlite3.Connection, after: int | None = after) -> tuple[list[LogRow], dict[Any, str]]:
                rows = log_page(conn, log_filter, after)
                return rows, object_names(conn, rows)

            self._append(*reader.call(read))

    def matching_count(self) -> int:
        """Return how many events match the filter (all of them, read or not); waits for the count if needed."""
        if self._reader is None or self.log_filter.problem():
            return 0
        if self.counts is None:
            log_filter = self.log_filter
            return self._reader.call(lambda conn: log_counts(conn, log_filter)).matching
        return self.counts.matching

    def read_event(self, seq: int) -> AuditEvent | None:
        """Return the whole event ``seq`` (payload parsed; None when there is none).

        Raises:
            ReviewerError: the event could not be read (``KnownError`` for a locked or damaged database).
        """
        if self._read is None:
            return None
        return log_event(self._read.conn, seq)

    def object_name(self, seq: int) -> str | None:
        """Return the name the list shows for event ``seq``'s object (None when it shows only its kind and id)."""
        row, ref = self._rows.get(seq), self._objects.get(seq)
        if row is None or ref is None or row[4] == _object(*ref):
            return None
        return str(row[4])

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
            return shown(row[column])
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 4:
                return plain_tooltip(_object_tip(row[4], *self._objects[seq]))
            return plain_tooltip(str(row[column])) if column == 5 and row[column] else None
        if role == Qt.ItemDataRole.TextAlignmentRole and column == 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if seq == self.bad_seq:
            if role == Qt.ItemDataRole.BackgroundRole:
                return QBrush(QColor(bg("#fde8e8")))
            if role == Qt.ItemDataRole.ForegroundRole:
                return QBrush(QColor(fg("#b3261e")))
            if role == Qt.ItemDataRole.FontRole:
                font = QFont()
                font.setBold(True)
                return font
        if role == self.SeqRole:
            return seq
        if role == self.ObjectRole:
            return self._objects[seq]
        return None


_Page = tuple[list[LogRow], dict[tuple[str, str], str], LogCounts | None, dict[int, str] | None]
"""A page as read on the page reader: its rows, their objects' names, and (first page) counts and marks."""


def _object(object_type: str, object_id: str | None) -> str:
    return f"{object_type} {object_id}" if object_id else object_type


def _object_tip(shown: str, object_type: str, object_id: str | None) -> str:
    """The Object cell's tooltip: the name shown, then the object's kind and id."""
    ref = _object(object_type, object_id)
    return ref if shown == ref else f"{shown}\n{ref}"
