"""The workspace folder's own file (``workspace.json``): read without opening the database.

Kept free of heavy imports, so that the GUI can check a workspace before anything else loads.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from reviewer.errors import KnownError

WORKSPACE_FILE = "workspace.json"
DB_FILE = "reviewer.db"
FORMAT = "spec-review-workspace"
FORMAT_VERSION = 1
DEFAULT_SPEC_FILE = "model_spec.md"


@dataclass(frozen=True)
class WorkspaceConfig:
    """What ``workspace.json`` holds.

    Attributes:
        id: UUID of the workspace.
        name: a display name.
        spec_repo: the spec repository, relative to the workspace folder when inside it.
        spec_file: the spec's path inside the repository.
        created_at: UTC creation time.
        format: always ``spec-review-workspace``.
        version: the workspace folder format version.
    """

    id: str
    name: str
    spec_repo: str
    spec_file: str
    created_at: str
    format: str = FORMAT
    version: int = FORMAT_VERSION


def read_config(root: Path) -> WorkspaceConfig:
    config_path = root / WORKSPACE_FILE
    if not root.exists():
        raise KnownError(f"The workspace {root} does not exist.", hint="Create one with `spec-review init`.")
    if not config_path.is_file():
        raise KnownError(
            f"{root} is not a Spec Review workspace (it has no {WORKSPACE_FILE}).",
            hint=f"Create one with `spec-review init {root} --demo` or `--spec-repo PATH`.",
        )
    try:
        raw = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise KnownError(f"{config_path} cannot be read as JSON: {exc}.") from exc
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise KnownError(f"{config_path} is not a Spec Review workspace file.")
    if not isinstance(raw.get("version"), int) or raw["version"] > FORMAT_VERSION:
        raise KnownError(
            f"The workspace {root} was made by a newer version of Spec Review (format {raw.get('version')}).",
            hint="Upgrade Spec Review to open it; nothing was changed.",
        )
    try:
        return WorkspaceConfig(**{k: raw[k] for k in WorkspaceConfig.__dataclass_fields__ if k in raw})
    except TypeError as exc:
        raise KnownError(f"{config_path} is missing a field: {exc}.") from exc


def write_config(root: Path, config: WorkspaceConfig) -> None:
    """Replace ``workspace.json`` with ``config`` in one step (a crash leaves the old file or the new, whole).

    Raises:
        KnownError: the file cannot be written.
    """
    target = root / WORKSPACE_FILE
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{WORKSPACE_FILE}.", dir=root)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(json.dumps(asdict(config), indent=2) + "\n")
            if target.exists():
                os.chmod(tmp, target.stat().st_mode & 0o777)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise KnownError(f"Cannot write {target}: {exc.strerror or exc}.",
                         hint="Check that the workspace folder is writable.") from exc
