"""Fixtures for the Qt tree: real workspaces over real git repositories, isolated settings."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings

from reviewer.proposals import add_proposal
from reviewer.spec import parse_spec
from reviewer.workspace import Workspace
from tests.datapaths import model_spec
from tests.helpers import spec_repo_with

SECTION = "avoid_targeted_political_manipulation"


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, monkeypatch):
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "qsettings"))
    # ``QSettings(organisation, application)`` uses the native format: on Linux an ini file too, but
    # found through the native format's own path (without this, ~/.config/spec-review).
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path / "qsettings"))
    from ui.dialogs import Dialogs

    monkeypatch.setattr(Dialogs, "shown", [])
    yield


@pytest.fixture
def real_workspace(tmp_path):
    """A workspace on the real 2025-04-11 spec with one proposal: the 2025-09-12 wording of a section."""
    old = model_spec("2025-04-11").read_text(encoding="utf-8")
    new = model_spec("2025-09-12").read_text(encoding="utf-8")
    repo = spec_repo_with(tmp_path / "spec", old)
    with Workspace.create(tmp_path / "ws", spec_repo=repo) as ws:
        proposal = add_proposal(
            ws, changes=[(SECTION, parse_spec(new).section(SECTION).text)],
            title="Targeted political manipulation, as clarified in 2025-09",
            intent="Say plainly which persuasion is targeted manipulation.", kind="clarification",
            created_by="Ana",
        )
    return tmp_path / "ws", proposal.id


def first_justification(workspace):
    """Return (justification id, conversation id, participant id) of a workspace's first justification."""
    from reviewer.store import Store
    from reviewer.workspace import DB_FILE

    store = Store.open(workspace / DB_FILE)
    try:
        return store.db.execute(
            "SELECT j.id, a.conversation_id, a.participant_id FROM justifications j"
            " JOIN assessments a ON a.id = j.assessment_id ORDER BY j.id LIMIT 1").fetchone()
    finally:
        store.close()


@pytest.fixture
def open_conversation(qtbot):
    """Open a conversation in a real ``ConversationView`` on the workspace's lane; returns the view once shown."""
    from ui.views.conversation_view import ConversationView
    from ui.workers import WorkspaceLane

    lanes = []

    def open_(workspace, conversation_id, justification_id=None):
        lanes.append(WorkspaceLane(workspace))
        view = ConversationView(lanes[-1])
        qtbot.addWidget(view)
        with qtbot.waitSignal(view.loaded, timeout=20000):
            view.show_conversation(conversation_id, justification_id)
        return view

    yield open_
    for lane in lanes:
        lane.shutdown()


@pytest.fixture
def open_desk(qtbot):
    """Open the main window on a workspace, loaded with its first proposal shown, acting as ``reviewer``."""
    from ui.main_window import MainWindow
    from ui.workers import WorkspaceLane

    windows = []

    def open_(workspace, reviewer):
        win = MainWindow(WorkspaceLane(workspace), remember_layout=False)
        qtbot.addWidget(win)
        with qtbot.waitSignal(win.detail_shown, timeout=20000):
            win.show()
            win.reload()
        win.set_reviewer(reviewer)
        windows.append(win)
        return win

    yield open_
    for win in windows:
        win.close()
