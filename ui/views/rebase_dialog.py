"""Rebase a proposal onto the current spec: each conflicting hunk as base / current spec / proposed, resolved in place."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from reviewer.revisions import Hunk, RebasePlan, Revision
from reviewer.textsafe import display_text
from ui.labels import PlainLabel
from ui.workers import WorkspaceLane, describe_error

MESSAGE_STYLE = "color:{0};border:1px solid {0};border-radius:3px;padding:4px 6px"


def _mono() -> QFont:
    return QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)


def _pane(text: str, name: str) -> QPlainTextEdit:
    """A read-only side of a conflict: the text as it is, never interpreted."""
    pane = QPlainTextEdit()
    pane.setReadOnly(True)
    pane.setPlainText(display_text(text))
    pane.setFont(_mono())
    pane.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
    pane.setAccessibleName(name)
    pane.setMinimumHeight(60)
    pane.setTabChangesFocus(True)
    return pane


class ConflictEditor(QGroupBox):
    """One conflicting hunk: the base, the current spec and the proposal side by side, and its resolution."""

    def __init__(self, section_id: str, number: int, total: int, hunk: Hunk, parent: QWidget | None = None) -> None:
        super().__init__(f"Section {section_id} — conflict {number} of {total}", parent)
        self.hunk = hunk
        grid = QGridLayout(self)
        for column, (title, text, what) in enumerate((
            ("Base (as the proposal was written)", hunk.base, "base"),
            ("Current spec", hunk.current, "current spec"),
            ("Proposed", hunk.proposed, "proposed"),
        )):
            grid.addWidget(PlainLabel(title), 0, column)
            grid.addWidget(_pane(text, f"{section_id}, conflict {number}: {what}"), 1, column)
        self.resolution = QPlainTextEdit()
        self.resolution.setFont(_mono())
        self.resolution.setPlainText(hunk.proposed)
        self.resolution.setTabChangesFocus(True)
        self.resolution.setAccessibleName(f"{section_id}, conflict {number}: resolution")
        self.resolution.setToolTip("The lines as they should read in the new revision")
        self.resolution.setMinimumHeight(70)
        buttons = QHBoxLayout()
        buttons.addWidget(PlainLabel("Resolution:"))
        for text, lines in (("Use current", hunk.current), ("Use proposed", hunk.proposed),
                            ("Use both", hunk.current + hunk.proposed)):
            button = QPushButton(text)
            button.setAutoDefault(False)
            button.clicked.connect(lambda _=False, value=lines: self.resolution.setPlainText(value))
            buttons.addWidget(button)
        buttons.addStretch(1)
        grid.addLayout(buttons, 2, 0, 1, 3)
        grid.addWidget(self.resolution, 3, 0, 1, 3)

    def text(self) -> str:
        """The resolved lines, ending in a newline as the lines around them expect."""
        value = self.resolution.toPlainText()
        return value if not value or value.endswith("\n") else value + "\n"


class RebaseDialog(QDialog):
    """Carries a proposal onto the current spec as a new revision; conflicts are resolved here.

    Signals:
        rebased(object): the new ``Revision`` was saved.

    Attributes:
        plan: the three-way merge of each section (``revisions.rebase_plan``).
        conflicts: one editor per conflicting hunk, in order.
    """

    rebased = Signal(object)

    def __init__(self, lane: WorkspaceLane, plan: RebasePlan, actor: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lane, self.plan, self.actor = lane, plan, actor
        proposal = plan.proposal
        self.setWindowTitle(f"Rebase — {display_text(proposal.title)}")
        self.resize(1000, 640)
        clean = [s for s in plan.sections if not s.conflicts and not s.problem]
        intro = (f"\u201c{proposal.title}\u201d (revision {proposal.revision}) was written against "
                 f"{proposal.base_revision[:10]}; the spec is now at {plan.revision[:10]}. ")
        if plan.conflicts:
            intro += (f"{plan.conflicts} conflicting hunk{'' if plan.conflicts == 1 else 's'} to resolve; "
                      f"{len(clean)} of {len(plan.sections)} section{'' if len(plan.sections) == 1 else 's'} "
                      "merge cleanly. A resolved revision is new text: earlier votes wait for their reviewers "
                      "to confirm them.")
        else:
            intro += "Every section merges cleanly: the same change on the newer spec, so the votes carry over."
        self.intro = PlainLabel(display_text(intro))
        self.intro.setWordWrap(True)

        body = QWidget()
        column = QVBoxLayout(body)
        self.conflicts: list[tuple[str, ConflictEditor]] = []
        for section in plan.sections:
            if section.problem:
                column.addWidget(PlainLabel(display_text(f"Section {section.section_id}: {section.problem}.")))
                continue
            if not section.conflicts:
                column.addWidget(PlainLabel(f"Section {section.section_id}: merges cleanly."))
                continue
            hunks = [h for h in section.hunks if h.conflict]
            for number, hunk in enumerate(hunks, 1):
                editor = ConflictEditor(section.section_id, number, len(hunks), hunk)
                self.conflicts.append((section.section_id, editor))
                column.addWidget(editor)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)

        self.note = QLineEdit()
        self.note.setPlaceholderText("what this revision does, for the reviewers (optional)")
        self.note.setAccessibleName("Revision note")
        note_label = PlainLabel("&Note:")
        note_label.setBuddy(self.note)
        note_row = QHBoxLayout()
        note_row.addWidget(note_label)
        note_row.addWidget(self.note, 1)

        self.message = PlainLabel()
        self.message.setWordWrap(True)
        self.message.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.save_button = self.buttons.addButton(f"&Save as revision {proposal.revision + 1}",
                                                  QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        if any(s.problem for s in plan.sections):
            self.save_button.setEnabled(False)

        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(scroll, 1)
        layout.addLayout(note_row)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        if self.conflicts:
            self.conflicts[0][1].resolution.setFocus(Qt.FocusReason.OtherFocusReason)

    def resolutions(self) -> dict[str, str]:
        """Each conflicting section's whole text with its hunks resolved as the boxes say."""
        out = {}
        for section in self.plan.sections:
            choices = [editor.text() for sid, editor in self.conflicts if sid == section.section_id]
            if choices:
                out[section.section_id] = section.resolve(choices)
        return out

    def save(self) -> None:
        """Save the rebase as a new revision on the workspace lane; on failure, say why and keep every box."""
        from reviewer import operations

        resolutions, note = self.resolutions(), self.note.text()
        proposal_id, seen, actor = self.plan.proposal.id, self.plan.proposal.revision, self.actor
        self.save_button.setEnabled(False)
        self._say("Saving…", "#1f5fbf")
        self.lane.perform(
            lambda ws: operations.rebase_proposal(ws, proposal_id, actor=actor, resolutions=resolutions or None,
                                                  note=note, seen_revision=seen),
            success=self._saved, failure=self._failed)

    def _saved(self, revision: Revision) -> None:
        self.rebased.emit(revision)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        text, _is_bug = describe_error(error)
        self._say(f"Not saved: {text}", "#b3261e")
        self.save_button.setEnabled(True)

    def _say(self, text: str, colour: str) -> None:
        self.message.setStyleSheet(MESSAGE_STYLE.format(colour))
        self.message.setText(display_text(text))
        self.message.show()
