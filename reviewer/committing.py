"""Committing adopted proposals to the spec repository, one commit each, and cutting releases."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewer import audit, gitops
from reviewer.errors import KnownError
from reviewer.governance import ProposalStatus, require_role, statuses
from reviewer.ids import utc_now
from reviewer.locking import workspace_lock
from reviewer.progress import NoProgress, Progress
from reviewer.spec import parse_spec
from reviewer.store import Proposal, Store, sql_errors
from reviewer.vocab import Status

if TYPE_CHECKING:
    from reviewer.workspace import Workspace

CHANGELOG = "CHANGELOG.md"
TRAILER_PROPOSAL = "Proposal-Id"
TRAILER_DECISION = "Decision-Id"
TRAILER_WORKSPACE = "Spec-Review-Workspace"
TRAILER_AUDIT_HEAD = "Audit-Head"
TRAILER_EDITOR = "Editor"
TRAILER_RELEASE = "Release"
# Written before each git commit and removed once it is recorded: a run killed in between leaves
# it, and the next run (holding the workspace lock) knows the half-applied change as its own.
IN_PROGRESS = ".spec-review-commit.json"


def _after_git_commit(proposal_id: str, sha: str) -> None:
    """Run between a git commit and its database record (a seam for tests that simulate a crash).

    Whatever happens here, the next ``commit_adopted`` finds the commit by its trailers and
    completes the record: never a duplicate commit, never a lost decision.
    """


@dataclass(frozen=True)
class CommitItem:
    """What happened to one adopted proposal.

    Attributes:
        proposal_id: the proposal.
        title: its title.
        result: ``committed``, ``recovered`` (an earlier run's commit, now recorded), ``needs_rebase``,
            ``refused`` (a commit naming the proposal whose text is not the proposal's) or the status a
            proposal decided again during its commit now has.
        commit_sha: the commit, when there is one.
        sections: the sections it changes.
        merged_sections: sections merged three ways because the spec had moved.
        message: what happened, in a sentence.
    """

    proposal_id: str
    title: str
    result: str
    commit_sha: str | None
    sections: tuple[str, ...]
    merged_sections: tuple[str, ...] = ()
    message: str = ""


@dataclass(frozen=True)
class ReleaseInfo:
    """A release cut by ``commit --tag``.

    Attributes:
        tag: the annotated tag.
        commit_sha: the CHANGELOG commit the tag points at.
        proposal_ids: the proposals it lists.
    """

    tag: str
    commit_sha: str
    proposal_ids: tuple[str, ...]


@dataclass(frozen=True)
class CommitReport:
    """The result of one ``commit`` run.

    Attributes:
        branch: the branch committed to.
        head_before: HEAD before the run.
        head_after: HEAD after it.
        items: one entry per adopted proposal looked at, in order.
        release: the release, when one was cut.
        notes: what the run repaired before it began (an earlier run's half-applied change).
    """

    branch: str
    head_before: str
    head_after: str
    items: tuple[CommitItem, ...]
    release: ReleaseInfo | None = None
    notes: tuple[str, ...] = ()


# ---- applying a proposal to the current text ----------------------------------------------------


@dataclass(frozen=True)
class Applied:
    """A proposal applied to the current spec text.

    Attributes:
        text: the new spec text (None when it cannot be applied).
        merged: sections merged three ways.
        problem: why it cannot be applied.
    """

    text: str | None
    merged: tuple[str, ...] = ()
    problem: str = ""


def apply_proposal(text: str, proposal: Proposal) -> Applied:
    """Apply a proposal's section texts to ``text``, merging three ways where the spec has moved.

    A section still equal to the proposal's base text is replaced. Otherwise ``git merge-file``
    merges base (the proposal's base text), ours (the section now) and theirs (the new text).
    """
    current_text = text
    merged: list[str] = []
    for change in proposal.sections:
        document = parse_spec(current_text)
        section = document.get(change.section_id)
        if section is None:
            return Applied(None, problem=f"section {change.section_id!r} is no longer in the spec")
        if sum(1 for s in document.sections if s.id == change.section_id) > 1:
            return Applied(None, problem=f"the spec has more than one section with id {change.section_id!r}")
        if section.text == change.new_text:
            continue
        if section.text == change.base_text:
            replacement = change.new_text
        else:
            result = gitops.merge_text(change.base_text, section.text, change.new_text)
            if result.conflicts:
                return Applied(
                    None,
                    problem=(
                        f"section {change.section_id!r}: the spec changed the same lines since the proposal was "
                        f"written against {proposal.base_revision[:10]} ({result.conflicts} conflicting "
                        f"hunk{'s' if result.conflicts != 1 else ''})"
                    ),
                )
            check = parse_spec(result.text)
            if check.preamble or len(check.sections) != 1 or check.sections[0].id != change.section_id:
                return Applied(
                    None,
                    problem=f"section {change.section_id!r}: merging with the current text does not give one whole section",
                )
            replacement = result.text
            merged.append(change.section_id)
        current_text = document.replace_section(change.section_id, replacement)
    if current_text == text:
        return Applied(None, problem="the spec already holds the proposed text (changed outside the app); nothing to commit")
    return Applied(current_text, tuple(merged))


# ---- records --------------------------------------------------------------------------------------


def _one_line(text: str) -> str:
    return " ".join(text.split())


def commit_message(
    proposal: Proposal, status: ProposalStatus, decided: Sequence[tuple[str, str, str]], *, editor: str,
    workspace_id: str, head: audit.Head,
) -> str:
    """Build the commit message of an adopted proposal: what, who decided, and the trailers.

    Args:
        proposal: the proposal.
        status: its final status (level, quorum, counted decisions).
        decided: ``(decision id, reviewer, decided_at)`` of the counted decisions.
        editor: the committing editor.
        workspace_id: the workspace's id.
        head: the audit chain's head when committing (an external anchor of the log).
    """
    lines = [
        f"Adopt: {_one_line(proposal.title)}",
        "",
        proposal.intent.strip(),
        "",
        f"Sections: {', '.join(proposal.section_ids)}",
        f"Adopted by {len(decided)} reviewer{'s' if len(decided) != 1 else ''} "
        f"(quorum {status.quorum} at level {status.level}): "
        + "; ".join(f"{_one_line(reviewer)} at {at}" for _id, reviewer, at in decided),
        "",
        f"{TRAILER_PROPOSAL}: {proposal.id}",
        *[f"{TRAILER_DECISION}: {decision_id}" for decision_id, _r, _a in decided],
        f"{TRAILER_EDITOR}: {_one_line(editor)}",
        f"{TRAILER_WORKSPACE}: {workspace_id}",
        f"{TRAILER_AUDIT_HEAD}: {head.seq} {head.hash}",
    ]
    return "\n".join(lines) + "\n"


class DecidedAgain(Exception):
    """A proposal's counted decisions changed while its commit was being made (raised before recording)."""

    def __init__(self, status: ProposalStatus) -> None:
        super().__init__(status.status)
        self.status = status


def _record_commit(
    store: Store, *, sha: str, parent: str | None, proposal: Proposal, decision_ids: Sequence[str], editor: str,
    merged: Sequence[str], recovered: bool,
) -> None:
    """Write a proposal's commit into the database with its audit event (one transaction).

    The proposal's status is read again inside the transaction: a decision recorded while git
    ran (a slow hook) that changed what counts raises ``DecidedAgain`` and nothing is recorded.
    """
    now = utc_now()
    with sql_errors("recording the commit"), audit.anchored(store.db):
        if store.db.execute("SELECT 1 FROM spec_commits WHERE sha = ?", [sha]).fetchone():
            return
        if not recovered:
            now_status = statuses(store, [proposal.id])[proposal.id]
            if now_status.final_outcome != "adopt" or set(now_status.counted_decisions) != set(decision_ids):
                raise DecidedAgain(now_status)
        store.db.conn.executemany(
            "UPDATE decisions SET commit_sha = ? WHERE id = ? AND proposal_id = ?",
            [(sha, decision_id, proposal.id) for decision_id in decision_ids],
        )
        store.db.execute(
            "INSERT INTO spec_commits (sha, editor, proposal_ids, decision_ids, committed_at, kind, parent_sha,"
            " merged_sections, recovered) VALUES (?, ?, ?, ?, ?, 'proposal', ?, ?, ?)",
            [sha, editor, json.dumps([proposal.id]), json.dumps(list(decision_ids)), now, parent,
             json.dumps(list(merged)), int(recovered)],
        )
        store.db.execute(
            "INSERT INTO proposal_commit_state (proposal_id, state, commit_sha, spec_revision, detail, updated_at)"
            " VALUES (?, 'committed', ?, ?, '', ?) ON CONFLICT(proposal_id) DO UPDATE SET state = 'committed',"
            " commit_sha = excluded.commit_sha, spec_revision = excluded.spec_revision, detail = '',"
            " updated_at = excluded.updated_at",
            [proposal.id, sha, sha, now],
        )
        audit.append_event(
            store.db, actor=editor, action="spec.commit", object_type="spec_commit", object_id=sha,
            payload={
                "proposal_id": proposal.id,
                "decision_ids": list(decision_ids),
                "sections": proposal.section_ids,
                "merged_sections": list(merged),
                "parent": parent,
                "recovered": recovered,
                "committed_at": now,
            },
        )


def _record_needs_rebase(store: Store, proposal: Proposal, revision: str, problem: str, editor: str) -> bool:
    """Mark an adopted proposal as needing a rebase (recorded again only when the reason changes)."""
    with sql_errors("recording the rebase"), audit.anchored(store.db):
        row = store.db.execute(
            "SELECT state, spec_revision, detail FROM proposal_commit_state WHERE proposal_id = ?", [proposal.id]
        ).fetchone()
        if row is not None and (row[0], row[2]) == (Status.NEEDS_REBASE, problem):
            return False
        now = utc_now()
        store.db.execute(
            "INSERT INTO proposal_commit_state (proposal_id, state, commit_sha, spec_revision, detail, updated_at)"
            " VALUES (?, 'needs_rebase', NULL, ?, ?, ?) ON CONFLICT(proposal_id) DO UPDATE SET"
            " state = 'needs_rebase', commit_sha = NULL, spec_revision = excluded.spec_revision,"
            " detail = excluded.detail, updated_at = excluded.updated_at",
            [proposal.id, revision, problem, now],
        )
        audit.append_event(
            store.db, actor=editor, action="proposal.needs_rebase", object_type="proposal", object_id=proposal.id,
            payload={"spec_revision": revision, "reason": problem, "sections": proposal.section_ids, "updated_at": now},
        )
    return True


# ---- the run ----------------------------------------------------------------------------------------


def _check_worktree(workspace: Workspace) -> gitops.WorktreeState:
    repo = workspace.spec_repo_path
    state = gitops.worktree_state(repo)
    if state.head is None:
        raise KnownError(f"The spec repository {repo} has no commits yet.", hint="Commit the spec file first.")
    if state.branch is None:
        raise KnownError(
            f"The spec repository {repo} has a detached HEAD; commits need a branch.",
            hint="Check out the branch to commit to (e.g. `git switch main`); nothing was changed.",
        )
    if state.dirty:
        shown = ", ".join(state.dirty[:5]) + (f" and {len(state.dirty) - 5} more" if len(state.dirty) > 5 else "")
        raise KnownError(
            f"The spec repository {repo} has uncommitted changes ({shown}).",
            hint="Commit or stash them first; nothing was changed.",
        )
    # The tree is clean, so the index holds exactly what HEAD does (and reading it starts no process).
    if not gitops.is_in_index(repo, workspace.config.spec_file):
        raise KnownError(
            f"The spec file {workspace.config.spec_file!r} is not in the repository at {state.head[:10]} on {state.branch}.",
            hint="Restore it or name the right file in workspace.json; nothing was changed.",
        )
    return state


def _scan_range(store: Store, repo_path: Any, head: str) -> str | None:
    """Return the revision range that can hold commits not yet recorded (None: nothing to scan)."""
    row = store.db.execute("SELECT sha FROM spec_commits ORDER BY committed_at DESC, rowid DESC LIMIT 1").fetchone()
    if row is not None:
        if row[0] == head:
            return None
        if gitops.commit_exists(repo_path, row[0]) and gitops.is_ancestor(repo_path, row[0], head):
            return f"{row[0]}..{head}"
    baseline = store.get_info("baseline_revision")
    if baseline and gitops.commit_exists(repo_path, baseline) and gitops.is_ancestor(repo_path, baseline, head):
        return f"{baseline}..{head}"
    return head


def recover_commits(workspace: Workspace, head: str) -> list[CommitItem]:
    """Record commits an earlier run made but could not record (found by their trailers).

    Returns:
        One item per recovered commit.
    """
    store = workspace.store
    rev_range = _scan_range(store, workspace.spec_repo_path, head)
    if rev_range is None:
        return []
    entries = gitops.log_with_trailers(workspace.spec_repo_path, rev_range)
    recorded = {r[0] for r in store.db.execute("SELECT sha FROM spec_commits")}
    current = statuses(store)
    items = []
    for entry in reversed(entries):  # oldest first, as they were made
        if workspace.config.id not in entry.trailer(TRAILER_WORKSPACE) or entry.sha in recorded:
            continue
        if entry.trailer(TRAILER_RELEASE):
            continue  # a CHANGELOG commit; `commit --tag` completes its release
        for proposal_id in entry.trailer(TRAILER_PROPOSAL):
            status = current.get(proposal_id)
            if status is None or status.status == "committed" or status.final_outcome != "adopt":
                continue
            proposal = store.get_proposal(proposal_id)
            if not _is_proposal_applied(workspace, entry, proposal):
                items.append(CommitItem(
                    proposal_id, proposal.title, "refused", entry.sha, tuple(proposal.section_ids),
                    message=f"commit {entry.sha[:10]} names this proposal but its text is not the proposal applied "
                            "to its parent: not recorded as its commit (see `spec-review audit trace`)",
                ))
                continue
            known = {d[0] for d in store.db.execute("SELECT id FROM decisions WHERE proposal_id = ?", [proposal_id])}
            decision_ids = [d for d in entry.trailer(TRAILER_DECISION) if d in known] or list(status.counted_decisions)
            editor = (entry.trailer(TRAILER_EDITOR) or ["spec-review"])[0]
            _record_commit(
                store, sha=entry.sha, parent=entry.parents[0] if entry.parents else None, proposal=proposal,
                decision_ids=decision_ids, editor=editor, merged=(), recovered=True,
            )
            items.append(CommitItem(
                proposal_id, proposal.title, "recovered", entry.sha, tuple(proposal.section_ids),
                message=f"recorded commit {entry.sha[:10]}, made by an earlier run that stopped before recording it",
            ))
    return items


def _is_proposal_applied(workspace: Workspace, entry: gitops.LogEntry, proposal: Proposal) -> bool:
    """Whether commit ``entry`` holds exactly ``proposal`` applied to its parent (what a run of ours makes)."""
    if not entry.parents:
        return False
    name = workspace.config.spec_file
    before, after = gitops.read_files_at(workspace.spec_repo_path, [(entry.parents[0], name), (entry.sha, name)])
    if before is None or after is None:
        return False
    applied = apply_proposal(before, proposal)
    return applied.text == after


def _final_at(store: Store, status: ProposalStatus) -> int:
    """When the proposal became final, as a position in the record (its last counted decision's)."""
    if not status.counted_decisions:
        return 0
    marks = ",".join("?" * len(status.counted_decisions))
    row = store.db.execute(
        f"SELECT max(rowid) FROM decisions WHERE id IN ({marks})", list(status.counted_decisions)
    ).fetchone()
    return int(row[0] or 0)


def commit_adopted(
    workspace: Workspace, editor: str, *, tag: str | None = None, progress: Progress | None = None
) -> CommitReport:
    """Commit every adopted, not yet committed proposal to the spec repository, one commit each.

    Preconditions are checked before anything is written: the editor holds the editor role, the
    repository is on a branch with a clean working tree, the spec file is tracked, and a new tag
    does not exist. A proposal whose sections conflict with the current spec is marked as needing
    a rebase and skipped. A failing git hook stops the run with the working tree restored.

    Args:
        workspace: the open workspace.
        editor: a member holding the editor role.
        tag: when given, cut a release after the commits: a CHANGELOG.md entry (its own commit)
            and an annotated tag.
        progress: reports one tick per proposal.

    Raises:
        KnownError: a precondition fails, or git refuses a commit.
    """
    progress = progress or NoProgress()
    member = require_role(workspace.store, editor, "editor")
    # One commit run per workspace at a time, across processes: a second run waits, then says who.
    with workspace_lock(workspace.root, "commit run", member.name):
        notes = _finish_interrupted(workspace)
        report = _commit_locked(workspace, member.name, tag, progress)
    return CommitReport(report.branch, report.head_before, report.head_after, report.items, report.release,
                        tuple(notes))


def _finish_interrupted(workspace: Workspace) -> list[str]:
    """Undo the half-applied change of a run that was killed before its git commit; say what was done."""
    marker = workspace.root / IN_PROGRESS
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError):
        data = {}
    notes: list[str] = []
    repo = workspace.spec_repo_path
    applied_file = workspace.root / (IN_PROGRESS + ".applied")
    if data.get("head") and gitops.head_sha(repo) == data["head"] and applied_file.is_file():
        if gitops.undo_half_applied(repo, str(data.get("file")), applied_file.read_bytes()):
            notes.append(
                f"An earlier commit run (proposal {data.get('proposal_id')}) stopped before git committed; "
                f"its half-applied change to {data.get('file')} was undone."
            )
    # When HEAD moved, the commit was made: recover_commits records it by its trailers.
    applied_file.unlink(missing_ok=True)
    marker.unlink(missing_ok=True)
    return notes


def _mark_in_progress(workspace: Workspace, head: str, proposal_id: str, applied: bytes) -> None:
    """Say, before git runs, what this run is about to commit (removed once recorded)."""
    root = workspace.root
    try:
        (root / (IN_PROGRESS + ".applied")).write_bytes(applied)
        (root / IN_PROGRESS).write_text(json.dumps({
            "head": head, "proposal_id": proposal_id, "file": workspace.config.spec_file,
            "sha256": hashlib.sha256(applied).hexdigest(), "at": utc_now(),
        }), encoding="utf-8")
    except OSError as exc:
        raise KnownError(f"Cannot write to the workspace {root}: {exc.strerror or exc}.",
                         hint="The workspace folder must be writable to commit; nothing was committed.") from exc


def _clear_in_progress(root: Path) -> None:
    (root / IN_PROGRESS).unlink(missing_ok=True)
    (root / (IN_PROGRESS + ".applied")).unlink(missing_ok=True)


def _check_writable(store: Store) -> None:
    """Take and release the database's write lock before git runs.

    A database another process holds stops the run before a commit is made, not after.
    """
    with sql_errors("checking that the workspace database can be written"), store.db.atomic():
        pass


def _commit_locked(workspace: Workspace, editor: str, tag: str | None, progress: Progress) -> CommitReport:
    """``commit_adopted`` once the workspace lock is held."""
    store = workspace.store
    member = require_role(store, editor, "editor")
    repo = workspace.spec_repo_path
    name = workspace.config.spec_file
    state = _check_worktree(workspace)
    assert state.head is not None and state.branch is not None
    # A spec that no longer parses (an unclosed code fence committed by hand swallows the sections
    # after it) is the problem to report, not every proposal "needing a rebase".
    workspace.load_spec()
    if tag is not None:
        gitops.check_tag_name(repo, tag)
        if gitops.tag_exists(repo, tag) and not _unfinished_release(workspace, tag):
            raise KnownError(f"The tag {tag!r} already exists in the spec repository.", hint="Choose another name; nothing was changed.")
        if gitops.is_untracked(repo, CHANGELOG):
            raise KnownError(
                f"{CHANGELOG} exists in the spec repository but is not tracked.",
                hint="Commit or remove it first; nothing was changed.",
            )
    head_before = head = state.head
    items: list[CommitItem] = list(recover_commits(workspace, head))

    current = statuses(store)
    adopted = [s for s in current.values() if s.status in ("adopted", Status.NEEDS_REBASE)]
    adopted.sort(key=lambda s: (_final_at(store, s), s.proposal_id))
    progress.start(len(adopted), "Committing adopted proposals")
    for status in adopted:
        proposal = store.get_proposal(status.proposal_id)
        # The text as the repository stores it, not as checked out: with core.autocrlf the working
        # copy has CRLF line ends where the blob (and every proposal's base) has LF. The tree is
        # clean, so the two hold the same text; the commit writes the repository's own line ends.
        text = gitops.read_file_at(repo, head, name)
        applied = apply_proposal(text, proposal)
        if applied.text is None:
            _record_needs_rebase(store, proposal, head, applied.problem, member.name)
            items.append(CommitItem(
                proposal.id, proposal.title, Status.NEEDS_REBASE, None, tuple(proposal.section_ids),
                message=f"not committed, needs a rebase: {applied.problem}",
            ))
            progress.tick()
            continue
        decided = [
            tuple(r) for r in store.db.execute(
                f"SELECT id, reviewer, decided_at FROM decisions WHERE id IN ({','.join('?' * len(status.counted_decisions))})"
                " ORDER BY rowid",
                list(status.counted_decisions),
            )
        ]
        message = commit_message(
            proposal, status, decided, editor=member.name, workspace_id=workspace.config.id,
            head=audit.head_of(store.db),
        )
        data = applied.text.encode("utf-8")
        _check_writable(store)
        _mark_in_progress(workspace, head, proposal.id, data)
        try:
            sha = gitops.commit_files(repo, {name: data}, message, expected_head=head)
        except KnownError:
            _clear_in_progress(workspace.root)  # git restored the file: nothing half-applied is left
            raise
        _after_git_commit(proposal.id, sha)
        try:
            _record_commit(
                store, sha=sha, parent=head, proposal=proposal, decision_ids=[d[0] for d in decided],
                editor=member.name, merged=applied.merged, recovered=False,
            )
        except DecidedAgain as again:
            gitops.undo_commit(repo, sha, head)
            _clear_in_progress(workspace.root)
            items.append(CommitItem(
                proposal.id, proposal.title, again.status.status, None, tuple(proposal.section_ids),
                message=f"not committed: decided again while its commit was being made (now "
                        f"{again.status.status.replace('_', ' ')}); the commit was undone",
            ))
            progress.tick()
            continue
        except KnownError as exc:
            raise KnownError(
                f"Proposal {proposal.id} was committed to git as {sha[:10]}, but the commit could not be "
                f"recorded: {exc.message}",
                hint="Run the commit again once the database can be written: it finds the commit by its "
                     "trailers and records it (no second commit is made).",
            ) from exc
        _clear_in_progress(workspace.root)
        merged_note = f" (merged with later changes in {', '.join(applied.merged)})" if applied.merged else ""
        items.append(CommitItem(
            proposal.id, proposal.title, "committed", sha, tuple(proposal.section_ids), applied.merged,
            message=f"committed as {sha[:10]}{merged_note}",
        ))
        head = sha
        progress.tick()
    progress.finish()

    release = _cut_release(workspace, tag, head, member.name) if tag is not None else None
    if release is not None:
        head = release.commit_sha
    return CommitReport(state.branch, head_before, head, tuple(items), release)


# ---- releases ---------------------------------------------------------------------------------------


def changelog_entry(tag: str, date: str, rows: Sequence[tuple[str, str, Sequence[str], str]], newline: str = "\n") -> str:
    """Return the CHANGELOG.md entry of a release.

    Args:
        tag: the release tag.
        date: the release date (YYYY-MM-DD).
        rows: ``(proposal id, title, section ids, commit sha)`` of what went in.
        newline: the file's line ending.
    """
    lines = [f"## {tag} ({date})", ""]
    if not rows:
        lines.append("- No adopted proposals since the previous release.")
    for proposal_id, title, sections, sha in rows:
        lines.append(
            f"- {_one_line(title)} (sections {', '.join(f'`{s}`' for s in sections)}; "
            f"proposal {proposal_id}; commit {sha[:12]})"
        )
    return newline.join(lines) + newline + newline


def insert_changelog_entry(existing: str, entry: str) -> str:
    """Insert ``entry`` as the newest one: before the first ``## `` heading, or after the title."""
    newline = "\r\n" if "\r\n" in existing else "\n"
    if not existing.strip():
        return f"# Changelog{newline}{newline}" + entry
    lines = existing.splitlines(keepends=True)
    for index, line in enumerate(lines):
        if line.startswith("## "):
            return "".join(lines[:index]) + entry + "".join(lines[index:])
    if not existing.endswith(("\n", "\r")):
        existing += newline
    if not existing.endswith(newline + newline):
        existing += newline
    return existing + entry


def _unfinished_release(workspace: Workspace, tag: str) -> bool:
    """Whether ``tag`` is this workspace's release whose record a killed run never wrote."""
    target = gitops.tag_target(workspace.spec_repo_path, tag)
    if target is None:
        return False
    recorded = workspace.store.db.execute(
        "SELECT 1 FROM spec_commits WHERE sha = ? AND kind = 'release'", [target]).fetchone()
    if recorded:
        return False
    entries = gitops.log_with_trailers(workspace.spec_repo_path, f"{target}^!")
    return bool(entries) and tag in entries[0].trailer(TRAILER_RELEASE) and (
        workspace.config.id in entries[0].trailer(TRAILER_WORKSPACE))


def _cut_release(workspace: Workspace, tag: str, head: str, editor: str) -> ReleaseInfo:
    store = workspace.store
    repo = workspace.spec_repo_path
    rows = store.db.execute(
        "SELECT sha, proposal_ids FROM spec_commits WHERE kind = 'proposal' AND release_tag IS NULL"
        " ORDER BY committed_at, rowid"
    ).fetchall()
    listed: list[tuple[str, str, Sequence[str], str]] = []
    proposal_ids: list[str] = []
    for sha, ids_json in rows:
        for proposal_id in json.loads(ids_json):
            proposal = store.get_proposal(proposal_id)
            listed.append((proposal.id, proposal.title, proposal.section_ids, sha))
            proposal_ids.append(proposal.id)
    # A run that stopped after the CHANGELOG commit left a commit with this release's trailer.
    baseline = store.get_info("baseline_revision")
    rev_range = head
    if baseline and gitops.commit_exists(repo, baseline) and gitops.is_ancestor(repo, baseline, head):
        rev_range = f"{baseline}..{head}"
    previous = [
        e for e in gitops.log_with_trailers(repo, rev_range)
        if tag in e.trailer(TRAILER_RELEASE) and workspace.config.id in e.trailer(TRAILER_WORKSPACE)
    ]
    if previous:
        sha = previous[0].sha
    else:
        existing = (repo / CHANGELOG).read_bytes().decode("utf-8") if (repo / CHANGELOG).exists() else ""
        newline = "\r\n" if "\r\n" in existing else "\n"
        entry = changelog_entry(tag, utc_now()[:10], listed, newline)
        audit_head = audit.head_of(store.db)
        message = "\n".join([
            f"Release {tag}",
            "",
            f"{len(listed)} adopted proposal{'s' if len(listed) != 1 else ''} since the previous release:",
            *[f"- {_one_line(t)} ({p})" for p, t, _s, _c in listed],
            "",
            f"{TRAILER_RELEASE}: {tag}",
            f"{TRAILER_EDITOR}: {_one_line(editor)}",
            f"{TRAILER_WORKSPACE}: {workspace.config.id}",
            f"{TRAILER_AUDIT_HEAD}: {audit_head.seq} {audit_head.hash}",
        ]) + "\n"
        sha = gitops.commit_files(
            repo, {CHANGELOG: insert_changelog_entry(existing, entry).encode("utf-8")}, message, expected_head=head
        )
        _after_git_commit(f"release {tag}", sha)
    summary = "\n".join([f"Release {tag}", ""] + [f"- {_one_line(t)} ({p})" for p, t, _s, _c in listed])
    if gitops.tag_target(repo, tag) != sha:  # a killed run may have tagged it already
        gitops.create_tag(repo, tag, summary + "\n", sha)
    now = utc_now()
    with sql_errors("recording the release"), audit.anchored(store.db):
        store.db.execute(
            "INSERT INTO spec_commits (sha, editor, proposal_ids, decision_ids, committed_at, kind, parent_sha,"
            " release_tag) VALUES (?, ?, ?, '[]', ?, 'release', ?, ?) ON CONFLICT(sha) DO NOTHING",
            [sha, editor, json.dumps(proposal_ids), now, head, tag],
        )
        store.db.conn.executemany(
            "UPDATE spec_commits SET release_tag = ? WHERE sha = ? AND kind = 'proposal'", [(tag, r[0]) for r in rows]
        )
        audit.append_event(
            store.db, actor=editor, action="spec.release", object_type="spec_commit", object_id=sha,
            payload={"tag": tag, "proposal_ids": proposal_ids, "changelog": CHANGELOG, "committed_at": now,
                     "parent": head, "commits": [r[0] for r in rows]},
        )
    return ReleaseInfo(tag, sha, tuple(proposal_ids))


def report_json(report: CommitReport) -> dict[str, Any]:
    """Return a commit report as plain JSON data."""
    return {
        "branch": report.branch,
        "head_before": report.head_before,
        "head_after": report.head_after,
        "committed": sum(1 for i in report.items if i.result == "committed"),
        "recovered": sum(1 for i in report.items if i.result == "recovered"),
        Status.NEEDS_REBASE: sum(1 for i in report.items if i.result == Status.NEEDS_REBASE),
        "items": [dict(i.__dict__, sections=list(i.sections), merged_sections=list(i.merged_sections)) for i in report.items],
        "release": None if report.release is None else {
            "tag": report.release.tag, "commit_sha": report.release.commit_sha,
            "proposal_ids": list(report.release.proposal_ids),
        },
        "notes": list(report.notes),
    }


# ---- preview: what a commit run would do, without writing ------------------------------------------


@dataclass(frozen=True)
class PlannedCommit:
    """What committing one adopted proposal would do, worked out without writing anything.

    Attributes:
        proposal_id: the proposal.
        title: its title.
        sections: the sections it changes.
        result: ``clean`` (its sections still hold its base text), ``merged`` (merged three ways
            with later changes to the spec) or ``conflict`` (it cannot be applied; see ``reason``).
        merged_sections: the sections that would be merged three ways.
        conflict_section: the section that does not apply (None when it applies, or when the
            fault is not one section's, e.g. the spec already holds the proposed text).
        reason: why it cannot be applied ('' when it can).
        text_before: the spec text it would be applied to (after the proposals planned before it).
        text_after: the spec text after it (None on a conflict).
        status: its status now: ``adopted``, or ``needs_rebase`` after an earlier run found a conflict.
        recorded_problem: the reason recorded by that earlier run, if any.
    """

    proposal_id: str
    title: str
    sections: tuple[str, ...]
    result: str
    merged_sections: tuple[str, ...]
    conflict_section: str | None
    reason: str
    text_before: str
    text_after: str | None
    status: str = "adopted"
    recorded_problem: str = ""


@dataclass(frozen=True)
class CommitPlan:
    """Adopted proposals applied one after another to a spec text, as ``commit_adopted`` would.

    Attributes:
        original_text: the spec text before any of them.
        final_text: the text after every proposal that applies.
        items: one entry per proposal, in commit order.
    """

    original_text: str
    final_text: str
    items: tuple[PlannedCommit, ...]


@dataclass(frozen=True)
class CommitPreview:
    """What ``commit_adopted`` would do now, and whether it could run at all.

    Attributes:
        head: the spec repository's HEAD.
        branch: its branch (None when HEAD is detached).
        spec_file: the spec file's path in the repository.
        plan: the proposals applied to the spec file at HEAD.
        blocker: why a commit run would be refused now (detached HEAD, uncommitted changes...),
            '' when nothing stands in the way.
        blocker_hint: what to do about it.
    """

    head: str
    branch: str | None
    spec_file: str
    plan: CommitPlan
    blocker: str = ""
    blocker_hint: str = ""


def _conflicting_section(text: str, proposal: Proposal) -> str | None:
    """Return the first section of ``proposal`` that does not apply to ``text`` (None: not one section's fault)."""
    import dataclasses

    current = text
    for change in proposal.sections:
        section = parse_spec(current).get(change.section_id)
        if section is not None and section.text == change.new_text:
            continue  # already there: not a conflict of this section
        step = apply_proposal(current, dataclasses.replace(proposal, sections=(change,)))
        if step.text is None:
            return change.section_id
        current = step.text
    return None


def plan_commits(text: str, proposals: Sequence[Proposal]) -> CommitPlan:
    """Apply ``proposals`` in order to ``text``, each to the result of those before it; pure.

    A proposal that does not apply is skipped, as ``commit_adopted`` skips it (marking it as
    needing a rebase), and the next one is applied to the same text.

    Args:
        text: the spec text (the file at HEAD).
        proposals: the proposals in commit order.

    Returns:
        Per proposal, how it would apply and the text before and after it; and the final text.
    """
    current = text
    items = []
    for proposal in proposals:
        applied = apply_proposal(current, proposal)
        if applied.text is None:
            items.append(PlannedCommit(
                proposal.id, proposal.title, tuple(proposal.section_ids), "conflict", (),
                _conflicting_section(current, proposal), applied.problem, current, None,
            ))
            continue
        items.append(PlannedCommit(
            proposal.id, proposal.title, tuple(proposal.section_ids), "merged" if applied.merged else "clean",
            applied.merged, None, "", current, applied.text,
        ))
        current = applied.text
    return CommitPlan(text, current, tuple(items))


def commit_order(store: Store) -> list[ProposalStatus]:
    """Return the adopted, not yet committed proposals (``needs_rebase`` ones too) in the order ``commit_adopted`` takes them."""
    adopted = [s for s in statuses(store).values() if s.status in ("adopted", Status.NEEDS_REBASE)]
    adopted.sort(key=lambda s: (_final_at(store, s), s.proposal_id))
    return adopted


def preview_commit(workspace: Workspace) -> CommitPreview:
    """Work out what ``commit_adopted`` would commit now, without writing to the repository or the database.

    The proposals are applied to the spec file at HEAD, in commit order. Whatever would make
    ``commit_adopted`` refuse to run (a detached HEAD, uncommitted changes, an untracked spec
    file) is reported as the blocker instead of raised, so the plan can still be shown.

    Raises:
        KnownError: the spec repository or its spec file at HEAD cannot be read.
    """
    import dataclasses

    store = workspace.store
    repo = workspace.spec_repo_path
    name = workspace.config.spec_file
    blocker = hint = ""
    try:
        _check_worktree(workspace)
    except KnownError as exc:
        blocker, hint = exc.message, exc.hint or ""
    head = gitops.resolve_revision(repo, "HEAD")
    branch = gitops.worktree_state(repo).branch
    text = gitops.read_file_at(repo, head, name)
    order = commit_order(store)
    plan = plan_commits(text, [store.get_proposal(s.proposal_id) for s in order])
    items = tuple(
        dataclasses.replace(item, status=status.status, recorded_problem=status.detail)
        for item, status in zip(plan.items, order, strict=True)
    )
    return CommitPreview(head, branch, name, dataclasses.replace(plan, items=items), blocker, hint)
