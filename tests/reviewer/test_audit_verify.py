import json
import sqlite3

import pytest
from sqlite_utils import Database

from reviewer import audit, committing, governance
from reviewer.errors import KnownError
from reviewer.migrations import migrations
from reviewer.store import Store
from reviewer.workspace import Workspace
from tests.reviewer.test_governance import make_workspace, propose, run

# ---- an intruder with plain sqlite3 -------------------------------------------------------------


def intrude(tmp_path, *statements):
    """Change the database the way someone with the sqlite3 shell would: no app involved."""
    conn = sqlite3.connect(tmp_path / "ws" / "reviewer.db")
    for sql, params in statements:
        conn.execute(sql, params)
    conn.commit()
    conn.close()


def rows(tmp_path):
    conn = sqlite3.connect(tmp_path / "ws" / "reviewer.db")
    found = conn.execute(
        "SELECT seq, id, at, actor, action, object_type, object_id, payload, prev_hash, hash FROM audit_events ORDER BY seq"
    ).fetchall()
    conn.close()
    return found


def seal(seq, event_id, at, actor, action, otype, oid, payload, prev):
    return audit.event_hash(seq=seq, event_id=event_id, at=at, actor=actor, action=action, object_type=otype,
                            object_id=oid, payload_json=payload, prev_hash=prev)


def rewrite_from(tmp_path, start, change):
    """Alter event ``start`` with ``change(row) -> row`` and recompute every later hash, as a careful intruder would."""
    events = [list(r) for r in rows(tmp_path)]
    prev = events[start - 2][9] if start > 1 else audit.GENESIS_HASH
    statements = []
    for row in events[start - 1:]:
        if row[0] == start:
            row = list(change(row))
        row[8] = prev
        row[9] = seal(*row[:9])
        prev = row[9]
        statements.append(("UPDATE audit_events SET payload = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                           [row[7], row[8], row[9], row[0]]))
    statements.append(("UPDATE workspace_info SET value = ? WHERE key = 'audit_head'",
                       [json.dumps({"seq": events[-1][0], "hash": prev})]))
    intrude(tmp_path, *statements)
    return events[-1][0], prev


def workspace_with_events(tmp_path):
    workspace = make_workspace(tmp_path)
    proposal = propose(workspace, "root_rule", ("Line one", "Line 1"))
    governance.decide(workspace.store, proposal.id, "adopt", "Ana", "Clearer.")
    governance.decide(workspace.store, proposal.id, "adopt", "Ben", "Agreed.")
    workspace.close()
    return proposal


def verify(capsys, tmp_path, *extra):
    code, out, err = run(capsys, "audit", "verify", tmp_path / "ws", "--json", *extra)
    assert err == ""
    return code, json.loads(out)


# ---- verification ----------------------------------------------------------------------------------


def test_intact_log_verifies_with_its_anchors(tmp_path, capsys):
    workspace_with_events(tmp_path)
    code, data = verify(capsys, tmp_path)
    assert code == 0 and data["ok"] and data["events"] == 9 and data["first_bad"] is None
    sources = {a["source"]: a for a in data["anchors"]}
    assert sources["head record"]["seq"] == 9 and sources["anchor file audit-head.json"]["seq"] == 9
    assert all(a["ok"] for a in data["anchors"])
    head = f"{data['head']['seq']}:{data['head']['hash']}"
    code, data = verify(capsys, tmp_path, "--expect", head)
    assert code == 0 and data["anchors"][-1]["source"] == f"expected {head}"
    code, out, _ = run(capsys, "audit", "verify", tmp_path / "ws")
    assert code == 0 and "intact: 9 events" in out


def test_altered_event_is_named(tmp_path, capsys):
    workspace_with_events(tmp_path)
    intrude(tmp_path, ("UPDATE audit_events SET actor = 'Mallory' WHERE seq = 3", []))
    code, data = verify(capsys, tmp_path)
    assert code == 1 and data["first_bad"]["seq"] == 3 and "content" in data["first_bad"]["reason"]
    assert data["first_bad"]["id"] == rows(tmp_path)[2][1]


def test_removed_event_is_named(tmp_path, capsys):
    workspace_with_events(tmp_path)
    intrude(tmp_path, ("DELETE FROM audit_events WHERE seq = 4", []))
    code, data = verify(capsys, tmp_path)
    assert code == 1 and data["first_bad"]["seq"] == 5 and "removed" in data["first_bad"]["reason"]


def test_reordered_events_are_named(tmp_path, capsys):
    workspace_with_events(tmp_path)
    intrude(
        tmp_path,
        ("UPDATE audit_events SET seq = -1 WHERE seq = 3", []),
        ("UPDATE audit_events SET seq = 3 WHERE seq = 4", []),
        ("UPDATE audit_events SET seq = 4 WHERE seq = -1", []),
    )
    code, data = verify(capsys, tmp_path)
    assert code == 1 and data["first_bad"]["seq"] == 3 and "link" in data["first_bad"]["reason"]


def test_inserted_event_is_named(tmp_path, capsys):
    workspace_with_events(tmp_path)
    events = rows(tmp_path)
    # A forged event slipped in as event 4, correctly sealed to event 3; later events move up one.
    forged = [4, "f0f0f0f0-0000-4000-8000-000000000000", events[3][2], "Mallory", "decision.record", "decision",
              "x", "{}", events[2][9]]
    intrude(
        tmp_path,
        ("UPDATE audit_events SET seq = seq + 1000 WHERE seq >= 4", []),
        ("UPDATE audit_events SET seq = seq - 999 WHERE seq >= 1000", []),
        ("INSERT INTO audit_events VALUES (?,?,?,?,?,?,?,?,?,?)", [*forged, seal(*forged)]),
    )
    code, data = verify(capsys, tmp_path)
    assert code == 1 and data["first_bad"]["seq"] == 5 and "link" in data["first_bad"]["reason"]


def test_event_appended_with_a_made_up_hash_is_named(tmp_path, capsys):
    workspace_with_events(tmp_path)
    last = rows(tmp_path)[-1]
    intrude(tmp_path, ("INSERT INTO audit_events VALUES (?,?,?,?,?,?,?,?,?,?)",
                       [10, "e0e0e0e0-0000-4000-8000-000000000000", last[2], "Mallory", "x", "x", None, "{}",
                        last[9], "ab" * 32]))
    code, data = verify(capsys, tmp_path)
    assert code == 1 and data["first_bad"]["seq"] == 10


def test_truncation_is_found_by_the_head_record(tmp_path, capsys):
    workspace_with_events(tmp_path)
    intrude(tmp_path, ("DELETE FROM audit_events WHERE seq >= 8", []))
    code, data = verify(capsys, tmp_path)
    assert code == 1 and data["first_bad"]["seq"] == 8
    assert "events 8-9 were removed" in data["first_bad"]["reason"]


def test_truncation_with_a_forged_head_record_is_found_by_the_anchor_file(tmp_path, capsys):
    workspace_with_events(tmp_path)
    last_kept = rows(tmp_path)[7]
    intrude(
        tmp_path,
        ("DELETE FROM audit_events WHERE seq = 9", []),
        ("UPDATE workspace_info SET value = ? WHERE key = 'audit_head'",
         [json.dumps({"seq": 8, "hash": last_kept[9]})]),
    )
    code, data = verify(capsys, tmp_path)
    assert code == 1 and data["first_bad"]["seq"] == 9
    assert data["first_bad"]["reason"].startswith("anchor file audit-head.json: names event 9")
    # The next change in the app does not launder it: the anchor file stays where it was.
    with Workspace.open(tmp_path / "ws") as workspace:
        governance.add_member(workspace.store, "Dee", ["auditor"])
    code, data = verify(capsys, tmp_path)
    assert code == 1 and data["first_bad"]["seq"] == 9 and "not the one anchored" in data["first_bad"]["reason"]


def test_missing_anchor_or_head_record_fails(tmp_path, capsys):
    workspace_with_events(tmp_path)
    (tmp_path / "ws" / "audit-head.json").unlink()
    code, data = verify(capsys, tmp_path)
    assert code == 1 and "missing" in data["first_bad"]["reason"]
    with Workspace.open(tmp_path / "ws") as workspace:
        audit.refresh_anchor(workspace.store.db)  # writes it anew from the intact log
    assert verify(capsys, tmp_path)[0] == 0
    intrude(tmp_path, ("DELETE FROM workspace_info WHERE key = 'audit_head'", []))
    code, data = verify(capsys, tmp_path)
    assert code == 1 and "head record" in data["first_bad"]["reason"]


def test_full_rewrite_is_found_by_commit_trailers_and_published_heads(tmp_path, capsys):
    proposal = workspace_with_events(tmp_path)
    with Workspace.open(tmp_path / "ws") as workspace:
        published = audit.head_of(workspace.store.db)  # e.g. printed in last month's report
        (item,) = committing.commit_adopted(workspace, "Eve").items
    assert item.proposal_id == proposal.id
    # The careful intruder alters event 2, reseals every later event, and fixes both local anchors.
    seq, digest = rewrite_from(tmp_path, 2, lambda r: [*r[:7], r[7].replace("reviewer", "auditor"), *r[8:]])
    (tmp_path / "ws" / "audit-head.json").write_text(json.dumps(
        {"format": "spec-review-audit-head", "version": 1, "seq": seq, "hash": digest}))
    with Workspace.open(tmp_path / "ws") as workspace:
        local_only = audit.verify_chain(workspace.store.db)
    assert local_only.ok  # nothing inside the folder can tell...
    code, data = verify(capsys, tmp_path)  # ...but the spec repository's Audit-Head trailer can
    assert code == 1 and data["first_bad"]["seq"] == published.seq == 9
    assert data["first_bad"]["reason"].startswith(f"commit {item.commit_sha[:10]}: event 9 is not the one anchored")
    code, data = verify(capsys, tmp_path, "--expect", str(published))
    assert code == 1 and data["first_bad"]["reason"].startswith(f"expected {published}")
    code, out, err = run(capsys, "audit", "verify", tmp_path / "ws", "--expect", "12:nothex")
    assert code == 1 and "SEQ:HASH" in err


def test_rolled_back_append_is_no_false_alarm(tmp_path, capsys):
    workspace_with_events(tmp_path)
    with Workspace.open(tmp_path / "ws") as workspace:
        db = workspace.store.db
        with pytest.raises(RuntimeError), db.atomic():
            with db.atomic():  # a nested write, like one line of an import
                audit.append_event(db, actor="Ana", action="x.y", object_type="x", object_id=None)
            audit.append_event(db, actor="Ana", action="x.z", object_type="x", object_id=None)
            raise RuntimeError("the import failed on a later line")
    code, data = verify(capsys, tmp_path)
    assert code == 0 and data["events"] == 9


def test_upgraded_workspace_gets_its_head_record(tmp_path):
    db = Database(tmp_path / "old.db")
    migrations.apply(db, stop_before="0004_governance")
    with db.atomic():
        for i in range(3):
            db.execute("INSERT INTO workspace_info (key, value) VALUES (?, ?)", [f"k{i}", "v"])
            audit.append_event(db, actor="Ana", action="workspace.set", object_type="workspace", object_id=None)
    db.execute("DELETE FROM workspace_info WHERE key = 'audit_head'")
    (tmp_path / "audit-head.json").unlink(missing_ok=True)
    db.close()
    store = Store.open(tmp_path / "old.db")
    report = audit.verify_chain(store.db)
    assert report.ok and report.events == 3 and {a.source for a in report.anchors} == {
        "head record", "anchor file audit-head.json"}


# ---- listing -----------------------------------------------------------------------------------------


def test_audit_log_filters(tmp_path, capsys):
    proposal = workspace_with_events(tmp_path)
    ws = tmp_path / "ws"
    code, out, _ = run(capsys, "audit", "log", ws, "--json")
    events = json.loads(out)
    assert code == 0 and [e["seq"] for e in events] == list(range(9, 0, -1))
    code, out, _ = run(capsys, "audit", "log", ws, "--action", "decision", "--json")
    assert [e["actor"] for e in json.loads(out)] == ["Ben", "Ana"]
    code, out, _ = run(capsys, "audit", "log", ws, "--action", "member.add", "--actor", "spec-review", "--json")
    assert len(json.loads(out)) == 5
    code, out, _ = run(capsys, "audit", "log", ws, "--object", proposal.id, "--json")
    assert [e["action"] for e in json.loads(out)] == ["proposal.add"]
    code, out, _ = run(capsys, "audit", "log", ws, "--object", "decision", "--limit", "1", "--json")
    assert [e["seq"] for e in json.loads(out)] == [9]
    since = events[1]["at"]
    code, out, _ = run(capsys, "audit", "log", ws, "--since", since, "--json")
    assert [e["seq"] for e in json.loads(out)] == [9, 8]
    code, out, _ = run(capsys, "audit", "log", ws, "--action", "decision_")
    assert out.strip() == "No events match."
    code, out, _ = run(capsys, "audit", "log", ws, "--limit", "2")
    assert code == 0 and len(out.strip().splitlines()) == 2


def test_rows_sqlite_encodes_differently_are_checked_the_python_way(tmp_path, monkeypatch):
    workspace_with_events(tmp_path)
    # As if SQLite's JSON encoding differed from Python's for every row: the fallback decides.
    monkeypatch.setattr(audit, "_MATERIAL_SQL", "CAST(upper(json_array(seq, id)) AS BLOB)")
    with Workspace.open(tmp_path / "ws") as workspace:
        assert audit.verify_chain(workspace.store.db).ok
    intrude(tmp_path, ("UPDATE audit_events SET actor = 'Mallory' WHERE seq = 6", []))
    with Workspace.open(tmp_path / "ws") as workspace:
        report = audit.verify_chain(workspace.store.db)
    assert not report.ok and report.first_bad_seq == 6


def test_an_event_appended_with_a_correct_hash_is_named_and_never_built_on(tmp_path, capsys):
    """A well-sealed event after the head record is foreign: verify names it, and no write moves the anchors over it."""
    workspace_with_events(tmp_path)
    last = rows(tmp_path)[-1]
    forged = [last[0] + 1, "f0f0f0f0-0000-4000-8000-000000000000", last[2], "Mallory", "member.role_add", "member",
              None, '{"name":"Mallory","roles":["editor"]}', last[9]]
    intrude(tmp_path, ("INSERT INTO audit_events VALUES (?,?,?,?,?,?,?,?,?,?)", [*forged, seal(*forged)]))
    code, data = verify(capsys, tmp_path)
    assert code == 1 and data["first_bad"]["seq"] == forged[0]
    assert "appended outside the app" in data["first_bad"]["reason"]
    with Workspace.open(tmp_path / "ws") as workspace:
        with pytest.raises(KnownError, match="does not end where its head record says"):
            governance.add_member(workspace.store, "Dan", ["reviewer"])
        assert governance.get_member(workspace.store, "Dan") is None
    code, data = verify(capsys, tmp_path)
    assert code == 1 and data["first_bad"]["seq"] == forged[0]  # the anchors did not move over it


def test_a_payload_stored_as_a_blob_is_named_not_an_internal_error(tmp_path, capsys):
    workspace_with_events(tmp_path)
    intrude(tmp_path, ("UPDATE audit_events SET payload = CAST(payload AS BLOB) WHERE seq = 3", []))
    code, data = verify(capsys, tmp_path)
    assert code == 1 and data["first_bad"]["seq"] == 3 and "stored as other than text" in data["first_bad"]["reason"]


def test_deleted_migration_rows_are_refused_plainly(tmp_path, capsys):
    workspace_with_events(tmp_path)
    intrude(tmp_path, ("DELETE FROM _sqlite_migrations WHERE name LIKE '0005%'", []))
    before = rows(tmp_path)
    code, out, err = run(capsys, "status", tmp_path / "ws")
    assert code == 1 and "record of its schema was changed by hand: 0005" in err and "internal" not in err
    assert rows(tmp_path) == before


def _committed(tmp_path):
    proposal = workspace_with_events(tmp_path)
    with Workspace.open(tmp_path / "ws") as workspace:
        report = committing.commit_adopted(workspace, "Eve")
        assert [i.result for i in report.items] == ["committed"]
    return proposal


def test_rewritten_workspace_id_is_named_by_the_first_event(tmp_path, capsys):
    _committed(tmp_path)
    config_file = tmp_path / "ws" / "workspace.json"
    config = json.loads(config_file.read_text())
    original = config["id"]
    config["id"] = "11111111-2222-4333-8444-555555555555"
    config_file.write_text(json.dumps(config))
    code, data = verify(capsys, tmp_path)
    assert code == 1
    assert {"table": "workspace.json", "id": "workspace", "field": "id", "logged": original,
            "stored": config["id"]} in data["record"]["mismatches"]


def test_rewritten_baseline_is_named(tmp_path, capsys):
    _committed(tmp_path)
    intrude(tmp_path, ("UPDATE workspace_info SET value = 'deadbeef' WHERE key = 'baseline_revision'", []))
    code, data = verify(capsys, tmp_path)
    assert code == 1
    (found,) = [m for m in data["record"]["mismatches"] if m["table"] == "workspace_info"]
    assert found["stored"] == "deadbeef" and found["logged"] != "deadbeef"


def test_a_deleted_spec_repository_is_a_missing_anchor_not_fewer_anchors(tmp_path, capsys):
    import shutil

    _committed(tmp_path)
    code, data = verify(capsys, tmp_path)
    assert code == 0 and len(data["anchors"]) >= 3  # head record, anchor file and the commit's trailer
    shutil.rmtree(tmp_path / "spec" / ".git")
    code, data = verify(capsys, tmp_path)
    assert code == 1
    # The recorded commit is gone, and so is the log ref this workspace wrote.
    assert [(m["table"], m["field"]) for m in data["record"]["mismatches"]] == [
        ("spec_commits", "commit in the spec repository"), ("log ref", "history")]
