"""Help: the keyboard shortcuts sheet (read from the window's own actions), the glossary, and the desk tour."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QPoint, Qt, QUrl, Signal
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QMainWindow,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from reviewer.glossary import TERMS, status_term, term
from reviewer.render import escape
from ui.access import describe
from ui.labels import PlainLabel, RichLabel
from ui.text_browser import SafeTextBrowser

GLOSSARY_SCHEME = "glossary"
"""Links ``glossary:KEY`` open the glossary at that entry (``open_glossary``)."""


def glossary_link(key: str, text: str | None = None) -> str:
    """Return an HTML link to glossary entry ``key`` showing ``text`` (default: the entry's word), escaped."""
    shown = term(key).word if text is None else text
    return f'<a href="{GLOSSARY_SCHEME}:{escape(key)}">{escape(shown)}</a>'


def status_link(status: str, text: str) -> str:
    """Return a proposal status word as a link to its glossary entry (plain escaped text if it has none)."""
    return glossary_link(str(status), text) if status_term(status) is not None else escape(text)


def glossary_key(url: QUrl | str) -> str | None:
    """Return the entry a ``glossary:KEY`` link names, or None for any other link."""
    url = QUrl(url)
    return url.path() if url.scheme() == GLOSSARY_SCHEME and url.path() else None


def open_glossary(widget: QWidget, key: str | None = None) -> QDialog:
    """Open the glossary (at ``key``) of ``widget``'s window: the main window keeps one, any other window gets its own."""
    window = widget.window()
    show = getattr(window, "show_glossary", None)
    if show is not None:
        return show(key)
    dialog = GlossaryDialog(window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show_entry(key)
    return dialog


def follow_glossary_link(widget: QWidget, url: QUrl | str) -> bool:
    """Open the glossary when ``url`` is a glossary link; returns whether it was one."""
    key = glossary_key(url)
    if key is None:
        return False
    open_glossary(widget, key)
    return True


def glossary_html() -> str:
    """The glossary as HTML: each entry with an anchor named by its key, data escaped."""
    parts = ["<h2>Glossary</h2>"]
    for entry in TERMS:
        see = (" <i>See also</i> " + ", ".join(glossary_link(k) for k in entry.see) + ".") if entry.see else ""
        parts.append(f'<p><a name="{escape(entry.key)}"></a><b>{escape(entry.word)}</b><br/>'
                     f"{escape(entry.definition)}{see}</p>")
    return "".join(parts)


class GlossaryDialog(QDialog):
    """Help ▸ Glossary: every word the app shows, defined (``reviewer.glossary``); links move between entries.

    Attributes:
        browser: the text shown.
        shown_key: the entry last asked for (None: the top).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Glossary — Spec Review")
        self.shown_key: str | None = None
        self.browser = SafeTextBrowser()
        describe(self.browser, "Glossary", "What each word of the app means; links lead to related entries")
        self.browser.setHtml(glossary_html())
        self.browser.anchorClicked.connect(lambda url: self.show_entry(glossary_key(url)))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        describe(close, None, "Close the glossary")
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser, 1)
        layout.addWidget(buttons)
        self.resize(620, 560)

    def show_entry(self, key: str | None) -> None:
        """Show the glossary scrolled to entry ``key`` (None: the top), and bring it forward."""
        self.shown_key = key
        if key:
            self.browser.scrollToAnchor(key)
        else:
            self.browser.verticalScrollBar().setValue(0)
        if self.isVisible():  # already open behind the main window: bring it forward
            self.raise_()
            self.activateWindow()
        else:
            self.show()


def _menu_path(action: QAction, window: QWidget) -> str:
    """The menu an action sits in (``Go``), or '' when it is in none."""
    for menu in window.findChildren(QMenu):
        if action in menu.actions() and menu.title():
            return menu.title().replace("&", "")
    return ""


def shortcut_rows(window: QWidget) -> list[tuple[str, str, str]]:
    """Every key of ``window`` as (where, what, keys): its actions and shortcuts, read from the widgets themselves.

    Window-wide actions come under their menu; a list's own keys (S, R, N on the evidence) and a
    page's shortcuts under the widget they belong to. Disabled shortcuts (taken over by the window,
    ``MainWindow._adopt_page_keys``) are left out.
    """
    rows: list[tuple[str, str, str]] = []
    seen: set[tuple[str, str]] = set()
    for action in window.findChildren(QAction):
        keys = action.shortcuts()
        if not keys or not action.text():
            continue
        if action.shortcutContext() in (Qt.ShortcutContext.WindowShortcut, Qt.ShortcutContext.ApplicationShortcut):
            where = _menu_path(action, window) or "Window"
        else:
            owner = next((o for o in action.associatedObjects() if isinstance(o, QWidget)), None)
            where = _where(owner) if owner is not None else "Window"
        what = action.text().replace("&", "")
        if (where, what) in seen:
            continue
        seen.add((where, what))
        rows.append((where, what, ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in keys)))
    for shortcut in window.findChildren(QShortcut):
        if not shortcut.isEnabled() or shortcut.key().isEmpty():
            continue
        parent = shortcut.parent()
        what = shortcut.whatsThis() or shortcut.objectName() or "(unnamed)"
        rows.append((_where(parent) if isinstance(parent, QWidget) else "Window", what,
                     shortcut.key().toString(QKeySequence.SequenceFormat.NativeText)))
    return rows


def _where(widget: QWidget) -> str:
    """Name a widget for the sheet: its accessible name, else its class, with the page it is on."""
    return widget.accessibleName() or type(widget).__name__


def shortcuts_html(rows: Sequence[tuple[str, str, str]]) -> str:
    """The shortcuts sheet as an HTML table, grouped by where each key works."""
    parts = ["<h2>Keyboard shortcuts</h2>",
             "<p>Alt with an underlined letter presses that button or opens that menu. "
             "Tab and Shift+Tab move between the panes; a focused list, combo box or text box keeps its "
             "own keys (arrows, Home/End, Alt+Down in a combo box).</p>"]
    current = None
    parts.append("<table cellspacing='0' cellpadding='3'>")
    for where, what, keys in sorted(rows, key=lambda r: (r[0] != "File", r[0], r[1])):
        if where != current:
            parts.append(f"<tr><td colspan='2'><h3>{escape(where)}</h3></td></tr>")
            current = where
        parts.append(f"<tr><td><b>{escape(keys)}</b></td><td>{escape(what)}</td></tr>")
    parts.append("</table>")
    return "".join(parts)


class ShortcutsDialog(QDialog):
    """Help ▸ Keyboard shortcuts: the sheet made from the window's actions when opened, so it is never out of date.

    Attributes:
        rows: the (where, what, keys) rows shown.
    """

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.setWindowTitle("Keyboard shortcuts — Spec Review")
        self.rows = shortcut_rows(window)
        self.browser = SafeTextBrowser()
        describe(self.browser, "Keyboard shortcuts", "Every key of the window, by menu and by pane")
        self.browser.setHtml(shortcuts_html(self.rows))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        describe(buttons.button(QDialogButtonBox.StandardButton.Close), None, "Close the shortcuts sheet")
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser, 1)
        layout.addWidget(buttons)
        self.resize(560, 620)


class DeskTour(QDialog):
    """A short tour of the review desk: a few steps, each beside the pane it explains.

    Signals:
        finished_tour: the last step was closed or the tour skipped.

    Attributes:
        steps: (widget, title, text) of each step.
        index: the step shown.
    """

    finished_tour = Signal()

    def __init__(self, window: QMainWindow, steps: Sequence[tuple[QWidget, str, str]]) -> None:
        super().__init__(window)
        self.setWindowTitle("Tour of the desk")
        self.setWindowFlag(Qt.WindowType.Tool)
        self.steps = list(steps)
        self.index = 0
        self.heading = RichLabel()
        self.text = PlainLabel()
        self.text.setWordWrap(True)
        self.counter = PlainLabel()
        self.back_button = describe(QPushButton("&Back"), None, "The step before")
        self.next_button = describe(QPushButton("&Next"), None, "The next step of the tour")
        self.skip_button = describe(QPushButton("&Close tour"), None, "End the tour (Help ▸ Tour of the desk shows it again)")
        self.back_button.clicked.connect(lambda: self.show_step(self.index - 1))
        self.next_button.clicked.connect(self.on_next)
        self.skip_button.clicked.connect(self.close)
        row = QHBoxLayout()
        row.addWidget(self.counter, 1)
        for button in (self.skip_button, self.back_button, self.next_button):
            row.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.text, 1)
        layout.addLayout(row)
        self.setFixedWidth(360)
        self.show_step(0)

    def show_step(self, index: int) -> None:
        """Show step ``index`` beside its pane."""
        self.index = max(0, min(index, len(self.steps) - 1))
        widget, title, text = self.steps[self.index]
        self.heading.setText(f"<b>{escape(title)}</b>")
        self.text.setText(text)
        self.counter.setText(f"{self.index + 1} of {len(self.steps)}")
        self.back_button.setEnabled(self.index > 0)
        last = self.index == len(self.steps) - 1
        self.next_button.setText("&Done" if last else "&Next")
        self.adjustSize()
        self._place_beside(widget)
        self.next_button.setFocus()

    def _place_beside(self, widget: QWidget) -> None:
        """Put the tour to the right of ``widget`` (or to its left when the screen ends there), inside the window."""
        window = self.parentWidget()
        if window is None or not widget.isVisible():
            return
        top_left = widget.mapToGlobal(QPoint(0, 0))
        frame = window.frameGeometry()
        x = top_left.x() + widget.width() + 8
        if x + self.width() > frame.right():
            x = max(frame.left(), top_left.x() - self.width() - 8)
        if x < frame.left() or x + self.width() > frame.right():  # no room on either side: over the pane
            x = top_left.x() + 16
        y = min(max(top_left.y() + 24, frame.top()), frame.bottom() - self.height())
        self.move(x, y)

    def on_next(self) -> None:
        """The next step, or the end of the tour after the last."""
        if self.index == len(self.steps) - 1:
            self.close()
        else:
            self.show_step(self.index + 1)

    def closeEvent(self, event: object) -> None:  # noqa: N802 - Qt override
        """Qt override: the tour is over (remembered by the window)."""
        self.finished_tour.emit()
        super().closeEvent(event)  # type: ignore[arg-type]
