"""Governance commands: members, quorum, decide, commit, audit (verify, log, trace) and report."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from typing import Any

from cli.output import emit, value_of
from reviewer.errors import KnownError

EXIT_OK = 0
EXIT_PROBLEM = 1




def _open(path: str) -> Any:
    from reviewer.workspace import Workspace

    return Workspace.open(path)


# ---- members ----------------------------------------------------------------------------------


def _member_json(member: Any) -> dict[str, Any]:
    return {"id": member.id, "name": member.name, "roles": list(member.roles), "created_at": member.created_at,
            "email": member.email, "signing_key": member.signing_key}


def _member_line(data: dict[str, Any]) -> str:
    """``Name <email>: roles`` (the name alone when no email is recorded)."""
    from reviewer.governance import git_identity

    return f"{git_identity(data['name'], data['email'])}: {', '.join(data['roles']) or 'no roles'}"


def cmd_member_add(args: argparse.Namespace) -> int:
    """Add a member (with their git email and signing key), or give a member more roles."""
    from reviewer import operations
    from reviewer.store import APP_ACTOR

    with _open(args.workspace) as workspace:
        member = value_of(operations.add_member(workspace, args.name, args.role or [], actor=args.by or APP_ACTOR,
                                                email=args.email, signing_key=args.signing_key))
    emit(_member_json(member), args.json, _member_line)
    return EXIT_OK


def cmd_member_identity(args: argparse.Namespace) -> int:
    """Record a member's git identity: the email their log commits carry, and their signing key."""
    from reviewer import operations

    with _open(args.workspace) as workspace:
        member = value_of(operations.set_identity(workspace, args.name, args.email, actor=args.by,
                                                  signing_key=args.signing_key))
    emit(_member_json(member), args.json,
         lambda m: _member_line(m) + ("; signing key recorded" if m["signing_key"] else "; no signing key"))
    return EXIT_OK


def cmd_member_remove_role(args: argparse.Namespace) -> int:
    """Take roles away from a member (recorded; the member's history stays)."""
    from reviewer import operations
    from reviewer.store import APP_ACTOR

    with _open(args.workspace) as workspace:
        member = value_of(operations.remove_roles(workspace, args.name, args.role or [], actor=args.by or APP_ACTOR))
    emit(_member_json(member), args.json, _member_line)
    return EXIT_OK


def cmd_member_list(args: argparse.Namespace) -> int:
    """List members with their roles and role history."""
    from reviewer.governance import list_members, role_history

    with _open(args.workspace) as workspace:
        history = role_history(workspace.store)
        rows = []
        for member in list_members(workspace.store):
            data = _member_json(member)
            data["history"] = [
                {"role": h.role, "change": h.change, "by": h.changed_by, "at": h.changed_at}
                for h in history if h.member == member.name
            ]
            rows.append(data)
    emit(rows, args.json, lambda rs: "\n".join(
        f"{r['name']:<24} {', '.join(r['roles']) or '(no roles)':<28} {r['email'] or '(no email)'}" for r in rs
    ) or "No members yet.")
    return EXIT_OK


# ---- quorum and decisions -----------------------------------------------------------------------


def cmd_quorum(args: argparse.Namespace) -> int:
    """Show or change the quorum per authority level."""
    from reviewer import operations
    from reviewer.governance import parse_quorum_setting, quorum_settings
    from reviewer.store import APP_ACTOR

    changes = dict(parse_quorum_setting(text) for text in args.set or [])
    with _open(args.workspace) as workspace:
        settings = (
            value_of(operations.set_quorum(workspace, changes, actor=args.by or APP_ACTOR)) if changes
            else quorum_settings(workspace.store)
        )
    emit(settings, args.json, lambda s: "\n".join(f"{level:<10} {n}" for level, n in s.items()))
    return EXIT_OK


def cmd_decide(args: argparse.Namespace) -> int:
    """Record a reviewer's decision and report the proposal's resulting status."""
    from reviewer import operations
    from reviewer.duty import groups_owed, parse_respond
    from reviewer.evidence import check_split_fields
    from reviewer.governance import decision_json, status_json

    with _open(args.workspace) as workspace:
        if args.split_by is not None:
            check_split_fields(workspace.store, [args.split_by], "Nothing was recorded.",
                               example="spec-review decide WORKSPACE PROPOSAL OUTCOME ... --split-by {field}")
        responses: dict[str, str] = {}
        if args.respond:
            known = [g.id for g in groups_owed(workspace.store, args.proposal_id, args.outcome)]
            responses = dict(parse_respond(text, known) for text in args.respond)
        result = value_of(operations.decide(
            workspace, args.proposal_id, args.outcome, args.rationale, actor=args.reviewer, reason=args.reason,
            revision=args.revision, responses=responses, split_by=args.split_by,
        ))
    data = {"decision": decision_json(result.decision), "status": status_json(result.status),
            "event_seq": result.event_seq}

    def human(d: dict[str, Any]) -> str:
        s = d["status"]
        agreeing = f"{s['agreeing']} of {s['quorum']} needed at level {s['level']}"
        answered = (d["decision"]["duty"] or {}).get("owed", [])
        said = f" Answered {len(answered)} group{'' if len(answered) == 1 else 's'}: " + ", ".join(
            g["name"] for g in answered) + "." if answered else ""
        return (f"Recorded {d['decision']['outcome']} by {d['decision']['reviewer']}.{said} Proposal is now"
                f" {s['status']} ({agreeing}).")

    emit(data, args.json, human)
    return EXIT_OK


# ---- commit ---------------------------------------------------------------------------------------


def cmd_commit(args: argparse.Namespace) -> int:
    """Commit every adopted proposal to the spec repository; optionally cut a release."""
    from reviewer import operations
    from reviewer.committing import report_json

    with _open(args.workspace) as workspace:
        report = value_of(operations.commit(workspace, actor=args.editor, tag=args.tag))
    data = report_json(report)

    def human(d: dict[str, Any]) -> str:
        lines = [f"Note: {note}" for note in d["notes"]]
        lines += [f"{i['proposal_id']}  {i['result']:<12} {i['message']}" for i in d["items"]]
        if not lines:
            lines.append("Nothing adopted is waiting to be committed.")
        if d["release"]:
            lines.append(f"Tagged {d['release']['tag']} at {d['release']['commit_sha'][:10]}.")
        return "\n".join(lines)

    emit(data, args.json, human)
    return EXIT_OK


# ---- audit ---------------------------------------------------------------------------------------


def cmd_audit_verify(args: argparse.Namespace) -> int:
    """Check the audit chain and its anchors; exit 1 naming the first bad event."""
    from reviewer import audit

    if bool(args.repo) == bool(args.workspace):
        raise KnownError("Name either a WORKSPACE or --repo URL_OR_PATH.", hint="See `spec-review audit verify --help`.")
    if args.repo:
        if args.expect:
            raise KnownError("--expect goes with a WORKSPACE, not --repo.")
        return _verify_published(args)

    expected = []
    for text in args.expect or []:
        try:
            expected.append((f"expected {text}", audit.parse_head(text)))
        except ValueError as exc:
            raise KnownError(f"--expect {exc}.") from exc
    from reviewer.replay import verify_workspace

    with _open(args.workspace) as workspace:
        # The file first, then the chain (it proves the log), then the replay (it proves the tables
        # the app shows are what the log says).
        verified = verify_workspace(workspace, expected)
        backwards = audit.clock_regressions(workspace.store.db) if verified.chain.ok else []
    report, mismatches = verified.chain, list(verified.mismatches)
    data = audit.report_json(report)
    data["record"] = {"ok": not mismatches, "mismatches": [asdict(m) for m in mismatches]}
    data["ok"] = report.ok and not mismatches
    data["clock_backwards"] = [{"seq": seq, "at": at, "previous_at": prev} for seq, at, prev in backwards]
    data["notes"] = list(verified.notes)

    def human(d: dict[str, Any]) -> str:
        head = f"head {d['head']['seq']}:{d['head']['hash']}"
        if not report.ok:
            bad = d["first_bad"]
            where = f"event {bad['seq']}" + (f" ({bad['id']})" if bad["id"] else "") if bad["seq"] else "the log"
            return f"Audit log NOT intact: {where}: {bad['reason']}."
        if mismatches:
            lines = [f"Audit log intact ({d['events']} events), but the record does NOT match it: "
                     f"{len(mismatches)} difference{'' if len(mismatches) == 1 else 's'} (table id: field: logged, stored):"]
            lines += [f"  {m.describe()}" for m in mismatches[:50]]
            if len(mismatches) > 50:
                lines.append(f"  ... and {len(mismatches) - 50} more (--json lists them all)")
            return "\n".join(lines)
        lines = [f"Audit log intact: {d['events']} events, {len(d['anchors'])} anchors agree; the record matches "
                 f"the log; {head}."]
        if backwards:
            lines.append(f"Note: {len(backwards)} event{'' if len(backwards) == 1 else 's'} carry a time earlier than "
                         "the event before (a clock running behind?); the record follows the log's order, not the clock:")
            lines += [f"  event {seq}: {at[:19]} after {prev[:19]}" for seq, at, prev in backwards[:10]]
        lines += [f"Note: {note}" for note in d["notes"]]
        return "\n".join(lines)

    emit(data, args.json, human)
    return EXIT_OK if data["ok"] else EXIT_PROBLEM


def cmd_audit_log(args: argparse.Namespace) -> int:
    """List audit events, newest first, filtered."""
    from reviewer import audit

    if args.limit is not None and args.limit < 0:
        raise KnownError("--limit must be 0 or more.")
    with _open(args.workspace) as workspace:
        events = audit.list_events(
            workspace.store.db, action=args.action, object_ref=args.object, actor=args.actor, since=args.since,
            limit=args.limit,
        )
    rows = [audit.event_json(e) for e in events]
    emit(rows, args.json, lambda rs: "\n".join(
        f"{r['seq']:>6}  {r['at']}  {r['actor']:<16} {r['action']:<22} {r['object_type']} {r['object_id'] or ''}"
        for r in rs
    ) or "No events match.")
    return EXIT_OK


def cmd_audit_trace(args: argparse.Namespace) -> int:
    """Check decisions against commits both ways; exit 1 when they disagree."""
    from reviewer.trace import trace, trace_json

    with _open(args.workspace) as workspace:
        report = trace(workspace)
    data = trace_json(report)

    def human(d: dict[str, Any]) -> str:
        lines = [f"{p['proposal_id']}  {p['state']:<16} {p.get('commit_sha') or ''}" for p in d["proposals"]]
        lines += [f"commit {c['sha'][:10]}  {c['explained_by']:<16} {c['subject']}" for c in d["commits"]]
        lines += [f"PROBLEM: {p}" for p in d["problems"]]
        lines.append("Trace OK." if d["ok"] else f"{len(d['problems'])} problem(s).")
        return "\n".join(lines)

    emit(data, args.json, human)
    return EXIT_OK if report.ok else EXIT_PROBLEM


# ---- report ----------------------------------------------------------------------------------------


def cmd_report(args: argparse.Namespace) -> int:
    """Write the transparency report."""
    from pathlib import Path

    from reviewer.report import write_report

    with _open(args.workspace) as workspace:
        summary = write_report(workspace, args.format, Path(args.output), by=args.by)
    emit(asdict(summary), args.json, lambda _s: summary.describe())
    return EXIT_OK


def cmd_audit_rebuild(args: argparse.Namespace) -> int:
    """Write the record rebuilt from the audit log into a new database (never in place)."""
    from pathlib import Path

    from reviewer.rebuild import rebuild_workspace, report_json

    with _open(args.workspace) as workspace:
        report = rebuild_workspace(workspace, Path(args.output))
    data = report_json(report)

    def human(d: dict[str, Any]) -> str:
        lines = [f"Rebuilt the record from {d['events']} events into {d['out_db']}: "
                 + ", ".join(f"{table} {n}" for table, n in d["rows"].items() if n)]
        lines += [f"  copied after its digest matched: {c}" for c in d["copied"]]
        lines += [f"  left out: {c}" for c in d["left_out"]]
        lines += [f"  taken from event times: {col} ({n})" for col, n in d["from_event_times"].items()]
        lines += [f"  not in the log: {c}" for c in d["unlogged"]]
        if report.mismatches:
            lines.append(f"The rebuilt record does NOT pass its own check: {len(report.mismatches)} differences:")
            lines += [f"  {m.describe()}" for m in report.mismatches[:50]]
        else:
            lines.append("The rebuilt record matches the log.")
        return "\n".join(lines)

    emit(data, args.json, human)
    return EXIT_OK if data["ok"] else EXIT_PROBLEM


# ---- registration ----------------------------------------------------------------------------------


def cmd_sync(args: argparse.Namespace) -> int:
    """Send and receive the workspace's log through a remote of its spec repository."""
    from reviewer import operations
    from reviewer.store import APP_ACTOR

    with _open(args.workspace) as workspace:
        report = value_of(operations.sync(workspace, remote=args.remote, actor=args.by or APP_ACTOR,
                                          crowd_files=args.crowd_file))
    data = {"remote": report.remote, "published": report.published, "pushed": report.pushed, "tip": report.tip,
            "received": [{k: e.get(k) for k in ("id", "at", "actor", "action", "object_id")} for e in report.received]}

    def human(d: dict[str, Any]) -> str:
        lines = [report.describe()]
        lines += [f"  {e['at'][:19]}  {e['actor']:<16} {e['action']:<18} {e['object_id'] or ''}" for e in d["received"]]
        return "\n".join(lines)

    emit(data, args.json, human)
    return EXIT_OK


def _verify_published(args: argparse.Namespace) -> int:
    from reviewer.publish import verify_published

    logs = verify_published(args.repo)
    data = {"ok": all(log.ok for log in logs), "logs": [asdict(log) for log in logs]}

    def human(d: dict[str, Any]) -> str:
        lines = []
        for log in logs:
            report = f"report {log.report[:12]} matches it" if log.report and log.ok else (
                "no report published" if not log.report else f"report {log.report[:12]}")
            state = "intact" if log.ok else "NOT intact"
            lines.append(f"Board log {log.workspace_id}: {state}: {log.commits} commits, {log.events} events, "
                         f"{log.decisions} decisions; {report}.")
            lines += [f"  {problem}" for problem in log.problems[:50]]
        return "\n".join(lines)

    emit(data, args.json, human)
    return EXIT_OK if data["ok"] else EXIT_PROBLEM


def cmd_publish(args: argparse.Namespace) -> int:
    """Sync the log with a remote and publish the transparency report beside it."""
    from reviewer.publish import publish
    from reviewer.store import APP_ACTOR

    with _open(args.workspace) as workspace:
        done = publish(workspace, args.remote, actor=args.by or APP_ACTOR, crowd_files=args.crowd_file)
    emit(asdict(done), args.json, lambda d: (
        f"Published to {d['remote']}: the log ({d['events']} events, at {(d['log_tip'] or 'nothing')[:12]}) and its "
        f"report ({d['report'][:12]}). Anyone can check them: spec-review audit verify --repo URL."))
    return EXIT_OK


def cmd_signatures(args: argparse.Namespace) -> int:
    """Show, require or stop requiring signed log commits."""
    from reviewer import operations
    from reviewer.logref import REQUIRE_SIGNED
    from reviewer.store import APP_ACTOR

    with _open(args.workspace) as workspace:
        if args.require or args.allow_unsigned:
            value_of(operations.set_setting(workspace, REQUIRE_SIGNED, "true" if args.require else "false",
                                            actor=args.by or APP_ACTOR))
        required = workspace.store.get_info(REQUIRE_SIGNED) == "true"
    emit({"require_signed": required}, args.json, lambda d: (
        "Log commits must be signed (audit verify checks each one from the event that required it)."
        if d["require_signed"] else "Log commits are signed when git is set to sign; unsigned ones are accepted."))
    return EXIT_OK


def cmd_duty(args: argparse.Namespace) -> int:
    """Show or set the duty to respond's minimum group size and the demographic fields whose groups are owed."""
    from reviewer import operations
    from reviewer.duty import check_field_names, duty_fields, min_group_size, parse_min_group_size
    from reviewer.store import APP_ACTOR

    with _open(args.workspace) as workspace:
        # Both checked before either is written: a bad value changes nothing.
        if args.min_group_size is not None:
            parse_min_group_size(args.min_group_size)
        if args.fields is not None:
            check_field_names(workspace.store, args.fields)
        if args.min_group_size is not None:
            value_of(operations.set_min_group_size(workspace, args.min_group_size, actor=args.by or APP_ACTOR))
        if args.fields is not None:
            value_of(operations.set_duty_fields(workspace, args.fields, actor=args.by or APP_ACTOR))
        size, fields = min_group_size(workspace.store), duty_fields(workspace.store)
    emit({"min_group_size": size, "fields": fields}, args.json, lambda d: (
        f"A decision owes an answer to each group of at least {d['min_group_size']} participants whose 95% interval"
        " lies clearly against it (adopting over an objection, or setting aside what a group supports): the opinion"
        f" groups and the groups of {', '.join(d['fields'])}, whatever split the reviewer shows."))
    return EXIT_OK


def register(groups: Any) -> None:
    """Add the governance commands to the parser."""
    top = groups.top

    for name, what, by, func in [
        ("publish", "sync the log with a remote and publish the transparency report beside it",
         "who publishes (the report commit's author)", cmd_publish),
        ("sync", "send and receive the log through a remote of the spec repository",
         "who syncs (named on the workspace lock while it runs)", cmd_sync),
    ]:
        p = top.add_parser(name, help=what)
        p.add_argument("workspace")
        p.add_argument("--remote", default="origin", metavar="NAME", help="the spec repository's remote (default: origin)")
        p.add_argument("--by", metavar="NAME", help=by)
        p.add_argument("--crowd-file", action="append", default=[], metavar="PATH",
                       help="a crowd file an import received needs and its log commit does not carry (over 50 MB);"
                            " matched by content; repeatable")
        p.add_argument("--json", action="store_true")
        p.set_defaults(func=func)

    p = top.add_parser("signatures", help="show, require or stop requiring signed log commits")
    p.add_argument("workspace")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--require", action="store_true", help="every log commit from now on must be signed")
    which.add_argument("--allow-unsigned", action="store_true", help="stop requiring signatures (recorded)")
    p.add_argument("--by", metavar="NAME", help="who makes the change (recorded in the audit log)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_signatures)

    p = top.add_parser("duty", help="show or set the duty to respond's minimum group size and the demographic"
                                    " fields whose groups are owed an answer")
    p.add_argument("workspace")
    p.add_argument("--min-group-size", metavar="N",
                   help="the fewest participants a group needs for a decision to owe it an answer (default 10)")
    p.add_argument("--fields", metavar="FIELD,FIELD",
                   help="the demographic fields whose groups a decision owes an answer, whatever split is shown"
                        " (default country_of_residence); each must be a field of the crowd data")
    p.add_argument("--by", metavar="NAME", help="who makes the change (recorded in the audit log)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_duty)


    member = top.add_parser("member", help="workspace members and their roles (reviewer, editor, auditor)")
    member_sub = member.add_subparsers(dest="member_command", metavar="COMMAND", required=True)
    p = member_sub.add_parser("add", help="add a member, or give a member more roles")
    p.add_argument("workspace")
    p.add_argument("name")
    p.add_argument("--role", action="append", metavar="ROLE", help="reviewer, editor or auditor (repeatable)")
    p.add_argument("--email", metavar="ADDR", help="a new member's git email: their log commits are authored with it")
    p.add_argument("--signing-key", metavar="KEY", help="a new member's signing key: its fingerprint or public key text")
    p.add_argument("--by", metavar="NAME", help="who makes the change (recorded in the audit log)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_member_add)
    p = member_sub.add_parser("identity", help="record a member's git identity: email and signing key (recorded)")
    p.add_argument("workspace")
    p.add_argument("name")
    p.add_argument("--email", required=True, metavar="ADDR", help="the email their log commits are authored with")
    p.add_argument("--signing-key", metavar="KEY",
                   help="their key's fingerprint or public key text (default: keep the one recorded; \"\" removes it)")
    p.add_argument("--by", required=True, metavar="NAME", help="who makes the change (recorded in the audit log)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_member_identity)
    p = member_sub.add_parser("remove-role", help="take a role away (recorded; history is kept)")
    p.add_argument("workspace")
    p.add_argument("name")
    p.add_argument("--role", action="append", metavar="ROLE", required=True)
    p.add_argument("--by", metavar="NAME")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_member_remove_role)
    p = member_sub.add_parser("list", help="every member with roles, git email and role history")
    p.add_argument("workspace")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_member_list)

    p = top.add_parser("quorum", help="show or set how many reviewers must agree, per authority level")
    p.add_argument("workspace")
    p.add_argument("--set", action="append", metavar="LEVEL=N",
                   help="root, system, developer, user, guideline or none (no authority); repeatable")
    p.add_argument("--by", metavar="NAME")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_quorum)

    p = top.add_parser("decide", help="record a reviewer's decision on a proposal")
    p.add_argument("workspace")
    p.add_argument("proposal_id")
    p.add_argument("outcome", choices=["adopt", "defer", "set-aside"])
    p.add_argument("--reviewer", required=True, metavar="NAME")
    p.add_argument("--rationale", required=True, metavar="TEXT")
    p.add_argument("--reason", metavar="CATEGORY",
                   help="defer: needs-research, needs-product-work, needs-more-evidence, other; "
                        "set-aside: principle, feasibility, risk, insufficient-evidence, other")
    p.add_argument("--revision", type=int, metavar="N",
                   help="the proposal's revision you read (refused if it was revised since)")
    p.add_argument("--split-by", metavar="FIELD",
                   help="the demographic field of the split you looked at, kept with the decision's evidence (default"
                        " country_of_residence); the groups owed an answer are the duty fields' whatever it is")
    p.add_argument("--respond", action="append", default=[], metavar="GROUP=TEXT",
                   help="answer a group the decision goes against (the duty to respond), e.g. "
                        "'opinion:A=...' or 'demographic:country_of_residence=Japan=...'; repeatable;"
                        " proposal show lists the groups owed")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_decide)

    p = top.add_parser("commit", help="commit adopted proposals to the spec repository, one commit each")
    p.add_argument("workspace")
    p.add_argument("--editor", required=True, metavar="NAME")
    p.add_argument("--tag", metavar="TAG", help="then cut a release: a CHANGELOG.md entry and an annotated tag")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_commit)

    audit_parser = top.add_parser("audit", help="verify the audit log, list it, trace decisions to commits")
    audit_sub = audit_parser.add_subparsers(dest="audit_command", metavar="COMMAND", required=True)
    p = audit_sub.add_parser("verify", help="exit 0 when the log is intact, 1 naming the first bad event")
    p.add_argument("workspace", nargs="?", help="the workspace (or --repo for a published record)")
    p.add_argument("--repo", metavar="URL_OR_PATH",
                   help="check the board's record published in this spec repository, with no workspace")
    p.add_argument("--expect", action="append", metavar="SEQ:HASH",
                   help="a head recorded earlier (e.g. from a published report); repeatable")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_audit_verify)
    p = audit_sub.add_parser("rebuild", help="write the record rebuilt from the log into a new database")
    p.add_argument("workspace")
    p.add_argument("-o", "--output", required=True, metavar="NEW_DB",
                   help="the new database file (must not exist; the workspace is never changed)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_audit_rebuild)
    p = audit_sub.add_parser("log", help="list events, newest first")
    p.add_argument("workspace")
    p.add_argument("--action", help="an action (decision.record) or its prefix (decision)")
    p.add_argument("--object", help="an object type (proposal) or an object id")
    p.add_argument("--actor")
    p.add_argument("--since", metavar="TIME", help="ISO-8601 time or date")
    p.add_argument("--limit", type=int, metavar="N")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_audit_log)
    p = audit_sub.add_parser("trace", help="check decisions against the spec repository's commits, both ways")
    p.add_argument("workspace")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_audit_trace)

    p = top.add_parser("report", help="write the transparency report")
    p.add_argument("workspace")
    p.add_argument("--format", required=True, choices=["md", "html", "csv", "json"])
    p.add_argument("-o", "--output", required=True, metavar="FILE")
    p.add_argument("--by", default="country_of_residence", metavar="FIELD",
                   help="demographic field for the split of supports and refutes (default: country_of_residence)")
    p.add_argument("--json", action="store_true", help="print a summary as JSON")
    p.set_defaults(func=cmd_report)
