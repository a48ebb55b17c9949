"""Evidence triage: search, filter and sort a proposal's justifications (named queries, no writes).

A reviewer facing thousands of justifications narrows them with an ``EvidenceFilter``:

- **search**: words and "phrases" (``reviewer.search`` syntax: all must occur, the last word may
  be the start of one), matched through the workspace's FTS5 index (``search.db``, a cache beside
  the record), which is attached read-only for the one query. The matches are read as rowids,
  at most ``SEARCH_LIMIT`` of them (in index order), and joined to the proposal's links: a word
  most of a million justifications hold keeps the links among the first ``SEARCH_LIMIT`` and says
  so (``TriageCounts.capped``: the counts are floors), unless the proposal has at most
  ``OWN_LINKS_LIMIT`` links: then the words are looked up among its own;
- **country**: the participant's ``country_of_residence``;
- **language**: the stored language, or, when none is stored, the one guessed from the text
  (``evidence.guess_language``), as the list shows it (``es?``);
- **source**: who set the effective stance: ``person``, ``model`` or ``rule`` (``none``: unlabelled);
- **group**: a group id (``GroupRef``): ``demographic:FIELD=VALUE``, or ``opinion:A``, an opinion
  group of the run the proposal's groups come from (``GROUP_KINDS``);
- **sort**: ``source`` (the lists' usual order: source kind, source name, id) or ``divisive``.

**Most divisive** (``divisiveness``): how evenly the crowd split on what the justification speaks
to. For a CA-1 justification, that is its conversation: among the proposal's links from the same
conversation, with ``s`` supporting and ``r`` refuting (effective stances), the split is
``2·min(s, r) / (s + r)``: 1 when the conversation's justifications are half for and half against
the proposal, 0 when they all agree. For a Pol.is statement, it is the statement's own votes
(agrees and disagrees in the export) by the same formula. Most divisive first; among equal
splits, the one with more decided justifications (or votes) first, then by id. A link with nothing
to split on (no decided justification, no vote) scores 0.

The filtered lists are read as one ordered key list per stance (cached per connection until the
database or the index changes), then a page of rows at a time, so that scrolling a filtered list
costs what scrolling the whole one does.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewer.errors import KnownError
from reviewer.evidence import (
    _PAGE_SELECT,
    UNKNOWN_GROUP,
    EvidenceRow,
    _json_path,
    _require_proposal,
    _rows,
    guess_language,
    normalise_stance,
)
from reviewer.store import Store, connection_of, sql_errors
from reviewer.vocab import LABEL_SOURCES, STANCES, UNLABELLED, EvidenceSort

if TYPE_CHECKING:
    from reviewer.workspace import Workspace

COUNTRY_FIELD = "country_of_residence"
NO_SOURCE = "none"
"""The ``source`` filter value for links no source has labelled yet."""
SOURCE_CHOICES = (*(str(s) for s in LABEL_SOURCES), NO_SOURCE)
SEARCH_LIMIT = 10_000
"""A search reads at most this many of the justifications it matches in the whole crowd (in index order).

Past it (a word most of a million justifications hold), the lists keep the proposal's links among
the first ``SEARCH_LIMIT`` matches and say so (``TriageCounts.capped``): reading every match would
cost more than a filter is allowed (``benchmarks/bench_search.py``). Add words to narrow it.
A proposal with at most ``OWN_LINKS_LIMIT`` links is not capped: its own links are looked up.
"""
OWN_LINKS_LIMIT = 5_000
"""When a search is past ``SEARCH_LIMIT``, a proposal with at most this many links has the words
looked for among its own justifications instead: SQLite reads every match's rowid into a table of
its own, once, and looks each link up there. The lists are then whole, not the links that happened
to be among the crowd's first matches. At a million justifications and 5,017 links that took
42–271 ms (the more of the crowd a word matches, the longer), where the capped read took 56–65 ms
and showed 158 of the 2,413 links a common word keeps (``benchmarks/bench_search.py`` data)."""
_FTS = "triage_fts"  # the schema name the search index is attached under, for one query
_CACHE_SIZE = 8


@dataclass(frozen=True)
class GroupRef:
    """A group of participants, named by an id ``KIND:KEY`` (``demographic:country_of_residence=Spain``).

    Attributes:
        kind: which kind of group (a key of ``GROUP_KINDS``).
        key: what names the group within its kind.
    """

    kind: str
    key: str

    @property
    def id(self) -> str:
        """The group's id, as filters and the command line name it."""
        return f"{self.kind}:{self.key}"

    @classmethod
    def parse(cls, group_id: str) -> GroupRef:
        """Read a group id.

        Raises:
            KnownError: not ``KIND:KEY`` with a kind of ``GROUP_KINDS``.
        """
        kind, sep, key = (group_id or "").partition(":")
        if not sep or not key or kind not in GROUP_KINDS:
            kinds = ", ".join(f"{k}:…" for k in GROUP_KINDS)
            raise KnownError(f"Unknown group {group_id!r}.", hint=f"Name a group as one of: {kinds}.")
        return cls(kind, key)


def demographic_group(field_name: str, value: str) -> GroupRef:
    """The group of participants whose demographic ``field_name`` is ``value`` (``(unknown)``: no value)."""
    return GroupRef("demographic", f"{field_name}={value}")


def opinion_group(label: str) -> GroupRef:
    """The opinion group ``label`` (``A``, ``B``…) of the run a proposal's groups come from."""
    return GroupRef("opinion", label)


def _demographic_condition(_conn: sqlite3.Connection, _proposal_id: str, ref: GroupRef) -> tuple[str, list[Any]]:
    name, sep, value = ref.key.partition("=")
    if not sep or not name:
        raise KnownError(f"Unknown group {ref.id!r}.", hint="Write demographic:FIELD=VALUE, e.g. "
                                                           "demographic:country_of_residence=Spain.")
    # The participants with the value, read once (a few thousand, with the value parsed once each),
    # rather than each link's participant looked up and parsed: three times faster for 50,000 links.
    if value == UNKNOWN_GROUP:
        return ("(e.participant_id IS NULL OR e.participant_id NOT IN (SELECT id FROM participants"
                " WHERE coalesce(json_extract(demographics, ?), '') != ''))", [_json_path(name)])
    # As the splits name a group (``evidence.evidence_split``): a number is its decimal text (a JSON
    # true is 1), so ``demographic:age=34`` finds the participants whose age is the number 34.
    return ("e.participant_id IN (SELECT id FROM participants WHERE CAST(json_extract(demographics, ?) AS TEXT) = ?)",
            [_json_path(name), value])


def _opinion_condition(conn: sqlite3.Connection, proposal_id: str, ref: GroupRef) -> tuple[str, list[Any]]:
    from reviewer.group_support import proposal_run
    from reviewer.groups import group_label

    run = proposal_run(conn, proposal_id)
    if run is None:
        raise KnownError("No opinion groups have been found in this workspace's crowd yet.",
                         hint="Find them first: spec-review groups WORKSPACE, or the Groups tab.")
    labels = [group_label(g) for g in range(run.k)]
    label = ref.key.strip().upper()
    if label not in labels:
        raise KnownError(f"There is no opinion group {ref.key!r}: the groups are {', '.join(labels)}.",
                         hint="Name one as opinion:A.")
    return ("e.participant_id IN (SELECT participant_id FROM group_members WHERE run_id = ? AND group_index = ?)",
            [run.id, labels.index(label)])


GroupCondition = Callable[[sqlite3.Connection, str, GroupRef], tuple[str, list[Any]]]
GROUP_KINDS: dict[str, GroupCondition] = {"demographic": _demographic_condition, "opinion": _opinion_condition}
"""Group kind → its SQL condition over a link (``e``: evidence_current; no other table is joined, so a
condition reads what else it needs in a subquery, once for all the links).

``opinion:A`` is opinion group A of the run the proposal's groups come from
(``group_support.proposal_run``), as the desk's group split and the duty to respond name it.
"""


@dataclass(frozen=True)
class EvidenceFilter:
    """What a reviewer narrowed a proposal's evidence lists to (every part optional).

    Attributes:
        search: words and phrases to find in the justification's text ('' for none).
        country: the participant's country of residence.
        language: the text's language (stored, else guessed from the text).
        source: who set the effective stance: person, model, rule, or ``none`` (unlabelled).
        group: a group id (``GroupRef``), e.g. ``demographic:age=18-24``.
        sort: ``source`` or ``divisive`` (see the module's docstring).
    """

    search: str = ""
    country: str | None = None
    language: str | None = None
    source: str | None = None
    group: str | None = None
    sort: EvidenceSort = EvidenceSort.SOURCE

    @property
    def active(self) -> bool:
        """Whether it narrows or reorders anything (an inactive filter reads the plain lists)."""
        return bool(self.search.strip() or self.country or self.language or self.source or self.group
                    or self.sort != EvidenceSort.SOURCE)

    def checked(self) -> EvidenceFilter:
        """Return the filter with its values cleaned and checked.

        Raises:
            KnownError: an unknown source, sort or group.
        """
        source = (self.source or "").strip().lower() or None
        if source is not None and source not in SOURCE_CHOICES:
            raise KnownError(f"Unknown label source {self.source!r}.", hint=f"Use one of: {', '.join(SOURCE_CHOICES)}.")
        try:
            sort = EvidenceSort(str(self.sort).strip().lower())
        except ValueError:
            raise KnownError(f"Unknown sort {self.sort!r}.",
                             hint=f"Use one of: {', '.join(s.value for s in EvidenceSort)}.") from None
        group = (self.group or "").strip() or None
        if group is not None:
            GroupRef.parse(group)
        return replace(self, search=self.search.strip(), country=(self.country or "").strip() or None,
                       language=(self.language or "").strip().lower() or None, source=source, group=group, sort=sort)

    def describe(self) -> str:
        """A few words naming what the filter does ('' when inactive)."""
        parts = []
        if self.search.strip():
            parts.append(f"matching {self.search.strip()!r}")
        if self.country:
            parts.append(f"from {self.country}")
        if self.language:
            parts.append(f"in {self.language}")
        if self.source:
            parts.append("unlabelled" if self.source == NO_SOURCE else f"labelled by a {self.source}")
        if self.group:
            parts.append(f"in group {self.group}")
        if self.sort == EvidenceSort.DIVISIVE:
            parts.append("most divisive first")
        return ", ".join(parts)


@dataclass(frozen=True)
class TriageCounts:
    """How many of a proposal's links a filter keeps, per effective stance.

    Attributes:
        proposal_id: the proposal.
        counts: stance (and ``unlabelled``) → links kept.
        total: links of the proposal, before filtering.
        capped: the search matched more than ``SEARCH_LIMIT`` justifications in the crowd, and the
            links kept are those among the first ``SEARCH_LIMIT``: each count is a floor.
    """

    proposal_id: str
    counts: dict[str, int]
    total: int
    capped: bool = False

    @property
    def shown(self) -> int:
        """Links kept, all stances together."""
        return sum(self.counts.values())

    def note(self) -> str:
        """What a capped search means for the lists ('' when not capped)."""
        if not self.capped:
            return ""
        return (f"More than {SEARCH_LIMIT:,} justifications in the crowd hold these words: the lists keep this"
                f" proposal's among the first {SEARCH_LIMIT:,} (in the order imported), so each count is a floor."
                " Add words to narrow the search.")


@dataclass(frozen=True)
class FilterChoices:
    """The values the filters can take for one proposal, with how many links have each.

    Attributes:
        countries: (country, links), most links first.
        languages: (language, links), stored or guessed, most links first.
        sources: (source kind, links) of the effective stances, ``none`` for unlabelled.
        opinion_groups: (group label, links) of the run the proposal's opinion groups come from, in
            label order (empty when no groups were found).
    """

    countries: tuple[tuple[str, int], ...]
    languages: tuple[tuple[str, int], ...]
    sources: tuple[tuple[str, int], ...]
    opinion_groups: tuple[tuple[str, int], ...] = ()


# ---- the search index, attached for one query ----------------------------------------------------


def prepare_search_index(workspace: Workspace) -> Path:
    """Bring the workspace's search index up to date and return where it is (for ``index=`` below)."""
    from reviewer.search import index_path, update_index

    path = index_path(workspace)
    update_index(workspace.store, path)
    return path


class _Attached:
    """The search index attached read-only to ``conn`` under ``_FTS`` while in the ``with`` block."""

    def __init__(self, conn: sqlite3.Connection, index: Path) -> None:
        self.conn, self.index = conn, index

    def __enter__(self) -> str:
        if not self.index.exists():
            raise KnownError("The search index is missing.", hint="Search again: it is rebuilt from the crowd data.")
        try:
            self.conn.execute(f"ATTACH DATABASE ? AS {_FTS}", [self.index.resolve().as_uri() + "?mode=ro"])
        except sqlite3.OperationalError:  # a connection opened without URIs: the plain path
            self.conn.execute(f"ATTACH DATABASE ? AS {_FTS}", [str(self.index)])
        try:
            row = self.conn.execute(f"SELECT value FROM {_FTS}.meta WHERE key = 'fingerprint'").fetchone()
        except sqlite3.Error:
            row = None
        return str(row[0]) if row else ""

    def __exit__(self, *exc: object) -> None:
        self.conn.execute(f"DETACH DATABASE {_FTS}")


# ---- the ordered keys of the filtered lists -------------------------------------------------------

_cache_lock = threading.Lock()
_Keys = tuple[dict[str, list[tuple[str, str, str]]], bool]  # stance → ordered keys; the search capped
_cache: dict[tuple[Any, ...], _Keys] = {}


def _register(conn: sqlite3.Connection) -> None:
    conn.create_function("triage_language", 2, _language, deterministic=True)


def _language(stored: str | None, text: str | None) -> str | None:
    return stored.lower() if stored else guess_language(text or "")


def _conditions(conn: sqlite3.Connection, proposal_id: str, filt: EvidenceFilter,
                index_fingerprint: str | None) -> tuple[str, list[Any], bool]:
    """The SQL condition of ``filt`` over a link, its parameters, and whether the search was capped (``SEARCH_LIMIT``)."""
    from reviewer.search import (
        expanded_query,
        fts_query,
        justification_rowids_sql,
    )

    where, params, capped = ["e.proposal_id = ?"], [], False
    if filt.source == NO_SOURCE:
        where.append("e.source_kind IS NULL")
    elif filt.source:
        where.append("e.source_kind = ?")
        params.append(filt.source)
    if filt.country:
        sql, values = _demographic_condition(conn, proposal_id, demographic_group(COUNTRY_FIELD, filt.country))
        where.append(sql)
        params += values
    if filt.language:
        where.append("triage_language(j.language, j.text) = ?")
        params.append(filt.language)
    if filt.group:
        ref = GroupRef.parse(filt.group)
        sql, values = GROUP_KINDS[ref.kind](conn, proposal_id, ref)
        where.append(sql)
        params += values
    if filt.search and index_fingerprint is not None:
        match = expanded_query(conn, filt.search, schema=_FTS) if fts_query(filt.search) else ""
        if match:
            # From each match to its link, if the proposal has one: read once, as rowids only.
            found = [r[0] for r in conn.execute(f"{justification_rowids_sql(_FTS)} LIMIT {SEARCH_LIMIT + 1}",
                                                [match])]
            capped = len(found) > SEARCH_LIMIT
            if capped and conn.execute("SELECT count(*) FROM evidence_current WHERE proposal_id = ?",
                                       [proposal_id]).fetchone()[0] <= OWN_LINKS_LIMIT:
                # Too many matches in the crowd, few links: look the words up among the links alone.
                # SQLite reads the matches' rowids into a table of its own once and looks each link up
                # there (a lookup in the full-text index per link costs 40-90 µs).
                found = [r[0] for r in conn.execute(
                    "SELECT j.rowid FROM evidence_current l JOIN justifications j ON j.id = l.justification_id"
                    f" WHERE l.proposal_id = ? AND j.rowid IN ({justification_rowids_sql(_FTS)})",
                    [proposal_id, match])]
                capped = False
            where.append("e.justification_id IN (SELECT id FROM justifications"
                         " WHERE rowid IN (SELECT value FROM json_each(?)))")
            params.append(json.dumps(found if not capped else found[:SEARCH_LIMIT]))
    return " AND ".join(where), params, capped


def _divisiveness(conn: sqlite3.Connection, proposal_id: str) -> tuple[dict[str, tuple[float, int]], dict[str, tuple[float, int]]]:
    """(conversation id → (split, decided links)), (statement id → (split, votes)) for a proposal's links."""
    by_conversation: dict[str, tuple[float, int]] = {}
    for conversation_id, s, r in conn.execute(
        "SELECT a.conversation_id, sum(e.stance = 'supports'), sum(e.stance = 'refutes') FROM evidence_current e"
        " JOIN justifications j ON j.id = e.justification_id JOIN assessments a ON a.id = j.assessment_id"
        " WHERE e.proposal_id = ? GROUP BY a.conversation_id", [proposal_id]
    ):
        by_conversation[conversation_id] = (split(s or 0, r or 0), (s or 0) + (r or 0))
    by_statement: dict[str, tuple[float, int]] = {}
    for statement_id, agrees, disagrees in conn.execute(
        "SELECT s.justification_id, s.agrees, s.disagrees FROM evidence_current e"
        " JOIN polis_statements s ON s.justification_id = e.justification_id WHERE e.proposal_id = ?", [proposal_id]
    ):
        by_statement[statement_id] = (split(agrees or 0, disagrees or 0), (agrees or 0) + (disagrees or 0))
    return by_conversation, by_statement


def split(for_: int, against: int) -> float:
    """How evenly ``for_`` and ``against`` divide: ``2·min / (for + against)``, 1 for half and half, 0 when one-sided."""
    total = for_ + against
    return 2 * min(for_, against) / total if total else 0.0


def divisive_key(value: float, weight: int, justification_id: str) -> tuple[str, str, str]:
    """The sort key of a link in the ``divisive`` order (as text, so that keys compare like the order)."""
    return (f"{1 - value:.9f}", f"{max(10**12 - weight, 0):013d}", justification_id)


def _keys_sql(filt: EvidenceFilter, where: str) -> str:
    """The query of the links ``filt`` keeps, joining only the tables it reads.

    On a million justifications each join is a lookup per link in a table far larger than the page
    cache: the justification (its text and language) only for a language filter or the divisive
    order, its assessment (the conversation) only for the divisive order.
    """
    divisive = filt.sort == EvidenceSort.DIVISIVE
    joins = ""
    if divisive or filt.language:
        joins += " JOIN justifications j ON j.id = e.justification_id"
    if divisive:
        joins += " LEFT JOIN assessments a ON a.id = j.assessment_id"
    conversation = "a.conversation_id" if divisive else "NULL"
    return ("SELECT e.justification_id, e.stance, coalesce(e.source_kind, ''), coalesce(e.source_name, ''),"
            f" {conversation} FROM evidence_current e{joins} WHERE {where}")


def _keys(conn: sqlite3.Connection, proposal_id: str, filt: EvidenceFilter, index: Path | None) -> _Keys:
    """Stance → the ordered keys of the links ``filt`` keeps, and whether its search was capped.

    Cached until the database or the index changes.
    """
    _register(conn)
    attached = _Attached(conn, index) if filt.search and index is not None else None
    if filt.search and index is None:
        raise KnownError("Searching the evidence needs the workspace's search index.")
    fingerprint = attached.__enter__() if attached is not None else None
    try:
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        # The connection itself (not its id, which a later connection may reuse); its own writes move
        # total_changes, other connections' commits data_version.
        cache_key = (conn, conn.total_changes, version, proposal_id, filt, str(index), fingerprint, SEARCH_LIMIT,
                     OWN_LINKS_LIMIT)
        with _cache_lock:
            found = _cache.get(cache_key)
        if found is not None:
            return found
        where, params, capped = _conditions(conn, proposal_id, filt, fingerprint)
        rows = conn.execute(_keys_sql(filt, where), [proposal_id, *params]).fetchall()
    finally:
        if attached is not None:
            attached.__exit__()
    out: dict[str, list[tuple[str, str, str]]] = {str(s): [] for s in (*STANCES, UNLABELLED)}
    if filt.sort == EvidenceSort.DIVISIVE:
        conversations, statements = _divisiveness(conn, proposal_id)
        for jid, stance, _kind, _name, conversation_id in rows:
            value, weight = (conversations.get(conversation_id, (0.0, 0)) if conversation_id
                             else statements.get(jid, (0.0, 0)))
            out[stance or UNLABELLED].append(divisive_key(value, weight, jid))
    else:
        for jid, stance, kind, name, _conversation_id in rows:
            # The unlabelled list is ordered by id alone, as ``evidence_page`` reads it.
            out[stance or UNLABELLED].append((kind, name, jid) if stance else ("", "", jid))
    for keys in out.values():
        keys.sort()
    with _cache_lock:
        if len(_cache) >= _CACHE_SIZE:
            _cache.pop(next(iter(_cache)))
        _cache[cache_key] = (out, capped)
    return out, capped


def triage_counts(source: Store | sqlite3.Connection, proposal_id: str, filt: EvidenceFilter, *,
                  index: Path | None = None) -> TriageCounts:
    """Count the links of a proposal that ``filt`` keeps, per effective stance.

    Args:
        source: the store, or a (read-only) connection to the workspace database.
        proposal_id: the proposal.
        filt: the filter.
        index: the search index (``prepare_search_index``); needed when the filter searches.

    Raises:
        KnownError: unknown proposal, a bad filter, or a search without an index.
    """
    conn = connection_of(source)
    filt = filt.checked()
    with sql_errors("filtering the evidence"):
        _require_proposal(conn, proposal_id)
        keys, capped = _keys(conn, proposal_id, filt, index)
        total = conn.execute("SELECT count(*) FROM evidence_current WHERE proposal_id = ?", [proposal_id]).fetchone()[0]
    return TriageCounts(proposal_id, {s: len(k) for s, k in keys.items()}, int(total), capped)


def triage_page(source: Store | sqlite3.Connection, proposal_id: str, stance: str, filt: EvidenceFilter, *,
                after: tuple[str, str, str] | None = None, limit: int = 200,
                index: Path | None = None) -> list[EvidenceRow]:
    """Return one page of a proposal's links with one effective stance that ``filt`` keeps, after ``after``.

    Rows come in the filter's order (``sort``); each row's ``key`` is its place in that order, so
    paging works as for ``evidence.evidence_page``.

    Raises:
        KnownError: unknown stance or proposal, a bad filter, or a search without an index.
    """
    import bisect

    conn = connection_of(source)
    filt = filt.checked()
    stance = UNLABELLED if stance == UNLABELLED else normalise_stance(stance)
    with sql_errors("filtering the evidence"):
        keys = _keys(conn, proposal_id, filt, index)[0][stance]
        start = bisect.bisect_right(keys, tuple(after)) if after is not None else 0
        chosen = keys[start:start + int(limit)]
        if not chosen:
            return []
        ids = [k[2] for k in chosen]
        raw = conn.execute(
            f"{_PAGE_SELECT} WHERE e.proposal_id = ? AND e.justification_id IN (SELECT value FROM json_each(?))",
            [proposal_id, json.dumps(ids)],
        ).fetchall()
        rows = {r.justification_id: r for r in _rows(conn, proposal_id, raw)}
    return [replace(rows[k[2]], key=k) for k in chosen if k[2] in rows]


_choices_cache: dict[tuple[Any, ...], FilterChoices] = {}


def filter_choices(source: Store | sqlite3.Connection, proposal_id: str) -> FilterChoices:
    """The countries, languages and label sources among a proposal's links, with how many links have each.

    Cached per connection until the database changes, as the filtered lists are: the evidence view
    reads them again with every filter it applies, and guessing the language of 50,000 texts takes
    a second.
    """
    conn = connection_of(source)
    cache_key = (conn, conn.total_changes, conn.execute("PRAGMA data_version").fetchone()[0], proposal_id)
    with _cache_lock:
        found = _choices_cache.get(cache_key)
    if found is not None:
        return found
    choices = _filter_choices(conn, proposal_id)
    with _cache_lock:
        if len(_choices_cache) >= _CACHE_SIZE:
            _choices_cache.pop(next(iter(_choices_cache)))
        _choices_cache[cache_key] = choices
    return choices


def _filter_choices(conn: sqlite3.Connection, proposal_id: str) -> FilterChoices:
    from reviewer.group_support import proposal_run
    from reviewer.groups import group_label

    _register(conn)
    with sql_errors("reading the filter choices"):
        _require_proposal(conn, proposal_id)
        countries = conn.execute(
            "SELECT json_extract(p.demographics, ?) AS c, count(*) FROM evidence_current e"
            " JOIN participants p ON p.id = e.participant_id WHERE e.proposal_id = ? AND c IS NOT NULL AND c != ''"
            " GROUP BY c ORDER BY count(*) DESC, c", [_json_path(COUNTRY_FIELD), proposal_id]).fetchall()
        languages = conn.execute(
            "SELECT triage_language(j.language, j.text) AS l, count(*) FROM evidence_current e"
            " JOIN justifications j ON j.id = e.justification_id WHERE e.proposal_id = ? AND l IS NOT NULL"
            " GROUP BY l ORDER BY count(*) DESC, l", [proposal_id]).fetchall()
        sources = conn.execute(
            "SELECT coalesce(source_kind, ?), count(*) FROM evidence_current WHERE proposal_id = ?"
            " GROUP BY 1 ORDER BY count(*) DESC, 1", [NO_SOURCE, proposal_id]).fetchall()
        opinion: list[tuple[str, int]] = []
        run = proposal_run(conn, proposal_id)
        if run is not None:
            opinion = [(group_label(int(g)), int(n)) for g, n in conn.execute(
                "SELECT m.group_index, count(*) FROM evidence_current e JOIN group_members m"
                " ON m.run_id = ? AND m.participant_id = e.participant_id WHERE e.proposal_id = ?"
                " GROUP BY 1 ORDER BY 1", [run.id, proposal_id])]
    return FilterChoices(tuple((str(c), int(n)) for c, n in countries if isinstance(c, str)),
                         tuple((str(x), int(n)) for x, n in languages),
                         tuple((str(x), int(n)) for x, n in sources), tuple(opinion))


@dataclass(frozen=True)
class TriageResult:
    """A filtered read of a proposal's evidence for the command line: counts and the first rows of each stance.

    Attributes:
        proposal_id: the proposal.
        filter: the filter applied (checked).
        counts: links kept per stance.
        rows: stance → the first rows kept, in the filter's order.
    """

    proposal_id: str
    filter: EvidenceFilter
    counts: TriageCounts
    rows: dict[str, list[EvidenceRow]] = field(default_factory=dict)


def triage_evidence(workspace: Workspace, proposal_id: str, filt: EvidenceFilter, *, stance: str | None = None,
                    limit: int = 50) -> TriageResult:
    """Filter a proposal's evidence (the search index brought up to date first when the filter searches)."""
    filt = filt.checked()
    index = prepare_search_index(workspace) if filt.search else None
    counts = triage_counts(workspace.store, proposal_id, filt, index=index)
    stances = [stance] if stance else [str(s) for s in (*STANCES, UNLABELLED)]
    rows = {s: triage_page(workspace.store, proposal_id, s, filt, limit=limit, index=index) for s in stances}
    return TriageResult(proposal_id, filt, counts, rows)


__all__ = [
    "COUNTRY_FIELD", "GROUP_KINDS", "NO_SOURCE", "SEARCH_LIMIT", "SOURCE_CHOICES", "EvidenceFilter", "FilterChoices", "GroupRef",
    "TriageCounts", "TriageResult", "demographic_group", "opinion_group", "divisive_key", "filter_choices", "prepare_search_index",
    "split", "triage_counts", "triage_evidence", "triage_page",
]
