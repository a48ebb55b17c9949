"""The ``repo`` commands: the workspace's spec repository (``relocate``: point it at the moved folder)."""

from __future__ import annotations

import argparse
from typing import Any

from cli.output import emit

EXIT_OK = 0


def cmd_repo_relocate(args: argparse.Namespace) -> int:
    """Point a workspace at its spec repository's new folder, once the folder is checked to be it."""
    from reviewer.workspace import Workspace

    with Workspace.open(args.workspace) as workspace:
        moved = workspace.relocate_spec_repo(args.path)
    data = {"workspace": str(workspace.root), "old": str(moved.old), "new": str(moved.new),
            "recorded": moved.recorded, "head": moved.head, "baseline": moved.baseline}
    human = (f"The workspace now reads its spec from {moved.new} (was {moved.old}); "
             f"HEAD {moved.head[:10]}, its history holds the workspace's first spec commit {moved.baseline[:10]}.")
    emit(data, args.json, human)
    return EXIT_OK


def register(groups: Any) -> None:
    """Add ``repo relocate`` to the command line."""
    repo = groups.top.add_parser("repo", help="the workspace's spec repository: relocate it after a move")
    sub = repo.add_subparsers(dest="repo_command", parser_class=type(repo), metavar="COMMAND", required=True)
    p = sub.add_parser("relocate", help="point the workspace at its spec repository's new folder (moved or renamed); "
                                        "checks it holds the spec file and the workspace's history")
    p.add_argument("workspace")
    p.add_argument("path", help="the spec repository's folder now")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_repo_relocate)
