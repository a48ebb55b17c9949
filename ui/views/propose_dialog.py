"""Models ▸ Propose changes from disagreement…: estimate, confirm, run with progress and cancel, resume.

The dialog drives the same domain steps as ``spec-review propose``: ``reviewer.propose.plan_propose``
builds the requests and the estimate, nothing is sent before the user confirms, and the
``propose`` operation generates, re-ranks and records every candidate on the dialog's own lane.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from reviewer.errors import KnownError
from reviewer.render import escape
from ui.labels import PlainLabel, RichLabel
from ui.views.model_task import ModelTaskDialog
from ui.views.progress_panel import ProgressPanel
from ui.workers import WorkspaceLane

if TYPE_CHECKING:
    from reviewer.candidates import ProposeChoices
    from reviewer.propose import ProposePlan, ProposeSummary
    from reviewer.workspace import Workspace

MODE_LABELS = {
    "batch": ("&Batch: many conversations per call", "As many of a section's most disagreeing conversations as fit "
              "the model's context in each call"),
    "single": ("S&ingle: one conversation per call", "One disagreeing conversation per call, up to the maximum "
               "number of candidates per section"),
}
WITHOUT_A_MODEL = "Without a model, write the change yourself: Proposal ▸ New proposal…"
_FAILED_HINT = ("The failed calls are recorded with their answers (Audit tab, model runs); estimate again to send "
                "only those, or choose another model.")


def plan_for_dialog(workspace: Workspace, options: Any, model: str) -> ProposePlan:
    """Read the endpoint settings with the chosen model and plan the run (on the lane).

    Raises:
        KnownError: no endpoint configured (saying what works without one), or nothing to propose from.
    """
    from reviewer.modelconfig import load_config, require_endpoint
    from reviewer.propose import plan_propose

    config = load_config(workspace.root).with_overrides(model=model or None)
    try:
        require_endpoint(config, "Proposing changes")
    except KnownError as exc:
        raise KnownError(exc.message, hint=f"{exc.hint or ''} {WITHOUT_A_MODEL}".strip()) from exc
    return plan_propose(workspace, options, config)


def summary_html(summary: ProposeSummary) -> str:
    """What a finished run did, with what to do about calls that failed and edits that were malformed."""
    generation, rerank = summary.generation, summary.rerank
    total = len(summary.candidates)
    text = (f"<b>Done.</b> {total} candidate{'' if total == 1 else 's'}: <b>{summary.kept} kept</b> as proposals, "
            f"{summary.merged} merged with earlier ones, {summary.rejected} rejected. "
            f"{generation.called} proposing call{'' if generation.called == 1 else 's'} sent "
            f"({generation.cached} from the cache)")
    if rerank is not None:
        text += f", {rerank.called} ranker calls sent ({rerank.cached} from the cache)"
    text += "."
    failed = generation.failed + (rerank.failed if rerank else 0)
    if failed:
        text += (f"<br/><span style='color:#b3261e'>{failed} model call{'' if failed == 1 else 's'} failed: the answer "
                 f"did not come or did not fit the schema.</span> {escape(_FAILED_HINT)}")
    malformed = [c for c in summary.candidates if c.reason.startswith("Malformed edit")]
    if malformed:
        text += "<br/>Malformed edits, rejected without re-ranking:" + "".join(
            f"<br/>· {escape(c.section_id)}: {escape(c.reason)}" for c in malformed[:3])
        if len(malformed) > 3:
            text += f"<br/>· and {len(malformed) - 3} more (see the Candidates view)"
    if not total and not failed:
        text += "<br/>The model proposed nothing to test."
    return text


class ProposeDialog(ModelTaskDialog):
    """Proposes spec edits from crowd–ranker disagreement, tested before they are kept.

    The run has its own workspace lane, so the desk keeps working while the models answer; a
    cancelled run resumes next time without sending the finished calls again (the judge cache).

    Signals:
        ready(): the sections and models are shown.
        planned(object): the estimate is shown (a ``ProposePlan``).
        finished(object): the run ended (a ``ProposeSummary``).
        cancelled(): the run was cancelled (its finished answers are kept).
        failed(object): reading, planning or running failed (the error).
        candidates_requested(): the user asked to see the Candidates view.
    """

    ready = Signal()
    candidates_requested = Signal()
    CANCELLED = ("Cancelled. The answers already received are kept: estimate and send again to resume without "
                 "repeating them.")

    def __init__(self, workspace: Path, parent: QWidget | None = None, *, sections: tuple[str, ...] | list[str] = (),
                 actor: str | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Propose changes from disagreement")
        self.setModal(False)
        self.resize(720, 560)
        self.lane = WorkspaceLane(workspace, self)
        self.actor = actor
        self.plan: ProposePlan | None = None
        self._preselected = set(sections)

        self.modes = QButtonGroup(self)
        mode_row = QHBoxLayout()
        for mode, (label, tip) in MODE_LABELS.items():
            button = QRadioButton(label)
            button.setObjectName(f"mode_{mode}")
            button.setToolTip(tip)
            button.setAccessibleName(f"Mode: {mode}")
            button.setChecked(mode == "batch")
            self.modes.addButton(button)
            mode_row.addWidget(button)
        mode_row.addStretch(1)
        self.all_sections = QRadioButton("&All with relevant disagreement")
        self.all_sections.setAccessibleName("All sections")
        self.chosen_sections = QRadioButton("C&hosen below")
        self.chosen_sections.setAccessibleName("Only the sections chosen in the list")
        scope = QButtonGroup(self)
        scope.addButton(self.all_sections)
        scope.addButton(self.chosen_sections)
        (self.chosen_sections if self._preselected else self.all_sections).setChecked(True)
        self.section_list = QListWidget()
        self.section_list.setAccessibleName("Sections to propose changes to")
        self.section_list.setToolTip("Check the sections to propose changes to (Space checks the current one)")
        self.section_list.setMinimumHeight(120)
        self.relevance = QSpinBox()
        self.relevance.setRange(1, 5)
        self.relevance.setValue(5)
        self.relevance.setAccessibleName("Minimum relevance grade")
        self.relevance.setToolTip("The relevance grade (1–5) a conversation needs for a section to be read for it")
        self.max_candidates = QSpinBox()
        self.max_candidates.setRange(1, 100)
        self.max_candidates.setValue(3)
        self.max_candidates.setAccessibleName("Maximum candidates per section")
        self.max_candidates.setToolTip("At most this many proposing calls, so candidates, per section")
        self.model = QComboBox()
        self.model.setEditable(True)
        self.model.setAccessibleName("Proposing model")
        self.model.setToolTip("The model that proposes the edits (the configured one, or one used before; you may "
                              "type another the endpoint serves)")
        self.model.setMinimumContentsLength(24)
        scope_row = QHBoxLayout()
        scope_row.addWidget(PlainLabel("Sections:"))
        scope_row.addWidget(self.all_sections)
        scope_row.addWidget(self.chosen_sections)
        scope_row.addStretch(1)
        form = QFormLayout()
        form.addRow("Min. &relevance:", self.relevance)
        form.addRow("Max. candi&dates per section:", self.max_candidates)
        form.addRow("&Model:", self.model)

        self.message = RichLabel("Estimate first: nothing is sent to the model before you confirm.")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setAccessibleName("What the run will do or did")
        self.progress_panel = ProgressPanel()
        self.estimate_button = QPushButton("&Estimate")
        self.estimate_button.setToolTip("Count the calls and tokens, without sending anything")
        self.run_button = QPushButton("&Send to the model")
        self.run_button.setEnabled(False)
        self.candidates_button = QPushButton("&Open the Candidates view")
        self.candidates_button.setToolTip("Every candidate, kept or rejected, with why")
        self.candidates_button.hide()
        self.close_button = QPushButton("Close")
        self.estimate_button.clicked.connect(self.on_estimate)
        self.run_button.clicked.connect(self.on_run)
        self.candidates_button.clicked.connect(self.on_open_candidates)
        self.close_button.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.progress_panel, 1)
        buttons.addWidget(self.candidates_button)
        buttons.addWidget(self.estimate_button)
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        mode_line = QHBoxLayout()
        mode_line.addWidget(PlainLabel("Mode:"))
        mode_line.addLayout(mode_row, 1)
        layout.addLayout(mode_line)
        layout.addLayout(scope_row)
        layout.addWidget(self.section_list, 1)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addLayout(buttons)

        for choice in (*self.modes.buttons(), self.all_sections, self.chosen_sections):
            choice.toggled.connect(self.on_options_changed)
        self.section_list.itemChanged.connect(self.on_options_changed)
        self.relevance.valueChanged.connect(self.on_options_changed)
        self.max_candidates.valueChanged.connect(self.on_options_changed)
        self.model.currentTextChanged.connect(self.on_options_changed)
        self.estimate_button.setEnabled(False)
        self.lane.run(_read_choices, success=self.on_choices, failure=self.on_failed)

    # ---- choices ---------------------------------------------------------------------------

    def on_choices(self, choices: ProposeChoices) -> None:
        """Offer the spec's sections (those chosen on the desk checked) and the models."""
        self.section_list.blockSignals(True)
        for section_id, title in choices.sections:
            item = QListWidgetItem(f"{section_id} — {title}")
            item.setData(Qt.ItemDataRole.UserRole, section_id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if section_id in self._preselected else Qt.CheckState.Unchecked)
            self.section_list.addItem(item)
        self.section_list.blockSignals(False)
        self.model.blockSignals(True)
        self.model.addItems(list(choices.models))
        self.model.blockSignals(False)
        if not choices.configured_model:
            self.message.setText(
                "<span style='color:#b3261e'>No model endpoint is configured.</span> Set one in Settings ▸ Model "
                f"endpoint…, or type a model served at {escape(choices.endpoint)}. {escape(WITHOUT_A_MODEL)}")
        self.estimate_button.setEnabled(True)
        self.on_options_changed()
        self.ready.emit()

    def set_mode(self, mode: str) -> None:
        """Choose ``batch`` or ``single``."""
        for button in self.modes.buttons():
            if button.objectName() == f"mode_{mode}":
                button.setChecked(True)

    def mode(self) -> str:
        """The chosen mode."""
        checked = self.modes.checkedButton()
        return checked.objectName().removeprefix("mode_") if checked else "batch"

    def set_sections(self, section_ids: list[str] | tuple[str, ...]) -> None:
        """Propose for these sections only (empty: all)."""
        wanted = set(section_ids)
        for row in range(self.section_list.count()):
            item = self.section_list.item(row)
            item.setCheckState(Qt.CheckState.Checked if item.data(Qt.ItemDataRole.UserRole) in wanted
                               else Qt.CheckState.Unchecked)
        (self.chosen_sections if wanted else self.all_sections).setChecked(True)

    def sections(self) -> tuple[str, ...]:
        """The sections chosen (empty: all)."""
        if self.all_sections.isChecked():
            return ()
        return tuple(item.data(Qt.ItemDataRole.UserRole) for item in
                     (self.section_list.item(r) for r in range(self.section_list.count()))
                     if item.checkState() == Qt.CheckState.Checked)

    def on_options_changed(self, *_args: object) -> None:
        """A changed choice needs a new estimate."""
        self.section_list.setEnabled(self.chosen_sections.isChecked())
        self.options_changed()

    # ---- estimate, run ---------------------------------------------------------------------

    def on_estimate(self) -> None:
        """Choose each section's conversations and estimate the run, without sending anything."""
        from reviewer.propose import ProposeOptions

        sections = self.sections()
        if self.chosen_sections.isChecked() and not sections:
            self.message.setText("<span style='color:#b3261e'>Check at least one section, or choose All sections."
                                 "</span>")
            return
        options = ProposeOptions(mode=self.mode(), sections=sections, min_relevance=self.relevance.value(),
                                 max_candidates=self.max_candidates.value())
        model = self.model.currentText().strip()
        self.candidates_button.hide()
        self.estimate(lambda ws: plan_for_dialog(ws, options, model), self.on_planned)

    def on_planned(self, plan: ProposePlan) -> None:
        """Show the estimate (as the estimate describes itself) and allow the run."""
        self.plan = plan
        self.estimate_button.setEnabled(True)
        self.run_button.setEnabled(True)
        self.message.setText(f"{escape(plan.estimate.describe())}<br/><br/>Send these requests?")
        self.planned.emit(plan)

    def on_run(self) -> None:
        """Send the confirmed plan, with progress and cancel."""
        from reviewer import operations

        if self.plan is not None:
            self.message.setText("Proposing, then re-ranking each candidate's conversations…")
        self.send(lambda ws, plan, actor, progress: operations.propose(ws, plan, actor=actor, progress=progress))

    def on_finished(self, summary: ProposeSummary) -> None:
        """Say how many candidates were kept, merged and rejected, and offer the Candidates view."""
        self.progress_panel.done()
        self.plan = None
        self.estimate_button.setEnabled(True)
        self.message.setText(summary_html(summary))
        self.candidates_button.show()
        self.candidates_button.setFocus(Qt.FocusReason.OtherFocusReason)
        self.finished.emit(summary)

    def on_open_candidates(self) -> None:
        """Ask the window for the Candidates view."""
        self.candidates_requested.emit()

    def on_failed(self, error: BaseException) -> None:
        """Show a refusal or a cancel plainly, with what to do; anything else as a bug."""
        self.plan = None
        self.run_button.setEnabled(False)
        super().on_failed(error)


def _read_choices(workspace: Workspace) -> ProposeChoices:
    from reviewer.candidates import propose_choices

    return propose_choices(workspace)
