"""Crowd import commands: ``import ca1``, ``import polis`` and ``quarantine``, with a text progress bar."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any, TextIO

from cli.main import CommandGroups
from cli.output import emit, redraw, value_of
from reviewer.importing import ImportSummary
from reviewer.progress import NoProgress, Progress

EXIT_OK = 0


class TextProgress:
    """A one-line progress bar redrawn in place on a terminal (at most ten times a second).

    Attributes:
        stream: where the bar is drawn (stderr).
        total: the size of the current phase, or None when unknown.
        done: how far the current phase has got.
        label: what the phase is doing.
    """

    def __init__(self, stream: TextIO, *, width: int = 30, interval: float = 0.1) -> None:
        self.stream = stream
        self.total: int | None = None
        self.done = 0
        self.label = ""
        self._width = width
        self._interval = interval
        self._last = 0.0

    def start(self, total: int | None, label: str = "") -> None:
        """Begin a phase of ``total`` steps."""
        self.total, self.done, self.label = total, 0, label
        self._draw()

    def tick(self, amount: int = 1) -> None:
        """Advance; redraw when the last drawing is old enough."""
        self.done += amount
        if time.monotonic() - self._last >= self._interval:
            self._draw()

    def finish(self) -> None:
        """Draw the phase as complete and end the line."""
        if self.total:
            self.done = self.total
        self._draw()
        self.stream.write("\n")
        self.stream.flush()

    def _draw(self) -> None:
        self._last = time.monotonic()
        if self.total:
            share = min(self.done / self.total, 1.0)
            filled = int(share * self._width)
            text = f"{self.label} [{'#' * filled}{'-' * (self._width - filled)}] {share:4.0%}"
        else:
            text = f"{self.label} {self.done}"
        redraw(self.stream, text)


def _progress(args: argparse.Namespace) -> Progress:
    if not args.json and sys.stderr.isatty():
        return TextProgress(sys.stderr)
    return NoProgress()




def human_summary(summary: ImportSummary) -> str:
    """Return an import summary as a small table for the terminal."""
    data = summary.to_json()
    names = ", ".join(f"{f['path']} ({f['kind']})" for f in data["files"])
    lines = [f"Imported {names}.", f"{'':<16}{'added':>10}{'unchanged':>11}{'updated':>9}{'conflicts':>11}"]
    for kind in data["added"]:
        lines.append(
            f"{kind:<16}{data['added'][kind]:>10}{data['unchanged'].get(kind, 0):>11}"
            f"{data['updated'].get(kind, 0):>9}{data['conflicts'].get(kind, 0):>11}"
        )
    if summary.quarantined:
        lines.append(f"Quarantined {summary.quarantined} bad rows ({summary.quarantined_new} new); the first:")
        for p in data["first_problems"]:
            where = f"{p['file']}:{p['line']}" + (f" ({p['item']})" if p["item"] else "")
            lines.append(f"  {where}: {p['reason']}")
        lines.append("List them all with `spec-review quarantine WORKSPACE`.")
    else:
        lines.append("No bad rows.")
    return "\n".join(lines)


def cmd_import_ca1(args: argparse.Namespace) -> int:
    """Import CA-1 JSONL files into a workspace."""
    from reviewer import operations
    from reviewer.held import held_log
    from reviewer.store import APP_ACTOR
    from reviewer.workspace import Workspace

    with Workspace.open(args.workspace) as workspace:
        waiting = held_log(workspace.store) is not None
        result = operations.import_ca1(workspace, args.files, actor=APP_ACTOR, strict=args.strict,
                                       progress=_progress(args))
        summary = value_of(result)
        joined = _joined(waiting, workspace, result)
    emit(summary.to_json(), args.json, human_summary(summary) + joined)
    return EXIT_OK


def _joined(waiting: bool, workspace: Any, result: Any) -> str:
    """The line saying that an import finished joining the board (it was the file its log waited for), or ''."""
    from reviewer.held import held_log

    if not waiting or held_log(workspace.store) is not None:
        return ""  # not joining, or still waiting for another file (said as a warning)
    received = len(result.changes.events)
    return (f"\nJoined the board: received the {received:,} event{'' if received == 1 else 's'} of its log that "
            "waited for this file, this import among them.")


def cmd_import_polis(args: argparse.Namespace) -> int:
    """Import a Pol.is export into a workspace."""
    from reviewer import operations
    from reviewer.held import held_log
    from reviewer.store import APP_ACTOR
    from reviewer.workspace import Workspace

    with Workspace.open(args.workspace) as workspace:
        waiting = held_log(workspace.store) is not None
        result = operations.import_polis(
            workspace, args.comments_csv, args.votes_csv, actor=APP_ACTOR, key=args.key, strict=args.strict,
            progress=_progress(args),
        )
        summary = value_of(result)
        joined = _joined(waiting, workspace, result)
    emit(summary.to_json(), args.json, human_summary(summary) + joined)
    return EXIT_OK


def cmd_quarantine(args: argparse.Namespace) -> int:
    """List the input rows that imports could not take in."""
    from reviewer.importing import list_quarantine
    from reviewer.workspace import Workspace

    with Workspace.open(args.workspace) as workspace:
        entries = list_quarantine(workspace.store)
    rows = [vars(e).copy() for e in entries]
    human = "\n".join(
        f"{r['file']}:{r['line']}" + (f" ({r['item']})" if r["item"] else "") + f": {r['reason']}"
        for r in rows
    ) or "Nothing in quarantine."
    emit(rows, args.json, human)
    return EXIT_OK


def register(groups: CommandGroups) -> None:
    """Add the crowd import commands to the parser."""
    p = groups.import_.add_parser(
        "ca1", help="CA-1 crowd data: comparisons, annotators and merged JSONL files, in any order"
    )
    p.add_argument("workspace")
    p.add_argument("files", nargs="+", metavar="FILE", help="comparisons.jsonl, annotators.jsonl, merged...jsonl")
    p.add_argument("--strict", action="store_true", help="fail on the first bad row instead of quarantining it")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_import_ca1)

    p = groups.import_.add_parser("polis", help="a Pol.is export: comments.csv and participants-votes.csv")
    p.add_argument("workspace")
    p.add_argument("comments_csv", metavar="COMMENTS_CSV")
    p.add_argument("votes_csv", metavar="VOTES_CSV")
    p.add_argument("--key", metavar="NAME", help="conversation key (default: the folder name of COMMENTS_CSV)")
    p.add_argument("--strict", action="store_true", help="fail on the first bad row instead of quarantining it")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_import_polis)

    p = groups.top.add_parser("quarantine", help="input rows that imports kept aside, with file, line and reason")
    p.add_argument("workspace")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_quarantine)
