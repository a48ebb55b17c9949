"""The review desk with a revised proposal: the revision named, votes on the earlier text marked, confirmed
with one button, and any two revisions compared."""

import pytest

from reviewer import governance, operations
from reviewer.workspace import Workspace
from tests.datapaths import ROOT_LEVEL
from tests.ui.test_review_desk import choose, desk  # noqa: F401 - the desk fixture

pytestmark = pytest.mark.gui


def _revise_outside_the_app(path, **fields):
    with Workspace.open(path) as workspace:
        return operations.revise_proposal(workspace, ROOT_LEVEL, actor="Jonas Lindqvist", **fields).value


def test_a_vote_on_an_earlier_text_is_marked_and_confirmed_from_the_desk(qtbot, desk, demo_workspace):  # noqa: F811
    with Workspace.open(demo_workspace) as workspace:
        operations.decide(workspace, ROOT_LEVEL, "adopt", "The crowd supports it.", actor="Amara Okafor")
        section = workspace.store.get_proposal(ROOT_LEVEL).sections[0]
    _revise_outside_the_app(demo_workspace, note="Tighter wording.",
                            changes=[(section.section_id, section.new_text.rstrip("\n") + "\n\nOne more sentence.\n")])
    with qtbot.waitSignals([desk.detail_shown, desk.decision_panel.loaded], timeout=20000):
        desk.reload_everything()
    if desk.current_proposal != ROOT_LEVEL:  # the reload shows the proposal chosen before it
        choose(qtbot, desk, ROOT_LEVEL)
    panel = desk.decision_panel
    header = desk.proposal_header.text()
    assert "Revision 2 · edited by Jonas Lindqvist" in header and "Tighter wording." in header
    status = panel.status_label.text()
    assert "revision 2" in status and "on an earlier text</a>, to confirm: Amara Okafor: Adopt (revision 1)" in status
    assert "glossary:on_earlier_text" in status  # the words lead to the glossary
    history = panel.history_model
    assert history.index(0, 4).data() == "1 (earlier text)"
    assert "an earlier text" in history.index(0, 0).data(0x03)  # ToolTipRole
    assert panel.confirm_button.isVisible() and panel.confirm_button.text() == "&Confirm my adopt on revision 2"

    # Any two revisions compared, from the box above the diff.
    diff = desk.diff_view
    assert diff.compare_box.isVisible() and diff.compare_box.itemText(1) == "Revision 1 → 2"
    diff.compare_revisions(1, 2)
    shown = diff.browser.toPlainText()
    assert "Revision 1" in shown and "Revision 2" in shown and "One more sentence." in shown
    diff.compare_box.setCurrentIndex(0)
    assert "Current text" in diff.browser.toPlainText()

    with qtbot.waitSignal(panel.decision_saved, timeout=20000):
        panel.confirm_button.click()
    qtbot.waitUntil(lambda: not panel.confirm_button.isVisible(), timeout=20000)
    assert history.index(0, 4).data() == "2"
    with Workspace.open(demo_workspace) as workspace:
        status = governance.proposal_status(workspace.store, ROOT_LEVEL)
        assert status.votes == {"Amara Okafor": "adopt"} and status.stale == {}


def test_a_decision_on_a_text_revised_meanwhile_is_refused_and_says_so(qtbot, desk, demo_workspace):  # noqa: F811
    if desk.current_proposal != ROOT_LEVEL:
        choose(qtbot, desk, ROOT_LEVEL)
    panel = desk.decision_panel
    _revise_outside_the_app(demo_workspace, title="Retitled while you read")  # another machine, say
    panel.outcomes.buttons()[0].setChecked(True)
    panel.rationale.setPlainText("Supported across groups.")
    with qtbot.waitSignal(panel.failed, timeout=20000):
        panel.save_button.click()
    assert "was revised (now revision 2) since you read revision 1" in panel.message.text()
    assert panel.rationale.toPlainText() == "Supported across groups."  # nothing typed is lost
    with Workspace.open(demo_workspace) as workspace:
        assert governance.decisions_for(workspace.store, ROOT_LEVEL) == []
