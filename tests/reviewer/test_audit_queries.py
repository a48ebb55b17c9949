"""The audit log's named reads for the auditor's list: pages, counts, one event, and their errors."""

from __future__ import annotations

import json
import sqlite3

import pytest

from reviewer import audit, governance
from reviewer.audit_queries import (
    LOG_COLUMNS,
    PAGE,
    LogCounts,
    LogFilter,
    log_actions,
    log_counts,
    log_event,
    log_page,
)
from reviewer.errors import BugError, KnownError, ReviewerError
from reviewer.store import open_read_only
from reviewer.workspace import DB_FILE, Workspace


def test_action_filter_pages_match_the_plain_query(demo_workspace):
    with Workspace.open(demo_workspace) as workspace, workspace.store.db.atomic():
        for number in range(450):  # more than two pages of two actions that share a prefix
            audit.append_event(workspace.store.db, actor="load", action=("test.bulk", "test.other")[number % 3 == 0],
                               object_type="workspace", object_id=None, payload={"n": number})
    conn = open_read_only(demo_workspace / DB_FILE)
    try:
        cases = [LogFilter(action=a) for a in ("test", "test.bulk", "TEST.", "member", "import", "evidence",
                                                "workspace.create", "m", "zzz", "test.bulk.more")]
        cases += [LogFilter(action="test", actor="load", since="2000-01-01"), LogFilter(action="test", actor="nobody")]
        cases += [LogFilter(), LogFilter(object_ref="workspace"), LogFilter(actor="load")]
        for log_filter in cases:
            where, params = log_filter.where()
            expected = conn.execute(f"SELECT {LOG_COLUMNS} FROM audit_events WHERE {where} ORDER BY seq DESC",
                                    params).fetchall()
            shown, after = [], None
            while True:
                page = log_page(conn, log_filter, after)
                shown += page
                if len(page) < PAGE:
                    break
                after = page[-1].seq
            assert shown == expected, log_filter
            assert log_counts(conn, log_filter) == LogCounts(len(expected), log_counts(conn, LogFilter()).total)
        assert len(log_page(conn, LogFilter(action="test"), None)) == PAGE  # 450 events of test.*, newest first
        assert log_actions(conn, "test", "test.", "test/") == ["test.bulk", "test.other"]
    finally:
        conn.close()


def test_event_and_members_read_through_a_store_or_a_read_only_connection(demo_workspace):
    with Workspace.open(demo_workspace) as workspace:
        (created,) = audit.list_events(workspace.store.db, action="workspace.create")
        members = [m.name for m in governance.list_members(workspace.store)]
        assert log_event(workspace.store, created.seq) == created
        assert governance.member_names(workspace.store) == members and members
        total = log_counts(workspace.store, LogFilter()).total
        first_page = log_page(workspace.store, LogFilter())
    conn = open_read_only(demo_workspace / DB_FILE)
    try:
        assert log_event(conn, created.seq) == created
        assert log_event(conn, total + 1) is None
        assert governance.member_names(conn) == members
        assert log_page(conn, LogFilter()) == first_page
        assert [r.seq for r in first_page] == list(range(total, max(total - PAGE, 0), -1))
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            conn.execute("DELETE FROM audit_events")  # the connection is read-only
    finally:
        conn.close()


def test_failed_reads_are_reviewer_errors(tmp_path, demo_workspace):
    conn = open_read_only(demo_workspace / DB_FILE)
    conn.close()
    for read in (lambda: log_page(conn, LogFilter()), lambda: log_page(conn, LogFilter(action="member")),
                 lambda: log_counts(conn, LogFilter()), lambda: log_event(conn, 1),
                 lambda: governance.member_names(conn)):
        with pytest.raises(BugError, match="closed"):
            read()
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database, " * 512)
    with pytest.raises(KnownError, match="damaged or is not a SQLite file"):
        open_read_only(garbage)
    with pytest.raises(KnownError, match="cannot be opened"):
        open_read_only(tmp_path / "missing.db")
    assert issubclass(KnownError, ReviewerError) and issubclass(BugError, ReviewerError)


def test_filter_problem_and_ranges():
    assert LogFilter(since="yesterday").problem()
    assert LogFilter(since="2025-06").problem() == "" and LogFilter(since="2025-06-01T12:00:00Z").problem() == ""
    assert LogFilter().action_range() is None
    assert LogFilter(action=" Member. ").action_range() == ("member.", "member.", "member/")
    assert LogFilter().where() == ("1", [])
    where, params = LogFilter(action="decision", actor="Ana", object_ref="proposal", since="2025").where()
    assert params == ["decision", "decision.", "decision/", "proposal", "proposal", "Ana", "2025"]
    assert LogFilter(action="decision").where(with_action=False) == ("1", [])


def test_the_list_leaves_a_proposals_texts_out_of_its_summary(demo_workspace):
    conn = open_read_only(demo_workspace / DB_FILE)
    try:
        rows = [r for r in log_page(conn, LogFilter(action="proposal.add"), None)]
        assert rows and all(json.loads(r.payload)["title"] and "texts" not in json.loads(r.payload) for r in rows)
        full = log_event(conn, rows[0].seq)
        assert full.payload["texts"]  # the detail still has everything
    finally:
        conn.close()


def test_object_names_name_every_object_a_page_changed(demo_workspace):
    from reviewer import committing
    from reviewer.audit_queries import object_names
    from tests.datapaths import DEMO_TITLES, USER_LEVEL

    with Workspace.open(demo_workspace) as workspace:
        loaded = workspace.load_spec()
        governance.decide(workspace.store, USER_LEVEL, "adopt", "Priya Raman", "The crowd's reasons hold up.",
                          spec_document=loaded.document, spec_revision=loaded.revision)
        committing.commit_adopted(workspace, "Priya Raman")
    conn = open_read_only(demo_workspace / DB_FILE)
    try:
        rows = log_page(conn, LogFilter())
        names = object_names(conn, rows)
        title = conn.execute("SELECT title FROM proposals WHERE id = ?", [USER_LEVEL]).fetchone()[0]
        members = dict(conn.execute("SELECT id, name FROM members"))
        decision = conn.execute("SELECT id FROM decisions WHERE proposal_id = ?", [USER_LEVEL]).fetchone()[0]
        sha = conn.execute("SELECT sha FROM spec_commits").fetchone()[0]
    finally:
        conn.close()
    assert title == DEMO_TITLES[USER_LEVEL]
    assert names[("proposal", USER_LEVEL)] == title
    assert names[("decision", decision)] == title  # a decision is named by its proposal
    assert {names[("member", m)] for m in members} == set(members.values())
    assert names[("spec_commit", sha)] == f"{sha[:10]}: {title}"
    imports = {name for (kind, _), name in names.items() if kind == "import"}
    assert {"ca1 from comparisons.jsonl and 1 more", "rankings from rankings.jsonl",
            "relevance from relevance.jsonl"} <= imports
    # Every object with an id is named; an object that no longer exists is left for its id.
    assert {(r.object_type, r.object_id) for r in rows if r.object_id} == set(names)
    gone = rows[0]._replace(object_type="proposal", object_id="no-such-proposal")
    conn = open_read_only(demo_workspace / DB_FILE)
    try:
        assert object_names(conn, [gone]) == {}
    finally:
        conn.close()
