"""Run a model task (rank, relevance, stance) from the GUI: estimate, confirm, progress, cancel, resume."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from reviewer.judges.base import FLAGGED_MEANING
from reviewer.judges.running import flagged_text
from reviewer.render import escape
from ui.access import describe
from ui.labels import RichLabel, plain_tooltip
from ui.views.model_task import ModelTaskDialog
from ui.views.progress_panel import ProgressPanel
from ui.workers import WorkspaceLane

TASK_LABELS = {
    "rank": "Rank responses by the spec (a ranker run)",
    "relevance": "Grade relevance of conversations to sections",
    "stance": "Label stances of justifications towards proposals",
}


class JudgeDialog(ModelTaskDialog):
    """Estimates a model run, asks for confirmation, and runs it with progress and cancel.

    The run has its own workspace lane (its own connection and thread), so the review desk keeps
    working while the model answers; a cancelled or crashed run resumes from its job next time.

    Signals:
        planned(object): the estimate is shown (a ``JudgePlan``).
        finished(object): the run ended (a ``RunSummary``).
        cancelled(): the run was cancelled (its finished answers are kept).
        failed(object): planning or running failed (the error).
    """

    def __init__(self, workspace: Path, parent: QWidget | None = None, *, proposal_id: str | None = None,
                 actor: str | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Run a model task")
        self.setModal(False)
        self.resize(620, 360)
        self.lane = WorkspaceLane(workspace, self)
        self.actor = actor
        self.plan: Any = None
        self.proposal_id = proposal_id

        self.task = QComboBox()
        describe(self.task, None, "What the model is asked to do")
        for task, label in TASK_LABELS.items():
            self.task.addItem(label, task)
        self.scope = QComboBox()
        self.scope.addItem("All proposals", None)
        if proposal_id:
            self.scope.addItem("The current proposal only", proposal_id)
            self.scope.setCurrentIndex(1)
        self.limit = QSpinBox()
        describe(self.limit, None, "Send at most this many items to the model")
        self.limit.setRange(0, 10_000_000)
        self.limit.setSpecialValueText("no limit")
        form = QFormLayout()
        form.addRow("&Task:", self.task)
        form.addRow("&Proposals:", self.scope)
        form.addRow("&At most:", self.limit)
        self.task.currentIndexChanged.connect(self.on_options_changed)
        self.scope.currentIndexChanged.connect(self.on_options_changed)
        self.limit.valueChanged.connect(self.on_options_changed)

        self.message = RichLabel("Estimate first: nothing is sent to the model before you confirm.")
        self.message.setWordWrap(True)
        self.progress_panel = ProgressPanel()
        self.estimate_button = QPushButton("&Estimate")
        self.run_button = QPushButton("&Send to the model")
        self.run_button.setEnabled(False)
        self.close_button = QPushButton("Close")
        describe(self.close_button, None, "Close this window (a run already sent goes on)")
        describe(self.estimate_button, None, "Count the requests and tokens this task would send, and what it would cost")
        self.estimate_button.clicked.connect(self.on_estimate)
        self.run_button.clicked.connect(self.on_run)
        self.close_button.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.progress_panel, 1)
        buttons.addWidget(self.estimate_button)
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message, 1)
        layout.addLayout(buttons)
        self.on_options_changed()

    def on_options_changed(self, *_args: object) -> None:
        """A changed choice needs a new estimate."""
        self.scope.setEnabled(self.task.currentData() == "stance")
        self.options_changed()

    def on_estimate(self) -> None:
        """Build the run's items and estimate calls and tokens, without sending anything."""
        from reviewer.judges.runs import plan_judge_run

        task, limit = self.task.currentData(), self.limit.value() or None
        proposal_id = self.scope.currentData() if task == "stance" else None
        self.estimate(lambda ws: plan_judge_run(ws, task, proposal_id=proposal_id, limit=limit), self.on_planned)

    def on_planned(self, plan: Any) -> None:
        """Show the estimate and allow the run."""
        self.plan = plan
        self.estimate_button.setEnabled(True)
        self.run_button.setEnabled(plan.estimate.calls > 0 or len(plan.items) > 0)
        self.message.setText(
            f"<b>{escape(TASK_LABELS[plan.task])}</b> with <b>{escape(plan.config.model or '')}</b> at "
            f"<b>{escape(plan.config.endpoint)}</b>:<br/>{escape(plan.estimate.describe())}"
            "<br/><br/>Send these requests?"
        )
        self.planned.emit(plan)

    def on_run(self) -> None:
        """Send the confirmed plan, with progress and cancel."""
        from reviewer import operations

        self.send(lambda ws, plan, actor, progress: operations.run_model(ws, plan, actor=actor, progress=progress))

    def on_finished(self, summary: Any) -> None:
        """Show what the run did."""
        self.progress_panel.done()
        self.estimate_button.setEnabled(True)
        failures = "".join(f"<br/>failed {escape(f.item_key)}: {escape(f.kind)}: {escape(f.error)}"
                           for f in summary.failures[:5])
        flagged = flagged_text(summary)
        self.message.setText(
            f"<b>Done.</b> {summary.ok} of {summary.items} answered ({summary.cached} from the cache, "
            f"{summary.called} sent), {summary.failed} failed, {summary.flagged} flagged, {summary.stored} new rows."
            + (f"<br/><br/>{escape(flagged)}" if flagged else "") + failures
        )
        self.message.setToolTip(plain_tooltip(FLAGGED_MEANING) if summary.task == "stance" else "")
        self.finished.emit(summary)
