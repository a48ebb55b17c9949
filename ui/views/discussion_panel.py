"""The Discussion pane: a proposal's comment threads, the selected thread's comments, and a box to post.

A thread is on the proposal, on one of its sections (started from the diff) or on a justification
(started from the evidence lists). Threads are read on the workspace lane; posting, resolving and
reopening go through ``reviewer.operations`` on the lane, and the pane follows the changes the
lane broadcasts. Comment text is other people's: every part of it is escaped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from reviewer.errors import KnownError
from reviewer.render import escape
from reviewer.textsafe import dir_attributes
from ui.access import describe
from ui.keys import CtrlEnter
from ui.labels import PlainLabel, RichLabel, plain_tooltip, shown
from ui.models.texts import TextTableModel
from ui.text_browser import SafeTextBrowser
from ui.workers import WorkspaceLane

if TYPE_CHECKING:
    from reviewer.discussion import Comment, DiscussionView, Thread
    from reviewer.ops import Changes, OpResult

_Index = QModelIndex | QPersistentModelIndex
THREAD_COLUMNS = ("State", "On", "Started by", "Comments")
PLACEHOLDER = "Write a comment; @Name mentions a member. Ctrl+Enter posts."


def _when(at: str | None) -> str:
    return (at or "")[:16].replace("T", " ")


class ThreadListModel(TextTableModel):
    """The threads on one proposal, oldest first, one row each (a proposal has a few: no paging).

    Attributes:
        threads: the threads shown.
    """

    COLUMNS = THREAD_COLUMNS

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.threads: list[Thread] = []

    def set_threads(self, threads: list[Thread]) -> None:
        """Show ``threads``."""
        self.beginResetModel()
        self.threads = list(threads)
        self._texts = [tuple(shown(text) for text in (
            "Resolved" if t.resolved else "Open", t.target, t.started_by, str(len(t.comments)),
        )) for t in self.threads]
        self.endResetModel()

    def row_of(self, thread_id: str | None) -> int:
        """The row of a thread, or -1."""
        return next((i for i, t in enumerate(self.threads) if t.id == thread_id), -1)

    def tooltip(self, row: int) -> str:
        """Where the thread is, who started it, its state and its latest comment."""
        t = self.threads[row]
        state = f"resolved by {t.resolved_by}, {_when(t.resolved_at)}" if t.resolved else "open"
        latest = t.comments[-1] if t.comments else None
        said = f"\n\nLatest, by {latest.author}: {' '.join(latest.text.split())[:200]}" if latest else ""
        return plain_tooltip(f"On {t.target}, started by {t.started_by} {_when(t.created_at)} ({state})"
                             f"{said}\n\nthread {t.id}")

    def foreground(self, row: int) -> Any:
        """Resolved threads in grey."""
        return Qt.GlobalColor.gray if self.threads[row].resolved else None


def thread_html(thread: Thread) -> str:
    """The comments of one thread as HTML, every data part escaped, line breaks kept."""
    state = (f"<span style='color:#2e7d32'>Resolved</span> by {escape(thread.resolved_by or '')}, "
             f"{escape(_when(thread.resolved_at))}" if thread.resolved else "<span style='color:#c25e00'>Open</span>")
    parts = [f"<p style='margin:0 0 4px 0'><b>On {escape(thread.target)}</b> · {state}</p>"]
    for comment in thread.comments:
        mentions = (f" <span style='color:#5f6b7a'>· mentions {escape(', '.join(comment.mentions))}</span>"
                    if comment.mentions else "")
        parts.append(
            f"<p style='margin:6px 0 0 0'><b>{escape(comment.author)}</b> "
            f"<span style='color:#8a94a6'>{escape(_when(comment.created_at))}</span>{mentions}</p>"
            f"<p{dir_attributes(comment.text)} style='margin:0;white-space:pre-wrap'>{escape(comment.text)}</p>"
        )
    return "".join(parts)


class DiscussionPanel(QWidget):
    """A proposal's discussion: its threads, the selected one's comments, and posting, resolving, reopening.

    Signals:
        loaded(str): the threads of a proposal are shown (its id).
        posted(object): a ``Comment`` was saved.
        thread_changed(object): a ``Thread`` was resolved or reopened.
        failed(object): saving or loading failed (the error).
    """

    loaded = Signal(str)
    posted = Signal(object)
    thread_changed = Signal(object)
    failed = Signal(object)

    def __init__(self, lane: WorkspaceLane, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lane = lane
        self.proposal_id: str | None = None
        self.reviewer = ""
        self.members: list[str] | None = None  # read with each proposal
        self.sections: list[str] = []
        self._select_after: str | None = None
        self._justification: str | None = None  # a justification offered as a target
        self._restoring = False  # the list is being read again: the selection is put back, not chosen

        self.title = RichLabel("<b>Discussion</b>")
        self.model = ThreadListModel(self)
        self.threads_view = QTableView()
        describe(self.threads_view, None, "The discussion threads on this proposal; choose one to read and answer it")
        self.threads_view.setModel(self.model)
        self.threads_view.setAccessibleName("Discussion threads")
        self.threads_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.threads_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.threads_view.verticalHeader().hide()
        self.threads_view.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.threads_view.setWordWrap(False)
        header = self.threads_view.horizontalHeader()
        for column in range(len(THREAD_COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.threads_view.selectionModel().currentRowChanged.connect(lambda *_: self._on_thread_selected())
        self.thread_text = SafeTextBrowser()
        describe(self.thread_text, None, "The comments of the thread chosen above, oldest first")
        self.thread_text.setAccessibleName("Comments of the selected thread")
        self.thread_text.setPlaceholderText("Select a thread to read its comments.")
        lists = QSplitter(Qt.Orientation.Vertical)
        lists.setChildrenCollapsible(False)
        lists.addWidget(self.threads_view)
        lists.addWidget(self.thread_text)
        lists.setStretchFactor(0, 2)
        lists.setStretchFactor(1, 3)
        lists.setSizes([90, 130])

        self.target = QComboBox()
        self.target.setAccessibleName("Where to post")
        self.target.setToolTip("A reply in the selected thread, or a new thread on the proposal, a section or a"
                               " justification")
        target_label = PlainLabel("Post &to:")
        target_label.setBuddy(self.target)
        self.resolve_button = QPushButton("Res&olve thread")
        self.resolve_button.setAccessibleName("Resolve or reopen the selected thread")
        self.resolve_button.clicked.connect(self.on_resolve)
        target_row = QHBoxLayout()
        target_row.addWidget(target_label)
        target_row.addWidget(self.target, 1)
        target_row.addWidget(self.resolve_button)

        self.editor = QPlainTextEdit()
        describe(self.editor, None, "Write a comment for the thread or the section chosen (Ctrl+Enter posts it)")
        self.editor.setAccessibleName("New comment")
        self.editor.setPlaceholderText(PLACEHOLDER)
        self.editor.setTabChangesFocus(True)
        self.editor.setFixedHeight(self.fontMetrics().lineSpacing() * 3 + 14)
        CtrlEnter(self.editor, self.on_post)
        self.message = PlainLabel()
        self.message.setWordWrap(True)
        self.post_button = QPushButton("&Post")
        self.post_button.setToolTip("Post the comment (Ctrl+Enter)")
        self.post_button.clicked.connect(self.on_post)
        post_row = QHBoxLayout()
        post_row.addWidget(self.editor, 1)
        post_row.addWidget(self.post_button, 0, Qt.AlignmentFlag.AlignBottom)
        # Folded to its title line while a proposal has no threads (the diff gets the room); open
        # when it has some, when a thread is started, or when the reviewer opens it.
        self.fold_button = QToolButton()
        self.fold_button.setCheckable(True)
        self.fold_button.setAutoRaise(True)
        self.fold_button.setAccessibleName("Show the discussion")
        self.fold_button.toggled.connect(self._apply_fold)
        self.fold_button.clicked.connect(self._on_fold_clicked)
        self._opened_by_hand: bool | None = None  # the reviewer's own choice, kept across proposals
        title_row = QHBoxLayout()
        title_row.addWidget(self.fold_button)
        title_row.addWidget(self.title)
        title_row.addWidget(self.message, 1)
        self.body = QWidget()
        body = QVBoxLayout(self.body)
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(3)
        body.addWidget(lists, 3)
        body.addLayout(target_row)
        body.addLayout(post_row)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 4)
        layout.setSpacing(3)
        layout.addLayout(title_row)
        layout.addWidget(self.body, 1)
        self.set_open(False)  # until a proposal with threads is read (or the reviewer opens it)
        self.set_proposal(None)

    # ---- inputs ----------------------------------------------------------------------------

    def set_reviewer(self, name: str) -> None:
        """Post as ``name`` (a member, any role)."""
        self.reviewer = (name or "").strip()
        self._say("")
        self._update_buttons()

    def set_proposal(self, proposal_id: str | None) -> None:
        """Show the discussion of ``proposal_id`` (None clears). Moving to another proposal clears the editor."""
        if proposal_id != self.proposal_id:
            self.editor.clear()
            self._justification = None
            self._select_after = None
        self.proposal_id = proposal_id
        if proposal_id is None:
            self.model.set_threads([])
            self.sections = []
            self.thread_text.clear()
            self.title.setText("<b>Discussion</b>")
            self._fill_targets()
            self._update_buttons()
            return

        def load(ws: Any) -> DiscussionView:
            from reviewer.discussion import discussion_view

            return discussion_view(ws.store, proposal_id)

        self.lane.run(load, success=self.on_loaded, failure=self.on_failed)

    def on_loaded(self, loaded: DiscussionView) -> None:
        """Show a proposal's threads (ignored when another proposal was chosen since)."""
        proposal_id, threads, sections, members = (loaded.proposal_id, loaded.threads, loaded.section_ids,
                                                   loaded.members)
        if proposal_id != self.proposal_id:
            return
        posted_to = self._select_after  # the thread just posted in, resolved or reopened
        keep = posted_to or self.current_thread_id()
        self._select_after = None
        self.members, self.sections = members, sections
        self.model.set_threads(threads)
        open_count = sum(not t.resolved for t in threads)
        self.title.setText(f"<b>Discussion</b> <span style='color:#5f6b7a'>· {open_count} open, "
                           f"{len(threads) - open_count} resolved</span>" if threads else
                           "<b>Discussion</b> <span style='color:#5f6b7a'>· no threads yet</span>")
        if not self.editor.hasFocus() and not self.editor.toPlainText().strip():
            self.set_open(self._opened_by_hand if self._opened_by_hand is not None else bool(threads))
        row = self.model.row_of(keep)
        self._restoring = True
        try:
            if row >= 0:
                self.threads_view.selectRow(row)
            self._show_current()
        finally:
            self._restoring = False
        if posted_to is not None and self.target.count() and self.target.itemData(0) == ("reply", posted_to):
            self.target.setCurrentIndex(0)  # what comes next in the thread posted in is a reply
        self.loaded.emit(proposal_id)

    def on_changes(self, changes: Changes) -> None:
        """Re-read the threads when an operation changed this proposal's discussion, or the members."""
        from reviewer.ops import Area

        if self.proposal_id is not None and (changes.touches(Area.MEMBERS) or (
            changes.touches(Area.DISCUSSION) and changes.touches_proposal(self.proposal_id)
        )):
            self.set_proposal(self.proposal_id)  # the same proposal: the editor is kept

    def current_thread(self) -> Thread | None:
        """The thread selected, or None."""
        index = self.threads_view.currentIndex()
        return self.model.threads[index.row()] if index.isValid() else None

    def current_thread_id(self) -> str | None:
        """The id of the thread selected, or None."""
        thread = self.current_thread()
        return thread.id if thread is not None else None

    def select_thread(self, thread_id: str) -> bool:
        """Select a thread; False when it is not shown."""
        row = self.model.row_of(thread_id)
        if row >= 0:
            self.threads_view.selectRow(row)
        return row >= 0

    def start_on_section(self, section_id: str) -> None:
        """Offer a new thread on ``section_id`` and put the cursor in the editor (from the diff)."""
        self._choose_target(("section", section_id))
        self.focus_comment()

    def start_on_justification(self, justification_id: str) -> None:
        """Offer a new thread on ``justification_id`` and put the cursor in the editor (from the evidence lists)."""
        self._justification = justification_id
        self._fill_targets()
        self._choose_target(("justification", justification_id))
        self.focus_comment()

    def focus_comment(self) -> None:
        """Move the keyboard focus to the comment editor (opening the discussion when it is folded)."""
        self.set_open(True)
        self.editor.setFocus(Qt.FocusReason.ShortcutFocusReason)

    # ---- folding ---------------------------------------------------------------------------

    def is_open(self) -> bool:
        """Whether the threads and the editor are shown (not folded to the title line)."""
        return self.fold_button.isChecked()

    def set_open(self, shown: bool) -> None:
        """Show the threads and the editor, or fold the pane to its title line."""
        if self.fold_button.isChecked() != shown:
            self.fold_button.setChecked(shown)
        else:
            self._apply_fold(shown)

    def _on_fold_clicked(self, shown: bool) -> None:
        self._opened_by_hand = shown  # the reviewer's choice wins from now on

    def _apply_fold(self, shown: bool) -> None:
        self.body.setVisible(shown)
        self.fold_button.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        self.fold_button.setToolTip("Fold the discussion to this line" if shown else "Show the discussion")
        self.fold_button.setAccessibleName("Fold the discussion" if shown else "Show the discussion")
        # Folded, the pane is one line high: the splitter gives the diff the rest.
        line = max(self.fold_button.sizeHint().height(), self.title.sizeHint().height())
        self.setMaximumHeight(16777215 if shown else line + 10)

    # ---- display ---------------------------------------------------------------------------

    def _on_thread_selected(self) -> None:
        """A thread chosen: show it, and offer a reply in it first when it is open."""
        self._show_current()
        if not self._restoring and self.target.count() and self.target.itemData(0)[0] == "reply":
            self.target.setCurrentIndex(0)

    def _show_current(self) -> None:
        thread = self.current_thread()
        if thread is None:
            self.thread_text.clear()
        else:
            self.thread_text.setHtml(thread_html(thread))
        self._fill_targets()
        self._update_buttons()

    def _fill_targets(self) -> None:
        """Offer: a reply in the selected open thread, then new threads on the proposal, each section, a justification."""
        chosen = self.target.currentData()
        thread = self.current_thread()
        self.target.blockSignals(True)
        self.target.clear()
        if thread is not None and not thread.resolved:
            self.target.addItem(shown(f"Reply in the thread on {thread.target}"), ("reply", thread.id))
        if self.proposal_id is not None:
            self.target.addItem("New thread on the proposal", ("proposal", None))
            for section_id in self.sections:
                self.target.addItem(shown(f"New thread on section #{section_id}"), ("section", section_id))
            if self._justification:
                self.target.addItem(f"New thread on justification {self._justification[:8]}",
                                    ("justification", self._justification))
        if chosen is not None and chosen[0] != "reply":
            self._choose_target(chosen)
        self.target.blockSignals(False)

    def _choose_target(self, wanted: tuple[str, str | None]) -> None:
        for i in range(self.target.count()):
            if self.target.itemData(i) == wanted:
                self.target.setCurrentIndex(i)
                return

    def _update_buttons(self) -> None:
        thread = self.current_thread()
        has_proposal = self.proposal_id is not None
        for widget in (self.target, self.editor, self.post_button):
            widget.setEnabled(has_proposal)
        self.resolve_button.setEnabled(thread is not None)
        self.resolve_button.setText("Re&open thread" if thread is not None and thread.resolved else "Res&olve thread")
        problem = self.member_problem() if has_proposal else ""
        self.post_button.setToolTip(plain_tooltip(problem or "Post the comment (Ctrl+Enter)"))

    def member_problem(self) -> str:
        """Say why the person named cannot take part ("" when they can, or before the members are read)."""
        if not self.reviewer:
            return "Choose who you are first (Settings ▸ Reviewer name…)."
        if self.members is not None and self.reviewer not in self.members:
            return f"{self.reviewer} is not a member of this workspace: only members take part in the discussion."
        return ""

    def _say(self, text: str, *, error: bool = False) -> None:
        self.message.setStyleSheet("color:#b3261e" if error else "color:#5f6b7a")
        self.message.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.message.setText(text)

    # ---- writing ---------------------------------------------------------------------------

    def on_post(self) -> None:
        """Post the editor's text where ``Post to`` says, as the reviewer named (checked here, then by the domain)."""
        if self.proposal_id is None:
            return
        problem = self.member_problem()
        text = self.editor.toPlainText()
        if not problem and not text.strip():
            problem = "Write a comment first."
        target = self.target.currentData()
        if problem or target is None:
            self._say(problem or "Choose where to post.", error=True)
            self.failed.emit(KnownError(problem or "Choose where to post."))
            return
        kind, value = target
        proposal_id, actor = self.proposal_id, self.reviewer
        self.post_button.setEnabled(False)
        self._say("Posting…")

        def post(ws: Any) -> OpResult[Comment]:
            from reviewer import operations

            return operations.add_comment(
                ws, proposal_id, text, actor=actor, reply_to=value if kind == "reply" else None,
                section_id=value if kind == "section" else None,
                justification_id=value if kind == "justification" else None)

        self._select_after = None
        self.lane.perform(post, success=self.on_posted, failure=self.on_failed)

    def on_posted(self, comment: Comment) -> None:
        """Clear the editor and choose the thread just posted to (the list follows from the changes)."""
        self.post_button.setEnabled(True)
        self.editor.clear()
        if not self.select_thread(comment.thread_id):
            self._select_after = comment.thread_id  # a new thread: selected when the list is read again
        mentions = f", mentioning {', '.join(comment.mentions)}" if comment.mentions else ""
        self._say(f"Posted as {comment.author}{mentions}.")
        self.posted.emit(comment)

    def on_resolve(self) -> None:
        """Resolve the selected thread, or reopen it when it is resolved."""
        thread = self.current_thread()
        if thread is None:
            return
        problem = self.member_problem()
        if problem:
            self._say(problem, error=True)
            self.failed.emit(KnownError(problem))
            return
        thread_id, actor, resolve = thread.id, self.reviewer, not thread.resolved
        self.resolve_button.setEnabled(False)

        def change(ws: Any) -> OpResult[Thread]:
            from reviewer import operations

            act = operations.resolve_thread if resolve else operations.reopen_thread
            return act(ws, thread_id, actor=actor)

        self.lane.perform(change, success=self.on_thread_changed, failure=self.on_failed)

    def on_thread_changed(self, thread: Thread) -> None:
        """Say what was done (the list follows from the changes)."""
        self._select_after = thread.id
        self._say(f"{'Resolved' if thread.resolved else 'Reopened'} the thread on {thread.target}.")
        self._update_buttons()
        self.thread_changed.emit(thread)

    def on_failed(self, error: BaseException) -> None:
        """Show why posting, resolving or loading failed (domain refusals are plain messages)."""
        self.post_button.setEnabled(self.proposal_id is not None)
        self._update_buttons()
        if isinstance(error, KnownError):
            self._say(str(error), error=True)
        else:
            from ui.dialogs import Dialogs

            Dialogs.show_error(self, error)
        self.failed.emit(error)


__all__ = ["DiscussionPanel", "ThreadListModel", "thread_html"]
