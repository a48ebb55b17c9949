"""What a screen reader says of a widget: its accessible name (what it is) and description (what it does)."""

from __future__ import annotations

from typing import TypeVar

from PySide6.QtWidgets import QTabWidget, QWidget

W = TypeVar("W", bound=QWidget)


def describe(widget: W, name: str | None, description: str) -> W:
    """Give ``widget`` an accessible name (None: keep what Qt takes from its text or label) and a description.

    The description is also the tooltip when the widget has none, so a sighted reader learns the
    same thing by hovering. Returns the widget.
    """
    if name is not None:
        widget.setAccessibleName(name)
    widget.setAccessibleDescription(description)
    if not widget.toolTip():
        widget.setToolTip(description)
    return widget


def describe_tabs(tabs: QTabWidget, *descriptions: str) -> QTabWidget:
    """Describe each page of a tab widget, in order, as its tab's tooltip.

    A screen reader names the tab bar by the tab shown and describes it by that tab's tooltip
    (``QAccessibleTabBar`` has no description of its own). Returns the tab widget.
    """
    for index, description in enumerate(descriptions):
        tabs.setTabToolTip(index, description)
    return tabs
