"""Walks over windows for the keyboard and accessibility tests: every page shown once, every dialog the menus open."""

from __future__ import annotations

import re
from collections.abc import Iterator

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QDialog,
    QGroupBox,
    QLabel,
    QMainWindow,
    QTabWidget,
    QWidget,
)

_MNEMONIC = re.compile(r"&([^&\s])")


def mnemonic(text: str) -> str | None:
    """Return the Alt+letter ``text`` underlines (``"De&fer"`` → ``"F"``), or None."""
    found = _MNEMONIC.search(text.replace("&&", ""))
    return found.group(1).upper() if found else None


def pages(window: QWidget) -> Iterator[str]:
    """Show each page of each tab widget in ``window`` in turn (nested ones too); yields a name for each state."""
    def walk(root: QWidget, path: str) -> Iterator[str]:
        tab_widgets = [t for t in root.findChildren(QTabWidget) if _nearest_tabs(t.parentWidget(), root) is None]
        if not tab_widgets:
            yield path or window.windowTitle()
            return
        for tabs in tab_widgets:
            for index in range(tabs.count()):
                tabs.setCurrentIndex(index)
                QApplication.processEvents()
                yield from walk(tabs.widget(index), f"{path} ▸ {tabs.tabText(index)}".strip(" ▸"))

    yield from walk(window, "")


def _nearest_tabs(widget: QWidget | None, stop: QWidget) -> QTabWidget | None:
    while widget is not None and widget is not stop:
        if isinstance(widget, QTabWidget):
            return widget
        widget = widget.parentWidget()
    return None


def visible_widgets(window: QWidget) -> list[QWidget]:
    """Every widget of ``window`` on screen now (itself shown and every ancestor shown)."""
    return [w for w in window.findChildren(QWidget) if w.isVisible() and w.window() is window]


def mnemonics(window: QWidget) -> dict[str, list[str]]:
    """Alt+letter → what it opens or presses, for everything of ``window`` visible at once."""
    found: dict[str, list[str]] = {}

    def add(text: str, what: str) -> None:
        letter = mnemonic(text)
        if letter:
            found.setdefault(letter, []).append(f"{what} {text!r}")

    if isinstance(window, QMainWindow):
        for action in window.menuBar().actions():
            if action.isVisible():
                add(action.text(), "menu")
    for widget in visible_widgets(window):
        if isinstance(widget, QAbstractButton):
            add(widget.text(), type(widget).__name__)
        elif isinstance(widget, QLabel) and widget.buddy() is not None:
            add(widget.text(), "label")
        elif isinstance(widget, QGroupBox):
            add(widget.title(), "group")
        elif isinstance(widget, QTabWidget):
            for index in range(widget.count()):
                add(widget.tabText(index), "tab")
    return found


def clashes(window: QWidget) -> list[str]:
    """Each Alt+letter given to two things of ``window`` at the same time, page by page."""
    problems = []
    for page in pages(window):
        for letter, owners in mnemonics(window).items():
            if len(owners) > 1:
                problems.append(f"{page}: Alt+{letter} is {' and '.join(owners)}")
    return sorted(set(problems))


def shortcut_actions(window: QWidget) -> list[QAction]:
    """The window's actions that have a key."""
    return [a for a in window.actions() if a.shortcuts()]


def open_dialogs() -> list[QDialog]:
    """The dialogs on screen now."""
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, QDialog) and w.isVisible()]


def focusable(window: QWidget) -> list[QWidget]:
    """The widgets of ``window`` shown now that Tab can reach."""
    return [w for w in visible_widgets(window)
            if w.isEnabled() and w.focusPolicy() & Qt.FocusPolicy.TabFocus and w.focusProxy() is None]
