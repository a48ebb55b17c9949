"""Benchmark committing an adopted proposal and verifying a large audit log.

Run: .venv/bin/python benchmarks/bench_governance.py [--releases DIR] [--rounds N] [--events N]

(a) commit one adopted proposal (the whole ``commit_adopted`` run: checks, recovery scan, apply,
    git commit with hooks, database record) in a repository with 1,000 commits, against a plain
    ``git commit`` of the same change in an identical repository; target at most 3x;
(b) ``audit.verify_chain`` over 1,000,000 events; target under 5 s.
Both sides of (a) are measured in the same run, best of N rounds (medians printed too).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reviewer import audit, committing, governance  # noqa: E402
from reviewer.proposals import add_proposal  # noqa: E402
from reviewer.spec import parse_spec  # noqa: E402
from reviewer.store import Store  # noqa: E402
from reviewer.workspace import Workspace  # noqa: E402

COMMIT_TARGET = 3.0
VERIFY_TARGET_S = 5.0
SPEC = "2025-04-11/model_spec.md"
ENV = {
    **os.environ,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.org",
    "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.org",
}


def git(repo: Path, *args: str, data: bytes | None = None) -> str:
    return subprocess.run(["git", *args], cwd=repo, env=ENV, input=data, check=True,
                          capture_output=True).stdout.decode().strip()


def build_repo(path: Path, spec: bytes, commits: int) -> None:
    """A repository with ``commits`` commits, written in one go with git fast-import."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    for key, value in (("user.name", "Bench"), ("user.email", "bench@example.org"), ("commit.gpgsign", "false")):
        git(path, "config", key, value)
    stream = bytearray()
    for i in range(1, commits + 1):
        message = f"History commit {i}\n".encode()
        stream += b"commit refs/heads/main\n"
        stream += f"committer Bench <bench@example.org> {1_700_000_000 + i} +0000\n".encode()
        stream += b"data %d\n%s\n" % (len(message), message)
        if i == 1:
            stream += b"M 100644 inline model_spec.md\ndata %d\n%s\n" % (len(spec), spec)
        notes = f"history line {i}\n".encode()
        stream += b"M 100644 inline history.txt\ndata %d\n%s\n" % (len(notes), notes)
    git(path, "fast-import", "--quiet", data=bytes(stream))
    git(path, "reset", "-q", "--hard", "main")


def bench_commit(releases: Path, rounds: int, commits: int) -> float:
    spec = (releases / SPEC).read_bytes()
    document = parse_spec(spec.decode("utf-8"))
    targets = [s for s in document.sections if s.id and s.body.count("\n") > 3][:rounds]
    tmp = Path(tempfile.mkdtemp(prefix="bench-governance-"))
    try:
        ours_repo, plain_repo = tmp / "ours", tmp / "plain"
        start = time.perf_counter()
        build_repo(ours_repo, spec, commits)
        shutil.copytree(ours_repo, plain_repo)
        print(f"built two repositories with {git(ours_repo, 'rev-list', '--count', 'HEAD')} commits "
              f"in {time.perf_counter() - start:.2f} s")
        workspace = Workspace.create(tmp / "ws", spec_repo=ours_repo)
        governance.add_member(workspace.store, "Ana", ["reviewer"])
        governance.add_member(workspace.store, "Ben", ["reviewer"])
        governance.add_member(workspace.store, "Eve", ["editor"])
        ours: list[float] = []
        plain: list[float] = []
        for section in targets:
            text = workspace.load_spec().document.section(section.id).text
            lines = text.split("\n")
            lines[2] = lines[2] + " (clarified)"
            proposal = add_proposal(workspace, changes=[(section.id, "\n".join(lines))], title=f"Clarify {section.id}",
                                    intent="Benchmark change.", kind="clarification")
            for reviewer in ("Ana", "Ben"):
                governance.decide(workspace.store, proposal.id, "adopt", reviewer, "Benchmark.")
            t0 = time.perf_counter()
            report = committing.commit_adopted(workspace, "Eve")
            ours.append(time.perf_counter() - t0)
            (item,) = report.items
            assert item.result == "committed", item
            # The same change, committed the plain way in the identical repository.
            new_bytes = (ours_repo / "model_spec.md").read_bytes()
            message = git(ours_repo, "log", "-1", "--format=%B")
            (plain_repo / "model_spec.md").write_bytes(new_bytes)
            t0 = time.perf_counter()
            subprocess.run(["git", "commit", "-q", "-m", message, "--", "model_spec.md"], cwd=plain_repo, env=ENV,
                           check=True, capture_output=True)
            plain.append(time.perf_counter() - t0)
        workspace.close()
        assert git(ours_repo, "rev-parse", "HEAD^{tree}") == git(plain_repo, "rev-parse", "HEAD^{tree}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    ratio = min(ours) / min(plain)
    print(f"(a) commit one adopted proposal, {commits} commits of history, best of {len(ours)}:")
    print(f"    spec-review commit  {min(ours) * 1000:7.1f} ms  (median {statistics.median(ours) * 1000:.1f} ms)")
    print(f"    plain git commit    {min(plain) * 1000:7.1f} ms  (median {statistics.median(plain) * 1000:.1f} ms)")
    verdict = "PASS" if ratio <= COMMIT_TARGET else "FAIL"
    print(f"    ratio {ratio:.2f}x (median {statistics.median(ours) / statistics.median(plain):.2f}x), "
          f"target <= {COMMIT_TARGET:.0f}x: {verdict}")
    return ratio


def bench_verify(events: int) -> float:
    tmp = Path(tempfile.mkdtemp(prefix="bench-audit-"))
    try:
        store = Store.open(tmp / "reviewer.db", create=True)
        start = time.perf_counter()
        prev = audit.GENESIS_HASH
        batch: list[tuple[object, ...]] = []
        conn = store.db.conn
        sql = ("INSERT INTO audit_events (seq, id, at, actor, action, object_type, object_id, payload, prev_hash, hash)"
               " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        actions = [("decision.record", "decision"), ("proposal.add", "proposal"), ("stance.set", "proposal"),
                   ("member.add", "member")]
        quote = encode_basestring  # what canonical_json does to each string (checked below)
        sha256 = hashlib.sha256
        conn.execute("BEGIN")
        for seq in range(1, events + 1):
            action, object_type = actions[seq % 4]
            event_id = f"{seq:08x}-{seq % 65536:04x}-4000-8000-{seq * 7919 % 16**12:012x}"
            at = f"2026-01-01T00:{seq // 60 % 60:02d}:{seq % 60:02d}.{seq % 1_000_000:06d}Z"
            payload = f'{{"n":{seq},"rationale":"Clear and well supported.\\nSecond line.","who":"Ana Lima"}}'
            material = (f"[{seq},{quote(event_id)},{quote(at)},{quote('Ana')},{quote(action)},{quote(object_type)},"
                        f"{quote(event_id)},{quote(payload)},{quote(prev)}]")
            digest = sha256(material.encode("utf-8")).hexdigest()
            if seq <= 3:
                assert digest == audit.event_hash(seq=seq, event_id=event_id, at=at, actor="Ana", action=action,
                                                  object_type=object_type, object_id=event_id, payload_json=payload,
                                                  prev_hash=prev)
            batch.append((seq, event_id, at, "Ana", action, object_type, event_id, payload, prev, digest))
            prev = digest
            if len(batch) == 50_000:
                conn.executemany(sql, batch)
                batch.clear()
        conn.executemany(sql, batch)
        audit.write_head_record(store.db, events, prev)
        conn.execute("COMMIT")
        audit.refresh_anchor(store.db)
        print(f"generated {events:,} events in {time.perf_counter() - start:.1f} s")
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            report = audit.verify_chain(store.db)
            best = min(best, time.perf_counter() - t0)
            assert report.ok and report.events == events, report
        store.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    verdict = "PASS" if best < VERIFY_TARGET_S else "FAIL"
    print(f"(b) audit verify over {events:,} events: {best:.2f} s (best of 3), target < {VERIFY_TARGET_S:.0f} s: {verdict}")
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--releases", type=Path, default=ROOT / "spec_repo" / "releases")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--commits", type=int, default=1000)
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    ratio = bench_commit(args.releases, args.rounds, args.commits)
    seconds = bench_verify(args.events)
    ok = ratio <= COMMIT_TARGET and seconds < VERIFY_TARGET_S
    print(json.dumps({"commit_ratio": round(ratio, 2), "verify_seconds": round(seconds, 2), "pass": ok}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
