"""Progress reporting protocol for long operations, with a no-op implementation."""

from __future__ import annotations

from typing import Protocol


class Cancelled(Exception):
    """Raised inside an operation when its progress object reports a cancel request."""


class Progress(Protocol):
    """Receives progress from a long operation; injected, never looked up globally."""

    def start(self, total: int | None, label: str = "") -> None:
        """Begin a phase of ``total`` steps (None when unknown)."""

    def tick(self, amount: int = 1) -> None:
        """Advance by ``amount`` steps; raises ``Cancelled`` when the user asked to stop."""

    def finish(self) -> None:
        """End the phase."""


class NoProgress:
    """A progress object that reports nothing and never cancels."""

    def start(self, total: int | None, label: str = "") -> None:
        """Ignore the start of a phase."""

    def tick(self, amount: int = 1) -> None:
        """Ignore a step."""

    def finish(self) -> None:
        """Ignore the end of a phase."""
