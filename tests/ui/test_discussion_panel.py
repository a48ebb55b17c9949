"""The Discussion pane on the review desk: threads, replies, mentions, resolve; started from the diff and the evidence."""

import re

import pytest
from PySide6.QtCore import Qt, QUrl
from PySide6.QtWidgets import QAbstractButton, QLabel

from reviewer.discussion import Comment, Thread, threads_of
from reviewer.store import Store
from reviewer.workspace import DB_FILE
from tests.datapaths import MULTI_SECTION, REFUTED
from tests.ui.test_review_desk import choose, desk  # noqa: F401 - the desk fixture
from ui.main_window import MINE
from ui.views.discussion_panel import ThreadListModel, thread_html

pytestmark = pytest.mark.gui


def stored_threads(workspace, proposal_id):
    store = Store.open(workspace / DB_FILE)
    try:
        return threads_of(store, proposal_id)
    finally:
        store.close()


def post(qtbot, desk, text):  # noqa: F811 - the desk fixture's name
    """Type ``text`` in the pane and post it with Ctrl+Enter; wait until the threads are read again."""
    panel = desk.discussion_panel
    panel.editor.setFocus()
    panel.editor.setPlainText(text)
    with qtbot.waitSignals([panel.posted, panel.loaded], timeout=20000):
        qtbot.keyClick(panel.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)


def _thread(resolved=False):
    comment = Comment("c1", "c1", "Amara Okafor", "Hi <b>there</b>", ("Jonas Lindqvist",), "2026-01-01T10:00:00Z")
    return Thread("c1", REFUTED, "a_section", None, "Amara Okafor", "2026-01-01T10:00:00Z",
                  "Wei Chen" if resolved else None, "2026-01-02T10:00:00Z" if resolved else None, (comment,))


def test_the_thread_list_model_passes_the_model_tester(qtmodeltester):
    model = ThreadListModel()
    model.set_threads([_thread(), _thread(resolved=True)])
    qtmodeltester.check(model)
    assert model.index(1, 0).data() == "Resolved" and model.index(0, 1).data() == "section #a_section"


def test_a_thread_s_comments_are_escaped():
    html = thread_html(_thread())
    assert "Hi &lt;b&gt;there&lt;/b&gt;" in html and "<b>there</b>" not in html
    assert "mentions Jonas Lindqvist" in html


def test_a_comment_mentioning_a_member_reaches_their_waiting_for_me_and_leaves_it_when_they_answer(
        qtbot, desk, demo_workspace):  # noqa: F811
    panel = desk.discussion_panel
    with qtbot.waitSignal(panel.loaded, timeout=20000):
        choose(qtbot, desk, REFUTED)
    assert panel.model.rowCount() == 0 and panel.target.currentData() == ("proposal", None)
    post(qtbot, desk, "Paid ads too? @Jonas Lindqvist")
    (thread,) = stored_threads(demo_workspace, REFUTED)
    assert thread.comments[0].mentions == ("Jonas Lindqvist",) and thread.started_by == "Amara Okafor"
    assert panel.model.rowCount() == 1 and panel.current_thread_id() == thread.id  # the new thread is selected
    assert "Paid ads too? @Jonas Lindqvist" in panel.thread_text.toPlainText()
    assert panel.message.text() == "Posted as Amara Okafor, mentioning Jonas Lindqvist."
    assert panel.editor.toPlainText() == ""

    desk.set_reviewer("Jonas Lindqvist")
    statuses = desk.queue.filters["statuses"]
    statuses.setCurrentIndex(statuses.findData(MINE))
    qtbot.waitUntil(lambda: "1 mentioning you" in desk.statusBar().currentMessage(), timeout=20000)
    assert desk.statusBar().currentMessage().startswith("5 proposals waiting for Jonas Lindqvist")
    # Choosing the thread offers a reply in it first.
    assert panel.target.currentData() == ("reply", thread.id)
    post(qtbot, desk, "Yes, the second paragraph.")
    qtbot.waitUntil(lambda: "mentioning you" not in desk.statusBar().currentMessage(), timeout=20000)
    (thread,) = stored_threads(demo_workspace, REFUTED)
    assert [c.author for c in thread.comments] == ["Amara Okafor", "Jonas Lindqvist"]
    assert panel.model.index(0, 3).data() == "2"


def test_a_thread_on_a_section_starts_from_the_diff(qtbot, desk, demo_workspace):  # noqa: F811
    panel = desk.discussion_panel
    with qtbot.waitSignal(panel.loaded, timeout=20000):
        choose(qtbot, desk, MULTI_SECTION)
    html = desk.diff_view.browser.toHtml()
    assert "discuss:assume_objective_pov" in html and "discuss:present_perspectives" in html
    desk.diff_view.browser.anchorClicked.emit(QUrl("discuss:present_perspectives"))
    assert panel.target.currentData() == ("section", "present_perspectives")
    assert panel.editor.hasFocus() or not desk.isActiveWindow()
    post(qtbot, desk, "Is the Stalin example still needed?")
    (thread,) = stored_threads(demo_workspace, MULTI_SECTION)
    assert thread.section_id == "present_perspectives" and thread.target == "section #present_perspectives"
    # The bar's menu does the same from the keyboard.
    assert [a.text() for a in desk.diff_view.discuss_menu.actions()] == ["#assume_objective_pov",
                                                                        "#present_perspectives"]
    desk.diff_view.discuss_menu.actions()[0].trigger()
    assert panel.target.currentData() == ("section", "assume_objective_pov")
    # Any other link still leads to the spec tab.
    desk.diff_view.browser.anchorClicked.emit(QUrl("#assume_objective_pov"))
    assert desk.tabs.currentWidget() is desk.spec_splitter


def test_a_thread_on_a_justification_starts_from_the_evidence_lists(qtbot, desk, demo_workspace):  # noqa: F811
    panel, evidence = desk.discussion_panel, desk.evidence_view
    with qtbot.waitSignals([panel.loaded, evidence.loaded], timeout=20000):
        choose(qtbot, desk, REFUTED)
    view = evidence.lists["refutes"].view
    qtbot.waitUntil(lambda: view.model().rowCount() > 0, timeout=20000)
    view.setFocus()
    view.setCurrentIndex(view.model().index(0, 0))
    justification = evidence.selected_row().justification_id
    qtbot.keyClick(view, Qt.Key.Key_D)
    assert panel.target.currentData() == ("justification", justification)
    post(qtbot, desk, "This participant reads the rule differently.")
    (thread,) = stored_threads(demo_workspace, REFUTED)
    assert thread.justification_id == justification
    assert "justification" in evidence.discuss_action.text().lower()


def test_resolve_and_reopen_with_the_button(qtbot, desk, demo_workspace):  # noqa: F811
    panel = desk.discussion_panel
    with qtbot.waitSignal(panel.loaded, timeout=20000):
        choose(qtbot, desk, REFUTED)
    post(qtbot, desk, "Settled?")
    assert panel.resolve_button.text() == "Res&olve thread" and panel.resolve_button.isEnabled()
    with qtbot.waitSignals([panel.thread_changed, panel.loaded], timeout=20000):
        panel.resolve_button.click()
    (thread,) = stored_threads(demo_workspace, REFUTED)
    assert thread.resolved_by == "Amara Okafor"
    assert panel.resolve_button.text() == "Re&open thread" and panel.model.index(0, 0).data() == "Resolved"
    # A resolved thread is not offered for a reply.
    assert ("reply", thread.id) not in [panel.target.itemData(i) for i in range(panel.target.count())]
    assert "Resolved" in panel.thread_text.toPlainText() and "Amara Okafor" in panel.thread_text.toPlainText()
    with qtbot.waitSignals([panel.thread_changed, panel.loaded], timeout=20000):
        panel.resolve_button.click()
    assert not stored_threads(demo_workspace, REFUTED)[0].resolved
    assert panel.target.currentData() == ("reply", thread.id)


def test_nobody_or_a_non_member_is_told_before_anything_is_written(qtbot, desk, demo_workspace):  # noqa: F811
    panel = desk.discussion_panel
    with qtbot.waitSignal(panel.loaded, timeout=20000):
        choose(qtbot, desk, REFUTED)
    desk.set_reviewer("")
    panel.editor.setPlainText("Hello")
    with qtbot.waitSignal(panel.failed, timeout=5000):
        panel.post_button.click()
    assert "Choose who you are first" in panel.message.text()
    desk.set_reviewer("Mallory")
    with qtbot.waitSignal(panel.failed, timeout=5000):
        panel.post_button.click()
    assert "Mallory is not a member" in panel.message.text()
    desk.set_reviewer("Wei Chen")  # an auditor: any member takes part
    panel.editor.setPlainText("   ")
    with qtbot.waitSignal(panel.failed, timeout=5000):
        panel.post_button.click()
    assert panel.message.text() == "Write a comment first."
    assert stored_threads(demo_workspace, REFUTED) == []
    post(qtbot, desk, "<img src='file:///etc/hostname'> @Amara Okafor")
    assert panel.thread_text.refused == [] and "<img src='file:///etc/hostname'>" in panel.thread_text.toPlainText()


def test_every_new_action_is_on_the_keyboard_without_a_mnemonic_clash(qtbot, desk):  # noqa: F811
    panel = desk.discussion_panel
    with qtbot.waitSignal(panel.loaded, timeout=20000):
        choose(qtbot, desk, REFUTED)
    desk.queue.table.setFocus()
    go = next(a for a in desk.findChildren(type(desk.sync_action)) if a.text().startswith("Dis&cussion"))
    assert go.shortcut().toString() == "Ctrl+K"
    go.trigger()
    assert desk.discussion_panel.editor.hasFocus() or not desk.isActiveWindow()

    def mnemonic(text):
        found = re.search(r"&([^&\s])", text.replace("&&", ""))
        return found.group(1).lower() if found else None

    ours = {mnemonic(w.text()) for w in (panel.post_button, panel.resolve_button)} | {"t"}  # Post &to:
    assert ours == {"p", "o", "t"}
    others = {mnemonic(menu.title()) for menu in desk.menuBar().findChildren(type(desk.menuBar().actions()[0].menu()))}
    for widget in desk.desk_splitter.findChildren(QAbstractButton) + desk.desk_splitter.findChildren(QLabel):
        if widget.window() is desk and not panel.isAncestorOf(widget) and widget.isVisible():
            others.add(mnemonic(widget.text()))
    assert not ours & others
    for widget in (panel.threads_view, panel.thread_text, panel.target, panel.editor, panel.resolve_button,
                   desk.diff_view.discuss_button):
        assert widget.accessibleName()
