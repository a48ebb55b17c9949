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

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QLabel, QWidget

from reviewer.render import escape
from reviewer.textsafe import display_text
from ui.theme import scheme, themed

# A new application palette reaches a widget as one or the other, depending on its own palette.
_PALETTE_EVENTS = (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange)

class _SchemeLabel(QLabel):
    """A label whose style sheet (and, for rich text, markup) colours follow the light or dark scheme."""

    _style = ""
    _styled_for = ""

    def setStyleSheet(self, sheet: str) -> None:  # noqa: N802 - Qt name
        """Set a style sheet whose colours are given for the current scheme (``ui.theme.themed``)."""
        self._style = sheet
        self._styled_for = scheme()
        super().setStyleSheet(themed(sheet, self._styled_for))

    def event(self, event: QEvent) -> bool:
        """Qt override: the scheme changed (a new palette): show the colours of the new one.

        A label with a style sheet keeps its own palette, so only ``ApplicationPaletteChange``
        reaches it (``changeEvent`` does not see that one).
        """
        handled = super().event(event)
        if event.type() in _PALETTE_EVENTS and self._styled_for and self._styled_for != scheme():
            self.scheme_changed()
        return handled

    def scheme_changed(self) -> None:
        """Apply the style sheet again for the new scheme."""
        self.setStyleSheet(self._style)


class PlainLabel(_SchemeLabel):
    """A label whose text is shown as written: never HTML, bidi overrides shown as markers."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt name
        """Show ``text`` literally (``⟨RLO⟩`` for a right-to-left override and the like)."""
        super().setText(display_text(text))


class RichLabel(_SchemeLabel):
    """A label for markup the view builds itself; every data part in it must be ``escape``d.

    The colours the markup sets are shown as the light or dark scheme has them (``ui.theme``).
    """

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.RichText)
        self._markup = ""
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt name
        """Show ``text`` (markup built by the view) in the colours of the current scheme."""
        self._markup = text
        self._styled_for = scheme()
        super().setText(themed(text, self._styled_for))

    def text(self) -> str:  # noqa: D102 - Qt name
        return self._markup

    def scheme_changed(self) -> None:
        """Show the markup and style sheet again for the new scheme."""
        super().scheme_changed()
        self.setText(self._markup)


def plain_tooltip(text: str) -> str:
    """Return ``text`` as a tooltip that Qt shows literally (line breaks kept)."""
    return f"<p style='white-space:pre-wrap'>{escape(text)}</p>"


def shown(value: Any) -> Any:
    """Return an item's display value with bidi overrides as markers (other values unchanged)."""
    return display_text(value) if isinstance(value, str) else value
