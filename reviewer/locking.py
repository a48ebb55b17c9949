"""One lock per workspace, across processes, for work that must not run twice at once (a commit run).

The lock is an OS file lock (``filelock``: ``flock`` on POSIX, ``LockFileEx`` on Windows) on
``WORKSPACE/.spec-review.lock``, so a process that dies, even by ``kill -9``, releases it. Beside
it, ``.spec-review.lock.json`` says who holds it (what, who, process, host, since when), so a
second run that waits too long can say who it waited for.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from reviewer.errors import KnownError
from reviewer.ids import utc_now

LOCK_FILE = ".spec-review.lock"
HOLDER_FILE = ".spec-review.lock.json"
WAIT_S = 10.0  # a second commit run waits this long for the first before it says who holds the lock


def holder(root: Path) -> dict[str, object] | None:
    """Return who holds (or last held) the workspace lock, as they wrote it, or None."""
    try:
        data = json.loads((root / HOLDER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def describe_holder(data: dict[str, object] | None) -> str:
    """Return "a commit run by Ana (process 123 on host, since 2026-…)" or a plain phrase when unknown."""
    if not data:
        return "another Spec Review process"
    return (f"a {data.get('what', 'run')} by {data.get('actor', 'someone')} (process {data.get('pid', '?')} on "
            f"{data.get('host', '?')}, since {str(data.get('since', '?'))[:19]})")


@contextlib.contextmanager
def workspace_lock(root: Path, what: str, actor: str, *, wait: float | None = None) -> Iterator[None]:
    """Hold the workspace's lock for ``what`` (e.g. "commit run") done by ``actor``.

    Waits up to ``wait`` seconds (``WAIT_S`` by default) for another holder to finish.

    Raises:
        KnownError: another process still holds the lock after ``wait`` (naming it), or the lock
            file cannot be created (a read-only workspace).
    """
    lock = FileLock(str(root / LOCK_FILE), is_singleton=False, thread_local=False)
    try:
        lock.acquire(timeout=WAIT_S if wait is None else wait)
    except Timeout as exc:
        raise KnownError(
            f"The workspace is busy: {describe_holder(holder(root))} holds it.",
            hint="Wait for it to finish, then run the command again; nothing was changed.",
        ) from exc
    except OSError as exc:
        raise KnownError(
            f"Cannot lock the workspace {root} for a {what}: {exc.strerror or exc}.",
            hint="The workspace folder must be writable to commit; nothing was changed.",
        ) from exc
    try:
        info = {"what": what, "actor": actor, "pid": os.getpid(), "host": socket.gethostname(), "since": utc_now()}
        with contextlib.suppress(OSError):
            (root / HOLDER_FILE).write_text(json.dumps(info), encoding="utf-8")
        yield
    finally:
        with contextlib.suppress(OSError):
            (root / HOLDER_FILE).unlink()
        lock.release()
