"""Stance labels in bulk, and their undo: many links labelled by a person in one transaction and one event.

**Bulk labelling** (``set_stances``) gives each chosen link a new person label with one stance,
superseding its effective label, as ``evidence.set_stance`` does for one. Links that already have
that stance from that person are left alone. The ``stance.bulk`` event carries every row: the new
label's id and the link, and the link's effective label before (its id, stance and source), so
that ``audit verify`` and a rebuild (and a sync) know every label, and an undo knows what to bring back.

**Undo** (``undo_stances``) withdraws the labels a bulk labelling made (a row each in
``stance_label_withdrawals``, migration 0015): labels are never changed or deleted, and a withdrawn
label no longer counts for its link's effective stance, so each link is again exactly as it was
before, whoever had labelled it then (a person, a model or the rule). It is refused, with nothing
written, when any of those links has been labelled again since (its effective label is no longer
the bulk's), or when the labelling was already undone. Its ``stance.undo`` event names the labels
withdrawn and the effective label each link returned to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reviewer import audit
from reviewer.errors import KnownError
from reviewer.evidence import (
    StanceLabel,
    _require_proposal,
    insert_label,
    normalise_stance,
    require_labeller,
)
from reviewer.ids import new_id, utc_now
from reviewer.store import Store, connection_of, sql_errors

BULK_ACTION = "stance.bulk"
UNDO_ACTION = "stance.undo"
MAX_BULK = 100_000
"""The most links one bulk labelling may touch (its event carries each)."""


@dataclass(frozen=True)
class LinkState:
    """A link's effective label at one moment (all None: no label).

    Attributes:
        label_id: the effective label.
        stance: its stance.
        source_kind: person, model or rule.
        source_name: who or what set it.
    """

    label_id: str | None
    stance: str | None
    source_kind: str | None
    source_name: str | None


@dataclass(frozen=True)
class BulkChange:
    """One link of a bulk labelling: its new label, and its effective label before.

    Attributes:
        justification_id: the justification.
        label_id: the label the bulk labelling made.
        before: the link's effective label before it.
    """

    justification_id: str
    label_id: str
    before: LinkState


@dataclass(frozen=True)
class BulkResult:
    """What a bulk labelling (or its undo) did.

    Attributes:
        bulk_id: the bulk labelling's id (what ``undo`` names).
        proposal_id: the proposal.
        stance: the stance set (for an undo: the stance that was undone).
        person: who labelled (for an undo: who undid it).
        changed: the links labelled (for an undo: the links brought back), with their before-state.
        unchanged: links left alone, which already had that stance from that person.
        undone: True for the result of an undo.
    """

    bulk_id: str
    proposal_id: str
    stance: str
    person: str
    changed: tuple[BulkChange, ...]
    unchanged: tuple[str, ...] = ()
    undone: bool = False

    def describe(self) -> str:
        """One line for people."""
        n = len(self.changed)
        links = f"{n} justification{'' if n == 1 else 's'}"
        if self.undone:
            return f"Undid bulk labelling {self.bulk_id}: {links} back to the stance they had before."
        left = f"; {len(self.unchanged)} already had it" if self.unchanged else ""
        return f"Labelled {links} {self.stance.replace('_', ' ')} as {self.person} (bulk {self.bulk_id}{left})."


def _state(row: Sequence[Any] | None) -> LinkState:
    return LinkState(*row) if row is not None else LinkState(None, None, None, None)


def _states(conn: Any, proposal_id: str, justification_ids: Sequence[str]) -> dict[str, LinkState]:
    out: dict[str, LinkState] = {}
    for start in range(0, len(justification_ids), 500):
        part = list(justification_ids[start:start + 500])
        for jid, *state in conn.execute(
            "SELECT justification_id, label_id, stance, source_kind, source_name FROM evidence_current"
            f" WHERE proposal_id = ? AND justification_id IN ({','.join('?' * len(part))})", [proposal_id, *part]
        ):
            out[jid] = _state(state)
    return out


def set_stances(store: Store, proposal_id: str, justification_ids: Sequence[str], stance: str, person: str,
                note: str | None = None) -> BulkResult:
    """Label many links of a proposal with one stance as ``person``, in one transaction with one event.

    Raises:
        KnownError: no person or no justification named, too many, an unknown stance or proposal, a
            member without the reviewer role, or a justification that is not linked to the proposal
            (nothing is written then).
    """
    stance = normalise_stance(stance)
    person = (person or "").strip()
    if not person:
        raise KnownError("Labels set by hand need the name of the person setting them.")
    wanted = list(dict.fromkeys(justification_ids))
    if not wanted:
        raise KnownError("Choose the justifications to label.")
    if len(wanted) > MAX_BULK:
        raise KnownError(f"At most {MAX_BULK:,} justifications can be labelled at once ({len(wanted):,} chosen).")
    with sql_errors("saving the stances"), store.db.atomic():
        require_labeller(store, person)
        _require_proposal(store, proposal_id)
        states = _states(store.db.conn, proposal_id, wanted)
        missing = [j for j in wanted if j not in states]
        if missing:
            raise KnownError(f"{len(missing)} of the justifications are not linked to proposal {proposal_id}"
                             f" (the first: {missing[0]}); nothing was labelled.")
        bulk_id, now = new_id(), utc_now()
        changed: list[BulkChange] = []
        unchanged: list[str] = []
        for jid in wanted:
            before = states[jid]
            if before.source_kind == "person" and before.source_name == person and before.stance == stance:
                unchanged.append(jid)
                continue
            label = StanceLabel(
                id=new_id(), proposal_id=proposal_id, justification_id=jid, stance=stance, source_kind="person",
                source_name=person, prompt_version=None, confidence=None, quote=None,
                detail={"bulk_id": bulk_id, **({"note": note} if note else {})}, supersedes=before.label_id,
                created_at=now,
            )
            insert_label(store, label)
            changed.append(BulkChange(jid, label.id, before))
        if changed:
            audit.append_event(
                store.db, actor=person, action=BULK_ACTION, object_type="proposal", object_id=proposal_id,
                payload={
                    "bulk_id": bulk_id, "stance": stance, "note": note, "created_at": now,
                    "labels": [[c.label_id, c.justification_id, c.before.label_id, c.before.stance,
                                c.before.source_kind, c.before.source_name] for c in changed],
                },
            )
    return BulkResult(bulk_id, proposal_id, stance, person, tuple(changed), tuple(unchanged))


@dataclass(frozen=True)
class BulkRecord:
    """One bulk labelling as its event logged it, and whether it was undone.

    Attributes:
        bulk_id: its id.
        proposal_id: the proposal.
        stance: the stance set.
        person: who labelled.
        created_at: when.
        changes: each link's new label and before-state.
        undone_by: who undid it, or None.
    """

    bulk_id: str
    proposal_id: str
    stance: str
    person: str
    created_at: str
    changes: tuple[BulkChange, ...]
    undone_by: str | None


def bulk_labellings(source: Store | Any, *, person: str | None = None, proposal_id: str | None = None,
                    bulk_id: str | None = None, limit: int = 20) -> list[BulkRecord]:
    """Return the latest bulk labellings (newest first), by ``person``, on ``proposal_id``, with ``bulk_id`` when given."""
    import json

    conn = connection_of(source)
    where, params = ["action = ?"], [BULK_ACTION]
    if person:
        where.append("actor = ?")
        params.append(person.strip())
    if proposal_id:
        where.append("object_id = ?")
        params.append(proposal_id)
    if bulk_id:
        where.append("json_extract(payload, '$.bulk_id') = ?")
        params.append(bulk_id.strip())
    out = []
    with sql_errors("reading the bulk labellings"):
        rows = conn.execute(
            f"SELECT actor, object_id, payload FROM audit_events WHERE {' AND '.join(where)} ORDER BY seq DESC LIMIT ?",
            [*params, int(limit)]).fetchall()
        for actor, object_id, payload_text in rows:
            payload = json.loads(payload_text)
            changes = tuple(BulkChange(jid, label_id, LinkState(*before))
                            for label_id, jid, *before in payload["labels"])
            undone = conn.execute(
                "SELECT person FROM stance_label_withdrawals WHERE label_id = ?", [changes[0].label_id]
            ).fetchone() if changes else None
            out.append(BulkRecord(payload["bulk_id"], object_id, payload["stance"], actor, payload["created_at"],
                                  changes, undone[0] if undone else None))
    return out


def undo_stances(store: Store, person: str, *, bulk_id: str | None = None) -> BulkResult:
    """Undo a bulk labelling: withdraw its labels, so that each link has exactly its effective label from before.

    Args:
        store: the workspace store.
        person: who undoes it.
        bulk_id: the bulk labelling (default: ``person``'s latest one not yet undone).

    Raises:
        KnownError: no person named; no such bulk labelling (or none by ``person`` left to undo); it
            was undone already; or a link was labelled again since (nothing is written then).
    """
    person = (person or "").strip()
    if not person:
        raise KnownError("Say who undoes the labels (a person's name).")
    with sql_errors("undoing the labels"), store.db.atomic():
        require_labeller(store, person)
        record = _find_bulk(store, person, bulk_id)
        if record.undone_by is not None:
            raise KnownError(f"Bulk labelling {record.bulk_id} was already undone by {record.undone_by}.")
        states = _states(store.db.conn, record.proposal_id, [c.justification_id for c in record.changes])
        moved = [c.justification_id for c in record.changes
                 if states.get(c.justification_id, LinkState(None, None, None, None)).label_id != c.label_id]
        if moved:
            raise KnownError(
                f"{len(moved)} of the {len(record.changes)} justifications labelled by bulk {record.bulk_id} were"
                f" labelled again or unlinked since (the first: {moved[0]}); nothing was undone.",
                hint="Set their stances by hand instead.",
            )
        undo_id, now = new_id(), utc_now()
        store.db.conn.executemany(
            "INSERT INTO stance_label_withdrawals (label_id, undo_id, person, created_at) VALUES (?, ?, ?, ?)",
            [(c.label_id, undo_id, person, now) for c in record.changes],
        )
        after = _states(store.db.conn, record.proposal_id, [c.justification_id for c in record.changes])
        wrong = [c.justification_id for c in record.changes if after[c.justification_id] != c.before]
        if wrong:  # a label the bulk superseded was withdrawn meanwhile by another undo: not its before-state
            raise KnownError(f"Undoing bulk {record.bulk_id} would not bring back the stance {wrong[0]} had before;"
                             " nothing was undone.", hint="Set its stance by hand instead.")
        audit.append_event(
            store.db, actor=person, action=UNDO_ACTION, object_type="proposal", object_id=record.proposal_id,
            payload={"undo_id": undo_id, "bulk_id": record.bulk_id, "created_at": now,
                     "labels": [[c.label_id, c.justification_id, c.before.label_id] for c in record.changes]},
        )
    return BulkResult(record.bulk_id, record.proposal_id, record.stance, person, record.changes, undone=True)


def _find_bulk(store: Store, person: str, bulk_id: str | None) -> BulkRecord:
    if bulk_id is None:
        for record in bulk_labellings(store, person=person, limit=1000):
            if record.undone_by is None:
                return record
        raise KnownError(f"{person} has no bulk labelling left to undo.")
    found = bulk_labellings(store, bulk_id=bulk_id, limit=1)
    if not found:
        raise KnownError(f"No bulk labelling with id {bulk_id}.")
    return found[0]


__all__ = ["BulkChange", "BulkRecord", "BulkResult", "LinkState", "bulk_labellings", "set_stances", "undo_stances"]
