"""Discussion threads: comments on a proposal, a section or a justification; mentions; resolve and reopen."""

import json

import pytest

from reviewer import audit, discussion, operations
from reviewer.changes import Area
from reviewer.errors import KnownError
from reviewer.queue import waiting_for
from reviewer.replay import MISSING, NOT_LOGGED, check_record
from reviewer.workspace import Workspace
from tests.datapaths import MULTI_SECTION, SUPPORTED
from tests.helpers import tamper


@pytest.fixture
def ws(demo_workspace):
    with Workspace.open(demo_workspace) as workspace:
        yield workspace


def linked_justification(ws, proposal_id=SUPPORTED):
    return ws.store.db.execute("SELECT justification_id FROM evidence_current WHERE proposal_id = ? ORDER BY"
                               " justification_id LIMIT 1", [proposal_id]).fetchone()[0]


def _head(ws):
    return audit.head_of(ws.store.db).seq


# ---- mentions ------------------------------------------------------------------------------------

NAMES = ["Jonas Lindqvist", "Jonas", "Amara Okafor", "Sofía Herrera"]


@pytest.mark.parametrize(("text", "found"), [
    ("@Jonas Lindqvist what do you think?", ("Jonas Lindqvist",)),
    ("@jonas lindqvist's point", ("Jonas Lindqvist",)),  # any case; the longest name that ends a word
    ("@Jonas, and @Amara Okafor.", ("Jonas", "Amara Okafor")),
    ("@SOFÍA HERRERA\n@Sofía Herrera again", ("Sofía Herrera",)),  # each once
    ("write to jonas@example.org", ()),  # an @ inside a word mentions nobody
    ("@Jonasx and @Amara Okaforine", ()),  # a name must end where the word does
    ("@Nobody here", ()),
    ("", ()),
])
def test_mentions_take_the_longest_member_name_after_the_at(text, found):
    assert discussion.find_mentions(text, NAMES) == found


@pytest.mark.parametrize(("text", "message"), [
    ("", "needs text"), ("   \n\t ", "needs text"), ("\u200b\u200b", "needs text"),
    ("x" * (discussion.MOST_COMMENT_CHARS + 1), "at most 10,000 characters"),
    ("bell \x07 here", "control characters"),
])
def test_empty_overlong_or_control_text_is_refused(text, message):
    with pytest.raises(KnownError, match=message):
        discussion.clean_text(text)


def test_text_is_kept_as_written_but_for_line_ends_and_outer_space():
    assert discussion.clean_text("  Line one\r\nline two\rthree\t!  ") == "Line one\nline two\nthree\t!"


# ---- threads -------------------------------------------------------------------------------------


def test_a_thread_with_replies_on_each_kind_of_target(ws):
    justification = linked_justification(ws)
    before = _head(ws)
    result = operations.add_comment(ws, SUPPORTED, "Does this cover ads? @Jonas Lindqvist", actor="Amara Okafor")
    first = result.value
    assert first.thread_id == first.id and first.mentions == ("Jonas Lindqvist",)
    assert result.changes.areas == {Area.DISCUSSION} and result.changes.proposal_ids == {SUPPORTED}
    assert result.changes.areas <= operations.OPERATIONS["comment.add"].may_change
    reply = operations.add_comment(ws, SUPPORTED, "It does.", actor="Jonas  Lindqvist", reply_to=first.id).value
    assert reply.thread_id == first.id and reply.author == "Jonas Lindqvist"
    on_section = operations.add_comment(ws, MULTI_SECTION, "Too long?", actor="Wei Chen",
                                        section_id="present_perspectives").value
    on_quote = operations.add_comment(ws, SUPPORTED, "A fair objection.", actor="Priya Raman",
                                      justification_id=justification).value
    # A reply may name any comment of its thread.
    operations.add_comment(ws, SUPPORTED, "Agreed.", actor="Amara Okafor", reply_to=reply.id)
    threads = discussion.threads_of(ws.store, SUPPORTED)
    assert [t.id for t in threads] == [first.id, on_quote.id]
    assert [c.author for c in threads[0].comments] == ["Amara Okafor", "Jonas Lindqvist", "Amara Okafor"]
    assert threads[1].justification_id == justification and threads[1].target.startswith("justification ")
    (section_thread,) = discussion.threads_of(ws.store, MULTI_SECTION)
    assert section_thread.id == on_section.id and section_thread.target == "section #present_perspectives"
    events = ws.store.db.execute("SELECT action, actor, object_id, payload FROM audit_events WHERE seq > ?"
                                 " ORDER BY seq", [before]).fetchall()
    assert [e[0] for e in events] == ["comment.add"] * 5
    logged = json.loads(events[0][3])
    assert logged["text"] == first.text and logged["mentions"] == ["Jonas Lindqvist"] and events[0][2] == SUPPORTED
    assert check_record(ws.store) == []


@pytest.mark.parametrize(("call", "message"), [
    (lambda ws: operations.add_comment(ws, SUPPORTED, "Hi", actor="Somebody Else"), "only members"),
    (lambda ws: operations.add_comment(ws, SUPPORTED, "Hi", actor=""), "Say who is acting"),
    (lambda ws: operations.add_comment(ws, SUPPORTED, " ", actor="Wei Chen"), "needs text"),
    (lambda ws: operations.add_comment(ws, "no-such-id", "Hi", actor="Wei Chen"), "No proposal"),
    (lambda ws: operations.add_comment(ws, SUPPORTED, "Hi", actor="Wei Chen", section_id="nope"),
     "does not change a section 'nope'"),
    (lambda ws: operations.add_comment(ws, SUPPORTED, "Hi", actor="Wei Chen", justification_id="nope"),
     "not linked to this proposal"),
    (lambda ws: operations.add_comment(ws, MULTI_SECTION, "Hi", actor="Wei Chen", section_id="present_perspectives",
                                       justification_id=linked_justification(ws, MULTI_SECTION)), "not both"),
    (lambda ws: operations.add_comment(ws, SUPPORTED, "Hi", actor="Wei Chen", reply_to="nope"), "No thread"),
])
def test_a_refused_comment_writes_nothing(ws, call, message):
    before = _head(ws)
    with pytest.raises(KnownError, match=message):
        call(ws)
    assert _head(ws) == before
    assert ws.store.db.execute("SELECT count(*) FROM comments").fetchone()[0] == 0


def test_a_reply_stays_on_its_threads_target_and_proposal(ws):
    first = operations.add_comment(ws, SUPPORTED, "Start.", actor="Wei Chen").value
    with pytest.raises(KnownError, match="another proposal"):
        operations.add_comment(ws, MULTI_SECTION, "Wrong place.", actor="Wei Chen", reply_to=first.id)
    with pytest.raises(KnownError, match="leave out the section"):
        operations.add_comment(ws, MULTI_SECTION, "Wrong place.", actor="Wei Chen", reply_to=first.id,
                               section_id="present_perspectives")


def test_a_thread_is_resolved_and_reopened_by_events_and_a_resolved_one_takes_no_reply(ws):
    first = operations.add_comment(ws, SUPPORTED, "Start.", actor="Wei Chen").value
    done = operations.resolve_thread(ws, first.id, actor="Amara Okafor")
    assert done.value.resolved and done.value.resolved_by == "Amara Okafor"
    assert done.changes.areas == {Area.DISCUSSION} and done.changes.proposal_ids == {SUPPORTED}
    with pytest.raises(KnownError, match="already resolved"):
        operations.resolve_thread(ws, first.id, actor="Amara Okafor")
    with pytest.raises(KnownError, match="resolved: reopen it to reply"):
        operations.add_comment(ws, SUPPORTED, "One more thing.", actor="Wei Chen", reply_to=first.id)
    again = operations.reopen_thread(ws, first.id, actor="Wei Chen").value
    assert not again.resolved and again.resolved_by is None
    with pytest.raises(KnownError, match="already open"):
        operations.reopen_thread(ws, first.id, actor="Wei Chen")
    with pytest.raises(KnownError, match="only members"):
        operations.resolve_thread(ws, first.id, actor="Mallory")
    operations.add_comment(ws, SUPPORTED, "One more thing.", actor="Wei Chen", reply_to=first.id)
    actions = [r[0] for r in ws.store.db.execute("SELECT action FROM audit_events WHERE action LIKE 'comment.%'"
                                                 " ORDER BY seq")]
    assert actions == ["comment.add", "comment.resolve", "comment.reopen", "comment.add"]
    assert check_record(ws.store) == []


# ---- my queue --------------------------------------------------------------------------------------


def test_a_mention_waits_in_the_mentioned_members_queue_until_they_answer_or_it_is_resolved(ws):
    assert waiting_for(ws.store, "Sofía Herrera") == []  # an editor with nothing to commit
    asked = operations.add_comment(ws, SUPPORTED, "@Sofía Herrera can this be committed as one change?",
                                   actor="Amara Okafor").value
    (waiting,) = waiting_for(ws.store, "Sofía Herrera")
    assert (waiting.row.id, waiting.kind, waiting.thread_id) == (SUPPORTED, "mention", asked.id)
    assert waiting.why.startswith("Amara Okafor mentioned you on the proposal: \u201c@Sofía Herrera can")
    # The author's own mention of someone else is nothing for the author to answer.
    assert [w for w in waiting_for(ws.store, "Amara Okafor") if w.kind in ("mention", "reply")] == []
    operations.add_comment(ws, SUPPORTED, "Yes, one commit.", actor="Sofía Herrera", reply_to=asked.id)
    assert waiting_for(ws.store, "Sofía Herrera") == []  # answered
    # The reply waits for whoever started the thread.
    (reply,) = [w for w in waiting_for(ws.store, "Amara Okafor") if w.thread_id]
    assert reply.kind == "reply" and reply.why.startswith("Sofía Herrera replied in your thread")
    operations.add_comment(ws, SUPPORTED, "@sofía herrera and the tag?", actor="Amara Okafor", reply_to=asked.id)
    assert [w.kind for w in waiting_for(ws.store, "Sofía Herrera")] == ["mention"]
    operations.resolve_thread(ws, asked.id, actor="Amara Okafor")
    assert waiting_for(ws.store, "Sofía Herrera") == []
    assert [w for w in waiting_for(ws.store, "Amara Okafor") if w.thread_id] == []


def test_a_proposal_waiting_for_a_decision_and_a_mention_is_listed_once_for_each(ws):
    operations.add_comment(ws, SUPPORTED, "@Jonas Lindqvist your view?", actor="Amara Okafor")
    kinds = [w.kind for w in waiting_for(ws.store, "Jonas Lindqvist") if w.row.id == SUPPORTED]
    assert kinds == ["decide", "mention"]


# ---- the log vouches for the tables ---------------------------------------------------------------


@pytest.fixture
def discussed(demo_workspace):
    with Workspace.open(demo_workspace) as ws:
        first = operations.add_comment(ws, SUPPORTED, "Start @Wei Chen", actor="Amara Okafor").value
        reply = operations.add_comment(ws, SUPPORTED, "Reply.", actor="Wei Chen", reply_to=first.id).value
        operations.resolve_thread(ws, first.id, actor="Amara Okafor")
        assert check_record(ws.store) == []
    return demo_workspace, first.id, reply.id


def _mismatches(root):
    with Workspace.open(root) as ws:
        return [(m.table, m.id, m.field, m.logged, m.stored) for m in check_record(ws.store)]


@pytest.mark.parametrize(("sql", "table", "field", "logged", "stored"), [
    ("UPDATE comments SET text = 'Rewritten.' WHERE id = :reply", "comments", "text", "Reply.", "Rewritten."),
    ("UPDATE comments SET author = 'Mallory' WHERE id = :reply", "comments", "author", "Wei Chen", "Mallory"),
    ("UPDATE comments SET mentions = '[]' WHERE id = :first", "comments", "mentions", ("Wei Chen",), ()),
    ("UPDATE comment_threads SET resolved_by = NULL, resolved_at = NULL WHERE id = :first", "comment_threads",
     "resolved_by", "Amara Okafor", None),
    ("DELETE FROM comments WHERE id = :reply", "comments", "row", "(logged)", MISSING),
    ("INSERT INTO comments SELECT 'forged', thread_id, author, 'Forged.', mentions, created_at FROM comments"
     " WHERE id = :reply", "comments", "row", NOT_LOGGED, "(present)"),
])
def test_a_comment_or_thread_changed_by_hand_is_named(discussed, sql, table, field, logged, stored):
    root, first, reply = discussed
    tamper(root / "reviewer.db", sql, {"first": first, "reply": reply})
    found = _mismatches(root)
    assert (table, "forged" if "forged" in sql else (reply if ":reply" in sql else first), field, logged,
            stored) in found
