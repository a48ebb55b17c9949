"""The ``spec-review`` command line: workspaces, the spec model, proposals, and launching the GUI."""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from cli.output import emit, say, warn
from reviewer import __version__, paths
from reviewer.errors import KnownError
from reviewer.modelconfig import redact

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

# Modules that add their own commands: each has ``register(groups: CommandGroups) -> None``.
COMMAND_MODULES: list[str] = [
    "cli.evidence", "cli.crowd", "cli.models", "cli.governance", "cli.discussion",
    "cli.desktop", "cli.revisions", "cli.repo", "cli.propose", "cli.groups", "cli.translate",
]


@dataclass(frozen=True)
class CommandGroups:
    """The argparse sub-parser actions a command module adds its commands to.

    Attributes:
        top: ``spec-review COMMAND``.
        proposal: ``spec-review proposal COMMAND``.
        import_: ``spec-review import KIND``.
        export: ``spec-review export KIND``.
    """

    top: Any
    proposal: Any
    import_: Any
    export: Any

EXIT_OK = 0
EXIT_USER_ERROR = 1
EXIT_INTERNAL_ERROR = 2


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line and exit 1, like every user error."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USER_ERROR, f"spec-review: error: {message} (see `{self.prog} --help`)\n")

    def _print_message(self, message: str, file: SupportsWrite[str] | None = None) -> None:
        # Usage errors repeat the arguments given, which may be pasted from crowd data.
        if message:
            try:
                say(message, end="", stream=file or sys.stderr)
            except (AttributeError, OSError):
                pass


# ---- commands ----------------------------------------------------------------------------------


def cmd_gui(args: argparse.Namespace) -> int:
    """Open the main window on a workspace (the last one opened, else the demo workspace)."""
    from reviewer.workspace_file import read_config

    if getattr(args, "workspace", None):
        workspace = Path(args.workspace).expanduser().resolve()
    else:
        from ui.app import start_workspace

        workspace = start_workspace()
    # Fail on the command line, before any window, when the folder is not a workspace. The
    # database is opened by the window's background lane, so the window paints without waiting.
    read_config(workspace)
    from ui.app import run_gui

    screenshot = Path(args.screenshot) if getattr(args, "screenshot", None) else None
    return run_gui(workspace, screenshot=screenshot, reviewer=getattr(args, "reviewer", None))


def cmd_init(args: argparse.Namespace) -> int:
    """Create a workspace."""
    from reviewer.workspace import DEFAULT_SPEC_FILE, Workspace

    if sum((bool(args.demo), bool(args.spec_repo), bool(args.join))) != 1:
        raise KnownError("Say one of --demo, --spec-repo PATH or --join URL.", hint="See `spec-review init --help`.")
    if args.join:
        return _join(args)
    if args.workspace_id or args.crowd_file or args.by:
        raise KnownError("--workspace-id, --crowd-file and --by go with --join.")
    if args.demo:
        if args.spec_file:
            raise KnownError("--spec-file goes with --spec-repo, not --demo.")
        workspace = Workspace.create_demo(args.workspace)
    else:
        workspace = Workspace.create(
            args.workspace, spec_repo=args.spec_repo, spec_file=args.spec_file or DEFAULT_SPEC_FILE
        )
    with workspace:
        status = workspace.status()
    for warning in workspace.creation_warnings:
        warn(f"warning: {warning}")
    emit(status, args.json, lambda s: f"Created workspace {s['workspace']} ({s['counts']['sections']} sections, "
          f"{s['counts']['proposals']} proposals).")
    return EXIT_OK


def _join(args: argparse.Namespace) -> int:
    from reviewer.join import join
    from reviewer.store import APP_ACTOR

    if args.spec_file:
        raise KnownError("--spec-file goes with --spec-repo: a joined workspace reads the board's.")
    workspace, report = join(args.workspace, args.join, workspace_id=args.workspace_id, actor=args.by or APP_ACTOR,
                             crowd_files=args.crowd_file)
    with workspace:
        status = workspace.status()
    status["received"] = len(report.received)
    emit(status, args.json, lambda s: (
        f"Joined {s['name']}: workspace {s['workspace']}, {s['received']} events received from {args.join} "
        f"({s['counts']['proposals']} proposals, {s['counts']['decisions']} decisions). "
        + (f"Not finished: {s['waiting']['message']}" if s["waiting"]
           else f"Sync with `spec-review sync {s['workspace']}`.")))
    return EXIT_OK


def _human_status(s: dict[str, Any]) -> str:
    lines = [
        f"Workspace  {s['workspace']}  ({s['name']})",
        f"Spec       {s['spec_repo']} : {s['spec_file']} @ {s['spec_revision'][:10]}"
        f"{' on ' + s['branch'] if s['branch'] else ' (detached HEAD)'}{', uncommitted changes' if s['dirty'] else ''}",
    ]
    lines += [f"{name:<14} {count}" for name, count in s["counts"].items()]
    if s.get("waiting"):
        lines.append(f"Joining       {s['waiting']['message']}")
    return "\n".join(lines)


def cmd_glossary(args: argparse.Namespace) -> int:
    """Print the glossary the app's Help ▸ Glossary shows."""
    from dataclasses import asdict

    from reviewer.glossary import TERMS, glossary_text

    emit([asdict(t) for t in TERMS], args.json, lambda _data: glossary_text().rstrip("\n"))
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    """Report what a workspace holds."""
    from reviewer.workspace import Workspace

    with Workspace.open(args.workspace) as workspace:
        emit(workspace.status(), args.json, _human_status)
    return EXIT_OK


def _load_spec_arg(path: str) -> Any:
    from reviewer.spec import load_spec_file

    return load_spec_file(path)


def cmd_spec_sections(args: argparse.Namespace) -> int:
    """List the headings of a spec file."""
    from reviewer.spec import spec_sections_json

    document, _text = _load_spec_arg(args.file)
    rows = spec_sections_json(document)
    emit(
        rows, args.json,
        lambda rs: "\n".join(
            f"{r['start_line']:>6}  {'#' * r['level']:<4} {(r['id'] or '(no id)'):<45} "
            f"{(r['authority'] or ''):<10} {r['title']}"
            for r in rs
        ),
    )
    return EXIT_OK


def cmd_spec_check(args: argparse.Namespace) -> int:
    """Check that a spec file parses cleanly and round-trips byte for byte."""
    document, text = _load_spec_arg(args.file)
    round_trips = document.render() == text
    problems = [asdict(p) for p in document.problems]
    result = {
        "file": args.file,
        "ok": round_trips and not problems,
        "round_trips": round_trips,
        "sections": len(document.sections),
        "problems": problems,
    }

    def human(r: dict[str, Any]) -> str:
        out = [f"{args.file}:{p['line']}: {p['kind']}: {p['message']}" for p in r["problems"]]
        if not r["round_trips"]:
            out.append(f"{args.file}: parsing and writing back does not give the same bytes (please report this)")
        out.append(f"{args.file}: {'ok' if r['ok'] else 'problems found'} ({r['sections']} sections)")
        return "\n".join(out)

    emit(result, args.json, human)
    return EXIT_OK if result["ok"] else EXIT_USER_ERROR


def cmd_spec_diff(args: argparse.Namespace) -> int:
    """Show the section-level diff between two spec files."""
    from reviewer.diffing import diff_specs, spec_diff_json

    old, _ = _load_spec_arg(args.old)
    new, _ = _load_spec_arg(args.new)
    diff = diff_specs(old, new)
    data = spec_diff_json(diff, include_unchanged=args.all)

    def human(d: dict[str, Any]) -> str:
        out = [", ".join(f"{k} {v}" for k, v in d["counts"].items())]
        for s in d["sections"]:
            if s["status"] == "unchanged" and not s["changes"]:
                continue
            detail = ", ".join(s["changes"]) if s["changes"] else ""
            out.append(f"{s['status']:<9} {s['id']:<50} {detail}")
        return "\n".join(out)

    emit(data, args.json, human)
    return EXIT_OK


def _proposal_json(p: Any) -> dict[str, Any]:
    data = asdict(p)
    data["section_ids"] = p.section_ids if hasattr(p, "section_ids") else data.get("section_ids")
    return data


def cmd_proposal_list(args: argparse.Namespace) -> int:
    """List a workspace's proposals."""
    from reviewer.queue import filter_by_groups, queue_rows, sort_by_groups
    from reviewer.workspace import Workspace

    with Workspace.open(args.workspace) as workspace:
        found = queue_rows(workspace.store)
    if getattr(args, "only", None):
        found = filter_by_groups(found, args.only)
    if getattr(args, "sort", None):
        found = sort_by_groups(found, args.sort)
    rows = [asdict(p) for p in found]

    def groups(r: dict[str, Any]) -> str:
        g = r.get("groups")
        return f" bridging {g['bridging'] * 100:.0f}% apart {g['divisiveness'] * 100:.0f}" if g else ""

    emit(rows, args.json, lambda rs: "\n".join(
        f"{r['id']}  {r['status']:<12} {r['level']:<9} {r['kind']:<13} "
        f"+{r['supports']} -{r['refutes']} ={r['no_comment']}{groups(r)}  {r['title']}  [{', '.join(r['section_ids'])}]"
        for r in rs
    ) or "No proposals yet.")
    return EXIT_OK


def cmd_queue(args: argparse.Namespace) -> int:
    """The review queue, or (``--mine NAME``) what waits for one member."""
    if not args.mine:
        return cmd_proposal_list(args)
    from reviewer.queue import arrange_waiting, waiting_for
    from reviewer.workspace import Workspace

    with Workspace.open(args.workspace) as workspace:
        waiting = arrange_waiting(waiting_for(workspace.store, args.mine), getattr(args, "only", None),
                                  getattr(args, "sort", None))
    rows = [{**asdict(w.row), "kind": w.kind, "why": w.why, "thread_id": w.thread_id} for w in waiting]
    emit(rows, args.json, lambda rs: "\n".join(
        f"{r['id']}  {r['status']:<12} {r['level']:<9} {r['title']}  — {r['why']}" for r in rs
    ) or f"Nothing waits for {args.mine}.")
    return EXIT_OK


def cmd_proposal_show(args: argparse.Namespace) -> int:
    """Show one proposal with its sections."""
    from dataclasses import asdict

    from reviewer.decision_evidence import counts_line, evidence_changed, evidence_snapshot
    from reviewer.duty import owed_by_outcome
    from reviewer.governance import decision_json, decisions_for
    from reviewer.workspace import Workspace

    with Workspace.open(args.workspace) as workspace:
        proposal = workspace.store.get_proposal(args.id)
        decisions = decisions_for(workspace.store, proposal.id)
        now = evidence_snapshot(workspace.store, proposal.id)
        owed = owed_by_outcome(workspace.store, proposal.id)
    data = _proposal_json(proposal)
    data["evidence"] = now
    # The duty to respond: the groups each outcome would owe an answer now (deferring owes none).
    data["owed"] = {outcome: [asdict(g) for g in groups] for outcome, groups in owed.items()}
    data["decisions"] = [
        {**decision_json(d), "evidence_changed_since": evidence_changed(d.evidence, now)} for d in decisions
    ]

    def human(d: dict[str, Any]) -> str:
        out = [d["title"], f"id {d['id']}, {d['kind']}, {d['origin']}, by {d['created_by']} at {d['created_at']}",
               f"base revision {d['base_revision']}", "", d["intent"], "", f"Evidence now: {counts_line(now)}"]
        for outcome, groups in d["owed"].items():
            if groups:
                out.append(f"To {outcome.replace('_', ' ')} it, answer (decide --respond GROUP=TEXT):")
                out += [f"    {g.id}: {g.describe()}" for g in owed[outcome]]
        for decision in d["decisions"]:
            out.append(f"{decision['decided_at'][:19]}  {decision['reviewer']}: {decision['outcome']}")
            out += [f"    to {g['name']}: {(decision['duty'] or {}).get('responses', {}).get(g['id'], '')}"
                    for g in (decision["duty"] or {}).get("owed", [])]
            if decision["evidence"] and decision["evidence_changed_since"]:
                out.append(f"    at decision: {counts_line(decision['evidence'])}  (changed since)")
        for s in d["sections"]:
            out += ["", f"--- section {s['section_id']} (proposed text) ---", s["new_text"].rstrip("\n")]
        return "\n".join(out)

    emit(data, args.json, human)
    return EXIT_OK


# ---- parser ------------------------------------------------------------------------------------


def build_parser(*, command_modules: bool = True) -> argparse.ArgumentParser:
    """Return the argument parser for every command (without ``command_modules``: the built-in ones only)."""
    parser = _Parser(
        prog="spec-review",
        description="Govern changes to an AI behaviour specification on crowd evidence. "
        "With no command, opens the app on the demo workspace.",
    )
    parser.add_argument("--version", action="version", version=f"spec-review {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")

    p = sub.add_parser("gui", help="open the app on a workspace (default: the demo workspace)")
    p.add_argument("workspace", nargs="?", help="workspace folder")
    p.add_argument("--screenshot", metavar="PNG", help="render the main window offscreen, save it, and exit")
    p.add_argument("--reviewer", metavar="NAME", help="act as this reviewer (remembered)")
    p.set_defaults(func=cmd_gui)

    p = sub.add_parser("init", help="create a workspace")
    p.add_argument("workspace", help="new or empty folder")
    p.add_argument("--demo", action="store_true", help="seed the real Model Spec (to 2025-04-11) and synthetic crowd data")
    p.add_argument("--spec-repo", metavar="PATH", help="an existing git repository holding the spec")
    p.add_argument("--spec-file", metavar="NAME", help="the spec's path in the repository (default: model_spec.md)")
    p.add_argument("--join", metavar="URL_OR_PATH",
                   help="join a board: clone its spec repository and rebuild the workspace from its log")
    p.add_argument("--workspace-id", metavar="ID", help="(--join) which board's log, when the repository holds several")
    p.add_argument("--crowd-file", action="append", default=[], metavar="PATH",
                   help="(--join) a crowd file an import needs that the log does not carry (over 50 MB); repeatable")
    p.add_argument("--by", metavar="NAME", help="(--join) who joins")
    p.add_argument("--json", action="store_true", help="print the new workspace's status as JSON")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("glossary", help="what the app's words mean: statuses, quorum, contested, flagged, stale...")
    p.add_argument("--json", action="store_true", help="one object per entry: key, word, definition, see")
    p.set_defaults(func=cmd_glossary)

    p = sub.add_parser("status", help="what a workspace holds")
    p.add_argument("workspace")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    spec = sub.add_parser("spec", help="read spec files: sections, check, diff")
    spec_sub = spec.add_subparsers(dest="spec_command", parser_class=_Parser, metavar="COMMAND", required=True)
    p = spec_sub.add_parser("sections", help="list every heading with its id, authority and examples")
    p.add_argument("file")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_spec_sections)
    p = spec_sub.add_parser("check", help="exit 0 when the file parses cleanly and round-trips byte for byte")
    p.add_argument("file")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_spec_check)
    p = spec_sub.add_parser("diff", help="section-level diff of two spec files")
    p.add_argument("old")
    p.add_argument("new")
    p.add_argument("--all", action="store_true", help="include unchanged sections")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_spec_diff)

    prop = sub.add_parser("proposal", help="list, show, add, revise and rebase proposals")
    prop_sub = prop.add_subparsers(dest="proposal_command", parser_class=_Parser, metavar="COMMAND", required=True)
    p = sub.add_parser("queue", help="the review queue; --mine NAME: what waits for one member")
    p.add_argument("workspace")
    p.add_argument("--mine", metavar="NAME",
                   help="only what waits for this member, given their roles: decisions, contested, commits")
    p.add_argument("--sort", choices=("divisive", "bridging"),
                   help="order by the opinion groups: most divisive first, or bridging first (see `groups`)")
    p.add_argument("--only", choices=("divisive", "bridging"),
                   help="only proposals whose opinion groups are >= 25 points apart, or above 50%% in every group")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_queue)

    p = prop_sub.add_parser("list", help="every proposal with its status")
    p.add_argument("workspace")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_proposal_list)
    p = prop_sub.add_parser("show", help="one proposal with its proposed section texts")
    p.add_argument("workspace")
    p.add_argument("id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_proposal_show)

    imp = sub.add_parser("import", help="bring crowd data, rankings, grades, stances or proposals into a workspace")
    import_sub = imp.add_subparsers(dest="import_command", parser_class=_Parser, metavar="KIND", required=True)
    exp = sub.add_parser("export", help="write workspace data in the product's own formats")
    export_sub = exp.add_subparsers(dest="export_command", parser_class=_Parser, metavar="KIND", required=True)
    groups = CommandGroups(top=sub, proposal=prop_sub, import_=import_sub, export=export_sub)
    for module_name in COMMAND_MODULES if command_modules else ():
        importlib.import_module(module_name).register(groups)
    return parser


def _log_internal_error() -> Path | None:
    try:
        folder = paths.cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        log = folder / "last-error.txt"
        log.write_text(redact(traceback.format_exc()) or "", encoding="utf-8")
        return log
    except OSError:
        return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 user error, 2 internal error)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    for position, arg in enumerate(argv, start=1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:  # bytes the terminal passed that are not UTF-8 (surrogate-escaped)
            shown = arg.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            warn(f"spec-review: error: argument {position} is not valid UTF-8 text: {shown}. "
                 "Set your terminal to UTF-8 and type it again; nothing was changed.")
            return EXIT_USER_ERROR
    # Starting the app needs none of the other commands: skip importing them, so the window
    # comes up sooner.
    gui_only = not argv or argv[0] == "gui"
    parser = build_parser(command_modules=not gui_only)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # usage errors (exit 1), --help and --version (exit 0)
        return int(exc.code or 0)
    if args.command is None:
        args.func = cmd_gui
    try:
        code = int(args.func(args))
    except KnownError as exc:
        warn(f"spec-review: error: {redact(str(exc))}")
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        warn("spec-review: interrupted")
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence: never a traceback
        log = _log_internal_error()
        where = f"; details in {log}" if log else ""
        warn(f"spec-review: internal error: {type(exc).__name__}: {redact(str(exc))}{where}. Please report it.")
        return EXIT_INTERNAL_ERROR
    sys.stdout.flush()
    return code


if __name__ == "__main__":
    sys.exit(main())
