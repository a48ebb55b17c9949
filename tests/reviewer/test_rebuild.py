"""A workspace's record rebuilt from its audit log into a new database equals the live one, row by row."""

import sqlite3
from contextlib import closing

import pytest

from reviewer import committing, discussion, governance
from reviewer.bulk_labels import set_stances, undo_stances
from reviewer.errors import KnownError
from reviewer.evidence import link_statement, set_stance, unlink_statement
from reviewer.groups import compute_groups
from reviewer.polis import import_polis, statement_id
from reviewer.rebuild import REBUILT_TABLES, rebuild_workspace
from reviewer.replay import check_record
from reviewer.store import Store
from reviewer.workspace import Workspace
from tests.datapaths import MULTI_SECTION, POLIS_SAMPLE, SUPPORTED
from tests.helpers import tamper
from tests.propose_fakes import fake_propose


def table_rows(db_path, table):
    """Every row of a table (all columns, in a stable order), read with plain sqlite3."""
    with closing(sqlite3.connect(db_path)) as conn:
        columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
        order = ", ".join(columns)
        return columns, conn.execute(f"SELECT {order} FROM {table} ORDER BY {order}").fetchall()


@pytest.fixture
def worked(demo_workspace):
    """The demo after a round of work: members (one with a git identity), quorum, Pol.is import, hand links, labels, a discussion, decisions, a commit."""
    with Workspace.open(demo_workspace) as workspace:
        store = workspace.store
        governance.add_member(store, "Noor Haddad", ["reviewer"], actor="Wei Chen", email="noor@example.org")
        governance.add_member(store, "Noor Haddad", ["auditor"], actor="Wei Chen")
        governance.set_identity(store, "Noor Haddad", "noor.haddad@example.org", "ssh-ed25519 AAAAC3Nz noor",
                                actor="Wei Chen")
        governance.remove_role(store, "Noor Haddad", "reviewer", actor="Wei Chen")
        governance.set_quorum(store, {"guideline": 2, "user": 2}, actor="Wei Chen")
        import_polis(store, POLIS_SAMPLE / "comments.csv", POLIS_SAMPLE / "participants-votes.csv", key="sample")
        link_statement(store, SUPPORTED, statement_id("sample", "33"), "Amara Okafor", note="on point")
        link_statement(store, SUPPORTED, statement_id("sample", "32"), "Amara Okafor")
        unlink_statement(store, SUPPORTED, statement_id("sample", "32"), "Jonas Lindqvist")
        set_stance(store, SUPPORTED, statement_id("sample", "33"), "supports", "Jonas Lindqvist", note="clear")
        link = store.db.execute("SELECT justification_id FROM evidence_current WHERE proposal_id = ? AND via ="
                                " 'conversation' LIMIT 1", [SUPPORTED]).fetchone()[0]
        set_stance(store, SUPPORTED, link, "refutes", "Amara Okafor")
        # A bulk labelling undone, and one kept: withdrawn labels are rebuilt with the labels.
        several = [r[0] for r in store.db.execute("SELECT justification_id FROM evidence_current WHERE proposal_id = ?"
                                                  " ORDER BY justification_id LIMIT 6", [MULTI_SECTION])]
        undone = set_stances(store, MULTI_SECTION, several[:3], "no_comment", "Jonas Lindqvist", note="off topic")
        set_stances(store, MULTI_SECTION, several[3:], "refutes", "Amara Okafor")
        undo_stances(store, "Jonas Lindqvist", bulk_id=undone.bulk_id)
        # A discussion: threads on the proposal, a section and a justification; a reply; one resolved, reopened.
        first = discussion.add_comment(store, SUPPORTED, "Ads too? @Jonas Lindqvist", actor="Amara Okafor")
        discussion.add_comment(store, SUPPORTED, "Yes.", actor="Jonas Lindqvist", reply_to=first.id)
        discussion.set_resolved(store, first.id, True, actor="Amara Okafor")
        on_link = discussion.add_comment(store, SUPPORTED, "A fair point.", actor="Noor Haddad",
                                         justification_id=link)
        discussion.set_resolved(store, on_link.id, True, actor="Wei Chen")
        discussion.set_resolved(store, on_link.id, False, actor="Noor Haddad")
        discussion.add_comment(store, MULTI_SECTION, "Shorter?", actor="Wei Chen", section_id="assume_objective_pov")
        for reviewer in ("Amara Okafor", "Jonas Lindqvist"):
            governance.record_decision(workspace, SUPPORTED, "adopt", reviewer, "The crowd supports it.")
        governance.record_decision(workspace, MULTI_SECTION, "defer", "Priya Raman", "A study first.",
                                   "needs-research")
        committing.commit_adopted(workspace, "Priya Raman")
        # The automated loop: candidates kept, merged and rejected, their proposals, their model jobs.
        fake_propose(workspace, "single")
        # Opinion groups in the CA-1 rankings: their run and every participant's group.
        compute_groups(store, "ca1", actor="Wei Chen")
        assert check_record(store) == []
    return demo_workspace


def test_the_rebuilt_database_equals_the_live_one_table_by_table(worked, tmp_path):
    out = tmp_path / "rebuilt.db"
    with Workspace.open(worked) as workspace:
        report = rebuild_workspace(workspace, out)
    assert report.ok and report.mismatches == ()
    assert report.left_out == () and report.from_event_times == {}
    assert any(line.startswith("assessments: import ") and "digest verified" in line for line in report.copied)
    assert any(line.startswith("votes: import ") for line in report.copied)
    assert any(line.startswith("stance_labels: rule run ") for line in report.copied)
    assert any(line.startswith("candidates: propose run ") for line in report.copied)
    assert any(line.startswith("group_members: group run ") for line in report.copied)
    compared = [t for t in REBUILT_TABLES if t not in ("workspace_info", "quorum_settings")]
    for table in compared:
        live_columns, live = table_rows(worked / "reviewer.db", table)
        columns, rebuilt = table_rows(out, table)
        assert columns == live_columns
        assert rebuilt == live, table
        assert live or table in ("judge_jobs", "judge_job_items", "proposal_commit_state") or table == "spec_commits"
    # The schema writes the default quorum when a database is made: those rows' times are the new database's.
    (_, live), (_, rebuilt) = table_rows(worked / "reviewer.db", "quorum_settings"), table_rows(out, "quorum_settings")
    changed = {"guideline", "user"}
    assert [r for r in rebuilt if r[0] in changed] == [r for r in live if r[0] in changed]
    assert [r[:2] + r[3:] for r in rebuilt] == [r[:2] + r[3:] for r in live]
    assert report.unlogged == ("quorum_settings.updated_at of the levels never changed: when this database was made"
                               " (the defaults are written by the schema, not logged)",)
    assert dict(table_rows(out, "workspace_info")[1]) == dict(table_rows(worked / "reviewer.db", "workspace_info")[1])
    store = Store.open(out)
    try:
        assert check_record(store) == []
        assert governance.decisions_for(store, SUPPORTED)[0].rationale == "The crowd supports it."
    finally:
        store.close()


def test_a_decision_tampered_with_is_rebuilt_as_logged(worked, tmp_path):
    with Workspace.open(worked) as workspace:
        decision = governance.decisions_for(workspace.store, MULTI_SECTION)[0].id
    tamper(worked / "reviewer.db", "UPDATE decisions SET rationale = 'Rewritten.', outcome = 'set_aside',"
                                   " reason_category = 'risk' WHERE id = ?", [decision])
    out = tmp_path / "rebuilt.db"
    with Workspace.open(worked) as workspace:
        assert {m.field for m in check_record(workspace.store)} == {"rationale", "outcome", "reason_category"}
        report = rebuild_workspace(workspace, out)
    assert report.ok
    with closing(sqlite3.connect(out)) as conn:
        assert conn.execute("SELECT outcome, reason_category, rationale FROM decisions WHERE id = ?",
                            [decision]).fetchone() == ("defer", "needs-research", "A study first.")


def test_rows_whose_digest_does_not_match_are_left_out_and_named(worked, tmp_path):
    tamper(worked / "reviewer.db", "UPDATE votes SET vote = CASE vote WHEN 1 THEN -1 ELSE 1 END"
                                   " WHERE statement_id = (SELECT min(statement_id) FROM votes)")
    out = tmp_path / "rebuilt.db"
    with Workspace.open(worked) as workspace:
        report = rebuild_workspace(workspace, out)
    (left,) = [line for line in report.left_out if line.startswith("votes: import ")]
    assert "do not match the logged digest" in left
    assert [(m.table, m.field) for m in report.mismatches] == [("votes", "rows")]
    assert table_rows(out, "votes")[1] == []


def test_a_rebuild_never_writes_over_a_file_nor_rebuilds_in_place(worked, tmp_path):
    taken = tmp_path / "taken.db"
    taken.write_bytes(b"keep me")
    with Workspace.open(worked) as workspace:
        with pytest.raises(KnownError, match="already exists"):
            rebuild_workspace(workspace, taken)
        with pytest.raises(KnownError, match="already exists"):
            rebuild_workspace(workspace, worked / "reviewer.db")
        with pytest.raises(KnownError, match="does not exist"):
            rebuild_workspace(workspace, tmp_path / "no-such-folder" / "out.db")
    assert taken.read_bytes() == b"keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo", "taken.db"]


def test_a_log_that_is_not_intact_is_no_ground_to_rebuild_from(worked, tmp_path):
    tamper(worked / "reviewer.db", "UPDATE audit_events SET actor = 'Mallory' WHERE seq = 3")
    with Workspace.open(worked) as workspace, pytest.raises(KnownError, match="not intact"):
        rebuild_workspace(workspace, tmp_path / "out.db")
    assert not (tmp_path / "out.db").exists()


def test_the_command_line_rebuilds_into_a_new_file_and_never_over_one(demo_workspace, tmp_path, capsys):
    import json as json_module

    from cli.main import main
    from reviewer.replay import check_record
    from reviewer.store import Store

    out = tmp_path / "rebuilt.db"
    assert main(["audit", "rebuild", str(demo_workspace), "-o", str(out), "--json"]) == 0
    data = json_module.loads(capsys.readouterr().out)
    assert data["ok"] and data["out_db"] == str(out) and data["rows"]["members"] == 5
    rebuilt = Store.open(out)
    try:
        assert check_record(rebuilt) == []
    finally:
        rebuilt.close()
    before = out.read_bytes()
    assert main(["audit", "rebuild", str(demo_workspace), "-o", str(out)]) == 1
    assert "exists" in capsys.readouterr().err and out.read_bytes() == before


def test_values_older_events_do_not_carry_come_from_the_event_time_and_are_counted(demo_workspace, tmp_path):
    from reviewer import audit

    with Workspace.open(demo_workspace) as workspace:
        store = workspace.store
        with audit.anchored(store.db):  # a member added as the app did before events carried times and ids
            store.db.execute("INSERT INTO members (id, name, roles, created_at) VALUES ('m-old', 'Old Hand',"
                             " '[\"reviewer\"]', '2025-01-01T00:00:00.000000Z')")
            store.db.execute("INSERT INTO member_role_changes (id, member_id, role, change, changed_by, changed_at)"
                             " VALUES ('c-old', 'm-old', 'reviewer', 'add', 'admin', '2025-01-01T00:00:00.000000Z')")
            event = audit.append_event(store.db, actor="admin", action="member.add", object_type="member",
                                       object_id="m-old", payload={"name": "Old Hand", "added": ["reviewer"],
                                                                   "roles": ["reviewer"]})
        report = rebuild_workspace(workspace, tmp_path / "rebuilt.db")
    assert report.ok
    assert report.from_event_times == {"members.created_at": 1, "member_role_changes.changed_at": 1}
    with closing(sqlite3.connect(tmp_path / "rebuilt.db")) as conn:
        assert conn.execute("SELECT name, created_at FROM members WHERE id = 'm-old'").fetchone() == (
            "Old Hand", event.at)
        assert conn.execute("SELECT role, change, changed_by, changed_at FROM member_role_changes"
                            " WHERE member_id = 'm-old'").fetchone() == ("reviewer", "add", "admin", event.at)
