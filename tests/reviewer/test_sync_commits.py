"""Spec commits on a board of many machines: they travel through origin's spec branch, and no proposal is committed twice."""

import shutil

import pytest

from reviewer import governance, operations
from reviewer import sync as syncing
from reviewer.errors import KnownError
from reviewer.replay import verify_workspace
from reviewer.workspace import Workspace
from tests.datapaths import SPLIT_BY_COUNTRY, USER_LEVEL
from tests.helpers import bare_remote, git


@pytest.fixture
def machines(demo_workspace, tmp_path):
    """Machines A and B of one board (B a copy of A), synced with a bare ``origin``; USER_LEVEL adopted on both."""
    remote = bare_remote(demo_workspace, tmp_path)
    with Workspace.open(demo_workspace) as a:
        operations.decide(a, USER_LEVEL, "adopt", "Supported across groups.", actor="Amara Okafor")
        operations.sync(a, actor="Amara Okafor")
    b_root = tmp_path / "machine-b"
    shutil.copytree(demo_workspace, b_root, symlinks=True)
    return demo_workspace, b_root, remote


def _commits_of(repo, proposal_id, rev):
    return git(repo, "log", "--format=%H", f"--grep=Proposal-Id: {proposal_id}", rev).split()


def test_two_editors_committing_the_same_proposal_make_one_spec_commit(machines):
    a_root, b_root, remote = machines
    with Workspace.open(a_root) as a:
        first = operations.commit(a, actor="Sofía Herrera")
        (item,) = [i for i in first.value.items if i.commit_sha]
        assert first.warnings == ()
        branch = git(a.spec_repo_path, "rev-parse", "--abbrev-ref", "HEAD")
    assert git(remote, "rev-parse", branch) == item.commit_sha  # the spec branch went to origin with the log
    with Workspace.open(b_root) as b:
        # B's editor commits without having synced: the commit syncs first and finds it done.
        second = operations.commit(b, actor="Priya Raman")
        assert [i for i in second.value.items if i.commit_sha] == []
        assert git(b.spec_repo_path, "rev-parse", "HEAD") == item.commit_sha  # B's branch moved forward
        assert _commits_of(b.spec_repo_path, USER_LEVEL, "HEAD") == [item.commit_sha]
        (record,) = b.store.db.execute("SELECT sha, editor FROM spec_commits WHERE kind = 'proposal'").fetchall()
        assert record == (item.commit_sha, "Sofía Herrera")  # recorded as committed by the first editor
        assert governance.proposal_status(b.store, USER_LEVEL).status == "committed"
        report = verify_workspace(b)
        assert report.ok, report  # the commit's Audit-Head anchors B's chain too
    assert _commits_of(remote, USER_LEVEL, branch) == [item.commit_sha]
    with Workspace.open(a_root) as a:
        operations.sync(a, actor="Amara Okafor")
        assert verify_workspace(a).ok


def test_a_spec_commit_that_is_not_on_origin_is_not_received(machines):
    a_root, b_root, remote = machines
    with Workspace.open(a_root) as a:
        operations.commit(a, actor="Sofía Herrera")
        branch = git(a.spec_repo_path, "rev-parse", "--abbrev-ref", "HEAD")
    git(remote, "update-ref", "-d", f"refs/heads/{branch}")  # the branch was deleted on origin
    with Workspace.open(b_root) as b:
        with pytest.raises(KnownError, match="on none of origin's branches"):
            operations.sync(b, actor="Jonas Lindqvist")
        assert governance.proposal_status(b.store, USER_LEVEL).status == "adopted"


def test_a_spec_repository_with_local_changes_is_not_moved_and_the_sync_says_so(machines):
    a_root, b_root, _remote = machines
    with Workspace.open(a_root) as a:
        operations.commit(a, actor="Sofía Herrera")
    with Workspace.open(b_root) as b:
        spec = b.spec_repo_path / b.config.spec_file
        spec.write_text(spec.read_text(encoding="utf-8") + "\nlocal edit\n", encoding="utf-8")
        head = git(b.spec_repo_path, "rev-parse", "HEAD")
        report = operations.sync(b, actor="Jonas Lindqvist").value
        assert any("uncommitted changes" in note for note in report.notes)
        assert "uncommitted changes" in report.describe()
        assert git(b.spec_repo_path, "rev-parse", "HEAD") == head  # not moved
        assert governance.proposal_status(b.store, USER_LEVEL).status == "committed"  # the record has it
        with pytest.raises(KnownError, match="uncommitted changes"):
            operations.commit(b, actor="Priya Raman")


def test_an_editor_holding_the_commit_lease_keeps_another_from_committing_meanwhile(machines):
    from reviewer.spec_branch import commit_lease, lease_ref

    a_root, b_root, remote = machines
    with Workspace.open(b_root) as b, Workspace.open(a_root) as a:
        lease = lease_ref(b.config.id)
        with commit_lease(b.spec_repo_path, "origin", b.config.id, "Priya Raman"):
            assert git(remote, "for-each-ref", "--format=%(refname)", lease) == lease
            with pytest.raises(KnownError, match=r"Priya Raman is committing the board's spec on another machine"):
                operations.commit(a, actor="Sofía Herrera")
            assert a.store.db.execute("SELECT count(*) FROM spec_commits").fetchone()[0] == 0
        assert git(remote, "for-each-ref", lease) == ""  # given back
        done = operations.commit(a, actor="Sofía Herrera")
        assert [i.proposal_id for i in done.value.items if i.commit_sha] == [USER_LEVEL]
        assert git(remote, "for-each-ref", lease) == ""  # and given back again after the commit


def test_a_lease_its_machine_never_gave_back_lapses(machines):
    import datetime as dt

    from reviewer.spec_branch import LEASE_MINUTES, commit_lease

    a_root, b_root, _remote = machines
    with Workspace.open(b_root) as b:
        long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=LEASE_MINUTES + 1)
        commit_lease(b.spec_repo_path, "origin", b.config.id, "Priya Raman", now=long_ago).__enter__()  # then it crashed
    with Workspace.open(a_root) as a:
        done = operations.commit(a, actor="Sofía Herrera")
        assert [i.proposal_id for i in done.value.items if i.commit_sha] == [USER_LEVEL]


def test_of_two_machines_setting_the_lease_from_the_same_state_one_wins(machines):
    from reviewer import gitops

    a_root, b_root, _remote = machines
    with Workspace.open(a_root) as a, Workspace.open(b_root) as b:
        ref = "refs/spec-review/test/commit-lease"
        mine = gitops.write_commit(a.spec_repo_path, {}, "lease a\n", author=("Sofía Herrera", ""))
        theirs = gitops.write_commit(b.spec_repo_path, {}, "lease b\n", author=("Priya Raman", ""))
        assert gitops.push_with_lease(a.spec_repo_path, "origin", mine, ref, None)
        assert not gitops.push_with_lease(b.spec_repo_path, "origin", theirs, ref, None)  # it is no longer absent
        assert not gitops.push_with_lease(b.spec_repo_path, "origin", "", ref, theirs)  # nor theirs to delete
        assert gitops.push_with_lease(a.spec_repo_path, "origin", "", ref, mine)


def test_a_decision_sent_while_an_editor_committed_moves_after_the_commit_instead_of_blocking_it(machines, monkeypatch):
    """Between the commit's first sync and its last, a reviewer elsewhere sends a decision.

    The spec commit is anchored at its place in the log, so it cannot move after the decision it
    did not see: the merge puts the committing machine's events first, and the decision moves
    after them on every machine. Nothing is left unsent and both records verify.
    """
    from reviewer import committing

    a_root, b_root, _remote = machines
    real = committing.commit_adopted

    def commit_while_b_decides(*args, **kwargs):
        report = real(*args, **kwargs)
        with Workspace.open(b_root) as b:  # B has not seen the commit: it decides on another proposal and sends
            operations.decide(b, SPLIT_BY_COUNTRY, "defer", "More data first.", actor="Jonas Lindqvist",
                              reason="needs-research")
            operations.sync(b, actor="Jonas Lindqvist")
        return report

    monkeypatch.setattr(committing, "commit_adopted", commit_while_b_decides)
    with Workspace.open(a_root) as a:
        done = operations.commit(a, actor="Sofía Herrera")
        (item,) = [i for i in done.value.items if i.commit_sha]
        assert done.warnings == ()  # sent: the merge kept the spec commit in its place
        actions = [r[0] for r in a.store.db.execute("SELECT action FROM audit_events ORDER BY seq")]
        assert actions[-1] == "decision.record" and "spec.commit" in actions[-4:]
        assert syncing.sync_state(a).unsent == 0
        assert verify_workspace(a).ok
        expected = a.store.db.execute("SELECT id, hash FROM audit_events ORDER BY seq").fetchall()
    monkeypatch.undo()
    with Workspace.open(b_root) as b:
        got = operations.sync(b, actor="Jonas Lindqvist").value
        assert "spec.commit" in {e["action"] for e in got.received}
        # B's decision was sealed again after the commit, as on A.
        assert b.store.db.execute("SELECT id, hash FROM audit_events ORDER BY seq").fetchall() == expected
        assert governance.proposal_status(b.store, USER_LEVEL).status == "committed"
        assert [d.outcome for d in governance.decisions_for(b.store, SPLIT_BY_COUNTRY)][-1] == "defer"
        assert verify_workspace(b).ok
        assert git(b.spec_repo_path, "rev-parse", "HEAD") == item.commit_sha
