"""Benchmark full-text search over ~86,000 justifications and ~3,500 conversations against a plain LIKE scan.

Run: .venv/bin/python benchmarks/bench_search.py [--assessments N] [--repeat R]

Writes a synthetic CA-1 release with ``gen_ca1.py`` (60,000 assessments: about 86,000
justifications in seven languages and scripts, 3,500 conversations with four responses each),
imports it into a fresh workspace database in a temporary folder, then measures:

- building the search index from nothing (``update_index``, the first search's cost), and the
  check a later search makes (index fresh);
- appending after a second import (2,000 more assessments);
- each query of ``QUERIES`` through ``reviewer.search.search`` (the index check, the count, the
  order, the snippets and the rows read back from the store), median and worst of R runs;
- the baseline, measured in the same run: the same words found with ``LIKE '%word%'`` over the
  justification texts and the stored prompts and responses (a full scan, as search without an
  index must do).

The generator's vocabulary is tiny (a few dozen words per language), so nearly every query
matches tens of thousands of entries: the worst case for ranking and counting. Target: every
search under 100 ms. Exit 1 when one is not.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from gen_ca1 import generate  # noqa: E402

from reviewer.ca1 import import_ca1  # noqa: E402
from reviewer.search import RANK_LIMIT, search, update_index  # noqa: E402
from reviewer.store import Store  # noqa: E402

TARGET_MS = 100.0
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


def _timed(func, repeat: int) -> list[float]:
    func()  # warm up
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        func()
        out.append((time.perf_counter() - started) * 1000)
    return out


def _like_scan(store: Store, words: list[str]) -> int:
    where = " AND ".join("text LIKE ?" for _ in words)
    found = store.db.execute(f"SELECT count(*) FROM justifications WHERE {where}", [f"%{w}%" for w in words])
    count = int(found.fetchone()[0])
    where = " AND ".join("(prompt || responses) LIKE ?" for _ in words)
    found = store.db.execute(f"SELECT count(*) FROM conversations WHERE {where}", [f"%{w}%" for w in words])
    return count + int(found.fetchone()[0])


def main(argv: list[str] | None = None) -> int:
    """Build the data, run the benchmark and print the figures.

    Args:
        argv: Command line arguments (default: sys.argv[1:]).

    Returns:
        0 when every search is under the target, 1 otherwise.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assessments", type=int, default=60_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="bench-search-"))
    try:
        files = generate(folder / "ca1", args.assessments)
        store = Store.open(folder / "reviewer.db", create=True)
        started = time.perf_counter()
        import_ca1(store, list(files.values()))
        counts = {t: store.db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("conversations", "justifications")}
        print(f"data: {counts['justifications']:,} justifications, {counts['conversations']:,} conversations"
              f" (imported in {time.perf_counter() - started:.1f} s)")
        index = folder / "search.db"
        built = update_index(store, index)
        size = sum(p.stat().st_size for p in folder.glob("search.db*")) / 1e6
        print(f"index built: {built.entries:,} entries in {built.seconds:.2f} s, {size:.0f} MB")
        fresh = _timed(lambda: update_index(store, index), args.repeat)
        print(f"index check when fresh: {statistics.median(fresh):.2f} ms median")
        more = generate(folder / "more", 2_000, seed=7)
        import_ca1(store, list(more.values()))
        appended = update_index(store, index)
        print(f"index appended after a 2,000-assessment import: {appended.entries:,} entries"
              f" in {appended.seconds:.2f} s ({appended.action})")
        print(f"\n{'query':<28} {'matches':>8} {'search median':>14} {'worst':>8} {'LIKE scan':>10} {'ratio':>6}")
        worst_of_all = 0.0
        for query in QUERIES:
            result = search(store, query, index=index)
            times = _timed(lambda q=query: search(store, q, index=index), args.repeat)
            words = [w for w in query.replace('"', " ").split() if w.isalnum() or any(c.isalpha() for c in w)]
            like = _timed(lambda w=words: _like_scan(store, w), max(3, args.repeat // 5))
            matches = f">{RANK_LIMIT}" if result.more else str(result.matches)
            median, worst = statistics.median(times), max(times)
            worst_of_all = max(worst_of_all, worst)
            print(f"{query:<28} {matches:>8} {median:11.1f} ms {worst:5.1f} ms {statistics.median(like):7.0f} ms"
                  f" {statistics.median(like) / median:5.0f}x")
        ok = worst_of_all < TARGET_MS
        print(f"\ntarget: every search under {TARGET_MS:.0f} ms (worst {worst_of_all:.1f} ms): {'PASS' if ok else 'FAIL'}")
        store.close()
        return 0 if ok else 1
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
