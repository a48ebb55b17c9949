"""Append-only audit events, each carrying the hash of the previous one, so edits are detectable."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from reviewer.ids import new_id, utc_now

GENESIS_HASH = "0" * 64


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
    and its event are written together or not at all.

    Returns:
        The stored event.
    """
    last = db.execute("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
    event_id = new_id()
    at = utc_now()
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
    return AuditEvent(
        seq, event_id, at, actor, action, object_type, object_id, payload or {}, prev_hash, digest
    )


@dataclass(frozen=True)
class ChainReport:
    """The result of checking the audit chain.

    Attributes:
        ok: whether every event is intact and in place.
        events: how many events were checked.
        first_bad_seq: the position of the first event that does not fit, if any.
        first_bad_id: that event's id, if any.
        reason: what is wrong with it.
    """

    ok: bool
    events: int
    first_bad_seq: int | None = None
    first_bad_id: str | None = None
    reason: str | None = None


def verify_chain(db: Database) -> ChainReport:
    """Recompute every hash in order and report the first event that was altered or moved."""
    prev_hash = GENESIS_HASH
    expected_seq = 1
    count = 0
    rows = db.execute(
        "SELECT seq, id, at, actor, action, object_type, object_id, payload, prev_hash, hash"
        " FROM audit_events ORDER BY seq"
    )
    for seq, event_id, at, actor, action, object_type, object_id, payload, stored_prev, stored in rows:
        count += 1
        if seq != expected_seq:
            return ChainReport(False, count, seq, event_id, f"expected event {expected_seq}, found {seq}: an event was removed or inserted")
        if stored_prev != prev_hash:
            return ChainReport(False, count, seq, event_id, "its link to the previous event is broken")
        digest = event_hash(
            seq=seq,
            event_id=event_id,
            at=at,
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            payload_json=payload,
            prev_hash=stored_prev,
        )
        if digest != stored:
            return ChainReport(False, count, seq, event_id, "its content does not match its hash")
        prev_hash = stored
        expected_seq += 1
    return ChainReport(True, count)
