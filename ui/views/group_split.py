"""The desk's split by opinion group: support per group, group-aware consensus and bridging, above the evidence."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from reviewer.evidence import GroupSplit
from reviewer.render import escape
from ui.labels import RichLabel
from ui.views.charts import SplitChart

if TYPE_CHECKING:
    from reviewer.group_support import ProposalGroups
    from reviewer.ops import Changes
    from reviewer.workspace import Workspace
    from ui.workers import WorkspaceLane


def figures_html(groups: ProposalGroups) -> str:
    """The one line above the chart: consensus, bridging (and its lowest group), how far apart the groups are."""
    from reviewer.group_support import BRIDGING, DIVISIVE
    from reviewer.groups import source_label

    f = groups.figures
    if f is None or groups.run is None:
        return ("<b>Opinion groups</b>: none computed yet (the Groups tab, or <code>spec-review groups</code>,"
                " finds them).")
    marks = []
    if f.bridges:
        marks.append(f"<b>bridges</b> (above {BRIDGING * 100:.0f}% in every group)")
    if f.divisive:
        marks.append(f"<b style='color:#b3261e'>divisive</b> ({DIVISIVE * 100:.0f}+ points)")
    ungrouped = f" · {groups.ungrouped} links in no group" if groups.ungrouped else ""
    return (
        f"<span title='{escape(source_label(f.source))}'><b>Opinion groups</b></span> (k={groups.run.k}):"
        f" consensus <b>{f.consensus:.3f}</b> · bridging <b>{f.bridging * 100:.0f}%</b> (group {f.lowest})"
        f" · {f.divisiveness * 100:.0f} points apart" + (" · " + " · ".join(marks) if marks else "") + ungrouped
    )


_FIGURES_TIP = (
    "Per opinion group, smoothed share = (supports + 1) / (supports + refutes + 2).<br>"
    "Consensus: the product of the groups' smoothed shares (Pol.is's group-informed consensus).<br>"
    "Bridging: the lowest group's smoothed share, the support that holds in every group.<br>"
    "Points apart: the highest group's smoothed share minus the lowest's.")


class GroupSplitPanel(QWidget):
    """The chosen proposal's support per opinion group (``reviewer.group_support.proposal_groups``), with its figures.

    A header line gives the group-aware consensus, the bridging figure and the spread; the chart
    below it (the demographic split's chart, one bar per group) can be folded away.
    """

    def __init__(self, lane: WorkspaceLane, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lane = lane
        self.proposal_id: str | None = None
        self.groups: ProposalGroups | None = None
        self._generation = 0
        self.toggle = QToolButton()
        self.toggle.setCheckable(True)
        self.toggle.setChecked(True)
        self.toggle.setArrowType(Qt.ArrowType.DownArrow)
        self.toggle.setAutoRaise(True)
        self.toggle.setAccessibleName("Show the split by opinion group")
        self.toggle.setToolTip("Show or hide the bars of the split by opinion group")
        self.toggle.setFixedSize(self.fontMetrics().height() + 2, self.fontMetrics().height() + 2)
        self.toggle.toggled.connect(self.set_expanded)
        self.figures = RichLabel("<b>Opinion groups</b>: choose a proposal.")
        # Never wider than the column (it wraps); the tooltip and the bars' tooltips say the rest.
        self.figures.setWordWrap(True)
        self.figures.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.figures.setToolTip(_FIGURES_TIP)
        self.chart = SplitChart()
        self.chart.setAccessibleName("Split of the evidence by opinion group")
        # In a scroll area: on a small screen the bars scroll instead of pushing the evidence lists away.
        self.chart_scroll = QScrollArea()
        self.chart_scroll.setWidget(self.chart)
        self.chart_scroll.setWidgetResizable(True)
        self.chart_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.chart_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.chart_scroll.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Maximum)
        self.chart_scroll.setMinimumHeight(1)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.toggle, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(self.figures, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.setSpacing(0)
        layout.addLayout(top)
        layout.addWidget(self.chart_scroll)

    def set_expanded(self, on: bool) -> None:
        """Show or fold the chart (the figures stay)."""
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
        self.chart_scroll.setVisible(on and bool(self.chart.groups))

    def set_proposal(self, proposal_id: str | None) -> None:
        """Read ``proposal_id``'s support per opinion group on the lane (None clears)."""
        self.proposal_id = proposal_id
        self._generation += 1
        if proposal_id is None:
            self.groups = None
            self.chart.clear("Choose a proposal.")
            self.chart_scroll.hide()
            return
        generation = self._generation

        def read(ws: Workspace) -> Any:
            from reviewer.group_support import proposal_groups

            return proposal_groups(ws.store, proposal_id, fields=())

        self.lane.run(read, success=lambda found: self.show_split(generation, found),
                      failure=lambda error: self.on_failed(generation, error), context=self)

    def show_split(self, generation: int, groups: ProposalGroups) -> None:
        """Draw a proposal's groups (unless another proposal was chosen meanwhile)."""
        if generation != self._generation:
            return
        self.groups = groups
        self.figures.setText(figures_html(groups))
        self.figures.setToolTip(f"<p>{figures_html(groups)}</p><p>{_FIGURES_TIP}</p>")
        splits = [GroupSplit(f"Group {g.group} ({g.size:,})", g.supports, g.refutes, g.no_comment, g.unlabelled)
                  for g in groups.opinion]
        if splits:
            self.chart.set_split(splits, "Opinion group")
        else:
            self.chart.clear("")
        self.chart_scroll.setMaximumHeight(self.chart.sizeHint().height() + 2)
        self.chart_scroll.setVisible(bool(splits) and self.toggle.isChecked())
        self.toggle.setVisible(bool(splits))

    def on_failed(self, generation: int, error: BaseException) -> None:
        """Say why the split could not be read."""
        if generation != self._generation:
            return
        from ui.workers import describe_error

        self.figures.setText(f"<b>Opinion groups</b>: <span style='color:#b3261e'>"
                             f"{escape(describe_error(error)[0])}</span>")
        self.chart_scroll.hide()

    def on_changes(self, changes: Changes) -> None:
        """Read again when groups, the crowd or the shown proposal's labels or links changed."""
        from reviewer.ops import Area

        if self.proposal_id is None:
            return
        if changes.touches(Area.GROUPS, Area.CROWD) or (
                changes.touches(Area.LABELS, Area.LINKS) and changes.touches_proposal(self.proposal_id)):
            self.set_proposal(self.proposal_id)
