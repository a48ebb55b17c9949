"""Test set-up shared by both trees: offscreen Qt and git isolation; data paths live in tests/datapaths.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Must be set before any QApplication exists (git-cola test/conftest.py does the same).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("GIT_CONFIG_NOSYSTEM", "1")


@pytest.fixture
def real_polis_dir() -> Path:
    """The real Pol.is CCAI export (not vendored): skips without the real-data folder, fails if incomplete."""
    from tests.datapaths import real_polis_dir

    return real_polis_dir()
