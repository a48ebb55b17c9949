"""The Candidates tab: every edit the automated loop proposed, kept or rejected, with why.

Each candidate shows its section, mode, models and prompts, the conversations it was written from
(each opens), agreement before → after with intervals, its status and reason, and the candidates
merged with it. A kept one leads to its proposal on the review desk; a rejected one shows its text
against the section. Reads go through named queries (``reviewer.propose.list_candidates``,
``reviewer.candidates.candidate_text``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QModelIndex, QSortFilterProxyModel, Qt, QUrl, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from reviewer.errors import KnownError
from reviewer.ops import Area
from reviewer.render import escape
from ui.changes import Follower
from ui.labels import PlainLabel, RichLabel, plain_tooltip
from ui.models.texts import TextTableModel
from ui.text_browser import SafeTextBrowser
from ui.views.diff_view import side_by_side_html
from ui.workers import WorkspaceLane

if TYPE_CHECKING:
    from reviewer.candidates import CandidateText
    from reviewer.ops import Changes
    from reviewer.propose import CandidateRow, Figures

COLUMNS = ("When (UTC)", "Section", "Status", "Mode", "Model / prompt", "Conversations", "Agreement before → after",
           "Change", "Title")
STATUS_COLOURS = {"kept": "#1a7f37", "merged": "#0550ae", "rejected": "#b3261e"}
STATUS_WORDS = {"kept": "Kept", "merged": "Merged", "rejected": "Rejected"}
STATUS_ROLE = Qt.ItemDataRole.UserRole + 1
SECTION_ROLE = Qt.ItemDataRole.UserRole + 2


def pct(x: float | None, signed: bool = False) -> str:
    """A share as a percentage ("–" when missing), or a signed change in points."""
    if x is None:
        return "–"
    return f"{x * 100:+.1f}" if signed else f"{x * 100:.1f}%"


def figures_text(f: Figures) -> str:
    """Agreement before → after with their intervals ("not tested" without figures)."""
    if f.change is None:
        return "not tested"
    return (f"{pct(f.before)} ({pct(f.before_low)}–{pct(f.before_high)}) → "
            f"{pct(f.after)} ({pct(f.after_low)}–{pct(f.after_high)})")


def change_text(f: Figures) -> str:
    """The paired change in points with its interval."""
    if f.change is None:
        return "–"
    return f"{pct(f.change, True)} [{pct(f.change_low, True)}, {pct(f.change_high, True)}]"


class CandidatesModel(TextTableModel):
    """Every stored candidate, newest first.

    Attributes:
        rows: the candidates shown, in order.
    """

    COLUMNS = COLUMNS

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: list[CandidateRow] = []

    def set_rows(self, rows: list[CandidateRow]) -> None:
        """Show ``rows`` (as ``list_candidates`` returns them)."""
        self.beginResetModel()
        self.rows = list(rows)
        self._texts = [(
            r.created_at[:19].replace("T", " "), r.section_id, STATUS_WORDS.get(r.status, r.status), r.mode,
            f"{r.model} / {r.prompt_version}",
            f"{len(r.conversations)} + {len(r.holdout)} held out", figures_text(r.figures), change_text(r.figures),
            " ".join(r.title.split()),
        ) for r in self.rows]
        self.endResetModel()

    def row_of(self, candidate_id: str) -> int:
        """The row of a candidate (-1 when not shown)."""
        return next((n for n, r in enumerate(self.rows) if r.id == candidate_id), -1)

    def tooltip(self, row: int) -> str:
        """Qt tooltip: the candidate's reason."""
        return plain_tooltip(self.rows[row].reason)

    def foreground(self, row: int) -> Any:
        """Kept green, merged blue, rejected red."""
        return QColor(STATUS_COLOURS.get(self.rows[row].status, "#000000"))

    def data(self, index: Any, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Qt override: also each row's status and section, for the filters."""
        if index.isValid() and 0 <= index.row() < len(self.rows):
            if role == STATUS_ROLE:
                return self.rows[index.row()].status
            if role == SECTION_ROLE:
                return self.rows[index.row()].section_id
        return super().data(index, role)


class CandidatesFilter(QSortFilterProxyModel):
    """Shows the candidates of one section and one status (either may be any)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.section: str = ""
        self.status: str = ""

    def set_filter(self, section: str, status: str) -> None:
        """Show only ``section``'s candidates with ``status`` ("" for any)."""
        self.beginFilterChange()
        self.section, self.status = section, status
        self.endFilterChange()

    def filterAcceptsRow(self, source_row: int, source_parent: Any) -> bool:  # noqa: N802 - Qt override
        """Qt override."""
        index = self.sourceModel().index(source_row, 0, source_parent)
        return ((not self.section or index.data(SECTION_ROLE) == self.section)
                and (not self.status or index.data(STATUS_ROLE) == self.status))


class CandidatesView(QWidget):
    """The automated loop's candidates, with a detail pane for the one chosen.

    Signals:
        loaded(): the list was read and shown.
        detail_shown(str): a candidate's detail (and, for a rejected one, its diff) is shown (its id).
        proposal_requested(str): show this proposal on the review desk.
        conversation_requested(str): open this conversation.
        failed(object): reading failed (the error).
    """

    loaded = Signal()
    detail_shown = Signal(str)
    proposal_requested = Signal(str)
    conversation_requested = Signal(str)
    failed = Signal(object)

    def __init__(self, lane: WorkspaceLane, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lane = lane
        self.model = CandidatesModel(self)
        self.proxy = CandidatesFilter(self)
        self.proxy.setSourceModel(self.model)
        self.section_box = QComboBox()
        self.section_box.setAccessibleName("Show the candidates of this section")
        self.section_box.addItem("All sections", "")
        self.status_box = QComboBox()
        self.status_box.setAccessibleName("Show the candidates with this status")
        self.status_box.addItem("Any status", "")
        for status, word in STATUS_WORDS.items():
            self.status_box.addItem(word, status)
        section_label = PlainLabel("Sect&ion:")
        section_label.setBuddy(self.section_box)
        status_label = PlainLabel("Stat&us:")
        status_label.setBuddy(self.status_box)
        self.count_label = PlainLabel("")
        filters = QHBoxLayout()
        filters.addWidget(section_label)
        filters.addWidget(self.section_box)
        filters.addWidget(status_label)
        filters.addWidget(self.status_box)
        filters.addWidget(self.count_label, 1)
        self.section_box.currentIndexChanged.connect(self.on_filter)
        self.status_box.currentIndexChanged.connect(self.on_filter)

        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setAccessibleName("Candidates")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.selectionModel().currentRowChanged.connect(self.on_current_changed)
        self.table.activated.connect(self.on_activated)

        self.summary = RichLabel("Choose a candidate.")
        self.summary.setWordWrap(True)
        self.desk_button = QPushButton("Show on the &desk")
        self.desk_button.setToolTip("Show the proposal this candidate became on the review desk (Enter in the list)")
        self.desk_button.setEnabled(False)
        self.desk_button.clicked.connect(self.on_show_on_desk)
        self.detail = SafeTextBrowser()
        self.detail.setAccessibleName("The chosen candidate: why, its conversations and its text")
        self.detail.anchorClicked.connect(self.on_link)
        detail_pane = QWidget()
        detail_layout = QVBoxLayout(detail_pane)
        detail_layout.setContentsMargins(0, 0, 0, 0)
        head = QHBoxLayout()
        head.addWidget(self.summary, 1)
        head.addWidget(self.desk_button, 0, Qt.AlignmentFlag.AlignTop)
        detail_layout.addLayout(head)
        detail_layout.addWidget(self.detail, 1)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setChildrenCollapsible(False)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addLayout(filters)
        top_layout.addWidget(self.table, 1)
        self.splitter.addWidget(top)
        self.splitter.addWidget(detail_pane)
        self.splitter.setSizes([300, 400])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.splitter)
        self._shown: str | None = None
        self.follower = Follower(self, self.refresh, lambda c: c.touches(Area.CANDIDATES, Area.PROPOSALS, Area.COMMITS))

    # ---- reading ---------------------------------------------------------------------------

    def on_changes(self, changes: Changes) -> None:
        """Read again when a propose run (here or received) stored candidates."""
        self.follower.on_changes(changes)

    def refresh(self) -> None:
        """Read every candidate on the lane."""
        def read(ws: Any) -> list[CandidateRow]:
            from reviewer.propose import list_candidates

            return list_candidates(ws.store)

        self.lane.run(read, success=self.show_rows, failure=self.on_failed, context=self)

    def show_rows(self, rows: list[CandidateRow]) -> None:
        """Show ``rows``, keeping the chosen candidate and the filters."""
        current = self.current()
        self.model.set_rows(rows)
        section = self.section_box.currentData()
        self.section_box.blockSignals(True)
        self.section_box.clear()
        self.section_box.addItem("All sections", "")
        for section_id in sorted({r.section_id for r in rows}):
            self.section_box.addItem(section_id, section_id)
        self.section_box.setCurrentIndex(max(0, self.section_box.findData(section))
                                         if section else 0)
        self.section_box.blockSignals(False)
        self.on_filter()
        for column in range(len(COLUMNS) - 1):
            self.table.resizeColumnToContents(column)
        if not (current and self.select(current.id)) and self.proxy.rowCount():
            self.table.selectRow(0)
        if not rows:
            self.summary.setText("No candidates yet: Models ▸ Propose changes from disagreement… makes some.")
            self.detail.clear()
        self.loaded.emit()

    def on_filter(self, *_args: object) -> None:
        """Show only the chosen section's and status's candidates."""
        self.proxy.set_filter(self.section_box.currentData() or "", self.status_box.currentData() or "")
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        self.count_label.setText(f"{shown} of {total} candidates" if shown != total else f"{total} candidates")

    def current(self) -> CandidateRow | None:
        """The chosen candidate."""
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        return self.model.rows[self.proxy.mapToSource(index).row()]

    def select(self, candidate_id: str) -> bool:
        """Choose a candidate (clearing filters that hide it); False when it is not stored."""
        row = self.model.row_of(candidate_id)
        if row < 0:
            return False
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        if not index.isValid():
            self.section_box.setCurrentIndex(0)
            self.status_box.setCurrentIndex(0)
            index = self.proxy.mapFromSource(self.model.index(row, 0))
        self.table.setCurrentIndex(index)
        self.table.scrollTo(index)
        return True

    # ---- the chosen candidate ------------------------------------------------------------

    def on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        """Show the chosen candidate: at once from its row, then its text and conversations from the lane."""
        row = self.current() if current.isValid() else None
        if row is None:
            return
        self._shown = row.id
        self.desk_button.setEnabled(bool(row.proposal_id))
        self.summary.setText(self._summary_html(row))
        self.detail.setHtml(self._detail_html(row, None))

        def read(ws: Any) -> CandidateText:
            from reviewer.candidates import candidate_text

            return candidate_text(ws, row.id)

        self.lane.run(read, success=lambda text: self._show_text(row, text), failure=self.on_failed, context=self)

    def _show_text(self, row: CandidateRow, text: CandidateText) -> None:
        if self._shown != row.id:
            return  # another candidate was chosen meanwhile
        self.detail.setHtml(self._detail_html(row, text))
        self.detail_shown.emit(row.id)

    def _summary_html(self, row: CandidateRow) -> str:
        colour = STATUS_COLOURS.get(row.status, "#000")
        return (f"<b style='color:{colour}'>{escape(STATUS_WORDS.get(row.status, row.status))}</b> · "
                f"<b>{escape(row.title)}</b> <span style='color:#555'>({escape(row.kind)})</span><br/>"
                f"{escape(row.reason)}")

    def _detail_html(self, row: CandidateRow, text: CandidateText | None) -> str:
        f = row.figures
        origin = "automated-batch" if row.mode == "batch" else "automated-single"
        parts = [
            f"<p><b>Section</b> <code>{escape(row.section_id)}</code> · <b>mode</b> {escape(row.mode)} "
            f"(origin {origin}) · <b>proposed by</b> {escape(row.model)} ({escape(row.prompt_version)}) · "
            f"<b>re-ranked by</b> {escape(row.ranker_model)} ({escape(row.ranker_prompt_version)}) · "
            f"{escape(row.created_at[:19].replace('T', ' '))} UTC</p>",
            f"<p><b>Intent.</b> {escape(row.intent)}</p>",
        ]
        if f.change is None:
            parts.append("<p><b>Agreement:</b> not tested.</p>")
        else:
            parts.append(
                f"<p><b>Agreement</b> over {f.conversations} conversation{'' if f.conversations == 1 else 's'}: now {pct(f.before)} "
                f"({pct(f.before_low)}–{pct(f.before_high)}) → under this edit {pct(f.after)} "
                f"({pct(f.after_low)}–{pct(f.after_high)}); change {pct(f.change, True)} points, paired 95% interval "
                f"[{pct(f.change_low, True)}, {pct(f.change_high, True)}]; kept when the lower bound is above "
                f"{pct(row.threshold, True)}.</p>")
        if row.proposal_id:
            parts.append(f"<p><b>Proposal</b> <a href='proposal:{escape(row.proposal_id)}'>"
                         f"{escape(row.proposal_id)}</a> (Show on the desk)</p>")
        provenance = [r for r in self.model.rows if r.id != row.id and row.proposal_id
                      and r.proposal_id == row.proposal_id]
        if provenance:
            parts.append("<p><b>Merged provenances</b> (the same proposal):"
                         + "".join(f"<br/>· <a href='candidate:{escape(r.id)}'>{escape(r.mode)} candidate by "
                                   f"{escape(r.model)} ({escape(r.prompt_version)}), "
                                   f"{escape(r.created_at[:10])}</a> — {escape(STATUS_WORDS.get(r.status, r.status))}"
                                   for r in provenance) + "</p>")
        sources = text.sources if text is not None else {}
        for title, ids in (("Written from", row.conversations), ("Held out", row.holdout)):
            if not ids:
                continue
            links = ", ".join(f"<a href='conversation:{escape(c)}'>{escape(sources.get(c) or c[:8])}</a>"
                              for c in ids)
            parts.append(f"<p><b>{title}</b> ({len(ids)} conversation{'' if len(ids) == 1 else 's'}; open one "
                         f"with a click, or Tab and Enter): {links}</p>")
        if text is not None and row.status == "rejected":
            parts.append(f"<h3>Its text against the section at {escape(text.spec_revision[:10])}</h3>")
            parts.append(side_by_side_html(text.hunks, ("The section", "This candidate")))
        elif text is None and row.status == "rejected":
            parts.append("<p><i>Reading its text…</i></p>")
        return "".join(parts)

    def on_activated(self, index: QModelIndex) -> None:
        """Enter or a double click: a kept candidate's proposal on the desk."""
        row = self.current()
        if row is not None and row.proposal_id:
            self.proposal_requested.emit(row.proposal_id)

    def on_show_on_desk(self) -> None:
        """Show the chosen candidate's proposal on the review desk."""
        row = self.current()
        if row is not None and row.proposal_id:
            self.proposal_requested.emit(row.proposal_id)

    def on_link(self, url: QUrl) -> None:
        """Open a conversation, another candidate, or the proposal."""
        kind, _, value = url.toString().partition(":")
        if kind == "conversation":
            self.conversation_requested.emit(value)
        elif kind == "candidate":
            self.select(value)
        elif kind == "proposal":
            self.proposal_requested.emit(value)

    def on_failed(self, error: BaseException) -> None:
        """Show why reading failed."""
        if isinstance(error, KnownError):
            self.summary.setText(f"<span style='color:#b3261e'>{escape(str(error))}</span>")
        else:
            from ui.dialogs import Dialogs

            Dialogs.show_error(self, error)
        self.failed.emit(error)
