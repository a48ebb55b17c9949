"""The Qt binding itself: guards against known binding bugs coming back with an upgrade."""

import sys

from PySide6.QtWidgets import QLabel


def test_void_calls_do_not_leak_references_to_none(qtbot):
    # PySide6 6.12.0 on Python 3.11 dropped a reference to None on every call of a method
    # returning void; a long session then aborted with "deallocating None" (pinned to 6.11.3).
    label = QLabel()
    qtbot.addWidget(label)
    before = sys.getrefcount(None)
    for _ in range(5000):
        label.setText("x")
    assert abs(sys.getrefcount(None) - before) < 100
