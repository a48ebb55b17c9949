"""The desk on every screen: small screens and 2x scaling reflow the panes; nothing is clipped or squeezed.

The window is resized to each size a reviewer's screen gives it (logical pixels: 1920×1080 at 2×
scaling is 960×540) with a proposal chosen and every desk pane shown in turn; every visible widget
must lie inside its parent and be no smaller than its minimum size.
"""

import json
import os
import subprocess
import sys

import pytest
from PySide6.QtWidgets import QAbstractScrollArea, QApplication, QTabBar, QWidget

from tests.datapaths import ROOT, SPLIT_BY_COUNTRY, TESTS
from ui.desk_layout import TAB_TITLES

pytestmark = pytest.mark.gui

SIZES = {(1366, 768): "wide", (1024, 700): "narrow", (1100, 800): "medium", (800, 600): "narrow",
         (960, 540): "narrow"}


def _in_scroller(widget):
    """Whether ``widget`` is scrolled content (it may lie outside its parent by design) or a scroller's own part."""
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QAbstractScrollArea) and widget is not parent:
            return True
        parent = parent.parentWidget()
    return False


def problems(window):
    """Visible widgets that stick out of their parent, or are smaller than their minimum size."""
    found = []
    for widget in window.findChildren(QWidget):
        parent = widget.parentWidget()
        if not widget.isVisible() or widget.isWindow() or parent is None or _in_scroller(widget):
            continue
        if isinstance(parent, QTabBar) or widget.objectName().startswith("qt_"):  # Qt's own parts of a widget
            continue
        name = f"{type(widget).__name__} {widget.accessibleName() or widget.objectName()!r} in {type(parent).__name__}"
        box, room = widget.geometry(), parent.rect()
        if box.right() > room.right() + 1 or box.bottom() > room.bottom() + 1 or box.left() < -1 or box.top() < -1:
            found.append(f"{name}: {box.getRect()} outside {room.getRect()}")
        least = widget.minimumSizeHint()
        if widget.minimumWidth() == 0 and widget.minimumHeight() == 0 and least.isValid() and (
                widget.width() + 1 < least.width() or widget.height() + 1 < least.height()):
            found.append(f"{name}: {widget.width()}×{widget.height()} below its minimum {least.width()}×{least.height()}")
    return found


@pytest.mark.parametrize(("size", "mode"), SIZES.items(), ids=[f"{w}x{h}" for w, h in SIZES])
def test_every_pane_fits_at_each_screen_size(qtbot, open_desk, demo_workspace, size, mode):
    window = open_desk(demo_workspace, "Amara Okafor")
    with qtbot.waitSignal(window.detail_shown, timeout=20000):
        window.queue.select(SPLIT_BY_COUNTRY)
    window.resize(*size)
    qtbot.waitUntil(lambda: window.desk.mode == mode, timeout=5000)
    QApplication.processEvents()
    assert (window.width(), window.height()) == size  # the window's minimum is not larger than the screen
    shown = [None] if mode == "wide" else list(window.desk.panes)
    for pane in shown:
        if pane is not None:
            window.desk.show_pane(pane)
            QApplication.processEvents()
        found = problems(window)
        assert found == [], "\n".join(found) + f"{size} {mode}, pane {TAB_TITLES[window.desk.panes.index(pane)] if pane else 'all'}"


def test_the_desk_reflows_back_and_keeps_what_was_chosen(qtbot, open_desk, demo_workspace):
    window = open_desk(demo_workspace, "Amara Okafor")
    with qtbot.waitSignal(window.detail_shown, timeout=20000):
        window.queue.select(SPLIT_BY_COUNTRY)
    window.decision_panel.rationale.setPlainText("Half-written rationale.")
    for size, mode in (((800, 600), "narrow"), ((1100, 800), "medium"), ((1480, 900), "wide")):
        window.resize(*size)
        qtbot.waitUntil(lambda m=mode: window.desk.mode == m, timeout=5000)
        assert window.current_proposal == SPLIT_BY_COUNTRY
        assert window.decision_panel.rationale.toPlainText() == "Half-written rationale."
    window.resize(800, 600)
    qtbot.waitUntil(lambda: window.desk.mode == "narrow", timeout=5000)
    # Opening a proposal from the queue shows its pane; the focus keys show theirs.
    window.desk.show_pane(window.queue)
    window.queue.table.activated.emit(window.queue.table.currentIndex())
    assert window.desk.all_tabs.currentWidget() is window.centre_splitter
    window.focus_decision()
    assert window.desk.all_tabs.currentWidget() is window.decision_panel
    window.focus_evidence()
    assert window.desk.all_tabs.currentWidget() is window.evidence_slot


@pytest.mark.parametrize("scale", ["1", "2"])
def test_the_first_window_fits_the_screen(tmp_path, scale):
    """A 1920×1080 screen at 2× scaling has 960×540 logical pixels: the first window is no larger."""
    script = (
        "import json, sys\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "from ui.app import build_window\n"
        "w = build_window(__import__('pathlib').Path(sys.argv[1]), remember_layout=False)\n"
        "w.show(); app.processEvents()\n"
        "free = app.primaryScreen().availableGeometry()\n"
        "print(json.dumps([w.frameGeometry().width(), w.frameGeometry().height(), free.width(), free.height()]))\n"
    )
    env = {**os.environ, "QT_SCALE_FACTOR": scale,
           "QT_QPA_PLATFORM": f"offscreen:configfile={TESTS / 'data' / 'offscreen-1920x1080.json'}"}
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path / "none")], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120, check=True).stdout
    width, height, free_width, free_height = json.loads(out.strip().splitlines()[-1])
    assert free_width == 1920 // int(scale)
    assert width <= free_width and height <= free_height


def test_the_discussion_folds_to_one_line_while_a_proposal_has_no_threads(qtbot, open_desk, demo_workspace):
    window = open_desk(demo_workspace, "Amara Okafor")
    panel = window.discussion_panel
    with qtbot.waitSignal(panel.loaded, timeout=20000):
        window.queue.select(SPLIT_BY_COUNTRY)
    assert not panel.is_open() and not panel.body.isVisible()
    assert panel.height() < 60 < window.diff_view.height()  # the diff has the room
    window.focus_discussion()  # Ctrl+K, or a thread started from the diff or the evidence
    assert panel.is_open() and panel.editor.hasFocus() == window.isActiveWindow()
    panel.fold_button.click()  # the reviewer's own choice is kept across proposals
    assert not panel.is_open()
