"""audit verify replays the log and finds any edit, deletion or insertion in the governance tables."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reviewer import committing, digests, discussion, governance, revisions
from reviewer.replay import MISSING, NOT_LOGGED, check_record
from tests.helpers import commit_file
from tests.helpers import tamper as tamper_db
from tests.reviewer.test_governance import make_workspace, propose, run


@pytest.fixture
def record(tmp_path):
    """A workspace with members, a role taken away, a quorum change, decisions and a commit; closed."""
    workspace = make_workspace(tmp_path)
    store = workspace.store
    governance.remove_role(store, "Cy", "reviewer", actor="admin")
    governance.set_quorum(store, {"guideline": 2}, actor="admin")
    root = propose(workspace, "root_rule", ("Line one", "Line 1"), title="Root")
    governance.decide(store, root.id, "adopt", "Ana", "Clearer.")
    governance.decide(store, root.id, "adopt", "Ben", "Agreed.")
    guide = propose(workspace, "guide", ("Guidance text.", "Guidance, sharper."), title="Guide")
    governance.decide(store, guide.id, "defer", "Ana", "Needs a study.", "needs-research")
    committing.commit_adopted(workspace, "Eve")
    assert check_record(store) == []
    decision = governance.decisions_for(store, root.id)[0].id
    member = next(m.id for m in governance.list_members(store) if m.name == "Ana")
    workspace.close()
    return tmp_path / "ws", {"decisions": decision, "members": member, "quorum_settings": "guideline", "root": root.id}


def tamper(ws, sql, params=()):
    tamper_db(ws / "reviewer.db", sql, params)


def only_mismatch(ws):
    """The one mismatch verify finds, as (table, id, field, logged, stored)."""
    (found,) = mismatches(ws)
    return found.table, found.id, found.field, found.logged, found.stored


def import_sample(store):
    """Import the project's small Pol.is export under the key ``sample``; return the summary."""
    from reviewer.polis import import_polis
    from tests.datapaths import POLIS_SAMPLE

    return import_polis(store, POLIS_SAMPLE / "comments.csv", POLIS_SAMPLE / "participants-votes.csv", key="sample")


def first_of(ws, sql, params=()):
    """The first row a query reads from the workspace's database (plain sqlite3, as an auditor would)."""
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(ws / "reviewer.db")) as conn:
        return conn.execute(sql, params).fetchone()


def mismatches(ws):
    from reviewer.workspace import Workspace

    with Workspace.open(ws) as workspace:
        return check_record(workspace.store)


DECISION_FIELDS = {
    "rationale": "'rewritten'", "outcome": "'set_aside'", "reviewer": "'Mallory'", "reason_category": "'risk'",
    "proposal_id": "(SELECT id FROM proposals WHERE title = 'Guide')", "authority": "'guideline'", "quorum": "1",
    "status_after": "'adopted'", "spec_revision": "'0000000'", "commit_sha": "NULL",
    "evidence": "'{\"counts\": {}}'",
}


@pytest.mark.parametrize("column", sorted(DECISION_FIELDS))
def test_an_edited_decision_field_is_named(record, column):
    ws, ids = record
    tamper(ws, f"UPDATE decisions SET {column} = {DECISION_FIELDS[column]} WHERE id = ?", [ids["decisions"]])
    (found,) = mismatches(ws)
    # The evidence snapshot is checked through the digest its event carries.
    field = "evidence_sha256" if column == "evidence" else column
    assert (found.table, found.id, found.field) == ("decisions", ids["decisions"], field)
    assert found.logged != found.stored


@pytest.mark.parametrize(("table", "column", "value"), [
    ("members", "name", "'Anna'"), ("members", "roles", "'[\"reviewer\", \"editor\"]'"),
    ("quorum_settings", "quorum", "1"),
])
def test_an_edited_member_or_quorum_is_named(record, table, column, value):
    ws, ids = record
    key = "level" if table == "quorum_settings" else "id"
    tamper(ws, f"UPDATE {table} SET {column} = {value} WHERE {key} = ?", [ids[table]])
    (found,) = mismatches(ws)
    assert (found.table, found.id) == (table, ids[table])
    assert found.field == ("quorum" if table == "quorum_settings" else column)


@pytest.mark.parametrize("table", ["decisions", "members", "quorum_settings"])
def test_a_deleted_row_is_named(record, table):
    ws, ids = record
    key = "level" if table == "quorum_settings" else "id"
    if table == "members":
        tamper(ws, "DELETE FROM member_role_changes WHERE member_id = ?", [ids[table]])
    tamper(ws, f"DELETE FROM {table} WHERE {key} = ?", [ids[table]])
    (found,) = mismatches(ws)
    assert (found.table, found.id, found.field, found.stored) == (table, ids[table], "row", MISSING)


@pytest.mark.parametrize(("table", "sql"), [
    ("decisions", "INSERT INTO decisions (id, proposal_id, outcome, rationale, reviewer, decided_at)"
                  " SELECT 'forged', id, 'adopt', 'Yes.', 'Ben', '2030-01-01T00:00:00Z' FROM proposals LIMIT 1"),
    ("members", "INSERT INTO members (id, name, roles, created_at) VALUES ('forged', 'Mallory', '[\"reviewer\"]',"
                " '2030-01-01T00:00:00Z')"),
])
def test_an_inserted_row_is_named(record, table, sql):
    ws, _ids = record
    tamper(ws, sql)
    (found,) = mismatches(ws)
    assert (found.table, found.id, found.logged) == (table, "forged", NOT_LOGGED)


def test_audit_verify_exits_1_naming_table_id_field_and_both_values(record, capsys):
    ws, ids = record
    assert run(capsys, "audit", "verify", ws)[0] == 0
    tamper(ws, "UPDATE decisions SET rationale = 'Rewritten later.' WHERE id = ?", [ids["decisions"]])
    code, out, _ = run(capsys, "audit", "verify", ws)
    assert code == 1
    assert f"decisions {ids['decisions']}: rationale: logged 'Clearer.', stored 'Rewritten later.'" in out
    code, out, _ = run(capsys, "audit", "verify", ws, "--json")
    data = json.loads(out)
    assert code == 1 and data["ok"] is False and data["record"]["mismatches"] == [{
        "table": "decisions", "id": ids["decisions"], "field": "rationale",
        "logged": "Clearer.", "stored": "Rewritten later.",
    }]


# ---- property: whatever the app does, the record rebuilt from the log equals the live one ----------

NAMES = ("Ana", "Ben", "Cy", "Dee")
OPERATIONS = st.lists(st.one_of(
    st.tuples(st.just("add"), st.sampled_from(NAMES), st.sampled_from(["reviewer", "editor", "auditor"])),
    st.tuples(st.just("remove"), st.sampled_from(NAMES), st.sampled_from(["reviewer", "editor", "auditor"])),
    st.tuples(st.just("quorum"), st.sampled_from(["root", "user", "guideline", "none"]), st.integers(1, 3)),
    st.tuples(st.just("decide"), st.sampled_from(NAMES), st.sampled_from(["adopt", "defer", "set_aside"]),
              st.integers(0, 2)),
    st.tuples(st.just("commit"),),
    st.tuples(st.just("revise"), st.sampled_from(NAMES), st.integers(0, 2)),
    st.tuples(st.just("spec_moves"), st.integers(0, 2)),
    st.tuples(st.just("rebase"), st.sampled_from(NAMES), st.integers(0, 2)),
    st.tuples(st.just("confirm"), st.sampled_from(NAMES), st.integers(0, 2)),
    st.tuples(st.just("comment"), st.sampled_from(NAMES), st.integers(0, 2), st.booleans()),
), max_size=14)
SECTIONS = ("root_rule", "user_rule", "guide")
LAST_LINES = ("Line three of the root rule.", "Epsilon line.", None)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS)
def test_random_operations_replay_to_the_live_record(tmp_path_factory, operations):
    from reviewer.errors import KnownError

    workspace = make_workspace(tmp_path_factory.mktemp("ops"))
    store = workspace.store
    try:
        proposals = [
            propose(workspace, "root_rule", ("Line one", "Line 1"), title="Root"),
            propose(workspace, "user_rule", ("Beta line.", "Beta line, clearer."), title="User"),
            propose(workspace, "guide", ("Guidance text.", "Guidance, sharper."), title="Guide"),
        ]
        for op in operations:
            try:
                if op[0] == "add":
                    governance.add_member(store, op[1], [op[2]], actor="admin")
                elif op[0] == "remove":
                    governance.remove_role(store, op[1], op[2], actor="admin")
                elif op[0] == "quorum":
                    governance.set_quorum(store, {op[1]: op[2]}, actor="admin")
                elif op[0] == "decide":
                    reason = None if op[2] == "adopt" else ("needs-research" if op[2] == "defer" else "risk")
                    governance.decide(store, proposals[op[3]].id, op[2], op[1], f"{op[1]} says {op[2]}.", reason)
                elif op[0] == "revise":
                    now = store.get_proposal(proposals[op[2]].id).sections[0]
                    revisions.revise(workspace, proposals[op[2]].id, actor=op[1],
                                     changes=[(now.section_id, now.new_text + f"Revised by {op[1]}.\n")])
                elif op[0] == "spec_moves" and LAST_LINES[op[1]]:
                    text = workspace.load_spec().text
                    line = LAST_LINES[op[1]]
                    if line in text:  # a later line of the section changes outside the app
                        commit_file(workspace.spec_repo_path, "model_spec.md", text.replace(line, line + " (moved)"))
                elif op[0] == "rebase":
                    revisions.rebase(workspace, proposals[op[2]].id, actor=op[1])
                elif op[0] == "confirm":
                    governance.confirm_vote(workspace, proposals[op[2]].id, op[1])
                elif op[0] == "comment":
                    comment = discussion.add_comment(store, proposals[op[2]].id, f"@Ana what do you think, {op[1]}?",
                                                    actor=op[1], section_id=SECTIONS[op[2]])
                    if op[3]:
                        discussion.set_resolved(store, comment.thread_id, True, actor=op[1])
                else:
                    committing.commit_adopted(workspace, "Eve")
            except KnownError:
                pass  # refused (no such role, already committed, ...): nothing was written, nothing logged
        assert check_record(store) == []
        # And the record rebuilt from the log alone is the live one (revisions and discussion included).
        from reviewer.rebuild import rebuild_workspace

        report = rebuild_workspace(workspace, workspace.root.parent / "rebuilt.db")
        assert report.mismatches == () and report.left_out == ()
    finally:
        workspace.close()


@pytest.fixture(scope="module")
def evidence_template(tmp_path_factory, _demo_template):
    """The demo with the Pol.is sample and a second ranker run that ranks every conversation the other way round."""
    import shutil
    import uuid

    from reviewer.formats import export_rankings, import_rankings
    from reviewer.workspace import Workspace

    path = tmp_path_factory.mktemp("evidence-template") / "ws"
    shutil.copytree(_demo_template, path, symlinks=True)
    with Workspace.open(path) as workspace:
        import_sample(workspace.store)
        rankings = path.parent / "rankings.jsonl"
        export_rankings(workspace.store, rankings)
        run_id = str(uuid.uuid4())
        lines = []
        for line in map(json.loads, rankings.read_text().splitlines()):
            line.update(run_id=run_id, ranking=">".join(reversed(line["ranking"].split(">"))),
                        created_at="2030-01-01T00:00:00Z")
            lines.append(json.dumps(line))
        rankings.write_text("\n".join(lines) + "\n")
        import_rankings(workspace, rankings)
        runs = [r[0] for r in workspace.store.db.execute("SELECT id FROM ranker_runs ORDER BY created_at")]
    return path, runs


EVIDENCE_OPERATIONS = st.lists(st.one_of(
    st.tuples(st.just("link"), st.integers(0, 3), st.integers(0, 2)),
    st.tuples(st.just("unlink"), st.integers(0, 3), st.integers(0, 2)),
    st.tuples(st.just("stance"), st.integers(0, 3), st.integers(0, 2), st.sampled_from(["supports", "refutes"])),
    st.tuples(st.just("rule"), st.integers(0, 2), st.integers(0, 1)),
    st.tuples(st.just("groups"), st.sampled_from(["ca1", "polis"]), st.integers(0, 3), st.integers(2, 4)),
), max_size=10)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=EVIDENCE_OPERATIONS)
def test_random_links_labels_and_rule_runs_replay_and_rebuild_to_the_live_record(
    tmp_path_factory, evidence_template, operations
):
    import shutil

    from reviewer.errors import KnownError
    from reviewer.evidence import apply_ranking_rule, link_statement, set_stance, unlink_statement
    from reviewer.groups import GroupParams, compute_groups
    from reviewer.polis import statement_id
    from reviewer.rebuild import rebuild_workspace
    from reviewer.workspace import Workspace
    from tests.datapaths import REFUTED, SPLIT_BY_COUNTRY, SUPPORTED

    template, runs = evidence_template
    folder = tmp_path_factory.mktemp("evidence-ops")
    shutil.copytree(template, folder / "ws", symlinks=True)
    proposals = [SUPPORTED, REFUTED, SPLIT_BY_COUNTRY]
    statements = [statement_id("sample", str(n)) for n in (33, 32, 31, 30)]
    with Workspace.open(folder / "ws") as workspace:
        store = workspace.store
        for op in operations:
            try:
                if op[0] == "link":
                    link_statement(store, proposals[op[2]], statements[op[1]], "Amara Okafor")
                elif op[0] == "unlink":
                    unlink_statement(store, proposals[op[2]], statements[op[1]], "Jonas Lindqvist")
                elif op[0] == "stance":
                    set_stance(store, proposals[op[2]], statements[op[1]], op[3], "Jonas Lindqvist")
                elif op[0] == "groups":  # opinion groups, their members and places, and the run's event
                    compute_groups(store, op[1], params=GroupParams(seed=op[2], k_max=op[3]), actor="Amara Okafor",
                                   force=True)
                else:
                    apply_ranking_rule(store, proposals[op[1]], run_id=runs[op[2]])
            except KnownError:
                pass  # refused (already linked, not linked, ...): nothing was written, nothing logged
        assert check_record(store) == []
        report = rebuild_workspace(workspace, folder / "rebuilt.db")
        assert report.ok and report.left_out == (), (report.mismatches[:3], report.left_out)


@pytest.mark.parametrize("page", [40, 600])  # a page of crowd data (opens fine), another one
def test_verify_on_a_damaged_database_file_says_so_in_one_line(demo_workspace, capsys, page):
    # The chain and the tables it checks may read fine while other pages are garbage: quick_check first.
    path = demo_workspace / "reviewer.db"
    data = bytearray(path.read_bytes())
    data[4096 * page:4096 * page + 3000] = b"\x41" * 3000
    path.write_bytes(bytes(data))
    code, out, err = run(capsys, "audit", "verify", demo_workspace)
    assert code == 1 and out == ""
    (line,) = err.strip().splitlines()
    assert "damaged" in line and "backup" in line and "Traceback" not in err


@pytest.mark.parametrize(("sql", "field"), [
    ("UPDATE proposals SET title = 'Quietly retitled' WHERE id = ?", "title"),
    ("UPDATE proposals SET intent = 'Another intent.' WHERE id = ?", "intent"),
    ("UPDATE proposals SET kind = 'principle' WHERE id = ?", "kind"),
    ("UPDATE proposal_sections SET new_text = new_text || 'A sentence slipped in.' WHERE proposal_id = ?", "sections"),
    ("UPDATE proposal_sections SET base_text = 'x' WHERE proposal_id = ?", "sections"),
])
def test_an_edited_proposal_or_its_text_is_named(record, sql, field):
    ws, ids = record
    tamper(ws, sql, [ids["root"]])
    (found,) = mismatches(ws)
    assert (found.table, found.id, found.field) == ("proposals", ids["root"], field)


def test_a_proposal_inserted_by_hand_is_named(record):
    ws, _ids = record
    tamper(ws, "INSERT INTO proposals (id, title, intent, kind, origin, base_revision, created_at, created_by)"
               " SELECT 'forged', 'Forged', 'x', kind, origin, base_revision, created_at, 'Mallory' FROM proposals LIMIT 1")
    (found,) = mismatches(ws)
    assert (found.table, found.id, found.logged) == ("proposals", "forged", NOT_LOGGED)


@pytest.fixture
def labelled(demo_workspace):
    """The demo with one label set by a person in the app; closed."""
    from reviewer.evidence import evidence_links, set_stance
    from reviewer.workspace import Workspace
    from tests.datapaths import SUPPORTED

    with Workspace.open(demo_workspace) as workspace:
        (link,) = evidence_links(workspace.store, SUPPORTED, stance="supports", limit=1)
        label = set_stance(workspace.store, SUPPORTED, link.justification_id, "refutes", "Jonas Lindqvist")
        assert check_record(workspace.store) == []
    return demo_workspace, label.id


@pytest.mark.parametrize(("sql", "field"), [
    ("UPDATE stance_labels SET stance = 'supports' WHERE id = ?", "stance"),
    ("UPDATE stance_labels SET source_name = 'Amara Okafor' WHERE id = ?", "source_name"),
    ("DELETE FROM stance_labels WHERE id = ?", "row"),
])
def test_a_persons_label_edited_or_deleted_is_named(labelled, sql, field):
    ws, label_id = labelled
    tamper(ws, sql, [label_id])
    (found,) = mismatches(ws)
    assert (found.table, found.id, found.field) == ("stance_labels", label_id, field)


def test_a_persons_label_forged_by_hand_is_named(labelled):
    ws, label_id = labelled
    tamper(ws, "INSERT INTO stance_labels (id, proposal_id, justification_id, stance, source_kind, source_name,"
               " detail, created_at) SELECT 'forged', proposal_id, justification_id, 'supports', 'person', 'Mallory',"
               " '{}', created_at FROM stance_labels WHERE id = ?", [label_id])
    (found,) = mismatches(ws)
    assert (found.table, found.id, found.logged) == ("stance_labels", "forged", NOT_LOGGED)


def test_a_persons_label_brought_in_by_an_import_is_logged_and_replayed(labelled, tmp_path):
    import uuid

    from reviewer.formats import export_stances, import_stances
    from reviewer.workspace import Workspace

    ws, label_id = labelled
    with Workspace.open(ws) as workspace:
        out = tmp_path / "stances.jsonl"
        export_stances(workspace.store, out)
        line = next(json.loads(x) for x in out.read_text().splitlines() if json.loads(x)["id"] == label_id)
        line.update(id=str(uuid.uuid4()), stance="no_comment", supersedes=label_id, created_at=None)
        (tmp_path / "more.jsonl").write_text(json.dumps(line) + "\n")
        import_stances(workspace.store, tmp_path / "more.jsonl", actor="Jonas Lindqvist")
        assert check_record(workspace.store) == []
    tamper(ws, "UPDATE stance_labels SET stance = 'supports' WHERE id = ?", [line["id"]])
    (found,) = mismatches(ws)
    assert (found.table, found.id, found.field, found.logged) == ("stance_labels", line["id"], "stance", "no_comment")


# ---- hand links ---------------------------------------------------------------------------------------

@pytest.fixture
def linked(demo_workspace):
    """The demo with a Pol.is export, one statement linked by hand and another linked then unlinked; closed."""
    from reviewer.evidence import link_statement, unlink_statement
    from reviewer.polis import statement_id
    from reviewer.workspace import Workspace
    from tests.datapaths import SUPPORTED

    with Workspace.open(demo_workspace) as workspace:
        store = workspace.store
        import_sample(store)
        kept, dropped = statement_id("sample", "33"), statement_id("sample", "32")
        link_statement(store, SUPPORTED, kept, "Jonas Lindqvist", note="on point")
        link_statement(store, SUPPORTED, dropped, "Jonas Lindqvist")
        unlink_statement(store, SUPPORTED, dropped, "Amara Okafor", note="off topic")
        assert check_record(store) == []
        rows = {(r[1], r[2]): r[0] for r in store.db.execute(
            "SELECT id, justification_id, action FROM evidence_hand_links")}
    return demo_workspace, {"link": rows[(kept, "link")], "unlink": rows[(dropped, "unlink")], "kept": kept,
                            "dropped": dropped}


@pytest.mark.parametrize(("which", "column", "value", "logged"), [
    ("link", "note", "'beside the point'", "on point"),
    ("link", "person", "'Mallory'", "Jonas Lindqvist"),
    ("link", "action", "'unlink'", "link"),
    ("unlink", "action", "'link'", "unlink"),
    ("unlink", "created_at", "'2030-01-01T00:00:00.000000Z'", None),
    ("unlink", "proposal_id", f"'{'c8e03b72-9d6a-4f1e-b527-3a0f84c6d915'}'", "3f6c2a8e-5b1d-4e7a-9c24-8d1e0f7b6a53"),
])
def test_an_edited_hand_link_is_named_with_both_values(linked, which, column, value, logged):
    ws, ids = linked
    tamper(ws, f"UPDATE evidence_hand_links SET {column} = {value} WHERE id = ?", [ids[which]])
    (found,) = mismatches(ws)
    assert (found.table, found.id, found.field) == ("evidence_hand_links", ids[which], column)
    assert found.stored == value.strip("'") and found.logged != found.stored
    if logged is not None:
        assert found.logged == logged


def test_a_hand_link_deleted_or_moved_to_another_statement_is_named(linked):
    ws, ids = linked
    tamper(ws, "UPDATE evidence_hand_links SET justification_id = ? WHERE id = ?", [ids["dropped"], ids["link"]])
    assert only_mismatch(ws) == (
        "evidence_hand_links", ids["link"], "justification_id", ids["kept"], ids["dropped"])
    tamper(ws, "DELETE FROM evidence_hand_links WHERE id = ?", [ids["unlink"]])
    found = mismatches(ws)
    assert ("evidence_hand_links", ids["unlink"], "row", "(logged)", MISSING) in [
        (m.table, m.id, m.field, m.logged, m.stored) for m in found]


def test_a_hand_link_inserted_by_hand_is_named(linked):
    ws, ids = linked
    tamper(ws, "INSERT INTO evidence_hand_links (id, proposal_id, justification_id, action, person, note, created_at)"
               " SELECT 'forged', proposal_id, justification_id, 'link', 'Mallory', NULL, created_at"
               " FROM evidence_hand_links WHERE id = ?", [ids["unlink"]])
    assert only_mismatch(ws) == (
        "evidence_hand_links", "forged", "row", NOT_LOGGED, "(present)")


def test_links_logged_before_their_rows_were_match_by_what_they_say(demo_workspace):
    from reviewer import audit
    from reviewer.polis import statement_id
    from reviewer.workspace import Workspace
    from tests.datapaths import SUPPORTED

    with Workspace.open(demo_workspace) as workspace:
        store = workspace.store
        import_sample(store)
        statement = statement_id("sample", "33")
        with store.db.atomic():  # as the app wrote a link before its events carried the row
            store.db.execute("INSERT INTO evidence_hand_links (id, proposal_id, justification_id, action, person,"
                             " note, created_at) VALUES ('old', ?, ?, 'link', 'Jonas Lindqvist', NULL, 'then')",
                             [SUPPORTED, statement])
            audit.append_event(store.db, actor="Jonas Lindqvist", action="evidence.link", object_type="proposal",
                               object_id=SUPPORTED, payload={"justification_id": statement, "note": None})
        assert check_record(store) == []
    tamper(demo_workspace, "INSERT INTO evidence_hand_links (id, proposal_id, justification_id, action, person,"
                           " note, created_at) VALUES ('forged', ?, ?, 'link', 'Jonas Lindqvist', NULL, 'then')",
           [SUPPORTED, statement])
    (found,) = mismatches(demo_workspace)
    assert (found.table, found.id, found.logged) == ("evidence_hand_links", "forged", NOT_LOGGED)


# ---- imported crowd rows: each import's event carries the digest of the rows it wrote ----------------

@pytest.fixture
def imported(demo_workspace):
    """The demo (its CA-1 import) with the Pol.is sample imported too; closed. Returns the import ids."""
    from reviewer.workspace import Workspace

    with Workspace.open(demo_workspace) as workspace:
        store = workspace.store
        polis = import_sample(store)
        ca1 = store.db.execute("SELECT object_id FROM audit_events WHERE action = 'import.ca1'").fetchone()[0]
        assert check_record(store) == []
    return demo_workspace, {"ca1": ca1, "polis": polis.import_id}


# table -> (the import that wrote the row tampered with, a row of it, a column, a new value)
_VOTE = "(statement_id, participant_id) = (SELECT statement_id, participant_id FROM votes WHERE import_id = ? LIMIT 1)"
_FIRST = "rowid = (SELECT min(rowid) FROM {table} WHERE import_id = ?)"
CROWD_EDITS = {
    "conversations": ("ca1", _FIRST, "prompt", "'{\"messages\": []}'"),
    "participants": ("ca1", _FIRST, "demographics", "'{\"country_of_residence\": \"Atlantis\"}'"),
    "assessments": ("ca1", _FIRST, "world_ranking", "'D>C>B>A'"),
    "justifications": ("ca1", _FIRST, "text", "'Said something else.'"),
    "polis_statements": ("polis", _FIRST, "agrees", "agrees + 100"),
    "votes": ("polis", _VOTE, "vote", "CASE vote WHEN 1 THEN -1 ELSE 1 END"),
}


def import_counts(ws, table, import_id):
    return first_of(ws, f"SELECT count(*) FROM {table} WHERE import_id = ?", [import_id])[0]


@pytest.mark.parametrize("table", sorted(CROWD_EDITS))
def test_an_edited_imported_row_is_named_by_its_table_and_import(imported, table):
    ws, ids = imported
    which, where, column, value = CROWD_EDITS[table]
    tamper(ws, f"UPDATE {table} SET {column} = {value} WHERE {where.format(table=table)}", [ids[which]])
    (found,) = mismatches(ws)
    assert (found.table, found.id, found.field) == (table, f"import {ids[which]}", "sha256")
    assert len(found.logged) == len(found.stored) == 64 and found.logged != found.stored


@pytest.mark.parametrize("table", sorted(CROWD_EDITS))
def test_a_deleted_imported_row_is_named_by_its_table_and_import(imported, table):
    ws, ids = imported
    which, where, _column, _value = CROWD_EDITS[table]
    before = import_counts(ws, table, ids[which])
    tamper(ws, f"DELETE FROM {table} WHERE {where.format(table=table)}", [ids[which]])
    assert only_mismatch(ws) == (
        table, f"import {ids[which]}", "rows", before, before - 1)


CROWD_INSERTS = {
    "conversations": ("INSERT INTO conversations (id, source, source_id, prompt, responses, created_at)"
                      " VALUES ('forged', 'ca1', 'forged', '{}', '[]', 'now')"),
    "participants": ("INSERT INTO participants (id, source, source_id, created_at)"
                     " VALUES ('forged', 'ca1', 'forged', 'now')"),
    "assessments": ("INSERT INTO assessments (id, conversation_id, participant_id, world_ranking, created_at)"
                    " SELECT 'forged', conversation_id, 'forged-participant', 'A>B>C>D', 'now' FROM assessments LIMIT 1"),
    "justifications": ("INSERT INTO justifications (id, assessment_id, block, text, created_at)"
                       " SELECT 'forged', id, 'world', 'A forged reason.', 'now' FROM assessments LIMIT 1"),
    "polis_statements": ("INSERT INTO polis_statements (justification_id, conversation_key, comment_id)"
                         " VALUES ('forged', 'sample', '999')"),
    "votes": "INSERT INTO votes (statement_id, participant_id, vote) VALUES ('forged', 'forged-participant', 1)",
}


@pytest.mark.parametrize("table", sorted(CROWD_INSERTS))
def test_a_row_inserted_without_an_import_is_named_by_its_key(imported, table):
    ws, _ids = imported
    tamper(ws, CROWD_INSERTS[table])
    (found,) = mismatches(ws)
    key = "forged forged-participant" if table == "votes" else "forged"
    assert (found.table, found.id, found.field, found.logged, found.stored) == (
        table, key, "row", NOT_LOGGED, "(present)")


def test_a_row_slipped_into_an_import_or_named_after_an_unknown_one_is_counted(imported):
    ws, ids = imported
    before = import_counts(ws, "assessments", ids["ca1"])
    tamper(ws, CROWD_INSERTS["assessments"])
    tamper(ws, "UPDATE assessments SET import_id = ? WHERE id = 'forged'", [ids["ca1"]])
    tamper(ws, CROWD_INSERTS["votes"])
    tamper(ws, "UPDATE votes SET import_id = 'made-up' WHERE statement_id = 'forged'")
    assert [(m.table, m.id, m.field, m.logged, m.stored) for m in mismatches(ws)] == [
        ("assessments", f"import {ids['ca1']}", "rows", before, before + 1),
        ("votes", "import made-up", "rows", NOT_LOGGED, 1),
    ]


def test_importing_the_same_files_again_adds_nothing_and_verifies(imported):
    from reviewer.ca1 import import_ca1
    from reviewer.workspace import Workspace
    from tests.datapaths import DEMO, POLIS_SAMPLE

    ws, ids = imported
    with Workspace.open(ws) as workspace:
        store = workspace.store
        again = import_ca1(store, [DEMO / "ca1" / "comparisons.jsonl", DEMO / "ca1" / "annotators.jsonl"])
        assert sum(again.added.values()) == 0
        polis = import_sample(store)
        assert sum(polis.added.values()) + sum(polis.updated.values()) == 0
        event = json.loads(store.db.execute("SELECT payload FROM audit_events ORDER BY seq DESC LIMIT 1").fetchone()[0])
        assert {t: d["rows"] for t, d in event["digests"].items()} == dict.fromkeys(
            ("conversations", "participants", "assessments", "justifications", "polis_statements", "votes"), 0)
        assert [f["sha256"] for f in event["files"]] == [
            digests.file_sha256(POLIS_SAMPLE / "comments.csv"),
            digests.file_sha256(POLIS_SAMPLE / "participants-votes.csv")]
        assert check_record(store) == []


def test_a_later_export_that_rewrites_rows_logs_what_the_earlier_import_keeps(imported, tmp_path):
    import csv
    import shutil

    from reviewer.polis import import_polis, participant_id
    from reviewer.workspace import Workspace
    from tests.datapaths import POLIS_SAMPLE

    ws, ids = imported
    later = tmp_path / "later"
    shutil.copytree(POLIS_SAMPLE, later)
    with open(later / "participants-votes.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    rows[1][2] = "1"  # participant 1 moved to another opinion group
    rows[1][7] = "1"  # and changed their vote on comment 0
    with open(later / "participants-votes.csv", "w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    with Workspace.open(ws) as workspace:
        summary = import_polis(workspace.store, later / "comments.csv", later / "participants-votes.csv",
                               key="sample")
        assert summary.updated["participants"] == 1 and summary.updated["votes"] == 1
        event = json.loads(workspace.store.db.execute(
            "SELECT payload FROM audit_events ORDER BY seq DESC LIMIT 1").fetchone()[0])
        assert sorted(event["rewrote"][ids["polis"]]) == ["participants", "votes"]
        assert check_record(workspace.store) == []
    moved = participant_id("sample", "1")
    tamper(ws, "UPDATE participants SET demographics = '{}' WHERE id = ?", [moved])
    tamper(ws, "UPDATE participants SET demographics = '{}' WHERE id = ?", [participant_id("sample", "2")])
    assert sorted((m.table, m.id, m.field) for m in mismatches(ws)) == sorted([
        ("participants", f"import {ids['polis']}", "sha256"),
        ("participants", f"import {summary.import_id}", "sha256"),
    ])


# ---- rule runs, the product's own formats and judge jobs: labels and grades vouched for by digest -------

@pytest.mark.parametrize(("sql", "field", "change"), [
    ("UPDATE stance_labels SET stance = CASE stance WHEN 'supports' THEN 'refutes' ELSE 'supports' END"
     " WHERE id = ?", "sha256", 0),
    ("UPDATE stance_labels SET detail = json_set(detail, '$.ranker_ranking', 'A>B>C>D') WHERE id = ?", "sha256", 0),
    ("DELETE FROM stance_labels WHERE id = ?", "rows", -1),
    ("INSERT INTO stance_labels (id, proposal_id, justification_id, stance, source_kind, source_name, detail,"
     " created_at, written_by) SELECT 'forged', proposal_id, justification_id, 'supports', 'rule', source_name,"
     " detail, created_at, written_by FROM stance_labels WHERE id = ?", "rows", 1),
])
def test_a_rule_label_edited_deleted_or_slipped_into_a_run_is_named_by_its_run(demo_workspace, sql, field, change):
    label_id, run = first_of(demo_workspace, "SELECT id, written_by FROM stance_labels WHERE source_kind = 'rule'")
    before = first_of(demo_workspace, "SELECT count(*) FROM stance_labels WHERE written_by = ?", [run])[0]
    tamper(demo_workspace, sql, [label_id])
    (found,) = mismatches(demo_workspace)
    assert (found.table, found.id, found.field) == ("stance_labels", f"rule run {run}", field)
    if field == "rows":
        assert (found.logged, found.stored) == (before, before + change)
    else:
        assert found.logged != found.stored


def test_a_rule_label_outside_any_run_is_named(demo_workspace):
    label_id = first_of(demo_workspace, "SELECT id FROM stance_labels WHERE source_kind = 'rule'")[0]
    tamper(demo_workspace, "INSERT INTO stance_labels (id, proposal_id, justification_id, stance, source_kind,"
                           " source_name, detail, created_at) SELECT 'forged', proposal_id, justification_id,"
                           " 'supports', 'rule', source_name, detail, created_at FROM stance_labels WHERE id = ?",
           [label_id])
    assert only_mismatch(demo_workspace) == (
        "stance_labels", "forged", "row", NOT_LOGGED, "(present)")


def test_a_rule_runs_event_carries_the_digest_of_the_labels_it_added(demo_workspace):
    from reviewer.evidence import apply_ranking_rule
    from reviewer.workspace import Workspace
    from tests.datapaths import SUPPORTED

    with Workspace.open(demo_workspace) as workspace:
        store = workspace.store
        assert apply_ranking_rule(store, SUPPORTED).added == 0  # the same inputs: nothing new, no event
        event = json.loads(store.db.execute(
            "SELECT payload FROM audit_events WHERE action = 'evidence.rule' AND object_id = ?", [SUPPORTED]
        ).fetchone()[0])
        run = event["rule_run_id"]
        stored = digests.writer_rows(store.db.conn, "stance_labels", run)
        assert event["labels"] == digests.rows_digest(stored).to_json() and len(stored) == event["added"]


@pytest.mark.parametrize(("table", "sql", "field"), [
    ("relevance_grades", "UPDATE relevance_grades SET grade = 6 - grade WHERE rowid ="
                         " (SELECT min(rowid) FROM relevance_grades)", "sha256"),
    ("relevance_grades", "DELETE FROM relevance_grades WHERE rowid = (SELECT min(rowid) FROM relevance_grades)",
     "rows"),
    ("ranker_rankings", "UPDATE ranker_rankings SET reason = 'Other reasons.' WHERE rowid ="
                        " (SELECT min(rowid) FROM ranker_rankings)", "sha256"),
    ("ranker_rankings", "DELETE FROM ranker_rankings WHERE rowid = (SELECT max(rowid) FROM ranker_rankings)", "rows"),
    ("relevance_grades", "INSERT INTO relevance_grades (id, conversation_id, section_id, grade, grader_kind, grader,"
                         " created_at, import_id) SELECT 'forged', conversation_id, 'another_section', 5, grader_kind,"
                         " grader, created_at, import_id FROM relevance_grades LIMIT 1", "rows"),
    ("ranker_runs", "UPDATE ranker_runs SET model = 'another-model'", "sha256"),
])
def test_rows_imported_in_the_products_formats_are_vouched_for_by_their_import(demo_workspace, table, sql, field):
    import_id = first_of(demo_workspace, f"SELECT import_id FROM {table}")[0]
    tamper(demo_workspace, sql)
    (found,) = mismatches(demo_workspace)
    assert (found.table, found.id, found.field) == (table, f"import {import_id}", field)


def test_model_labels_imported_are_vouched_for_by_their_import(labelled, tmp_path):
    from reviewer.formats import import_stances
    from reviewer.workspace import Workspace
    from tests.datapaths import SUPPORTED

    ws, label_id = labelled
    with Workspace.open(ws) as workspace:
        store = workspace.store
        justification = store.db.execute("SELECT justification_id FROM stance_labels WHERE id = ?",
                                          [label_id]).fetchone()[0]
        line = {"proposal_id": SUPPORTED, "justification": {"block": "statement", "id": justification},
                "stance": "refutes", "source_kind": "model", "source_name": "gpt-x", "prompt_version": "stance-v1",
                "confidence": 0.7, "detail": {"reason": "r"}, "created_at": "2026-01-01T00:00:00Z"}
        (tmp_path / "s.jsonl").write_text(json.dumps(line) + "\n")
        import_stances(store, tmp_path / "s.jsonl")
        assert check_record(store) == []
        imported_id, import_id = store.db.execute(
            "SELECT id, written_by FROM stance_labels WHERE source_kind = 'model'").fetchone()
    tamper(ws, "UPDATE stance_labels SET confidence = 0.1 WHERE id = ?", [imported_id])
    (found,) = mismatches(ws)
    assert (found.table, found.id, found.field) == ("stance_labels", f"import {import_id}", "sha256")


@pytest.fixture
def judged(demo_workspace):
    """The demo with a stance job run by the fake judge whose judge.finish carries its result digest; closed."""
    from reviewer.judges.fake import FakeJudge
    from reviewer.judges.items import stance_items
    from reviewer.judges.running import run_items
    from reviewer.modelconfig import ModelConfig
    from reviewer.workspace import Workspace
    from tests.datapaths import SUPPORTED

    with Workspace.open(demo_workspace) as workspace:
        store = workspace.store
        summary = run_items(store, stance_items(store, proposal_id=SUPPORTED, limit=4), FakeJudge(),
                            ModelConfig(model="fake-judge"))
        assert summary.stored == 4
        (payload,) = store.db.execute(
            "SELECT payload FROM audit_events WHERE action = 'judge.finish' AND object_id = ?", [summary.job_id]
        ).fetchone()
        # The job's own finish event vouches for what it stored.
        assert json.loads(payload)["result_digest"] == digests.judge_job_digest(store.db.conn, summary.job_id)
        assert check_record(store) == []
    return demo_workspace, summary.job_id


def test_a_label_a_judge_job_stored_edited_or_deleted_is_named_by_the_job(judged):
    import sqlite3
    from contextlib import closing

    ws, job = judged
    label_id = first_of(ws, "SELECT id FROM stance_labels WHERE source_kind = 'model'")[0]
    tamper(ws, "UPDATE stance_labels SET stance = CASE stance WHEN 'supports' THEN 'refutes' ELSE 'supports' END"
               " WHERE id = ?", [label_id])
    (found,) = mismatches(ws)
    assert (found.table, found.id, found.field) == ("stance_labels", f"judge job {job}", "result_digest")
    assert found.logged != found.stored
    tamper(ws, "DELETE FROM stance_labels WHERE id = ?", [label_id])
    (found,) = mismatches(ws)
    with closing(sqlite3.connect(ws / "reviewer.db")) as conn:
        assert (found.id, found.stored) == (f"judge job {job}", digests.judge_job_digest(conn, job))


def test_a_model_label_of_no_judge_job_is_named(judged):
    ws, job = judged
    label_id = first_of(ws, "SELECT id FROM stance_labels WHERE source_kind = 'model'")[0]
    for forged, detail in (("forged-1", "'{}'"), ("forged-2", "json_object('job_id', 'no-such-job')"),
                           ("forged-3", f"json_object('job_id', '{job}')")):
        tamper(ws, "INSERT INTO stance_labels (id, proposal_id, justification_id, stance, source_kind, source_name,"
                   f" detail, created_at) SELECT ?, proposal_id, justification_id, stance, 'model', source_name,"
                   f" {detail}, created_at FROM stance_labels WHERE id = ?", [forged, label_id])
    assert [(m.table, m.id, m.logged) for m in mismatches(ws)] == [
        ("stance_labels", f"forged-{i}", NOT_LOGGED) for i in (1, 2, 3)]


def test_a_judge_job_resumed_after_its_digest_is_not_checked_until_it_finishes_again(judged):
    from reviewer import audit
    from reviewer.workspace import Workspace

    ws, job = judged
    with Workspace.open(ws) as workspace, audit.anchored(workspace.store.db):
        audit.append_event(workspace.store.db, actor="spec-review", action="judge.resume", object_type="judge_job",
                           object_id=job, payload={"task": "stance"})
    tamper(ws, "UPDATE stance_labels SET confidence = 0 WHERE source_kind = 'model'")
    assert mismatches(ws) == []


def test_a_hand_link_a_stance_import_made_is_logged_and_replayed(demo_workspace, tmp_path):
    from reviewer.formats import import_stances
    from reviewer.polis import statement_id
    from reviewer.workspace import Workspace
    from tests.datapaths import SUPPORTED

    with Workspace.open(demo_workspace) as workspace:
        store = workspace.store
        import_sample(store)
        line = {"proposal_id": SUPPORTED, "justification": {"block": "statement", "id": statement_id("sample", "31")},
                "stance": "supports", "source_kind": "person", "source_name": "Jonas Lindqvist"}
        (tmp_path / "s.jsonl").write_text(json.dumps(line) + "\n")
        assert import_stances(store, tmp_path / "s.jsonl", actor="Amara Okafor").details["linked"] == 1
        assert check_record(store) == []
        link_id = store.db.execute("SELECT id FROM evidence_hand_links").fetchone()[0]
    tamper(demo_workspace, "UPDATE evidence_hand_links SET person = 'Mallory' WHERE id = ?", [link_id])
    assert only_mismatch(demo_workspace) == ("evidence_hand_links", link_id, "person", "Amara Okafor", "Mallory")
