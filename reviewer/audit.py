"""Append-only audit events, each carrying the hash of the previous one, so edits are detectable.

Tampering and how it is found:

- altering, removing, reordering or inserting an event breaks the hash chain at that event;
- removing the *newest* events, or rewriting the chain and recomputing every later hash, is found
  by comparing the chain with **anchors**, each naming an event by its position and hash:

  1. the head record in ``workspace_info`` (key ``audit_head``), written in the same transaction
     as every event: always exact, and catches a plain ``DELETE`` of the newest events;
  2. the anchor file ``audit-head.json`` beside ``reviewer.db``: the newest *committed* event,
     moved forward on every append (read through a second, read-only connection, so it never
     names an event that might still be rolled back) and never moved while it disagrees with the
     log, so tampering cannot be laundered by the next write; it catches an intruder who edits
     the database consistently but not the file;
  3. ``Audit-Head:`` trailers in the spec repository's commits made by the app, and any head an
     auditor recorded or published (the transparency report prints it): outside the workspace
     folder, so they hold even against someone who controls the whole folder.

An event appended at the very end with a correct hash, by someone who also updates both
anchors, cannot be told from one the app wrote: without a secret there is no way to, and the
external anchors then bound what can have been forged to the events after the newest of them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from reviewer.errors import KnownError
from reviewer.ids import new_id, utc_now

GENESIS_HASH = "0" * 64
HEAD_KEY = "audit_head"
"""``workspace_info`` key of the head record: ``{"seq": n, "hash": h}`` of the newest event."""
ANCHOR_FILE = "audit-head.json"
"""The anchor file's name, beside the database file."""
ANCHOR_FORMAT = "spec-review-audit-head"
# The migration after which every database keeps a head record (see migrations.py).
HEAD_RECORD_MIGRATION = "0004_governance"

EVENT_COLUMNS = "seq, id, at, actor, action, object_type, object_id, payload, prev_hash, hash"
"""The columns of ``audit_events`` that ``event_from_row`` reads, in its order."""


@dataclass(frozen=True)
class AuditEvent:
    """One recorded state change.

    Attributes:
        seq: position in the chain (1 for the first event).
        id: globally unique id of the event.
        at: UTC time of the change.
        actor: who made it (a member name, or ``spec-review`` for the app itself).
        action: what happened, e.g. ``proposal.add``.
        object_type: the kind of object changed.
        object_id: the id of the object changed.
        payload: the details, as stored.
        prev_hash: hash of the previous event (zeros for the first).
        hash: hash over this event's content and ``prev_hash``.
    """

    seq: int
    id: str
    at: str
    actor: str
    action: str
    object_type: str
    object_id: str | None
    payload: dict[str, Any]
    prev_hash: str
    hash: str


def canonical_json(value: Any) -> str:
    """Serialise ``value`` the one way that is hashed: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(
    *,
    seq: int,
    event_id: str,
    at: str,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | None,
    payload_json: str,
    prev_hash: str,
) -> str:
    """Return the SHA-256 hex digest that seals one event to its predecessor."""
    material = canonical_json(
        [seq, event_id, at, actor, action, object_type, object_id, payload_json, prev_hash]
    )
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def append_event(
    db: Database,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | None,
    payload: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain.

    Must run inside the same ``db.atomic()`` block as the change it records, so that the change
    and its event are written together or not at all. The head record is updated in the same
    transaction; the anchor file is moved forward to the newest committed event.

    Returns:
        The stored event.
    """
    return _append(db, new_id(), utc_now(), actor, action, object_type, object_id, payload)


def append_received(db: Database, record: dict[str, Any]) -> AuditEvent:
    """Append an event another machine wrote (from the log ref): its id, time and content kept, sealed into this chain.

    Must run inside the transaction that applies it. The anchor file is left to the caller
    (``reset_anchor`` once the whole batch is in: a sync appends thousands).
    """
    return _append(db, str(record["id"]), str(record["at"]), str(record["actor"]), str(record["action"]),
                   str(record["object_type"]), record.get("object_id"), record.get("payload") or {}, anchor=False)


def _append(db: Database, event_id: str, at: str, actor: str, action: str, object_type: str,
            object_id: str | None, payload: dict[str, Any] | None, *, anchor: bool = True) -> AuditEvent:
    last = db.execute("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
    if last is not None:
        _refuse_unknown_events(db, Head(last[0], last[1]))
    payload_json = canonical_json(payload or {})
    digest = event_hash(
        seq=seq,
        event_id=event_id,
        at=at,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        payload_json=payload_json,
        prev_hash=prev_hash,
    )
    db.execute(
        "INSERT INTO audit_events (seq, id, at, actor, action, object_type, object_id, payload,"
        " prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [seq, event_id, at, actor, action, object_type, object_id, payload_json, prev_hash, digest],
    )
    write_head_record(db, seq, digest)
    if anchor:
        refresh_anchor(db)
    return AuditEvent(
        seq, event_id, at, actor, action, object_type, object_id, payload or {}, prev_hash, digest
    )


# ---- anchors ----------------------------------------------------------------------------------


def _refuse_unknown_events(db: Database, last: Head) -> None:
    """Refuse to write after events the head record does not name (appended outside the app).

    Appending would move the head record and the anchors over them and make them look genuine.
    """
    row = db.execute("SELECT value FROM workspace_info WHERE key = ?", [HEAD_KEY]).fetchone()
    if row is None:
        return  # an older workspace before its upgrade wrote the head record
    try:
        data = json.loads(row[0])
        recorded = Head(int(data["seq"]), str(data["hash"]))
    except (ValueError, KeyError, TypeError):
        recorded = Head(-1, "")
    if recorded != last:
        raise KnownError(
            f"The audit log does not end where its head record says (event {recorded.seq}; the log has "
            f"{last.seq}): events were added or changed outside the app. Nothing was written.",
            hint="Run `spec-review audit verify WORKSPACE` to see which, and restore the workspace from a copy you trust.",
        )


def write_head_record(db: Database, seq: int, digest: str) -> None:
    """Store the head record (``workspace_info.audit_head``); call inside the appending transaction."""
    db.execute(
        "INSERT INTO workspace_info (key, value) VALUES (?, ?)"
        " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [HEAD_KEY, canonical_json({"seq": seq, "hash": digest})],
    )


def database_file(db: Database) -> Path | None:
    """Return the file of the main database, or None for an in-memory or temporary one."""
    for _number, name, file in db.conn.execute("PRAGMA database_list").fetchall():
        if name == "main":
            return Path(file) if file else None
    return None


def anchor_path(db: Database) -> Path | None:
    """Return where the anchor file of ``db`` lives (None for an in-memory database)."""
    file = database_file(db)
    return file.with_name(ANCHOR_FILE) if file else None


@dataclass(frozen=True)
class Head:
    """An event named by position and hash (the genesis is ``Head(0, GENESIS_HASH)``).

    Attributes:
        seq: the event's position.
        hash: its hash.
    """

    seq: int
    hash: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"


def parse_head(text: str) -> Head:
    """Read ``SEQ:HASH`` (as printed by ``audit verify``).

    Raises:
        ValueError: not of that form.
    """
    seq, _, digest = text.strip().partition(":")
    digest = digest.strip().lower()
    if not seq.strip().isdigit() or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(f"{text!r} is not SEQ:HASH (an event number, a colon and a 64-digit hex hash)")
    return Head(int(seq), digest)


def read_anchor_file(path: Path) -> Head | None:
    """Return the head named in an anchor file, or None when the file does not exist.

    Raises:
        ValueError: the file exists but is not a valid anchor.
    """
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot be read ({exc})") from exc
    try:
        data = json.loads(raw)
        if data.get("format") != ANCHOR_FORMAT:
            raise ValueError("not an audit anchor file")
        return Head(int(data["seq"]), parse_head(f"{data['seq']}:{data['hash']}").hash)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"is not a valid anchor ({exc})") from exc


def _write_anchor_file(path: Path, head: Head) -> None:
    data = {"format": ANCHOR_FORMAT, "version": 1, "seq": head.seq, "hash": head.hash, "written_at": utc_now()}
    fd, tmp = tempfile.mkstemp(prefix=".audit-head.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(data, indent=2) + "\n")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def refresh_anchor(db: Database) -> bool:
    """Move the anchor file forward to the newest committed event, when it still agrees with the log.

    Only committed events are read (through a second, read-only connection), so the file never
    names an event that a rollback could take back. A file that disagrees with the log is left
    as it is, so the evidence stays for ``verify_chain``. Best effort: a read-only folder or a
    busy database leaves the file as it was.

    Returns:
        Whether the file was written.
    """
    file = database_file(db)
    if file is None:
        return False
    path = file.with_name(ANCHOR_FILE)
    try:
        current = read_anchor_file(path)
    except ValueError:
        return False  # keep the evidence
    try:
        reader = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True, timeout=1.0)
    except sqlite3.Error:
        return False
    try:
        row = reader.execute("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1").fetchone()
        head = Head(row[0], row[1]) if row else Head(0, GENESIS_HASH)
        if current is not None:
            if current == head or current.seq > head.seq:
                return False
            if current.seq > 0:
                anchored = reader.execute("SELECT hash FROM audit_events WHERE seq = ?", [current.seq]).fetchone()
                if anchored is None or anchored[0] != current.hash:
                    return False
        _write_anchor_file(path, head)
        return True
    except (sqlite3.Error, OSError):
        return False
    finally:
        reader.close()


def reset_anchor(db: Database) -> None:
    """Point the anchor file at the current head, whatever it named before.

    Only for a sync that sealed part of the chain again in the log's merged order: the events
    the old anchor named are still in the log, under new sequence numbers.
    """
    path = anchor_path(db)
    if path is not None:
        _write_anchor_file(path, head_of(db))


@contextlib.contextmanager
def anchored(db: Database) -> Iterator[Database]:
    """Run a block in ``db.atomic()``; once the outermost transaction has committed, move the anchor file.

    Use it instead of ``db.atomic()`` for writes that append events, so that the anchor file
    names them right away instead of at the next append.
    """
    with db.atomic():
        yield db
    if not db.conn.in_transaction:
        refresh_anchor(db)


def clock_regressions(db: Database, limit: int = 100) -> list[tuple[int, str, str]]:
    """Return events whose time is earlier than the event before them: ``(seq, at, previous at)``.

    Order in the record is the log's, never the clock's, so these change nothing; they are worth
    a look (a machine whose clock runs behind, or an edited time).
    """
    rows = db.execute(
        "SELECT seq, at, prev_at FROM (SELECT seq, at, lag(at) OVER (ORDER BY seq) AS prev_at FROM audit_events)"
        " WHERE prev_at IS NOT NULL AND at < prev_at ORDER BY seq LIMIT ?",
        [limit],
    ).fetchall()
    return [(int(seq), str(at), str(prev)) for seq, at, prev in rows]


def head_of(db: Database) -> Head:
    """Return the newest event as a ``Head`` (the genesis when the log is empty)."""
    row = db.execute("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1").fetchone()
    return Head(row[0], row[1]) if row else Head(0, GENESIS_HASH)


# ---- verification -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AnchorCheck:
    """One anchor compared with the chain.

    Attributes:
        source: where the anchor comes from (``head record``, ``anchor file``, a commit, ``expected``).
        seq: the event it names (None when the anchor is missing or unreadable).
        hash: the hash it names.
        ok: whether the chain holds that event with that hash.
        detail: what is wrong, when something is.
    """

    source: str
    seq: int | None
    hash: str | None
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class ChainReport:
    """The result of checking the audit chain.

    Attributes:
        ok: whether every event is intact and in place and every anchor agrees.
        events: how many events were checked.
        first_bad_seq: the position of the first event that does not fit, if any.
        first_bad_id: that event's id, if any.
        reason: what is wrong with it.
        head: the newest event checked (``seq:hash``, the genesis when empty).
        anchors: each anchor compared with the chain.
    """

    ok: bool
    events: int
    first_bad_seq: int | None = None
    first_bad_id: str | None = None
    reason: str | None = None
    head: Head = field(default_factory=lambda: Head(0, GENESIS_HASH))
    anchors: tuple[AnchorCheck, ...] = ()


# The whole chain is first checked inside SQLite: the hashed material is rebuilt by json_array (a
# JSON encoding, like canonical_json, so it is as unambiguous) and hashed by a Python function, and
# links are checked by a self-join, so no row crosses into Python. Only when that finds something
# does the walk below run, to name the first bad event. A row whose SQLite encoding differs from
# Python's (rare control characters) is checked again with event_hash, so both accept the same events.
_MATERIAL_SQL = "CAST(json_array(seq, id, at, actor, action, object_type, object_id, payload, prev_hash) AS BLOB)"
_HASH_FUNCTION = "spec_review_sha256"
_FAST_SQL = (
    "SELECT seq, id, prev_hash, hash,"
    " json_array(seq, id, at, actor, action, object_type, object_id, payload, prev_hash)"
    " FROM audit_events ORDER BY seq"
)
_CHUNK = 20_000


def _sha256_hex(material: bytes) -> str:
    return hashlib.sha256(material).hexdigest()


def _fast_intact(db: Database) -> tuple[int, Head] | None:
    """Check the whole chain in SQLite; return (events, head) when intact, None when something is off."""
    conn = db.conn
    count, low, high = conn.execute("SELECT count(*), min(seq), max(seq) FROM audit_events").fetchone()
    if count == 0:
        return 0, Head(0, GENESIS_HASH)
    if low != 1 or high != count:
        return None
    conn.create_function(_HASH_FUNCTION, 1, _sha256_hex, deterministic=True)
    mismatched = conn.execute(
        f"SELECT seq, hash FROM audit_events WHERE {_HASH_FUNCTION}({_MATERIAL_SQL}) IS NOT hash"
    ).fetchall()
    if any(not _slow_match(db, seq, stored) for seq, stored in mismatched):
        return None
    broken = conn.execute(
        "SELECT 1 FROM audit_events a LEFT JOIN audit_events b ON b.seq = a.seq - 1"
        " WHERE a.prev_hash IS NOT coalesce(b.hash, CASE WHEN a.seq = 1 THEN ? END) LIMIT 1",
        [GENESIS_HASH],
    ).fetchone()
    if broken is not None:
        return None
    seq, digest = conn.execute("SELECT seq, hash FROM audit_events WHERE seq = ?", [count]).fetchone()
    return count, Head(seq, digest)


def _chain_break(db: Database) -> tuple[int, ChainReport | None, Head]:
    """Walk the chain; return (events, the failure or None, the last good head)."""
    # The app writes every field as text: another type (a payload cast to a BLOB) was stored by
    # hand, and SQLite's JSON functions that hash the chain cannot even read it.
    odd = db.execute(
        "SELECT seq, id, typeof(payload) FROM audit_events WHERE typeof(id) <> 'text' OR typeof(at) <> 'text'"
        " OR typeof(actor) <> 'text' OR typeof(action) <> 'text' OR typeof(object_type) <> 'text'"
        " OR typeof(object_id) NOT IN ('text', 'null') OR typeof(payload) <> 'text'"
        " OR typeof(prev_hash) <> 'text' OR typeof(hash) <> 'text' ORDER BY seq LIMIT 1"
    ).fetchone()
    if odd is not None:
        seq, event_id, _kind = odd
        before = db.execute("SELECT hash FROM audit_events WHERE seq = ?", [seq - 1]).fetchone()
        return seq, ChainReport(False, seq, seq, str(event_id), "a field is stored as other than text: it was "
                                "changed outside the app"), Head(seq - 1, str(before[0]) if before else GENESIS_HASH)
    fast = _fast_intact(db)
    if fast is not None:
        return fast[0], None, fast[1]
    sha256 = hashlib.sha256
    prev_hash = GENESIS_HASH
    expected_seq = 1
    cursor = db.conn.execute(_FAST_SQL)
    try:
        while True:
            rows = cursor.fetchmany(_CHUNK)
            if not rows:
                break
            for seq, event_id, stored_prev, stored, material in rows:
                if seq != expected_seq or stored_prev != prev_hash:
                    count = expected_seq
                    if seq != expected_seq:
                        reason = f"expected event {expected_seq}, found {seq}: an event was removed, inserted or moved"
                    else:
                        reason = "its link to the previous event is broken"
                    return count, ChainReport(False, count, seq, event_id, reason), Head(expected_seq - 1, prev_hash)
                if sha256(material.encode("utf-8")).hexdigest() != stored and not _slow_match(db, seq, stored):
                    return expected_seq, ChainReport(False, expected_seq, seq, event_id, "its content does not match its hash"), Head(expected_seq - 1, prev_hash)
                prev_hash = stored
                expected_seq += 1
    finally:
        cursor.close()
    return expected_seq - 1, None, Head(expected_seq - 1, prev_hash)


def _slow_match(db: Database, seq: int, stored: str) -> bool:
    row = db.conn.execute(
        "SELECT seq, id, at, actor, action, object_type, object_id, payload, prev_hash FROM audit_events WHERE seq = ?",
        [seq],
    ).fetchone()
    return event_hash(
        seq=row[0], event_id=row[1], at=row[2], actor=row[3], action=row[4], object_type=row[5],
        object_id=row[6], payload_json=row[7], prev_hash=row[8],
    ) == stored


def _check_anchor(db: Database, source: str, anchor: Head, head: Head) -> tuple[AnchorCheck, int | None]:
    """Compare one anchor with an intact chain; return the check and the first bad seq if any."""
    if anchor.seq == 0:
        if anchor.hash == GENESIS_HASH:
            return AnchorCheck(source, 0, anchor.hash, True), None
        return AnchorCheck(source, 0, anchor.hash, False, "names a start other than the genesis"), 1
    if anchor.seq > head.seq:
        first = head.seq + 1
        missing = f"event {first} was" if anchor.seq == first else f"events {first}-{anchor.seq} were"
        detail = f"names event {anchor.seq} but the log ends at event {head.seq}: {missing} removed"
        return AnchorCheck(source, anchor.seq, anchor.hash, False, detail), first
    row = db.execute("SELECT hash FROM audit_events WHERE seq = ?", [anchor.seq]).fetchone()
    if row is None or row[0] != anchor.hash:
        detail = f"event {anchor.seq} is not the one anchored: the log was rewritten up to it"
        return AnchorCheck(source, anchor.seq, anchor.hash, False, detail), anchor.seq
    return AnchorCheck(source, anchor.seq, anchor.hash, True), None


def _requires_head_record(db: Database) -> bool:
    try:
        return db.execute(
            "SELECT 1 FROM _sqlite_migrations WHERE migration_set = 'reviewer' AND name = ?",
            [HEAD_RECORD_MIGRATION],
        ).fetchone() is not None
    except sqlite3.OperationalError:
        return False


def verify_chain(
    db: Database,
    *,
    expected: Iterable[tuple[str, Head]] = (),
    anchor_file: Path | None | bool = True,
) -> ChainReport:
    """Recompute every hash in order, then compare the chain with its anchors.

    Args:
        db: the workspace database.
        expected: more anchors as ``(source, head)``, e.g. from commit trailers or a published head.
        anchor_file: the anchor file to check; True (default) for the one beside the database file,
            False or None for none.

    Returns:
        The report; ``first_bad_seq`` names the first event that was altered, removed, moved or
        inserted (for removed newest events: the first missing position).
    """
    count, failure, head = _chain_break(db)
    if failure is not None:
        return failure
    anchors: list[tuple[str, Head | None, str]] = []
    row = db.execute("SELECT value FROM workspace_info WHERE key = ?", [HEAD_KEY]).fetchone()
    if row is not None:
        try:
            data = json.loads(row[0])
            anchors.append(("head record", Head(int(data["seq"]), str(data["hash"])), ""))
        except (ValueError, KeyError, TypeError):
            anchors.append(("head record", None, "the head record is unreadable"))
    elif _requires_head_record(db):
        anchors.append(("head record", None, "the head record (workspace_info.audit_head) is missing"))
    if anchor_file is True:
        anchor_file = anchor_path(db)
    if isinstance(anchor_file, Path):
        try:
            found = read_anchor_file(anchor_file)
        except ValueError as exc:
            anchors.append((f"anchor file {anchor_file.name}", None, f"the anchor file {exc}"))
        else:
            if found is None:
                anchors.append((f"anchor file {anchor_file.name}", None, f"the anchor file {anchor_file} is missing"))
            else:
                anchors.append((f"anchor file {anchor_file.name}", found, ""))
    anchors.extend((source, anchor, "") for source, anchor in expected)

    checks: list[AnchorCheck] = []
    first_bad: int | None = None
    reason: str | None = None
    for source, anchor, problem in anchors:
        if anchor is None:
            checks.append(AnchorCheck(source, None, None, False, problem))
            reason = reason or f"{source}: {problem}"
            continue
        check, bad = _check_anchor(db, source, anchor, head)
        if check.ok and source == "head record" and anchor.seq < head.seq:
            # Written in the same transaction as every event: it always names the last one. An
            # event after it, however well sealed, was appended outside the app.
            first = anchor.seq + 1
            later = f"event {first} was" if head.seq == first else f"events {first}-{head.seq} were"
            check = AnchorCheck(source, anchor.seq, anchor.hash, False,
                                f"names event {anchor.seq} but the log goes on to event {head.seq}: {later} "
                                "appended outside the app")
            bad = first
        checks.append(check)
        if not check.ok and (first_bad is None or (bad is not None and bad < first_bad)):
            first_bad, reason = bad, f"{source}: {check.detail}"
    ok = all(c.ok for c in checks)
    bad_id = None
    if first_bad is not None:
        id_row = db.execute("SELECT id FROM audit_events WHERE seq = ?", [first_bad]).fetchone()
        bad_id = id_row[0] if id_row else None
    return ChainReport(
        ok, count, None if ok else first_bad, None if ok else bad_id, None if ok else reason,
        head=head, anchors=tuple(checks),
    )


# ---- reading the log --------------------------------------------------------------------------


def event_from_row(row: Sequence[Any]) -> AuditEvent:
    """Return the event in a row of ``EVENT_COLUMNS`` (a payload that is not JSON kept as ``unreadable``)."""
    try:
        payload = json.loads(row[7]) if row[7] else {}
    except ValueError:
        payload = {"unreadable": row[7]}
    return AuditEvent(row[0], row[1], row[2], row[3], row[4], row[5], row[6], payload, row[8], row[9])


def list_events(
    db: Database,
    *,
    action: str | None = None,
    object_ref: str | None = None,
    actor: str | None = None,
    since: str | None = None,
    limit: int | None = None,
    newest_first: bool = True,
) -> list[AuditEvent]:
    """Return audit events, filtered.

    Args:
        db: the workspace database.
        action: an action (``decision.record``) or a prefix before a dot (``decision``).
        object_ref: an object type (``proposal``) or an object id.
        actor: who made the change.
        since: only events at or after this ISO-8601 time (a date works too).
        limit: at most this many events (the newest ones when ``newest_first``).
        newest_first: order from the newest event.
    """
    where: list[str] = []
    params: list[Any] = []
    if action:
        where.append("(action = ? OR action LIKE ? ESCAPE '\\')")
        escaped = action.rstrip(".").replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params += [action, escaped + ".%"]
    if object_ref:
        where.append("(object_type = ? OR object_id = ?)")
        params += [object_ref, object_ref]
    if actor:
        where.append("actor = ?")
        params.append(actor)
    if since:
        where.append("at >= ?")
        params.append(since)
    sql = f"SELECT {EVENT_COLUMNS} FROM audit_events"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY seq DESC" if newest_first else " ORDER BY seq"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(int(limit))
    return [event_from_row(r) for r in db.execute(sql, params).fetchall()]


def event_json(event: AuditEvent) -> dict[str, Any]:
    """Return one event as plain JSON data."""
    return {
        "seq": event.seq, "id": event.id, "at": event.at, "actor": event.actor, "action": event.action,
        "object_type": event.object_type, "object_id": event.object_id, "payload": event.payload,
        "prev_hash": event.prev_hash, "hash": event.hash,
    }


def report_json(report: ChainReport) -> dict[str, Any]:
    """Return a verification report as plain JSON data."""
    return {
        "ok": report.ok,
        "events": report.events,
        "head": {"seq": report.head.seq, "hash": report.head.hash},
        "first_bad": None if report.ok else {
            "seq": report.first_bad_seq, "id": report.first_bad_id, "reason": report.reason,
        },
        "anchors": [
            {"source": a.source, "seq": a.seq, "hash": a.hash, "ok": a.ok, "detail": a.detail}
            for a in report.anchors
        ],
    }
