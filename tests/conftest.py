"""Test set-up shared by both trees: offscreen Qt, real data paths, temporary git repositories."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Must be set before any QApplication exists (git-cola test/conftest.py does the same).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("GIT_CONFIG_NOSYSTEM", "1")

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
MODEL_SPEC_DIR = SHARED / "data" / "model_spec"
MODEL_SPEC_RELEASES = [
    "model_spec-2025-02-12.md",
    "model_spec-2025-04-11.md",
    "model_spec-2025-09-12.md",
    "model_spec-2025-10-27.md",
    "model_spec.md",
]


@pytest.fixture
def model_spec_dir() -> Path:
    """The folder with the five real Model Spec releases (read-only)."""
    if not MODEL_SPEC_DIR.is_dir():
        pytest.fail(f"shared data missing: {MODEL_SPEC_DIR} (CI keeps shared/ beside the checkout)")
    return MODEL_SPEC_DIR
