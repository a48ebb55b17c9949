"""Revision commands: revise, rebase, list and compare a proposal's revisions; confirm a vote on the new text."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cli.output import emit, value_of
from reviewer.errors import KnownError

EXIT_OK = 0


def _read(name: str) -> str:
    try:
        return Path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KnownError(f"Cannot read {name}: {exc}.") from exc


def _revision_line(d: dict[str, Any]) -> str:
    note = f" — {d['note']}" if d["note"] else ""
    votes = "keeps the votes" if d["keeps_votes"] or d["revision"] == 1 else "earlier votes wait for confirmation"
    return (f"revision {d['revision']}  {d['kind']:<8} {d['created_at'][:19]}  {d['created_by']}  "
            f"on {d['base_revision'][:10]}  ({votes}){note}")


def cmd_revise(args: argparse.Namespace) -> int:
    """Make a new revision of a proposal from files holding whole new sections."""
    from reviewer import operations
    from reviewer.revisions import revision_json
    from reviewer.workspace import Workspace

    sections, files = args.section or [], args.text_file or []
    if len(sections) != len(files):
        raise KnownError("Give one --text-file for each --section, in the same order.")
    changes = [(section_id, _read(name)) for section_id, name in zip(sections, files)]
    with Workspace.open(args.workspace) as workspace:
        revision = value_of(operations.revise_proposal(
            workspace, args.proposal_id, actor=args.by, changes=changes, title=args.title, intent=args.intent,
            kind=args.kind, note=args.note or "", seen_revision=args.revision))
    emit(revision_json(revision), args.json,
         lambda d: f"Proposal {d['proposal_id']} is at {_revision_line(d)}.")
    return EXIT_OK


def _plan_json(plan: Any) -> dict[str, Any]:
    return {
        "proposal_id": plan.proposal.id, "revision": plan.proposal.revision, "onto": plan.revision,
        "up_to_date": plan.up_to_date, "conflicts": plan.conflicts,
        "sections": [{
            "section_id": s.section_id, "problem": s.problem, "conflicts": s.conflicts, "merged_text": s.merged_text,
            "hunks": [dict(h.__dict__) for h in s.hunks],
        } for s in plan.sections],
    }


def _plan_text(d: dict[str, Any]) -> str:
    if d["up_to_date"]:
        return f"Proposal {d['proposal_id']} is written against the current spec ({d['onto'][:10]})."
    out = [f"Proposal {d['proposal_id']} (revision {d['revision']}) onto {d['onto'][:10]}:"]
    for s in d["sections"]:
        if s["problem"]:
            out.append(f"  {s['section_id']}: {s['problem']}")
        elif not s["conflicts"]:
            out.append(f"  {s['section_id']}: merges cleanly")
        else:
            out.append(f"  {s['section_id']}: {s['conflicts']} conflicting hunk{'' if s['conflicts'] == 1 else 's'};"
                       " the section with each as current / base / proposed:")
            out.append("")
            for hunk in s["hunks"]:
                if hunk["conflict"]:
                    out += ["<<<<<<< current spec", hunk["current"].rstrip("\n"), "||||||| base",
                            hunk["base"].rstrip("\n"), "=======", hunk["proposed"].rstrip("\n"), ">>>>>>> proposal"]
                else:
                    out.append(hunk["current"].rstrip("\n"))
            out.append("")
    if d["conflicts"]:
        out.append("Save a section as it should read (without the markers) to a file and run "
                   "`spec-review proposal rebase WORKSPACE ID --resolution FILE --by NAME`.")
    return "\n".join(out)


def cmd_rebase(args: argparse.Namespace) -> int:
    """Carry a proposal onto the current spec; with --show, only say how it merges."""
    from reviewer import operations
    from reviewer.revisions import rebase_plan, revision_json
    from reviewer.spec import parse_spec
    from reviewer.workspace import Workspace

    with Workspace.open(args.workspace) as workspace:
        if args.show:
            emit(_plan_json(rebase_plan(workspace, args.proposal_id)), args.json, _plan_text)
            return EXIT_OK
        if not args.by:
            raise KnownError("Say who rebases with --by NAME.")
        resolutions: dict[str, str] = {}
        for name in args.resolution or []:
            text = _read(name)
            headings = parse_spec(text).sections
            if len(headings) != 1 or headings[0].id is None:
                raise KnownError(f"{name} must hold one whole section, heading line included "
                                 f"(it holds {len(headings)} headings).")
            resolutions[headings[0].id] = text
        revision = value_of(operations.rebase_proposal(
            workspace, args.proposal_id, actor=args.by, resolutions=resolutions, note=args.note or "",
            seen_revision=args.revision))
    emit(revision_json(revision), args.json,
         lambda d: f"Proposal {d['proposal_id']} is at {_revision_line(d)}.")
    return EXIT_OK


def cmd_revisions(args: argparse.Namespace) -> int:
    """List a proposal's revisions."""
    from reviewer.revisions import revision_json, revisions
    from reviewer.workspace import Workspace

    with Workspace.open(args.workspace) as workspace:
        data = [revision_json(r) for r in revisions(workspace.store, args.proposal_id)]
    emit(data, args.json, lambda rs: "\n".join(_revision_line(r) for r in rs))
    return EXIT_OK


def cmd_compare(args: argparse.Namespace) -> int:
    """Compare two revisions of a proposal."""
    import difflib

    from reviewer.revisions import compare_revisions
    from reviewer.workspace import Workspace

    with Workspace.open(args.workspace) as workspace:
        diff = compare_revisions(workspace.store, args.proposal_id, args.old, args.new)
    data = {
        "proposal_id": args.proposal_id, "old": diff.old.revision, "new": diff.new.revision,
        "fields": {k: list(v) for k, v in diff.fields.items()},
        "sections": [{"section_id": s.section_id, "old_text": s.old_text, "new_text": s.new_text,
                      "changed": bool(s.hunks)} for s in diff.sections],
    }

    def human(d: dict[str, Any]) -> str:
        out = [f"Proposal {d['proposal_id']}: revision {d['old']} → revision {d['new']}"]
        out += [f"{name}: {old!r} → {new!r}" for name, (old, new) in d["fields"].items()]
        for s in diff.sections:
            if s.hunks:
                out += [line.rstrip("\n") for line in difflib.unified_diff(
                    s.old_text.splitlines(keepends=True), s.new_text.splitlines(keepends=True),
                    f"revision {d['old']}: {s.section_id}", f"revision {d['new']}: {s.section_id}")]
        if len(out) == 1:
            out.append("The same text.")
        return "\n".join(out)

    emit(data, args.json, human)
    return EXIT_OK


def cmd_confirm(args: argparse.Namespace) -> int:
    """Confirm a vote on an earlier revision on the proposal's current text."""
    from reviewer import operations
    from reviewer.governance import decision_json, status_json
    from reviewer.workspace import Workspace

    with Workspace.open(args.workspace) as workspace:
        result = value_of(operations.confirm_vote(workspace, args.proposal_id, actor=args.reviewer,
                                                  rationale=args.rationale))
    data = {"decision": decision_json(result.decision), "status": status_json(result.status)}
    emit(data, args.json, lambda d: (
        f"Confirmed {d['decision']['outcome']} by {d['decision']['reviewer']} on revision "
        f"{d['decision']['proposal_revision']}. Proposal is now {d['status']['status']}."))
    return EXIT_OK


def register(groups: Any) -> None:
    """Add the commands of this module to the parser."""
    p = groups.proposal.add_parser("revise", help="make a new revision: new section texts, title, intent or kind")
    p.add_argument("workspace")
    p.add_argument("proposal_id")
    p.add_argument("--section", action="append", metavar="ID", help="a section to change (repeat for several)")
    p.add_argument("--text-file", action="append", metavar="FILE",
                   help="the whole new section, heading line included (one per --section)")
    p.add_argument("--title")
    p.add_argument("--intent")
    p.add_argument("--kind", choices=["clarification", "principle"])
    p.add_argument("--note", metavar="TEXT", help="what this revision changes, for the reviewers")
    p.add_argument("--revision", type=int, metavar="N", help="the revision you edited (refused if it moved since)")
    p.add_argument("--by", required=True, metavar="NAME")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_revise)

    p = groups.proposal.add_parser("rebase", help="carry a proposal onto the current spec (three-way merge)")
    p.add_argument("workspace")
    p.add_argument("proposal_id")
    p.add_argument("--show", action="store_true",
                   help="only show how each section merges, with each conflict as current / base / proposed")
    p.add_argument("--resolution", action="append", metavar="FILE",
                   help="a conflicting section as it should read, heading line included (repeat for several)")
    p.add_argument("--note", metavar="TEXT")
    p.add_argument("--revision", type=int, metavar="N", help="the revision you rebased (refused if it moved since)")
    p.add_argument("--by", metavar="NAME")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_rebase)

    p = groups.proposal.add_parser("revisions", help="every revision of a proposal")
    p.add_argument("workspace")
    p.add_argument("proposal_id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_revisions)

    p = groups.proposal.add_parser("compare", help="compare two revisions of a proposal")
    p.add_argument("workspace")
    p.add_argument("proposal_id")
    p.add_argument("old", type=int, metavar="OLD")
    p.add_argument("new", type=int, metavar="NEW")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_compare)

    p = groups.top.add_parser("confirm", help="confirm your vote on an earlier revision on the current text")
    p.add_argument("workspace")
    p.add_argument("proposal_id")
    p.add_argument("--reviewer", required=True, metavar="NAME")
    p.add_argument("--rationale", metavar="TEXT", help="new reasons (default: those of the earlier vote)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_confirm)
