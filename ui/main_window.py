"""The main window: spec sections and proposals on the left, the selected item on the right."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QSortFilterProxyModel, Qt, QUrl, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QMainWindow,
    QSplitter,
    QStackedWidget,
    QTableView,
    QTabWidget,
    QTextBrowser,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from reviewer.errors import KnownError
from reviewer.proposals import ProposalView, proposal_view
from reviewer.render import escape, render_markdown
from reviewer.spec import Section
from reviewer.workspace import Overview
from ui import settings as window_settings
from ui.dialogs import Dialogs
from ui.models.proposals import KIND_LABELS, STATUS_LABELS, ProposalTableModel
from ui.models.sections import SectionTreeModel
from ui.style import authority_badge_html
from ui.views.diff_view import DiffView
from ui.workers import WorkspaceLane

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


class MainWindow(QMainWindow):
    """The application's main window over one workspace.

    Signals:
        loaded: the workspace overview is on screen.
        load_failed(object): opening the workspace failed (the error).
        detail_shown(str): the detail pane shows a section or proposal (its id).
    """

    loaded = Signal()
    load_failed = Signal(object)
    detail_shown = Signal(str)

    def __init__(self, lane: WorkspaceLane, parent: QWidget | None = None, *, remember_layout: bool = True) -> None:
        super().__init__(parent)
        self.lane = lane
        self.remember_layout = remember_layout
        self.overview: Overview | None = None
        self.setWindowTitle("Spec Review")
        self.resize(1280, 800)

        self.header = QLabel("Opening workspace…")
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.header.setContentsMargins(8, 6, 8, 6)

        self.section_model = SectionTreeModel(self)
        self.section_tree = QTreeView()
        self.section_tree.setModel(self.section_model)
        self.section_tree.setUniformRowHeights(True)
        self.section_tree.setAlternatingRowColors(True)
        self.section_tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.section_tree.header().setStretchLastSection(False)
        self.section_tree.selectionModel().currentChanged.connect(self.on_section_chosen)

        self.proposal_model = ProposalTableModel(self)
        self.proposal_proxy = QSortFilterProxyModel(self)
        self.proposal_proxy.setSourceModel(self.proposal_model)
        self.proposal_table = QTableView()
        self.proposal_table.setModel(self.proposal_proxy)
        # Queue order (oldest first) until the reviewer clicks a column header.
        self.proposal_table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.proposal_table.setSortingEnabled(True)
        self.proposal_table.setWordWrap(False)
        self.proposal_table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.proposal_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.proposal_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.proposal_table.verticalHeader().hide()
        # The title is what a reviewer scans: it keeps a readable width; the section ids take the rest.
        header = self.proposal_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setStretchLastSection(False)
        header.resizeSection(0, 300)
        self.proposal_table.selectionModel().currentRowChanged.connect(self.on_proposal_chosen)

        self.tabs = QTabWidget()
        self.tabs.addTab(self.proposal_table, "Proposals")
        self.tabs.addTab(self.section_tree, "Spec sections")

        self.detail = QTextBrowser()
        self.detail.setOpenLinks(False)
        self.detail.anchorClicked.connect(self.on_link)

        self.proposal_header = QLabel()
        self.proposal_header.setWordWrap(True)
        self.proposal_header.setTextFormat(Qt.TextFormat.RichText)
        self.proposal_header.setContentsMargins(6, 4, 6, 4)
        self.diff_view = DiffView()
        self.diff_view.browser.anchorClicked.connect(self.on_link)
        proposal_page = QWidget()
        proposal_layout = QVBoxLayout(proposal_page)
        proposal_layout.setContentsMargins(0, 0, 0, 0)
        proposal_layout.addWidget(self.proposal_header)
        proposal_layout.addWidget(self.diff_view, 1)
        self.right = QStackedWidget()
        self.right.addWidget(self.detail)
        self.right.addWidget(proposal_page)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.tabs)
        self.splitter.addWidget(self.right)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setSizes([720, 680])

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.header)
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)
        self.statusBar().showMessage("Loading…")
        self._build_menus()
        if remember_layout:
            window_settings.restore_window(self, {"main": self.splitter})

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        reload_action = QAction("&Reload", self)
        reload_action.setShortcut(QKeySequence.StandardKey.Refresh)
        reload_action.triggered.connect(self.reload)
        file_menu.addAction(reload_action)
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        view_menu = self.menuBar().addMenu("&View")
        for number, name in ((1, "Proposals"), (2, "Spec sections")):
            action = QAction(name, self)
            action.setShortcut(QKeySequence(f"Alt+{number}"))
            action.triggered.connect(lambda _=False, i=number - 1: self.tabs.setCurrentIndex(i))
            view_menu.addAction(action)

    # ---- loading ---------------------------------------------------------------------------

    def reload(self) -> None:
        """Read the workspace overview in the background and show it."""
        self.statusBar().showMessage("Loading…")
        self.lane.run(lambda ws: ws.overview(), success=self.show_overview, failure=self.on_load_failed)

    def on_load_failed(self, error: BaseException) -> None:
        """Show why the workspace could not be read."""
        self.header.setText(f"<b>Cannot open the workspace</b>: {escape(str(error))}")
        self.statusBar().showMessage("Not loaded")
        Dialogs.show_error(self, error)
        self.load_failed.emit(error)

    def show_overview(self, overview: Overview) -> None:
        """Fill the views from a freshly read overview."""
        self.overview = overview
        spec = overview.spec
        self.setWindowTitle(f"Spec Review — {overview.name}")
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
        self.proposal_model.set_proposals(overview.proposals)
        sections = sum(1 for s in spec.document.sections if s.id)
        counts = overview.counts
        self.statusBar().showMessage(
            f"{sections} sections · {counts['proposals']} proposals · {counts['decisions']} decisions · "
            f"{counts['conversations']} conversations · {counts['participants']} participants · "
            f"{len(overview.releases)} releases"
        )
        self.tabs.setTabText(0, f"Proposals ({counts['proposals']})")
        self.tabs.setTabText(1, f"Spec sections ({sections})")
        if self.proposal_proxy.rowCount() and not self.proposal_table.currentIndex().isValid():
            self.proposal_table.selectRow(0)
        self.loaded.emit()

    # ---- details ---------------------------------------------------------------------------

    def on_section_chosen(self, current: QModelIndex, _previous: QModelIndex) -> None:
        """Show the chosen section rendered."""
        section = self.section_model.section_at(current)
        if section is not None:
            self.show_section(section)

    def show_section(self, section: Section) -> None:
        """Render one section with its metadata."""
        meta = (
            f"<p class='meta'>{authority_badge_html(section.authority)} &nbsp; "
            f"<code>#{escape(section.id or '(no id)')}</code> · level {section.level} · "
            f"lines {section.start_line}–{section.end_line} · "
            f"{len(section.examples)} example{'' if len(section.examples) == 1 else 's'}"
            + (f" · tags {escape(', '.join(section.tags))}" if section.tags else "")
            + "</p>"
        )
        self.detail.setHtml(_PAGE_CSS + meta + render_markdown(section.text))
        self.right.setCurrentWidget(self.detail)
        self.detail_shown.emit(section.id or "")

    def on_proposal_chosen(self, current: QModelIndex, _previous: QModelIndex) -> None:
        """Load the chosen proposal's comparison with the current spec in the background."""
        if not current.isValid():
            return
        source = self.proposal_proxy.mapToSource(current)
        proposal_id = self.proposal_model.ids[source.row()]
        self.lane.run(lambda ws: proposal_view(ws, proposal_id), success=self.show_proposal)

    def show_proposal(self, view: ProposalView) -> None:
        """Show a proposal: its metadata above the diff of each of its sections."""
        p = view.proposal
        self.proposal_header.setText(
            f"<h2 style='margin:0'>{escape(p.title)}</h2>"
            f"<p style='color:#555;margin:2px 0'>{escape(KIND_LABELS.get(p.kind, p.kind))} · {escape(p.origin)} · by "
            f"{escape(p.created_by)} · {escape(p.created_at[:10])} · "
            f"{escape(STATUS_LABELS.get(self._status_of(p.id), 'Open'))}</p>"
            f"<p style='margin:2px 0'><b>Intent.</b> {escape(p.intent)}</p>"
        )
        self.diff_view.set_view(view)
        self.right.setCurrentIndex(1)
        self.detail_shown.emit(p.id)

    def _status_of(self, proposal_id: str) -> str:
        if self.overview is None:
            return "open"
        return next((s.status for s in self.overview.proposals if s.id == proposal_id), "open")

    def on_link(self, url: QUrl) -> None:
        """Follow an in-spec cross reference (``#section_id``) to that section."""
        if url.fragment() and not url.host():
            index = self.section_model.index_of(url.fragment())
            if index.isValid():
                self.tabs.setCurrentWidget(self.section_tree)
                self.section_tree.setCurrentIndex(index)
                self.section_tree.scrollTo(index)
                return
        Dialogs.show_error(self, KnownError(f"The link {url.toString()} does not lead to a section of this spec."))

    # ---- closing ---------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        """Save the layout and wait for background work before closing."""
        if self.remember_layout:
            window_settings.save_window(self, {"main": self.splitter})
        self.lane.shutdown(wait=True)
        super().closeEvent(event)


def proposal_row_of(model: ProposalTableModel, proposal_id: str) -> int:
    """Return the source row of a proposal (-1 when absent)."""
    try:
        return model.ids.index(proposal_id)
    except ValueError:
        return -1


