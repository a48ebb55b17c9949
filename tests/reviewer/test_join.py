"""Joining a board: a new machine clones the spec repository and rebuilds the workspace from its log ref."""

import json
import shutil

import pytest

from cli.main import main
from reviewer import gitops, governance, logref, operations
from reviewer.digests import CROWD_TABLES
from reviewer.errors import KnownError
from reviewer.join import join
from reviewer.replay import verify_workspace
from reviewer.spec import parse_spec
from reviewer.workspace import Workspace
from tests.datapaths import POLIS_SAMPLE, model_spec
from tests.helpers import git, spec_repo_with
from tests.reviewer.test_sync_imports import _ca1_file

SECTION = "avoid_targeted_political_manipulation"


def _record(ws):
    """What a member sees of the board: events, members, proposals, decisions and the crowd rows' digests."""
    db = ws.store.db
    return {
        "events": db.execute("SELECT id, at, actor, action, object_id, payload, hash FROM audit_events ORDER BY seq").fetchall(),
        "members": [(m.name, m.roles) for m in governance.list_members(ws.store)],
        "proposals": db.execute("SELECT * FROM proposals ORDER BY id").fetchall(),
        "decisions": db.execute("SELECT * FROM decisions ORDER BY id").fetchall(),
        "crowd": {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in CROWD_TABLES},
    }


def _rows(ws, table):
    return sorted(ws.store.db.execute(f"SELECT * FROM {table}").fetchall(), key=repr)


@pytest.fixture
def board(tmp_path):
    """A board's workspace on a spec repository whose remote has its branch and the board's log."""
    return _board(tmp_path)


def _board(tmp_path):
    old = model_spec("2025-04-11").read_text(encoding="utf-8")
    new = model_spec("2025-09-12").read_text(encoding="utf-8")
    repo = spec_repo_with(tmp_path / "repo", old)
    branch = git(repo, "rev-parse", "--abbrev-ref", "HEAD")
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "--quiet", "--bare", f"--initial-branch={branch}", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "--quiet", "origin", branch)
    with Workspace.create(tmp_path / "ws-a", spec_repo=repo, name="Root-level board") as ws:
        operations.add_member(ws, "Amara Okafor", ["reviewer", "editor"], actor="Amara Okafor")
        operations.add_member(ws, "Jonas Lindqvist", ["reviewer"], actor="Amara Okafor")
        ca1 = operations.import_ca1(ws, [_ca1_file(tmp_path / "files")], actor="Amara Okafor").value
        operations.import_polis(ws, POLIS_SAMPLE / "comments.csv", POLIS_SAMPLE / "participants-votes.csv",
                                key="sample", actor="Amara Okafor")
        proposal = operations.add_proposal(
            ws, actor="Amara Okafor", changes=[(SECTION, parse_spec(new).section(SECTION).text)],
            title="Targeted political manipulation, as clarified in 2025-09",
            intent="Say plainly which persuasion is targeted manipulation.", kind="clarification").value
        justification = ws.store.db.execute("SELECT id FROM justifications WHERE import_id = ? LIMIT 1",
                                            [ca1.import_id]).fetchone()[0]
        operations.link(ws, proposal.id, justification, actor="Amara Okafor", note="On point.")
        operations.decide(ws, proposal.id, "adopt", "The crowd supports it.", actor="Jonas Lindqvist")
        operations.sync(ws, actor="Amara Okafor")
    return tmp_path / "ws-a", remote, proposal.id


def test_a_joined_workspace_equals_the_board_it_joined(board, tmp_path):
    a_root, remote, proposal_id = board
    joined, report = join(tmp_path / "ws-b", str(remote), actor="Ada Byron")
    with joined as b, Workspace.open(a_root) as a:
        assert b.config.id == a.config.id and b.config.name == "Root-level board"
        assert (b.root / "spec" / ".git").is_dir() and b.load_spec().text == a.load_spec().text
        assert len(report.received) == len(_record(a)["events"])
        assert _record(b) == _record(a)  # the same record, chain hashes included
        assert governance.proposal_status(b.store, proposal_id).status == governance.proposal_status(
            a.store, proposal_id).status
        assert verify_workspace(b).ok
        # The new member works and syncs like any other.
        operations.decide(b, proposal_id, "adopt", "Agreed.", actor="Amara Okafor")
        operations.sync(b, actor="Amara Okafor")
    with Workspace.open(a_root) as a:
        operations.sync(a, actor="Amara Okafor")
        assert len(governance.decisions_for(a.store, proposal_id)) == 2 and verify_workspace(a).ok


@pytest.fixture
def large_file_board(tmp_path, monkeypatch):
    """The board, its CA-1 file "too large" for the log and since moved: a new member has it only by hand."""
    monkeypatch.setattr(logref, "MOST_IMPORT_BYTES", 1000)  # the CA-1 file is larger; Pol.is files stay by path
    a_root, remote, proposal_id = _board(tmp_path)
    with Workspace.open(a_root) as a:
        (import_id, files) = a.store.db.execute(
            "SELECT object_id, json_extract(payload, '$.files') FROM audit_events WHERE action = 'import.ca1'").fetchone()
        tree = git(a.spec_repo_path, "log", "--name-only", "--format=", a.store.log_ref.ref).split()
    (file,) = json.loads(files)
    assert f"imports/{file['sha256']}" not in tree and file["bytes"] > 1000
    kept = tmp_path / "kept" / "renamed.jsonl"
    kept.parent.mkdir()
    shutil.move(file["path"], kept)  # not where the import read it: as on another machine
    return a_root, remote, proposal_id, import_id, kept


def test_a_crowd_file_too_large_for_the_log_waits_and_importing_it_finishes_the_join(large_file_board, tmp_path):
    a_root, remote, proposal_id, import_id, kept = large_file_board
    joined, report = join(tmp_path / "ws-b", str(remote), actor="Ada Byron")
    with joined as b, Workspace.open(a_root) as a:
        expected = _record(a)
        # The join went ahead: everything before the CA-1 import is here, the import and the rest wait.
        assert report.held is not None and report.held.first == [e[0] for e in expected["events"]
                                                                  if e[4] == import_id][0]
        assert len(report.received) + report.held.held == len(expected["events"])
        assert "renamed.jsonl" not in report.held.describe() and "comparisons.jsonl (" in report.held.describe()
        status = b.status()
        assert status["waiting"]["events"] == report.held.held and status["counts"]["proposals"] == 0
        assert [m.name for m in governance.list_members(b.store)] == ["Amara Okafor", "Jonas Lindqvist"]
        assert verify_workspace(b).ok
        # Meanwhile it can be read but not changed: its record would fork from the board's.
        before = _record(b)
        with pytest.raises(KnownError, match="still joining its board"):
            operations.add_member(b, "Ada Byron", ["reviewer"], actor="Amara Okafor")
        other = tmp_path / "other.jsonl"  # another CA-1 file: not what the log waits for
        other.write_text(kept.read_text(encoding="utf-8") + "\n", encoding="utf-8")
        with pytest.raises(KnownError, match="not the file its log waits for: comparisons.jsonl"):
            operations.import_ca1(b, [other], actor="Ada Byron")
        assert _record(b) == before
        # A sync without the file goes on waiting, and changes nothing.
        again = operations.sync(b, actor="Ada Byron").value
        assert again.held == report.held and not again.received and _record(b) == before
        # Importing the same file (another name, matched by content) receives the rest as the board made it.
        result = operations.import_ca1(b, [kept], actor="Ada Byron")
        assert result.value.import_id == import_id and not result.warnings
        assert len(result.changes.events) == report.held.held
        assert b.status()["waiting"] is None
        assert _record(b) == expected and verify_workspace(b).ok
        # Now it works and syncs like any other member's.
        operations.decide(b, proposal_id, "adopt", "Agreed.", actor="Amara Okafor")
        assert not operations.sync(b, actor="Amara Okafor").value.received
    with Workspace.open(a_root) as a:
        operations.sync(a, actor="Amara Okafor")
        assert len(governance.decisions_for(a.store, proposal_id)) == 2 and verify_workspace(a).ok


def test_a_waiting_join_from_the_command_line(large_file_board, tmp_path, capsys):
    _a_root, remote, _proposal_id, _import_id, kept = large_file_board
    ws = tmp_path / "ws-c"
    assert main(["init", str(ws), "--join", str(remote), "--by", "Ada Byron"]) == 0
    out = capsys.readouterr().out
    assert "Not finished:" in out and "comparisons.jsonl (" in out and "spec-review import ca1" in out
    assert main(["status", str(ws)]) == 0
    assert "Joining" in capsys.readouterr().out
    assert main(["import", "ca1", str(ws), str(kept)]) == 0
    assert "Joined the board: received the" in capsys.readouterr().out
    with Workspace.open(ws) as c:
        assert c.status()["waiting"] is None and verify_workspace(c).ok


def test_joining_from_the_command_line(board, tmp_path, capsys):
    _a_root, remote, _proposal_id = board
    assert main(["init", str(tmp_path / "ws-c"), "--join", str(remote), "--by", "Ada Byron"]) == 0
    out = capsys.readouterr().out
    assert "Joined" in out and "Root-level board" in out
    with Workspace.open(tmp_path / "ws-c") as c:
        assert verify_workspace(c).ok


def test_joining_what_holds_no_board_says_so_and_leaves_nothing(tmp_path):
    repo = spec_repo_with(tmp_path / "repo", model_spec("2025-04-11").read_text(encoding="utf-8"))
    with pytest.raises(KnownError, match="holds no Spec Review log") as e:
        join(tmp_path / "ws", str(repo), actor="Ada Byron")
    assert "sync" in e.value.hint
    assert not (tmp_path / "ws").exists() or not any((tmp_path / "ws").iterdir())
    with pytest.raises(KnownError, match="could not clone"):
        join(tmp_path / "ws", str(tmp_path / "nowhere"), actor="Ada Byron")


def test_joining_asks_which_board_when_the_repository_holds_several(board, tmp_path):
    a_root, remote, _proposal_id = board
    with Workspace.open(a_root) as a:
        repo = a.spec_repo_path
        first = a.config.id
    with Workspace.create(tmp_path / "ws-other", spec_repo=repo) as other:
        operations.sync(other, actor="Amara Okafor")
        second = other.config.id
    with pytest.raises(KnownError, match="holds the logs of 2 workspaces") as e:
        join(tmp_path / "ws-b", str(remote), actor="Ada Byron")
    assert "--workspace-id" in e.value.hint
    joined, _report = join(tmp_path / "ws-b", str(remote), workspace_id=second, actor="Ada Byron")
    with joined as b:
        assert b.config.id == second != first


def test_the_demo_board_can_be_joined_whole(demo_workspace, tmp_path):
    """The demo's log holds every kind that travels: crowd imports, a ranker run, grades, rule labels, decisions."""
    remote = tmp_path / "remote.git"
    spec = demo_workspace / "spec"
    branch = git(spec, "rev-parse", "--abbrev-ref", "HEAD")
    git(tmp_path, "init", "--quiet", "--bare", f"--initial-branch={branch}", str(remote))
    git(spec, "remote", "add", "origin", str(remote))
    git(spec, "push", "--quiet", "--tags", "origin", branch)
    with Workspace.open(demo_workspace) as a:
        operations.sync(a, actor="Amara Okafor")
        expected = _record(a)
        tables = {t: _rows(a, t) for t in ("stance_labels", "relevance_grades", "ranker_rankings", "evidence_current")}
    assert {"import.ca1", "import.rankings", "import.relevance", "evidence.rule"} <= {e[3] for e in expected["events"]}
    joined, _report = join(tmp_path / "joined", str(remote), actor="Ada Byron")
    with joined as b:
        assert _record(b) == expected
        assert {t: _rows(b, t) for t in tables} == tables
        assert b.releases() == gitops.list_tags(spec)  # the releases came with the clone
        assert verify_workspace(b).ok
