"""Benchmark the agreement analysis on a large synthetic workspace, against loading its rankings from SQLite.

Run: .venv/bin/python benchmarks/bench_agreement.py [--assessments N] [--sections N] [--resamples N]

Builds (once, in a temporary folder) a workspace database with 1,000,000 assessments: 50,000
conversations × 20 participants' world rankings, a ranker run, 80 sections with each conversation
graded 5 for one to three of them, and a country for every participant. Then times, in the same run:
(a) loading the rankings from SQLite and reducing them to per-assessment pair counts;
(b) the analysis: pooled agreement for the 80 sections and overall with 1,000 bootstrap resamples;
(c) the same split by country (19 groups).
Target: (b) under 2 s on the 2-core machine. Each figure is the best of --repeat runs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reviewer.agreement import (  # noqa: E402
    analyse,
    demographic_groups,
    load_agreement_data,
    section_memberships,
)
from reviewer.store import Store  # noqa: E402

TARGET = 2.0
COUNTRIES = [f"country-{i:02d}" for i in range(19)]
WEAK_ORDERS = ["A>B>C>D", "B>A>C>D", "A=B>C>D", "D>C>B>A", "C>A>B>D", "A>B=C>D", "B>C>A>D", "A>C>B=D",
               "D>A>B>C", "C=D>A>B", "A=B=C>D", "B>D>A>C"]


def build(path: Path, conversations: int, per_conversation: int, sections: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    store = Store.open(path, create=True)
    db = store.db.conn
    now = "2026-01-01T00:00:00.000000Z"
    db.execute("PRAGMA foreign_keys = OFF")  # bulk load of consistent synthetic rows
    db.execute("BEGIN")
    conv_ids = [f"c{i:07d}" for i in range(conversations)]
    db.executemany("INSERT INTO conversations (id, source, source_id, prompt, responses, created_at)"
                   " VALUES (?, 'bench', ?, '[]', '[]', ?)", [(c, c, now) for c in conv_ids])
    participants = conversations  # each participant reviews per_conversation prompts on average
    part_ids = [f"u{i:07d}" for i in range(participants)]
    countries = rng.integers(0, len(COUNTRIES), participants)
    db.executemany("INSERT INTO participants (id, source, source_id, demographics, created_at)"
                   " VALUES (?, 'bench', ?, ?, ?)",
                   [(p, p, f'{{"country_of_residence": "{COUNTRIES[k]}"}}', now) for p, k in zip(part_ids, countries)])
    db.execute("INSERT INTO ranker_runs (id, spec_revision, model, prompt_version, source, created_at)"
               " VALUES ('run', 'rev', 'bench-ranker', 'ranker-v1', 'bench', ?)", [now])
    ranker = rng.integers(0, len(WEAK_ORDERS), conversations)
    db.executemany("INSERT INTO ranker_rankings (id, run_id, conversation_id, ranking) VALUES (?, 'run', ?, ?)",
                   [(f"r{i}", c, WEAK_ORDERS[k]) for i, (c, k) in enumerate(zip(conv_ids, ranker))])
    # Each conversation's participants are a consecutive block (distinct within the conversation).
    crowd = rng.integers(0, len(WEAK_ORDERS), conversations * per_conversation)
    start = rng.integers(0, participants, conversations)

    def assessments():
        n = 0
        for i, c in enumerate(conv_ids):
            for j in range(per_conversation):
                yield (f"a{n}", c, part_ids[(start[i] + j) % participants], WEAK_ORDERS[crowd[n]], now)
                n += 1

    db.executemany("INSERT INTO assessments (id, conversation_id, participant_id, world_ranking, created_at)"
                   " VALUES (?, ?, ?, ?, ?)", assessments())
    section_ids = [f"section_{s:02d}" for s in range(sections)]
    grades = []
    for c in conv_ids:
        for s in rng.choice(sections, size=rng.integers(1, 4), replace=False):
            grades.append((f"g{len(grades)}", c, section_ids[s], now))
    db.executemany("INSERT INTO relevance_grades (id, conversation_id, section_id, grade, grader_kind, grader,"
                   " created_at) VALUES (?, ?, ?, 5, 'rule', 'bench', ?)", grades)
    db.execute("COMMIT")
    store.close()


def best(func, repeat):
    times, value = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        value = func()
        times.append(time.perf_counter() - t)
    return min(times), value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assessments", type=int, default=1_000_000)
    parser.add_argument("--per-conversation", type=int, default=20)
    parser.add_argument("--sections", type=int, default=80)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--db", type=Path, help="reuse or create the database here")
    args = parser.parse_args()
    conversations = args.assessments // args.per_conversation
    folder = Path(tempfile.mkdtemp(prefix="bench-agreement-"))
    path = args.db or folder / "reviewer.db"
    if not path.exists():
        t = time.perf_counter()
        build(path, conversations, args.per_conversation, args.sections)
        print(f"built {path} in {time.perf_counter() - t:.1f} s")
    store = Store.open(path)
    load_time, data = best(lambda: load_agreement_data(store), args.repeat)
    member_time, members = best(lambda: section_memberships(store, data, 5), args.repeat)
    memberships = {None: np.arange(len(data.conversation_ids))}
    memberships.update(members)
    sizes = [len(m) for m in members.values()]
    analysis_time, _ = best(lambda: analyse(data, memberships, resamples=args.resamples, seed=1), args.repeat)
    groups, names = demographic_groups(store, data, "country_of_residence")
    split_time, _ = best(lambda: analyse(data, memberships, groups=groups, group_names=names,
                                         resamples=args.resamples, seed=1), args.repeat)
    store.close()
    print(f"{len(data.agreeing):,} assessments, {len(data.conversation_ids):,} conversations, {len(members)} sections "
          f"(conversations graded 5 per section: {min(sizes)}–{max(sizes)}, total {sum(sizes):,}), "
          f"{args.resamples} resamples")
    print(f"(a) load rankings from SQLite + pair counts   {load_time:6.2f} s")
    print(f"    relevance grades -> section members       {member_time:6.2f} s")
    print(f"(b) agreement, {len(members)} sections + overall, bootstrap {analysis_time:6.2f} s "
          f"({analysis_time / load_time:.2f}x the load)  target < {TARGET:.1f} s: "
          f"{'PASS' if analysis_time < TARGET else 'FAIL'}")
    print(f"(c) the same split by country ({len(names)} groups)   {split_time:6.2f} s "
          f"({split_time / load_time:.2f}x the load)")
    return 0 if analysis_time < TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
