"""The main window: the review desk (queue, diff, evidence, decision) and the spec, editor, audit tabs."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QGuiApplication,
    QKeySequence,
    QResizeEvent,
    QShortcut,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGridLayout,
    QHeaderView,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QSplitter,
    QTableView,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from reviewer.errors import KnownError
from reviewer.render import escape, render_markdown
from reviewer.textsafe import display_text
from reviewer.workspace_file import DB_FILE
from ui import settings as window_settings
from ui.access import describe, describe_tabs
from ui.desk_layout import ResponsiveDesk
from ui.dialogs import Dialogs
from ui.keys import keyboard_ready
from ui.labels import PlainLabel, RichLabel
from ui.models.queue import (
    COL_LEVEL,
    COL_NC,
    COL_REF,
    COL_SECTIONS,
    COL_STATUS,
    COL_SUP,
    COL_TITLE,
    EVIDENCE_FILTERS,
    GROUP_SORT_COLUMNS,
    KIND_LABELS,
    STATUS_LABELS,
    QueueFilter,
    QueueModel,
)
from ui.models.sections import SectionTreeModel
from ui.relocate import offer_relocation
from ui.style import AUTHORITY_LABELS, authority_badge_html
from ui.tabs import TabWidget
from ui.text_browser import SafeTextBrowser
from ui.views.decision_panel import DecisionPanel
from ui.views.diff_view import DiffView, revision_line
from ui.views.discussion_panel import DiscussionPanel
from ui.views.help import follow_glossary_link, status_link
from ui.views.progress_panel import ProgressPanel
from ui.views.what_if import WhatIfBar
from ui.workers import PageReader, ReadConnection, TaskProgress, WorkspaceLane

if TYPE_CHECKING:
    from reviewer.governance import DecisionResult
    from reviewer.ops import Changes
    from reviewer.proposals import ProposalView
    from reviewer.queue import QueueRow
    from reviewer.spec import Section
    from reviewer.workspace import Overview, Workspace
    from ui.views.help import DeskTour, GlossaryDialog

# The domain modules that pull in the database layer (sqlite-utils, numpy) are imported inside
# the lane's operations, on its thread, so the window paints before they load.

_PAGE_CSS = """
<style>
body { font-family: sans-serif; }
h1, h2, h3, h4 { margin-top: 0.6em; }
pre { background: #f6f8fa; padding: 6px; white-space: pre-wrap; }
.admonition { background: #f4f6fb; border-left: 4px solid #8a94a6; padding: 4px 8px; }
.admonition-title { font-weight: 600; }
.meta { color: #555; }
</style>
"""
LEVELS = ("root", "system", "developer", "user", "guideline", "none")
ORIGINS = ("automated-batch", "automated-single", "human-first", "imported")


_MIN_TITLE = 110  # below this the title says too little (its tooltip and the header say it whole)


def _combo(label: str, items: list[tuple[str, str]]) -> QComboBox:
    combo = QComboBox()
    combo.setToolTip(f"Show only proposals of this {label}")
    combo.addItem(f"Any {label}", "")
    for value, text in items:
        combo.addItem(text, value)
    return combo


MINE = "__mine__"
"""The status filter's "Waiting for me" entry."""


FRAME_ALLOWANCE = QSize(16, 48)
"""Room left on the screen for the window manager's frame and title bar around the first window."""


class QueuePanel(QWidget):
    """The proposal queue with its filters.

    Signals:
        proposal_chosen(str): the current proposal changed (its id).
    """

    proposal_chosen = Signal(str)
    mine_wanted = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = QueueModel(self)
        self.proxy = QueueFilter(self)
        self.proxy.setSourceModel(self.model)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Filter by words in title, intent or section id (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        describe(self.search, "Filter the queue", "Show only proposals with these words in their title, intent or section ids")
        self.search.textChanged.connect(self.proxy.set_text)
        self.filters = {
            "levels": _combo("level", [(lv, AUTHORITY_LABELS.get(lv, "No level")) for lv in LEVELS]),
            "kinds": _combo("kind", list(KIND_LABELS.items())),
            "origins": _combo("origin", [(o, o) for o in ORIGINS]),
            "statuses": _combo("status", list(STATUS_LABELS.items())),
        }
        filter_row = QGridLayout()
        filter_row.setContentsMargins(0, 0, 0, 0)
        filter_row.setSpacing(4)
        # My queue: what waits for the reviewer deciding, given their roles and the quorum.
        self.filters["statuses"].insertItem(1, "Waiting for me", MINE)
        self.filters["statuses"].setItemData(
            1, "Needing my decision, contested, (editors) adopted and waiting to be committed, or with a"
               " discussion thread that mentions me or replies to me",
            Qt.ItemDataRole.ToolTipRole)
        for i, (field, combo) in enumerate(self.filters.items()):
            combo.currentIndexChanged.connect(lambda _i, f=field, c=combo: self.on_filter(f, c.currentData()))
            filter_row.addWidget(combo, i // 3, i % 3)
        self.evidence_filter = QComboBox()
        self.evidence_filter.setToolTip("Show only proposals whose crowd evidence looks like this")
        self.evidence_filter.setAccessibleName("Evidence filter")
        self.evidence_filter.addItem("Any evidence", "")
        for key, (text, _test) in EVIDENCE_FILTERS.items():
            self.evidence_filter.addItem(text, key)
        self.evidence_filter.currentIndexChanged.connect(lambda _i: self.on_evidence_filter())
        filter_row.addWidget(self.evidence_filter, 1, 1, 1, 2)

        self.table = QTableView()
        self.table.setModel(self.proxy)
        describe(self.table, "Proposal queue", "The proposals under review; choose one to read its diff, evidence and decisions. "
                 "Alt+Down and Alt+Up step through it from anywhere on the desk")
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        self.table.setAlternatingRowColors(False)
        header = self.table.horizontalHeader()
        # Fitted to their contents when the rows are read (``fit_columns``), not live: a live fit
        # measures every row again on each changed row (1.2 s for a decision among 1,000 proposals).
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.resizeSection(COL_TITLE, 260)
        header.resizeSection(COL_SECTIONS, 160)
        self.table.selectionModel().currentRowChanged.connect(self.on_current_changed)
        self.count_label = PlainLabel()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.search)
        layout.addLayout(filter_row)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.count_label)
        self.proxy.rowsInserted.connect(self._update_count)
        self.proxy.rowsRemoved.connect(self._update_count)
        self.proxy.modelReset.connect(self._update_count)
        self.proxy.layoutChanged.connect(self._update_count)

    def on_filter(self, field: str, value: str) -> None:
        """A filter combo changed: allow only its value (or, for "Waiting for me", ask the window for the ids)."""
        if field == "statuses":
            mine = value == MINE
            self.proxy.set_allowed(field, set() if mine else {value} - {""})
            if not mine:
                self.proxy.set_only(None)
            self.mine_wanted.emit(mine)
            return
        self.proxy.set_allowed(field, {value} - {""})

    def on_evidence_filter(self) -> None:
        """Filter by the evidence; "divisive" and "bridging" also sort the queue by that figure, highest first."""
        key = self.evidence_filter.currentData() or ""
        self.proxy.set_evidence(key)
        column = GROUP_SORT_COLUMNS.get(key)
        if column is not None:
            self.table.sortByColumn(column, Qt.SortOrder.DescendingOrder)

    def showing_mine(self) -> bool:
        """Whether "Waiting for me" is chosen."""
        return self.filters["statuses"].currentData() == MINE

    def set_rows(self, rows: list[QueueRow]) -> None:
        """Show ``rows`` and keep the current proposal when it is still there."""
        current = self.current_id()
        self.model.set_rows(rows)
        self.fit_columns()
        QTimer.singleShot(0, self, self.fit_title)  # once the counts' columns have their new widths
        if current and self.select(current):
            return
        if self.proxy.rowCount():
            self.table.selectRow(0)

    def fit_columns(self) -> None:
        """Fit every column but the title and the sections to its contents (all rows measured once)."""
        for column in range(self.model.columnCount()):
            if column not in (COL_TITLE, COL_SECTIONS):
                self.table.resizeColumnToContents(column)

    def update_row(self, row: QueueRow) -> None:
        """Show a proposal's new row, widening a column its new text does not fit (never re-measuring them all)."""
        self.model.update_row(row)
        index = self.proxy.mapFromSource(self.model.index(self.model.row_of(row.id), 0))
        if not index.isValid():
            return
        header = self.table.horizontalHeader()
        widened = False
        for column in range(self.model.columnCount()):
            if column in (COL_TITLE, COL_SECTIONS):
                continue
            wanted = self.table.sizeHintForIndex(index.siblingAtColumn(column)).width()
            if wanted > header.sectionSize(column):
                header.resizeSection(column, wanted)
                widened = True
        if widened:
            self.fit_title()

    def current_id(self) -> str | None:
        """Return the id of the current proposal."""
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        return self.model.ids[self.proxy.mapToSource(index).row()]

    def select(self, proposal_id: str) -> bool:
        """Make ``proposal_id`` current; returns False when it is filtered out or unknown."""
        row = self.model.row_of(proposal_id)
        if row < 0:
            return False
        index = self.proxy.mapFromSource(self.model.index(row, COL_TITLE))
        if not index.isValid():
            return False
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        )
        self.table.scrollTo(index)
        return True

    def step(self, delta: int) -> None:
        """Move to the next (+1) or previous (-1) proposal in the filtered order."""
        count = self.proxy.rowCount()
        if not count:
            return
        current = self.table.currentIndex()
        row = (current.row() + delta) if current.isValid() else 0
        row = max(0, min(count - 1, row))
        index = self.proxy.index(row, COL_TITLE)
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        )
        self.table.scrollTo(index)

    def on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        """Report the newly chosen proposal."""
        if current.isValid():
            self.proposal_chosen.emit(self.model.ids[self.proxy.mapToSource(current).row()])

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        """Qt override: keep the title as wide as the panel allows with the counts still in view."""
        super().resizeEvent(event)
        self.fit_title()

    def fit_title(self) -> None:
        """Size the title column so that level, title, status and the three counts fit the panel.

        A count cut off at the panel's edge would read as another number (52 shown as 5); the
        kind, origin and sections columns stay to the right, a scroll away.
        """
        header = self.table.horizontalHeader()
        others = sum(header.sectionSize(c) for c in (COL_LEVEL, COL_STATUS, COL_SUP, COL_REF, COL_NC))
        room = self.table.viewport().width() - others - 2
        header.resizeSection(COL_TITLE, max(room, _MIN_TITLE))

    def _update_count(self, *_args: object) -> None:
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        self.count_label.setText(f"{shown} of {total} proposals" if shown != total else f"{total} proposals")


SYNC_EVERY_MINUTES = 5
"""How often File ▸ Sync every 5 minutes syncs."""


class MainWindow(QMainWindow):
    """The application's main window over one workspace.

    Signals:
        loaded: the workspace overview is on screen.
        load_failed(object): opening the workspace failed (the error).
        detail_shown(str): the review desk or the spec tab shows a proposal or section (its id).
        open_requested(object): the user asked to open another workspace (its path).
        synced(object): a sync finished (its ``reviewer.sync.SyncReport``).
    """

    loaded = Signal()
    load_failed = Signal(object)
    synced = Signal(object)
    detail_shown = Signal(str)
    open_requested = Signal(object)

    def __init__(self, lane: WorkspaceLane, parent: QWidget | None = None, *, remember_layout: bool = True) -> None:
        super().__init__(parent)
        self.lane = lane
        self.remember_layout = remember_layout
        self.overview: Overview | None = None
        self.read: ReadConnection | None = None
        self.reader: PageReader | None = None
        self.current_proposal: str | None = None
        self._shown_view: ProposalView | None = None  # the proposal whose diff is on the desk
        self._select_when_loaded: str | None = None  # a proposal just written: chosen once the queue has it
        self.proposal_editor: QWidget | None = None  # the editor opened last
        self.setWindowTitle("Spec Review")
        self.resize(self._first_size())

        self.header = RichLabel("Opening workspace…")
        self.header.setContentsMargins(8, 6, 8, 6)
        self.header.setWordWrap(True)  # a long repository path wraps instead of widening the window

        # ---- review desk ----
        self.queue = QueuePanel()
        self.queue.proposal_chosen.connect(self.on_proposal_chosen)
        self.queue.mine_wanted.connect(lambda on: self.refresh_mine() if on else None)
        self.proposal_header = RichLabel("Choose a proposal.")
        self.proposal_header.setWordWrap(True)
        self.proposal_header.linkActivated.connect(lambda url: follow_glossary_link(self, url))
        self.proposal_header.setContentsMargins(6, 4, 6, 4)
        self.diff_view = DiffView()
        self.diff_view.link_clicked.connect(self.on_link)
        # "What would this do to agreement?": the proposal's conversations re-ranked under its text.
        self.what_if = WhatIfBar()
        centre = QWidget()
        centre_layout = QVBoxLayout(centre)
        centre_layout.setContentsMargins(0, 0, 0, 0)
        centre_layout.addWidget(self.proposal_header)
        centre_layout.addWidget(self.what_if)
        centre_layout.addWidget(self.diff_view, 1)
        # The discussion under the diff: a thread on a section starts from its heading there.
        self.discussion_panel = DiscussionPanel(lane)
        self.diff_view.discuss_requested.connect(self.discuss_section)
        # Support per opinion group under the diff, level with the evidence's split by a demographic field.
        from ui.views.group_split import GroupSplitPanel

        self.group_split = GroupSplitPanel(lane)
        lane.changed.connect(self.group_split.on_changes)
        self.centre_splitter = QSplitter(Qt.Orientation.Vertical)
        self.centre_splitter.setChildrenCollapsible(False)
        self.centre_splitter.addWidget(centre)
        self.centre_splitter.addWidget(self.group_split)
        self.centre_splitter.addWidget(self.discussion_panel)
        # The diff is what a reviewer reads first: the groups and the discussion take the smaller parts.
        self.centre_splitter.setStretchFactor(0, 5)
        self.centre_splitter.setStretchFactor(1, 1)
        self.centre_splitter.setStretchFactor(2, 2)
        self.centre_splitter.setSizes([560, 150, 240])

        self.decision_panel = DecisionPanel(lane)
        self.decision_panel.decision_saved.connect(self.on_decision_saved)
        # Views follow the record: every operation's changes reach the window and each view.
        # The decision history first (what the reviewer who just recorded looks at), then the queue rows.
        lane.changed.connect(self.decision_panel.on_changes)
        lane.changed.connect(self.discussion_panel.on_changes)
        lane.changed.connect(self.what_if.on_changes)
        lane.changed.connect(self.on_changes)
        lane.warned.connect(self.on_warned)
        self.evidence_slot = QWidget()
        self.evidence_layout = QVBoxLayout(self.evidence_slot)
        self.evidence_layout.setContentsMargins(0, 0, 0, 0)

        self.evidence_view: QWidget | None = None
        self.editor_view: QWidget | None = None
        self.auditor_view: QWidget | None = None
        self.agreement_view: QWidget | None = None
        self.candidates_view: QWidget | None = None
        self.groups_view: QWidget | None = None
        self._fonts_warm = False
        self.missing_scripts: list[str] | None = None  # the scripts no installed font shows (checked once)

        # Side by side when there is room; the queue and the proposal as tabs, or every pane a
        # tab, on smaller screens and at 2x scaling (ui/desk_layout.py).
        self.desk = ResponsiveDesk(self.queue, self.centre_splitter, self.evidence_slot, self.decision_panel)
        self.desk_splitter = self.desk.splitter
        self.right_splitter = self.desk.right
        self.queue.table.activated.connect(lambda _index: self.desk.show_pane(self.centre_splitter))

        # ---- spec tab ----
        self.section_model = SectionTreeModel(self)
        self.section_tree = QTreeView()
        self.section_tree.setModel(self.section_model)
        describe(self.section_tree, "Spec sections", "The sections of the spec; choose one to read it, or several for a new proposal")
        self.section_tree.setUniformRowHeights(True)
        self.section_tree.setAlternatingRowColors(True)
        self.section_tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.section_tree.header().setStretchLastSection(False)
        self.section_tree.selectionModel().currentChanged.connect(self.on_section_chosen)
        # Several sections can be chosen for one new proposal (Ctrl/Shift+click, Shift+arrows).
        self.section_tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.section_tree.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.new_proposal_button = QPushButton("&New proposal on the chosen sections…")
        self.new_proposal_button.setToolTip("Write a proposal changing the sections chosen above (Ctrl+N)")
        self.new_proposal_button.clicked.connect(self.on_new_proposal)
        sections_pane = QWidget()
        sections_layout = QVBoxLayout(sections_pane)
        sections_layout.setContentsMargins(0, 0, 0, 0)
        sections_layout.addWidget(self.section_tree, 1)
        sections_layout.addWidget(self.new_proposal_button)
        self.detail = SafeTextBrowser()
        describe(self.detail, "Section text", "The chosen section rendered, with its level, id and lines")
        self.detail.anchorClicked.connect(self.on_link)
        self.spec_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.spec_splitter.addWidget(sections_pane)
        self.spec_splitter.addWidget(self.detail)
        self.spec_splitter.setSizes([560, 920])

        self.tabs = TabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.desk, "Review")
        self.tabs.addTab(self.spec_splitter, "Spec")

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.header)
        # A join that waits for a crowd file too large for the log (reviewer.held): what, and what to do.
        self.waiting_banner = PlainLabel("")
        self.waiting_banner.setObjectName("waitingBanner")
        self.waiting_banner.setWordWrap(True)
        self.waiting_banner.setContentsMargins(8, 4, 8, 6)
        self.waiting_banner.setAccessibleName("Joining the board")
        self.waiting_banner.hide()
        layout.addWidget(self.waiting_banner)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        self.progress_panel = ProgressPanel()
        self.statusBar().addPermanentWidget(self.progress_panel)
        # Where the board's log stands against origin (commits to send, last sync): File ▸ Sync.
        self.sync_label = PlainLabel("")
        self.sync_label.setAccessibleName("Log sync state")
        self.statusBar().addPermanentWidget(self.sync_label)
        self.fonts_label = PlainLabel("")  # scripts that show as boxes here (``_warm_fonts``)
        self.fonts_label.setAccessibleName("Missing fonts")
        self.fonts_label.hide()
        self.statusBar().addPermanentWidget(self.fonts_label)
        self._load_summary = ""
        self.statusBar().showMessage("Loading…")
        self.sync_progress: TaskProgress | None = None
        self.has_origin = False  # known once the sync state is read
        self.sync_timer = QTimer(self)
        self.sync_timer.setInterval(SYNC_EVERY_MINUTES * 60_000)
        self.sync_timer.timeout.connect(self.on_sync_timer)
        self._page_keys: dict[QAction, list[tuple[QWidget, QShortcut]]] = {}
        self.glossary_dialog: GlossaryDialog | None = None
        self.tour: DeskTour | None = None
        self._build_menus()
        if remember_layout and window_settings.sync_on_timer():
            self.sync_timer_action.setChecked(True)
        self.set_reviewer(window_settings.reviewer_name() if remember_layout else "")
        if remember_layout:
            window_settings.restore_window(
                self, {"desk": self.desk_splitter, "right": self.right_splitter, "spec": self.spec_splitter,
                       "centre": self.centre_splitter}
            )
            first = self._first_size()  # a layout saved on a larger screen (or at 1x scaling) still fits
            if self.width() > first.width() or self.height() > first.height():
                self.resize(min(self.width(), first.width()), min(self.height(), first.height()))

    @staticmethod
    def _first_size() -> QSize:
        """1480×900, or the screen's free area less the window's frame when that is smaller.

        A saved layout overrides it (``settings.restore_window`` keeps that on the screen too).
        """
        screen = QGuiApplication.primaryScreen()
        if screen is None:
            return QSize(1480, 900)
        free = screen.availableGeometry()
        return QSize(min(1480, free.width() - FRAME_ALLOWANCE.width()),
                     min(900, free.height() - FRAME_ALLOWANCE.height()))

    # ---- menus and keys --------------------------------------------------------------------

    def _action(self, menu: object, text: str, keys: list[str] | QKeySequence.StandardKey | None, slot: object) -> QAction:
        action = QAction(text, self)
        if isinstance(keys, list):
            action.setShortcuts([QKeySequence(k) for k in keys])
        elif keys is not None:
            action.setShortcut(keys)
        action.triggered.connect(lambda _checked=False, a=action, s=slot: self._on_action(a, s))
        menu.addAction(action)  # type: ignore[attr-defined]
        self.addAction(action)  # window-wide, whichever pane has the focus
        return action

    def _on_action(self, action: QAction, slot: Any) -> None:
        """Run a window action, or, on a page that binds the same key itself, the page's own meaning of it."""
        page = self.tabs.currentWidget()
        for owner, shortcut in self._page_keys.get(action, ()):
            if owner is page:
                shortcut.activated.emit()
                return
        slot()

    def _adopt_page_keys(self, page: QWidget) -> None:
        """Take over a page's own shortcuts whose keys the window binds too: Qt would fire neither of the two.

        On its page, the page's meaning wins (Ctrl+F filters the audit log there, Ctrl+1 shows the
        editor's diff side by side); F5 stays the window's, which has every page read again.
        """
        window_keys = {key.toString(): action for action in self.actions() for key in action.shortcuts()}
        for shortcut in page.findChildren(QShortcut):
            action = window_keys.get(shortcut.key().toString())
            if action is None or shortcut.context() == Qt.ShortcutContext.WidgetShortcut:
                continue
            shortcut.setEnabled(False)
            if action is not self.reload_action:
                self._page_keys.setdefault(action, []).append((page, shortcut))

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self._action(file_menu, "&Open workspace…", QKeySequence.StandardKey.Open, self.on_open_workspace)
        self.reload_action = self._action(file_menu, "&Reload", QKeySequence.StandardKey.Refresh,
                                          self.reload_everything)
        self._action(file_menu, "&Import crowd data…", ["Ctrl+I"], self.on_import)
        self.sync_action = self._action(file_menu, "S&ync with origin", ["Ctrl+Shift+Y"], self.on_sync)
        self.sync_timer_action = QAction(f"Sync every &{SYNC_EVERY_MINUTES} minutes", self)
        self.sync_timer_action.setCheckable(True)
        self.sync_timer_action.setToolTip("Send and receive the board's log in the background while the window is open")
        self.sync_timer_action.toggled.connect(self.set_sync_on_timer)
        file_menu.addAction(self.sync_timer_action)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", QKeySequence.StandardKey.Quit, self.close)
        go = bar.addMenu("&Go")
        self._action(go, "&Next proposal", ["Alt+Down", "Ctrl+]"], lambda: self._step(1))
        self._action(go, "&Previous proposal", ["Alt+Up", "Ctrl+["], lambda: self._step(-1))
        self._action(go, "&Filter the queue", ["Ctrl+F"], self.focus_filter)
        self._action(go, "Jump to &decision", ["Ctrl+D"], self.focus_decision)
        self._action(go, "&Evidence", ["Ctrl+E"], self.focus_evidence)
        self._action(go, "Dis&cussion: write a comment", ["Ctrl+K"], self.focus_discussion)
        go.addSeparator()
        self._action(go, "Side by side diff", ["Ctrl+1"], lambda: self.diff_view.set_mode("side"))
        self._action(go, "Inline diff", ["Ctrl+2"], lambda: self.diff_view.set_mode("inline"))
        self._action(go, "Preview of the new text", ["Ctrl+3"], lambda: self.diff_view.set_mode("preview"))
        proposal_menu = bar.addMenu("Proposa&l")  # Alt+P is the discussion's Post
        self.new_proposal_action = self._action(proposal_menu, "&New proposal…", QKeySequence.StandardKey.New,
                                                self.on_new_proposal)
        self.new_proposal_action.setToolTip(
            "Write a proposal: on the sections chosen in the Spec tab, or those of the proposal chosen in the queue")
        self.section_tree.addAction(self.new_proposal_action)
        keyboard_ready(self)  # the focused widget's own keys (Alt+Down in a combo box) win over these
        self.queue.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.queue.table.addAction(self.new_proposal_action)
        self.edit_proposal_action = self._action(proposal_menu, "&Edit proposal…", ["Ctrl+Shift+E"],
                                                 self.on_edit_proposal)
        self.edit_proposal_action.setToolTip(
            "Revise the proposal chosen in the queue: its texts, title, intent and kind, saved as a new revision")
        self.queue.table.addAction(self.edit_proposal_action)
        proposal_menu.addSeparator()
        # Ctrl+Z is the evidence view's own key (where labels are set), not the window's: elsewhere it
        # stays with the focused field's own undo.
        self.undo_labels_action = self._action(proposal_menu, "&Undo labels", QKeySequence.StandardKey.Undo,
                                               self.on_undo_labels)
        self.removeAction(self.undo_labels_action)
        self.undo_labels_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.evidence_slot.addAction(self.undo_labels_action)
        self.undo_labels_action.setToolTip("Undo your latest labelling of several justifications at once: each goes"
                                           " back to exactly the stance it had before (Ctrl+Z in the evidence lists)")
        view = bar.addMenu("&View")
        for number in range(self.tabs.count()):
            self._action(view, self.tabs.tabText(number), [f"Alt+{number + 1}"],
                         lambda _=False, i=number: self.tabs.setCurrentIndex(i))
        self.view_menu = view
        settings_menu = bar.addMenu("&Settings")
        self._action(settings_menu, "&Reviewer name…", None, self.on_set_reviewer)
        self._action(settings_menu, "&Model endpoint…", None, self.on_model_settings)
        language_action = self._action(settings_menu, "&Translation language…", None, self.on_translation_language)
        language_action.setToolTip("The language T (in the evidence lists) has the model translate justifications into")
        models = bar.addMenu("&Models")
        self._action(models, "&Run a model task…", ["Ctrl+M"], self.on_judge)
        self.propose_action = self._action(models, "&Propose changes from disagreement…", ["Ctrl+Shift+M"],
                                           self.on_propose)
        self.propose_action.setToolTip(
            "A model proposes spec edits where the crowd and the ranker disagree; only edits that raise agreement "
            "are kept as proposals (all candidates: the Candidates tab)")
        models.addSeparator()
        prices_action = self._action(models, "Price &table…", None, self.on_prices)
        prices_action.setToolTip("What each model costs per million tokens, which the estimates of model tasks use")

        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "&Keyboard shortcuts", ["Ctrl+/"], self.show_shortcuts)
        self._action(help_menu, "&Glossary", ["F1"], lambda: self.show_glossary(None))
        self._action(help_menu, "&Tour of the desk", None, self.show_tour)

    # ---- help ------------------------------------------------------------------------------

    def show_shortcuts(self) -> QWidget:
        """Help ▸ Keyboard shortcuts: the sheet, made from this window's actions as they are now."""
        from ui.views.help import ShortcutsDialog

        dialog = keyboard_ready(ShortcutsDialog(self))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def show_glossary(self, key: str | None = None) -> QWidget:
        """Help ▸ Glossary, at entry ``key`` (a status word's link): one glossary window, brought forward."""
        from ui.views.help import GlossaryDialog

        if self.glossary_dialog is None:
            self.glossary_dialog = keyboard_ready(GlossaryDialog(self))
        self.glossary_dialog.show_entry(key)
        return self.glossary_dialog

    def show_tour(self) -> QWidget:
        """Help ▸ Tour of the desk: a few steps beside the queue, the diff, the evidence and the decision panel."""
        from ui.views.help import DeskTour

        self.tabs.setCurrentIndex(0)
        evidence = self.evidence_view or self.evidence_slot
        steps = [
            (self.queue, "1. The queue",
             "Every proposal, with its level, status and evidence counts. Filter it (Ctrl+F); Alt+Down and "
             "Alt+Up step to the next and previous proposal from anywhere on the desk."),
            (self.diff_view, "2. The diff",
             "What the proposal changes: the current text beside the proposed one (Ctrl+1, Ctrl+2, Ctrl+3 "
             "switch the view). Discuss a section from its heading."),
            (evidence, "3. The evidence",
             "The crowd's justifications for and against the change, and how each group splits (Ctrl+E). "
             "On a justification, S, R and N label it; Enter opens its conversation."),
            (self.decision_panel, "4. The decision",
             "Adopt, defer or set aside, with a reason and a rationale; Ctrl+Enter records it (Ctrl+D comes "
             "here). A status word leads to its meaning in the glossary (F1)."),
        ]
        if self.tour is not None:
            self.tour.close()
        self.tour = tour = keyboard_ready(DeskTour(self, steps))
        tour.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        tour.finished_tour.connect(self._tour_ended)
        tour.show()
        return tour

    def _tour_ended(self) -> None:
        self.tour = None
        if self.remember_layout:
            window_settings.set_tour_seen()

    def add_tab(self, widget: QWidget, title: str) -> None:
        """Add a page (editor, audit, agreement) with an Alt+number key; it scrolls on a small screen."""
        self.tabs.add_scrolling_page(widget, title)
        self._adopt_page_keys(widget)
        number = self.tabs.count()
        self._action(self.view_menu, title, [f"Alt+{number}"], lambda _=False, w=widget: self.tabs.setCurrentWidget(w))

    def on_undo_labels(self) -> None:
        """Proposal ▸ Undo labels: undo the reviewer's latest bulk labelling (the evidence view says what happened)."""
        view = getattr(self, "evidence_view", None)
        if view is not None:
            self.tabs.setCurrentIndex(0)
            view.undo_labels()

    def set_evidence_view(self, view: QWidget) -> None:
        """Place the evidence view above the decision panel."""
        self.evidence_view = view
        self.evidence_layout.addWidget(view)

    def _step(self, delta: int) -> None:
        self.tabs.setCurrentIndex(0)
        self.queue.step(delta)

    def focus_filter(self) -> None:
        """Put the cursor in the queue's text filter."""
        self.tabs.setCurrentIndex(0)
        self.queue.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.queue.search.selectAll()

    def focus_decision(self) -> None:
        """Move the keyboard focus to the decision panel."""
        self.tabs.setCurrentIndex(0)
        self.desk.show_pane(self.decision_panel)
        self.decision_panel.focus_decision()

    def focus_discussion(self) -> None:
        """Move the keyboard focus to the Discussion pane's comment editor."""
        self.tabs.setCurrentIndex(0)
        self.desk.show_pane(self.centre_splitter)
        self.discussion_panel.focus_comment()

    def discuss_section(self, section_id: str) -> None:
        """Start a discussion thread on a section of the proposal shown (from the diff)."""
        self.discussion_panel.start_on_section(section_id)

    def discuss_justification(self, justification_id: str) -> None:
        """Start a discussion thread on a justification linked to the proposal shown (from the evidence lists)."""
        self.desk.show_pane(self.centre_splitter)
        self.discussion_panel.start_on_justification(justification_id)

    def focus_evidence(self) -> None:
        """Move the keyboard focus to the evidence view."""
        self.tabs.setCurrentIndex(0)
        self.desk.show_pane(self.evidence_slot)
        if self.evidence_view is not None:
            self.evidence_view.setFocus(Qt.FocusReason.ShortcutFocusReason)

    # ---- reviewer --------------------------------------------------------------------------

    def set_reviewer(self, name: str) -> None:
        """Act as ``name`` in the decision panel and the evidence view."""
        self.reviewer = name
        self.what_if.actor = name or None
        self.decision_panel.set_reviewer(name)
        self.discussion_panel.set_reviewer(name)
        for view, method in ((self.evidence_view, "set_reviewer"), (self.editor_view, "set_editor"),
                             (self.groups_view, "set_actor")):
            setter = getattr(view, method, None)
            if setter is not None:
                setter(name)
        if self.queue.showing_mine():
            self.refresh_mine()

    def refresh_mine(self) -> None:
        """Read what waits for the reviewer deciding (``queue --mine``) and show only that in the queue."""
        name = self.reviewer
        if not name:
            self.queue.proxy.set_only(frozenset())
            self.statusBar().showMessage("Waiting for me: choose who you are first (Settings ▸ Reviewer name…).")
            return

        def read(ws: Workspace) -> Any:
            from reviewer.queue import waiting_for

            return waiting_for(ws.store, name)

        def show(waiting: Any) -> None:
            if name != self.reviewer or not self.queue.showing_mine():
                return  # the reviewer or the filter changed meanwhile
            self.queue.proxy.set_only(frozenset(w.row.id for w in waiting))
            from collections import Counter

            from reviewer.queue import WAITING_KINDS

            kinds = Counter(w.kind for w in waiting)
            proposals = len({w.row.id for w in waiting})
            self.statusBar().showMessage(display_text(
                f"{proposals} proposal{'' if proposals == 1 else 's'} waiting for {name}"
                + (": " + ", ".join(f"{kinds[k]} {label}" for k, label in WAITING_KINDS.items() if kinds[k])
                   if waiting else ".")))

        def failed(error: BaseException) -> None:
            self.queue.proxy.set_only(frozenset())
            self.statusBar().showMessage(display_text(f"Waiting for me: {error}"))

        self.lane.run(read, success=show, failure=failed)

    def on_set_reviewer(self) -> None:
        """Choose who is deciding from the workspace's members (with their roles), and remember it."""
        def load(ws: Workspace) -> list[tuple[str, tuple[str, ...]]]:
            from reviewer import governance

            return [(m.name, m.roles) for m in governance.list_members(ws.store)]

        self.lane.run(load, success=self.choose_reviewer)

    def choose_reviewer(self, members: list[tuple[str, tuple[str, ...]]]) -> None:
        """Offer ``members`` as "name — roles"; the one chosen decides from now on."""
        if not members:
            Dialogs.show_error(self, KnownError(
                "This workspace has no members yet.",
                hint="Add one with `spec-review member add WORKSPACE NAME --role reviewer`.",
            ))
            return
        names = [name for name, _roles in members]
        from reviewer.textsafe import display_text

        labels = [display_text(f"{name} — {', '.join(roles) or 'no roles'}") for name, roles in members]
        current = names.index(self.reviewer) if self.reviewer in names else 0
        chosen = Dialogs.ask_item(self, "Who is deciding", "Workspace member (roles):", labels, current)
        if chosen is not None:
            window_settings.set_reviewer_name(names[chosen])
            self.set_reviewer(names[chosen])

    def on_open_workspace(self) -> None:
        """Ask for a workspace folder and open it in place of this one."""
        folder = Dialogs.ask_folder(self, "Open workspace")
        if folder:
            self.open_requested.emit(Path(folder))

    # ---- loading ---------------------------------------------------------------------------

    def reload(self) -> None:
        """Read the workspace overview and the queue in the background and show them."""
        self.statusBar().showMessage("Loading…")
        def load(ws: Workspace) -> tuple[Overview, list[QueueRow]]:
            from reviewer.queue import queue_rows

            return ws.overview(), queue_rows(ws.store)

        self.lane.run(load, success=self.show_overview, failure=self.on_load_failed)

    def reload_everything(self) -> None:
        """F5: read the overview and queue again, and have every view read again (at once if shown, else when shown).

        What changed outside the app (a commit made by hand in the spec repository, another
        process's import) reaches no view through the lane's changes: F5 is how a user asks.
        """
        from reviewer.ops import Area, Changes

        self.reload()
        everything = Changes(areas=frozenset(Area), all_proposals=True)
        for view in (self.editor_view, self.auditor_view, self.agreement_view, self.candidates_view,
                     self.groups_view):
            if view is not None:
                view.on_changes(everything)  # type: ignore[attr-defined]
        if self.current_proposal:
            self.on_proposal_chosen(self.current_proposal)  # its diff, evidence and decisions

    def on_load_failed(self, error: BaseException) -> None:
        """Show why the workspace could not be read."""
        self.header.setText(f"<b>Cannot open the workspace</b>: {escape(str(error))}")
        self.statusBar().showMessage("Not loaded")
        if not offer_relocation(self, error):  # a moved spec repository: offer to choose its new folder
            Dialogs.show_error(self, error)
        self.load_failed.emit(error)

    def show_overview(self, loaded: tuple[Overview, list[QueueRow]]) -> None:
        """Fill the views from a freshly read overview."""
        overview, rows = loaded
        self.overview = overview
        self.what_if.set_workspace(overview.root, self.lane.changed, self.lane.warned)
        if self.read is None:
            self.read = ReadConnection(overview.root / DB_FILE)
            self.reader = PageReader(overview.root / DB_FILE, self)
            # Everything loaded so far lives as long as the window: keep it out of the garbage
            # collector's full scans, which otherwise pause scrolling for tens of milliseconds.
            gc.freeze()
        spec = overview.spec
        self.setWindowTitle(display_text(f"Spec Review — {overview.name}"))
        branch = escape(overview.branch) if overview.branch else "<i>detached HEAD</i>"
        tag = next((name for name, sha in reversed(overview.releases) if sha == spec.revision), None)
        release = f" · release <b>{escape(tag)}</b>" if tag else ""
        dirty = ' · <span style="color:#b3261e">uncommitted changes in the spec repository</span>' if overview.dirty else ""
        self.header.setText(
            f"<b>{escape(overview.name)}</b> &nbsp;·&nbsp; <code>{escape(overview.spec_file)}</code> in "
            f"<code>{escape(str(overview.spec_repo))}</code>"
            f" &nbsp;·&nbsp; {branch} @ <code>{spec.revision[:10]}</code>{release}{dirty}"
        )
        self.section_model.set_document(spec.document)
        self.section_tree.expandAll()
        self.section_tree.resizeColumnToContents(1)
        sections = sum(1 for s in spec.document.sections if s.id)
        counts = overview.counts
        self._load_summary = (
            f"{sections} sections · {counts['proposals']} proposals · {counts['decisions']} decisions · "
            f"{counts['conversations']} conversations · {counts['participants']} participants · "
            f"{counts['assessments']} assessments · {len(overview.releases)} releases"
        )
        self.statusBar().showMessage(self._load_summary)
        self.tabs.setTabText(0, f"Review ({counts['proposals']})")
        self.tabs.setTabText(1, f"Spec ({sections})")
        self._build_later_views()
        self.queue.set_rows(rows)
        if self._select_when_loaded and self.queue.model.row_of(self._select_when_loaded) >= 0:
            self.show_proposal_on_desk(self._select_when_loaded)
            self._select_when_loaded = None
        self.refresh_sync_state()
        self.loaded.emit()
        if self.remember_layout and self.tour is None and not window_settings.tour_seen() and rows:
            window_settings.set_tour_seen()  # shown once, even if the app is closed during it
            QTimer.singleShot(400, self, self.show_tour)  # the first start: once the desk has its panes
        if not self._fonts_warm:
            self._fonts_warm = True
            # With the window as context, the timer dies with it (a window closed within 200 ms).
            QTimer.singleShot(200, self, self._warm_fonts)

    def _warm_fonts(self) -> None:
        """Load the fallback fonts while idle, and say once if a script has no font here (its text shows as boxes)."""
        from ui.fonts import missing_fonts_message, missing_scripts, warm_up

        warm_up(self.font())
        if self.missing_scripts is None:
            self.missing_scripts = missing_scripts()
            if self.missing_scripts:
                message = missing_fonts_message(self.missing_scripts)
                # Said once in the message line, unless something newer is there (it is not pushed
                # aside); and kept beside the sync state, its tooltip saying which scripts.
                if self.statusBar().currentMessage() in ("", self._load_summary):
                    self.statusBar().showMessage(message)
                self.fonts_label.setText(f"⚠ no font for {len(self.missing_scripts)} "
                                         f"script{'' if len(self.missing_scripts) == 1 else 's'}")
                every = missing_fonts_message(self.missing_scripts, every=True)
                self.fonts_label.setToolTip(every)
                self.fonts_label.setAccessibleDescription(every)
                self.fonts_label.show()

    def _build_later_views(self) -> None:
        """Build the views that need the database layer, once the overview has arrived (not before first paint)."""
        if self.editor_view is not None or self.read is None or self.reader is None:
            return
        from ui.views.auditor_view import AuditorView
        from ui.views.conversation_view import ConversationDialog
        from ui.views.editor_view import EditorView
        from ui.views.evidence_view import EvidenceView

        evidence = EvidenceView(self.lane, self.reader)
        evidence.set_reviewer(self.reviewer)
        evidence.set_translate_to(window_settings.translate_to())
        self.decision_panel.split_field = evidence.current_field
        self.decision_panel.seen_evidence = evidence.seen_evidence
        evidence.split_shown.connect(self.decision_panel.on_split_shown)
        self.conversation_dialog = keyboard_ready(ConversationDialog(self.lane, self))
        evidence.conversation_requested.connect(self.conversation_dialog.open_conversation)
        evidence.discussion_requested.connect(self.discuss_justification)
        self.set_evidence_view(evidence)
        if self.current_proposal:
            evidence.set_proposal(self.current_proposal)

        self.editor_view = EditorView(self.lane)
        self.editor_view.set_editor(self.reviewer)
        self.auditor_view = AuditorView(self.lane, self.read, self.reader)
        from ui.views.agreement_view import AgreementView

        self.agreement_view = AgreementView(self.lane)
        # Each view refreshes itself from the changes (at once when shown, else when next shown).
        for view in (evidence, self.editor_view, self.auditor_view, self.agreement_view):
            self.lane.changed.connect(view.on_changes)
        self.agreement_view.proposal_requested.connect(self.show_proposal_on_desk)
        self.agreement_view.conversation_requested.connect(self.conversation_dialog.open_conversation)
        from ui.views.groups_view import OpinionGroupsView

        groups_view = self.groups_view = OpinionGroupsView(self.lane)
        groups_view.set_actor(self.reviewer)
        self.lane.changed.connect(groups_view.on_changes)
        self.add_tab(self.editor_view, "Editor")
        self.add_tab(self.auditor_view, "Audit")
        self.add_tab(self.agreement_view, "Agreement")
        from ui.views.candidates_view import CandidatesView

        candidates = self.candidates_view = CandidatesView(self.lane)
        self.lane.changed.connect(candidates.on_changes)
        candidates.proposal_requested.connect(self.show_proposal_on_desk)
        candidates.conversation_requested.connect(self.conversation_dialog.open_conversation)
        self.add_tab(candidates, "Candidates")
        self.add_tab(groups_view, "Groups")
        keyboard_ready(self)  # the views just built: Tab leaves each of them
        describe_tabs(self.tabs, "The review desk: the queue, a proposal's diff, its evidence and the decision (Alt+1)",
                      "The spec's sections, read one by one (Alt+2)",
                      "Commit adopted proposals to the spec (Alt+3)", "The audit log and its checks (Alt+4)",
                      "How much the crowd agrees with each section (Alt+5)",
                      "Every spec edit a model proposed from disagreement, kept or not, and why (Alt+6)",
                      "The opinion groups found in the crowd's own rankings or votes, and what sets each apart (Alt+7)")

    def on_changes(self, changes: Changes) -> None:
        """Follow an operation's changes: the overview when the crowd or the spec moved, else the queue rows it names."""
        from reviewer.ops import Area

        self.refresh_sync_state()
        if self.queue.showing_mine():
            self.refresh_mine()  # a decision or commit changes what waits for whom
        new_proposal = any(self.queue.model.row_of(p) < 0 for p in changes.proposal_ids)
        if new_proposal or changes.touches(Area.CROWD, Area.COMMITS, Area.WORKSPACE, Area.RANKINGS, Area.RELEVANCE):
            self.reload()  # counts, the spec's revision and every queue row
        elif changes.touches(Area.PROPOSALS, Area.DECISIONS, Area.LABELS, Area.LINKS, Area.QUORUM, Area.GROUPS):
            self.refresh_queue_rows(None if changes.all_proposals else sorted(changes.proposal_ids))
        if changes.touches(Area.PROPOSALS) and changes.touches_proposal(self.current_proposal):
            self._read_shown_proposal()  # a revision (here or received): its text, header and revisions

    def _read_shown_proposal(self) -> None:
        """Read the chosen proposal's diff and header again (the panels follow the changes themselves)."""
        proposal_id = self.current_proposal
        if proposal_id is None:
            return

        def load(ws: Workspace) -> ProposalView:
            from reviewer.proposals import proposal_view

            return proposal_view(ws, proposal_id)

        self.lane.run(load, success=self.show_proposal)

    def show_proposal_on_desk(self, proposal_id: str) -> None:
        """Switch to the review desk with ``proposal_id`` chosen (clearing filters that hide it)."""
        self.tabs.setCurrentIndex(0)
        if not self.queue.select(proposal_id):
            self.queue.search.clear()
            for combo in self.queue.filters.values():
                combo.setCurrentIndex(0)
            self.queue.select(proposal_id)

    def on_import(self) -> None:
        """Open the import dialog; reload the workspace after an import."""
        from ui.views.import_dialog import ImportDialog

        dialog = keyboard_ready(ImportDialog(self.lane, self, actor=self.reviewer or None))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()

    def on_judge(self) -> None:
        """Open the dialog that estimates and runs a model task (on its own lane)."""
        if self.overview is None:
            return
        from ui.views.judge_dialog import JudgeDialog

        dialog = keyboard_ready(JudgeDialog(self.overview.root, self, proposal_id=self.current_proposal,
                                            actor=self.reviewer or None))
        # The dialog's own lane: its runs' changes reach the same views as the window's.
        dialog.lane.changed.connect(self.lane.changed)
        dialog.lane.warned.connect(self.lane.warned)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()

    def on_propose(self) -> QWidget | None:
        """Open Models ▸ Propose changes from disagreement… (on its own lane; the sections chosen in the Spec tab checked)."""
        if self.overview is None:
            return None
        from ui.views.propose_dialog import ProposeDialog

        sections = self.chosen_sections() if self.tabs.currentWidget() is self.spec_splitter else []
        dialog = ProposeDialog(self.overview.root, self, sections=sections, actor=self.reviewer or None)
        dialog.lane.changed.connect(self.lane.changed)
        dialog.lane.warned.connect(self.lane.warned)
        dialog.candidates_requested.connect(self.show_candidates)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def show_candidates(self) -> None:
        """Switch to the Candidates tab."""
        if self.candidates_view is not None:
            self.tabs.setCurrentWidget(self.candidates_view)
            self.activateWindow()  # the dialog that asked stays open, beside it

    def on_translation_language(self) -> str | None:
        """Settings ▸ Translation language…: choose what the evidence view's T translates into."""
        chooser = getattr(self.evidence_view, "choose_translation_language", None)
        return chooser() if chooser is not None else None

    def on_model_settings(self) -> None:
        """Open the model endpoint settings of this workspace."""
        if self.overview is None:
            return
        from ui.views.model_settings import ModelSettingsDialog

        dialog = keyboard_ready(ModelSettingsDialog(self.overview.root, self))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()

    def on_prices(self) -> QWidget | None:
        """Models ▸ Price table…: the prices of this workspace and the user's, editable."""
        if self.overview is None:
            return None
        from ui.views.prices_dialog import PricesDialog

        dialog = keyboard_ready(PricesDialog(self.overview.root, self))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    # ---- the review desk -------------------------------------------------------------------

    def on_proposal_chosen(self, proposal_id: str) -> None:
        """Load the chosen proposal's diff, evidence and decisions."""
        self.current_proposal = proposal_id
        self.what_if.set_proposal(None)  # until its revision is read with its diff

        def load(ws: Workspace) -> ProposalView:
            from reviewer.proposals import proposal_view

            return proposal_view(ws, proposal_id)

        self.lane.run(load, success=self.show_proposal)
        self.decision_panel.set_proposal(proposal_id)
        self.discussion_panel.set_proposal(proposal_id)
        self.group_split.set_proposal(proposal_id)
        setter = getattr(self.evidence_view, "set_proposal", None)
        if setter is not None:
            setter(proposal_id)

    def show_proposal(self, view: ProposalView) -> None:
        """Show a proposal's metadata above the diff of each of its sections."""
        p = view.proposal
        if p.id != self.current_proposal:
            return  # the reviewer has moved on
        self._shown_view = view
        self.what_if.set_proposal(p.id, p.revision)
        self._set_proposal_header(view)
        self.diff_view.set_view(view)
        self.detail_shown.emit(p.id)

    def _set_proposal_header(self, view: ProposalView) -> None:
        """Write the proposal's title, metadata with its current status, and intent above the diff."""
        p = view.proposal
        row = self.queue.model.row_of(p.id)
        status = self.queue.model.queue_row(row).status if row >= 0 else "open"
        revised = f" · {escape(revision_line(view.revisions[-1]))}" if view.revisions else ""
        self.proposal_header.setText(
            f"<h2 style='margin:0'>{escape(p.title)}</h2>"
            f"<p style='color:#555;margin:2px 0'>{escape(KIND_LABELS.get(p.kind, p.kind))} · {escape(p.origin)} · by "
            f"{escape(p.created_by)} · {escape(p.created_at[:10])} · {status_link(status, STATUS_LABELS.get(status, status))}"
            f"{revised}</p>"
            f"<p style='margin:2px 0'><b>Intent.</b> {escape(p.intent)}</p>"
        )

    def on_sync(self, *, quietly: bool = False) -> None:
        """Send and receive the board's log through the spec repository's ``origin`` (off the GUI thread).

        The status bar shows each step with a Cancel button, honoured until the received record is
        applied. ``quietly`` (the timer's syncs): a failure is named in the status bar, not in a box.
        """
        if self.sync_progress is not None:
            return  # one sync at a time
        actor = self.reviewer or "spec-review"
        progress = self.sync_progress = TaskProgress(self)
        self.sync_action.setEnabled(False)
        self.progress_panel.attach(progress, "Syncing with origin…")
        self.statusBar().showMessage("Syncing with origin…")

        def run(ws: Workspace) -> Any:
            from reviewer import operations

            return operations.sync(ws, remote="origin", actor=actor, progress=progress)

        self.lane.perform(run, success=self.on_synced,
                          failure=lambda error: self.on_sync_failed(error, quietly=quietly))

    def _sync_ended(self) -> None:
        self.sync_progress = None
        self.sync_action.setEnabled(True)
        self.progress_panel.done()

    def on_sync_failed(self, error: BaseException, *, quietly: bool = False) -> None:
        """Say the sync failed and why (nothing was applied: a sync applies all it received or nothing)."""
        from reviewer.progress import Cancelled

        self._sync_ended()
        if isinstance(error, Cancelled):
            self.statusBar().showMessage("Sync cancelled: nothing was received.")
        elif quietly:
            self.statusBar().showMessage(display_text(f"Sync failed: {error} (File ▸ Sync with origin says more)."))
        else:
            self.statusBar().showMessage("Sync failed")
            Dialogs.show_error(self, error)
        self.refresh_sync_state()

    def set_sync_on_timer(self, on: bool) -> None:
        """Sync every few minutes while the window is open (remembered)."""
        if on:
            self.sync_timer.start()
        else:
            self.sync_timer.stop()
        if self.remember_layout:
            window_settings.set_sync_on_timer(on)

    def on_sync_timer(self) -> None:
        """A timed sync: only when origin exists and nothing else runs on the lane."""
        if self.sync_progress is None and self.has_origin and not self.lane.busy():
            self.on_sync(quietly=True)

    def on_synced(self, report: Any) -> None:
        """Say what the sync sent and received, naming what arrived (the views follow its changes)."""
        from reviewer.sync import describe_event

        self._sync_ended()
        arrived = [describe_event(e) for e in report.received]
        text = report.describe()
        if arrived:
            text += " " + "; ".join(arrived[:3]) + (f"; and {len(arrived) - 3} more" if len(arrived) > 3 else "") + "."
        self.statusBar().showMessage(display_text(text))
        self.refresh_sync_state()
        self.synced.emit(report)

    def refresh_sync_state(self) -> None:
        """Read where the log stands against origin (local git only) and show it in the status bar."""
        def read(ws: Workspace) -> Any:
            from reviewer.sync import sync_state

            return sync_state(ws)

        def show(state: Any) -> None:
            self.has_origin = state.remote is not None
            self.sync_label.setText(state.describe())
            waiting = state.waiting
            self.waiting_banner.setVisible(waiting is not None)
            if waiting is not None:
                self.waiting_banner.setText(
                    f"Still joining the board: {waiting.held:,} events of its log wait for the crowd file "
                    f"{waiting.file_words()}, which the log does not carry (over 50 MB). Import that file "
                    "(File ▸ Import crowd data…, under any name) to finish; until then this workspace can be "
                    "read but not changed.")

        self.lane.run(read, success=show,
                      failure=lambda error: self.sync_label.setText(display_text(f"log: state unknown ({error})")))

    def on_warned(self, text: str) -> None:
        """Show what went wrong after a change was saved; it stays until the next message."""
        self.statusBar().showMessage(display_text(f"Warning: {text}"))

    def on_decision_saved(self, result: DecisionResult) -> None:
        """Say what was recorded (the queue row follows from the decision's changes)."""
        self.statusBar().showMessage(display_text(
            f"Recorded {result.decision.outcome.replace('_', ' ')} by {result.decision.reviewer}; "
            f"the proposal is now {STATUS_LABELS.get(result.status.status, result.status.status).lower()}."), 8000
        )

    def refresh_queue_rows(self, proposal_ids: list[str] | None) -> None:
        """Re-read these proposals' queue rows (status, evidence counts); None: every row."""
        def load(ws: Workspace) -> list[QueueRow]:
            from reviewer.queue import queue_rows

            return queue_rows(ws.store, proposal_ids)

        self.lane.run(load, success=self._update_rows)

    def _update_rows(self, rows: list[QueueRow]) -> None:
        for row in rows:
            self.queue.update_row(row)
        shown = self._shown_view
        if shown is not None and shown.proposal.id == self.current_proposal and any(
            r.id == self.current_proposal for r in rows
        ):
            self._set_proposal_header(shown)  # its status line follows the queue's

    # ---- writing proposals -----------------------------------------------------------------

    def chosen_sections(self) -> list[str]:
        """The sections a new proposal starts with: those chosen in the Spec tab, or the current proposal's."""
        if self.tabs.currentWidget() is self.spec_splitter:
            rows = self.section_tree.selectionModel().selectedRows(0) or [self.section_tree.currentIndex()]
            sections = [self.section_model.section_at(index) for index in rows]
            return [s.id for s in sorted((s for s in sections if s is not None and s.id), key=lambda s: s.start_line)
                    if s.id]
        shown = self._shown_view
        if shown is not None and shown.proposal.id == self.current_proposal:
            return [s.section_id for s in shown.sections]
        return []

    def on_new_proposal(self) -> None:
        """Open the proposal editor on the chosen sections (Proposal ▸ New proposal…, Ctrl+N)."""
        if self.overview is None:
            return
        if not self.reviewer:
            Dialogs.show_error(self, KnownError(
                "Choose who you are first: a proposal is written by a person.",
                hint="Settings ▸ Reviewer name…, then Proposal ▸ New proposal… again."))
            return
        self.open_proposal_editor(sections=self.chosen_sections())

    def on_edit_proposal(self) -> None:
        """Open the proposal editor on the chosen proposal; saving makes a new revision (Proposal ▸ Edit proposal…)."""
        shown = self._shown_view
        if self.overview is None or shown is None or shown.proposal.id != self.current_proposal:
            return
        if not self.reviewer:
            Dialogs.show_error(self, KnownError(
                "Choose who you are first: a revision is made by a person.",
                hint="Settings ▸ Reviewer name…, then Proposal ▸ Edit proposal… again."))
            return
        if shown.committed:
            Dialogs.show_error(self, KnownError(
                "This proposal was committed; a committed proposal is not revised.",
                hint="Write a new proposal (Proposal ▸ New proposal…) for a further change."))
            return
        from reviewer.proposals import draft_from_proposal

        proposal = shown.proposal
        seen = proposal.revision

        def save(ws: Workspace, draft: Any, actor: str) -> Any:
            from reviewer import operations

            # The revision the editor was opened on: a revision made meanwhile is never overwritten.
            return operations.revise_proposal(ws, proposal.id, actor=actor, changes=list(draft.changes),
                                              title=draft.title, intent=draft.intent, kind=draft.kind,
                                              seen_revision=seen)

        # An edit keeps the spec the proposal was written against: the diff and check are against it.
        self.open_proposal_editor(draft=draft_from_proposal(proposal, proposal.base_revision), save=save,
                                  links=False, title=f"Edit proposal (revision {seen + 1})",
                                  save_text=f"&Save as revision {seen + 1}")

    def open_proposal_editor(self, *, sections: list[str] | tuple[str, ...] = (), draft: Any = None, save: Any = None,
                             links: bool = True, title: str = "New proposal",
                             save_text: str = "&Save proposal") -> QWidget:
        """Open the proposal editor (new, or pre-filled from ``draft`` with its own ``save``: an "Edit…" action)."""
        from ui.views.proposal_editor import ProposalEditor

        editor = ProposalEditor(self.lane, self, actor=self.reviewer, sections=sections, draft=draft, save=save,
                                links=links, title=title, save_text=save_text)
        keyboard_ready(editor)
        editor.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        editor.saved.connect(self.on_proposal_written)
        dialog = getattr(self, "conversation_dialog", None)
        if dialog is not None:
            editor.conversation_requested.connect(lambda c, j: dialog.open_conversation(c, j or None))
        self.proposal_editor = editor
        editor.show()
        return editor

    def on_proposal_written(self, value: Any) -> None:
        """Say what was saved, and choose it on the desk once the queue has been read again."""
        revision = getattr(value, "revision", None) if hasattr(value, "proposal_id") else None
        proposal_id = getattr(value, "proposal_id", None) or getattr(value, "id", None)
        title = getattr(value, "title", "")
        if not proposal_id:
            return
        saved = f"Saved revision {revision} of “{title}”." if revision else f"Saved proposal “{title}”."
        self.statusBar().showMessage(display_text(saved), 8000)
        if self.queue.model.row_of(proposal_id) >= 0:
            self.show_proposal_on_desk(proposal_id)
        else:
            self._select_when_loaded = proposal_id

    # ---- the spec tab ----------------------------------------------------------------------

    def on_section_chosen(self, current: QModelIndex, _previous: QModelIndex) -> None:
        """Show the chosen section rendered."""
        section = self.section_model.section_at(current)
        if section is not None:
            self.show_section(section)

    def show_section(self, section: Section) -> None:
        """Render one section with its metadata."""
        examples = len(section.examples)
        meta = (
            f"<p class='meta'>{authority_badge_html(section.authority)} &nbsp; "
            f"<code>#{escape(section.id or '(no id)')}</code> · level {section.level} · "
            f"lines {section.start_line}–{section.end_line} · {examples} example{'' if examples == 1 else 's'}"
            + (f" · tags {escape(', '.join(section.tags))}" if section.tags else "")
            + "</p>"
        )
        self.detail.setHtml(_PAGE_CSS + meta + render_markdown(section.text))
        self.detail_shown.emit(section.id or "")

    def on_link(self, url: QUrl) -> None:
        """Follow an in-spec cross reference (``#section_id``) to that section."""
        if url.fragment() and not url.host():
            index = self.section_model.index_of(url.fragment())
            if index.isValid():
                self.tabs.setCurrentWidget(self.spec_splitter)
                self.section_tree.setCurrentIndex(index)
                self.section_tree.scrollTo(index)
                return
        Dialogs.show_error(self, KnownError(f"The link {url.toString()} does not lead to a section of this spec."))

    # ---- closing ---------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        """Save the layout, wait for background work, and close the read connection."""
        if self.remember_layout:
            window_settings.save_window(
                self, {"desk": self.desk_splitter, "right": self.right_splitter, "spec": self.spec_splitter,
                       "centre": self.centre_splitter}
            )
        for timer in self.findChildren(QTimer):
            timer.stop()  # a view's pause after typing would otherwise read through the lanes closed below
        stop_translation = getattr(self.evidence_view, "stop_translation", None)
        if stop_translation is not None:
            stop_translation()  # its lane is shut down below: a slow endpoint must not hold the window open
        self.lane.shutdown(wait=True)
        for child in self.findChildren(WorkspaceLane):
            child.shutdown(wait=True)
        if self.reader is not None:
            self.reader.shutdown(wait=True)
            self.reader = None
        if self.read is not None:
            self.read.close()
            self.read = None
        super().closeEvent(event)
