"""Commands for the product's JSONL formats, evidence links and stances, and adding proposals."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli.output import emit, value_of
from reviewer.errors import KnownError
from reviewer.textsafe import display_text

if TYPE_CHECKING:
    from cli.main import CommandGroups
    from reviewer.bulk_labels import BulkResult
    from reviewer.evidence import EvidenceSummary
    from reviewer.search import SearchResult
    from reviewer.triage import EvidenceFilter, TriageResult

FORMAT_HELP = {
    "rankings": "ranker runs: one line per conversation, lines sharing run_id form one run",
    "relevance": "relevance grades: conversation × section → 1–5, with the grader",
    "stances": "stance labels: proposal × justification → stance, with its source",
    "proposals": "proposals: section texts, base revision, linked conversations, expected rankings",
}




def cmd_import(args: argparse.Namespace) -> int:
    """Import a file in one of the product's formats."""
    from reviewer import operations
    from reviewer.store import APP_ACTOR
    from reviewer.workspace import Workspace

    with Workspace.open(args.workspace) as workspace:
        report = value_of(operations.import_file(workspace, args.kind, Path(args.file), actor=APP_ACTOR))
    details = "".join(f", {k.replace('_', ' ')} {v}" for k, v in report.details.items())
    emit(asdict(report), args.json,
          f"Imported {report.kind} from {report.path}: {report.added} added, {report.unchanged} already there{details}.")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Export one of the product's formats."""
    from reviewer.formats import export_file
    from reviewer.workspace import Workspace

    with Workspace.open(args.workspace) as workspace:
        report = export_file(args.kind, workspace.store, Path(args.output))
    emit(asdict(report), args.json, f"Wrote {report.rows} {report.kind} lines to {report.path}.")
    return 0


def _human_evidence(summary: EvidenceSummary, links: list[dict[str, Any]], shown_from: int) -> str:
    counts = summary.counts
    out = [
        f"Proposal {summary.proposal_id}: {summary.links} linked justifications",
        "  " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in counts.items()),
    ]
    for source, by in summary.by_source.items():
        out.append(f"  {source:<40} " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in by.items()))
    if links:
        out.append("")
    for i, link in enumerate(links, start=shown_from + 1):
        label = link["label"]
        where = f"{link['prompt_id']} / {link['annotator_id']}" if link["prompt_id"] else "statement"
        stance = (link["stance"] or "unlabelled").replace("_", " ")
        source_text = f" ({label['source']})" if label else ""
        text = " ".join(link["text"].split())
        out.append(f"{i:>5}. {link['justification_id']}  {stance}{source_text}  [{where}, {link['block']}]")
        out.append(f"       {text[:160]}{'…' if len(text) > 160 else ''}")
    return "\n".join(out)


def _row_json(row: Any) -> dict[str, Any]:
    data = asdict(row)
    data["key"] = list(row.key)
    return data


def _human_triage(result: TriageResult) -> str:
    counts = result.counts
    described = result.filter.describe()
    floor = "at least " if counts.capped else ""
    out = [f"Proposal {result.proposal_id}: {floor}{counts.shown} of {counts.total} linked justifications"
           + (f" ({described})" if described else ""),
           "  " + ", ".join(f"{k.replace('_', ' ')} {floor}{v}" for k, v in counts.counts.items())]
    if counts.capped:
        out.append("  " + counts.note())
    for stance, rows in result.rows.items():
        if not rows:
            continue
        out += ["", f"{stance.replace('_', ' ')} ({counts.counts.get(stance, 0)}):"]
        for i, row in enumerate(rows, start=1):
            where = f"{row.prompt_id} / {row.annotator_id}" if row.prompt_id else "statement"
            source = f"{row.source_kind}:{row.source_name}" if row.source_kind else "no label"
            country = row.demographics.get("country_of_residence")
            language, guessed = row.shown_language()
            facts = ", ".join(x for x in (where, row.block, str(country) if country else "",
                                          f"{language}{'?' if guessed else ''}" if language else "") if x)
            text = " ".join(display_text(row.text).split())
            out.append(f"{i:>5}. {row.justification_id}  ({source})  [{facts}]")
            out.append(f"       {text[:160]}{'…' if len(text) > 160 else ''}")
    return "\n".join(out)


def _evidence_filter(args: argparse.Namespace) -> EvidenceFilter | None:
    from reviewer.triage import EvidenceFilter
    from reviewer.vocab import EvidenceSort

    filt = EvidenceFilter(search=args.search or "", country=args.country, language=args.language,
                          source=args.source, group=args.group, sort=EvidenceSort(args.sort))
    return filt if filt.active else None


def cmd_evidence(args: argparse.Namespace) -> int:
    """Show a proposal's evidence: counts by stance and source, and the links (searched, filtered, sorted)."""
    from reviewer.evidence import evidence_links, evidence_summary, link_json
    from reviewer.triage import triage_evidence
    from reviewer.workspace import Workspace

    filt = _evidence_filter(args)
    if filt is not None:
        if args.offset or args.history:
            raise KnownError("--offset and --history list the whole evidence; leave them out when filtering.")
        with Workspace.open(args.workspace) as workspace:
            result = triage_evidence(workspace, args.proposal_id, filt, stance=args.stance,
                                     limit=50 if args.limit is None else args.limit)
        data = {"proposal_id": result.proposal_id, "filter": asdict(result.filter), "counts": result.counts.counts,
                "shown": result.counts.shown, "links": result.counts.total, "capped": result.counts.capped,
                "items": {s: [_row_json(r) for r in rows] for s, rows in result.rows.items()}}
        emit(data, args.json, lambda _data: _human_triage(result))
        return 0
    with Workspace.open(args.workspace) as workspace:
        summary = evidence_summary(workspace.store, args.proposal_id)
        links = evidence_links(
            workspace.store, args.proposal_id, stance=args.stance, limit=args.limit, offset=args.offset,
            history=args.history,
        )
    rows = [link_json(x) for x in links]
    emit({**summary.to_json(), "items": rows}, args.json, _human_evidence(summary, rows, args.offset))
    return 0


def cmd_evidence_rule(args: argparse.Namespace) -> int:
    """Apply the ranking rule to a proposal's links."""
    from reviewer import operations
    from reviewer.store import APP_ACTOR
    from reviewer.workspace import Workspace

    with Workspace.open(args.workspace) as workspace:
        result = value_of(operations.apply_rule(workspace, args.proposal_id, actor=APP_ACTOR, run_id=args.run))
    data = asdict(result)
    results = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in result.results.items())
    skipped = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in result.skipped.items() if v) or "none"
    emit(data, args.json,
          f"{result.rule} on {result.links} links: {result.added} labels added, {result.unchanged} unchanged"
          f" ({results}); not judged: {skipped}.")
    return 0


def cmd_stance(args: argparse.Namespace) -> int:
    """Set the stance of one link as a person."""
    from reviewer import operations
    from reviewer.workspace import Workspace

    with Workspace.open(args.workspace) as workspace:
        label = value_of(operations.set_stance(workspace, args.proposal_id, args.justification_id, args.stance,
                                      actor=args.person, note=args.note))
    emit({**asdict(label), "source": label.source}, args.json,
          f"Stance of {label.justification_id} set to {label.stance.replace('_', ' ')} by {label.source_name}"
          f" (label {label.id}{', supersedes ' + label.supersedes if label.supersedes else ''}).")
    return 0


def _bulk_json(result: BulkResult) -> dict[str, Any]:
    return {"bulk_id": result.bulk_id, "proposal_id": result.proposal_id, "stance": result.stance,
            "person": result.person, "undone": result.undone, "unchanged": list(result.unchanged),
            "changed": [{"justification_id": c.justification_id, "label_id": c.label_id, "before": asdict(c.before)}
                        for c in result.changed]}


def cmd_label_set(args: argparse.Namespace) -> int:
    """Set the stance of many links at once as a person (one operation, undone by `label undo`)."""
    from reviewer import operations
    from reviewer.workspace import Workspace

    ids = list(args.justification_id or [])
    if args.from_file:
        try:
            ids += [line.strip() for line in Path(args.from_file).read_text(encoding="utf-8").splitlines() if line.strip()]
        except (OSError, UnicodeDecodeError) as exc:
            raise KnownError(f"Cannot read {args.from_file}: {exc}.") from exc
    with Workspace.open(args.workspace) as workspace:
        result = value_of(operations.set_stances(workspace, args.proposal_id, ids, args.stance, actor=args.person,
                                                 note=args.note))
    emit(_bulk_json(result), args.json, result.describe())
    return 0


def cmd_label_undo(args: argparse.Namespace) -> int:
    """Undo a bulk labelling: each link back to exactly the stance it had before."""
    from reviewer import operations
    from reviewer.workspace import Workspace

    with Workspace.open(args.workspace) as workspace:
        result = value_of(operations.undo_stances(workspace, actor=args.person, bulk_id=args.bulk))
    emit(_bulk_json(result), args.json, result.describe())
    return 0


def cmd_link(args: argparse.Namespace) -> int:
    """Link a justification (a Pol.is statement) to a proposal by hand, or remove such a link."""
    from reviewer import operations
    from reviewer.workspace import Workspace

    with Workspace.open(args.workspace) as workspace:
        action = operations.unlink if args.unlink else operations.link
        action(workspace, args.proposal_id, args.justification_id, actor=args.person, note=args.note)
    data = {"proposal_id": args.proposal_id, "justification_id": args.justification_id,
            "linked": not args.unlink, "person": args.person}
    emit(data, args.json, f"{'Unlinked' if args.unlink else 'Linked'} {args.justification_id}.")
    return 0


def _marked(snippet: str, highlights: Sequence[tuple[int, int]]) -> str:
    out, at = [], 0
    for start, end in highlights:
        out += [snippet[at:start], "«", snippet[start:end], "»"]
        at = end
    return "".join(out) + snippet[at:]


def _human_search(result: SearchResult) -> str:
    lines = [result.describe()]
    for n, hit in enumerate(result.hits, start=1):
        where = " / ".join(x for x in (hit.prompt_id, hit.annotator_id) if x) or "statement"
        lines.append(f"{n:>4}. {hit.kind} {hit.id}  [{where}, {hit.field}]")
        lines.append(f"      {_marked(hit.snippet, hit.highlights)}")
    if result.index.action != "fresh":
        lines.append(f"(search index {result.index.action}: {result.index.entries:,} entries"
                     f" in {result.index.seconds:.1f} s)")
    return "\n".join(lines)


def cmd_search(args: argparse.Namespace) -> int:
    """Full-text search over the workspace's prompts, responses and justifications."""
    from reviewer.search import search_workspace
    from reviewer.workspace import Workspace

    with Workspace.open(args.workspace) as workspace:
        result = search_workspace(workspace, args.query, limit=args.limit, kinds=args.kind)
    emit(result.to_json(), args.json, lambda _data: _human_search(result))
    return 0


def cmd_proposal_add(args: argparse.Namespace) -> int:
    """Add a proposal from files holding the new section texts."""
    from reviewer import operations
    from reviewer.evidence import evidence_summary
    from reviewer.formats import ConversationIndex, proposal_json
    from reviewer.rankings import normalise
    from reviewer.store import APP_ACTOR
    from reviewer.workspace import Workspace

    sections = args.section or []
    files = args.text_file or []
    if not sections or len(sections) != len(files):
        raise KnownError("Give one --text-file for each --section, in the same order.")
    changes = []
    for section_id, name in zip(sections, files):
        try:
            changes.append((section_id, Path(name).read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            raise KnownError(f"Cannot read {name}: {exc}.") from exc
    with Workspace.open(args.workspace) as workspace:
        index = ConversationIndex(workspace.store)
        linked: list[str] = []
        for prompt_id in args.link or []:
            conversation_id = index.id_for(prompt_id, "--link")
            if conversation_id not in linked:
                linked.append(conversation_id)
        expected: dict[str, str] | None = None
        for item in args.expect or []:
            prompt_id, sep, ranking = item.partition("=")
            if not sep:
                raise KnownError(f"--expect {item!r}: write PROMPT_ID=RANKING, e.g. p1=A>B>C=D.")
            conversation_id = index.id_for(prompt_id, "--expect")
            if conversation_id not in linked:
                raise KnownError(f"--expect names prompt {prompt_id!r}; link it with --link too.")
            expected = expected or {}
            expected[conversation_id] = normalise(ranking)
        proposal = value_of(operations.add_proposal(
            workspace, actor=args.by or APP_ACTOR, changes=changes, title=args.title, intent=args.intent,
            kind=args.kind, origin=args.origin, base_revision=args.base,
            linked_conversations=linked, expected_ranking=expected, justifications=args.justification or (),
        ))
        data = proposal_json(workspace.store, proposal.id, index)
        data["links"] = evidence_summary(workspace.store, proposal.id).links
    emit(data, args.json, f"Added proposal {proposal.id}: {proposal.title} [{', '.join(proposal.section_ids)}];"
                          f" {data['links']} justifications linked")
    return 0


def register(groups: CommandGroups) -> None:
    """Add the commands of this module to the parser."""
    from reviewer.formats import KINDS

    for kind in KINDS:
        p = groups.import_.add_parser(kind, help=f"import {FORMAT_HELP[kind]} (JSONL)")
        p.add_argument("workspace")
        p.add_argument("file", help="a JSONL file; all or nothing, errors name the line")
        p.add_argument("--json", action="store_true")
        p.set_defaults(func=cmd_import, kind=kind)
        p = groups.export.add_parser(kind, help=f"export {FORMAT_HELP[kind]} (JSONL)")
        p.add_argument("workspace")
        p.add_argument("-o", "--output", required=True, metavar="FILE")
        p.add_argument("--json", action="store_true")
        p.set_defaults(func=cmd_export, kind=kind)

    p = groups.top.add_parser("evidence", help="a proposal's evidence: counts by stance and source, and the links")
    p.add_argument("workspace")
    p.add_argument("proposal_id")
    p.add_argument("--stance", choices=["supports", "refutes", "no_comment", "unlabelled"],
                   help="only links with this effective stance")
    p.add_argument("--limit", type=int, default=None, help="at most this many links")
    p.add_argument("--offset", type=int, default=0, help="skip this many links")
    p.add_argument("--history", action="store_true", help="include every label of each link")
    p.add_argument("--search", metavar="WORDS",
                   help='only justifications holding these words and "phrases" (full-text search)')
    p.add_argument("--country", metavar="NAME", help="only participants living in this country")
    p.add_argument("--language", metavar="CODE", help="only texts in this language (stored, else guessed: es, pt, ...)")
    p.add_argument("--source", choices=["person", "model", "rule", "none"],
                   help="only links whose stance was set by this kind of source (none: unlabelled)")
    p.add_argument("--group", metavar="GROUP_ID",
                   help="only participants in this group: opinion:A (an opinion group) or demographic:age=18-24")
    p.add_argument("--sort", choices=["source", "divisive"], default="source",
                   help="source (default: by who set the stance) or divisive (where the crowd split most evenly first)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_evidence)

    p = groups.top.add_parser("evidence-rule", help="label a proposal's links by the ranking rule (no model)")
    p.add_argument("workspace")
    p.add_argument("proposal_id")
    p.add_argument("--run", metavar="RUN_ID", help="the ranker run to compare with (default: the latest per conversation)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_evidence_rule)

    p = groups.top.add_parser("stance", help="set the stance of one link as a person (earlier labels are kept)")
    p.add_argument("workspace")
    p.add_argument("proposal_id")
    p.add_argument("justification_id")
    p.add_argument("stance", choices=["supports", "refutes", "no-comment", "no_comment"])
    p.add_argument("--person", required=True, metavar="NAME")
    p.add_argument("--note", metavar="TEXT")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_stance)

    label = groups.top.add_parser("label", help="stance labels in bulk, and their undo")
    label_sub = label.add_subparsers(dest="label_command", parser_class=type(label), metavar="COMMAND", required=True)
    p = label_sub.add_parser("set", help="set the stance of many links at once as a person (one operation)")
    p.add_argument("workspace")
    p.add_argument("proposal_id")
    p.add_argument("stance", choices=["supports", "refutes", "no-comment", "no_comment"])
    p.add_argument("justification_id", nargs="*", help="the justifications (ids as `evidence` prints them)")
    p.add_argument("--from-file", metavar="FILE", help="also the justification ids in this file, one a line")
    p.add_argument("--person", required=True, metavar="NAME")
    p.add_argument("--note", metavar="TEXT")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_label_set)
    p = label_sub.add_parser("undo", help="undo a bulk labelling: each link back to exactly its stance before")
    p.add_argument("workspace")
    p.add_argument("--person", required=True, metavar="NAME", help="who undoes it")
    p.add_argument("--bulk", metavar="BULK_ID", help="the bulk labelling to undo (default: the person's latest)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_label_undo)

    p = groups.top.add_parser("evidence-link", help="link a justification (a Pol.is statement) to a proposal by hand")
    p.add_argument("workspace")
    p.add_argument("proposal_id")
    p.add_argument("justification_id")
    p.add_argument("--person", required=True, metavar="NAME")
    p.add_argument("--unlink", action="store_true", help="remove the hand link (it stays in the history)")
    p.add_argument("--note", metavar="TEXT")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_link)

    p = groups.top.add_parser("search", help="full-text search over prompts, responses and justifications")
    p.add_argument("workspace")
    p.add_argument("query", help='words (all must occur; the last one may be the start of a word) and "phrases"')
    p.add_argument("--limit", type=int, default=50, help="at most this many hits (default 50)")
    p.add_argument("--kind", action="append", choices=["conversation", "justification"],
                   help="only this kind of hit (repeat for both; default both)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)

    p = groups.proposal.add_parser("add", help="add a proposal from files holding whole new sections")
    p.add_argument("workspace")
    p.add_argument("--section", action="append", metavar="ID", help="a section to change (repeat for several)")
    p.add_argument("--text-file", action="append", metavar="FILE",
                   help="the whole new section, heading line included (one per --section)")
    p.add_argument("--title", required=True)
    p.add_argument("--intent", required=True)
    p.add_argument("--kind", required=True, choices=["clarification", "principle"])
    p.add_argument("--origin", default="human-first",
                   choices=["automated-batch", "automated-single", "human-first", "imported"])
    p.add_argument("--link", action="extend", nargs="+", metavar="PROMPT_ID", help="linked conversations")
    p.add_argument("--expect", action="append", metavar="PROMPT_ID=RANKING",
                   help="the expected ranking under the new text for a linked conversation")
    p.add_argument("--justification", action="extend", nargs="+", metavar="JUSTIFICATION_ID",
                   help="justifications to link by hand (ids as `search` prints them), in the same operation")
    p.add_argument("--by", metavar="NAME", help="who wrote it (default: spec-review)")
    p.add_argument("--base", default="HEAD", metavar="REV", help="the spec revision it is written against")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_proposal_add)
