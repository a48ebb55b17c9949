import json
import os
import stat
import subprocess

import pytest

from reviewer import committing, governance
from reviewer.errors import KnownError
from reviewer.proposals import add_proposal
from reviewer.trace import trace
from reviewer.workspace import Workspace
from tests.datapaths import model_spec
from tests.helpers import GIT_ENV, commit_file, git, spec_repo_with, tree_snapshot
from tests.reviewer.test_governance import SPEC, make_workspace, propose, run, section_text


def blob(repo, spec):
    return subprocess.run(["git", "cat-file", "blob", spec], cwd=repo, env=GIT_ENV, check=True,
                          capture_output=True).stdout


def adopt(workspace, proposal, reviewers=("Ana", "Ben")):
    for reviewer in reviewers:
        governance.decide(workspace.store, proposal.id, "adopt", reviewer, f"{reviewer} agrees.")
    assert governance.proposal_status(workspace.store, proposal.id).status == "adopted"


def repo_state(workspace):
    repo = workspace.spec_repo_path
    return {
        "head": git(repo, "rev-parse", "HEAD"),
        "branch": git(repo, "rev-parse", "--abbrev-ref", "HEAD"),
        "status": git(repo, "status", "--porcelain", "--untracked-files=all"),
        "files": {k: v for k, v in tree_snapshot(repo).items() if not k.startswith(".git")},
        "commits": git(repo, "rev-list", "--all", "--count"),
        "tags": git(repo, "tag"),
    }


def db_state(workspace):
    db = workspace.store.db
    return [db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
            for t in ("decisions", "spec_commits", "proposal_commit_state", "audit_events")]


def spec_bytes(workspace):
    return (workspace.spec_repo_path / "model_spec.md").read_bytes()


# ---- the real case -------------------------------------------------------------------------------------


def test_real_model_spec_section_is_committed_byte_for_byte(tmp_path):
    old = model_spec("2025-04-11").read_bytes()
    new = model_spec("2025-09-12").read_bytes()
    section_id = "avoid_targeted_political_manipulation"
    new_section = section_text(new.decode("utf-8"), section_id)
    old_section = section_text(old.decode("utf-8"), section_id)
    assert "authority=platform" in old_section and "authority=root" in new_section
    repo = spec_repo_with(tmp_path / "spec", old.decode("utf-8"))
    workspace = Workspace.create(tmp_path / "ws", spec_repo=repo)
    for name, roles in (("Ana", ["reviewer"]), ("Ben", ["reviewer"]), ("Eve", ["editor"])):
        governance.add_member(workspace.store, name, roles)
    proposal = add_proposal(
        workspace, changes=[(section_id, new_section)], title="Targeted political manipulation, 2025-09-12 wording",
        intent="Bring the section to its 2025-09-12 wording.", kind="clarification",
    )
    first = governance.decide(workspace.store, proposal.id, "adopt", "Ana", "Matches the September release.",
                              spec_document=workspace.load_spec().document)
    assert (first.status.level, first.status.quorum, first.status.status) == ("root", 2, "pending")
    second = governance.decide(workspace.store, proposal.id, "adopt", "Ben", "Agreed.")
    assert second.status.status == "adopted"
    report = committing.commit_adopted(workspace, "Eve")
    (item,) = report.items
    assert item.result == "committed" and item.merged_sections == ()
    # Independently of the parser: the old file with that one span of lines replaced.
    start = old.index(old_section.encode("utf-8"))
    expected = old[:start] + new_section.encode("utf-8") + old[start + len(old_section.encode("utf-8")):]
    assert spec_bytes(workspace) == expected
    assert blob(repo, f"{item.commit_sha}:model_spec.md") == expected
    assert git(repo, "status", "--porcelain") == ""
    assert trace(workspace).ok


# ---- committing -------------------------------------------------------------------------------------------


def test_commit_one_per_proposal_with_trailers_and_records(tmp_path):
    workspace = make_workspace(tmp_path)
    first = propose(workspace, "user_rule", ("Beta line.", "Beta line, clarified."), title="Clarify beta")
    second = propose(workspace, "guide", ("Guidance text.", "Guidance text, sharper."), title="Sharpen guide")
    waiting = propose(workspace, "root_rule", ("Line one", "Line 1"), title="Only one vote")
    adopt(workspace, first, ("Ana",))
    adopt(workspace, second, ("Cy",))
    governance.decide(workspace.store, waiting.id, "adopt", "Ana", "Yes.")
    base = git(workspace.spec_repo_path, "rev-parse", "HEAD")
    report = committing.commit_adopted(workspace, "Eve")
    assert [i.proposal_id for i in report.items] == [first.id, second.id]
    assert all(i.result == "committed" for i in report.items)
    repo = workspace.spec_repo_path
    log = git(repo, "log", "--format=%H", f"{base}..HEAD").split()
    assert log == [report.items[1].commit_sha, report.items[0].commit_sha]
    message = git(repo, "log", "-1", "--format=%B", report.items[0].commit_sha)
    decision_id = governance.decisions_for(workspace.store, first.id)[0].id
    assert message.startswith("Adopt: Clarify beta")
    trailers = git(repo, "log", "-1", "--format=%(trailers:only,unfold)", report.items[0].commit_sha)
    assert f"Proposal-Id: {first.id}" in trailers and f"Decision-Id: {decision_id}" in trailers
    assert f"Spec-Review-Workspace: {workspace.config.id}" in trailers and "Audit-Head: " in trailers
    # Each commit changes only its own section.
    diff = git(repo, "diff", f"{base}..{report.items[0].commit_sha}")
    assert "+Beta line, clarified." in diff and "Guidance" not in diff
    assert spec_bytes(workspace).decode() == SPEC.replace("Beta line.", "Beta line, clarified.").replace(
        "Guidance text.", "Guidance text, sharper.")
    store = workspace.store
    assert governance.decisions_for(store, first.id)[0].commit_sha == report.items[0].commit_sha
    statuses = governance.statuses(store)
    assert statuses[first.id].status == "committed" and statuses[first.id].commit_sha == report.items[0].commit_sha
    assert statuses[waiting.id].status == "pending"
    rows = store.db.execute("SELECT sha, editor, proposal_ids, kind FROM spec_commits ORDER BY committed_at").fetchall()
    assert [tuple(r) for r in rows] == [
        (report.items[0].commit_sha, "Eve", json.dumps([first.id]), "proposal"),
        (report.items[1].commit_sha, "Eve", json.dumps([second.id]), "proposal"),
    ]
    events = [e for e in governance.audit.list_events(store.db, action="spec", newest_first=False)]
    assert [e.object_id for e in events] == [i.commit_sha for i in report.items]
    # A committed proposal is final: nothing to commit again, and no new decision.
    again = committing.commit_adopted(workspace, "Eve")
    assert again.items == () and git(repo, "rev-parse", "HEAD") == report.items[1].commit_sha
    with pytest.raises(KnownError, match="already committed"):
        governance.decide(store, first.id, "defer", "Ana", "Oops.", "other")


def test_only_editors_commit(tmp_path):
    workspace = make_workspace(tmp_path)
    adopt(workspace, propose(workspace, "guide", ("Guidance text.", "Guidance.")), ("Ana",))
    before = repo_state(workspace)
    for name in ("Ana", "Aud", "Nobody"):
        with pytest.raises(KnownError):
            committing.commit_adopted(workspace, name)
    assert repo_state(workspace) == before


def test_moved_spec_is_merged_three_ways(tmp_path):
    workspace = make_workspace(tmp_path)
    proposal = propose(workspace, "user_rule", ("Alpha line.", "Alpha line, proposed."))
    adopt(workspace, proposal, ("Ana",))
    # Someone edits another line of the same section, outside the app.
    moved = SPEC.replace("Epsilon line.", "Epsilon line, edited outside.")
    commit_file(workspace.spec_repo_path, "model_spec.md", moved, "Edit epsilon")
    report = committing.commit_adopted(workspace, "Eve")
    (item,) = report.items
    assert item.result == "committed" and item.merged_sections == ("user_rule",)
    assert spec_bytes(workspace).decode() == moved.replace("Alpha line.", "Alpha line, proposed.")
    result = trace(workspace)
    # The proposal's own commit traces; the hand edit it was merged with is an outside change.
    assert [c["explained_by"] for c in result.commits] == ["outside", "decision"]
    (problem,) = result.problems
    assert "(Edit epsilon) changed the spec outside the app" in problem


def test_conflict_marks_needs_rebase_and_commits_nothing(tmp_path):
    workspace = make_workspace(tmp_path)
    clash = propose(workspace, "user_rule", ("Gamma line.", "Gamma line, proposed."), title="Clashing")
    fine = propose(workspace, "guide", ("Guidance text.", "Guidance, fine."), title="Fine")
    adopt(workspace, clash, ("Ana",))
    adopt(workspace, fine, ("Ana",))
    moved = SPEC.replace("Gamma line.", "Gamma line, edited outside.")
    outside = commit_file(workspace.spec_repo_path, "model_spec.md", moved, "Edit gamma")
    report = committing.commit_adopted(workspace, "Eve")
    by_id = {i.proposal_id: i for i in report.items}
    assert by_id[clash.id].result == "needs_rebase" and by_id[clash.id].commit_sha is None
    assert "user_rule" in by_id[clash.id].message and "changed the same lines" in by_id[clash.id].message
    assert by_id[fine.id].result == "committed"
    # The clashing proposal's section is untouched; only the fine one went in.
    assert spec_bytes(workspace).decode() == moved.replace("Guidance text.", "Guidance, fine.")
    assert git(workspace.spec_repo_path, "rev-list", "--count", f"{outside}..HEAD") == "1"
    status = governance.proposal_status(workspace.store, clash.id)
    assert status.status == "needs_rebase" and "user_rule" in status.detail
    events = governance.audit.list_events(workspace.store.db, action="proposal.needs_rebase")
    assert len(events) == 1 and events[0].object_id == clash.id
    # Running again records nothing new for the same conflict.
    committing.commit_adopted(workspace, "Eve")
    assert len(governance.audit.list_events(workspace.store.db, action="proposal.needs_rebase")) == 1


def test_dirty_tree_is_refused_and_nothing_changes(tmp_path):
    workspace = make_workspace(tmp_path)
    adopt(workspace, propose(workspace, "guide", ("Guidance text.", "Guidance.")), ("Ana",))
    with open(workspace.spec_repo_path / "model_spec.md", "a", encoding="utf-8") as handle:
        handle.write("\nlocal edit\n")
    before, db_before = repo_state(workspace), db_state(workspace)
    with pytest.raises(KnownError, match="uncommitted changes .*model_spec.md"):
        committing.commit_adopted(workspace, "Eve")
    assert repo_state(workspace) == before and db_state(workspace) == db_before


def test_detached_head_is_refused(tmp_path):
    workspace = make_workspace(tmp_path)
    adopt(workspace, propose(workspace, "guide", ("Guidance text.", "Guidance.")), ("Ana",))
    git(workspace.spec_repo_path, "checkout", "-q", "--detach", "HEAD")
    before, db_before = repo_state(workspace), db_state(workspace)
    with pytest.raises(KnownError, match="detached HEAD"):
        committing.commit_adopted(workspace, "Eve")
    assert repo_state(workspace) == before and db_state(workspace) == db_before


def test_missing_spec_file_is_refused(tmp_path):
    workspace = make_workspace(tmp_path)
    adopt(workspace, propose(workspace, "guide", ("Guidance text.", "Guidance.")), ("Ana",))
    repo = workspace.spec_repo_path
    git(repo, "mv", "model_spec.md", "renamed.md")
    git(repo, "commit", "-q", "-m", "Rename the spec")
    before, db_before = repo_state(workspace), db_state(workspace)
    with pytest.raises(KnownError, match="not in the repository"):
        committing.commit_adopted(workspace, "Eve")
    assert repo_state(workspace) == before and db_state(workspace) == db_before


@pytest.mark.parametrize("hook", ["pre-commit", "commit-msg"])
def test_failing_hook_restores_the_working_tree_exactly(tmp_path, hook):
    workspace = make_workspace(tmp_path)
    adopt(workspace, propose(workspace, "guide", ("Guidance text.", "Guidance.")), ("Ana",))
    hook_file = workspace.spec_repo_path / ".git" / "hooks" / hook
    hook_file.write_text("#!/bin/sh\necho 'hook says no' >&2\nexit 1\n")
    hook_file.chmod(hook_file.stat().st_mode | stat.S_IXUSR)
    before, db_before = repo_state(workspace), db_state(workspace)
    with pytest.raises(KnownError, match="hook says no"):
        committing.commit_adopted(workspace, "Eve")
    assert repo_state(workspace) == before and db_state(workspace) == db_before
    # With the hook fixed, the same proposal commits.
    hook_file.unlink()
    assert committing.commit_adopted(workspace, "Eve").items[0].result == "committed"


def test_crash_between_git_commit_and_record_is_recovered_without_duplicate(tmp_path, monkeypatch):
    workspace = make_workspace(tmp_path)
    proposal = propose(workspace, "guide", ("Guidance text.", "Guidance."))
    adopt(workspace, proposal, ("Ana",))
    base = git(workspace.spec_repo_path, "rev-parse", "HEAD")

    class Killed(BaseException):
        pass

    def crash(proposal_id, sha):
        raise Killed(sha)

    monkeypatch.setattr(committing, "_after_git_commit", crash)
    with pytest.raises(Killed):
        committing.commit_adopted(workspace, "Eve")
    monkeypatch.undo()
    orphan = git(workspace.spec_repo_path, "rev-parse", "HEAD")
    assert orphan != base and governance.proposal_status(workspace.store, proposal.id).status == "adopted"
    assert not trace(workspace).ok  # the unrecorded commit is a problem until recovered
    workspace.close()
    with Workspace.open(tmp_path / "ws") as reopened:
        report = committing.commit_adopted(reopened, "Eve")
        assert [(i.result, i.commit_sha) for i in report.items] == [("recovered", orphan)]
        assert git(reopened.spec_repo_path, "rev-list", "--count", f"{base}..HEAD") == "1"
        status = governance.proposal_status(reopened.store, proposal.id)
        assert status.status == "committed" and status.commit_sha == orphan
        assert governance.decisions_for(reopened.store, proposal.id)[0].commit_sha == orphan
        assert trace(reopened).ok
        assert committing.commit_adopted(reopened, "Eve").items == ()


def test_crlf_spec_is_written_byte_exactly(tmp_path):
    crlf = SPEC.replace("\n", "\r\n")
    workspace = make_workspace(tmp_path, spec=crlf)
    current = section_text(crlf, "user_rule")
    adopt(workspace, propose(workspace, "user_rule", new_text=current.replace("Beta line.", "Beta line, CRLF.")), ("Ana",))
    committing.commit_adopted(workspace, "Eve")
    assert spec_bytes(workspace) == crlf.replace("Beta line.", "Beta line, CRLF.").encode("utf-8")


def test_tag_cuts_a_release_with_changelog_newest_first(tmp_path):
    workspace = make_workspace(tmp_path)
    repo = workspace.spec_repo_path
    one = propose(workspace, "guide", ("Guidance text.", "Guidance one."), title="First change")
    adopt(workspace, one, ("Ana",))
    report = committing.commit_adopted(workspace, "Eve", tag="v1.0")
    assert report.release is not None and report.release.proposal_ids == (one.id,)
    assert git(repo, "cat-file", "-t", "v1.0") == "tag"  # annotated
    assert git(repo, "rev-parse", "v1.0^{commit}") == report.release.commit_sha == git(repo, "rev-parse", "HEAD")
    assert git(repo, "show", "--name-only", "--format=", "HEAD") == "CHANGELOG.md"
    two = propose(workspace, "user_rule", ("Beta line.", "Beta two."), title="Second change")
    adopt(workspace, two, ("Ana",))
    committing.commit_adopted(workspace, "Eve")  # committed now, released later
    report = committing.commit_adopted(workspace, "Eve", tag="v2.0")
    assert report.release.proposal_ids == (two.id,)
    changelog = (repo / "CHANGELOG.md").read_text()
    assert changelog.startswith("# Changelog\n\n## v2.0 (")
    assert changelog.index("Second change") < changelog.index("## v1.0") < changelog.index("First change")
    tagged = workspace.store.db.execute(
        "SELECT release_tag FROM spec_commits WHERE kind = 'proposal' ORDER BY committed_at").fetchall()
    assert [r[0] for r in tagged] == ["v1.0", "v2.0"]
    before = repo_state(workspace)
    with pytest.raises(KnownError, match="already exists"):
        committing.commit_adopted(workspace, "Eve", tag="v2.0")
    with pytest.raises(KnownError, match="not a valid git tag"):
        committing.commit_adopted(workspace, "Eve", tag="bad..tag")
    assert repo_state(workspace) == before
    assert trace(workspace).ok


def test_changelog_entry_goes_above_existing_entries():
    existing = "# Changelog\r\n\r\nIntro.\r\n\r\n## v1 (2026-01-01)\r\n\r\n- Old.\r\n"
    entry = committing.changelog_entry("v2", "2026-02-02", [("p1", "New\nthing", ["a", "b"], "f" * 40)], "\r\n")
    merged = committing.insert_changelog_entry(existing, entry)
    assert merged == ("# Changelog\r\n\r\nIntro.\r\n\r\n## v2 (2026-02-02)\r\n\r\n"
                      "- New thing (sections `a`, `b`; proposal p1; commit ffffffffffff)\r\n\r\n"
                      "## v1 (2026-01-01)\r\n\r\n- Old.\r\n")


def test_commit_cli_json(tmp_path, capsys):
    workspace = make_workspace(tmp_path)
    proposal = propose(workspace, "guide", ("Guidance text.", "Guidance."))
    adopt(workspace, proposal, ("Ana",))
    workspace.close()
    code, out, _ = run(capsys, "commit", tmp_path / "ws", "--editor", "Eve", "--tag", "v9", "--json")
    data = json.loads(out)
    assert code == 0 and data["committed"] == 1 and data["items"][0]["proposal_id"] == proposal.id
    assert data["release"]["tag"] == "v9"
    os.chmod(tmp_path / "spec" / "model_spec.md", 0o644)
    (tmp_path / "spec" / "model_spec.md").write_text("dirty\n")
    code, _, err = run(capsys, "commit", tmp_path / "ws", "--editor", "Eve")
    assert code == 1 and "uncommitted changes" in err


def test_crash_after_the_changelog_commit_is_completed_by_the_next_run(tmp_path, monkeypatch):
    workspace = make_workspace(tmp_path)
    repo = workspace.spec_repo_path
    adopt(workspace, propose(workspace, "guide", ("Guidance text.", "Guidance.")), ("Ana",))

    def crash(what, sha):
        if what.startswith("release"):
            raise KeyboardInterrupt

    monkeypatch.setattr(committing, "_after_git_commit", crash)
    with pytest.raises(KeyboardInterrupt):
        committing.commit_adopted(workspace, "Eve", tag="v1")
    monkeypatch.undo()
    changelog_commit = git(repo, "rev-parse", "HEAD")
    assert git(repo, "tag") == ""
    report = committing.commit_adopted(workspace, "Eve", tag="v1")
    assert report.items == () and report.release.commit_sha == changelog_commit
    assert git(repo, "rev-parse", "HEAD") == changelog_commit == git(repo, "rev-parse", "v1^{commit}")
    assert (repo / "CHANGELOG.md").read_text().count("## v1") == 1


def test_a_commit_names_every_counted_decision(tmp_path):
    # Root level needs two reviewers: the commit carries both decisions, once each, and records them.
    workspace = make_workspace(tmp_path)
    proposal = propose(workspace, "root_rule", ("Line one", "Line 1"), title="Two votes")
    adopt(workspace, proposal, ("Ana", "Ben"))
    report = committing.commit_adopted(workspace, "Eve")
    (item,) = report.items
    trailers = git(workspace.spec_repo_path, "log", "-1", "--format=%(trailers:key=Decision-Id,valueonly)", item.commit_sha)
    expected = {d.id for d in governance.decisions_for(workspace.store, proposal.id)}
    assert len(expected) == 2
    assert sorted(trailers.split()) == sorted(expected)
    (stored,) = workspace.store.db.execute("SELECT decision_ids FROM spec_commits WHERE sha = ?", [item.commit_sha])
    assert set(json.loads(stored[0])) == expected


def test_a_run_killed_after_tagging_is_finished_by_the_next_run_with_the_same_tag(tmp_path, monkeypatch):
    workspace = make_workspace(tmp_path)
    repo = workspace.spec_repo_path
    adopt(workspace, propose(workspace, "guide", ("Guidance text.", "Guidance.")), ("Ana",))
    real_create_tag = committing.gitops.create_tag

    def tag_then_die(*args, **kwargs):
        real_create_tag(*args, **kwargs)
        raise KeyboardInterrupt  # killed after the tag, before the release is recorded

    monkeypatch.setattr(committing.gitops, "create_tag", tag_then_die)
    with pytest.raises(KeyboardInterrupt):
        committing.commit_adopted(workspace, "Eve", tag="v1")
    monkeypatch.undo()
    tagged = git(repo, "rev-parse", "v1^{commit}")
    report = committing.commit_adopted(workspace, "Eve", tag="v1")
    assert report.release is not None and report.release.commit_sha == tagged
    assert git(repo, "rev-parse", "HEAD") == tagged and git(repo, "tag") == "v1"
    assert workspace.store.db.execute(
        "SELECT release_tag FROM spec_commits WHERE sha = ? AND kind = 'release'", [tagged]).fetchone() == ("v1",)
    # Finished once: now the tag is this workspace's recorded release and cannot be cut again.
    with pytest.raises(KnownError, match="already exists"):
        committing.commit_adopted(workspace, "Eve", tag="v1")


def test_a_tag_someone_else_made_is_still_refused(tmp_path):
    workspace = make_workspace(tmp_path)
    repo = workspace.spec_repo_path
    adopt(workspace, propose(workspace, "guide", ("Guidance text.", "Guidance.")), ("Ana",))
    git(repo, "tag", "-a", "v1", "-m", "made by hand")
    with pytest.raises(KnownError, match="already exists"):
        committing.commit_adopted(workspace, "Eve", tag="v1")


def test_an_autocrlf_checkout_commits_with_the_repository_line_ends(tmp_path):
    """core.autocrlf=true checks the spec out with CRLF; proposals (LF, like the blob) still apply."""
    workspace = make_workspace(tmp_path)
    repo = workspace.spec_repo_path
    git(repo, "config", "core.autocrlf", "true")
    (repo / "model_spec.md").unlink()
    git(repo, "checkout", "--", "model_spec.md")
    assert b"\r\n" in spec_bytes(workspace) and git(repo, "status", "--porcelain") == ""
    proposal = propose(workspace, "guide", ("Guidance text.", "Guidance, plainly."))
    adopt(workspace, proposal, ("Ana",))
    report = committing.commit_adopted(workspace, "Eve")
    assert [i.result for i in report.items] == ["committed"]
    committed = blob(repo, "HEAD:model_spec.md")
    assert b"\r\n" not in committed and b"Guidance, plainly." in committed
    assert git(repo, "status", "--porcelain") == ""


def test_a_signing_failure_says_what_git_said_on_one_line(tmp_path):
    workspace = make_workspace(tmp_path)
    repo = workspace.spec_repo_path
    adopt(workspace, propose(workspace, "guide", ("Guidance text.", "Guidance.")), ("Ana",))
    fake_gpg = tmp_path / "gpg"
    fake_gpg.write_text("#!/bin/sh\necho 'gpg: signing failed: No secret key' >&2\nexit 2\n")
    fake_gpg.chmod(0o755)
    git(repo, "config", "commit.gpgsign", "true")
    git(repo, "config", "gpg.program", str(fake_gpg))
    before = repo_state(workspace)
    with pytest.raises(KnownError) as refused:
        committing.commit_adopted(workspace, "Eve")
    text = str(refused.value)
    assert "\n" not in text and "gpg failed to sign the data" in text and "Signing the commit failed" in text
    assert "hook" not in text
    assert repo_state(workspace) == before


def test_git_refusals_are_explained_by_what_git_said(tmp_path):
    from reviewer.gitops import _why_git_refused

    git_dir = tmp_path / ".git"
    (git_dir / "hooks").mkdir(parents=True)
    assert "disk is full" in _why_git_refused("fatal: write error: No space left on device", git_dir)
    assert "another git process" in _why_git_refused("fatal: Unable to create '/r/.git/index.lock'", git_dir).lower()
    assert _why_git_refused("error: something", git_dir) == "See git's message above."
    (git_dir / "hooks" / "pre-commit").write_text("#!/bin/sh\nexit 1\n")
    assert "pre-commit" in _why_git_refused("error: something", git_dir)


def test_a_spec_that_no_longer_parses_stops_the_run_and_marks_nothing(tmp_path):
    workspace = make_workspace(tmp_path)
    repo = workspace.spec_repo_path
    proposal = propose(workspace, "guide", ("Guidance text.", "Guidance."))
    adopt(workspace, proposal, ("Ana",))
    spec = repo / "model_spec.md"
    spec.write_text(spec.read_text().replace("Line two of the root rule.", "```\nLine two of the root rule."))
    git(repo, "commit", "-qam", "A code fence left open by hand")
    before = repo_state(workspace), db_state(workspace)
    with pytest.raises(KnownError, match="never closed"):
        committing.commit_adopted(workspace, "Eve")
    assert (repo_state(workspace), db_state(workspace)) == before
    assert governance.proposal_status(workspace.store, proposal.id).status == "adopted"
