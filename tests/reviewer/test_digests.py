"""Row digests: SQLite's way and the defining Python way agree, and a judge job's digest covers its rows."""

import hashlib
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from reviewer import digests
from reviewer.audit import canonical_json
from reviewer.ids import stable_id
from reviewer.importing import with_import_id
from reviewer.store import Store

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)  # any text SQLite can hold
JUSTIFICATION = st.tuples(
    st.integers(-(2**63), 2**63 - 1), st.one_of(st.none(), TEXT), TEXT, st.one_of(st.none(), TEXT), TEXT, TEXT,
)


def insert_justifications(store, rows, import_id="imp", ids=None):
    store.db.conn.executemany(
        with_import_id("INSERT INTO justifications (id, assessment_id, block, position, ranking, text, language,"
                       " created_at, extra) VALUES (?, NULL, 'statement', ?, ?, ?, ?, ?, ?)", import_id),
        [(ids[i] if ids else f"j{i:05d}", *row) for i, row in enumerate(rows)],
    )


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(JUSTIFICATION, max_size=8))
def test_sqlite_writes_each_row_as_canonical_json_does(rows):
    # Control characters, quotes, backslashes, any script, 64-bit integers and NULL.
    store = Store.memory()
    insert_justifications(store, rows)
    stored = digests.writer_rows(store.db.conn, "justifications", "imp")
    assert digests.writer_rows_digest(store.db.conn, "justifications", "imp") == digests.rows_digest(stored)
    text = canonical_json([list(r) for r in stored])
    assert digests.rows_digest(stored).sha256 == hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_large_sets_are_read_in_chunks_in_the_order_stored(monkeypatch):
    monkeypatch.setattr(digests, "CHUNK_ROWS", 7)
    store = Store.memory()
    rows = [(i, None, f"text {i}", None, "2026-01-01", "{}") for i in range(50)]
    insert_justifications(store, rows, ids=[f"j{49 - i:05d}" for i in range(50)])  # ids run against storage order
    insert_justifications(store, [(0, None, "another import's", None, "t", "{}")], import_id="other", ids=["x"])
    found = digests.writer_rows_digest(store.db.conn, "justifications", "imp")
    assert found.rows == 50
    assert found == digests.rows_digest(digests.writer_rows(store.db.conn, "justifications", "imp"))
    assert found != digests.rows_digest(digests.writer_rows(store.db.conn, "justifications", "imp"), key=1)
    assert digests.writer_rows_digest(store.db.conn, "justifications", "nobody") == digests.EMPTY == \
        digests.rows_digest([])


def test_votes_are_digested_by_their_key_and_a_blob_does_not_break_the_digest():
    store = Store.memory()
    conn = store.db.conn
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.executemany(with_import_id("INSERT INTO votes (statement_id, participant_id, vote) VALUES (?, ?, ?)", "imp"),
                     [("s2", "p1", 1), ("s1", "p2", -1), ("s1", "p1", 0)])
    found = digests.writer_rows_digest(conn, "votes", "imp")
    assert found == digests.rows_digest([("s1", "p1", 0), ("s1", "p2", -1), ("s2", "p1", 1)])
    conn.execute("UPDATE votes SET participant_id = x'01' WHERE statement_id = 's2'")  # only by hand
    assert digests.writer_rows_digest(conn, "votes", "imp").sha256 != found.sha256


def test_file_sha256(tmp_path):
    path = tmp_path / "f.bin"
    data = bytes(range(256)) * 50_000
    path.write_bytes(data)
    assert digests.file_sha256(path) == hashlib.sha256(data).hexdigest()


def test_with_import_id_adds_the_column_as_a_literal():
    sql = with_import_id("INSERT INTO t (a, b) VALUES (?, ?)", "it's")
    assert sql == "INSERT INTO t (a, b, import_id) VALUES (?, ?, 'it''s')"


def _job(conn, job_id, task, items, *, model="m", version="stance-v1", run_id=None):
    conn.execute("INSERT INTO judge_jobs (id, job_key, task, prompt_version, model, status, ranker_run_id, created_at,"
                 " updated_at) VALUES (?, ?, ?, ?, ?, 'done', ?, 't', 't')", [job_id, job_id, task, version, model, run_id])
    conn.executemany("INSERT INTO judge_job_items (job_id, item_key, input_hash, status, updated_at) VALUES (?, ?, ?, ?, 't')",
                     [(job_id, key, digest, status) for key, digest, status in items])


def test_a_judge_jobs_digest_covers_the_labels_its_done_items_map_to():
    store = Store.memory()
    conn = store.db.conn
    conn.execute("PRAGMA foreign_keys = OFF")
    _job(conn, "job", "stance", [("P:J1", "h1", "done"), ("P:J2", "h2", "done"), ("P:J3", "h3", "failed")])
    ids = {j: stable_id("model-stance", "P", j, "m", "stance-v1", h) for j, h in (("J1", "h1"), ("J2", "h2"))}
    for j, label_id in ids.items():
        conn.execute("INSERT INTO stance_labels (id, proposal_id, justification_id, stance, source_kind, source_name,"
                     " prompt_version, confidence, detail, created_at) VALUES (?, 'P', ?, 'supports', 'model', 'm',"
                     " 'stance-v1', 0.75, ?, 't')", [label_id, j, json.dumps({"job_id": "job"})])
    conn.execute("INSERT INTO stance_labels (id, proposal_id, justification_id, stance, source_kind, source_name,"
                 " detail, created_at) VALUES ('other', 'P', 'J1', 'refutes', 'model', 'm', '{}', 't')")
    first = digests.judge_job_digest(conn, "job")
    assert sorted(digests.judge_job_rows(conn, "job")) == sorted(("stance_labels", i) for i in ids.values())
    columns = ", ".join(digests.ROW_COLUMNS["stance_labels"])
    rows = [["stance_labels", *r] for r in conn.execute(f"SELECT {columns} FROM stance_labels WHERE id != 'other'")]
    assert first == digests.rows_digest(rows, key=2).sha256
    conn.execute("UPDATE stance_labels SET stance = 'refutes' WHERE id = ?", [ids["J2"]])
    assert digests.judge_job_digest(conn, "job") != first
    assert digests.judge_job_digest(conn, "no such job") == digests.EMPTY.sha256


def test_a_judge_jobs_digest_covers_its_grades_or_its_ranker_run():
    store = Store.memory()
    conn = store.db.conn
    conn.execute("PRAGMA foreign_keys = OFF")
    _job(conn, "rel", "relevance", [("C1", "h1", "done")], version="relevance-v1")
    grader = "m@relevance-v1"
    conn.executemany("INSERT INTO relevance_grades (id, conversation_id, section_id, grade, grader_kind, grader,"
                     " created_at) VALUES (?, 'C1', ?, 3, 'model', ?, 't')",
                     [(stable_id("model-relevance", "C1", s, grader, "h1"), s, grader) for s in ("a", "b")]
                     + [(stable_id("model-relevance", "C1", "c", grader, "older input"), "c", grader)])
    assert len(digests.judge_job_rows(conn, "rel")) == 2
    _job(conn, "rank", "ranker", [("C1", "h9", "done")], version="ranker-v1", run_id="R")
    conn.execute("INSERT INTO ranker_runs (id, spec_revision, model, prompt_version, source, created_at)"
                 " VALUES ('R', 'abc', 'm', 'ranker-v1', 'judge', 't')")
    conn.execute("INSERT INTO ranker_rankings (id, run_id, conversation_id, ranking, reason) VALUES ('x', 'R', 'C1',"
                 " 'A>B>C>D', 'why')")
    assert digests.judge_job_rows(conn, "rank") == [("ranker_runs", "R"), ("ranker_rankings", "x")]
    before = digests.judge_job_digest(conn, "rank")
    conn.execute("UPDATE ranker_rankings SET ranking = 'D>C>B>A'")
    assert digests.judge_job_digest(conn, "rank") != before
