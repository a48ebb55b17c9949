"""The demo workspace: the real Model Spec's history, its proposals, and adopting the real ones reproduces 2025-09-12."""

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from cli.main import main
from reviewer import audit, governance
from reviewer.errors import KnownError
from reviewer.evidence import evidence_split, evidence_summary, wilson_interval
from reviewer.proposals import proposal_view
from reviewer.spec import load_spec_file, parse_spec
from reviewer.workspace import DEMO_MEMBERS, DEMO_NAME, Workspace
from tests.datapaths import (
    AFTER_CA,
    AUTHORITY_CHANGE,
    BEFORE_CA,
    DEMO,
    DEMO_RELEASES,
    DEMO_TITLES,
    FROM_RELEASE,
    MULTI_SECTION,
    NOT_ADOPTED,
    REFUTED,
    SPEC_LICENSE,
    SPLIT_BY_COUNTRY,
    SUPPORTED,
    changelog,
    model_spec,
    model_spec_text,
)
from tests.helpers import git, git_bytes, tree_snapshot


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


def test_demo_repository_is_the_real_history_up_to_2025_04_11(demo):
    repo = demo / "spec"
    with Workspace.open(demo) as ws:
        tags = ws.releases()
        assert [t for t, _ in tags] == [t for t, _, _, _ in DEMO_RELEASES] == ["v2025.02.12", "v2025.04.11"]
        assert ws.repo_info().head == dict(tags)["v2025.04.11"] == ws.resolve("HEAD")
        assert ws.repo_info().branch == "main" and not ws.repo_info().dirty
        assert ws.store.get_info("baseline_revision") == tags[-1][1]  # begins at the newest release
        assert ws.load_spec().text == model_spec_text(BEFORE_CA)
    # One commit per release, oldest first, nothing else.
    log = git(repo, "log", "--reverse", "--format=%H|%an|%aI|%cI|%s").splitlines()
    assert len(log) == len(DEMO_RELEASES)
    for line, (tag, date, when, message) in zip(log, DEMO_RELEASES):
        sha, author, authored, committed, subject = line.split("|")
        assert git(repo, "rev-parse", f"{tag}^{{commit}}") == sha
        assert git(repo, "cat-file", "-t", tag) == "tag"  # annotated
        assert author == "Model Spec (demo import)"  # no person is named as the author of OpenAI's text
        assert authored.replace("+00:00", "Z") == committed.replace("+00:00", "Z") == when
        assert subject == message
        files = set(git(repo, "ls-tree", "--name-only", tag).splitlines())
        assert git_bytes(repo, "cat-file", "blob", f"{tag}:model_spec.md") == model_spec(date).read_bytes()
        assert git_bytes(repo, "cat-file", "blob", f"{tag}:LICENSE") == SPEC_LICENSE.read_bytes()
        log_file = changelog(date)
        if log_file is None:
            assert files == {"model_spec.md", "LICENSE"}
        else:
            assert files == {"model_spec.md", "LICENSE", "CHANGELOG.md"}
            assert git_bytes(repo, "cat-file", "blob", f"{tag}:CHANGELOG.md") == log_file.read_bytes()
    assert changelog("2025-02-12") is None and changelog(BEFORE_CA) is not None  # both cases are checked above


def test_demo_workspace_says_its_crowd_data_is_synthetic(demo):
    with Workspace.open(demo) as ws:
        assert ws.config.name == DEMO_NAME and "synthetic" in DEMO_NAME
        assert ws.overview().name == DEMO_NAME  # the window title and header show it


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


def test_demo_proposals_cover_the_cases_the_demo_is_for(demo):
    before, after = parse_spec(model_spec_text(BEFORE_CA)), parse_spec(model_spec_text(AFTER_CA))
    with Workspace.open(demo) as ws:
        proposals = {pid: ws.store.get_proposal(pid) for pid in DEMO_TITLES}
        # One proposal spans several sections.
        assert [s.section_id for s in proposals[MULTI_SECTION].sections] == ["assume_objective_pov", "present_perspectives"]
        assert sum(len(p.sections) > 1 for p in proposals.values()) == 1
        # One changes a section's authority: platform (root) in 2025-04-11, system in its new text.
        (change,) = proposals[AUTHORITY_CHANGE].sections
        assert change.section_id == "no_erotica_or_gore"
        assert parse_spec(change.base_text).sections[0].authority == "platform"
        assert parse_spec(change.new_text).sections[0].authority == "system"
        # The real 2025-09-12 changes, byte for byte, and the two areas the study did not adopt.
        for pid in FROM_RELEASE:
            for section in proposals[pid].sections:
                assert section.base_text == before.section(section.section_id).text
                assert section.new_text == after.section(section.section_id).text
        for pid in NOT_ADOPTED:
            (section,) = proposals[pid].sections
            assert section.section_id in ("avoid_targeted_political_manipulation", "no_erotica_or_gore")
            assert section.new_text not in {s.text for s in after.sections}
        assert "tailored" in DEMO_TITLES[REFUTED].lower() and "erotica" in DEMO_TITLES[SPLIT_BY_COUNTRY].lower()
        # At least three quorum levels across the proposals (root, system, user).
        spec = ws.load_spec().document
        levels = set().union(*(governance.proposal_levels(ws.store, pid, spec) for pid in proposals))
        assert levels >= {"root", "system", "user"}
        status = governance.statuses(ws.store)
        assert status[SUPPORTED].level == "root" and status[SUPPORTED].quorum == 2
        assert status[MULTI_SECTION].level == "user" and status[MULTI_SECTION].quorum == 1


# ---- the crowd picture, as the product computes it ----------------------------------------------------


def test_demo_crowd_clearly_supports_one_proposal_and_refutes_another(demo):
    with Workspace.open(demo) as ws:
        supported = evidence_summary(ws.store, SUPPORTED).counts
        share, (low, high) = _share(supported)
        assert sum(supported.values()) >= 200 and supported["unlabelled"] == 0
        assert 0.8 <= share <= 0.92 and low > 0.75, (share, low, high)
        refuted = evidence_summary(ws.store, REFUTED).counts
        share, (low, high) = _share(refuted)
        assert sum(refuted.values()) >= 200
        assert 0.18 <= share <= 0.3 and high < 0.35, (share, low, high)
        # The other two are mixed, leaning supportive: a real minority refutes them.
        for pid in (MULTI_SECTION, AUTHORITY_CHANGE):
            counts = evidence_summary(ws.store, pid).counts
            share, (low, high) = _share(counts)
            assert 0.55 <= share <= 0.75 and low > 0.5 and high < 0.8, (pid, share, low, high)
            assert counts["refutes"] >= 0.15 * sum(counts.values())


def test_demo_crowd_splits_by_country_on_one_proposal(demo):
    with Workspace.open(demo) as ws:
        groups = [g for g in evidence_split(ws.store, SPLIT_BY_COUNTRY, "country_of_residence") if g.decided >= 15]
        overall, _ = _share(evidence_summary(ws.store, SPLIT_BY_COUNTRY).counts)
    above = {g.group for g in groups if wilson_interval(g.supports, g.decided)[0] > 0.5}
    below = {g.group for g in groups if wilson_interval(g.supports, g.decided)[1] < 0.5}
    assert len(above) >= 4 and len(below) >= 4, {g.group: (g.supports, g.refutes) for g in groups}
    assert max(g.share for g in groups) >= 0.85 and min(g.share for g in groups) <= 0.1
    assert 0.3 <= overall <= 0.6  # the average alone would hide the split


# ---- adopting the real proposals reproduces 2025-09-12 ------------------------------------------------


def test_adopting_the_real_proposals_reproduces_2025_09_12_byte_for_byte(demo, tmp_path, capsys):
    workspace = tmp_path / "ws"
    shutil.copytree(demo, workspace, symlinks=True)
    reviewers = [name for name, roles in DEMO_MEMBERS if "reviewer" in roles]
    editor = next(name for name, roles in DEMO_MEMBERS if "editor" in roles)
    for pid in FROM_RELEASE:
        for reviewer in reviewers[:2]:  # two reviewers: the quorum of the root level
            code = main(["decide", str(workspace), pid, "adopt", "--reviewer", reviewer,
                         "--rationale", "The crowd supports the clarification; it matches the published release."])
            assert code == 0
    capsys.readouterr()
    assert main(["commit", str(workspace), "--editor", editor, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert sorted(i["proposal_id"] for i in report["items"]) == sorted(FROM_RELEASE)
    assert {i["result"] for i in report["items"]} == {"committed"}

    repo = workspace / "spec"
    assert git(repo, "rev-parse", "HEAD~3") == git(repo, "rev-parse", "v2025.04.11^{commit}")
    committed = git_bytes(repo, "cat-file", "blob", "HEAD:model_spec.md")
    before, after = model_spec_text(BEFORE_CA), model_spec_text(AFTER_CA)
    before_doc, after_doc, result = parse_spec(before), parse_spec(after), parse_spec(committed.decode("utf-8"))
    changed = [s.section_id for pid in FROM_RELEASE for s in _proposal_sections(workspace, pid)]
    assert sorted(changed) == sorted(
        ["avoid_targeted_political_manipulation", "assume_objective_pov", "present_perspectives", "no_erotica_or_gore"])
    for section_id in changed:
        assert result.section(section_id).text.encode("utf-8") == after_doc.section(section_id).text.encode("utf-8")
    # Everything else is 2025-04-11, unchanged: rebuild the expected file by plain text replacement.
    expected = before
    for section_id in changed:
        old = before_doc.section(section_id).text
        assert expected.count(old) == 1
        expected = expected.replace(old, after_doc.section(section_id).text)
    assert committed == expected.encode("utf-8")
    assert [s.id for s in result.sections] == [s.id for s in before_doc.sections]
    # Each commit names the proposal it carried out.
    messages = git(repo, "log", "--format=%B", "v2025.04.11..HEAD")
    assert all(pid in messages for pid in FROM_RELEASE)


def _proposal_sections(workspace, proposal_id):
    with Workspace.open(workspace) as ws:
        return ws.store.get_proposal(proposal_id).sections


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
