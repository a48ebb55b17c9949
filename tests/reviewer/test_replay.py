"""audit verify replays the log and finds any edit, deletion or insertion in the governance tables."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reviewer import committing, governance
from reviewer.replay import MISSING, NOT_LOGGED, check_record
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
), max_size=14)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
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
                else:
                    committing.commit_adopted(workspace, "Eve")
            except KnownError:
                pass  # refused (no such role, already committed, ...): nothing was written, nothing logged
        assert check_record(store) == []
    finally:
        workspace.close()


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
    from reviewer.polis import import_polis, statement_id
    from reviewer.workspace import Workspace
    from tests.datapaths import POLIS_SAMPLE, SUPPORTED

    with Workspace.open(demo_workspace) as workspace:
        store = workspace.store
        import_polis(store, POLIS_SAMPLE / "comments.csv", POLIS_SAMPLE / "participants-votes.csv", key="sample")
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
    (found,) = mismatches(ws)
    assert (found.table, found.id, found.field, found.logged, found.stored) == (
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
    (found,) = mismatches(ws)
    assert (found.table, found.id, found.field, found.logged, found.stored) == (
        "evidence_hand_links", "forged", "row", NOT_LOGGED, "(present)")


def test_links_logged_before_their_rows_were_match_by_what_they_say(demo_workspace):
    from reviewer import audit
    from reviewer.polis import import_polis, statement_id
    from reviewer.workspace import Workspace
    from tests.datapaths import POLIS_SAMPLE, SUPPORTED

    with Workspace.open(demo_workspace) as workspace:
        store = workspace.store
        import_polis(store, POLIS_SAMPLE / "comments.csv", POLIS_SAMPLE / "participants-votes.csv", key="sample")
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
