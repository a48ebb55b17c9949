"""A join that goes on without a crowd file too large for the board's log: the part of the log that waits.

The log carries the crowd files its imports read when they are up to 50 MB; a larger file is named
by hash and size only. Joining does not stop at it: the log is received up to the import that
read it, and that import and everything after it wait (``HeldLog``, stored in ``workspace_info``)
until the same file is imported here, matched by content (``reviewer.sync``). Meanwhile the
workspace can be read but not changed: its record would fork from the board's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewer.errors import KnownError

if TYPE_CHECKING:
    from reviewer.store import Store

HELD_KEY = "held_log"
"""``workspace_info`` key of a join that goes on without a crowd file (``HeldLog``), absent otherwise."""


@dataclass(frozen=True)
class HeldLog:
    """The board's log received up to an import whose crowd file it does not carry (over 50 MB).

    Joining goes ahead without the file: every event before that import is applied, and the
    import and every event after it wait. The workspace can be read meanwhile but not changed
    (its record would fork from the board's); importing the same file (``import ca1`` or
    ``import polis``, matched by content) or syncing with ``--crowd-file`` fills it in.

    Attributes:
        remote: the remote the log came from.
        tip: the log commit received (its events from ``first`` on wait).
        first: the id of the first event that waits: the import that needs the file.
        held: how many events wait.
        files: the files it waits for (``name``, ``sha256``, ``bytes``).
    """

    remote: str
    tip: str
    first: str
    held: int
    files: tuple[dict[str, Any], ...]

    def file_words(self) -> str:
        """The files, named by name, size and hash."""
        return ", ".join(file_words(f) for f in self.files)

    def describe(self) -> str:
        """What waits, and what to do."""
        return (f"{self.held:,} event{'' if self.held == 1 else 's'} of the board's log wait for the crowd file "
                f"{self.file_words()}, which the log does not carry (over 50 MB). Import that file to finish "
                "joining: `spec-review import ca1 WORKSPACE FILE` (or `import polis`), or sync with --crowd-file.")

    def to_json(self) -> str:
        """The stored form."""
        return json.dumps({"remote": self.remote, "tip": self.tip, "first": self.first, "held": self.held,
                           "files": list(self.files)}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> HeldLog:
        """Read the stored form back."""
        data = json.loads(text)
        return cls(str(data["remote"]), str(data["tip"]), str(data["first"]), int(data["held"]),
                   tuple(dict(f) for f in data["files"]))


def held_log(store: Store) -> HeldLog | None:
    """The part of the board's log this workspace still waits to receive, or None (a named query)."""
    text = store.get_info(HELD_KEY)
    if text is None:
        return None
    try:
        return HeldLog.from_json(text)
    except (ValueError, KeyError, TypeError) as exc:
        raise KnownError(f"The record of the log this workspace waits for cannot be read: {exc}.",
                         hint="Join the board again into a new folder.") from exc


def refuse_while_held(store: Store) -> None:
    """Refuse to change a workspace that waits for part of the board's log.

    Raises:
        KnownError: it waits (its record would fork from the board's).
    """
    held = held_log(store)
    if held is not None:
        raise KnownError(f"This workspace is still joining its board, so nothing was changed: {held.describe()}",
                         hint="Once the file is imported, the workspace can be changed.")


def file_words(file: dict[str, Any]) -> str:
    """A crowd file named by name, size and hash: ``comparisons.jsonl (61,203,337 bytes, sha256 3f2a…)``."""
    name = Path(str(file.get("path") or file.get("name") or "file")).name or "file"
    size = file.get("bytes")
    return (f"{name} ({size:,} bytes, sha256 {str(file.get('sha256'))[:12]}…)" if isinstance(size, int)
            else f"{name} (sha256 {str(file.get('sha256'))[:12]}…)")


__all__ = ["HELD_KEY", "HeldLog", "file_words", "held_log", "refuse_while_held"]
