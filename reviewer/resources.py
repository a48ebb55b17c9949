"""Locates the bundled files (``resources/``, ``spec_repo/``) as package data, through importlib.resources.

In the source tree the two folders sit at the project root; ``pyproject.toml`` maps them to the
packages ``spec_review_resources`` and ``spec_review_spec_repo``, so a wheel, an editable install and
the frozen build (which collects them under the same package names) all find them the same way.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from reviewer.errors import KnownError

# Folder name in the source tree -> the package that carries it once installed.
PACKAGES = {"resources": "spec_review_resources", "spec_repo": "spec_review_spec_repo"}


def resource_path(folder: str, *parts: str) -> Path:
    """Return the path of a bundled file or folder, e.g. ``resource_path("resources", "demo")``.

    Args:
        folder: ``"resources"`` or ``"spec_repo"``.
        parts: path components below that folder.

    Returns:
        The file or folder as a real path (package data is installed as files, never zipped).

    Raises:
        KnownError: when it is missing (a broken install), naming the file.
    """
    package = PACKAGES[folder]
    name = "/".join((folder, *parts))
    try:
        root = importlib.resources.files(package)
    except ModuleNotFoundError as exc:
        raise KnownError(
            f"Bundled data missing: the package {package} ({folder}/) is not installed.",
            hint="Reinstall Spec Review (`pip install --force-reinstall spec-review`).",
        ) from exc
    target = root.joinpath(*parts)
    if not (target.is_file() or target.is_dir()):
        raise KnownError(f"Bundled file missing: {name}.", hint="Reinstall Spec Review; the install is incomplete.")
    return Path(str(target))
