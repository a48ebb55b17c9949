"""Locates bundled files (resources/, spec_repo/) in a checkout, an install and a frozen build."""

from __future__ import annotations

import sys
from pathlib import Path


def _roots() -> list[Path]:
    roots = []
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        roots.append(Path(frozen))
    roots.append(Path(__file__).resolve().parent.parent)
    roots.append(Path(sys.prefix) / "share" / "spec-review")
    return roots


def resource_path(*parts: str) -> Path:
    """Return the path of a bundled file or folder, e.g. ``resource_path("resources", "demo")``.

    Args:
        parts: path components below the project root.

    Returns:
        The first existing match among the frozen bundle, the checkout and the install prefix.

    Raises:
        FileNotFoundError: when no root holds it (a broken install).
    """
    for root in _roots():
        candidate = root.joinpath(*parts)
        if candidate.exists():
            return candidate
    raise FileNotFoundError("bundled file missing: " + "/".join(parts))
