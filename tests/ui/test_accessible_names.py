"""Every widget the keyboard reaches tells a screen reader what it is (a name) and what it does (a description)."""

import pytest
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import QApplication, QTabBar

from tests.ui.access_helpers import focusable, pages
from tests.ui.test_keyboard import open_every_dialog

pytestmark = [pytest.mark.gui,
              pytest.mark.qt_log_ignore("This plugin does not support (grabbing the keyboard|raise)")]


def unnamed(window):
    """Each focusable widget of ``window``, on every page, that a screen reader would announce without a name or description."""
    missing = set()
    for page in pages(window):
        for widget in focusable(window):
            face = QAccessible.queryAccessibleInterface(widget)
            name = face.text(QAccessible.Text.Name).strip() if face else ""
            description = face.text(QAccessible.Text.Description).strip() if face else ""
            if isinstance(widget, QTabBar) and face is not None:  # a tab bar is described by the tab shown
                current = face.child(widget.currentIndex())
                description = current.text(QAccessible.Text.Description).strip() if current else ""
            lacks = [what for what, text in (("name", name), ("description", description)) if not text]
            if lacks:
                where = widget.objectName() or (widget.parentWidget() and type(widget.parentWidget()).__name__)
                missing.add(f"{window.windowTitle()} ▸ {page}: {type(widget).__name__} ({where}, "
                            f"{name!r}) has no {' or '.join(lacks)}")
    return missing


@pytest.fixture
def desk(open_desk, demo_workspace):
    return open_desk(demo_workspace, "Amara Okafor")


def test_every_focusable_widget_of_the_window_and_its_dialogs_has_a_name_and_a_description(qtbot, desk):
    missing = unnamed(desk)
    for dialog in open_every_dialog(qtbot, desk):
        missing |= unnamed(dialog)
    QApplication.processEvents()
    assert not missing, f"{len(missing)} widgets:\n" + "\n".join(sorted(missing))
