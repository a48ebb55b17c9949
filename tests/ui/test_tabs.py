"""The window's tab widget repaints what changed inside a page, and still lays itself out when it must."""

import pytest
from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QRegion
from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from ui.labels import PlainLabel
from ui.tabs import TabWidget

pytestmark = pytest.mark.gui


class PaintRecorder(QObject):
    """The areas of the tab widget painted (Qt paints a widget's parents under it too)."""

    def __init__(self) -> None:
        super().__init__()
        self.painted = QRegion()

    def eventFilter(self, obj, event):  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Paint:
            self.painted += event.region()
        return False


def shown_tabs(qtbot, kind):
    tabs = kind()
    page = QWidget()
    label = PlainLabel("One line.")
    QVBoxLayout(page).addWidget(label)
    tabs.addTab(page, "Page")
    tabs.addTab(QWidget(), "Other")
    tabs.resize(400, 300)
    qtbot.addWidget(tabs)
    tabs.show()
    qtbot.waitExposed(tabs)
    label.setText("One line, laid out once.")  # the first request after showing is a layout, as in Qt's
    qtbot.wait(50)
    recorder = PaintRecorder()
    tabs.installEventFilter(recorder)
    return tabs, label, recorder


@pytest.mark.parametrize(("kind", "repaints_all"), [(QTabWidget, True), (TabWidget, False)])
def test_new_text_in_a_page_is_laid_out_without_repainting_the_whole_tab_widget(qtbot, kind, repaints_all):
    tabs, label, recorder = shown_tabs(qtbot, kind)
    label.setText("Two lines\nnow.")
    qtbot.waitUntil(lambda: label.height() >= label.sizeHint().height())  # the page's layout ran
    qtbot.wait(50)
    assert not recorder.painted.isEmpty()  # under the label, as under any widget that changes
    unpainted = QRegion(tabs.rect()) - recorder.painted
    assert unpainted.isEmpty() is repaints_all  # Qt's own repaints all of itself, tab bar and frame too


def test_the_tab_bar_is_still_laid_out_when_it_changes(qtbot):
    tabs, _label, _recorder = shown_tabs(qtbot, TabWidget)
    before = tabs.tabBar().width()
    tabs.setTabText(1, "A much longer title for the other page")
    qtbot.waitUntil(lambda: tabs.tabBar().width() > before)
    tabs.resize(600, 300)
    qtbot.waitUntil(lambda: tabs.currentWidget().width() > 500)
