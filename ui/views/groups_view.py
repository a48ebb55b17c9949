"""The Groups tab: the crowd's opinion groups (PCA, then k-means), their make-up and what sets each apart."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QPointF,
    QRectF,
    QSize,
    Qt,
)
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from reviewer.palette import GROUP_COLOURS
from reviewer.render import escape
from ui.access import describe
from ui.labels import PlainLabel, RichLabel
from ui.text_browser import SafeTextBrowser
from ui.views.progress_panel import ProgressPanel
from ui.workers import TaskProgress

if TYPE_CHECKING:
    from reviewer.groups import GroupsView as RunView
    from reviewer.groups import OpinionGroup
    from reviewer.ops import Changes
    from reviewer.workspace import Workspace
    from ui.workers import WorkspaceLane

_Index = QModelIndex | QPersistentModelIndex


def group_colour(index: int) -> QColor:
    """The colour of group ``index`` (the app's colour-blind-safe group palette)."""
    return QColor(GROUP_COLOURS[index % len(GROUP_COLOURS)])


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


class GroupsTableModel(QAbstractTableModel):
    """One row per opinion group: its label, size, share of everyone grouped and its most over-represented values."""

    COLUMNS = ("Group", "Size", "Share", "Most over-represented")
    GROUP, SIZE, SHARE, OVER = range(4)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.groups: list[OpinionGroup] = []
        self.total = 0

    def set_groups(self, groups: list[OpinionGroup]) -> None:
        """Show ``groups``."""
        self.beginResetModel()
        self.groups = list(groups)
        self.total = sum(g.size for g in groups) or 1
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Qt override."""
        return 0 if parent.isValid() else len(self.groups)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Qt override."""
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Qt override."""
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Qt override."""
        if not index.isValid() or not 0 <= index.row() < len(self.groups):
            return None
        g = self.groups[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == self.GROUP:
                return f"Group {g.label}"
            if column == self.SIZE:
                return f"{g.size:,}"
            if column == self.SHARE:
                return _pct(g.size / self.total)
            return over_represented(g)
        if role == Qt.ItemDataRole.DecorationRole and column == self.GROUP:
            return group_colour(g.index)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (self.SIZE, self.SHARE):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


def over_represented(group: OpinionGroup, most: int = 2) -> str:
    """The values most over-represented in ``group`` against everyone grouped (``Japan 40% vs 12%``)."""
    found = []
    for name, values in group.make_up.items():
        for m in values:
            if m.value != "(unknown)" and m.count >= 3 and m.share > m.overall:
                found.append((m.share / max(m.overall, 1e-9), f"{m.value} {_pct(m.share)} vs {_pct(m.overall)}", name))
    found.sort(key=lambda f: -f[0])
    return " · ".join(text for _ratio, text, _name in found[:most])


class GroupMap(QWidget):
    """The participants on the two principal components, coloured by group (an even sample of at most a few thousand)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.points: list[tuple[float, float, int]] = []
        self.labels: list[tuple[float, float, str, int]] = []
        self.setMinimumSize(QSize(220, 180))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAccessibleName("Map of the participants by opinion group")

    def set_points(self, points: list[tuple[float, float, int]], view: RunView | None) -> None:
        """Draw ``points`` (x, y, group) and each group's letter at its centre."""
        self.points = points
        self.labels = [(g.centre[0], g.centre[1], g.label, g.index) for g in view.groups] if view else []
        self.setAccessibleDescription(
            f"{len(points)} participants drawn; groups " + ", ".join(f"{g.label} ({g.size})" for g in view.groups)
            if view else "no groups")
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        """Qt override: the points, then the groups' letters."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        painter.fillRect(self.rect(), palette.color(palette.ColorRole.Base))
        if not self.points:
            painter.setPen(QColor("#6b6b6b"))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No groups computed yet.")
            painter.end()
            return
        xs = [p[0] for p in self.points]
        ys = [p[1] for p in self.points]
        low_x, high_x, low_y, high_y = min(xs), max(xs), min(ys), max(ys)
        span_x, span_y = (high_x - low_x) or 1.0, (high_y - low_y) or 1.0
        area = QRectF(self.rect()).adjusted(14, 14, -14, -14)

        def place(x: float, y: float) -> QPointF:
            return QPointF(area.left() + (x - low_x) / span_x * area.width(),
                           area.bottom() - (y - low_y) / span_y * area.height())

        painter.setPen(Qt.PenStyle.NoPen)
        for x, y, g in self.points:
            colour = group_colour(g)
            colour.setAlpha(150)
            painter.setBrush(colour)
            painter.drawEllipse(place(x, y), 2.5, 2.5)
        font = painter.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.4)
        painter.setFont(font)
        for x, y, label, g in self.labels:
            at = place(x, y)
            box = QRectF(at.x() - 11, at.y() - 11, 22, 22)
            painter.setBrush(palette.color(palette.ColorRole.Base))
            painter.setPen(group_colour(g))
            painter.drawEllipse(box)
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, label)
        painter.end()


SOURCES = (("ca1", "CA-1 rankings"), ("polis", "Pol.is votes"))


class OpinionGroupsView(QWidget):
    """The Groups tab: compute (off the GUI thread, with progress and Cancel) and read the opinion groups.

    Refreshes from the lane's changes: new groups (here or received), or crowd data imported (the
    groups may be stale then, and the summary says so).
    """

    def __init__(self, lane: WorkspaceLane, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lane = lane
        self.actor = ""
        self.view: RunView | None = None
        self._stale = True
        self._generation = 0
        self.progress: TaskProgress | None = None

        self.source_box = QComboBox()
        self.source_box.setAccessibleName("Crowd input")
        self.source_box.setToolTip("Find the groups in the CA-1 rankings or in a Pol.is export's votes")
        for value, text in SOURCES:
            self.source_box.addItem(text, value)
        self.source_box.currentIndexChanged.connect(lambda _i: self.refresh())
        source_label = PlainLabel("Gro&ups in:")  # Alt+G is the Go menu
        source_label.setBuddy(self.source_box)
        self.compute_button = QPushButton("&Compute groups")
        self.compute_button.setToolTip(
            "PCA to two components, then k-means with k from 2 to 5 chosen by silhouette (seeded): recorded as"
            " an operation; computed again only when the crowd data changed")
        self.compute_button.clicked.connect(lambda: self.compute(force=False))
        self.progress_panel = ProgressPanel()
        controls = QHBoxLayout()
        controls.addWidget(source_label)
        controls.addWidget(self.source_box)
        controls.addWidget(self.compute_button)
        controls.addWidget(self.progress_panel)
        controls.addStretch(1)

        self.summary = RichLabel("Choose the crowd input and compute its opinion groups.")
        self.summary.setWordWrap(True)
        self.model = GroupsTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(GroupsTableModel.OVER, QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().currentRowChanged.connect(lambda current, _p: self.show_group(current.row()))
        describe(self.table, "Opinion groups", "Each opinion group: its size, its share of the crowd and how far it "
                 "stands from everyone else; choose one to see its make-up")
        self.map = GroupMap()
        left = self.left_splitter = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(self.table)
        left.addWidget(self.map)
        left.setStretchFactor(0, 1)
        left.setStretchFactor(1, 2)
        self.detail = SafeTextBrowser()
        self.detail.setPlaceholderText("Choose a group to see its make-up and what sets it apart.")
        describe(self.detail, "The chosen group", "The chosen group's demographic make-up against everyone, and the "
                 "statements or conversations that most set it apart")
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)

        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.summary)
        layout.addWidget(self.splitter, 1)

    # ---- public API ----------------------------------------------------------------------------

    def set_actor(self, name: str) -> None:
        """Record computations under ``name`` ('' records them as the app)."""
        self.actor = (name or "").strip()

    def on_changes(self, changes: Changes) -> None:
        """Read again when groups were computed (here or received) or crowd data came in."""
        from reviewer.ops import Area

        if changes.touches(Area.GROUPS, Area.CROWD):
            self._stale = True
            if self.isVisible():
                self.refresh()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        """Qt override: read the groups when first shown, or when changed while hidden."""
        super().showEvent(event)
        if self._stale:
            self.refresh()

    def source(self) -> str:
        """The crowd input chosen (``ca1`` or ``polis``)."""
        return str(self.source_box.currentData())

    # ---- reading -------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the stored groups of the chosen source (never computing them) on the lane."""
        self._stale = False
        self._generation += 1
        generation, source = self._generation, self.source()

        def read(ws: Workspace) -> Any:
            from reviewer import groups

            run = groups.current_run(ws.store, source)
            state = groups.freshness(ws.store, source)
            if run is None:
                return None, [], state
            return groups.groups_view(ws.store, run), groups.group_points(ws.store, run.id), state

        self.lane.run(read, success=lambda found: self.show_groups(generation, found), failure=self.on_failed, context=self)

    def show_groups(self, generation: int, found: tuple[Any, list[tuple[float, float, int]], Any]) -> None:
        """Show a run's groups (unless a newer read was asked for)."""
        if generation != self._generation:
            return
        view, points, state = found
        self.view = view
        self.map.set_points(points, view)
        if view is None:
            self.model.set_groups([])
            self.detail.clear()
            self.summary.setText(f"No opinion groups computed from the {escape(self.source_box.currentText())} yet:"
                                 " <b>Compute groups</b> finds them.")
            return
        self.model.set_groups(view.groups)
        # The table as tall as its rows (up to ten groups), the map below it the rest.
        rows = self.table.horizontalHeader().height() + 4 + sum(
            self.table.rowHeight(r) for r in range(self.model.rowCount()))
        total = sum(self.left_splitter.sizes()) or 600
        self.left_splitter.setSizes([rows, max(total - rows, 180)])
        self.summary.setText(summary_html(view, state.reason if state.stale else ""))
        self.table.selectRow(0)
        self.show_group(0)

    def show_group(self, row: int) -> None:
        """Show one group's make-up and what sets it apart."""
        if self.view is None or not 0 <= row < len(self.view.groups):
            return
        self.detail.setHtml(group_html(self.view.groups[row], self.view.run.source))

    def on_failed(self, error: BaseException) -> None:
        """Say why the groups could not be read or computed."""
        from ui.workers import describe_error

        self._set_busy(False)
        self.summary.setText(f"<span style='color:#b3261e'>{escape(describe_error(error)[0])}</span>")

    # ---- computing -----------------------------------------------------------------------------

    def compute(self, *, force: bool) -> None:
        """Compute the chosen source's groups on the lane (an operation), with progress and Cancel."""
        if self.progress is not None:
            return
        source, actor = self.source(), self.actor or "spec-review"
        progress = self.progress = TaskProgress(self)
        self._set_busy(True)
        self.progress_panel.attach(progress, "Finding opinion groups…")

        def run(ws: Workspace) -> Any:
            from reviewer import operations

            return operations.compute_groups(ws, source, actor=actor, progress=progress, force=force)

        self.lane.perform(run, success=self.on_computed, failure=self.on_compute_failed, context=self)

    def on_computed(self, _run: Any) -> None:
        """Computed (or current already): read what is stored."""
        self._set_busy(False)
        self.refresh()

    def on_compute_failed(self, error: BaseException) -> None:
        """Say why nothing was computed (a cancel writes nothing)."""
        from reviewer.progress import Cancelled

        self._set_busy(False)
        if isinstance(error, Cancelled):
            self.summary.setText("Cancelled: no groups were written.")
            return
        self.on_failed(error)

    def _set_busy(self, busy: bool) -> None:
        self.compute_button.setEnabled(not busy)
        self.source_box.setEnabled(not busy)
        if not busy and self.progress is not None:
            self.progress = None
            self.progress_panel.done()


def summary_html(view: RunView, stale: str = "") -> str:
    """One paragraph on a run: k, who is grouped and left out, silhouette, ARI, when and by whom."""
    from reviewer.groups import source_label

    run = view.run
    tried = ", ".join(f"{k}: {v:.2f}" for k, v in sorted(run.detail.get("silhouettes", {}).items()))
    ari = (f" · adjusted Rand index against the export's own groups <b>{run.ari:.2f}</b>"
           f" ({run.detail.get('ari_compared')} participants)" if run.ari is not None else "")
    note = (f"<br><span style='color:#b3261e'>Out of date: {escape(stale)}. <b>Compute groups</b> finds them"
            " again.</span>" if stale else "")
    return (
        f"<b>{run.k} opinion groups</b> in the {escape(source_label(run.source))}: {run.participants:,} participants"
        f" grouped, {run.left_out:,} left out with fewer than {run.params.get('min_entries')} entries"
        f" · silhouette {run.silhouette:.2f} (k {escape(tried)}){ari}"
        f" · seed {run.params.get('seed')} · computed {escape(run.created_at[:16].replace('T', ' '))} by"
        f" {escape(run.created_by)}{note}"
    )


def group_html(group: OpinionGroup, source: str) -> str:
    """A group's make-up (each field's values against everyone) and the items that most set it apart, escaped."""
    from reviewer.groups import describe_item

    colour = group_colour(group.index).name()
    parts = [f"<h3 style='margin:0'><span style='color:{colour}'>\u25cf</span> Group {group.label}"
             f" \u2014 {group.size:,} participants</h3>"]
    if group.distinctive:
        what = "statements" if source == "polis" else "preferences"
        parts.append(f"<p><b>The {what} that most set it apart</b> (share of the group that goes this way,"
                     " against everyone else grouped):</p><ul>")
        for d, text in group.distinctive:
            said = " ".join(describe_item(d, text).split())
            said = said if len(said) <= 240 else said[:239] + "\u2026"
            parts.append(f"<li><b>{_pct(d.share_in)}</b> vs {_pct(d.share_out)}: {escape(said)}</li>")
        parts.append("</ul>")
    else:
        parts.append("<p>No item sets this group clearly apart.</p>")
    if group.polis_groups:
        theirs = ", ".join(f"{escape(k)}: {n}" for k, n in sorted(group.polis_groups.items()))
        parts.append(f"<p><b>In the export's own groups</b> (group-id): {theirs}</p>")
    parts.append("<p><b>Make-up</b> (share of the group · of everyone grouped):</p>")
    for name, values in group.make_up.items():
        if not values:
            continue
        cells = " · ".join(
            f"{'<b>' if m.share > m.overall + 0.1 else ''}{escape(m.value)} {_pct(m.share)}"
            f"{'</b>' if m.share > m.overall + 0.1 else ''} <span style='color:#5f6b7a'>({_pct(m.overall)})</span>"
            for m in values)
        parts.append(f"<p style='margin:2px 0'><i>{escape(name.replace('_', ' '))}</i>: {cells}</p>")
    return "".join(parts)
