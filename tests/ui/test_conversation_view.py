
import pytest

from reviewer.errors import KnownError
from reviewer.judges.data import response_messages
from reviewer.rankings import parse_ranking
from reviewer.store import Store
from ui.views.conversation_view import (
    ConversationDialog,
    ConversationView,
    conversation_html,
    hard_breaks,
    place_text,
)
from ui.workers import WorkspaceLane

pytestmark = pytest.mark.gui




@pytest.fixture
def lane(demo_workspace):
    lane = WorkspaceLane(demo_workspace)
    yield lane
    lane.shutdown()


def _focus(demo_workspace):
    """A world justification whose author gave both rankings, its conversation and the others' rankings."""
    store = Store.open(demo_workspace / "reviewer.db")
    try:
        jid, cid, pid, personal, world, text = store.db.execute(
            "SELECT j.id, a.conversation_id, a.participant_id, a.personal_ranking, a.world_ranking, j.text"
            " FROM justifications j JOIN assessments a ON a.id = j.assessment_id"
            " WHERE j.block = 'world' AND a.personal_ranking IS NOT NULL ORDER BY j.id LIMIT 1"
        ).fetchone()
        prompt, responses = store.db.execute(
            "SELECT prompt, responses FROM conversations WHERE id = ?", [cid]).fetchone()
        others = [r[0] for r in store.db.execute(
            "SELECT world_ranking FROM assessments WHERE conversation_id = ? AND participant_id != ?"
            " AND world_ranking IS NOT NULL",
            [cid, pid],
        )]
        ranker = store.db.execute("SELECT ranking FROM ranker_rankings WHERE conversation_id = ?", [cid]).fetchone()[0]
    finally:
        store.close()
    return {"jid": jid, "cid": cid, "personal": personal, "world": world, "text": text, "prompt": prompt,
            "responses": responses, "others": others, "ranker": ranker}


def test_opening_a_conversation_shows_prompt_responses_rankings_and_summary(qtbot, lane, demo_workspace):
    f = _focus(demo_workspace)
    view = ConversationView(lane)
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.loaded, timeout=20000) as blocker:
        view.show_conversation(f["cid"], f["jid"])
    assert blocker.args == [f["cid"]]
    text = view.browser.toPlainText()
    import json

    prompt = json.loads(f["prompt"])["messages"][0]["content"]
    assert prompt.split("\n")[0] in text
    responses = response_messages(f["responses"])
    assert sorted(responses) == ["A", "B", "C", "D"]
    for letter, messages in responses.items():
        assert f"Response {letter}" in text
        assert messages[0][1].split("\n")[0].strip("*# ")[:40] in text
    assert f["personal"] in text and f["world"] in text and f["ranker"] in text
    assert f["text"] in text and "(opened)" in text
    # The summary of the others: n, and each letter's count of first places in world rankings.
    n = len(f["others"])
    assert f"first, world (n={n})" in text and f"world rankings (n={n})" in text
    detail = view.detail
    for tally in detail.crowd.world:
        expected = sum(1 for w in f["others"] if tally.letter in w.split(">")[0])
        assert tally.first == expected
        assert f"{expected} ({expected / n * 100:.0f}%)" in text
    top, count = detail.crowd.world_top[0]
    assert count == max(sum(1 for w in f["others"] if w.split(">")[0] == t) for t in {w.split(">")[0] for w in f["others"]})
    assert f"{top} {count} (" in text


def test_crowd_text_is_shown_as_text(qtbot, lane, demo_workspace):
    f = _focus(demo_workspace)
    store = Store.open(demo_workspace / "reviewer.db")
    with store.db.atomic():
        store.db.execute("UPDATE justifications SET text = ? WHERE id = ?",
                         ["<script>alert(1)</script> <img src=x onerror=y> A is best", f["jid"]])
    store.close()
    view = ConversationView(lane)
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.loaded, timeout=20000):
        view.show_conversation(f["cid"], f["jid"])
    assert "<script>alert(1)</script> <img src=x onerror=y> A is best" in view.browser.toPlainText()
    html = conversation_html(view.detail)
    assert "<script>" not in html and "<img src=x" not in html and "&lt;script&gt;" in html


def test_unknown_conversation_fails_with_a_known_error(qtbot, lane):
    view = ConversationView(lane)
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.failed, timeout=20000) as blocker:
        view.show_conversation("no-such-conversation")
    assert isinstance(blocker.args[0], KnownError)
    assert "No conversation" in view.title.text()


def test_dialog_is_not_modal(qtbot, lane, demo_workspace):
    f = _focus(demo_workspace)
    dialog = ConversationDialog(lane)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.view.loaded, timeout=20000):
        dialog.open_conversation(f["cid"])
    assert dialog.isVisible() and not dialog.isModal()
    assert dialog.view.detail.participant is None
    assert f"world (n={len(f['others']) + 1})" in dialog.view.browser.toPlainText()


def test_the_window_is_headed_by_the_prompts_opening_words_not_its_id(qtbot, lane, demo_workspace):
    f = _focus(demo_workspace)
    dialog = ConversationDialog(lane)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.view.loaded, timeout=20000):
        dialog.open_conversation(f["cid"], f["jid"])
    detail = dialog.view.detail
    opening = " ".join(detail.prompt[0][1].split())[:30]
    title = dialog.view.title.text()
    assert title.startswith(f"“{opening}") and f"(prompt {detail.prompt_id} · ca1)" in title
    assert dialog.windowTitle().startswith(f"Conversation: “{opening}")
    assert detail.prompt_id not in dialog.windowTitle()
    first_line = dialog.view.browser.toPlainText().splitlines()[0]
    assert first_line.startswith(f"“{opening}") and detail.prompt_id not in first_line
    assert detail.id in dialog.view.title.toolTip()


def test_places_and_line_breaks():
    ranking = parse_ranking("B>A=C>D")
    assert [place_text(ranking, x) for x in "ABCD"] == ["2=", "1", "2=", "4"]
    assert place_text(None, "A") == "–"
    assert hard_breaks("a\nb\n```\ncode\n```") == "a  \nb  \n```\ncode\n```"
