"""Rebuild a workspace's record from its audit log into a new database, never in place.

The log is checked first (``audit.verify_chain``): a log that is not intact is no ground to rebuild
from. Then:

- the governance record is written from the log replayed (``replay.replay`` plus the details below):
  workspace settings, members (with their git identity) and their role history as logged, quorum, proposals with their
  section texts and linked conversations, hand links, the stance labels people set, decisions
  (with their commit), the commit records (``spec_commits``, ``proposal_commit_state``) and the
  discussion (``comment_threads``, ``comments``);
- rows the log vouches for by digest (crowd rows per import, rows the product's formats imported,
  labels of rule runs and stance imports, the rows of judge jobs whose event carries a digest) are
  copied from the workspace, in the order stored, and kept only when their digest matches the log;
- a decision's evidence snapshot (the log holds its SHA-256) is copied when its digest matches;
- the audit events themselves are copied as they are, with the head record.

What the log does not say is named in the report: times that events older than this version did
not carry are taken from the event's own time (a few microseconds after the row's), and rows that
older events cannot rebuild (proposals logged before they were logged whole, rows written before
their writers logged digests) are left out or, for a proposal's unlogged fields, copied and said
so. The new database opens with ``Store.open``; ``replay.check_record`` on it finds no mismatch when
everything could be rebuilt, and the report carries what it found otherwise. No anchor file is
written beside it: the workspace's ``audit-head.json`` names the same newest event.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewer import audit
from reviewer.decision_evidence import snapshot_digest
from reviewer.digests import (
    EMPTY,
    WRITER_COLUMN,
    judge_job_digest,
    judge_job_rows,
    writer_rows_digest,
)
from reviewer.errors import KnownError
from reviewer.ids import stable_id
from reviewer.importing import IMPORT_CACHE_KIB
from reviewer.replay import (
    DECISION_FIELDS,
    UNKNOWN,
    WRITER_TABLES,
    Mismatch,
    Record,
    check_record,
    replay,
)
from reviewer.store import Store, sql_errors

if TYPE_CHECKING:
    from reviewer.workspace import Workspace

_EVENT_COLUMNS = "seq, id, at, actor, action, object_type, object_id, payload, prev_hash, hash"


@dataclass(frozen=True)
class RebuildReport:
    """What a rebuild wrote and what it could not.

    Attributes:
        out_db: the new database.
        events: audit events copied (the whole log).
        rows: rows in each table of the new database that the rebuild wrote.
        copied: row sets copied from the workspace after their digest matched the log
            (``"assessments: import <id>: 1000 rows"``).
        left_out: row sets or rows not copied, and why (a digest that does not match, a writer
            whose event carries none).
        from_event_times: columns older events do not carry, filled from the event's time, with
            how many values.
        unlogged: other values the log does not hold and where they came from instead.
        mismatches: what ``check_record`` finds on the new database (none when all was rebuilt).
    """

    out_db: Path
    events: int
    rows: dict[str, int]
    copied: tuple[str, ...]
    left_out: tuple[str, ...]
    from_event_times: dict[str, int]
    unlogged: tuple[str, ...]
    mismatches: tuple[Mismatch, ...]

    @property
    def ok(self) -> bool:
        """Whether the rebuilt database matches its log (``check_record`` finds nothing)."""
        return not self.mismatches


@dataclass
class _Details:
    """What the rebuild needs beyond ``replay.Record``: times, ids and commit records, as logged.

    Attributes:
        info: ``workspace_info`` keys and values.
        member_created: member id -> created_at.
        role_changes: ``member_role_changes`` rows.
        quorum_updated: level -> (updated_at, updated_by).
        decided_at: decision id -> decided_at.
        proposal_extra: proposal id -> its ``extra`` (absent for older events).
        label_rest: person label id -> (prompt_version, confidence, quote, detail, created_at).
        legacy_links: hand link rows rebuilt from older link events, with ids derived from the event.
        link_actions: (proposal, justification, link or unlink) in log order.
        commits: ``spec_commits`` rows by sha.
        commit_state: ``proposal_commit_state`` rows by proposal id.
        event_times: column -> how many values were taken from the event's time.
    """

    info: dict[str, str] = field(default_factory=dict)
    member_created: dict[str, str] = field(default_factory=dict)
    role_changes: list[list[Any]] = field(default_factory=list)
    quorum_updated: dict[str, tuple[str, str]] = field(default_factory=dict)
    decided_at: dict[str, str] = field(default_factory=dict)
    proposal_extra: dict[str, Any] = field(default_factory=dict)
    label_rest: dict[str, list[Any]] = field(default_factory=dict)
    legacy_links: list[list[Any]] = field(default_factory=list)
    link_actions: list[tuple[str, str, str]] = field(default_factory=list)
    commits: dict[str, list[Any]] = field(default_factory=dict)
    commit_state: dict[str, list[Any]] = field(default_factory=dict)
    event_times: Counter[str] = field(default_factory=Counter)

    def logged(self, payload: dict[str, Any], key: str, at: str, column: str) -> Any:
        """Return ``payload[key]``, else the event's time (counted under ``column``)."""
        if key in payload:
            return payload[key]
        self.event_times[column] += 1
        return at


def _details(events: Sequence[tuple[Any, ...]]) -> _Details:
    """Read what the rebuild needs beyond the replayed record from events ``(id, at, actor, action, object_id, payload)``."""
    found = _Details()
    unreleased: list[str] = []
    for event_id, at, actor, action, object_id, payload_text in events:
        payload = json.loads(payload_text or "{}")
        if action == "workspace.create" and object_id:
            found.info.update(workspace_id=object_id, spec_file=payload["spec_file"],
                              baseline_revision=payload["baseline_revision"],
                              created_at=found.logged(payload, "created_at", at, "workspace_info.created_at"))
        elif action == "workspace.set":
            found.info[payload["key"]] = payload["value"]
        elif action in ("member.add", "member.role_add", "member.role_remove") and object_id:
            _member_event(found, event_id, at, actor, action, object_id, payload)
        elif action == "quorum.set":
            when = found.logged(payload, "updated_at", at, "quorum_settings.updated_at")
            found.quorum_updated.update({level: (when, actor) for level in payload.get("changed", {})})
        elif action == "decision.record" and object_id:
            found.decided_at[object_id] = found.logged(payload, "decided_at", at, "decisions.decided_at")
        elif action == "proposal.add" and object_id and "extra" in payload:
            found.proposal_extra[object_id] = payload["extra"]
        elif action == "stance.set":
            note = payload.get("note")
            found.label_rest[payload["label_id"]] = [
                None, None, None, {"note": note} if note else {},
                found.logged(payload, "created_at", at, "stance_labels.created_at"),
            ]
        elif action == "stance.bulk":
            detail = {"bulk_id": payload["bulk_id"], **({"note": payload["note"]} if payload.get("note") else {})}
            for entry in payload["labels"]:
                found.label_rest[entry[0]] = [None, None, None, detail, payload["created_at"]]
        elif action == "import.stances":
            for entry in payload.get("person_labels", []):
                rest = entry[6:11] if len(entry) >= 11 else [None, None, None, {}, at]
                found.event_times["stance_labels.created_at"] += len(entry) < 11
                found.label_rest[entry[0]] = list(rest)
            found.link_actions += [(row[1], row[2], "link") for row in payload.get("hand_links", [])]
        elif action in ("evidence.link", "evidence.unlink") and object_id:
            kind = action.partition(".")[2]
            found.link_actions.append((object_id, payload["justification_id"], kind))
            if "link_id" not in payload:
                found.legacy_links.append([stable_id("hand-link", event_id), object_id, payload["justification_id"],
                                           kind, actor, payload.get("note"), at])
                found.event_times["evidence_hand_links.created_at"] += 1
        elif action in ("spec.commit", "proposal.needs_rebase", "spec.release") and object_id:
            _commit_event(found, unreleased, at, actor, action, object_id, payload)
        elif action == "proposal.revise" and object_id:
            # A revision is written against the spec as it is: an earlier "needs rebase" no longer holds.
            if found.commit_state.get(object_id, [None, None])[1] == "needs_rebase":
                del found.commit_state[object_id]
    return found


def _member_event(found: _Details, event_id: str, at: str, actor: str, action: str, member_id: str,
                  payload: dict[str, Any]) -> None:
    if action == "member.add":
        found.member_created[member_id] = found.logged(payload, "created_at", at, "members.created_at")
    changes = payload.get("changes")
    if changes is None:  # older events: the roles named, ids derived from the event, its time
        kind = "remove" if action == "member.role_remove" else "add"
        named = [payload["removed"]] if kind == "remove" else payload.get("added", [])
        changes = [[stable_id("role-change", event_id, role), role, kind, at] for role in named]
        found.event_times["member_role_changes.changed_at"] += len(changes)
    found.role_changes += [[row_id, member_id, role, kind, actor, when] for row_id, role, kind, when in changes]


def _commit_event(found: _Details, unreleased: list[str], at: str, actor: str, action: str, object_id: str,
                  payload: dict[str, Any]) -> None:
    if action == "spec.commit":
        when = found.logged(payload, "committed_at", at, "spec_commits.committed_at")
        found.commits[object_id] = [
            object_id, actor, [payload["proposal_id"]], payload.get("decision_ids", []), when, "proposal",
            payload.get("parent"), None, payload.get("merged_sections", []), int(bool(payload.get("recovered"))),
        ]
        found.commit_state[payload["proposal_id"]] = [payload["proposal_id"], "committed", object_id, object_id, "",
                                                      when]
        unreleased.append(object_id)
    elif action == "proposal.needs_rebase":
        found.commit_state[object_id] = [
            object_id, "needs_rebase", None, payload.get("spec_revision"), payload.get("reason", ""),
            found.logged(payload, "updated_at", at, "proposal_commit_state.updated_at"),
        ]
    else:
        tag = payload["tag"]
        for sha in payload.get("commits", unreleased):
            if sha in found.commits and found.commits[sha][7] is None:
                found.commits[sha][7] = tag
        unreleased.clear()
        if object_id not in found.commits:
            if "parent" not in payload:
                found.event_times["spec_commits.parent_sha (unknown: NULL)"] += 1
            found.commits[object_id] = [
                object_id, actor, payload.get("proposal_ids", []), [],
                found.logged(payload, "committed_at", at, "spec_commits.committed_at"), "release",
                payload.get("parent"), tag, [], 0,
            ]


# ---- writing the new database ---------------------------------------------------------------------


def _refuse(source: Path | None, out_db: Path) -> None:
    if source is None:
        raise KnownError("Only a workspace stored in a file can be rebuilt.")
    if out_db.exists() or out_db.is_symlink():
        raise KnownError(f"{out_db} already exists; a rebuild writes a new database and never replaces one.",
                         hint="Name a file that does not exist yet.")
    if out_db.resolve() == source.resolve():
        raise KnownError("The rebuild cannot write over the workspace's own database.",
                         hint="Name a new file; the workspace is never rebuilt in place.")
    if not out_db.parent.is_dir():
        raise KnownError(f"The folder {out_db.parent} does not exist.", hint="Create it first, or name another file.")


@contextlib.contextmanager
def _new_database(out_db: Path) -> Iterator[Store]:
    """Yield a new store in a scratch folder beside ``out_db``; move its file to ``out_db`` when all went well."""
    try:
        folder = Path(tempfile.mkdtemp(prefix=f".{out_db.name}.rebuilding-", dir=out_db.parent))
    except OSError as exc:
        raise KnownError(f"Cannot write in {out_db.parent}: {exc.strerror}.") from exc
    try:
        store = Store.open(folder / "reviewer.db", create=True)
        try:
            yield store
            store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            store.close()
        if out_db.exists():
            raise KnownError(f"{out_db} appeared while rebuilding; nothing was replaced.")
        os.replace(folder / "reviewer.db", out_db)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def rebuild_workspace(workspace: Workspace, out_db: Path) -> RebuildReport:
    """Write the record rebuilt from the workspace's audit log into the new database ``out_db``.

    Args:
        workspace: the open workspace (only read).
        out_db: the new database file; it must not exist.

    Returns:
        What was rebuilt, copied and left out, and what ``check_record`` finds on the new database.

    Raises:
        KnownError: ``out_db`` exists or is the workspace's database, its folder is missing or not
            writable, or the audit log is not intact.
    """
    source = workspace.store.path
    out_db = Path(out_db)
    _refuse(source, out_db)
    assert source is not None
    db = workspace.store.db
    with sql_errors("reading the audit log"):
        chain = audit.verify_chain(db)
        if not chain.ok:
            raise KnownError(f"The audit log is not intact ({chain.reason}); it is no ground to rebuild from.",
                             hint="Run `spec-review audit verify` to see what was altered.")
        events = db.execute("SELECT id, at, actor, action, object_id, payload FROM audit_events ORDER BY seq").fetchall()
    record = replay((actor, action, object_id, payload) for _id, _at, actor, action, object_id, payload in events)
    details = _details(events)
    with _new_database(out_db) as store, sql_errors("writing the rebuilt database"):
        writer = _Writer(store, source, record, details)
        writer.write(chain.head)
        mismatches = tuple(check_record(store))
        rows = {t: store.db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in REBUILT_TABLES}
    return RebuildReport(
        out_db=out_db, events=len(events), rows=rows, copied=tuple(writer.copied), left_out=tuple(writer.left_out),
        from_event_times=dict(details.event_times), unlogged=tuple(writer.unlogged), mismatches=mismatches,
    )


REBUILT_TABLES = (
    "audit_events", "workspace_info", "members", "member_role_changes", "quorum_settings", "proposals",
    "proposal_sections", "proposal_conversations", "proposal_revisions", "decisions", "spec_commits",
    "proposal_commit_state", "evidence_hand_links", "evidence_current", "stance_labels", "stance_label_withdrawals",
    *[t for t in WRITER_TABLES if t != "stance_labels"], "judge_jobs", "judge_job_items", "comment_threads", "comments",
)
"""The tables a rebuild writes (the others start empty: quarantine, the judge cache and failures)."""


class _Writer:
    """Writes one rebuilt database (on its own connection, with the workspace's attached as ``src``)."""

    def __init__(self, store: Store, source: Path, record: Record, details: _Details) -> None:
        self.conn = store.db.conn
        self.db = store.db
        self.source = source
        self.record = record
        self.details = details
        self.copied: list[str] = []
        self.left_out: list[str] = []
        self.unlogged: list[str] = []

    def write(self, head: audit.Head) -> None:
        conn = self.conn
        # Rows are written in the log's order of things, not the tables' (labels before the
        # proposals they refer to): foreign keys are checked once, at the end.
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute("ATTACH DATABASE ? AS src", [str(self.source)])
        # As for an import: rows go into indexes keyed by random UUIDs, which a small page cache thrashes.
        conn.execute(f"PRAGMA main.cache_size = -{IMPORT_CACHE_KIB}")
        conn.execute("PRAGMA temp_store = MEMORY")
        try:
            with self.db.atomic():
                conn.execute(f"INSERT INTO audit_events ({_EVENT_COLUMNS}) SELECT {_EVENT_COLUMNS}"
                             " FROM src.audit_events ORDER BY seq")
                conn.executemany("INSERT OR REPLACE INTO workspace_info (key, value) VALUES (?, ?)",
                                 sorted(self.details.info.items()))
                audit.write_head_record(self.db, head.seq, head.hash)
                self._copy_row_sets()
                self._copy_judge_jobs()
                self._governance()
                self._proposals()
                self._decisions()
                self._evidence()
                self._discussion()
            problems = conn.execute("PRAGMA main.foreign_key_check").fetchall()
            if problems:
                tables = Counter(str(p[0]) for p in problems)
                self.left_out.append("rows that refer to rows not rebuilt: " + ", ".join(
                    f"{n} in {t}" for t, n in sorted(tables.items())))
        finally:
            conn.execute("DETACH DATABASE src")
            conn.execute("PRAGMA foreign_keys = ON")

    # ---- rows vouched for by digest ----------------------------------------------------------

    def _copy_row_sets(self) -> None:
        conn = self.conn
        for table in WRITER_TABLES:
            column = WRITER_COLUMN.get(table, "import_id")
            logged = {w: d for (t, w), d in self.record.row_sets.items() if t == table}
            if not logged:
                continue
            self._copy_table(table)
            counts: dict[str | None, int] = dict(conn.execute(
                f"SELECT {column}, count(*) FROM main.{table} GROUP BY {column}"))
            # Rows no logged writer vouches for go again (a label without one is a person's: rebuilt from the log).
            unvouched = {w: n for w, n in counts.items() if w not in logged}
            for writer in unvouched:
                conn.execute(f"DELETE FROM main.{table} WHERE {column} IS ?", [writer])
            if unvouched and table != "stance_labels":
                self.left_out.append(f"{table}: {sum(unvouched.values())} rows no logged digest vouches for;"
                                     " not copied")
            total = sum(counts.get(w, 0) for w in logged)
            for writer, expected in sorted(logged.items()):
                have = counts.get(writer, 0)
                found = writer_rows_digest(conn, table, writer, scan=2 * have >= total) if have else EMPTY
                name = self.record.writer_names.get(writer, writer)
                if found == expected:
                    if found.rows:
                        self.copied.append(f"{table}: {name}: {found.rows} rows, digest verified")
                    continue
                conn.execute(f"DELETE FROM main.{table} WHERE {column} = ?", [writer])
                self.left_out.append(f"{table}: {name}: the stored rows do not match the logged digest"
                                     f" ({found.rows} rows stored, {expected.rows} logged); not copied")

    def _copy_table(self, table: str) -> None:
        """Copy a whole table from the workspace in one statement, rows in their order and with their rowids.

        With the same schema on both sides, no foreign keys checked and no triggers on the new table,
        SQLite copies the table and its indexes as they are (its transfer optimisation), several times
        faster than row by row. The new table's triggers (they keep ``evidence_current`` in step, which
        has no rows yet) are set aside meanwhile.
        """
        conn = self.conn
        triggers = conn.execute("SELECT name, sql FROM main.sqlite_master WHERE type = 'trigger' AND tbl_name = ?",
                                [table]).fetchall()
        for name, _sql in triggers:
            conn.execute(f"DROP TRIGGER main.{name}")
        conn.execute(f"INSERT INTO main.{table} SELECT * FROM src.{table}")
        for _name, sql in triggers:
            conn.execute(sql)

    def _copy_judge_jobs(self) -> None:
        src = sqlite3.connect(str(self.source))
        try:
            for job, (_task, digest) in sorted(self.record.judge_jobs.items()):
                if digest is None:
                    continue
                self.conn.execute("INSERT INTO judge_jobs SELECT * FROM src.judge_jobs WHERE id = ?", [job])
                self.conn.execute("INSERT INTO judge_job_items SELECT * FROM src.judge_job_items WHERE job_id = ?",
                                  [job])
                rows = judge_job_rows(src, job)
                for table in sorted({t for t, _ in rows}):
                    ids = json.dumps([i for t, i in rows if t == table])
                    self.conn.execute(f"INSERT OR IGNORE INTO {table} SELECT * FROM src.{table}"
                                      " WHERE id IN (SELECT value FROM json_each(?)) ORDER BY rowid", [ids])
                if judge_job_digest(self.conn, job) == digest:
                    self.copied.append(f"judge job {job}: {len(rows)} rows, digest verified")
                    continue
                for table, row_id in rows:
                    self.conn.execute(f"DELETE FROM {table} WHERE id = ?", [row_id])
                self.conn.execute("DELETE FROM judge_job_items WHERE job_id = ?", [job])
                self.conn.execute("DELETE FROM judge_jobs WHERE id = ?", [job])
                self.left_out.append(f"judge job {job}: its rows do not match the logged digest; not copied")
        finally:
            src.close()
        unchecked = sorted(j for j, (_t, d) in self.record.judge_jobs.items() if d is None)
        if unchecked:
            self.left_out.append(f"{len(unchecked)} judge jobs whose last event carries no result digest: their"
                                 " labels, grades and rankings are not copied")

    # ---- the governance record ---------------------------------------------------------------

    def _governance(self) -> None:
        record, details, conn = self.record, self.details, self.conn
        conn.executemany(
            "INSERT INTO members (id, name, roles, created_at, email, signing_key) VALUES (?, ?, ?, ?, ?, ?)",
            [(mid, name, json.dumps(list(roles)), details.member_created.get(mid, ""), email, key)
             for mid, (name, roles, email, key) in record.members.items()],
        )
        conn.executemany(
            "INSERT INTO member_role_changes (id, member_id, role, change, changed_by, changed_at)"
            " VALUES (?, ?, ?, ?, ?, ?)", details.role_changes,
        )
        for level, (quorum,) in record.quorum.items():
            when, by = details.quorum_updated.get(level, (None, None))
            if when is None:
                conn.execute("UPDATE quorum_settings SET quorum = ? WHERE level = ?", [quorum, level])
            else:
                conn.execute("UPDATE quorum_settings SET quorum = ?, updated_at = ?, updated_by = ? WHERE level = ?",
                             [quorum, when, by, level])
        if set(record.quorum) != set(details.quorum_updated):
            self.unlogged.append("quorum_settings.updated_at of the levels never changed: when this database"
                                 " was made (the defaults are written by the schema, not logged)")
        conn.executemany(
            "INSERT INTO spec_commits (sha, editor, proposal_ids, decision_ids, committed_at, kind, parent_sha,"
            " release_tag, merged_sections, recovered) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(*row[:2], json.dumps(row[2]), json.dumps(row[3]), *row[4:8], json.dumps(row[8]), row[9])
             for row in details.commits.values()],
        )
        conn.executemany(
            "INSERT INTO proposal_commit_state (proposal_id, state, commit_sha, spec_revision, detail, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?)", list(details.commit_state.values()),
        )

    def _proposals(self) -> None:
        from reviewer.replay import PROPOSAL_FIELDS, REVISION_FIELDS
        from reviewer.store import ProposalSection, sections_json

        conn = self.conn
        older = []
        for pid, values in self.record.proposals.items():
            fields = dict(zip(PROPOSAL_FIELDS, values))
            if any(v is UNKNOWN for v in values):
                older.append(pid)
                conn.execute("INSERT INTO proposals SELECT * FROM src.proposals WHERE id = ?", [pid])
                conn.execute("INSERT INTO proposal_sections SELECT * FROM src.proposal_sections WHERE proposal_id = ?",
                             [pid])
                conn.execute("INSERT INTO proposal_conversations SELECT * FROM src.proposal_conversations"
                             " WHERE proposal_id = ?", [pid])
                conn.execute("INSERT INTO proposal_revisions SELECT * FROM src.proposal_revisions"
                             " WHERE proposal_id = ?", [pid])
                conn.execute("UPDATE proposals SET title = ?, kind = ?, origin = ?, base_revision = ?, created_by = ?"
                             " WHERE id = ?", [*values[:5], pid])
                continue
            expected = fields["expected_ranking"]
            conn.execute(
                "INSERT INTO proposals (id, title, intent, kind, origin, base_revision, expected_ranking, created_at,"
                " created_by, extra, revision, votes_from) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [pid, fields["title"], fields["intent"], fields["kind"], fields["origin"], fields["base_revision"],
                 json.dumps(expected, sort_keys=True) if expected is not None else None, fields["created_at"],
                 fields["created_by"], json.dumps(self.details.proposal_extra.get(pid, {}), sort_keys=True),
                 fields["revision"], fields["votes_from"]],
            )
            conn.executemany(
                f"INSERT INTO proposal_revisions (proposal_id, {', '.join(REVISION_FIELDS)})"
                f" VALUES (?{', ?' * len(REVISION_FIELDS)})",
                [(pid, *rev[:6], sections_json([ProposalSection(*t) for t in rev[6]]), *rev[7:])
                 for rev in fields["revisions"]],
            )
            conn.executemany(
                "INSERT INTO proposal_sections (proposal_id, position, section_id, base_text, new_text)"
                " VALUES (?, ?, ?, ?, ?)", [(pid, i, *text) for i, text in enumerate(fields["sections"])],
            )
            conn.executemany("INSERT INTO proposal_conversations (proposal_id, conversation_id) VALUES (?, ?)",
                             [(pid, c) for c in fields["conversations"]])
        if older:
            self.unlogged.append(f"{len(older)} proposals logged before proposals were logged whole: their intent,"
                                 " texts and linked conversations are copied from the workspace, unchecked")
        without_extra = [pid for pid in self.record.proposals if pid not in self.details.proposal_extra]
        if without_extra and len(without_extra) > len(older):
            self.unlogged.append("proposals.extra of proposals logged before it was: {}")

    def _decisions(self) -> None:
        conn = self.conn
        evidence_at = DECISION_FIELDS.index("evidence_sha256")
        stored = dict(conn.execute("SELECT id, evidence FROM src.decisions").fetchall())
        dropped = unchecked = 0
        for did, values in self.record.decisions.items():
            logged_sha, evidence = values[evidence_at], stored.get(did)
            if logged_sha is UNKNOWN:  # decided before the log carried the snapshot's digest
                unchecked += evidence is not None
            elif evidence is not None and snapshot_digest(evidence) != logged_sha:
                evidence, dropped = None, dropped + 1
            conn.execute(
                "INSERT INTO decisions (id, proposal_id, outcome, reason_category, rationale, reviewer, decided_at,"
                " commit_sha, authority, quorum, status_after, spec_revision, evidence, proposal_revision, duty)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [did, *values[:5], self.details.decided_at.get(did, ""), values[9], *values[5:9], evidence,
                 values[11], values[12]],
            )
        if dropped:
            self.left_out.append(f"decisions.evidence of {dropped} decisions: the stored snapshot does not match"
                                 " the digest its event carries; left empty")
        if unchecked:
            self.unlogged.append(f"decisions.evidence of {unchecked} decisions logged without its digest: copied,"
                                 " unchecked")

    def _evidence(self) -> None:
        from reviewer.evidence import HAND_LINK_COLUMNS

        record, details, conn = self.record, self.details, self.conn
        links = [[link_id, *values] for link_id, values in record.hand_links.items()] + details.legacy_links
        conn.executemany(
            f"INSERT INTO evidence_hand_links ({', '.join(HAND_LINK_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?)", links,
        )
        for proposal_id, justification_id, action in details.link_actions:
            if action == "link":
                conn.execute("INSERT OR IGNORE INTO evidence_current (proposal_id, justification_id, via)"
                             " VALUES (?, ?, 'hand')", [proposal_id, justification_id])
            else:
                conn.execute("DELETE FROM evidence_current WHERE proposal_id = ? AND justification_id = ? AND"
                             " via = 'hand'", [proposal_id, justification_id])
        if not record.hand_links_complete:
            self.unlogged.append("hand links made by stance imports logged before they carried them: not rebuilt")
        # People's labels last, in the order logged: each insert makes the newest the effective one.
        rows = []
        for label_id, (proposal_id, justification_id, stance, person, supersedes) in record.person_labels.items():
            prompt_version, confidence, quote, detail, created_at = details.label_rest.get(
                label_id, [None, None, None, {}, ""])
            rows.append((label_id, proposal_id, justification_id, stance, "person", person, prompt_version,
                         confidence, quote, json.dumps(detail, sort_keys=True, ensure_ascii=False), supersedes,
                         created_at))
        conn.executemany(
            "INSERT INTO stance_labels (id, proposal_id, justification_id, stance, source_kind, source_name,"
            " prompt_version, confidence, quote, detail, supersedes, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            rows,
        )
        if not record.person_labels_complete:
            self.unlogged.append("people's labels brought by stance imports logged before they carried them:"
                                 " not rebuilt")
        # Withdrawals after every label: each one chooses its link's effective label again (a trigger).
        conn.executemany(
            "INSERT INTO stance_label_withdrawals (label_id, undo_id, person, created_at) VALUES (?, ?, ?, ?)",
            [(label_id, *values) for label_id, values in record.withdrawals.items()],
        )

    def _discussion(self) -> None:
        """Threads (with their resolved state) and comments, as logged."""
        record, conn = self.record, self.conn
        conn.executemany(
            "INSERT INTO comment_threads (id, proposal_id, section_id, justification_id, started_by, created_at,"
            " resolved_by, resolved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(thread_id, *values) for thread_id, values in record.threads.items()],
        )
        conn.executemany(
            "INSERT INTO comments (id, thread_id, author, text, mentions, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            [(comment_id, thread_id, author, text, json.dumps(list(mentions), ensure_ascii=False), created_at)
             for comment_id, (thread_id, author, text, mentions, created_at) in record.comments.items()],
        )


def report_json(report: RebuildReport) -> dict[str, Any]:
    """Return a rebuild report as plain JSON data."""
    from dataclasses import asdict

    return {
        "out_db": str(report.out_db), "ok": report.ok, "events": report.events, "rows": report.rows,
        "copied": list(report.copied), "left_out": list(report.left_out),
        "from_event_times": report.from_event_times, "unlogged": list(report.unlogged),
        "mismatches": [asdict(m) for m in report.mismatches],
    }
