"""Table model of the proposal queue: holds proposal ids and caches rows fetched from summaries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from reviewer.store import ProposalSummary

COLUMNS = ("Title", "Sections", "Kind", "Origin", "Status")
KIND_LABELS = {"clarification": "Clarification", "principle": "Change of principle"}
STATUS_LABELS = {"open": "Open", "adopt": "Adopted", "defer": "Deferred", "set_aside": "Set aside"}

_Index = QModelIndex | QPersistentModelIndex


class ProposalTableModel(QAbstractTableModel):
    """The proposals of a workspace, one row each.

    Attributes:
        ids: the proposal ids in row order (the model's only list).
    """

    IdRole = Qt.ItemDataRole.UserRole + 1

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.ids: list[str] = []
        self._rows: dict[str, ProposalSummary] = {}

    def set_proposals(self, summaries: Sequence[ProposalSummary]) -> None:
        """Replace the contents with ``summaries`` (in their order)."""
        self.beginResetModel()
        self.ids = [s.id for s in summaries]
        self._rows = {s.id: s for s in summaries}
        self.endResetModel()

    def summary(self, row: int) -> ProposalSummary:
        """Return the summary shown in ``row``."""
        return self._rows[self.ids[row]]

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        """Qt override: number of proposals (a table has no children)."""
        return 0 if parent.isValid() else len(self.ids)

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
        if not index.isValid() or not 0 <= index.row() < len(self.ids):
            return None
        row = self._rows[self.ids[index.row()]]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return row.title
            if column == 1:
                return ", ".join(row.section_ids)
            if column == 2:
                return KIND_LABELS.get(row.kind, row.kind)
            if column == 3:
                return row.origin
            if column == 4:
                return STATUS_LABELS.get(row.status, row.status)
        elif role == Qt.ItemDataRole.ToolTipRole and column == 0:
            return f"{row.title}\n{row.id}"
        elif role == self.IdRole:
            return row.id
        return None
