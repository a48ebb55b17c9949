"""Shared machinery for crowd imports: streaming reads, fast stable ids, quarantine and summaries."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reviewer import audit
from reviewer.errors import KnownError
from reviewer.ids import IMPORT_NAMESPACE, utc_now
from reviewer.progress import Progress
from reviewer.store import Store, sql_errors

CHUNK_BYTES = 1 << 22  # 4 MiB reads: few system calls, small and flat memory
BATCH_ROWS = 2000  # rows per executemany: large enough to amortise, small enough to stay flat
FIRST_PROBLEMS = 5  # quarantined rows quoted in a summary
IMPORT_CACHE_KIB = 131072  # SQLite page cache during an import (128 MiB), restored afterwards
_UTF8_BOM = b"\xef\xbb\xbf"
_NAMESPACE_BYTES = IMPORT_NAMESPACE.bytes


def fast_stable_id(*parts: str) -> str:
    """Return exactly ``reviewer.ids.stable_id(*parts)``, without building ``uuid.UUID`` objects.

    The import computes one id per row, so the uuid5 arithmetic is done on the digest bytes.
    """
    digest = bytearray(
        hashlib.sha1(_NAMESPACE_BYTES + "\x1f".join(parts).encode("utf-8")).digest()[:16]
    )
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def dumps(value: Any) -> str:
    """Serialise ``value`` as compact JSON text, keeping non-ASCII characters as they are."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def utf8_clean(value: Any) -> bool:
    """Return whether every string in ``value`` can be stored as UTF-8 (no lone surrogates)."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class BadRow(Exception):
    """A row of input that cannot be imported; its message is the reason kept in quarantine."""


@dataclass(frozen=True)
class Replay:
    """An import received from another machine's log, run again here from the same files.

    The rows it writes must be the ones the other machine's run wrote: they carry its import id
    and its time, and the run writes no event of its own (the received event is already in the
    log); ``finish_import`` checks the rows' digests against the event's instead.

    Attributes:
        event: the received event (its ``object_id`` is the import id; its payload has
            ``created_at``, ``digests`` and ``rewrote``).
    """

    event: dict[str, Any]

    @property
    def import_id(self) -> str:
        """The import's id, as the other machine's run gave it."""
        return str(self.event["object_id"])

    @property
    def created_at(self) -> str:
        """The time written on every row, as the other machine's run wrote it."""
        return str((self.event.get("payload") or {})["created_at"])


@dataclass(frozen=True)
class ImportedFile:
    """One input file of an import.

    Attributes:
        path: the path as given.
        kind: what the file holds (``comparisons``, ``annotators``, ``merged``, ``empty``,
            ``comments``, ``votes``).
        sha256: hex digest of the file's bytes.
        bytes: its size.
        lines: how many lines (CA-1) or records (CSV) it has.
    """

    path: str
    kind: str
    sha256: str
    bytes: int
    lines: int


@dataclass(frozen=True)
class QuarantineEntry:
    r"""A row of input that was not imported, with where it was and why.

    Attributes:
        id: stable id (the same bad row found again is the same entry).
        source: ``ca1`` or ``polis``.
        file: the file's path as given to the import that found it first.
        line: 1-based line number in the file.
        item: where inside the line, e.g. ``metadata.assessments[3]``, or None for the whole line.
        reason: what is wrong with it.
        raw: the row as read (the line, or the item as JSON); bytes that are not UTF-8 appear as
            ``\xNN`` escapes.
        import_id: the import that found it first.
        created_at: when it was found first.
    """

    id: str
    source: str
    file: str
    line: int
    item: str | None
    reason: str
    raw: str
    import_id: str
    created_at: str


@dataclass(frozen=True)
class ImportSummary:
    """What one import did.

    Attributes:
        source: ``ca1`` or ``polis``.
        import_id: id of this import (the audit event's ``object_id``).
        files: the files read, in the order they were processed.
        added: new rows per kind.
        unchanged: rows per kind that were already stored exactly so.
        updated: rows per kind completed or refreshed (see the importer).
        conflicts: rows per kind whose stored copy differs; the first copy is kept and the
            difference recorded in its ``extra`` under ``import_conflicts``.
        quarantined: bad rows found by this import (already known ones included).
        quarantined_new: of those, how many were not in the quarantine table before.
        first_problems: the first few bad rows.
        strict: whether the import ran in strict mode.
        audit_event_id: id of the audit event written with the import.
        options: importer settings worth recording (e.g. the Pol.is conversation key).
    """

    source: str
    import_id: str
    files: tuple[ImportedFile, ...]
    added: dict[str, int]
    unchanged: dict[str, int]
    updated: dict[str, int]
    conflicts: dict[str, int]
    quarantined: int
    quarantined_new: int
    first_problems: tuple[QuarantineEntry, ...]
    strict: bool
    audit_event_id: str
    options: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Return the summary as plain JSON data (the ``--json`` output)."""
        return {
            "source": self.source,
            "import_id": self.import_id,
            "files": [vars(f).copy() for f in self.files],
            "added": dict(self.added),
            "unchanged": dict(self.unchanged),
            "updated": dict(self.updated),
            "conflicts": dict(self.conflicts),
            "quarantined": self.quarantined,
            "quarantined_new": self.quarantined_new,
            "first_problems": [
                {"file": p.file, "line": p.line, "item": p.item, "reason": p.reason}
                for p in self.first_problems
            ],
            "strict": self.strict,
            "options": dict(self.options),
            "audit_event_id": self.audit_event_id,
        }

    def audit_payload(self) -> dict[str, Any]:
        """Return what the audit event records: files with hashes, and the counts."""
        data = self.to_json()
        data.pop("audit_event_id")
        data.pop("import_id")
        return data


@dataclass
class Tally:
    """Counts gathered while an import runs (mutable; frozen into an ``ImportSummary``).

    Attributes:
        added: new rows per kind.
        unchanged: rows per kind already stored exactly so.
        updated: rows per kind completed or refreshed.
        conflicts: rows per kind whose stored copy differs.
    """

    added: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    conflicts: dict[str, int] = field(default_factory=dict)

    def count(self, what: str, kind: str, n: int = 1) -> None:
        """Add ``n`` to counter ``what`` (added, unchanged, updated, conflicts) for ``kind``."""
        counter: dict[str, int] = getattr(self, what)
        counter[kind] = counter.get(kind, 0) + n

    def ensure(self, kinds: Sequence[str]) -> None:
        """Make every counter list ``kinds`` (zero when nothing happened), for stable output."""
        for counter in (self.added, self.unchanged, self.updated, self.conflicts):
            for kind in kinds:
                counter.setdefault(kind, 0)


class Quarantine:
    """Collects the bad rows of one import and writes them in batches (or fails, in strict mode).

    Attributes:
        source: ``ca1`` or ``polis``.
        import_id: id of the running import.
        strict: whether any bad row fails the whole import.
        found: bad rows found so far.
        new: of those, rows written to the table for the first time.
        first: the first few, for the summary.
    """

    def __init__(self, store: Store, source: str, import_id: str, *, strict: bool, created_at: str) -> None:
        self._db = store.db
        self.source = source
        self.import_id = import_id
        self.strict = strict
        self._created_at = created_at
        self._pending: list[tuple[str, str, str, int, str | None, str, str, str, str]] = []
        self.found = 0
        self.new = 0
        self.first: list[QuarantineEntry] = []

    def add(self, file: str, line: int, reason: str, raw: str | bytes | Any, item: str | None = None) -> None:
        """Record one bad row.

        Args:
            file: the file's path as given.
            line: 1-based line number.
            reason: what is wrong.
            raw: the line (bytes or text) or the item (any JSON value).
            item: where in the line, or None for the whole line.

        Raises:
            KnownError: in strict mode, naming the file, line and reason (the import rolls back).
        """
        if self.strict:
            where = f"{file}:{line}" + (f" ({item})" if item else "")
            raise KnownError(
                f"{where}: {reason}.",
                hint="Strict mode: nothing was imported. Fix the row, or import without --strict "
                "to keep bad rows in quarantine.",
            )
        text = raw_text(raw)
        digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
        entry_id = fast_stable_id("quarantine", self.source, os.path.basename(file), str(line), item or "", digest)
        self._pending.append(
            (entry_id, self.source, file, line, item, reason, text, self.import_id, self._created_at)
        )
        self.found += 1
        if len(self.first) < FIRST_PROBLEMS:
            self.first.append(
                QuarantineEntry(entry_id, self.source, file, line, item, reason, text, self.import_id, self._created_at)
            )
        if len(self._pending) >= BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        """Write the pending bad rows (a row already quarantined is not written again)."""
        if not self._pending:
            return
        cursor = self._db.conn.executemany(
            "INSERT OR IGNORE INTO quarantine (id, source, file, line, item, reason, raw, import_id,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            self._pending,
        )
        self.new += max(cursor.rowcount, 0)
        self._pending.clear()


def raw_text(raw: str | bytes | Any) -> str:
    """Return a bad row as storable text: bytes decoded (invalid bytes as escapes), values as JSON."""
    if isinstance(raw, bytes):
        return raw.decode("utf-8", "backslashreplace")
    if isinstance(raw, str):
        text = raw
    else:
        text = json.dumps(raw, ensure_ascii=False)
    if not utf8_clean(text):
        # Bytes read with ``surrogateescape`` turn back into themselves, shown as ``\xNN``.
        try:
            text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:
            text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def check_input_files(paths: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """Return the input files as paths, after checking that each one can be read.

    Raises:
        KnownError: a file is missing, is a folder, or cannot be read (nothing is written).
    """
    if not paths:
        raise KnownError("No input files given.", hint="Name at least one file to import.")
    result = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise KnownError(f"The file {path} does not exist.", hint="Check the path; nothing was imported.")
        if not path.is_file():
            raise KnownError(f"{path} is not a file.", hint="Name the data files themselves; nothing was imported.")
        if not os.access(path, os.R_OK):
            raise KnownError(f"The file {path} cannot be read.", hint="Check its permissions; nothing was imported.")
        result.append(path)
    return result


class LineReader:
    """Streams a file as numbered raw lines in large chunks, hashing the bytes on the way.

    Blank lines are skipped (their numbers still count); a UTF-8 byte-order mark is dropped.

    Attributes:
        path: the file.
        sha256: the digest of the bytes read so far (the whole file once exhausted).
        size: bytes read so far.
        lines: lines seen so far.
    """

    def __init__(self, path: Path, progress: Progress) -> None:
        self.path = path
        self._hasher = hashlib.sha256()
        self._progress = progress
        self.size = 0
        self.lines = 0

    @property
    def sha256(self) -> str:
        """Hex digest of the bytes read so far."""
        return self._hasher.hexdigest()

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        number = 0
        carry: list[bytes] = []
        first = True
        try:
            handle = open(self.path, "rb")  # noqa: SIM115 - closed in the finally below
        except OSError as exc:
            raise KnownError(f"The file {self.path} cannot be read: {exc.strerror}.") from exc
        try:
            while True:
                try:
                    chunk = handle.read(CHUNK_BYTES)
                except OSError as exc:
                    raise KnownError(f"Reading {self.path} failed: {exc.strerror}.") from exc
                if not chunk:
                    break
                self._hasher.update(chunk)
                self.size += len(chunk)
                if first:
                    first = False
                    if chunk.startswith(_UTF8_BOM):
                        chunk = chunk[len(_UTF8_BOM):]
                parts = chunk.split(b"\n")
                if carry:
                    carry.append(parts[0])
                    parts[0] = b"".join(carry)
                    carry = []
                carry.append(parts.pop())
                for line in parts:
                    number += 1
                    if line.strip():
                        yield number, line
                self.lines = number
                self._progress.tick(len(chunk))
            tail = b"".join(carry)
            if tail:
                number += 1
                if tail.strip():
                    yield number, tail
            self.lines = number
        finally:
            handle.close()


def file_sha256(path: Path) -> tuple[str, int]:
    """Return the SHA-256 hex digest and size of a file."""
    hasher = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            hasher.update(chunk)
            size += len(chunk)
    return hasher.hexdigest(), size


@contextlib.contextmanager
def import_transaction(store: Store, what: str) -> Iterator[None]:
    """Run an import in one transaction with a large page cache; roll back on any exception.

    ``Cancelled`` (from the progress object), ``KnownError`` in strict mode, and interrupts all
    leave the database exactly as it was.
    """
    conn = store.db.conn
    old_cache = conn.execute("PRAGMA cache_size").fetchone()[0]
    old_temp = conn.execute("PRAGMA temp_store").fetchone()[0]
    conn.execute(f"PRAGMA cache_size = -{IMPORT_CACHE_KIB}")
    conn.execute("PRAGMA temp_store = MEMORY")
    try:
        with sql_errors(what), store.db.atomic():
            yield
    finally:
        conn.execute(f"PRAGMA cache_size = {int(old_cache)}")
        conn.execute(f"PRAGMA temp_store = {int(old_temp)}")


def finish_import(
    store: Store,
    *,
    source: str,
    action: str,
    actor: str,
    import_id: str,
    files: Sequence[ImportedFile],
    tally: Tally,
    quarantine: Quarantine,
    strict: bool,
    options: dict[str, Any] | None = None,
    rewrote: dict[str, set[str]] | None = None,
    created_at: str,
    replay: Replay | None = None,
) -> ImportSummary:
    """Write the pending quarantine rows and the import's audit event; return the summary.

    Must run inside the import's transaction. Every import writes one event, also when it adds
    nothing: the event records which files (by hash) were brought in, which an auditor needs even
    when the workspace already held their content. It also carries the digest of the rows that name
    this import in each crowd table (``digests``) and, for earlier imports some of whose rows it
    rewrote, the new digest of the rows they keep (``rewrote``): ``audit verify`` recomputes both.
    The rows' time (``created_at``) is logged too, so that another machine can run the import again
    from the same files (``replay``): such a run logs nothing and must match the event's digests.

    Raises:
        KnownError: (replay) the rows written differ from those the received event vouches for.
    """
    from reviewer.digests import CROWD_TABLES

    quarantine.flush()
    draft = ImportSummary(
        source=source, import_id=import_id, files=tuple(files), added=dict(tally.added),
        unchanged=dict(tally.unchanged), updated=dict(tally.updated),
        conflicts=dict(tally.conflicts), quarantined=quarantine.found,
        quarantined_new=quarantine.new, first_problems=tuple(quarantine.first), strict=strict,
        audit_event_id="", options=dict(options or {}),
    )
    payload = draft.audit_payload()
    payload["digests"] = import_digests(store, import_id, CROWD_TABLES)
    payload["rewrote"] = {
        owner: import_digests(store, owner, sorted(tables)) for owner, tables in sorted((rewrote or {}).items())
    }
    payload["created_at"] = created_at
    if replay is not None:
        logged = replay.event.get("payload") or {}
        for key in ("digests", "rewrote"):
            if payload[key] != logged.get(key, {}):
                raise KnownError(
                    f"The {source} import {import_id}, run again here from its files, wrote other rows than the "
                    "machine that made it: this workspace's crowd data before it differs from that machine's.",
                    hint="Join afresh (`spec-review init --join`), or run `spec-review audit verify` on both machines.",
                )
        return ImportSummary(**{**vars(draft), "audit_event_id": str(replay.event.get("id", ""))})
    event = audit.append_event(
        store.db, actor=actor, action=action, object_type="import", object_id=import_id, payload=payload,
    )
    return ImportSummary(**{**vars(draft), "audit_event_id": event.id})


def list_quarantine(store: Store, *, source: str | None = None) -> list[QuarantineEntry]:
    """Return every quarantined row, oldest import first, then by file and line."""
    sql = (
        "SELECT id, source, file, line, item, reason, raw, import_id, created_at FROM quarantine"
        + (" WHERE source = ?" if source else "")
        + " ORDER BY created_at, file, line, item"
    )
    with sql_errors("reading the quarantine"):
        rows = store.db.execute(sql, [source] if source else []).fetchall()
    return [QuarantineEntry(*row) for row in rows]


def with_import_id(insert: str, import_id: str) -> str:
    """Return ``INSERT ... (columns) VALUES (...)`` extended to write ``import_id`` too, as a literal.

    The id is written into the statement (one statement per import), so the batches of row tuples
    stay as they are.
    """
    head, _, values = insert.rpartition(") VALUES (")
    literal = "'" + import_id.replace("'", "''") + "'"
    return f"{head}, import_id) VALUES ({values.rstrip().removesuffix(')')}, {literal})"


def note_rewrite(rewrote: dict[str, set[str]], owner: str | None, table: str, import_id: str) -> None:
    """Note that this import rewrote a row of ``table`` that an earlier import (``owner``) wrote.

    The row then names this import; the earlier import's event no longer vouches for it, so this
    import's event carries the new digest of the rows the earlier one still has (``rewrote``). Rows
    written before imports named themselves (``owner`` None) have no digest to update.
    """
    if owner is not None and owner != import_id:
        rewrote.setdefault(owner, set()).add(table)


def import_digests(store: Store, import_id: str, tables: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Return ``{table: {"rows", "sha256"}}`` of the rows each table holds from one import."""
    from reviewer.digests import writer_rows_digest

    return {table: writer_rows_digest(store.db.conn, table, import_id).to_json() for table in tables}


def now() -> str:
    """Return the time stamp written on every row of one import."""
    return utc_now()
