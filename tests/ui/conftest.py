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
