"""The workspace database: sqlite-utils access in explicit transactions, returning dataclasses."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from reviewer import audit
from reviewer.errors import BugError, KnownError
from reviewer.ids import new_id, utc_now
from reviewer.migrations import migrations

PROPOSAL_KINDS = ("clarification", "principle")
PROPOSAL_ORIGINS = ("automated-batch", "automated-single", "human-first", "imported")
APP_ACTOR = "spec-review"


# SQLite's primary result codes (https://www.sqlite.org/rescode.html) that the environment causes.
_BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = 5, 6, 8, 10, 11, 13, 14, 26


def sqlite_error_code(exc: sqlite3.Error) -> int | None:
    """Return the primary SQLite result code of ``exc`` (extended codes folded), or None when SQLite gave none."""
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else int(code) & 0xFF


def connection_of(source: Store | sqlite3.Connection) -> sqlite3.Connection:
    """Return the connection of a store, or the connection itself (queries accept either)."""
    return source.db.conn if isinstance(source, Store) else source


def stored_order(conn: sqlite3.Connection, table: str, schema: str = "main") -> str:
    """The ``ORDER BY`` that reads a table's rows in the order they were stored ("" for a table without rowid).

    Copies keep that order, so that digests taken in storage order (``reviewer.digests``) agree.
    """
    (sql,) = conn.execute(f"SELECT sql FROM {schema}.sqlite_master WHERE type = 'table' AND name = ?",
                          [table]).fetchone()
    return "" if "WITHOUT ROWID" in str(sql).upper() else " ORDER BY rowid"


@contextlib.contextmanager
def sql_errors(what: str) -> Iterator[None]:
    """Turn SQLite failures caused by the environment into ``KnownError`` with advice.

    The failure is told by SQLite's result code (``sqlite_errorcode``), never by the message text,
    which differs between SQLite versions and builds. An error SQLite did not cause, or one with a
    code that means our SQL is wrong, is a ``BugError``.

    Args:
        what: a short description of the operation, used in the message ("saving the decision").
    """
    try:
        yield
    except sqlite3.DatabaseError as exc:
        code = sqlite_error_code(exc)
        if code in (_BUSY, _LOCKED):
            raise KnownError(
                f"The workspace database is locked by another program while {what}.",
                hint="Close the other Spec Review window or process using it and try again; nothing was changed.",
            ) from exc
        if code == _READONLY:
            raise KnownError(
                f"The workspace database is read-only, so {what} was not possible.",
                hint="Check the permissions of the workspace folder; nothing was changed.",
            ) from exc
        if code == _CANTOPEN:
            raise KnownError(f"The workspace database cannot be opened while {what}: {exc}.") from exc
        if code in (_FULL, _IOERR):
            raise KnownError(f"The disk failed while {what}: {exc}.", hint="Free some space and try again.") from exc
        if code in (_CORRUPT, _NOTADB):
            raise KnownError(
                f"The workspace database is damaged or is not a SQLite file ({exc}).",
                hint="Restore it from a backup.",
            ) from exc
        if isinstance(exc, sqlite3.OperationalError):
            raise BugError(f"SQLite error while {what}: {exc}") from exc
        raise


@contextlib.contextmanager
def read_errors(what: str) -> Iterator[None]:
    """Like ``sql_errors``, for reads whose callers handle only ``ReviewerError``: no ``sqlite3.Error`` escapes.

    A failure of the environment is a ``KnownError`` (as ``sql_errors`` tells it); any other SQLite
    failure (a closed connection, one used on another thread) is a ``BugError``.

    Args:
        what: a short description of the read, used in the message ("reading the audit log").
    """
    try:
        with sql_errors(what):
            yield
    except sqlite3.Error as exc:
        raise BugError(f"SQLite error while {what}: {exc}") from exc


# Paging through tens of thousands of rows while scrolling: map the file instead of copying pages,
# and keep 64 MB of pages decoded between fetches.
_READ_ONLY_PRAGMAS = ("PRAGMA query_only = ON", "PRAGMA mmap_size = 268435456", "PRAGMA cache_size = -65536")


def open_read_only(database: Path) -> sqlite3.Connection:
    """Open a read-only connection to the workspace database, for item models that read pages lazily.

    Writes never go through it. SQLite's write-ahead log lets it read while the workspace's own
    connection writes. Use it only on the thread that opened it.

    Args:
        database: the database file.

    Raises:
        KnownError: the file cannot be opened (missing, locked, damaged).
    """
    # In a folder that cannot be written (a read-only copy) SQLite cannot make the write-ahead log's
    # index, and nothing can change the file: it is read as immutable.
    uri = database.resolve().as_uri() + ("?mode=ro" if _writable(database.parent) else "?immutable=1")
    with read_errors("opening the workspace for reading"):
        conn = sqlite3.connect(uri, uri=True, timeout=2.0)
        try:
            for pragma in _READ_ONLY_PRAGMAS:
                conn.execute(pragma)
        except BaseException:
            conn.close()
            raise
    return conn


@dataclass(frozen=True)
class ProposalSection:
    """One section a proposal changes.

    Attributes:
        section_id: the heading id of the section.
        base_text: the section's text at the proposal's base revision (heading line included).
        new_text: the proposed text of the whole section (heading line included).
    """

    section_id: str
    base_text: str
    new_text: str


@dataclass(frozen=True)
class Proposal:
    """A proposed change to one or more sections of the spec.

    Attributes:
        id: UUID of the proposal.
        title: short title.
        intent: one or two plain sentences saying what the change is for.
        kind: ``clarification`` or ``principle`` (a change of principle).
        origin: automated-batch, automated-single, human-first or imported.
        base_revision: the spec commit the proposal was written against.
        sections: the sections it changes, in order.
        linked_conversations: ids of the conversations it rests on.
        expected_ranking: conversation id to the expected ranking under the new text, where known.
        created_at: UTC time it was added.
        created_by: the person or model that wrote it.
        extra: anything else the input carried.
        revision: the number of its current revision (1 until it is revised; ``reviewer.revisions``).
    """

    id: str
    title: str
    intent: str
    kind: str
    origin: str
    base_revision: str
    sections: tuple[ProposalSection, ...]
    linked_conversations: tuple[str, ...] = ()
    expected_ranking: dict[str, str] | None = None
    created_at: str = ""
    created_by: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    revision: int = 1

    @property
    def section_ids(self) -> list[str]:
        """The ids of the sections it changes."""
        return [s.section_id for s in self.sections]


@dataclass(frozen=True)
class ProposalSummary:
    """A proposal as listed in the queue.

    Attributes:
        id: UUID of the proposal.
        title: short title.
        kind: clarification or principle.
        origin: where it came from.
        section_ids: the sections it changes.
        status: open, or the outcome of its latest decision.
        created_at: when it was added.
    """

    id: str
    title: str
    kind: str
    origin: str
    section_ids: tuple[str, ...]
    status: str
    created_at: str


def check_proposal_fields(title: str, intent: str, kind: str) -> tuple[str, str]:
    """Return the title and intent trimmed, when both are given and the kind is known.

    Raises:
        KnownError: an empty title or intent, or an unknown kind.
    """
    title, intent = title.strip(), intent.strip()
    if not title:
        raise KnownError("A proposal needs a title.")
    if not intent:
        raise KnownError("A proposal needs an intent: one or two plain sentences saying what it is for.")
    if kind not in PROPOSAL_KINDS:
        raise KnownError(f"Unknown proposal kind {kind!r}.", hint=f"Use one of: {', '.join(PROPOSAL_KINDS)}.")
    return title, intent


def sections_json(sections: Sequence[ProposalSection]) -> str:
    """A revision's sections as stored in ``proposal_revisions.sections``: ``[[id, base, new], ...]``."""
    return json.dumps([[s.section_id, s.base_text, s.new_text] for s in sections], ensure_ascii=False)


def sections_from_json(text: str) -> tuple[ProposalSection, ...]:
    """The sections ``sections_json`` stored."""
    return tuple(ProposalSection(str(a), str(b), str(c)) for a, b, c in json.loads(text))


def require_proposal(conn: sqlite3.Connection, proposal_id: str) -> None:
    """Raise the one "no such proposal" error unless ``proposal_id`` is stored.

    Raises:
        KnownError: no proposal has that id.
    """
    if conn.execute("SELECT 1 FROM proposals WHERE id = ?", [proposal_id]).fetchone() is None:
        raise KnownError(
            f"No proposal with id {proposal_id}.",
            hint="List them with `spec-review proposal list WORKSPACE`.",
        )


def _writable(path: Path) -> bool:
    """Whether this process may write ``path`` (as its effective user, where the OS tells them apart)."""
    effective = os.access in os.supports_effective_ids
    return os.access(path, os.W_OK, effective_ids=effective)


class ImmediateDatabase(Database):
    """A sqlite-utils ``Database`` whose transactions take the write lock when they begin.

    sqlite-utils' ``atomic()`` starts with a plain (deferred) ``BEGIN``: the write lock is asked
    for at the first write, and when another process holds it SQLite fails at once with
    "database is locked" instead of waiting (a deferred reader cannot be upgraded). ``BEGIN
    IMMEDIATE`` asks for the lock first, so the busy timeout applies and concurrent writers
    queue. Nested blocks are savepoints, as in sqlite-utils.
    """

    @contextlib.contextmanager
    def atomic(self) -> Iterator[Database]:
        """Run a block in one immediate transaction (a savepoint when already in one)."""
        if self.conn.in_transaction:
            savepoint = f"spec_review_{secrets.token_hex(8)}"
            self.conn.execute(f"SAVEPOINT {savepoint}")
            try:
                yield self
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute(f"ROLLBACK TO SAVEPOINT {savepoint}")
                    self.conn.execute(f"RELEASE SAVEPOINT {savepoint}")
                raise
            else:
                self.conn.execute(f"RELEASE SAVEPOINT {savepoint}")
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        else:
            try:
                self.conn.execute("COMMIT")
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise


class Store:
    """The workspace database.

    Every write that changes state runs inside one ``atomic()`` block together with its audit event.

    Attributes:
        db: the sqlite-utils database (use only on the thread that opened it).
        path: the database file, or None for an in-memory store.
        read_only: True when the workspace could not be written and was opened for reading.
    """

    def __init__(self, db: Database, path: Path | None = None) -> None:
        self.db = db
        self.path = path
        self.read_only = False
        # The workspace's log ref (``reviewer.logref.LogRef``), set by ``Workspace.open``: operations
        # publish their events to it. None for a bare store (tests, tools): nothing is published.
        self.log_ref: Any = None
        self._closed = False

    # ---- opening ---------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, *, create: bool = False) -> Store:
        """Open (or with ``create``, create) the database at ``path`` and bring its schema up to date.

        Raises:
            KnownError: the file is missing, locked, damaged, read-only, or from a newer version.
        """
        if not create and not path.is_file():
            raise KnownError(f"No workspace database at {path}.", hint="Create a workspace with `spec-review init`.")
        # A read-only copy (an auditor's, a published archive) opens read-only: everything can be
        # read and verified; a write says the workspace is read-only.
        read_only = not create and not (_writable(path) and _writable(path.parent))
        with sql_errors("opening the workspace"):
            if read_only:
                # In a folder that cannot be written SQLite cannot make the write-ahead log's
                # index; nothing can change the file there, so it is opened as immutable.
                flag = "mode=ro" if _writable(path.parent) else "immutable=1"
                conn = sqlite3.connect(f"{path.resolve().as_uri()}?{flag}", uri=True, timeout=5.0,
                                       isolation_level=None)
            else:
                conn = sqlite3.connect(str(path), timeout=5.0, isolation_level=None)
            try:
                store = cls._from_connection(conn, path, read_only=read_only)
            except BaseException:
                conn.close()
                raise
        return store

    @classmethod
    def memory(cls) -> Store:
        """Return a fresh in-memory store with the current schema (tests and previews)."""
        conn = sqlite3.connect(":memory:", isolation_level=None)
        return cls._from_connection(conn, None)

    @classmethod
    def _from_connection(cls, conn: sqlite3.Connection, path: Path | None, *, read_only: bool = False) -> Store:
        db = ImmediateDatabase(conn)
        # Reading the schema state first: a newer database must be left exactly as it is.
        known = {m.name for m in migrations._migrations}
        applied = {m.name for m in migrations.applied(db)}
        newer = sorted(applied - known)
        if newer:
            raise KnownError(
                f"This workspace database was written by a newer version of Spec Review (schema {newer[-1]}).",
                hint="Upgrade Spec Review to open it; nothing was changed.",
            )
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA busy_timeout = 5000")
        if read_only:
            if migrations.pending(db):
                raise KnownError(
                    "This workspace was written by an older version of Spec Review and needs an upgrade, "
                    "which needs write access; its folder is read-only.",
                    hint="Open a writable copy once to upgrade it; nothing was changed.",
                )
            store = cls(db, path)
            store.read_only = True
            return store
        order = [m.name for m in migrations._migrations]
        missing = [name for name in order[: max((order.index(a) for a in applied), default=0)] if name not in applied]
        if missing:
            # A later migration is recorded but an earlier one is not: the record of the schema was
            # edited (its tables exist); running the earlier one again would fail halfway.
            raise KnownError(
                f"The workspace database's record of its schema was changed by hand: {missing[0]} is missing "
                "while later steps are recorded.",
                hint="Restore the workspace from a copy you trust; nothing was changed.",
            )
        if path is not None and migrations.pending(db):
            db.execute("PRAGMA journal_mode = WAL")
        migrations.apply(db)
        return cls(db, path)

    def close(self) -> None:
        """Move the audit anchor to the newest event, then close the connection (once)."""
        if self._closed:
            return
        self._closed = True
        if not self.read_only:
            audit.refresh_anchor(self.db)
        self.db.close()

    def schema_version(self) -> str | None:
        """Return the name of the latest applied migration."""
        applied = migrations.applied(self.db)
        return applied[-1].name if applied else None

    # ---- workspace info --------------------------------------------------------------------

    def get_info(self, key: str) -> str | None:
        """Return one workspace setting stored in the database."""
        row = self.db.execute("SELECT value FROM workspace_info WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def set_info(self, key: str, value: str, *, actor: str = APP_ACTOR) -> None:
        """Store one workspace setting, with its audit event."""
        with sql_errors("saving a workspace setting"), self.db.atomic():
            self.db.execute(
                "INSERT INTO workspace_info (key, value) VALUES (?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [key, value],
            )
            audit.append_event(
                self.db, actor=actor, action="workspace.set", object_type="workspace",
                object_id=None, payload={"key": key, "value": value},
            )

    # ---- counts ----------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """Return how many of each stored object there are."""
        tables = {
            "conversations": "conversations",
            "participants": "participants",
            "assessments": "assessments",
            "justifications": "justifications",
            "proposals": "proposals",
            "decisions": "decisions",
            "stance_labels": "stance_labels",
            "members": "members",
            "audit_events": "audit_events",
        }
        with sql_errors("counting"):
            return {
                name: int(self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
                for name, table in tables.items()
            }

    # ---- proposals -------------------------------------------------------------------------

    def add_proposal(
        self,
        *,
        title: str,
        intent: str,
        kind: str,
        origin: str,
        base_revision: str,
        sections: Sequence[ProposalSection],
        created_by: str,
        linked_conversations: Sequence[str] = (),
        expected_ranking: dict[str, str] | None = None,
        proposal_id: str | None = None,
        created_at: str | None = None,
        extra: dict[str, Any] | None = None,
        actor: str = APP_ACTOR,
    ) -> Proposal:
        """Store a new proposal and its audit event in one transaction.

        Raises:
            KnownError: a field is empty or invalid, or the id is taken.
        """
        title, intent = check_proposal_fields(title, intent, kind)
        if origin not in PROPOSAL_ORIGINS:
            raise KnownError(f"Unknown proposal origin {origin!r}.", hint=f"Use one of: {', '.join(PROPOSAL_ORIGINS)}.")
        if not sections:
            raise KnownError("A proposal must change at least one section.")
        seen: set[str] = set()
        for section in sections:
            if section.section_id in seen:
                raise KnownError(f"Section {section.section_id!r} is named twice in one proposal.")
            seen.add(section.section_id)
        proposal = Proposal(
            id=proposal_id or new_id(),
            title=title,
            intent=intent,
            kind=kind,
            origin=origin,
            base_revision=base_revision,
            sections=tuple(sections),
            linked_conversations=tuple(linked_conversations),
            expected_ranking=expected_ranking,
            created_at=created_at or utc_now(),
            created_by=created_by,
            extra=extra or {},
        )
        with sql_errors("saving the proposal"), self.db.atomic():
            if self.db.execute("SELECT 1 FROM proposals WHERE id = ?", [proposal.id]).fetchone():
                raise KnownError(f"A proposal with id {proposal.id} already exists.")
            self.db.execute(
                "INSERT INTO proposals (id, title, intent, kind, origin, base_revision,"
                " expected_ranking, created_at, created_by, extra) VALUES (?,?,?,?,?,?,?,?,?,?)",
                [
                    proposal.id, proposal.title, proposal.intent, proposal.kind, proposal.origin,
                    proposal.base_revision,
                    # Keys sorted, as the audit event holds them (canonical JSON): a rebuild writes the same text.
                    json.dumps(expected_ranking, sort_keys=True) if expected_ranking is not None else None,
                    proposal.created_at, proposal.created_by, json.dumps(proposal.extra, sort_keys=True),
                ],
            )
            self.db.conn.executemany(
                "INSERT INTO proposal_sections (proposal_id, position, section_id, base_text, new_text)"
                " VALUES (?,?,?,?,?)",
                [
                    (proposal.id, i, s.section_id, s.base_text, s.new_text)
                    for i, s in enumerate(proposal.sections)
                ],
            )
            self.db.conn.executemany(
                "INSERT INTO proposal_conversations (proposal_id, conversation_id) VALUES (?, ?)",
                [(proposal.id, c) for c in proposal.linked_conversations],
            )
            self.db.execute(
                "INSERT INTO proposal_revisions (proposal_id, revision, kind, title, intent, proposal_kind,"
                " base_revision, sections, created_at, created_by) VALUES (?, 1, 'written', ?, ?, ?, ?, ?, ?, ?)",
                [proposal.id, proposal.title, proposal.intent, proposal.kind, proposal.base_revision,
                 sections_json(proposal.sections), proposal.created_at, proposal.created_by],
            )
            audit.append_event(
                self.db, actor=actor, action="proposal.add", object_type="proposal",
                object_id=proposal.id,
                payload={
                    "title": proposal.title,
                    "kind": proposal.kind,
                    "origin": proposal.origin,
                    "base_revision": proposal.base_revision,
                    "sections": proposal.section_ids,
                    "created_by": proposal.created_by,
                    # Everything else needed to rebuild the proposal from the log (audit verify replays it).
                    "intent": proposal.intent,
                    "created_at": proposal.created_at,
                    "texts": [
                        {"section_id": s.section_id, "base_text": s.base_text, "new_text": s.new_text}
                        for s in proposal.sections
                    ],
                    "linked_conversations": list(proposal.linked_conversations),
                    "expected_ranking": expected_ranking,
                    "extra": proposal.extra,
                },
            )
        return proposal

    def proposal_ids(self) -> list[str]:
        """Return every proposal id, oldest first."""
        return [r[0] for r in self.db.execute("SELECT id FROM proposals ORDER BY created_at, id")]

    def list_proposals(self) -> list[ProposalSummary]:
        """Return every proposal as a queue row, oldest first."""
        with sql_errors("listing proposals"):
            rows = self.db.execute(
                """
                SELECT p.id, p.title, p.kind, p.origin, p.created_at,
                       (SELECT group_concat(section_id, ' ') FROM
                           (SELECT section_id FROM proposal_sections s
                            WHERE s.proposal_id = p.id ORDER BY position)),
                       (SELECT outcome FROM decisions d WHERE d.proposal_id = p.id
                        ORDER BY d.rowid DESC LIMIT 1)
                FROM proposals p ORDER BY p.created_at, p.id
                """
            ).fetchall()
        return [
            ProposalSummary(
                id=r[0], title=r[1], kind=r[2], origin=r[3], created_at=r[4],
                section_ids=tuple((r[5] or "").split()), status=r[6] or "open",
            )
            for r in rows
        ]

    def get_proposal(self, proposal_id: str) -> Proposal:
        """Return one proposal with its sections.

        Raises:
            KnownError: no proposal has that id.
        """
        with sql_errors("reading the proposal"):
            row = self.db.execute(
                "SELECT id, title, intent, kind, origin, base_revision, expected_ranking,"
                " created_at, created_by, extra, revision FROM proposals WHERE id = ?",
                [proposal_id],
            ).fetchone()
            if row is None:
                require_proposal(self.db.conn, proposal_id)
            sections = tuple(
                ProposalSection(r[0], r[1], r[2])
                for r in self.db.execute(
                    "SELECT section_id, base_text, new_text FROM proposal_sections"
                    " WHERE proposal_id = ? ORDER BY position",
                    [proposal_id],
                )
            )
            linked = tuple(
                r[0]
                for r in self.db.execute(
                    "SELECT conversation_id FROM proposal_conversations WHERE proposal_id = ?"
                    " ORDER BY conversation_id",
                    [proposal_id],
                )
            )
        return Proposal(
            id=row[0], title=row[1], intent=row[2], kind=row[3], origin=row[4],
            base_revision=row[5], sections=sections, linked_conversations=linked,
            expected_ranking=json.loads(row[6]) if row[6] else None,
            created_at=row[7], created_by=row[8], extra=json.loads(row[9] or "{}"), revision=row[10],
        )
