import json

import pytest
from PySide6.QtCore import QModelIndex, Qt

from reviewer.errors import KnownError
from reviewer.evidence import evidence_links, evidence_summary
from reviewer.ids import new_id, utc_now
from reviewer.store import Store
from tests.datapaths import SPLIT_BY_COUNTRY, SUPPORTED
from ui.models.evidence import EvidenceListModel, row_html
from ui.views.evidence_view import EvidenceView
from ui.workers import PageReader, WorkspaceLane

pytestmark = pytest.mark.gui


def _store(path):
    return Store.open(path / "reviewer.db")


def _proposal_id(path, proposal_id=SPLIT_BY_COUNTRY):
    """A demo proposal's id (by default the one the crowd splits on by country), checked to be stored."""
    store = _store(path)
    try:
        assert store.db.execute("SELECT 1 FROM proposals WHERE id = ?", [proposal_id]).fetchone()
        return proposal_id
    finally:
        store.close()


@pytest.fixture
def desk(qtbot, demo_workspace):
    lane = WorkspaceLane(demo_workspace)
    reader = PageReader(demo_workspace / "reviewer.db")
    view = EvidenceView(lane, reader)
    view.resize(640, 900)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    yield view
    lane.shutdown()
    reader.shutdown()


def _show(qtbot, view, proposal_id):
    with qtbot.waitSignal(view.split_shown, timeout=20000):
        with qtbot.waitSignal(view.loaded, timeout=20000) as blocker:
            view.set_proposal(proposal_id)
    assert blocker.args == [proposal_id]


def test_the_lists_stay_where_they_are_while_the_next_proposal_is_counted(qtbot, desk, demo_workspace):
    _show(qtbot, desk, _proposal_id(demo_workspace))
    lists = desk.lists["supports"]
    where = lists.mapTo(desk, lists.rect().topLeft())
    desk.counts_label.setText("Counting the evidence…")  # one line, as while the next proposal is read
    qtbot.wait(50)  # its layout runs
    assert lists.mapTo(desk, lists.rect().topLeft()) == where


def test_counts_equal_the_evidence_summary(qtbot, desk, demo_workspace):
    pid = _proposal_id(demo_workspace)
    _show(qtbot, desk, pid)
    store = _store(demo_workspace)
    summary = evidence_summary(store, pid)
    store.close()
    assert desk.summary.counts == summary.counts
    counts = summary.counts
    text = desk.counts_label.text()
    assert f"{counts['supports']:,}</b> supports" in text and f"{counts['refutes']:,}</b> refutes" in text
    assert "95% interval" in text and "Wilson" in desk.counts_label.toolTip()
    assert f"({counts['supports']:,})" in desk.lists["supports"].title.text()
    assert f"({counts['no_comment']:,})" in desk.toggles["no_comment"].text()
    # The collapsed list reads nothing until it is opened.
    assert not desk.lists["no_comment"].isVisible() and desk.models["no_comment"].rowCount() == 0
    desk.toggles["no_comment"].click()
    assert desk.lists["no_comment"].isVisible()
    model = desk.models["no_comment"]
    assert model.rowCount() == 0  # the first page is read off the GUI thread and arrives later
    qtbot.waitUntil(lambda: model.rowCount() > 0, timeout=20000)

    def read_on():  # the rest arrives page by page as the reader scrolls
        if model.canFetchMore(QModelIndex()) and not model.reading:
            model.fetchMore(QModelIndex())
        return model.exhausted

    qtbot.waitUntil(read_on, timeout=20000)
    assert model.rowCount() == counts["no_comment"]


def test_supports_column_holds_exactly_the_supports_links(qtbot, desk, demo_workspace):
    pid = _proposal_id(demo_workspace)
    _show(qtbot, desk, pid)
    store = _store(demo_workspace)
    expected = {link.justification_id for link in evidence_links(store, pid, stance="supports")}
    refutes = {link.justification_id for link in evidence_links(store, pid, stance="refutes")}
    store.close()
    from ui.models.evidence import PAGE

    assert len(expected) > PAGE  # more than one page
    model = desk.models["supports"]
    assert model.rowCount() == PAGE and not model.exhausted
    view = desk.lists["supports"].view
    # Scroll to the end as a reader would: the view asks the model for more pages.
    def scrolled_to_the_end():
        view.scrollToBottom()
        return model.exhausted and model.rowCount() == len(expected)

    qtbot.waitUntil(scrolled_to_the_end, timeout=20000)
    ids = [model.index(r, 0).data(EvidenceListModel.IdRole) for r in range(model.rowCount())]
    assert len(ids) == len(set(ids)) and set(ids) == expected
    desk.models["refutes"].fetch_all()
    assert {r.justification_id for r in desk.models["refutes"].rows} == refutes


def test_evidence_model_passes_the_model_tester(qtbot, qtmodeltester, desk, demo_workspace):
    _show(qtbot, desk, _proposal_id(demo_workspace))
    qtmodeltester.check(desk.models["supports"])
    empty = EvidenceListModel(None, "supports")
    qtmodeltester.check(empty)


def _select_first(qtbot, desk, stance):
    view = desk.lists[stance].view
    view.setFocus()
    view.setCurrentIndex(desk.models[stance].index(0, 0))
    return view, desk.models[stance].rows[0]


def test_keyboard_changes_a_stance_and_keeps_the_earlier_label(qtbot, desk, demo_workspace):
    pid = _proposal_id(demo_workspace)
    _show(qtbot, desk, pid)
    desk.set_reviewer("Amara Okafor")
    before = dict(desk.summary.counts)
    view, row = _select_first(qtbot, desk, "supports")
    with qtbot.waitSignal(desk.stance_changed, timeout=20000) as blocker:
        qtbot.keyClick(view, Qt.Key.Key_R)
    assert blocker.args == [pid, row.justification_id, "refutes"]
    store = _store(demo_workspace)
    labels = store.db.execute(
        "SELECT id, stance, source_kind, source_name, supersedes FROM stance_labels"
        " WHERE proposal_id = ? AND justification_id = ? ORDER BY created_at, rowid",
        [pid, row.justification_id],
    ).fetchall()
    store.close()
    assert labels[0][0] == row.label_id and labels[0][1] == "supports"  # the earlier label is still there
    assert labels[-1][1:] == ("refutes", "person", "Amara Okafor", row.label_id)
    after = desk.summary.counts
    assert after["supports"] == before["supports"] - 1 and after["refutes"] == before["refutes"] + 1
    assert f"{after['refutes']:,}</b> refutes" in desk.counts_label.text()
    # The item moved column; the next one of the old column is selected for the next key.
    assert desk.models["supports"].row_of(row.justification_id) == -1
    moved = desk.models["refutes"].rows[desk.models["refutes"].row_of(row.justification_id)]
    assert moved.source_kind == "person" and moved.source_name == "Amara Okafor"
    assert view.currentIndex().row() == 0 and desk.selected_row().justification_id != row.justification_id
    # The chart followed.
    assert sum(g.refutes for g in desk.chart.groups) == after["refutes"]
    # N on the moved item, now in the refutes column: a second person label superseding the first.
    refutes_view = desk.lists["refutes"].view
    refutes_view.setFocus()
    refutes_view.setCurrentIndex(desk.models["refutes"].index(desk.models["refutes"].row_of(row.justification_id), 0))
    with qtbot.waitSignal(desk.stance_changed, timeout=20000):
        qtbot.keyClick(refutes_view, Qt.Key.Key_N)
    assert desk.models["no_comment"].row_of(row.justification_id) >= 0 or not desk.models["no_comment"].exhausted
    assert desk.summary.counts["no_comment"] == before["no_comment"] + 1


def test_without_a_reviewer_name_a_change_is_refused(qtbot, desk, demo_workspace):
    pid = _proposal_id(demo_workspace)
    _show(qtbot, desk, pid)
    store = _store(demo_workspace)
    labels = store.db.execute("SELECT count(*) FROM stance_labels").fetchone()[0]
    events = store.db.execute("SELECT count(*) FROM audit_events").fetchone()[0]
    store.close()
    view, _row = _select_first(qtbot, desk, "supports")
    with qtbot.waitSignal(desk.failed, timeout=5000) as blocker:
        qtbot.keyClick(view, Qt.Key.Key_S)
    assert isinstance(blocker.args[0], KnownError) and "reviewer name" in str(blocker.args[0])
    assert "reviewer name" in desk.message.text()
    qtbot.wait(50)
    store = _store(demo_workspace)
    assert store.db.execute("SELECT count(*) FROM stance_labels").fetchone()[0] == labels
    assert store.db.execute("SELECT count(*) FROM audit_events").fetchone()[0] == events
    store.close()


def test_split_chart_groups_match_a_count_by_country(qtbot, desk, demo_workspace):
    pid = _proposal_id(demo_workspace)
    _show(qtbot, desk, pid)
    assert desk.current_field() == "country_of_residence"
    store = _store(demo_workspace)
    rows = store.db.execute(
        "SELECT json_extract(p.demographics, '$.country_of_residence'), e.stance, count(*)"
        " FROM evidence_current e JOIN justifications j ON j.id = e.justification_id"
        " JOIN assessments a ON a.id = j.assessment_id JOIN participants p ON p.id = a.participant_id"
        " WHERE e.proposal_id = ? GROUP BY 1, 2",
        [pid],
    ).fetchall()
    store.close()
    drawn = {(g.group, stance): getattr(g, stance) for g in desk.chart.groups
             for stance in ("supports", "refutes", "no_comment") if getattr(g, stance)}
    assert drawn == {(c, s): n for c, s, n in rows}
    # Most supporting first; the tooltip of a bar names the interval.
    shares = [g.share for g in desk.chart.groups if g.share is not None]
    assert shares == sorted(shares, reverse=True)
    assert "Wilson" in desk.chart.group_tooltip(0)
    with qtbot.waitSignal(desk.split_shown, timeout=20000):
        desk.set_field("age")
    assert {g.group for g in desk.chart.groups} <= {"18-24", "25-34", "35-44", "45-54", "55-64", "65+", "(unknown)"}


def test_quoted_span_is_highlighted_and_crowd_html_shown_as_text(qtbot, desk, demo_workspace):
    pid = _proposal_id(demo_workspace)
    store = _store(demo_workspace)
    jid = store.db.execute(
        "SELECT justification_id FROM evidence_current WHERE proposal_id = ? AND stance = 'refutes'"
        " ORDER BY justification_id LIMIT 1",
        [pid],
    ).fetchone()[0]
    text = "I think <script>alert('x')</script> & <b>bold</b> is wrong here."
    quote = "<script>alert('x')</script>"
    with store.db.atomic():
        store.db.execute("UPDATE justifications SET text = ? WHERE id = ?", [text, jid])
        store.db.execute(
            "INSERT INTO stance_labels (id, proposal_id, justification_id, stance, source_kind, source_name,"
            " prompt_version, confidence, quote, detail, created_at)"
            " VALUES (?, ?, ?, 'refutes', 'model', 'judge-x', 'stance-v2', 0.9, ?, ?, ?)",
            [new_id(), pid, jid, quote, json.dumps({}), utc_now()],
        )
    store.close()
    _show(qtbot, desk, pid)
    model = desk.models["refutes"]
    row_number = model.row_of(jid)
    assert row_number >= 0
    row = model.rows[row_number]
    assert row.source_kind == "model" and row.quote == quote and row.quote_span() == (8, 8 + len(quote))
    tooltip = model.index(row_number, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert tooltip == row_html(row)
    assert "<script>" not in tooltip and "<b>bold" not in tooltip
    assert "background:#ffe08a;color:#000\">&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;</span>" in tooltip
    assert "model: judge-x (stance-v2)" in tooltip
    # The delegate lays out the raw text and highlights exactly the quote.
    layout = desk.delegate.text_layout(row, 400, desk.font())
    assert layout.text() == text
    (span,) = layout.formats()
    assert (span.start, span.length) == (8, len(quote))
    # The detail pane shows the text as text.
    view = desk.lists["refutes"].view
    with qtbot.waitSignal(desk.detail_shown, timeout=20000) as shown_signal:
        view.setCurrentIndex(model.index(row_number, 0))
    assert shown_signal.args == [jid]
    shown = desk.detail.toPlainText()
    assert text in shown and "judge-x" in shown and "in force" in shown


def test_long_text_is_elided_to_three_lines(desk):
    from reviewer.evidence import EvidenceRow

    row = EvidenceRow(
        justification_id="x", text="word " * 400, block="world", language=None,
        demographics={}, participant_id=None, annotator_id=None, conversation_id=None, prompt_id=None,
        stance="supports", source_kind="rule", source_name="ranking-based", prompt_version=None, confidence=None,
        label_id=None, quote=None, quote_from=None, key=("rule", "ranking-based", "x"),
    )
    layout = desk.delegate.text_layout(row, 300, desk.font())
    assert layout.lineCount() == 3 and layout.text().endswith("…")
    assert desk.delegate.text_layout(row, 300, desk.font()) is layout  # cached


def test_enter_and_double_click_request_the_conversation(qtbot, desk, demo_workspace):
    _show(qtbot, desk, _proposal_id(demo_workspace))
    view, row = _select_first(qtbot, desk, "supports")
    with qtbot.waitSignal(desk.conversation_requested, timeout=5000) as blocker:
        qtbot.keyClick(view, Qt.Key.Key_Return)
    assert blocker.args == [row.conversation_id, row.justification_id]
    rect = view.visualRect(desk.models["supports"].index(0, 0))
    got = []
    desk.conversation_requested.connect(lambda *args: got.append(list(args)))
    # QTest's synthetic mouse clock can swallow the first double click after a key click: retry.
    for _ in range(3):
        qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        if got:
            break
    assert got == [[row.conversation_id, row.justification_id]]


def test_a_later_proposal_wins_and_none_clears(qtbot, desk, demo_workspace):
    first = _proposal_id(demo_workspace)
    second = _proposal_id(demo_workspace, SUPPORTED)
    with qtbot.waitSignal(desk.loaded, timeout=20000) as blocker:
        desk.set_proposal(first)
        desk.set_proposal(second)
    assert blocker.args == [second]
    assert all(r.justification_id for r in desk.models["supports"].rows)
    desk.set_proposal(None)
    assert all(m.rowCount() == 0 for m in desk.models.values()) and desk.chart.groups == []


def _other_proposal(path):
    store = _store(path)
    try:
        return store.db.execute(
            "SELECT proposal_id FROM evidence_current WHERE proposal_id != ? GROUP BY proposal_id"
            " ORDER BY count(*) DESC LIMIT 1", [_proposal_id(path)]).fetchone()[0]
    finally:
        store.close()


def test_pages_are_read_off_the_gui_thread_one_ahead(qtbot, demo_workspace):
    import threading

    from reviewer import evidence as evidence_module
    from ui.models.evidence import PAGE

    pid = _proposal_id(demo_workspace)
    store = _store(demo_workspace)
    expected = [link.justification_id for link in evidence_links(store, pid, stance="supports")]
    store.close()
    reader = PageReader(demo_workspace / "reviewer.db")
    threads = []
    real_page = evidence_module.evidence_page

    def spying_page(*args, **kwargs):
        threads.append(threading.current_thread())
        return real_page(*args, **kwargs)

    import ui.models.evidence as model_module

    model_module.evidence_page, saved = spying_page, model_module.evidence_page
    try:
        model = EvidenceListModel(reader, "supports")
        reading = []
        model.reading_changed.connect(reading.append)
        with qtbot.waitSignal(model.page_arrived, timeout=20000):
            model.set_proposal(pid)
            assert model.rowCount() == 0 and model.reading  # asked for, not read here
        assert model.rowCount() == PAGE
        assert reading == [True, False]  # the list said it was reading, then that it was done
        # The next page is read ahead while the first is shown; asking for it shows it at once.
        qtbot.waitUntil(lambda: model._ahead is not None, timeout=20000)
        model.fetchMore()
        assert model.rowCount() == 2 * PAGE
        while not model.exhausted:
            if not model.reading:
                with qtbot.waitSignal(model.page_arrived, timeout=20000):
                    model.fetchMore()
                    model.fetchMore()  # a second ask while the page is being read changes nothing
            else:
                qtbot.waitSignal(model.page_arrived, timeout=20000).wait()
        keys = [r.key for r in model.rows]
        assert keys == sorted(keys) and len(set(keys)) == len(keys)  # in index order, none twice
        assert {r.justification_id for r in model.rows} == set(expected) and len(keys) == len(expected)
        assert threads and all(t is not threading.main_thread() for t in threads)
    finally:
        model_module.evidence_page = saved
        reader.shutdown()


def test_a_page_read_for_the_previous_proposal_is_dropped(qtbot, demo_workspace):
    first, second = _proposal_id(demo_workspace), _other_proposal(demo_workspace)
    store = _store(demo_workspace)
    expected = {link.justification_id for link in evidence_links(store, second, stance="supports")}
    store.close()
    reader = PageReader(demo_workspace / "reviewer.db")
    try:
        model = EvidenceListModel(reader, "supports")
        model.set_proposal(first)  # its page is being read…
        with qtbot.waitSignal(model.page_arrived, timeout=20000):
            model.set_proposal(second)  # …when the reviewer moves on
        reader.call(lambda conn: None)  # every read asked for has finished
        qtbot.wait(50)  # and been delivered
        model.fetch_all()
        assert {r.justification_id for r in model.rows} == expected
        assert len(model.rows) == len(expected)
    finally:
        reader.shutdown()


def test_a_failed_page_read_is_reported_and_ends_the_list(qtbot, demo_workspace, tmp_path):
    reader = PageReader(tmp_path / "missing" / "reviewer.db")
    try:
        model = EvidenceListModel(reader, "supports")
        with qtbot.waitSignal(model.failed, timeout=20000) as failure:
            model.set_proposal(_proposal_id(demo_workspace))
        assert "unable to open" in str(failure.args[0]).lower()
        assert model.rowCount() == 0 and model.exhausted and not model.canFetchMore()
    finally:
        reader.shutdown()


def test_lists_stay_whole_when_a_stance_changes_while_a_page_is_read_ahead(qtbot, desk, demo_workspace):
    pid = _proposal_id(demo_workspace)
    _show(qtbot, desk, pid)
    desk.set_reviewer("Amara Okafor")
    supports = desk.models["supports"]
    qtbot.waitUntil(lambda: supports._ahead is not None, timeout=20000)  # the second page waits, unseen
    view, row = _select_first(qtbot, desk, "supports")
    with qtbot.waitSignal(desk.stance_changed, timeout=20000):
        qtbot.keyClick(view, Qt.Key.Key_R)
    for model in desk.models.values():
        model.fetch_all()
    store = _store(demo_workspace)
    try:
        for stance, model in desk.models.items():
            if stance == "unlabelled":
                continue
            expected = {link.justification_id for link in evidence_links(store, pid, stance=stance)}
            shown = [r.justification_id for r in model.rows]
            assert set(shown) == expected and len(shown) == len(expected), stance
    finally:
        store.close()
    assert row.justification_id in {r.justification_id for r in desk.models["refutes"].rows}


def test_list_title_says_when_it_waits_for_a_page(qtbot, desk, demo_workspace):
    _show(qtbot, desk, _proposal_id(demo_workspace))
    model, title = desk.models["supports"], desk.lists["supports"].title
    qtbot.waitUntil(lambda: model._ahead is not None, timeout=20000)
    model.fetchMore()  # the page read ahead is shown at once, the next one is asked for
    assert "reading more" not in title.text()
    with qtbot.waitSignal(model.page_arrived, timeout=20000):
        model.fetchMore()  # the view wants it before it has come
        assert model.reading and "reading more…" in title.text()
    assert not model.reading and "reading more" not in title.text()
    assert f"({desk.summary.counts['supports']:,})" in title.text()


def test_choosing_another_proposal_stops_the_reading_of_the_last_ones_split(qtbot, desk, demo_workspace, monkeypatch):
    """A split being read when the reviewer moves on stops at once: the next counts do not wait behind it."""
    import sqlite3

    from ui.views import evidence_view

    monkeypatch.setattr(evidence_view, "_CHECK_EVERY", 50)  # the demo's statements are short
    pid = _proposal_id(demo_workspace)
    _show(qtbot, desk, pid)
    field = desk.current_field()
    conn = sqlite3.connect(demo_workspace / "reviewer.db")
    try:
        generation = desk._generation
        # The reviewer moves on while the first statement of the reading runs.
        conn.set_trace_callback(lambda _sql: setattr(desk, "_generation", generation + 1))
        assert desk._read_seen(conn, generation, pid, field) is None
        conn.set_trace_callback(None)
        # Still wanted: read whole, and the connection is left without the check.
        seen = desk._read_seen(conn, desk._generation, pid, field)
        assert seen is not None and seen.proposal_id == pid and seen.split_by == field
        assert conn.execute("SELECT count(*) FROM proposals").fetchone()[0] > 0
    finally:
        conn.close()


def test_a_relabelled_item_shows_the_person_on_its_badge_in_its_new_list(qtbot, desk, demo_workspace):
    # One delegate draws every list and keeps what it drew: the item painted in its old list with
    # the rule's badge must be drawn afresh, with the person's, once it has moved.
    _show(qtbot, desk, _proposal_id(demo_workspace))
    desk.set_reviewer("Amara Okafor")
    view, row = _select_first(qtbot, desk, "supports")
    assert row.source_kind == "rule"
    font = view.font()
    width = view.viewport().width()
    desk.grab()  # paint the old list: the delegate keeps the rule's badge for this item
    assert desk.delegate.badge_text(row, width, font).startswith("rule")
    with qtbot.waitSignal(desk.stance_changed, timeout=20000):
        qtbot.keyClick(view, Qt.Key.Key_R)
    refutes = desk.models["refutes"]
    moved = refutes.rows[refutes.row_of(row.justification_id)]
    refutes_view = desk.lists["refutes"].view
    refutes_view.scrollTo(refutes.index(refutes.row_of(row.justification_id), 0))
    desk.grab()
    assert refutes_view.viewport().width() == width  # the same width: the cache would have matched
    assert desk.delegate.badge_text(moved, width, font) == "person: Amara Okafor"
    assert "person: Amara Okafor" in refutes.index(refutes.row_of(row.justification_id), 0).data(
        Qt.ItemDataRole.AccessibleTextRole)


def test_a_flagged_model_label_says_so_and_why_in_the_labels_list(qtbot, desk, demo_workspace):
    from reviewer.judges.base import StanceVerdict
    from reviewer.judges.running import store_model_stance

    pid = _proposal_id(demo_workspace)
    _show(qtbot, desk, pid)
    jid = desk.models["supports"].rows[0].justification_id
    store = _store(demo_workspace)
    with store.db.atomic():
        store_model_stance(store, proposal_id=pid, justification_id=jid, model="test-model", prompt_version="stance-v1",
                           input_hash="h", verdict=StanceVerdict(
                               stance="supports", quote=None, reason="r", confidence=0.5,
                               flags=("quote_not_verbatim",), rejected_quote="<b>never</b> written"))
    store.close()
    _show(qtbot, desk, pid)
    model = next(m for m in desk.models.values() if m.row_of(jid) >= 0)
    view = next(item.view for item in desk.lists.values() if item.view.model() is model)
    with qtbot.waitSignal(desk.detail_shown, timeout=20000):
        view.setCurrentIndex(model.index(model.row_of(jid), 0))
    text = desk.detail.toPlainText()
    assert "supports by model test-model (stance-v1)" in text
    assert "flagged: the model quoted words the justification does not contain, so the quote was dropped" in text
    assert "(it quoted “<b>never</b> written”)" in text  # shown as text
