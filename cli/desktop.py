"""The ``desktop-install`` command: puts the launcher entry and the icon where Linux desktops look for them."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cli.output import emit
from reviewer.errors import KnownError
from reviewer.resources import resource_path

EXIT_OK = 0
APP_ID = "spec-review"
# Characters that make the Desktop Entry specification ask for a quoted Exec argument.
_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def default_prefix() -> Path:
    """Return the user's data folder that desktops search: ``$XDG_DATA_HOME``, else ``~/.local/share``."""
    xdg = os.environ.get("XDG_DATA_HOME")
    # The XDG Base Directory spec says a relative value is invalid and must be ignored.
    return Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".local" / "share"


def launcher_command() -> list[str]:
    """Return the command that starts this same installation of Spec Review.

    The frozen build runs its own executable; an installed package runs its ``spec-review``
    script (the one that is running, else the one beside this Python), else ``python -m cli``.
    """
    if getattr(sys, "frozen", False):
        return [str(Path(sys.executable).absolute())]
    running = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if running is not None and running.name == APP_ID and running.is_file():
        return [str(running.absolute())]
    beside = Path(sys.executable).with_name(APP_ID)
    if beside.is_file():
        return [str(beside.absolute())]
    found = shutil.which(APP_ID)
    if found:
        return [str(Path(found).absolute())]
    return [str(Path(sys.executable).absolute()), "-m", "cli"]


def exec_argument(arg: str) -> str:
    r"""Quote one argument for a desktop entry's ``Exec`` key (Desktop Entry spec, "The Exec key").

    An argument with reserved characters goes in double quotes, with a double quote, a backtick,
    ``$`` and ``\`` escaped by a backslash; ``%`` is doubled. Then, because ``Exec`` is a string
    value, every backslash is written twice.
    """
    arg = arg.replace("%", "%%")
    if any(char in _RESERVED for char in arg):
        inner = "".join("\\" + char if char in '"`$\\' else char for char in arg)
        arg = f'"{inner}"'
    return arg.replace("\\", "\\\\")


def desktop_entry(command: Sequence[str]) -> str:
    """Return the bundled ``spec-review.desktop`` with its ``Exec`` line pointing at ``command``.

    Args:
        command: the program and its leading arguments (see ``launcher_command``).

    Returns:
        The desktop entry's text; ``Exec`` opens the app on the chosen workspace folder, if any.
    """
    text = resource_path("resources", f"{APP_ID}.desktop").read_text(encoding="utf-8")
    exec_line = "Exec=" + " ".join(exec_argument(part) for part in command) + " gui %f"
    lines = [exec_line if line.startswith("Exec=") else line for line in text.splitlines()]
    if exec_line not in lines:
        raise KnownError(f"The bundled {APP_ID}.desktop has no Exec line.",
                         hint="Reinstall Spec Review; the install is incomplete.")
    return "\n".join(lines) + "\n"


def install_desktop_entry(prefix: Path, command: Sequence[str] | None = None) -> dict[str, str]:
    """Write the desktop entry and the scalable icon under ``prefix``, replacing older copies.

    Args:
        prefix: a data folder desktops search, e.g. ``~/.local/share``.
        command: what ``Exec`` runs (default: ``launcher_command()``).

    Returns:
        ``{"desktop_file": path, "icon": path, "exec": the Exec line}``.

    Raises:
        KnownError: a file could not be written.
    """
    text = desktop_entry(command or launcher_command())
    desktop_file = prefix / "applications" / f"{APP_ID}.desktop"
    icon = prefix / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"
    try:
        desktop_file.parent.mkdir(parents=True, exist_ok=True)
        desktop_file.write_text(text, encoding="utf-8")
        icon.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(resource_path("resources", "icons", f"{APP_ID}.svg"), icon)
    except OSError as exc:
        raise KnownError(f"Cannot install the desktop entry under {prefix}: {exc.strerror or exc}.",
                         hint="Choose another folder with --prefix DIR.") from exc
    exec_line = next(line for line in text.splitlines() if line.startswith("Exec="))
    return {"desktop_file": str(desktop_file), "icon": str(icon), "exec": exec_line[len("Exec="):]}


def cmd_desktop_install(args: argparse.Namespace) -> int:
    """Install the desktop entry and icon for the current user (or under ``--prefix``)."""
    prefix = Path(args.prefix).expanduser().absolute() if args.prefix else default_prefix()
    written = install_desktop_entry(prefix)
    emit(written, args.json, f"Wrote {written['desktop_file']}\nWrote {written['icon']}\n"
         f"The menu entry runs: {written['exec']}")
    return EXIT_OK


def register(groups: Any) -> None:
    """Add ``desktop-install`` to the command line."""
    p = groups.top.add_parser("desktop-install", help="add Spec Review to the desktop's application menu, "
                              "with its icon (for this user)")
    p.add_argument("--prefix", metavar="DIR", help="data folder to install into (default: $XDG_DATA_HOME, "
                   "else ~/.local/share); writes applications/ and icons/hicolor/ below it")
    p.add_argument("--json", action="store_true", help="print the files written as JSON")
    p.set_defaults(func=cmd_desktop_install)
