import sqlite3

import pytest

from reviewer import audit
from reviewer.errors import KnownError
from reviewer.ids import is_uuid
from reviewer.migrations import MIGRATION_SET, migrations
from reviewer.store import ProposalSection, Store


def _proposal(store: Store, **overrides):
    fields = dict(
        title="Clarify persuasion", intent="Say what targeted persuasion means.",
        kind="clarification", origin="human-first", base_revision="a" * 40,
        sections=[ProposalSection("sec_a", "## A {#sec_a}\nold\n", "## A {#sec_a}\nnew\n")],
        created_by="Ana",
    )
    fields.update(overrides)
    return store.add_proposal(**fields)


def test_schema_is_built_by_migrations_only():
    store = Store.memory()
    applied = [m.name for m in migrations.applied(store.db)]
    assert applied == [m.name for m in migrations._migrations]
    assert applied[0] == "0001_core_objects" and applied == sorted(applied)
    assert migrations.pending(store.db) == []
    tables = set(store.db.table_names())
    for table in ("proposals", "proposal_sections", "decisions", "stance_labels", "audit_events",
                  "conversations", "participants", "assessments", "justifications", "relevance_grades",
                  "ranker_runs", "spec_commits", "members"):
        assert table in tables


def test_proposal_round_trip_and_audit_event():
    store = Store.memory()
    created = _proposal(store, linked_conversations=[], expected_ranking=None)
    assert is_uuid(created.id)
    assert created.created_at.endswith("Z") and "T" in created.created_at
    loaded = store.get_proposal(created.id)
    assert loaded == created
    [summary] = store.list_proposals()
    assert summary.section_ids == ("sec_a",) and summary.status == "open"
    events = store.db.execute("SELECT action, object_id, actor FROM audit_events").fetchall()
    assert events == [("proposal.add", created.id, "spec-review")]
    assert audit.verify_chain(store.db).ok


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"title": "  "}, "needs a title"),
        ({"intent": ""}, "needs an intent"),
        ({"kind": "rewrite"}, "Unknown proposal kind"),
        ({"origin": "magic"}, "Unknown proposal origin"),
        ({"sections": []}, "at least one section"),
    ],
)
def test_invalid_proposals_are_refused_and_nothing_is_written(overrides, message):
    store = Store.memory()
    with pytest.raises(KnownError, match=message):
        _proposal(store, **overrides)
    assert store.counts()["proposals"] == 0
    assert store.counts()["audit_events"] == 0


def test_failure_inside_transaction_leaves_no_half_written_proposal():
    store = Store.memory()
    first = _proposal(store)
    # Same id again: the check runs inside the transaction, so neither rows nor events are added.
    with pytest.raises(KnownError, match="already exists"):
        _proposal(store, proposal_id=first.id)
    assert store.counts()["proposals"] == 1
    assert store.db.execute("SELECT count(*) FROM proposal_sections").fetchone()[0] == 1
    assert store.counts()["audit_events"] == 1


def test_empty_rationale_is_refused_by_the_schema():
    store = Store.memory()
    p = _proposal(store)
    with pytest.raises(sqlite3.IntegrityError):
        store.db.execute(
            "INSERT INTO decisions (id, proposal_id, outcome, rationale, reviewer, decided_at)"
            " VALUES ('d', ?, 'adopt', '   ', 'r', 'now')", [p.id])


def test_unknown_proposal_is_a_known_error():
    with pytest.raises(KnownError, match="No proposal with id"):
        Store.memory().get_proposal("nope")


def test_database_from_newer_version_is_refused_and_left_unchanged(tmp_path):
    path = tmp_path / "reviewer.db"
    Store.open(path, create=True).close()
    conn = sqlite3.connect(path)
    conn.execute(
        "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES (?, ?, ?)",
        [MIGRATION_SET, "0999_from_the_future", "2030-01-01"],
    )
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(KnownError, match="newer version"):
        Store.open(path)
    assert path.read_bytes() == before


def test_locked_database_gives_a_clear_error_and_loses_nothing(tmp_path):
    path = tmp_path / "reviewer.db"
    store = Store.open(path, create=True)
    store.db.execute("PRAGMA busy_timeout = 50")
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(KnownError, match="locked"):
            _proposal(store)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert store.counts()["proposals"] == 0
    _proposal(store)  # works once the lock is gone
    assert store.counts()["proposals"] == 1


def test_not_a_database_file(tmp_path):
    path = tmp_path / "reviewer.db"
    path.write_text("this is not sqlite " * 100)
    with pytest.raises(KnownError, match="damaged or is not a SQLite file"):
        Store.open(path)


def test_missing_database_is_not_created(tmp_path):
    with pytest.raises(KnownError, match="No workspace database"):
        Store.open(tmp_path / "absent.db")
    assert not (tmp_path / "absent.db").exists()
