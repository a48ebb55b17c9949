import html
import sqlite3

import pytest
from PySide6.QtCore import Qt

from reviewer import audit, committing, governance
from reviewer.errors import KnownError
from reviewer.workspace import DB_FILE, Workspace
from tests.datapaths import DEMO_TITLES, SUPPORTED, USER_LEVEL
from tests.ui.test_editor_view import TITLE, adopt_one
from ui.dialogs import Dialogs
from ui.models.audit_log import PAGE, AuditLogModel, LogFilter
from ui.views.auditor_view import AuditorView
from ui.workers import PageReader, ReadConnection, WorkspaceLane

pytestmark = pytest.mark.gui


def event_count(path):
    with sqlite3.connect(path / DB_FILE) as conn:
        return conn.execute("SELECT count(*) FROM audit_events").fetchone()[0]


@pytest.fixture
def make_view(qtbot):
    opened = []

    def make(path):
        lane = WorkspaceLane(path)
        read = ReadConnection(path / DB_FILE)
        reader = PageReader(path / DB_FILE)
        opened.append((lane, read, reader))
        view = AuditorView(lane, read, reader)
        qtbot.addWidget(view)
        view.resize(1200, 700)
        with qtbot.waitSignal(view.log_shown, timeout=20000):
            view.refresh()
        return view

    yield make
    for lane, read, reader in opened:
        lane.shutdown()
        reader.shutdown()
        read.close()


def apply(qtbot, view):
    """Apply the filters and wait for the list (read off the GUI thread)."""
    with qtbot.waitSignal(view.log_shown, timeout=20000):
        view.apply_filters()


def rows(view):
    model = view.model
    return [[model.index(r, c).data() for c in range(model.columnCount())] for r in range(model.rowCount())]


def test_log_lists_every_event_newest_first_and_filters(qtbot, make_view, demo_workspace):
    view = make_view(demo_workspace)
    total = event_count(demo_workspace)
    view.model.fetch_all()
    assert view.model.rowCount() == total >= 15
    assert view.model.seqs == list(range(total, 0, -1))
    assert view.count_label.text() == f"{total} events"
    first = rows(view)[-1]
    assert (first[0], first[2], first[3]) == (1, "spec-review", "workspace.create")

    view.action_filter.setCurrentText("member")
    apply(qtbot, view)
    members = rows(view)
    assert len(members) == 5 and {r[3] for r in members} == {"member.add"}
    assert "Wei Chen" in " ".join(r[5] for r in members)
    assert view.count_label.text() == f"5 of {total} events match"
    view.action_filter.setCurrentText("member.role_add")
    apply(qtbot, view)
    assert rows(view) == []

    view.clear_filters()
    view.actor_filter.setCurrentText("ranking-based")
    apply(qtbot, view)
    assert {r[3] for r in rows(view)} == {"evidence.rule"} and len(rows(view)) == len(DEMO_TITLES)
    proposal_id = view.model.index(0, 4).data(AuditLogModel.ObjectRole)[1]
    assert rows(view)[0][4] == DEMO_TITLES[proposal_id]  # the list names the proposal by its title
    view.clear_filters()
    view.object_filter.setText(proposal_id)
    apply(qtbot, view)
    assert sorted(r[3] for r in rows(view)) == ["evidence.rule", "proposal.add"]
    view.object_filter.setText("member")
    view.since_filter.setText("2999-01-01")
    apply(qtbot, view)
    assert rows(view) == []
    view.since_filter.setText("yesterday")
    apply(qtbot, view)
    assert rows(view) == [] and "not a date" in view.count_label.text()
    with qtbot.waitSignal(view.log_shown, timeout=20000):
        view.clear_filters()
    assert view.model.rowCount() == total


def test_the_object_column_names_objects_read_a_page_at_a_time_on_the_reader(qtbot, make_view, demo_workspace,
                                                                            monkeypatch):
    import threading

    import ui.models.audit_log as audit_log

    adopt_one(demo_workspace)
    with Workspace.open(demo_workspace) as workspace, workspace.store.db.atomic():
        for number in range(450):  # three pages
            audit.append_event(workspace.store.db, actor="load", action="test.bulk", object_type="member",
                               object_id=workspace.store.db.execute(
                                   "SELECT id FROM members WHERE name = 'Wei Chen'").fetchone()[0],
                               payload={"n": number})
    calls = []
    real = audit_log.object_names

    def spy(conn, page_rows):
        calls.append((threading.current_thread() is threading.main_thread(), len(page_rows)))
        return real(conn, page_rows)

    monkeypatch.setattr(audit_log, "object_names", spy)
    view = make_view(demo_workspace)
    model = view.model
    assert calls == [(False, PAGE)]  # one bulk read for the first page, on the page reader's thread
    assert {r[4] for r in rows(view)} == {"Wei Chen"}
    tip = model.index(0, 4).data(Qt.ItemDataRole.ToolTipRole)
    member_id = model.index(0, 4).data(AuditLogModel.ObjectRole)[1]
    assert "Wei Chen" in tip and f"member {member_id}" in tip
    model.fetchMore()
    qtbot.waitUntil(lambda: model.rowCount() == 2 * PAGE, timeout=20000)
    assert calls == [(False, PAGE), (False, PAGE)]
    model.fetch_all()
    shown = {model.index(r, 4).data(AuditLogModel.ObjectRole): model.index(r, 4).data()
             for r in range(model.rowCount())}
    assert shown[("proposal", USER_LEVEL)] == TITLE
    decision = next(ref for ref in shown if ref[0] == "decision")
    assert shown[decision] == TITLE  # a decision is named by its proposal's title
    # The detail pane names the object above its kind and id.
    row = next(r for r in range(model.rowCount()) if model.index(r, 4).data(AuditLogModel.ObjectRole)[0] == "decision")
    view.table.setCurrentIndex(model.index(row, 0))
    detail = view.detail.toPlainText()
    assert TITLE in detail and f"decision {decision[1]}" in detail
    workspace = next(ref for ref in shown if ref[0] == "workspace")
    assert shown[workspace] == "Demo workspace (synthetic crowd data)"
    assert all(name != f"{kind} {ref}" for (kind, ref), name in shown.items() if ref)  # no bare ids


def test_detail_pane_shows_the_whole_payload_and_hashes(qtbot, make_view, demo_workspace):
    view = make_view(demo_workspace)
    with Workspace.open(demo_workspace) as workspace:
        (event,) = audit.list_events(workspace.store.db, action="workspace.create")
    view.action_filter.setCurrentText("workspace")
    apply(qtbot, view)
    view.table.selectRow(0)
    text = view.detail.toPlainText()
    assert "Event 1: workspace.create" in text
    assert event.hash in text and event.prev_hash in text and event.id in text
    assert '"baseline_revision":' in text  # pretty-printed JSON, one key per line


def test_verify_ok_then_a_tampered_event_is_named(qtbot, make_view, demo_workspace):
    view = make_view(demo_workspace)
    with qtbot.waitSignal(view.verified, timeout=20000) as blocker:
        view.verify_button.click()
    report = blocker.args[0].chain
    assert blocker.args[0].ok and report.events == event_count(demo_workspace)
    text = view.chain_view.toPlainText()
    assert "Audit log intact" in text and "head record" in text and "anchor file audit-head.json" in text
    assert view.model.bad_seq is None

    with sqlite3.connect(demo_workspace / DB_FILE) as conn:
        conn.execute("UPDATE audit_events SET actor = 'Mallory' WHERE seq = 12")
    with qtbot.waitSignal(view.verified, timeout=20000) as blocker:
        view.on_verify()
    report = blocker.args[0].chain
    # The list is read again after the check (off the GUI thread), with the bad event chosen.
    qtbot.waitUntil(lambda: view.model.ready and view.table.currentIndex().isValid(), timeout=20000)
    assert not report.ok and report.first_bad_seq == 12
    text = view.chain_view.toPlainText()
    assert "NOT intact" in text and "event 12" in text and "does not match its hash" in text
    assert "NOT intact: event 12" in view.message.text()
    assert view.model.bad_seq == 12
    row = view.model.seqs.index(12)
    assert view.model.index(row, 2).data() == "Mallory"  # the list shows the log as verified
    assert view.table.currentIndex().row() == row
    assert "Event 12" in view.detail.toPlainText() and "First bad event" in view.detail.toPlainText()


def test_trace_after_a_commit_is_ok_and_lists_what_waits(qtbot, make_view, demo_workspace):
    committed_id = adopt_one(demo_workspace)
    with Workspace.open(demo_workspace) as workspace:
        report = committing.commit_adopted(workspace, "Priya Raman")
        assert [i.result for i in report.items] == ["committed"]
        waiting = workspace.store.get_proposal(SUPPORTED)  # root level: two reviewers adopt it
        for reviewer in ("Amara Okafor", "Jonas Lindqvist"):
            governance.decide(workspace.store, waiting.id, "adopt", reviewer, "Yes.",
                              spec_document=workspace.load_spec().document)
    view = make_view(demo_workspace)
    with qtbot.waitSignal(view.traced, timeout=20000) as blocker:
        view.trace_button.click()
    result = blocker.args[0]
    assert result.ok, result.problems
    assert [p["proposal_id"] for p in result.proposals if p["state"] == "committed"] == [committed_id]
    text = view.trace_view.toPlainText()
    assert "Trace OK" in text
    assert "Adopted decisions without a commit (1)" in text and waiting.title in text
    assert "changed other sections than their proposal's (0)" in text
    assert "made outside the app" in text and TITLE in text
    assert "Trace OK" in view.message.text()


def test_export_writes_the_report_with_escaped_titles_and_changes_nothing(qtbot, make_view, demo_workspace,
                                                                            monkeypatch, tmp_path):
    view = make_view(demo_workspace)
    before = event_count(demo_workspace)
    asked = []
    monkeypatch.setattr(Dialogs, "ask_save_path", classmethod(lambda cls, *a: asked.append(a) or None))
    view.on_export()
    assert asked and not view.export_button.isHidden() and view.message.isHidden()  # cancelled: nothing ran

    target = tmp_path / "transparency"
    monkeypatch.setattr(Dialogs, "ask_save_path", classmethod(lambda cls, *a: str(target)))
    with qtbot.waitSignal(view.exported, timeout=20000) as blocker:
        view.export_button.click()
    written = tmp_path / "transparency.html"
    assert blocker.args == [str(written)]
    text = written.read_text(encoding="utf-8")
    with Workspace.open(demo_workspace) as workspace:
        titles = [p.title for p in workspace.store.list_proposals()]
    assert all(html.escape(title) in text for title in titles)
    quoted = next(t for t in titles if "'" in t)
    assert quoted not in text  # the apostrophe is escaped
    assert "transparency.html" in view.message.text()
    assert event_count(demo_workspace) == before  # auditing writes nothing to the workspace


def test_log_pages_through_a_long_log(qtbot, make_view, demo_workspace):
    with Workspace.open(demo_workspace) as workspace, workspace.store.db.atomic():
        for number in range(450):
            audit.append_event(workspace.store.db, actor="load", action="test.bulk", object_type="workspace",
                               object_id=None, payload={"n": number})
    total = event_count(demo_workspace)
    view = make_view(demo_workspace)
    model = view.model
    assert model.rowCount() == PAGE and model.canFetchMore()
    model.fetchMore()
    model.fetchMore()  # asked again while the page is read: still one page
    assert model.rowCount() == PAGE  # the page is read on the page reader, not here
    qtbot.waitUntil(lambda: model.rowCount() == 2 * PAGE, timeout=20000)
    qtbot.wait(50)
    assert model.rowCount() == 2 * PAGE and model.seqs == list(range(total, total - 2 * PAGE, -1))
    model.fetch_all()
    assert model.seqs == list(range(total, 0, -1)) and not model.canFetchMore()
    view.action_filter.setCurrentText("test")
    apply(qtbot, view)
    model.fetch_all()
    assert model.rowCount() == 450 and model.matching_count() == 450


def test_audit_log_model_passes_model_tester(qtmodeltester, make_view, demo_workspace):
    view = make_view(demo_workspace)
    view.model.set_bad_seq(3)
    qtmodeltester.check(view.model)
    view.model.set_filter(LogFilter(action="proposal"))
    qtmodeltester.check(view.model)
    qtmodeltester.check(AuditLogModel())


def test_a_failed_page_read_is_reported_and_ends_the_list(qtbot, demo_workspace, tmp_path):
    # The pages are read through the page reader; here its database is not one, so the first read fails.
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database, " * 512)
    lane = WorkspaceLane(demo_workspace)
    read = ReadConnection(demo_workspace / DB_FILE)
    reader = PageReader(garbage)
    try:
        view = AuditorView(lane, read, reader)
        qtbot.addWidget(view)
        with qtbot.waitSignal(view.failed, timeout=20000) as blocker:
            view.refresh()
        error = blocker.args[0]
        assert isinstance(error, KnownError) and view.model.error is error
        assert "Cannot read the audit log: The workspace database is damaged" in view.message.text()
        assert view.model.rowCount() == 0 and not view.model.canFetchMore() and view.model.ready
        assert view.actor_filter.findText("Priya Raman") >= 0  # the members came from the working connection
    finally:
        lane.shutdown()
        reader.shutdown()
        read.close()


def test_verify_shows_a_record_that_differs_from_the_log(qtbot, make_view, demo_workspace):
    with sqlite3.connect(demo_workspace / DB_FILE) as conn:
        conn.execute("UPDATE members SET name = 'Mallory' WHERE name = 'Wei Chen'")
    view = make_view(demo_workspace)
    with qtbot.waitSignal(view.verified, timeout=20000) as blocker:
        view.verify_button.click()
    verified = blocker.args[0]
    assert verified.chain.ok and not verified.ok
    (mismatch,) = verified.mismatches
    assert (mismatch.table, mismatch.field, mismatch.logged, mismatch.stored) == ("members", "name", "Wei Chen", "Mallory")
    assert "record does NOT match" in view.message.text()
    text = view.chain_view.toPlainText()
    assert "The record does NOT match the log" in text and "Mallory" in text and "Wei Chen" in text
