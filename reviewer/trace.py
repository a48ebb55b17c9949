"""Traceability: decisions against the spec repository's commits, both ways, and the log's git anchors."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reviewer import audit, gitops
from reviewer.committing import (
    TRAILER_AUDIT_HEAD,
    TRAILER_DECISION,
    TRAILER_PROPOSAL,
    TRAILER_RELEASE,
    TRAILER_WORKSPACE,
)
from reviewer.errors import KnownError
from reviewer.governance import statuses
from reviewer.spec import parse_spec
from reviewer.vocab import Status

if TYPE_CHECKING:
    from reviewer.workspace import Workspace


@dataclass(frozen=True)
class TraceReport:
    """Decisions checked against commits, and commits against decisions.

    Attributes:
        ok: whether no problem was found.
        head: the spec repository's HEAD.
        baseline: the revision the workspace began at (None if unknown).
        proposals: one entry per proposal that is adopted (committed or not).
        commits: one entry per commit that changed the spec file since the baseline.
        problems: sentences naming each disagreement.
    """

    ok: bool
    head: str
    baseline: str | None
    proposals: list[dict[str, Any]] = field(default_factory=list)
    commits: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _history_range(workspace: Workspace, head: str) -> tuple[str, str | None]:
    repo = workspace.spec_repo_path
    baseline = workspace.store.get_info("baseline_revision")
    if baseline and gitops.commit_exists(repo, baseline) and gitops.is_ancestor(repo, baseline, head):
        return f"{baseline}..{head}", baseline
    return head, baseline


def repository_anchors(workspace: Workspace) -> list[tuple[str, audit.Head]]:
    """Return the ``Audit-Head`` trailers of this workspace's commits in the spec repository.

    The repository lies outside the workspace folder and is usually shared, so these anchors hold
    even against someone who can rewrite every file of the workspace. An unreadable repository
    gives no anchors (the other checks still run).
    """
    try:
        head = gitops.resolve_revision(workspace.spec_repo_path, "HEAD")
        rev_range, _baseline = _history_range(workspace, head)
        entries = gitops.log_with_trailers(workspace.spec_repo_path, rev_range)
    except KnownError:
        return []
    anchors = []
    for entry in entries:
        if workspace.config.id not in entry.trailer(TRAILER_WORKSPACE):
            continue
        for value in entry.trailer(TRAILER_AUDIT_HEAD):
            try:
                anchors.append((f"commit {entry.sha[:10]}", audit.parse_head(value.replace(" ", ":", 1))))
            except ValueError:
                anchors.append((f"commit {entry.sha[:10]}", audit.Head(-1, value)))
    return [(source, head_) for source, head_ in anchors if head_.seq >= 0]


def _changed_ids(before: str | None, after: str | None) -> set[str] | None:
    if before is None or after is None:
        return None
    old = {s.id: s.text for s in parse_spec(before).sections if s.id}
    new = {s.id: s.text for s in parse_spec(after).sections if s.id}
    changed = {i for i in old.keys() | new.keys() if old.get(i) != new.get(i)}
    if parse_spec(before).preamble != parse_spec(after).preamble:
        changed.add("(preamble)")
    return changed


def trace(workspace: Workspace) -> TraceReport:
    """Check that every adopted decision has its commit, and every spec commit its decision.

    For each committed proposal: the commit exists on the current branch, names the proposal in
    its trailers, its counted decisions name the commit, and it changed exactly the proposal's
    sections (the spec parsed before and after, section texts compared by id). For each commit
    that changed the spec file since the workspace began: it is explained by a recorded commit of
    the app, or listed as made outside the app. A commit the app made but never recorded is a
    problem until ``spec-review commit`` records it.

    Raises:
        KnownError: the spec repository cannot be read.
    """
    store = workspace.store
    repo = workspace.spec_repo_path
    name = workspace.config.spec_file
    head = gitops.resolve_revision(repo, "HEAD")
    rev_range, baseline = _history_range(workspace, head)
    problems: list[str] = []

    recorded: dict[str, dict[str, Any]] = {}
    for sha, kind, proposal_ids, decision_ids, editor, merged, recovered, tag in store.db.execute(
        "SELECT sha, kind, proposal_ids, decision_ids, editor, merged_sections, recovered, release_tag"
        " FROM spec_commits"
    ):
        recorded[sha] = {
            "kind": kind, "proposal_ids": json.loads(proposal_ids), "decision_ids": json.loads(decision_ids),
            "editor": editor, "merged_sections": json.loads(merged), "recovered": bool(recovered), "release_tag": tag,
        }
    decision_commits: dict[str, dict[str, str | None]] = {}
    for proposal_id, decision_id, sha in store.db.execute(
        "SELECT proposal_id, id, commit_sha FROM decisions"
    ):
        decision_commits.setdefault(proposal_id, {})[decision_id] = sha

    current = statuses(store)
    committed = [s for s in current.values() if s.status == "committed"]
    pairs: list[tuple[str, str]] = []
    for status in committed:
        sha = status.commit_sha or ""
        pairs += [(f"{sha}^", name), (sha, name)]
    texts = gitops.read_files_at(repo, pairs) if pairs else []
    history = gitops.log_with_trailers(repo, rev_range)
    by_sha = {e.sha: e for e in history}

    proposals_out: list[dict[str, Any]] = []
    for index, status in enumerate(committed):
        proposal = store.get_proposal(status.proposal_id)
        sha = status.commit_sha or ""
        entry: dict[str, Any] = {
            "proposal_id": proposal.id, "title": proposal.title, "state": "committed", "commit_sha": sha,
            "sections": proposal.section_ids, "decision_ids": list(status.counted_decisions), "checks": {},
        }
        checks = entry["checks"]
        exists = bool(sha) and gitops.commit_exists(repo, sha)
        checks["commit_exists"] = exists
        if not exists:
            problems.append(f"proposal {proposal.id}: its commit {sha[:10] or '(none)'} is not in the spec repository")
            proposals_out.append(entry)
            continue
        on_branch = gitops.is_ancestor(repo, sha, head)
        checks["on_current_branch"] = on_branch
        if not on_branch:
            problems.append(f"proposal {proposal.id}: its commit {sha[:10]} is not in the history of HEAD")
        log_entry = by_sha.get(sha)
        if log_entry is None:
            log_entry = next(iter(gitops.log_with_trailers(repo, f"{sha}^!")), None)
        names_it = log_entry is not None and proposal.id in log_entry.trailer(TRAILER_PROPOSAL)
        checks["trailers_name_proposal"] = names_it
        if not names_it:
            problems.append(f"proposal {proposal.id}: commit {sha[:10]} does not name it in a {TRAILER_PROPOSAL} trailer")
        named_decisions = set(log_entry.trailer(TRAILER_DECISION)) if log_entry is not None else set()
        adopted = list(status.counted_decisions)
        missing = [d for d in adopted if decision_commits.get(proposal.id, {}).get(d) != sha]
        checks["decisions_name_commit"] = not missing
        if missing:
            problems.append(f"proposal {proposal.id}: adopt decision(s) {', '.join(missing)} do not name commit {sha[:10]}")
        unnamed = [d for d in adopted if d not in named_decisions]
        checks["trailers_name_decisions"] = not unnamed
        if unnamed:
            problems.append(f"proposal {proposal.id}: commit {sha[:10]} does not name decision(s) {', '.join(unnamed)}")
        changed = _changed_ids(texts[2 * index], texts[2 * index + 1])
        if changed is None:
            checks["changed_exactly_its_sections"] = False
            problems.append(f"proposal {proposal.id}: the spec file cannot be read before and after commit {sha[:10]}")
        else:
            exact = changed == set(proposal.section_ids)
            checks["changed_exactly_its_sections"] = exact
            entry["changed_sections"] = sorted(changed)
            if not exact:
                extra = sorted(changed - set(proposal.section_ids))
                absent = sorted(set(proposal.section_ids) - changed)
                detail = "; ".join(
                    part for part in (
                        f"also changed {', '.join(extra)}" if extra else "",
                        f"did not change {', '.join(absent)}" if absent else "",
                    ) if part
                )
                problems.append(f"proposal {proposal.id}: commit {sha[:10]} {detail}")
            after = parse_spec(texts[2 * index + 1] or "")
            # Sections merged three ways (the spec had moved) hold the proposal merged with the
            # later change, not its text alone; every other section must be exactly the proposal's.
            merged = set(recorded.get(sha, {}).get("merged_sections") or ())
            differing = [
                s.section_id for s in proposal.sections
                if s.section_id not in merged and getattr(after.get(s.section_id), "text", None) != s.new_text
            ]
            entry["applied_as_proposed"] = not differing
            checks["applied_as_proposed"] = not differing
            if differing:
                problems.append(
                    f"proposal {proposal.id}: commit {sha[:10]} does not hold the proposal's text for "
                    f"{', '.join(differing)}: the adopted change is not what was committed"
                )
        proposals_out.append(entry)
    for status in current.values():
        if status.status in ("adopted", Status.NEEDS_REBASE):
            proposal = store.get_proposal(status.proposal_id)
            proposals_out.append({
                "proposal_id": proposal.id, "title": proposal.title,
                "state": "awaiting_commit" if status.status == "adopted" else Status.NEEDS_REBASE,
                "commit_sha": None, "sections": proposal.section_ids,
                "decision_ids": list(status.counted_decisions), "detail": status.detail, "checks": {},
            })

    commits_out: list[dict[str, Any]] = []
    for entry_ in gitops.log_with_trailers(repo, rev_range, paths=[name]):
        record = recorded.get(entry_.sha)
        item: dict[str, Any] = {
            "sha": entry_.sha, "subject": entry_.subject, "committed_at": entry_.committed_at,
            "proposal_ids": [], "decision_ids": [],
        }
        if record is not None and record["kind"] == "proposal":
            item.update(explained_by="decision", proposal_ids=record["proposal_ids"],
                        decision_ids=record["decision_ids"], editor=record["editor"])
        elif workspace.config.id in entry_.trailer(TRAILER_WORKSPACE) and entry_.trailer(TRAILER_PROPOSAL) \
                and not entry_.trailer(TRAILER_RELEASE):
            item.update(explained_by="unrecorded", proposal_ids=entry_.trailer(TRAILER_PROPOSAL))
            problems.append(
                f"commit {entry_.sha[:10]} was made by the app for proposal {', '.join(entry_.trailer(TRAILER_PROPOSAL))}"
                " but is not recorded; run `spec-review commit` to record it"
            )
        else:
            item["explained_by"] = "outside"
            problems.append(
                f"commit {entry_.sha[:10]} ({entry_.subject}) changed the spec outside the app: "
                "no adopted proposal explains it"
            )
        commits_out.append(item)
    commits_out.reverse()  # oldest first

    in_history = {e.sha for e in history}
    for sha, record in recorded.items():
        if record["kind"] == "proposal" and sha not in in_history and not gitops.commit_exists(repo, sha):
            problems.append(f"recorded commit {sha[:10]} (proposal {', '.join(record['proposal_ids'])}) is not in the spec repository")
    return TraceReport(not problems, head, baseline, proposals_out, commits_out, problems)


def trace_json(report: TraceReport) -> dict[str, Any]:
    """Return a trace report as plain JSON data."""
    return {
        "ok": report.ok,
        "head": report.head,
        "baseline": report.baseline,
        "proposals": report.proposals,
        "commits": report.commits,
        "outside_commits": sum(1 for c in report.commits if c["explained_by"] == "outside"),
        "problems": report.problems,
    }
