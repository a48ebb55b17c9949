"""Discussion commands: comment on a proposal, a section or a justification; list, resolve and reopen threads."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cli.output import emit, value_of
from reviewer.errors import KnownError

EXIT_OK = 0


def _open(path: str) -> Any:
    from reviewer.workspace import Workspace

    return Workspace.open(path)


def _text(args: argparse.Namespace) -> str:
    """The comment's text, from ``--text`` or ``--text-file`` (exactly one)."""
    if (args.text is None) == (args.text_file is None):
        raise KnownError("Give the comment with --text TEXT or --text-file FILE (one of them).")
    if args.text is not None:
        return str(args.text)
    path = Path(args.text_file)
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise KnownError(f"{path} is not UTF-8 text.", hint="Save it as UTF-8 and try again.") from exc
    except OSError as exc:
        raise KnownError(f"Cannot read {path}: {exc.strerror or exc}.") from exc


def _thread_lines(thread: dict[str, Any]) -> list[str]:
    state = f"resolved by {thread['resolved_by']} {thread['resolved_at'][:16].replace('T', ' ')}" if thread[
        "resolved"] else "open"
    lines = [f"Thread {thread['id']} on {thread['target']} ({state})"]
    for comment in thread["comments"]:
        lines.append(f"  {comment['created_at'][:16].replace('T', ' ')}  {comment['author']}:")
        lines += [f"    {line}" for line in comment["text"].splitlines()]
    return lines


def cmd_comment_add(args: argparse.Namespace) -> int:
    """Comment on a proposal: a new thread (on it, a section or a justification) or a reply."""
    from reviewer import operations
    from reviewer.discussion import comment_json

    text = _text(args)
    with _open(args.workspace) as workspace:
        comment = value_of(operations.add_comment(
            workspace, args.proposal_id, text, actor=args.by, section_id=args.section,
            justification_id=args.justification, reply_to=args.reply_to))
    data = comment_json(comment)

    def human(d: dict[str, Any]) -> str:
        what = "Replied in thread" if d["id"] != d["thread_id"] else "Started thread"
        mentions = f", mentioning {', '.join(d['mentions'])}" if d["mentions"] else ""
        return f"{what} {d['thread_id']} as {d['author']}{mentions} (comment {d['id']})."

    emit(data, args.json, human)
    return EXIT_OK


def cmd_comment_list(args: argparse.Namespace) -> int:
    """Every thread on a proposal, with its comments, oldest first."""
    from reviewer.discussion import thread_json, threads_of

    with _open(args.workspace) as workspace:
        threads = [thread_json(t) for t in threads_of(workspace.store, args.proposal_id)]
    if args.open:
        threads = [t for t in threads if not t["resolved"]]
    emit(threads, args.json, lambda ts: "\n".join(line for t in ts for line in _thread_lines(t))
         or "No discussion on this proposal yet.")
    return EXIT_OK


def _set_resolved(args: argparse.Namespace, resolved: bool) -> int:
    from reviewer import operations
    from reviewer.discussion import thread_json

    with _open(args.workspace) as workspace:
        change = operations.resolve_thread if resolved else operations.reopen_thread
        thread = thread_json(value_of(change(workspace, args.thread_id, actor=args.by)))
    emit(thread, args.json, lambda t: f"{'Resolved' if resolved else 'Reopened'} thread {t['id']} on {t['target']}"
         f" ({len(t['comments'])} comment{'' if len(t['comments']) == 1 else 's'}).")
    return EXIT_OK


def cmd_comment_resolve(args: argparse.Namespace) -> int:
    """Resolve a thread."""
    return _set_resolved(args, True)


def cmd_comment_reopen(args: argparse.Namespace) -> int:
    """Reopen a resolved thread."""
    return _set_resolved(args, False)


def register(groups: Any) -> None:
    """Add the ``comment`` commands to the parser."""
    comment = groups.top.add_parser("comment", help="discuss a proposal: comment threads, @mentions, resolve")
    sub = comment.add_subparsers(dest="comment_command", metavar="COMMAND", required=True)
    p = sub.add_parser("add", help="start a thread on a proposal, a section or a justification, or reply in one")
    p.add_argument("workspace")
    p.add_argument("proposal_id")
    p.add_argument("--text", metavar="TEXT", help="the comment; @Name mentions a member")
    p.add_argument("--text-file", metavar="FILE", help="read the comment from this UTF-8 file")
    target = p.add_mutually_exclusive_group()
    target.add_argument("--section", metavar="SECTION_ID", help="start the thread on this section of the proposal")
    target.add_argument("--justification", metavar="JUSTIFICATION_ID",
                        help="start the thread on this justification linked to the proposal")
    target.add_argument("--reply-to", metavar="THREAD_ID", help="reply in this thread (its id or a comment's)")
    p.add_argument("--by", required=True, metavar="NAME", help="who writes it (a member)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_comment_add)
    p = sub.add_parser("list", help="a proposal's threads with their comments")
    p.add_argument("workspace")
    p.add_argument("proposal_id")
    p.add_argument("--open", action="store_true", help="only the threads not resolved")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_comment_list)
    for name, what, func in (("resolve", "resolve a thread (recorded)", cmd_comment_resolve),
                             ("reopen", "reopen a resolved thread (recorded)", cmd_comment_reopen)):
        p = sub.add_parser(name, help=what)
        p.add_argument("workspace")
        p.add_argument("thread_id", help="the thread's id (or any of its comments' ids)")
        p.add_argument("--by", required=True, metavar="NAME", help="who does it (a member)")
        p.add_argument("--json", action="store_true")
        p.set_defaults(func=func)
