"""The one text browser the views use: it shows HTML and never loads a file, a share or a remote resource."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QUrl
from PySide6.QtGui import QImage, QTextDocument
from PySide6.QtWidgets import QTextBrowser, QWidget

from ui.theme import scheme, themed

# A new application palette reaches a widget as one or the other, depending on its own palette.
_PALETTE_EVENTS = (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange)

class SafeTextBrowser(QTextBrowser):
    """A ``QTextBrowser`` for HTML built from data: links are reported, resources are never fetched.

    ``QTextBrowser`` loads every ``<img src>``, ``<link rel=stylesheet>`` and followed link it meets,
    from the disk (``/etc/hostname``, ``../../etc/passwd``), a share or a server. The renderer
    already drops such sources (``reviewer.render``); this is the second wall. Returning nothing
    from ``loadResource`` is not enough: ``QTextDocument`` then reads a local file itself. So a
    refused resource gets an empty stand-in (a null image, an empty text). ``data:`` URLs, which
    name no place, are left to Qt. Clicked links are only signalled (``anchorClicked``): each view
    decides, e.g. ``#section_id`` opens that section.

    Attributes:
        refused: every resource URL the document asked for and did not get, in order.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.refused: list[str] = []
        self._html = ""
        self._styled_for = ""
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)

    def setHtml(self, html: str) -> None:  # noqa: N802 - Qt name
        """Show ``html`` with the colours it sets given for the light or dark scheme (``ui.theme``)."""
        self._html = html
        self._styled_for = scheme()
        super().setHtml(themed(html, self._styled_for))

    def event(self, event: QEvent) -> bool:
        """Qt override: a new palette of the other scheme: show the page again in its colours."""
        handled = super().event(event)
        if event.type() in _PALETTE_EVENTS and self._html and self._styled_for != scheme():
            bar = self.verticalScrollBar().value()
            self.setHtml(self._html)
            self.verticalScrollBar().setValue(bar)
        return handled

    def loadResource(self, kind: int, name: QUrl | str) -> Any:  # noqa: N802 - Qt override
        """Qt override: decode ``data:`` URLs only; anything else gets an empty stand-in."""
        name = QUrl(name)
        if name.scheme().lower() == "data":
            return None  # QTextDocument decodes it; nothing is read from anywhere
        self.refused.append(name.toString())
        if int(kind) == QTextDocument.ResourceType.ImageResource.value:
            return QImage()
        return ""
