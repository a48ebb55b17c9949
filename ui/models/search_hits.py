"""Table model of full-text search hits with a tick each, and the set of hits ticked to be linked."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPointF,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QPainter, QTextCharFormat, QTextLayout
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from reviewer.search import SearchHit
from ui.labels import plain_tooltip, shown

COLUMNS = ("Link", "Prompt", "Text")
COL_LINK, COL_PROMPT, COL_TEXT = range(len(COLUMNS))
_Index = QModelIndex | QPersistentModelIndex


def hit_key(hit: SearchHit) -> tuple[str, str]:
    """What a hit links: a conversation or a justification, by id."""
    return hit.kind, hit.id


def where_text(hit: SearchHit) -> str:
    """``conversation · response B`` or ``justification · world``."""
    return f"{hit.kind} · {hit.field}" if hit.field else hit.kind


class ChosenHits(QObject):
    """The hits ticked to be linked, in the order they were ticked (kept across searches).

    Signals:
        changed(): a hit was ticked or unticked.
    """

    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.hits: dict[tuple[str, str], SearchHit] = {}

    def set_chosen(self, hit: SearchHit, chosen: bool) -> None:
        """Tick (``chosen``) or untick a hit."""
        key = hit_key(hit)
        if chosen and key not in self.hits:
            self.hits[key] = hit
        elif not chosen and key in self.hits:
            del self.hits[key]
        else:
            return
        self.changed.emit()

    def is_chosen(self, hit: SearchHit) -> bool:
        """Whether the hit is ticked."""
        return hit_key(hit) in self.hits

    def ids(self, kind: str) -> tuple[str, ...]:
        """The ids ticked of one kind (``conversation`` or ``justification``)."""
        return tuple(i for k, i in self.hits if k == kind)

    def describe(self) -> str:
        """``2 conversations and 3 justifications to link`` (or that none are)."""
        conversations, justifications = len(self.ids("conversation")), len(self.ids("justification"))
        if not conversations and not justifications:
            return "Nothing to link yet: tick search results."
        parts = []
        if conversations:
            parts.append(f"{conversations} conversation{'' if conversations == 1 else 's'} (all their justifications)")
        if justifications:
            parts.append(f"{justifications} justification{'' if justifications == 1 else 's'}")
        return "To link: " + " and ".join(parts) + "."


class SearchHitModel(QAbstractTableModel):
    """Hits with a tick each; ticking adds the hit to the shared ``ChosenHits``.

    With ``mirror``, the rows are the chosen hits themselves (unticking one removes its row).

    Attributes:
        chosen: the shared set of ticked hits.
        hits: the hits shown, in order.
    """

    def __init__(self, chosen: ChosenHits, parent: QObject | None = None, *, mirror: bool = False) -> None:
        super().__init__(parent)
        self.chosen = chosen
        self.mirror = mirror
        self.hits: list[SearchHit] = []
        chosen.changed.connect(self._on_chosen_changed)
        if mirror:
            self.hits = list(chosen.hits.values())

    def set_hits(self, hits: list[SearchHit]) -> None:
        """Show ``hits`` (a search's result)."""
        self.beginResetModel()
        self.hits = list(hits)
        self.endResetModel()

    def hit_at(self, row: int) -> SearchHit | None:
        """The hit on ``row``."""
        return self.hits[row] if 0 <= row < len(self.hits) else None

    def _on_chosen_changed(self) -> None:
        if self.mirror:
            self.set_hits(list(self.chosen.hits.values()))
        elif self.hits:
            self.dataChanged.emit(self.index(0, COL_LINK), self.index(len(self.hits) - 1, COL_LINK),
                                  [Qt.ItemDataRole.CheckStateRole])

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Qt override."""
        return 0 if parent.isValid() else len(self.hits)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Qt override."""
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Qt override."""
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(COLUMNS):
            return COLUMNS[section]
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        """Qt override: the first column can be ticked."""
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == COL_LINK:
            flags |= Qt.ItemFlag.ItemIsUserCheckable
        return flags

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Qt override."""
        hit = self.hit_at(index.row()) if index.isValid() else None
        if hit is None:
            return None
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == COL_LINK:
                return where_text(hit)
            if column == COL_PROMPT:
                return shown(hit.prompt_id or ("statement" if hit.kind == "justification" else ""))
            if column == COL_TEXT:
                return shown(hit.snippet)
        elif role == Qt.ItemDataRole.CheckStateRole and column == COL_LINK:
            return Qt.CheckState.Checked if self.chosen.is_chosen(hit) else Qt.CheckState.Unchecked
        elif role == Qt.ItemDataRole.ToolTipRole:
            who = f"participant {hit.annotator_id}\n" if hit.annotator_id else ""
            return plain_tooltip(f"{where_text(hit)}\n{who}{hit.snippet}")
        elif role == Qt.ItemDataRole.AccessibleTextRole and column == COL_LINK:
            state = "ticked" if self.chosen.is_chosen(hit) else "not ticked"
            return f"{where_text(hit)}, {state}"
        return None

    def setData(self, index: _Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        """Qt override: ticking links the hit, unticking leaves it out."""
        hit = self.hit_at(index.row()) if index.isValid() else None
        if hit is None or role != Qt.ItemDataRole.CheckStateRole or index.column() != COL_LINK:
            return False
        checked = value in (Qt.CheckState.Checked, Qt.CheckState.Checked.value, 2)
        self.chosen.set_chosen(hit, checked)
        if not self.mirror:
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.CheckStateRole])
        return True


MATCH_BACKGROUND = "#ffe08a"


class SnippetDelegate(QStyledItemDelegate):
    """Paints a hit's text with the words found marked (plain text drawn by ``QTextLayout``: nothing is parsed as markup)."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        """Qt override: the item as usual, its text drawn with the highlights."""
        model = index.model()
        hit = model.hit_at(index.row()) if isinstance(model, SearchHitModel) else None
        shown_text = shown(hit.snippet) if hit is not None else ""
        # A text whose bidi controls are shown as markers no longer has the offsets of its highlights.
        if hit is None or not hit.highlights or shown_text != hit.snippet:
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        widget = opt.widget
        style = widget.style() if widget is not None else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        marked = QTextCharFormat()
        marked.setBackground(QColor(MATCH_BACKGROUND))
        marked.setFontWeight(QFont.Weight.Bold)
        ranges = []
        for start, end in hit.highlights:
            span = QTextLayout.FormatRange()
            span.start, span.length, span.format = start, end - start, marked
            ranges.append(span)
        layout = QTextLayout(hit.snippet, opt.font)
        layout.setFormats(ranges)
        layout.beginLayout()
        line = layout.createLine()
        line.setLineWidth(max(float(opt.rect.width()) * 4, 4000.0))  # one line, clipped at the cell's edge
        layout.endLayout()
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        painter.save()
        painter.setClipRect(opt.rect.adjusted(2, 0, -2, 0))
        painter.setPen(opt.palette.highlightedText().color() if selected else opt.palette.text().color())
        top = opt.rect.top() + (opt.rect.height() - line.height()) / 2
        layout.draw(painter, QPointF(opt.rect.left() + 4, top))
        painter.restore()
