"""Join a board: clone the spec repository and rebuild the whole workspace from its log ref.

``spec-review init WORKSPACE --join URL_OR_PATH`` is how a new member's machine gets the board's
record: the spec repository is cloned into the workspace folder (``spec/``), the workspace's log
ref is found on it (``refs/spec-review/<id>/log``), and a workspace with no events of its own
receives every event of that log as a sync does (``reviewer.sync``): in the log's one order, crowd
imports run again from the files their commits carry, decisions with the evidence they were made
on, and the record checked against the log before anything is kept. A crowd file too large for
the log (over 50 MB) that is not given with ``crowd_files`` does not stop the join: the log is
received up to the import that read it, and the rest waits until the same file is imported
(``reviewer.sync.HeldLog``). The workspace is built in a
temporary folder and moved into place at the end: a join that fails leaves nothing behind.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from reviewer import gitops
from reviewer.errors import KnownError
from reviewer.ids import is_uuid
from reviewer.logref import EVENTS_FILE, log_ref
from reviewer.store import Store
from reviewer.sync import SyncReport, sync, tracking_ref
from reviewer.workspace import Workspace, build_atomically
from reviewer.workspace_file import DB_FILE, WORKSPACE_FILE, WorkspaceConfig

REMOTE = "origin"
SPEC_FOLDER = "spec"


def board_logs(folder: Path) -> dict[str, str]:
    """``{workspace id: tip}`` of the logs on the remote the clone in ``folder`` was made from."""
    found: dict[str, str] = {}
    for ref, sha in gitops.remote_refs(folder, REMOTE, "refs/spec-review/*/log").items():
        parts = ref.split("/")
        if len(parts) == 4 and is_uuid(parts[2]):
            found[parts[2]] = sha
    return found


def join(path: str | os.PathLike[str], url: str, *, workspace_id: str | None = None, actor: str,
         crowd_files: Sequence[str | os.PathLike[str]] = ()) -> tuple[Workspace, SyncReport]:
    """Make a workspace at ``path`` from the board whose spec repository is at ``url``.

    Args:
        path: a new or empty folder.
        url: the spec repository (a URL git can clone, or a path).
        workspace_id: which board's log, when the repository holds several.
        actor: who joins (named on the workspace lock while it runs).
        crowd_files: crowd files an import needs whose log commit does not carry them (over 50 MB).

    Returns:
        The open workspace and what the sync received (``held``: what waits for a crowd file).

    Raises:
        KnownError: the folder is not empty, the repository cannot be cloned, holds no board's log
            (or several, none chosen), or the log cannot be rebuilt here; nothing is left behind.
    """
    root = Path(path).expanduser().absolute()
    received: list[SyncReport] = []

    def fill(tmp: Path) -> None:
        spec = tmp / SPEC_FOLDER
        gitops.clone(url, spec)
        chosen = _choose(board_logs(spec), workspace_id, url)
        tip = gitops.fetch_ref(spec, REMOTE, log_ref(chosen), tracking_ref(chosen, REMOTE))
        assert tip is not None
        # The workspace's creation is the first event of the log's first commit (the sync reads the rest).
        root_commit = gitops.rev_list(spec, tip)[-1]
        (blob,) = gitops.read_blobs(spec, [f"{root_commit}:{EVENTS_FILE}"])
        try:
            first = json.loads(blob or b"[]")[:1]
        except ValueError:
            first = []
        if (not first or not isinstance(first[0], dict) or first[0].get("action") != "workspace.create"
                or first[0].get("object_id") != chosen):
            raise KnownError(f"The log of workspace {chosen} on {url} does not begin with the workspace's creation.",
                             hint="Ask the board which log is theirs, and run `spec-review audit verify --repo URL`.")
        created = first[0].get("payload") or {}
        config = WorkspaceConfig(
            id=chosen, name=str(created.get("name") or root.name), spec_repo=SPEC_FOLDER,
            spec_file=str(created["spec_file"]), created_at=str(created.get("created_at") or first[0]["at"]),
        )
        (tmp / WORKSPACE_FILE).write_text(json.dumps(asdict(config), indent=2) + "\n", encoding="utf-8")
        Store.open(tmp / DB_FILE, create=True).close()
        with Workspace.open(tmp) as workspace:
            received.append(sync(workspace, REMOTE, actor=actor, crowd_files=crowd_files, hold_missing=True))
            workspace.store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    build_atomically(root, fill)
    workspace = Workspace.open(root)
    return workspace, received[0]


def _choose(logs: dict[str, str], workspace_id: str | None, url: str) -> str:
    if workspace_id is not None:
        if workspace_id not in logs:
            raise KnownError(f"{url} holds no log of workspace {workspace_id}"
                             + (f" (it has: {', '.join(sorted(logs))})." if logs else "."))
        return workspace_id
    if not logs:
        raise KnownError(
            f"{url} holds no Spec Review log (no refs/spec-review/<id>/log).",
            hint="A board's log is pushed by `spec-review sync` or `publish`; ask a member to run it, then join again.",
        )
    if len(logs) > 1:
        raise KnownError(f"{url} holds the logs of {len(logs)} workspaces: {', '.join(sorted(logs))}.",
                         hint="Choose one with --workspace-id ID.")
    return next(iter(logs))


__all__ = ["board_logs", "join"]
