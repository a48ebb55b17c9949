import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from reviewer import audit
from reviewer.diffing import diff_specs
from reviewer.errors import KnownError
from reviewer.proposals import proposal_view
from reviewer.spec import AUTHORITY_RANK
from reviewer.workspace import Workspace, bundled_releases
from tests.datapaths import DEMO
from tests.helpers import git, tree_snapshot


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "ws"
    Workspace.create_demo(path).close()
    return path


def test_sample_spec_meets_the_brief():
    for release in bundled_releases():
        from reviewer.spec import load_spec_file

        document, text = load_spec_file(release.tree / "model_spec.md")
        assert document.render() == text
        assert document.problems == ()
        with_id = [s for s in document.sections if s.id]
        assert len(with_id) >= 25
        authorities = {s.authority for s in document.sections if s.authority}
        assert authorities == {"root", "system", "developer", "user", "guideline"}
        assert sum(len(s.examples) for s in document.sections) >= 12


def test_demo_repository_has_tagged_releases_and_a_diff_from_the_first(demo):
    with Workspace.open(demo) as ws:
        tags = ws.releases()
        assert [t for t, _ in tags] == [r.tag for r in bundled_releases()]
        assert len(tags) >= 2
        assert ws.repo_info().head == tags[-1][1]
        first = ws.load_spec(tags[0][0]).document
        latest = ws.load_spec().document
        counts = diff_specs(first, latest).counts()
        assert counts["added"] >= 1 and counts["removed"] >= 1 and counts["changed"] >= 3
        assert counts["title"] >= 1 and counts["authority"] >= 1 and counts["moved"] >= 1
        assert ws.store.get_info("baseline_revision") == tags[0][1]
    log = git(demo / "spec", "log", "--format=%an <%ae> %aI %s")
    assert "Spec Editors <spec-editors@example.org> 2026-01-15T16:00:00Z" in log.replace("+00:00", "Z")


def test_demo_proposals_are_stored_with_base_text_and_audited(demo):
    lines = [json.loads(x) for x in (DEMO / "proposals.jsonl").read_text().splitlines() if x]
    with Workspace.open(demo) as ws:
        stored = ws.store.list_proposals()
        assert len(stored) == len(lines) >= 3
        assert {p.id for p in stored} == {x["id"] for x in lines}
        assert {p.kind for p in stored} == {"clarification", "principle"}
        spec = ws.load_spec().document
        levels = {spec.section(sid).authority for p in stored for sid in p.section_ids}
        assert len(levels) >= 3
        for summary in stored:
            view = proposal_view(ws, summary.id)
            for section in view.sections:
                assert section.base_matches_current
                assert section.hunks, f"{summary.title}: no visible change"
        assert audit.verify_chain(ws.store.db).ok
        events = ws.store.db.execute("SELECT action FROM audit_events ORDER BY seq").fetchall()
        n = len(lines)
        assert [e[0] for e in events] == (
            ["workspace.create"] + ["member.add"] * 5 + ["import.ca1", "import.rankings", "import.relevance"]
            + ["proposal.add"] * n + ["evidence.rule"] * n
        )
        assert min(AUTHORITY_RANK[lv] for lv in levels) == 0  # a root-level proposal is in the queue


def test_demo_into_existing_non_empty_folder_is_refused(tmp_path):
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "keep.txt").write_text("x")
    before = tree_snapshot(tmp_path)
    with pytest.raises(KnownError, match="not empty"):
        Workspace.create_demo(tmp_path / "ws")
    assert tree_snapshot(tmp_path) == before


@contextlib.contextmanager
def _as_nobody():
    """Drop the effective uid to nobody (root ignores permission bits) and restore it after."""
    if os.geteuid() != 0:
        yield
        return
    os.setegid(65534)
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


def test_read_only_folder_gives_a_clear_error_and_writes_nothing():
    base = Path(tempfile.mkdtemp())
    try:
        base.chmod(0o755)
        read_only = base / "ro"
        read_only.mkdir()
        read_only.chmod(0o555)
        with _as_nobody():
            try:
                (read_only / "probe").mkdir()
            except PermissionError:
                pass
            else:
                pytest.skip("this user can write to read-only folders")
            with pytest.raises(KnownError, match="Cannot write in"):
                Workspace.create_demo(read_only / "ws")
        assert os.listdir(read_only) == []
    finally:
        shutil.rmtree(base, ignore_errors=True)
