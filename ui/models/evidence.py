"""Lazy list model of a proposal's evidence links with one effective stance, read in pages on a ``PageReader``."""

from __future__ import annotations

import bisect
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt, Signal

from reviewer.evidence import EvidenceRow, evidence_page
from reviewer.render import escape
from reviewer.textsafe import dir_attributes, display_text
from reviewer.triage import EvidenceFilter, triage_page
from ui.workers import PageReader

if TYPE_CHECKING:
    from reviewer.translation import Translation

PAGE = 50  # small pages: appending one stays well inside a 16 ms frame
QUOTE_BACKGROUND = "#ffe08a"
SOURCE_COLOURS = {"person": "#1f5fbf", "model": "#7b3fa0", "rule": "#5f6b7a"}
# Demographic keys shown on the item itself, in this order; others are in the tooltip and detail.
PREFERRED_DEMOGRAPHICS = ("country_of_residence", "age", "gender", "generative_ai_usage")
_SHORT_VALUE = 32

_Index = QModelIndex | QPersistentModelIndex


def source_badge_text(row: EvidenceRow) -> str:
    """Return who or what set the row's stance, as the badge says it."""
    if row.source_kind is None:
        return "no label"
    if row.source_kind == "model":
        version = f" ({row.prompt_version})" if row.prompt_version else ""
        return f"model: {row.source_name}{version}"
    if row.source_kind == "rule":
        return f"rule: {row.source_name}"
    return f"person: {row.source_name}"


def language_text(row: EvidenceRow) -> str:
    """Return the language as shown: ``es`` when stored, ``es?`` when guessed, '' when unknown."""
    language, guessed = row.shown_language()
    if not language:
        return ""
    return f"{language}?" if guessed else language


def demographics_text(demographics: dict[str, Any], limit: int = 4) -> str:
    """Return a short ``Spain · 18-24 · Male · Daily`` line of the participant's demographics."""
    values: list[str] = []
    keys = [k for k in PREFERRED_DEMOGRAPHICS if k in demographics]
    keys += [k for k in demographics if k not in PREFERRED_DEMOGRAPHICS]
    for key in keys:
        value = demographics.get(key)
        if value is None or value == "" or isinstance(value, (dict, list)):
            continue
        text = str(value)
        if len(text) > _SHORT_VALUE:  # free-text answers belong in the detail, not on the item
            continue
        values.append(text)
        if len(values) >= limit:
            break
    return " · ".join(values)


def highlighted_text_html(row: EvidenceRow) -> str:
    """Return the row's text as escaped HTML with the quoted span highlighted."""
    span = row.quote_span()
    if span is None:
        return escape(row.text)
    start, end = span
    return (
        f"{escape(row.text[:start])}<span style=\"background:{QUOTE_BACKGROUND};color:#000\">"
        f"{escape(row.text[start:end])}</span>{escape(row.text[end:])}"
    )


def translation_html(translation: Translation) -> str:
    """Return a machine translation as escaped HTML, labelled as one: the label, then the text in its own direction.

    The text and the language are the model's answer: escaped, and bidi controls shown as markers
    (``display_text``), so neither can make markup nor reorder what follows.
    """
    text = display_text(translation.translation)
    cached = " · from the cache" if translation.cached else ""
    return (f'<p style="color:#555"><b><i>{escape(translation.caution)}</i></b>{cached}</p>'
            f'<p{dir_attributes(text)} style="white-space:pre-wrap">{escape(text)}</p>')


def row_html(row: EvidenceRow, translation: Translation | None = None) -> str:
    """Return the whole row as escaped HTML (the tooltip and the detail pane): text, quote, source, person.

    A machine translation of the text, when given, comes right under the text, labelled as one.
    """
    parts = [f'<p{dir_attributes(row.text)} style="white-space:pre-wrap">{highlighted_text_html(row)}</p>']
    if translation is not None:
        parts.append(translation_html(translation))
    colour = SOURCE_COLOURS.get(row.source_kind or "", "#8a94a6")
    stance = (row.stance or "unlabelled").replace("_", " ")
    source = f'<span style="color:{colour};font-weight:600">{escape(source_badge_text(row))}</span>'
    confidence = f", confidence {row.confidence:.2f}" if row.confidence is not None else ""
    parts.append(f"<p><b>{escape(stance)}</b>, set by {source}{escape(confidence)}</p>")
    if row.quote:
        where = "" if row.quote_span() else " (does not occur verbatim in the text)"
        parts.append(
            f"<p>Quoted by {escape(row.quote_from or '')}: “{escape(row.quote)}”{escape(where)}</p>"
        )
    facts = []
    language, guessed = row.shown_language()
    if language:
        facts.append(f"language {escape(language)}" + (" (guessed from the text)" if guessed else ""))
    facts.append(f"block {escape(row.block)}")
    if row.prompt_id:
        facts.append(f"conversation {escape(row.prompt_id)}")
    if row.annotator_id:
        facts.append(f"participant {escape(row.annotator_id)}")
    parts.append(f'<p style="color:#555">{" · ".join(facts)}</p>')
    if row.demographics:
        items = "".join(
            f"<tr><td style=\"color:#555;padding-right:8px\">{escape(str(k))}</td><td>{escape(_value(v))}</td></tr>"
            for k, v in row.demographics.items()
        )
        parts.append(f"<table cellspacing=\"0\">{items}</table>")
    return "".join(parts)


def _value(value: Any) -> str:
    if isinstance(value, (dict, list)):
        import json

        return json.dumps(value, ensure_ascii=False)
    return str(value)


class EvidenceListModel(QAbstractListModel):
    """The links of one proposal with one effective stance, read a page at a time off the GUI thread.

    Rows come in the order of the ``evidence_current_counts`` index (source kind, source name,
    justification id): each page is one keyset range scan (see ``reviewer.evidence.evidence_page``).
    Pages are read on a ``PageReader``'s thread, one page ahead of the view: when the view asks for
    more (``fetchMore``), the page read ahead is appended at once and the next one is asked for; if
    it has not arrived yet, it is appended when it does. The GUI thread never waits for the disk.

    Signals:
        page_arrived(): rows were appended (or the list turned out to have no more).
        reading_changed(bool): the view waits for a page (True), or no longer does (False).
        failed(object): reading a page failed (the error); the list stops there.

    Attributes:
        rows: the rows shown so far, in row order.
        proposal_id: the proposal shown (None: empty).
        stance: the effective stance listed (supports, refutes, no_comment or unlabelled).
    """

    RowRole = Qt.ItemDataRole.UserRole + 1
    IdRole = Qt.ItemDataRole.UserRole + 2
    ConversationRole = Qt.ItemDataRole.UserRole + 3

    page_arrived = Signal()
    reading_changed = Signal(bool)
    failed = Signal(object)

    def __init__(self, reader: PageReader | None, stance: str, parent: Any = None) -> None:
        super().__init__(parent)
        self._reader = reader
        self.stance = stance
        self.proposal_id: str | None = None
        self.rows: list[EvidenceRow] = []
        self._ahead: list[EvidenceRow] | None = None  # the page read ahead, not shown yet
        self._end = True  # the database holds nothing after rows + _ahead
        self._pending = False  # a page is being read
        self._wanted = False  # the view asked for more while it was being read
        self._serial = 0  # bumped whenever a page being read would no longer fit
        self._shown_reading = False
        self.filter: EvidenceFilter | None = None  # None: the whole list, in the index's order
        self.search_index: Path | None = None  # the search index, when the filter searches

    def set_filter(self, filt: EvidenceFilter | None, index: Path | None = None) -> None:
        """Read pages through ``filt`` from the next reload on (None or an inactive filter: the whole list)."""
        self.filter = filt if filt is not None and filt.active else None
        self.search_index = index

    def read_page(self, conn: sqlite3.Connection, proposal_id: str, after: tuple[str, str, str] | None,
                  filt: EvidenceFilter | None, index: Path | None, limit: int = PAGE) -> list[EvidenceRow]:
        """One page of this list after ``after``, filtered and ordered by ``filt`` (on the reader's thread)."""
        if filt is None:
            return evidence_page(conn, proposal_id, self.stance, after=after, limit=limit)
        return triage_page(conn, proposal_id, self.stance, filt, after=after, limit=limit, index=index)

    # ---- reading ---------------------------------------------------------------------------------

    def set_reader(self, reader: PageReader | None) -> None:
        """Read through ``reader`` from now on (the list is emptied)."""
        self._reader = reader
        self.set_proposal(None)

    def set_proposal(
        self, proposal_id: str | None, *, fetch: bool = True, first_page: list[EvidenceRow] | None = None
    ) -> None:
        """List the links of ``proposal_id`` (None empties the list).

        Args:
            proposal_id: the proposal.
            fetch: ask for the first page now; otherwise it is asked for by the first ``fetchMore``
                (a collapsed list costs nothing until it is opened).
            first_page: the first page, already read (with the counts, on the page reader).
        """
        self.proposal_id = proposal_id
        self.reload(fetch=fetch, first_page=first_page)

    def reload(self, *, fetch: bool = True, first_page: list[EvidenceRow] | None = None) -> None:
        """Drop everything read and (by default) ask for the first page again."""
        self.beginResetModel()
        self._serial += 1
        self.rows = []
        self._ahead = None
        self._pending = self._wanted = False
        self._end = self._reader is None or self.proposal_id is None
        self.endResetModel()
        if first_page is not None and not self._end:
            self._append(first_page)
        elif fetch and self.canFetchMore():
            self.fetchMore()
        self._note_reading()

    def canFetchMore(self, parent: _Index = QModelIndex()) -> bool:  # noqa: B008 - Qt signature
        """Qt override: whether more links may remain."""
        return not parent.isValid() and not self.exhausted

    def fetchMore(self, parent: _Index = QModelIndex()) -> None:  # noqa: B008 - Qt signature
        """Qt override: show the page read ahead, or have it shown as soon as it arrives."""
        if parent.isValid() or self.exhausted:
            return
        if self._ahead is not None:
            page, self._ahead = self._ahead, None
            self._append(page)
        else:
            self._wanted = True
            self._read_ahead()
        self._note_reading()

    def _append(self, page: list[EvidenceRow]) -> None:
        """Show ``page`` after the rows shown, then read the next page ahead."""
        self._append_now(page)
        self._read_ahead()
        self.page_arrived.emit()

    def _read_ahead(self) -> None:
        if self._pending or self._end or self._ahead is not None or self._reader is None or self.proposal_id is None:
            return
        proposal_id, serial, filt, index = self.proposal_id, self._serial, self.filter, self.search_index
        after = self.rows[-1].key if self.rows else None
        self._pending = True

        def read(conn: sqlite3.Connection) -> list[EvidenceRow] | None:
            if serial != self._serial:
                return None  # the reviewer has moved on while this waited its turn: skip it
            return self.read_page(conn, proposal_id, after, filt, index)

        self._reader.read(
            read,
            success=lambda page: self._arrived(serial, page),
            failure=lambda error: self._read_failed(serial, error),
            context=self,
        )

    def _arrived(self, serial: int, page: list[EvidenceRow] | None) -> None:
        if serial != self._serial or page is None:
            return  # read for another proposal, or before a local edit: asked for again if needed
        self._pending = False
        if self._wanted:
            self._wanted = False
            self._append(page)
        else:
            self._ahead = page
            if len(page) < PAGE:
                self._end = True
        self._note_reading()

    def _read_failed(self, serial: int, error: BaseException) -> None:
        if serial != self._serial:
            return
        self._pending = self._wanted = False
        self._end = True  # the list stops here; choosing the proposal again retries
        self._note_reading()
        self.failed.emit(error)

    def _note_reading(self) -> None:
        if self.reading != self._shown_reading:
            self._shown_reading = self.reading
            self.reading_changed.emit(self._shown_reading)

    def _forget_ahead(self) -> None:
        """Drop the page read ahead and any page being read: rows shown are changing."""
        self._serial += 1
        if self._ahead is not None or self._pending:
            self._end = False
        self._ahead = None
        self._pending = False
        if self._wanted:
            self._wanted = False
            self.fetchMore()
        self._note_reading()

    def fetch_all(self) -> None:
        """Read every remaining page now, waiting for each (tests, and copying a whole list)."""
        self._serial += 1  # a page being read now is not needed
        self._pending = self._wanted = False
        if self._ahead is not None:
            page, self._ahead = self._ahead, None
            self._append_now(page)
        reader, proposal_id, filt, index = self._reader, self.proposal_id, self.filter, self.search_index
        while not self._end and reader is not None and proposal_id is not None:
            after = self.rows[-1].key if self.rows else None

            def read(conn: sqlite3.Connection, after: tuple[str, str, str] | None = after) -> list[EvidenceRow]:
                return self.read_page(conn, proposal_id, after, filt, index)

            self._append_now(reader.call(read))
        self._note_reading()

    def _append_now(self, page: list[EvidenceRow]) -> None:
        """Show ``page`` after the rows shown (a short page is the last)."""
        if len(page) < PAGE:
            self._end = True
        if page:
            first = len(self.rows)
            self.beginInsertRows(QModelIndex(), first, first + len(page) - 1)
            self.rows.extend(page)
            self.endInsertRows()

    @property
    def exhausted(self) -> bool:
        """Whether every row is shown."""
        return self._end and self._ahead is None

    @property
    def reading(self) -> bool:
        """Whether a page is being read for the view right now (it asked, the page has not come)."""
        return self._pending and self._wanted

    # ---- local edits after a stance change --------------------------------------------------------

    def row_of(self, justification_id: str) -> int:
        """Return the row showing ``justification_id``, or -1 when it is not fetched."""
        for i, row in enumerate(self.rows):
            if row.justification_id == justification_id:
                return i
        return -1

    def take(self, justification_id: str) -> int:
        """Remove the row of ``justification_id`` (its stance changed); returns its row, or -1."""
        self._forget_ahead()
        i = self.row_of(justification_id)
        if i >= 0:
            self.beginRemoveRows(QModelIndex(), i, i)
            del self.rows[i]
            self.endRemoveRows()
        return i

    def place(self, row: EvidenceRow) -> int:
        """Insert ``row`` (its stance changed to this list's) where paging would put it.

        A row whose key lies beyond the last fetched row is left for a later page.

        Returns:
            The row it went to, or -1 when it was left for a later page.
        """
        self._forget_ahead()
        keys = [r.key for r in self.rows]
        if not self.exhausted and (not keys or row.key > keys[-1]):
            return -1
        i = bisect.bisect_left(keys, row.key)
        self.beginInsertRows(QModelIndex(), i, i)
        self.rows.insert(i, row)
        self.endInsertRows()
        return i

    def row_at(self, row: int) -> EvidenceRow | None:
        """Return the row shown at ``row``."""
        return self.rows[row] if 0 <= row < len(self.rows) else None

    # ---- Qt --------------------------------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        """Qt override: the rows fetched so far (a list has no children)."""
        return 0 if parent.isValid() else len(self.rows)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Qt override: the row's text, tooltip and the row itself (``RowRole``) for the delegate."""
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        row = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return display_text(row.text)
        if role == Qt.ItemDataRole.ToolTipRole:
            return row_html(row)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return display_text(f"{(row.stance or 'unlabelled').replace('_', ' ')}, {source_badge_text(row)}: {row.text}")
        if role == self.RowRole:
            return row
        if role == self.IdRole:
            return row.justification_id
        if role == self.ConversationRole:
            return row.conversation_id
        return None
