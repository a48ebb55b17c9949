"""The product's own JSONL formats: ranker runs, relevance grades, stance labels and proposals, in and out."""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewer import audit
from reviewer.errors import KnownError
from reviewer.evidence import (
    SOURCE_KINDS,
    STANCES,
    StanceLabel,
    add_hand_link,
    get_label,
    insert_label,
    require_labeller,
)
from reviewer.ids import is_uuid, new_id, stable_id, utc_now
from reviewer.proposals import build_sections
from reviewer.rankings import normalise
from reviewer.spec import SpecDocument
from reviewer.store import APP_ACTOR, Proposal, Store, sql_errors
from reviewer.vocab import LABEL_SOURCES

if TYPE_CHECKING:
    from reviewer.workspace import Workspace

KINDS = ("rankings", "relevance", "stances", "proposals")
GRADER_KINDS = LABEL_SOURCES
DEFAULT_RUN_SOURCE = "import"
_SECTION_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:-]*$")


@dataclass(frozen=True)
class ImportReport:
    """What an import did.

    Attributes:
        kind: rankings, relevance, stances or proposals.
        path: the file read.
        added: rows stored.
        unchanged: rows already stored with the same content, skipped.
        details: counts particular to the kind (e.g. ranker runs added, links made).
    """

    kind: str
    path: str
    added: int
    unchanged: int
    details: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ExportReport:
    """What an export wrote.

    Attributes:
        kind: rankings, relevance, stances or proposals.
        path: the file written.
        rows: lines written.
    """

    kind: str
    path: str
    rows: int


# ---- reading lines and fields -------------------------------------------------------------------


def read_jsonl(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """Read a JSONL file into ``(line number, object)`` pairs, skipping blank lines.

    Raises:
        KnownError: the file cannot be read, or a line is not a JSON object (naming the line).
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise KnownError(f"No file {path}.") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise KnownError(f"Cannot read {path}: {exc}.") from exc
    rows = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise KnownError(f"{path}, line {number}: invalid JSON ({exc.msg}, column {exc.colno}).") from exc
        except RecursionError as exc:
            raise KnownError(f"{path}, line {number}: the JSON is nested too deeply to read.") from exc
        if not isinstance(value, dict):
            raise KnownError(f"{path}, line {number}: expected a JSON object, found {type(value).__name__}.")
        rows.append((number, value))
    return rows


@contextlib.contextmanager
def at_line(path: Path, number: int) -> Iterator[None]:
    """Prefix any ``KnownError`` raised inside with the file and line."""
    try:
        yield
    except KnownError as exc:
        raise KnownError(f"{path}, line {number}: {exc.message}", hint=exc.hint) from exc


def text_field(row: dict[str, Any], key: str) -> str:
    """Return a required non-empty string field.

    Raises:
        KnownError: missing, not a string, or empty.
    """
    value = row.get(key)
    if not isinstance(value, str) or not value.strip():
        raise KnownError(f"field {key!r} must be a non-empty string")
    return value


def optional_text(row: dict[str, Any], key: str) -> str | None:
    """Return an optional string field (None when missing or null).

    Raises:
        KnownError: present but not a string.
    """
    value = row.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise KnownError(f"field {key!r} must be a string or null")
    return value


def uuid_field(row: dict[str, Any], key: str) -> str:
    """Return a required UUID field.

    Raises:
        KnownError: missing or not a UUID.
    """
    value = text_field(row, key)
    if not is_uuid(value):
        raise KnownError(f"field {key!r} must be a UUID, not {value!r}")
    return value


def normalise_time(value: str) -> str:
    """Return an ISO-8601 time as UTC in the store's form (``2026-07-03T09:14:22.000000Z``).

    A time without a zone is taken as UTC.

    Raises:
        KnownError: not an ISO-8601 time.
    """
    try:
        moment = _dt.datetime.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise KnownError(f"{value!r} is not an ISO-8601 time") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.UTC)
    return moment.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def optional_time(row: dict[str, Any], key: str) -> str | None:
    """Return an optional time field, normalised (None when missing or null).

    Raises:
        KnownError: present but not an ISO-8601 time string.
    """
    value = optional_text(row, key)
    return normalise_time(value) if value is not None else None


def ranking_field(row: dict[str, Any], key: str) -> str:
    """Return a ranking field in canonical form (validated by ``reviewer.rankings``).

    Raises:
        KnownError: missing or not a ranking of A–D.
    """
    value = row.get(key)
    if not isinstance(value, str):
        raise KnownError(f"field {key!r} must be a ranking string such as 'A>B=C>D'")
    return normalise(value)


# ---- references that travel between workspaces -------------------------------------------------


class ConversationIndex:
    """Conversation ids by their ``prompt_id`` (the source's id, portable across workspaces), and back.

    Attributes:
        store: the workspace store.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._by_prompt: dict[str, str] | None = None
        self._by_id: dict[str, str] = {}

    def _load(self) -> dict[str, str]:
        if self._by_prompt is None:
            by_prompt: dict[str, str] = {}
            # CA-1 rows win when another source uses the same id.
            for conversation_id, source_id in self.store.db.execute(
                "SELECT id, source_id FROM conversations ORDER BY source = 'ca1', rowid"
            ):
                by_prompt[source_id] = conversation_id
                self._by_id[conversation_id] = source_id
            self._by_prompt = by_prompt
        return self._by_prompt

    def id_for(self, prompt_id: Any, what: str = "prompt_id") -> str:
        """Return the conversation id for a prompt id.

        Raises:
            KnownError: no conversation in the workspace has that prompt id.
        """
        if not isinstance(prompt_id, str) or not prompt_id:
            raise KnownError(f"{what} must be a non-empty string")
        found = self._load().get(prompt_id)
        if found is None:
            raise KnownError(
                f"unknown prompt_id {prompt_id!r}: no conversation in this workspace has it",
                hint="Import the crowd data (e.g. `spec-review import ca1`) first.",
            )
        return found

    def prompt_for(self, conversation_id: str) -> str:
        """Return the prompt id of a stored conversation (the id itself when unknown)."""
        self._load()
        return self._by_id.get(conversation_id, conversation_id)


def justification_for(store: Store, conversations: ConversationIndex, ref: Any) -> str:
    """Return the id of the justification a portable reference names.

    A reference is ``{prompt_id, annotator_id, block, position}``; a Pol.is statement (no
    annotator) is named by ``{"block": "statement", "id": uuid}``.

    Raises:
        KnownError: malformed, or no such justification in the workspace.
    """
    if not isinstance(ref, dict):
        raise KnownError("field 'justification' must be an object {prompt_id, annotator_id, block, position}")
    if ref.get("annotator_id") is None and isinstance(ref.get("id"), str):
        row = store.db.execute("SELECT id FROM justifications WHERE id = ?", [ref["id"]]).fetchone()
        if row is None:
            raise KnownError(f"no justification with id {ref['id']} in this workspace")
        return str(row[0])
    conversation_id = conversations.id_for(ref.get("prompt_id"), "justification.prompt_id")
    annotator = ref.get("annotator_id")
    block = ref.get("block")
    position = ref.get("position")
    if not isinstance(annotator, str) or not annotator:
        raise KnownError("justification.annotator_id must be a non-empty string")
    if block not in ("personal", "world", "unacceptable"):
        raise KnownError(f"justification.block must be personal, world or unacceptable, not {block!r}")
    if not isinstance(position, int) or isinstance(position, bool) or position < 0:
        raise KnownError("justification.position must be a whole number from 0")
    # Imported CA-1 justifications have stable ids: try that first, then look the row up.
    guess = stable_id("ca1", "justification", ref["prompt_id"], annotator, block, str(position))
    if store.db.execute("SELECT 1 FROM justifications WHERE id = ?", [guess]).fetchone():
        return guess
    row = store.db.execute(
        "SELECT j.id FROM justifications j JOIN assessments a ON a.id = j.assessment_id"
        " JOIN participants p ON p.id = a.participant_id"
        " WHERE a.conversation_id = ? AND p.source_id = ? AND j.block = ? AND j.position = ?",
        [conversation_id, annotator, block, position],
    ).fetchone()
    if row is None:
        raise KnownError(
            f"no {block} justification {position} by annotator {annotator!r} on prompt {ref['prompt_id']!r}"
            " in this workspace"
        )
    return str(row[0])


def justification_refs(store: Store, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Return the portable reference of each justification id."""
    refs: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for jid, block, position, prompt_id, annotator in store.db.execute(
            "SELECT j.id, j.block, j.position, c.source_id, p.source_id FROM justifications j"
            " LEFT JOIN assessments a ON a.id = j.assessment_id"
            " LEFT JOIN conversations c ON c.id = a.conversation_id"
            " LEFT JOIN participants p ON p.id = a.participant_id"
            f" WHERE j.id IN ({','.join('?' * len(chunk))})",
            chunk,
        ):
            if annotator is None:
                refs[jid] = {"block": block, "id": jid}
            else:
                refs[jid] = {"prompt_id": prompt_id, "annotator_id": annotator, "block": block, "position": position}
    return refs


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write rows as JSONL through a temporary file, so a failure leaves no half file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.writing")
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise KnownError(f"Cannot write {path}: {exc.strerror or exc}.") from exc


# The tables each import writes; their rows name the import (``import_id``, a stance label's ``written_by``).
_IMPORT_TABLES = {
    "rankings": ("ranker_runs", "ranker_rankings"),
    "relevance": ("relevance_grades",),
    "stances": ("stance_labels",),
}


def _import_event(store: Store, kind: str, path: Path, actor: str, added: int, unchanged: int,
                  details: dict[str, Any], import_id: str) -> None:
    """Log an import that added rows: the file with its SHA-256, the counts, and the digest of the rows it wrote."""
    from reviewer.digests import file_sha256
    from reviewer.importing import import_digests

    if added:
        audit.append_event(
            store.db, actor=actor, action=f"import.{kind}", object_type="import", object_id=import_id,
            payload={"file": str(path), "sha256": file_sha256(path), "added": added, "unchanged": unchanged,
                     **details, "digests": import_digests(store, import_id, _IMPORT_TABLES[kind])},
        )


# ---- rankings -----------------------------------------------------------------------------------


def import_rankings(workspace: Workspace, path: Path, *, actor: str = APP_ACTOR) -> ImportReport:
    """Import ranker rankings, all or nothing; lines sharing ``run_id`` form one ranker run.

    Each line: ``run_id, spec_revision, model, prompt_version, prompt_id, ranking, reason`` and,
    optionally, ``created_at`` and ``source`` of the run. ``spec_revision`` is resolved to a commit
    when the spec repository has it, else stored as given. A ranking already stored is skipped;
    a different ranking, or a run header that differs, is an error.

    Raises:
        KnownError: naming the file and line of the first bad row; nothing is stored then.
    """
    path = Path(path)
    rows = read_jsonl(path)
    store = workspace.store
    conversations = ConversationIndex(store)
    revisions: dict[str, str] = {}

    def resolve(rev: str) -> str:
        if rev not in revisions:
            try:
                revisions[rev] = workspace.resolve(rev)
            except KnownError:
                revisions[rev] = rev
        return revisions[rev]

    added = unchanged = runs_added = 0
    import_id = new_id()
    seen_runs: dict[str, tuple[int, dict[str, Any]]] = {}
    with sql_errors("importing rankings"), store.db.atomic():
        for number, row in rows:
            with at_line(path, number):
                run_id = uuid_field(row, "run_id")
                header: dict[str, Any] = {
                    "spec_revision": resolve(text_field(row, "spec_revision")),
                    "model": text_field(row, "model"),
                    "prompt_version": optional_text(row, "prompt_version"),
                }
                created_at = optional_time(row, "created_at")
                source = optional_text(row, "source")
                conversation_id = conversations.id_for(row.get("prompt_id"))
                ranking = ranking_field(row, "ranking")
                reason = optional_text(row, "reason")
                if run_id in seen_runs:
                    first_line, first = seen_runs[run_id]
                    for key, value in (*header.items(), ("created_at", created_at), ("source", source)):
                        if value is not None and first.get(key) is not None and value != first[key]:
                            raise KnownError(
                                f"run {run_id} has {key} {value!r} here but {first[key]!r} on line {first_line}"
                            )
                else:
                    stored = store.db.execute(
                        "SELECT spec_revision, model, prompt_version, created_at, source FROM ranker_runs"
                        " WHERE id = ?",
                        [run_id],
                    ).fetchone()
                    if stored is not None:
                        known = dict(zip(("spec_revision", "model", "prompt_version", "created_at", "source"), stored))
                        for key, value in (*header.items(), ("created_at", created_at), ("source", source)):
                            if (value is not None or key == "prompt_version") and value != known[key]:
                                raise KnownError(
                                    f"run {run_id} is already stored with {key} {known[key]!r}, not {value!r}"
                                )
                        seen_runs[run_id] = (number, known)
                    else:
                        run = {**header, "created_at": created_at or utc_now(), "source": source or DEFAULT_RUN_SOURCE}
                        store.db.execute(
                            "INSERT INTO ranker_runs (id, spec_revision, model, prompt_version, source, created_at,"
                            " import_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                            [run_id, run["spec_revision"], run["model"], run["prompt_version"], run["source"],
                             run["created_at"], import_id],
                        )
                        runs_added += 1
                        seen_runs[run_id] = (number, run)
                existing = store.db.execute(
                    "SELECT ranking, reason FROM ranker_rankings WHERE run_id = ? AND conversation_id = ?",
                    [run_id, conversation_id],
                ).fetchone()
                if existing is not None:
                    if (existing[0], existing[1]) != (ranking, reason):
                        raise KnownError(
                            f"run {run_id} already ranks prompt {row['prompt_id']!r} as {existing[0]!r}"
                            f" (reason {existing[1]!r}); this line says {ranking!r} (reason {reason!r})"
                        )
                    unchanged += 1
                    continue
                store.db.execute(
                    "INSERT INTO ranker_rankings (id, run_id, conversation_id, ranking, reason, import_id)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    [stable_id("ranker_ranking", run_id, conversation_id), run_id, conversation_id, ranking, reason,
                     import_id],
                )
                added += 1
        details = {"runs_added": runs_added}
        _import_event(store, "rankings", path, actor, added, unchanged, details, import_id)
    return ImportReport("rankings", str(path), added, unchanged, details)


def export_rankings(store: Store, path: Path) -> ExportReport:
    """Write every ranker ranking as JSONL, runs oldest first, then by prompt id."""
    conversations = ConversationIndex(store)
    with sql_errors("exporting rankings"):
        rows = store.db.execute(
            "SELECT r.id, r.spec_revision, r.model, r.prompt_version, rr.conversation_id, rr.ranking, rr.reason,"
            " r.created_at, r.source FROM ranker_rankings rr JOIN ranker_runs r ON r.id = rr.run_id"
            " ORDER BY r.created_at, r.id"
        ).fetchall()
    out = [
        {
            "run_id": r[0], "spec_revision": r[1], "model": r[2], "prompt_version": r[3],
            "prompt_id": conversations.prompt_for(r[4]), "ranking": r[5], "reason": r[6],
            "created_at": r[7], "source": r[8],
        }
        for r in rows
    ]
    out.sort(key=lambda x: (x["created_at"], x["run_id"], x["prompt_id"]))
    _write_jsonl(path, out)
    return ExportReport("rankings", str(path), len(out))


# ---- relevance ----------------------------------------------------------------------------------


def import_relevance(store: Store, path: Path, *, actor: str = APP_ACTOR) -> ImportReport:
    """Import relevance grades, all or nothing.

    Each line: ``prompt_id, section_id, grade (1..5), grader_kind (model|person|rule), grader,
    created_at``. A grader grades a (conversation, section) pair once: the same grade again is
    skipped, a different one is an error.

    Raises:
        KnownError: naming the file and line of the first bad row; nothing is stored then.
    """
    path = Path(path)
    rows = read_jsonl(path)
    conversations = ConversationIndex(store)
    added = unchanged = 0
    import_id = new_id()
    with sql_errors("importing relevance grades"), store.db.atomic():
        for number, row in rows:
            with at_line(path, number):
                conversation_id = conversations.id_for(row.get("prompt_id"))
                section_id = text_field(row, "section_id")
                if not _SECTION_ID.match(section_id):
                    raise KnownError(f"section_id {section_id!r} is not a heading id")
                grade = row.get("grade")
                if not isinstance(grade, int) or isinstance(grade, bool) or not 1 <= grade <= 5:
                    raise KnownError(f"grade must be a whole number from 1 to 5, not {grade!r}")
                grader_kind = row.get("grader_kind")
                if grader_kind not in GRADER_KINDS:
                    raise KnownError(f"grader_kind must be one of {', '.join(GRADER_KINDS)}, not {grader_kind!r}")
                grader = text_field(row, "grader")
                created_at = optional_time(row, "created_at")
                existing = store.db.execute(
                    "SELECT grade FROM relevance_grades WHERE conversation_id = ? AND section_id = ?"
                    " AND grader_kind = ? AND grader = ?",
                    [conversation_id, section_id, grader_kind, grader],
                ).fetchone()
                if existing is not None:
                    if existing[0] != grade:
                        raise KnownError(
                            f"{grader_kind} {grader!r} already graded prompt {row['prompt_id']!r} × section"
                            f" {section_id!r} as {existing[0]}, not {grade}"
                        )
                    unchanged += 1
                    continue
                store.db.execute(
                    "INSERT INTO relevance_grades (id, conversation_id, section_id, grade, grader_kind, grader,"
                    " created_at, import_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [stable_id("relevance", conversation_id, section_id, grader_kind, grader), conversation_id,
                     section_id, grade, grader_kind, grader, created_at or utc_now(), import_id],
                )
                added += 1
        _import_event(store, "relevance", path, actor, added, unchanged, {}, import_id)
    return ImportReport("relevance", str(path), added, unchanged)


def export_relevance(store: Store, path: Path) -> ExportReport:
    """Write every relevance grade as JSONL, by prompt id, section and grader."""
    conversations = ConversationIndex(store)
    with sql_errors("exporting relevance grades"):
        rows = store.db.execute(
            "SELECT conversation_id, section_id, grade, grader_kind, grader, created_at FROM relevance_grades"
        ).fetchall()
    out = [
        {
            "prompt_id": conversations.prompt_for(r[0]), "section_id": r[1], "grade": r[2],
            "grader_kind": r[3], "grader": r[4], "created_at": r[5],
        }
        for r in rows
    ]
    out.sort(key=lambda x: (x["prompt_id"], x["section_id"], x["grader_kind"], x["grader"]))
    _write_jsonl(path, out)
    return ExportReport("relevance", str(path), len(out))


# ---- stances ------------------------------------------------------------------------------------

_STANCE_COMPARED = ("proposal_id", "justification_id", "stance", "source_kind", "source_name",
                    "prompt_version", "confidence", "quote", "detail", "supersedes")


def import_stances(store: Store, path: Path, *, actor: str = APP_ACTOR) -> ImportReport:
    """Import stance labels from any source, all or nothing; labels sit beside those already stored.

    Each line: ``id, proposal_id, justification: {prompt_id, annotator_id, block, position},
    stance, source_kind, source_name, prompt_version, confidence, quote, detail, supersedes,
    created_at``. A label whose id is stored with the same content is skipped; with other content
    it is an error. A label on a justification not yet linked to the proposal links it (a hand
    link by ``actor``). ``quote`` must occur verbatim in the justification; ``supersedes`` must
    name a label on the same link, stored or earlier in the file.

    Raises:
        KnownError: naming the file and line of the first bad row; nothing is stored then.
    """
    path = Path(path)
    rows = read_jsonl(path)
    conversations = ConversationIndex(store)
    added = unchanged = linked = 0
    import_id = new_id()
    proposals: dict[str, bool] = {}
    labellers: set[str] = set()
    # A person's label is part of the governance record: the import's event carries each one whole,
    # so that audit verify can rebuild them from the log.
    person_labels: list[list[Any]] = []
    # So are the hand links it makes (whole rows, as evidence.link events carry them).
    hand_links: list[list[Any]] = []
    with sql_errors("importing stance labels"), store.db.atomic():
        for number, row in rows:
            with at_line(path, number):
                proposal_id = uuid_field(row, "proposal_id")
                if proposal_id not in proposals:
                    proposals[proposal_id] = bool(
                        store.db.execute("SELECT 1 FROM proposals WHERE id = ?", [proposal_id]).fetchone()
                    )
                if not proposals[proposal_id]:
                    raise KnownError(f"unknown proposal_id {proposal_id}: import the proposal first")
                justification_id = justification_for(store, conversations, row.get("justification"))
                stance = row.get("stance")
                if stance not in STANCES:
                    raise KnownError(f"stance must be one of {', '.join(STANCES)}, not {stance!r}")
                source_kind = row.get("source_kind")
                if source_kind not in SOURCE_KINDS:
                    raise KnownError(f"source_kind must be one of {', '.join(SOURCE_KINDS)}, not {source_kind!r}")
                source_name = text_field(row, "source_name")
                if source_kind == "person" and source_name not in labellers:
                    require_labeller(store, source_name)  # as when the label is set in the app
                    labellers.add(source_name)
                prompt_version = optional_text(row, "prompt_version")
                confidence = row.get("confidence")
                if confidence is not None and (
                    isinstance(confidence, bool) or not isinstance(confidence, int | float) or not 0 <= confidence <= 1
                ):
                    raise KnownError(f"confidence must be null or a number from 0 to 1, not {confidence!r}")
                quote = optional_text(row, "quote")
                if quote is not None:
                    text = store.db.execute("SELECT text FROM justifications WHERE id = ?", [justification_id]).fetchone()[0]
                    if quote not in text:
                        raise KnownError("quote does not occur verbatim in the justification's text")
                detail = row.get("detail", {})
                if detail is None:
                    detail = {}
                if not isinstance(detail, dict):
                    raise KnownError("detail must be a JSON object")
                supersedes = optional_text(row, "supersedes")
                created_at = optional_time(row, "created_at")
                label_id = row.get("id")
                if label_id is None:
                    label_id = stable_id("stance", proposal_id, justification_id, source_kind, source_name,
                                         stance, created_at or "", json.dumps(detail, sort_keys=True))
                elif not isinstance(label_id, str) or not is_uuid(label_id):
                    raise KnownError(f"field 'id' must be a UUID, not {label_id!r}")
                label = StanceLabel(
                    id=label_id, proposal_id=proposal_id, justification_id=justification_id, stance=stance,
                    source_kind=source_kind, source_name=source_name, prompt_version=prompt_version,
                    confidence=float(confidence) if confidence is not None else None, quote=quote,
                    detail=detail, supersedes=supersedes, created_at=created_at or utc_now(),
                )
                stored = get_label(store, label_id)
                if stored is not None:
                    differs = [k for k in _STANCE_COMPARED if getattr(stored, k) != getattr(label, k)]
                    if created_at is not None and stored.created_at != created_at:
                        differs.append("created_at")
                    if differs:
                        raise KnownError(f"label {label_id} is already stored with another {', '.join(differs)}")
                    unchanged += 1
                    continue
                if supersedes is not None:
                    earlier = get_label(store, supersedes)
                    if earlier is None:
                        raise KnownError(f"supersedes {supersedes}, which is neither stored nor on an earlier line")
                    if (earlier.proposal_id, earlier.justification_id) != (proposal_id, justification_id):
                        raise KnownError(f"supersedes {supersedes}, a label on another proposal or justification")
                link = add_hand_link(store, proposal_id, justification_id, actor, f"linked by importing {path.name}")
                if link is not None:
                    hand_links.append(link)
                    linked += 1
                # A person's label is logged whole (below); the others, by the digest of those this import wrote.
                insert_label(store, label, written_by=None if source_kind == "person" else import_id)
                added += 1
                if source_kind == "person":
                    # The fields audit verify compares, then the rest of the row (for a rebuild).
                    person_labels.append([label.id, proposal_id, justification_id, stance, source_name, supersedes,
                                          prompt_version, label.confidence, quote, detail, label.created_at])
        details: dict[str, Any] = {"linked": linked, "person_labels": person_labels, "hand_links": hand_links}
        _import_event(store, "stances", path, actor, added, unchanged, details, import_id)
    return ImportReport("stances", str(path), added, unchanged, details)


def export_stances(store: Store, path: Path) -> ExportReport:
    """Write every stance label as JSONL, in the order they were stored (so ``supersedes`` comes after its label)."""
    with sql_errors("exporting stance labels"):
        rows = store.db.execute(
            "SELECT id, proposal_id, justification_id, stance, source_kind, source_name, prompt_version,"
            " confidence, quote, detail, supersedes, created_at FROM stance_labels ORDER BY rowid"
        ).fetchall()
        refs = justification_refs(store, sorted({r[2] for r in rows}))
    out = [
        {
            "id": r[0], "proposal_id": r[1], "justification": refs[r[2]], "stance": r[3],
            "source_kind": r[4], "source_name": r[5], "prompt_version": r[6], "confidence": r[7],
            "quote": r[8], "detail": json.loads(r[9] or "{}"), "supersedes": r[10], "created_at": r[11],
        }
        for r in rows
    ]
    _write_jsonl(path, out)
    return ExportReport("stances", str(path), len(out))


# ---- proposals ----------------------------------------------------------------------------------


def _proposal_row(
    workspace: Workspace,
    row: dict[str, Any],
    conversations: ConversationIndex,
    specs: dict[str, SpecDocument],
    revisions: dict[str, str],
    actor: str,
) -> dict[str, Any]:
    """Check one JSONL row and return the keyword arguments of ``Store.add_proposal`` for it.

    Raises:
        KnownError: a field is missing or malformed, a prompt id is unknown, or a section is wrong.
    """
    proposal_id = row.get("id")
    if proposal_id is None:
        # No id given: derive one from the content, so importing the same file twice adds it once.
        proposal_id = stable_id("proposal", json.dumps(row, sort_keys=True, ensure_ascii=False))
    elif not isinstance(proposal_id, str) or not is_uuid(proposal_id):
        raise KnownError(f"field 'id' must be a UUID, not {proposal_id!r}")
    given_revision = row.get("base_revision") or "HEAD"
    if not isinstance(given_revision, str):
        raise KnownError("field 'base_revision' must be a tag or commit sha")
    if given_revision not in revisions:
        revisions[given_revision] = workspace.resolve(given_revision)
    revision = revisions[given_revision]
    if revision not in specs:
        specs[revision] = workspace.load_spec(revision).document
    raw_sections = row.get("sections")
    if not isinstance(raw_sections, list) or not all(isinstance(x, dict) for x in raw_sections):
        raise KnownError("field 'sections' must be a list of {section_id, new_text}")
    changes = []
    for item in raw_sections:
        section_id, new_text = item.get("section_id"), item.get("new_text")
        if not isinstance(section_id, str) or not isinstance(new_text, str):
            raise KnownError("each of 'sections' needs a section_id and a new_text string")
        changes.append((section_id, new_text))
    linked_prompts = row.get("linked_conversations") or []
    if not isinstance(linked_prompts, list):
        raise KnownError("field 'linked_conversations' must be a list of prompt ids")
    linked: list[str] = []
    for prompt_id in linked_prompts:
        conversation_id = conversations.id_for(prompt_id, "linked_conversations")
        if conversation_id not in linked:
            linked.append(conversation_id)
    expected_raw = row.get("expected_ranking")
    expected: dict[str, str] | None = None
    if expected_raw is not None:
        if not isinstance(expected_raw, dict):
            raise KnownError("field 'expected_ranking' must be an object {prompt_id: ranking} or null")
        expected = {}
        for prompt_id, ranking in expected_raw.items():
            conversation_id = conversations.id_for(prompt_id, "expected_ranking")
            if conversation_id not in linked:
                raise KnownError(
                    f"expected_ranking names prompt {prompt_id!r}, which is not in linked_conversations"
                )
            if not isinstance(ranking, str):
                raise KnownError(f"expected_ranking for {prompt_id!r} must be a ranking string")
            expected[conversation_id] = normalise(ranking)
    extra = row.get("extra") or {}
    if not isinstance(extra, dict):
        raise KnownError("field 'extra' must be a JSON object")
    created_at = row.get("created_at")
    created_by = row.get("created_by")
    if created_at is not None and not isinstance(created_at, str):
        raise KnownError("field 'created_at' must be an ISO-8601 time string")
    if created_by is not None and not isinstance(created_by, str):
        raise KnownError("field 'created_by' must be a string")
    for key in ("title", "intent", "kind"):
        if not isinstance(row.get(key), str):
            raise KnownError(f"field {key!r} must be a string")
    origin = row.get("origin", "imported")
    if not isinstance(origin, str):
        raise KnownError("field 'origin' must be a string")
    return {
        "proposal_id": proposal_id,
        "title": row["title"],
        "intent": row["intent"],
        "kind": row["kind"],
        "origin": origin,
        "base_revision": revision,
        "sections": build_sections(specs[revision], changes),
        "created_by": created_by or actor,
        "created_at": created_at,
        "linked_conversations": linked,
        "expected_ranking": expected,
        "extra": extra,
    }


def _conflicts(stored: Proposal, fields: dict[str, Any], row: dict[str, Any]) -> list[str]:
    """Return the names of the fields in which an imported row differs from the stored proposal."""
    differs = [
        key for key in ("title", "intent", "kind", "origin", "base_revision")
        if getattr(stored, key) != str(fields[key]).strip()
    ]
    if [(s.section_id, s.new_text) for s in stored.sections] != [
        (s.section_id, s.new_text) for s in fields["sections"]
    ]:
        differs.append("sections")
    if sorted(stored.linked_conversations) != sorted(fields["linked_conversations"]):
        differs.append("linked_conversations")
    if (stored.expected_ranking or None) != (fields["expected_ranking"] or None):
        differs.append("expected_ranking")
    if stored.extra != fields["extra"]:
        differs.append("extra")
    for key in ("created_at", "created_by"):
        if row.get(key) is not None and getattr(stored, key) != row[key]:
            differs.append(key)
    return differs


def import_proposals(workspace: Workspace, path: Path, *, actor: str = APP_ACTOR) -> ImportReport:
    """Import proposals from a JSONL file, all or nothing.

    Each line: ``id, title, intent, kind, origin, base_revision, sections: [{section_id, new_text}],
    created_at, created_by, linked_conversations: [prompt_id, ...], expected_ranking: {prompt_id:
    ranking} | null`` (and optionally ``extra``). Conversations are named by prompt id; every
    prompt of ``expected_ranking`` must be linked. A proposal already stored with the same content
    is skipped; with other content it is an error. Each proposal added gets its own
    ``proposal.add`` audit event.

    Raises:
        KnownError: naming the file and line of the first bad row; nothing is stored then.
    """
    path = Path(path)
    rows = read_jsonl(path)
    store = workspace.store
    conversations = ConversationIndex(store)
    added = unchanged = 0
    specs: dict[str, SpecDocument] = {}
    revisions: dict[str, str] = {}
    with sql_errors("importing proposals"), store.db.atomic():
        for number, row in rows:
            with at_line(path, number):
                fields = _proposal_row(workspace, row, conversations, specs, revisions, actor)
                if store.db.execute("SELECT 1 FROM proposals WHERE id = ?", [fields["proposal_id"]]).fetchone():
                    differs = _conflicts(store.get_proposal(fields["proposal_id"]), fields, row)
                    if differs:
                        raise KnownError(
                            f"proposal {fields['proposal_id']} is already stored with another {', '.join(differs)}"
                        )
                    unchanged += 1
                    continue
                store.add_proposal(**fields, actor=actor)
                added += 1
    return ImportReport("proposals", str(path), added, unchanged)


def proposal_json(store: Store, proposal_id: str, conversations: ConversationIndex | None = None) -> dict[str, Any]:
    """Return one stored proposal in the JSONL format (conversations named by prompt id)."""
    conversations = conversations or ConversationIndex(store)
    p = store.get_proposal(proposal_id)
    data: dict[str, Any] = {
        "id": p.id, "title": p.title, "intent": p.intent, "kind": p.kind, "origin": p.origin,
        "base_revision": p.base_revision,
        "sections": [{"section_id": s.section_id, "new_text": s.new_text} for s in p.sections],
        "created_at": p.created_at, "created_by": p.created_by,
        "linked_conversations": sorted(conversations.prompt_for(c) for c in p.linked_conversations),
        "expected_ranking": (
            dict(sorted((conversations.prompt_for(c), r) for c, r in p.expected_ranking.items()))
            if p.expected_ranking is not None else None
        ),
    }
    if p.extra:
        data["extra"] = p.extra
    return data


def export_proposals(store: Store, path: Path) -> ExportReport:
    """Write every proposal as JSONL, oldest first."""
    conversations = ConversationIndex(store)
    with sql_errors("exporting proposals"):
        out = [proposal_json(store, pid, conversations) for pid in store.proposal_ids()]
    _write_jsonl(path, out)
    return ExportReport("proposals", str(path), len(out))


# ---- by kind ------------------------------------------------------------------------------------


def import_file(kind: str, workspace: Workspace, path: Path, *, actor: str = APP_ACTOR) -> ImportReport:
    """Import a file of one of the product's formats.

    Raises:
        KnownError: unknown kind, or a bad file (naming the line).
    """
    importers: dict[str, Callable[[], ImportReport]] = {
        "rankings": lambda: import_rankings(workspace, path, actor=actor),
        "relevance": lambda: import_relevance(workspace.store, path, actor=actor),
        "stances": lambda: import_stances(workspace.store, path, actor=actor),
        "proposals": lambda: import_proposals(workspace, path, actor=actor),
    }
    if kind not in importers:
        raise KnownError(f"Unknown format {kind!r}.", hint=f"Use one of: {', '.join(KINDS)}.")
    return importers[kind]()


def export_file(kind: str, store: Store, path: Path) -> ExportReport:
    """Export one of the product's formats to ``path``.

    Raises:
        KnownError: unknown kind, or the file cannot be written.
    """
    exporters: dict[str, Callable[[Store, Path], ExportReport]] = {
        "rankings": export_rankings,
        "relevance": export_relevance,
        "stances": export_stances,
        "proposals": export_proposals,
    }
    if kind not in exporters:
        raise KnownError(f"Unknown format {kind!r}.", hint=f"Use one of: {', '.join(KINDS)}.")
    return exporters[kind](store, Path(path))
