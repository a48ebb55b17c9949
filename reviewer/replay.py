"""Replay the audit log into the governance record and compare it with the tables the app shows.

The hash chain proves that the log itself was not altered; this proves that the tables the desk,
the CLI and the report read are what the log says. A row edited, deleted or inserted with plain
``sqlite3`` is reported with its table, id, field, the logged value and the stored value.

Rows the log carries whole, compared field by field: ``members``, ``quorum_settings``,
``decisions`` (every field an event carries; a decision's evidence snapshot, by its digest, where
its event has one, and its commit from ``spec.commit`` events), ``proposals`` with their section
texts and linked conversations (``proposal_sections``, ``proposal_conversations``; for proposals
logged whole, i.e. added since the log carried their texts), the stance labels people set (in the
app, or imported since imports logged them), hand links (``evidence_hand_links``), and the
discussion: threads with their resolved state (``comment_threads``) and comments (``comments``);
and the workspace settings ``workspace.set`` events logged (``workspace_info``: the last value
logged for each key; the duty to respond's settings, ``reviewer.duty.LOGGED_SETTINGS``, are
reported when stored without an event).

Rows the log vouches for by digest (``reviewer.digests``), compared per writer (the mismatch's id
is ``import <id>``, ``rule run <id>`` or ``judge job <id>``; field ``rows`` when the count differs,
else ``sha256``):

- crowd rows (conversations, participants, assessments, justifications, Pol.is statements, votes)
  per import that last wrote them (their ``import_id``); a crowd row that names no import is
  reported by its own key, unless an import logged before imports carried digests may have
  written it;
- relevance grades and ranker runs and rankings that the product's own formats imported, and the
  stance labels a stance import or a ranking-rule run stored (``written_by``); a rule label no run
  or import vouches for is reported, and so is a model label that belongs to no judge job;
- the rows a judge job stored, where its last ``judge.*`` event carries a ``result_digest``
  (``digests.judge_job_digest``).

What older events do not say is not compared (``UNKNOWN``).
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reviewer.decision_evidence import snapshot_digest
from reviewer.digests import (
    CANDIDATE_TABLES,
    CROWD_TABLES,
    EMPTY,
    FORMAT_TABLES,
    GROUP_TABLES,
    ROW_KEYS,
    WRITER_COLUMN,
    RowsDigest,
    judge_job_digest,
    judge_job_rows,
    writer_rows_digest,
)
from reviewer.duty import LOGGED_SETTINGS, duty_text
from reviewer.store import Store, connection_of, sql_errors

MISSING = "(no row)"
NOT_LOGGED = "(not in the log)"
UNKNOWN: Any = object()  # a field the log does not say (an event older than the field): not compared

DECISION_FIELDS = (
    "proposal_id", "outcome", "reason_category", "rationale", "reviewer", "authority", "quorum", "status_after",
    "spec_revision", "commit_sha", "evidence_sha256", "proposal_revision", "duty",
)
_COMMIT_SHA = DECISION_FIELDS.index("commit_sha")
MEMBER_FIELDS = ("name", "roles", "email", "signing_key")
QUORUM_FIELDS = ("quorum",)
PROPOSAL_FIELDS = (
    "title", "kind", "origin", "base_revision", "created_by", "intent", "created_at", "expected_ranking",
    "sections", "conversations", "revision", "votes_from", "revisions",
)
REVISION_FIELDS = (
    "revision", "kind", "title", "intent", "proposal_kind", "base_revision", "sections", "note", "created_at",
    "created_by",
)
"""A revision as ``PROPOSAL_FIELDS``' ``revisions`` holds each (``proposal_revisions``' columns)."""
_P = {name: i for i, name in enumerate(PROPOSAL_FIELDS)}
LABEL_FIELDS = ("proposal_id", "justification_id", "stance", "source_name", "supersedes")
WITHDRAWAL_FIELDS = ("undo_id", "person", "created_at")
HAND_LINK_FIELDS = ("proposal_id", "justification_id", "action", "person", "note", "created_at")
THREAD_FIELDS = (
    "proposal_id", "section_id", "justification_id", "started_by", "created_at", "resolved_by", "resolved_at",
)
COMMENT_FIELDS = ("thread_id", "author", "text", "mentions", "created_at")
SETTING_FIELDS = ("value",)


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
        return f"{self.table} {self.id}: {self.field}: logged {_short(self.logged)}, stored {_short(self.stored)}"


def _short(value: Any, limit: int = 160) -> str:
    """A value for one line: its repr, cut in the middle when long (``--json`` has it whole)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit // 2]} … {text[-limit // 2:]} ({len(text):,} characters)"


@dataclass
class Record:
    """The governance state the log describes.

    Each table maps a row's key to the logged values, in that table's ``*_FIELDS`` order (``UNKNOWN``
    where an older event does not say).

    Attributes:
        members: member id -> ``MEMBER_FIELDS`` (their git identity as ``member.add`` and
            ``member.set_identity`` logged it).
        quorum: level -> ``QUORUM_FIELDS``.
        decisions: decision id -> ``DECISION_FIELDS``.
        proposals: proposal id -> ``PROPOSAL_FIELDS`` (texts and links only for proposals logged whole).
        person_labels: stance label id -> ``LABEL_FIELDS``, for labels set by people.
        person_labels_complete: False when an older stance import logged no labels, so a person's
            label missing from the log may be one it imported (not reported then).
        hand_links: hand link row id -> ``HAND_LINK_FIELDS`` (``evidence.link``/``unlink`` events and
            stance imports that carry their rows).
        legacy_hand_links: how many rows older link events (without the row's id) stand for, by
            (proposal, justification, action, person, note): a stored row with such a key is theirs.
        hand_links_complete: False when an older stance import made hand links without logging
            them, so a hand link missing from the log may be one it made (not reported then).
        row_sets: (table, writer id) -> the digest of the rows that writer stored in the table, as
            last logged (an import's own event, or a later import's ``rewrote``).
        writer_names: writer id -> how a mismatch names it (``import <id>``, ``rule run <id>``).
        crowd_complete: False when an import logged before imports carried digests, so a crowd row
            that names no import may be one it wrote (not reported then).
        rule_labels_complete: False when a rule run or stance import logged before they carried
            digests, so a rule label that no run vouches for may be one of theirs.
        model_labels_complete: False when a stance import logged before imports carried digests,
            so a model label that belongs to no judge job may be one it brought.
        judge_jobs: judge job id -> (task, ``result_digest`` of its last ``judge.*`` event or None).
        threads: discussion thread id -> ``THREAD_FIELDS`` (``comment.add`` of its first comment, then
            ``comment.resolve``/``comment.reopen``).
        comments: comment id -> ``COMMENT_FIELDS``.
        withdrawals: stance label id -> ``WITHDRAWAL_FIELDS``, for labels an undo withdrew (``stance.undo``).
        settings: ``workspace_info`` key -> ``SETTING_FIELDS``, as its last ``workspace.set`` logged it.
    """

    members: dict[str, list[Any]] = field(default_factory=dict)
    quorum: dict[str, list[Any]] = field(default_factory=dict)
    decisions: dict[str, list[Any]] = field(default_factory=dict)
    proposals: dict[str, list[Any]] = field(default_factory=dict)
    person_labels: dict[str, list[Any]] = field(default_factory=dict)
    person_labels_complete: bool = True
    hand_links: dict[str, list[Any]] = field(default_factory=dict)
    legacy_hand_links: Counter[tuple[Any, ...]] = field(default_factory=Counter)
    hand_links_complete: bool = True
    row_sets: dict[tuple[str, str], RowsDigest] = field(default_factory=dict)
    writer_names: dict[str, str] = field(default_factory=dict)
    crowd_complete: bool = True
    rule_labels_complete: bool = True
    model_labels_complete: bool = True
    judge_jobs: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    threads: dict[str, list[Any]] = field(default_factory=dict)
    comments: dict[str, list[Any]] = field(default_factory=dict)
    withdrawals: dict[str, list[Any]] = field(default_factory=dict)
    settings: dict[str, list[Any]] = field(default_factory=dict)


def replay(events: Iterable[tuple[str, str, str | None, str]]) -> Record:
    """Rebuild the governance record from events ``(actor, action, object_id, payload JSON)`` in log order.

    The quorum starts from the defaults every workspace is created with (the schema writes them).
    """
    from reviewer.governance import DEFAULT_QUORUM

    record = Record(quorum={level: [n] for level, n in DEFAULT_QUORUM.items()})
    for actor, action, object_id, payload_text in events:
        payload = json.loads(payload_text or "{}")
        if action in ("member.add", "member.role_add", "member.role_remove") and object_id:
            before = record.members.get(object_id)
            # A member's git identity comes with their member.add (none before it was logged) and
            # changes only with member.set_identity.
            identity = before[2:] if before is not None and action != "member.add" else [
                payload.get("email"), payload.get("signing_key")]
            record.members[object_id] = [payload["name"], tuple(sorted(payload["roles"])), *identity]
        elif action == "member.set_identity" and object_id in record.members:
            record.members[object_id][2:] = [payload.get("email"), payload.get("signing_key")]
        elif action == "workspace.set":
            record.settings[payload["key"]] = [payload["value"]]
        elif action == "quorum.set":
            for level, change in payload.get("changed", {}).items():
                record.quorum[level] = [int(change["to"])]
        elif action == "decision.record" and object_id:
            record.decisions[object_id] = [
                payload["proposal_id"], payload["outcome"], payload.get("reason_category"), payload["rationale"],
                actor, payload.get("level"), payload.get("quorum"), payload.get("status_after"),
                payload.get("spec_revision"), None,
                # Decisions logged before evidence was kept have none to compare.
                payload.get("evidence_sha256", UNKNOWN), payload.get("proposal_revision"),
                # The duty to respond (``reviewer.duty``): absent when the decision owed no group an answer.
                duty_text(payload.get("duty")),
            ]
        elif action == "proposal.add" and object_id:
            whole = "texts" in payload  # older events did not carry the texts: those fields are not compared
            sections = _texts(payload) if whole else UNKNOWN
            record.proposals[object_id] = [
                payload["title"], payload["kind"], payload["origin"], payload["base_revision"], payload["created_by"],
                payload["intent"] if whole else UNKNOWN, payload["created_at"] if whole else UNKNOWN,
                payload["expected_ranking"] if whole else UNKNOWN,
                sections,
                tuple(sorted(payload["linked_conversations"])) if whole else UNKNOWN,
                1, 1,
                ((1, "written", payload["title"], payload["intent"], payload["kind"], payload["base_revision"],
                  sections, "", payload["created_at"], payload["created_by"]),) if whole else UNKNOWN,
            ]
        elif action == "proposal.revise" and object_id in record.proposals:
            _replay_revision(record.proposals[object_id], actor, payload)
        elif action == "stance.set" and object_id:
            record.person_labels[payload["label_id"]] = [
                object_id, payload["justification_id"], payload["stance"], actor, payload.get("supersedes"),
            ]
        elif action == "stance.bulk" and object_id:
            for label_id, justification_id, supersedes, *_before in payload["labels"]:
                record.person_labels[label_id] = [object_id, justification_id, payload["stance"], actor, supersedes]
        elif action == "stance.undo":
            for label_id, *_rest in payload["labels"]:
                record.withdrawals[label_id] = [payload["undo_id"], actor, payload["created_at"]]
        elif action in ("evidence.link", "evidence.unlink") and object_id:
            kind = action.partition(".")[2]
            if "link_id" in payload:
                record.hand_links[payload["link_id"]] = [
                    object_id, payload["justification_id"], kind, actor, payload.get("note"), payload["created_at"],
                ]
            else:  # logged before links carried their row: matched by what it says
                record.legacy_hand_links[(object_id, payload["justification_id"], kind, actor, payload.get("note"))] += 1
        elif action == "import.stances":
            if "person_labels" not in payload:
                record.person_labels_complete = False
            for label_id, *logged in payload.get("person_labels", []):
                record.person_labels[label_id] = logged[:len(LABEL_FIELDS)]
            if "hand_links" in payload:
                for link_id, *logged in payload["hand_links"]:
                    record.hand_links[link_id] = logged
            elif payload.get("linked"):
                record.hand_links_complete = False
            if "digests" in payload and object_id:
                _replay_import(record, object_id, payload, whole=False)
            else:
                record.rule_labels_complete = record.model_labels_complete = False
        elif action in ("import.ca1", "import.polis") and object_id:
            _replay_import(record, object_id, payload, whole=True)
        elif action in ("import.rankings", "import.relevance", "relevance.lexical") and object_id:
            _replay_import(record, object_id, payload, whole=False)
        elif action == "propose.record" and object_id:
            _replay_import(record, object_id, payload, whole=False)
            record.writer_names[object_id] = f"propose run {object_id}"
        elif action == "groups.compute" and object_id:
            _replay_import(record, object_id, payload, whole=False)
            record.writer_names[object_id] = f"group run {object_id}"
        elif action == "evidence.rule":
            if "labels" in payload:
                run = payload["rule_run_id"]
                record.writer_names[run] = f"rule run {run}"
                record.row_sets[("stance_labels", run)] = RowsDigest.from_json(payload["labels"])
            else:
                record.rule_labels_complete = False
        elif action.startswith("judge.") and object_id:
            task = payload.get("task", record.judge_jobs.get(object_id, (None, None))[0])
            record.judge_jobs[object_id] = (task, payload.get("result_digest"))
        elif action == "spec.commit" and object_id:
            for decision_id in payload.get("decision_ids", []):
                if decision_id in record.decisions:
                    record.decisions[decision_id][_COMMIT_SHA] = object_id
        elif action == "comment.add" and object_id:
            _replay_comment(record, actor, object_id, payload)
        elif action in ("comment.resolve", "comment.reopen") and payload.get("thread_id") in record.threads:
            resolved = action == "comment.resolve"
            record.threads[payload["thread_id"]][5:] = [actor if resolved else None, payload["at"] if resolved else None]
    return record


def _texts(payload: dict[str, Any]) -> tuple[tuple[str, str, str], ...]:
    return tuple((t["section_id"], t["base_text"], t["new_text"]) for t in payload["texts"])


def _replay_revision(proposal: list[Any], actor: str, payload: dict[str, Any]) -> None:
    """Make a ``proposal.revise`` event's revision the logged proposal's current one."""
    sections = _texts(payload)
    proposal[_P["title"]], proposal[_P["intent"]], proposal[_P["kind"]] = (
        payload["title"], payload["intent"], payload["proposal_kind"])
    proposal[_P["base_revision"]], proposal[_P["sections"]] = payload["base_revision"], sections
    proposal[_P["revision"]], proposal[_P["votes_from"]] = payload["revision"], payload["votes_from"]
    if proposal[_P["revisions"]] is not UNKNOWN:
        proposal[_P["revisions"]] += ((
            payload["revision"], payload["kind"], payload["title"], payload["intent"], payload["proposal_kind"],
            payload["base_revision"], sections, payload["note"], payload["created_at"], actor),)


def _replay_comment(record: Record, actor: str, proposal_id: str, payload: dict[str, Any]) -> None:
    """A comment, and its thread when it is the thread's first."""
    comment_id, thread_id = payload["comment_id"], payload["thread_id"]
    if comment_id == thread_id:
        record.threads[thread_id] = [proposal_id, payload.get("section_id"), payload.get("justification_id"), actor,
                                     payload["created_at"], None, None]
    record.comments[comment_id] = [thread_id, actor, payload["text"], tuple(payload.get("mentions", ())),
                                   payload["created_at"]]


def _replay_import(record: Record, import_id: str, payload: dict[str, Any], *, whole: bool) -> None:
    """Take the digests an import's event carries (``whole``: a crowd import, which lists every crowd table)."""
    if "digests" not in payload:
        if whole:
            record.crowd_complete = False
        return
    for table, digest in payload["digests"].items():
        record.row_sets[(table, import_id)] = RowsDigest.from_json(digest)
    for owner, tables in payload.get("rewrote", {}).items():
        for table, digest in tables.items():
            record.row_sets[(table, owner)] = RowsDigest.from_json(digest)
    record.writer_names[import_id] = f"import {import_id}"


def _compare_rows(
    table: str, fields: tuple[str, ...], logged: dict[str, list[Any]], stored: dict[str, tuple[Any, ...]]
) -> list[Mismatch]:
    """Compare rows kept as sequences in ``fields`` order; a logged ``UNKNOWN`` is not compared.

    Rows that agree compare as whole tuples (at C speed: a hundred thousand decisions); the fields are
    looked at one by one only in a row that differs.
    """
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


def check_record(store: Store, *, pool: ThreadPoolExecutor | None = None) -> list[Mismatch]:
    """Replay the log and compare the record with the tables (see the module's docstring); [] when they agree.

    Args:
        store: the workspace store.
        pool: when given (and the database is a file), the digests are read on a connection of their
            own in one of its threads, while this thread compares the rows the log carries whole.
    """
    db = store.db
    with sql_errors("replaying the audit log"):
        record = replay(db.execute("SELECT actor, action, object_id, payload FROM audit_events ORDER BY seq"))
    digested = pool.submit(_row_sets_apart, store.path, record) if pool is not None and store.path else None
    with sql_errors("replaying the audit log"):
        members = {
            r[0]: (r[1], tuple(sorted(json.loads(r[2] or "[]"))), r[3], r[4])
            for r in db.execute("SELECT id, name, roles, email, signing_key FROM members")
        }
        quorum = {r[0]: (r[1],) for r in db.execute("SELECT level, quorum FROM quorum_settings")}
        decisions = {
            row[0]: (*row[1:11], snapshot_digest(row[11]) if row[11] else None, row[12],
                     duty_text(json.loads(row[13])) if row[13] else None)
            for row in db.execute(
                "SELECT id, proposal_id, outcome, reason_category, rationale, reviewer, authority, quorum,"
                " status_after, spec_revision, commit_sha, evidence, proposal_revision, duty FROM decisions"
            )
        }
        sections: dict[str, list[tuple[str, str, str]]] = {}
        for pid, section_id, base, new in db.execute(
            "SELECT proposal_id, section_id, base_text, new_text FROM proposal_sections ORDER BY proposal_id, position"
        ):
            sections.setdefault(pid, []).append((section_id, base, new))
        conversations: dict[str, list[str]] = {}
        for pid, conversation_id in db.execute(
            "SELECT proposal_id, conversation_id FROM proposal_conversations ORDER BY proposal_id, conversation_id"
        ):
            conversations.setdefault(pid, []).append(conversation_id)
        rows: dict[str, tuple[Any, ...]] = {
            r[0]: (*r[1:8], json.loads(r[8]) if r[8] else None, r[9], r[10])
            for r in db.execute(
                "SELECT id, title, kind, origin, base_revision, created_by, intent, created_at, expected_ranking,"
                " revision, votes_from FROM proposals"
            )
        }
        revisions: dict[str, list[tuple[Any, ...]]] = {}
        for pid, *rest in db.execute(
            "SELECT proposal_id, revision, kind, title, intent, proposal_kind, base_revision, sections, note,"
            " created_at, created_by FROM proposal_revisions ORDER BY proposal_id, revision"
        ):
            rest[6] = tuple(tuple(s) for s in json.loads(rest[6]))
            revisions.setdefault(pid, []).append(tuple(rest))
        # Sections, links or revisions whose proposal row is gone still count as rows of the proposal.
        proposals = {
            pid: (*rows.get(pid, (None,) * 8)[:8], tuple(sections.get(pid, ())), tuple(conversations.get(pid, ())),
                  *rows.get(pid, (None,) * 10)[8:], tuple(revisions.get(pid, ())))
            for pid in {*rows, *sections, *conversations, *revisions}
        }
        labels = {
            r[0]: r[1:]
            for r in db.execute(
                "SELECT id, proposal_id, justification_id, stance, source_name, supersedes FROM stance_labels"
                " WHERE source_kind = 'person'"
            )
        }
        links = {
            r[0]: r[1:]
            for r in db.execute(
                "SELECT id, proposal_id, justification_id, action, person, note, created_at FROM evidence_hand_links"
            )
        }
        threads = {r[0]: tuple(r[1:]) for r in db.execute(
            "SELECT id, proposal_id, section_id, justification_id, started_by, created_at, resolved_by, resolved_at"
            " FROM comment_threads")}
        comments = {r[0]: (r[1], r[2], r[3], tuple(json.loads(r[4] or "[]")), r[5]) for r in db.execute(
            "SELECT id, thread_id, author, text, mentions, created_at FROM comments")}
        withdrawals = {r[0]: tuple(r[1:]) for r in db.execute(
            "SELECT label_id, undo_id, person, created_at FROM stance_label_withdrawals")}
        # The settings the log set, and those only ever stored with an event (present without one: reported).
        setting_keys = [*record.settings, *(k for k in LOGGED_SETTINGS if k not in record.settings)]
        settings = {r[0]: (r[1],) for r in db.execute(
            f"SELECT key, value FROM workspace_info WHERE key IN ({','.join('?' * len(setting_keys))})", setting_keys)}
    if not record.person_labels_complete:
        labels = {k: v for k, v in labels.items() if k in record.person_labels}
    _drop_legacy_links(record, links)
    return (
        _compare_rows("members", MEMBER_FIELDS, record.members, members)
        + _compare_rows("quorum_settings", QUORUM_FIELDS, record.quorum, quorum)
        + _compare_rows("decisions", DECISION_FIELDS, record.decisions, decisions)
        + _compare_rows("proposals", PROPOSAL_FIELDS, record.proposals, proposals)
        + _compare_rows("stance_labels", LABEL_FIELDS, record.person_labels, labels)
        + _compare_rows("evidence_hand_links", HAND_LINK_FIELDS, record.hand_links, links)
        + _compare_rows("comment_threads", THREAD_FIELDS, record.threads, threads)
        + _compare_rows("comments", COMMENT_FIELDS, record.comments, comments)
        + _compare_rows("stance_label_withdrawals", WITHDRAWAL_FIELDS, record.withdrawals, withdrawals)
        + _compare_rows("workspace_info", SETTING_FIELDS, record.settings, settings)
        + (digested.result() if digested is not None else check_row_sets(store, record))
    )


WRITER_TABLES = (*CROWD_TABLES, *FORMAT_TABLES, "stance_labels", *CANDIDATE_TABLES, *GROUP_TABLES)
"""The tables whose rows name the writer that stored them (see ``reviewer.digests``)."""
LISTED_ROWS = 100
"""At most this many rows that name no writer are reported one by one, per table."""
# Where a judge job's rows are, by its task (names the table of a mismatch).
_JUDGE_TABLES = {"stance": "stance_labels", "relevance": "relevance_grades", "ranker": "ranker_rankings"}


def check_row_sets(source: Store | sqlite3.Connection, record: Record) -> list[Mismatch]:
    """Compare every row set the log vouches for by digest with the tables (see the module's docstring).

    Args:
        source: the workspace store, or a (read-only) connection to its database.
        record: the log replayed.
    """
    conn = connection_of(source)
    with sql_errors("checking the digests of imported and labelled rows"):
        out = []
        for table in WRITER_TABLES:
            out += _check_writers(conn, record, table)
        return out + _check_unvouched_labels(conn, record) + _check_judge_jobs(conn, record)


def _row_sets_apart(path: Path, record: Record) -> list[Mismatch]:
    """``check_row_sets`` on a connection of its own (for a thread beside the one that compares the rest)."""
    from reviewer.store import open_read_only

    conn = open_read_only(path)
    try:
        return check_row_sets(conn, record)
    finally:
        conn.close()


def _check_writers(conn: sqlite3.Connection, record: Record, table: str) -> list[Mismatch]:
    column = WRITER_COLUMN.get(table, "import_id")
    counts: dict[str | None, int] = dict(conn.execute(f"SELECT {column}, count(*) FROM {table} GROUP BY {column}"))
    total = sum(counts.values())
    logged = {writer: digest for (name, writer), digest in record.row_sets.items() if name == table}
    out = []
    for writer in sorted({*logged, *(w for w in counts if w is not None)}):
        name = record.writer_names.get(writer, f"{'writer' if table == 'stance_labels' else 'import'} {writer}")
        expected, have = logged.get(writer), counts.get(writer, 0)
        if expected is None:
            out.append(Mismatch(table, name, "rows", NOT_LOGGED, have))
            continue
        # A writer that stored most of the table (one big import) is read with the table, not its index.
        stored = writer_rows_digest(conn, table, writer, scan=2 * have >= total) if have else EMPTY
        if stored.rows != expected.rows:
            out.append(Mismatch(table, name, "rows", expected.rows, stored.rows))
        elif stored.sha256 != expected.sha256:
            out.append(Mismatch(table, name, "sha256", expected.sha256, stored.sha256))
    if table in CROWD_TABLES and record.crowd_complete and counts.get(None):
        out += _unnamed_rows(conn, table, counts[None])
    return out


def _unnamed_rows(conn: sqlite3.Connection, table: str, count: int) -> list[Mismatch]:
    """Name the crowd rows that no import wrote (the first ``LISTED_ROWS``, then how many more)."""
    key = " || ' ' || ".join(ROW_KEYS[table])
    order = "" if table == "votes" else " ORDER BY rowid"
    rows = conn.execute(f"SELECT {key} FROM {table} WHERE import_id IS NULL{order} LIMIT ?", [LISTED_ROWS]).fetchall()
    out = [Mismatch(table, str(r[0]), "row", NOT_LOGGED, "(present)") for r in rows]
    if count > LISTED_ROWS:
        out.append(Mismatch(table, f"({count - LISTED_ROWS} more rows)", "row", NOT_LOGGED, "(present)"))
    return out


def _check_unvouched_labels(conn: sqlite3.Connection, record: Record) -> list[Mismatch]:
    """Report rule labels no run or import vouches for, and model labels of no judge job."""
    out = []
    if record.rule_labels_complete:
        out += [
            Mismatch("stance_labels", r[0], "row", NOT_LOGGED, "(present)")
            for r in conn.execute("SELECT id FROM stance_labels WHERE source_kind = 'rule' AND written_by IS NULL")
        ]
    covered: set[str] = set()
    unchecked = {job for job, (_task, digest) in record.judge_jobs.items() if digest is None}
    for job, (task, digest) in record.judge_jobs.items():
        if digest is not None and task == "stance":
            covered.update(row_id for table, row_id in judge_job_rows(conn, job) if table == "stance_labels")
    for label_id, job in conn.execute(
        "SELECT id, CASE WHEN json_valid(detail) THEN json_extract(detail, '$.job_id') END FROM stance_labels"
        " WHERE source_kind = 'model' AND written_by IS NULL"
    ):
        if label_id not in covered and job not in unchecked and record.model_labels_complete:
            out.append(Mismatch("stance_labels", label_id, "row", NOT_LOGGED, "(present)"))
    return out


def _check_judge_jobs(conn: sqlite3.Connection, record: Record) -> list[Mismatch]:
    """Recompute the digest of each judge job whose last event carries one."""
    out = []
    for job, (task, digest) in sorted(record.judge_jobs.items()):
        if digest is None:
            continue
        stored = judge_job_digest(conn, job)
        if stored != digest:
            out.append(Mismatch(_JUDGE_TABLES.get(task or "", "judge_jobs"), f"judge job {job}", "result_digest",
                                digest, stored))
    return out


def _drop_legacy_links(record: Record, links: dict[str, tuple[Any, ...]]) -> None:
    """Leave out of ``links`` the stored rows that older events stand for without naming them."""
    legacy = Counter(record.legacy_hand_links)
    for key in [k for k in links if k not in record.hand_links]:
        said = links[key][:5]
        if not record.hand_links_complete:
            del links[key]
        elif legacy[said] > 0:
            legacy[said] -= 1
            del links[key]


def integrity_problem(store: Store) -> str | None:
    """Return SQLite's first complaint about the database file (``PRAGMA quick_check``), or None when sound."""
    with sql_errors("checking the database file"):
        return _quick_check(store.db.conn)


def _quick_check(conn: sqlite3.Connection) -> str | None:
    rows = [r[0] for r in conn.execute("PRAGMA quick_check(5)")]
    if rows == ["ok"]:
        return None
    # SQLite's report spans lines ("*** in database main ***", then one line per problem): keep it one line.
    lines = [x.strip() for row in rows for x in str(row).splitlines() if x.strip() and not x.startswith("***")]
    return "; ".join(lines[:3]) + ("; …" if len(lines) > 3 else "")


def _file_problem(path: Path) -> str | None:
    """``integrity_problem`` on a connection of its own (for a thread beside the one that replays)."""
    from reviewer.store import open_read_only

    conn = open_read_only(path)
    try:
        with sql_errors("checking the database file"):
            return _quick_check(conn)
    finally:
        conn.close()


@dataclass(frozen=True)
class VerifyReport:
    """What ``audit verify`` found.

    Attributes:
        chain: the hash chain and anchor check.
        mismatches: the rows of the governance tables that differ from the log replayed (checked
            only when the chain is intact: a broken chain is no ground to replay), and the log ref's
            differences from the log.
        notes: what is not wrong but worth saying (the log ref lags behind the log).
    """

    chain: Any
    mismatches: tuple[Mismatch, ...]
    notes: tuple[str, ...] = ()

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
        KnownError: the database file is damaged (SQLite's ``quick_check`` fails); nothing else is reported.
    """
    from reviewer.trace import repository_anchors

    report = verify_store(workspace.store, [*expected, *repository_anchors(workspace)])
    if not report.chain.ok:
        return report
    ref_mismatches, notes = log_ref_findings(workspace)
    return VerifyReport(report.chain, (*identity_mismatches(workspace), *ref_mismatches, *report.mismatches), notes)


def log_ref_findings(workspace: Any) -> tuple[list[Mismatch], tuple[str, ...]]:
    """Compare the log ref (``reviewer.logref``) with the database's log: differences, and notes.

    A rewritten ref, an event that differs (the first is named), or events the database lacks
    are differences; a ref that lags (events not yet published) is a note.
    """
    from reviewer.errors import KnownError
    from reviewer.logref import check_ref

    log = workspace.store.log_ref
    if log is None:
        return [], ()
    try:
        check = check_ref(log, workspace.store)
    except KnownError as exc:
        return [Mismatch("log ref", log.ref, "readable", "a log ref git can read", str(exc))], ()
    found: list[Mismatch] = []
    if check.rewritten:
        found.append(Mismatch("log ref", log.ref, "history", "holds the commit this workspace wrote last",
                              "rewritten: it does not"))
    if check.first_difference is not None:
        event_id, field, on_ref, in_db = check.first_difference
        found.append(Mismatch("log ref", f"event {event_id} (first of {check.differences} that differ)", field,
                              on_ref, in_db))
    for wrong in check.wrong_authors[:20]:
        found.append(Mismatch("log ref", f"commit {wrong.sha[:12]} (event {wrong.event})", "author", wrong.expected,
                              wrong.actual))
    for key in check.wrong_keys[:20]:
        found.append(Mismatch("log ref", f"commit {key.sha[:12]} (event {key.event})", "signing key",
                              f"{key.member}'s recorded key {key.expected[:60]}", key.actual))
    for sha, state in check.unsigned[:20]:
        found.append(Mismatch("log ref", f"commit {sha[:12]}", "signature", "good (this workspace requires it)", state))
    if check.unknown:
        found.append(Mismatch("log ref", log.ref, "events", f"{check.unknown} more than the database holds",
                              "not in the database (run sync)"))
    return found, check.notes


def verify_store(store: Store, expected: Iterable[tuple[str, Any]] = ()) -> VerifyReport:
    """Check the database file, the chain against its anchors, then the record against the log replayed.

    The anchors are the head record, the anchor file and ``expected``. The file check (``PRAGMA quick_check``, which reads every page) runs on a connection of its own
    in a second thread while this one checks the chain and replays: SQLite lets go of the
    interpreter while it reads, so the two overlap. Whatever the replay found, a damaged file is
    what is reported.

    Raises:
        KnownError: the database file is damaged.
    """
    from reviewer import audit
    from reviewer.errors import KnownError, ReviewerError

    with ThreadPoolExecutor(max_workers=2) as pool:
        checked = pool.submit(_file_problem, store.path) if store.path is not None else None
        failure: BaseException | None = None
        chain: Any = None
        mismatches: tuple[Mismatch, ...] = ()
        try:
            chain = audit.verify_chain(store.db, expected=list(expected))
            mismatches = tuple(check_record(store, pool=pool)) if chain.ok else ()
        except (ReviewerError, sqlite3.Error) as exc:
            failure = exc
        problem = checked.result() if checked is not None else integrity_problem(store)
    if problem:
        raise KnownError(
            f"The workspace database file is damaged ({problem}); the audit log cannot be trusted as read.",
            hint="Restore reviewer.db from a backup, then verify again; nothing was changed.",
        )
    if failure is not None:
        raise failure
    return VerifyReport(chain, mismatches)


def identity_mismatches(workspace: Any) -> list[Mismatch]:
    """Compare the workspace's identity and its git anchors with the first event and the commits it recorded.

    The workspace id (``workspace.json``) and the baseline revision are sealed in the first event;
    rewriting either, or losing the spec repository (or a commit the record names, whose
    ``Audit-Head`` trailer anchors the log), is a difference, not a quietly smaller set of anchors.
    """
    from reviewer import gitops
    from reviewer.errors import KnownError

    db = workspace.store.db
    found: list[Mismatch] = []
    first = db.execute("SELECT action, object_id, payload FROM audit_events WHERE seq = 1").fetchone()
    if first is not None and first[0] == "workspace.create":
        payload = json.loads(first[2] or "{}")
        if first[1] != workspace.config.id:
            found.append(Mismatch("workspace.json", "workspace", "id", first[1], workspace.config.id))
        baseline = db.execute("SELECT value FROM workspace_info WHERE key = 'baseline_revision'").fetchone()
        stored = baseline[0] if baseline else MISSING
        if "baseline_revision" in payload and payload["baseline_revision"] != stored:
            found.append(Mismatch("workspace_info", "baseline_revision", "value", payload["baseline_revision"], stored))
    recorded = [r[0] for r in db.execute("SELECT sha FROM spec_commits ORDER BY committed_at, rowid")]
    if recorded:
        repo = workspace.spec_repo_path
        try:
            missing = [sha for sha in recorded if not gitops.commit_exists(repo, sha)]
        except KnownError:
            missing = recorded  # no repository at all: every anchor it held is gone
        found += [Mismatch("spec_commits", sha, "commit in the spec repository", "present", MISSING) for sha in missing]
    return found
