"""QApplication setup, the exception hook, and ``run_gui`` (also used for offscreen screenshots)."""

from __future__ import annotations

import os
import sys
import time
import traceback
from pathlib import Path
from types import TracebackType

from reviewer.errors import BugError, KnownError

SCREENSHOT_TIMEOUT_MS = 30_000
_STARTUP_PROBE = "SPEC_REVIEW_STARTUP_PROBE"


def _install_excepthook() -> None:
    from ui.dialogs import Dialogs

    def hook(kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
        error.__traceback_text__ = "".join(traceback.format_exception(kind, error, tb))  # type: ignore[attr-defined]
        sys.stderr.write(error.__traceback_text__)  # type: ignore[attr-defined]
        Dialogs.show_error(None, error)

    sys.excepthook = hook


def run_gui(workspace: Path, *, screenshot: Path | None = None) -> int:
    """Open the main window on ``workspace``; with ``screenshot``, save a PNG offscreen and exit.

    Returns:
        The process exit code.

    Raises:
        KnownError: the screenshot could not be made or saved.
    """
    if screenshot is not None:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    elif (
        sys.platform.startswith("linux")
        and not os.environ.get("QT_QPA_PLATFORM")
        and not os.environ.get("DISPLAY")
        and not os.environ.get("WAYLAND_DISPLAY")
    ):
        raise KnownError(
            "No display to open the window on (neither DISPLAY nor WAYLAND_DISPLAY is set).",
            hint="Run it in a desktop session, or save a picture with `spec-review gui --screenshot out.png`.",
        )
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication

    from ui import settings as window_settings
    from ui.dialogs import Dialogs
    from ui.main_window import MainWindow
    from ui.workers import WorkspaceLane

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setOrganizationName(window_settings.ORGANISATION)
    app.setApplicationName(window_settings.APPLICATION)
    app.setApplicationDisplayName("Spec Review")
    if screenshot is None:
        Dialogs.install()
        _install_excepthook()

    lane = WorkspaceLane(workspace)
    window = MainWindow(lane, remember_layout=screenshot is None)
    outcome: dict[str, object] = {}

    if os.environ.get(_STARTUP_PROBE):
        class _FirstPaint(QObject):
            def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
                if event.type() == QEvent.Type.Paint and "paint" not in outcome:
                    outcome["paint"] = time.time()
                    print(f"first-paint {outcome['paint']:.6f}", flush=True)
                return False

        probe = _FirstPaint(window)
        window.installEventFilter(probe)

        def on_loaded() -> None:
            print(f"loaded {time.time():.6f}", flush=True)
            QTimer.singleShot(0, window.close)

        window.loaded.connect(on_loaded)

    if screenshot is not None:
        window.resize(1400, 860)

        def capture() -> None:
            window.repaint()
            app.processEvents()
            image = window.grab()
            if not image.save(str(screenshot), "PNG"):
                outcome["error"] = KnownError(f"Cannot save the screenshot to {screenshot}.")
            window.close()

        def on_failed(error: BaseException) -> None:
            outcome["error"] = error
            window.close()

        window.loaded.connect(lambda: QTimer.singleShot(150, capture))
        window.load_failed.connect(on_failed)
        QTimer.singleShot(SCREENSHOT_TIMEOUT_MS, lambda: (outcome.setdefault(
            "error", KnownError("The workspace took too long to load; no screenshot was taken.")), window.close()))

    window.show()
    window.reload()
    code = app.exec()
    error = outcome.get("error")
    if isinstance(error, KnownError):
        raise error
    if isinstance(error, BaseException):
        raise BugError(str(error)) from error
    return int(code)


def main() -> int:
    """Entry point of the ``spec-review-gui`` launcher: same as ``spec-review gui``."""
    from reviewer.cli import main as cli_main

    return cli_main(["gui", *sys.argv[1:]])
