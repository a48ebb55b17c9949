"""What writing each operation's events to the log ref adds to the operation (issue 12).

Target: a single operation's commit adds < 20 ms to the operation. Measured on a fresh demo
workspace: the same operation (a stance set by a person, and a decision) with the log ref and
with it switched off, alternating, best and median of N rounds; the baseline is one
``git commit-tree`` of a one-file tree in the same repository, in the same run.

    .venv/bin/python benchmarks/bench_logref.py [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reviewer import operations  # noqa: E402
from reviewer.ops import publish_log  # noqa: E402
from reviewer.workspace import Workspace  # noqa: E402

TARGET_MS = 20.0
PROPOSAL = "3f6c2a8e-5b1d-4e7a-9c24-8d1e0f7b6a53"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Workspace.create_demo(Path(tmp) / "ws") as ws:
        repo = ws.spec_repo_path
        log = ws.store.log_ref
        justifications = [r[0] for r in ws.store.db.execute(
            "SELECT justification_id FROM evidence_current WHERE proposal_id = ? LIMIT ?", [PROPOSAL, 4 * args.rounds])]
        stances = ["supports", "refutes"]
        with_ref: list[float] = []
        without: list[float] = []
        for i in range(args.rounds):
            for published in (True, False):
                ws.store.log_ref = log if published else None
                justification = justifications[2 * i + (0 if published else 1)]
                start = time.perf_counter()
                operations.set_stance(ws, PROPOSAL, justification, stances[i % 2], actor="Jonas Lindqvist")
                (with_ref if published else without).append((time.perf_counter() - start) * 1000)
            ws.store.log_ref = log
            publish_log(ws.store)  # what the unpublished run left: not timed
        tree = subprocess.run(["git", "-C", str(repo), "rev-parse", f"{log.tip()}^{{tree}}"], check=True,
                              capture_output=True, text=True).stdout.strip()
        baseline: list[float] = []
        for i in range(args.rounds):
            start = time.perf_counter()
            subprocess.run(["git", "-C", str(repo), "commit-tree", tree, "-m", f"baseline {i}"], check=True,
                           capture_output=True, env={"GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "",
                                                     "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "",
                                                     "PATH": "/usr/bin:/bin"})
            baseline.append((time.perf_counter() - start) * 1000)
        commits = int(subprocess.run(["git", "-C", str(repo), "rev-list", "--count", log.ref], check=True,
                                     capture_output=True, text=True).stdout)
    added_best = min(with_ref) - min(without)
    added_median = statistics.median(with_ref) - statistics.median(without)
    commit_tree = statistics.median(baseline)
    print(f"a stance set, {args.rounds} rounds: with the log ref {statistics.median(with_ref):.1f} ms median "
          f"(best {min(with_ref):.1f}), without {statistics.median(without):.1f} ms (best {min(without):.1f})")
    print(f"added by the log ref: {added_median:.1f} ms median, {added_best:.1f} ms best "
          f"({added_median / commit_tree:.2f}x one `git commit-tree`, {commit_tree:.1f} ms median); "
          f"target < {TARGET_MS:.0f} ms: {'PASS' if added_median < TARGET_MS else 'FAIL'}")
    print(f"the log ref holds {commits} commits")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
