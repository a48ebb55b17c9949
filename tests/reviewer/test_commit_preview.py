"""The commit preview: what ``commit_adopted`` would do, worked out without writing anything."""

from reviewer import committing, governance
from reviewer.proposals import add_proposal
from tests.helpers import commit_file, git
from tests.reviewer.test_committing import adopt, db_state, repo_state, spec_bytes
from tests.reviewer.test_governance import SPEC, make_workspace, propose, section_text


def add_two_section_proposal(workspace):
    text = workspace.load_spec().text
    return add_proposal(
        workspace,
        changes=[
            ("guide", section_text(text, "guide").replace("Guidance text.", "Guidance, fine.")),
            ("user_rule", section_text(text, "user_rule").replace("Gamma line.", "Gamma line, proposed.")),
        ],
        title="Two sections", intent="Both.", kind="clarification",
    )


def test_preview_matches_what_commit_then_does_and_writes_nothing(tmp_path):
    workspace = make_workspace(tmp_path)
    first = propose(workspace, "user_rule", ("Beta line.", "Beta line, clarified."), title="Clarify beta")
    second = propose(workspace, "guide", ("Guidance text.", "Guidance text, sharper."), title="Sharpen guide")
    waiting = propose(workspace, "root_rule", ("Line one", "Line 1"), title="Only one vote")
    adopt(workspace, first, ("Ana",))
    adopt(workspace, second, ("Cy",))
    governance.decide(workspace.store, waiting.id, "adopt", "Ana", "Yes.")
    before, db_before = repo_state(workspace), db_state(workspace)

    preview = committing.preview_commit(workspace)

    assert repo_state(workspace) == before and db_state(workspace) == db_before
    assert preview.blocker == "" and preview.branch == "main" and preview.head == before["head"]
    plan = preview.plan
    assert [i.proposal_id for i in plan.items] == [first.id, second.id]  # the pending one is not there
    assert [i.result for i in plan.items] == ["clean", "clean"]
    assert plan.items[0].text_before == SPEC
    assert plan.items[0].text_after == SPEC.replace("Beta line.", "Beta line, clarified.")
    assert plan.items[1].text_before == plan.items[0].text_after
    assert plan.original_text == SPEC and plan.final_text == plan.items[1].text_after
    report = committing.commit_adopted(workspace, "Eve")
    assert [i.proposal_id for i in report.items] == [i.proposal_id for i in plan.items]
    assert spec_bytes(workspace).decode() == plan.final_text


def test_preview_names_the_conflicting_section_and_plans_the_rest(tmp_path):
    workspace = make_workspace(tmp_path)
    fine = propose(workspace, "guide", ("Guidance text.", "Guidance, fine."), title="Fine")
    clash = add_two_section_proposal(workspace)
    adopt(workspace, fine, ("Ana",))
    adopt(workspace, clash, ("Ana",))
    moved = SPEC.replace("Gamma line.", "Gamma line, edited outside.").replace("Alpha line.", "Alpha, moved.")
    commit_file(workspace.spec_repo_path, "model_spec.md", moved, "Edit gamma")

    plan = committing.preview_commit(workspace).plan

    by_id = {i.proposal_id: i for i in plan.items}
    assert by_id[clash.id].result == "conflict" and by_id[clash.id].text_after is None
    # The guide section applies; the user rule section is the one that conflicts.
    assert by_id[clash.id].conflict_section == "user_rule"
    assert "user_rule" in by_id[clash.id].reason and "changed the same lines" in by_id[clash.id].reason
    assert by_id[fine.id].result == "clean"
    assert plan.final_text == moved.replace("Guidance text.", "Guidance, fine.")
    # After a run, the proposal is needs_rebase with its reason, and the preview says so.
    committing.commit_adopted(workspace, "Eve")
    (item,) = committing.preview_commit(workspace).plan.items
    assert item.proposal_id == clash.id and item.status == "needs_rebase"
    assert "user_rule" in item.recorded_problem and item.conflict_section == "user_rule"


def test_preview_merges_when_the_spec_moved_elsewhere_in_the_section(tmp_path):
    workspace = make_workspace(tmp_path)
    proposal = propose(workspace, "user_rule", ("Alpha line.", "Alpha line, proposed."))
    adopt(workspace, proposal, ("Ana",))
    moved = SPEC.replace("Epsilon line.", "Epsilon line, edited outside.")
    commit_file(workspace.spec_repo_path, "model_spec.md", moved, "Edit epsilon")
    (item,) = committing.preview_commit(workspace).plan.items
    assert (item.result, item.merged_sections, item.conflict_section) == ("merged", ("user_rule",), None)
    assert item.text_after == moved.replace("Alpha line.", "Alpha line, proposed.")


def test_preview_reports_what_would_block_a_commit_instead_of_raising(tmp_path):
    workspace = make_workspace(tmp_path)
    adopt(workspace, propose(workspace, "guide", ("Guidance text.", "Guidance.")), ("Ana",))
    with open(workspace.spec_repo_path / "model_spec.md", "a", encoding="utf-8") as handle:
        handle.write("\nlocal edit\n")
    preview = committing.preview_commit(workspace)
    assert "uncommitted changes" in preview.blocker and "Commit or stash" in preview.blocker_hint
    # The plan is against HEAD, not the edited working tree.
    assert preview.plan.original_text == SPEC and preview.plan.items[0].result == "clean"
    git(workspace.spec_repo_path, "checkout", "-q", "--", "model_spec.md")
    git(workspace.spec_repo_path, "checkout", "-q", "--detach", "HEAD")
    preview = committing.preview_commit(workspace)
    assert "detached HEAD" in preview.blocker and preview.branch is None


def test_plan_skips_an_already_applied_proposal_without_blaming_a_section(tmp_path):
    workspace = make_workspace(tmp_path)
    proposal = propose(workspace, "guide", ("Guidance text.", "Guidance."))
    applied = SPEC.replace("Guidance text.", "Guidance.")
    plan = committing.plan_commits(applied, [workspace.store.get_proposal(proposal.id)])
    (item,) = plan.items
    assert item.result == "conflict" and item.conflict_section is None and "already holds" in item.reason
    assert plan.final_text == applied
    assert committing.plan_commits(SPEC, []) == committing.CommitPlan(SPEC, SPEC, ())
