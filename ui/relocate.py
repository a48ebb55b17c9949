"""The way out of a missing spec repository: "Choose the moved folder…", then the workspace reads it from there."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reviewer.errors import KnownError
from ui.dialogs import Dialogs

if TYPE_CHECKING:
    from reviewer.workspace import Relocation
    from ui.workers import WorkspaceLane

CHOOSE = "Choose the moved folder…"


def offer_relocation(window: Any, error: BaseException) -> bool:
    """When ``error`` says the spec repository is missing, offer to choose the folder it moved to.

    The folder chosen is checked and recorded on the window's lane
    (``Workspace.relocate_spec_repo``); then the window reads the workspace again. A folder that is
    not the repository is refused with its reason, and the offer is made again.

    Args:
        window: the main window (its ``lane``, ``reload()`` and status bar are used).
        error: why the workspace could not be read.

    Returns:
        Whether the error was a missing repository (and so was shown here, with the offer).
    """
    # Loaded by the lane already (the error came from it): importing it here costs nothing.
    from reviewer.workspace import SpecRepoMissing

    if not isinstance(error, SpecRepoMissing):
        return False
    message = (f"{error.message}\n\nIf it was moved or renamed, choose the folder it is in now: the workspace "
               "checks that it holds the spec file and this workspace's history, then reads the spec from there.")
    if Dialogs.ask_action(window, message, [CHOOSE]) != 0:
        return True
    start = error.repo.parent if error.repo.parent.is_dir() else error.workspace
    folder = Dialogs.ask_folder(window, "The spec repository's folder now", str(start))
    if folder:
        relocate(window, window.lane, folder, error)
    return True


def relocate(window: Any, lane: WorkspaceLane, folder: str, error: BaseException) -> None:
    """Check and record ``folder`` as the spec repository on ``lane``; reload ``window``, or say why not."""

    def done(moved: Relocation) -> None:
        window.statusBar().showMessage(f"The spec repository is now read from {moved.new}.")
        window.reload()

    def refused(why: BaseException) -> None:
        Dialogs.show_error(window, why)
        if isinstance(why, KnownError):  # the wrong folder: another try, the repository is still missing
            offer_relocation(window, error)

    lane.run(lambda ws: ws.relocate_spec_repo(folder), success=done, failure=refused)
