import sqlite3

from reviewer import audit
from reviewer.store import Store
from tests.helpers import tamper


def _store_with_events(tmp_path, count=5):
    store = Store.open(tmp_path / "reviewer.db", create=True)
    for i in range(count):
        store.set_info(f"k{i}", f"v{i}", actor="Ana")
    return store


def test_chain_intact(tmp_path):
    store = _store_with_events(tmp_path)
    report = audit.verify_chain(store.db)
    assert report.ok and report.events == 5
    first, second = store.db.execute("SELECT prev_hash, hash FROM audit_events ORDER BY seq LIMIT 2").fetchall()
    assert first[0] == audit.GENESIS_HASH and second[0] == first[1]


def _intrude(tmp_path, sql, params=()):
    tamper(tmp_path / "reviewer.db", sql, params)


def test_altered_event_is_found(tmp_path):
    _store_with_events(tmp_path).close()
    _intrude(tmp_path, "UPDATE audit_events SET payload = ? WHERE seq = 3", ['{"key":"k2","value":"forged"}'])
    report = audit.verify_chain(Store.open(tmp_path / "reviewer.db").db)
    assert not report.ok and report.first_bad_seq == 3 and "content" in report.reason


def test_removed_event_is_found(tmp_path):
    _store_with_events(tmp_path).close()
    _intrude(tmp_path, "DELETE FROM audit_events WHERE seq = 2")
    report = audit.verify_chain(Store.open(tmp_path / "reviewer.db").db)
    assert not report.ok and report.first_bad_seq == 3


def test_rehashed_forgery_still_breaks_the_next_link(tmp_path):
    _store_with_events(tmp_path).close()
    conn = sqlite3.connect(tmp_path / "reviewer.db")
    seq, event_id, at, actor, action, otype, oid, _payload, prev = conn.execute(
        "SELECT seq, id, at, actor, action, object_type, object_id, payload, prev_hash FROM audit_events WHERE seq = 2"
    ).fetchone()
    forged = '{"key":"k1","value":"forged"}'
    digest = audit.event_hash(seq=seq, event_id=event_id, at=at, actor=actor, action=action, object_type=otype,
                              object_id=oid, payload_json=forged, prev_hash=prev)
    conn.execute("UPDATE audit_events SET payload = ?, hash = ? WHERE seq = 2", [forged, digest])
    conn.commit()
    conn.close()
    report = audit.verify_chain(Store.open(tmp_path / "reviewer.db").db)
    assert not report.ok and report.first_bad_seq == 3 and "link" in report.reason
