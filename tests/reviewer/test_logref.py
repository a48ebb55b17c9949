"""The log as a git history: each operation's events are one commit on the workspace's log ref."""

import json
import shutil
import subprocess

import pytest

from reviewer import gitops, operations
from reviewer.errors import KnownError
from reviewer.logref import EVENTS_FILE, check_ref, event_record, events_blob, log_ref
from reviewer.replay import verify_workspace
from reviewer.workspace import Workspace
from tests.datapaths import SPLIT_BY_COUNTRY, SUPPORTED
from tests.helpers import answers, forge_log_commit, git


@pytest.fixture
def demo(demo_workspace):
    with Workspace.open(demo_workspace) as ws:
        yield ws


def _events(ws, since=0):
    rows = ws.store.db.execute(
        "SELECT id, at, actor, action, object_type, object_id, payload FROM audit_events WHERE seq > ? ORDER BY seq",
        [since]).fetchall()
    return [event_record(r) for r in rows]


def _ref_events(ws):
    return [e for c in ws.store.log_ref.commits() for e in c.events]


def _head_seq(ws):
    return ws.store.db.execute("SELECT max(seq) FROM audit_events").fetchone()[0]


def test_a_new_workspace_publishes_its_log_and_each_operation_adds_one_commit(demo):
    repo, ref = demo.spec_repo_path, demo.store.log_ref.ref
    assert ref == log_ref(demo.config.id) == f"refs/spec-review/{demo.config.id}/log"
    assert _ref_events(demo) == _events(demo)  # the demo's creation, imports and rule runs
    before_tip, before_seq = demo.store.log_ref.tip(), _head_seq(demo)
    result = operations.decide(demo, SUPPORTED, "adopt", "The crowd supports it.", actor="Amara Okafor")
    assert result.warnings == ()
    tip = demo.store.log_ref.tip()
    assert git(repo, "rev-parse", f"{tip}^") == before_tip  # one commit on top
    # Its tree holds the operation's events, as the database has them, and the decision's evidence
    # snapshot (its event holds only the digest), byte for byte as the decision keeps it.
    (event,) = _events(demo, before_seq)
    evidence = f"evidence-{result.value.decision.id}.json"
    assert git(repo, "ls-tree", "--name-only", tip).splitlines() == [EVENTS_FILE, evidence]
    assert json.loads(git(repo, "show", f"{tip}:{EVENTS_FILE}")) == [event]
    (kept,) = demo.store.db.execute("SELECT evidence FROM decisions WHERE id = ?", [result.value.decision.id]).fetchone()
    assert git(repo, "show", f"{tip}:{evidence}") == kept
    assert git(repo, "log", "-1", "--format=%an", tip) == "Amara Okafor"
    subject, _, body = git(repo, "log", "-1", "--format=%B", tip).partition("\n")
    assert subject == "decide: decision.record by Amara Okafor"
    assert f"Event: {event['id']} decision.record" in body
    # The spec's branch, HEAD and working tree are not touched.
    assert git(repo, "status", "--porcelain") == ""
    assert json.loads((demo.root / "log-ref.json").read_text())["tip"] == tip
    git(repo, "fsck", "--strict", "--no-dangling")  # the objects written without git are sound


def test_events_left_out_are_written_by_the_next_operation(demo):
    log = demo.store.log_ref
    demo.store.log_ref = None  # as a tool working on the bare store would: nothing published
    operations.add_member(demo, "Ada Byron", ["auditor"], actor="Amara Okafor")
    operations.add_member(demo, "Bo Chen", ["auditor"], actor="Amara Okafor")
    demo.store.log_ref = log
    assert check_ref(log, demo.store).notes == ("2 events are not on the log ref yet; the next operation writes them.",)
    operations.set_stance(demo, SUPPORTED, _a_justification(demo), "refutes", actor="Jonas Lindqvist")
    assert _ref_events(demo) == _events(demo)
    subjects = git(demo.spec_repo_path, "log", "-2", "--format=%s", log.ref).splitlines()
    assert subjects == ["stance.set: stance.set by Jonas Lindqvist", "catch up: member.add by Amara Okafor"]
    assert check_ref(log, demo.store).ok and check_ref(log, demo.store).notes == ()


def _a_justification(ws):
    return ws.store.db.execute("SELECT justification_id FROM evidence_current WHERE proposal_id = ? LIMIT 1",
                               [SUPPORTED]).fetchone()[0]


def test_a_rewritten_ref_is_refused_and_verify_names_the_first_changed_event(demo):
    repo, log = demo.spec_repo_path, demo.store.log_ref
    operations.decide(demo, SUPPORTED, "adopt", "Supported.", actor="Amara Okafor")
    (decided,) = _events(demo, _head_seq(demo) - 1)
    tip = log.tip()
    # Someone rewrites the last commit: the same event, another rationale.
    forged = dict(decided, payload={**decided["payload"], "rationale": "Forged."})
    blob = subprocess.run(["git", "-C", str(repo), "hash-object", "-w", "--stdin"], check=True, capture_output=True,
                          input=("[\n" + json.dumps(forged) + "\n]\n").encode()).stdout.decode().strip()
    tree = subprocess.run(["git", "-C", str(repo), "mktree"], check=True, capture_output=True,
                          input=f"100644 blob {blob}\t{EVENTS_FILE}\n".encode()).stdout.decode().strip()
    rewritten = git(repo, "commit-tree", tree, "-p", f"{tip}^", "-m", "decide")
    git(repo, "update-ref", log.ref, rewritten)
    report = verify_workspace(demo)
    assert not report.ok
    described = [m.describe() for m in report.mismatches]
    assert any("history" in d and "rewritten" in d for d in described)
    first = next(m for m in report.mismatches if m.id.startswith(f"event {decided['id']}"))
    assert first.field == "payload" and first.logged["rationale"] == "Forged." and first.stored["rationale"] == "Supported."
    # The next operation is saved, but nothing is written over the rewritten ref.
    result = operations.add_member(demo, "Ada Byron", ["auditor"], actor="Amara Okafor")
    assert result.value.name == "Ada Byron"
    (warning,) = result.warnings
    assert "was rewritten" in warning and tip[:12] in warning
    assert log.tip() == rewritten


def test_a_ref_with_events_this_workspace_lacks_is_not_written_over(demo, tmp_path):
    """Another machine's events on the ref (before sync exists to merge them) stop the publish, with a hint."""
    log = demo.store.log_ref
    other_copy = tmp_path / "other"
    shutil.copytree(demo.root, other_copy, symlinks=True)
    with Workspace.open(other_copy) as other:
        # The copy's spec repository is its own; point it at ours, as a clone sharing the ref would be.
        other.store.log_ref.repo = demo.spec_repo_path
        operations.add_member(other, "From Elsewhere", ["auditor"], actor="Amara Okafor")
    result = operations.add_member(demo, "Ada Byron", ["auditor"], actor="Amara Okafor")
    (warning,) = result.warnings
    assert "which this workspace does not have" in warning and "spec-review sync" in warning
    assert any("not in the database" in m.describe() for m in verify_workspace(demo).mismatches)
    assert log.tip() is not None


def test_a_ref_git_cannot_write_is_a_warning_and_the_change_is_kept(demo):
    shutil.rmtree(demo.spec_repo_path / ".git" / "refs" / "spec-review")
    (demo.spec_repo_path / ".git" / "refs" / "spec-review").write_text("not a folder")  # git cannot write refs here
    result = operations.add_member(demo, "Ada Byron", ["auditor"], actor="Amara Okafor")
    assert result.value.name == "Ada Byron"
    (warning,) = result.warnings
    assert warning.startswith("Saved, but the log ref was not updated")
    assert demo.store.db.execute("SELECT 1 FROM members WHERE name = 'Ada Byron'").fetchone()


def test_move_ref_only_moves_from_the_expected_commit(demo):
    repo, log = demo.spec_repo_path, demo.store.log_ref
    tip = log.tip()
    parent = git(repo, "rev-parse", f"{tip}^")
    assert gitops.move_ref(repo, log.ref, parent, parent, "test") is False  # it is at tip, not parent: nothing moves
    assert log.tip() == tip
    assert gitops.move_ref(repo, log.ref, parent, tip, "test") is True
    assert log.tip() == parent


def test_commits_are_signed_when_git_is_configured_to_sign(demo, tmp_path):
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen is not installed: no key to sign with")
    repo = demo.spec_repo_path
    key = tmp_path / "signing_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "amara", "-f", str(key)], check=True)
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"amara {(tmp_path / 'signing_key.pub').read_text()}")
    for name, value in [("gpg.format", "ssh"), ("user.signingkey", str(key)), ("commit.gpgsign", "true"),
                        ("gpg.ssh.allowedSignersFile", str(allowed))]:
        git(repo, "config", name, value)
    operations.add_member(demo, "Ada Byron", ["auditor"], actor="Amara Okafor")
    tip = demo.store.log_ref.tip()
    verified = subprocess.run(["git", "-C", str(repo), "verify-commit", tip], capture_output=True, text=True)
    assert verified.returncode == 0, verified.stderr
    assert 'Good "git" signature for amara' in verified.stderr


def test_the_ref_and_the_log_agree_after_many_operations_and_a_refused_one(demo):
    operations.decide(demo, SPLIT_BY_COUNTRY, "defer", "Wait.", actor="Amara Okafor", reason="needs-research")
    operations.decide(demo, SPLIT_BY_COUNTRY, "adopt", "Fine.", actor="Jonas Lindqvist",
                      responses=answers(demo, SPLIT_BY_COUNTRY, "adopt"))
    operations.set_quorum(demo, {"root": 3}, actor="Amara Okafor")
    assert _ref_events(demo) == _events(demo)
    assert verify_workspace(demo).ok
    with pytest.raises(KnownError):
        operations.decide(demo, SPLIT_BY_COUNTRY, "adopt", " ", actor="Amara Okafor")  # refused: nothing published
    assert _ref_events(demo) == _events(demo)


def test_verify_checks_each_commit_is_authored_by_the_member_who_acted(demo):
    repo, log = demo.spec_repo_path, demo.store.log_ref
    operations.add_member(demo, "Ada Byron", ["auditor"], actor="Amara Okafor")
    (event,) = log.commits()[-1].events
    forged = forge_log_commit(repo, log.ref, ("Mallory", ""))
    (author,) = [m for m in verify_workspace(demo).mismatches if m.field == "author"]
    assert author.id == f"commit {forged[:12]} (event {event['id']})"
    assert (author.logged, author.stored) == ("Amara Okafor", "Mallory")


def _author(repo, rev):
    return git(repo, "log", "-1", "--format=%an <%ae>", rev)


def test_log_commits_carry_the_members_email_as_of_their_event(demo):
    repo, log = demo.spec_repo_path, demo.store.log_ref
    operations.add_member(demo, "Ada Byron", ["reviewer"], actor="Amara Okafor", email="ada@example.org")
    assert _author(repo, log.tip()) == "Amara Okafor <>"  # Amara has no email recorded: only the name
    operations.decide(demo, SUPPORTED, "adopt", "The crowd supports it.", actor="Ada Byron")
    assert _author(repo, log.tip()) == "Ada Byron <ada@example.org>"
    operations.set_identity(demo, "Amara Okafor", "amara@example.org", actor="Amara Okafor")
    assert _author(repo, log.tip()) == "Amara Okafor <amara@example.org>"  # as of her own event, which sets it
    # Events left out and written later take the email their actor had then, not the one they have now.
    demo.store.log_ref = None
    operations.add_member(demo, "Bo Chen", ["auditor"], actor="Amara Okafor")
    operations.set_identity(demo, "Amara Okafor", "amara@okafor.example", actor="Jonas Lindqvist")
    demo.store.log_ref = log
    operations.set_identity(demo, "Ada Byron", "ada@lovelace.example", actor="Ada Byron")
    assert [_author(repo, f"{log.tip()}~{n}") for n in (2, 1, 0)] == [
        "Amara Okafor <amara@example.org>", "Jonas Lindqvist <>", "Ada Byron <ada@lovelace.example>"]
    assert verify_workspace(demo).ok


def test_verify_flags_a_commit_whose_author_email_is_not_the_members(demo):
    repo, log = demo.spec_repo_path, demo.store.log_ref
    operations.add_member(demo, "Ada Byron", ["reviewer"], actor="Amara Okafor", email="ada@example.org")
    operations.decide(demo, SUPPORTED, "adopt", "The crowd supports it.", actor="Ada Byron")
    (event,) = log.commits()[-1].events
    # The right name with another address: someone else wrote it under Ada's name.
    forged = forge_log_commit(repo, log.ref, ("Ada Byron", "mallory@example.org"))
    (author,) = [m for m in verify_workspace(demo).mismatches if m.field == "author"]
    assert author.id == f"commit {forged[:12]} (event {event['id']})"
    assert (author.logged, author.stored) == ("Ada Byron <ada@example.org>", "Ada Byron <mallory@example.org>")
    assert "commit" in author.describe() and "mallory@example.org" in author.describe()
    # No address at all is not hers either; her earlier commit (none recorded for Amara) is not flagged.
    forge_log_commit(repo, log.ref, ("Ada Byron", ""))
    (author,) = [m for m in verify_workspace(demo).mismatches if m.field == "author"]
    assert author.stored == "Ada Byron"
    assert not check_ref(log, demo.store).ok


def test_required_signatures_are_checked_from_the_event_that_required_them(demo, tmp_path, capsys):
    from cli.main import main

    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen is not installed: no key to sign with")
    root, repo = str(demo.root), demo.spec_repo_path
    assert main(["signatures", root, "--require", "--by", "Amara Okafor"]) == 0
    assert "must be signed" in capsys.readouterr().out
    # git here does not sign yet: the change is saved, the log ref waits, and the user is told why.
    result = operations.add_member(demo, "Ada Byron", ["auditor"], actor="Amara Okafor")
    (warning,) = result.warnings
    assert "requires signed log commits" in warning and "commit.gpgSign" in warning
    key = tmp_path / "signing_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "amara", "-f", str(key)], check=True)
    (tmp_path / "allowed").write_text(f"amara {(tmp_path / 'signing_key.pub').read_text()}")
    for name, value in [("gpg.format", "ssh"), ("user.signingkey", str(key)), ("commit.gpgsign", "true"),
                        ("gpg.ssh.allowedSignersFile", str(tmp_path / "allowed"))]:
        git(repo, "config", name, value)
    assert operations.add_member(demo, "Bo Chen", ["auditor"], actor="Amara Okafor").warnings == ()
    assert verify_workspace(demo).ok  # the commits before the requirement were made without it
    # A commit made later without a signature (by a copy of the app that did not check) is named.
    log = demo.store.log_ref
    demo.store.log_ref = None
    operations.add_member(demo, "Cy Dee", ["auditor"], actor="Amara Okafor")
    demo.store.log_ref = log
    (last,) = _events(demo, _head_seq(demo) - 1)
    tip = log.tip()
    unsigned = gitops.write_commit(repo, {EVENTS_FILE: events_blob([last])}, "member.add\n", author=("Amara Okafor", ""),
                                   parents=[tip], sign=False)
    assert gitops.move_ref(repo, log.ref, unsigned, tip, "test")
    (found,) = verify_workspace(demo).mismatches
    assert (found.id, found.field, found.stored) == (f"commit {unsigned[:12]}", "signature", "none")


def _ssh_key(folder, name):
    key = folder / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True)
    return key, (folder / f"{name}.pub").read_text().strip()


def test_a_commit_signed_with_another_key_than_the_members_recorded_one_is_named(demo, tmp_path):
    from reviewer.logref import same_key
    from reviewer.publish import verify_published

    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen is not installed: no key to sign with")
    repo = demo.spec_repo_path
    (own, own_public), (other, other_public) = _ssh_key(tmp_path, "amara"), _ssh_key(tmp_path, "mallory")
    (tmp_path / "allowed").write_text(f"amara {own_public}\nmallory {other_public}\n")
    for name, value in [("gpg.format", "ssh"), ("user.signingkey", str(own)), ("commit.gpgsign", "true"),
                        ("gpg.ssh.allowedSignersFile", str(tmp_path / "allowed"))]:
        git(repo, "config", name, value)
    operations.set_identity(demo, "Amara Okafor", "amara@example.org", signing_key=own_public, actor="Amara Okafor")
    operations.add_member(demo, "Ada Byron", ["auditor"], actor="Amara Okafor")
    assert verify_workspace(demo).ok  # signed with the key recorded for her
    git(repo, "config", "user.signingkey", str(other))  # someone signs as Amara with their own key
    operations.add_member(demo, "Bo Chen", ["auditor"], actor="Amara Okafor")
    tip = demo.store.log_ref.tip()
    (found,) = verify_workspace(demo).mismatches
    assert (found.id.split()[:2], found.field) == (["commit", tip[:12]], "signing key")
    assert found.stored.startswith("SHA256:") and "Amara Okafor's recorded key ssh-ed25519" in found.logged
    (published,) = verify_published(repo)
    assert any(f"commit {tip[:12]}" in p and "not with Amara Okafor's recorded key" in p for p in published.problems)
    # Keys are compared as git names them: an ssh key by its fingerprint, a gpg key id by a fingerprint's end.
    fingerprint = subprocess.run(["ssh-keygen", "-lf", str(own) + ".pub"], capture_output=True, text=True).stdout.split()[1]
    assert same_key(own_public, fingerprint) and same_key(fingerprint, fingerprint)
    assert not same_key(other_public, fingerprint)
    assert same_key("0x3AA5C34371567BD2", "4AA4 767B BC9C 4B1D 18AE 28B7 3AA5 C343 7156 7BD2".lower())
    assert not same_key("3AA5C34371567BD2", "4AA4767BBC9C4B1D18AE28B7000000000000000")
