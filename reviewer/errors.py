"""Error kinds: environment failures (KnownError) versus defects in our code (BugError)."""

from __future__ import annotations


class ReviewerError(Exception):
    """Base class of every error Spec Review raises on purpose."""


class KnownError(ReviewerError):
    """The environment or the input failed: shown to the user as plain text.

    The message says what is wrong and, where there is one, what to do about it.
    Examples: a locked database, a missing repository, a malformed spec file.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} {self.hint}"
        return self.message


class BugError(ReviewerError):
    """Our own code is wrong: shown with debug information to copy into a report."""
