"""Crowd imports on a board of many machines: their files travel on the log ref and are run again."""

import shutil

import pytest

from reviewer import logref, operations
from reviewer.digests import CROWD_TABLES, writer_rows_digest
from reviewer.errors import KnownError
from reviewer.replay import verify_workspace
from reviewer.workspace import Workspace
from tests.datapaths import POLIS_SAMPLE
from tests.helpers import bare_remote, git
from tests.reviewer.test_ca1 import assessment, comparison, write_jsonl


@pytest.fixture
def machines(demo_workspace, tmp_path):
    """Machine A (the demo workspace) and machine B (a copy of it), sharing a bare remote ``origin``."""
    bare_remote(demo_workspace, tmp_path)
    with Workspace.open(demo_workspace) as a:
        operations.sync(a, actor="Amara Okafor")
    b_root = tmp_path / "machine-b"
    shutil.copytree(demo_workspace, b_root, symlinks=True)
    return demo_workspace, b_root


def _ca1_file(folder):
    """A small CA-1 comparisons file of conversations the demo does not have."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [comparison(f"sync-prompt-{n}", [assessment(f"sync-annotator-{k}", f"sync-prompt-{n}",
                                                         world_why=f"Reason {n}.{k}") for k in range(3)])
             for n in range(4)]
    return write_jsonl(folder / "comparisons.jsonl", lines)


def _crowd(ws, import_id):
    """Each crowd table's digest of the rows one import wrote."""
    return {t: writer_rows_digest(ws.store.db.conn, t, import_id) for t in CROWD_TABLES}


def test_crowd_imports_travel_with_their_files_and_give_the_same_rows(machines, tmp_path):
    a_root, b_root = machines
    with Workspace.open(a_root) as a:
        ca1 = operations.import_ca1(a, [_ca1_file(tmp_path / "files")], actor="Amara Okafor").value
        polis = operations.import_polis(a, POLIS_SAMPLE / "comments.csv", POLIS_SAMPLE / "participants-votes.csv",
                                        key="sample", actor="Amara Okafor").value
        operations.sync(a, actor="Amara Okafor")
        expected = {i.import_id: _crowd(a, i.import_id) for i in (ca1, polis)}
        tree = git(a.spec_repo_path, "log", "--name-only", "--format=", a.store.log_ref.ref)
        for summary in (ca1, polis):
            for file in summary.files:
                assert f"imports/{file.sha256}" in tree.split()  # the file itself is on the log ref
    assert expected[ca1.import_id]["assessments"].rows == 12 and expected[polis.import_id]["votes"].rows > 0
    with Workspace.open(b_root) as b:
        # B decides meanwhile: the imports arrive by a merge, run again after B's own event.
        operations.decide(b, "5e27d8a4-61bf-4c09-93d2-e84a0b5f1c76", "defer", "More data first.",
                          actor="Jonas Lindqvist", reason="needs-research")
        result = operations.sync(b, actor="Jonas Lindqvist")
        assert {e["action"] for e in result.value.received} == {"import.ca1", "import.polis"}
        assert {i: _crowd(b, i) for i in expected} == expected
        assert verify_workspace(b).ok
        assert "crowd" in {area.value for area in result.changes.areas}  # the evidence views refresh
    with Workspace.open(a_root) as a:
        operations.sync(a, actor="Amara Okafor")
        assert verify_workspace(a).ok


def test_a_file_too_large_for_the_log_is_asked_for_and_given_by_content(machines, tmp_path, monkeypatch):
    a_root, b_root = machines
    monkeypatch.setattr(logref, "MOST_IMPORT_BYTES", 100)  # every crowd file is "too large" here
    original = _ca1_file(tmp_path / "files")
    with Workspace.open(a_root) as a:
        ca1 = operations.import_ca1(a, [original], actor="Amara Okafor").value
        operations.sync(a, actor="Amara Okafor")
        carried = git(a.spec_repo_path, "log", "--name-only", "--format=", a.store.log_ref.ref).split()
        assert f"imports/{ca1.files[0].sha256}" not in carried
        expected = _crowd(a, ca1.import_id)
    kept = tmp_path / "kept" / "renamed.jsonl"
    kept.parent.mkdir()
    shutil.move(original, kept)  # not where the import read it any more
    with Workspace.open(b_root) as b:
        before = b.store.db.execute("SELECT count(*) FROM audit_events").fetchone()[0]
        with pytest.raises(KnownError, match=r"read comparisons\.jsonl \([\d,]+ bytes, sha256 [0-9a-f]{12}…\)") as e:
            operations.sync(b, actor="Jonas Lindqvist")
        assert "--crowd-file" in e.value.hint
        assert b.store.db.execute("SELECT count(*) FROM audit_events").fetchone()[0] == before  # nothing received
        operations.sync(b, actor="Jonas Lindqvist", crowd_files=[kept])
        assert _crowd(b, ca1.import_id) == expected and verify_workspace(b).ok


def test_an_import_logged_without_its_rows_time_cannot_be_run_again(machines, tmp_path):
    from reviewer.sync import _run_received_imports

    a_root, _b_root = machines
    with Workspace.open(a_root) as a:
        ca1 = operations.import_ca1(a, [_ca1_file(tmp_path / "files")], actor="Amara Okafor").value
        (event,) = [e for c in a.store.log_ref.commits() for e in c.events if e["object_id"] == ca1.import_id]
        assert event["payload"]["created_at"]
        del event["payload"]["created_at"]  # as versions before it was logged wrote the event
        with pytest.raises(KnownError, match="logged by an older version"):
            _run_received_imports(a.store, a.store.log_ref, [], [event], [], tmp_path / "scratch")
