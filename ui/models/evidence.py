"""Lazy list model of a proposal's evidence links with one effective stance, read in pages through a ``ReadConnection``."""

from __future__ import annotations

import bisect
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from reviewer.evidence import EvidenceRow, evidence_page
from reviewer.render import escape
from ui.workers import ReadConnection

PAGE = 50  # small pages: each fetch stays well inside a 16 ms frame on a million-row workspace
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


def row_html(row: EvidenceRow) -> str:
    """Return the whole row as escaped HTML (the tooltip and the detail pane): text, quote, source, person."""
    parts = [f'<p style="white-space:pre-wrap">{highlighted_text_html(row)}</p>']
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
    """The links of one proposal with one effective stance, fetched 200 at a time.

    Rows come in the order of the ``evidence_current_counts`` index (source kind, source name,
    justification id): each page is one keyset range scan (see ``reviewer.evidence.evidence_page``).

    Attributes:
        rows: the rows fetched so far, in row order.
        proposal_id: the proposal shown (None: empty).
        stance: the effective stance listed (supports, refutes, no_comment or unlabelled).
    """

    RowRole = Qt.ItemDataRole.UserRole + 1
    IdRole = Qt.ItemDataRole.UserRole + 2
    ConversationRole = Qt.ItemDataRole.UserRole + 3

    def __init__(self, read: ReadConnection | None, stance: str, parent: Any = None) -> None:
        super().__init__(parent)
        self._read = read
        self.stance = stance
        self.proposal_id: str | None = None
        self.rows: list[EvidenceRow] = []
        self._exhausted = True

    # ---- reading ---------------------------------------------------------------------------------

    def set_read(self, read: ReadConnection | None) -> None:
        """Read through ``read`` from now on (the list is emptied)."""
        self._read = read
        self.set_proposal(None)

    def set_proposal(self, proposal_id: str | None, *, fetch: bool = True) -> None:
        """List the links of ``proposal_id`` (None empties the list).

        Args:
            proposal_id: the proposal.
            fetch: read the first page now; otherwise it is read by the first ``fetchMore``
                (a collapsed list costs nothing until it is opened).
        """
        self.proposal_id = proposal_id
        self.reload(fetch=fetch)

    def reload(self, *, fetch: bool = True) -> None:
        """Drop everything fetched and (by default) read the first page again."""
        self.beginResetModel()
        self.rows = []
        self._exhausted = self._read is None or self.proposal_id is None
        self.endResetModel()
        if fetch and self.canFetchMore():
            self.fetchMore()

    def canFetchMore(self, parent: _Index = QModelIndex()) -> bool:  # noqa: B008 - Qt signature
        """Qt override: whether more links may remain."""
        return not parent.isValid() and not self._exhausted

    def fetchMore(self, parent: _Index = QModelIndex()) -> None:  # noqa: B008 - Qt signature
        """Qt override: read the next page."""
        if parent.isValid() or self._exhausted or self._read is None or self.proposal_id is None:
            return
        after = self.rows[-1].key if self.rows else None
        page = evidence_page(self._read.conn, self.proposal_id, self.stance, after=after, limit=PAGE)
        if len(page) < PAGE:
            self._exhausted = True
        if not page:
            return
        first = len(self.rows)
        self.beginInsertRows(QModelIndex(), first, first + len(page) - 1)
        self.rows.extend(page)
        self.endInsertRows()

    def fetch_all(self) -> None:
        """Read every remaining page (tests; the view fetches as it scrolls)."""
        while self.canFetchMore():
            self.fetchMore()

    @property
    def exhausted(self) -> bool:
        """Whether every row has been fetched."""
        return self._exhausted

    # ---- local edits after a stance change --------------------------------------------------------

    def row_of(self, justification_id: str) -> int:
        """Return the row showing ``justification_id``, or -1 when it is not fetched."""
        for i, row in enumerate(self.rows):
            if row.justification_id == justification_id:
                return i
        return -1

    def take(self, justification_id: str) -> int:
        """Remove the row of ``justification_id`` (its stance changed); returns its row, or -1."""
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
        keys = [r.key for r in self.rows]
        if not self._exhausted and (not keys or row.key > keys[-1]):
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
            return row.text
        if role == Qt.ItemDataRole.ToolTipRole:
            return row_html(row)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{(row.stance or 'unlabelled').replace('_', ' ')}, {source_badge_text(row)}: {row.text}"
        if role == self.RowRole:
            return row
        if role == self.IdRole:
            return row.justification_id
        if role == self.ConversationRole:
            return row.conversation_id
        return None
