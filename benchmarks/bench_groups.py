"""Benchmark opinion groups on 1,000,000 assessments from 100,000 participants, against baselines in the same run.

Run: .venv/bin/python benchmarks/bench_groups.py [--participants N] [--per-participant N] [--conversations N]

Builds (once, in a temporary folder) a workspace database with --participants participants in four
planted opinion groups, each ranking --per-participant of --conversations conversations (world
rankings: the group's favourite order, or a random one 30% of the time). Then measures, each step in
a fresh Python process so that its peak memory (``resource.getrusage`` max RSS) is its own:

- ``read``: the floor for any method that reads the store: the rows the matrix is made of, fetched
  from SQLite in storage order (``SELECT participant_id, conversation_id, world_ranking ...``);
- ``kmeans``: scikit-learn's KMeans alone, k from 2 to 5 with 10 starts each, on 100,000 points in
  two dimensions (four well-separated blobs, not the product's SVD coordinates: its iterations
  differ), on one thread as the product runs it (a reference for k-means' share, not a measure of it);
- ``matrix``: ``reviewer.groups.crowd_matrix`` (read, number, digest: the sparse matrix);
- ``groups``: the whole ``groups.compute`` operation (matrix, centring, truncated SVD, k-means for
  k 2-5 with silhouette on a 5,000 sample, representativeness, writing 100,000 assignments and the
  event with its digests), with the adjusted Rand index of the groups found against the planted ones.

Targets (issue 15): the whole operation under 30 s and under 2 GB.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_SECONDS = 30.0
TARGET_MB = 2048.0
GROUPS = 4
LETTERS = "ABCD"


def _id(kind: int, i: int) -> str:
    return str(uuid.UUID(int=(kind << 96) | i))


def build(path: Path, participants: int, per_participant: int, conversations: int, seed: int = 0) -> None:
    import itertools

    import numpy as np

    from reviewer.store import Store

    rng = np.random.default_rng(seed)
    orders = [">".join(p) for p in itertools.permutations(LETTERS)]
    favourite = rng.integers(0, len(orders), size=(GROUPS, conversations))
    planted = rng.integers(0, GROUPS, participants)
    store = Store.open(path, create=True)
    db = store.db.conn
    now = "2026-01-01T00:00:00.000000Z"
    db.execute("PRAGMA foreign_keys = OFF")
    db.execute("BEGIN")
    conv_ids = [_id(1, i) for i in range(conversations)]
    db.executemany("INSERT INTO conversations (id, source, source_id, prompt, responses, created_at)"
                   " VALUES (?, 'ca1', ?, '[]', '[]', ?)", [(c, c, now) for c in conv_ids])
    part_ids = [_id(2, i) for i in range(participants)]
    db.executemany("INSERT INTO participants (id, source, source_id, demographics, created_at)"
                   " VALUES (?, 'ca1', ?, ?, ?)",
                   [(p, p, json.dumps({"planted": int(g)}), now) for p, g in zip(part_ids, planted)])
    rows = []
    written = 0
    for i in range(participants):
        chosen = rng.choice(conversations, per_participant, replace=False)
        loyal = rng.random(per_participant) < 0.7
        random_orders = rng.integers(0, len(orders), per_participant)
        for c, keep, other in zip(chosen, loyal, random_orders):
            ranking = orders[favourite[planted[i], c]] if keep else orders[other]
            rows.append((_id(3, written), conv_ids[c], part_ids[i], ranking, now))
            written += 1
        if len(rows) >= 200_000:
            db.executemany("INSERT INTO assessments (id, conversation_id, participant_id, world_ranking, created_at)"
                           " VALUES (?, ?, ?, ?, ?)", rows)
            rows.clear()
    db.executemany("INSERT INTO assessments (id, conversation_id, participant_id, world_ranking, created_at)"
                   " VALUES (?, ?, ?, ?, ?)", rows)
    db.execute("COMMIT")
    store.close()


def step(name: str, db_path: Path) -> dict[str, float]:
    """Run one measured step in this process; returns its seconds and this process's peak RSS in MB."""
    import numpy as np

    from reviewer.store import Store

    out: dict[str, float] = {}
    if name == "kmeans":
        from sklearn.cluster import KMeans
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1)  # as groups.find_groups runs it
        points = np.random.default_rng(0).normal(size=(100_000, 2)) + np.repeat(
            np.array([[0, 0], [4, 0], [0, 4], [4, 4]]), 25_000, axis=0)
        start = time.perf_counter()
        for k in range(2, 6):
            KMeans(n_clusters=k, n_init=10, random_state=0).fit(points)
        out["seconds"] = time.perf_counter() - start
    else:
        store = Store.open(db_path)
        try:
            start = time.perf_counter()
            if name == "read":
                rows = store.db.conn.execute(
                    "SELECT participant_id, conversation_id, coalesce(world_ranking, personal_ranking)"
                    " FROM assessments").fetchall()
                out["rows"] = len(rows)
            elif name == "matrix":
                from reviewer.groups import crowd_matrix

                matrix = crowd_matrix(store, "ca1")
                out["entries"] = matrix.entries
            else:
                from reviewer.groups import assignments, compute_groups

                run = compute_groups(store, "ca1", actor="bench", force=True)
                out["seconds"] = time.perf_counter() - start
                out.update(k=run.k, grouped=run.participants, left_out=run.left_out,
                           silhouette=run.silhouette or 0.0)
                found = assignments(store, run.id)
                planted = dict(store.db.conn.execute(
                    "SELECT id, json_extract(demographics, '$.planted') FROM participants"))
                from sklearn.metrics import adjusted_rand_score

                common = sorted(found)
                out["ari_planted"] = float(adjusted_rand_score([planted[p] for p in common],
                                                               [found[p] for p in common]))
            out.setdefault("seconds", time.perf_counter() - start)
        finally:
            store.close()
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return out


def _child(name: str, db_path: Path) -> dict[str, float]:
    done = subprocess.run([sys.executable, __file__, "--step", name, "--db", str(db_path)], check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=100_000)
    parser.add_argument("--per-participant", type=int, default=10)
    parser.add_argument("--conversations", type=int, default=5_000)
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        print(json.dumps(step(args.step, Path(args.db))))
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-groups-") as folder:
        db_path = Path(folder) / "reviewer.db"
        started = time.perf_counter()
        build(db_path, args.participants, args.per_participant, args.conversations)
        assessments = args.participants * args.per_participant
        print(f"built {assessments:,} assessments from {args.participants:,} participants on"
              f" {args.conversations:,} conversations in {time.perf_counter() - started:.1f} s")
        results = {name: _child(name, db_path) for name in ("read", "kmeans", "matrix", "groups")}
    base = results["read"]
    print(f"{'step':<8} {'seconds':>8} {'x read':>7} {'peak MB':>8} {'x read':>7}")
    for name, r in results.items():
        print(f"{name:<8} {r['seconds']:>8.2f} {r['seconds'] / base['seconds']:>7.2f} {r['peak_mb']:>8.0f}"
              f" {r['peak_mb'] / base['peak_mb']:>7.2f}")
    g = results["groups"]
    print(f"groups: k={int(g['k'])}, {int(g['grouped']):,} grouped, {int(g['left_out']):,} left out,"
          f" silhouette {g['silhouette']:.3f}, adjusted Rand index against the planted groups {g['ari_planted']:.3f}")
    ok = g["seconds"] < TARGET_SECONDS and g["peak_mb"] < TARGET_MB
    print(f"target < {TARGET_SECONDS:.0f} s and < {TARGET_MB:.0f} MB: {'met' if ok else 'NOT met'}"
          f" ({g['seconds']:.1f} s, {g['peak_mb']:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
