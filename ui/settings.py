"""Window geometry and splitter state in QSettings, under Qt-versioned keys."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings, qVersion
from PySide6.QtWidgets import QMainWindow, QSplitter

ORGANISATION = "spec-review"
APPLICATION = "Spec Review"


def _key(name: str) -> str:
    # State blobs are not portable across Qt versions (Anki's _qt_state_key does the same).
    return f"{name}_qt{qVersion()}"


def settings() -> QSettings:
    """Return the application's settings store."""
    return QSettings(ORGANISATION, APPLICATION)


def save_window(window: QMainWindow, splitters: dict[str, QSplitter]) -> None:
    """Save the window's geometry and state and each splitter's sizes."""
    store = settings()
    store.setValue(_key("main_window/geometry"), window.saveGeometry())
    store.setValue(_key("main_window/state"), window.saveState())
    for name, splitter in splitters.items():
        store.setValue(_key(f"main_window/splitter/{name}"), splitter.saveState())


def restore_window(window: QMainWindow, splitters: dict[str, QSplitter]) -> bool:
    """Restore what ``save_window`` saved; returns whether a geometry was found."""
    store = settings()
    geometry = store.value(_key("main_window/geometry"))
    if isinstance(geometry, QByteArray):
        window.restoreGeometry(geometry)
    state = store.value(_key("main_window/state"))
    if isinstance(state, QByteArray):
        window.restoreState(state)
    for name, splitter in splitters.items():
        value = store.value(_key(f"main_window/splitter/{name}"))
        if isinstance(value, QByteArray):
            splitter.restoreState(value)
    return isinstance(geometry, QByteArray)


def reviewer_name() -> str:
    """Return the reviewer name remembered from the last session ("" when none)."""
    value = settings().value("reviewer/name", "")
    return value if isinstance(value, str) else ""


def set_reviewer_name(name: str) -> None:
    """Remember the reviewer name."""
    settings().setValue("reviewer/name", name)


def last_workspace() -> str:
    """Return the folder of the workspace opened last ("" when none)."""
    value = settings().value("workspace/last", "")
    return value if isinstance(value, str) else ""


def set_last_workspace(path: str) -> None:
    """Remember the workspace opened last."""
    settings().setValue("workspace/last", path)


def sync_on_timer() -> bool:
    """Whether the window syncs with origin every few minutes (off unless turned on)."""
    value = settings().value("sync/on_timer", False)
    return value in (True, "true", "1", 1)


def set_sync_on_timer(on: bool) -> None:
    """Remember whether to sync on a timer."""
    settings().setValue("sync/on_timer", bool(on))


def tour_seen() -> bool:
    """Whether the first-start tour of the desk has been shown (it is shown once)."""
    value = settings().value("help/tour_seen", False)
    return value in (True, "true", "1", 1)


def set_tour_seen(seen: bool = True) -> None:
    """Remember that the tour has been shown."""
    settings().setValue("help/tour_seen", bool(seen))


def translate_to() -> str:
    """The language the reviewer chose to translate justifications into ("" when none: the environment's, or English)."""
    value = settings().value("translation/target", "")
    return value if isinstance(value, str) else ""


def set_translate_to(language: str) -> None:
    """Remember the language to translate justifications into ("" forgets the choice)."""
    settings().setValue("translation/target", language)
