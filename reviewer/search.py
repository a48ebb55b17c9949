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

**What an entry is.** The index is contentless (FTS5 ``content=''``): it holds the words and their
places, not the texts, and an entry's rowid says where its text is. A justification's entry is
``JUSTIFICATION_BASE`` plus its ``justifications.rowid``; a conversation's texts are its rowid × 64
plus a slot (0 the prompt, 1… its responses in stored order). So a search reads the texts of the
few hits it shows from the crowd tables, telling kinds apart and counting a conversation once costs
no read at all, and the evidence triage joins a proposal's links to the matches by rowid
(``justification_rowids_sql``). This leans on the rule above once more: a crowd row keeps its
rowid (the tables are append-only, and ``VACUUM`` keeps rowids that have no gaps).

**Queries.** What a person types is never handed to FTS5 as syntax: words and "quoted phrases" are
turned into quoted FTS5 strings (all must occur, in any order; the last word typed matches as a
prefix), so quotes, ``AND``/``OR``/``NOT``, ``NEAR``, ``*``, ``:``, ``^`` or brackets can never raise
a syntax error. Text in scripts written without spaces (Chinese, Japanese, Korean) is indexed
character by character and searched as a phrase, so a word inside a longer run is found.

**Order and count.** A search first counts the matching entries, by rowid alone, up to
``RANK_LIMIT + 1``. When at most ``RANK_LIMIT`` match, hits come by relevance (FTS5's BM25); past
that (a word most of a million justifications hold), ranking would cost more than the search is
allowed (BM25 counts every entry holding each word: ``benchmarks/bench_search.py`` measures a
million justifications), so the first hits in index order (conversations, then justifications,
each in the order imported) are returned and the result says "more than ``RANK_LIMIT``" matched:
add words to narrow it. The count is a floor then, never an estimate.
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
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewer.errors import KnownError

if TYPE_CHECKING:
    from reviewer.store import Store
    from reviewer.workspace import Workspace

INDEX_FILE = "search.db"
INDEX_VERSION = "2"
RANK_LIMIT = 2000
"""Up to this many matching entries are ranked by relevance; past it, index order."""
DEFAULT_LIMIT = 50
MAX_TERMS = 16
KINDS = ("conversation", "justification")
JUSTIFICATION_BASE = 1 << 40
"""An entry's rowid says what it is: a justification's is this plus its ``justifications.rowid``."""
_EXPAND = 128
"""A typed prefix is searched as the words of the index it starts, when there are at most this many."""
_SLOTS = 64  # a conversation's entries: rowid × 64 + 0 for the prompt, + 1… for each response
_SOURCES = ("conversations", "justifications")
_TOKENIZE = "'unicode61 remove_diacritics 2'"
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
    return " ".join(_quote(term.words) + ("*" if term.prefix else "") for term in parse_query(text))


def _quote(words: Sequence[str]) -> str:
    return '"' + " ".join(words).replace('"', '""') + '"'


def expanded_query(conn: sqlite3.Connection, text: str, *, schema: str = "main") -> str:
    """Return the FTS5 query for what a person typed, its prefix spelled out as the words it starts.

    FTS5 answers ``"hone"*`` by merging the lists of every word starting ``hone`` into one before
    it returns a first row, a pass over most of the index for a common word; ``("honest" OR
    "honesta")``, the same matches, is read lazily, so a search that stops after a few thousand rows
    stops early. The words come from the index's ``terms`` table (``conn`` has the index as
    ``schema``). Prefixes of two or three letters, which FTS5 keeps a list for (``prefix = '2 3'``),
    and prefixes starting more than ``_EXPAND`` words stay prefixes.
    """
    out = []
    for term in parse_query(text):
        last = term.words[-1]
        if term.prefix and len(last) > 3:
            words = [r[0] for r in conn.execute(
                f"SELECT term FROM {schema}.terms WHERE term >= ? AND term < ? ORDER BY term LIMIT {_EXPAND + 1}",
                [last, last + "\U0010ffff"])]
            if 0 < len(words) <= _EXPAND:
                head = term.words[:-1]
                out.append("(" + " OR ".join(_quote((*head, word)) for word in words) + ")")
                continue
        out.append(_quote(term.words) + ("*" if term.prefix else ""))
    return " AND ".join(out)  # FTS5 reads no AND between a bracket and a phrase


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
    conn.execute("DROP TABLE IF EXISTS terms")
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    # Contentless: the texts stay in the crowd tables (an entry's rowid says where), so the index
    # holds only what matching and BM25 need.
    conn.execute(
        "CREATE VIRTUAL TABLE entries USING fts5(body, content = '',"
        f" tokenize = {_TOKENIZE}, prefix = '2 3')"
    )
    # Every word the index holds, for spelling out prefixes (``expanded_query``).
    conn.execute("CREATE TABLE terms (term TEXT PRIMARY KEY) WITHOUT ROWID")


def _meta(conn: sqlite3.Connection) -> dict[str, str]:
    try:
        return dict(conn.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.OperationalError:  # a new file
        return {}


def conversation_texts(prompt: str, responses: str) -> list[tuple[int, str, str | None, str]]:
    """The texts of a stored conversation as the index holds them: ``(slot, kind, letter, text)``.

    Slot 0 is the prompt (``kind`` ``prompt``, no letter), slots 1 to ``_SLOTS - 1`` its responses in
    stored order (``response`` and the letter); empty texts are left out.
    """
    from reviewer.judges.data import prompt_messages, response_messages

    out: list[tuple[int, str, str | None, str]] = []
    text = "\n".join(t for _role, t in prompt_messages(prompt))
    if text.strip():
        out.append((0, "prompt", None, text))
    for slot, (letter, messages) in enumerate(response_messages(responses).items(), start=1):
        if slot >= _SLOTS:
            break  # CA-1 stores four; a conversation with 63 responses is not one we import
        text = "\n".join(t for _role, t in messages)
        if text.strip():
            out.append((slot, "response", letter, text))
    return out


def _conversation_entries(rows: Iterable[tuple[int, str, str]]) -> Iterator[tuple[int, str]]:
    for rowid, prompt, responses in rows:
        for slot, _kind, _letter, text in conversation_texts(prompt, responses):
            yield rowid * _SLOTS + slot, _index_text(text)


def _justification_entries(rows: Iterable[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    for rowid, text in rows:
        if text and text.strip():
            yield JUSTIFICATION_BASE + rowid, _index_text(text)


def _add(conn: sqlite3.Connection, source: sqlite3.Connection, after: dict[str, int]) -> int:
    """Index every crowd row past ``after[table]``'s rowid and add its new words to ``terms``; returns the entries written.

    A whole build reads the words from the index itself; an append indexes the new rows a second
    time, in a temporary index of their own, to read theirs.
    """
    fresh = bool(after)
    if fresh:
        conn.execute(f"CREATE VIRTUAL TABLE temp.fresh USING fts5(body, content = '', tokenize = {_TOKENIZE})")
    written = 0
    queries: dict[str, tuple[str, Callable[[Iterable[Any]], Iterator[tuple[int, str]]]]] = {
        "conversations": ("SELECT rowid, prompt, responses FROM conversations WHERE rowid > ? ORDER BY rowid",
                          _conversation_entries),
        "justifications": ("SELECT rowid, text FROM justifications WHERE rowid > ? ORDER BY rowid",
                           _justification_entries),
    }
    for table in _SOURCES:
        sql, entries = queries[table]
        cursor = source.execute(sql, [after.get(table, 0)])
        while batch := cursor.fetchmany(_BATCH):
            rows = list(entries(batch))
            conn.executemany("INSERT INTO entries (rowid, body) VALUES (?, ?)", rows)
            if fresh:
                conn.executemany("INSERT INTO temp.fresh (rowid, body) VALUES (?, ?)", rows)
            written += len(rows)
    vocab = "temp, fresh" if fresh else "main, entries"
    conn.execute(f"CREATE VIRTUAL TABLE temp.vocab USING fts5vocab({vocab}, row)")
    conn.execute("INSERT OR IGNORE INTO terms (term) SELECT term FROM temp.vocab")
    conn.execute("DROP TABLE temp.vocab")
    if fresh:
        conn.execute("DROP TABLE temp.fresh")
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


def justification_rowids_sql(schema: str) -> str:
    """SQL selecting the ``justifications.rowid`` of every justification matching one FTS5 query (``?``).

    For a query joining the crowd tables to the index attached as ``schema``: only rowids are read,
    never a text.
    """
    return (f"SELECT rowid - {JUSTIFICATION_BASE} FROM {schema}.entries"
            f" WHERE entries MATCH ? AND rowid >= {JUSTIFICATION_BASE}")


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
    where = "entries MATCH ?"
    if set(wanted) != set(KINDS):  # the kind is in the rowid: a range FTS5 reads no further than
        where += f" AND rowid {'>=' if set(wanted) == {'justification'} else '<'} {JUSTIFICATION_BASE}"
    with _open_index(index) as conn:
        match = expanded_query(conn, query)
        # Count first, rowids only, up to RANK_LIMIT + 1: ranking reads every match's place in the
        # whole index (BM25 counts the rows holding each word), which past the limit costs more
        # than the search is allowed.
        rowids = [r[0] for r in conn.execute(f"SELECT rowid FROM entries WHERE {where} LIMIT {RANK_LIMIT + 1}",
                                             [match])]
        matches, more = len(rowids), len(rowids) > RANK_LIMIT
        ordered: Iterable[int]
        if more:  # in index order: read on past the first rows while conversations repeat
            ordered = itertools.chain(rowids, (r[0] for r in conn.execute(
                f"SELECT rowid FROM entries WHERE {where} AND rowid > ?", [match, rowids[-1]])))
        else:
            ranked = conn.execute(f"SELECT rowid, rank FROM entries WHERE {where}", [match]).fetchall()
            ordered = [rowid for rowid, _rank in sorted(ranked, key=lambda r: (r[1], r[0]))]
        chosen: list[int] = []
        seen: set[int] = set()
        for rowid in ordered:
            key = rowid if rowid >= JUSTIFICATION_BASE else -(rowid // _SLOTS) - 1  # a conversation once
            if key in seen:
                continue
            seen.add(key)
            chosen.append(rowid)
            if len(chosen) >= limit:
                break
    hits = _hits(store, chosen, terms)
    return SearchResult(query, fts_query(query), tuple(hits), matches=matches, more=more, ranked=not more,
                        index=update, seconds=time.perf_counter() - started)


def _in_chunks(conn: sqlite3.Connection, sql: str, values: Sequence[int]) -> Iterator[Any]:
    for start in range(0, len(values), 500):
        part = values[start:start + 500]
        yield from conn.execute(sql.format(marks=", ".join("?" * len(part))), part)


def _hits(store: Store, chosen: Sequence[int], terms: Sequence[_Term]) -> list[SearchHit]:
    """The hits of the chosen entries, in order, their texts read from the crowd tables by rowid."""
    conversation_rows = sorted({r // _SLOTS for r in chosen if r < JUSTIFICATION_BASE})
    justification_rows = sorted({r - JUSTIFICATION_BASE for r in chosen if r >= JUSTIFICATION_BASE})
    conversations: dict[int, tuple[str, str, dict[int, tuple[str, str | None, str]]]] = {}
    for rowid, conversation_id, prompt_id, prompt, responses in _in_chunks(
        store.db.conn, "SELECT rowid, id, source_id, prompt, responses FROM conversations WHERE rowid IN ({marks})",
        conversation_rows,
    ):
        texts = {slot: (kind, letter, text) for slot, kind, letter, text in conversation_texts(prompt, responses)}
        conversations[rowid] = (conversation_id, prompt_id, texts)
    justifications: dict[int, tuple[str, str, str, str | None, str | None, str | None]] = {}
    for rowid, *row in _in_chunks(
        store.db.conn,
        "SELECT j.rowid, j.id, j.block, j.text, c.id, c.source_id, p.source_id FROM justifications j"
        " LEFT JOIN assessments a ON a.id = j.assessment_id"
        " LEFT JOIN conversations c ON c.id = a.conversation_id"
        " LEFT JOIN participants p ON p.id = a.participant_id"
        " WHERE j.rowid IN ({marks})", justification_rows,
    ):
        justifications[rowid] = tuple(row)  # type: ignore[assignment]
    hits = []
    for entry in chosen:
        if entry >= JUSTIFICATION_BASE:
            found = justifications.get(entry - JUSTIFICATION_BASE)
            if found is None:  # not there any more: the index is rebuilt by the next search
                continue
            jid, block, body, conversation_id, prompt_id, annotator_id = found
            text, spans = snippet(body, terms)
            hits.append(SearchHit("justification", jid, block or "", conversation_id, prompt_id, annotator_id,
                                  text, spans))
        else:
            conversation = conversations.get(entry // _SLOTS)
            slot_text = conversation[2].get(entry % _SLOTS) if conversation else None
            if conversation is None or slot_text is None:
                continue
            kind, letter, body = slot_text
            text, spans = snippet(body, terms)
            where = "prompt" if kind == "prompt" else f"response {letter}"
            hits.append(SearchHit("conversation", conversation[0], where, conversation[0], conversation[1], None,
                                  text, spans))
    return hits

def search_workspace(workspace: Workspace, query: str, *, limit: int = DEFAULT_LIMIT,
                     kinds: Sequence[str] | None = None) -> SearchResult:
    """Search a workspace's crowd text (``search`` with the workspace's index)."""
    return search(workspace.store, query, index=index_path(workspace), limit=limit, kinds=kinds)


__all__ = [
    "DEFAULT_LIMIT", "INDEX_FILE", "JUSTIFICATION_BASE", "KINDS", "RANK_LIMIT", "IndexUpdate", "SearchHit", "SearchResult",
    "conversation_texts", "expanded_query", "fts_query", "justification_rowids_sql",
    "highlight", "index_path", "parse_query", "search", "search_workspace", "snippet", "update_index",
]
