"""The seams for every modal dialog, so tests can replace them (pytest-qt "note_dialogs")."""

from __future__ import annotations

import platform
import sys
import traceback

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox, QWidget

from reviewer import __version__
from reviewer.errors import KnownError
from reviewer.modelconfig import redact
from reviewer.textsafe import display_text, terminal_text


def debug_info(error: BaseException) -> str:
    """Return text a user can paste into a bug report."""
    tb = getattr(error, "__traceback_text__", None) or "".join(
        traceback.format_exception(type(error), error, error.__traceback__)
    )
    from PySide6 import __version__ as pyside_version

    return (
        f"Spec Review {__version__}\nPython {sys.version.split()[0]} on {platform.platform()}\n"
        f"PySide6 {pyside_version}\n\n{redact(tb)}"
    )


def message_box(parent: QWidget | None, icon: QMessageBox.Icon, title: str, text: str,
                buttons: QMessageBox.StandardButton = QMessageBox.StandardButton.NoButton) -> QMessageBox:
    """Return a message box that shows ``text`` literally: error messages quote names, titles and URLs from data."""
    box = QMessageBox(icon, title, "", buttons, parent)
    box.setTextFormat(Qt.TextFormat.PlainText)  # the default guesses, and renders HTML-looking text as HTML
    box.setText(display_text(text))
    return box


class Dialogs:
    """Opens modal dialogs; tests monkeypatch these classmethods instead of clicking.

    Non-interactive until ``install()`` is called at application start (as git-cola's default
    ``Interaction`` is a console one): errors go to stderr and are kept in ``shown``, questions get
    their safe answer, so a test can never hang on a modal.

    Attributes:
        interactive: whether real Qt dialogs open.
        shown: the errors reported while non-interactive (newest last).
    """

    interactive = False
    shown: list[BaseException] = []

    @classmethod
    def install(cls) -> None:
        """Use real Qt dialogs from now on."""
        cls.interactive = True

    @classmethod
    def show_error(cls, parent: QWidget | None, error: BaseException) -> None:
        """Show ``error``: plain text for a known failure, with "Copy debug info" for a bug."""
        if not cls.interactive:
            cls.shown.append(error)
            sys.stderr.write(terminal_text(f"spec-review: {type(error).__name__}: {error}") + "\n")
            return
        if isinstance(error, KnownError):
            message_box(parent, QMessageBox.Icon.Warning, "Spec Review", str(error), QMessageBox.StandardButton.Ok).exec()
            return
        box = message_box(
            parent, QMessageBox.Icon.Critical, "Spec Review: internal error",
            "Something went wrong inside Spec Review. Your data is safe: the operation was not saved.\n\n"
            f"{type(error).__name__}: {error}",
        )
        box.setDetailedText(debug_info(error))
        copy = box.addButton("Copy debug info", QMessageBox.ButtonRole.ActionRole)
        box.addButton(QMessageBox.StandardButton.Close)
        box.exec()
        if box.clickedButton() is copy:
            QApplication.clipboard().setText(debug_info(error))

    @classmethod
    def confirm(cls, parent: QWidget | None, question: str) -> bool:
        """Ask a yes/no question; returns the answer (no, when non-interactive)."""
        if not cls.interactive:
            return False
        yes, no = QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No
        return message_box(parent, QMessageBox.Icon.Question, "Spec Review", question, yes | no).exec() == yes

    @classmethod
    def ask_action(cls, parent: QWidget | None, text: str, actions: list[str]) -> int | None:
        """Show ``text`` (a problem) with a button per way out; returns the index of the one chosen.

        None when closed without choosing (always, when non-interactive).
        """
        if not cls.interactive:
            return None
        box = message_box(parent, QMessageBox.Icon.Warning, "Spec Review", text)
        buttons = [box.addButton(action, QMessageBox.ButtonRole.ActionRole) for action in actions]
        box.addButton(QMessageBox.StandardButton.Close)
        if buttons:
            box.setDefaultButton(buttons[0])
        box.exec()
        clicked = box.clickedButton()
        return next((i for i, button in enumerate(buttons) if button is clicked), None)

    @classmethod
    def ask_text(cls, parent: QWidget | None, title: str, label: str, text: str = "") -> str | None:
        """Ask for a line of text; returns None when cancelled (always, when non-interactive)."""
        if not cls.interactive:
            return None
        from PySide6.QtWidgets import QInputDialog

        value, ok = QInputDialog.getText(parent, title, label, text=text)
        return value if ok else None

    @classmethod
    def ask_item(
        cls, parent: QWidget | None, title: str, label: str, items: list[str], current: int = 0
    ) -> int | None:
        """Ask to choose one of ``items``; returns its index, None when cancelled (always, when non-interactive)."""
        if not cls.interactive or not items:
            return None
        from PySide6.QtWidgets import QInputDialog

        value, ok = QInputDialog.getItem(parent, title, label, items, current, False)
        return items.index(value) if ok and value in items else None

    @classmethod
    def ask_editable_item(
        cls, parent: QWidget | None, title: str, label: str, items: list[str], text: str = ""
    ) -> str | None:
        """Ask to choose one of ``items`` or type another; returns the text (None when cancelled, or non-interactive)."""
        if not cls.interactive:
            return None
        from PySide6.QtWidgets import QInputDialog

        current = items.index(text) if text in items else 0
        value, ok = QInputDialog.getItem(parent, title, label, items, current, True)
        return value if ok else None

    @classmethod
    def ask_folder(cls, parent: QWidget | None, caption: str, start: str = "") -> str | None:
        """Ask for a folder; returns None when cancelled (always, when non-interactive)."""
        if not cls.interactive:
            return None
        folder = QFileDialog.getExistingDirectory(parent, caption, start)
        return folder or None

    @classmethod
    def ask_open_files(
        cls, parent: QWidget | None, caption: str, start: str = "", filters: str = ""
    ) -> list[str] | None:
        """Ask for one or more existing files; returns None when cancelled (always, when non-interactive).

        ``filters`` is a Qt name filter such as ``"JSON Lines (*.jsonl);;All files (*)"``.
        """
        if not cls.interactive:
            return None
        files, _ = QFileDialog.getOpenFileNames(parent, caption, start, filters)
        return list(files) or None

    @classmethod
    def ask_save_path(
        cls, parent: QWidget | None, caption: str, start: str = "", filters: str = ""
    ) -> str | None:
        """Ask where to save a file; returns None when cancelled (always, when non-interactive).

        ``start`` may name a suggested file; ``filters`` is a Qt name filter such as ``"PNG image (*.png)"``.
        """
        if not cls.interactive:
            return None
        path, _ = QFileDialog.getSaveFileName(parent, caption, start, filters)
        return path or None


def show_error(parent: QWidget | None, error: BaseException) -> None:
    """Show an error through the seam (see ``Dialogs.show_error``)."""
    Dialogs.show_error(parent, error)
