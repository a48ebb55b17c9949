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
