"""QApplication setup, the exception hook, and ``run_gui`` (also used for offscreen screenshots)."""

from __future__ import annotations

import os
import sys
import time
import traceback
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from reviewer.errors import BugError, KnownError

if TYPE_CHECKING:
    from PySide6.QtGui import QIcon

    from ui.main_window import MainWindow

SCREENSHOT_TIMEOUT_MS = 30_000
_STARTUP_PROBE = "SPEC_REVIEW_STARTUP_PROBE"


def _install_excepthook() -> None:
    from ui.dialogs import Dialogs

    def hook(kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
        error.__traceback_text__ = "".join(traceback.format_exception(kind, error, tb))  # type: ignore[attr-defined]
        sys.stderr.write(error.__traceback_text__)  # type: ignore[attr-defined]
        Dialogs.show_error(None, error)

    sys.excepthook = hook


def app_icon() -> QIcon:
    """Return the application icon, drawn from the bundled SVG (``resources/icons/spec-review.svg``).

    Qt draws SVG icons through its ``iconengines/libqsvgicon`` and ``imageformats/libqsvg``
    plugins (both in PySide6-Essentials and collected into the frozen build). Without them the
    icon comes out empty; that is said once on stderr, and the app runs on.
    """
    from PySide6.QtGui import QIcon

    from reviewer.resources import resource_path

    icon = QIcon(str(resource_path("resources", "icons", "spec-review.svg")))
    if icon.pixmap(32, 32).isNull():
        sys.stderr.write("spec-review: warning: the app icon could not be drawn (Qt's SVG plugins are missing).\n")
    return icon


def start_workspace() -> Path:
    """Return the workspace to open when none is named: the last one if it still exists, else the demo.

    The demo workspace is created in the user data folder on first use.
    """
    from reviewer import paths
    from reviewer.workspace_file import WORKSPACE_FILE
    from ui import settings as window_settings

    last = window_settings.last_workspace()
    if last and (Path(last) / WORKSPACE_FILE).is_file():
        return Path(last)
    demo = paths.demo_workspace_dir()
    if not demo.exists():
        sys.stderr.write(f"Creating the demo workspace in {demo} ...\n")
        demo.parent.mkdir(parents=True, exist_ok=True)
        from reviewer.workspace import Workspace

        Workspace.create_demo(demo).close()
    return demo


def run_gui(workspace: Path, *, screenshot: Path | None = None, reviewer: str | None = None) -> int:
    """Open the main window on ``workspace``; with ``screenshot``, save a PNG offscreen and exit.

    Args:
        workspace: the workspace folder.
        screenshot: where to save a picture of the review desk with the first proposal selected.
        reviewer: act as this reviewer (remembered for later sessions unless taking a screenshot).

    Returns:
        The process exit code.

    Raises:
        KnownError: the screenshot could not be made or saved, or there is no display.
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

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setOrganizationName(window_settings.ORGANISATION)
    app.setApplicationName(window_settings.APPLICATION)
    app.setApplicationDisplayName("Spec Review")
    # The desktop entry's name: Wayland compositors find the launcher (and its icon) by it.
    app.setDesktopFileName("spec-review")
    app.setWindowIcon(app_icon())
    from ui.theme import follow_system

    follow_system(app)  # light or dark, as the system is (and when it changes)
    from ui.gc_timer import GarbageCollector
    from ui.workers import share_the_interpreter

    collector = GarbageCollector(app)
    share_the_interpreter()
    if screenshot is None:
        Dialogs.install()
        _install_excepthook()
        if reviewer:
            window_settings.set_reviewer_name(reviewer)
        window_settings.set_last_workspace(str(workspace.resolve()))

    outcome: dict[str, object] = {}
    windows: list[object] = []
    window = build_window(workspace, remember_layout=screenshot is None)
    if reviewer:
        window.set_reviewer(reviewer)
    windows.append(window)

    def open_other(path: object) -> None:
        from reviewer.workspace_file import read_config

        try:
            read_config(Path(str(path)))
        except KnownError as error:
            Dialogs.show_error(windows[-1], error)  # type: ignore[arg-type]
            return
        window_settings.set_last_workspace(str(Path(str(path)).resolve()))
        replacement = build_window(Path(str(path)), remember_layout=True)
        replacement.open_requested.connect(open_other)
        windows.append(replacement)
        replacement.show()
        replacement.reload()
        windows[-2].close()  # type: ignore[attr-defined]

    window.open_requested.connect(open_other)

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
        window.resize(1600, 940)

        def capture() -> None:
            window.repaint()
            app.processEvents()
            if not window.grab().save(str(screenshot), "PNG"):
                outcome["error"] = KnownError(f"Cannot save the screenshot to {screenshot}.")
            window.close()

        def on_failed(error: BaseException) -> None:
            outcome["error"] = error
            window.close()

        def on_detail(_proposal_id: str) -> None:
            if "shot" not in outcome:
                outcome["shot"] = True
                QTimer.singleShot(700, capture)  # let the evidence and decision panes fill in

        def on_loaded_for_shot() -> None:
            if not window.queue.model.ids:
                QTimer.singleShot(300, capture)  # an empty workspace: nothing to select

        window.detail_shown.connect(on_detail)
        window.loaded.connect(on_loaded_for_shot)
        window.load_failed.connect(on_failed)
        QTimer.singleShot(SCREENSHOT_TIMEOUT_MS, lambda: (outcome.setdefault(
            "error", KnownError("The workspace took too long to load; no screenshot was taken.")), window.close()))

    window.show()
    window.reload()
    code = app.exec()
    collector.stop()
    error = outcome.get("error")
    if isinstance(error, KnownError):
        raise error
    if isinstance(error, BaseException):
        raise BugError(str(error)) from error
    return int(code)


def build_window(workspace: Path, *, remember_layout: bool = True) -> MainWindow:
    """Build the main window over ``workspace`` with every view in place (the workspace is read later)."""
    from ui.main_window import MainWindow
    from ui.workers import WorkspaceLane

    lane = WorkspaceLane(workspace)
    window = MainWindow(lane, remember_layout=remember_layout)
    return window


def main() -> int:
    """Entry point of the ``spec-review-gui`` launcher: same as ``spec-review gui``."""
    from cli.main import main as cli_main

    return cli_main(["gui", *sys.argv[1:]])
