"""Stance labels in bulk with undo: one transaction and one event each, replayed, rebuilt and synced."""

import pytest

from reviewer import operations
from reviewer.bulk_labels import bulk_labellings
from reviewer.errors import KnownError
from reviewer.rebuild import rebuild_workspace
from reviewer.replay import verify_workspace
from reviewer.workspace import Workspace
from tests.datapaths import SUPPORTED
from tests.reviewer.test_rebuild import table_rows

REVIEWER = "Amara Okafor"


def links(ws, n, offset=0):
    return [r[0] for r in ws.store.db.execute(
        "SELECT justification_id FROM evidence_current WHERE proposal_id = ? ORDER BY justification_id LIMIT ? OFFSET ?",
        [SUPPORTED, n, offset])]


def states(ws, justification_ids):
    marks = ",".join("?" * len(justification_ids))
    return {r[0]: tuple(r[1:]) for r in ws.store.db.execute(
        "SELECT justification_id, label_id, stance, source_kind, source_name FROM evidence_current"
        f" WHERE proposal_id = ? AND justification_id IN ({marks})", [SUPPORTED, *justification_ids])}


def events(ws, action):
    return ws.store.db.execute("SELECT count(*) FROM audit_events WHERE action = ?", [action]).fetchone()[0]


def test_many_links_labelled_in_one_event_and_undone_to_exactly_their_state_before(demo_workspace):
    with Workspace.open(demo_workspace) as ws:
        chosen = links(ws, 6)
        before = states(ws, chosen)
        assert {s[2] for s in before.values()} == {"rule"}
        operations.set_stance(ws, SUPPORTED, chosen[0], "refutes", actor="Jonas Lindqvist")  # a person's label first
        before = states(ws, chosen)
        result = operations.set_stances(ws, SUPPORTED, chosen, "no_comment", actor=REVIEWER, note="off topic")
        assert len(result.value.changed) == 6 and events(ws, "stance.bulk") == 1
        assert len(result.changes.events) == 1 and result.changes.touches_proposal(SUPPORTED)
        after = states(ws, chosen)
        assert all(s[1:] == ("no_comment", "person", REVIEWER) for s in after.values())
        assert {c.justification_id: c.before for c in result.value.changed}[chosen[0]].source_name == "Jonas Lindqvist"
        assert verify_workspace(ws).ok
        # The same stance again by the same person changes nothing and writes nothing.
        again = operations.set_stances(ws, SUPPORTED, chosen, "no_comment", actor=REVIEWER)
        assert again.value.changed == () and len(again.value.unchanged) == 6 and events(ws, "stance.bulk") == 1

        undone = operations.undo_stances(ws, actor=REVIEWER)
        assert undone.value.undone and undone.value.bulk_id == result.value.bulk_id
        assert states(ws, chosen) == before  # label, stance and source, exactly as before
        assert events(ws, "stance.undo") == 1
        assert bulk_labellings(ws.store, person=REVIEWER)[0].undone_by == REVIEWER
        # The bulk's labels stay in the record, withdrawn.
        history = ws.store.db.execute("SELECT count(*) FROM stance_labels WHERE source_name = ?", [REVIEWER]).fetchone()
        assert history[0] == 6
        assert verify_workspace(ws).ok
        with pytest.raises(KnownError, match="no bulk labelling left"):
            operations.undo_stances(ws, actor=REVIEWER)
        with pytest.raises(KnownError, match="already undone"):
            operations.undo_stances(ws, actor=REVIEWER, bulk_id=result.value.bulk_id)


def test_undo_is_refused_when_a_link_was_labelled_again_since(demo_workspace):
    with Workspace.open(demo_workspace) as ws:
        chosen = links(ws, 4)
        result = operations.set_stances(ws, SUPPORTED, chosen, "supports", actor=REVIEWER)
        operations.set_stance(ws, SUPPORTED, chosen[2], "refutes", actor="Jonas Lindqvist")
        now = states(ws, chosen)
        with pytest.raises(KnownError, match="labelled again") as caught:
            operations.undo_stances(ws, actor=REVIEWER, bulk_id=result.value.bulk_id)
        assert chosen[2] in str(caught.value)
        assert states(ws, chosen) == now and events(ws, "stance.undo") == 0
        assert ws.store.db.execute("SELECT count(*) FROM stance_label_withdrawals").fetchone()[0] == 0


def test_bad_bulk_input_is_refused_and_nothing_is_written(demo_workspace):
    with Workspace.open(demo_workspace) as ws:
        chosen = [*links(ws, 3), "not-a-justification"]
        seq = ws.store.db.execute("SELECT max(seq) FROM audit_events").fetchone()[0]
        with pytest.raises(KnownError, match="not linked"):
            operations.set_stances(ws, SUPPORTED, chosen, "supports", actor=REVIEWER)
        with pytest.raises(KnownError, match="Unknown stance"):
            operations.set_stances(ws, SUPPORTED, chosen[:3], "maybe", actor=REVIEWER)
        with pytest.raises(KnownError, match="without the reviewer role"):
            operations.set_stances(ws, SUPPORTED, chosen[:3], "supports", actor="Wei Chen")
        with pytest.raises(KnownError, match="Choose"):
            operations.set_stances(ws, SUPPORTED, [], "supports", actor=REVIEWER)
        assert ws.store.db.execute("SELECT max(seq) FROM audit_events").fetchone()[0] == seq
        assert ws.store.db.execute("SELECT count(*) FROM stance_labels WHERE source_kind = 'person'").fetchone()[0] == 0


def test_a_rebuild_gives_the_same_labels_withdrawals_and_current_stances(demo_workspace, tmp_path):
    with Workspace.open(demo_workspace) as ws:
        first = operations.set_stances(ws, SUPPORTED, links(ws, 5), "refutes", actor=REVIEWER).value
        operations.set_stances(ws, SUPPORTED, links(ws, 5, offset=10), "supports", actor="Jonas Lindqvist")
        operations.undo_stances(ws, actor=REVIEWER, bulk_id=first.bulk_id)
        report = rebuild_workspace(ws, tmp_path / "rebuilt.db")
    assert report.ok, report.mismatches
    for table in ("stance_labels", "stance_label_withdrawals", "evidence_current"):
        assert table_rows(tmp_path / "rebuilt.db", table) == table_rows(demo_workspace / "reviewer.db", table), table


def test_a_bulk_labelling_and_its_undo_travel_by_sync(machines):
    a_root, b_root, _remote = machines
    with Workspace.open(a_root) as a:
        chosen = links(a, 5)
        bulk = operations.set_stances(a, SUPPORTED, chosen, "no_comment", actor=REVIEWER).value
        operations.sync(a, actor=REVIEWER)
    with Workspace.open(b_root) as b:
        received = operations.sync(b, actor="Jonas Lindqvist")
        assert [e["action"] for e in received.value.received] == ["stance.bulk"]
        assert all(s[1] == "no_comment" for s in states(b, chosen).values())
        operations.undo_stances(b, actor="Jonas Lindqvist", bulk_id=bulk.bulk_id)  # another reviewer may undo it
        operations.sync(b, actor="Jonas Lindqvist")
        on_b = states(b, chosen)
        assert verify_workspace(b).ok
    with Workspace.open(a_root) as a:
        operations.sync(a, actor=REVIEWER)
        assert states(a, chosen) == on_b and {s[2] for s in on_b.values()} == {"rule"}
        assert verify_workspace(a).ok
