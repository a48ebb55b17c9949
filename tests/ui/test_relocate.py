"""A moved spec repository: the window offers "Choose the moved folder…", refuses a wrong one, and reads the right one."""

import json
import os

import pytest

from reviewer.errors import KnownError
from reviewer.workspace import WORKSPACE_FILE, SpecRepoMissing
from ui.dialogs import Dialogs
from ui.main_window import MainWindow
from ui.relocate import CHOOSE
from ui.workers import WorkspaceLane

pytestmark = pytest.mark.gui


def test_a_moved_repository_is_found_again_through_choose_the_moved_folder(qtbot, tmp_path, real_workspace,
                                                                           monkeypatch):
    path, proposal_id = real_workspace
    moved = tmp_path / "moved" / "spec"
    moved.parent.mkdir()
    os.rename(tmp_path / "spec", moved)
    wrong = tmp_path / "moved"  # the folder above the repository: not it
    offers, folders = [], [str(wrong), str(moved)]

    def ask_action(cls, parent, text, actions):
        offers.append((text, actions))
        return 0

    monkeypatch.setattr(Dialogs, "ask_action", classmethod(ask_action))
    monkeypatch.setattr(Dialogs, "ask_folder", classmethod(lambda cls, parent, caption, start="": folders.pop(0)))
    win = MainWindow(WorkspaceLane(path), remember_layout=False)
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.load_failed, timeout=20000) as failed:
        with qtbot.waitSignal(win.detail_shown, timeout=30000):  # found, read, the first proposal shown
            win.show()
            win.reload()
    assert isinstance(failed.args[0], SpecRepoMissing)
    # Offered twice: first for the missing repository, again after the wrong folder was refused.
    assert [actions for _text, actions in offers] == [[CHOOSE], [CHOOSE]]
    assert str(tmp_path / "spec") in offers[0][0] and "does not exist" in offers[0][0]
    assert "git init" not in offers[0][0]
    refused = [e for e in Dialogs.shown if isinstance(e, KnownError)]
    assert len(refused) == 1 and "is not the top of a git repository" in str(refused[0])
    assert not any(isinstance(e, SpecRepoMissing) for e in Dialogs.shown)  # shown with the offer, not as well
    config = json.loads((path / WORKSPACE_FILE).read_text(encoding="utf-8"))
    assert config["spec_repo"] == str(moved)
    assert win.overview is not None and win.overview.spec_repo == moved
    assert str(moved) in win.header.text() and win.current_proposal == proposal_id
    win.close()


def test_closing_the_offer_changes_nothing(qtbot, tmp_path, real_workspace):
    path, _ = real_workspace
    os.rename(tmp_path / "spec", tmp_path / "gone")
    before = (path / WORKSPACE_FILE).read_bytes()
    win = MainWindow(WorkspaceLane(path), remember_layout=False)  # the default seam: the offer is closed
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.load_failed, timeout=20000):
        win.reload()
    assert "Cannot open the workspace" in win.header.text() and "repo relocate" in win.header.text()
    assert (path / WORKSPACE_FILE).read_bytes() == before
    win.close()
