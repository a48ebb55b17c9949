"""The desk by keyboard: widgets keep their own keys, no Alt+letter clashes, Tab leaves every view, a keyboard-only decision."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QComboBox

from reviewer import governance
from reviewer.store import Store
from reviewer.workspace import DB_FILE
from tests.ui.access_helpers import clashes, focusable, open_dialogs, pages
from tests.ui.conftest import first_justification

# A combo box opening its list grabs the keyboard, which the offscreen platform cannot do (and says so).
pytestmark = [pytest.mark.gui,
              pytest.mark.qt_log_ignore("This plugin does not support (grabbing the keyboard|raise)")]


@pytest.fixture
def desk(open_desk, demo_workspace):
    win = open_desk(demo_workspace, "Amara Okafor")
    win.activateWindow()
    return win


def open_every_dialog(qtbot, desk):
    """Open every dialog the desk's menus open (import, model task, model endpoint, prices, proposal editor, conversation)."""
    menus = {a.text().replace("&", ""): a for a in desk.findChildren(type(desk.actions()[0]))}
    for name in ("Import crowd data…", "Run a model task…", "Model endpoint…", "Price table…", "New proposal…"):
        menus[name].trigger()
    _jid, cid, _pid = first_justification(desk.overview.root)
    with qtbot.waitSignal(desk.conversation_dialog.view.loaded, timeout=20000):
        desk.conversation_dialog.open_conversation(cid)
    for name in ("Keyboard shortcuts", "Glossary"):
        if name in menus:
            menus[name].trigger()
    QApplication.processEvents()
    dialogs = open_dialogs()
    assert len(dialogs) >= 5, [d.windowTitle() for d in dialogs]
    return dialogs


def press(widget, key, modifier=Qt.KeyboardModifier.NoModifier):
    """A key pressed with ``widget`` focused, through the shortcut system as a real key would go."""
    widget.setFocus(Qt.FocusReason.OtherFocusReason)
    QTest.keyClick(widget, key, modifier)


def test_alt_down_in_the_reason_combo_opens_its_list_and_stays_on_the_proposal(qtbot, desk):
    first = desk.current_proposal
    panel = desk.decision_panel
    panel.findChild(type(panel.outcomes.buttons()[0]), "outcome_defer").click()
    press(panel.reason, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: panel.reason.view().isVisible(), timeout=3000)
    assert desk.current_proposal == first
    panel.reason.hidePopup()
    # In the queue itself, Alt+Down still steps to the next proposal.
    with qtbot.waitSignal(desk.detail_shown, timeout=20000):
        press(desk.queue.table, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
    assert desk.current_proposal != first


def test_no_window_shortcut_takes_a_key_from_the_widget_that_has_the_focus(qtbot, desk):
    """Every key a field, combo, table or list acts on, pressed in each such widget: no window action fires."""
    fired = []
    for action in desk.actions():
        action.triggered.connect(lambda _c=False, a=action: fired.append(a.text()))
    keys = [(Qt.Key.Key_Up, Qt.KeyboardModifier.NoModifier), (Qt.Key.Key_Down, Qt.KeyboardModifier.NoModifier),
            (Qt.Key.Key_Home, Qt.KeyboardModifier.NoModifier), (Qt.Key.Key_End, Qt.KeyboardModifier.NoModifier),
            (Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier), (Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier),
            (Qt.Key.Key_Space, Qt.KeyboardModifier.NoModifier)]
    text_keys = [(Qt.Key.Key_Up, Qt.KeyboardModifier.AltModifier), (Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)]
    from PySide6.QtWidgets import QAbstractItemView, QLineEdit, QPlainTextEdit, QTextEdit

    checked = 0
    for page in pages(desk):
        for widget in focusable(desk):
            if isinstance(widget, QComboBox):
                extra = text_keys
            elif isinstance(widget, (QLineEdit, QPlainTextEdit, QTextEdit)):
                extra = text_keys
            elif isinstance(widget, QAbstractItemView):
                extra = []
            else:
                continue
            for key, modifier in keys + extra:
                fired.clear()
                press(widget, key, modifier)
                if isinstance(widget, QComboBox):
                    widget.hidePopup()
                assert not fired, f"{page}: {QKeySequence(modifier.value | key.value).toString()} in " \
                                  f"{type(widget).__name__} {widget.accessibleName()!r} ran {fired}"
                checked += 1
    assert checked > 100


def test_no_two_things_share_an_alt_letter_in_any_window(qtbot, desk):
    problems = clashes(desk)
    for dialog in open_every_dialog(qtbot, desk):
        problems += clashes(dialog)
    assert not problems, "\n".join(problems)


def test_no_two_shortcuts_share_a_key_on_any_page(qtbot, desk):
    """A key bound twice fires neither (Qt calls it ambiguous): each key once, whatever the page shown."""
    from PySide6.QtGui import QShortcut

    problems = []
    for page in pages(desk):
        seen: dict[str, str] = {}
        bound = [(a.text(), a.shortcuts()) for a in desk.actions()]
        bound += [(f"shortcut in {type(s.parent()).__name__}", [s.key()]) for s in desk.findChildren(QShortcut)
                  if s.isEnabled() and s.parent().isVisible()
                  and s.context() != Qt.ShortcutContext.WidgetShortcut]
        for name, keys in bound:
            for key in keys:
                text = key.toString()
                if text in seen and seen[text] != name:
                    problems.append(f"{page}: {text} is both {seen[text]!r} and {name!r}")
                seen[text] = name
    assert not problems, "\n".join(sorted(set(problems)))


def test_tab_leaves_every_view(qtbot, desk):
    stuck = []
    windows = [desk, *open_every_dialog(qtbot, desk)]
    for window in windows:
        window.activateWindow()
        for page in pages(window):
            for widget in focusable(window):
                widget.setFocus(Qt.FocusReason.TabFocusReason)
                if QApplication.focusWidget() is not widget:
                    continue  # it does not take the focus now (e.g. a page hidden behind a splitter)
                for _ in range(30):  # a text browser first steps through its links
                    QTest.keyClick(widget, Qt.Key.Key_Tab)
                    if QApplication.focusWidget() is not widget:
                        break
                else:
                    stuck.append(f"{window.windowTitle()} ▸ {page}: {type(widget).__name__} "
                                 f"{widget.objectName() or widget.accessibleName()!r}")
    assert not stuck, "Tab does not leave:\n" + "\n".join(stuck)


def test_a_page_s_own_key_wins_on_that_page(qtbot, desk):
    """Ctrl+F filters the audit log on the Audit page and the queue on the desk; Ctrl+1 switches the editor's diff."""
    desk.tabs.setCurrentWidget(desk.auditor_view)
    QTest.keyClick(desk, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.focusWidget() is desk.auditor_view.action_filter
    desk.tabs.setCurrentIndex(0)
    QTest.keyClick(desk, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.focusWidget() is desk.queue.search


def keys_to(qtbot, target, limit=40):
    """Press Tab until ``target`` has the focus (only key events); fails if it never gets it."""
    for _ in range(limit):
        if QApplication.focusWidget() is target:
            return
        QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
    raise AssertionError(f"Tab never reached {target!r}; stopped at {QApplication.focusWidget()!r}")


def test_choose_read_label_decide_with_the_keyboard_only(qtbot, desk, demo_workspace):
    def key(k, modifier=Qt.KeyboardModifier.NoModifier):
        QTest.keyClick(QApplication.focusWidget(), k, modifier)

    # Choose: Ctrl+F puts the cursor in the queue's filter; Tab on to the queue; Down to the second proposal.
    key(Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    keys_to(qtbot, desk.queue.table)
    with qtbot.waitSignals([desk.detail_shown, desk.decision_panel.loaded], timeout=20000):
        key(Qt.Key.Key_Down)
    chosen = desk.current_proposal
    assert chosen == desk.queue.model.ids[desk.queue.proxy.mapToSource(desk.queue.table.currentIndex()).row()]
    # Read: Tab reaches the diff; Ctrl+E the evidence, where Down chooses a justification.
    keys_to(qtbot, desk.diff_view.browser)
    evidence = desk.evidence_view
    qtbot.waitUntil(lambda: evidence.models["supports"].rowCount() > 0 or evidence.models["refutes"].rowCount() > 0,
                    timeout=20000)
    key(Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    listing = QApplication.focusWidget()
    assert listing in (evidence.lists["supports"].view, evidence.lists["refutes"].view)
    if not listing.model().rowCount():
        keys_to(qtbot, evidence.lists["refutes"].view)
        listing = evidence.lists["refutes"].view
    with qtbot.waitSignal(evidence.detail_shown, timeout=20000):
        key(Qt.Key.Key_Home)
    # Label: N files it under "no comment" in the reviewer's name.
    with qtbot.waitSignal(evidence.stance_changed, timeout=20000) as labelled:
        key(Qt.Key.Key_N)
    assert labelled.args[0] == chosen and labelled.args[2] == "no_comment"
    # Decide: Ctrl+D to the outcome, Right and Space for Defer, Tab to the reason, Down to a reason, Tab, type, Ctrl+Enter.
    panel = desk.decision_panel
    key(Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    key(Qt.Key.Key_Right)
    key(Qt.Key.Key_Space)
    assert panel.outcome() == "defer"
    keys_to(qtbot, panel.reason)
    key(Qt.Key.Key_Down)
    assert panel.reason.currentData()
    keys_to(qtbot, panel.rationale)
    QTest.keyClicks(panel.rationale, "Needs the research first.")
    with qtbot.waitSignal(panel.decision_saved, timeout=20000):
        key(Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    store = Store.open(demo_workspace / DB_FILE)
    try:
        (decision,) = [d for d in governance.decisions_for(store, chosen) if d.reviewer == "Amara Okafor"]
    finally:
        store.close()
    assert decision.outcome == "defer" and decision.rationale == "Needs the research first."
