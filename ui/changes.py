"""Views follow the record: each refreshes itself from the ``Changes`` that operations broadcast."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QWidget

if TYPE_CHECKING:
    from reviewer.ops import Changes


class Follower(QObject):
    """Refreshes a view when an operation changed what it shows.

    At once when the view is on screen, otherwise the next time it is shown (a tab page that is
    not current reads nothing meanwhile).

    Connect the workspace lane's ``changed`` signal to ``on_changes``.

    Attributes:
        stale: whether the view must read again when next shown (True at first: a view reads its
            state the first time it is shown, not before).
    """

    def __init__(self, view: QWidget, refresh: Callable[[], None], wants: Callable[[Changes], bool],
                 *, stale: bool = True) -> None:
        super().__init__(view)
        self.view = view
        self.refresh = refresh
        self.wants = wants
        self.stale = stale
        view.installEventFilter(self)

    def on_changes(self, changes: Changes) -> None:
        """Refresh now (view shown) or mark the view stale (hidden), when ``changes`` concern it."""
        if not self.wants(changes):
            return
        if self.view.isVisible():
            self.stale = False
            self.refresh()
        else:
            self.stale = True

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        """Read again when a stale view is shown."""
        if watched is self.view and event.type() == QEvent.Type.Show and self.stale:
            self.stale = False
            self.refresh()
        return False
