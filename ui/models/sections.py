"""Tree model of the spec's sections, nested by heading level, with authority markers."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt

from reviewer.spec import Section, SpecDocument
from ui.labels import plain_tooltip, shown
from ui.style import AUTHORITY_LABELS, authority_colour

COLUMNS = ("Section", "Authority", "Id")
_Index = QModelIndex | QPersistentModelIndex


class SectionTreeModel(QAbstractItemModel):
    """The headings of one spec revision as a tree.

    Each item's internal id is its position in ``sections`` plus one (0 is the invisible root).

    Attributes:
        sections: the sections in document order.
    """

    SectionIdRole = Qt.ItemDataRole.UserRole + 1

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.sections: list[Section] = []
        self._children: list[list[int]] = [[]]  # node -> child nodes (node = position + 1)
        self._parent: list[int] = [0]
        self._row: list[int] = [0]

    def set_document(self, document: SpecDocument | None) -> None:
        """Show the sections of ``document`` (None clears the tree)."""
        self.beginResetModel()
        self.sections = list(document.sections) if document else []
        count = len(self.sections)
        self._children = [[] for _ in range(count + 1)]
        self._parent = [0] * (count + 1)
        self._row = [0] * (count + 1)
        stack: list[tuple[int, int]] = []  # (level, node)
        for position, section in enumerate(self.sections):
            node = position + 1
            while stack and stack[-1][0] >= section.level:
                stack.pop()
            parent = stack[-1][1] if stack else 0
            self._parent[node] = parent
            self._row[node] = len(self._children[parent])
            self._children[parent].append(node)
            stack.append((section.level, node))
        self.endResetModel()

    def section_at(self, index: _Index) -> Section | None:
        """Return the section an index shows."""
        if not index.isValid():
            return None
        return self.sections[index.internalId() - 1]

    def index_of(self, section_id: str) -> QModelIndex:
        """Return the index of the section with ``section_id`` (invalid when absent)."""
        for position, section in enumerate(self.sections):
            if section.id == section_id:
                node = position + 1
                return self.createIndex(self._row[node], 0, node)
        return QModelIndex()

    def index(self, row: int, column: int, parent: _Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        """Qt override."""
        node = parent.internalId() if parent.isValid() else 0
        if parent.isValid() and parent.column() != 0:
            return QModelIndex()
        children = self._children[node]
        if not (0 <= row < len(children) and 0 <= column < len(COLUMNS)):
            return QModelIndex()
        return self.createIndex(row, column, children[row])

    def parent(self, index: _Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        """Qt override."""
        if not index.isValid():
            return QModelIndex()
        parent = self._parent[index.internalId()]
        if parent == 0:
            return QModelIndex()
        return self.createIndex(self._row[parent], 0, parent)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Qt override."""
        if parent.isValid() and parent.column() != 0:
            return 0
        node = parent.internalId() if parent.isValid() else 0
        return len(self._children[node])

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Qt override."""
        return len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Qt override."""
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(COLUMNS):
            return COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Qt override."""
        section = self.section_at(index)
        if section is None:
            return None
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return shown(section.title)
            if column == 1:
                return AUTHORITY_LABELS.get(section.authority or "", section.authority or "")
            if column == 2:
                return shown(section.id or "")
        elif role == Qt.ItemDataRole.ForegroundRole and column == 1:
            return authority_colour(section.authority)
        elif role == Qt.ItemDataRole.DecorationRole and column == 0 and section.authority:
            return authority_colour(section.authority)
        elif role == Qt.ItemDataRole.ToolTipRole:
            return plain_tooltip(f"#{section.id}  lines {section.start_line}-{section.end_line}")
        elif role == self.SectionIdRole:
            return section.id
        return None
