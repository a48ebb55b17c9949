"""The proposal editor: section texts with a live diff and format check, title, intent, kind, and evidence found by search.

The editor holds a ``reviewer.proposals.ProposalDraft``. Every edit (debounced) checks the draft
with ``check_draft``, the same rules the save runs, and shows the diff of each section against
the spec it was opened on (``DiffView``) and every problem; Save stays disabled while there is one.
Saving runs one operation on the window's lane through the ``save`` callable it was given: by
default ``operations.add_proposal`` with the ticked conversations and justifications, all in one
transaction. An "Edit…" action can open the same editor on a stored proposal
(``draft_from_proposal``) with its own ``save`` (a revision) and ``links=False``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from reviewer.errors import KnownError
from reviewer.proposals import DraftCheck, ProposalDraft, check_draft
from reviewer.render import escape
from reviewer.search import SearchResult
from ui.access import describe, describe_tabs
from ui.dialogs import Dialogs
from ui.labels import PlainLabel, RichLabel
from ui.models.queue import KIND_LABELS
from ui.models.search_hits import (
    COL_LINK,
    COL_PROMPT,
    COL_TEXT,
    ChosenHits,
    SearchHitModel,
    SnippetDelegate,
)
from ui.views.diff_view import DiffView

if TYPE_CHECKING:
    from reviewer.ops import OpResult
    from reviewer.spec import SpecDocument
    from reviewer.workspace import LoadedSpec, Workspace
    from ui.workers import WorkspaceLane

SaveFunction = Callable[["Workspace", ProposalDraft, str], "OpResult[Any]"]
"""Saves a draft as one operation on the lane: ``save(workspace, draft, actor)``."""

CHECK_DELAY_MS = 250
SEARCH_DELAY_MS = 300
SEARCH_LIMIT = 50


def add_from_draft(workspace: Workspace, draft: ProposalDraft, actor: str) -> OpResult[Any]:
    """The editor's default save: a new proposal with its linked conversations and justifications, one operation."""
    from reviewer import operations

    return operations.add_proposal(
        workspace, actor=actor, changes=list(draft.changes), title=draft.title, intent=draft.intent,
        kind=draft.kind, base_revision=draft.base_revision, linked_conversations=list(draft.conversations),
        justifications=list(draft.justifications),
    )


def editor_text(editor: QPlainTextEdit) -> str:
    """The text an editor holds, character for character.

    WORKAROUND for https://doc.qt.io/qt-6/qplaintextedit.html#toPlainText: ``toPlainText()``
    turns every non-breaking space into a space (the Model Spec has some), which would show as a
    change nobody made. The raw text keeps them; its paragraph separators are the line breaks.
    """
    return editor.document().toRawText().replace("\u2029", "\n")


def _problems_html(check: DraftCheck | None, extra: Sequence[str] = ()) -> str:
    if check is None:
        return "<span style='color:#6b6b6b'>Reading the spec…</span>"
    problems = [*extra, *check.problems]
    if not problems:
        moved = ", ".join(f"{escape(s)} {escape(o or 'none')} → {escape(n or 'none')}" for s, o, n in check.moved)
        return f"<span style='color:#1e7b34'>✔ Ready to save.{' Authority changes: ' + moved + '.' if moved else ''}</span>"
    items = "".join(f"<li>{escape(p)}</li>" for p in problems)
    return f"<span style='color:#b3261e'><b>Not ready to save:</b></span><ul style='margin:0'>{items}</ul>"


class HitTable(QTableView):
    """A table of search hits where Space ticks or unticks the current row, whichever column has the focus."""

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        """Qt override: Space (un)ticks the current hit."""
        model = self.model()
        index = self.currentIndex()
        if event.key() == Qt.Key.Key_Space and isinstance(model, SearchHitModel) and index.isValid():
            hit = model.hit_at(index.row())
            if hit is not None:
                model.chosen.set_chosen(hit, not model.chosen.is_chosen(hit))
            event.accept()
            return
        super().keyPressEvent(event)


class ProposalEditor(QDialog):
    """Write a proposal (or edit one): texts with a live diff and check, title, intent, kind, evidence to link.

    Attributes:
        lane: the window's workspace lane (reads and the save run there).
        actor: who writes it (the proposal's author, and who links its evidence).
        base: the spec the texts are compared with (None until read).
        revision: that spec's commit.
        editors: the text editor of each chosen section, by section id, in order.
        check: the latest check of the draft.
        chosen: the search hits ticked to be linked.

    Signals:
        loaded(): the spec is read and the editors filled.
        checked(object): the draft was checked again (its ``DraftCheck``).
        searched(object): a search's ``SearchResult`` is shown.
        saved(object): the save's value (the new proposal, by default).
        failed(object): the save failed (the error); nothing was written.
        conversation_requested(str, str): open a hit's conversation (conversation id, justification id or "").
    """

    loaded = Signal()
    checked = Signal(object)
    searched = Signal(object)
    saved = Signal(object)
    failed = Signal(object)
    conversation_requested = Signal(str, str)

    def __init__(self, lane: WorkspaceLane, parent: QWidget | None = None, *, actor: str,
                 sections: Sequence[str] = (), draft: ProposalDraft | None = None,
                 save: SaveFunction | None = None, links: bool = True, title: str = "New proposal",
                 save_text: str = "&Save proposal") -> None:
        super().__init__(parent)
        self.lane = lane
        self.actor = actor
        self.save_function = save or add_from_draft
        self.links = links
        self.initial = draft or ProposalDraft(changes=tuple((s, "") for s in sections))
        self.base: SpecDocument | None = None
        self.revision = self.initial.base_revision
        self.editors: dict[str, QPlainTextEdit] = {}
        self.check: DraftCheck | None = None
        self.saving = False
        self.save_error: str | None = None
        self._query = ""
        self.setWindowTitle(f"{title} — Spec Review")
        self.resize(self._first_size())

        self.title_edit = QLineEdit(self.initial.title)
        self.title_edit.setAccessibleName("Proposal title")
        self.title_edit.setPlaceholderText("What the change does, in a line")
        self.intent_edit = QPlainTextEdit(self.initial.intent)
        describe(self.intent_edit, "Proposal intent", "What the proposal is for, and why, in one or two sentences")
        self.intent_edit.setPlaceholderText("One or two plain sentences: what it is for, and why")
        self.intent_edit.setTabChangesFocus(True)
        self.intent_edit.setFixedHeight(self.fontMetrics().lineSpacing() * 3 + 12)
        self.kind_combo = QComboBox()
        self.kind_combo.setAccessibleName("Proposal kind")
        for value, label in KIND_LABELS.items():
            self.kind_combo.addItem(label, value)
        self.kind_combo.setCurrentIndex(max(self.kind_combo.findData(self.initial.kind), 0))
        self.kind_combo.setToolTip("A change of a section's authority is a change of principle")
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        kind_row = QHBoxLayout()
        kind_row.addWidget(self.kind_combo)
        kind_row.addWidget(PlainLabel(f"Author: {actor}"), 1)
        for text, buddy, field in (("&Title:", self.title_edit, self.title_edit),
                                   ("&Intent:", self.intent_edit, self.intent_edit),
                                   ("&Kind:", self.kind_combo, kind_row)):
            form_label = PlainLabel(text)  # the & marks the Alt key that focuses its field (the buddy)
            form_label.setBuddy(buddy)
            form.addRow(form_label, field)

        # ---- the texts ----
        self.section_tabs = QTabWidget()
        self.section_tabs.setAccessibleName("Chosen sections")
        self.section_tabs.setDocumentMode(True)
        self.add_combo = QComboBox()
        describe(self.add_combo, None, "A section of the spec to add to the proposal")
        self.add_combo.setAccessibleName("Section to add")
        self.add_combo.setEditable(True)
        self.add_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        line = self.add_combo.lineEdit()
        if line is not None:
            line.setPlaceholderText("Section id or title…")
        self.add_combo.setMinimumContentsLength(18)
        self.add_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.add_button = QPushButton("&Add section")
        self.add_button.setToolTip("Change one more section in this proposal")
        self.add_button.clicked.connect(self.on_add_section)
        self.remove_button = QPushButton("&Remove section")
        self.remove_button.setToolTip("Leave the section shown out of this proposal")
        self.remove_button.clicked.connect(self.on_remove_section)
        section_bar = QHBoxLayout()
        section_bar.setContentsMargins(0, 0, 0, 0)
        section_bar.addWidget(self.add_combo, 1)
        section_bar.addWidget(self.add_button)
        section_bar.addWidget(self.remove_button)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(section_bar)
        left_layout.addWidget(self.section_tabs, 1)
        self.diff_view = DiffView()
        self.diff_view.placeholder = "Reading the spec…"
        self.diff_view.set_mode("inline")
        self.diff_view.browser.setAccessibleName("Live diff against the current spec")
        self.diff_view.discuss_button.hide()  # a draft is not in the record yet: nothing to discuss
        self.text_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.text_splitter.addWidget(left)
        self.text_splitter.addWidget(self.diff_view)
        self.text_splitter.setChildrenCollapsible(False)
        self.text_splitter.setSizes([600, 600])

        # ---- evidence ----
        self.chosen = ChosenHits(self)
        self.search_edit = QLineEdit()
        self.search_edit.setAccessibleName("Search the crowd's words")
        self.search_edit.setPlaceholderText('Words in prompts, responses and justifications; "a phrase" in quotes')
        self.search_edit.setClearButtonEnabled(True)
        self.search_kind = QComboBox()
        describe(self.search_kind, None, "Search conversations, justifications or both")
        self.search_kind.setAccessibleName("Search in")
        for label, kinds in (("Conversations and justifications", None), ("Conversations", ["conversation"]),
                             ("Justifications", ["justification"])):
            self.search_kind.addItem(label, kinds)
        self.search_status = PlainLabel("")
        self.search_status.setWordWrap(True)
        self.results_model = SearchHitModel(self.chosen, self)
        self.results = self._hit_table(self.results_model, "Search results (Space ticks one to link, Enter opens it)")
        self.chosen_model = SearchHitModel(self.chosen, self, mirror=True)
        self.chosen_table = self._hit_table(self.chosen_model, "To link (Space unticks)")
        self.chosen_label = PlainLabel(self.chosen.describe())
        self.chosen.changed.connect(self.on_chosen_changed)
        search_row = QHBoxLayout()
        search_row.setContentsMargins(0, 0, 0, 0)
        search_label = PlainLabel("Searc&h:")  # Alt+S is Save
        search_label.setBuddy(self.search_edit)
        search_row.addWidget(search_label)
        search_row.addWidget(self.search_edit, 1)
        search_row.addWidget(self.search_kind)
        evidence = QWidget()
        evidence_layout = QVBoxLayout(evidence)
        evidence_layout.setContentsMargins(4, 4, 4, 4)
        evidence_layout.addLayout(search_row)
        evidence_layout.addWidget(self.search_status)
        evidence_split = QSplitter(Qt.Orientation.Vertical)
        evidence_split.addWidget(self.results)
        chosen_box = QWidget()
        chosen_layout = QVBoxLayout(chosen_box)
        chosen_layout.setContentsMargins(0, 0, 0, 0)
        chosen_layout.addWidget(self.chosen_label)
        chosen_layout.addWidget(self.chosen_table, 1)
        evidence_split.addWidget(chosen_box)
        evidence_split.setSizes([300, 160])
        evidence_layout.addWidget(evidence_split, 1)

        self.pages = QTabWidget()
        self.pages.addTab(self.text_splitter, "Te&xt and diff")
        self.evidence_page = evidence
        if links:
            self.pages.addTab(evidence, "&Evidence to link")
        describe_tabs(self.pages, "The proposal's new section texts and their diff against the spec",
                      "Search conversations and justifications and link them to the proposal as its evidence")

        self.check_label = RichLabel(_problems_html(None))
        self.check_label.setWordWrap(True)
        self.check_label.setAccessibleName("Format check")
        self.check_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QDialogButtonBox()
        self.save_button = self.buttons.addButton(save_text, QDialogButtonBox.ButtonRole.AcceptRole)
        self.save_button.setEnabled(False)
        self.save_button.setDefault(False)
        self.save_button.setAutoDefault(False)
        self.save_button.setToolTip("Save as one operation (Ctrl+S)")
        cancel = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        describe(cancel, None, "Close the editor without saving")
        # Enter in the search box or the title must never press a button (Cancel would lose the text).
        for button in (self.save_button, cancel, self.add_button, self.remove_button):
            if button is not None:
                button.setAutoDefault(False)
                button.setDefault(False)
        self.buttons.accepted.connect(self.on_save)
        self.buttons.rejected.connect(self.reject)
        QShortcut(QKeySequence.StandardKey.Save, self, self.on_save)
        bottom = QHBoxLayout()
        bottom.addWidget(self.check_label, 1)
        bottom.addWidget(self.buttons, 0, Qt.AlignmentFlag.AlignBottom)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.pages, 1)
        layout.addLayout(bottom)

        self.check_timer = QTimer(self)
        self.check_timer.setSingleShot(True)
        self.check_timer.setInterval(CHECK_DELAY_MS)
        self.check_timer.timeout.connect(self.run_check)
        self.search_timer = QTimer(self)
        self.search_timer.setSingleShot(True)
        self.search_timer.setInterval(SEARCH_DELAY_MS)
        self.search_timer.timeout.connect(self.run_search)
        self.title_edit.textChanged.connect(self.schedule_check)
        self.intent_edit.textChanged.connect(self.schedule_check)
        self.kind_combo.currentIndexChanged.connect(self.schedule_check)
        self.search_edit.textChanged.connect(lambda _t: self.search_timer.start())
        self.search_edit.returnPressed.connect(self.run_search)
        self.search_kind.currentIndexChanged.connect(lambda _i: self.run_search(force=True))
        self._load()

    @staticmethod
    def _first_size() -> QSize:
        screen = QGuiApplication.primaryScreen()
        if screen is None:
            return QSize(1240, 760)
        free = screen.availableGeometry()
        return QSize(min(1240, free.width() - 24), min(760, free.height() - 48))

    def _hit_table(self, model: SearchHitModel, name: str) -> QTableView:
        table = HitTable()
        describe(table, None, "Conversations and justifications: Space ticks or unticks one, Enter opens it")
        table.setModel(model)
        table.setAccessibleName(name)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.verticalHeader().hide()
        table.setWordWrap(False)
        header = table.horizontalHeader()
        header.setSectionResizeMode(COL_LINK, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COL_PROMPT, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(COL_PROMPT, 150)
        header.setSectionResizeMode(COL_TEXT, QHeaderView.ResizeMode.Stretch)
        table.setTabKeyNavigation(False)
        table.setItemDelegateForColumn(COL_TEXT, SnippetDelegate(table))
        table.activated.connect(lambda index, m=model: self.on_hit_activated(m, index.row()))
        return table

    def on_hit_activated(self, model: SearchHitModel, row: int) -> None:
        """Enter or a double click on a hit: ask for its conversation (the window opens it)."""
        hit = model.hit_at(row)
        if hit is not None and hit.conversation_id:
            self.conversation_requested.emit(hit.conversation_id, hit.id if hit.kind == "justification" else "")

    # ---- loading ---------------------------------------------------------------------------

    def _load(self) -> None:
        revision = self.initial.base_revision

        def read(ws: Workspace) -> LoadedSpec:
            return ws.load_spec(revision)

        self.lane.run(read, success=self.on_loaded, failure=self.on_load_failed, context=self)

    def on_loaded(self, loaded: LoadedSpec) -> None:
        """Fill the section list and one editor per chosen section (its draft text, else its current text)."""
        self.base = loaded.document
        self.revision = loaded.revision
        for section in loaded.document.sections:
            if section.id:
                self.add_combo.addItem(f"{section.id} — {section.title}", section.id)
        self.add_combo.setCurrentIndex(-1)
        for section_id, text in self.initial.changes:
            self.add_section(section_id, text or None)
        self.section_tabs.setCurrentIndex(0)
        for conversation_id in self.initial.conversations:  # a stored proposal's: shown as ticked
            from reviewer.search import SearchHit

            self.chosen.set_chosen(SearchHit("conversation", conversation_id, "linked", conversation_id, None, None,
                                             "(linked already)"), True)
        self.run_check()
        self.loaded.emit()

    def on_load_failed(self, error: BaseException) -> None:
        """The spec could not be read: say so (nothing can be written without it)."""
        self.check_label.setText(_problems_html(DraftCheck((), {}, (), ()), [f"Cannot read the spec: {error}"]))
        Dialogs.show_error(self, error)

    # ---- sections --------------------------------------------------------------------------

    def add_section(self, section_id: str, text: str | None = None) -> bool:
        """Add an editor for ``section_id`` holding ``text`` (default: its current text); False when unknown or there."""
        if self.base is None or section_id in self.editors:
            return False
        section = self.base.get(section_id)
        if section is None:
            return False
        editor = QPlainTextEdit((section.text if text is None else text).replace("\r\n", "\n"))
        describe(editor, None, f"The new text of section {section_id}, as Markdown")
        editor.setAccessibleName(f"New text of section {section_id}")
        editor.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        editor.setTabChangesFocus(True)
        editor.textChanged.connect(self.schedule_check)
        self.editors[section_id] = editor
        index = self.section_tabs.addTab(editor, section_id)
        self.section_tabs.setTabToolTip(index, f"The new text of section {section_id}")
        self.section_tabs.setCurrentWidget(editor)
        self.schedule_check()
        return True

    def on_add_section(self) -> None:
        """Add the section named in the box (its id, or an entry of the list)."""
        typed = self.add_combo.currentText().strip()
        index = self.add_combo.findText(typed)
        section_id = self.add_combo.itemData(index) if index >= 0 else typed.split(" — ", 1)[0].lstrip("#")
        if not self.add_section(str(section_id)):
            self.check_label.setText(_problems_html(self.check, [f"No section {section_id!r} to add"
                                                                  " (or it is chosen already)."]))
            return
        self.add_combo.setCurrentIndex(-1)
        self.add_combo.clearEditText()

    def on_remove_section(self) -> None:
        """Leave the section shown out of the proposal."""
        editor = self.section_tabs.currentWidget()
        for section_id, widget in list(self.editors.items()):
            if widget is editor:
                del self.editors[section_id]
                self.section_tabs.removeTab(self.section_tabs.indexOf(widget))
                widget.deleteLater()
        self.schedule_check()

    # ---- the draft and its check -----------------------------------------------------------

    def draft(self) -> ProposalDraft:
        """What the editor holds now."""
        return ProposalDraft(
            changes=tuple((sid, self._line_ends(sid, editor_text(editor))) for sid, editor in self.editors.items()),
            title=self.title_edit.text(), intent=self.intent_edit.toPlainText(),
            kind=str(self.kind_combo.currentData()), base_revision=self.revision,
            conversations=self.chosen.ids("conversation"), justifications=self.chosen.ids("justification"),
            proposal_id=self.initial.proposal_id,
        )

    def _line_ends(self, section_id: str, text: str) -> str:
        """The editor's text with the spec file's line ends (a text editor keeps only the line breaks)."""
        section = self.base.get(section_id) if self.base is not None else None
        return text.replace("\n", "\r\n") if section is not None and "\r\n" in section.text else text

    def schedule_check(self) -> None:
        """Check the draft again once typing pauses."""
        self.save_error = None
        self.check_timer.start()

    def run_check(self) -> None:
        """Check the draft now: the diff of each section, and every reason it cannot be saved yet."""
        self.check_timer.stop()
        if self.base is None:
            return
        check = check_draft(self.base, self.draft())
        self.check = check
        self.diff_view.set_sections(check.sections)
        extra = [] if self.actor.strip() else ["Choose who you are first (Settings ▸ Reviewer name…)."]
        if self.save_error:
            extra.insert(0, f"Not saved: {self.save_error}")
        self.check_label.setText(_problems_html(check, extra))
        for n in range(self.section_tabs.count()):
            section_id = self.section_tabs.tabText(n).replace("&", "")
            problem = check.section_problems.get(section_id)
            moved = any(s == section_id for s, _o, _n in check.moved)
            self.section_tabs.setTabToolTip(n, problem or ("The authority changes" if moved else "Ready"))
            self.section_tabs.tabBar().setTabTextColor(
                n, Qt.GlobalColor.darkRed if problem else Qt.GlobalColor.darkYellow if moved else Qt.GlobalColor.black)
        self.save_button.setEnabled(check.ok and not extra and not self.saving)
        self.checked.emit(check)

    # ---- evidence --------------------------------------------------------------------------

    def run_search(self, *, force: bool = False) -> None:
        """Search the crowd's words for what is typed (on the lane; a stale answer is dropped)."""
        self.search_timer.stop()
        query = self.search_edit.text()
        if query == self._query and not force:
            return
        self._query = query
        kinds = self.search_kind.currentData()
        self.search_status.setText("Searching… (the first search after an import updates the search index)")

        def find(ws: Workspace) -> SearchResult:
            from reviewer.search import search_workspace

            return search_workspace(ws, query, limit=SEARCH_LIMIT, kinds=kinds)

        def show(result: SearchResult) -> None:
            if result.query != self.search_edit.text():
                return  # the person typed on meanwhile
            self.results_model.set_hits(list(result.hits))
            self.search_status.setText(result.describe())
            self.searched.emit(result)

        def failed(error: BaseException) -> None:
            self.search_status.setText(f"Search failed: {error}")

        self.lane.run(find, success=show, failure=failed, context=self)

    def on_chosen_changed(self) -> None:
        """Say what will be linked, on the label and the tab."""
        self.chosen_label.setText(self.chosen.describe())
        count = len(self.chosen.hits)
        index = self.pages.indexOf(self.evidence_page)
        if index >= 0:
            self.pages.setTabText(index, f"&Evidence to link ({count})" if count else "&Evidence to link")

    # ---- saving ----------------------------------------------------------------------------

    def changed_since_opened(self) -> bool:
        """Whether anything typed would be lost by closing."""
        if self.base is None:
            return False
        draft = self.draft()
        texts = {sid: text for sid, text in draft.changes}
        opened = {sid: text or (self.base.get(sid).text if self.base.get(sid) else "")  # type: ignore[union-attr]
                  for sid, text in self.initial.changes}
        return (texts != opened or draft.title != self.initial.title or draft.intent != self.initial.intent
                or set(draft.conversations) != set(self.initial.conversations) or bool(draft.justifications))

    def reject(self) -> None:
        """Cancel or Escape: close, after asking when something typed would be lost."""
        if self.saving:
            return
        if self.changed_since_opened() and not Dialogs.confirm(self, "Close the editor and lose what you wrote?"):
            return
        super().reject()

    def on_save(self) -> None:
        """Save the draft as one operation; the dialog closes when it is written, and stays with the reason when not."""
        self.run_check()
        if self.saving or not self.save_button.isEnabled():
            return
        draft = self.draft()
        save, actor = self.save_function, self.actor
        self.saving = True
        self.save_button.setEnabled(False)
        self.check_label.setText("<span style='color:#6b6b6b'>Saving…</span>")
        self.lane.perform(lambda ws: save(ws, draft, actor), success=self.on_saved, failure=self.on_save_failed,
                          context=self)

    def on_saved(self, value: Any) -> None:
        """Written: report it and close."""
        self.saving = False
        self.saved.emit(value)
        self.accept()

    def on_save_failed(self, error: BaseException) -> None:
        """Nothing was written: say why, and keep everything typed."""
        self.saving = False
        if isinstance(error, KnownError):
            self.save_error = str(error)
            self.run_check()
        else:
            self.run_check()
            Dialogs.show_error(self, error)
        self.failed.emit(error)
