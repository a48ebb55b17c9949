"""Full-text search over the crowd's words: conversation prompts, responses and justifications.

The index is derived data, a cache: an SQLite FTS5 database of its own (``search.db`` beside the
workspace's ``reviewer.db``; in the cache folder when the workspace cannot be written), never
part of the record, the audit log or the log ref. Deleting it loses nothing.

**Keeping it correct.** The index is brought up to date lazily, by the search that needs it,
from a fingerprint of the crowd tables it reads (conversations, justifications): each table's
highest rowid and the id stored at that rowid. Those tables are append-only: imports add rows and
never update or delete them (a cancelled import rolls back), a sync never touches them
(``sync._apply_in_place`` replaces only the tables events change), and a rebuild or a join writes
a new database. So a grown table is indexed by appending its rows past the last one indexed (the
row indexed last must still be there under the same id); anything else (another database at the
same path, a version of the index this code does not read) rebuilds the index whole. Checking
costs two index lookups per table, well under a millisecond. Triggers on the crowd tables would
have kept it in step too, but would put the index inside the record's database, slow every import
(a million-assessment import is benchmarked) and need a migration; a cache beside it costs a
search after an import one pass over the new rows.

**Queries.** What a person types is never handed to FTS5 as syntax: words and "quoted phrases" are
turned into quoted FTS5 strings (all must occur, in any order; the last word typed matches as a
prefix), so quotes, ``AND``/``OR``/``NOT``, ``NEAR``, ``*``, ``:``, ``^`` or brackets can never raise
a syntax error. Text in scripts written without spaces (Chinese, Japanese, Korean) is indexed
character by character and searched as a phrase, so a word inside a longer run is found.

**Order.** When at most ``RANK_LIMIT`` entries match, hits come by relevance (FTS5's BM25); past
that (a word nearly every justification holds), ranking them all would cost more than the search
is allowed (``benchmarks/bench_search.py``), so the first hits in index order are returned and the
result says that more matched: add words to narrow it.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import re
import sqlite3
import time
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewer.errors import KnownError

if TYPE_CHECKING:
    from reviewer.store import Store
    from reviewer.workspace import Workspace

INDEX_FILE = "search.db"
INDEX_VERSION = "1"
RANK_LIMIT = 2000
"""Up to this many matching entries are ranked by relevance; past it, index order."""
DEFAULT_LIMIT = 50
MAX_TERMS = 16
KINDS = ("conversation", "justification")
_ENTRY_KINDS = {"conversation": ("prompt", "response"), "justification": ("justification",)}
_SOURCES = ("conversations", "justifications")
_SNIPPET_CHARS = 220
_SNIPPET_BEFORE = 60
_BATCH = 5000

# Scripts written without spaces between words: indexed and searched one character at a time.
_CJK = "\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\uff66-\uff9f"
_CJK_CHAR = re.compile(f"[{_CJK}]")
_ZWSP = "\u200b"  # a separator for FTS5's unicode61 tokenizer (category Cf), invisible when shown
_QUERY_PART = re.compile(r'"([^"]*)"?|([^\s"]+)')
# Combining marks inside words (Latin diacritics, Hebrew and Arabic points, the Indic, Thai and Lao
# blocks whole): without them a word of Hindi would break at every vowel sign.
_MARKS = "\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0900-\u0eff"
_WORD = re.compile(f"[{_CJK}]|(?:(?![{_CJK}])[^\\W_]|[{_MARKS}])+")


@dataclass(frozen=True)
class SearchHit:
    """One conversation or justification whose words match.

    Attributes:
        kind: ``conversation`` or ``justification``.
        id: the conversation's or the justification's id (what a proposal links).
        field: where the words were found: ``prompt``, ``response A``…, or the justification's
            block (``personal``, ``world``, ``unacceptable``, ``statement``).
        conversation_id: the conversation (None for a Pol.is statement).
        prompt_id: the conversation's id in its source data (``proposal add --link`` takes it).
        annotator_id: the participant's id in the source data (justifications only).
        snippet: the text around the first match (untrusted crowd text), on one line.
        highlights: ``(start, end)`` of each matched word or phrase in ``snippet``.
    """

    kind: str
    id: str
    field: str
    conversation_id: str | None
    prompt_id: str | None
    annotator_id: str | None
    snippet: str
    highlights: tuple[tuple[int, int], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The hit as a JSON object (highlights as ``[start, end]`` pairs)."""
        return {
            "kind": self.kind, "id": self.id, "field": self.field, "conversation_id": self.conversation_id,
            "prompt_id": self.prompt_id, "annotator_id": self.annotator_id, "snippet": self.snippet,
            "highlights": [list(span) for span in self.highlights],
        }


@dataclass(frozen=True)
class IndexUpdate:
    """What a search had to do to the index first.

    Attributes:
        action: ``fresh`` (nothing), ``appended`` (new crowd rows indexed) or ``built`` (indexed whole).
        entries: entries written.
        seconds: time spent.
    """

    action: str
    entries: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class SearchResult:
    """The hits of one query.

    Attributes:
        query: what was typed.
        fts_query: the FTS5 query it became ("" when it holds no word).
        hits: the hits, best first (or in index order when ``ranked`` is False).
        matches: entries that matched, counted up to ``RANK_LIMIT + 1``.
        more: more than ``RANK_LIMIT`` entries matched (so ``matches`` is a floor, and not ranked).
        ranked: the hits are ordered by relevance.
        index: what the search did to the index first.
        seconds: the whole search, index update included.
    """

    query: str
    fts_query: str
    hits: tuple[SearchHit, ...]
    matches: int = 0
    more: bool = False
    ranked: bool = True
    index: IndexUpdate = field(default_factory=lambda: IndexUpdate("fresh"))
    seconds: float = 0.0

    def describe(self) -> str:
        """One line: how many matched, and in which order they come."""
        if not self.fts_query:
            return "Type words to search prompts, responses and justifications."
        if not self.hits:
            return f"Nothing matches {self.query.strip()!r}."
        shown = f"{len(self.hits)} shown"
        if self.more:
            return (f"More than {RANK_LIMIT:,} entries match; {shown}, in the order they were imported. "
                    "Add words to narrow the search.")
        return f"{self.matches:,} entr{'y' if self.matches == 1 else 'ies'} match; {shown}, best first."

    def to_json(self) -> dict[str, Any]:
        """The result as a JSON object."""
        return {
            "query": self.query, "fts_query": self.fts_query, "matches": self.matches, "more": self.more,
            "ranked": self.ranked, "index": {"action": self.index.action, "entries": self.index.entries,
                                             "seconds": round(self.index.seconds, 4)},
            "seconds": round(self.seconds, 4), "hits": [h.to_json() for h in self.hits],
        }


# ---- words ------------------------------------------------------------------------------------------


def _fold(word: str) -> str:
    """Case and diacritics folded, as FTS5's ``unicode61 remove_diacritics 2`` compares words."""
    if word.isascii():
        return word.lower()
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _word_spans(text: str) -> list[tuple[int, int]]:
    """The ``(start, end)`` of each word of ``text``: runs of letters, digits and marks; CJK one character each."""
    return [m.span() for m in _WORD.finditer(text)]


@dataclass(frozen=True)
class _Term:
    words: tuple[str, ...]  # folded
    prefix: bool


def parse_query(text: str) -> list[_Term]:
    """Split what a person typed into terms: each word, or each "quoted phrase" (unclosed quotes too).

    The last word typed (outside quotes, not followed by a space, not a CJK character) is a prefix.
    Punctuation separates words, so ``don't`` is the phrase ``don t``, as the index holds it.
    """
    terms: list[_Term] = []
    parts = list(_QUERY_PART.finditer(text))
    for n, part in enumerate(parts):
        phrase, bare = part.group(1), part.group(2)
        piece = phrase if phrase is not None else bare
        words = tuple(_fold(piece[s:e]) for s, e in _word_spans(piece))
        words = tuple(w for w in words if w)
        if not words:
            continue
        last = n == len(parts) - 1
        # A one-letter prefix would expand to most of the vocabulary: it is searched as a word.
        prefix = (bare is not None and last and part.end() == len(text) and len(words[-1]) > 1
                  and not _CJK_CHAR.match(words[-1][-1]))
        terms.append(_Term(words, prefix))
    return terms[:MAX_TERMS]


def fts_query(text: str) -> str:
    """Return the FTS5 query for what a person typed ("" when it holds no word).

    Every term is a quoted FTS5 string built from the words alone, so nothing typed is read as FTS5
    syntax.
    """
    out = []
    for term in parse_query(text):
        quoted = '"' + " ".join(term.words).replace('"', '""') + '"'
        out.append(quoted + ("*" if term.prefix else ""))
    return " ".join(out)


class _IndexTable(dict[int, str]):
    """``str.translate`` table setting each CJK character apart by invisible separators, filled as characters are met."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        value = f"{_ZWSP}{char}{_ZWSP}" if _CJK_CHAR.match(char) else " " if char == _ZWSP else char
        self[code] = value
        return value


_INDEX_TABLE = _IndexTable()


def _index_text(text: str) -> str:
    """``text`` as indexed: each CJK character a word of its own (the separators are taken out when shown)."""
    return text if text.isascii() else text.translate(_INDEX_TABLE)


class _FoldTable(dict[int, str]):
    """``str.translate`` table folding one character to one character (so offsets stay), filled as characters are met."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        folded = _fold(char)
        value = folded if len(folded) == 1 else (char.lower() if len(char.lower()) == 1 else char)
        self[code] = value
        return value


_FOLD_TABLE = _FoldTable()


def _term_pattern(term: _Term) -> str:
    # Words as the index splits them: anything but letters and digits may stand between them.
    pieces = []
    for n, word in enumerate(term.words):
        if n:
            pieces.append(r"[\W_]*")
        pieces.append(re.escape(word))
    cjk_start, cjk_end = _CJK_CHAR.match(term.words[0][0]), _CJK_CHAR.match(term.words[-1][-1])
    before = "" if cjk_start else r"(?<![^\W_])"
    after = "" if term.prefix or cjk_end else r"(?![^\W_])"
    return before + "".join(pieces) + after


def highlight(text: str, terms: Sequence[_Term], *, until: int | None = None) -> list[tuple[int, int]]:
    """Return where the terms occur in ``text`` (case and diacritics folded), in order.

    ``until``: stop at the first match that starts this many characters past the first one (a
    snippet needs no more).
    """
    if not terms:
        return []
    pattern = re.compile("|".join(f"(?:{_term_pattern(t)})" for t in terms))
    found: list[tuple[int, int]] = []
    for match in pattern.finditer(text.translate(_FOLD_TABLE)):
        if found and until is not None and match.start() > found[0][0] + until:
            break
        if match.end() > match.start():
            found.append(match.span())
    return found


def snippet(text: str, terms: Sequence[_Term]) -> tuple[str, tuple[tuple[int, int], ...]]:
    """Return the text around the first match, on one line, and where the matches are in it."""
    spans = highlight(text, terms, until=_SNIPPET_CHARS)
    start = 0
    if spans and spans[0][0] > _SNIPPET_BEFORE:
        start = spans[0][0] - _SNIPPET_BEFORE
        while start < spans[0][0] and not text[start - 1].isspace():
            start += 1
    end = min(len(text), start + _SNIPPET_CHARS)
    if end < len(text):
        cut = text.rfind(" ", start, end)
        if cut > start + _SNIPPET_CHARS // 2:
            end = cut
    lead = "…" if start > 0 else ""
    piece = lead + re.sub(r"\s", " ", text[start:end]) + ("…" if end < len(text) else "")
    shift = len(lead) - start
    inside = tuple((s + shift, e + shift) for s, e in spans if s >= start and e <= end)
    return piece, inside


# ---- the index --------------------------------------------------------------------------------------


def index_path(workspace: Workspace) -> Path:
    """Where the workspace's index lives: beside its database, or in the cache folder when that is read-only."""
    from reviewer.paths import cache_dir

    root = workspace.root
    if os.access(root, os.W_OK) and not workspace.store.read_only:
        return root / INDEX_FILE
    digest = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
    return cache_dir() / "search" / f"{digest}.db"


def _fingerprint(conn: sqlite3.Connection) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for table in _SOURCES:
        row = conn.execute(f"SELECT rowid, id FROM {table} ORDER BY rowid DESC LIMIT 1").fetchone()
        out[table] = [int(row[0]), str(row[1])] if row else [0, None]
    return out


@contextlib.contextmanager
def _open_index(path: Path) -> Iterator[sqlite3.Connection]:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    except (OSError, sqlite3.Error) as exc:
        raise KnownError(f"Cannot open the search index {path}: {exc}.") from exc
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        yield conn
    except sqlite3.DatabaseError as exc:
        if "fts5" in str(exc).lower() and "no such module" in str(exc).lower():
            raise KnownError("Full-text search needs SQLite's FTS5, which this Python's sqlite3 lacks.",
                             hint="Use a Python built with FTS5 (python.org and Debian builds have it).") from exc
        raise KnownError(f"The search index {path} failed: {exc}.", hint="Delete the file; it is rebuilt.") from exc
    finally:
        conn.close()


def _create(conn: sqlite3.Connection) -> None:
    conn.execute("DROP TABLE IF EXISTS entries")
    conn.execute("DROP TABLE IF EXISTS meta")
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute(
        "CREATE VIRTUAL TABLE entries USING fts5(body, kind UNINDEXED, ref UNINDEXED, detail UNINDEXED,"
        " tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')"
    )


def _meta(conn: sqlite3.Connection) -> dict[str, str]:
    try:
        return dict(conn.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.OperationalError:  # a new file
        return {}


def _conversation_entries(rows: Iterable[tuple[str, str, str]]) -> Iterator[tuple[str, str, str, str | None]]:
    from reviewer.judges.data import prompt_messages, response_messages

    for conversation_id, prompt, responses in rows:
        text = "\n".join(t for _role, t in prompt_messages(prompt))
        if text.strip():
            yield _index_text(text), "prompt", conversation_id, None
        for letter, messages in response_messages(responses).items():
            text = "\n".join(t for _role, t in messages)
            if text.strip():
                yield _index_text(text), "response", conversation_id, letter


def _justification_entries(rows: Iterable[tuple[str, str, str]]) -> Iterator[tuple[str, str, str, str | None]]:
    for justification_id, text, block in rows:
        if text and text.strip():
            yield _index_text(text), "justification", justification_id, block


def _add(conn: sqlite3.Connection, source: sqlite3.Connection, after: dict[str, int]) -> int:
    """Index every crowd row past ``after[table]``'s rowid; returns the entries written."""
    written = 0
    queries = {
        "conversations": ("SELECT id, prompt, responses FROM conversations WHERE rowid > ? ORDER BY rowid",
                          _conversation_entries),
        "justifications": ("SELECT id, text, block FROM justifications WHERE rowid > ? ORDER BY rowid",
                           _justification_entries),
    }
    for table in _SOURCES:
        sql, entries = queries[table]
        cursor = source.execute(sql, [after.get(table, 0)])
        while batch := cursor.fetchmany(_BATCH):
            rows = list(entries(batch))
            conn.executemany("INSERT INTO entries (body, kind, ref, detail) VALUES (?, ?, ?, ?)", rows)
            written += len(rows)
    return written


def update_index(store: Store | sqlite3.Connection, path: Path) -> IndexUpdate:
    """Bring the index at ``path`` up to date with the store's crowd tables (see the module's docstring).

    ``store`` may be a (read-only) connection to the workspace's database: the index is a file of its own.
    """
    from reviewer.store import connection_of

    started = time.perf_counter()
    source = connection_of(store)
    now = _fingerprint(source)
    with _open_index(path) as conn:
        if _current(_meta(conn), now):
            return IndexUpdate("fresh", 0, time.perf_counter() - started)
        conn.execute("BEGIN IMMEDIATE")
        try:
            meta = _meta(conn)  # again, under the write lock: another process may have just updated it
            stored = json.loads(meta.get("fingerprint", "null"))
            if _current(meta, now):
                conn.execute("COMMIT")
                return IndexUpdate("fresh", 0, time.perf_counter() - started)
            after = _appendable(source, meta, stored)
            if after is None:
                _create(conn)
                after, action = {}, "built"
            else:
                action = "appended"
            written = _add(conn, source, after)
            conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                             [("version", INDEX_VERSION), ("fingerprint", json.dumps(now))])
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        if action == "built":
            conn.execute("INSERT INTO entries (entries) VALUES ('optimize')")
    return IndexUpdate(action, written, time.perf_counter() - started)


def _current(meta: dict[str, str], now: dict[str, list[Any]]) -> bool:
    return meta.get("version") == INDEX_VERSION and meta.get("fingerprint") == json.dumps(now)


def _appendable(source: sqlite3.Connection, meta: dict[str, str], stored: Any) -> dict[str, int] | None:
    """The rowid to index each table after, when the stored index is this one's past; None: build it whole."""
    if meta.get("version") != INDEX_VERSION or not isinstance(stored, dict):
        return None
    after = {}
    for table in _SOURCES:
        mark = stored.get(table)
        if not (isinstance(mark, list) and len(mark) == 2 and isinstance(mark[0], int)):
            return None
        rowid, row_id = mark
        if rowid:
            row = source.execute(f"SELECT id FROM {table} WHERE rowid = ?", [rowid]).fetchone()
            if row is None or row[0] != row_id:
                return None  # not the rows indexed before: another database, or rows taken away
        after[table] = rowid
    return after


# ---- searching --------------------------------------------------------------------------------------


def search(store: Store, query: str, *, index: Path, limit: int = DEFAULT_LIMIT,
           kinds: Sequence[str] | None = None) -> SearchResult:
    """Search prompts, responses and justifications for ``query`` (see the module's docstring).

    Args:
        store: the workspace's store (its crowd tables are what is searched).
        query: what a person typed.
        index: the index file (``index_path``); brought up to date first.
        limit: at most this many hits (a conversation counts once, however many of its texts match).
        kinds: only ``conversation`` or ``justification`` hits (default: both).

    Raises:
        KnownError: a limit below 1, an unknown kind, or an index that cannot be used.
    """
    started = time.perf_counter()
    if limit < 1:
        raise KnownError("The search limit must be at least 1.")
    wanted = tuple(kinds or KINDS)
    unknown = [k for k in wanted if k not in KINDS]
    if unknown:
        raise KnownError(f"Unknown kind {unknown[0]!r}.", hint=f"Use one of: {', '.join(KINDS)}.")
    match = fts_query(query)
    if not match:
        return SearchResult(query, "", ())
    terms = parse_query(query)
    update = update_index(store, index)
    entry_kinds = [k for kind in wanted for k in _ENTRY_KINDS[kind]]
    where, params = "entries MATCH ?", [match]
    if set(wanted) != set(KINDS):  # reading the kind of every match costs (twice the time for a common word)
        where += f" AND kind IN ({', '.join('?' * len(entry_kinds))})"
        params += entry_kinds
    with _open_index(index) as conn:
        # One pass: up to RANK_LIMIT + 1 matches with their BM25 score (a count and a ranked query
        # would each match the words again, twice the time for a phrase of common words).
        rows = conn.execute(f"SELECT rowid, kind, ref, detail, rank FROM entries WHERE {where} LIMIT {RANK_LIMIT + 1}",
                            params).fetchall()
        matches, more = len(rows), len(rows) > RANK_LIMIT
        if not more:
            rows.sort(key=lambda r: (r[4], r[0]))
        entries: Iterable[tuple[int, str, str, str | None]] = (r[:4] for r in rows)
        if more:  # in index order: read on past the first rows while conversations repeat
            entries = itertools.chain(entries, conn.execute(
                f"SELECT rowid, kind, ref, detail FROM entries WHERE {where} AND rowid > ?", [*params, rows[-1][0]]))
        chosen: list[tuple[int, str, str, str | None]] = []
        seen: set[str] = set()
        for rowid, kind, ref, detail in entries:
            key = ("c:" if kind != "justification" else "j:") + ref
            if key in seen:
                continue
            seen.add(key)
            chosen.append((rowid, kind, ref, detail))
            if len(chosen) >= limit:
                break
        bodies = dict(conn.execute(
            f"SELECT rowid, body FROM entries WHERE rowid IN ({', '.join('?' * len(chosen))})",
            [c[0] for c in chosen]).fetchall()) if chosen else {}
    hits = _hits(store, chosen, bodies, terms)
    return SearchResult(query, match, tuple(hits), matches=matches, more=more, ranked=not more,
                        index=update, seconds=time.perf_counter() - started)


def _hits(store: Store, chosen: Sequence[tuple[int, str, str, str | None]], bodies: dict[int, str],
          terms: Sequence[_Term]) -> list[SearchHit]:
    conversation_ids = sorted({ref for _r, kind, ref, _d in chosen if kind != "justification"})
    justification_ids = sorted({ref for _r, kind, ref, _d in chosen if kind == "justification"})
    prompts: dict[str, str] = {}
    for start in range(0, len(conversation_ids), 500):
        part = conversation_ids[start:start + 500]
        prompts.update(store.db.execute(
            f"SELECT id, source_id FROM conversations WHERE id IN ({', '.join('?' * len(part))})", part).fetchall())
    owners: dict[str, tuple[str | None, str | None, str | None]] = {}
    for start in range(0, len(justification_ids), 500):
        part = justification_ids[start:start + 500]
        for jid, conversation_id, prompt_id, annotator_id in store.db.execute(
            "SELECT j.id, c.id, c.source_id, p.source_id FROM justifications j"
            " LEFT JOIN assessments a ON a.id = j.assessment_id"
            " LEFT JOIN conversations c ON c.id = a.conversation_id"
            " LEFT JOIN participants p ON p.id = a.participant_id"
            f" WHERE j.id IN ({', '.join('?' * len(part))})", part,
        ):
            owners[jid] = (conversation_id, prompt_id, annotator_id)
    hits = []
    for rowid, kind, ref, detail in chosen:
        text, spans = snippet(bodies.get(rowid, "").replace(_ZWSP, ""), terms)
        if kind == "justification":
            conversation_id, prompt_id, annotator_id = owners.get(ref, (None, None, None))
            hits.append(SearchHit("justification", ref, detail or "", conversation_id, prompt_id, annotator_id,
                                  text, spans))
        else:
            where = "prompt" if kind == "prompt" else f"response {detail}"
            hits.append(SearchHit("conversation", ref, where, ref, prompts.get(ref), None, text, spans))
    return hits


def search_workspace(workspace: Workspace, query: str, *, limit: int = DEFAULT_LIMIT,
                     kinds: Sequence[str] | None = None) -> SearchResult:
    """Search a workspace's crowd text (``search`` with the workspace's index)."""
    return search(workspace.store, query, index=index_path(workspace), limit=limit, kinds=kinds)


__all__ = [
    "DEFAULT_LIMIT", "INDEX_FILE", "KINDS", "RANK_LIMIT", "IndexUpdate", "SearchHit", "SearchResult", "fts_query",
    "highlight", "index_path", "parse_query", "search", "search_workspace", "snippet", "update_index",
]
