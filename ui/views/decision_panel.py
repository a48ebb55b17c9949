"""The decision panel: adopt / defer / set aside with a reason category, a rationale, the answers owed, and the history."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from reviewer.errors import KnownError
from reviewer.glossary import term
from reviewer.outcomes import REASONS
from reviewer.render import escape
from reviewer.vocab import Role, Status
from ui.access import describe
from ui.keys import CtrlEnter
from ui.labels import PlainLabel, RichLabel, plain_tooltip, shown
from ui.models.queue import STATUS_LABELS
from ui.models.texts import TextTableModel
from ui.views.help import follow_glossary_link, glossary_link, status_link
from ui.workers import WorkspaceLane

if TYPE_CHECKING:
    from reviewer.decision_evidence import SeenEvidence
    from reviewer.duty import OwedGroup
    from reviewer.governance import Decision, DecisionResult, ProposalStatus
    from reviewer.ops import Changes, OpResult

_Index = QModelIndex | QPersistentModelIndex
DUTY_LINES = 4
"""The most answer lines the panel shows at once; more scroll."""
OUTCOME_LABELS = {"adopt": "Adopt", "defer": "Defer", "set_aside": "Set aside"}
REASON_LABELS = {
    "needs-research": "Needs research",
    "needs-product-work": "Needs product work",
    "needs-more-evidence": "Needs more evidence",
    "principle": "Principle",
    "feasibility": "Feasibility",
    "risk": "Risk",
    "insufficient-evidence": "Insufficient evidence",
    "other": "Other",
}
OUTCOME_HELP = {outcome: term(key).definition for outcome, key in
                (("adopt", "adopt"), ("defer", "defer"), ("set_aside", "set_aside_vote"))}
HISTORY_COLUMNS = ("When (UTC)", "Reviewer", "Outcome", "Reason", "Revision", "Rationale")


class DecisionHistoryModel(TextTableModel):
    """Every decision recorded on one proposal, newest first.

    The cells' texts are made once per change (``set_decisions``, ``set_evidence_now``).

    Attributes:
        decisions: the decisions shown.
        evidence_now: the proposal's evidence as it is now (what each decision's is compared with), or None.
        proposal_id: the proposal whose decisions these are (None when none is shown).
    """

    COLUMNS = HISTORY_COLUMNS

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.decisions: list[Decision] = []
        self.evidence_now: dict[str, Any] | None = None
        self.proposal_id: str | None = None
        self.votes_from = 1  # the first revision whose votes count: earlier ones are marked
        self._changed: list[bool] = []

    def set_decisions(self, decisions: list[Decision], evidence_now: dict[str, Any] | None = None,
                      proposal_id: str | None = None, votes_from: int = 1) -> None:
        """Show ``decisions`` of ``proposal_id`` (any order; shown newest first) beside the evidence as it is now.

        A decision made on a revision before ``votes_from`` is marked as on an earlier text.
        """
        self.beginResetModel()
        self.decisions = sorted(decisions, key=lambda d: d.decided_at, reverse=True)
        self.proposal_id = proposal_id
        self.votes_from = votes_from
        self._compare(evidence_now)
        self.endResetModel()

    def set_evidence_now(self, evidence_now: dict[str, Any] | None) -> None:
        """Compare the decisions shown with ``evidence_now`` (their marks and tooltips follow)."""
        self._compare(evidence_now)
        if self.decisions:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.decisions) - 1, len(HISTORY_COLUMNS) - 1))

    def _compare(self, evidence_now: dict[str, Any] | None) -> None:
        self.evidence_now = evidence_now
        self._changed = [self.evidence_changed(d) for d in self.decisions]
        self._texts = [
            tuple(shown(text) for text in (
                d.decided_at[:19].replace("T", " "),
                d.reviewer,
                OUTCOME_LABELS.get(d.outcome, d.outcome) + (" *" if changed else ""),
                REASON_LABELS.get(d.reason_category or "", d.reason_category or ""),
                f"{d.proposal_revision or 1}" + (" (earlier text)" if self.on_earlier_text(d) else ""),
                " ".join(d.rationale.split()),
            ))
            for d, changed in zip(self.decisions, self._changed, strict=True)
        ]

    def on_earlier_text(self, decision: Decision) -> bool:
        """Whether ``decision`` was made on a revision whose votes no longer count."""
        return (decision.proposal_revision or 1) < self.votes_from

    def evidence_changed(self, decision: Decision) -> bool:
        """Whether the evidence has changed since ``decision`` was made on it."""
        from reviewer.decision_evidence import evidence_changed

        return self.evidence_now is not None and evidence_changed(decision.evidence, self.evidence_now)

    def changed_count(self) -> int:
        """How many decisions shown were made on evidence that has changed since."""
        return sum(self._changed)

    def tooltip(self, row: int) -> str:
        """A decision's reviewer, time, rationale and evidence (then and, when it changed, now)."""
        from reviewer.decision_evidence import counts_line

        d = self.decisions[row]
        evidence = ""
        if d.evidence:
            evidence = f"\n\nEvidence when decided: {counts_line(d.evidence)}"
            if self._changed[row] and self.evidence_now is not None:
                evidence += f"\n* Changed since. Now: {counts_line(self.evidence_now)}"
        revision = f"\n\nOn revision {d.proposal_revision or 1}" + (
            ": an earlier text; it counts again once its reviewer confirms it." if self.on_earlier_text(d) else ".")
        answers = "".join(f"\n- to {g['name']} (clearly {g['stance']}): {d.responses.get(g['id'], '')}"
                          for g in (d.duty or {}).get("owed", []))
        if answers:
            answers = f"\n\nAnswers to the groups it went against (the duty to respond):{answers}"
        return plain_tooltip(
            f"{d.reviewer}, {d.decided_at}\n\n{d.rationale}{answers}{evidence}{revision}\n\ndecision {d.id}")


def _demographic_field(groups: list[OwedGroup]) -> dict[str, str]:
    """The demographic field of each demographic group owed (group id -> field); opinion groups have none."""
    from reviewer.duty import DEMOGRAPHIC_PREFIX

    return {g.id: g.id.removeprefix(DEMOGRAPHIC_PREFIX).partition("=")[0] for g in groups
            if g.id.startswith(DEMOGRAPHIC_PREFIX)}


def _short_names(groups: list[OwedGroup]) -> dict[str, str]:
    """Each group's name for a message, as short as is still clear.

    The value alone (``Japan``) when the demographic groups owed are all of one field; ``field:
    value`` when they come from several (``age: 18-24``); an opinion group's name as it is.
    """
    several = len(set(_demographic_field(groups).values())) > 1
    return {g.id: g.name if several else g.name.split(": ", 1)[-1] for g in groups}


class DecisionPanel(QWidget):
    """Records a reviewer's decision on the current proposal through ``governance.record_decision``.

    Signals:
        decision_saved(object): a ``DecisionResult`` after a decision was stored.
        loaded(str): the history and status of a proposal are shown.
        failed(object): saving or loading failed (the error).
    """

    decision_saved = Signal(object)
    loaded = Signal(str)
    failed = Signal(object)

    def __init__(self, lane: WorkspaceLane, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lane = lane
        self.proposal_id: str | None = None
        self.reviewer = ""
        self.members: dict[str, tuple[str, ...]] | None = None  # name -> roles, read with each proposal
        # The demographic field whose split the reviewer is shown (kept with the decision's evidence);
        # the window points it at the evidence view's choice.
        self.split_field: Callable[[], str | None] = lambda: None
        # The evidence the desk read with that split (``EvidenceView.seen_evidence``): a decision
        # keeps it when nothing has changed it since, instead of reading every label again.
        self.seen_evidence: Callable[[], SeenEvidence | None] = lambda: None

        self.status_label = RichLabel()
        self.status_label.setWordWrap(True)
        # The status word and "on an earlier text" are links to their glossary entries.
        self.status_label.linkActivated.connect(lambda url: follow_glossary_link(self, url))
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse
                                                  | Qt.TextInteractionFlag.LinksAccessibleByKeyboard)
        describe(self.status_label, "Proposal status", "Where the proposal stands, its quorum and the votes; "
                 "the status word leads to its meaning in the glossary")

        self.outcomes = QButtonGroup(self)
        outcome_row = QHBoxLayout()
        for outcome, label in (("adopt", "&Adopt"), ("defer", "&Defer"), ("set_aside", "S&et aside")):
            button = QRadioButton(label)
            button.setObjectName(f"outcome_{outcome}")
            describe(button, None, OUTCOME_HELP[outcome])
            self.outcomes.addButton(button)
            outcome_row.addWidget(button)
            button.toggled.connect(self.on_outcome_toggled)
        outcome_row.addSpacing(8)

        self.reason = QComboBox()
        self.reason.setObjectName("reason")
        self.reason.setMinimumContentsLength(18)
        reason_row = QHBoxLayout()
        reason_label = PlainLabel("&Reason:")
        reason_label.setBuddy(self.reason)
        reason_row.addWidget(reason_label)
        reason_row.addWidget(self.reason, 1)

        self.rationale = QPlainTextEdit()
        self.rationale.setObjectName("rationale")
        describe(self.rationale, "Rationale", "Why you decide so, in words the public and other reviewers can read "
                 "(required; Ctrl+Enter records the decision)")
        self.rationale.setPlaceholderText(
            "Rationale (required): why, in words the public and other reviewers can read. "
            "Weigh the crowd evidence with what the data cannot show."
        )
        self.rationale.setTabChangesFocus(True)
        self.rationale.setMinimumHeight(3 * self.fontMetrics().lineSpacing() + 8)

        # The duty to respond: the groups the chosen outcome goes against, one line each to answer
        # them. Shown only when something is owed, so the panel stays compact otherwise.
        # outcome -> groups, for the proposal shown: the groups of the workspace's duty fields, whatever
        # split the evidence view shows (``reviewer.duty``).
        self.owed: dict[str, list[OwedGroup]] = {}
        self._owed_for: str | None = None  # the proposal they were read for
        self.answers: dict[str, QLineEdit] = {}  # group id -> its field, for the outcome shown
        self._typed: dict[tuple[str, str], str] = {}  # (outcome, group id) -> text: kept across outcome changes
        self.duty_box = QWidget()
        self.duty_box.setObjectName("duty_to_respond")
        duty_layout = QVBoxLayout(self.duty_box)
        duty_layout.setContentsMargins(0, 0, 0, 0)
        duty_layout.setSpacing(2)
        self.duty_title = PlainLabel()
        # The lines scroll past ``DUTY_LINES``: several duty fields can owe a dozen groups, and a panel
        # as tall as all of them would push the desk into tabs at 1366x768 (six lines already do).
        duty_lines = QWidget()
        self.duty_form = QFormLayout(duty_lines)
        self.duty_form.setContentsMargins(0, 0, 0, 0)
        self.duty_form.setVerticalSpacing(2)
        self.duty_scroll = QScrollArea()
        self.duty_scroll.setObjectName("duty_lines")
        self.duty_scroll.setWidget(duty_lines)
        self.duty_scroll.setWidgetResizable(True)
        self.duty_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.duty_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        duty_layout.addWidget(self.duty_title)
        duty_layout.addWidget(self.duty_scroll)
        self.duty_box.hide()

        self.message = PlainLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color:#b3261e")
        self.save_button = QPushButton("Record decision")
        self.save_button.setToolTip("Record the decision (Ctrl+Enter)")
        self.save_button.setAccessibleDescription("Record the decision with the outcome, reason and rationale above")
        self.save_button.clicked.connect(self.on_save)
        # A vote on an earlier text counts again once its reviewer confirms it on the new one.
        self.confirm_button = QPushButton("&Confirm my vote")
        self.confirm_button.setObjectName("confirm_vote")
        self.confirm_button.setAccessibleName("Confirm my vote on the current revision")
        self.confirm_button.setAccessibleDescription("Count your vote on an earlier text again, on the current revision")
        self.confirm_button.clicked.connect(self.on_confirm)
        self.confirm_button.hide()
        save_row = QHBoxLayout()
        save_row.addWidget(self.message, 1)
        save_row.addWidget(self.confirm_button)
        save_row.addWidget(self.save_button)
        # Ctrl+Enter in the rationale records the decision (checked on the editor itself, so it
        # works wherever the focus came from).
        CtrlEnter(self.rationale, self.on_save)

        self.history_model = DecisionHistoryModel(self)
        self.history = QTableView()
        self.history.setModel(self.history_model)
        describe(self.history, "Decisions on record", "Every decision recorded on this proposal, newest first; "
                 "hover one for its rationale and evidence")
        self.history.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.history.verticalHeader().hide()
        self.history.setWordWrap(False)
        header = self.history.horizontalHeader()
        # Fitted when decisions are read (``fit_history``), not live: a live fit measures every row.
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(len(HISTORY_COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)

        # The outcome and its reason on one line: the evidence above keeps the room.
        choice_row = QHBoxLayout()
        choice_row.addLayout(outcome_row)
        choice_row.addLayout(reason_row, 1)
        self.history.setMinimumHeight(self.fontMetrics().lineSpacing() * 2 + 12)  # the header and a row

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.status_label)
        layout.addLayout(choice_row)
        layout.addWidget(self.rationale, 1)
        layout.addWidget(self.duty_box)
        layout.addLayout(save_row)
        self.history_title = PlainLabel("Decisions on record:")
        layout.addWidget(self.history_title)
        layout.addWidget(self.history, 1)
        self._set_enabled(False)

    # ---- inputs ----------------------------------------------------------------------------

    def set_reviewer(self, name: str) -> None:
        """Decide as ``name`` (a member with the reviewer role)."""
        self.reviewer = name.strip()
        self.message.clear()
        self._show_status(None)

    def set_proposal(self, proposal_id: str | None) -> None:
        """Show the status and decisions of ``proposal_id`` (None clears).

        Moving to another proposal clears the form: an outcome chosen or a rationale typed for one
        proposal is never recorded against the next.
        """
        if proposal_id != self.proposal_id:
            self.clear_form()
            # The groups the last proposal owed are not this one's: none until its own are read.
            self.owed, self._owed_for = {}, None
            self._show_owed()
        self.proposal_id = proposal_id
        self.message.clear()
        if proposal_id is None:
            self.history_model.set_decisions([])
            self.fit_history()
            self.status_label.clear()
            self._set_enabled(False)
            return
        self._set_enabled(True)
        seen = self.seen_evidence()
        if seen is not None and seen.proposal_id != proposal_id:
            seen = None
        # A proposal just chosen has its evidence read by the evidence view with its split, labels'
        # digest included: the history takes "now" from there (``on_split_shown``) rather than read
        # the same 50,000 labels a second time beside it. Without a split to wait for, it reads them.
        split_coming = seen is None and self.split_field() is not None

        def load(ws: Any) -> tuple[str, ProposalStatus, list[Decision], dict[str, tuple[str, ...]], dict[str, Any]]:
            from reviewer import governance
            from reviewer.decision_evidence import evidence_snapshot, still_current

            decisions = governance.decisions_for(ws.store, proposal_id)
            now: dict[str, Any] = {}
            if any(d.evidence for d in decisions):
                # Evidence "now", to show beside each decision's "at decision" when they differ.
                if seen is not None and still_current(ws.store, seen, proposal_id):
                    now = seen.snapshot
                elif not split_coming:
                    now = evidence_snapshot(ws.store, proposal_id, None)
            return (
                proposal_id, governance.proposal_status(ws.store, proposal_id), decisions,
                {m.name: m.roles for m in governance.list_members(ws.store)}, now,
            )

        self.lane.run(load, success=self.on_loaded, failure=self.on_failed)
        self.load_owed()

    def load_owed(self) -> None:
        """Read what each outcome would owe (``reviewer.duty``) for the proposal: the duty fields' groups, any split."""
        proposal_id = self.proposal_id
        if proposal_id is None:
            return

        def read(ws: Any) -> tuple[str, dict[str, list[OwedGroup]]]:
            from reviewer.duty import owed_by_outcome

            return proposal_id, owed_by_outcome(ws.store, proposal_id)

        self.lane.run(read, success=self.on_owed_loaded, failure=self.on_failed)

    def on_owed_loaded(self, loaded: tuple[str, dict[str, list[OwedGroup]]]) -> None:
        """Keep what each outcome owes (ignored when another proposal was chosen since) and show the chosen one's."""
        proposal_id, owed = loaded
        if proposal_id != self.proposal_id:
            return
        self._owed_for, self.owed = proposal_id, owed
        self._show_owed()

    def _show_owed(self) -> None:
        """One line per group the chosen outcome owes an answer; hidden when it owes none."""
        outcome = self.outcome()
        for group_id, field in self.answers.items():  # keep what was typed, should the outcome come back
            if outcome_was := field.property("outcome"):
                self._typed[(outcome_was, group_id)] = field.text()
        while self.duty_form.rowCount():
            self.duty_form.removeRow(0)
        self.answers = {}
        groups = self.owed.get(outcome or "", [])
        self.duty_box.setVisible(bool(groups))
        if not groups:
            return
        verb = "Adopting goes against" if outcome == "adopt" else "Setting aside goes against"
        clearly = ("clearly refute" if outcome == "adopt" else "clearly support") + ("s it" if len(groups) == 1 else " it")
        # One short line (a wrapped label's height is not in the panel's minimum): the rest in the tooltip.
        self.duty_title.setText(f"Answer the {len(groups)} group{'' if len(groups) == 1 else 's'} it goes against:")
        self.duty_title.setToolTip(plain_tooltip(
            f"{verb} {len(groups)} group{'' if len(groups) == 1 else 's'} that {clearly} (the whole 95% interval of "
            "its share supporting on the other side of 50%). The duty to respond: answer each in a sentence; the "
            "answers are kept with the decision and printed in the transparency report."))
        from ui.views.evidence_view import field_title

        fields = _demographic_field(groups)
        heading = None
        for g in groups:
            # Groups of several fields: a heading names each field once, the lines under it its values.
            if len(set(fields.values())) > 1 and fields.get(g.id) not in (None, heading):
                heading = fields[g.id]
                title = PlainLabel(f"{field_title(heading)}:")
                title.setObjectName(f"duty_field:{heading}")
                self.duty_form.addRow(title)
            field = QLineEdit()
            field.setObjectName(f"respond:{g.id}")
            field.setProperty("outcome", outcome)
            field.setPlaceholderText("Your answer to this group (required)")
            field.setMinimumHeight(field.sizeHint().height())  # never squeezed below a line of text
            field.setText(self._typed.get((outcome or "", g.id), ""))
            label = PlainLabel(f"{g.name.split(': ', 1)[-1]}, {g.share * 100:.0f}% support "
                               f"({g.low * 100:.0f}–{g.high * 100:.0f}%):")
            label.setBuddy(field)
            label.setToolTip(plain_tooltip(g.describe()))
            describe(field, f"Answer to {g.name}", f"One sentence answering {g.describe()} (required to record)")
            self.duty_form.addRow(label, field)
            self.answers[g.id] = field
        # As tall as the lines, up to ``DUTY_LINES`` of them; the rest scroll (Tab scrolls to each).
        # Measured row by row: the new lines are not shown yet, so the form's own hint leaves them out.
        rows = [max(widget.sizeHint().height() for role in QFormLayout.ItemRole
                    if (item := self.duty_form.itemAt(row, role)) is not None and (widget := item.widget()) is not None)
                for row in range(self.duty_form.rowCount())][:DUTY_LINES]
        self.duty_scroll.setFixedHeight(sum(rows) + self.duty_form.verticalSpacing() * (len(rows) - 1))
        if len(groups) > DUTY_LINES:
            self.duty_title.setText(f"Answer the {len(groups)} groups it goes against (scroll for all):")
        self.duty_box.updateGeometry()
        self.updateGeometry()

    def responses(self) -> dict[str, str]:
        """The answers typed for the groups the chosen outcome owes one."""
        return {group_id: field.text() for group_id, field in self.answers.items()}

    def focus_decision(self) -> None:
        """Move the keyboard focus to the outcome choice (the "jump to decision" key)."""
        checked = self.outcomes.checkedButton() or self.outcomes.buttons()[0]
        checked.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def on_outcome_toggled(self, _checked: bool) -> None:
        """Offer the reason categories that fit the chosen outcome, and the groups it owes an answer."""
        outcome = self.outcome()
        self._show_owed()
        self.reason.clear()
        reasons = REASONS.get(outcome or "", ())
        if not reasons:
            self.reason.addItem("— (adopting needs no category)", None)
            self.reason.setEnabled(False)
            return
        self.reason.setEnabled(True)
        self.reason.addItem("Choose a reason…", None)
        for reason in reasons:
            self.reason.addItem(REASON_LABELS.get(reason, reason), reason)

    def outcome(self) -> str | None:
        """Return the chosen outcome, or None."""
        button = self.outcomes.checkedButton()
        return button.objectName().removeprefix("outcome_") if button else None

    # ---- saving ----------------------------------------------------------------------------

    def on_save(self) -> None:
        """Check the inputs here, then record the decision in the background."""
        problem = self._problem()
        if problem:
            self.message.setText(problem)
            return
        proposal_id, outcome = self.proposal_id, self.outcome()
        assert proposal_id is not None and outcome is not None
        reviewer, rationale, reason = self.reviewer, self.rationale.toPlainText(), self.reason.currentData()
        responses = self.responses()
        self.message.clear()
        self.save_button.setEnabled(False)
        split_by, seen = self.split_field(), self.seen_evidence()
        status = getattr(self, "_status", None)
        # The revision the reviewer read: refused if the proposal was revised since (F5 shows the new text).
        revision = status.revision if status is not None and status.proposal_id == proposal_id else None

        def save(ws: Any) -> OpResult[DecisionResult]:
            from reviewer import operations

            return operations.decide(ws, proposal_id, outcome, rationale, actor=reviewer, reason=reason,
                                     split_by=split_by, seen=seen, revision=revision, responses=responses)

        self.lane.perform(save, success=self.on_saved, failure=self.on_failed)

    def on_confirm(self) -> None:
        """Confirm the reviewer's vote on an earlier revision on the current text, in the background."""
        proposal_id, reviewer = self.proposal_id, self.reviewer
        if proposal_id is None or not reviewer:
            return
        self.message.clear()
        self.confirm_button.setEnabled(False)

        def confirm(ws: Any) -> OpResult[DecisionResult]:
            from reviewer import operations

            return operations.confirm_vote(ws, proposal_id, actor=reviewer)

        self.lane.perform(confirm, success=self.on_saved, failure=self.on_failed)

    def _problem(self) -> str:
        if self.proposal_id is None:
            return "Choose a proposal first."
        who = self.reviewer_problem()
        if who:
            return who
        outcome = self.outcome()
        if outcome is None:
            return "Choose adopt, defer or set aside."
        if REASONS.get(outcome) and not self.reason.currentData():
            return "Choose a reason category."
        if not self.rationale.toPlainText().strip():
            return "Write a rationale: a decision is never recorded without one."
        owed = self.owed.get(outcome, [])
        short = _short_names(owed)
        unanswered = [short[g.id] for g in owed if not self.responses().get(g.id, "").strip()]
        if unanswered:
            return f"Answer each group owed an answer: {', '.join(unanswered)}."
        return ""

    def reviewer_problem(self) -> str:
        """Say why the person deciding cannot record a decision here, before they write anything ("" if they can)."""
        if not self.reviewer:
            return "Choose who is deciding first (Settings ▸ Reviewer name…)."
        if self.members is None:
            return ""  # not read yet; the domain checks again when recording
        from reviewer.governance import role_problem

        problem = role_problem(self.reviewer, self.members.get(self.reviewer), Role.REVIEWER)
        return "" if problem is None else str(problem)

    def clear_form(self) -> None:
        """Forget the chosen outcome, reason, rationale and answers."""
        self.rationale.clear()
        self._typed.clear()
        for field in self.answers.values():
            field.setProperty("outcome", None)
        checked = self.outcomes.checkedButton()
        if checked:
            self.outcomes.setExclusive(False)
            checked.setChecked(False)
            self.outcomes.setExclusive(True)
        self.on_outcome_toggled(False)  # the reason list follows: none chosen

    def on_saved(self, result: DecisionResult) -> None:
        """Clear the form (the history follows from the decision's changes, ``on_changes``)."""
        self.save_button.setEnabled(True)
        self.confirm_button.setEnabled(True)
        self.clear_form()
        self.decision_saved.emit(result)

    def on_changes(self, changes: Changes) -> None:
        """Re-read the shown proposal's status, history and members when an operation changed them."""
        from reviewer.ops import Area

        if self.proposal_id is None:
            return
        if changes.touches(Area.MEMBERS, Area.QUORUM, Area.COMMITS) or (
            changes.touches(Area.DECISIONS, Area.PROPOSALS, Area.LABELS, Area.LINKS)
            and changes.touches_proposal(self.proposal_id)
        ):
            self.set_proposal(self.proposal_id)  # the same proposal: the form is kept
        elif changes.touches(Area.WORKSPACE):
            self.load_owed()  # the duty's settings (fields, minimum size) may have changed

    def on_loaded(
        self, loaded: tuple[str, ProposalStatus, list[Decision], dict[str, tuple[str, ...]], dict[str, Any]]
    ) -> None:
        """Show a proposal's status and history (ignored when another proposal was chosen since)."""
        proposal_id, status, decisions, members, evidence_now = loaded
        if proposal_id != self.proposal_id:
            return
        self.members = members
        if not evidence_now:
            seen = self.seen_evidence()  # the split may have come first
            if seen is not None and seen.proposal_id == proposal_id:
                evidence_now = seen.snapshot
        self.history_model.set_decisions(decisions, evidence_now or None, proposal_id, status.votes_from)
        self.fit_history()
        self._show_history_title()
        self._show_status(status)
        self.loaded.emit(proposal_id)

    def on_split_shown(self, proposal_id: str) -> None:
        """Compare the history with the evidence the evidence view has just read with its split.

        The groups owed an answer stay as they are: they are the duty fields', whatever the split.
        """
        seen = self.seen_evidence()
        if proposal_id != self.history_model.proposal_id or seen is None or seen.proposal_id != proposal_id:
            return  # the history shown is another proposal's (its own is still being read)
        kept_evidence = any(d.evidence for d in self.history_model.decisions)
        if kept_evidence and seen.snapshot != self.history_model.evidence_now:
            self.history_model.set_evidence_now(seen.snapshot)
            self.fit_history()  # a mark (*) may widen the outcome column
            self._show_history_title()

    def fit_history(self) -> None:
        """Fit each column but the rationale to its contents, as Qt's own fit does, measuring one cell each.

        Qt's live fit (``ResizeToContents``) asks the model for every role of every cell, through
        Python, on each layout of the table: 120 decisions held the window 40 ms, and over 100 ms
        while a reader thread wanted the interpreter too. Here each column's widest text is found
        with the font's metrics and only its cell is measured.
        """
        model, view = self.history_model, self.history
        header = view.horizontalHeader()
        metrics = view.fontMetrics()
        for column in range(len(HISTORY_COLUMNS) - 1):
            width = header.sectionSizeHint(column)
            row_of = {model.text(row, column): row for row in range(model.rowCount())}  # each text once
            if row_of:
                widest = max(row_of, key=metrics.horizontalAdvance)
                # As QTableView.sizeHintForColumn: the cell's size hint and one pixel for the grid.
                cell = view.sizeHintForIndex(model.index(row_of[widest], column))
                width = max(width, cell.width() + int(view.showGrid()))
            header.resizeSection(column, width)

    def _show_history_title(self) -> None:
        changed = self.history_model.changed_count()
        none = self.history_model.rowCount() == 0
        self.history.setVisible(not none)  # an empty table's room goes to the evidence above
        self.history_title.setText(
            "No decisions on record yet." if none else "Decisions on record:" if not changed else
            f"Decisions on record (* {changed} made on evidence that has changed since; hover one for then and now):"
        )

    def on_failed(self, error: BaseException) -> None:
        """Show why saving or loading failed (domain refusals are plain messages)."""
        self.save_button.setEnabled(True)
        self.confirm_button.setEnabled(True)
        if isinstance(error, KnownError):
            self.message.setText(str(error))
        else:
            from ui.dialogs import Dialogs

            Dialogs.show_error(self, error)
        self.failed.emit(error)

    # ---- display ---------------------------------------------------------------------------

    def _show_status(self, status: ProposalStatus | None) -> None:
        if status is not None:
            self._status = status
        status = getattr(self, "_status", None)
        if status is None or status.proposal_id != self.proposal_id:
            return
        label = status_link(status.status, STATUS_LABELS.get(status.status, status.status))
        agreeing = sum(1 for v in status.votes.values() if v == (status.final_outcome or ""))
        votes = ", ".join(
            f"{escape(name)}: {OUTCOME_LABELS.get(v, v)}" for name, v in sorted(status.votes.items())
        ) or "none yet"
        who = f"deciding as <b>{escape(self.reviewer)}</b>" if self.reviewer else "<span style='color:#b3261e'>no reviewer name set</span>"
        detail = f" · {escape(status.detail)}" if status.detail else ""
        stale = ", ".join(
            f"{escape(name)}: {OUTCOME_LABELS.get(o, o)} (revision {n})" for name, (o, n) in sorted(status.stale.items()))
        earlier = (f" · <span style='color:#c25e00'>{glossary_link('on_earlier_text', 'on an earlier text')}, to confirm: "
                   f"{stale}</span>" if stale else "")
        revision = f" · revision {status.revision}" if status.revision > 1 else ""
        self.status_label.setText(
            f"<b>{label}</b>{revision} · level {status.level}, {glossary_link('quorum', 'quorum')} {status.quorum}"
            f"{f' ({agreeing} agree)' if status.final_outcome else ''} · latest votes: {votes}{earlier}{detail}<br/>{who}"
        )
        committed = status.status == Status.COMMITTED
        mine = status.stale.get(self.reviewer) if not committed else None
        self.confirm_button.setVisible(mine is not None)
        if mine is not None:
            self.confirm_button.setText(f"&Confirm my {OUTCOME_LABELS.get(mine[0], mine[0]).lower()} on revision "
                                        f"{status.revision}")
            self.confirm_button.setToolTip(plain_tooltip(
                f"Your vote was on revision {mine[1]}; the text has changed since. Confirm it on revision "
                f"{status.revision} (the same outcome and rationale), or record a new decision."))
        self._set_enabled(not committed)
        if committed:
            self.message.setText(f"Committed in {(status.commit_sha or '')[:10]}; it cannot be decided again.")
            return
        # Say who cannot decide before they write a rationale, and keep Record off meanwhile.
        problem = self.reviewer_problem()
        self.save_button.setEnabled(not problem)
        self.save_button.setToolTip(plain_tooltip(problem or "Record the decision (Ctrl+Enter)"))
        if problem:
            self.message.setText(problem)

    def _set_enabled(self, enabled: bool) -> None:
        for widget in (*self.outcomes.buttons(), self.reason, self.rationale, self.save_button):
            widget.setEnabled(enabled)
        if enabled:
            self.on_outcome_toggled(False)
