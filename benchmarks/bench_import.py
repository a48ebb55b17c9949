"""Benchmark the CA-1 importer against a minimal reference importer measured in the same run.

Run: .venv/bin/python benchmarks/bench_import.py [--assessments 1000000] [--data DIR]

A synthetic release (benchmarks/gen_ca1.py: comparisons.jsonl and annotators.jsonl, the same
assessments in both, as in the real release) is generated once into DIR and reused. Each importer
then runs in its own fresh process on its own fresh workspace database:

- reference: json.loads and sqlite3 executemany of the same rows (same ids, same tables, same
  indexes and triggers, same page cache), INSERT OR IGNORE, one transaction, no validation,
  no quarantine, no merge of duplicate copies, no audit event;
- real: ``reviewer.ca1.import_ca1`` (validation, quarantine, rankings normalised, merge of the
  copies in both files, audit event).

Figures: the real importer's rate as a ratio of the reference's (target >= 0.7), and the real
importer's peak resident memory (getrusage maxrss of its process; target < 400 MB).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RATE_TARGET = 0.7
MEMORY_TARGET_MB = 400
BATCH = 2000


def reference_import(db_path: Path, comparisons: Path, annotators: Path) -> dict[str, int]:
    """Write the same rows as the real importer with nothing but json.loads and executemany."""
    from reviewer.ids import utc_now
    from reviewer.importing import IMPORT_CACHE_KIB, fast_stable_id

    sid = fast_stable_id
    dumps = json.dumps
    conn = sqlite3.connect(str(db_path), isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute(f"PRAGMA cache_size = -{IMPORT_CACHE_KIB}")
    conn.execute("PRAGMA temp_store = MEMORY")
    created = utc_now()
    conv_sql = ("INSERT OR IGNORE INTO conversations (id, source, source_id, prompt, responses, extra, created_at)"
                " VALUES (?, 'ca1', ?, ?, ?, '{}', ?)")
    stub_sql = ("INSERT OR IGNORE INTO participants (id, source, source_id, demographics, extra, created_at)"
                " VALUES (?, 'ca1', ?, '{}', '{}', ?)")
    part_sql = ("INSERT INTO participants (id, source, source_id, demographics, extra, created_at)"
                " VALUES (?, 'ca1', ?, ?, '{}', ?) ON CONFLICT(id) DO UPDATE SET demographics = excluded.demographics")
    assess_sql = ("INSERT OR IGNORE INTO assessments (id, conversation_id, participant_id, importance,"
                  " representativeness, subjectivity, personal_ranking, world_ranking, unacceptable, extra,"
                  " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '{}', ?)")
    just_sql = ("INSERT OR IGNORE INTO justifications (id, assessment_id, block, position, ranking, text,"
                " language, created_at) VALUES (?, ?, ?, ?, ?, ?, NULL, ?)")
    convs: list[tuple] = []
    parts: list[tuple] = []
    stubs: list[tuple] = []
    assess: list[tuple] = []
    justs: list[tuple] = []

    def flush() -> None:
        conn.executemany(conv_sql, convs)
        conn.executemany(part_sql, parts)
        conn.executemany(stub_sql, stubs)
        conn.executemany(assess_sql, assess)
        conn.executemany(just_sql, justs)
        for rows in (convs, parts, stubs, assess, justs):
            rows.clear()

    def add_assessment(a: dict, prompt_id: str, annotator: str, conv_id: str) -> None:
        aid = sid("ca1", "assessment", prompt_id, annotator)
        blocks = a.get("ranking_blocks") or {}
        firsts = {}
        for block, entries in blocks.items():
            for position, entry in enumerate(entries):
                ranking = dumps(entry["rating"]) if block == "unacceptable" else entry["ranking"]
                if position == 0:
                    firsts[block] = ranking
                justs.append((sid("ca1", "justification", prompt_id, annotator, block, str(position)), aid, block,
                              position, ranking, entry.get("rationale") or "", created))
        assess.append((aid, conv_id, sid("ca1", "participant", annotator), a.get("importance"),
                       a.get("representativeness"), a.get("subjectivity"), firsts.get("personal"),
                       firsts.get("world"), firsts.get("unacceptable", "[]"), created))

    conn.execute("BEGIN")
    with open(comparisons, "rb") as handle:
        for line in handle:
            obj = json.loads(line)
            pid = obj["prompt_id"]
            conv_id = sid("ca1", "conversation", pid)
            convs.append((conv_id, pid, dumps(obj["prompt"], ensure_ascii=False),
                          dumps(obj["responses"], ensure_ascii=False), created))
            for a in obj["metadata"]["assessments"]:
                stubs.append((sid("ca1", "participant", a["annotator_id"]), a["annotator_id"], created))
                add_assessment(a, pid, a["annotator_id"], conv_id)
            if len(assess) >= BATCH:
                flush()
    flush()
    with open(annotators, "rb") as handle:
        for line in handle:
            obj = json.loads(line)
            annotator = obj["annotator_id"]
            parts.append((sid("ca1", "participant", annotator), annotator,
                          dumps(obj["demographics"], ensure_ascii=False), created))
            for a in obj["assessments"]:
                add_assessment(a, a["conversation_id"], annotator, sid("ca1", "conversation", a["conversation_id"]))
            if len(assess) >= BATCH:
                flush()
    flush()
    conn.execute("COMMIT")
    counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
              for t in ("conversations", "participants", "assessments", "justifications")}
    conn.close()
    return counts


def real_import(db_path: Path, comparisons: Path, annotators: Path) -> dict[str, int]:
    """Run the product's importer (files given in the unfavourable order: annotators first)."""
    from reviewer.ca1 import import_ca1
    from reviewer.store import Store

    store = Store.open(db_path)
    summary = import_ca1(store, [annotators, comparisons])
    if summary.quarantined:
        raise SystemExit(f"unexpected quarantine: {summary.first_problems}")
    counts = {t: store.db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
              for t in ("conversations", "participants", "assessments", "justifications")}
    store.close()
    return counts


def child(which: str, db_path: Path, comparisons: Path, annotators: Path) -> None:
    """Create a fresh workspace database, time one importer, print JSON figures."""
    from reviewer.store import Store

    Store.open(db_path, create=True).close()  # the schema, outside the timing
    func = reference_import if which == "reference" else real_import
    started = time.perf_counter()
    counts = func(db_path, comparisons, annotators)
    seconds = time.perf_counter() - started
    maxrss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "maxrss_mb": maxrss_kb / 1024, "counts": counts}))


def run_child(which: str, folder: Path, data: Path) -> dict:
    db_path = folder / f"{which}.db"
    result = subprocess.run(
        [sys.executable, __file__, "--child", which, "--db", str(db_path),
         str(data / "comparisons.jsonl"), str(data / "annotators.jsonl")],
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"{which} importer failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assessments", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each importer (best one counts)")
    parser.add_argument("--data", type=Path, help="folder for the generated release (reused when present)")
    parser.add_argument("--child", choices=["reference", "real"], help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("files", nargs="*", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.db, *args.files)
        return 0

    from benchmarks.gen_ca1 import generate

    data = args.data or Path(tempfile.gettempdir()) / f"spec-review-ca1-{args.assessments}"
    marker = data / "complete"
    if not marker.exists():
        print(f"Generating {args.assessments:,} assessments into {data} ...", flush=True)
        started = time.perf_counter()
        generate(data, args.assessments)
        marker.write_text("ok\n")
        print(f"  generated in {time.perf_counter() - started:.0f} s", flush=True)
    size_mb = sum((data / n).stat().st_size for n in ("comparisons.jsonl", "annotators.jsonl")) / 1e6
    for name in ("comparisons.jsonl", "annotators.jsonl"):  # warm the page cache for both runs alike
        with open(data / name, "rb") as handle:
            while handle.read(1 << 24):
                pass
    # Other processes share the machine: alternate the two importers and keep each one's best run.
    runs: dict[str, list[dict]] = {"reference": [], "real": []}
    for _ in range(args.repeat):
        for which in ("reference", "real"):
            with tempfile.TemporaryDirectory(dir=data) as tmp:
                runs[which].append(run_child(which, Path(tmp), data))
    reference = min(runs["reference"], key=lambda r: r["seconds"])
    real = min(runs["real"], key=lambda r: r["seconds"])
    real["maxrss_mb"] = max(r["maxrss_mb"] for r in runs["real"])
    if reference["counts"] != real["counts"]:
        print(f"WARNING: row counts differ: reference {reference['counts']}, real {real['counts']}")
    n = args.assessments
    ratio = reference["seconds"] / real["seconds"]
    rate_ok = ratio >= RATE_TARGET
    memory_ok = real["maxrss_mb"] < MEMORY_TARGET_MB
    print(f"best of {args.repeat} run(s) each, alternating; machine load {os.getloadavg()[0]:.1f}")
    print(f"input: {n:,} assessments in comparisons.jsonl + annotators.jsonl ({size_mb:,.0f} MB); rows: {real['counts']}")
    print(f"reference importer: {reference['seconds']:8.1f} s  {n / reference['seconds']:>10,.0f} assessments/s  "
          f"peak {reference['maxrss_mb']:6.0f} MB")
    print(f"real importer:      {real['seconds']:8.1f} s  {n / real['seconds']:>10,.0f} assessments/s  "
          f"peak {real['maxrss_mb']:6.0f} MB")
    print(f"rate ratio real/reference: {ratio:.2f} (target >= {RATE_TARGET})  {'PASS' if rate_ok else 'FAIL'}")
    print(f"peak memory of the real importer: {real['maxrss_mb']:.0f} MB = {real['maxrss_mb'] / MEMORY_TARGET_MB:.2f}"
          f" of the {MEMORY_TARGET_MB} MB budget  {'PASS' if memory_ok else 'FAIL'}")
    return 0 if rate_ok and memory_ok else 1


if __name__ == "__main__":
    sys.exit(main())
