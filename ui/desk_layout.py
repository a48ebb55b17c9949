"""The review desk's panes, laid out by the room the window has.

Wide (at least ``WIDE`` logical pixels): queue, proposal and a column of evidence over the
decision, side by side. Medium: the queue and the proposal share a column as two tabs, beside the
evidence and decision column. Narrow (below ``MEDIUM`` wide, or below ``SHORT`` high): each of the
four is a tab. So at 1024×700, or 1920×1080 at 2× scaling (960×540 logical pixels), every pane
keeps a usable size instead of being squeezed to nothing. The panes are the same widgets in every layout (moved, never rebuilt), so what a
reviewer typed, chose or scrolled to stays. In a tabbed layout, opening a proposal from the
queue (Enter or a double click) shows the proposal's tab.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QSplitter, QStackedWidget, QTabWidget, QWidget

WIDE = 1180
"""Below this width (logical pixels) the queue and the proposal share a column."""
MEDIUM = 820
"""Below this width every pane is a tab of its own."""
SHORT = 600
"""Below this height too (or below what the evidence and the decision need one over the other)."""
_HYSTERESIS = 24  # pixels past a threshold before switching back, so a drag along it does not flicker
_WRAP_MARGIN = 12

TAB_TITLES = ("Queue", "Proposal", "Evidence", "Decision")  # Ctrl+Tab moves between them
RIGHT_TAB = "Evidence and decision"


class ResponsiveDesk(QStackedWidget):
    """The desk's panes in the layout that fits (``mode``: ``wide``, ``medium`` or ``narrow``).

    Signals:
        mode_changed(str): the layout changed to this mode.
    """

    mode_changed = Signal(str)

    def __init__(self, queue: QWidget, proposal: QWidget, evidence: QWidget, decision: QWidget,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.panes = (queue, proposal, evidence, decision)
        self.setAccessibleName("Review desk")
        # The evidence over the decision (its sizes are remembered too).
        self.right = QSplitter(Qt.Orientation.Vertical)
        self.right.setObjectName("rightSplitter")
        # Wide: the three panes side by side (its sizes are what the window remembers).
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setObjectName("deskSplitter")
        # Medium: queue and proposal as tabs, beside the evidence.
        self.left_tabs = QTabWidget()
        self.left_tabs.setDocumentMode(True)
        self.left_tabs.setAccessibleName("Queue and proposal")
        self.medium = QSplitter(Qt.Orientation.Horizontal)
        self.medium.setChildrenCollapsible(False)
        self.medium.addWidget(self.left_tabs)
        # Narrow: every pane a tab.
        self.all_tabs = QTabWidget()
        self.all_tabs.setDocumentMode(True)
        self.all_tabs.setAccessibleName("Desk panes")
        for page in (self.splitter, self.medium, self.all_tabs):
            self.addWidget(page)
        for page in (self.splitter, self.medium, self.all_tabs):
            page.setMinimumSize(1, 1)  # the desk's own minimum is the narrow layout's (minimumSizeHint)
        self.mode = ""
        self._place("wide")
        self.splitter.setSizes([440, 560, 600])
        self.right.setStretchFactor(0, 5)
        self.right.setStretchFactor(1, 2)
        self.right.setSizes([640, 300])

    # ---- layout ----------------------------------------------------------------------------------

    def mode_for(self, width: int, height: int) -> str:
        """The layout for a desk of this size (a little past a threshold before leaving the current one)."""
        wide, medium, short = WIDE, MEDIUM, SHORT
        if self.mode == "wide":
            wide -= _HYSTERESIS
        elif self.mode == "narrow":
            medium += _HYSTERESIS
            short += _HYSTERESIS
        elif self.mode == "medium":
            wide += _HYSTERESIS
            medium -= _HYSTERESIS
        if height < max(short, self._column_height() + (_HYSTERESIS if self.mode == "narrow" else 0)):
            return "narrow"
        return "wide" if width >= wide else "medium" if width >= medium else "narrow"

    def _column_height(self) -> int:
        """The height the evidence over the decision needs."""
        evidence, decision = self.panes[2:]
        # Wrapped lines grow taller in a narrower column than the minimum hints say: a margin for them.
        return (evidence.minimumSizeHint().height() + decision.minimumSizeHint().height()
                + self.right.handleWidth() + _WRAP_MARGIN)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt name
        """Reflow when the size crosses a threshold."""
        super().resizeEvent(event)
        self._reflow()

    def event(self, event: QEvent) -> bool:
        """Reflow too when a pane's minimum size changed (a proposal with longer lines was chosen)."""
        handled = super().event(event)
        if event.type() == QEvent.Type.LayoutRequest and self.isVisible():
            self._reflow()
        return handled

    def _reflow(self) -> None:
        mode = self.mode_for(self.width(), self.height())
        if mode != self.mode:
            self._place(mode)

    def _place(self, mode: str) -> None:
        queue, proposal, evidence, decision = self.panes
        focused = self.focusWidget()
        current = self.pane_shown()
        if mode in ("wide", "medium"):
            self.right.insertWidget(0, evidence)
            self.right.insertWidget(1, decision)
        if mode == "wide":
            self.splitter.insertWidget(0, queue)
            self.splitter.insertWidget(1, proposal)
            self.splitter.insertWidget(2, self.right)
            self.setCurrentWidget(self.splitter)
        elif mode == "medium":
            self.left_tabs.addTab(queue, TAB_TITLES[0])
            self.left_tabs.addTab(proposal, TAB_TITLES[1])
            self.medium.addWidget(self.right)
            self.medium.setSizes([self.width() // 2, self.width() - self.width() // 2])
            self.setCurrentWidget(self.medium)
        else:
            for pane, title in zip(self.panes, TAB_TITLES, strict=True):
                self.all_tabs.addTab(pane, title)
            self.setCurrentWidget(self.all_tabs)
        self.mode = mode
        # A tab widget hid the pages it did not show; side by side, every pane shows (in tabs it manages them).
        beside = {"wide": (*self.panes, self.right), "medium": (evidence, decision, self.right)}.get(mode, ())
        for pane in beside:
            pane.show()
        if current is not None:
            self.show_pane(current)
        if focused is not None and focused.isVisibleTo(self):
            focused.setFocus()
        self.mode_changed.emit(mode)

    # ---- which pane is shown -------------------------------------------------------------------

    def pane_shown(self) -> QWidget | None:
        """The pane in front in a tabbed layout (None when all are side by side)."""
        if self.mode == "narrow":
            return self.all_tabs.currentWidget()
        if self.mode == "medium":
            return self.left_tabs.currentWidget()
        return None

    def show_pane(self, pane: QWidget) -> None:
        """Bring ``pane`` to the front (a tab switch in a tabbed layout; nothing to do when side by side)."""
        if self.mode == "narrow":
            self.all_tabs.setCurrentWidget(pane)
        elif self.mode == "medium" and pane in self.panes[:2]:
            self.left_tabs.setCurrentWidget(pane)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt name
        """As small as the narrow layout: the largest pane's minimum, not the panes side by side."""
        hints = [p.minimumSizeHint() for p in self.panes]
        return QSize(max(h.width() for h in hints), max(h.height() for h in hints))

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt name
        """The wide layout's preferred size."""
        return QSize(1480, 800)


__all__ = ["MEDIUM", "SHORT", "TAB_TITLES", "WIDE", "ResponsiveDesk"]
