"""The review desk on the demo workspace: queue, filters, keys, decisions."""

import pytest
from PySide6.QtCore import QEvent, QModelIndex, QObject, QPoint, QRect, Qt
from PySide6.QtGui import QRegion

from reviewer import governance
from reviewer.store import Store
from reviewer.workspace import DB_FILE
from tests.datapaths import (
    DEMO_TITLES,
    REFUTED,
    ROOT_LEVEL,
    SPLIT_BY_COUNTRY,
    SUPPORTED,
    USER_LEVEL,
)
from ui.labels import plain_tooltip
from ui.models.queue import COL_STATUS, STATUS_LABELS

pytestmark = pytest.mark.gui

N = len(DEMO_TITLES)  # five proposals in the demo


@pytest.fixture
def desk(open_desk, demo_workspace):
    return open_desk(demo_workspace, "Amara Okafor")


def choose(qtbot, desk, proposal_id):
    with qtbot.waitSignals([desk.detail_shown, desk.decision_panel.loaded], timeout=20000):
        assert desk.queue.select(proposal_id)


def _relabel_a_supporting_link_outside_the_app(workspace):
    """Another process relabels one of USER_LEVEL's supporting links as refuting (its evidence changes)."""
    from reviewer.evidence import evidence_links, set_stance

    store = Store.open(workspace / DB_FILE)
    try:
        (link,) = evidence_links(store, USER_LEVEL, stance="supports", limit=1)
        set_stance(store, USER_LEVEL, link.justification_id, "refutes", "Jonas Lindqvist")
    finally:
        store.close()


def status_text(desk, proposal_id):
    row = desk.queue.model.row_of(proposal_id)
    return desk.queue.model.index(row, COL_STATUS).data()


def decide_in_panel(qtbot, desk, outcome, rationale, reason_index=1):
    panel = desk.decision_panel
    panel.findChild(type(panel.outcomes.buttons()[0]), f"outcome_{outcome}").click()
    if outcome != "adopt":
        panel.reason.setCurrentIndex(reason_index)
    panel.rationale.setPlainText(rationale)
    answer_owed(qtbot, panel)
    with qtbot.waitSignal(panel.decision_saved, timeout=20000) as blocker:
        qtbot.keyClick(panel.rationale, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    return blocker.args[0]


def answer_owed(qtbot, panel):
    """Answer each group the chosen outcome goes against (the duty to respond), once the panel has read them."""
    qtbot.waitUntil(lambda: panel._owed_for == panel.proposal_id, timeout=20000)
    for field in panel.answers.values():
        field.setText("We heard this group; the rationale answers its concern.")


def test_queue_shows_every_proposal_with_level_status_and_counts(desk, demo_workspace):
    store = Store.open(demo_workspace / DB_FILE)
    try:
        assert len(desk.queue.model.ids) == N == len(store.proposal_ids())
        from reviewer.evidence import evidence_summary

        row = desk.queue.model.queue_row(desk.queue.model.row_of(SPLIT_BY_COUNTRY))
        counts = evidence_summary(store, SPLIT_BY_COUNTRY).counts
        assert (row.supports, row.refutes, row.no_comment) == (counts["supports"], counts["refutes"], counts["no_comment"])
        assert desk.queue.model.queue_row(desk.queue.model.row_of(ROOT_LEVEL)).level == "root"
        assert desk.queue.model.queue_row(desk.queue.model.row_of(USER_LEVEL)).level == "user"
    finally:
        store.close()


def test_filter_by_text_and_by_each_field(qtbot, desk):
    proxy = desk.queue.proxy
    qtbot.keyClicks(desk.queue.search, "erotica verified")
    assert proxy.rowCount() == 1
    assert proxy.data(proxy.index(0, 1)) == DEMO_TITLES[SPLIT_BY_COUNTRY]
    desk.queue.search.clear()
    assert proxy.rowCount() == N
    kinds = desk.queue.filters["kinds"]
    kinds.setCurrentIndex(kinds.findData("principle"))
    assert proxy.rowCount() == 3  # steamy writing, tailored political content, erotica for adults
    levels = desk.queue.filters["levels"]
    levels.setCurrentIndex(levels.findData("user"))
    assert proxy.rowCount() == 0  # the one user-level proposal is a clarification
    kinds.setCurrentIndex(kinds.findData("clarification"))
    assert proxy.rowCount() == 1 and proxy.data(proxy.index(0, 1)) == DEMO_TITLES[USER_LEVEL]
    kinds.setCurrentIndex(0)
    levels.setCurrentIndex(0)
    origins = desk.queue.filters["origins"]
    origins.setCurrentIndex(origins.findData("automated-single"))
    assert proxy.rowCount() == 1
    assert "0 of" not in desk.queue.count_label.text() and f"1 of {N}" in desk.queue.count_label.text()


def test_filter_by_evidence(qtbot, desk):
    proxy, model = desk.queue.proxy, desk.queue.model
    combo = desk.queue.evidence_filter
    every = [model.queue_row(r) for r in range(model.rowCount())]

    def shown():
        return {proxy.index(r, 1).data() for r in range(proxy.rowCount())}

    combo.setCurrentIndex(combo.findData("leans_refuting"))
    leaning = {r.title for r in every if r.refutes > r.supports}
    assert shown() == leaning and 0 < len(leaning) < len(every)
    assert DEMO_TITLES[REFUTED] in shown() and DEMO_TITLES[SUPPORTED] not in shown()
    combo.setCurrentIndex(combo.findData("none"))
    assert proxy.rowCount() == 0  # every demo proposal has evidence
    assert f"0 of {N}" in desk.queue.count_label.text()
    combo.setCurrentIndex(combo.findData("has_supports"))
    assert proxy.rowCount() == N
    combo.setCurrentIndex(0)
    assert proxy.rowCount() == N


def test_sort_by_supports_column(desk):
    from ui.models.queue import COL_SUP

    desk.queue.table.sortByColumn(COL_SUP, Qt.SortOrder.DescendingOrder)
    values = [desk.queue.proxy.index(r, COL_SUP).data() for r in range(desk.queue.proxy.rowCount())]
    assert values == sorted(values, reverse=True) and len(values) == N


def test_keyboard_next_previous_and_jump_to_decision(qtbot, desk):
    first = desk.current_proposal
    with qtbot.waitSignal(desk.detail_shown, timeout=20000):
        qtbot.keyClick(desk, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
    second = desk.current_proposal
    assert second != first and second == desk.queue.model.ids[1]
    with qtbot.waitSignal(desk.detail_shown, timeout=20000):
        qtbot.keyClick(desk, Qt.Key.Key_Up, Qt.KeyboardModifier.AltModifier)
    assert desk.current_proposal == first
    qtbot.keyClick(desk, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert desk.decision_panel.isAncestorOf(desk.focusWidget())


def test_empty_rationale_is_rejected_and_nothing_is_written(qtbot, desk, demo_workspace):
    choose(qtbot, desk, USER_LEVEL)
    panel = desk.decision_panel
    panel.findChild(type(panel.outcomes.buttons()[0]), "outcome_adopt").click()
    panel.rationale.setPlainText("   \n ")
    panel.save_button.click()
    assert "rationale" in panel.message.text()
    qtbot.wait(200)
    store = Store.open(demo_workspace / DB_FILE)
    try:
        assert store.counts()["decisions"] == 0
    finally:
        store.close()


def test_each_kind_of_decision_updates_the_queue_at_once(qtbot, desk, demo_workspace):
    # User level needs one reviewer: each decision is final at once.
    choose(qtbot, desk, USER_LEVEL)
    result = decide_in_panel(qtbot, desk, "defer", "Needs a study of how the new wording reads across cultures.")
    assert result.status.status == "deferred" and result.decision.reason_category == "needs-research"
    qtbot.waitUntil(lambda: status_text(desk, USER_LEVEL) == STATUS_LABELS["deferred"], timeout=5000)
    # The status under the proposal's title follows (it said "Open" until the proposal was chosen again).
    qtbot.waitUntil(lambda: f'"glossary:deferred">{STATUS_LABELS["deferred"]}</a></p>' in desk.proposal_header.text(),
                    timeout=5000)  # the status word, a link to its glossary entry
    result = decide_in_panel(qtbot, desk, "set_aside", "A third of the crowd refutes it; too risky as written.", 3)
    assert result.status.status == "set_aside" and result.decision.reason_category == "risk"
    qtbot.waitUntil(lambda: status_text(desk, USER_LEVEL) == STATUS_LABELS["set_aside"], timeout=5000)
    result = decide_in_panel(qtbot, desk, "adopt", "Revisited with the new study: adopt.")
    assert result.status.status == "adopted"
    qtbot.waitUntil(lambda: status_text(desk, USER_LEVEL) == STATUS_LABELS["adopted"], timeout=5000)
    qtbot.waitUntil(lambda: desk.decision_panel.history_model.rowCount() == 3, timeout=5000)
    assert desk.decision_panel.history_model.decisions[0].outcome == "adopt"  # newest first
    # Root level needs two reviewers: one adoption leaves it pending, visibly.
    choose(qtbot, desk, ROOT_LEVEL)
    result = decide_in_panel(qtbot, desk, "adopt", "The crowd supports allowing political content for broad audiences.")
    assert result.status.status == "pending"
    qtbot.waitUntil(lambda: status_text(desk, ROOT_LEVEL) == "Pending (1/2)", timeout=5000)
    store = Store.open(demo_workspace / DB_FILE)
    try:
        assert [d.outcome for d in governance.decisions_for(store, USER_LEVEL)] == ["defer", "set_aside", "adopt"]
        actions = [r[0] for r in store.db.execute("SELECT action FROM audit_events WHERE action LIKE 'decision.%'")]
        assert len(actions) == 4
    finally:
        store.close()


def test_a_member_without_the_reviewer_role_is_told_before_writing(qtbot, desk, demo_workspace):
    desk.set_reviewer("Wei Chen")  # auditor
    choose(qtbot, desk, REFUTED)  # not the first row, which is already selected
    panel = desk.decision_panel
    # Before any rationale is typed: Record is off, and the reason is shown beside it.
    assert not panel.save_button.isEnabled()
    assert "reviewer role" in panel.message.text() and "auditor" in panel.message.text()
    assert panel.save_button.toolTip() == plain_tooltip(panel.message.text())  # shown literally
    panel.findChild(type(panel.outcomes.buttons()[0]), "outcome_adopt").click()
    panel.rationale.setPlainText("Looks right to me.")
    qtbot.keyClick(panel.rationale, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.wait(200)
    assert status_text(desk, REFUTED) == STATUS_LABELS["open"]
    # A reviewer may decide at once.
    desk.set_reviewer("Amara Okafor")
    assert panel.save_button.isEnabled() and panel.message.text() == ""


def test_a_name_that_is_not_a_member_is_refused(qtbot, desk, demo_workspace):
    desk.set_reviewer("Mallory")
    choose(qtbot, desk, REFUTED)
    panel = desk.decision_panel
    assert not panel.save_button.isEnabled()
    assert "Mallory is not a member" in panel.message.text()
    store = Store.open(demo_workspace / DB_FILE)
    try:
        assert governance.decisions_for(store, REFUTED) == []
    finally:
        store.close()


def test_who_is_deciding_is_chosen_from_the_members_with_their_roles(qtbot, desk, monkeypatch):
    from ui.dialogs import Dialogs

    offered = []

    def ask_item(_parent, _title, _label, items, current=0):
        offered.extend(items)
        return next(i for i, label in enumerate(items) if label.startswith("Jonas Lindqvist"))

    monkeypatch.setattr(Dialogs, "ask_item", classmethod(lambda cls, *a, **k: ask_item(*a, **k)))
    desk.on_set_reviewer()
    qtbot.waitUntil(lambda: desk.reviewer == "Jonas Lindqvist", timeout=5000)
    assert "Priya Raman — editor, reviewer" in offered and "Wei Chen — auditor" in offered
    assert len(offered) == 5 and desk.decision_panel.reviewer == "Jonas Lindqvist"


def test_editor_and_audit_tabs_are_there_and_refresh_when_shown(qtbot, desk):
    titles = [desk.tabs.tabText(i) for i in range(desk.tabs.count())]
    assert titles[2:] == ["Editor", "Audit", "Agreement", "Candidates", "Groups"]
    with qtbot.waitSignal(desk.auditor_view.model.modelReset, timeout=20000, raising=False):
        desk.tabs.setCurrentWidget(desk.auditor_view)
    qtbot.waitUntil(lambda: desk.auditor_view.model.rowCount() > 0, timeout=20000)


def test_agreement_tab_leads_to_a_proposal_on_the_desk(qtbot, desk):
    desk.tabs.setCurrentWidget(desk.agreement_view)
    desk.queue.search.setText("no such words")  # the proposal is filtered out: the jump must clear it
    with qtbot.waitSignal(desk.detail_shown, timeout=20000):
        desk.agreement_view.proposal_requested.emit(ROOT_LEVEL)
    assert desk.tabs.currentIndex() == 0 and desk.current_proposal == ROOT_LEVEL
    assert desk.queue.search.text() == ""


def test_import_and_model_settings_open_from_the_menus(qtbot, desk):
    from ui.views.import_dialog import ImportDialog
    from ui.views.model_settings import ModelSettingsDialog

    desk.on_import()
    dialog = desk.findChild(ImportDialog)
    assert dialog is not None and dialog.isVisible()
    dialog.close()
    desk.on_model_settings()
    settings = desk.findChild(ModelSettingsDialog)
    assert settings is not None and settings.isVisible()
    settings.close()


def test_evidence_beside_the_diff_and_a_stance_change_updates_the_queue(qtbot, desk, demo_workspace):
    evidence = desk.evidence_view
    with qtbot.waitSignal(evidence.loaded, timeout=20000):
        desk.queue.select(SPLIT_BY_COUNTRY)
    row = desk.queue.model.queue_row(desk.queue.model.row_of(SPLIT_BY_COUNTRY))
    supports_before = row.supports
    view = evidence.lists["refutes"].view
    qtbot.waitUntil(lambda: view.model().rowCount() > 0, timeout=20000)
    view.setFocus()
    view.setCurrentIndex(view.model().index(0, 0))
    with qtbot.waitSignal(evidence.stance_changed, timeout=20000):
        qtbot.keyClick(view, Qt.Key.Key_S)
    qtbot.waitUntil(
        lambda: desk.queue.model.queue_row(desk.queue.model.row_of(SPLIT_BY_COUNTRY)).supports == supports_before + 1,
        timeout=20000,
    )


def test_opening_a_justification_shows_its_conversation(qtbot, desk):
    evidence = desk.evidence_view
    with qtbot.waitSignal(evidence.loaded, timeout=20000):
        desk.queue.select(SPLIT_BY_COUNTRY)
    view = evidence.lists["supports"].view
    qtbot.waitUntil(lambda: view.model().rowCount() > 0, timeout=20000)
    view.setFocus()
    view.setCurrentIndex(view.model().index(0, 0))
    with qtbot.waitSignal(desk.conversation_dialog.view.loaded, timeout=20000):
        qtbot.keyClick(view, Qt.Key.Key_Return)
    assert desk.conversation_dialog.isVisible()
    detail = desk.conversation_dialog.view.detail
    assert sorted(detail.responses) == ["A", "B", "C", "D"]
    assert detail.participant is not None and detail.rankers
    text = desk.conversation_dialog.view.browser.toPlainText()
    user_turn = next(content for role, content in detail.prompt if role == "user")
    assert " ".join(user_turn.split()[:6]) in " ".join(text.split())


class _WindowEvents(QObject):
    """What reaches the window and its tab widget while installed: painted areas, layout requests."""

    def __init__(self) -> None:
        super().__init__()
        self.painted = QRegion()
        self.layouts: list[str] = []

    def eventFilter(self, obj, event):  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Paint:
            self.painted += event.region().translated(obj.mapTo(obj.window(), QPoint(0, 0)))
        elif event.type() == QEvent.Type.LayoutRequest:
            self.layouts.append(type(obj).__name__)
        return False


def test_scrolling_the_evidence_repaints_the_list_not_the_window(qtbot, desk):
    """Each scroll step, pages read on the way included, paints inside the list and lays out nothing above it.

    bench_desk's slow scroll events are named "UpdateRequest to MainWindow": every repaint is
    delivered to the window that way, however small. Measured, they painted the list and its scroll
    bar only; this keeps it so (a label or size hint changing as pages arrive would lay out and
    repaint the whole desk on each one).
    """
    evidence = desk.evidence_view
    with qtbot.waitSignal(evidence.split_shown, timeout=20000):
        desk.queue.select(SPLIT_BY_COUNTRY)
    stance_list = evidence.lists["supports"]
    view, model = stance_list.view, stance_list.model
    qtbot.waitUntil(lambda: model.rowCount() > 0, timeout=20000)
    qtbot.wait(200)  # the selection's own painting is done
    seen = _WindowEvents()
    for widget in (desk, desk.tabs):
        widget.installEventFilter(seen)
    bar = view.verticalScrollBar()
    pages = 0
    while bar.value() < bar.maximum() or model.canFetchMore(QModelIndex()):
        rows = model.rowCount()
        bar.setValue(bar.value() + max(bar.pageStep(), 1))
        qtbot.waitUntil(lambda rows=rows: model.rowCount() > rows or not model.reading, timeout=20000)
        qtbot.wait(10)
        pages += model.rowCount() > rows
    assert pages >= 1  # the list read more while it scrolled
    list_area = QRect(stance_list.mapTo(desk, QPoint(0, 0)), stance_list.size())
    assert not seen.painted.isEmpty()  # the scroll bar's strip is painted through the parents
    assert (seen.painted - QRegion(list_area)).isEmpty(), seen.painted.boundingRect()
    assert seen.layouts == []


def test_queue_counts_stay_in_view_beside_the_title(qtbot, desk):
    from ui.main_window import QueuePanel
    from ui.models.queue import COL_NC, COL_TITLE

    panel = QueuePanel()
    qtbot.addWidget(panel)
    panel.set_rows([desk.queue.model.queue_row(r) for r in range(desk.queue.model.rowCount())])
    panel.show()
    table, header = panel.table, panel.table.horizontalHeader()
    titles = []
    for width in (900, 520):
        panel.resize(width, 500)
        qtbot.waitUntil(lambda w=width: panel.width() == w, timeout=5000)
        qtbot.wait(20)  # the fit after new rows runs from a zero timer
        right = header.sectionViewportPosition(COL_NC) + header.sectionSize(COL_NC)
        assert right <= table.viewport().width()  # no count is cut off at the panel's edge
        titles.append(header.sectionSize(COL_TITLE))
    assert titles[0] > titles[1] >= 110  # the title takes what room there is


def test_moving_to_the_next_proposal_clears_the_decision_form(qtbot, desk, demo_workspace):
    # Choose, type, move (Alt+Down), record: nothing may be filed against the second proposal.
    first, second = desk.queue.model.ids[2], desk.queue.model.ids[3]  # the first row starts selected
    choose(qtbot, desk, first)
    panel = desk.decision_panel
    panel.findChild(type(panel.outcomes.buttons()[0]), "outcome_defer").click()
    panel.reason.setCurrentIndex(1)
    panel.rationale.setPlainText("Written about the first proposal.")
    with qtbot.waitSignals([desk.detail_shown, panel.loaded], timeout=20000):
        qtbot.keyClick(desk.queue.table, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
    assert desk.current_proposal == second
    assert panel.outcome() is None and panel.rationale.toPlainText() == ""
    qtbot.keyClick(panel.rationale, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # Record
    qtbot.wait(300)
    assert "rationale" in panel.message.text().lower() or "choose" in panel.message.text().lower()
    store = Store.open(demo_workspace / DB_FILE)
    try:
        assert governance.decisions_for(store, second) == []
        assert governance.decisions_for(store, first) == []
    finally:
        store.close()


def test_the_desk_marks_a_decision_whose_evidence_changed_since(qtbot, desk, demo_workspace):

    choose(qtbot, desk, USER_LEVEL)
    decide_in_panel(qtbot, desk, "defer", "Wait for a study.")
    panel = desk.decision_panel
    qtbot.waitUntil(lambda: panel.history_model.rowCount() == 1, timeout=5000)
    assert panel.history_title.text() == "Decisions on record:"
    assert "Evidence when decided:" in panel.history_model.index(0, 0).data(Qt.ItemDataRole.ToolTipRole)
    _relabel_a_supporting_link_outside_the_app(demo_workspace)
    with qtbot.waitSignal(panel.loaded, timeout=5000):
        panel.set_proposal(USER_LEVEL)  # read again, as after any change
    assert panel.history_model.index(0, 2).data().endswith(" *")
    assert "1 made on evidence that has changed since" in panel.history_title.text()
    assert "Now:" in panel.history_model.index(0, 0).data(Qt.ItemDataRole.ToolTipRole)


def test_a_chosen_proposal_s_history_is_compared_with_the_evidence_read_for_its_split(
    qtbot, desk, demo_workspace, monkeypatch
):
    """Choosing a proposal reads its labels once, with the split: the history's "now" is that reading."""
    from reviewer import decision_evidence

    choose(qtbot, desk, USER_LEVEL)
    decide_in_panel(qtbot, desk, "defer", "Wait for a study.")
    _relabel_a_supporting_link_outside_the_app(demo_workspace)
    choose(qtbot, desk, next(pid for pid in desk.queue.model.ids if pid != USER_LEVEL))
    reads = []
    read = decision_evidence.evidence_snapshot
    monkeypatch.setattr(decision_evidence, "evidence_snapshot", lambda *a, **k: reads.append(a) or read(*a, **k))
    panel = desk.decision_panel
    assert desk.queue.select(USER_LEVEL)
    qtbot.waitUntil(lambda: panel.history_model.proposal_id == USER_LEVEL
                    and panel.history_model.index(0, 2).data().endswith(" *"), timeout=20000)
    assert "1 made on evidence that has changed since" in panel.history_title.text()
    assert "Now:" in panel.history_model.index(0, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert reads == []  # the panel read no labels of its own


def test_the_history_columns_fit_their_widest_text_as_qt_would_fit_them(qtbot, desk):
    from PySide6.QtWidgets import QHeaderView

    from reviewer.governance import Decision

    panel = desk.decision_panel
    decisions = [
        Decision(id=f"d{i}", proposal_id=USER_LEVEL, outcome=outcome, reason_category=reason,
                 rationale="Because.", reviewer=name, decided_at=f"2025-06-{10 + i}T09:3{i}:00Z")
        for i, (outcome, reason, name) in enumerate([
            ("adopt", None, "Amara Okafor"),
            ("defer", "needs-more-evidence", "Jonas Lindqvist-Wolkenstein of the long name"),
            ("set_aside", "insufficient-evidence", "Li"),
        ])
    ]
    panel.history_model.set_decisions(decisions, None, USER_LEVEL)
    panel.fit_history()
    view, header = panel.history, panel.history.horizontalHeader()
    fitted = [header.sectionSize(c) for c in range(4)]
    for column in range(4):  # Qt's own fit, for comparison
        header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
    qtbot.waitUntil(lambda: [header.sectionSize(c) for c in range(4)] == fitted, timeout=5000)
    assert fitted[1] == view.sizeHintForColumn(1)  # the long name, whole


def test_views_follow_the_changes_an_operation_broadcasts(qtbot, desk, demo_workspace):
    """A decision's changes reach the queue, the history, and the hidden Editor and Audit tabs."""
    from reviewer.ops import Area

    for tab in (desk.editor_view, desk.auditor_view):  # shown once: read, no longer stale
        desk.tabs.setCurrentWidget(tab)
        qtbot.waitUntil(lambda t=tab: not t.follower.stale, timeout=20000)
    qtbot.waitUntil(lambda: desk.editor_view.state is not None and desk.auditor_view.model.rowCount() > 0,
                    timeout=20000)
    events_before = desk.auditor_view.model.rowCount()
    desk.tabs.setCurrentIndex(0)
    choose(qtbot, desk, USER_LEVEL)
    with qtbot.waitSignal(desk.lane.changed, timeout=20000) as changed:
        decide_in_panel(qtbot, desk, "adopt", "Supported across groups.")
    changes = changed.args[0]
    assert changes.touches(Area.DECISIONS) and changes.proposal_ids == {USER_LEVEL}
    # Hidden tabs are only marked; the desk's own row and history follow at once.
    assert desk.editor_view.follower.stale and desk.auditor_view.follower.stale
    qtbot.waitUntil(lambda: status_text(desk, USER_LEVEL) == STATUS_LABELS["adopted"], timeout=20000)
    qtbot.waitUntil(lambda: desk.decision_panel.history_model.rowCount() == 1, timeout=20000)
    desk.tabs.setCurrentWidget(desk.editor_view)
    qtbot.waitUntil(lambda: USER_LEVEL in {i.proposal_id for i in desk.editor_view.state.preview.plan.items},
                    timeout=20000)
    desk.tabs.setCurrentWidget(desk.auditor_view)
    qtbot.waitUntil(lambda: desk.auditor_view.model.rowCount() == events_before + 1, timeout=20000)


def test_a_decision_keeps_the_split_the_reviewer_was_shown(qtbot, desk, demo_workspace):
    evidence = desk.evidence_view
    choose(qtbot, desk, SPLIT_BY_COUNTRY)
    qtbot.waitUntil(lambda: evidence.field_combo.findData("age") >= 0, timeout=20000)
    with qtbot.waitSignal(evidence.split_shown, timeout=20000):
        evidence.set_field("age")
    # What the chart was drawn from is what the decision keeps (not read a second time).
    seen = desk.decision_panel.seen_evidence()
    assert seen is not None and seen.split_by == "age" and seen.proposal_id == SPLIT_BY_COUNTRY
    result = decide_in_panel(qtbot, desk, "defer", "Look at the older groups first.")
    assert result.decision.evidence["split_by"] == "age"
    assert result.decision.evidence == seen.snapshot
    store = Store.open(demo_workspace / DB_FILE)
    try:
        assert governance.decisions_for(store, SPLIT_BY_COUNTRY)[-1].evidence["split_by"] == "age"
    finally:
        store.close()


def test_a_log_ref_that_cannot_be_written_is_shown_after_the_decision_is_saved(qtbot, desk, demo_workspace):
    import shutil

    refs = demo_workspace / "spec" / ".git" / "refs" / "spec-review"
    shutil.rmtree(refs)
    refs.write_text("not a folder")  # git cannot write the log ref here
    choose(qtbot, desk, USER_LEVEL)
    with qtbot.waitSignal(desk.lane.warned, timeout=20000) as warned:
        result = decide_in_panel(qtbot, desk, "adopt", "Supported across groups.")
    assert result.decision.proposal_id == USER_LEVEL  # saved all the same
    assert warned.args[0].startswith("Saved, but the log ref was not updated")
    assert desk.statusBar().currentMessage().startswith("Warning: Saved, but the log ref was not updated")


def test_file_sync_brings_another_machines_decision_to_the_desk(qtbot, desk, demo_workspace, tmp_path):
    """Sync runs on the lane while the desk stays open; what arrives is named and the views follow it."""
    import shutil

    from reviewer import operations
    from reviewer.workspace import Workspace
    from tests.helpers import bare_remote

    bare_remote(demo_workspace, tmp_path)
    with qtbot.waitSignal(desk.synced, timeout=30000) as first:
        next(a for a in desk.actions() if a.text() == "S&ync with origin").trigger()
    assert first.args[0].pushed >= 1  # this machine's log went to the remote
    qtbot.waitUntil(lambda: "all sent" in desk.sync_label.text(), timeout=20000)
    other = tmp_path / "other-machine"
    shutil.copytree(demo_workspace, other, symlinks=True)
    with Workspace.open(other) as ws:
        operations.decide(ws, USER_LEVEL, "adopt", "Supported across groups.", actor="Jonas Lindqvist")
        operations.sync(ws, actor="Jonas Lindqvist")
    with qtbot.waitSignal(desk.synced, timeout=30000) as second:
        next(a for a in desk.actions() if a.text() == "S&ync with origin").trigger()
    (event,) = second.args[0].received
    assert event["actor"] == "Jonas Lindqvist"
    assert "Jonas Lindqvist adopted \u201c" in desk.statusBar().currentMessage()
    qtbot.waitUntil(lambda: status_text(desk, USER_LEVEL) == STATUS_LABELS["adopted"], timeout=20000)


def test_a_sync_shows_its_steps_and_cancel_stops_it_before_anything_is_received(qtbot, desk, demo_workspace,
                                                                                 tmp_path):
    import shutil

    from reviewer import operations
    from reviewer.workspace import Workspace
    from tests.helpers import bare_remote

    bare_remote(demo_workspace, tmp_path)
    with qtbot.waitSignal(desk.synced, timeout=30000):
        desk.sync_action.trigger()
    other = tmp_path / "other-machine"
    shutil.copytree(demo_workspace, other, symlinks=True)
    with Workspace.open(other) as ws:
        operations.decide(ws, USER_LEVEL, "adopt", "Supported across groups.", actor="Jonas Lindqvist")
        operations.sync(ws, actor="Jonas Lindqvist")
    desk.sync_action.trigger()
    assert desk.progress_panel.isVisible() and not desk.sync_action.isEnabled()  # one sync at a time
    desk.progress_panel.cancel_button.click()
    qtbot.waitUntil(lambda: desk.statusBar().currentMessage() == "Sync cancelled: nothing was received.",
                    timeout=30000)
    assert not desk.progress_panel.isVisible() and desk.sync_action.isEnabled()
    assert status_text(desk, USER_LEVEL) != STATUS_LABELS["adopted"]
    # The timer's sync (File ▸ Sync every 5 minutes) then receives it, quietly.
    desk.sync_timer_action.setChecked(True)
    assert desk.sync_timer.isActive() and desk.sync_timer.interval() == 5 * 60_000
    qtbot.waitUntil(lambda: desk.has_origin and not desk.lane.busy(), timeout=20000)
    with qtbot.waitSignal(desk.synced, timeout=30000) as timed:
        desk.sync_timer.timeout.emit()
    assert [e["actor"] for e in timed.args[0].received] == ["Jonas Lindqvist"]
    desk.sync_timer_action.setChecked(False)
    assert not desk.sync_timer.isActive()


def test_f5_has_every_view_read_what_changed_outside_the_app(qtbot, desk, demo_workspace):
    """A decision recorded by another process reaches no view through the lane; F5 brings it to all of them."""
    from reviewer import operations
    from reviewer.workspace import Workspace

    desk.tabs.setCurrentWidget(desk.editor_view)
    qtbot.waitUntil(lambda: desk.editor_view.state is not None, timeout=20000)
    assert USER_LEVEL not in {i.proposal_id for i in desk.editor_view.state.preview.plan.items}
    desk.tabs.setCurrentIndex(0)
    choose(qtbot, desk, USER_LEVEL)
    with Workspace.open(demo_workspace) as other:  # the command line, say
        operations.decide(other, USER_LEVEL, "adopt", "Supported across groups.", actor="Jonas Lindqvist")
    assert desk.decision_panel.history_model.rowCount() == 0
    reload = next(a for a in desk.actions() if a.text() == "&Reload")
    assert reload.shortcut().toString() == "F5"
    reload.trigger()
    qtbot.waitUntil(lambda: status_text(desk, USER_LEVEL) == STATUS_LABELS["adopted"], timeout=20000)
    qtbot.waitUntil(lambda: desk.decision_panel.history_model.rowCount() == 1, timeout=20000)
    desk.tabs.setCurrentWidget(desk.editor_view)
    qtbot.waitUntil(lambda: USER_LEVEL in {i.proposal_id for i in desk.editor_view.state.preview.plan.items},
                    timeout=20000)


def test_waiting_for_me_shows_what_waits_for_the_reviewer_deciding(qtbot, desk, demo_workspace):
    """The queue's "Waiting for me" is `queue --mine`: it follows the reviewer and every decision."""
    from ui.main_window import MINE

    statuses = desk.queue.filters["statuses"]
    statuses.setCurrentIndex(statuses.findData(MINE))
    qtbot.waitUntil(lambda: desk.queue.proxy.only is not None and desk.queue.proxy.rowCount() == 5, timeout=20000)
    assert desk.statusBar().currentMessage().startswith("5 proposals waiting for Amara Okafor")
    choose(qtbot, desk, USER_LEVEL)
    decide_in_panel(qtbot, desk, "adopt", "Supported across groups.")
    qtbot.waitUntil(lambda: desk.queue.proxy.rowCount() == 4, timeout=20000)  # decided: no longer hers
    desk.set_reviewer("Sofía Herrera")  # an editor: the adopted proposal waits for her
    qtbot.waitUntil(lambda: desk.queue.proxy.rowCount() == 1 and desk.queue.current_id() in (USER_LEVEL, None),
                    timeout=20000)
    assert desk.statusBar().currentMessage() == "1 proposal waiting for Sofía Herrera: 1 to commit"
    statuses.setCurrentIndex(0)  # any status: everything again
    assert desk.queue.proxy.only is None and desk.queue.proxy.rowCount() == 5
