"""The demo workspace: the real Model Spec releases up to 2025-04-11 and the demo proposals."""

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from reviewer import audit
from reviewer.errors import KnownError
from reviewer.evidence import wilson_interval
from reviewer.proposals import proposal_view
from reviewer.spec import load_spec_file
from reviewer.workspace import DEMO_MEMBERS, Workspace
from tests.datapaths import (
    BEFORE_CA,
    DEMO,
    DEMO_RELEASES,
    DEMO_TITLES,
    model_spec,
    model_spec_text,
)
from tests.helpers import tree_snapshot


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "ws"
    Workspace.create_demo(path).close()
    return path


def _share(counts):
    """Supports / (supports + refutes) and its Wilson interval, as the review desk shows them."""
    decided = counts["supports"] + counts["refutes"]
    return counts["supports"] / decided, wilson_interval(counts["supports"], decided)


# ---- the spec repository: the real releases ----------------------------------------------------------


@pytest.mark.parametrize("date", [date for _, date, _, _ in DEMO_RELEASES])
def test_demo_releases_parse_cleanly(date):
    document, text = load_spec_file(model_spec(date))
    assert document.render() == text and document.problems == ()
    assert len([s for s in document.sections if s.id]) >= 60
    assert {s.authority for s in document.sections if s.authority} == {"platform", "developer", "user", "guideline"}


def test_demo_repository_has_the_tagged_releases_and_head_at_2025_04_11(demo):
    with Workspace.open(demo) as ws:
        tags = ws.releases()
        assert [t for t, _ in tags] == [t for t, _, _, _ in DEMO_RELEASES]
        assert ws.repo_info().head == tags[-1][1]
        assert ws.store.get_info("baseline_revision") == tags[0][1]
        assert ws.load_spec().text == model_spec_text(BEFORE_CA)


# ---- the proposals ------------------------------------------------------------------------------------


def test_demo_proposals_are_stored_with_base_text_and_audited(demo):
    lines = [json.loads(x) for x in (DEMO / "proposals.jsonl").read_text(encoding="utf-8").splitlines() if x]
    with Workspace.open(demo) as ws:
        stored = ws.store.list_proposals()
        assert len(stored) == len(lines) == 5
        assert {p.id for p in stored} == {x["id"] for x in lines} == set(DEMO_TITLES)
        assert {p.id: p.title for p in stored} == DEMO_TITLES
        assert {p.kind for p in stored} == {"clarification", "principle"}
        assert {p.origin for p in stored} == {"human-first", "automated-batch", "automated-single"}
        base = ws.resolve("v2025.04.11")
        for summary in stored:
            assert ws.store.get_proposal(summary.id).base_revision == base
            view = proposal_view(ws, summary.id)
            for section in view.sections:
                assert section.base_matches_current
                assert section.hunks, f"{summary.title}: no visible change"
        assert audit.verify_chain(ws.store.db).ok
        events = ws.store.db.execute("SELECT action FROM audit_events ORDER BY seq").fetchall()
        n = len(lines)
        assert [e[0] for e in events] == (
            ["workspace.create"] + ["member.add"] * len(DEMO_MEMBERS)
            + ["import.ca1", "import.rankings", "import.relevance"]
            + ["proposal.add"] * n + ["evidence.rule"] * n
        )


# ---- creating it safely -------------------------------------------------------------------------------


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
