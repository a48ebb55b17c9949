"""The transparency report: every proposal with its outcome, reasons, evidence, split and commit."""

from __future__ import annotations

import csv
import html
import io
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewer import audit, gitops
from reviewer.decision_evidence import counts_line, labels_digest, share_supporting
from reviewer.errors import KnownError
from reviewer.governance import (
    ROLE_CHANGE_UNKNOWN,
    decided_before_role_change,
    decisions_for,
    decisions_on_earlier_text,
    earlier_text,
    list_members,
    quorum_settings,
    statuses,
)
from reviewer.ids import utc_now
from reviewer.palette import STANCE_COLOURS, STATUS_COLOURS
from reviewer.textsafe import display_text
from reviewer.vocab import Status

if TYPE_CHECKING:
    from reviewer.workspace import Workspace

FORMATS = ("md", "html", "csv", "json")
DEFAULT_BY = "country_of_residence"
UNKNOWN_GROUP = "(not given)"
REPORT_FORMAT = "spec-review-transparency-report"


def _evidence_functions() -> tuple[Callable[..., Any], Callable[..., Any]] | None:
    """Return ``(evidence_summary, evidence_links)`` when the evidence module is there."""
    try:
        from reviewer import evidence
    except ImportError:
        return None
    summary = getattr(evidence, "evidence_summary", None)
    links = getattr(evidence, "evidence_links", None)
    if summary is None or links is None:
        return None
    return summary, links


def _group(value: Any) -> str:
    if value is None or value == "" or value == []:
        return UNKNOWN_GROUP
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def build_report(workspace: Workspace, by: str = DEFAULT_BY) -> dict[str, Any]:
    """Collect the report's data: plain JSON, the same for every output format.

    Args:
        workspace: the open workspace.
        by: the demographic field (a key of ``participants.demographics``) for the split.
    """
    store = workspace.store
    current = statuses(store)
    chain = audit.verify_chain(store.db)
    try:
        spec_revision: str | None = gitops.resolve_revision(workspace.spec_repo_path, "HEAD")
    except KnownError:
        spec_revision = None
    releases = dict(
        store.db.execute("SELECT sha, release_tag FROM spec_commits WHERE kind = 'proposal'").fetchall()
    )
    evidence = _evidence_functions()
    role_unknown = decided_before_role_change(store)
    earlier = decisions_on_earlier_text(store)
    proposals = []
    reviewers: set[str] = set()
    for summary in store.list_proposals():
        proposal = store.get_proposal(summary.id)
        status = current[proposal.id]
        decisions = decisions_for(store, proposal.id)
        reviewers.update(d.reviewer for d in decisions)
        counted = set(status.counted_decisions)
        # Read the labels only where a decision kept evidence to compare them with.
        digest_now = labels_digest(store, proposal.id) if any(d.evidence for d in decisions) else None
        # Each reviewer's latest decision stands; an earlier one of theirs is superseded.
        latest = {d.reviewer: d.id for d in decisions}
        reason_categories = sorted({
            d.reason_category for d in decisions if d.id in counted and d.reason_category
        })
        entry: dict[str, Any] = {
            "id": proposal.id,
            "title": proposal.title,
            "intent": proposal.intent,
            "kind": proposal.kind,
            "origin": proposal.origin,
            "created_by": proposal.created_by,
            "created_at": proposal.created_at,
            "base_revision": proposal.base_revision,
            "sections": proposal.section_ids,
            "revision": proposal.revision,
            "level": status.level,
            "quorum": status.quorum,
            "status": status.status,
            "outcome": status.final_outcome,
            "reason_categories": reason_categories,
            "votes": status.votes,
            "reviewers": sorted(status.votes),
            "decisions": [
                {
                    "id": d.id, "reviewer": d.reviewer, "outcome": d.outcome, "reason_category": d.reason_category,
                    "rationale": d.rationale, "decided_at": d.decided_at, "counted": d.id in counted,
                    "standing": _standing(d.id, counted, latest.get(d.reviewer)),
                    "evidence_at_decision": d.evidence,
                    "evidence_changed_since": bool(d.evidence and d.evidence.get("labels_digest") != digest_now),
                    "decided_before_role_change": d.id in role_unknown,
                    "proposal_revision": d.proposal_revision or 1,
                    "on_earlier_text": d.id in earlier,
                    # The duty to respond: each group the decision owed an answer, with the answer.
                    "responses": _responses(d.duty),
                }
                for d in decisions
            ],
            "commit": None if not status.commit_sha else {
                "sha": status.commit_sha, "release_tag": releases.get(status.commit_sha),
            },
            "evidence": None,
            "split": None,
        }
        if evidence is not None:
            summary_fn, links_fn = evidence
            data = summary_fn(store, proposal.id)
            entry["evidence"] = {"counts": data.counts, "by_source": data.by_source, "links": data.links}
            split: dict[str, dict[str, int]] = {}
            for link in links_fn(store, proposal.id):
                if link.stance not in ("supports", "refutes"):
                    continue
                group = _group((link.demographics or {}).get(by))
                split.setdefault(group, {"supports": 0, "refutes": 0})[link.stance] += 1
            entry["split"] = dict(sorted(split.items(), key=lambda kv: (-sum(kv[1].values()), kv[0])))
        proposals.append(entry)
    return {
        "format": REPORT_FORMAT,
        "version": 1,
        "generated_at": utc_now(),
        "workspace": {
            "id": workspace.config.id, "name": workspace.config.name,
            "spec_file": workspace.config.spec_file, "spec_revision": spec_revision,
        },
        "by": by,
        "evidence_available": evidence is not None,
        "audit": {
            "events": chain.events, "intact": chain.ok, "head": f"{chain.head.seq}:{chain.head.hash}",
            "problem": chain.reason,
        },
        "quorum": quorum_settings(store),
        "members": [{"name": m.name, "roles": list(m.roles)} for m in list_members(store)],
        "reviewers": sorted(reviewers),
        "counts": {s: sum(1 for p in proposals if p["status"] == s) for s in sorted({p["status"] for p in proposals})},
        "proposals": proposals,
        **_agreement(workspace),
    }


AGREEMENT_SEED = 0  # fixed, so the published intervals can be reproduced exactly


def _agreement(workspace: Workspace) -> dict[str, Any]:
    """Crowd–ranker agreement per section (with its chart) and machine-vs-person trust, when there is data.

    The data lists every section; the chart leaves out those with fewer than ``MIN_CONVERSATIONS``
    conversations (their intervals say little) and says how many it left out.
    """
    from reviewer.agreement import MIN_CONVERSATIONS, label_trust, workspace_agreement
    from reviewer.charts import agreement_svg

    try:
        result = workspace_agreement(workspace, seed=AGREEMENT_SEED)
    except KnownError:
        agreement, chart = None, None  # no ranker run yet, or no rankings to compare
    else:
        agreement, chart = result.to_json(), agreement_svg(result.keeping(MIN_CONVERSATIONS))
    trust = [asdict(row) for row in label_trust(workspace.store)]
    return {"agreement": agreement, "agreement_svg": chart, "trust": trust}


# ---- renderers ----------------------------------------------------------------------------------


def render_json(data: dict[str, Any]) -> str:
    """The report as JSON (the figures; the chart is drawn by the HTML report)."""
    return json.dumps({k: v for k, v in data.items() if k != "agreement_svg"}, indent=2, ensure_ascii=False) + "\n"


CSV_COLUMNS = (
    "proposal_id", "title", "kind", "origin", "sections", "level", "quorum", "status", "outcome",
    "reason_categories", "rationales", "reviewers", "supports", "refutes", "no_comment", "unlabelled", "links",
    "evidence_by_source", "split_field", "split", "commit_sha", "release_tag",
)


def render_csv(data: dict[str, Any]) -> str:
    """The report as CSV, one row per proposal (nested values as JSON text)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for p in data["proposals"]:
        counts = (p["evidence"] or {}).get("counts", {})
        writer.writerow([
            p["id"], p["title"], p["kind"], p["origin"], " ".join(p["sections"]), p["level"], p["quorum"],
            p["status"], p["outcome"] or "", " ".join(p["reason_categories"]),
            " | ".join(f"{d['reviewer']} ({d['outcome']}): {d['rationale']}" for d in p["decisions"] if d["counted"])
            or " | ".join(
                f"{d['reviewer']} ({d['outcome']}, {vote_note(p['status'], d['standing'])}): {d['rationale']}"
                for d in p["decisions"] if d["standing"] == "latest"
            ),
            " ".join(p["reviewers"]),
            counts.get("supports", ""), counts.get("refutes", ""), counts.get("no_comment", ""),
            counts.get("unlabelled", ""), (p["evidence"] or {}).get("links", ""),
            json.dumps((p["evidence"] or {}).get("by_source", {}), ensure_ascii=False) if p["evidence"] else "",
            data["by"], json.dumps(p["split"], ensure_ascii=False) if p["split"] is not None else "",
            (p["commit"] or {}).get("sha", ""), (p["commit"] or {}).get("release_tag") or "",
        ])
    return out.getvalue()


def _md(text: Any) -> str:
    """Plain text made safe in Markdown: no raw HTML, no table breaks."""
    return html.escape(display_text(str(text)), quote=False).replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def render_md(data: dict[str, Any]) -> str:
    """The report as Markdown (raw HTML in any input is escaped)."""
    ws = data["workspace"]
    a = data["audit"]
    lines = [
        f"# Transparency report: {_md(ws['name'])}",
        "",
        f"Generated {data['generated_at']} from spec `{_md(ws['spec_file'])}` at `{ws['spec_revision'] or 'unknown'}`.",
        f"Audit log: {a['events']} events, {'intact' if a['intact'] else 'NOT intact: ' + _md(a['problem'])}; "
        f"head `{a['head']}` (check with `spec-review audit verify WORKSPACE --expect {a['head']}`).",
        "",
        "## Quorum",
        "",
        "| level | reviewers needed |",
        "| --- | --- |",
        *[f"| {level} | {n} |" for level, n in data["quorum"].items()],
        "",
        "## Reviewers",
        "",
        ", ".join(_md(r) for r in data["reviewers"]) or "No decisions yet.",
        "",
        "## Proposals",
        "",
        "| status | count |",
        "| --- | --- |",
        *[f"| {s} | {n} |" for s, n in data["counts"].items()],
        "",
    ]
    for p in data["proposals"]:
        commit = p["commit"]
        lines += [
            f"### {_md(p['title'])}",
            "",
            _md(p["intent"]),
            "",
            f"- Proposal: `{p['id']}` ({p['kind']}, {p['origin']}), sections {', '.join(f'`{s}`' for s in p['sections'])}",
            f"- Status: **{p['status']}**; outcome: {p['outcome'] or 'none yet'}"
            + (f"; reason: {', '.join(p['reason_categories'])}" if p["reason_categories"] else ""),
            f"- Quorum: {p['quorum']} at level {p['level']}; reviewers: {', '.join(_md(r) for r in p['reviewers']) or 'none'}",
            f"- Commit: `{commit['sha']}`" + (f" (release {_md(commit['release_tag'])})" if commit["release_tag"] else "")
            if commit else "- Commit: none",
            "",
        ]
        if p["decisions"]:
            lines += ["| decided at | reviewer | outcome | reason | rationale |", "| --- | --- | --- | --- | --- |"]
            lines += [
                f"| {d['decided_at']} | {_md(d['reviewer'])}{_role_note(d, ' ')} | {d['outcome']}"
                f"{_note_md(p['status'], d['standing'])} "
                f"| {d['reason_category'] or ''} | {_md(d['rationale'])} |"
                for d in p["decisions"]
            ]
            lines.append("")
            answered = [(d, r) for d in p["decisions"] for r in d["responses"]]
            if answered:
                lines += ["Answers to the groups each decision went against (the duty to respond):", ""]
                lines += [f"- {_md(d['reviewer'])} ({d['outcome']}) to {_md(r['name'])} ({_md(r['id'])}; "
                          f"{_owed_figures(r)}): {_md(r['response'])}" for d, r in answered]
                lines.append("")
            lines += [f"- {line}" for line in _evidence_moved(p)]
            if _evidence_moved(p):
                lines.append("")
        if p["evidence"] is None:
            lines += ["Evidence: not available in this workspace.", ""]
        else:
            lines.append(_evidence_sentence(p["evidence"]))
            lines.append("")
            if p["evidence"]["by_source"]:
                lines += ["| stance source | supports | refutes | no comment |", "| --- | --- | --- | --- |"]
                lines += [
                    f"| {_md(source)} | {v.get('supports', 0)} | {v.get('refutes', 0)} | {v.get('no_comment', 0)} |"
                    for source, v in p["evidence"]["by_source"].items()
                ]
                lines.append("")
            if p["split"]:
                lines += [f"| {_md(data['by'])} | supports | refutes |", "| --- | --- | --- |"]
                lines += [f"| {_md(g)} | {v['supports']} | {v['refutes']} |" for g, v in p["split"].items()]
                lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


_COLOURS = STANCE_COLOURS  # the app's colour-blind-safe blue and orange, never green and red


def _escape(text: str, quote: bool = True) -> str:
    """Escape data for the HTML report, with bidi overrides shown as markers (they would reorder text)."""
    return html.escape(display_text(str(text)), quote=quote)


def svg_split(split: dict[str, dict[str, int]], title: str, limit: int = 20) -> str:
    """Draw supports (right) and refutes (left) per group as an inline SVG diverging bar chart."""
    esc = _escape
    groups = list(split.items())
    if len(groups) > limit:
        rest = {"supports": sum(v["supports"] for _g, v in groups[limit - 1:]),
                "refutes": sum(v["refutes"] for _g, v in groups[limit - 1:])}
        groups = groups[: limit - 1] + [(f"{len(groups) - limit + 1} other groups", rest)]
    top = max((max(v["supports"], v["refutes"]) for _g, v in groups), default=0) or 1
    row, label_w, half, pad = 20, 170, 150, 40
    width = label_w + 2 * half + 2 * pad
    height = 28 + row * len(groups) + 6
    axis = label_w + pad + half
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{esc(title)}" font-family="sans-serif" font-size="12">',
        f"<title>{esc(title)}</title>",
        f'<text x="{axis - 6}" y="14" text-anchor="end" fill="{_COLOURS["refutes"]}">refutes</text>',
        f'<text x="{axis + 6}" y="14" fill="{_COLOURS["supports"]}">supports</text>',
        f'<line x1="{axis}" y1="20" x2="{axis}" y2="{height - 4}" stroke="#777"/>',
    ]
    for i, (group, values) in enumerate(groups):
        y = 24 + i * row
        refutes_w = values["refutes"] / top * half
        supports_w = values["supports"] / top * half
        label = group if len(group) <= 26 else group[:25] + "…"
        parts += [
            f'<text x="{label_w - 4}" y="{y + 13}" text-anchor="end">{esc(label)}</text>',
            f'<rect x="{axis - refutes_w:.1f}" y="{y + 2}" width="{refutes_w:.1f}" height="{row - 6}" fill="{_COLOURS["refutes"]}"/>',
            f'<rect x="{axis}" y="{y + 2}" width="{supports_w:.1f}" height="{row - 6}" fill="{_COLOURS["supports"]}"/>',
            f'<text x="{axis - refutes_w - 4:.1f}" y="{y + 13}" text-anchor="end">{values["refutes"]}</text>',
            f'<text x="{axis + supports_w + 4:.1f}" y="{y + 13}">{values["supports"]}</text>',
        ]
    parts.append("</svg>")
    return "".join(parts)


def svg_status_bar(counts: dict[str, int]) -> str:
    """Draw the number of proposals per status as an inline SVG bar chart."""
    esc = _escape
    colours = STATUS_COLOURS
    items = list(counts.items())
    top = max((n for _s, n in items), default=0) or 1
    row, label_w, bar = 20, 110, 300
    height = row * len(items) + 6
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + bar + 50}" height="{height}" '
        f'role="img" aria-label="proposals by status" font-family="sans-serif" font-size="12">',
        "<title>proposals by status</title>",
    ]
    for i, (status, n) in enumerate(items):
        y = 3 + i * row
        w = n / top * bar
        parts += [
            f'<text x="{label_w - 4}" y="{y + 13}" text-anchor="end">{esc(status)}</text>',
            f'<rect x="{label_w}" y="{y + 2}" width="{w:.1f}" height="{row - 6}" fill="{colours.get(status, "#888")}"/>',
            f'<text x="{label_w + w + 4:.1f}" y="{y + 13}">{n}</text>',
        ]
    parts.append("</svg>")
    return "".join(parts)


def _evidence_moved(p: dict[str, Any]) -> list[str]:
    """Sentences for the decisions still standing whose evidence has changed since they were made."""
    now = p["evidence"]
    out = []
    for d in p["decisions"]:
        if d["standing"] == "superseded" or not d["evidence_changed_since"]:
            continue
        line = f"Evidence when {d['reviewer']} decided ({d['decided_at'][:10]}): {counts_line(d['evidence_at_decision'])}"
        if now is not None:
            line += f"; now: {counts_line({**now, **share_supporting(now['counts'])})}"
        out.append(line + ".")
    return out


def _responses(duty: dict[str, Any] | None) -> list[dict[str, Any]]:
    """A decision's answers to the groups it owed one: each group's figures with its answer."""
    if not duty:
        return []
    answers = duty.get("responses") or {}
    return [{**g, "response": answers.get(g["id"], "")} for g in duty.get("owed", [])]


def _owed_figures(group: dict[str, Any]) -> str:
    return (f"{group['size']} participants, {group['share'] * 100:.0f}% supporting, 95% interval "
            f"{group['low'] * 100:.0f}%–{group['high'] * 100:.0f}%, clearly {group['stance']}")


def _role_note(d: dict[str, Any], before: str = "") -> str:
    """``(decided before the role change was known)``, ``(on an earlier text (revision 1))`` or both; else ""."""
    notes = [ROLE_CHANGE_UNKNOWN] if d.get("decided_before_role_change") else []
    if d.get("on_earlier_text"):
        notes.append(earlier_text(d.get("proposal_revision")))
    return "".join(f"{before}({note})" for note in notes)


def _standing(decision_id: str, counted: set[str], latest: str | None) -> str:
    """``counted`` (it decided the outcome), ``latest`` (its reviewer's current vote) or ``superseded``."""
    if decision_id in counted:
        return "counted"
    return "latest" if decision_id == latest else "superseded"


def _note_md(status: str, standing: str) -> str:
    note = vote_note(status, standing)
    return f" ({note})" if note else ""


def _note_html(status: str, standing: str) -> str:
    note = vote_note(status, standing)
    return f' <span class="muted">({note})</span>' if note else ""


def vote_note(status: str, standing: str) -> str:
    """Return what to print after a vote's outcome: why it does not (yet) decide, or nothing when it counts.

    Args:
        status: the proposal's status.
        standing: the vote's standing (``counted``, ``latest`` or ``superseded``).
    """
    if standing == "superseded":
        return "superseded"
    if standing == "latest":
        if status == Status.PENDING:
            return "awaiting quorum"
        if status == Status.CONTESTED:
            return "contested"
    return ""
_CSS = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222;line-height:1.45}
h1{font-size:1.6rem}h2{margin-top:2rem;border-bottom:1px solid #ddd}h3{margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
.status{display:inline-block;padding:0 .4rem;border-radius:.3rem;background:#eee;font-weight:600}
code{font-size:.9em;word-break:break-all}.muted{color:#666}.bad{color:#b71c1c;font-weight:600}
section.proposal{border-top:1px solid #eee}
"""


def render_html(data: dict[str, Any]) -> str:
    """The report as one self-contained HTML page: inline CSS and SVG, no scripts, every text escaped."""
    e = _escape
    ws = data["workspace"]
    a = data["audit"]
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Transparency report: {e(ws['name'])}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Transparency report: {e(ws['name'])}</h1>",
        f"<p class=\"muted\">Generated {e(data['generated_at'])} from spec <code>{e(ws['spec_file'])}</code> at "
        f"<code>{e(ws['spec_revision'] or 'unknown')}</code>.</p>",
        "<p>Audit log: " + e(str(a["events"])) + " events, "
        + ("intact" if a["intact"] else f"<span class=\"bad\">not intact: {e(a['problem'] or '')}</span>")
        + f"; head <code>{e(a['head'])}</code>.</p>",
        "<h2>Proposals by status</h2>",
        svg_status_bar(data["counts"]),
        "<h2>Quorum</h2><table><tr><th>level</th><th>reviewers needed</th></tr>",
        *[f"<tr><td>{e(level)}</td><td>{n}</td></tr>" for level, n in data["quorum"].items()],
        "</table>",
        "<h2>Reviewers</h2>",
        f"<p>{e(', '.join(data['reviewers'])) or 'No decisions yet.'}</p>",
        "<h2>Proposals</h2>",
    ]
    for p in data["proposals"]:
        commit = p["commit"]
        out += [
            f'<section class="proposal" id="p-{e(p["id"])}">',
            f"<h3>{e(p['title'])}</h3>",
            f"<p>{e(p['intent'])}</p>",
            "<ul>",
            f"<li>Proposal <code>{e(p['id'])}</code> ({e(p['kind'])}, {e(p['origin'])}); sections "
            + ", ".join(f"<code>{e(s)}</code>" for s in p["sections"]) + "</li>",
            f'<li>Status <span class="status">{e(p["status"])}</span>; outcome {e(p["outcome"] or "none yet")}'
            + (f"; reason {e(', '.join(p['reason_categories']))}" if p["reason_categories"] else "") + "</li>",
            f"<li>Quorum {p['quorum']} at level {e(p['level'])}; reviewers {e(', '.join(p['reviewers']) or 'none')}</li>",
            "<li>Commit " + (
                f"<code>{e(commit['sha'])}</code>" + (f" (release {e(commit['release_tag'])})" if commit["release_tag"] else "")
                if commit else "none"
            ) + "</li>",
            "</ul>",
        ]
        if p["decisions"]:
            out.append("<table><tr><th>decided at</th><th>reviewer</th><th>outcome</th><th>reason</th><th>rationale</th></tr>")
            out += [
                f"<tr><td>{e(d['decided_at'])}</td><td>{e(d['reviewer'])}{e(_role_note(d, ' '))}</td>"
                f"<td>{e(d['outcome'])}{_note_html(p['status'], d['standing'])}</td>"
                f"<td>{e(d['reason_category'] or '')}</td><td>{e(d['rationale'])}</td></tr>"
                for d in p["decisions"]
            ]
            out.append("</table>")
            answered = [(d, r) for d in p["decisions"] for r in d["responses"]]
            if answered:
                out.append("<p>Answers to the groups each decision went against (the duty to respond):</p><ul>")
                out += [f"<li>{e(d['reviewer'])} ({e(d['outcome'])}) to <strong>{e(r['name'])}</strong>"
                        f" (<code>{e(r['id'])}</code>; {e(_owed_figures(r))}): {e(r['response'])}</li>"
                        for d, r in answered]
                out.append("</ul>")
            moved = _evidence_moved(p)
            if moved:
                out.append("<ul>" + "".join(f'<li class="bad">{e(line)}</li>' for line in moved) + "</ul>")
        if p["evidence"] is None:
            out.append('<p class="muted">Evidence: not available in this workspace.</p>')
        else:
            out.append(f"<p>{e(_evidence_sentence(p['evidence']))}</p>")
            if p["evidence"]["by_source"]:
                out.append("<table><tr><th>stance source</th><th>supports</th><th>refutes</th><th>no comment</th></tr>")
                out += [
                    f"<tr><td>{e(source)}</td><td>{v.get('supports', 0)}</td><td>{v.get('refutes', 0)}</td>"
                    f"<td>{v.get('no_comment', 0)}</td></tr>"
                    for source, v in p["evidence"]["by_source"].items()
                ]
                out.append("</table>")
            if p["split"]:
                out.append(f"<p>Supports and refutes by {e(data['by'])}:</p>")
                out.append(svg_split(p["split"], f"{p['title']}: supports and refutes by {data['by']}"))
        out.append("</section>")
    out += _agreement_html(data)
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _agreement_html(data: dict[str, Any]) -> list[str]:
    e = _escape
    out = ["<h2>Crowd and spec-based ranker: agreement by section</h2>"]
    if not data.get("agreement_svg"):
        out.append('<p class="muted">No ranker run to compare with yet.</p>')
    else:
        out.append(
            "<p>Share of response pairs that the crowd and the spec-based ranker order the same way, per "
            "section (conversations graded 5 for relevance), with 95% bootstrap intervals "
            f"(1,000 resamples of conversations, seed {AGREEMENT_SEED}).</p>"
        )
        out.append(data["agreement_svg"])
    out.append("<h2>Machine stance labels against people</h2>")
    if not data.get("trust"):
        out.append('<p class="muted">No link has been labelled by both a person and a model or rule yet.</p>')
    else:
        out.append("<table><tr><th>source</th><th>links compared</th><th>agreeing</th><th>Cohen's kappa</th></tr>")
        for row in data["trust"]:
            share = f"{row['share'] * 100:.0f}%" if row["share"] is not None else "–"
            kappa = f"{row['kappa']:.2f}" if row["kappa"] is not None else "–"
            out.append(
                f"<tr><td>{e(row['source_kind'])}: {e(row['source_name'])}</td><td>{row['compared']}</td>"
                f"<td>{share}</td><td>{kappa}</td></tr>"
            )
        out.append("</table>")
    return out


RENDERERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "json": render_json, "csv": render_csv, "md": render_md, "html": render_html,
}


@dataclass(frozen=True)
class WrittenReport:
    """What ``write_report`` wrote.

    Attributes:
        file: the report's absolute path.
        format: json, csv, md or html.
        proposals: how many proposals it covers.
        evidence_available: whether the evidence counts are in it.
        by: the demographic field of its splits.
    """

    file: str
    format: str
    proposals: int
    evidence_available: bool
    by: str

    def describe(self) -> str:
        """One line for the user."""
        return f"Wrote the {self.format} report on {self.proposals} proposals to {self.file}."


def write_report(workspace: Workspace, fmt: str, output: Path, *, by: str = DEFAULT_BY) -> WrittenReport:
    """Build the report and write it to ``output`` (replaced only once complete).

    Raises:
        KnownError: an unknown format, or the file cannot be written.
    """
    if fmt not in RENDERERS:
        raise KnownError(f"Unknown report format {fmt!r}.", hint=f"Use one of: {', '.join(FORMATS)}.")
    if not by.strip():
        raise KnownError("--by needs a demographic field name, e.g. country_of_residence.")
    data = build_report(workspace, by=by)
    text = RENDERERS[fmt](data)
    output = output.expanduser().absolute()
    if not output.parent.is_dir():
        raise KnownError(f"The folder {output.parent} does not exist.", hint="Create it first or choose another file.")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(tmp, output)
    except OSError as exc:
        raise KnownError(f"Cannot write {output}: {exc.strerror or exc}.") from exc
    return WrittenReport(str(output), fmt, len(data["proposals"]), bool(data["evidence_available"]), by)


def _evidence_sentence(evidence: dict[str, Any]) -> str:
    """Return the one-line count of a proposal's evidence, as both formats print it."""
    c = evidence["counts"]
    unlabelled = f", {c['unlabelled']} unlabelled" if c.get("unlabelled") else ""
    return (f"Evidence: {evidence['links']} linked justifications: {c.get('supports', 0)} support, "
            f"{c.get('refutes', 0)} refute, {c.get('no_comment', 0)} do not comment{unlabelled}.")
