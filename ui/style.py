"""Colours and labels shared by the widgets (authority markers, status colours)."""

from __future__ import annotations

from PySide6.QtGui import QColor

# Higher authority, stronger marker: root is the most visible.
AUTHORITY_COLOURS = {
    "root": "#b3261e",
    "platform": "#b3261e",
    "system": "#c25e00",
    "developer": "#1f5fbf",
    "user": "#2e7d32",
    "guideline": "#6b6b6b",
}
AUTHORITY_LABELS = {
    "root": "Root",
    "platform": "Platform",
    "system": "System",
    "developer": "Developer",
    "user": "User",
    "guideline": "Guideline",
}


def authority_colour(authority: str | None) -> QColor:
    """Return the colour of an authority level as text, for the scheme in use (grey-blue for structural headings)."""
    from ui.theme import fg

    return QColor(fg(AUTHORITY_COLOURS.get(authority or "", "#8a94a6")))


def authority_badge_html(authority: str | None) -> str:
    """Return an inline HTML badge for an authority level."""
    if not authority:
        return '<span style="color:#8a94a6">structural</span>'
    colour = AUTHORITY_COLOURS.get(authority, "#8a94a6")
    label = AUTHORITY_LABELS.get(authority, authority)
    return (
        f'<span style="background:{colour};color:white;font-weight:600;'
        f'padding:1px 6px;border-radius:3px">&nbsp;{label}&nbsp;</span>'
    )
