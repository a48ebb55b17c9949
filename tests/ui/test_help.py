"""Help: the shortcuts sheet lists every key the window has, the glossary defines every status, status words link to it, the tour."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from reviewer.glossary import TERMS, glossary_text, status_term
from reviewer.vocab import Status
from ui import settings as window_settings
from ui.models.queue import STATUS_LABELS

pytestmark = pytest.mark.gui


@pytest.fixture
def desk(open_desk, demo_workspace):
    return open_desk(demo_workspace, "Amara Okafor")


def test_the_shortcuts_sheet_lists_every_action_and_shortcut_the_window_has(qtbot, desk):
    sheet = desk.show_shortcuts()
    qtbot.addWidget(sheet)
    text = sheet.browser.toPlainText()
    listed = {(what, keys) for _where, what, keys in sheet.rows}
    actions = [a for a in desk.findChildren(type(desk.actions()[0])) if a.shortcuts() and a.text()]
    assert len(actions) > 20
    for action in actions:
        keys = ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts())
        assert (action.text().replace("&", ""), keys) in listed, action.text()
        assert keys in text
    for shortcut in desk.findChildren(QShortcut):
        if shortcut.isEnabled():
            assert shortcut.key().toString(QKeySequence.SequenceFormat.NativeText) in text
    # Made from the actions when opened: a key added later is on the next sheet.
    desk._action(desk.menuBar().actions()[0].menu(), "Something new", ["Ctrl+Shift+F12"], lambda: None)
    assert ("Something new", QKeySequence("Ctrl+Shift+F12").toString(QKeySequence.SequenceFormat.NativeText)) in {
        (what, keys) for _w, what, keys in desk.show_shortcuts().rows}


def test_the_glossary_defines_every_status_the_app_shows():
    for status in Status:
        entry = status_term(status)
        assert entry is not None and entry.word == STATUS_LABELS[status] and len(entry.definition) > 40
    keys = {t.key for t in TERMS}
    assert {"quorum", "contested", "needs_rebase", "flagged", "stale", "on_earlier_text"} <= keys
    assert all(k in keys for t in TERMS for k in t.see)
    assert "Needs rebase\n  Adopted, but the spec has changed" in glossary_text()


@pytest.mark.qt_log_ignore("This plugin does not support raise")  # bringing the open glossary forward
def test_a_status_word_on_the_desk_opens_the_glossary_at_its_entry(qtbot, desk):
    panel = desk.decision_panel
    qtbot.waitUntil(lambda: "glossary:" in panel.status_label.text(), timeout=20000)
    assert 'href="glossary:open"' in panel.status_label.text() or "glossary:pending" in panel.status_label.text()
    # The link by keyboard, as a reader without a mouse follows it: focus the label, Tab to the link, Enter.
    desk.activateWindow()
    panel.status_label.setFocus(Qt.FocusReason.TabFocusReason)
    QTest.keyClick(panel.status_label, Qt.Key.Key_Tab)
    QTest.keyClick(panel.status_label, Qt.Key.Key_Return)
    glossary = desk.glossary_dialog
    assert glossary is not None and glossary.isVisible()
    status = desk.decision_panel._status.status
    assert glossary.shown_key == status
    # Scrolled to the entry: its word is at the top of the view.
    browser = glossary.browser
    top = browser.cursorForPosition(browser.viewport().rect().topLeft()).block().text()
    word = status_term(status).word
    assert word in top or browser.verticalScrollBar().value() > 0 or status == TERMS[0].key
    # Another status word: the same glossary window, moved to that entry.
    desk.show_glossary("needs_rebase")
    assert desk.glossary_dialog is glossary and glossary.shown_key == "needs_rebase"
    assert browser.verticalScrollBar().value() > 0


@pytest.mark.qt_log_ignore("This plugin does not support raise")
def test_the_tour_is_shown_once_on_first_start_and_again_from_help(qtbot, demo_workspace):
    from ui.main_window import MainWindow
    from ui.workers import WorkspaceLane

    assert not window_settings.tour_seen()
    win = MainWindow(WorkspaceLane(demo_workspace), remember_layout=True)
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.loaded, timeout=20000):
        win.show()
        win.reload()
    qtbot.waitUntil(lambda: win.tour is not None and win.tour.isVisible(), timeout=5000)
    tour = win.tour
    titles = [title for _w, title, _t in tour.steps]
    assert [w for w, _t, _x in tour.steps][:2] == [win.queue, win.diff_view] and len(titles) == 4
    for _ in range(len(titles) - 1):
        QTest.keyClick(tour.next_button, Qt.Key.Key_Space)
    assert tour.index == len(titles) - 1 and tour.next_button.text() == "&Done"
    QTest.keyClick(tour.next_button, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: win.tour is None, timeout=3000)
    assert window_settings.tour_seen()
    win.close()

    again = MainWindow(WorkspaceLane(demo_workspace), remember_layout=True)
    qtbot.addWidget(again)
    with qtbot.waitSignal(again.loaded, timeout=20000):
        again.show()
        again.reload()
    QTest.qWait(600)
    assert again.tour is None  # seen: not shown on the next start
    help_menu = next(a.menu() for a in again.menuBar().actions() if a.text() == "&Help")
    next(a for a in help_menu.actions() if a.text() == "&Tour of the desk").trigger()
    assert again.tour is not None and again.tour.isVisible()
    again.close()
    QApplication.processEvents()
