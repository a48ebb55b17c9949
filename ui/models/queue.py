"""The proposal queue model: one row per proposal (ids + cached ``QueueRow``s) and its filter proxy."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QBrush, QColor, QFont

from reviewer.glossary import status_term
from reviewer.vocab import Status
from ui.labels import plain_tooltip, shown
from ui.style import AUTHORITY_COLOURS, AUTHORITY_LABELS
from ui.theme import bg, status_tint

if TYPE_CHECKING:
    from reviewer.queue import QueueRow

_Index = QModelIndex | QPersistentModelIndex

# What a reviewer scans first comes first: level, title, status and the evidence counts.
COLUMNS = ("Level", "Title", "Status", "Sup.", "Ref.", "N/C", "Bridging", "Apart", "Kind", "Origin", "Sections")
(COL_LEVEL, COL_TITLE, COL_STATUS, COL_SUP, COL_REF, COL_NC, COL_BRIDGING, COL_APART, COL_KIND, COL_ORIGIN,
 COL_SECTIONS) = range(len(COLUMNS))
COLUMN_TIPS = {
    COL_SUP: "Justifications that support the change (effective stance: a person's label, else a model's, else the ranking rule's)",
    COL_REF: "Justifications that refute the change",
    COL_NC: "Justifications that do not comment on the change",
    COL_BRIDGING: "Bridging: the lowest opinion group's smoothed share supporting, (supports + 1) / (supports +"
                  " refutes + 2): the support that holds in every group (blank: no groups computed)",
    COL_APART: "How far apart the opinion groups are: the highest group's smoothed share supporting minus the"
               " lowest's, in points (sort it descending for the most divisive)",
}
GROUP_COLUMNS = (COL_BRIDGING, COL_APART)
LEVEL_ORDER = {"root": 0, "system": 1, "developer": 2, "user": 3, "guideline": 4, "none": 5}
KIND_LABELS = {"clarification": "Clarification", "principle": "Change of principle"}
STATUS_LABELS: dict[str, str] = {
    Status.OPEN: "Open",
    Status.PENDING: "Pending",
    Status.CONTESTED: "Contested",
    Status.ADOPTED: "Adopted",
    Status.DEFERRED: "Deferred",
    Status.SET_ASIDE: "Set aside",
    Status.COMMITTED: "Committed",
    Status.NEEDS_REBASE: "Needs rebase",
}
# Pending (waiting for quorum), contested (reviewers disagree) and final outcomes look different:
# their tints are reviewer.palette.STATUS_TINTS, light or dark with the scheme (ui.theme.status_tint).
SORT_ROLE = Qt.ItemDataRole.UserRole + 2
ID_ROLE = Qt.ItemDataRole.UserRole + 1


class QueueModel(QAbstractTableModel):
    """The proposals of a workspace with status and evidence counts.

    Attributes:
        ids: proposal ids in row order (the model's only list).
    """

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.ids: list[str] = []
        self._rows: dict[str, QueueRow] = {}
        self.haystacks: list[str] = []  # per row: the lower-cased text the free-text filter searches

    def set_rows(self, rows: Sequence[QueueRow]) -> None:
        """Replace the contents (keeps the row order of ``rows``)."""
        self.beginResetModel()
        self.ids = [r.id for r in rows]
        self._rows = {r.id: r for r in rows}
        self.haystacks = [_haystack(r) for r in rows]
        self.endResetModel()

    def update_row(self, row: QueueRow) -> None:
        """Replace one proposal's row in place (after a decision or a stance change)."""
        if row.id not in self._rows:
            return
        self._rows[row.id] = row
        position = self.ids.index(row.id)
        self.haystacks[position] = _haystack(row)
        self.dataChanged.emit(self.index(position, 0), self.index(position, len(COLUMNS) - 1))

    def row_of(self, proposal_id: str) -> int:
        """Return the model row of a proposal, or -1."""
        try:
            return self.ids.index(proposal_id)
        except ValueError:
            return -1

    def queue_row(self, row: int) -> QueueRow:
        """Return the cached row."""
        return self._rows[self.ids[row]]

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Qt override."""
        return 0 if parent.isValid() else len(self.ids)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Qt override."""
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Qt override."""
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return COLUMN_TIPS.get(section)
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: C901 - one switch
        """Qt override."""
        if not index.isValid() or not 0 <= index.row() < len(self.ids):
            return None
        row = self._rows[self.ids[index.row()]]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return shown(self._display(row, column))
        if role == SORT_ROLE:
            if column == COL_LEVEL:
                return LEVEL_ORDER.get(row.level, 9)
            if column in (COL_SUP, COL_REF, COL_NC):
                return self._display(row, column)  # the counts sort as numbers
            if column in GROUP_COLUMNS:  # as numbers; no figures sorts below any
                if row.groups is None:
                    return -1.0
                return row.groups.bridging if column == COL_BRIDGING else row.groups.divisiveness
            return str(self._display(row, column)).lower()
        if role == ID_ROLE:
            return row.id
        if role == Qt.ItemDataRole.BackgroundRole:
            if column == COL_LEVEL:
                return QBrush(QColor(bg(AUTHORITY_COLOURS.get(row.level, "#8a94a6"))))
            tint = status_tint(row.status)
            return QBrush(tint) if tint is not None else None
        if role == Qt.ItemDataRole.ForegroundRole and column == COL_LEVEL:
            return QBrush(QColor("white"))
        if role == Qt.ItemDataRole.FontRole:
            font = QFont()
            if column == COL_LEVEL and LEVEL_ORDER.get(row.level, 9) <= 1:
                font.setBold(True)  # root and system: the highest bar, the strongest marker
            if column == COL_STATUS and row.status in (Status.CONTESTED, Status.NEEDS_REBASE):
                font.setBold(True)
            return font
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (COL_SUP, COL_REF, COL_NC, *GROUP_COLUMNS):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == COL_STATUS:  # what the status word means (the glossary's entry, F1 shows them all)
                entry = status_term(row.status)
                if entry is not None:
                    return plain_tooltip(f"{entry.word}: {entry.definition}\n\nHelp ▸ Glossary (F1) defines every status.")
            return plain_tooltip(self._tooltip(row))
        return None

    @staticmethod
    def _display(row: QueueRow, column: int) -> Any:
        if column == COL_LEVEL:
            return AUTHORITY_LABELS.get(row.level, "No level")
        if column == COL_TITLE:
            return row.title
        if column == COL_SECTIONS:
            return ", ".join(row.section_ids)
        if column == COL_KIND:
            return KIND_LABELS.get(row.kind, row.kind)
        if column == COL_ORIGIN:
            return row.origin
        if column == COL_STATUS:
            label = STATUS_LABELS.get(row.status, row.status)
            if row.status == "pending":
                return f"{label} ({row.votes}/{row.quorum})"
            return label
        if column == COL_SUP:
            return row.supports
        if column == COL_REF:
            return row.refutes
        if column == COL_NC:
            return row.no_comment
        if column in GROUP_COLUMNS:
            if row.groups is None:
                return ""
            if column == COL_BRIDGING:
                return f"{row.groups.bridging * 100:.0f}%"
            return f"{row.groups.divisiveness * 100:.0f}"
        return None

    @staticmethod
    def _tooltip(row: QueueRow) -> str:
        groups = ""
        if row.groups is not None:
            from reviewer.group_support import describe_figures

            groups = describe_figures(row.groups) + "\n"
        return (
            f"{row.title}\n{row.intent}\n\nLevel {row.level} · quorum {row.quorum} · {row.votes} reviewer(s) decided\n"
            f"{row.supports} supports · {row.refutes} refutes · {row.no_comment} no comment · "
            f"{row.unlabelled} unlabelled\n{groups}{row.id}"
        )


def _haystack(row: QueueRow) -> str:
    return " ".join((row.title, row.intent, " ".join(row.section_ids), row.id)).lower()


# What the crowd evidence of a proposal must look like to be shown (the queue's evidence filter).
EVIDENCE_FILTERS: dict[str, tuple[str, Callable[[QueueRow], bool]]] = {
    "leans_refuting": ("Leans refuting (more refutes than supports)", lambda r: r.refutes > r.supports),
    "leans_supporting": ("Leans supporting (more supports than refutes)", lambda r: r.supports > r.refutes),
    "has_refutes": ("Has refuting justifications", lambda r: r.refutes > 0),
    "has_supports": ("Has supporting justifications", lambda r: r.supports > 0),
    "unlabelled": ("Has links without a stance", lambda r: r.unlabelled > 0),
    "none": ("No evidence linked", lambda r: r.supports + r.refutes + r.no_comment + r.unlabelled == 0),
    # By the opinion groups (reviewer.group_support): chosen, they also sort by their figure, highest first.
    "divisive": ("Most divisive (opinion groups 25+ points apart)", lambda r: r.groups is not None and r.groups.divisive),
    "bridging": ("Bridging (above 50% in every opinion group)", lambda r: r.groups is not None and r.groups.bridges),
}
GROUP_SORT_COLUMNS = {"divisive": COL_APART, "bridging": COL_BRIDGING}
"""The column an evidence filter by opinion groups sorts the queue by (descending)."""


class QueueFilter(QSortFilterProxyModel):
    """Filters the queue by free text, by level, kind, origin and status, and by evidence; sorts by any column.

    Attributes:
        text: lower-case words that must all occur in the title, intent, section ids or id.
        levels, kinds, origins, statuses: allowed values (empty = all).
        evidence: a key of ``EVIDENCE_FILTERS`` the proposal's evidence must meet ('' = any).
        only: the proposals shown, whatever else (None = no such limit).
    """

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.text: list[str] = []
        self.levels: set[str] = set()
        self.kinds: set[str] = set()
        self.origins: set[str] = set()
        self.statuses: set[str] = set()
        self.evidence = ""
        self.only: frozenset[str] | None = None
        self.setSortRole(SORT_ROLE)

    def set_only(self, ids: frozenset[str] | None) -> None:
        """Show only the proposals of ``ids`` (what waits for the reviewer, say); None shows all."""
        self.beginFilterChange()
        self.only = ids
        self.endFilterChange()

    def set_text(self, text: str) -> None:
        """Filter by free text (all words must match)."""
        self.beginFilterChange()
        self.text = text.lower().split()
        self.endFilterChange()

    def set_evidence(self, key: str) -> None:
        """Show only proposals whose evidence meets ``EVIDENCE_FILTERS[key]`` ('' shows all)."""
        if key and key not in EVIDENCE_FILTERS:
            raise ValueError(key)
        self.beginFilterChange()
        self.evidence = key
        self.endFilterChange()

    def set_allowed(self, field: str, values: set[str]) -> None:
        """Allow only ``values`` for ``field`` (levels, kinds, origins or statuses); empty allows all."""
        if field not in ("levels", "kinds", "origins", "statuses"):
            raise ValueError(field)
        self.beginFilterChange()
        setattr(self, field, set(values))
        self.endFilterChange()

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:  # noqa: N802 - Qt override
        """Qt override: every active filter must accept the row."""
        model = self.sourceModel()
        if not isinstance(model, QueueModel):
            return True
        row = model.queue_row(source_row)
        if self.only is not None and row.id not in self.only:
            return False
        if self.levels and row.level not in self.levels:
            return False
        if self.kinds and row.kind not in self.kinds:
            return False
        if self.origins and row.origin not in self.origins:
            return False
        if self.statuses and row.status not in self.statuses:
            return False
        if self.evidence and not EVIDENCE_FILTERS[self.evidence][1](row):
            return False
        if self.text:
            haystack = model.haystacks[source_row]
            return all(word in haystack for word in self.text)
        return True
