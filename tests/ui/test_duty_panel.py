"""The duty to respond on the desk: the groups owed follow the outcome, and Record is refused until each is answered."""

import pytest
from PySide6.QtCore import Qt

from reviewer import governance
from reviewer.store import Store
from reviewer.workspace import DB_FILE
from tests.datapaths import MULTI_SECTION, SPLIT_BY_COUNTRY
from tests.ui.test_review_desk import choose

pytestmark = pytest.mark.gui
COUNTRY = "demographic:country_of_residence"


@pytest.fixture
def desk(open_desk, demo_workspace):
    return open_desk(demo_workspace, "Amara Okafor")


def _pick(qtbot, panel, outcome):
    panel.findChild(type(panel.outcomes.buttons()[0]), f"outcome_{outcome}").click()
    qtbot.waitUntil(lambda: panel._owed_for == panel.proposal_id, timeout=20000)


def _decisions(workspace, proposal_id):
    store = Store.open(workspace / DB_FILE)
    try:
        return governance.decisions_for(store, proposal_id)
    finally:
        store.close()


def test_the_groups_owed_follow_the_outcome_and_record_waits_for_each_answer(qtbot, desk, demo_workspace):
    panel = desk.decision_panel
    choose(qtbot, desk, SPLIT_BY_COUNTRY)
    _pick(qtbot, panel, "adopt")
    owed = [f"{COUNTRY}={c}" for c in ("Brazil", "India", "Kenya", "Nigeria", "Philippines", "United States")]
    assert list(panel.answers) == owed and panel.duty_box.isVisible()
    assert panel.duty_title.text() == "Answer the 6 groups it goes against:"
    assert "Adopting goes against 6 groups that clearly refute it" in panel.duty_title.toolTip()
    japan_like = panel.answers[f"{COUNTRY}=India"]
    assert japan_like.accessibleName() == "Answer to country_of_residence: India"
    assert "0% supporting" in japan_like.accessibleDescription()
    japan_like.setText("Typed for India.")
    _pick(qtbot, panel, "defer")
    assert panel.answers == {} and not panel.duty_box.isVisible()  # deferring owes nothing
    _pick(qtbot, panel, "set_aside")
    assert list(panel.answers) == [f"{COUNTRY}=United Kingdom"]
    assert "Setting aside goes against 1 group that clearly supports it" in panel.duty_title.toolTip()
    _pick(qtbot, panel, "adopt")
    assert panel.answers[f"{COUNTRY}=India"].text() == "Typed for India."  # kept across outcome changes

    # Record is refused, with a message naming the groups still unanswered; nothing is written.
    panel.rationale.setPlainText("Adults may choose; the platform's defaults protect the rest.")
    qtbot.keyClick(panel.rationale, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert "Answer each group owed an answer" in panel.message.text()
    assert "Brazil" in panel.message.text()
    assert "India" not in panel.message.text()
    assert _decisions(demo_workspace, SPLIT_BY_COUNTRY) == []
    for group_id, field in panel.answers.items():
        field.setText(f"To {group_id.split('=')[1]}: the age check answers the concern.")
    with qtbot.waitSignal(panel.decision_saved, timeout=20000) as blocker:
        qtbot.keyClick(panel.rationale, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    decision = blocker.args[0].decision
    assert set(decision.responses) == set(owed)
    (stored,) = _decisions(demo_workspace, SPLIT_BY_COUNTRY)
    assert stored.responses[f"{COUNTRY}=Kenya"] == "To Kenya: the age check answers the concern."
    # The history shows the answers in the decision's tooltip; the form is clear again.
    qtbot.waitUntil(lambda: panel.history_model.rowCount() == 1, timeout=5000)
    tip = panel.history_model.index(0, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert "Answers to the groups it went against" in tip and "To Kenya: the age check" in tip
    assert panel.answers == {} and not panel.duty_box.isVisible()


def test_the_domain_refuses_what_the_panel_let_through(qtbot, desk, demo_workspace):
    """The panel's check is a courtesy: the domain checks again in the decision's transaction."""
    panel = desk.decision_panel
    choose(qtbot, desk, MULTI_SECTION)
    _pick(qtbot, panel, "set_aside")
    assert list(panel.answers) == [f"{COUNTRY}=United Kingdom", f"{COUNTRY}=United States"]
    panel.reason.setCurrentIndex(1)
    panel.rationale.setPlainText("Not in this release.")
    for field in panel.answers.values():
        field.setText("We heard you.")
    panel.owed = {}  # as if the panel had read nothing owed: the domain still refuses
    panel.answers[f"{COUNTRY}=United States"].setText("   ")
    with qtbot.waitSignal(panel.failed, timeout=20000):
        qtbot.keyClick(panel.rationale, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert "owes 1 group an answer" in panel.message.text() and "United States" in panel.message.text()
    assert _decisions(demo_workspace, MULTI_SECTION) == []
