"""Revisions: every revision kept, votes on earlier text stale until confirmed, rebases with three-way merges."""

import sqlite3

import pytest

from reviewer import governance, operations, revisions
from reviewer.errors import KnownError
from reviewer.rebuild import rebuild_workspace
from reviewer.replay import verify_workspace
from reviewer.workspace import Workspace
from tests.datapaths import ROOT_LEVEL
from tests.helpers import commit_file
from tests.reviewer.test_governance import make_workspace, propose, section_text

USER = "user_rule"


def _user_text(workspace, old, new):
    return section_text(workspace.load_spec().text, USER).replace(old, new)


def _spec_moves(workspace, old, new, message="spec moved"):
    """Someone commits a change to the spec outside the app."""
    text = workspace.load_spec().text.replace(old, new)
    assert text != workspace.load_spec().text
    commit_file(workspace.spec_repo_path, "model_spec.md", text, message)


def _adopted(workspace, proposal_id):
    operations.decide(workspace, proposal_id, "adopt", "Clearer.", actor="Ana")
    return governance.proposal_status(workspace.store, proposal_id)


def _db_rows(workspace):
    db = workspace.store.db
    return [db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall()
            for t in ("proposals", "proposal_sections", "proposal_revisions", "decisions", "audit_events")]


def test_a_revision_keeps_every_text_and_makes_the_earlier_vote_stale_until_confirmed(tmp_path):
    workspace = make_workspace(tmp_path)
    proposal = propose(workspace, USER, replace=("Beta line.", "Beta line, made clearer."))
    first = _adopted(workspace, proposal.id)
    assert (first.status, first.revision, first.votes) == ("adopted", 1, {"Ana": "adopt"})

    result = operations.revise_proposal(
        workspace, proposal.id, actor="Ben", changes=[(USER, _user_text(workspace, "Beta line.", "Beta line, plainer."))],
        note="Plainer words.")
    second = result.value
    assert (second.revision, second.kind, second.keeps_votes, second.created_by) == (2, "edit", False, "Ben")
    assert result.changes.proposal_ids == {proposal.id}
    # The proposal is its newest revision; the first is kept whole.
    now = workspace.store.get_proposal(proposal.id)
    assert now.revision == 2 and "Beta line, plainer." in now.sections[0].new_text
    assert now.sections[0].base_text == proposal.sections[0].base_text  # an edit keeps the spec it was written against
    kept = revisions.revisions(workspace.store, proposal.id)
    assert [(r.revision, r.kind) for r in kept] == [(1, "written"), (2, "edit")]
    assert kept[0].sections == proposal.sections
    # Any two revisions compare, either way round.
    diff = revisions.compare_revisions(workspace.store, proposal.id, 1, 2)
    (section,) = diff.sections
    assert "made clearer" in section.old_text and "plainer" in section.new_text and section.hunks
    assert revisions.compare_revisions(workspace.store, proposal.id, 2, 1).sections[0].old_text == section.new_text
    with pytest.raises(KnownError, match="no revision 3"):
        revisions.compare_revisions(workspace.store, proposal.id, 1, 3)

    # Ana's adopt was on revision 1: shown as such, not counted.
    status = governance.proposal_status(workspace.store, proposal.id)
    assert (status.status, status.revision, status.votes, status.stale) == ("open", 2, {}, {"Ana": ("adopt", 1)})
    # Deciding on the text one read: refused when it was revised since.
    with pytest.raises(KnownError, match="revised .now revision 2. since you read revision 1"):
        operations.decide(workspace, proposal.id, "adopt", "Still fine.", actor="Cy", revision=1)
    # Confirming is the same outcome again, on the new text.
    confirmed = operations.confirm_vote(workspace, proposal.id, actor="Ana").value
    assert (confirmed.decision.outcome, confirmed.decision.rationale, confirmed.decision.proposal_revision) == (
        "adopt", "Clearer.", 2)
    assert confirmed.status.status == "adopted" and confirmed.status.stale == {}
    with pytest.raises(KnownError, match="current revision .2. already"):
        operations.confirm_vote(workspace, proposal.id, actor="Ana")
    with pytest.raises(KnownError, match="has not decided"):
        operations.confirm_vote(workspace, proposal.id, actor="Ben")
    # The log is the record: verify replays the revisions, and a rebuild makes the same tables.
    assert verify_workspace(workspace).ok
    report = rebuild_workspace(workspace, tmp_path / "rebuilt.db")
    assert report.mismatches == () and report.left_out == ()
    rebuilt = Workspace(workspace.root, workspace.config, type(workspace.store).open(tmp_path / "rebuilt.db"))
    assert _db_rows(rebuilt) == _db_rows(workspace)


def test_a_revision_that_changes_nothing_or_drops_a_change_is_refused_and_writes_nothing(tmp_path):
    workspace = make_workspace(tmp_path)
    proposal = propose(workspace, USER, replace=("Beta line.", "Beta line, made clearer."))
    before = _db_rows(workspace)
    with pytest.raises(KnownError, match="Nothing to revise"):
        operations.revise_proposal(workspace, proposal.id, actor="Ana", changes=[(USER, proposal.sections[0].new_text)])
    with pytest.raises(KnownError, match="cannot drop a section's change"):
        operations.revise_proposal(workspace, proposal.id, actor="Ana", changes=[(USER, proposal.sections[0].base_text)])
    with pytest.raises(KnownError, match="heading has id"):
        operations.revise_proposal(workspace, proposal.id, actor="Ana",
                                   changes=[(USER, proposal.sections[0].new_text.replace("#user_rule", "#other"))])
    with pytest.raises(KnownError, match="neither the proposal's author"):
        operations.revise_proposal(workspace, proposal.id, actor="Mallory", title="Mine now")
    with pytest.raises(KnownError, match="at revision 1 now, not 3"):
        operations.revise_proposal(workspace, proposal.id, actor="Ana", title="New title", seen_revision=3)
    assert _db_rows(workspace) == before
    # Title, intent and kind alone make a revision too; its author may be the proposal's author.
    revised = operations.revise_proposal(workspace, proposal.id, actor=proposal.created_by, title="Beta, clearer",
                                         kind="principle").value
    assert (revised.title, revised.proposal_kind, revised.sections) == ("Beta, clearer", "principle", proposal.sections)


def test_a_section_added_by_a_revision_is_written_against_the_proposal_base(tmp_path):
    workspace = make_workspace(tmp_path)
    proposal = propose(workspace, USER, replace=("Beta line.", "Beta line, made clearer."))
    guide = section_text(workspace.load_spec().text, "guide")
    revised = operations.revise_proposal(workspace, proposal.id, actor="Ana",
                                         changes=[("guide", guide + "A new guideline line.\n")]).value
    assert [s.section_id for s in revised.sections] == [USER, "guide"]
    assert revised.sections[1].base_text == guide


def test_a_committed_proposal_is_not_revised(tmp_path):
    workspace = make_workspace(tmp_path)
    proposal = propose(workspace, USER, replace=("Beta line.", "Beta line, made clearer."))
    _adopted(workspace, proposal.id)
    operations.commit(workspace, actor="Eve")
    with pytest.raises(KnownError, match="committed .* is not revised"):
        operations.revise_proposal(workspace, proposal.id, actor="Ana", title="Later")


def test_a_clean_rebase_carries_the_change_and_the_votes_onto_the_current_spec(tmp_path):
    workspace = make_workspace(tmp_path)
    proposal = propose(workspace, USER, replace=("Beta line.", "Beta line, made clearer."))
    _adopted(workspace, proposal.id)
    operations.decide(workspace, proposal.id, "adopt", "Agreed.", actor="Ben")
    with pytest.raises(KnownError, match="already written against the current spec"):
        operations.rebase_proposal(workspace, proposal.id, actor="Ana")
    _spec_moves(workspace, "Epsilon line.", "Epsilon line, amended.")  # the same section, other lines
    plan = revisions.rebase_plan(workspace, proposal.id)
    (section,) = plan.sections
    assert plan.conflicts == 0 and not plan.up_to_date and section.merged_text is not None
    assert "Beta line, made clearer." in section.merged_text and "Epsilon line, amended." in section.merged_text

    rebased = operations.rebase_proposal(workspace, proposal.id, actor="Ana").value
    assert (rebased.kind, rebased.keeps_votes, rebased.base_revision) == ("rebase", True, plan.revision)
    assert rebased.sections[0].base_text == section.current_text
    status = governance.proposal_status(workspace.store, proposal.id)
    assert (status.status, status.revision, status.stale) == ("adopted", 2, {})  # the votes carried over
    commit = operations.commit(workspace, actor="Eve").value
    assert [i.result for i in commit.items] == ["committed"] and commit.items[0].merged_sections == ()
    assert "Beta line, made clearer." in workspace.load_spec().text
    assert verify_workspace(workspace).ok


def _conflicted(tmp_path):
    workspace = make_workspace(tmp_path)
    proposal = propose(workspace, USER, replace=("Beta line.", "Beta line, made clearer."))
    _adopted(workspace, proposal.id)
    operations.decide(workspace, proposal.id, "adopt", "Agreed.", actor="Ben")
    _spec_moves(workspace, "Beta line.", "Beta line, amended elsewhere.")
    return workspace, proposal


def test_a_conflict_shows_base_current_and_proposed_and_is_resolved_as_a_new_revision(tmp_path):
    workspace, proposal = _conflicted(tmp_path)
    # The commit finds the conflict and marks the proposal as needing a rebase.
    report = operations.commit(workspace, actor="Eve").value
    assert [i.result for i in report.items] == ["needs_rebase"]
    assert governance.proposal_status(workspace.store, proposal.id).status == "needs_rebase"

    plan = revisions.rebase_plan(workspace, proposal.id)
    (section,) = plan.sections
    assert section.merged_text is None and section.conflicts == 1
    (hunk,) = [h for h in section.hunks if h.conflict]
    assert (hunk.base, hunk.current, hunk.proposed) == (
        "Beta line.\n", "Beta line, amended elsewhere.\n", "Beta line, made clearer.\n")
    assert "".join(h.current for h in section.hunks) == section.current_text  # agreed pieces + current = the spec now

    before = _db_rows(workspace)
    with pytest.raises(KnownError, match="conflicts with the current spec .1 conflicting hunk."):
        operations.rebase_proposal(workspace, proposal.id, actor="Ana")
    with pytest.raises(KnownError, match="still holds conflict markers"):
        operations.rebase_proposal(workspace, proposal.id, actor="Ana", resolutions={
            USER: section.current_text.replace("Beta line, amended elsewhere.\n",
                                               "<<<<<<< current\nBeta\n=======\nB\n>>>>>>> proposal\n")})
    with pytest.raises(KnownError, match="does not change"):
        operations.rebase_proposal(workspace, proposal.id, actor="Ana", resolutions={"guide": "x"})
    assert _db_rows(workspace) == before

    resolved_text = section.resolve(["Beta line, amended elsewhere and made clearer.\n"])
    result = operations.rebase_proposal(workspace, proposal.id, actor="Ana", resolutions={USER: resolved_text},
                                        note="Kept both changes.")
    revision = result.value
    assert (revision.kind, revision.revision, revision.note) == ("resolve", 2, "Kept both changes.")
    # New text: the votes wait for confirmation; the proposal no longer needs a rebase.
    status = governance.proposal_status(workspace.store, proposal.id)
    assert (status.status, sorted(status.stale)) == ("open", ["Ana", "Ben"])
    for reviewer in ("Ana", "Ben"):
        operations.confirm_vote(workspace, proposal.id, actor=reviewer)
    assert governance.proposal_status(workspace.store, proposal.id).status == "adopted"
    committed = operations.commit(workspace, actor="Eve").value
    assert [i.result for i in committed.items] == ["committed"]
    assert "Beta line, amended elsewhere and made clearer." in workspace.load_spec().text
    assert verify_workspace(workspace).ok
    report = rebuild_workspace(workspace, tmp_path / "rebuilt.db")
    assert report.mismatches == () and report.left_out == ()


def test_split_merge_reads_git_diff3_output():
    text = ("## A {#a}\n\nsame\n<<<<<<< current\nours\n||||||| base\nbase\n=======\ntheirs\n>>>>>>> proposal\n"
            "tail\n")
    hunks = revisions.split_merge(text)
    assert [h.conflict for h in hunks] == [False, True, False]
    assert (hunks[1].current, hunks[1].base, hunks[1].proposed) == ("ours\n", "base\n", "theirs\n")
    assert hunks[2].current == "tail\n"


def test_a_revision_row_edited_by_hand_is_found_by_verify(tmp_path):
    workspace = make_workspace(tmp_path)
    proposal = propose(workspace, USER, replace=("Beta line.", "Beta line, made clearer."))
    operations.revise_proposal(workspace, proposal.id, actor="Ana", note="first try", title="Retitled")
    path = workspace.store.path
    workspace.close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE proposal_revisions SET note = 'forged' WHERE revision = 2")
    with Workspace.open(tmp_path / "ws") as again:
        report = verify_workspace(again)
        assert not report.ok
        assert any(m.table == "proposals" and m.field == "revisions" for m in report.mismatches)


def test_a_vote_cast_on_one_machine_while_another_revised_is_marked_as_on_the_earlier_text(machines):
    """Rule of the board: a proposal revised on one machine while voted on another: the vote is on the earlier text."""
    from reviewer.audit_queries import LogFilter, log_page
    from reviewer.report import build_report, render_md

    a_root, b_root, _remote = machines
    with Workspace.open(a_root) as a:
        operations.revise_proposal(a, ROOT_LEVEL, actor="Amara Okafor", intent="Say plainly what the rule is for.")
        operations.sync(a, actor="Amara Okafor")
    with Workspace.open(b_root) as b:  # B has not seen revision 2 and decides on revision 1
        vote = operations.decide(b, ROOT_LEVEL, "adopt", "The crowd supports it.", actor="Jonas Lindqvist").value
        assert vote.decision.proposal_revision == 1
        received = operations.sync(b, actor="Jonas Lindqvist").value.received
        assert [e["action"] for e in received] == ["proposal.revise"]
        status = governance.proposal_status(b.store, ROOT_LEVEL)
        assert (status.revision, status.votes, status.stale) == (2, {}, {"Jonas Lindqvist": ("adopt", 1)})
        assert verify_workspace(b).ok
    with Workspace.open(a_root) as a:
        operations.sync(a, actor="Amara Okafor")
        status = governance.proposal_status(a.store, ROOT_LEVEL)
        assert status.stale == {"Jonas Lindqvist": ("adopt", 1)}
        assert list(governance.decisions_on_earlier_text(a.store)) == [vote.decision.id]
        # The log view and the report say so.
        marks = governance.decision_marks(a.store)
        (seq,) = [r.seq for r in log_page(a.store.db.conn, LogFilter(action="decision.record"), None)
                  if r.object_id == vote.decision.id]
        assert marks[seq] == "on an earlier text (revision 1)"
        report = render_md(build_report(a))
        assert "Jonas Lindqvist (on an earlier text (revision 1))" in report
        assert verify_workspace(a).ok
