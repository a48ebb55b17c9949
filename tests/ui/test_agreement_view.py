import xml.etree.ElementTree as ET

import pytest
from PySide6.QtCore import QPoint, Qt

from reviewer.agreement import MIN_CONVERSATIONS, compute_agreement
from reviewer.errors import KnownError
from reviewer.evidence import demographic_fields
from reviewer.workspace import Workspace
from ui.dialogs import Dialogs
from ui.views.agreement_view import (
    AgreementChart,
    AgreementOptions,
    AgreementTableModel,
    AgreementView,
    SectionConversationsModel,
    compute_for_view,
    prompt_first_line,
)
from ui.workers import WorkspaceLane

pytestmark = pytest.mark.gui

RESAMPLES = 200
SEED = 11
SECTION_ID = "avoid_targeted_political_manipulation"  # graded 5 for many demo conversations; two proposals touch it


@pytest.fixture
def view(qtbot, demo_workspace):
    lane = WorkspaceLane(demo_workspace)
    v = AgreementView(lane)
    qtbot.addWidget(v)
    v.resize(1200, 900)
    v.show()
    v.resamples_box.setValue(RESAMPLES)
    v.seed_box.setValue(SEED)
    assert not v.few_box.isChecked()  # by default, sections with few conversations are left out
    v.few_box.setChecked(True)  # most tests here want every section the demo grades (most have few)
    yield v
    lane.shutdown()


def _compute(qtbot, view):
    with qtbot.waitSignal(view.computed, timeout=20000) as blocker:
        view.refresh()
    return blocker.args[0]


def _direct(path, **kwargs):
    with Workspace.open(path) as ws:
        return compute_agreement(ws.store, resamples=RESAMPLES, seed=SEED, **kwargs)


def _figures(result):
    return [(s.section_id, s.stats, s.groups) for s in result.sections]


def test_figures_equal_the_domain_computation(qtbot, view, demo_workspace):
    result = _compute(qtbot, view)
    direct = _direct(demo_workspace)
    assert result.overall.stats == direct.overall.stats
    assert _figures(result) == _figures(direct)
    assert result.seed == SEED and result.resamples == RESAMPLES and result.min_relevance == 5
    assert all(s.title for s in result.sections)  # titles from the spec
    assert view.table_model.rowCount() == len(direct.sections) > 10
    assert "Overall" in view.summary.text() and f"{direct.overall.stats.share * 100:.1f}%" in view.summary.text()
    assert view.png_button.isEnabled() and view.svg_button.isEnabled()
    assert "country_of_residence" in view.fields and "ideal-model-behavior" not in view.fields


def test_sections_with_few_conversations_are_listed_only_when_asked_for(qtbot, view, demo_workspace):
    view.few_box.setChecked(False)  # as a new view has it
    shown = _compute(qtbot, view)
    assert _figures(shown) == _figures(_direct(demo_workspace, min_conversations=MIN_CONVERSATIONS))
    every = _direct(demo_workspace)
    few = [s for s in every.sections if s.stats.conversations < MIN_CONVERSATIONS]
    assert few and any(s.stats.conversations == 1 for s in few)  # the demo has single-conversation sections
    assert all(s.stats.conversations >= MIN_CONVERSATIONS for s in shown.sections)
    assert view.table_model.rowCount() == len(every.sections) - len(few) == len(view.chart.entries)
    assert shown.hidden_sections == len(few)
    note = f"{len(few)} sections with fewer than {MIN_CONVERSATIONS} conversations not shown"
    assert note in view.summary.text()
    assert not view.few_box.isChecked() and f"fewer than {MIN_CONVERSATIONS} conversations" in view.few_box.text().replace("&", "")
    # Each figure carries its n: beside the point on the chart, in the table, in the tooltip.
    entry = view.chart.entries[0]
    assert f"{entry.stats.conversations:,} conversations" in view.chart.tooltip_at(
        200, AgreementChart.HEADER + AgreementChart.ROW // 2)
    with qtbot.waitSignal(view.computed, timeout=1000) as blocker:  # no recomputation: at once
        view.few_box.click()
    assert view.full_result is not None and blocker.args[0].sections == view.full_result.sections
    assert view.table_model.rowCount() == len(every.sections) and view.result.hidden_sections == 0
    assert "not shown" not in view.summary.text()
    single = next(s for s in few if s.stats.conversations == 1)
    row = view.table_model.row_of(single.section_id)
    assert view.table_model.index(row, AgreementTableModel.CONVERSATIONS).data() == "1"
    with qtbot.waitSignal(view.computed, timeout=1000):
        view.few_box.click()
    assert view.table_model.row_of(single.section_id) == -1


def test_split_by_a_field_matches_the_domain_and_draws_groups(qtbot, view, demo_workspace):
    _compute(qtbot, view)  # lists the fields
    view.set_split("generative_ai_usage")
    view.relevance_box.setValue(4)
    view.view_box.setCurrentIndex(view.view_box.findData("personal"))
    result = _compute(qtbot, view)
    direct = _direct(demo_workspace, by="generative_ai_usage", min_relevance=4, view="personal")
    assert result.by == "generative_ai_usage" and result.view == "personal"
    assert result.group_names == direct.group_names and len(direct.group_names) > 2
    assert _figures(result) == _figures(direct)
    assert result.overall.groups == direct.overall.groups
    assert view.chart.groups == direct.group_names
    tip = view.table_model.data(view.table_model.index(0, AgreementTableModel.AGREEMENT), Qt.ItemDataRole.ToolTipRole)
    assert "By generative_ai_usage:" in tip


def test_sections_sort_by_any_column(qtbot, view):
    result = _compute(qtbot, view)
    proxy = view.table_proxy

    def column(c, role=Qt.ItemDataRole.DisplayRole):
        return [proxy.index(r, c).data(role) for r in range(proxy.rowCount())]

    shares = [s.stats.share for s in result.sections]
    assert column(AgreementTableModel.SECTION) == [s.section_id for s in result.sections]  # highest first
    assert shares == sorted(shares, reverse=True)
    view.table.sortByColumn(AgreementTableModel.PAIRS, Qt.SortOrder.AscendingOrder)
    pairs = [int(text.replace(",", "")) for text in column(AgreementTableModel.PAIRS)]
    assert pairs == sorted(pairs) and pairs[0] < pairs[-1]
    view.table.sortByColumn(AgreementTableModel.SECTION, Qt.SortOrder.AscendingOrder)
    ids = column(AgreementTableModel.SECTION)
    assert ids == sorted(ids)
    view.table.sortByColumn(AgreementTableModel.AGREEMENT, Qt.SortOrder.AscendingOrder)
    assert column(AgreementTableModel.SECTION)[0] == result.sections[-1].section_id


def test_choosing_a_row_lists_its_conversations_and_proposals(qtbot, view, demo_workspace):
    result = _compute(qtbot, view)
    entry = next(s for s in result.sections if s.section_id == SECTION_ID)
    with qtbot.waitSignal(view.section_shown, timeout=20000) as blocker:
        view.select_section(SECTION_ID)
    assert blocker.args == [SECTION_ID]
    assert view.chart.selected == SECTION_ID
    assert view.table_proxy.data(view.table.currentIndex(), Qt.ItemDataRole.DisplayRole) == SECTION_ID
    rows = view.conversations_model.rows
    # Exactly the conversations the section's figure pools, with the same pairs.
    assert len(rows) == entry.stats.conversations
    assert sum(r.agreeing for r in rows) == entry.stats.agreeing
    assert sum(r.counted for r in rows) == entry.stats.counted
    assert sum(r.assessments for r in rows) == entry.stats.assessments
    shown = [view.conversations_proxy.index(r, SectionConversationsModel.AGREEMENT).data()
             for r in range(view.conversations_proxy.rowCount())]
    assert [int(s.rstrip("%")) for s in shown] == sorted(int(s.rstrip("%")) for s in shown)  # least agreement first
    first = view.conversations_proxy.index(0, SectionConversationsModel.PROMPT).data()
    assert first and "\n" not in first and not first.startswith("{")
    with Workspace.open(demo_workspace) as ws:
        expected = {r[0] for r in ws.store.db.execute(
            "SELECT proposal_id FROM proposal_sections WHERE section_id = ?", [SECTION_ID])}
    assert set(view.proposals_model.ids) == expected and expected
    assert SECTION_ID in view.conversations_label.text()

    with qtbot.waitSignal(view.proposal_requested) as opened:
        view.on_proposal_activated(view.proposals_model.index(0, 1))
    assert opened.args == [view.proposals_model.ids[0]]
    with qtbot.waitSignal(view.conversation_requested) as opened:
        view.conversations.activated.emit(view.conversations_proxy.index(0, 0))
    assert opened.args == [view.conversations_proxy.index(0, 0).data(Qt.ItemDataRole.UserRole + 3)]

    # A new computation keeps the chosen section.
    with qtbot.waitSignal(view.section_shown, timeout=20000):
        view.refresh()
    assert view.detail.section_id == SECTION_ID


def test_clicking_the_chart_and_arrow_keys_choose_sections(qtbot, view):
    result = _compute(qtbot, view)
    chart = view.chart
    y = AgreementChart.HEADER + AgreementChart.ROW * 2 + AgreementChart.ROW // 2
    with qtbot.waitSignal(view.section_shown, timeout=20000) as blocker:
        qtbot.mouseClick(chart, Qt.MouseButton.LeftButton, pos=QPoint(200, y))
    assert blocker.args == [result.sections[2].section_id]
    with qtbot.waitSignal(view.section_shown, timeout=20000) as blocker:
        qtbot.keyClick(chart, Qt.Key.Key_Down)
    assert blocker.args == [result.sections[3].section_id]
    tip = chart.tooltip_at(200, y)
    assert result.sections[2].section_id in tip and "95% interval" in tip
    assert chart.tooltip_at(200, 5) is None


def test_export_png_and_svg(qtbot, view, tmp_path, monkeypatch):
    with pytest.raises(KnownError):
        view.export_png(tmp_path / "none.png")
    _compute(qtbot, view)
    png = view.export_png(tmp_path / "chart.png")
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    svg = view.export_svg(tmp_path / "chart.svg")
    root = ET.parse(svg).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    sections = [g.get("data-section") for g in root.iter("{http://www.w3.org/2000/svg}g")]
    assert sections == [s.section_id for s in view.result.sections]

    # Through the save-path seam, as the buttons do it.
    monkeypatch.setattr(Dialogs, "ask_save_path", classmethod(lambda cls, *a, **k: str(tmp_path / "b.svg")))
    view.on_export_svg()
    assert (tmp_path / "b.svg").read_text(encoding="utf-8").startswith("<svg")
    monkeypatch.setattr(Dialogs, "ask_save_path", classmethod(lambda cls, *a, **k: str(tmp_path / "no" / "c.png")))
    with qtbot.waitSignal(view.failed):
        view.on_export_png()
    assert isinstance(Dialogs.shown[-1], KnownError)


def test_png_of_a_split_chart_holds_every_row(qtbot, view):
    _compute(qtbot, view)
    view.set_split("country_of_residence")
    result = _compute(qtbot, view)
    image = view.chart.render_image(scale=1.0)
    assert image.height() >= AgreementChart.HEADER + AgreementChart.ROW * len(result.sections) + 26 + 18 * 4
    assert image.width() == 880


def test_models_pass_the_qt_model_tester(qtbot, qtmodeltester, view):
    _compute(qtbot, view)
    with qtbot.waitSignal(view.section_shown, timeout=20000):
        view.select_section(view.result.sections[0].section_id)
    qtmodeltester.check(view.table_model)
    qtmodeltester.check(view.table_proxy)
    qtmodeltester.check(view.conversations_model)
    qtmodeltester.check(view.conversations_proxy)


def test_the_newest_request_wins(qtbot, view):
    _compute(qtbot, view)
    seen = []
    view.computed.connect(seen.append)
    view.resamples_box.setValue(0)
    view.refresh()
    view.set_split("age")
    view.resamples_box.setValue(50)
    with qtbot.waitSignal(view.computed, timeout=20000):
        view.refresh()
    assert [r.by for r in seen] == ["age"] and seen[0].resamples == 50
    assert view.busy.isHidden() and view.compute_button.isEnabled()


def test_a_workspace_without_a_ranker_run_says_so(qtbot, real_workspace):
    path, _ = real_workspace
    lane = WorkspaceLane(path)
    v = AgreementView(lane)
    qtbot.addWidget(v)
    try:
        with qtbot.waitSignal(v.failed, timeout=20000) as blocker:
            v.refresh()
        assert isinstance(blocker.args[0], KnownError)
        assert "no ranker run" in v.summary.text() and "no ranker run" in v.chart.placeholder
        assert not v.png_button.isEnabled() and Dialogs.shown == []
    finally:
        lane.shutdown()


def test_split_fields_are_the_evidence_views_fields(demo_workspace):
    # One rule for both splits: the agreement view offers exactly the fields the evidence view does.
    with Workspace.open(demo_workspace) as ws:
        fields = compute_for_view(ws, AgreementOptions(resamples=RESAMPLES, seed=SEED)).fields
        assert fields == tuple(f.name for f in demographic_fields(ws.store))
    assert {"age", "country_of_residence", "gender", "generative_ai_usage"} <= set(fields)
    assert "ideal-model-behavior" not in fields


@pytest.mark.parametrize("raw, expected", [
    ('{"id": "p", "messages": [{"role": "system", "content": "Be nice"}, {"role": "user", '
     '"content": "\\n  First line\\nsecond"}]}', "First line"),
    ('[{"role": "user", "content": [{"type": "text", "text": "Parts here"}]}]', "Parts here"),
    ("plain text prompt\nmore", "plain text prompt"),
    ('{"messages": []}', ""),
])
def test_prompt_first_line(raw, expected):
    assert prompt_first_line(raw) == expected


def test_trust_of_each_stance_source_against_people(qtbot, view, demo_workspace):
    from reviewer.evidence import set_stance
    from reviewer.store import Store
    from reviewer.workspace import DB_FILE

    _compute(qtbot, view)
    qtbot.waitUntil(lambda: "no link has been labelled by both" in view.trust_label.text(), timeout=20000)
    store = Store.open(demo_workspace / DB_FILE)
    try:
        proposal_id, justification_id, stance = store.db.execute(
            "SELECT proposal_id, justification_id, stance FROM evidence_current WHERE source_kind = 'rule' LIMIT 1"
        ).fetchone()
        set_stance(store, proposal_id, justification_id, stance, "Amara Okafor")  # a person agrees with the rule
    finally:
        store.close()
    _compute(qtbot, view)
    qtbot.waitUntil(lambda: "rule: ranking-based" in view.trust_label.text(), timeout=20000)
    [row] = view.trust_rows
    assert (row.compared, row.agreeing, row.share) == (1, 1, 1.0)


def test_the_app_and_the_report_draw_with_one_palette():
    from reviewer import charts, palette
    from ui.views import agreement_view
    from ui.views import charts as ui_charts

    assert ui_charts.STANCE_COLOURS is palette.STANCE_COLOURS
    assert agreement_view.PALETTE is palette.OKABE_ITO is charts.PALETTE
    assert (palette.SUPPORTS, palette.REFUTES) == ("#0072B2", "#D55E00")  # blue and orange, as the evidence view


def test_krippendorff_alpha_across_every_labeller_beside_kappa(qtbot, view, demo_workspace):
    from reviewer import operations
    from reviewer.reliability import DEFAULT_SEED, label_reliability

    _compute(qtbot, view)
    qtbot.waitUntil(lambda: "not defined yet" in view.reliability_label.text(), timeout=20000)
    with Workspace.open(demo_workspace) as ws:
        rows = ws.store.db.execute("SELECT proposal_id, justification_id FROM evidence_current"
                                   " WHERE source_kind = 'rule' ORDER BY justification_id LIMIT 12").fetchall()
        by_proposal = {}
        for pid, jid in rows:
            by_proposal.setdefault(pid, []).append(jid)
        for pid, ids in by_proposal.items():
            operations.set_stances(ws, pid, ids[: len(ids) // 2 + 1], "refutes", actor="Amara Okafor")
            operations.set_stances(ws, pid, ids, "supports", actor="Jonas Lindqvist")
        seed = view.options().seed
        expected = label_reliability(ws.store, resamples=view.options().resamples,
                                     seed=DEFAULT_SEED if seed is None else seed)
    _compute(qtbot, view)
    # A figure read while the labels above were being written may show first: wait for this one.
    qtbot.waitUntil(lambda: view.reliability == expected, timeout=20000)
    assert expected.units == 12 and "α = <b>" in view.reliability_label.text()
    assert f"<b>{expected.alpha:.2f}</b>" in view.reliability_label.text()
    assert "2 people, 1 rule" in view.reliability_label.text()
