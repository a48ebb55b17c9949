"""The desk's evidence triage: the filter bar, labels in bulk on a multiple selection, and Proposal ▸ Undo labels."""

import unicodedata

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt

from reviewer.store import Store
from reviewer.triage import EvidenceFilter, triage_counts
from tests.datapaths import SPLIT_BY_COUNTRY
from tests.ui.test_evidence_view import _show, desk  # noqa: F401 - the fixture

pytestmark = pytest.mark.gui


def _folded(text):
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).lower()


def _filtered(qtbot, view, **fields):
    with qtbot.waitSignal(view.filtered, timeout=20000):
        view.set_filter(EvidenceFilter(**fields))


def test_the_filter_bar_narrows_the_lists_to_what_the_named_query_keeps(qtbot, desk, demo_workspace):  # noqa: F811
    _show(qtbot, desk, SPLIT_BY_COUNTRY)
    whole = desk.summary.counts["supports"]
    assert desk.country_box.count() > 2 and desk.language_box.findData("es") > 0
    _filtered(qtbot, desk, country="Brazil", language="pt", sort="divisive")
    store = Store.open(demo_workspace / "reviewer.db")
    try:
        expected = triage_counts(store, SPLIT_BY_COUNTRY, EvidenceFilter(country="Brazil", language="pt",
                                                                        sort="divisive"))
    finally:
        store.close()
    model = desk.models["supports"]
    model.fetch_all()
    assert 0 < len(model.rows) == expected.counts["supports"] < whole
    assert all(r.demographics["country_of_residence"] == "Brazil" for r in model.rows)
    assert [r.key for r in model.rows] == sorted(r.key for r in model.rows)
    assert f"({expected.counts['supports']:,} of {whole:,})" in desk.lists["supports"].title.text()
    # A search (the index is brought up to date on the lane first), then back to the whole lists.
    desk.set_filter(EvidenceFilter())
    qtbot.waitUntil(lambda: desk.triage is None and desk.summary is not None, timeout=20000)
    desk.search_box.setText("explicit")
    with qtbot.waitSignal(desk.filtered, timeout=20000):
        qtbot.keyClick(desk.search_box, Qt.Key.Key_Return)
    model.fetch_all()
    assert model.rows and all("explicit" in _folded(r.text) for r in model.rows)  # "explícita" too
    assert "matching &#x27;explicit&#x27;" in desk.message.text()


def test_a_capped_search_shows_its_counts_as_floors_and_says_why(qtbot, desk, monkeypatch):  # noqa: F811
    from reviewer import triage

    monkeypatch.setattr(triage, "SEARCH_LIMIT", 3)
    monkeypatch.setattr(triage, "OWN_LINKS_LIMIT", 0)  # more links than are looked up one by one
    _show(qtbot, desk, SPLIT_BY_COUNTRY)
    whole = desk.summary.counts["supports"]
    _filtered(qtbot, desk, search="the")
    assert desk.triage is not None and desk.triage.capped and desk.triage.shown <= 3
    shown = desk.triage.counts["supports"]
    assert f"(at least {shown:,} of {whole:,})" in desk.lists["supports"].title.text()
    assert "More than 3 justifications in the crowd hold these words" in desk.message.text()
    monkeypatch.setattr(triage, "SEARCH_LIMIT", 1_000_000)
    _filtered(qtbot, desk, search="explicit")
    assert not desk.triage.capped and "at least" not in desk.lists["supports"].title.text()


def test_several_selected_are_labelled_in_one_operation_and_undone_with_ctrl_z(qtbot, desk, demo_workspace):  # noqa: F811
    _show(qtbot, desk, SPLIT_BY_COUNTRY)
    desk.set_reviewer("Amara Okafor")
    before = dict(desk.summary.counts)
    view = desk.lists["supports"].view
    view.setFocus()
    model = desk.models["supports"]
    qtbot.waitUntil(lambda: model.rowCount() >= 3, timeout=20000)
    view.setCurrentIndex(model.index(0, 0))
    for row in (1, 2):
        view.selectionModel().select(model.index(row, 0), QItemSelectionModel.SelectionFlag.Select)
    chosen = [r.justification_id for r in desk.selected_rows()]
    assert len(chosen) == 3
    with qtbot.waitSignal(desk.bulk_saved, timeout=20000) as saved:
        qtbot.keyClick(view, Qt.Key.Key_R)
    qtbot.waitUntil(lambda: desk.summary is not None and desk.summary.counts["refutes"] == before["refutes"] + 3,
                    timeout=20000)
    assert "Undo labels (Ctrl+Z)" in desk.message.text()
    store = Store.open(demo_workspace / "reviewer.db")
    try:
        assert store.db.execute("SELECT count(*) FROM audit_events WHERE action = 'stance.bulk'").fetchone()[0] == 1
    finally:
        store.close()
    with qtbot.waitSignal(desk.undone, timeout=20000) as undone:
        desk.undo_labels()
    assert undone.args == saved.args
    qtbot.waitUntil(lambda: desk.summary is not None and desk.summary.counts == before, timeout=20000)


def test_ctrl_z_in_the_window_undoes_the_latest_bulk_labelling(qtbot, open_desk, demo_workspace):
    win = open_desk(demo_workspace, "Amara Okafor")
    evidence = win.evidence_view
    with qtbot.waitSignal(evidence.loaded, timeout=20000):
        evidence.set_proposal(SPLIT_BY_COUNTRY)
    model = evidence.models["supports"]
    qtbot.waitUntil(lambda: model.rowCount() >= 2, timeout=20000)
    before = dict(evidence.summary.counts)
    view = evidence.lists["supports"].view
    view.setFocus()
    view.setCurrentIndex(model.index(0, 0))
    view.selectionModel().select(model.index(1, 0), QItemSelectionModel.SelectionFlag.Select)
    with qtbot.waitSignal(evidence.bulk_saved, timeout=20000):
        qtbot.keyClick(view, Qt.Key.Key_N)
    assert win.undo_labels_action.shortcut().toString() == "Ctrl+Z"
    with qtbot.waitSignal(evidence.undone, timeout=20000):
        win.undo_labels_action.trigger()
    qtbot.waitUntil(lambda: evidence.summary is not None and evidence.summary.counts == before, timeout=20000)
    with qtbot.waitSignal(evidence.failed, timeout=20000) as refused:
        win.undo_labels_action.trigger()
    assert "no bulk labelling left to undo" in str(refused.args[0])


def test_the_group_box_appears_with_opinion_groups_and_narrows_the_lists_to_a_group(qtbot, desk, demo_workspace):  # noqa: F811
    from reviewer.group_support import proposal_groups
    from reviewer.groups import compute_groups

    _show(qtbot, desk, SPLIT_BY_COUNTRY)
    assert desk.group_box.isHidden()  # no opinion groups found yet
    store = Store.open(demo_workspace / "reviewer.db")
    try:
        compute_groups(store, "ca1", actor="Amara Okafor")
        split = {g.group: g for g in proposal_groups(store, SPLIT_BY_COUNTRY, fields=[]).opinion}
    finally:
        store.close()
    _show(qtbot, desk, SPLIT_BY_COUNTRY)
    assert not desk.group_box.isHidden() and desk.group_box.accessibleName() == "Group"
    titles = [desk.group_box.itemText(i) for i in range(desk.group_box.count())]
    assert titles[0] == "Any group" and titles[1].startswith("Group A (")
    # Choose group A with the keyboard: the lists hold its members' links, as the group split counts them.
    desk.group_box.setFocus()
    with qtbot.waitSignal(desk.filtered, timeout=20000):
        qtbot.keyClick(desk.group_box, Qt.Key.Key_Down)
    assert desk.current_filter().group == "opinion:A"
    qtbot.waitUntil(lambda: desk.triage is not None, timeout=20000)
    assert desk.triage.counts["supports"] == split["A"].supports
    assert desk.triage.counts["refutes"] == split["A"].refutes
    assert f"({split['A'].supports:,} of " in desk.lists["supports"].title.text()
    # A group the proposal lacks (chosen for another one) stays chosen, named as the box names groups.
    desk.group_box.blockSignals(True)
    desk._select_choice(desk.group_box, "opinion:J")
    desk.group_box.blockSignals(False)
    assert desk.group_box.currentText() == "Group J (0)"


def test_labelling_under_a_filter_goes_on_from_the_same_place_in_the_list(qtbot, desk, demo_workspace):  # noqa: F811
    _show(qtbot, desk, SPLIT_BY_COUNTRY)
    desk.set_reviewer("Amara Okafor")
    _filtered(qtbot, desk, source="rule")  # the rule's labels only: a person's label takes a link out
    model, view = desk.models["supports"], desk.lists["supports"].view
    qtbot.waitUntil(lambda: model.rowCount() >= 3, timeout=20000)
    view.setFocus()
    view.setCurrentIndex(model.index(1, 0))
    labelled, following = model.rows[1].justification_id, model.rows[2].justification_id
    with qtbot.waitSignal(desk.loaded, timeout=20000):  # saved, then the filtered lists read again
        qtbot.keyClick(view, Qt.Key.Key_S)
    assert model.row_of(labelled) < 0  # a person's label now: the rule filter no longer keeps it
    qtbot.waitUntil(lambda: view.currentIndex().isValid(), timeout=5000)
    assert view.currentIndex().row() == 1 and model.rows[1].justification_id == following
    assert view.hasFocus() and desk.selected_rows()[0].justification_id == following
