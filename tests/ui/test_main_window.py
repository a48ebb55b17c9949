import subprocess
import sys

import pytest
from PySide6.QtCore import QUrl

from tests.datapaths import ROOT
from tests.ui.conftest import SECTION
from ui.dialogs import Dialogs
from ui.main_window import MainWindow
from ui.models.sections import SectionTreeModel
from ui.workers import WorkspaceLane

pytestmark = pytest.mark.gui


@pytest.fixture
def window(qtbot, real_workspace):
    path, _ = real_workspace
    win = MainWindow(WorkspaceLane(path), remember_layout=False)
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.detail_shown, timeout=20000):  # the first proposal is selected on load
        win.show()
        win.reload()
    yield win
    win.close()


def test_window_lists_sections_and_proposals(window, real_workspace):
    _, proposal_id = real_workspace
    model = window.section_model
    assert sum(1 for s in model.sections if s.id) == 71
    top = [model.index(r, 0).data() for r in range(model.rowCount())]
    assert top[0] == "Overview" and "Stay in bounds" in top
    assert window.queue.model.ids == [proposal_id]
    message = window.statusBar().currentMessage()
    assert "71 sections" in message and "1 proposals" in message


def test_models_pass_qt_model_tester(qtmodeltester, window):
    qtmodeltester.check(window.section_model)
    qtmodeltester.check(window.queue.model)
    qtmodeltester.check(window.queue.proxy)


def test_first_proposal_shows_its_word_level_diff(window, real_workspace):
    _, proposal_id = real_workspace
    assert window.current_proposal == proposal_id
    html = window.diff_view.browser.toHtml().lower()
    assert "Targeted political manipulation, as clarified in 2025-09" in window.proposal_header.text()
    assert "#f5b5b5" in html and "#a8dab5" in html  # deleted and inserted words
    text = window.diff_view.browser.toPlainText()
    assert SECTION in text and "Current text" in text and "Proposed text" in text
    window.diff_view.set_mode("inline")
    assert "Current text" not in window.diff_view.browser.toPlainText()
    window.diff_view.set_mode("preview")
    preview = window.diff_view.browser.toPlainText()
    assert "{#" not in preview and "targeted" in preview.lower()


def test_choosing_a_section_renders_it(qtbot, window):
    index = window.section_model.index_of(SECTION)
    with qtbot.waitSignal(window.detail_shown) as blocker:
        window.section_tree.setCurrentIndex(index)
    assert blocker.args == [SECTION]
    text = window.detail.toPlainText()
    assert "targeted manipulation" in text and "Platform" in text
    assert "{#" not in text


def test_cross_reference_link_moves_to_the_section(window):
    window.on_link(QUrl("#chain_of_command"))
    assert window.tabs.currentWidget() is window.spec_splitter
    section = window.section_model.section_at(window.section_tree.currentIndex())
    assert section is not None and section.id == "chain_of_command"
    window.on_link(QUrl("#no_such_section"))
    assert "no_such_section" in str(Dialogs.shown[-1])


def test_unreadable_workspace_reports_failure(qtbot, tmp_path):
    (tmp_path / "plain").mkdir()
    win = MainWindow(WorkspaceLane(tmp_path / "plain"), remember_layout=False)
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.load_failed, timeout=20000) as blocker:
        win.reload()
    assert "not a Spec Review workspace" in str(blocker.args[0])
    assert "Cannot open the workspace" in win.header.text()
    win.close()


def test_empty_models_pass_model_tester(qtmodeltester):
    qtmodeltester.check(SectionTreeModel())


def test_gui_screenshot_command_writes_png(tmp_path, real_workspace):
    path, _ = real_workspace
    png = tmp_path / "shot.png"
    result = subprocess.run(
        [sys.executable, "-m", "cli", "gui", str(path), "--screenshot", str(png)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20000


def test_a_filter_typed_just_before_the_window_closes_reads_nothing_after(qtbot, open_desk, demo_workspace):
    """The audit filter waits a moment after typing before it reads; closing the window meanwhile stops it."""
    desk = open_desk(demo_workspace, "Amara Okafor")
    qtbot.waitUntil(lambda: desk.auditor_view is not None, timeout=20000)
    desk.auditor_view.object_filter.setText("proposal")
    assert desk.auditor_view._filter_timer.isActive()
    desk.close()
    qtbot.wait(400)  # past the pause: an error raised now (a closed reader used) fails the test
    assert not desk.auditor_view._filter_timer.isActive()
