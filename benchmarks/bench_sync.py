"""Sync of 10,000 events between two workspaces through a bare remote (issue 12).

Target: < 10 s for the receiving machine's sync. Machine A (the demo workspace) makes the events
(9,000 stance labels set by people and 1,000 decisions), publishes them and sends them; machine B,
a copy of A from before, receives them: fetch, append, rebuild the record from the log, check it,
apply the record in one transaction. Baselines in the same run: `git fetch` of the same ref into a third clone
(the transport alone) and `audit rebuild` of A (the rebuild alone).

    .venv/bin/python benchmarks/bench_sync.py [--events N]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reviewer import operations  # noqa: E402
from reviewer.ops import publish_log  # noqa: E402
from reviewer.rebuild import rebuild_workspace  # noqa: E402
from reviewer.workspace import Workspace  # noqa: E402

TARGET_S = 10.0
PROPOSALS = ["3f6c2a8e-5b1d-4e7a-9c24-8d1e0f7b6a53", "5e27d8a4-61bf-4c09-93d2-e84a0b5f1c76"]


def git(*args: str) -> str:
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout.strip()


def make_events(a: Workspace, events: int) -> None:
    """Make ``events`` events on the demo workspace ``a`` (nine in ten stance labels, one in ten decisions), published."""
    log, a.store.log_ref = a.store.log_ref, None  # made as one batch, published at once below
    links = [r[0] for r in a.store.db.execute(
        "SELECT justification_id FROM evidence_current WHERE proposal_id = ? LIMIT 300", [PROPOSALS[0]])]
    decisions = events // 10
    for i in range(events - decisions):
        operations.set_stance(a, PROPOSALS[0], links[i % len(links)], ("supports", "refutes")[i % 2],
                              actor=("Amara Okafor", "Jonas Lindqvist")[i % 2])
    for i in range(decisions):
        operations.decide(a, PROPOSALS[i % 2], "defer", f"Round {i}.", reason="needs-research",
                          actor=("Amara Okafor", "Jonas Lindqvist")[i % 2])
    a.store.log_ref = log
    publish_log(a.store)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        remote = tmp / "remote.git"
        git("init", "--quiet", "--bare", str(remote))
        a_root, b_root = tmp / "a", tmp / "b"
        with Workspace.create_demo(a_root) as a:
            git("-C", str(a.spec_repo_path), "remote", "add", "origin", str(remote))
            operations.sync(a, actor="Amara Okafor")
        shutil.copytree(a_root, b_root, symlinks=True)
        started = time.perf_counter()
        with Workspace.open(a_root) as a:
            make_events(a, args.events)
            log = a.store.log_ref
            made = time.perf_counter() - started
            start = time.perf_counter()
            sent = operations.sync(a, actor="Amara Okafor").value
            send_s = time.perf_counter() - start
            start = time.perf_counter()
            rebuild_workspace(a, tmp / "rebuilt.db")
            rebuild_s = time.perf_counter() - start
        clone = tmp / "transport"
        git("init", "--quiet", str(clone))
        start = time.perf_counter()
        git("-C", str(clone), "fetch", "--quiet", str(remote), f"+{log.ref}:{log.ref}")
        fetch_s = time.perf_counter() - start
        with Workspace.open(b_root) as b:
            start = time.perf_counter()
            received = operations.sync(b, actor="Jonas Lindqvist").value
            receive_s = time.perf_counter() - start
    print(f"made {args.events:,} events on machine A in {made:.1f} s; A sent {sent.pushed} commits in {send_s:.2f} s")
    print(f"machine B received {len(received.received):,} events in {receive_s:.2f} s "
          f"(the transport alone, `git fetch`: {fetch_s:.2f} s; A's `audit rebuild` alone: {rebuild_s:.2f} s; "
          f"{receive_s / (fetch_s + rebuild_s):.2f}x the two); target < {TARGET_S:.0f} s: "
          f"{'PASS' if receive_s < TARGET_S else 'FAIL'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
