"""The window's tab widget: a change inside a page repaints what changed, not the whole window."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QTabWidget, QWidget


class TabWidget(QTabWidget):
    """A ``QTabWidget`` that lays itself out again only when its own layout would change.

    Any change of size hint inside a page (a label given new text, a table's scroll bar coming or
    going) climbs the layouts and splitters to the tab widget as a layout request, and
    ``QTabWidget`` answers each one by placing its tab bar and page again and repainting itself
    whole (``QTabWidget::setUpLayout`` ends with ``update()``). On the review desk the tab widget
    is the whole window: choosing a proposal repainted all of it two or three times, 25 ms and
    more each, and so did each page of evidence read while scrolling. When its size, its tab bar
    and its corner widgets are as they were at its last layout, that layout would put everything
    where it already is: such a request only passes the page's size hints on to the window, as the
    layout does with ``updateGeometry``. What did change is repainted by the widgets themselves.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._laid_out: tuple[object, ...] | None = None

    def event(self, event: QEvent) -> bool:
        """Qt override: skip a layout (and its repaint of everything) that would move nothing."""
        # WORKAROUND for QTabWidget::setUpLayout's update() on every layout request:
        # https://code.qt.io/cgit/qt/qtbase.git/tree/src/widgets/widgets/qtabwidget.cpp
        if event.type() == QEvent.Type.LayoutRequest and self.isVisible():
            state = self._layout_state()
            if state == self._laid_out:
                self.updateGeometry()
                return True
            self._laid_out = state
        return super().event(event)

    def _layout_state(self) -> tuple[object, ...]:
        """What ``QTabWidget``'s own layout depends on: its size, its tab bar and its corner widgets."""
        bar = self.tabBar()
        corners = tuple(
            widget.sizeHint() if widget is not None and widget.isVisible() else None
            for widget in (self.cornerWidget(Qt.Corner.TopLeftCorner), self.cornerWidget(Qt.Corner.TopRightCorner))
        )
        return self.size(), bar.sizeHint(), bar.isVisible(), self.currentIndex(), self.count(), corners
