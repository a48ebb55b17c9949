"""The desk's what-if: "What would this do to agreement?" re-ranks a proposal's relevant conversations under its text.

The button estimates (``reviewer.propose.plan_what_if``), asks to confirm when there are calls to
make, runs the ``what_if`` operation on its own lane with progress and Cancel, and shows agreement
now → under the proposal, with intervals. Results are kept per proposal while they are fresh: for
the revision they were run on, until a new spec commit, new crowd data or relevance grades.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QSpinBox, QVBoxLayout, QWidget

from reviewer.errors import KnownError
from reviewer.ops import Area
from reviewer.render import escape
from reviewer.store import APP_ACTOR
from ui.dialogs import Dialogs
from ui.labels import RichLabel
from ui.views.model_task import show_failure
from ui.views.progress_panel import ProgressPanel
from ui.workers import TaskProgress, WorkspaceLane

if TYPE_CHECKING:
    from reviewer.ops import Changes
    from reviewer.propose import WhatIf, WhatIfPlan
    from reviewer.workspace import Workspace

WITHOUT_A_MODEL = "Without a model, weigh the proposal's crowd evidence instead (the evidence pane)."


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x * 100:.0f}%"


def what_if_html(result: WhatIf) -> str:
    """Agreement now → under the proposal, with intervals and the paired change."""
    f = result.figures
    if f.change is None:
        return ("<b>What-if:</b> no conversation got a usable ranking both now and under this proposal "
                f"(ranked by {escape(result.model)}).")
    change = f"{f.change * 100:+.1f}"
    low, high = (f"{x * 100:+.1f}" if x is not None else "–" for x in (f.change_low, f.change_high))
    return (f"<b>What-if:</b> agreement now <b>{_pct(f.before)}</b> ({_pct(f.before_low)}–{_pct(f.before_high)}) → "
            f"under this proposal <b>{_pct(f.after)}</b> ({_pct(f.after_low)}–{_pct(f.after_high)}), "
            f"{f.conversations} conversation{'' if f.conversations == 1 else 's'} "
            f"<span style='color:#555'>(change {change} points [{low}, {high}]; ranked by "
            f"{escape(result.model)}, {escape(result.prompt_version)})</span>")


def plan_for_desk(workspace: Workspace, proposal_id: str, min_relevance: int = 5) -> WhatIfPlan:
    """Plan the what-if with the workspace's endpoint settings (on the lane).

    Raises:
        KnownError: no endpoint configured (saying what works without one), or nothing to re-rank.
    """
    from reviewer.modelconfig import load_config, require_endpoint
    from reviewer.propose import plan_what_if

    config = load_config(workspace.root)
    try:
        require_endpoint(config, "Re-ranking under a proposal")
    except KnownError as exc:
        raise KnownError(exc.message, hint=f"{exc.hint or ''} {WITHOUT_A_MODEL}".strip()) from exc
    try:
        return plan_what_if(workspace, proposal_id, config, min_relevance=min_relevance)
    except KnownError as exc:
        if "--min-relevance" not in (exc.hint or ""):
            raise
        raise KnownError(exc.message, hint="Grade relevance first (Models ▸ Run a model task…), or lower the "
                                           "relevance grade beside the what-if button.") from exc


class WhatIfBar(QWidget):
    """The desk's what-if button, its progress and its result for the proposal shown.

    Attributes:
        results: proposal id -> (the revision it was run on, its what-if), while fresh.

    Signals:
        planned(object): the estimate was read (a ``WhatIfPlan``), before confirming.
        finished(object): a what-if ran (its ``WhatIf``).
        cancelled(): the run was cancelled (the rankings received are kept).
        failed(object): planning or running failed (the error).
    """

    planned = Signal(object)
    finished = Signal(object)
    cancelled = Signal()
    failed = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace: Path | None = None
        self.lane: WorkspaceLane | None = None
        self.proposal_id: str | None = None
        self.revision = 0
        self.actor: str | None = None
        self.results: dict[str, tuple[int, WhatIf]] = {}
        self._running: tuple[str, int] | None = None  # the proposal (and revision) whose what-if is under way
        self.button = QPushButton("&What would this do to agreement?")
        self.button.setAccessibleName("What would this proposal do to agreement? Re-rank its conversations under it")
        self.button.setToolTip("Re-rank this proposal's relevant conversations with the model, now and under its "
                               "text, and show agreement with the crowd both ways (asks before sending)")
        self.button.setEnabled(False)
        self.button.clicked.connect(self.on_clicked)
        self.relevance = QSpinBox()
        self.relevance.setRange(1, 5)
        self.relevance.setValue(5)
        self.relevance.setPrefix("relevance ≥ ")
        self.relevance.setAccessibleName("Minimum relevance grade of the conversations the what-if re-ranks")
        self.relevance.setToolTip("The what-if re-ranks the conversations graded at least this relevant to the "
                                  "proposal's sections")
        self.result = RichLabel("")
        self.result.setWordWrap(True)
        self.result.setAccessibleName("Agreement now and under this proposal")
        self.result.hide()
        self.progress_panel = ProgressPanel()
        row = QHBoxLayout()
        row.addWidget(self.button)
        row.addWidget(self.relevance)
        row.addWidget(self.progress_panel)
        row.addStretch(1)
        layout = QVBoxLayout(self)  # the result on its own line, as wide as the diff
        layout.setContentsMargins(6, 0, 6, 2)
        layout.setSpacing(2)
        layout.addLayout(row)
        layout.addWidget(self.result)

    def set_workspace(self, workspace: Path, lane_changed: Any = None, lane_warned: Any = None) -> None:
        """Run what-ifs on their own lane over ``workspace``; its changes reach ``lane_changed``."""
        if self.lane is not None:
            return
        self.workspace = workspace
        self.lane = WorkspaceLane(workspace, self)
        if lane_changed is not None:
            self.lane.changed.connect(lane_changed)
        if lane_warned is not None:
            self.lane.warned.connect(lane_warned)
        self._show()

    def set_proposal(self, proposal_id: str | None, revision: int = 1) -> None:
        """Show the what-if of ``proposal_id`` at ``revision`` while it is fresh (or nothing yet)."""
        self.proposal_id, self.revision = proposal_id, revision
        self._show()

    def _show(self) -> None:
        running = self._running is not None
        self.button.setEnabled(self.lane is not None and self.proposal_id is not None and not running)
        if running and self._running == (self.proposal_id, self.revision):
            return  # its message is the one in progress
        found = self.results.get(self.proposal_id or "")
        fresh = found is not None and found[0] == self.revision
        self._say(what_if_html(found[1]) if found is not None and fresh else "")

    def on_clicked(self) -> None:
        """Estimate the re-ranking; confirm; run it."""
        proposal_id, lane = self.proposal_id, self.lane
        if proposal_id is None or lane is None or self._running is not None:
            return
        self._running = (proposal_id, self.revision)
        self.button.setEnabled(False)
        self._say("Estimating the re-ranking…")
        min_relevance = self.relevance.value()
        lane.run(lambda ws: plan_for_desk(ws, proposal_id, min_relevance), success=self.on_planned,
                 failure=self.on_failed)

    def on_planned(self, plan: WhatIfPlan) -> None:
        """Ask before sending (nothing to ask when every ranking is cached), then run with progress."""
        from reviewer import operations

        self.planned.emit(plan)
        estimate = plan.estimate
        if estimate.calls and not Dialogs.confirm(
                self, f"What would this proposal do to agreement? Re-rank {len(plan.conversations)} relevant "
                      f"conversations now and under its text: {estimate.describe()}\n\nSend these requests?"):
            self._running = None
            self._say("Nothing was sent.")
            self._show_button()
            return
        assert self.lane is not None
        progress = TaskProgress(self)
        self.progress_panel.attach(progress, "Re-ranking…")
        self._say(f"Re-ranking {len(plan.conversations)} conversations now and under this proposal…")
        actor = self.actor or APP_ACTOR
        self.lane.perform(lambda ws: operations.what_if(ws, plan, actor=actor, progress=progress),
                          success=self.on_finished, failure=self.on_failed)

    def on_finished(self, result: WhatIf) -> None:
        """Keep the result for its proposal and show it when that proposal is on the desk."""
        self.progress_panel.done()
        revision = self._running[1] if self._running and self._running[0] == result.proposal_id else 0
        self._running = None
        self.results[result.proposal_id] = (revision, result)
        self._show()
        self.finished.emit(result)

    def on_failed(self, error: BaseException) -> None:
        """Say why (with what to do), or that the run was cancelled and resumes next time."""
        self.progress_panel.done()
        self._running = None
        self._show_button()
        if show_failure(self, self.result, error, "What-if cancelled: the rankings received are kept; ask again "
                                                  "to resume."):
            self.cancelled.emit()
        else:
            self.failed.emit(error)

    def _say(self, html: str) -> None:
        """Show ``html`` under the button (the line is hidden while there is nothing to say)."""
        self.result.setText(html)
        self.result.setVisible(bool(html))

    def _show_button(self) -> None:
        self.button.setEnabled(self.lane is not None and self.proposal_id is not None)

    def on_changes(self, changes: Changes) -> None:
        """Forget every result when the spec, the crowd or the relevance grades moved (a revision is a new key)."""
        if changes.touches(Area.COMMITS, Area.CROWD, Area.RELEVANCE, Area.WORKSPACE):
            self.results.clear()
            self._show()
