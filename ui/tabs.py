"""The window's tab widget: a change inside a page repaints what changed, not the whole window."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QFrame, QScrollArea, QTabWidget, QWidget


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

    # ---- pages that scroll when the window is smaller than they are ---------------------------

    def add_scrolling_page(self, widget: QWidget, title: str) -> int:
        """Add ``widget`` as a page that scrolls, instead of widening the window, below its minimum size.

        Where the window has the room (the usual case) the page fills it and shows no scroll bar.
        The page is still found by its widget: ``setCurrentWidget(widget)``, ``indexOf(widget)``,
        and ``currentWidget()`` returns the widget.
        """
        area = QScrollArea()
        area.setWidgetResizable(True)
        area.setFrameShape(QFrame.Shape.NoFrame)
        area.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Tab goes into the page, not to the scroller
        area.setWidget(widget)
        return self.addTab(area, title)

    def page_of(self, widget: QWidget) -> QWidget:
        """The page that holds ``widget`` (its scroller, for a scrolling page)."""
        for index in range(self.count()):
            page = self.widget(index)
            if isinstance(page, QScrollArea) and page.widget() is widget:
                return page
        return widget

    def setCurrentWidget(self, widget: QWidget) -> None:  # noqa: N802 - Qt name
        """Show the page of ``widget`` (a scrolling page's widget shows its page)."""
        super().setCurrentWidget(self.page_of(widget))

    def currentWidget(self) -> QWidget:  # noqa: N802 - Qt name
        """The page shown (a scrolling page's widget, not its scroller)."""
        page = super().currentWidget()
        inner = page.widget() if isinstance(page, QScrollArea) else None
        return inner if inner is not None and self.page_of(inner) is page else page

    def indexOf(self, widget: QWidget) -> int:  # noqa: N802 - Qt name
        """The index of the page of ``widget``."""
        return super().indexOf(self.page_of(widget))

    def _layout_state(self) -> tuple[object, ...]:
        """What ``QTabWidget``'s own layout depends on: its size, its tab bar and its corner widgets."""
        bar = self.tabBar()
        corners = tuple(
            widget.sizeHint() if widget is not None and widget.isVisible() else None
            for widget in (self.cornerWidget(Qt.Corner.TopLeftCorner), self.cornerWidget(Qt.Corner.TopRightCorner))
        )
        return self.size(), bar.sizeHint(), bar.isVisible(), self.currentIndex(), self.count(), corners
