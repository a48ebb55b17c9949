"""Benchmark full-text search and evidence triage over 1,000,000 justifications against plain SQL scans.

Run: .venv/bin/python benchmarks/bench_search.py [--justifications N | --assessments N] [--import]
     [--links N] [--repeat R] [--data DIR]

The data is a synthetic CA-1 crowd from ``gen_ca1.py``: by default about 694,000 assessments,
giving about 1,000,000 justifications (a world block in every assessment, a personal block in
27%, an unacceptable block in 17%) in seven languages and scripts, and 40,800 conversations of
four responses each (the figure of issue 15: "search over 1,000,000 justifications"). Two ways
to put it in the workspace database:

- by default the rows are **written directly** (``build_direct``): the same rows, ids and texts
  that ``gen_ca1.py`` + ``import_ca1`` store, written with ``executemany`` without going through
  the files (writing the files and importing them through the product takes minutes at this
  scale; ``bench_import.py`` measures the import);
- ``--import`` writes the release with ``gen_ca1.py`` and imports it with ``import_ca1`` (the
  product's import), and prints how long each took.

Either way the search index is built by the product (``update_index``) and every query below
runs through the product's own code (``reviewer.search.search``, ``reviewer.triage``). Measured:

- building the index from nothing (the first search's cost), its size, and the check a later
  search makes (index fresh); appending after a second import (2,000 assessments, through
  ``import_ca1``);
- each query of ``QUERIES`` through ``search`` (the index check, the count, the order, the
  snippets and the rows read back from the store), median and worst of R runs, against the
  baseline measured in the same run: the same words found with ``LIKE '%word%'`` over the
  justification texts and the stored prompts and responses (a full scan, as search without an
  index must do);
- the evidence view's filtered reads (``TRIAGE``) on a proposal linked to ``--links``
  justifications (50,000 by default, as ``bench_desk.py``; rule labels on every link, model
  labels on a fifth, person labels on one in fifty; an opinion-group run over every participant):
  by country, language, label source, demographic group, opinion group, most divisive first, and
  searches, alone and together (a search matching more than ``triage.SEARCH_LIMIT`` justifications
  in the whole crowd keeps the links among the first of them: its count is shown as a floor, ≥). Each is what the view reads when the filter changes: the counts
  per stance and the first page of each of the four lists (``triage_counts``, ``triage_page``),
  with the filter cache emptied first; then the rest of that read (``evidence_summary``,
  ``filter_choices``) once. Baseline, in the same run: the proposal's links read with their texts
  by plain SQL, with ``LIKE '%word%'`` for a search.

Target (issue 15): every search and every filtered read under 100 ms. Exit 1 when one is not.
The machine's load average is printed at the start and the end, and the peak memory (RSS).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import gen_ca1  # noqa: E402

from reviewer import triage  # noqa: E402
from reviewer.ca1 import (  # noqa: E402
    assessment_id,
    conversation_id,
    import_ca1,
    justification_id,
    participant_id,
)
from reviewer.errors import KnownError  # noqa: E402
from reviewer.evidence import evidence_summary  # noqa: E402
from reviewer.ids import stable_id, utc_now  # noqa: E402
from reviewer.search import RANK_LIMIT, search, update_index  # noqa: E402
from reviewer.store import ProposalSection, Store, open_read_only  # noqa: E402
from reviewer.triage import EvidenceFilter, filter_choices, triage_counts, triage_page  # noqa: E402
from reviewer.vocab import STANCES, UNLABELLED, EvidenceSort  # noqa: E402

TARGET_MS = 100.0
JUSTIFICATIONS_PER_ASSESSMENT = 1 + gen_ca1.PERSONAL_SHARE + gen_ca1.UNACCEPTABLE_SHARE
QUERIES = [
    "honest",  # in most English texts
    "hone",  # a prefix, as typed
    "risks clearly",  # two common words
    '"explain the risks"',  # a phrase
    "réponse utilisateur",  # diacritics folded
    "回答",  # Japanese, inside runs without spaces
    "respect user caution tone",  # four words
    "zebra",  # nothing
    'NEAR("x" AND',  # FTS syntax typed by a person: searched as words
]
PAGE = 50  # the evidence view's page (ui/models/evidence.py)
LISTS = (*(str(s) for s in STANCES), UNLABELLED)


def _timed(func: Callable[[], object], repeat: int, before: Callable[[], object] | None = None) -> list[float]:
    if before:
        before()
    func()  # warm up
    out = []
    for _ in range(repeat):
        if before:
            before()
        started = time.perf_counter()
        func()
        out.append((time.perf_counter() - started) * 1000)
    return out


def _load() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


# ---- the data ---------------------------------------------------------------------------------------


def build_direct(store: Store, assessments: int, *, seed: int = 1, batch: int = 20_000) -> None:
    """Write the rows ``gen_ca1.generate(…, assessments, seed=seed)`` + ``import_ca1`` would store, directly.

    Same ids (``reviewer.ca1``'s), texts, demographics and rankings; rows are written in annotator
    order (the import writes them in file order) and without the import's content hashes or audit
    event, which no search reads.
    """
    prompts, counts, prompt_of, annotator_of = gen_ca1._plan(assessments, seed)
    prompt_ids = [gen_ca1._hex_id("prompt", i, seed) for i in range(prompts)]
    annotator_ids = [gen_ca1._hex_id("annotator", i, seed) for i in range(len(counts))]
    now = utc_now()

    def key(index: int) -> int:
        return seed * 1_000_000_007 + index

    conn = store.db.conn
    conn.execute("PRAGMA cache_size = -262144")  # 256 MiB: a million rows under random UUID keys
    with store.db.atomic():
        rows = []
        for p, pid in enumerate(prompt_ids):
            rng = random.Random(key(-p - 1))
            prompt = {"id": pid, "messages": [{"role": "user", "content": gen_ca1._text(rng, 10, 80)}]}
            responses = [{"response_index": letter,
                          "messages": [{"role": "assistant", "content": gen_ca1._text(rng, 60, 300)}]}
                         for letter in "ABCD"]
            rows.append((conversation_id(pid), "ca1", pid, json.dumps(prompt, ensure_ascii=False),
                         json.dumps(responses, ensure_ascii=False), now))
        conn.executemany("INSERT INTO conversations (id, source, source_id, prompt, responses, created_at)"
                         " VALUES (?, ?, ?, ?, ?, ?)", rows)
        conn.executemany(
            "INSERT INTO participants (id, source, source_id, demographics, created_at) VALUES (?, 'ca1', ?, ?, ?)",
            [(participant_id(aid), aid, json.dumps(gen_ca1._demographics(random.Random(key(-prompts - 1 - n))),
                                                   ensure_ascii=False), now)
             for n, aid in enumerate(annotator_ids)])
    total = len(prompt_of)
    for start in range(0, total, batch):
        assessment_rows, justification_rows = [], []
        for i in range(start, min(total, start + batch)):
            pid, aid = prompt_ids[prompt_of[i]], annotator_ids[annotator_of[i]]
            a = gen_ca1.assessment(pid, aid, key(i))
            blocks = a["ranking_blocks"]
            row_id = assessment_id(pid, aid)
            personal = blocks["personal"][0]["ranking"] if "personal" in blocks else None
            unacceptable = json.dumps(blocks["unacceptable"][0]["rating"]) if "unacceptable" in blocks else "[]"
            assessment_rows.append((row_id, conversation_id(pid), participant_id(aid), a["importance"],
                                    a["representativeness"], a["subjectivity"], personal,
                                    blocks["world"][0]["ranking"], unacceptable, now))
            for block, entries in blocks.items():
                entry = entries[0]
                ranking = json.dumps(entry["rating"]) if block == "unacceptable" else entry["ranking"]
                justification_rows.append((justification_id(pid, aid, block, 0), row_id, block, ranking,
                                           entry["rationale"], now))
        with store.db.atomic():
            conn.executemany(
                "INSERT INTO assessments (id, conversation_id, participant_id, importance, representativeness,"
                " subjectivity, personal_ranking, world_ranking, unacceptable, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", assessment_rows)
            conn.executemany(
                "INSERT INTO justifications (id, assessment_id, block, position, ranking, text, created_at)"
                " VALUES (?, ?, ?, 0, ?, ?, ?)", justification_rows)


def build_proposal(store: Store, links: int) -> str:
    """A proposal linked to the first conversations holding about ``links`` justifications, labelled.

    Eight links in nine get a rule label, one in five a model label and one in fifty a person label
    (so each label-source filter keeps some, and some links are unlabelled), with stances varying within a conversation (so the divisive
    order has splits to sort). An opinion-group run puts every participant in one of four groups.
    """
    conn = store.db.conn
    chosen, held = [], 0
    for cid, n in conn.execute(
        "SELECT a.conversation_id, count(*) FROM justifications j JOIN assessments a ON a.id = j.assessment_id"
        " GROUP BY a.conversation_id ORDER BY min(a.rowid)"
    ):
        if held >= links:
            break
        chosen.append(cid)
        held += n
    proposal = store.add_proposal(
        title="Bench", intent="Benchmark.", kind="clarification", origin="human-first", base_revision="a" * 40,
        sections=[ProposalSection("s", "## S {#s}\n", "## S {#s}\nnew\n")], created_by="bench",
        linked_conversations=chosen,
    )
    now = utc_now()
    ids = [r[0] for r in conn.execute(
        "SELECT justification_id FROM evidence_current WHERE proposal_id = ? ORDER BY justification_id", [proposal.id])]
    stances = ("supports", "refutes", "supports", "no_comment", "refutes", "supports", "refutes")
    with store.db.atomic():
        for kind, name, keep in (("rule", "ranking-rule v1", lambda n: n % 9 != 8),
                                 ("model", "bench-model", lambda n: n % 5 == 0),
                                 ("person", "Bench", lambda n: n % 50 == 0)):
            conn.executemany(
                "INSERT INTO stance_labels (id, proposal_id, justification_id, stance, source_kind, source_name,"
                " detail, created_at) VALUES (?, ?, ?, ?, ?, ?, '{}', ?)",
                [(stable_id("bench", kind, jid), proposal.id, jid, stances[(n * 3 + len(kind)) % len(stances)],
                  kind, name, now) for n, jid in enumerate(ids) if keep(n)],
            )
        _opinion_groups(store, now)
    return proposal.id


def _opinion_groups(store: Store, now: str) -> None:
    """A stored opinion-group run (as ``groups.compute`` writes one) putting every participant in one of four groups."""
    conn = store.db.conn
    participants = [r[0] for r in conn.execute("SELECT id FROM participants ORDER BY rowid")]
    run_id = stable_id("bench", "group-run")
    conn.execute(
        "INSERT INTO group_runs (id, source, params, input_digest, k, participants, left_out, items, entries,"
        " created_at, created_by) VALUES (?, 'ca1', '{}', 'bench', 4, ?, 0, 0, 0, ?, 'bench')",
        [run_id, len(participants), now])
    conn.executemany(
        "INSERT INTO group_members (run_id, participant_id, group_index, x, y) VALUES (?, ?, ?, 0, 0)",
        [(run_id, pid, n % 4) for n, pid in enumerate(participants)])


def _like_scan(store: Store, words: list[str]) -> int:
    where = " AND ".join("text LIKE ?" for _ in words)
    found = store.db.execute(f"SELECT count(*) FROM justifications WHERE {where}", [f"%{w}%" for w in words])
    count = int(found.fetchone()[0])
    where = " AND ".join("(prompt || responses) LIKE ?" for _ in words)
    found = store.db.execute(f"SELECT count(*) FROM conversations WHERE {where}", [f"%{w}%" for w in words])
    return count + int(found.fetchone()[0])


def _like_links(store: Store, proposal_id: str, words: list[str]) -> int:
    """The baseline of a filtered read: the proposal's links read with their texts by plain SQL."""
    where = "".join(" AND j.text LIKE ?" for _ in words)
    return len(store.db.execute(
        "SELECT e.justification_id, e.stance, j.text FROM evidence_current e JOIN justifications j"
        f" ON j.id = e.justification_id WHERE e.proposal_id = ?{where}",
        [proposal_id, *(f"%{w}%" for w in words)]).fetchall())


def _words(query: str) -> list[str]:
    return [w for w in query.replace('"', " ").split() if w.isalnum() or any(c.isalpha() for c in w)]


def _triage_filters(store: Store, proposal_id: str) -> list[tuple[str, EvidenceFilter]]:
    choices = filter_choices(store, proposal_id)
    country = choices.countries[0][0]
    language = next(lang for lang, _n in choices.languages if lang != "en")
    return [
        ("no filter (the plain lists)", EvidenceFilter()),
        (f"country {country}", EvidenceFilter(country=country)),
        (f"language {language}", EvidenceFilter(language=language)),
        ("source person", EvidenceFilter(source="person")),
        ("source model", EvidenceFilter(source="model")),
        ("source rule", EvidenceFilter(source="rule")),
        ("source none (unlabelled)", EvidenceFilter(source="none")),
        ("group demographic age", EvidenceFilter(group="demographic:age=25-34")),
        ("group opinion B", EvidenceFilter(group="opinion:B")),
        ("most divisive", EvidenceFilter(sort=EvidenceSort.DIVISIVE)),
        ("search honest", EvidenceFilter(search="honest")),
        ("search hone (prefix)", EvidenceFilter(search="hone")),
        ('search "explain the risks"', EvidenceFilter(search='"explain the risks"')),
        ("search 回答", EvidenceFilter(search="回答")),
        ("search zebra (nothing)", EvidenceFilter(search="zebra")),
        (f"honest + {country} + divisive", EvidenceFilter(search="honest", country=country,
                                                           sort=EvidenceSort.DIVISIVE)),
        (f"rule + {language} + opinion A", EvidenceFilter(source="rule", language=language, group="opinion:A")),
    ]


def _triage_read(conn: sqlite3.Connection, proposal_id: str, filt: EvidenceFilter, index: Path) -> str:
    """What the evidence view reads when the filter changes: the counts and the first page of each list.

    Returns the links kept, as the view would show them ("≥" when a capped search made it a floor).
    """
    if not filt.active:
        from reviewer.evidence import evidence_page

        return f"{sum(len(evidence_page(conn, proposal_id, s, limit=PAGE)) for s in LISTS):,}"
    counts = triage_counts(conn, proposal_id, filt, index=index)
    for s in LISTS:
        triage_page(conn, proposal_id, s, filt, limit=PAGE, index=index)
    return f"{'≥' if counts.capped else ''}{counts.shown:,}"


def _empty_cache() -> None:
    with triage._cache_lock:
        triage._cache.clear()
        triage._choices_cache.clear()


def _build(folder: Path, args: argparse.Namespace) -> Store:
    db = folder / "reviewer.db"
    if db.exists():
        store = Store.open(db)
        print(f"data: reusing {db}")
        return store
    store = Store.open(db, create=True)
    if args.import_:
        started = time.perf_counter()
        files = gen_ca1.generate(folder / "ca1", args.assessments)
        written = time.perf_counter() - started
        started = time.perf_counter()
        import_ca1(store, list(files.values()))
        print(f"data: {args.assessments:,} assessments written by gen_ca1.py in {written:.1f} s"
              f" ({sum(p.stat().st_size for p in files.values()) / 1e6:,.0f} MB), imported by import_ca1"
              f" in {time.perf_counter() - started:.1f} s")
        shutil.rmtree(folder / "ca1", ignore_errors=True)
    else:
        started = time.perf_counter()
        build_direct(store, args.assessments)
        print(f"data: {args.assessments:,} assessments written directly (build_direct, not the import)"
              f" in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    build_proposal(store, args.links)
    print(f"proposal linked and labelled in {time.perf_counter() - started:.1f} s")
    return store


def main(argv: list[str] | None = None) -> int:  # noqa: C901 - one measurement script
    """Build the data, run the benchmark and print the figures.

    Args:
        argv: Command line arguments (default: sys.argv[1:]).

    Returns:
        0 when every search and filtered read is under the target, 1 otherwise.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--justifications", type=int, default=1_000_000,
                      help="about this many justifications (default 1,000,000)")
    size.add_argument("--assessments", type=int, help="this many assessments (about 1.44 justifications each)")
    parser.add_argument("--import", dest="import_", action="store_true",
                        help="write the release files and import them through the product (slow at 1M)")
    parser.add_argument("--links", type=int, default=50_000, help="justifications linked to the triaged proposal")
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--data", type=Path, help="keep the data in DIR and reuse it on the next run")
    args = parser.parse_args(argv)
    if args.assessments is None:
        args.assessments = round(args.justifications / JUSTIFICATIONS_PER_ASSESSMENT)
    print(f"machine at the start: {_load()}")
    folder = args.data or Path(tempfile.mkdtemp(prefix="bench-search-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        store = _build(folder, args)
        counts = {t: store.db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("conversations", "justifications", "assessments")}
        proposal_id = store.db.execute("SELECT id FROM proposals WHERE title = 'Bench'").fetchone()[0]
        links = store.db.execute("SELECT count(*) FROM evidence_current WHERE proposal_id = ?",
                                 [proposal_id]).fetchone()[0]
        print(f"data: {counts['justifications']:,} justifications, {counts['conversations']:,} conversations,"
              f" {counts['assessments']:,} assessments; the proposal has {links:,} links")
        index = folder / "search.db"
        built = update_index(store, index)
        size_mb = sum(p.stat().st_size for p in folder.glob("search.db*")) / 1e6
        print(f"index: {built.action} ({built.entries:,} entries) in {built.seconds:.1f} s, {size_mb:,.0f} MB")
        fresh = _timed(lambda: update_index(store, index), args.repeat)
        print(f"index check when fresh: {statistics.median(fresh):.2f} ms median")
        more = gen_ca1.generate(folder / "more", 2_000, seed=7)
        import_ca1(store, list(more.values()))
        shutil.rmtree(folder / "more", ignore_errors=True)
        appended = update_index(store, index)
        print(f"index after a 2,000-assessment import: {appended.action}, {appended.entries:,} entries"
              f" in {appended.seconds:.2f} s")

        worst_of_all, failed = 0.0, []
        print(f"\nsearch (reviewer.search.search, {args.repeat} runs each)")
        print(f"{'query':<30} {'matches':>8} {'median':>9} {'worst':>9} {'LIKE scan':>10} {'faster':>7}")
        for query in QUERIES:
            result = search(store, query, index=index)
            times = _timed(lambda q=query: search(store, q, index=index), args.repeat)
            words = _words(query)
            like = _timed(lambda w=words: _like_scan(store, w), max(3, args.repeat // 3))
            matches = f">{RANK_LIMIT:,}" if result.more else f"{result.matches:,}"
            median, worst, base = statistics.median(times), max(times), statistics.median(like)
            worst_of_all = max(worst_of_all, worst)
            if worst >= TARGET_MS:
                failed.append(query)
            print(f"{query:<30} {matches:>8} {median:6.1f} ms {worst:6.1f} ms {base:7.0f} ms {base / median:6.1f}x")

        # On a read-only connection opened as the evidence view's page reader opens its own.
        reader = open_read_only(folder / "reviewer.db")
        print(f"\nevidence triage on the proposal's {links:,} links (counts + first page of the four lists,"
              f" cache emptied; {args.repeat} runs each)")
        print(f"{'filter':<34} {'kept':>7} {'median':>9} {'worst':>9} {'SQL read':>9} {'ratio':>6}")
        unmeasured: list[str] = []
        for title, filt in _triage_filters(store, proposal_id):
            try:
                kept = _triage_read(reader, proposal_id, filt, index)
            except KnownError as exc:  # a filter this version does not have
                print(f"{title:<34} not measured: {exc}")
                unmeasured.append(title)
                continue
            times = _timed(lambda f=filt: _triage_read(reader, proposal_id, f, index), args.repeat, _empty_cache)
            words = _words(filt.search)
            base_times = _timed(lambda w=words: _like_links(store, proposal_id, w),
                                max(3, args.repeat // 3))
            median, worst, base = statistics.median(times), max(times), statistics.median(base_times)
            worst_of_all = max(worst_of_all, worst)
            if worst >= TARGET_MS:
                failed.append(title)
            print(f"{title:<34} {kept:>7} {median:6.1f} ms {worst:6.1f} ms {base:6.0f} ms {median / base:5.2f}x")
        rest = {
            "evidence_summary": _timed(lambda: evidence_summary(reader, proposal_id), args.repeat),
            "filter_choices, first read": _timed(lambda: filter_choices(reader, proposal_id), args.repeat,
                                                 _empty_cache),
            "filter_choices, read again (cached)": _timed(lambda: filter_choices(reader, proposal_id), args.repeat),
        }
        for name, times in rest.items():
            print(f"the rest of the view's read, {name}: {statistics.median(times):.1f} ms median,"
                  f" worst {max(times):.1f} ms")

        reader.close()
        print(f"\npeak memory (RSS) of this process, building the data included: {_peak_mb():,.0f} MB;"
              f" machine at the end: {_load()}")
        ok = not failed and not unmeasured
        verdict = "PASS" if ok else "FAIL: " + ", ".join(failed) if failed else "NOT ALL MEASURED"
        print(f"target: every search and filtered read under {TARGET_MS:.0f} ms (worst {worst_of_all:.1f} ms):"
              f" {verdict}" + (f" ({len(unmeasured)} not measured: {', '.join(unmeasured)})" if unmeasured else ""))
        store.close()
        return 0 if ok else 1
    finally:
        if args.data is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
