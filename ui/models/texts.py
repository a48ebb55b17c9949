"""A small table model whose cells' texts are made once per change, for short lists (decisions, threads)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

_Index = QModelIndex | QPersistentModelIndex


class TextTableModel(QAbstractTableModel):
    """A table of a few rows whose texts are kept, not made in ``data()``.

    A view asks for every cell again and again as it lays out and paints, each time through Python:
    a subclass fills ``_texts`` (one tuple of display texts per row, in ``COLUMNS`` order) whenever its
    rows change, and answers ``tooltip`` and ``foreground`` per row when it has them.

    Attributes:
        COLUMNS: the column titles.
    """

    COLUMNS: tuple[str, ...] = ()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._texts: list[tuple[str, ...]] = []

    def text(self, row: int, column: int) -> str:
        """The text shown in a cell."""
        return self._texts[row][column]

    def tooltip(self, row: int) -> str | None:
        """The tooltip of a row's cells (None: none)."""
        return None

    def foreground(self, row: int) -> Any:
        """The text colour of a row (None: the view's)."""
        return None

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Qt override."""
        return 0 if parent.isValid() else len(self._texts)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Qt override."""
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Qt override."""
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole and (
                0 <= section < len(self.COLUMNS)):
            return self.COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Qt override."""
        if not index.isValid() or not 0 <= index.row() < len(self._texts):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._texts[index.row()][index.column()]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tooltip(index.row())
        if role == Qt.ItemDataRole.ForegroundRole:
            return self.foreground(index.row())
        return None
