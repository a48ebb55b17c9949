"""What the model-task windows share: how a failure or a cancel is shown, and stopping a run on close."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QPushButton, QWidget

from reviewer.errors import KnownError
from reviewer.progress import Cancelled
from reviewer.render import escape
from reviewer.store import APP_ACTOR
from ui.labels import RichLabel
from ui.views.progress_panel import ProgressPanel
from ui.workers import TaskProgress, WorkspaceLane

if TYPE_CHECKING:
    from reviewer.ops import OpResult
    from reviewer.workspace import Workspace


def show_failure(parent: QWidget, label: RichLabel, error: BaseException, cancelled: str) -> bool:
    """Show a model task's failure on ``label``: a cancel as ``cancelled``, a refusal in red, a bug in a box.

    Returns:
        Whether the task was cancelled (not a failure).
    """
    if isinstance(error, Cancelled):
        label.setText(escape(cancelled))
        return True
    if isinstance(error, KnownError):  # its hint says what to do
        label.setText(f"<span style='color:#b3261e'>{escape(str(error))}</span>")
    else:
        from ui.dialogs import Dialogs

        Dialogs.show_error(parent, error)
    return False


class ModelTaskDialog(QDialog):
    """A dialog that estimates a model run, asks, and runs it on its own lane with progress and cancel.

    Subclasses make ``lane``, ``message``, ``progress_panel``, ``estimate_button`` and ``run_button``,
    keep the confirmed plan in ``plan`` and the acting member in ``actor``, and give ``on_finished``.

    Signals:
        planned(object): the estimate is shown (the plan).
        finished(object): the run ended (its summary).
        cancelled(): the run was cancelled (its finished answers are kept).
        failed(object): planning or running failed (the error).
    """

    planned = Signal(object)
    finished = Signal(object)
    cancelled = Signal()
    failed = Signal(object)

    CANCELLED = "Cancelled. The answers already received are kept; run the same task again to resume."
    lane: WorkspaceLane
    message: RichLabel
    progress_panel: ProgressPanel
    estimate_button: QPushButton
    run_button: QPushButton
    plan: Any
    actor: str | None

    _asked = 0  # estimates asked for and choices changed: an answer to an earlier estimate is dropped
    _estimating = False

    def estimate(self, work: Callable[[Workspace], Any], on_planned: Callable[[Any], None]) -> None:
        """Plan on the lane (``work``) and show it with ``on_planned``, unless a choice changed meanwhile."""
        self._asked += 1
        asked, self._estimating = self._asked, True
        self.estimate_button.setEnabled(False)
        self.message.setText("Estimating…")

        def planned(plan: Any) -> None:
            if asked == self._asked:
                self._estimating = False
                on_planned(plan)

        def failed(error: BaseException) -> None:
            if asked == self._asked:
                self._estimating = False
                self.on_failed(error)

        self.lane.run(work, success=planned, failure=failed)

    def options_changed(self) -> None:
        """A changed choice needs a new estimate: the plan, and the answer of an estimate on its way, are dropped."""
        self._asked += 1
        self.plan = None
        self.run_button.setEnabled(False)
        if self._estimating:  # that estimate's answer will not be shown: ask again
            self._estimating = False
            self.estimate_button.setEnabled(True)
            self.message.setText("A choice changed: estimate again.")

    def send(self, operation: Callable[[Workspace, Any, str, TaskProgress], OpResult[Any]]) -> None:
        """Run ``operation(workspace, plan, actor, progress)`` for the confirmed plan on the lane, with progress."""
        plan, actor = self.plan, self.actor or APP_ACTOR
        if plan is None:
            return
        progress = TaskProgress(self)
        self.progress_panel.attach(progress, "Asking the model…")
        self.run_button.setEnabled(False)
        self.estimate_button.setEnabled(False)
        self.lane.perform(lambda ws: operation(ws, plan, actor, progress), success=self.on_finished,
                          failure=self.on_failed)

    def on_finished(self, summary: Any) -> None:
        """Show what the run did (each dialog says it its way)."""
        raise NotImplementedError

    def on_failed(self, error: BaseException) -> None:
        """Show a refusal or a cancel plainly; anything else as a bug."""
        self.progress_panel.done()
        self.estimate_button.setEnabled(True)
        if show_failure(self, self.message, error, self.CANCELLED):
            self.cancelled.emit()
        else:
            self.failed.emit(error)

    def done(self, result: int) -> None:
        """Qt override: stop a running task (it resumes next time) and close the lane."""
        cancel = getattr(self.progress_panel, "_progress", None)
        if cancel is not None:
            cancel.cancel()
        self.lane.shutdown(wait=True)
        super().done(result)
