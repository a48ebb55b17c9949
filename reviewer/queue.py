"""The proposal queue: one row per proposal with its status, authority level and evidence counts."""

from __future__ import annotations

from dataclasses import dataclass

from reviewer import governance
from reviewer.group_support import GroupFigures, queue_figures
from reviewer.store import Store, sql_errors
from reviewer.vocab import STANCES as _LABELLED
from reviewer.vocab import UNLABELLED, Role, Status

STANCES = (*_LABELLED, UNLABELLED)
"""The evidence columns of a queue row: the three stances and the links not labelled yet."""


@dataclass(frozen=True)
class QueueRow:
    """One proposal as the review queue shows it.

    Attributes:
        id: UUID of the proposal.
        title: short title.
        intent: what the change is for.
        kind: clarification or principle.
        origin: where it came from.
        section_ids: the sections it changes.
        level: the highest authority level it touches (root .. guideline, or none).
        status: open, pending, contested, adopted, deferred, set_aside, committed or needs_rebase.
        quorum: how many reviewers must agree.
        votes: how many reviewers have a decision on record.
        supports: links whose effective stance supports it.
        refutes: links whose effective stance refutes it.
        no_comment: links whose effective stance is no comment.
        unlabelled: links with no stance yet.
        created_at: when it was added.
        groups: its group-aware consensus, bridging and divisiveness over the opinion groups
            (``reviewer.group_support``); None when no opinion groups were computed.
    """

    id: str
    title: str
    intent: str
    kind: str
    origin: str
    section_ids: tuple[str, ...]
    level: str
    status: str
    quorum: int
    votes: int
    supports: int
    refutes: int
    no_comment: int
    unlabelled: int
    created_at: str
    groups: GroupFigures | None = None

    @property
    def evidence_total(self) -> int:
        """All links, labelled or not."""
        return self.supports + self.refutes + self.no_comment + self.unlabelled


def queue_rows(store: Store, proposal_ids: list[str] | None = None,
               statuses: dict[str, governance.ProposalStatus] | None = None) -> list[QueueRow]:
    """Return every proposal (or the given ones) as queue rows, oldest first, reading each table once.

    ``statuses``: the proposals' statuses when the caller has read them already.
    """
    statuses = statuses if statuses is not None else governance.statuses(store, proposal_ids)
    with sql_errors("reading the proposal queue"):
        counts: dict[str, dict[str, int]] = {}
        for proposal_id, stance, count in store.db.execute(
            "SELECT proposal_id, coalesce(stance, 'unlabelled'), count(*) FROM evidence_current"
            " GROUP BY proposal_id, stance"
        ):
            counts.setdefault(proposal_id, {})[stance] = count
        intents = dict(store.db.execute("SELECT id, intent FROM proposals").fetchall())
        summaries = store.list_proposals()
    figures = queue_figures(store)
    rows = []
    for summary in summaries:
        if summary.id not in statuses:
            continue
        status = statuses[summary.id]
        evidence = counts.get(summary.id, {})
        rows.append(
            QueueRow(
                id=summary.id,
                title=summary.title,
                intent=intents.get(summary.id, ""),
                kind=summary.kind,
                origin=summary.origin,
                section_ids=summary.section_ids,
                level=status.level,
                status=status.status,
                quorum=status.quorum,
                votes=len(status.votes),
                supports=evidence.get("supports", 0),
                refutes=evidence.get("refutes", 0),
                no_comment=evidence.get("no_comment", 0),
                unlabelled=evidence.get("unlabelled", 0),
                created_at=summary.created_at,
                groups=figures.get(summary.id),
            )
        )
    return rows


@dataclass(frozen=True)
class Waiting:
    """A proposal waiting for one member, and why.

    Attributes:
        row: the proposal's queue row.
        kind: what it waits for: one of ``WAITING_KINDS``.
        why: the same, in a few words for people (with the votes so far, say).
        thread_id: the discussion thread that waits for an answer (kinds ``mention`` and ``reply``).
    """

    row: QueueRow
    kind: str
    why: str
    thread_id: str | None = None


WAITING_KINDS = {"decide": "need your decision", "confirm": "to confirm on new text", "contested": "contested",
                 "commit": "to commit", "rebase": "to rebase", "mention": "mentioning you",
                 "reply": "with a reply for you"}
"""What a proposal can wait for from a member, and how to count it ("3 need your decision")."""


def waiting_for(store: Store, name: str) -> list[Waiting]:
    """What waits for the member ``name``, given their roles and the quorum ("my queue").

    A reviewer: proposals still open to decision (open, pending, contested) that they have not
    decided, those revised since they voted (to confirm on the new text), and contested ones they
    have decided (the reviewers disagree). An editor: adopted proposals waiting to be committed, and
    those that need a rebase. Anyone: open discussion threads that mention them, or that they started
    and have a reply, until they answer (``reviewer.discussion.awaiting``), one entry per thread after
    the proposal's own.

    Raises:
        KnownError: ``name`` is not a member.
    """
    from reviewer.errors import KnownError

    member = governance.get_member(store, name)
    if member is None:
        raise KnownError(f"{name} is not a member of this workspace.",
                         hint="See `spec-review member list WORKSPACE` for the names.")
    statuses = governance.statuses(store)
    reviews, edits = Role.REVIEWER in member.roles, Role.EDITOR in member.roles
    found = []
    rows = queue_rows(store, statuses=statuses)
    for row in rows:
        voted = member.name in statuses[row.id].votes
        stale = statuses[row.id].stale.get(member.name)
        if reviews and stale and row.status in (Status.OPEN, Status.PENDING, Status.CONTESTED):
            outcome, revision = stale
            found.append(Waiting(row, "confirm", f"revised since your {outcome.replace('_', ' ')} on revision "
                                 f"{revision}: confirm it on revision {statuses[row.id].revision}, or decide again"))
        elif reviews and row.status in (Status.OPEN, Status.PENDING) and not voted:
            found.append(Waiting(row, "decide", "needs your decision"
                                 + (f" ({row.votes} of {row.quorum} so far)" if row.votes else "")))
        elif reviews and row.status == Status.CONTESTED:
            found.append(Waiting(row, "contested", "contested: the reviewers disagree"
                                 + ("" if voted else "; you have not decided")))
        elif edits and row.status == Status.ADOPTED:
            found.append(Waiting(row, "commit", "adopted: waiting for an editor to commit it"))
        elif edits and row.status == Status.NEEDS_REBASE:
            found.append(Waiting(row, "rebase", "needs a rebase before it can be committed"))
    from reviewer.discussion import awaiting

    by_id = {row.id: row for row in rows}
    return found + [Waiting(by_id[w.thread.proposal_id], w.kind, w.describe(), w.thread.id)
                    for w in awaiting(store, member.name) if w.thread.proposal_id in by_id]


GROUP_ORDERS = {
    "divisive": "most divisive first: the opinion groups' smoothed shares furthest apart",
    "bridging": "bridging first: the highest support that holds in every opinion group",
}
"""The queue's orders by opinion groups (``sort_by_groups``); proposals without figures go last."""
GROUP_FILTERS = {
    "divisive": "divisive: the opinion groups at least 25 points apart",
    "bridging": "bridging: above 50% supporting in every opinion group",
}
"""The queue's filters by opinion groups (``filter_by_groups``)."""


def sort_by_groups(rows: list[QueueRow], order: str) -> list[QueueRow]:
    """Rows in ``order`` (a key of ``GROUP_ORDERS``); rows with no group figures keep their order, last.

    Raises:
        KnownError: an unknown order.
    """
    from reviewer.errors import KnownError

    if order not in GROUP_ORDERS:
        raise KnownError(f"{order!r} is not a queue order.", hint=f"Use one of: {', '.join(GROUP_ORDERS)}.")
    with_figures = [r for r in rows if r.groups is not None]
    without = [r for r in rows if r.groups is None]
    if order == "divisive":
        with_figures.sort(key=lambda r: -r.groups.divisiveness if r.groups else 0.0)
    else:
        with_figures.sort(key=lambda r: -r.groups.bridging if r.groups else 0.0)
    return with_figures + without


def arrange_waiting(waiting: list[Waiting], only: str | None, order: str | None) -> list[Waiting]:
    """What waits for a member, kept to ``only`` (a ``GROUP_FILTERS`` name) and sorted by ``order``, as the queue is.

    Several entries of one proposal (its own and its threads') stay together, in their order.
    """
    rows = list({w.row.id: w.row for w in waiting}.values())
    if only:
        kept = {r.id for r in filter_by_groups(rows, only)}
        waiting = [w for w in waiting if w.row.id in kept]
    if order:
        place = {r.id: i for i, r in enumerate(sort_by_groups(rows, order))}
        waiting = sorted(waiting, key=lambda w: place[w.row.id])
    return waiting


def filter_by_groups(rows: list[QueueRow], name: str) -> list[QueueRow]:
    """The rows that meet ``GROUP_FILTERS[name]`` (none without group figures).

    Raises:
        KnownError: an unknown filter.
    """
    from reviewer.errors import KnownError

    if name not in GROUP_FILTERS:
        raise KnownError(f"{name!r} is not a queue filter.", hint=f"Use one of: {', '.join(GROUP_FILTERS)}.")
    if name == "divisive":
        return [r for r in rows if r.groups is not None and r.groups.divisive]
    return [r for r in rows if r.groups is not None and r.groups.bridges]
