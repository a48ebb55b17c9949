"""Labels and tooltips that may show data: plain text, unless the markup is ours and every data part escaped.

A ``QLabel`` guesses its format: text that looks like HTML is rendered as HTML, so a person or
model named ``<b>x</b><img src="file:///etc/hostname">`` would show bold text and a file from the
disk. Tooltips guess the same way. So no view makes a ``QLabel`` itself
(``tests/ui/test_labels.py`` checks it): a ``PlainLabel`` shows its text literally, and a
``RichLabel`` is for markup the view builds, with every data part passed through
``reviewer.render.escape``.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from reviewer.render import escape
from reviewer.textsafe import display_text


class PlainLabel(QLabel):
    """A label whose text is shown as written: never HTML, bidi overrides shown as markers."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt name
        """Show ``text`` literally (``⟨RLO⟩`` for a right-to-left override and the like)."""
        super().setText(display_text(text))


class RichLabel(QLabel):
    """A label for markup the view builds itself; every data part in it must be ``escape``d."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setTextFormat(Qt.TextFormat.RichText)


def plain_tooltip(text: str) -> str:
    """Return ``text`` as a tooltip that Qt shows literally (line breaks kept)."""
    return f"<p style='white-space:pre-wrap'>{escape(text)}</p>"


def shown(value: Any) -> Any:
    """Return an item's display value with bidi overrides as markers (other values unchanged)."""
    return display_text(value) if isinstance(value, str) else value
