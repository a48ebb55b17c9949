"""Publish a board's record with its spec, and check a published record with nothing but git.

``publish`` syncs the log ref with the remote, then writes the transparency report (Markdown,
HTML, JSON) as a commit on ``refs/spec-review/<workspace id>/report`` (its message names the log
commit it reports on: ``Spec-Review-Log: <sha>``) and pushes it.

``verify_published`` takes any clone or URL of the spec repository, fetches its
``refs/spec-review/*`` into a scratch repository, and checks each log it finds: every commit's
events parse and no event appears twice; each commit's author is the member who acted (with the
email recorded for them as of that commit, when one was); when the log requires signatures, every
commit since carries a good one; the log replays to a record; and the published report's decisions
are exactly the log's, as of the log commit the report names.
No workspace, database or app state is needed: anyone can check the board's record.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewer import gitops
from reviewer.audit import canonical_json
from reviewer.errors import KnownError
from reviewer.logref import (
    REQUIRE_SIGNED,
    SIGNATURE_STATES,
    LogCommit,
    LogRef,
    author_problems,
    key_problems,
    recorded_key,
)

if TYPE_CHECKING:
    from reviewer.workspace import Workspace

REPORT_FILES = {"report.md": "md", "report.html": "html", "report.json": "json"}
LOG_TRAILER = "Spec-Review-Log"


def report_ref(workspace_id: str) -> str:
    """The ref that holds a workspace's published reports."""
    return f"refs/spec-review/{workspace_id}/report"


@dataclass(frozen=True)
class Published:
    """What ``publish`` did.

    Attributes:
        remote: the remote.
        log_tip: the log commit the report is of (the same on the remote).
        report: the report commit.
        events: the events the log holds.
    """

    remote: str
    log_tip: str | None
    report: str
    events: int


def publish(workspace: Workspace, remote: str = "origin", *, actor: str,
            crowd_files: Sequence[str | os.PathLike[str]] = ()) -> Published:
    """Sync the log with ``remote``, then write and push the report of it.

    Raises:
        KnownError: the sync failed (nothing is published then), or git refused the report.
    """
    from reviewer.governance import git_author
    from reviewer.report import RENDERERS, build_report
    from reviewer.sync import sync

    synced = sync(workspace, remote, actor=actor, crowd_files=crowd_files)
    log = workspace.store.log_ref
    repo, ref = log.repo, report_ref(workspace.config.id)
    data = build_report(workspace)
    files = {name: RENDERERS[fmt](data).encode("utf-8") for name, fmt in REPORT_FILES.items()}
    events = int(workspace.store.db.execute("SELECT count(*) FROM audit_events").fetchone()[0])
    message = (f"report: the record as of log commit {(synced.tip or 'none')[:12]}\n\n"
               f"{events} events.\n\n{LOG_TRAILER}: {synced.tip or 'none'}\n")
    for _try in range(3):
        # Another machine may have published since: the new report goes on top of the remote's.
        parent = gitops.fetch_ref(repo, remote, ref, ref) or gitops.ref_sha(repo, ref)
        commit = gitops.write_commit(repo, files, message, author=git_author(workspace.store, actor),
                                     parents=[parent] if parent else [], sign=log.signs())
        if not gitops.move_ref(repo, ref, commit, parent, "spec-review: publish"):
            continue
        if gitops.push_ref(repo, remote, commit, ref):
            return Published(remote, synced.tip, commit, events)
    raise KnownError(f"Reports kept arriving on {remote} while publishing; the log itself was synced.",
                     hint="Run publish again.")


# ---- checking a published record ----------------------------------------------------------------


@dataclass(frozen=True)
class PublishedLog:
    """What ``verify_published`` found for one workspace's log.

    Attributes:
        workspace_id: the workspace.
        commits: commits in the log.
        events: events in it.
        decisions: decisions it records.
        report: the report commit checked (None when none was published).
        problems: what is wrong (empty when the log and its report check out).
    """

    workspace_id: str
    commits: int
    events: int
    decisions: int
    report: str | None
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """The log and its report check out."""
        return not self.problems


def verify_published(source: str) -> list[PublishedLog]:
    """Check every board log published in the repository at ``source`` (a path or URL).

    Raises:
        KnownError: git cannot fetch from ``source``, or it holds no board log.
    """
    scratch = Path(tempfile.mkdtemp(prefix="spec-review-verify-"))
    try:
        gitops.init_bare(scratch)
        gitops.fetch_refspecs(scratch, source, ["+refs/spec-review/*:refs/spec-review/*"],
                              what="the board's record from")
        refs = gitops.list_refs(scratch, "refs/spec-review/")
        ids = sorted({r.split("/")[2] for r in refs if r.count("/") == 3 and r.endswith("/log")})
        if not ids:
            raise KnownError(f"{source} holds no board log (no refs/spec-review/<workspace id>/log).",
                             hint="Publish it first: `spec-review publish WORKSPACE`.")
        return [_check_log(scratch, workspace_id) for workspace_id in ids]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _check_log(repo: Path, workspace_id: str) -> PublishedLog:
    from reviewer.replay import replay
    from reviewer.sync import deterministic_order

    log = LogRef(repo, workspace_id, repo)
    problems: list[str] = []
    try:
        commits = log.commits()
    except KnownError as exc:
        return PublishedLog(workspace_id, 0, 0, 0, None, (str(exc),))
    order = deterministic_order(commits)
    seen: set[str] = set()
    for event in order:
        if not all(isinstance(event.get(k), str) for k in ("id", "at", "actor", "action", "object_type")):
            problems.append(f"an event without its id, time, actor, action or object: {canonical_json(event)[:120]}")
        elif event["id"] in seen:
            problems.append(f"event {event['id']} appears twice")
        seen.add(str(event.get("id")))
    _trust_recorded_ssh_keys(repo, order)
    facts = gitops.commit_facts(repo, log.ref)
    position = {str(e.get("id")): i for i, e in enumerate(order)}
    problems += [f"commit {w.sha[:12]} (event {w.event}) is authored by {w.actual!r}, not by {w.expected!r} whose "
                 "events it holds" for w in author_problems(commits, facts, position)]
    problems += [f"commit {k.sha[:12]} (event {k.event}) is signed with {k.actual}, not with {k.member}'s recorded key "
                 f"{k.expected[:60]}" for k in key_problems(commits, facts, position)]
    problems += _signature_problems(commits, order, facts)
    try:
        record = replay((str(e.get("actor")), str(e.get("action")), e.get("object_id"),
                         canonical_json(e.get("payload") or {})) for e in order)
    except (KeyError, TypeError, ValueError) as exc:
        return PublishedLog(workspace_id, len(commits), len(order), 0, None,
                            (*problems, f"the log does not replay: {type(exc).__name__}: {exc}"))
    report = gitops.ref_sha(repo, report_ref(workspace_id))
    if report is not None:
        problems += _report_problems(repo, log, report)
    return PublishedLog(workspace_id, len(commits), len(order), len(record.decisions), report, tuple(problems))


def _trust_recorded_ssh_keys(repo: Path, order: list[dict[str, Any]]) -> None:
    """Let git check ssh signatures against the members' keys the log records (a plain clone knows no others).

    git verifies an ssh signature only against an allowed-signers file; the log itself records
    which key each member signs with, so that is the file here. A key someone else signed with is
    then "good, but from an unknown key" at best, and ``key_problems`` names whose key it is not.
    """
    keys = sorted({key for e in order if (found := recorded_key(e)) is not None and (key := found[1])
                   and key.strip().startswith(("ssh-", "ecdsa-", "sk-"))})
    if not keys:
        return
    allowed = repo / "spec-review-allowed-signers"
    allowed.write_text("".join(f"member {' '.join(key.split()[:2])}\n" for key in keys), encoding="utf-8")
    gitops.set_config(repo, "gpg.ssh.allowedSignersFile", str(allowed))


def _signature_problems(commits: list[LogCommit], order: list[dict[str, Any]],
                        facts: dict[str, gitops.CommitFacts]) -> list[str]:
    position = {str(e.get("id")): i for i, e in enumerate(order)}
    since = None
    for i, event in enumerate(order):
        payload = event.get("payload") or {}
        if event.get("action") == "workspace.set" and payload.get("key") == REQUIRE_SIGNED:
            since = i if payload.get("value") == "true" else None
    if since is None:
        return []
    return [f"commit {c.sha[:12]} is not signed as the log requires (signature: "
            f"{SIGNATURE_STATES.get(facts.get(c.sha, gitops.NO_FACTS).signature, 'unknown')})"
            for c in commits if c.events and position.get(str(c.events[0].get("id")), -1) > since
            and facts.get(c.sha, gitops.NO_FACTS).signature != "G"]


def _report_problems(repo: Path, log: LogRef, report: str) -> list[str]:
    from reviewer.replay import replay
    from reviewer.sync import deterministic_order

    message, data_blob = gitops.read_blobs(repo, [report, f"{report}:report.json"])
    trailer = next((line.split(":", 1)[1].strip() for line in (message or b"").decode("utf-8", "replace").splitlines()
                    if line.startswith(f"{LOG_TRAILER}:")), None)
    if data_blob is None or trailer is None:
        return [f"the report commit {report[:12]} lacks report.json or its {LOG_TRAILER} trailer"]
    if trailer == "none":
        return []
    if not gitops.commit_exists(repo, trailer) or not gitops.is_ancestor(repo, trailer, log.ref):
        return [f"the report {report[:12]} is of log commit {trailer[:12]}, which the published log does not hold"]
    order = deterministic_order(log.commits(trailer))
    record = replay((str(e.get("actor")), str(e.get("action")), e.get("object_id"),
                     canonical_json(e.get("payload") or {})) for e in order)
    logged = {d: (v[0], v[4], v[1], v[3]) for d, v in record.decisions.items()}
    try:
        data = json.loads(data_blob.decode("utf-8"))
        reported = {str(d["id"]): (p["id"], d["reviewer"], d["outcome"], d["rationale"])
                    for p in data["proposals"] for d in p["decisions"]}
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        return [f"the report's report.json cannot be read: {exc}"]
    problems = [f"decision {d} is in the log but not in the report" for d in sorted(set(logged) - set(reported))]
    problems += [f"decision {d} is in the report but not in the log" for d in sorted(set(reported) - set(logged))]
    problems += [f"decision {d} differs: the log says {logged[d]!r}, the report {reported[d]!r}"
                 for d in sorted(set(logged) & set(reported)) if logged[d] != reported[d]]
    return problems


__all__ = ["Published", "PublishedLog", "publish", "report_ref", "verify_published"]
