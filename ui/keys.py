"""Keys the views' forms share: Ctrl+Enter in a text box submits its form."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QWidget


class CtrlEnter(QObject):
    """Calls ``submit`` on Ctrl+Enter (or Ctrl+Return) in ``editor``, instead of a new line.

    Checked on the editor itself, so it works wherever the focus came from. Lives as long as the editor.
    """

    def __init__(self, editor: QWidget, submit: Callable[[], None]) -> None:
        super().__init__(editor)
        self.submit = submit
        editor.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        """Qt override: submit on Ctrl+Enter."""
        if (
            event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and event.modifiers() & Qt.KeyboardModifier.ControlModifier
        ):
            self.submit()
            return True
        return super().eventFilter(obj, event)
