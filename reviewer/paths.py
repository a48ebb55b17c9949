"""Data, config and cache folders, resolved in one place, with a base-folder override for tests."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "spec-review"
_ENV_BASE = "SPEC_REVIEW_HOME"

_base_override: Path | None = None


def set_base(path: str | os.PathLike[str] | None) -> None:
    """Put every folder under ``path`` (tests, portable installs); None restores the defaults."""
    global _base_override
    _base_override = Path(path) if path is not None else None


def _base() -> Path | None:
    if _base_override is not None:
        return _base_override
    env = os.environ.get(_ENV_BASE)
    return Path(env) if env else None


def data_dir() -> Path:
    """Return the folder for user data (the demo workspace lives here)."""
    base = _base()
    return base / "data" if base else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def config_dir() -> Path:
    """Return the folder for configuration files."""
    base = _base()
    return base / "config" if base else Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def cache_dir() -> Path:
    """Return the folder for caches and crash logs."""
    base = _base()
    return base / "cache" if base else Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def demo_workspace_dir() -> Path:
    """Return where the demo workspace is created on first run."""
    return data_dir() / "demo-workspace"
