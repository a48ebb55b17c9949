"""The crowd import dialog: CA-1 files or a Pol.is export, imported on the lane with progress and cancel."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QStringListModel, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QListView,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from reviewer.errors import KnownError
from reviewer.importing import ImportSummary
from reviewer.progress import Cancelled
from reviewer.render import escape
from reviewer.store import APP_ACTOR

if TYPE_CHECKING:
    from reviewer.ops import OpResult

from ui.access import describe, describe_tabs
from ui.dialogs import Dialogs
from ui.labels import PlainLabel
from ui.text_browser import SafeTextBrowser
from ui.views.progress_panel import ProgressPanel
from ui.workers import TaskProgress, WorkspaceLane

CA1_FILTERS = "CA-1 files (*.jsonl *.json);;All files (*)"
CSV_FILTERS = "CSV files (*.csv);;All files (*)"
VOTES_FILE = "participants-votes.csv"
_KIND_LABELS = {
    "conversations": "Conversations",
    "participants": "Participants",
    "assessments": "Assessments",
    "justifications": "Justifications",
    "statements": "Statements",
    "votes": "Votes",
}


def summary_html(summary: ImportSummary) -> str:
    """Return an import summary as HTML: the files, the counts per kind, and the first bad rows.

    Every path and reason is escaped (file names and quarantined rows come from outside).
    """
    data = summary.to_json()
    parts = ['<p><b>Import finished.</b> ']
    parts.append(", ".join(
        f"{escape(os.path.basename(f['path']))} <span style='color:#6b6b6b'>({escape(f['kind'])}, "
        f"{f['lines']:,} lines)</span>" for f in data["files"]
    ) + "</p>")
    head = "".join(f'<th align="right" style="padding:0 8px">{name}</th>'
                   for name in ("Added", "Unchanged", "Updated", "Conflicts"))
    rows = [f'<table cellspacing="0" cellpadding="2"><tr><th align="left">Kind</th>{head}</tr>']
    for kind, added in data["added"].items():
        cells = [added, data["unchanged"].get(kind, 0), data["updated"].get(kind, 0),
                 data["conflicts"].get(kind, 0)]
        rows.append(f"<tr><td>{escape(_KIND_LABELS.get(kind, kind))}</td>"
                    + "".join(f'<td align="right" style="padding:0 8px">{n:,}</td>' for n in cells) + "</tr>")
    rows.append("</table>")
    parts.append("".join(rows))
    if summary.quarantined:
        parts.append(
            f'<p style="color:#8a4b00"><b>Quarantined {summary.quarantined:,} bad '
            f"row{'s' if summary.quarantined != 1 else ''}</b> ({summary.quarantined_new:,} new). "
            "The first:</p><ul>"
        )
        for problem in data["first_problems"]:
            where = f"{os.path.basename(problem['file'])}:{problem['line']}"
            if problem["item"]:
                where += f" ({problem['item']})"
            parts.append(f"<li><code>{escape(where)}</code>: {escape(problem['reason'])}</li>")
        parts.append("</ul><p style='color:#6b6b6b'>List them all with "
                     "<code>spec-review quarantine WORKSPACE</code>.</p>")
    else:
        parts.append("<p>No bad rows.</p>")
    return "".join(parts)


class ImportDialog(QDialog):
    """Chooses crowd files and imports them on the workspace lane; Cancel leaves the workspace untouched.

    CA-1 files (comparisons, annotators and merged JSONL, any of them, in any order) go to
    ``reviewer.ca1.import_ca1``; a Pol.is pair (``comments.csv`` and ``participants-votes.csv``, with
    an optional conversation key) goes to ``reviewer.polis.import_polis``. Both run in one
    transaction, so a cancel or a failure writes nothing.

    Signals:
        imported(object): the ``ImportSummary`` of a finished import.
        failed(object): the error of an import that failed (a ``KnownError`` or a bug).
        cancelled(): the user cancelled a running import; nothing was written.

    Attributes:
        lane: the workspace lane the import runs on.
        progress: the ``TaskProgress`` of the running import (None when idle).
        summary: the summary of the last finished import.
        files_model: the CA-1 files chosen, as paths.
    """

    imported = Signal(object)
    failed = Signal(object)
    cancelled = Signal()

    CA1_TAB = 0
    POLIS_TAB = 1

    def __init__(self, lane: WorkspaceLane, parent: QWidget | None = None, *, actor: str | None = None) -> None:
        super().__init__(parent)
        self.lane = lane
        self.actor = actor
        self.progress: TaskProgress | None = None
        self.summary: ImportSummary | None = None
        self.setWindowTitle("Import crowd data")
        self.setMinimumWidth(620)

        self.tabs = QTabWidget()
        self.tabs.addTab(self._ca1_page(), "&CA-1 files")
        self.tabs.addTab(self._polis_page(), "&Pol.is export")
        describe_tabs(self.tabs, "Import CA-1 comparison, annotator or merged files", "Import one Pol.is conversation export")
        self.strict_box = QCheckBox("&Strict: fail on the first bad row instead of keeping it in quarantine")
        self.strict_box.setToolTip("Without this, bad rows are set aside with their file, line and reason, "
                                   "and everything else is imported.")
        self.panel = ProgressPanel()
        self.status = PlainLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result_view = SafeTextBrowser()
        self.result_view.setMinimumHeight(200)
        self.result_view.setPlaceholderText("The summary of the import appears here.")
        describe(self.result_view, "Import summary", "What the import added, and what it kept in quarantine")

        self.buttons = QDialogButtonBox()
        self.import_button = self.buttons.addButton("&Import", QDialogButtonBox.ButtonRole.AcceptRole)
        self.import_button.setDefault(True)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        describe(self.close_button, None, "Close this window (nothing more is imported)")
        describe(self.import_button, None, "Import the files chosen above")
        # Only on_import listens to ``accepted``: the dialog stays open to show the summary.
        self.buttons.accepted.connect(self.on_import)
        self.close_button.clicked.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(self.strict_box)
        layout.addWidget(self.panel)
        layout.addWidget(self.status)
        layout.addWidget(self.result_view, 1)
        layout.addWidget(self.buttons)
        self._update_buttons()

    # ---- pages -------------------------------------------------------------------------------

    def _ca1_page(self) -> QWidget:
        page = QWidget()
        intro = PlainLabel("Comparisons, annotators and merged JSONL files of a CA-1 release, alone or together, "
                       "in any order. Importing the same files again adds nothing.")
        intro.setWordWrap(True)
        self.files_model = QStringListModel(self)
        self.files_view = QListView()
        describe(self.files_view, "CA-1 files", "The files to import; Delete removes the selected ones")
        self.files_view.setModel(self.files_model)
        self.files_view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.files_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.files_view.setMinimumHeight(70)
        self.files_view.setMaximumHeight(130)
        self.add_files_button = QPushButton("&Add files…")
        describe(self.add_files_button, None, "Choose CA-1 files to add to the list")
        self.remove_files_button = QPushButton("&Remove")
        self.remove_files_button.setToolTip("Remove the selected files from the list (Delete)")
        self.add_files_button.clicked.connect(self.on_add_files)
        self.remove_files_button.clicked.connect(self.on_remove_files)
        remove = QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.files_view)
        remove.setContext(Qt.ShortcutContext.WidgetShortcut)
        remove.activated.connect(self.on_remove_files)
        self.files_model.rowsInserted.connect(self._update_buttons)
        self.files_model.rowsRemoved.connect(self._update_buttons)
        self.files_model.modelReset.connect(self._update_buttons)
        buttons = QVBoxLayout()
        buttons.addWidget(self.add_files_button)
        buttons.addWidget(self.remove_files_button)
        buttons.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(self.files_view, 1)
        row.addLayout(buttons)
        layout = QVBoxLayout(page)
        layout.addWidget(intro)
        layout.addLayout(row)
        layout.addStretch(1)
        return page

    def _polis_page(self) -> QWidget:
        page = QWidget()
        intro = PlainLabel("One Pol.is conversation export: its comments and its participants' votes.")
        intro.setWordWrap(True)
        self.comments_edit = QLineEdit()
        self.comments_edit.setPlaceholderText("comments.csv")
        describe(self.comments_edit, "Pol.is comments file", "The export's comments.csv")
        self.votes_edit = QLineEdit()
        self.votes_edit.setPlaceholderText(VOTES_FILE)
        describe(self.votes_edit, "Pol.is votes file", f"The export's {VOTES_FILE}")
        self.key_edit = QLineEdit()
        self.key_edit.setPlaceholderText("default: the name of the folder holding comments.csv")
        self.key_edit.setAccessibleName("Conversation key")
        self.key_edit.setToolTip("Namespaces the conversation's ids: importing two exports under one key "
                                 "merges them.")
        comments_button = QPushButton("Browse…")
        comments_button.setAccessibleName("Browse for comments.csv")
        describe(comments_button, None, "Choose the export's comments.csv")
        votes_button = QPushButton("Browse…")
        votes_button.setAccessibleName(f"Browse for {VOTES_FILE}")
        describe(votes_button, None, f"Choose the export's {VOTES_FILE}")
        comments_button.clicked.connect(self.on_browse_comments)
        votes_button.clicked.connect(self.on_browse_votes)
        for edit in (self.comments_edit, self.votes_edit):
            edit.textChanged.connect(self._update_buttons)
        form = QFormLayout()
        form.addRow("Co&mments:", _with_button(self.comments_edit, comments_button))
        form.addRow("&Votes:", _with_button(self.votes_edit, votes_button))
        form.addRow("Conversation &key:", self.key_edit)
        layout = QVBoxLayout(page)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addStretch(1)
        return page

    # ---- choosing files ----------------------------------------------------------------------

    def add_files(self, paths: list[str]) -> None:
        """Add CA-1 files to the list (a file already listed is not added twice)."""
        current = self.files_model.stringList()
        for path in paths:
            if path not in current:
                current.append(path)
        self.files_model.setStringList(current)

    def set_polis_files(self, comments: str, votes: str | None = None, key: str | None = None) -> None:
        """Fill the Pol.is page; without ``votes``, a ``participants-votes.csv`` beside ``comments`` is used."""
        self.tabs.setCurrentIndex(self.POLIS_TAB)
        self.comments_edit.setText(comments)
        if votes is None:
            sibling = Path(comments).with_name(VOTES_FILE)
            votes = str(sibling) if sibling.is_file() else self.votes_edit.text()
        self.votes_edit.setText(votes)
        if key is not None:
            self.key_edit.setText(key)

    def on_add_files(self) -> None:
        """Ask for CA-1 files and add them."""
        paths = Dialogs.ask_open_files(self, "Add CA-1 files", "", CA1_FILTERS)
        if paths:
            self.add_files(paths)

    def on_remove_files(self) -> None:
        """Remove the selected CA-1 files from the list."""
        rows = sorted({i.row() for i in self.files_view.selectionModel().selectedIndexes()}, reverse=True)
        for row in rows:
            self.files_model.removeRows(row, 1)

    def on_browse_comments(self) -> None:
        """Ask for the comments file."""
        paths = Dialogs.ask_open_files(self, "Choose the Pol.is comments.csv", "", CSV_FILTERS)
        if paths:
            self.set_polis_files(paths[0], None if not self.votes_edit.text() else self.votes_edit.text())

    def on_browse_votes(self) -> None:
        """Ask for the votes file."""
        paths = Dialogs.ask_open_files(self, f"Choose the Pol.is {VOTES_FILE}", "", CSV_FILTERS)
        if paths:
            self.votes_edit.setText(paths[0])

    # ---- running -----------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether an import is under way."""
        return self.progress is not None

    def on_import(self) -> None:
        """Start the import chosen on the current page (on the lane, with progress and cancel)."""
        if self.running:
            return
        strict = self.strict_box.isChecked()
        actor = self.actor or APP_ACTOR
        progress = TaskProgress(self)
        if self.tabs.currentIndex() == self.CA1_TAB:
            files = list(self.files_model.stringList())
            if not files:
                self._show_status("Add at least one CA-1 file first.", error=True)
                return
            label = f"Importing {len(files)} CA-1 file{'s' if len(files) != 1 else ''}…"

            def op(workspace: Any) -> OpResult[ImportSummary]:
                from reviewer import operations

                return operations.import_ca1(workspace, files, actor=actor, strict=strict, progress=progress)
        else:
            comments, votes = self.comments_edit.text().strip(), self.votes_edit.text().strip()
            key = self.key_edit.text().strip() or None
            if not comments or not votes:
                self._show_status("Choose both comments.csv and participants-votes.csv first.", error=True)
                return
            label = "Importing the Pol.is export…"

            def op(workspace: Any) -> OpResult[ImportSummary]:
                from reviewer import operations

                return operations.import_polis(workspace, comments, votes, actor=actor, key=key, strict=strict,
                                               progress=progress)

        self.progress = progress
        self.result_view.clear()
        self._show_status("")
        self.panel.attach(progress, label)
        self._update_buttons()
        self.lane.perform(op, success=self.on_imported, failure=self.on_failed)

    def cancel(self) -> None:
        """Ask the running import to stop; the workspace is left as it was."""
        if self.running:
            self.panel.on_cancel()

    def on_imported(self, summary: ImportSummary) -> None:
        """Show the summary of a finished import."""
        self._finish()
        self.summary = summary
        self.result_view.setHtml(summary_html(summary))
        added = sum(summary.added.values())
        bad = summary.quarantined
        self._show_status(f"Imported: {added:,} new row{'s' if added != 1 else ''}"
                          + (f", {bad:,} bad row{'s' if bad != 1 else ''} quarantined." if bad else "."))
        self.imported.emit(summary)

    def on_failed(self, error: BaseException) -> None:
        """Report a failed or cancelled import (nothing was written either way)."""
        self._finish()
        if isinstance(error, Cancelled):
            self._show_status("Cancelled: nothing was imported.")
            self.cancelled.emit()
            return
        if isinstance(error, KnownError):
            text = str(error)
            if "nothing was" not in text.lower():
                text += " Nothing was imported."
            self._show_status(text, error=True)
        else:
            self._show_status("The import failed because of an internal error; nothing was imported.", error=True)
            Dialogs.show_error(self, error)
        self.failed.emit(error)

    def reject(self) -> None:
        """Close, or, while an import runs, cancel it instead (Escape never leaves it running unseen)."""
        if self.running:
            self.cancel()
            return
        super().reject()

    # ---- helpers -----------------------------------------------------------------------------

    def _finish(self) -> None:
        self.panel.done()
        if self.progress is not None:
            self.progress.deleteLater()
        self.progress = None
        self._update_buttons()

    def _show_status(self, text: str, *, error: bool = False) -> None:
        self.status.setStyleSheet("color:#b3261e" if error else "")
        self.status.setText(text)

    def _update_buttons(self, *_: Any) -> None:
        running = self.running
        for widget in (self.tabs, self.strict_box):
            widget.setEnabled(not running)
        self.import_button.setEnabled(not running)
        self.close_button.setEnabled(not running)
        if hasattr(self, "remove_files_button"):
            self.remove_files_button.setEnabled(bool(self.files_model.rowCount()))


def _with_button(edit: QLineEdit, button: QPushButton) -> QWidget:
    box = QWidget()
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(edit, 1)
    row.addWidget(button)
    return box
