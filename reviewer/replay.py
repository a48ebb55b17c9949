"""Replay the audit log into the governance record and compare it with the tables the app shows.

The hash chain proves that the log itself was not altered; this proves that the tables the desk,
the CLI and the report read (members and their roles, quorum, decisions) are what the log says.
A row edited, deleted or inserted with plain ``sqlite3`` is reported with its table, id, field,
the logged value and the stored value.

Covered so far: ``members``, ``quorum_settings``, ``decisions`` (every field an event carries; a
decision's evidence snapshot, by its digest, where its event has one, and its commit from ``spec.commit`` events)
and ``proposals`` with their section texts and linked conversations (``proposal_sections``,
``proposal_conversations``; for proposals logged whole, i.e. added since the log carried their
texts), and the stance labels people set (in the app, or imported since imports logged them).
Hand links, model and rule labels and imported crowd rows are the next step: their events do not
yet carry everything needed to rebuild them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from reviewer.decision_evidence import snapshot_digest
from reviewer.store import Store, sql_errors

MISSING = "(no row)"
NOT_LOGGED = "(not in the log)"
UNKNOWN: Any = object()  # a field the log does not say (an event older than the field): not compared

DECISION_FIELDS = (
    "proposal_id", "outcome", "reason_category", "rationale", "reviewer", "authority", "quorum", "status_after",
    "spec_revision", "commit_sha", "evidence_sha256",
)
_COMMIT_SHA = DECISION_FIELDS.index("commit_sha")


@dataclass(frozen=True)
class Mismatch:
    """One difference between the record rebuilt from the log and a table.

    Attributes:
        table: the table.
        id: the row's key (a member's or decision's id, a quorum level).
        field: the column, or ``row`` when the whole row is missing or was never logged.
        logged: the value the log gives (``NOT_LOGGED`` for a row no event wrote).
        stored: the value in the table (``MISSING`` for a logged row that is gone).
    """

    table: str
    id: str
    field: str
    logged: Any
    stored: Any

    def describe(self) -> str:
        """One line for people: ``decisions d85f66e0…: rationale: logged 'ok', stored 'changed'``."""
        return f"{self.table} {self.id}: {self.field}: logged {self.logged!r}, stored {self.stored!r}"


@dataclass
class Record:
    """The governance state the log describes.

    Attributes:
        members: member id -> ``{"name", "roles"}``.
        quorum: level -> quorum.
        decisions: decision id -> the logged columns, in ``DECISION_FIELDS`` order.
        person_labels: stance label id -> the logged columns, for labels set by people.
        person_labels_complete: False when an older stance import logged no labels, so a person's
            label missing from the log may be one it imported (not reported then).
        proposals: proposal id -> the logged columns (with ``sections`` and ``conversations`` where
            the event carries them: events written before proposals were logged whole do not).
    """

    members: dict[str, dict[str, Any]] = field(default_factory=dict)
    quorum: dict[str, int] = field(default_factory=dict)
    decisions: dict[str, list[Any]] = field(default_factory=dict)
    proposals: dict[str, dict[str, Any]] = field(default_factory=dict)
    person_labels: dict[str, dict[str, Any]] = field(default_factory=dict)
    person_labels_complete: bool = True


def replay(events: Iterable[tuple[str, str, str | None, str]]) -> Record:
    """Rebuild the governance record from events ``(actor, action, object_id, payload JSON)`` in log order.

    The quorum starts from the defaults every workspace is created with (the schema writes them).
    """
    from reviewer.governance import DEFAULT_QUORUM

    record = Record(quorum=dict(DEFAULT_QUORUM))
    for actor, action, object_id, payload_text in events:
        payload = json.loads(payload_text or "{}")
        if action in ("member.add", "member.role_add", "member.role_remove") and object_id:
            record.members[object_id] = {"name": payload["name"], "roles": sorted(payload["roles"])}
        elif action == "quorum.set":
            for level, change in payload.get("changed", {}).items():
                record.quorum[level] = int(change["to"])
        elif action == "decision.record" and object_id:
            # A tuple in DECISION_FIELDS order: a hundred thousand of them compare at C speed.
            record.decisions[object_id] = [
                payload["proposal_id"], payload["outcome"], payload.get("reason_category"), payload["rationale"],
                actor, payload.get("level"), payload.get("quorum"), payload.get("status_after"),
                payload.get("spec_revision"), None,
                # Decisions logged before evidence was kept have none to compare.
                payload.get("evidence_sha256", UNKNOWN),
            ]
        elif action == "proposal.add" and object_id:
            logged = {name: payload[name] for name in ("title", "kind", "origin", "base_revision", "created_by")}
            if "texts" in payload:
                logged.update(
                    intent=payload["intent"], created_at=payload["created_at"],
                    expected_ranking=payload["expected_ranking"],
                    sections=[[t["section_id"], t["base_text"], t["new_text"]] for t in payload["texts"]],
                    conversations=sorted(payload["linked_conversations"]),
                )
            record.proposals[object_id] = logged
        elif action == "stance.set" and object_id:
            record.person_labels[payload["label_id"]] = {
                "proposal_id": object_id, "justification_id": payload["justification_id"],
                "stance": payload["stance"], "source_name": actor, "supersedes": payload.get("supersedes"),
            }
        elif action == "import.stances":
            if "person_labels" not in payload:
                record.person_labels_complete = False
            for label_id, proposal_id, justification_id, stance, name, supersedes in payload.get("person_labels", []):
                record.person_labels[label_id] = {
                    "proposal_id": proposal_id, "justification_id": justification_id, "stance": stance,
                    "source_name": name, "supersedes": supersedes,
                }
        elif action == "spec.commit" and object_id:
            for decision_id in payload.get("decision_ids", []):
                if decision_id in record.decisions:
                    record.decisions[decision_id][_COMMIT_SHA] = object_id
    return record


def _compare_rows(
    table: str, fields: tuple[str, ...], logged: dict[str, list[Any]], stored: dict[str, tuple[Any, ...]]
) -> list[Mismatch]:
    """Compare rows kept as sequences in ``fields`` order; a logged ``UNKNOWN`` is not compared."""
    out = []
    for key, values in logged.items():
        row = stored.get(key)
        if row is None:
            out.append(Mismatch(table, key, "row", "(logged)", MISSING))
        elif tuple(values) != row:
            out += [
                Mismatch(table, key, name, value, have)
                for name, value, have in zip(fields, values, row)
                if value is not UNKNOWN and value != have
            ]
    out += [Mismatch(table, key, "row", NOT_LOGGED, "(present)") for key in stored if key not in logged]
    return sorted(out, key=lambda m: m.id)


def _compare(table: str, logged: dict[str, dict[str, Any]], stored: dict[str, dict[str, Any]]) -> list[Mismatch]:
    out = []
    for key in sorted(set(logged) | set(stored)):
        if key not in stored:
            out.append(Mismatch(table, key, "row", "(logged)", MISSING))
        elif key not in logged:
            out.append(Mismatch(table, key, "row", NOT_LOGGED, "(present)"))
        else:
            for name, value in logged[key].items():
                if stored[key].get(name) != value:
                    out.append(Mismatch(table, key, name, value, stored[key].get(name)))
    return out


def check_record(store: Store) -> list[Mismatch]:
    """Replay the log and compare members, quorum, decisions and proposals with their tables; [] when they agree."""
    db = store.db
    with sql_errors("replaying the audit log"):
        record = replay(db.execute("SELECT actor, action, object_id, payload FROM audit_events ORDER BY seq"))
        members = {
            r[0]: {"name": r[1], "roles": sorted(json.loads(r[2] or "[]"))}
            for r in db.execute("SELECT id, name, roles FROM members")
        }
        quorum = {r[0]: {"quorum": r[1]} for r in db.execute("SELECT level, quorum FROM quorum_settings")}
        decisions = {
            row[0]: (*row[1:11], snapshot_digest(row[11]) if row[11] else None)
            for row in db.execute(
                "SELECT id, proposal_id, outcome, reason_category, rationale, reviewer, authority, quorum,"
                " status_after, spec_revision, commit_sha, evidence FROM decisions"
            )
        }
        proposals: dict[str, dict[str, Any]] = {}
        for row in db.execute(
            "SELECT id, title, kind, origin, base_revision, created_by, intent, created_at, expected_ranking"
            " FROM proposals"
        ):
            proposals[row[0]] = {
                "title": row[1], "kind": row[2], "origin": row[3], "base_revision": row[4], "created_by": row[5],
                "intent": row[6], "created_at": row[7],
                "expected_ranking": json.loads(row[8]) if row[8] else None, "sections": [], "conversations": [],
            }
        for pid, section_id, base, new in db.execute(
            "SELECT proposal_id, section_id, base_text, new_text FROM proposal_sections ORDER BY proposal_id, position"
        ):
            proposals.setdefault(pid, {"sections": [], "conversations": []})["sections"].append([section_id, base, new])
        for pid, conversation_id in db.execute(
            "SELECT proposal_id, conversation_id FROM proposal_conversations ORDER BY proposal_id, conversation_id"
        ):
            proposals.setdefault(pid, {"sections": [], "conversations": []})["conversations"].append(conversation_id)
        labels = {
            r[0]: {"proposal_id": r[1], "justification_id": r[2], "stance": r[3], "source_name": r[4],
                   "supersedes": r[5]}
            for r in db.execute(
                "SELECT id, proposal_id, justification_id, stance, source_name, supersedes FROM stance_labels"
                " WHERE source_kind = 'person'"
            )
        }
    if not record.person_labels_complete:
        labels = {k: v for k, v in labels.items() if k in record.person_labels}
    return (
        _compare("members", record.members, members)
        + _compare("quorum_settings", {k: {"quorum": v} for k, v in record.quorum.items()}, quorum)
        + _compare_rows("decisions", DECISION_FIELDS, record.decisions, decisions)
        + _compare("proposals", record.proposals, proposals)
        + _compare("stance_labels", record.person_labels, labels)
    )


def integrity_problem(store: Store) -> str | None:
    """Return SQLite's first complaint about the database file (``PRAGMA quick_check``), or None when sound."""
    with sql_errors("checking the database file"):
        rows = [r[0] for r in store.db.execute("PRAGMA quick_check(5)")]
    if rows == ["ok"]:
        return None
    # SQLite's report spans lines ("*** in database main ***", then one line per problem): keep it one line.
    lines = [x.strip() for row in rows for x in str(row).splitlines() if x.strip() and not x.startswith("***")]
    return "; ".join(lines[:3]) + ("; …" if len(lines) > 3 else "")


@dataclass(frozen=True)
class VerifyReport:
    """What ``audit verify`` found.

    Attributes:
        chain: the hash chain and anchor check.
        mismatches: the rows of the governance tables that differ from the log replayed (checked
            only when the chain is intact: a broken chain is no ground to replay).
    """

    chain: Any
    mismatches: tuple[Mismatch, ...]

    @property
    def ok(self) -> bool:
        """The chain is intact and the record matches it."""
        return bool(self.chain.ok) and not self.mismatches


def verify_workspace(workspace: Any, expected: Iterable[tuple[str, Any]] = ()) -> VerifyReport:
    """Check the database file, then the chain and its anchors, then the record against the log replayed.

    Args:
        workspace: the open workspace.
        expected: more anchors to compare (``(source, head)``), e.g. from ``--expect``.

    Raises:
        KnownError: the database file is damaged (SQLite's ``quick_check`` fails); nothing is read further.
    """
    from reviewer import audit
    from reviewer.errors import KnownError
    from reviewer.trace import repository_anchors

    problem = integrity_problem(workspace.store)
    if problem:
        raise KnownError(
            f"The workspace database file is damaged ({problem}); the audit log cannot be trusted as read.",
            hint="Restore reviewer.db from a backup, then verify again; nothing was changed.",
        )
    chain = audit.verify_chain(workspace.store.db, expected=[*expected, *repository_anchors(workspace)])
    return VerifyReport(chain, tuple(check_record(workspace.store)) if chain.ok else ())
