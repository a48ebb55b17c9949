"""Globally unique ids and UTC timestamps for every stored object."""

from __future__ import annotations

import datetime as _dt
import uuid


def new_id() -> str:
    """Return a new random UUID (version 4) as a string.

    Ids are never auto-increment numbers, so workspaces kept on several machines can be merged
    and ids quoted in commits and reports never collide.
    """
    return str(uuid.uuid4())


# Fixed namespace for ids derived from imported data: the same input gives the same id on every
# machine, so re-imports add nothing and workspaces built from the same files agree.
IMPORT_NAMESPACE = uuid.UUID("6f1c2a7e-3d4b-5e8f-9a0b-1c2d3e4f5a6b")


def stable_id(*parts: str) -> str:
    """Return a UUID (version 5) derived from ``parts``, e.g. ``stable_id("ca1", "conversation", prompt_id)``."""
    return str(uuid.uuid5(IMPORT_NAMESPACE, "\x1f".join(parts)))


def utc_now() -> str:
    """Return the current time as an ISO-8601 UTC string with microseconds, e.g. ``2026-11-22T08:00:00.000000Z``."""
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def is_uuid(value: str) -> bool:
    """Return whether ``value`` is a well-formed UUID string."""
    try:
        uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return False
    return True
