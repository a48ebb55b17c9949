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


@pytest.mark.parametrize(("code", "message"), [
    (5, "locked"), (6, "locked"), (517, "locked"),  # SQLITE_BUSY, SQLITE_LOCKED, SQLITE_BUSY_SNAPSHOT
    (8, "read-only"), (13, "disk failed"), (10, "disk failed"), (11, "damaged"), (26, "damaged"),
])
def test_sqlite_failures_are_told_by_their_code_not_their_text(code, message):
    from reviewer.store import sql_errors

    error = sqlite3.OperationalError("a message in some other words")  # what another SQLite build may say
    error.sqlite_errorcode = code
    with pytest.raises(KnownError, match=message), sql_errors("testing"):
        raise error


def test_a_message_that_merely_mentions_locking_is_not_taken_for_a_lock():
    from reviewer.errors import BugError
    from reviewer.store import sql_errors

    error = sqlite3.OperationalError("no such column: locked")  # our SQL is wrong: SQLITE_ERROR
    error.sqlite_errorcode = 1
    with pytest.raises(BugError), sql_errors("testing"):
        raise error


def test_real_lock_and_real_damage_carry_the_codes_we_read(tmp_path):
    from reviewer.store import sqlite_error_code

    path = tmp_path / "x.db"
    first = sqlite3.connect(path, isolation_level=None, timeout=0)
    first.execute("CREATE TABLE t (x)")
    first.execute("BEGIN IMMEDIATE")
    second = sqlite3.connect(path, isolation_level=None, timeout=0)
    with pytest.raises(sqlite3.OperationalError) as locked:
        second.execute("BEGIN IMMEDIATE")
    assert sqlite_error_code(locked.value) == 5
    first.execute("ROLLBACK")
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"not sqlite at all " * 300)
    with pytest.raises(sqlite3.DatabaseError) as damaged:
        sqlite3.connect(bad).execute("SELECT * FROM sqlite_master").fetchall()
    assert sqlite_error_code(damaged.value) == 26
