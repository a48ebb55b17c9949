"""The one text browser the views use: it shows HTML and never loads a file, a share or a remote resource."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QUrl
from PySide6.QtGui import QImage, QTextDocument
from PySide6.QtWidgets import QTextBrowser, QWidget


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
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)

    def loadResource(self, kind: int, name: QUrl | str) -> Any:  # noqa: N802 - Qt override
        """Qt override: decode ``data:`` URLs only; anything else gets an empty stand-in."""
        name = QUrl(name)
        if name.scheme().lower() == "data":
            return None  # QTextDocument decodes it; nothing is read from anywhere
        self.refused.append(name.toString())
        if int(kind) == QTextDocument.ResourceType.ImageResource.value:
            return QImage()
        return ""
