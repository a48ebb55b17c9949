import json
import os

import pytest

from reviewer.errors import KnownError
from reviewer.proposals import add_proposal, proposal_view
from reviewer.workspace import DB_FILE, WORKSPACE_FILE, Workspace
from tests.datapaths import model_spec
from tests.helpers import commit_file, git, init_repo, spec_repo_with, tree_snapshot

SECTION = "avoid_targeted_political_manipulation"


@pytest.fixture
def spec_2025_04():
    return model_spec("2025-04-11").read_text(encoding="utf-8")


@pytest.fixture
def spec_2025_09():
    return model_spec("2025-09-12").read_text(encoding="utf-8")


def _outside_the_log(repo):
    """The repository's files but the git objects and the log ref (which a workspace writes to)."""
    return {name: data for name, data in tree_snapshot(repo).items()
            if not name.startswith((".git/objects/", ".git/refs/spec-review/", ".git/logs/refs/spec-review/"))}


def test_create_for_existing_repo_leaves_repo_untouched(tmp_path, spec_2025_04):
    repo = spec_repo_with(tmp_path / "spec", spec_2025_04)
    before = _outside_the_log(repo)
    with Workspace.create(tmp_path / "ws", spec_repo=repo) as ws:
        status = ws.status()
        log_ref = ws.store.log_ref.ref
    # The working tree, the index, HEAD, branches and tags are as they were; only the log ref is new.
    assert _outside_the_log(repo) == before
    assert git(repo, "for-each-ref", "--format=%(refname)", "refs/spec-review") == log_ref
    assert git(repo, "for-each-ref", "--format=%(refname)").splitlines() == ["refs/heads/main", log_ref]
    assert status["counts"]["sections"] == 71  # headings with an id in the 2025-04-11 release
    assert status["spec_revision"] == git(repo, "rev-parse", "HEAD")
    assert status["branch"] == "main" and status["dirty"] is False
    config = json.loads((tmp_path / "ws" / WORKSPACE_FILE).read_text())
    assert config["spec_repo"] == str(repo.resolve()) and config["spec_file"] == "model_spec.md"
    # Reopening works and sees the same thing.
    with Workspace.open(tmp_path / "ws") as ws:
        assert ws.store.get_info("baseline_revision") == status["spec_revision"]
        assert ws.store.counts()["audit_events"] == 1


def test_spec_file_in_a_subfolder(tmp_path, spec_2025_04):
    repo = init_repo(tmp_path / "spec")
    commit_file(repo, "docs/spec.md", spec_2025_04)
    with Workspace.create(tmp_path / "ws", spec_repo=repo, spec_file="docs/spec.md") as ws:
        assert ws.load_spec().document.get(SECTION) is not None


@pytest.mark.parametrize(
    "setup, message",
    [
        ("missing", "does not exist"),
        ("not_git", "is not a git repository"),
        ("empty_repo", "has no commits"),
        ("no_spec_file", "is not in the repository"),
        ("broken_spec", "does not parse"),
        ("not_utf8", "not UTF-8"),
    ],
)
def test_bad_spec_repositories_give_clear_errors_and_write_nothing(tmp_path, spec_2025_04, setup, message):
    repo = tmp_path / "spec"
    if setup == "not_git":
        repo.mkdir()
        (repo / "model_spec.md").write_text(spec_2025_04)
    elif setup == "empty_repo":
        init_repo(repo)
    elif setup == "no_spec_file":
        spec_repo_with(repo, spec_2025_04, name="other.md")
    elif setup == "broken_spec":
        spec_repo_with(repo, "# A {#a}\n\n# B {#a}\n\n~~~\nnever closed\n")
    elif setup == "not_utf8":
        init_repo(repo)
        commit_file(repo, "model_spec.md", b"# Caf\xe9 {#cafe}\n")
    before = tree_snapshot(tmp_path)
    with pytest.raises(KnownError, match=message):
        Workspace.create(tmp_path / "ws", spec_repo=repo)
    assert tree_snapshot(tmp_path) == before
    assert not (tmp_path / "ws").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".ws.creating-")]


def test_target_that_is_not_empty_is_refused(tmp_path, spec_2025_04):
    repo = spec_repo_with(tmp_path / "spec", spec_2025_04)
    target = tmp_path / "ws"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    with pytest.raises(KnownError, match="not empty"):
        Workspace.create(target, spec_repo=repo)
    assert os.listdir(target) == ["notes.txt"]


def test_empty_target_folder_is_used(tmp_path, spec_2025_04):
    repo = spec_repo_with(tmp_path / "spec", spec_2025_04)
    (tmp_path / "ws").mkdir()
    Workspace.create(tmp_path / "ws", spec_repo=repo).close()
    assert (tmp_path / "ws" / DB_FILE).is_file()


def test_existing_workspace_is_refused(tmp_path, spec_2025_04):
    repo = spec_repo_with(tmp_path / "spec", spec_2025_04)
    Workspace.create(tmp_path / "ws", spec_repo=repo).close()
    before = tree_snapshot(tmp_path / "ws")
    with pytest.raises(KnownError, match="already a workspace"):
        Workspace.create(tmp_path / "ws", spec_repo=repo)
    assert tree_snapshot(tmp_path / "ws") == before


def test_folder_that_is_not_a_workspace(tmp_path):
    (tmp_path / "plain").mkdir()
    with pytest.raises(KnownError, match="not a Spec Review workspace"):
        Workspace.open(tmp_path / "plain")
    with pytest.raises(KnownError, match="does not exist"):
        Workspace.open(tmp_path / "absent")
    assert not (tmp_path / "absent").exists()


def test_workspace_from_newer_format_is_refused(tmp_path, spec_2025_04):
    repo = spec_repo_with(tmp_path / "spec", spec_2025_04)
    Workspace.create(tmp_path / "ws", spec_repo=repo).close()
    config_path = tmp_path / "ws" / WORKSPACE_FILE
    config = json.loads(config_path.read_text())
    config["version"] = 99
    config_path.write_text(json.dumps(config))
    before = tree_snapshot(tmp_path / "ws")
    with pytest.raises(KnownError, match="newer version"):
        Workspace.open(tmp_path / "ws")
    assert tree_snapshot(tmp_path / "ws") == before


def test_parent_folder_missing_or_unwritable(tmp_path, spec_2025_04):
    repo = spec_repo_with(tmp_path / "spec", spec_2025_04)
    with pytest.raises(KnownError, match="does not exist"):
        Workspace.create(tmp_path / "no" / "such" / "ws", spec_repo=repo)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(KnownError):
        Workspace.create(blocker / "ws", spec_repo=repo)


def test_proposal_against_real_section_and_view_after_spec_moves(tmp_path, spec_2025_04, spec_2025_09):
    from reviewer.spec import parse_spec

    repo = spec_repo_with(tmp_path / "spec", spec_2025_04)
    new_text = parse_spec(spec_2025_09).section(SECTION).text
    with Workspace.create(tmp_path / "ws", spec_repo=repo) as ws:
        proposal = add_proposal(
            ws, changes=[(SECTION, new_text)], title="Targeted persuasion", intent="Clarify.",
            kind="clarification", created_by="Ana",
        )
        stored = ws.store.get_proposal(proposal.id)
        assert stored.sections[0].base_text == parse_spec(spec_2025_04).section(SECTION).text
        assert stored.base_revision == git(repo, "rev-parse", "HEAD")
        view = proposal_view(ws, proposal.id)
        assert view.sections[0].base_matches_current and view.sections[0].hunks
        before = ws.load_spec()
        assert ws.load_spec() is before  # one commit's file is read and parsed once
        # The spec moves on: the view notices and diffs against the current text.
        moved = commit_file(repo, "model_spec.md", spec_2025_09, "Next release")
        assert ws.load_spec().revision == moved and ws.load_spec().text == spec_2025_09
        assert ws.load_spec(before.revision) is before
        view = proposal_view(ws, proposal.id)
        assert not view.sections[0].base_matches_current
        assert view.sections[0].hunks == ()


@pytest.mark.parametrize(
    "change, message",
    [
        (("no_such_section", "## X {#no_such_section}\n"), "no section with id"),
        ((SECTION, "Just text without a heading\n"), "must start with its heading"),
        ((SECTION, "#### T {#other_id authority=root}\n"), "not 'avoid_targeted_political_manipulation'"),
        ((SECTION, "#### T {#avoid_targeted_political_manipulation authority=root}\n\n## Extra {#extra}\n"), "2 headings"),
    ],
)
def test_bad_proposal_texts(tmp_path, spec_2025_04, change, message):
    repo = spec_repo_with(tmp_path / "spec", spec_2025_04)
    with Workspace.create(tmp_path / "ws", spec_repo=repo) as ws:
        with pytest.raises(KnownError, match=message):
            add_proposal(ws, changes=[change], title="t", intent="i", kind="clarification")
        assert ws.store.counts()["proposals"] == 0


def test_an_auditor_reads_and_verifies_a_read_only_copy(demo_workspace, capsys, monkeypatch):
    """A read-only copy (another user's files, no write permission) opens for reading: status and verify work."""
    import shutil
    import subprocess
    import tempfile
    from pathlib import Path

    import cli.governance  # noqa: F401 - loaded before the user changes: the checkout may be closed to them
    import reviewer.replay  # noqa: F401
    import reviewer.trace  # noqa: F401
    from cli.main import main
    from tests.datapaths import SUPPORTED

    if os.geteuid() != 0:
        pytest.skip("needs root to become another user, whom permission bits bind")
    base = Path(tempfile.mkdtemp())  # pytest's own folders are closed to other users
    try:
        base.chmod(0o755)
        copy, home = base / "ws", base / "home"
        shutil.copytree(demo_workspace, copy, symlinks=True)
        home.mkdir()
        subprocess.run(["chown", "-R", "65534:65534", str(copy), str(home)], check=True)
        subprocess.run(["chmod", "-R", "a-w", str(copy)], check=True)
        monkeypatch.setenv("HOME", str(home))  # git reads the user's config from here
        before = tree_snapshot(copy)
        os.setegid(65534)
        os.seteuid(65534)
        try:
            status = main(["status", str(copy)])
            verified = main(["audit", "verify", str(copy)])
            decided = main(["decide", str(copy), SUPPORTED, "adopt", "--reviewer", "Amara Okafor", "--rationale", "Yes."])
        finally:
            os.seteuid(0)
            os.setegid(0)
        out, err = capsys.readouterr()
        assert status == 0 and "proposals" in out, err
        assert verified == 0 and "Audit log intact" in out and "the record matches the log" in out, err
        assert decided == 1 and "read-only" in err and "Traceback" not in err
        assert tree_snapshot(copy) == before  # nothing written: no anchor, no -wal, no -shm
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(base)], check=True)
        shutil.rmtree(base, ignore_errors=True)


def test_a_repository_git_will_not_read_is_explained(tmp_path, monkeypatch):
    """git refuses another user's repository ("dubious ownership"): say that, not "no revision HEAD"."""
    from reviewer import gitops

    repo = spec_repo_with(tmp_path / "spec", "# Overview {#overview}\n\nText.\n")
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[safe]\n\tdirectory = /nowhere\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_TEST_ASSUME_DIFFERENT_OWNER", "1")  # git's own switch for this check
    with pytest.raises(KnownError, match="belongs to another user") as refused:
        gitops.read_file_at(repo, "HEAD", "model_spec.md")
    assert "safe.directory" in str(refused.value)



# ---- a spec repository that moved ---------------------------------------------------------------


def _moved(tmp_path, spec_text):
    """A workspace whose spec repository has been moved away; returns (workspace, the repository's new folder)."""
    repo = spec_repo_with(tmp_path / "spec", spec_text)
    with Workspace.create(tmp_path / "ws", spec_repo=repo):
        pass
    moved = tmp_path / "elsewhere" / "spec-moved"
    moved.parent.mkdir()
    os.rename(repo, moved)
    return tmp_path / "ws", moved


def test_a_moved_repository_is_named_and_relocating_is_offered(tmp_path, spec_2025_04):
    from reviewer.workspace import SpecRepoMissing

    root, _moved_to = _moved(tmp_path, spec_2025_04)
    with Workspace.open(root) as ws:  # opening needs no repository: relocating must be possible
        with pytest.raises(SpecRepoMissing) as raised:
            ws.overview()
    error = raised.value
    assert error.repo == tmp_path / "spec" and error.workspace == root
    assert "does not exist" in str(error) and "git init" not in str(error)
    assert f"spec-review repo relocate {root} NEW_FOLDER" in str(error) and "Choose the moved folder" in str(error)


def test_relocating_checks_the_folder_then_records_it(tmp_path, spec_2025_04, spec_2025_09):
    root, moved = _moved(tmp_path, spec_2025_04)
    commit_file(moved, "model_spec.md", spec_2025_09, "the spec moved on after the move")
    with Workspace.open(root) as ws:
        baseline = ws.store.get_info("baseline_revision")
        done = ws.relocate_spec_repo(moved)
        assert (done.old, done.new, done.baseline) == (tmp_path / "spec", moved, baseline)
        assert done.recorded == str(moved) and ws.spec_repo_path == moved
        assert ws.load_spec().revision == done.head != baseline  # read from the moved repository, at once
        assert ws.overview().spec_repo == moved
    config = json.loads((root / WORKSPACE_FILE).read_text(encoding="utf-8"))
    assert config["spec_repo"] == str(moved)
    with Workspace.open(root) as ws:
        assert ws.status()["spec_repo"] == str(moved)
    # A repository inside the workspace folder is recorded relative to it, as the demo's is.
    inside = root / "spec"
    os.rename(moved, inside)
    with Workspace.open(root) as ws:
        assert ws.relocate_spec_repo(inside).recorded == "spec"


def test_a_wrong_folder_is_refused_clearly_and_nothing_changes(tmp_path, spec_2025_04):
    root, moved = _moved(tmp_path, spec_2025_04)
    plain = tmp_path / "plain"
    plain.mkdir()
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    without_spec = init_repo(tmp_path / "other")
    commit_file(without_spec, "README.md", "not a spec")
    # The same spec file in a repository with another history: not the workspace's repository.
    stranger = spec_repo_with(tmp_path / "stranger", spec_2025_04 + "\n")
    cases = {
        tmp_path / "nowhere": "does not exist",
        tmp_path / "a-file": "is a file, not a folder",
        plain: "is not the top of a git repository",
        moved / "some-subfolder-that-is-not-there": "does not exist",
        without_spec: "holds no model_spec.md",
        stranger: "does not hold this workspace's history",
    }
    before = (root / WORKSPACE_FILE).read_bytes()
    with Workspace.open(root) as ws:
        for folder, says in cases.items():
            with pytest.raises(KnownError, match=says) as raised:
                ws.relocate_spec_repo(folder)
            assert raised.value.hint  # and what to do instead
            assert ws.spec_repo_path == tmp_path / "spec"
        assert sorted(p.name for p in root.iterdir() if p.name.startswith(".workspace.json")) == []
    assert (root / WORKSPACE_FILE).read_bytes() == before


def test_the_command_line_relocates_and_refuses_a_wrong_folder(tmp_path, spec_2025_04, capsys):
    from cli.main import main

    root, moved = _moved(tmp_path, spec_2025_04)
    assert main(["status", str(root)]) == 1
    err = capsys.readouterr().err
    assert "does not exist" in err and "spec-review repo relocate" in err and "git init" not in err
    before = (root / WORKSPACE_FILE).read_bytes()
    assert main(["repo", "relocate", str(root), str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "is not the top of a git repository" in err and "\n" == err[-1] and err.count("\n") == 1
    assert (root / WORKSPACE_FILE).read_bytes() == before
    assert main(["repo", "relocate", str(root), str(moved), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["old"], data["new"], data["recorded"]) == (str(tmp_path / "spec"), str(moved), str(moved))
    assert main(["status", str(root)]) == 0 and str(moved) in capsys.readouterr().out
