"""Joining a board: a workspace with 10,000 events and a 50 MB CA-1 import, rebuilt on a new machine (issue 12).

Target: < 60 s for ``spec-review init --join``. Machine A is the demo workspace plus a synthetic
CA-1 release of about 50 MB (two files, each carried on the log ref) and 10,000 events (stance
labels set by people and decisions, as in ``bench_sync``), synced to a bare remote with the spec's
branch and tags. The new machine clones the remote, receives every event, runs the imports again
from the files the log carries, and checks the rebuilt record. Baselines in the same run:
``git clone`` of the remote plus a fetch of the log ref (the transport), and the same CA-1 import
into a copy of the demo workspace (the import alone).

    .venv/bin/python benchmarks/bench_join.py [--events N] [--assessments N]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_sync import make_events  # noqa: E402
from gen_ca1 import generate  # noqa: E402

from reviewer import operations  # noqa: E402
from reviewer.join import join  # noqa: E402
from reviewer.replay import verify_workspace  # noqa: E402
from reviewer.workspace import Workspace  # noqa: E402

TARGET_S = 60.0


def git(*args: str) -> str:
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--assessments", type=int, default=28_000, help="28,000 make about 50 MB of CA-1 files")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        files = generate(tmp / "release", args.assessments)
        size = sum(p.stat().st_size for p in files.values())
        remote = tmp / "remote.git"
        a_root, import_root = tmp / "a", tmp / "import-alone"
        with Workspace.create_demo(a_root) as a:
            spec = a.spec_repo_path
            branch = git("-C", str(spec), "rev-parse", "--abbrev-ref", "HEAD")
            git("init", "--quiet", "--bare", f"--initial-branch={branch}", str(remote))
            git("-C", str(spec), "remote", "add", "origin", str(remote))
            git("-C", str(spec), "push", "--quiet", "--tags", "origin", branch)
        shutil.copytree(a_root, import_root, symlinks=True)
        with Workspace.open(a_root) as a:
            operations.import_ca1(a, list(files.values()), actor="Amara Okafor")
            make_events(a, args.events)
            operations.sync(a, actor="Amara Okafor")
            events = a.store.db.execute("SELECT count(*) FROM audit_events").fetchone()[0]
            assessments = a.store.db.execute("SELECT count(*) FROM assessments").fetchone()[0]
        start = time.perf_counter()
        git("clone", "--quiet", str(remote), str(tmp / "transport"))
        git("-C", str(tmp / "transport"), "fetch", "--quiet", "origin", "+refs/spec-review/*:refs/spec-review/*")
        clone_s = time.perf_counter() - start
        with Workspace.open(import_root) as alone:
            start = time.perf_counter()
            operations.import_ca1(alone, list(files.values()), actor="Amara Okafor")
            import_s = time.perf_counter() - start
        shutil.rmtree(files["comparisons"].parent)  # the new machine has only what the log carries
        start = time.perf_counter()
        joined, report = join(tmp / "joined", str(remote), actor="Ada Byron")
        join_s = time.perf_counter() - start
        with joined:
            ok = verify_workspace(joined).ok
            same = joined.store.db.execute("SELECT count(*) FROM assessments").fetchone()[0] == assessments
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"board: {events:,} events, a CA-1 import of {size / 1e6:.1f} MB ({assessments:,} assessments in all)")
    print(f"joined in {join_s:.1f} s, {len(report.received):,} events received; verify "
          f"{'intact' if ok and same else 'NOT intact'} (the transport alone, `git clone` + fetch of the log: "
          f"{clone_s:.1f} s; the import alone: {import_s:.1f} s; {join_s / (clone_s + import_s):.2f}x the two); "
          f"peak memory of this process {peak:,.0f} MB; target < {TARGET_S:.0f} s: "
          f"{'PASS' if join_s < TARGET_S and ok and same else 'FAIL'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
