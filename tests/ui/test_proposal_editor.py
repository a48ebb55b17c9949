"""The proposal editor, driven on real widgets: type, see the diff and the check follow, search and link, save."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from reviewer.evidence import evidence_summary
from reviewer.proposals import ProposalDraft, draft_from_proposal
from reviewer.store import Store
from reviewer.workspace import DB_FILE
from tests.datapaths import SUPPORTED
from ui.dialogs import Dialogs
from ui.models.search_hits import COL_LINK
from ui.views.proposal_editor import ProposalEditor

pytestmark = pytest.mark.gui

SECTION = "assume_objective_pov"  # authority=user in the demo's spec
OTHER = "present_perspectives"


@pytest.fixture
def desk(open_desk, demo_workspace):
    return open_desk(demo_workspace, "Lena Fischer")


def _choose_sections(desk, *section_ids):
    from PySide6.QtCore import QItemSelectionModel

    desk.tabs.setCurrentWidget(desk.spec_splitter)
    selection = desk.section_tree.selectionModel()
    selection.clearSelection()
    for section_id in section_ids:
        index = desk.section_model.index_of(section_id)
        selection.select(index, QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows)
        selection.setCurrentIndex(index, QItemSelectionModel.SelectionFlag.NoUpdate)


def _open(qtbot, desk, *section_ids):
    _choose_sections(desk, *section_ids)
    desk.new_proposal_action.trigger()
    editor = desk.proposal_editor
    assert isinstance(editor, ProposalEditor)
    qtbot.waitUntil(lambda: editor.base is not None and editor.check is not None, timeout=20000)
    return editor


def _type_at_end(qtbot, editor_widget, text):
    cursor = editor_widget.textCursor()
    cursor.movePosition(cursor.MoveOperation.End)
    editor_widget.setTextCursor(cursor)
    editor_widget.setFocus()
    qtbot.keyClicks(editor_widget, text)


def _checked(qtbot, editor):
    with qtbot.waitSignal(editor.checked, timeout=5000) as blocker:
        pass
    return blocker.args[0]


def test_write_a_proposal_with_linked_evidence_from_the_spec_tab(qtbot, desk, demo_workspace):
    editor = _open(qtbot, desk, SECTION, OTHER)
    assert list(editor.editors) == [SECTION, OTHER]  # in the spec's order, each with its current text
    assert editor.editors[SECTION].toPlainText().startswith("### Assume an objective point of view")
    assert not editor.save_button.isEnabled()
    assert "unchanged" in editor.check_label.text() and "title" in editor.check_label.text()
    # Untouched, each text is the spec's own, non-breaking spaces and all (Qt's plain text would lose them).
    assert "\xa0" in editor.editors[SECTION].document().toRawText()
    assert set(editor.check.section_problems) == {SECTION, OTHER}

    # Type a sentence: the diff and the check follow once typing pauses.
    _type_at_end(qtbot, editor.editors[SECTION], "Say when a claim is contested.")
    check = _checked(qtbot, editor)
    assert "Say when a claim is contested." in editor.diff_view.browser.toPlainText()
    assert "#a8dab5" in editor.diff_view.browser.toHtml().lower()  # the inserted words are highlighted
    assert SECTION not in check.section_problems and OTHER in check.section_problems
    editor.section_tabs.setCurrentWidget(editor.editors[OTHER])
    editor.remove_button.click()
    assert list(editor.editors) == [SECTION]

    qtbot.keyClicks(editor.title_edit, "Say when a claim is contested")
    qtbot.keyClicks(editor.intent_edit, "Readers should know which claims are disputed.")
    check = _checked(qtbot, editor)
    assert check.ok and editor.save_button.isEnabled() and "Ready to save" in editor.check_label.text()

    # Search the crowd's words and tick a justification and a conversation to link.
    editor.pages.setCurrentWidget(editor.evidence_page)
    with qtbot.waitSignal(editor.searched, timeout=20000) as blocker:
        qtbot.keyClicks(editor.search_edit, "ridiculous")
    result = blocker.args[0]
    assert result.hits and all(h.kind == "justification" for h in result.hits)
    justification = result.hits[0]
    editor.results.setFocus()
    editor.results.setCurrentIndex(editor.results_model.index(0, COL_LINK))
    qtbot.keyClick(editor.results, Qt.Key.Key_Space)  # ticks it
    assert editor.chosen.ids("justification") == (justification.id,)
    with qtbot.waitSignal(editor.searched, timeout=20000) as blocker:
        editor.search_kind.setCurrentIndex(editor.search_kind.findText("Conversations"))
        editor.search_edit.setText("voting age")
        editor.run_search()
    conversation = next(h for h in blocker.args[0].hits if h.id != justification.conversation_id)
    row = editor.results_model.hits.index(conversation)
    assert editor.results_model.setData(editor.results_model.index(row, COL_LINK), Qt.CheckState.Checked,
                                        Qt.ItemDataRole.CheckStateRole)
    assert editor.chosen_model.rowCount() == 2 and "1 conversation" in editor.chosen_label.text()
    assert "(2)" in editor.pages.tabText(editor.pages.indexOf(editor.evidence_page))

    with qtbot.waitSignal(editor.saved, timeout=20000) as blocker:
        editor.save_button.click()
    proposal = blocker.args[0]
    assert proposal.title == "Say when a claim is contested" and proposal.created_by == "Lena Fischer"
    assert proposal.linked_conversations == (conversation.id,)
    # The proposal appears in the queue, chosen on the desk, with its links counted.
    qtbot.waitUntil(lambda: "claim is contested" in desk.proposal_header.text(), timeout=20000)
    assert desk.tabs.currentIndex() == 0 and desk.current_proposal == proposal.id
    store = Store.open(demo_workspace / DB_FILE)
    try:
        links = evidence_summary(store, proposal.id).links
        actions = [r[0] for r in store.db.execute("SELECT action FROM audit_events ORDER BY seq DESC LIMIT 2")]
    finally:
        store.close()
    assert actions == ["evidence.link", "proposal.add"]  # one operation: the proposal and its hand link
    row = desk.queue.model.queue_row(desk.queue.model.row_of(proposal.id))
    assert links > 1 and row.supports + row.refutes + row.no_comment + row.unlabelled == links


def test_an_authority_change_is_shown_and_needs_a_change_of_principle(qtbot, desk):
    editor = _open(qtbot, desk, SECTION)
    qtbot.keyClicks(editor.title_edit, "Move it")
    qtbot.keyClicks(editor.intent_edit, "Developers may change it.")
    text = editor.editors[SECTION].toPlainText().replace("authority=user}", "authority=developer}", 1)
    editor.editors[SECTION].setPlainText(text)
    check = _checked(qtbot, editor)
    assert check.moved == ((SECTION, "user", "developer"),)
    assert "Authority:" in editor.diff_view.browser.toPlainText()  # shown in the diff's section header
    assert "discuss:" not in editor.diff_view.browser.toHtml() and not editor.diff_view.discuss_button.isVisible()
    assert "change of principle" in editor.check_label.text() and not editor.save_button.isEnabled()
    editor.kind_combo.setCurrentIndex(editor.kind_combo.findData("principle"))
    check = _checked(qtbot, editor)
    assert check.ok and editor.save_button.isEnabled()
    assert "Authority changes: assume_objective_pov user → developer" in editor.check_label.text()


def test_a_format_problem_is_named_and_nothing_is_saved(qtbot, desk):
    editor = _open(qtbot, desk, SECTION)
    editor.title_edit.setText("t")
    editor.intent_edit.setPlainText("i")
    original = editor.editors[SECTION].toPlainText()
    editor.editors[SECTION].setPlainText(original.replace(f"{{#{SECTION}", "{#renamed_section", 1))
    _checked(qtbot, editor)
    assert "renamed_section" in editor.check_label.text() and not editor.save_button.isEnabled()
    assert editor.section_tabs.tabToolTip(0).startswith("The new text's heading has id")
    editor.editors[SECTION].setPlainText(original + "\n~~~xml\n<user>\n")
    _checked(qtbot, editor)
    assert "fence" in editor.check_label.text()
    editor.on_save()  # Ctrl+S with problems: refused before anything runs
    assert not editor.saving and editor.isVisible()


def test_a_save_the_domain_refuses_keeps_the_editor_open_with_the_reason(qtbot, desk, demo_workspace):
    editor = _open(qtbot, desk, SECTION)
    editor.title_edit.setText("t")
    editor.intent_edit.setPlainText("i")
    _type_at_end(qtbot, editor.editors[SECTION], "More.")
    _checked(qtbot, editor)
    from reviewer.search import SearchHit

    editor.chosen.set_chosen(SearchHit("justification", "no-such-id", "world", None, None, None, "x"), True)
    with qtbot.waitSignal(editor.failed, timeout=20000):
        editor.save_button.click()
    assert "Not saved: No justification with id no-such-id" in editor.check_label.text()
    assert editor.isVisible() and Dialogs.shown == []
    assert len(Store.open(demo_workspace / DB_FILE).proposal_ids()) == 5  # nothing half-written


def test_from_the_queue_the_editor_starts_with_the_chosen_proposals_sections(qtbot, desk):
    desk.tabs.setCurrentIndex(0)
    qtbot.waitUntil(lambda: desk._shown_view is not None, timeout=20000)
    shown = [s.section_id for s in desk._shown_view.sections]
    desk.new_proposal_action.trigger()
    editor = desk.proposal_editor
    qtbot.waitUntil(lambda: editor.base is not None, timeout=20000)
    assert list(editor.editors) == shown
    editor.add_combo.setEditText(OTHER)
    editor.add_button.click()
    assert list(editor.editors)[-1] == OTHER


def test_without_a_reviewer_name_no_editor_opens(qtbot, desk):
    desk.set_reviewer("")
    desk.new_proposal_action.trigger()
    assert desk.proposal_editor is None and "Choose who you are first" in str(Dialogs.shown[-1])


def test_the_editor_opens_on_a_stored_proposal_with_the_save_it_is_given(qtbot, desk, demo_workspace):
    """What an "Edit…" action (a revision) will do: the draft pre-filled, its own save, no links page."""
    store = Store.open(demo_workspace / DB_FILE)
    proposal = store.get_proposal(SUPPORTED)
    store.close()
    calls = []

    def save(workspace, draft, actor):
        from reviewer.ops import OpResult

        calls.append((draft, actor))
        return OpResult("test.save", draft)

    editor = desk.open_proposal_editor(draft=draft_from_proposal(proposal), save=save, links=False, title="Edit")
    qtbot.waitUntil(lambda: editor.check is not None, timeout=20000)
    assert editor.title_edit.text() == proposal.title and editor.pages.count() == 1
    assert [editor.editors[s.section_id].toPlainText() for s in proposal.sections] == [
        s.new_text for s in proposal.sections]
    _type_at_end(qtbot, editor.editors[proposal.sections[0].section_id], "One more line.")
    _checked(qtbot, editor)
    with qtbot.waitSignal(editor.saved, timeout=20000):
        editor.save_button.click()
    (draft, actor), = calls
    assert actor == "Lena Fischer" and draft.proposal_id == SUPPORTED
    assert draft.changes[0][1].endswith("One more line.")


def test_search_hit_models_pass_the_model_tester(qtmodeltester, qtbot, desk):
    editor = _open(qtbot, desk, SECTION)
    with qtbot.waitSignal(editor.searched, timeout=20000):
        editor.search_edit.setText("voting")
        editor.run_search()
    editor.results_model.setData(editor.results_model.index(0, COL_LINK), Qt.CheckState.Checked,
                                 Qt.ItemDataRole.CheckStateRole)
    qtmodeltester.check(editor.results_model)
    qtmodeltester.check(editor.chosen_model)


def test_new_focusable_widgets_have_accessible_names(qtbot, desk):
    editor = _open(qtbot, desk, SECTION)
    for widget in (editor.title_edit, editor.intent_edit, editor.kind_combo, editor.add_combo, editor.search_edit,
                   editor.search_kind, editor.results, editor.chosen_table, editor.section_tabs,
                   *editor.editors.values()):
        assert widget.accessibleName(), widget
    # It fits a 1366x768 screen (the smallest the app supports; the test screen is 800 wide).
    hint = editor.minimumSizeHint()
    assert hint.width() <= 1366 - 24 and hint.height() <= 768 - 48, hint
    free = QApplication.primaryScreen().availableGeometry()
    assert editor.size().height() <= free.height()
    assert ProposalDraft(changes=()).kind == "clarification"


def test_enter_never_presses_a_button_and_cancel_asks_before_losing_text(qtbot, desk, monkeypatch):
    editor = _open(qtbot, desk, SECTION)
    editor.pages.setCurrentWidget(editor.evidence_page)
    editor.search_edit.setFocus()
    qtbot.keyClicks(editor.search_edit, "voting")
    qtbot.keyClick(editor.search_edit, Qt.Key.Key_Return)
    assert editor.isVisible()
    editor.reject()  # nothing typed in the proposal yet: closes without asking
    assert not editor.isVisible()
    editor = _open(qtbot, desk, SECTION)
    editor.title_edit.setText("Something")
    asked = []
    monkeypatch.setattr(Dialogs, "confirm", classmethod(lambda cls, parent, q: asked.append(q) or False))
    qtbot.keyClick(editor, Qt.Key.Key_Escape)
    assert editor.isVisible() and "lose what you wrote" in asked[0]
    monkeypatch.setattr(Dialogs, "confirm", classmethod(lambda cls, parent, q: True))
    editor.reject()
    assert not editor.isVisible()


def test_the_editors_alt_keys_do_not_clash(qtbot, desk):
    from PySide6.QtWidgets import QAbstractButton, QLabel

    editor = _open(qtbot, desk, SECTION)
    texts = [w.text() for w in editor.findChildren(QAbstractButton) + editor.findChildren(QLabel)]
    texts += [editor.pages.tabText(i) for i in range(editor.pages.count())]
    keys = [t[t.index("&") + 1].lower() for t in texts if "&" in t and not t.startswith("<")]
    assert len(keys) == len(set(keys)) and {"t", "i", "k", "x", "e", "a", "r", "h", "s"} <= set(keys)


def test_enter_on_a_hit_opens_its_conversation_and_the_words_found_are_marked(qtbot, desk):
    editor = _open(qtbot, desk, SECTION)
    editor.pages.setCurrentWidget(editor.evidence_page)
    with qtbot.waitSignal(editor.searched, timeout=20000) as blocker:
        editor.search_edit.setText("ridiculous")
        editor.run_search()
    hit = blocker.args[0].hits[0]
    assert hit.highlights
    editor.results.grab()  # paints every row through the snippet delegate
    editor.results.setFocus()
    editor.results.setCurrentIndex(editor.results_model.index(0, 2))
    asked = []
    editor.conversation_requested.connect(lambda *args: asked.append(args))
    with qtbot.waitSignal(desk.conversation_dialog.view.loaded, timeout=20000):
        qtbot.keyClick(editor.results, Qt.Key.Key_Return)
    assert asked == [(hit.conversation_id, hit.id)]
    assert desk.conversation_dialog.isVisible()


def test_edit_proposal_saves_a_new_revision_and_the_desk_shows_it(qtbot, desk, demo_workspace):
    """Proposal ▸ Edit proposal…: the chosen proposal in the editor; saving makes revision 2 (issue 13)."""
    from reviewer import governance, revisions

    if desk.current_proposal != SUPPORTED:
        with qtbot.waitSignal(desk.detail_shown, timeout=20000):
            assert desk.queue.select(SUPPORTED)
    qtbot.waitUntil(lambda: desk._shown_view is not None and desk._shown_view.proposal.id == SUPPORTED, timeout=20000)
    desk.set_reviewer("Jonas Lindqvist")  # a member of the board (the author, Lena, is not one here)
    desk.edit_proposal_action.trigger()
    editor = desk.proposal_editor
    qtbot.waitUntil(lambda: editor.check is not None, timeout=20000)
    assert editor.windowTitle().startswith("Edit proposal (revision 2)") and editor.pages.count() == 1
    assert editor.save_button.text() == "&Save as revision 2"
    section = next(iter(editor.editors))
    _type_at_end(qtbot, editor.editors[section], "Say so plainly.")
    _checked(qtbot, editor)
    editor.intent_edit.setPlainText("Said more plainly, after the discussion.")
    _checked(qtbot, editor)
    assert editor.check.ok and editor.save_button.isEnabled(), (editor.check.problems, editor.message.text())
    with qtbot.waitSignal(editor.saved, timeout=20000) as blocker:
        editor.save_button.click()
    revision = blocker.args[0]
    assert (revision.revision, revision.kind, revision.created_by) == (2, "edit", "Jonas Lindqvist")
    assert revision.sections[0].new_text.endswith("Say so plainly.")
    qtbot.waitUntil(lambda: "Revision 2 · edited by Jonas Lindqvist" in desk.proposal_header.text(), timeout=20000)
    store = Store.open(demo_workspace / DB_FILE)
    try:
        kept = revisions.revisions(store, SUPPORTED)
        assert [r.kind for r in kept] == ["written", "edit"]
        assert governance.proposal_status(store, SUPPORTED).revision == 2
    finally:
        store.close()
