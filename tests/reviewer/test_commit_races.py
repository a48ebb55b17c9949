"""Commit runs under bad luck: a second run at once, a decision during a hook, kill -9 mid-commit, a locked database.

Every case drives the real tool: real git with a pre-commit hook that waits on a signal file (not
a sleep), real processes killed with SIGKILL, real SQLite locks held by another connection.
"""

import os
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time

import pytest

from reviewer import committing, governance, locking, operations
from reviewer.errors import KnownError
from reviewer.workspace import DB_FILE, Workspace
from tests.datapaths import ROOT
from tests.helpers import git
from tests.reviewer.test_committing import adopt, spec_bytes
from tests.reviewer.test_governance import make_workspace, propose

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and shell hooks")


def waiting_hook(workspace, tmp_path):
    """A pre-commit hook that says it started, then waits until the test lets it go."""
    started, release = tmp_path / "hook-started", tmp_path / "hook-release"
    hook = workspace.spec_repo_path / ".git" / "hooks" / "pre-commit"
    hook.write_text(f"#!/bin/sh\ntouch '{started}'\nwhile [ ! -e '{release}' ]; do sleep 0.02; done\nexit 0\n")
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR)
    return started, release


def wait_for(path, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"{path.name} never appeared")
        time.sleep(0.02)


@pytest.fixture
def adopted(tmp_path):
    workspace = make_workspace(tmp_path)
    proposal = propose(workspace, "guide", ("Guidance text.", "Guidance, said plainly."))
    adopt(workspace, proposal, ("Ana",))
    yield workspace, proposal
    workspace.close()


def test_a_second_commit_run_waits_then_says_who_holds_the_workspace(adopted, tmp_path, monkeypatch):
    workspace, _proposal = adopted
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from reviewer.locking import workspace_lock\n"
         "with workspace_lock(Path(sys.argv[1]), 'commit run', 'Eve'):\n"
         "    Path(sys.argv[2]).touch()\n"
         "    while not Path(sys.argv[3]).exists(): time.sleep(0.02)\n",
         str(workspace.root), str(tmp_path / "held"), str(tmp_path / "let-go")],
        cwd=ROOT)
    try:
        wait_for(tmp_path / "held")
        head = git(workspace.spec_repo_path, "rev-parse", "HEAD")
        monkeypatch.setattr(locking, "WAIT_S", 0.3)
        with pytest.raises(KnownError, match=rf"busy: a commit run by Eve \(process {holder.pid} on "):
            committing.commit_adopted(workspace, "Cy")
        assert git(workspace.spec_repo_path, "rev-parse", "HEAD") == head
    finally:
        (tmp_path / "let-go").touch()
        holder.wait(timeout=30)
    # Once the other run is done the workspace is free, and the lock it held left nothing behind.
    report = committing.commit_adopted(workspace, "Cy")
    assert [i.result for i in report.items] == ["committed"]


def test_two_commit_runs_at_once_make_exactly_one_commit(adopted, tmp_path):
    workspace, proposal = adopted
    started, release = waiting_hook(workspace, tmp_path)
    base = git(workspace.spec_repo_path, "rev-parse", "HEAD")
    script = ("import sys; from reviewer.workspace import Workspace; from reviewer import operations\n"
              "with Workspace.open(sys.argv[1]) as ws:\n"
              "    r = operations.commit(ws, actor='Eve').value\n"
              "    print([i.result for i in r.items])\n")
    runs = [subprocess.Popen([sys.executable, "-c", script, str(workspace.root)], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    wait_for(started)
    time.sleep(0.5)  # the second run is now waiting for the workspace lock
    release.touch()
    outputs = [run.communicate(timeout=60) for run in runs]
    assert sorted(out.strip() for out, _err in outputs) == ["['committed']", "[]"], outputs
    assert git(workspace.spec_repo_path, "rev-list", "--count", f"{base}..HEAD") == "1"
    assert not (workspace.spec_repo_path / ".git" / "index.lock").exists()
    assert governance.proposal_status(workspace.store, proposal.id).status == "committed"


def test_a_decision_recorded_while_git_runs_a_hook_is_not_overridden(adopted, tmp_path):
    workspace, proposal = adopted
    started, release = waiting_hook(workspace, tmp_path)
    base = git(workspace.spec_repo_path, "rev-parse", "HEAD")
    outcome = {}

    def commit_run():
        with Workspace.open(workspace.root) as other:
            outcome["report"] = committing.commit_adopted(other, "Eve")

    thread = threading.Thread(target=commit_run)
    thread.start()
    wait_for(started)
    operations.decide(workspace, proposal.id, "defer", "Wait: new evidence came in.", actor="Ana",
                      reason="needs-more-evidence")
    release.touch()
    thread.join(timeout=60)
    (item,) = outcome["report"].items
    assert item.result == "deferred" and item.commit_sha is None
    assert "decided again while its commit was being made" in item.message and "undone" in item.message
    assert git(workspace.spec_repo_path, "rev-parse", "HEAD") == base
    assert git(workspace.spec_repo_path, "status", "--porcelain") == ""
    assert governance.proposal_status(workspace.store, proposal.id).status == "deferred"
    assert workspace.store.db.execute("SELECT count(*) FROM spec_commits").fetchone()[0] == 0


def test_a_run_killed_during_the_pre_commit_hook_is_recovered_by_the_next(adopted, tmp_path):
    workspace, proposal = adopted
    started, _release = waiting_hook(workspace, tmp_path)
    base = git(workspace.spec_repo_path, "rev-parse", "HEAD")
    original = spec_bytes(workspace)
    private_tmp = tmp_path / "tmp"  # the run's own temporary folder: what it leaves there is its own
    private_tmp.mkdir()
    run = subprocess.Popen([sys.executable, "-m", "cli", "commit", str(workspace.root), "--editor", "Eve"],
                           cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           env={**os.environ, "TMPDIR": str(private_tmp)})
    wait_for(started)
    os.killpg(run.pid, signal.SIGKILL)  # the app, git and the hook, all at once
    run.wait(timeout=30)
    assert spec_bytes(workspace) != original  # the killed run's change is still in the working tree
    (workspace.spec_repo_path / ".git" / "hooks" / "pre-commit").unlink()
    report = committing.commit_adopted(workspace, "Eve")
    assert report.notes and "was undone" in report.notes[0]
    assert [i.result for i in report.items] == ["committed"]
    assert git(workspace.spec_repo_path, "rev-list", "--count", f"{base}..HEAD") == "1"
    assert git(workspace.spec_repo_path, "status", "--porcelain") == ""
    assert not (workspace.spec_repo_path / ".git" / "index.lock").exists()
    assert not (workspace.root / committing.IN_PROGRESS).exists()
    assert governance.proposal_status(workspace.store, proposal.id).status == "committed"
    # The killed run's commit message lived in .git under one name, overwritten and removed by the next.
    assert not (workspace.spec_repo_path / ".git" / "SPEC_REVIEW_COMMIT_MSG").exists()
    assert list(private_tmp.iterdir()) == []


def test_a_locked_database_stops_the_run_before_git_commits(adopted, monkeypatch):
    workspace, proposal = adopted
    base = git(workspace.spec_repo_path, "rev-parse", "HEAD")
    other = sqlite3.connect(workspace.root / DB_FILE, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        workspace.store.db.execute("PRAGMA busy_timeout = 200")
        with pytest.raises(KnownError, match="locked"):
            committing.commit_adopted(workspace, "Eve")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert git(workspace.spec_repo_path, "rev-parse", "HEAD") == base
    assert git(workspace.spec_repo_path, "status", "--porcelain") == ""
    assert governance.proposal_status(workspace.store, proposal.id).status == "adopted"
