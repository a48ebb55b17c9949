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
    assert panel.duty_title.text() == "Answer the 6 groups it goes against (scroll for all):"  # four lines show
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


def test_the_split_shown_does_not_change_the_groups_owed(qtbot, desk, demo_workspace):
    """The loophole closed: showing the age split, the reviewer still owes the countries that clearly refute."""
    panel, evidence = desk.decision_panel, desk.evidence_view
    choose(qtbot, desk, SPLIT_BY_COUNTRY)
    qtbot.waitUntil(lambda: evidence.field_combo.findData("age") >= 0, timeout=20000)
    with qtbot.waitSignal(evidence.split_shown, timeout=20000):
        evidence.set_field("age")
    _pick(qtbot, panel, "adopt")
    owed = [f"{COUNTRY}={c}" for c in ("Brazil", "India", "Kenya", "Nigeria", "Philippines", "United States")]
    assert list(panel.answers) == owed and panel.duty_box.isVisible()
    panel.rationale.setPlainText("Adults may choose.")
    qtbot.keyClick(panel.rationale, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert "Answer each group owed an answer: Brazil, India" in panel.message.text()
    assert _decisions(demo_workspace, SPLIT_BY_COUNTRY) == []
    for field in panel.answers.values():
        field.setText("The age check answers the concern.")
    with qtbot.waitSignal(panel.decision_saved, timeout=20000) as blocker:
        qtbot.keyClick(panel.rationale, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    decision = blocker.args[0].decision
    assert decision.evidence["split_by"] == "age" and set(decision.responses) == set(owed)


def test_the_panel_lists_the_groups_of_every_duty_field_when_the_setting_changes(qtbot, desk, demo_workspace):
    from reviewer import operations
    from reviewer.duty import groups_owed

    panel = desk.decision_panel
    choose(qtbot, desk, SPLIT_BY_COUNTRY)
    _pick(qtbot, panel, "adopt")
    assert all(g.startswith(COUNTRY) for g in panel.answers)
    with qtbot.waitSignal(panel.lane.changed, timeout=20000):
        panel.lane.perform(lambda ws: operations.set_duty_fields(ws, "age,country_of_residence", actor="Amara Okafor"))
    store = Store.open(demo_workspace / DB_FILE)
    try:
        expected = groups_owed(store, SPLIT_BY_COUNTRY, "adopt")
    finally:
        store.close()
    ages = [g.id for g in expected if g.id.startswith("demographic:age=")]
    assert ages  # the demo's age bands that clearly refute it
    qtbot.waitUntil(lambda: list(panel.answers) == [g.id for g in expected], timeout=20000)
    # Groups from two fields: a heading names each field, the lines under it its values.
    roles = panel.duty_form.ItemRole
    labels = [(panel.duty_form.itemAt(row, roles.SpanningRole) or panel.duty_form.itemAt(row, roles.LabelRole))
              .widget().text() for row in range(panel.duty_form.rowCount())]
    countries = len(expected) - len(ages)
    assert labels[0] == "Age:" and labels[1].startswith(f"{ages[0].split('=')[1]}, ")
    assert labels[1 + len(ages)] == "Country of residence:" and len(labels) == len(expected) + 2
    assert "India, 0% support (0–7%):" in labels[2 + len(ages):] and countries == 6
    assert panel.duty_title.text() == f"Answer the {len(expected)} groups it goes against (scroll for all):"
    # Four lines show and the rest scroll; Tab into a line below brings it into view.
    scroll = panel.duty_scroll
    # New rows are shown by a queued call (QLayout shows a child added to a visible widget later): wait for it.
    qtbot.waitUntil(lambda: scroll.height() < scroll.widget().sizeHint().height()
                    and scroll.verticalScrollBar().maximum() > 0, timeout=5000)
    assert scroll.verticalScrollBar().value() == 0
    panel.answers[expected[-2].id].setFocus()
    qtbot.keyClick(panel.answers[expected[-2].id], Qt.Key.Key_Tab)
    last = panel.answers[expected[-1].id]
    assert last.hasFocus() and scroll.verticalScrollBar().value() > 0
    assert last.mapTo(scroll.viewport(), last.rect().bottomLeft()).y() <= scroll.viewport().height()
    # The message names the field of each group still unanswered, since two fields are owed.
    panel.rationale.setPlainText("Adults may choose.")
    qtbot.keyClick(panel.rationale, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert f"age: {ages[0].split('=')[1]}" in panel.message.text() and "country_of_residence: India" in panel.message.text()


def test_another_proposal_never_shows_or_asks_for_the_last_ones_groups(qtbot, desk):
    panel = desk.decision_panel
    choose(qtbot, desk, SPLIT_BY_COUNTRY)
    _pick(qtbot, panel, "adopt")
    assert panel.answers and panel.owed["adopt"]
    panel.set_proposal(MULTI_SECTION)  # its own groups are read on the lane: until then, none
    panel.findChild(type(panel.outcomes.buttons()[0]), "outcome_adopt").click()
    assert panel.owed == {} and panel.answers == {} and not panel.duty_box.isVisible()
    assert "Answer each group" not in panel._problem()
    qtbot.waitUntil(lambda: panel._owed_for == MULTI_SECTION, timeout=20000)
