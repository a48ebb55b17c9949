"""The Groups tab and the desk's split by opinion group, on the demo workspace (real widgets, offscreen)."""

import pytest

from reviewer import operations
from reviewer.workspace import Workspace
from tests.datapaths import SPLIT_BY_COUNTRY

pytestmark = pytest.mark.gui


@pytest.fixture
def view(qtbot, demo_workspace):
    from ui.views.groups_view import OpinionGroupsView
    from ui.workers import WorkspaceLane

    lane = WorkspaceLane(demo_workspace)
    widget = OpinionGroupsView(lane)
    qtbot.addWidget(widget)
    widget.resize(1200, 700)
    widget.show()
    yield widget
    lane.shutdown()


def test_groups_are_computed_off_the_gui_thread_and_shown_with_what_sets_each_apart(qtbot, view, demo_workspace):
    qtbot.waitUntil(lambda: "No opinion groups computed" in view.summary.text(), timeout=20000)
    assert view.model.rowCount() == 0
    view.set_actor("Amara Okafor")
    with qtbot.waitSignal(view.lane.changed, timeout=60000) as changed:
        view.compute_button.click()
        assert not view.compute_button.isEnabled()  # busy, with Cancel in the progress panel
    assert "groups" in changed.args[0].areas
    qtbot.waitUntil(lambda: view.model.rowCount() >= 2, timeout=20000)
    assert view.compute_button.isEnabled()
    assert "opinion groups</b> in the CA-1 rankings: 175 participants grouped" in view.summary.text()
    assert "by Amara Okafor" in view.summary.text()
    html = view.detail.toHtml()
    assert "Group A" in html and "set it apart" in html and "country of residence" in html
    assert len(view.map.points) == 175 and len(view.map.labels) == view.model.rowCount()
    view.table.selectRow(1)
    assert "Group B" in view.detail.toHtml()
    with Workspace.open(demo_workspace) as ws:
        assert ws.store.db.execute("SELECT count(*) FROM group_members").fetchone()[0] == 175


def test_a_cancelled_computation_writes_nothing(qtbot, view, demo_workspace):
    qtbot.waitUntil(lambda: "No opinion groups computed" in view.summary.text(), timeout=20000)
    view.compute_button.click()
    view.progress.cancel()
    qtbot.waitUntil(lambda: view.compute_button.isEnabled(), timeout=60000)
    assert "Cancelled" in view.summary.text()
    with Workspace.open(demo_workspace) as ws:
        assert ws.store.db.execute("SELECT count(*) FROM group_runs").fetchone()[0] == 0


def test_the_table_model_passes_the_qt_model_tester(qtbot, qtmodeltester, view):
    with qtbot.waitSignal(view.lane.changed, timeout=60000):
        view.compute(force=False)
    qtbot.waitUntil(lambda: view.model.rowCount() >= 2, timeout=20000)
    qtmodeltester.check(view.model)


def test_the_desk_shows_support_per_opinion_group_and_the_queue_filters_the_divisive(qtbot, open_desk, demo_workspace):
    with Workspace.open(demo_workspace) as ws:
        operations.compute_groups(ws, "ca1", actor="Amara Okafor")
    win = open_desk(demo_workspace, "Amara Okafor")
    assert win.queue.select(SPLIT_BY_COUNTRY)
    panel = win.group_split
    qtbot.waitUntil(lambda: panel.groups is not None and panel.groups.proposal_id == SPLIT_BY_COUNTRY, timeout=20000)
    assert "consensus" in panel.figures.text() and "divisive" in panel.figures.text()
    assert len(panel.chart.groups) == panel.groups.run.k
    assert all(g.group.startswith("Group ") for g in panel.chart.groups)
    combo = win.queue.evidence_filter
    combo.setCurrentIndex(combo.findData("divisive"))
    assert win.queue.proxy.rowCount() >= 1
    first = win.queue.model.ids[win.queue.proxy.mapToSource(win.queue.proxy.index(0, 0)).row()]
    assert first == SPLIT_BY_COUNTRY  # sorted by how far apart the groups are, most first
    combo.setCurrentIndex(combo.findData("bridging"))
    for r in range(win.queue.proxy.rowCount()):
        row = win.queue.model.queue_row(win.queue.proxy.mapToSource(win.queue.proxy.index(r, 0)).row())
        assert row.groups is not None and row.groups.bridges


def test_new_groups_reach_the_desk_through_the_lane(qtbot, open_desk, demo_workspace):
    win = open_desk(demo_workspace, "Amara Okafor")
    panel = win.group_split
    qtbot.waitUntil(lambda: panel.groups is not None, timeout=20000)
    assert "none computed yet" in panel.figures.text()

    with qtbot.waitSignal(win.lane.changed, timeout=60000):
        win.lane.perform(lambda ws: operations.compute_groups(ws, "ca1", actor="Amara Okafor"))
    qtbot.waitUntil(lambda: "consensus" in panel.figures.text(), timeout=20000)
    qtbot.waitUntil(lambda: all(win.queue.model.queue_row(r).groups is not None
                                for r in range(win.queue.model.rowCount())), timeout=20000)
