"""Import a Pol.is export (``comments.csv`` and ``participants-votes.csv``) into a workspace.

Each comment becomes a justification with block ``statement`` (no assessment) and a
``polis_statements`` row with its metadata; each participant a ``participants`` row (source
``polis``) whose demographics hold the Pol.is opinion group; each non-empty vote cell a ``votes`` row
(1 agree, -1 disagree, 0 pass). A Pol.is export is a snapshot of a live conversation, so a later
export refreshes the counters, moderation flags, opinion groups and votes it carries (counted as
*updated*); a statement's text is kept as first imported, and a differing text is recorded in
``polis_statements.extra["import_conflicts"]``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Iterator
from itertools import compress
from pathlib import Path

from reviewer.errors import KnownError
from reviewer.ids import new_id
from reviewer.importing import (
    BATCH_ROWS,
    CHUNK_BYTES,
    BadRow,
    ImportedFile,
    ImportSummary,
    Quarantine,
    Replay,
    Tally,
    check_input_files,
    dumps,
    fast_stable_id,
    finish_import,
    import_transaction,
    note_rewrite,
    now,
    with_import_id,
)
from reviewer.progress import NoProgress, Progress
from reviewer.store import APP_ACTOR, Store

SOURCE = "polis"
ROW_KINDS = ("statements", "participants", "votes")
COMMENT_COLUMNS = ("timestamp", "datetime", "comment-id", "author-id", "agrees", "disagrees", "moderated", "comment-body")
REQUIRED_COMMENT_COLUMNS = ("comment-id", "comment-body")
# Columns of participants-votes.csv that are not comment ids.
PARTICIPANT_COLUMNS = ("participant", "xid", "group-id", "n-comments", "n-votes", "n-agree", "n-disagree")
REQUIRED_PARTICIPANT_COLUMNS = ("participant", "group-id")
VOTES = {"1": 1, "-1": -1, "0": 0}
CONFLICTS_KEY = "import_conflicts"


def _require_columns(path: Path, header: list[str], required: tuple[str, ...], export: str) -> None:
    missing = [c for c in required if c not in header]
    if missing:
        raise KnownError(
            f"{path} is not a Pol.is {export} export: it has no {', '.join(missing)} column.",
            hint="Give comments.csv first, then participants-votes.csv; nothing was imported.",
        )


def statement_id(key: str, comment_id: str) -> str:
    """Return the stored id (a justification id) of comment ``comment_id`` in conversation ``key``."""
    return fast_stable_id("polis", key, "statement", comment_id)


def participant_id(key: str, participant: str) -> str:
    """Return the stored id of Pol.is participant ``participant`` in conversation ``key``."""
    return fast_stable_id("polis", key, participant)


def _int_or_none(row: dict[str, str], column: str) -> int | None:
    value = row.get(column, "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise BadRow(f"{column} {value!r} is not a whole number") from None


def _has_surrogates(cells: list[str]) -> bool:
    # Files are read with ``surrogateescape``: bytes that are not UTF-8 become lone surrogates.
    try:
        "".join(cells).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class _CsvRecords:
    """Numbered records of a CSV file with their first line numbers, reporting progress in lines."""

    def __init__(self, path: Path, progress: Progress) -> None:
        self.path = path
        self._progress = progress
        self._handle = open(path, encoding="utf-8-sig", errors="surrogateescape", newline="")  # noqa: SIM115
        self._reader = csv.reader(self._handle, strict=True)
        self.header: list[str] = []
        self.records = 0

    def read_header(self) -> list[str]:
        try:
            self.header = next(self._reader)
        except StopIteration:
            raise KnownError(f"{self.path} is empty.", hint="Give the Pol.is export files; nothing was imported.") from None
        except csv.Error as exc:
            raise KnownError(f"{self.path}: the header line is not CSV ({exc}).") from None
        self._progress.tick(self._reader.line_num)
        return self.header

    def __iter__(self) -> Iterator[tuple[int, list[str] | None, str]]:
        """Yield (first line, cells or None when the record is not CSV, reason)."""
        while True:
            start = self._reader.line_num + 1
            try:
                cells = next(self._reader)
            except StopIteration:
                return
            except csv.Error as exc:
                self._progress.tick(self._reader.line_num - start + 1)
                yield start, None, f"not CSV: {exc}"
                continue
            self._progress.tick(self._reader.line_num - start + 1)
            if not cells:
                continue
            self.records += 1
            yield start, cells, ""

    def close(self) -> None:
        self._handle.close()


def _file_facts(path: Path) -> tuple[str, int, int]:
    """Return the SHA-256, size and line count of a file."""
    hasher = hashlib.sha256()
    size = lines = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            hasher.update(chunk)
            size += len(chunk)
            lines += chunk.count(b"\n")
    return hasher.hexdigest(), size, lines


class _PolisImport:
    """One Pol.is import run."""

    def __init__(self, store: Store, key: str, *, strict: bool, progress: Progress, import_id: str,
                 created_at: str | None = None) -> None:
        self.conn = store.db.conn
        self.key = key
        self.import_id = import_id
        self.rewrote: dict[str, set[str]] = {}
        self.created = created_at or now()
        self.tally = Tally()
        self.tally.ensure(ROW_KINDS)
        self.quarantine = Quarantine(store, SOURCE, import_id, strict=strict, created_at=self.created)
        self.progress = progress
        self._meta_columns: list[tuple[int, str]] = []

    def _raw(self, header: list[str], cells: list[str]) -> str:
        return dumps(dict(zip(header, cells)) if len(cells) == len(header) else cells)

    # ---- comments.csv ------------------------------------------------------------------------

    def comments(self, path: Path) -> int:
        records = _CsvRecords(path, self.progress)
        try:
            header = records.read_header()
            _require_columns(path, header, REQUIRED_COMMENT_COLUMNS, "comments")
            for line, cells, problem in records:
                if cells is None:
                    self.quarantine.add(str(path), line, problem, "")
                    continue
                try:
                    self._comment(header, cells)
                except BadRow as exc:
                    self.quarantine.add(str(path), line, str(exc), self._raw(header, cells))
        finally:
            records.close()
        return records.records

    def _comment(self, header: list[str], cells: list[str]) -> None:
        if len(cells) != len(header):
            raise BadRow(f"the record has {len(cells)} fields, the header {len(header)}")
        if _has_surrogates(cells):
            raise BadRow("not UTF-8 text")
        row = dict(zip(header, cells))
        comment = row["comment-id"].strip()
        if not comment:
            raise BadRow("missing comment-id")
        timestamp = _int_or_none(row, "timestamp")
        agrees = _int_or_none(row, "agrees")
        disagrees = _int_or_none(row, "disagrees")
        moderated = _int_or_none(row, "moderated")
        if moderated not in (None, -1, 0, 1):
            raise BadRow(f"moderated {moderated} is not -1, 0 or 1")
        text = row["comment-body"]
        author = row.get("author-id") or None
        extra = {k: v for k, v in row.items() if k not in COMMENT_COLUMNS}
        sid = statement_id(self.key, comment)
        stored = self.conn.execute(
            "SELECT j.text, s.author_id, s.timestamp, s.datetime, s.agrees, s.disagrees, s.moderated,"
            " s.extra, s.import_id FROM justifications j JOIN polis_statements s ON s.justification_id = j.id"
            " WHERE j.id = ?",
            (sid,),
        ).fetchone()
        if stored is None:
            position = int(comment) if comment.isdigit() else 0
            self.conn.execute(
                "INSERT INTO justifications (id, assessment_id, block, position, ranking, text, language,"
                " created_at, extra, import_id) VALUES (?, NULL, 'statement', ?, NULL, ?, NULL, ?, '{}', ?)",
                (sid, position, text, self.created, self.import_id),
            )
            self.conn.execute(
                "INSERT INTO polis_statements (justification_id, conversation_key, comment_id, author_id,"
                " timestamp, datetime, agrees, disagrees, moderated, extra, import_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (sid, self.key, comment, author, timestamp, row.get("datetime"), agrees, disagrees,
                 moderated, dumps(extra), self.import_id),
            )
            self.tally.count("added", "statements")
            return
        stored_extra = json.loads(stored[7])
        conflict: dict[str, str | None] = {}
        if stored[0] != text:
            conflict["comment-body"] = text
        if stored[1] != author:
            conflict["author-id"] = author
        changed_extra = False
        for name, value in extra.items():
            if stored_extra.get(name) != value:
                stored_extra[name] = value
                changed_extra = True
        if conflict:
            records = stored_extra.setdefault(CONFLICTS_KEY, [])
            if not any(r.get("differs") == conflict for r in records):
                records.append({"differs": conflict})
                changed_extra = True
            self.tally.count("conflicts", "statements")
        snapshot = (timestamp, row.get("datetime"), agrees, disagrees, moderated)
        if tuple(stored[2:7]) != snapshot or changed_extra:
            self.conn.execute(
                "UPDATE polis_statements SET timestamp = ?, datetime = ?, agrees = ?, disagrees = ?,"
                " moderated = ?, extra = ?, import_id = ? WHERE justification_id = ?",
                (*snapshot, dumps(stored_extra), self.import_id, sid),
            )
            note_rewrite(self.rewrote, stored[8], "polis_statements", self.import_id)
            if not conflict:
                self.tally.count("updated", "statements")
        elif not conflict:
            self.tally.count("unchanged", "statements")

    # ---- participants-votes.csv --------------------------------------------------------------

    def votes(self, path: Path) -> int:
        records = _CsvRecords(path, self.progress)
        try:
            header = records.read_header()
            _require_columns(path, header, REQUIRED_PARTICIPANT_COLUMNS, "participants-votes")
            columns = self._vote_columns(header)
            pending: list[tuple[str, str, int]] = []
            for line, cells, problem in records:
                if cells is None:
                    self.quarantine.add(str(path), line, problem, "")
                    continue
                try:
                    pending.extend(self._participant(str(path), line, header, columns, cells))
                except BadRow as exc:
                    self.quarantine.add(str(path), line, str(exc), self._raw(header, cells))
                if len(pending) >= BATCH_ROWS:
                    self._write_votes(pending)
                    pending.clear()
            self._write_votes(pending)
        finally:
            records.close()
        return records.records

    def _vote_columns(self, header: list[str]) -> list[tuple[str, str | None] | None]:
        """Return what each column holds: None for a participant column, else a comment.

        A comment column is (comment id, statement id), the statement id None when the comments
        file did not hold that comment.
        """
        self._meta_columns = [(i, name) for i, name in enumerate(header) if name in PARTICIPANT_COLUMNS]
        result: list[tuple[str, str | None] | None] = []
        for name in header:
            if name in PARTICIPANT_COLUMNS:
                result.append(None)
                continue
            sid = statement_id(self.key, name.strip())
            known = self.conn.execute("SELECT 1 FROM polis_statements WHERE justification_id = ?", (sid,)).fetchone()
            result.append((name.strip(), sid if known else None))
        return result

    def _participant(
        self, file: str, line: int, header: list[str], columns: list[tuple[str, str | None] | None], cells: list[str]
    ) -> list[tuple[str, str, int]]:
        if len(cells) != len(header):
            raise BadRow(f"the record has {len(cells)} fields, the header {len(header)}")
        if _has_surrogates(cells):
            raise BadRow("not UTF-8 text")
        row = {name: cells[i] for i, name in self._meta_columns}
        number = row["participant"].strip()
        if not number:
            raise BadRow("missing participant id")
        group_text = row["group-id"].strip()
        group: int | str | None = int(group_text) if group_text.lstrip("-").isdigit() else (group_text or None)
        # A bad vote cell is quarantined on its own; the participant and its other votes are kept.
        votes: list[tuple[str, int]] = []
        bad_cells: list[tuple[str, str, str]] = []
        # Most cells are empty ("not seen"): compress() walks only the filled ones, in C.
        for index in compress(range(len(cells)), cells):
            column = columns[index]
            if column is None:
                continue
            comment, sid = column
            value = cells[index]
            vote = VOTES.get(value)
            if vote is None:
                value = value.strip()
                if not value:
                    continue
                vote = VOTES.get(value)
            if vote is None:
                bad_cells.append((comment, value, f"vote {value!r} on comment {comment} is not 1, -1, 0 or empty"))
            elif sid is None:
                bad_cells.append((comment, value, f"vote on comment {comment}, which is not in the comments file"))
            else:
                votes.append((sid, vote))
        for comment, value, reason in bad_cells:
            self.quarantine.add(file, line, reason, {"participant": number, "comment-id": comment, "vote": value},
                                f"comment {comment}")
        pid = participant_id(self.key, number)
        demographics = {"opinion_group": group}
        extra = {"conversation_key": self.key, "participant": number}
        extra.update({k: v for k, v in row.items() if k not in ("participant", "group-id")})
        stored = self.conn.execute(
            "SELECT demographics, extra, import_id FROM participants WHERE id = ?", (pid,)
        ).fetchone()
        if stored is None:
            self.conn.execute(
                "INSERT INTO participants (id, source, source_id, demographics, extra, created_at, content_hash,"
                " import_id) VALUES (?, ?, ?, ?, ?, ?, NULL, ?)",
                (pid, SOURCE, f"{self.key}/{number}", dumps(demographics), dumps(extra), self.created,
                 self.import_id),
            )
            self.tally.count("added", "participants")
        elif json.loads(stored[0]) != demographics or json.loads(stored[1]) != extra:
            self.conn.execute(
                "UPDATE participants SET demographics = ?, extra = ?, import_id = ? WHERE id = ?",
                (dumps(demographics), dumps(extra), self.import_id, pid),
            )
            note_rewrite(self.rewrote, stored[2], "participants", self.import_id)
            self.tally.count("updated", "participants")
        else:
            self.tally.count("unchanged", "participants")
        return [(sid, pid, vote) for sid, vote in votes]

    def _write_votes(self, pending: list[tuple[str, str, int]]) -> None:
        if not pending:
            return
        # A participant listed twice: the later record wins, as in a later export.
        latest = {(s, p): v for s, p, v in pending}
        pending = [(s, p, v) for (s, p), v in latest.items()]
        participants = sorted({p for _, p, _ in pending})
        marks = ",".join("?" * len(participants))
        stored = {
            (s, p): (v, owner)
            for s, p, v, owner in self.conn.execute(
                f"SELECT statement_id, participant_id, vote, import_id FROM votes WHERE participant_id IN ({marks})",
                participants,
            )
        }
        new = [row for row in pending if (row[0], row[1]) not in stored]
        changed = [(v, self.import_id, s, p) for s, p, v in pending if (s, p) in stored and stored[(s, p)][0] != v]
        if new:
            new.sort()  # in primary-key order: appends to the B-tree instead of scattering
            self.conn.executemany(
                with_import_id("INSERT INTO votes (statement_id, participant_id, vote) VALUES (?, ?, ?)",
                               self.import_id), new)
        if changed:
            self.conn.executemany(
                "UPDATE votes SET vote = ?, import_id = ? WHERE statement_id = ? AND participant_id = ?", changed
            )
            for _v, _i, s, p in changed:
                note_rewrite(self.rewrote, stored[(s, p)][1], "votes", self.import_id)
        self.tally.count("added", "votes", len(new))
        self.tally.count("updated", "votes", len(changed))
        self.tally.count("unchanged", "votes", len(pending) - len(new) - len(changed))


def default_key(comments_csv: str | os.PathLike[str]) -> str:
    """Return the conversation key used when none is given: the folder name of ``comments.csv``."""
    return Path(comments_csv).resolve().parent.name


def import_polis(
    store: Store,
    comments_csv: str | os.PathLike[str],
    votes_csv: str | os.PathLike[str],
    *,
    key: str | None = None,
    strict: bool = False,
    progress: Progress | None = None,
    actor: str = APP_ACTOR,
    replay: Replay | None = None,
) -> ImportSummary:
    """Import one Pol.is conversation export.

    Args:
        store: the workspace database.
        comments_csv: the ``comments.csv`` export.
        votes_csv: the ``participants-votes.csv`` export.
        key: the conversation key that namespaces its ids (default: the folder of ``comments.csv``).
        strict: fail the whole import on the first bad row instead of quarantining it.
        progress: receives lines read; raising ``Cancelled`` from ``tick`` rolls back.
        actor: who imports, for the audit event.
        replay: an import received from another machine, run again from its files (no event is written).

    Returns:
        What was added, unchanged, updated, in conflict and quarantined (statements, participants, votes).

    Raises:
        KnownError: a file is missing, unreadable or not a Pol.is export, or (strict mode) holds a bad
            row. Nothing is written then.
        Cancelled: the progress object asked to stop. Nothing is written then.
    """
    progress = progress or NoProgress()
    comments_path, votes_path = check_input_files([comments_csv, votes_csv])
    key = (key if key is not None else default_key(comments_path)).strip()
    if not key:
        raise KnownError("The Pol.is conversation key is empty.", hint="Give one with --key NAME.")
    facts = {path: _file_facts(path) for path in (comments_path, votes_path)}
    progress.start(sum(f[2] for f in facts.values()), f"Importing Pol.is conversation {key}")
    try:
        summary = _run(store, key, comments_path, votes_path, facts, strict=strict, progress=progress,
                       actor=actor, replay=replay)
    finally:
        progress.finish()
    return summary


def _run(
    store: Store,
    key: str,
    comments_path: Path,
    votes_path: Path,
    facts: dict[Path, tuple[str, int, int]],
    *,
    strict: bool,
    progress: Progress,
    actor: str,
    replay: Replay | None,
) -> ImportSummary:
    import_id = replay.import_id if replay else new_id()
    with import_transaction(store, "importing the Pol.is export"):
        run = _PolisImport(store, key, strict=strict, progress=progress, import_id=import_id,
                           created_at=replay.created_at if replay else None)
        n_comments = run.comments(comments_path)
        n_votes = run.votes(votes_path)
        files = [
            ImportedFile(str(comments_path), "comments", facts[comments_path][0], facts[comments_path][1], n_comments),
            ImportedFile(str(votes_path), "votes", facts[votes_path][0], facts[votes_path][1], n_votes),
        ]
        summary = finish_import(
            store, source=SOURCE, action="import.polis", actor=actor, import_id=import_id, files=files,
            tally=run.tally, quarantine=run.quarantine, strict=strict, options={"key": key}, rewrote=run.rewrote,
            created_at=run.created, replay=replay,
        )
    return summary
