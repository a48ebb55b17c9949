"""Light or dark: the scheme the app follows (the system's), and the colours of ``reviewer.palette`` for it.

The widgets write colours as the light ones (``color:#b3261e``, ``QColor("#5f6b7a")``); the
labels, text browsers and models pass them through here, which gives the colour for the scheme
in use. The scheme is read from the application's palette (what is actually drawn), which follows
the system's colour scheme: ``follow_system`` applies a dark palette when the system asks for dark
and the platform gives the app none, and reacts to ``colorSchemeChanged``.
"""

from __future__ import annotations

import re

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from reviewer.palette import DARK, LIGHT, SCHEME_COLOURS, STATUS_TINTS, tone

_COLOUR_PROPERTY = re.compile(
    r"(?i)(?<![\w-])(color|background-color|background|border-left|border)(\s*:\s*[^;\"'<>{}]*?)(#[0-9a-f]{6}|#[0-9a-f]{3})\b")


def scheme() -> str:
    """``"dark"`` when the application's palette is dark (light text on a dark window), else ``"light"``."""
    palette = QGuiApplication.palette()
    window = palette.color(QPalette.ColorRole.Window)
    text = palette.color(QPalette.ColorRole.WindowText)
    return DARK if window.lightness() < text.lightness() else LIGHT


def fg(colour: str) -> str:
    """A text colour as the current scheme shows it."""
    return tone(colour, scheme())


def bg(colour: str) -> str:
    """A background or fill colour as the current scheme shows it."""
    return tone(colour, scheme(), background=True)


def status_tint(status: str) -> QColor | None:
    """The queue row tint of a proposal status in the current scheme (None: not tinted)."""
    pair = STATUS_TINTS.get(status)
    return None if pair is None else QColor(pair[1] if scheme() == DARK else pair[0])


def themed(markup: str, for_scheme: str | None = None) -> str:
    """Return HTML or a style sheet with each colour it sets (``color:``, ``background:``, ``border:``) for the scheme."""
    if "#" not in markup:
        return markup
    chosen = for_scheme or scheme()

    def swap(match: re.Match[str]) -> str:
        name, between, colour = match.groups()
        shown = tone(colour, chosen, background=name.lower() != "color")
        return f"{name}{between}{shown}"

    return _COLOUR_PROPERTY.sub(swap, markup)


def palette_for(chosen: str) -> QPalette:
    """A palette of ``reviewer.palette.SCHEME_COLOURS`` for ``chosen`` (``light`` or ``dark``)."""
    colours = {name: QColor(value) for name, value in SCHEME_COLOURS[chosen].items()}
    palette = QPalette()
    role = QPalette.ColorRole
    for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
        for roles, name in (((role.Window,), "window"), ((role.Base,), "base"), ((role.AlternateBase,), "alternate"),
                            ((role.WindowText, role.Text, role.ButtonText, role.ToolTipText), "text"),
                            ((role.Button,), "button"), ((role.Highlight,), "highlight"),
                            ((role.HighlightedText,), "highlighted_text"), ((role.Link,), "link"),
                            ((role.ToolTipBase,), "window")):
            for r in roles:
                palette.setColor(group, r, colours[name])
    muted = QColor(tone("#6b6b6b", chosen))
    for r in (role.WindowText, role.Text, role.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, r, muted)
    palette.setColor(QPalette.ColorGroup.Disabled, role.Base, colours["window"])
    palette.setColor(role.PlaceholderText, muted)
    return palette


def follow_system(app: QApplication) -> None:
    """Follow the system's colour scheme now and whenever it changes (Qt 6.5+ ``colorSchemeChanged``).

    Where the platform already gives the app a palette of the scheme, nothing is changed; where it
    does not (a dark desktop with a light palette), the Fusion style with the scheme's palette is used.
    """
    hints = app.styleHints()

    def apply(wanted: Qt.ColorScheme) -> None:
        chosen = {Qt.ColorScheme.Dark: DARK, Qt.ColorScheme.Light: LIGHT}.get(wanted)
        if chosen is None or chosen == scheme():
            return
        if chosen == DARK:
            app.setStyle("Fusion")
            app.setPalette(palette_for(DARK))
        else:
            app.setPalette(app.style().standardPalette())

    apply(hints.colorScheme())
    hints.colorSchemeChanged.connect(apply)
