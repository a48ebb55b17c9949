"""The editor's desk: adopted proposals waiting, the resulting spec diff, commit, and what the run did."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from reviewer.committing import (
    CHANGELOG,
    CommitPreview,
    CommitReport,
    PlannedCommit,
    preview_commit,
)
from reviewer.diffing import Hunk, diff_text
from reviewer.governance import list_members
from reviewer.ops import Area, Changes, OpResult
from reviewer.progress import Cancelled
from reviewer.render import escape
from reviewer.revisions import RebasePlan, Revision
from reviewer.textsafe import display_text
from reviewer.vocab import Status
from reviewer.workspace import Workspace
from ui.access import describe
from ui.changes import Follower
from ui.dialogs import Dialogs
from ui.labels import PlainLabel, RichLabel, plain_tooltip, shown
from ui.models.queue import STATUS_LABELS
from ui.text_browser import SafeTextBrowser
from ui.theme import fg
from ui.views.diff_view import inline_diff_html, side_by_side_html
from ui.views.progress_panel import ProgressPanel
from ui.views.rebase_dialog import RebaseDialog
from ui.workers import TaskProgress, WorkspaceLane, describe_error

RESULT_LABELS = {
    "clean": "Applies cleanly",
    "merged": "Merges with later changes",
    "conflict": "Conflict",
}
RESULT_COLOURS = {"clean": "#2e7d32", "merged": "#c25e00", "conflict": "#b3261e"}
MESSAGE_COLOURS = {"info": "#1f5fbf", "ok": "#2e7d32", "warning": "#c25e00", "error": "#b3261e"}
_CSS = "<style>body { font-family: sans-serif; }</style>"
_TABLE = "<table cellspacing='0' cellpadding='3'>"

_Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class EditorState:
    """Everything the editor's desk shows, read on the workspace lane.

    Attributes:
        preview: what committing would do now.
        editors: the names of the members holding the editor role.
        hunks: per proposal id, the diff its commit would make (empty on a conflict).
        all_hunks: the diff of the spec file after every proposal that applies.
    """

    preview: CommitPreview
    editors: tuple[str, ...]
    hunks: dict[str, tuple[Hunk, ...]]
    all_hunks: tuple[Hunk, ...]


def load_editor_state(workspace: Workspace) -> EditorState:
    """Work out the commit preview and its diffs (runs on the workspace lane)."""
    preview = preview_commit(workspace)
    editors = tuple(m.name for m in list_members(workspace.store) if "editor" in m.roles)
    hunks = {
        item.proposal_id: diff_text(item.text_before, item.text_after) if item.text_after is not None else ()
        for item in preview.plan.items
    }
    return EditorState(preview, editors, hunks, diff_text(preview.plan.original_text, preview.plan.final_text))


@dataclass(frozen=True)
class CommitOutcome:
    """A commit run and the desk as it stands after it.

    Attributes:
        report: what ``commit_adopted`` did.
        state: the desk after the run (None when it could not be read).
    """

    report: CommitReport
    state: EditorState | None


def _commit_and_reload(
    workspace: Workspace, editor: str, tag: str | None, progress: TaskProgress
) -> OpResult[CommitOutcome]:
    from reviewer import operations

    done = operations.commit(workspace, actor=editor, tag=tag, progress=progress)
    try:
        state: EditorState | None = load_editor_state(workspace)
    except Exception:  # the commits are made; the refresh that follows reports the read error
        state = None
    return done.with_value(CommitOutcome(done.value, state))


class CommitQueueModel(QAbstractTableModel):
    """The adopted proposals waiting to be committed, in commit order.

    Attributes:
        items: the planned commits, one per row.
    """

    COLUMNS = ("Proposal", "Sections", "Status", "Preview")
    IdRole = Qt.ItemDataRole.UserRole + 1

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.items: list[PlannedCommit] = []

    def set_items(self, items: Sequence[PlannedCommit]) -> None:
        """Replace the rows."""
        self.beginResetModel()
        self.items = list(items)
        self.endResetModel()

    def row_of(self, proposal_id: str) -> int:
        """Return the row of a proposal (-1 when absent)."""
        return next((i for i, item in enumerate(self.items) if item.proposal_id == proposal_id), -1)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        """Qt override."""
        return 0 if parent.isValid() else len(self.items)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        """Qt override."""
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Qt override."""
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(self.COLUMNS):
            return self.COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Qt override."""
        if not index.isValid() or not 0 <= index.row() < len(self.items):
            return None
        item = self.items[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return shown(item.title)
            if column == 1:
                return shown(", ".join(item.sections))
            if column == 2:
                return STATUS_LABELS.get(item.status, item.status)
            if column == 3:
                if item.result == "conflict" and item.conflict_section:
                    return f"Conflict in {item.conflict_section}"
                return RESULT_LABELS.get(item.result, item.result)
        elif role == Qt.ItemDataRole.ForegroundRole and column in (2, 3):
            if column == 3:
                colour = RESULT_COLOURS.get(item.result)
                return QBrush(QColor(fg(colour))) if colour else None
            if item.status == Status.NEEDS_REBASE:
                return QBrush(QColor(fg(RESULT_COLOURS["merged"])))
        elif role == Qt.ItemDataRole.ToolTipRole:
            if column == 3 and item.reason:
                return plain_tooltip(item.reason)
            if column == 2 and item.recorded_problem:
                return plain_tooltip(f"An earlier run could not commit it: {item.recorded_problem}")
            if column == 0:
                return plain_tooltip(f"{item.title}\n{item.proposal_id}")
        elif role == self.IdRole:
            return item.proposal_id
        return None


def planned_item_html(item: PlannedCommit, hunks: Sequence[Hunk], mode: str) -> str:
    """Return the preview page of one planned commit: what it changes, or why it cannot be committed."""
    colour = RESULT_COLOURS.get(item.result, "#000")
    label = RESULT_LABELS.get(item.result, item.result)
    sections = ", ".join(f"<code>#{escape(s)}</code>" for s in item.sections)
    parts = [
        _CSS,
        f"<h3 style='margin-bottom:2px'>{escape(item.title)}</h3>",
        f"<p style='margin-top:0'>Sections {sections} &nbsp;·&nbsp; "
        f"<span style='color:{colour};font-weight:600'>{escape(label)}</span></p>",
    ]
    if item.merged_sections:
        parts.append(
            "<p style='color:#c25e00'>The spec has changed since this proposal was written; "
            f"{', '.join(f'<code>#{escape(s)}</code>' for s in item.merged_sections)} will be merged three ways "
            "with those changes. Check the result below.</p>"
        )
    if item.result == "conflict":
        where = f" in <code>#{escape(item.conflict_section)}</code>" if item.conflict_section else ""
        parts.append(
            f"<p style='color:#b3261e'><b>Cannot be committed{where}:</b> {escape(item.reason)}.</p>"
            "<p style='color:#555'>It stays adopted and is marked as needing a rebase when you commit: "
            "write a new proposal against the current spec text.</p>"
        )
    elif item.status == Status.NEEDS_REBASE and item.recorded_problem:
        parts.append(
            f"<p style='color:#555'>An earlier run could not commit it ({escape(item.recorded_problem)}); "
            "it applies now.</p>"
        )
    if item.result != "conflict":
        parts.append(side_by_side_html(hunks) if mode == "side" else inline_diff_html(hunks))
    return "".join(parts)


def all_items_html(state: EditorState, mode: str) -> str:
    """Return the preview page of the whole run: the spec file diff after every proposal that applies."""
    plan = state.preview.plan
    applying = [i for i in plan.items if i.result != "conflict"]
    conflicts = [i for i in plan.items if i.result == "conflict"]
    parts = [
        _CSS,
        f"<h3 style='margin-bottom:2px'>{escape(state.preview.spec_file)} after "
        f"{len(applying)} commit{'s' if len(applying) != 1 else ''}</h3>",
    ]
    if conflicts:
        many = len(conflicts) != 1
        parts.append(
            f"<p style='color:#b3261e;margin-top:0'>{len(conflicts)} proposal{'s' if many else ''} "
            f"cannot be committed and {'are' if many else 'is'} left out: "
            + ", ".join(escape(i.title) for i in conflicts) + ".</p>"
        )
    parts.append(side_by_side_html(state.all_hunks) if mode == "side" else inline_diff_html(state.all_hunks))
    return "".join(parts)


def report_html(report: CommitReport, state: EditorState | None) -> str:
    """Return what a commit run did: the commits made and the proposals that conflicted."""
    conflict_sections = {}
    if state is not None:
        conflict_sections = {i.proposal_id: i.conflict_section for i in state.preview.plan.items}
    made = [i for i in report.items if i.result in ("committed", "recovered")]
    conflicts = [i for i in report.items if i.result == Status.NEEDS_REBASE]
    others = [i for i in report.items if i not in made and i not in conflicts]
    parts = [_CSS]
    parts += [f"<p style='color:#8a5a00'><b>Note:</b> {escape(note)}</p>" for note in report.notes]
    # Not committed for another reason: decided again during the run, or a commit that names the
    # proposal but holds other text (refused).
    parts += [f"<p style='color:#b3261e'><b>{escape(i.title)}</b>: {escape(i.message)}.</p>" for i in others]
    if made:
        parts.append(
            f"<p><b>{len(made)} commit{'s' if len(made) != 1 else ''} on {escape(report.branch)}</b> "
            f"(HEAD {escape(report.head_before[:10])} → {escape(report.head_after[:10])})</p>"
        )
        rows = [
            "<tr><th align='left'>Commit</th><th align='left'>Proposal</th><th align='left'>Sections</th>"
            "<th align='left'>Note</th></tr>"
        ]
        for item in made:
            note = "recorded from an earlier run" if item.result == "recovered" else ""
            if item.merged_sections:
                note = f"merged with later changes in {', '.join(item.merged_sections)}"
            rows.append(
                f"<tr><td><code>{escape((item.commit_sha or '')[:10])}</code></td><td>{escape(item.title)}</td>"
                f"<td>{escape(', '.join(item.sections))}</td><td style='color:#555'>{escape(note)}</td></tr>"
            )
        parts.append(_TABLE + "".join(rows) + "</table>")
    elif not conflicts and not others:
        parts.append("<p>Nothing adopted was waiting to be committed.</p>")
    if conflicts:
        parts.append(
            f"<p style='color:#b3261e'><b>{len(conflicts)} not committed: conflict"
            f"{'s' if len(conflicts) != 1 else ''}</b> (marked as needing a rebase)</p>"
        )
        rows = ["<tr><th align='left'>Section</th><th align='left'>Proposal</th><th align='left'>Why</th></tr>"]
        for item in conflicts:
            section = conflict_sections.get(item.proposal_id) or ", ".join(item.sections)
            rows.append(
                f"<tr><td><code>#{escape(section)}</code></td><td>{escape(item.title)}</td>"
                f"<td>{escape(item.message)}</td></tr>"
            )
        parts.append(_TABLE + "".join(rows) + "</table>")
    if report.release is not None:
        parts.append(
            f"<p><b>Release {escape(report.release.tag)}</b> tagged at "
            f"<code>{escape(report.release.commit_sha[:10])}</code> with a CHANGELOG.md entry listing "
            f"{len(report.release.proposal_ids)} proposal{'s' if len(report.release.proposal_ids) != 1 else ''}.</p>"
        )
    return "".join(parts)


def commit_banner(report: CommitReport) -> tuple[str, str]:
    """The one message a commit run ends with, and its kind: it names every part of the result.

    A release is part of the result: a run that committed nothing new but tagged a release says
    so, instead of a red "Nothing committed" above "Release … tagged".
    """
    made = sum(1 for i in report.items if i.result in ("committed", "recovered"))
    conflicts = sum(1 for i in report.items if i.result == Status.NEEDS_REBASE)
    parts = []
    if made:
        parts.append(f"Committed {made} proposal{'s' if made != 1 else ''} to {report.branch}")
    if conflicts:
        parts.append(f"{conflicts} proposal{'s' if conflicts != 1 else ''} could not be committed (conflict with "
                     "the current spec; marked as needing a rebase)")
    if report.release is not None:
        parts.append(f"release {report.release.tag} tagged at {report.release.commit_sha[:10]}")
    if not parts:
        return "Nothing adopted was waiting to be committed.", "info"
    if conflicts and not made and report.release is None:
        return (f"Nothing committed: {conflicts} proposal{'s' if conflicts != 1 else ''} conflict with the current "
                "spec (marked as needing a rebase).", "error")
    text = "; ".join(parts) + "."
    text = text[0].upper() + text[1:]
    return text, "warning" if conflicts else "ok"


class EditorView(QWidget):
    """The editor's desk: commit adopted proposals to the spec repository, one commit each.

    Signals:
        refreshed(): the list and preview were read again.
        committed(object): a commit run ended; the ``CommitReport``.
        failed(object): reading or committing failed (the exception; ``Cancelled`` when cancelled).

    Attributes:
        lane: the workspace lane every read and commit runs on.
        state: what is shown (None before the first refresh).
        report: the last commit run's report, if any.
        model: the waiting proposals.
    """

    refreshed = Signal()
    committed = Signal(object)
    failed = Signal(object)

    def __init__(self, lane: WorkspaceLane, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Editor page")  # its keys' heading in Help ▸ Keyboard shortcuts
        self.lane = lane
        self.state: EditorState | None = None
        self.report: CommitReport | None = None
        self.mode = "side"
        self.scope = "selected"
        self._busy = False
        self._committing = False  # a commit run of this view's: its outcome brings the new state
        self.follower = Follower(self, self.refresh, self._concerned)

        title = RichLabel("<b>Adopted proposals waiting to be committed</b>")
        self.repo_label = PlainLabel()
        self.repo_label.setStyleSheet("color:#555")
        self.repo_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        head_row = QHBoxLayout()
        head_row.addWidget(title)
        head_row.addStretch(1)
        head_row.addWidget(self.repo_label)

        self.editor_box = QComboBox()
        self.editor_box.setEditable(True)
        self.editor_box.setMinimumContentsLength(16)
        self.editor_box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        editor_line = self.editor_box.lineEdit()
        assert editor_line is not None  # the combo box is editable
        editor_line.setPlaceholderText("your name")
        self.editor_box.setToolTip("Who commits: only members with the editor role may")
        editor_label = PlainLabel("&Editor:")
        editor_label.setBuddy(self.editor_box)
        self.tag_edit = QLineEdit()
        self.tag_edit.setPlaceholderText("optional, e.g. v2026-01")
        self.tag_edit.setToolTip("After the commits, cut a release: a CHANGELOG.md entry and an annotated tag")
        self.tag_edit.setMaximumWidth(200)
        tag_label = PlainLabel("Release &tag:")
        tag_label.setBuddy(self.tag_edit)
        self.refresh_button = QPushButton("&Refresh")
        self.refresh_button.setToolTip("Read the adopted proposals and the spec repository again (F5)")
        self.refresh_button.clicked.connect(self.refresh)
        self.commit_button = QPushButton("&Commit adopted proposals")
        self.commit_button.setToolTip("One commit per proposal on the current branch (Ctrl+Return)")
        self.commit_button.setDefault(True)
        self.commit_button.clicked.connect(self.on_commit)
        self.commit_button.setEnabled(False)
        self.rebase_button = QPushButton("Re&base…")
        self.rebase_button.setToolTip("Carry the chosen conflicting proposal onto the current spec: resolve each "
                                      "conflict as base / current spec / proposed, saved as a new revision")
        self.rebase_button.clicked.connect(self.on_rebase)
        self.rebase_button.setEnabled(False)
        self.rebase_dialog: RebaseDialog | None = None
        form = QHBoxLayout()
        form.addWidget(editor_label)
        form.addWidget(self.editor_box)
        form.addSpacing(12)
        form.addWidget(tag_label)
        form.addWidget(self.tag_edit)
        form.addStretch(1)
        form.addWidget(self.refresh_button)
        form.addWidget(self.rebase_button)
        form.addWidget(self.commit_button)

        # The repository's state (read on every refresh) and the outcome of the last commit run.
        self.blocker_label = PlainLabel()
        self.message = PlainLabel()
        for label in (self.blocker_label, self.message):
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.hide()

        self.model = CommitQueueModel(self)
        self.table = QTableView()
        describe(self.table, "Adopted proposals", "The proposals adopted and waiting to be committed, with their state")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().currentRowChanged.connect(self.on_current_changed)
        self.count_label = PlainLabel()
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.table, 1)
        left_layout.addWidget(self.count_label)

        self.scope_buttons = QButtonGroup(self)
        self.mode_buttons = QButtonGroup(self)
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        for group, key, text, tip in (
            (self.scope_buttons, "selected", "This proposal", "The diff of the chosen proposal's commit"),
            (self.scope_buttons, "all", "Whole file", "The spec file after every commit that applies"),
            (self.mode_buttons, "side", "Side by side", "Current and resulting text in two columns (Ctrl+1)"),
            (self.mode_buttons, "inline", "Inline", "One column with deletions and insertions (Ctrl+2)"),
        ):
            button = QPushButton(text)
            button.setCheckable(True)
            button.setToolTip(tip)
            button.setObjectName(f"editor_{key}")
            group.addButton(button)
            if group is self.scope_buttons:
                button.setChecked(key == self.scope)
                button.clicked.connect(lambda _=False, k=key: self.set_scope(k))
            else:
                button.setChecked(key == self.mode)
                button.clicked.connect(lambda _=False, k=key: self.set_mode(k))
            bar.addWidget(button)
            if key == "all":
                bar.addSpacing(16)
        bar.addStretch(1)
        self.preview = SafeTextBrowser()
        describe(self.preview, "Commit preview", "The diff the commit would make to the spec")
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addLayout(bar)
        right_layout.addWidget(self.preview, 1)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setSizes([560, 720])

        self.results = SafeTextBrowser()
        describe(self.results, "Commit results", "What the last commit did")
        self.results.hide()
        self.vertical = QSplitter(Qt.Orientation.Vertical)
        self.vertical.addWidget(self.splitter)
        self.vertical.addWidget(self.results)
        self.vertical.setStretchFactor(0, 4)
        self.vertical.setStretchFactor(1, 1)

        self.progress_panel = ProgressPanel()

        layout = QVBoxLayout(self)
        layout.addLayout(head_row)
        layout.addLayout(form)
        layout.addWidget(self.blocker_label)
        layout.addWidget(self.message)
        layout.addWidget(self.vertical, 1)
        layout.addWidget(self.progress_panel)

        for keys, slot, what in (
            (QKeySequence.StandardKey.Refresh, self.refresh, "Read the adopted proposals again"),
            ("Ctrl+Return", self.on_commit, "Commit the adopted proposals"),
            ("Ctrl+1", lambda: self.set_mode("side"), "Side by side diff"),
            ("Ctrl+2", lambda: self.set_mode("inline"), "Inline diff"),
        ):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setWhatsThis(what)  # its line in Help ▸ Keyboard shortcuts
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        self._render_preview()

    # ---- reading -------------------------------------------------------------------------------

    def on_changes(self, changes: Changes) -> None:
        """Follow an operation's changes (decisions, commits, proposals, members)."""
        self.follower.on_changes(changes)

    def _concerned(self, changes: Changes) -> bool:
        return not self._committing and changes.touches(
            Area.DECISIONS, Area.COMMITS, Area.PROPOSALS, Area.MEMBERS, Area.QUORUM, Area.WORKSPACE)

    def refresh(self) -> None:
        """Read the adopted proposals, the spec repository and the commit preview again."""
        self._set_busy(True)
        self.lane.run(load_editor_state, success=self.on_state_loaded, failure=self.on_load_failed)

    def on_state_loaded(self, state: EditorState) -> None:
        """Show a freshly read state."""
        self._set_busy(False)
        self._show_state(state)
        self.refreshed.emit()

    def on_load_failed(self, error: BaseException) -> None:
        """Reading failed: say so (a bug also gets the error box)."""
        self._set_busy(False)
        text, is_bug = describe_error(error)
        self._show_message(f"Cannot read the adopted proposals: {text}", "error")
        if is_bug:
            Dialogs.show_error(self, error)
        self.failed.emit(error)

    def _show_state(self, state: EditorState) -> None:
        current = self.current_id()
        self.state = state
        preview = state.preview
        typed = self.editor_box.currentText()
        self.editor_box.blockSignals(True)
        self.editor_box.clear()
        for name in state.editors:  # shown with any bidi override as a marker; the name itself kept as data
            self.editor_box.addItem(display_text(name), name)
        self.editor_box.setCurrentText(typed)
        self.editor_box.blockSignals(False)
        branch = preview.branch or "detached HEAD"
        self.repo_label.setText(f"{preview.spec_file} on {branch} at {preview.head[:10]}")
        self.model.set_items(preview.plan.items)
        items = preview.plan.items
        conflicts = sum(1 for i in items if i.result == "conflict")
        if not items:
            self.count_label.setText("Nothing adopted is waiting to be committed.")
        else:
            self.count_label.setText(
                f"{len(items)} waiting: {len(items) - conflicts} can be committed"
                + (f", {conflicts} conflict{'s' if conflicts != 1 else ''}" if conflicts else "")
            )
        if preview.blocker:
            self._show_message(
                f"Cannot commit now: {preview.blocker} {preview.blocker_hint} Then press Refresh (F5).", "warning",
                self.blocker_label,
            )
        else:
            self.blocker_label.hide()
        row = self.model.row_of(current) if current else -1
        if row < 0 and items:
            row = 0
        if row >= 0:
            self.table.selectRow(row)
        self._update_buttons()
        self._render_preview()

    # ---- choosing and showing -------------------------------------------------------------------

    def current_id(self) -> str | None:
        """Return the id of the chosen proposal."""
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        return str(self.model.data(index, CommitQueueModel.IdRole))

    def on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        """Show the chosen proposal's diff."""
        if current.isValid():
            self._render_preview()
        self._update_buttons()

    def set_scope(self, scope: str) -> None:
        """Show the chosen proposal (``selected``) or the whole file after every commit (``all``)."""
        if scope not in ("selected", "all"):
            raise ValueError(scope)
        self.scope = scope
        for button in self.scope_buttons.buttons():
            button.setChecked(button.objectName() == f"editor_{scope}")
        self._render_preview()

    def set_mode(self, mode: str) -> None:
        """Show the diff side by side (``side``) or inline (``inline``)."""
        if mode not in ("side", "inline"):
            raise ValueError(mode)
        self.mode = mode
        for button in self.mode_buttons.buttons():
            button.setChecked(button.objectName() == f"editor_{mode}")
        self._render_preview()

    def _render_preview(self) -> None:
        state = self.state
        if state is None:
            self.preview.setHtml("<p style='color:#6b6b6b'>Reading the adopted proposals…</p>")
            return
        if not state.preview.plan.items:
            self.preview.setHtml(
                "<p style='color:#6b6b6b'>Nothing adopted is waiting to be committed. Proposals appear here "
                "once their reviewers' quorum has adopted them.</p>"
            )
            return
        if self.scope == "all":
            self.preview.setHtml(all_items_html(state, self.mode))
            return
        current = self.current_id()
        row = self.model.row_of(current) if current else -1
        if row < 0:
            self.preview.setHtml("<p style='color:#6b6b6b'>Choose a proposal.</p>")
            return
        item = self.model.items[row]
        self.preview.setHtml(planned_item_html(item, state.hunks.get(item.proposal_id, ()), self.mode))

    # ---- committing -------------------------------------------------------------------------------

    def set_editor(self, name: str) -> None:
        """Commit as ``name`` (the domain checks that they hold the editor role)."""
        self.editor_box.setCurrentText(name)

    def editor(self) -> str:
        """Return the name the commits will be made under (a member chosen from the list, or as typed)."""
        text = self.editor_box.currentText()
        index = self.editor_box.findText(text)
        if index >= 0 and self.editor_box.itemData(index):
            return str(self.editor_box.itemData(index))
        return " ".join(text.split())

    def on_commit(self) -> None:
        """Commit every adopted proposal that applies, as the named editor, in the background."""
        if self._busy or not self.commit_button.isEnabled():
            return
        editor = self.editor()
        if not editor:
            self._show_message("Enter your name as Editor: only members with the editor role may commit.", "error")
            self.editor_box.setFocus()
            return
        tag = self.tag_edit.text().strip() or None
        if not Dialogs.confirm(self, self.confirmation(editor, tag)):
            self._show_message("Not committed: nothing was written.", "info")
            return
        progress = TaskProgress(self)
        self.progress_panel.attach(progress, "Committing adopted proposals…")
        self._set_busy(True)
        self._show_message(f"Committing as {editor}…", "info")
        self._committing = True
        self.lane.perform(
            lambda ws: _commit_and_reload(ws, editor, tag, progress),
            success=self.on_committed,
            failure=self.on_commit_failed,
        )

    def confirmation(self, editor: str, tag: str | None) -> str:
        """The question asked before committing: what will be written, where, and as whom."""
        state = self.state
        assert state is not None
        items = state.preview.plan.items
        applying = [i for i in items if i.result != "conflict"]
        lines = [f"Commit {len(applying)} adopted proposal{'s' if len(applying) != 1 else ''} to "
                 f"{state.preview.spec_file} on {state.preview.branch or 'the detached HEAD'}, as {editor}?", ""]
        lines += [f"• {i.title} ({', '.join(i.sections)})" for i in applying[:8]]
        if len(applying) > 8:
            lines.append(f"• and {len(applying) - 8} more")
        conflicts = len(items) - len(applying)
        if conflicts:
            lines += ["", f"{conflicts} conflict{'s' if conflicts != 1 else ''} with the current spec: "
                          f"{'they are' if conflicts != 1 else 'it is'} marked as needing a rebase, not committed."]
        if tag:
            lines += ["", f"Then cut release {tag}: a {CHANGELOG} entry (its own commit) and an annotated tag."]
        lines += ["", "Each commit names its decisions; it is recorded in the audit log and cannot be undone here."]
        return "\n".join(lines)  # shown as plain text, control characters made visible (``message_box``)

    def on_committed(self, outcome: CommitOutcome) -> None:
        """Show the commits made and the conflicts, then the new state."""
        self._committing = False
        self.progress_panel.done()
        self._set_busy(False)
        report = outcome.report
        self.report = report
        self._show_message(*commit_banner(report))
        if report.release is not None:
            self.tag_edit.clear()
        self.results.setHtml(report_html(report, outcome.state))
        self.results.show()
        if outcome.state is not None:
            self._show_state(outcome.state)
            self.refreshed.emit()
        else:
            self.refresh()
        self.committed.emit(report)

    def on_commit_failed(self, error: BaseException) -> None:
        """Say why nothing (more) was committed: a refusal, a dirty tree, a hook, or a cancel."""
        self._committing = False
        self.progress_panel.done()
        self._set_busy(False)
        if isinstance(error, Cancelled):
            self._show_message(
                "Cancelled. Commits made before the cancel are kept and recorded; the rest still wait.", "warning"
            )
        else:
            text, is_bug = describe_error(error)
            self._show_message(f"Not committed: {text}", "error")
            if is_bug:
                Dialogs.show_error(self, error)
        self.failed.emit(error)
        self.refresh()

    # ---- helpers ------------------------------------------------------------------------------------

    def _show_message(self, text: str, kind: str, label: QLabel | None = None) -> None:
        label = label or self.message
        colour = MESSAGE_COLOURS[kind]
        label.setStyleSheet(
            f"color:{colour};border:1px solid {colour};border-radius:3px;padding:4px 6px;background:#ffffff"
        )
        label.setText(text)
        label.show()

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.refresh_button.setEnabled(not busy)
        self._update_buttons()

    def _update_buttons(self) -> None:
        state = self.state
        # A run where everything conflicts still records the proposals as needing a rebase.
        can = not self._busy and state is not None and not state.preview.blocker and bool(state.preview.plan.items)
        self.commit_button.setEnabled(can)
        self.rebase_button.setEnabled(not self._busy and self._chosen_conflict() is not None)

    def _chosen_conflict(self) -> PlannedCommit | None:
        """The chosen proposal when it conflicts with the current spec (what Rebase works on)."""
        chosen, state = self.current_id(), self.state
        if chosen is None or state is None:
            return None
        return next((i for i in state.preview.plan.items if i.proposal_id == chosen and i.result == "conflict"), None)

    # ---- rebasing ----------------------------------------------------------------------------------

    def on_rebase(self) -> None:
        """Read the chosen proposal's three-way merge onto the current spec, then open the rebase dialog."""
        item = self._chosen_conflict()
        if item is None or self._busy:
            return
        editor = self.editor()
        if not editor:
            self._show_message("Enter your name as Editor: the new revision is recorded as yours.", "error")
            self.editor_box.setFocus()
            return
        from reviewer.revisions import rebase_plan

        proposal_id = item.proposal_id
        self.lane.run(lambda ws: rebase_plan(ws, proposal_id), success=lambda plan: self._open_rebase(plan, editor),
                      failure=lambda error: self._show_message(f"Cannot rebase: {describe_error(error)[0]}", "error"))

    def _open_rebase(self, plan: RebasePlan, editor: str) -> None:
        from ui.keys import keyboard_ready

        dialog = keyboard_ready(RebaseDialog(self.lane, plan, editor, self))
        dialog.rebased.connect(self.on_rebased)
        self.rebase_dialog = dialog
        dialog.open()

    def on_rebased(self, revision: Revision) -> None:
        """Say what the rebase made (the Changes broadcast brings the new state)."""
        if revision.keeps_votes:
            text = f"Rebased as revision {revision.revision}: the same change on the current spec; the votes carry over."
        else:
            text = (f"Saved revision {revision.revision} with the conflicts resolved. It is new text: the reviewers "
                    "confirm their votes on it before it can be committed.")
        self._show_message(text, "ok")
