"""Publishing the board's record with its spec, and checking it from a plain clone."""

import json
import subprocess

import pytest

from reviewer import operations
from reviewer.errors import KnownError
from reviewer.publish import report_ref, verify_published
from reviewer.workspace import Workspace
from tests.datapaths import ROOT_LEVEL
from tests.helpers import bare_remote, forge_log_commit, git


@pytest.fixture
def published(demo_workspace, tmp_path):
    """The demo with a decision, published to a bare remote; returns (workspace root, remote)."""
    remote = bare_remote(demo_workspace, tmp_path)
    with Workspace.open(demo_workspace) as ws:
        operations.decide(ws, ROOT_LEVEL, "adopt", "The crowd supports it.", actor="Amara Okafor")
        from reviewer.publish import publish

        done = publish(ws, "origin", actor="Amara Okafor")
        assert done.log_tip == ws.store.log_ref.tip()
    return demo_workspace, remote


def _replace_report(remote, ref, change):
    """Rewrite the published report.json on the remote with ``change`` applied (as a tamperer would)."""
    tip = git(remote, "rev-parse", ref)
    data = json.loads(git(remote, "show", f"{tip}:report.json"))
    change(data)
    blob = subprocess.run(["git", "-C", str(remote), "hash-object", "-w", "--stdin"], check=True, capture_output=True,
                          input=json.dumps(data).encode()).stdout.decode().strip()
    tree = subprocess.run(["git", "-C", str(remote), "mktree"], check=True, capture_output=True,
                          input=f"100644 blob {blob}\treport.json\n".encode()).stdout.decode().strip()
    message = git(remote, "log", "-1", "--format=%B", tip)
    forged = git(remote, "commit-tree", tree, "-p", tip, "-m", message)
    git(remote, "update-ref", ref, forged)


def test_a_published_record_checks_out_from_a_plain_clone(published, capsys):
    from cli.main import main

    root, remote = published
    (log,) = verify_published(str(remote))
    assert log.ok and log.decisions == 1 and log.report is not None
    with Workspace.open(root) as ws:
        assert log.workspace_id == ws.config.id
        assert log.events == ws.store.db.execute("SELECT count(*) FROM audit_events").fetchone()[0]
        assert git(remote, "rev-parse", ws.store.log_ref.ref) == ws.store.log_ref.tip()
        files = git(remote, "ls-tree", "--name-only", report_ref(ws.config.id)).splitlines()
        assert files == ["report.html", "report.json", "report.md"]
    assert main(["audit", "verify", "--repo", str(remote)]) == 0
    assert "intact: " in capsys.readouterr().out


def test_a_report_that_differs_from_the_log_is_named(published, capsys):
    from cli.main import main

    root, remote = published
    with Workspace.open(root) as ws:
        ref = report_ref(ws.config.id)

    def soften(data):
        decision = next(d for p in data["proposals"] for d in p["decisions"])
        decision["rationale"] = "Something else."

    _replace_report(remote, ref, soften)
    (log,) = verify_published(str(remote))
    (problem,) = log.problems
    assert "differs" in problem and "Something else." in problem and "The crowd supports it." in problem
    assert main(["audit", "verify", "--repo", str(remote)]) == 1
    assert "NOT intact" in capsys.readouterr().out


def test_a_log_commit_by_someone_else_is_named(published):
    root, remote = published
    with Workspace.open(root) as ws:
        ref = ws.store.log_ref.ref
    forged = forge_log_commit(remote, ref, ("Mallory", ""))
    (log,) = verify_published(str(remote))
    assert any(f"commit {forged[:12]} (event " in p and "authored by 'Mallory', not by 'Amara Okafor'" in p
               for p in log.problems)


def test_a_log_commit_with_another_email_than_the_members_is_named(published):
    root, remote = published
    with Workspace.open(root) as ws:
        operations.set_identity(ws, "Amara Okafor", "amara@example.org", actor="Amara Okafor")
        operations.decide(ws, ROOT_LEVEL, "defer", "On second thought.", actor="Amara Okafor", reason="needs-research")
        operations.sync(ws, actor="Amara Okafor")
        ref = ws.store.log_ref.ref
    (log,) = verify_published(str(remote))
    assert log.ok, log.problems  # her commits before the email was recorded carry none, and need none
    event = json.loads(git(remote, "show", f"{ref}:events.json"))[-1]["id"]
    forged = forge_log_commit(remote, ref, ("Amara Okafor", "amara@elsewhere.example"))
    (log,) = verify_published(str(remote))
    assert [p for p in log.problems if "authored" in p] == [
        f"commit {forged[:12]} (event {event}) is authored by 'Amara Okafor <amara@elsewhere.example>', not by "
        "'Amara Okafor <amara@example.org>' whose events it holds"]


def test_a_repository_without_a_board_log_says_so(tmp_path):
    bare = tmp_path / "empty.git"
    git(tmp_path, "init", "--quiet", "--bare", str(bare))
    with pytest.raises(KnownError, match="holds no board log"):
        verify_published(str(bare))
    with pytest.raises(KnownError, match="could not fetch"):
        verify_published(str(tmp_path / "nowhere"))
