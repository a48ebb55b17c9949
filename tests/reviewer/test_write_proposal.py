"""Writing a proposal: texts checked as they are typed, the authority rule, and the proposal with its links as one operation."""

import pytest

from reviewer import operations
from reviewer.errors import KnownError
from reviewer.evidence import evidence_summary
from reviewer.ops import OPERATIONS, Area
from reviewer.proposals import ProposalDraft, authority_changed, check_draft, draft_from_proposal
from reviewer.replay import verify_workspace
from reviewer.workspace import Workspace

SECTION = "assume_objective_pov"  # authority=user in 2025-04-11
OTHER = "present_perspectives"


@pytest.fixture
def ws(demo_workspace):
    with Workspace.open(demo_workspace) as workspace:
        yield workspace


def _text(ws, section_id=SECTION):
    return ws.load_spec().document.get(section_id).text


def _edited(ws, section_id=SECTION, *, authority=None, add="\nA new sentence, for the test.\n"):
    text = _text(ws, section_id)
    if authority:
        text = text.replace("authority=user}", f"authority={authority}}}", 1)
    return text + add


def _head(ws):
    return ws.store.db.execute("SELECT max(seq) FROM audit_events").fetchone()[0]


def _crowd(ws):
    """(a conversation id, one of its justifications, a justification of another conversation)."""
    rows = ws.store.db.execute(
        "SELECT a.conversation_id, j.id FROM justifications j JOIN assessments a ON a.id = j.assessment_id"
        " ORDER BY j.rowid").fetchall()
    conversation, inside = rows[0]
    outside = next(j for c, j in rows if c != conversation)
    return conversation, inside, outside


def test_a_proposal_and_its_links_are_one_operation(ws):
    conversation, inside, outside = _crowd(ws)
    before, commits = _head(ws), len(ws.store.log_ref.commits())
    result = operations.add_proposal(
        ws, actor="Lena Fischer", changes=[(SECTION, _edited(ws))], title="Say it plainly",
        intent="Make the wording plain.", kind="clarification", linked_conversations=[conversation],
        justifications=[outside, inside, outside],  # inside: linked through its conversation already
    )
    proposal = result.value
    actions = [r[0] for r in ws.store.db.execute("SELECT action FROM audit_events WHERE seq > ? ORDER BY seq", [before])]
    assert actions == ["proposal.add", "evidence.link"]
    assert result.operation == "proposal.add" and result.changes.areas == {Area.PROPOSALS, Area.LINKS, Area.LABELS}
    assert result.changes.areas <= OPERATIONS["proposal.add"].may_change
    assert result.changes.proposal_ids == {proposal.id} and len(result.changes.events) == 2
    assert len(ws.store.log_ref.commits()) == commits + 1  # one commit on the log ref for both events
    summary = evidence_summary(ws.store, proposal.id)
    in_conversation = ws.store.db.execute(
        "SELECT count(*) FROM justifications j JOIN assessments a ON a.id = j.assessment_id"
        " WHERE a.conversation_id = ?", [conversation]).fetchone()[0]
    assert summary.links == in_conversation + 1
    assert proposal.created_by == "Lena Fischer" and proposal.origin == "human-first"
    assert verify_workspace(ws).ok  # the links replay from the log like any hand link


def test_nothing_is_written_when_a_link_fails(ws):
    before, proposals = _head(ws), len(ws.store.proposal_ids())
    with pytest.raises(KnownError, match="No justification with id nope"):
        operations.add_proposal(ws, actor="Lena Fischer", changes=[(SECTION, _edited(ws))], title="t", intent="i",
                                kind="clarification", justifications=["nope"])
    assert _head(ws) == before and len(ws.store.proposal_ids()) == proposals


def test_an_authority_change_needs_a_change_of_principle(ws):
    moved = _edited(ws, authority="developer")
    with pytest.raises(KnownError, match="its authority changes from user to developer, which is a change of principle"):
        operations.add_proposal(ws, actor="Ana", changes=[(SECTION, moved)], title="t", intent="i",
                                kind="clarification")
    done = operations.add_proposal(ws, actor="Ana", changes=[(SECTION, moved)], title="t", intent="i", kind="principle")
    assert done.value.kind == "principle"


def test_platform_and_root_are_one_level():
    assert not authority_changed("platform", "root") and not authority_changed("user", "user")
    assert authority_changed("root", "system") and authority_changed(None, "user") and authority_changed("user", None)


def test_a_draft_names_every_problem_as_it_is_typed(ws):
    base = ws.load_spec().document
    good = ProposalDraft(changes=((SECTION, _edited(ws)),), title="Plain", intent="Say it plainly.")
    check = check_draft(base, good)
    assert check.ok and check.problems == () and check.moved == ()
    (view,) = check.sections
    inserted = [line.text for h in view.hunks for line in h.lines if line.kind == "insert"]
    assert "A new sentence, for the test." in inserted
    assert view.start_line == base.get(SECTION).start_line

    renamed = _text(ws).replace(f"{{#{SECTION}", "{#another_id", 1)
    bad = ProposalDraft(changes=((SECTION, renamed), (OTHER, _text(ws, OTHER))), kind="clarification")
    check = check_draft(base, bad)
    assert not check.ok
    assert "has id 'another_id'" in check.section_problems[SECTION]
    assert "unchanged" in check.section_problems[OTHER]
    assert any("title" in p for p in check.problems) and any("intent" in p for p in check.problems)

    moved = ProposalDraft(changes=((SECTION, _edited(ws, authority="guideline")),), title="t", intent="i")
    check = check_draft(base, moved)
    assert check.moved == ((SECTION, "user", "guideline"),) and not check.ok
    assert "change of principle" in check.problems[0] and "--kind" not in check.problems[0]
    assert check_draft(base, ProposalDraft(moved.changes, "t", "i", kind="principle")).ok

    unterminated = _edited(ws, add="\n~~~xml\n<user>\n")
    assert "fence" in check_draft(base, ProposalDraft(((SECTION, unterminated),), "t", "i")).problems[0]
    assert "at least one section" in check_draft(base, ProposalDraft((), "t", "i")).problems[0]


def test_a_draft_can_hold_a_stored_proposal(ws):
    proposal = ws.store.get_proposal(ws.store.proposal_ids()[1])
    draft = draft_from_proposal(proposal, "abc")
    assert draft.proposal_id == proposal.id and draft.base_revision == "abc"
    assert draft.changes == tuple((s.section_id, s.new_text) for s in proposal.sections)
    assert (draft.title, draft.intent, draft.kind) == (proposal.title, proposal.intent, proposal.kind)
    assert draft.conversations == proposal.linked_conversations
