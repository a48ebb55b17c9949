"""Test set-up shared by both trees: offscreen Qt and git isolation; data paths live in tests/datapaths.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.datapaths import OFFSCREEN_SCREEN

# Must be set before any QApplication exists (git-cola test/conftest.py does the same). The
# offscreen screen is a 1920×1080 desktop (its default, 800×800, would put the desk in its
# tabbed layout); tests of smaller screens resize the window themselves.
os.environ.setdefault("QT_QPA_PLATFORM", f"offscreen:configfile={OFFSCREEN_SCREEN}")
os.environ.setdefault("GIT_CONFIG_NOSYSTEM", "1")


@pytest.fixture(autouse=True)
def no_endpoint_or_key_from_the_developer(monkeypatch):
    """Tests never see the developer's own model endpoint or API key (a test sets what it needs)."""
    for name in ("SPEC_REVIEW_API_KEY", "OPENAI_API_KEY", "SPEC_REVIEW_BASE_URL", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def no_keyring(monkeypatch):
    """No system keyring and no API key kept for this session (the keyring is put back afterwards)."""
    import keyring
    from keyring.backends import fail

    from reviewer import modelconfig

    monkeypatch.setattr(modelconfig, "_SESSION_KEYS", {})
    before = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(before)


@pytest.fixture
def real_polis_dir() -> Path:
    """The real Pol.is CCAI export (not vendored): skips without the real-data folder, fails if incomplete."""
    from tests.datapaths import real_polis_dir

    return real_polis_dir()


@pytest.fixture(scope="session")
def _demo_template(tmp_path_factory) -> Path:
    """The demo workspace, built once per test session (read only: tests get copies)."""
    from reviewer.workspace import Workspace

    path = tmp_path_factory.mktemp("demo-template") / "ws"
    Workspace.create_demo(path).close()
    return path


@pytest.fixture
def demo_workspace(_demo_template, tmp_path) -> Path:
    """A private copy of the full demo workspace (crowd data, proposals, members, stances)."""
    import shutil

    target = tmp_path / "demo"
    shutil.copytree(_demo_template, target, symlinks=True)
    return target
