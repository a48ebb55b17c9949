"""Keys the views share: Ctrl+Enter submits a form, and the focused widget's own keys win over shortcuts."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QRadioButton,
    QTextEdit,
    QWidget,
)


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


# Keys an item view (table, list, tree) acts on itself: moving, extending and selecting.
_NAVIGATION = {
    Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Home, Qt.Key.Key_End,
    Qt.Key.Key_PageUp, Qt.Key.Key_PageDown,
}
_ACTIVATE = {Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Select}
# The standard editing keys of a text field, as the platform spells them (Ctrl+A, Ctrl+Z, Ctrl+K...).
_TEXT_KEYS = (
    QKeySequence.StandardKey.SelectAll, QKeySequence.StandardKey.Undo, QKeySequence.StandardKey.Redo,
    QKeySequence.StandardKey.Copy, QKeySequence.StandardKey.Cut, QKeySequence.StandardKey.Paste,
    QKeySequence.StandardKey.DeleteEndOfLine, QKeySequence.StandardKey.DeleteStartOfWord,
    QKeySequence.StandardKey.DeleteEndOfWord, QKeySequence.StandardKey.DeleteCompleteLine,
    QKeySequence.StandardKey.MoveToStartOfLine, QKeySequence.StandardKey.MoveToEndOfLine,
    QKeySequence.StandardKey.MoveToStartOfBlock, QKeySequence.StandardKey.MoveToEndOfBlock,
    QKeySequence.StandardKey.MoveToStartOfDocument, QKeySequence.StandardKey.MoveToEndOfDocument,
    QKeySequence.StandardKey.MoveToNextWord, QKeySequence.StandardKey.MoveToPreviousWord,
    QKeySequence.StandardKey.SelectStartOfLine, QKeySequence.StandardKey.SelectEndOfLine,
    QKeySequence.StandardKey.SelectStartOfDocument, QKeySequence.StandardKey.SelectEndOfDocument,
    QKeySequence.StandardKey.SelectNextWord, QKeySequence.StandardKey.SelectPreviousWord,
)
_READ_ONLY_TEXT_KEYS = (QKeySequence.StandardKey.SelectAll, QKeySequence.StandardKey.Copy)
_PLAIN = {Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.KeypadModifier, Qt.KeyboardModifier.ShiftModifier}


def _mods(event: QKeyEvent) -> Qt.KeyboardModifier:
    return event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier


def owns_key(widget: QWidget | None, event: QKeyEvent) -> bool:
    """Whether ``widget``, having the focus, acts on the key of ``event`` itself (so no shortcut may take it).

    A combo box opens its list with Alt+Down or F4 and moves through it with the arrows, Home and
    End; a text field edits with its standard keys (Ctrl+A, Ctrl+Z, Ctrl+K...), moves with the
    arrows (Alt+Up/Down included: a paragraph on some platforms, and a step to another proposal
    while typing a rationale would throw the rationale away); an item view moves, selects and
    activates with the arrows, Home/End, Page Up/Down, Ctrl+A, Space and Enter; a button presses
    on Space.
    """
    if widget is None or not widget.isEnabled():
        return False
    key, mods = event.key(), _mods(event)
    nav = key in _NAVIGATION
    if isinstance(widget, QComboBox):
        if widget.isEditable() and _text_field_owns(event, read_only=False):
            return True
        return (nav and mods in (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.AltModifier)) or (
            key in (Qt.Key.Key_F4, Qt.Key.Key_Space) and mods == Qt.KeyboardModifier.NoModifier)
    if isinstance(widget, (QLineEdit, QAbstractSpinBox)):
        return _text_field_owns(event, read_only=isinstance(widget, QLineEdit) and widget.isReadOnly())
    if isinstance(widget, (QPlainTextEdit, QTextEdit)):
        return _text_field_owns(event, read_only=widget.isReadOnly())
    if isinstance(widget, QAbstractItemView):
        return (nav and not mods & Qt.KeyboardModifier.AltModifier) or (
            key in _ACTIVATE and mods in _PLAIN) or event.matches(QKeySequence.StandardKey.SelectAll)
    if isinstance(widget, QAbstractButton):
        return key == Qt.Key.Key_Space and mods == Qt.KeyboardModifier.NoModifier or (
            isinstance(widget, QRadioButton) and nav and mods == Qt.KeyboardModifier.NoModifier)
    return False


def binds_itself(widget: QWidget | None, event: QKeyEvent) -> bool:
    """Whether the key is a shortcut of ``widget`` itself (an action or shortcut bound to it or its view).

    Such keys are the widget's own (S, R, N and Enter on an evidence list): they must still fire.
    """
    pressed = QKeySequence(event.keyCombination())
    level = 0
    while widget is not None and not widget.isWindow():
        contexts = (Qt.ShortcutContext.WidgetShortcut, Qt.ShortcutContext.WidgetWithChildrenShortcut) \
            if level == 0 else (Qt.ShortcutContext.WidgetWithChildrenShortcut,)
        for action in widget.actions():
            if action.isEnabled() and action.shortcutContext() in contexts and any(
                    key.matches(pressed) == QKeySequence.SequenceMatch.ExactMatch for key in action.shortcuts()):
                return True
        for shortcut in widget.findChildren(QShortcut, options=Qt.FindChildOption.FindDirectChildrenOnly):
            if shortcut.isEnabled() and shortcut.context() in contexts and \
                    shortcut.key().matches(pressed) == QKeySequence.SequenceMatch.ExactMatch:
                return True
        widget = widget.parentWidget()
        level += 1
    return False


def _text_field_owns(event: QKeyEvent, *, read_only: bool) -> bool:
    key, mods = event.key(), _mods(event)
    if any(event.matches(k) for k in (_READ_ONLY_TEXT_KEYS if read_only else _TEXT_KEYS)):
        return True
    if key in _NAVIGATION and not mods & Qt.KeyboardModifier.MetaModifier:
        return True  # with Shift, Ctrl or Alt too: select, move by word, by paragraph
    return not read_only and mods in _PLAIN and bool(event.text()) and event.text().isprintable()


class OwnKeysFirst(QObject):
    """Lets the focused widget keep the keys it acts on itself, before any of the window's shortcuts.

    Before a shortcut fires, Qt sends a ``ShortcutOverride`` to the focus widget, then to each of
    its parents up to the window; accepting it delivers the key to the widget instead. Several
    widgets do not accept their own keys there (a combo box lets Alt+Down, which opens its list, go
    to the window's "next proposal"), so this filter, on the window, accepts for them every key
    ``owns_key`` names. Installed on each top-level window; one filter sees all its widgets.
    """

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        window.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        """Qt override: accept a shortcut override for a key the focus widget acts on itself."""
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent):
            focus = QApplication.focusWidget()
            if owns_key(focus, event) and not binds_itself(focus, event):
                event.accept()
                return True
        return False


def tab_leaves(root: QWidget) -> None:
    """Make Tab and Shift+Tab move the focus out of every table, list, tree and text box under ``root``.

    A table moves between its cells on Tab and a text box types a tab character, so the keyboard
    stays trapped in them; arrows move inside a table, and a tab character is never what a
    rationale, comment or JSON box wants. Called on each window once its views are built.
    """
    for view in root.findChildren(QAbstractItemView):
        view.setTabKeyNavigation(False)
    for plain in root.findChildren(QPlainTextEdit):
        plain.setTabChangesFocus(True)
    for rich in root.findChildren(QTextEdit):
        rich.setTabChangesFocus(True)


W = TypeVar("W", bound=QWidget)


def keyboard_ready(window: W) -> W:
    """Give a window (the main window, a dialog) the desk's keyboard rules: own keys first, Tab leaves. Returns it."""
    if window.findChild(OwnKeysFirst, options=Qt.FindChildOption.FindDirectChildrenOnly) is None:
        OwnKeysFirst(window)
    tab_leaves(window)
    return window
