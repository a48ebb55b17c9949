"""The spec branch on a board of many machines: spec commits travel through the remote's branch.

A spec commit's event (``spec.commit``, ``spec.release``) names a commit of the spec repository;
another machine can take the event only once it has that commit. So:

- before the log is pushed, the branch holding this machine's spec commits is pushed to the
  remote, as a fast-forward (``send_spec_commits``); a branch the remote moved on meanwhile means
  another editor committed at the same time: nothing is sent, and the editor is told;
- a machine receiving spec commits fetches the remote's branches and tags first, and refuses the
  events of commits it cannot get (``fetch_spec_commits``); once the record is applied, its
  checked-out branch is moved forward to the remote's when it is clean and behind
  (``catch_up``), so the editor sees the spec as the board committed it;
- committing on a board (``operations.commit``) takes the board's commit lease on the remote
  first (``commit_lease``: a ref only one machine can set, checked by git on the remote), then
  syncs and moves the branch forward, commits, sends the commits and the log, and gives the lease
  back: an editor never commits a proposal another editor's machine already committed, even when
  both start at the same moment. A lease left by a machine that stopped lapses after
  ``LEASE_MINUTES``.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
from collections.abc import Iterator, Sequence
from pathlib import Path

from reviewer import gitops
from reviewer.errors import KnownError
from reviewer.store import Store, sql_errors

LEASE_MINUTES = 15
"""How long a commit lease holds when its machine does not give it back (a crash, a lost network)."""
SPEC_EVENTS = frozenset({"spec.commit", "spec.release"})
"""Events that name a commit of the spec repository (their ``object_id``)."""


def remote_branch(remote: str, branch: str) -> str:
    """Where the remote's branch is fetched to."""
    return f"refs/remotes/{remote}/{branch}"


def fetch_spec_commits(repo: Path, remote: str, shas: Sequence[str]) -> None:
    """Fetch the remote's branches and tags, and check that every commit of ``shas`` is here.

    Raises:
        KnownError: git could not fetch, or a commit is on none of the remote's branches.
    """
    gitops.fetch_refspecs(repo, remote, [f"+refs/heads/*:refs/remotes/{remote}/*"], tags=True,
                          what="the spec branches from")
    missing = [sha for sha in shas if not gitops.commit_exists(repo, sha)]
    if missing:
        raise KnownError(
            f"The log names spec commit{'s' if len(missing) > 1 else ''} {', '.join(s[:10] for s in missing)}, which "
            f"{'are' if len(missing) > 1 else 'is'} on none of {remote}'s branches. Nothing was received.",
            hint="Ask the editor who committed to sync again: it pushes the spec branch before the log.",
        )


def catch_up(repo: Path, remote: str) -> str | None:
    """Move the checked-out branch forward to the remote's, when clean and behind; say why not otherwise."""
    info = gitops.repo_info(repo)
    if info.branch is None:
        return "The spec repository's HEAD is detached: it was not moved to the board's spec."
    theirs = gitops.ref_sha(repo, remote_branch(remote, info.branch))
    if theirs is None or theirs == info.head or gitops.is_ancestor(repo, theirs, info.head):
        return None
    if not gitops.is_ancestor(repo, info.head, theirs):
        return (f"The spec branch {info.branch} here and on {remote} have diverged: it was not moved. Merge or "
                f"rebase it onto {remote}/{info.branch} in git.")
    if info.dirty:
        return (f"The spec repository has uncommitted changes: {info.branch} was not moved forward to "
                f"{remote}/{info.branch}. Commit or stash them, then sync again.")
    refused = gitops.fast_forward(repo, theirs)
    return None if refused is None else f"git could not move {info.branch} forward: {refused}."


def send_spec_commits(repo: Path, remote: str, store: Store) -> int:
    """Push the branch holding this machine's spec commits the remote lacks (fast-forward); how many.

    Raises:
        KnownError: the remote's branch moved on (another editor committed meanwhile), or git refused.
    """
    info = gitops.repo_info(repo)
    with sql_errors("reading the spec commits"):
        recorded = {str(r[0]) for r in store.db.execute("SELECT sha FROM spec_commits")}
    if not recorded or info.branch is None:
        return 0
    theirs = gitops.ref_sha(repo, remote_branch(remote, info.branch))
    ahead = gitops.rev_list(repo, info.head, theirs)
    unsent = [sha for sha in ahead if sha in recorded]
    if not unsent:
        return 0
    if not gitops.push_ref(repo, remote, info.head, f"refs/heads/{info.branch}"):
        raise KnownError(
            f"{remote}'s spec branch {info.branch} moved on while this machine committed: another editor committed "
            f"at the same time. This machine's spec commit{'s' if len(unsent) > 1 else ''} "
            f"{', '.join(s[:10] for s in unsent)} {'are' if len(unsent) > 1 else 'is'} recorded here only; nothing "
            "was sent.",
            hint=f"Compare the two in git (`git log {remote}/{info.branch}`); keep one spec commit per proposal.",
        )
    for tag in gitops.tags_on(repo, set(ahead)):  # the releases cut on what was sent
        gitops.push_ref(repo, remote, tag, tag)  # refused only when the remote has another tag of that name
    return len(unsent)


def lease_ref(workspace_id: str) -> str:
    """The ref whose holder may commit the board's spec."""
    return f"refs/spec-review/{workspace_id}/commit-lease"


@contextlib.contextmanager
def commit_lease(repo: Path, remote: str, workspace_id: str, editor: str,
                 now: _dt.datetime | None = None) -> Iterator[None]:
    """Hold the board's commit lease on ``remote`` while the block runs; give it back afterwards.

    Raises:
        KnownError: another editor holds it (named, with when it lapses), or took it just now.
    """
    ref = lease_ref(workspace_id)
    seen = gitops.fetch_ref(repo, remote, ref, f"refs/spec-review/{workspace_id}/remotes/{remote}/commit-lease")
    now = now or _dt.datetime.now(_dt.UTC)
    if seen is not None:
        holder, until = _lease_of(repo, seen)
        if until is not None and until > now:
            raise KnownError(
                f"{holder} is committing the board's spec on another machine (their lease lapses at "
                f"{until:%Y-%m-%d %H:%M} UTC). Nothing was committed.",
                hint="Try again once they are done: your commit then starts from theirs.",
            )
    until = now + _dt.timedelta(minutes=LEASE_MINUTES)
    mine = gitops.write_commit(repo, {}, f"commit lease\n\nEditor: {editor}\nUntil: {until.isoformat()}\n",
                               author=(editor, ""))
    if not gitops.push_with_lease(repo, remote, mine, ref, seen):
        raise KnownError("Another editor took the board's commit lease just now. Nothing was committed.",
                         hint="Try again in a moment: your commit then starts from theirs.")
    try:
        yield
    finally:
        with contextlib.suppress(KnownError):  # unreachable now: the lease lapses by itself
            gitops.push_with_lease(repo, remote, "", ref, mine)


def _lease_of(repo: Path, sha: str) -> tuple[str, _dt.datetime | None]:
    """Who holds a lease and until when (None: unreadable, so lapsed)."""
    message = gitops.commit_message(repo, sha)
    fields = dict(line.partition(": ")[::2] for line in message.splitlines() if ": " in line)
    try:
        until = _dt.datetime.fromisoformat(fields.get("Until", "").strip())
    except ValueError:
        until = None
    return fields.get("Editor", "another editor").strip(), until if until and until.tzinfo else None


__all__ = ["LEASE_MINUTES", "SPEC_EVENTS", "commit_lease", "lease_ref", "catch_up", "fetch_spec_commits", "remote_branch", "send_spec_commits"]
