"""A joined workspace that waits for a crowd file too large for the log: the window says so, and importing it finishes."""

import pytest

from reviewer.join import join
from tests.reviewer.test_join import large_file_board  # noqa: F401  (the fixture)
from ui.main_window import MainWindow
from ui.views.import_dialog import ImportDialog
from ui.workers import WorkspaceLane

pytestmark = pytest.mark.gui


def test_the_window_says_what_a_joining_workspace_waits_for_and_the_import_dialog_finishes_it(
        qtbot, tmp_path, large_file_board):  # noqa: F811
    _a_root, remote, proposal_id, _import_id, kept = large_file_board
    joined, report = join(tmp_path / "ws-b", str(remote), actor="Ada Byron")
    joined.close()
    assert report.held is not None
    win = MainWindow(WorkspaceLane(tmp_path / "ws-b"), remember_layout=False)
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.loaded, timeout=30000):
        win.show()
        win.reload()
    qtbot.waitUntil(lambda: "joining" in win.sync_label.text(), timeout=10000)
    assert "comparisons.jsonl (" in win.sync_label.text() and "import that file" in win.sync_label.text()
    assert win.waiting_banner.isVisible() and "File ▸ Import crowd data…" in win.waiting_banner.text()
    assert win.queue.model.row_of(proposal_id) < 0  # the proposal is among what waits
    dialog = ImportDialog(win.lane, win, actor="Ada Byron")
    qtbot.addWidget(dialog)
    dialog.add_files([str(kept)])
    with qtbot.waitSignal(dialog.imported, timeout=30000):
        dialog.import_button.click()
    qtbot.waitUntil(lambda: "joining" not in win.sync_label.text(), timeout=10000)
    assert not win.waiting_banner.isVisible()
    qtbot.waitUntil(lambda: win.queue.model.row_of(proposal_id) >= 0, timeout=10000)
