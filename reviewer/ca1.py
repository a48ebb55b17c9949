"""Import OpenAI's CA-1 crowd data (comparisons, annotators and merged JSONL files) into a workspace.

The three kinds of file can be given alone or together, in any order. Comparisons files are read
first (they hold the conversations the other two refer to), then annotators files, then merged
files; each file is read once, as a stream, and everything is written in one transaction.

Rows get stable ids (``reviewer.ids.stable_id``), so importing the same files again adds nothing
and a larger release adds only what is new. A row that appears twice (an assessment both in
comparisons.jsonl and annotators.jsonl) is stored once: the first copy is kept, keys it lacked
are added to its ``extra``, and any value that differs is recorded in ``extra["import_conflicts"]``
(see ``CONFLICTS_KEY``). A bad row goes to the quarantine table with its file, line and reason,
or, in strict mode, fails the whole import.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from hashlib import blake2b
from pathlib import Path
from typing import Any

from reviewer.errors import KnownError
from reviewer.ids import new_id
from reviewer.importing import (
    BATCH_ROWS,
    BadRow,
    ImportedFile,
    ImportSummary,
    LineReader,
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
    utf8_clean,
    with_import_id,
)
from reviewer.progress import NoProgress, Progress
from reviewer.rankings import normalise
from reviewer.store import APP_ACTOR, Store

SOURCE = "ca1"
FILE_KINDS = ("comparisons", "annotators", "merged")
ROW_KINDS = ("conversations", "participants", "assessments", "justifications")
RANKED_BLOCKS = ("personal", "world")
UNACCEPTABLE = "unacceptable"
# Keys stored in columns; every other key of the input is kept in the row's ``extra``.
ASSESSMENT_FIELDS = ("importance", "representativeness", "subjectivity", "ranking_blocks")
ASSESSMENT_REFS = ("annotator_id", "conversation_id", "prompt_id")
COMPARISON_KEYS = ("prompt_id", "prompt", "responses", "metadata")
ANNOTATOR_KEYS = ("annotator_id", "demographics", "assessments")
MERGED_KEYS = ("prompt_id", "annotator_id", "demographics", *ASSESSMENT_FIELDS)
# Where a row records how a later copy of it differed: a list of {file, line, differs}.
CONFLICTS_KEY = "import_conflicts"
_ASSESSMENT_KNOWN = frozenset(ASSESSMENT_FIELDS + ASSESSMENT_REFS)
_BLOCKS = frozenset((*RANKED_BLOCKS, UNACCEPTABLE))
_RANKED_ENTRY = frozenset(("ranking", "rationale"))
_UNACCEPTABLE_ENTRY = frozenset(("rating", "rationale"))
LETTERS = frozenset("ABCD")
_SNIFF_LINES = 200


def _text_hash(text: str) -> str:
    return blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


# NaN and Infinity are accepted by Python's json module but are not JSON: refuse them.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
_CACHE_LIMIT = 200_000

_INSERT_CONVERSATION = (
    "INSERT INTO conversations (id, source, source_id, prompt, responses, extra, created_at,"
    " content_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_PARTICIPANT = (
    "INSERT INTO participants (id, source, source_id, demographics, extra, created_at, content_hash)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_STUB = (
    "INSERT OR IGNORE INTO participants (id, source, source_id, demographics, extra, created_at,"
    " content_hash) VALUES (?, 'ca1', ?, '{}', '{}', ?, NULL)"
)
_INSERT_ASSESSMENT = (
    "INSERT INTO assessments (id, conversation_id, participant_id, importance, representativeness,"
    " subjectivity, personal_ranking, world_ranking, unacceptable, extra, created_at, content_hash)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_JUSTIFICATION = (
    "INSERT INTO justifications (id, assessment_id, block, position, ranking, text, language,"
    " created_at, extra) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

# A pending row: (row tuple for INSERT, content hash, extra dict, file, line, detail for diffs).
_Pending = tuple[tuple[Any, ...], str, dict[str, Any], str, int, Any]


def conversation_id(prompt_id: str) -> str:
    """Return the stored id of the CA-1 conversation ``prompt_id``."""
    return fast_stable_id("ca1", "conversation", prompt_id)


def participant_id(annotator_id: str) -> str:
    """Return the stored id of the CA-1 participant ``annotator_id``."""
    return fast_stable_id("ca1", "participant", annotator_id)


def assessment_id(prompt_id: str, annotator_id: str) -> str:
    """Return the stored id of one participant's assessment of one CA-1 conversation."""
    return fast_stable_id("ca1", "assessment", prompt_id, annotator_id)


def justification_id(prompt_id: str, annotator_id: str, block: str, position: int) -> str:
    """Return the stored id of one ranking-block entry's rationale."""
    return fast_stable_id("ca1", "justification", prompt_id, annotator_id, block, str(position))


def _kind_of(obj: dict[str, Any]) -> str | None:
    # Merged lines may repeat the prompt as a convenience field, so they are recognised first.
    if "annotator_id" in obj and "prompt_id" in obj:
        return "merged"
    if "responses" in obj or "prompt" in obj or "metadata" in obj:
        return "comparisons"
    if "annotator_id" in obj and ("assessments" in obj or "demographics" in obj):
        return "annotators"
    return None


def detect_kind(path: Path) -> str:
    """Return which CA-1 file ``path`` is: comparisons, annotators, merged, or empty.

    The keys of the first readable JSON object decide; the file name is the fallback (so a file
    whose first lines are broken is still recognised).

    Raises:
        KnownError: neither the content nor the name says what the file is.
    """
    seen = 0
    with open(path, "rb") as handle:
        for index, line in enumerate(handle):
            line = line.strip()
            if index == 0:
                line = line.removeprefix(b"\xef\xbb\xbf")
            if not line:
                continue
            seen += 1
            if seen > _SNIFF_LINES:
                break
            try:
                obj = json.loads(line)
            except (ValueError, RecursionError):  # JSONDecodeError, UnicodeDecodeError, nested too deep
                continue
            if isinstance(obj, dict) and (kind := _kind_of(obj)):
                return kind
    if not seen:
        return "empty"
    name = path.name.lower()
    for kind, needle in (("merged", "merged"), ("annotators", "annotator"), ("comparisons", "comparison")):
        if needle in name:
            return kind
    raise KnownError(
        f"Cannot tell which CA-1 file {path} is: its first lines are neither comparisons, annotators "
        "nor merged records.",
        hint="Check the file; nothing was imported.",
    )


def _id_value(value: Any) -> str | None:
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None



def _required_id(obj: dict[str, Any], key: str) -> str:
    """Return an id field as text, or reject the row when it is missing or empty."""
    value = _id_value(obj.get(key))
    if value is None:
        raise BadRow(f"missing {key}")
    return value


def _optional(obj: dict[str, Any], key: str, kind: type, what: str) -> Any:
    """Return an optional object or list field: empty when absent, a bad row when of another type."""
    value = obj.get(key)
    if value is None:
        return kind()
    if not isinstance(value, kind):
        raise BadRow(f"{what} is not {'an object' if kind is dict else 'a list'}")
    return value


class _RankingCache:
    """Normalised ranking strings: there are only 75 weak orders of four letters."""

    def __init__(self) -> None:
        self._known: dict[str, str] = {}

    def normalise(self, text: Any, block: str, position: int) -> str:
        found = self._known.get(text) if type(text) is str else None
        if found is not None:
            return found
        where = f"ranking_blocks.{block}[{position}]"
        if not isinstance(text, str):
            raise BadRow(f"{where}: the ranking is missing or not text")
        try:
            result = normalise(text)
        except KnownError as exc:
            raise BadRow(f"{where}: {exc.message}") from None
        if len(self._known) < 10_000:
            self._known[text] = result
        return result


class _Ca1Import:
    """One CA-1 import run: reads lines, validates them, and writes rows in batches."""

    def __init__(self, store: Store, *, strict: bool, progress: Progress, import_id: str,
                 created_at: str | None = None) -> None:
        self.store = store
        self.conn = store.db.conn
        self.import_id = import_id
        # Every row this import writes (or rewrites) names it, so audit verify finds its rows again.
        self._insert = {
            kind: with_import_id(sql, import_id)
            for kind, sql in (("conversations", _INSERT_CONVERSATION), ("participants", _INSERT_PARTICIPANT),
                              ("stubs", _INSERT_STUB), ("assessments", _INSERT_ASSESSMENT),
                              ("justifications", _INSERT_JUSTIFICATION))
        }
        self.rewrote: dict[str, set[str]] = {}
        self.created = created_at or now()
        self.tally = Tally()
        self.tally.ensure(ROW_KINDS)
        self.quarantine = Quarantine(store, SOURCE, import_id, strict=strict, created_at=self.created)
        self.progress = progress
        self.rankings = _RankingCache()
        self.file = ""
        self._conversations: dict[str, _Pending] = {}
        self._participants: dict[str, _Pending] = {}
        self._stubs: dict[str, tuple[str, str, str]] = {}
        self._assessments: dict[str, _Pending] = {}
        self._known_conversations: dict[str, bool] = {}
        self._participant_ids: dict[str, str] = {}

    # ---- reading ----------------------------------------------------------------------------

    def run_file(self, path: Path, kind: str) -> ImportedFile:
        """Import one file of the given kind; return what was read."""
        self.file = str(path)
        handler: Callable[[int, bytes], None] = {
            "comparisons": self._comparisons_line,
            "annotators": self._annotators_line,
            "merged": self._merged_line,
            "empty": self._unexpected_line,
        }[kind]
        reader = LineReader(path, self.progress)
        for number, raw in reader:
            handler(number, raw)
        self.flush()
        # Conversations are all known once the comparisons files are in; the annotators and
        # merged files are only checked against them, so the cache stays valid until the end.
        return ImportedFile(str(path), kind, reader.sha256, reader.size, reader.lines)

    def _parse(self, number: int, raw: bytes) -> dict[str, Any] | None:
        """Decode and parse one line; quarantine it and return None when it is not a JSON object."""
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.quarantine.add(
                self.file, number, f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})", raw
            )
            return None
        try:
            obj = _DECODER.decode(text)
        except json.JSONDecodeError as exc:
            self.quarantine.add(self.file, number, f"invalid JSON: {exc.msg} at column {exc.colno}", raw)
            return None
        except (ValueError, RecursionError) as exc:
            self.quarantine.add(self.file, number, f"invalid JSON: {exc}", raw)
            return None
        if not isinstance(obj, dict):
            self.quarantine.add(self.file, number, "not a JSON object", raw)
            return None
        # An escaped lone surrogate parses but cannot be stored as UTF-8.
        if (b"\\ud" in raw or b"\\uD" in raw) and not utf8_clean(obj):
            self.quarantine.add(self.file, number, "not UTF-8 text (a lone surrogate escape)", raw)
            return None
        return obj

    def _unexpected_line(self, number: int, raw: bytes) -> None:
        self.quarantine.add(self.file, number, "a record in a file that looked empty", raw)

    def _comparisons_line(self, number: int, raw: bytes) -> None:
        obj = self._parse(number, raw)
        if obj is None:
            return
        try:
            prompt_id = _required_id(obj, "prompt_id")
            prompt = obj.get("prompt")
            if not isinstance(prompt, dict):
                raise BadRow("prompt is missing or not an object")
            responses = obj.get("responses")
            if (
                not isinstance(responses, list)
                or len(responses) != 4
                or not all(isinstance(r, dict) and isinstance(r.get("response_index"), str) for r in responses)
                or {r["response_index"] for r in responses} != LETTERS
            ):
                raise BadRow("responses are not four responses A, B, C and D")
            metadata = _optional(obj, "metadata", dict, "metadata")
            assessments = _optional(metadata, "assessments", list, "metadata.assessments")
        except BadRow as exc:
            self.quarantine.add(self.file, number, str(exc), raw)
            return
        extra = {k: v for k, v in obj.items() if k not in COMPARISON_KEYS}
        rest = {k: v for k, v in metadata.items() if k != "assessments"}
        if rest:
            extra["metadata"] = rest
        conv_id = conversation_id(prompt_id)
        core = {"prompt": prompt, "responses": responses}
        prompt_json, responses_json = dumps(prompt), dumps(responses)
        # Hashing the stored text (not a key-sorted copy) saves a second serialisation; two copies
        # that differ only in key order then take the slow path once and compare equal.
        digest = _text_hash(prompt_json + "\x1e" + responses_json)
        row = (conv_id, SOURCE, prompt_id, prompt_json, responses_json, dumps(extra), self.created, digest)
        self._add(self._conversations, conv_id, (row, digest, extra, self.file, number, core))
        for index, assessment in enumerate(assessments):
            try:
                if not isinstance(assessment, dict):
                    raise BadRow("the assessment is not a JSON object")
                annotator = _required_id(assessment, "annotator_id")
                pending = self._build_assessment(assessment, prompt_id, annotator, conv_id, number)
            except BadRow as exc:
                self.quarantine.add(self.file, number, str(exc), assessment, f"metadata.assessments[{index}]")
                continue
            pid = pending[0][2]
            if pid not in self._stubs:
                self._stubs[pid] = (pid, annotator, self.created)
            self._add(self._assessments, pending[0][0], pending)

    def _annotators_line(self, number: int, raw: bytes) -> None:
        obj = self._parse(number, raw)
        if obj is None:
            return
        try:
            annotator = _required_id(obj, "annotator_id")
            demographics = _optional(obj, "demographics", dict, "demographics")
            assessments = _optional(obj, "assessments", list, "assessments")
        except BadRow as exc:
            self.quarantine.add(self.file, number, str(exc), raw)
            return
        extra = {k: v for k, v in obj.items() if k not in ANNOTATOR_KEYS}
        self._add_participant(annotator, demographics, extra, number)
        for index, assessment in enumerate(assessments):
            try:
                if not isinstance(assessment, dict):
                    raise BadRow("the assessment is not a JSON object")
                own = assessment.get("annotator_id")
                if own is not None and _id_value(own) != annotator:
                    raise BadRow(f"annotator_id {own!r} differs from the line's {annotator!r}")
                ref = assessment.get("conversation_id")
                if ref is None:
                    ref = assessment.get("prompt_id")
                prompt_id = _id_value(ref)
                if prompt_id is None:
                    raise BadRow("missing conversation_id")
                conv_id = conversation_id(prompt_id)
                if not self._conversation_exists(conv_id):
                    raise BadRow(f"assessment of unknown conversation {prompt_id!r}")
                pending = self._build_assessment(assessment, prompt_id, annotator, conv_id, number)
            except BadRow as exc:
                self.quarantine.add(self.file, number, str(exc), assessment, f"assessments[{index}]")
                continue
            self._add(self._assessments, pending[0][0], pending)

    def _merged_line(self, number: int, raw: bytes) -> None:
        obj = self._parse(number, raw)
        if obj is None:
            return
        try:
            prompt_id = _required_id(obj, "prompt_id")
            annotator = _required_id(obj, "annotator_id")
            demographics = _optional(obj, "demographics", dict, "demographics")
            conv_id = conversation_id(prompt_id)
            if not self._conversation_exists(conv_id):
                raise BadRow(f"assessment of unknown conversation {prompt_id!r}")
            # The convenience fields of a merged line are kept with the assessment.
            assessment = {k: v for k, v in obj.items() if k not in ("prompt_id", "demographics")}
            pending = self._build_assessment(assessment, prompt_id, annotator, conv_id, number)
        except BadRow as exc:
            self.quarantine.add(self.file, number, str(exc), raw)
            return
        self._add_participant(annotator, demographics, {}, number)
        self._add(self._assessments, pending[0][0], pending)

    def _conversation_exists(self, conv_id: str) -> bool:
        known = self._known_conversations.get(conv_id)
        if known is None:
            known = self.conn.execute("SELECT 1 FROM conversations WHERE id = ?", (conv_id,)).fetchone() is not None
            if len(self._known_conversations) >= _CACHE_LIMIT:
                self._known_conversations.clear()
            self._known_conversations[conv_id] = known
        return known

    # ---- building rows ---------------------------------------------------------------------

    def _add_participant(self, annotator: str, demographics: dict[str, Any], extra: dict[str, Any], number: int) -> None:
        pid = participant_id(annotator)
        demographics_json = dumps(demographics)
        digest = _text_hash(demographics_json)
        row = (pid, SOURCE, annotator, demographics_json, dumps(extra), self.created, digest)
        waiting = self._participants.get(pid)
        if waiting is not None and waiting[1] == digest and not extra:
            self.tally.count("unchanged", "participants")
            return
        self._add(self._participants, pid, (row, digest, extra, self.file, number, demographics))

    def _build_assessment(
        self, a: dict[str, Any], prompt_id: str, annotator: str, conv_id: str, number: int
    ) -> _Pending:
        """Validate one assessment and return its pending rows (assessment and justifications).

        Justification ids are computed only when the assessment turns out to be new (``_write``):
        most copies read from a second file are already stored.

        Raises:
            BadRow: a field has the wrong type, or a ranking is not a permutation of A–D.
        """
        extra: dict[str, Any] = {}
        if a.keys() - _ASSESSMENT_KNOWN:
            extra = {k: v for k, v in a.items() if k not in _ASSESSMENT_KNOWN}
        # The references are kept only when they say something the ids do not.
        for ref_key in ("conversation_id", "prompt_id"):
            ref = a.get(ref_key)
            if ref is not None and ref != prompt_id and _id_value(ref) != prompt_id:
                extra[ref_key] = ref
        importance = a.get("importance")
        representativeness = a.get("representativeness")
        subjectivity = a.get("subjectivity")
        for name, value in (("importance", importance), ("representativeness", representativeness),
                            ("subjectivity", subjectivity)):
            if value is not None and type(value) is not str:
                raise BadRow(f"{name} is not text")
        blocks = a.get("ranking_blocks")
        if blocks is None:
            blocks = {}
        elif type(blocks) is not dict:
            raise BadRow("ranking_blocks is not an object")
        entries_out: list[tuple[Any, ...]] = []
        personal = world = None
        unacceptable = "[]"
        other_blocks = {}
        normalise_ranking = self.rankings.normalise
        for block, entries in blocks.items():
            if block not in _BLOCKS:
                other_blocks[block] = entries
                continue
            if entries is None:
                continue
            if type(entries) is not list:
                raise BadRow(f"ranking_blocks.{block} is not a list")
            for position, entry in enumerate(entries):
                if type(entry) is not dict:
                    raise BadRow(f"ranking_blocks.{block}[{position}] is not an object")
                if block == UNACCEPTABLE:
                    rating = entry.get("rating")
                    if type(rating) is not list or not all(type(r) is str for r in rating):
                        raise BadRow(f"ranking_blocks.{block}[{position}]: the rating is missing or not a list of text")
                    ranking = dumps(rating)
                    if position == 0:
                        unacceptable = ranking
                else:
                    ranking = normalise_ranking(entry.get("ranking"), block, position)
                    if position == 0:
                        if block == "world":
                            world = ranking
                        else:
                            personal = ranking
                rationale = entry.get("rationale")
                if rationale is None:
                    rationale = ""
                elif type(rationale) is not str:
                    raise BadRow(f"ranking_blocks.{block}[{position}]: the rationale is not text")
                language = None
                entry_extra = "{}"
                known = _UNACCEPTABLE_ENTRY if block == UNACCEPTABLE else _RANKED_ENTRY
                if entry.keys() - known:
                    rest = {k: v for k, v in entry.items() if k not in known and k != "language"}
                    language = entry.get("language")
                    if "language" in entry and type(language) is not str:
                        rest["language"] = language
                        language = None
                    if rest:
                        entry_extra = json.dumps(rest, ensure_ascii=False, sort_keys=True)
                entries_out.append((block, position, ranking, rationale, language, entry_extra))
        if other_blocks:
            extra["ranking_blocks"] = other_blocks
        # The hash covers the normalised content (what the columns and justifications hold), so
        # two copies that differ only in how a ranking is written ("B=A" for "A=B") are equal.
        parts = [importance or "\x00", representativeness or "\x00", subjectivity or "\x00"]
        for e in entries_out:
            parts += (e[0], e[2], e[3], e[4] or "\x00", e[5])
        digest = _text_hash("\x1e".join(parts))
        pid = self._participant_ids.get(annotator)
        if pid is None:
            if len(self._participant_ids) >= _CACHE_LIMIT:
                self._participant_ids.clear()
            pid = self._participant_ids[annotator] = participant_id(annotator)
        row = (
            assessment_id(prompt_id, annotator), conv_id, pid, importance, representativeness,
            subjectivity, personal, world, unacceptable, dumps(extra) if extra else "{}",
            self.created, digest,
        )
        return (row, digest, extra, self.file, number, (prompt_id, annotator, entries_out, blocks))

    def _add(self, pending: dict[str, _Pending], key: str, item: _Pending) -> None:
        if key in pending:
            # The same row twice before it is written: write the first, then compare the second.
            self.flush()
        pending[key] = item
        if len(self._assessments) + len(self._conversations) + len(self._participants) >= BATCH_ROWS:
            self.flush()

    # ---- writing ---------------------------------------------------------------------------

    def flush(self) -> None:
        """Write every pending row: conversations, participants, then assessments."""
        if self._conversations:
            self._write("conversations", self._conversations, self._conversation_differs)
        if self._participants:
            self._write("participants", self._participants, self._participant_differs)
        if self._stubs:
            cursor = self.conn.executemany(self._insert["stubs"], list(self._stubs.values()))
            self.tally.count("added", "participants", max(cursor.rowcount, 0))
            self._stubs.clear()
        if self._assessments:
            self._write("assessments", self._assessments, self._assessment_differs)
        self.quarantine.flush()

    def _write(
        self,
        kind: str,
        pending: dict[str, _Pending],
        differs: Callable[[str, _Pending], dict[str, Any]],
    ) -> None:
        ids = list(pending)
        marks = ",".join("?" * len(ids))
        stored = {
            row[0]: (row[1], row[2], row[3])
            for row in self.conn.execute(
                f"SELECT id, content_hash, extra, import_id FROM {kind} WHERE id IN ({marks})", ids
            )
        }
        new_rows = []
        new_justifications: list[tuple[Any, ...]] = []
        for key, item in pending.items():
            found = stored.get(key)
            if found is None:
                new_rows.append(item[0])
                if kind == "assessments":
                    new_justifications.extend(self._justification_rows(item))
                continue
            stored_hash, stored_extra, owner = found
            if stored_hash == item[1] and not item[2]:
                self.tally.count("unchanged", kind)
                if kind == "assessments":
                    self.tally.count("unchanged", "justifications", len(item[5][2]))
            elif stored_hash is None and kind == "participants":
                self._complete_stub(item, stored_extra)
                note_rewrite(self.rewrote, owner, kind, self.import_id)
            elif self._reconcile(kind, key, item, stored_hash, stored_extra, differs):
                note_rewrite(self.rewrote, owner, kind, self.import_id)
        if new_rows:
            self.conn.executemany(self._insert[kind], new_rows)
            self.tally.count("added", kind, len(new_rows))
        if new_justifications:
            self.conn.executemany(self._insert["justifications"], new_justifications)
            self.tally.count("added", "justifications", len(new_justifications))
        pending.clear()

    def _justification_rows(self, item: _Pending) -> list[tuple[Any, ...]]:
        """Return the justification rows of a new assessment."""
        aid = item[0][0]
        prompt_id, annotator, entries, _blocks = item[5]
        created = self.created
        return [
            (justification_id(prompt_id, annotator, block, position), aid, block, position, ranking,
             text, language, created, entry_extra)
            for block, position, ranking, text, language, entry_extra in entries
        ]

    def _complete_stub(self, item: _Pending, stored_extra: str) -> None:
        """Fill in a participant that comparisons.jsonl named before its annotator record came."""
        row, digest, extra = item[0], item[1], item[2]
        merged = {**extra, **json.loads(stored_extra)}
        self.conn.execute(
            "UPDATE participants SET demographics = ?, extra = ?, content_hash = ?, import_id = ? WHERE id = ?",
            (row[3], dumps(merged), digest, self.import_id, row[0]),
        )
        self.tally.count("updated", "participants")

    def _reconcile(
        self,
        kind: str,
        key: str,
        item: _Pending,
        stored_hash: str | None,
        stored_extra_text: str,
        differs: Callable[[str, _Pending], dict[str, Any]],
    ) -> bool:
        """Merge a second copy of a stored row: keep the first, add missing keys, record differences.

        Returns:
            Whether the stored row was rewritten (its ``extra``; the row then names this import).
        """
        incoming_hash, incoming_extra = item[1], item[2]
        found = differs(key, item) if stored_hash != incoming_hash else {}
        stored_extra = json.loads(stored_extra_text)
        changed = False
        for name, value in incoming_extra.items():
            if name == CONFLICTS_KEY:
                continue
            if name not in stored_extra:
                stored_extra[name] = value
                changed = True
            elif stored_extra[name] != value:
                found[name] = value
        if found:
            records = stored_extra.setdefault(CONFLICTS_KEY, [])
            if not any(r.get("differs") == found for r in records):
                records.append({"file": os.path.basename(item[3]), "line": item[4], "differs": found})
                changed = True
            self.tally.count("conflicts", kind)
        elif changed:
            self.tally.count("updated", kind)
        else:
            self.tally.count("unchanged", kind)
            if kind == "assessments":
                self.tally.count("unchanged", "justifications", len(item[5][2]))
        if changed:
            self.conn.execute(
                f"UPDATE {kind} SET extra = ?, import_id = ? WHERE id = ?", (dumps(stored_extra), self.import_id, key)
            )
        return changed

    def _conversation_differs(self, key: str, item: _Pending) -> dict[str, Any]:
        row = self.conn.execute("SELECT prompt, responses FROM conversations WHERE id = ?", (key,)).fetchone()
        core = item[5]
        found = {}
        if json.loads(row[0]) != core["prompt"]:
            found["prompt"] = core["prompt"]
        if json.loads(row[1]) != core["responses"]:
            found["responses"] = core["responses"]
        return found

    def _participant_differs(self, key: str, item: _Pending) -> dict[str, Any]:
        row = self.conn.execute("SELECT demographics FROM participants WHERE id = ?", (key,)).fetchone()
        return {} if json.loads(row[0]) == item[5] else {"demographics": item[5]}

    def _assessment_differs(self, key: str, item: _Pending) -> dict[str, Any]:
        row = self.conn.execute(
            "SELECT importance, representativeness, subjectivity FROM assessments WHERE id = ?", (key,)
        ).fetchone()
        incoming = item[0]
        found: dict[str, Any] = {}
        for index, name in enumerate(("importance", "representativeness", "subjectivity")):
            if row[index] != incoming[3 + index]:
                found[name] = incoming[3 + index]
        # Compare the ranking blocks entry by entry (rankings in normalised form).
        stored: dict[str, list[tuple[Any, ...]]] = {}
        for j in self.conn.execute(
            "SELECT block, position, ranking, text, language, extra FROM justifications"
            " WHERE assessment_id = ? ORDER BY block, position",
            (key,),
        ):
            stored.setdefault(j[0], []).append(tuple(j[1:]))
        new: dict[str, list[tuple[Any, ...]]] = {}
        _prompt_id, _annotator, entries, blocks = item[5]
        for block, position, ranking, text, language, entry_extra in entries:
            new.setdefault(block, []).append((position, ranking, text, language, entry_extra))
        for block in sorted(set(stored) | set(new)):
            if stored.get(block, []) != new.get(block, []):
                found[f"ranking_blocks.{block}"] = blocks.get(block)
        return found


def import_ca1(
    store: Store,
    paths: Sequence[str | os.PathLike[str]],
    *,
    strict: bool = False,
    progress: Progress | None = None,
    actor: str = APP_ACTOR,
    replay: Replay | None = None,
) -> ImportSummary:
    """Import CA-1 files (comparisons, annotators, merged; any of them, in any order).

    Args:
        store: the workspace database.
        paths: the JSONL files.
        strict: fail the whole import on the first bad row instead of quarantining it.
        progress: receives the bytes read; raising ``Cancelled`` from ``tick`` rolls back.
        actor: who imports, for the audit event.
        replay: an import received from another machine, run again from its files (no event is written).

    Returns:
        What was added, unchanged, updated, in conflict and quarantined, per kind.

    Raises:
        KnownError: a file is missing or unreadable, cannot be recognised, or (strict mode) holds a
            bad row. Nothing is written then.
        Cancelled: the progress object asked to stop. Nothing is written then.
    """
    progress = progress or NoProgress()
    files = check_input_files(paths)
    kinds = {path: detect_kind(path) for path in files}
    # Comparisons first: they hold the conversations the other files refer to.
    order = sorted(files, key=lambda p: ("comparisons", "empty", "annotators", "merged").index(kinds[p]))
    import_id = replay.import_id if replay else new_id()
    total = sum(p.stat().st_size for p in files)
    progress.start(total, f"Importing {len(files)} CA-1 file{'s' if len(files) != 1 else ''}")
    try:
        with import_transaction(store, "importing CA-1 data"):
            run = _Ca1Import(store, strict=strict, progress=progress, import_id=import_id,
                             created_at=replay.created_at if replay else None)
            read = [run.run_file(path, kinds[path]) for path in order]
            summary = finish_import(
                store, source=SOURCE, action="import.ca1", actor=actor, import_id=import_id, files=read,
                tally=run.tally, quarantine=run.quarantine, strict=strict, rewrote=run.rewrote,
                created_at=run.created, replay=replay,
            )
    finally:
        progress.finish()
    return summary
