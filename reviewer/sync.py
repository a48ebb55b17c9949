"""Sync a workspace's log ref with a remote of its spec repository: boards on many machines, through git.

``sync`` publishes what this machine has not yet written to its log ref, fetches the remote's log
ref, and then:

- the remote has nothing new: pushes this machine's commits (a fast-forward; a push refused
  because the remote moved meanwhile is fetched and tried again);
- only the remote has new events: receives them; the log ref moves forward to the remote's commit;
- both have new events: a merge commit (no events of its own) joins the two, then as above.

Receiving: every machine replays the log in one order (``deterministic_order``). The local chain
is kept as far as it agrees with that order and sealed again from there (received events keep
their ids and times); the record is rebuilt from the log into a scratch database
(``rebuild.rebuild_workspace``) that must match it, and the tables a received event can change are
replaced by the scratch database's in one transaction (the app may stay open meanwhile).

Crowd imports received (CA-1, Pol.is) are run again in the scratch database from the files their
commits carry (or files given by content, ``crowd_files``), with the import's own id and time; the
rows must match the event's digests.

Spec commits and releases travel through the remote's spec branch and tags (``reviewer.spec_branch``):
the branch is pushed before the log that names them, and fetched before they are received.

A remote log that is not a descendant of what this machine last saw of it was rewritten: it is
refused, and nothing is fast-forwarded over it. So is an event of a kind this version does not
know, or one whose rows an older version did not carry on the log ref.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewer import audit, gitops
from reviewer.digests import CROWD_TABLES
from reviewer.errors import KnownError
from reviewer.governance import git_author
from reviewer.held import HELD_KEY, HeldLog, file_words, held_log
from reviewer.ids import utc_now
from reviewer.locking import workspace_lock
from reviewer.log_rows import ROW_IMPORTS
from reviewer.logref import (
    CROWD_IMPORTS,
    LogCommit,
    import_files,
    read_attachments,
    read_import_files,
    read_rows,
)
from reviewer.progress import NoProgress, Progress
from reviewer.spec_branch import SPEC_EVENTS, catch_up, fetch_spec_commits, send_spec_commits
from reviewer.store import Store, sql_errors, stored_order
from reviewer.workspace_file import DB_FILE

if TYPE_CHECKING:
    from reviewer.importing import ImportSummary
    from reviewer.workspace import Workspace

# Events whose rows travel whole in their payload: a machine that receives them can rebuild them.
RECEIVABLE = frozenset({
    "workspace.create", "member.add", "member.role_add", "member.role_remove", "member.set_identity", "quorum.set",
    "workspace.set",
    "proposal.add", "proposal.revise", "evidence.link", "evidence.unlink", "stance.set", "stance.bulk", "stance.undo",
    "decision.record",
    "comment.add", "comment.resolve", "comment.reopen",
    # Crowd imports travel as their files (``imports/<sha256>`` on the log ref) and are run again here;
    # format imports, rule runs, lexical grades and model runs as their rows (``rows/<event id>.json``).
    *CROWD_IMPORTS, *ROW_IMPORTS, "evidence.rule", "judge.start", "judge.resume", "judge.finish", "judge.fail",
    "judge.cancel",
    # Spec commits and releases: their commits come through the remote's spec branch and tags.
    *SPEC_EVENTS, "proposal.needs_rebase",
})
MOST_PUSH_TRIES = 3


@dataclass(frozen=True)
class SyncReport:
    """What a sync did.

    Attributes:
        remote: the remote's name.
        published: events this machine wrote to its log ref first (left from earlier operations).
        received: the events received from the remote, in the order applied.
        pushed: commits the remote received from this machine.
        tip: the log ref's commit afterwards, the same on both sides.
        notes: what the sync could not do beside it (the spec branch not moved forward, and why).
    """

    remote: str
    published: int
    received: tuple[dict[str, Any], ...]
    pushed: int
    tip: str | None
    notes: tuple[str, ...] = ()
    held: HeldLog | None = None

    def describe(self) -> str:
        """One line for people."""
        if self.held is not None:
            got = f"received {len(self.received):,} event{'' if len(self.received) == 1 else 's'}; "
            return f"Synced with {self.remote}: {got}{self.held.describe()}"
        parts = []
        if self.received:
            parts.append(f"received {len(self.received)} event{'' if len(self.received) == 1 else 's'}")
        if self.pushed:
            parts.append(f"sent {self.pushed} commit{'' if self.pushed == 1 else 's'}")
        what = " and ".join(parts) if parts else "already in step"
        return f"Synced with {self.remote}: {what}; the log is at {(self.tip or 'nothing yet')[:12]}." + "".join(
            f" {note}" for note in self.notes)


def describe_event(event: dict[str, Any]) -> str:
    """One line for people about a received event: ``Jonas Lindqvist adopted "Title"``."""
    actor, action = str(event.get("actor")), str(event.get("action"))
    payload = event.get("payload") or {}
    title = payload.get("title")
    if action == "decision.record":
        outcome = {"adopt": "adopted", "defer": "deferred", "set_aside": "set aside"}.get(str(payload.get("outcome")),
                                                                                       str(payload.get("outcome")))
        return f"{actor} {outcome} \u201c{title}\u201d" if title else f"{actor} {outcome} a proposal"
    if action == "member.add":
        return f"{actor} added {payload.get('name')} ({', '.join(payload.get('roles') or ()) or 'no roles'})"
    if action in ("member.role_add", "member.role_remove"):
        return f"{actor} changed {payload.get('name')}'s roles to {', '.join(payload.get('roles') or ()) or 'none'}"
    if action == "member.set_identity":
        return f"{actor} set {payload.get('name')}'s git email to {payload.get('email')}"
    if action == "proposal.add":
        return f"{actor} proposed \u201c{title}\u201d" if title else f"{actor} added a proposal"
    if action == "proposal.revise":
        how = "rebased" if payload.get("kind") in ("rebase", "resolve") else "revised"
        return f"{actor} {how} \u201c{title}\u201d (revision {payload.get('revision')})"
    if action == "comment.add":
        said = " ".join(str(payload.get("text", "")).split())
        said = said if len(said) <= 60 else said[:59] + "\u2026"
        mentions = payload.get("mentions") or ()
        verb = "replied" if payload.get("comment_id") != payload.get("thread_id") else "commented"
        return f"{actor} {verb}: \u201c{said}\u201d" + (f" (mentioning {', '.join(mentions)})" if mentions else "")
    if action in ("comment.resolve", "comment.reopen"):
        return f"{actor} {'resolved' if action == 'comment.resolve' else 'reopened'} a discussion thread"
    if action == "stance.set":
        return f"{actor} labelled a justification {str(payload.get('stance', '')).replace('_', ' ')}"
    if action == "stance.bulk":
        n = len(payload.get("labels") or ())
        return f"{actor} labelled {n} justifications {str(payload.get('stance', '')).replace('_', ' ')}"
    if action == "stance.undo":
        return f"{actor} undid the labelling of {len(payload.get('labels') or ())} justifications"
    if action == "groups.compute":
        return f"{actor} found {payload.get('k')} opinion groups ({payload.get('source')})"
    return f"{actor}: {action}"


@dataclass(frozen=True)
class SyncState:
    """Where this machine's log stands against a remote, as of the last sync (no network used).

    Attributes:
        remote: the remote's name, or None when the spec repository has no ``origin``.
        unsent: log commits this machine has that the remote did not have at the last sync.
        last_synced: when this machine last synced with it (ISO-8601), or None.
        waiting: the part of the board's log a joining workspace still waits for (``reviewer.held``).
    """

    remote: str | None
    unsent: int
    last_synced: str | None
    waiting: HeldLog | None = None

    def describe(self) -> str:
        """A few words for the status bar."""
        if self.waiting is not None:
            return (f"log: joining, {self.waiting.held:,} events wait for {self.waiting.file_words()}"
                    " (import that file to finish)")
        if self.remote is None:
            return "log: local only (no origin)"
        when = f"last sync {self.last_synced[:16].replace('T', ' ')} UTC" if self.last_synced else "never synced"
        waiting = f"{self.unsent} commit{'' if self.unsent == 1 else 's'} to send" if self.unsent else "all sent"
        return f"log: {waiting} · {when} with {self.remote}"


def sync_state(workspace: Workspace, remote: str = "origin") -> SyncState:
    """How far this machine's log is ahead of what ``remote`` had at the last sync (reads git only locally)."""
    log = workspace.store.log_ref
    waiting = held_log(workspace.store)
    if waiting is not None:
        return SyncState(waiting.remote, 0, None, waiting)
    if log is None or remote not in gitops.remotes(log.repo):
        return SyncState(None, 0, None)
    tip, seen = log.tip(), _remembered_remotes(log).get(remote)
    unsent = _count_commits(log.repo, tip, seen if seen and gitops.commit_exists(log.repo, seen) else None) if tip else 0
    synced = log._remembered().get("synced_at")
    when = synced.get(remote) if isinstance(synced, dict) else None
    return SyncState(remote, unsent, when if isinstance(when, str) else None)


def tracking_ref(workspace_id: str, remote: str) -> str:
    """Where the remote's log ref is fetched to."""
    return f"refs/spec-review/{workspace_id}/remotes/{remote}/log"


def sync(workspace: Workspace, remote: str = "origin", *, actor: str = "spec-review",
         crowd_files: Sequence[str | os.PathLike[str]] = (), progress: Progress | None = None,
         hold_missing: bool = False) -> SyncReport:
    """Sync the workspace's log ref with ``remote`` (see the module's description).

    ``crowd_files`` are crowd files a received import needs that its log commit does not carry
    (larger than 50 MB, or moved before it was published); they are matched by content. With
    ``hold_missing`` (joining), a workspace with no log of its own receives the log up to the
    first import whose file is nowhere to be had, and the rest waits for it (``HeldLog``); a
    workspace that waits so goes on waiting until the file is given.
    ``progress`` names each step; a cancel is honoured up to the moment the received record is
    applied (nothing received is kept then), never after it.

    Raises:
        KnownError: no such remote, git could not reach it, the remote's log was rewritten, both
            sides have new events, or a received event cannot be rebuilt here; nothing is changed then.
        Cancelled: the progress object asked to stop before anything was received.
    """
    progress = progress or NoProgress()
    try:
        return _sync(workspace, remote, actor, crowd_files, progress, hold_missing)
    finally:
        progress.finish()


def _sync(workspace: Workspace, remote: str, actor: str, crowd_files: Sequence[str | os.PathLike[str]],
          progress: Progress, hold_missing: bool = False) -> SyncReport:
    log = workspace.store.log_ref
    if log is None:
        raise KnownError("This workspace has no log ref to sync.")
    repo = log.repo
    known = gitops.remotes(repo)
    if remote not in known:
        raise KnownError(
            f"The spec repository {repo} has no remote {remote!r}"
            + (f" (it has: {', '.join(known)})." if known else " (it has none)."),
            hint="Add one with `git remote add NAME URL` in the spec repository, or name it with --remote.",
        )
    with workspace_lock(workspace.root, "sync", actor):
        waiting = held_log(workspace.store)
        if waiting is not None:  # nothing of its own: its record is a part of the board's log
            hold_missing = True
            published = 0
        else:
            progress.start(None, "Writing this machine's events to the log ref")
            published = log.publish(workspace.store).events
        received: list[dict[str, Any]] = []
        notes: list[str] = []
        pushed = 0
        for _try in range(MOST_PUSH_TRIES):
            if not received:  # once something is applied, the sync runs to its end
                progress.start(None, f"Fetching the log from {remote}")
            remote_tip = gitops.fetch_ref(repo, remote, log.ref, tracking_ref(workspace.config.id, remote))
            _check_remote_not_rewritten(log, remote, remote_tip)
            local_tip = log.tip()
            if remote_tip is not None and remote_tip != local_tip:
                if local_tip is None or gitops.is_ancestor(repo, local_tip, remote_tip):
                    receipt = _receive(workspace, log, local_tip, remote_tip, crowd_files,
                                       None if received else progress, remote, notes,
                                       hold=hold_missing and local_tip is None)
                    received += receipt.events
                    if receipt.held is not None:  # nothing of this machine's own to send
                        return SyncReport(remote, published, tuple(received), 0, None, tuple(notes), receipt.held)
                    local_tip = remote_tip
                elif not gitops.is_ancestor(repo, remote_tip, local_tip):
                    # Both sides have new events: a merge commit joins the two histories, and the
                    # record is rebuilt from the log in its one deterministic order.
                    theirs = [e for c in _commits_between(log, local_tip, remote_tip) for e in c.events]
                    _check_receivable(theirs)
                    merge = gitops.write_commit(
                        repo, {}, _merge_message(remote, spec_first := _spec_commits_first(log, local_tip, remote_tip, theirs)),
                        author=git_author(workspace.store, actor), sign=log.signs(),
                        parents=[remote_tip, local_tip] if spec_first else [local_tip, remote_tip],
                    )
                    received += _receive(workspace, log, local_tip, merge, crowd_files,
                                         None if received else progress, remote, notes).events
                    local_tip = merge
            if local_tip is None or local_tip == remote_tip:
                _remember_remote(log, remote, local_tip)
                return SyncReport(remote, published, tuple(received), pushed, local_tip, tuple(notes))
            commits = _count_commits(repo, local_tip, remote_tip)
            # The spec commits this log names go first: no machine may get an event whose commit it cannot fetch.
            send_spec_commits(repo, remote, workspace.store)
            if gitops.push_ref(repo, remote, local_tip, log.ref):
                pushed += commits
                _remember_remote(log, remote, local_tip)
                return SyncReport(remote, published, tuple(received), pushed, local_tip, tuple(notes))
            # The remote moved on between the fetch and the push: fetch again.
        raise KnownError(f"{remote} kept moving while syncing; what was received is kept.",
                         hint="Run sync again.")


def _spec_commits_first(log: Any, local_tip: str, remote_tip: str, theirs: list[dict[str, Any]]) -> bool:
    """Whether this machine's unsent events go first at the merge: they hold spec commits and the remote's do not.

    A spec commit is anchored at its place in the log (its ``Audit-Head``), so it cannot move
    after events it did not see. Such a machine is one whose sync after committing found that a
    reviewer had sent a decision meanwhile: its events then come first on every machine, and the
    other side's move after them (the commit lease keeps two editors from both having spec commits
    unsent). When both sides hold spec commits the remote's stay first, and the receiving refuses.
    """
    if any(e.get("action") in SPEC_EVENTS for e in theirs):
        return False
    return any(e.get("action") in SPEC_EVENTS for c in _commits_between(log, remote_tip, local_tip) for e in c.events)


def _merge_message(remote: str, spec_first: bool) -> str:
    why = ("this machine's events come first (they hold spec commits, anchored at their place in the log)"
           if spec_first else f"the events {remote} had come first")
    return f"merge: the log on {remote}\n\nBoth machines had new events; {why}. No events of its own.\n"


# ---- the remote's history ---------------------------------------------------------------------


def _remembered_remotes(log: Any) -> dict[str, str]:
    data = log._remembered()
    remotes = data.get("remotes")
    return {str(k): str(v) for k, v in remotes.items()} if isinstance(remotes, dict) else {}


def _remember_remote(log: Any, remote: str, tip: str | None) -> None:
    data = log._remembered()
    remotes = _remembered_remotes(log)
    if tip is None:
        remotes.pop(remote, None)
    else:
        remotes[remote] = tip
    data.update({"ref": log.ref, "remotes": remotes})
    data.setdefault("synced_at", {})[remote] = utc_now()
    temporary = log.tip_file.with_name(log.tip_file.name + ".tmp")
    temporary.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, log.tip_file)


def _check_remote_not_rewritten(log: Any, remote: str, remote_tip: str | None) -> None:
    seen = _remembered_remotes(log).get(remote)
    if seen is None or seen == remote_tip:
        return
    if remote_tip is None or not gitops.commit_exists(log.repo, seen) or not gitops.is_ancestor(log.repo, seen, remote_tip):
        raise KnownError(
            f"The log on {remote} was rewritten: it no longer holds commit {seen[:12]}, which this machine saw "
            "there. Nothing was received or sent.",
            hint="Someone replaced the remote's log ref (a force-push?). Ask who did; this machine's log ref is "
                 "untouched and can be pushed back by whoever restores the remote.",
        )


def _commits_between(log: Any, base: str | None, tip: str) -> list[LogCommit]:
    commits = log.commits(tip)
    if base is None:
        return commits
    done = {c.sha for c in log.commits(base)}
    return [c for c in commits if c.sha not in done]


def _count_commits(repo: Path, tip: str, base: str | None) -> int:
    return len(gitops.rev_list(repo, tip, base))


# ---- receiving --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Receipt:
    events: list[dict[str, Any]]
    held: HeldLog | None
    imports: list[ImportSummary]


def _receive(workspace: Workspace, log: Any, local_tip: str | None, remote_tip: str,
             crowd_files: Sequence[str | os.PathLike[str]] = (), progress: Progress | None = None,
             remote: str = "origin", notes: list[str] | None = None, *,
             hold: bool = False) -> _Receipt:
    """Apply the log up to ``remote_tip`` (a fast-forward, or a merge just made).

    With ``hold`` (a workspace with no log of its own), the log is applied only up to the first
    crowd import whose file is nowhere to be had; the rest waits (``HeldLog``, stored in the
    workspace) and the log ref is not moved.

    Returns:
        The events new here, what waits (None when everything was applied), and the crowd imports run.
    """
    from reviewer.rebuild import rebuild_workspace

    commits = log.commits(remote_tip)
    order = deterministic_order(commits)
    store = workspace.store
    source = store.path
    if source is None:
        raise KnownError("Only a workspace stored in a file can sync.")
    with sql_errors("reading the audit log"):
        local = [(int(r[0]), str(r[1]), str(r[2])) for r in store.db.execute(
            "SELECT seq, id, action FROM audit_events ORDER BY seq")]
    have = {event_id for _seq, event_id, _action in local}
    new = [e for e in order if e.get("id") not in have]  # published here, then fetched back: already applied
    # Where the files of the imports received can be had (only theirs: imports applied here are not read again).
    sources = _import_sources(log, commits, [e for e in new if e.get("action") in CROWD_IMPORTS], crowd_files)
    held: HeldLog | None = None
    if hold:
        for index, event in enumerate(order):
            lacking = [f for f in import_files(event) if f["sha256"] not in sources]
            if lacking and event.get("id") not in have:
                held = HeldLog(remote, remote_tip, str(event["id"]), len(order) - index, tuple(lacking))
                order = order[:index]
                new = [e for e in order if e.get("id") not in have]
                break
    _check_receivable(new)
    progress = progress or NoProgress()
    progress.start(None, f"Receiving {len(new):,} event{'' if len(new) == 1 else 's'}: rebuilding the record")
    spec_shas = [str(e["object_id"]) for e in new if e.get("action") in SPEC_EVENTS and e.get("object_id")]
    if spec_shas:
        fetch_spec_commits(log.repo, remote, spec_shas)
    # The local chain is kept as far as it agrees with the log's order; from the first place it
    # does not, it is sealed again in that order (this machine's events after the other's).
    same = 0
    for (_seq, event_id, _action), event in zip(local, order, strict=False):
        if event_id != event.get("id"):
            break
        same += 1
    moved = local[same:]
    anchored = sorted({action for _seq, _id, action in moved} & SPEC_EVENTS)
    if anchored:
        raise KnownError(
            "This machine's log holds spec commits made since the other machine's events began; they are anchored "
            "at their place in this log and cannot move. Nothing was changed.",
            hint="Commit the spec on one machine at a time, syncing before and after.",
        )
    folder = Path(tempfile.mkdtemp(prefix=".sync-", dir=workspace.root))
    try:
        copy = folder / DB_FILE
        _backup(store, copy)
        copied = Store.open(copy)
        try:
            with sql_errors("appending the received events"), copied.db.atomic():
                if moved:
                    copied.db.execute("DELETE FROM audit_events WHERE seq > ?", [same])
                    head = copied.db.execute("SELECT seq, hash FROM audit_events WHERE seq = ?", [same]).fetchone()
                    audit.write_head_record(copied.db, *(head if head else (0, audit.GENESIS_HASH)))
                for event in order[same:]:
                    audit.append_received(copied.db, event)
            audit.reset_anchor(copied.db)  # the copy's own anchor, beside it, at its new head
            imported = _run_received_imports(copied, log, commits, new, crowd_files, folder, sources=sources)
            rows = _write_received_rows(copied, log, commits, new)
            from reviewer.workspace import Workspace as _Workspace

            report = rebuild_workspace(_Workspace(workspace.root, workspace.config, copied), folder / "rebuilt.db")
        finally:
            copied.close()
        _store_held(folder / "rebuilt.db", held)
        mismatches = _attach_evidence(folder / "rebuilt.db", new, read_attachments(log, commits))
        if mismatches or report.left_out:
            problems = [m.describe() for m in mismatches] + list(report.left_out)
            raise KnownError(
                "The events received could not be rebuilt into this workspace's record: "
                + "; ".join(problems[:3]) + ". Nothing was changed.",
                hint="Run `spec-review audit verify WORKSPACE` here and on the machine that sent them.",
            )
        progress.tick()  # the last moment a cancel is honoured: nothing is applied yet
        _apply_in_place(store, folder / "rebuilt.db",
                        SYNCED_TABLES + (CROWD_TABLES if imported else ()) + (ROW_TABLES if rows else ()))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if held is not None:
        return _Receipt(new, held, imported)
    last = workspace.store.db.execute("SELECT seq, id FROM audit_events ORDER BY seq DESC LIMIT 1").fetchone()
    if not gitops.move_ref(log.repo, log.ref, remote_tip, local_tip, "spec-review: sync"):
        raise KnownError(f"The log ref {log.ref} moved while syncing; the events received are kept.",
                         hint="Run sync again.")
    log.remember(remote_tip, (int(last[0]), str(last[1])) if last else None)
    if spec_shas:
        note = catch_up(log.repo, remote)  # the editor sees the spec as the board committed it
        if note is not None and notes is not None:
            notes.append(note)
    return _Receipt(new, None, imported)


def fill_in(workspace: Workspace, files: Sequence[str | os.PathLike[str]], *, actor: str,
            progress: Progress | None = None) -> tuple[SyncReport, list[ImportSummary]]:
    """Receive the part of the board's log that waits for ``files`` (no network: joining fetched it).

    Returns:
        What was received (``held``: what still waits, for another file), and the imports run.

    Raises:
        KnownError: the workspace waits for nothing, or none of ``files`` is a file it waits for
            (matched by content); nothing is changed then.
    """
    from reviewer.importing import file_sha256

    held = held_log(workspace.store)
    log = workspace.store.log_ref
    if held is None or log is None:
        raise KnownError("This workspace waits for no crowd file.")
    wanted = {str(f["sha256"]) for f in held.files}
    given = [Path(f) for f in files]
    if not any(path.is_file() and file_sha256(path)[0] in wanted for path in given):
        raise KnownError(
            f"This workspace is still joining its board, and {', '.join(p.name for p in given)} is not the file its "
            f"log waits for: {held.file_words()}. Nothing was changed.",
            hint="Import that file first (matched by content, under any name); then other files can be imported.")
    progress = progress or NoProgress()
    notes: list[str] = []
    try:
        with workspace_lock(workspace.root, "import", actor):
            receipt = _receive(workspace, log, None, held.tip, given, progress, held.remote, notes, hold=True)
            if receipt.held is None:
                _remember_remote(log, held.remote, held.tip)
    finally:
        progress.finish()
    tip = held.tip if receipt.held is None else None
    return SyncReport(held.remote, 0, tuple(receipt.events), 0, tip, tuple(notes), receipt.held), receipt.imports


def _store_held(database: Path, held: HeldLog | None) -> None:
    """Write (or clear) what waits into the rebuilt database, to be applied with the rest of the record."""
    conn = sqlite3.connect(str(database))
    try:
        with conn:
            conn.execute("DELETE FROM workspace_info WHERE key = ?", [HELD_KEY])
            if held is not None:
                conn.execute("INSERT INTO workspace_info (key, value) VALUES (?, ?)", [HELD_KEY, held.to_json()])
    finally:
        conn.close()


def _import_sources(log: Any, commits: list[LogCommit], imports: list[dict[str, Any]],
                    crowd_files: Sequence[str | os.PathLike[str]]) -> dict[str, bytes | Path]:
    """Where each file the ``imports`` read can be had, by sha256: its bytes on the log ref, or a file here.

    Files the log does not carry are looked for among ``crowd_files`` and the paths the imports
    named, by content, hashing only until each is found.
    """
    from reviewer.importing import file_sha256

    wanted = {f["sha256"] for e in imports for f in import_files(e)}
    if not wanted:
        return {}
    sources: dict[str, bytes | Path] = dict(read_import_files(log, commits, wanted))
    for name in [*crowd_files, *(f.get("path", "") for e in imports for f in import_files(e))]:
        path = Path(name)
        if wanted - set(sources) and path.is_file():
            sources.setdefault(file_sha256(path)[0], path)
    return sources


def _run_received_imports(copied: Store, log: Any, commits: list[LogCommit], received: list[dict[str, Any]],
                          crowd_files: Sequence[str | os.PathLike[str]], folder: Path, *,
                          sources: dict[str, bytes | Path] | None = None) -> list[ImportSummary]:
    """Run the received crowd imports again in ``copied``, in order, from the files they read.

    Each file comes from ``sources`` (``_import_sources``: the log ref's ``imports/<sha256>``,
    else ``crowd_files`` or the path the import named, matched by content). Returns whether any
    import ran.

    Raises:
        KnownError: a file is nowhere to be had, an import was logged by a version that did not log
            its rows' time, or a run writes other rows than the event vouches for.
    """
    from reviewer import ca1, polis
    from reviewer.importing import Replay

    imports = [e for e in received if e.get("action") in CROWD_IMPORTS]
    if not imports:
        return []
    summaries: list[ImportSummary] = []
    if sources is None:
        sources = _import_sources(log, commits, imports, crowd_files)
    for event in imports:
        payload = event.get("payload") or {}
        if "created_at" not in payload:
            raise KnownError(
                f"The import {event.get('object_id')} was logged by an older version of Spec Review, which did not "
                "log its rows' time: it cannot be run again here. Nothing was received.",
                hint="Copy the workspace folder from the machine that made it instead of joining or syncing.",
            )
        paths: dict[str, Path] = {}
        missing: list[str] = []
        for file in import_files(event):
            sha, name = file["sha256"], Path(str(file.get("path", "file"))).name or "file"
            source = sources.get(sha)
            if isinstance(source, bytes):
                path = folder / "imports" / sha / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(source)
                paths[str(file.get("kind"))] = path
            elif source is not None:
                paths[str(file.get("kind"))] = source
            else:
                missing.append(file_words(file))
        if missing:
            raise KnownError(
                f"An import made on another machine read {', '.join(missing)}, which its log commit does not carry "
                "(larger than 50 MB, or moved before it was written to the log). Nothing was received.",
                hint="Get the file from whoever imported it and give it with --crowd-file PATH (matched by content).",
            )
        replay = Replay(event)
        strict = bool(payload.get("strict"))
        if event["action"] == "import.ca1":
            summaries.append(ca1.import_ca1(copied, list(paths.values()), strict=strict, actor=str(event.get("actor")),
                                            replay=replay))
        else:
            key = str((payload.get("options") or {}).get("key", ""))
            summaries.append(polis.import_polis(copied, paths["comments"], paths["votes"], key=key, strict=strict,
                                                actor=str(event.get("actor")), replay=replay))
    return summaries


def _write_received_rows(copied: Store, log: Any, commits: list[LogCommit], received: list[dict[str, Any]]) -> bool:
    """Write the rows the received events carry into ``copied``, in the log's order; whether any were.

    Raises:
        KnownError: an event that vouches for rows by digest has none on the log ref (it was
            written by a version that did not carry them).
    """
    from reviewer.log_rows import carries_rows, write_rows

    wanted = [e for e in received if carries_rows(e)]
    if not wanted:
        return False
    blobs = read_rows(log, commits, {str(e["id"]) for e in wanted})
    # Labels refer to proposals that only the rebuild writes (from the log): the rebuild checks
    # every reference once its record is whole.
    copied.db.execute("PRAGMA foreign_keys = OFF")
    with sql_errors("writing the received rows"), copied.db.atomic():
        for event in wanted:
            blob = blobs.get(str(event["id"]))
            if blob is None:
                raise KnownError(
                    f"The log commit of event {event['id']} ({event['action']}) does not carry the rows it vouches "
                    "for: it was written by an older version of Spec Review. Nothing was received.",
                    hint="Copy the workspace folder from the machine that made it instead of joining or syncing.",
                )
            write_rows(copied.db.conn, event, blob)
    return True


def _attach_evidence(rebuilt: Path, received: list[dict[str, Any]], attachments: dict[str, bytes]) -> list[Any]:
    """Give the received decisions the evidence snapshots their commits carry, then check the record again.

    Each snapshot must match its event's digest. Returns what still differs from the log.
    """
    from reviewer.decision_evidence import snapshot_digest
    from reviewer.replay import check_record

    store = Store.open(rebuilt)
    try:
        with sql_errors("writing the received evidence"), store.db.atomic():
            for event in received:
                blob = attachments.get(str(event.get("id")))
                if event.get("action") != "decision.record" or blob is None:
                    continue
                text = blob.decode("utf-8", "replace")
                if snapshot_digest(text) == (event.get("payload") or {}).get("evidence_sha256"):
                    store.db.execute("UPDATE decisions SET evidence = ? WHERE id = ?", [text, event["object_id"]])
        mismatches = list(check_record(store))
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return mismatches
    finally:
        store.close()


def _check_receivable(events: list[dict[str, Any]]) -> None:
    from reviewer.log_rows import carries_rows

    refused = sorted({str(e.get("action")) for e in events} - RECEIVABLE)
    if refused:
        raise KnownError(
            f"The remote's log holds events this version cannot receive yet ({', '.join(refused)}). Nothing was "
            "received.",
            hint="A newer version of Spec Review wrote them: update it on this machine, then sync again.",
        )
    # Runs and format imports logged before their rows travelled vouch for rows no machine can rebuild.
    old = sorted({str(e.get("action")) for e in events
                  if e.get("action") in (*ROW_IMPORTS, "evidence.rule") and not carries_rows(e)})
    if old:
        raise KnownError(
            f"The remote's log holds events written by an older version of Spec Review ({', '.join(old)}) whose rows "
            "are not on the log ref. Nothing was received.",
            hint="Copy the workspace folder from the machine that made them instead of joining or syncing.",
        )


def deterministic_order(commits: list[LogCommit]) -> list[dict[str, Any]]:
    """Every event of the log, in the one order every machine replays it in.

    Parents come before children. At a merge, the history of its last parent comes first, then
    what its earlier parents bring that is not in it. ``sync`` makes a merge with the remote's tip
    as its last parent: what a remote already holds keeps its place on every machine, and only
    this machine's unsent events move after it. So the events others have seen are not
    reordered, and neither are the spec commits whose ``Audit-Head`` names their place in the log:
    when this machine's unsent events hold spec commits (and the remote's do not), its tip is the
    last parent instead, and the remote's new events move after them.
    Within a commit, its events keep their order. (Several tips, which a log ref never has, go
    in the order of their first event's time, then id.)
    """
    by_sha = {c.sha: c for c in commits}
    parents_of = {c.sha: [p for p in c.parents if p in by_sha] for c in commits}
    has_child = {p for ps in parents_of.values() for p in ps}

    def key(sha: str) -> tuple[str, str]:
        events = by_sha[sha].events
        return (str(events[0].get("at")), str(events[0].get("id"))) if events else ("", sha)

    order: list[dict[str, Any]] = []
    done: set[str] = set()
    for tip in sorted((sha for sha in by_sha if sha not in has_child), key=key):
        # Depth first, parents before the commit, the last parent's history first (no recursion:
        # a log is a chain of thousands of commits).
        stack: list[tuple[str, bool]] = [(tip, False)]
        while stack:
            sha, expanded = stack.pop()
            if sha in done:
                continue
            if expanded:
                done.add(sha)
                order.extend(by_sha[sha].events)
                continue
            stack.append((sha, True))
            stack.extend((parent, False) for parent in parents_of[sha] if parent not in done)
    return order


def _backup(store: Store, target: Path) -> None:
    """Copy the live database to ``target`` (SQLite's online backup: a consistent copy)."""
    out = sqlite3.connect(str(target))
    try:
        store.db.conn.backup(out)
    finally:
        out.close()


ROW_TABLES = ("relevance_grades", "ranker_runs", "ranker_rankings", "judge_jobs", "judge_job_items", "candidates",
              "group_runs", "group_members")
"""Tables replaced too when received events carried rows (``reviewer.log_rows``)."""
# The tables any received event can change (caches and machine-local tables are never touched).
SYNCED_TABLES = (
    "audit_events", "workspace_info", "members", "member_role_changes", "quorum_settings", "proposals",
    "proposal_sections", "proposal_conversations", "proposal_revisions", "decisions", "spec_commits",
    "proposal_commit_state", "evidence_hand_links", "stance_labels", "stance_label_withdrawals", "evidence_current",
    "comment_threads", "comments",
)


def _apply_in_place(store: Store, rebuilt: Path, tables: Sequence[str] = SYNCED_TABLES) -> None:
    """Make the live database's record the rebuilt one, in one transaction.

    Only the tables a received event can change are rewritten, row for row in the rebuilt order;
    their triggers (which keep ``evidence_current`` in step) are set aside meanwhile, as the
    rebuild's copies are already in step. Other connections (the app's) see the record before or
    after, never between; the database file stays the same.

    Raises:
        KnownError: the rebuilt rows would leave a reference dangling (nothing is changed then).
    """
    conn = store.db.conn
    conn.execute("PRAGMA foreign_keys = OFF")  # no cascade while tables are emptied and refilled
    conn.execute("ATTACH DATABASE ? AS synced", [str(rebuilt)])
    try:
        with sql_errors("applying the received record"), store.db.atomic():
            triggers = conn.execute(
                "SELECT name, sql FROM main.sqlite_master WHERE type = 'trigger' AND tbl_name IN"
                f" ({','.join('?' * len(tables))})", tuple(tables)).fetchall()
            for name, _sql in triggers:
                conn.execute(f"DROP TRIGGER main.{name}")
            for table in tables:
                conn.execute(f"DELETE FROM main.{table}")
                conn.execute(f"INSERT INTO main.{table} SELECT * FROM synced.{table}{stored_order(conn, table)}")
            for _name, sql in triggers:
                conn.execute(sql)
            dangling = conn.execute("PRAGMA main.foreign_key_check").fetchall()
            if dangling:
                raise KnownError(
                    f"The received record refers to rows this workspace lacks ({len(dangling)} in "
                    f"{', '.join(sorted({str(d[0]) for d in dangling}))}); nothing was changed.",
                    hint="Run `spec-review audit verify` here and on the machine that sent them.",
                )
    finally:
        conn.execute("DETACH DATABASE synced")
        conn.execute("PRAGMA foreign_keys = ON")
    audit.reset_anchor(store.db)


__all__ = [
    "RECEIVABLE", "SyncReport", "SyncState", "describe_event", "deterministic_order", "fill_in", "held_log", "sync",
    "sync_state", "tracking_ref",
]
