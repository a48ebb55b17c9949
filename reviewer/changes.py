"""The changes an operation makes, read from the audit events it wrote.

Each event's action maps to the areas of the record it touches (``ACTION_AREAS``), and
proposal-level events name their proposal. ``reviewer.ops`` returns these with every operation;
views refresh from them, and a decision checks through them that the evidence a desk read is
still current. A low module: it imports nothing of the domain but its errors.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from reviewer.errors import BugError


class Area(StrEnum):
    """A part of the record that an operation can change (what a view may need to re-read)."""

    WORKSPACE = "workspace"  # name, settings, anything in workspace_info
    MEMBERS = "members"  # members, their roles and git identities
    QUORUM = "quorum"
    PROPOSALS = "proposals"  # proposals, their texts and their commit state (needs rebase)
    LINKS = "links"  # hand links between proposals and justifications
    LABELS = "labels"  # stance labels (people, models, the ranking rule)
    DECISIONS = "decisions"
    COMMITS = "commits"  # spec commits and releases: the spec text moved
    CROWD = "crowd"  # imported conversations, participants, assessments, justifications, votes
    RELEVANCE = "relevance"  # relevance grades
    RANKINGS = "rankings"  # ranker runs and their rankings
    MODEL_RUNS = "model_runs"  # judge jobs, their items and failures
    DISCUSSION = "discussion"  # comment threads on proposals, their comments and resolved state
    CANDIDATES = "candidates"  # candidate edits of the automated loop, kept or rejected
    GROUPS = "groups"  # opinion groups found in the crowd's rankings or votes (every proposal's group support)


_A = Area
# Every action an event can carry, with the areas it changes. ``changes_of`` refuses an action
# missing here (a test appends every kind of event and checks each is known).
ACTION_AREAS: Mapping[str, frozenset[Area]] = {
    "workspace.create": frozenset({_A.WORKSPACE}),
    "workspace.set": frozenset({_A.WORKSPACE}),
    "member.add": frozenset({_A.MEMBERS}),
    "member.role_add": frozenset({_A.MEMBERS}),
    "member.role_remove": frozenset({_A.MEMBERS}),
    "member.set_identity": frozenset({_A.MEMBERS}),  # the email and signing key log commits are checked against
    "quorum.set": frozenset({_A.QUORUM, _A.PROPOSALS}),  # quorum decides statuses
    "proposal.add": frozenset({_A.PROPOSALS}),
    "proposal.needs_rebase": frozenset({_A.PROPOSALS}),
    # A new revision: its text, and which votes count (statuses read decisions through it).
    "proposal.revise": frozenset({_A.PROPOSALS, _A.DECISIONS}),
    "evidence.link": frozenset({_A.LINKS, _A.LABELS}),
    "evidence.unlink": frozenset({_A.LINKS, _A.LABELS}),
    "evidence.rule": frozenset({_A.LABELS}),
    "stance.set": frozenset({_A.LABELS}),
    "stance.bulk": frozenset({_A.LABELS}),
    "stance.undo": frozenset({_A.LABELS}),
    "decision.record": frozenset({_A.DECISIONS, _A.PROPOSALS}),
    "spec.commit": frozenset({_A.COMMITS, _A.PROPOSALS, _A.DECISIONS}),
    "spec.release": frozenset({_A.COMMITS}),
    "import.ca1": frozenset({_A.CROWD}),
    "import.polis": frozenset({_A.CROWD}),
    "import.rankings": frozenset({_A.RANKINGS}),
    "import.relevance": frozenset({_A.RELEVANCE}),
    "import.stances": frozenset({_A.LABELS}),
    "import.proposals": frozenset({_A.PROPOSALS, _A.LINKS}),
    "relevance.lexical": frozenset({_A.RELEVANCE}),
    "judge.start": frozenset({_A.MODEL_RUNS}),
    "judge.resume": frozenset({_A.MODEL_RUNS}),
    "judge.finish": frozenset({_A.MODEL_RUNS}),
    "judge.cancel": frozenset({_A.MODEL_RUNS}),
    "judge.fail": frozenset({_A.MODEL_RUNS}),
    "comment.add": frozenset({_A.DISCUSSION}),
    "comment.resolve": frozenset({_A.DISCUSSION}),
    "comment.reopen": frozenset({_A.DISCUSSION}),
    # The candidates of one propose run; the kept ones' proposals have their own proposal.add events.
    "propose.record": frozenset({_A.CANDIDATES}),
    # A new set of opinion groups: every proposal's support per group, consensus and bridging move.
    "groups.compute": frozenset({_A.GROUPS}),
}
# What a model task's results are, by task (a judge event's payload names its task).
_TASK_AREAS: Mapping[str, frozenset[Area]] = {
    "ranker": frozenset({_A.RANKINGS}),
    "relevance": frozenset({_A.RELEVANCE}),
    "stance": frozenset({_A.LABELS}),
}


@dataclass(frozen=True)
class Changes:
    """What an operation changed, for views to refresh from.

    Attributes:
        areas: the parts of the record touched.
        proposal_ids: the proposals whose own state changed (their row, labels, links, decisions).
        all_proposals: True when the change may touch any proposal (an import, a model run, a
            quorum change), so a view refreshes every proposal instead of those named.
        events: the ids of the audit events the operation wrote, oldest first.
    """

    areas: frozenset[Area] = frozenset()
    proposal_ids: frozenset[str] = frozenset()
    all_proposals: bool = False
    events: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.areas)

    def __or__(self, other: Changes) -> Changes:
        return Changes(
            self.areas | other.areas, self.proposal_ids | other.proposal_ids,
            self.all_proposals or other.all_proposals, self.events + other.events,
        )

    def touches(self, *areas: Area) -> bool:
        """Whether any of ``areas`` changed."""
        return any(area in self.areas for area in areas)

    def touches_proposal(self, proposal_id: str | None) -> bool:
        """Whether ``proposal_id``'s own state may have changed."""
        return proposal_id is not None and (self.all_proposals or proposal_id in self.proposal_ids)


def changes_of(events: Iterable[tuple[str, str, str, str | None, str]]) -> Changes:
    """Return the ``Changes`` that the events ``(id, action, object_type, object_id, payload)`` record.

    Raises:
        BugError: an action that ``ACTION_AREAS`` does not know (a new event kind must say what it changes).
    """
    areas: set[Area] = set()
    proposals: set[str] = set()
    every = False
    ids: list[str] = []
    for event_id, action, object_type, object_id, payload_text in events:
        ids.append(event_id)
        known = ACTION_AREAS.get(action)
        if known is None:
            raise BugError(f"the event action {action!r} has no entry in reviewer.ops.ACTION_AREAS")
        areas |= known
        payload = json.loads(payload_text or "{}")
        if action.startswith("judge."):
            areas |= _TASK_AREAS.get(str(payload.get("task")), frozenset())
        if object_type == "proposal" and object_id:
            proposals.add(object_id)
        elif isinstance(payload.get("proposal_id"), str):
            proposals.add(payload["proposal_id"])
        proposals.update(p for p in payload.get("proposal_ids") or () if isinstance(p, str))
        if action.startswith(("import.", "judge.", "quorum.", "relevance.", "groups.")) and not (
            action == "import.proposals"
        ):
            every = True
    if areas & {Area.CROWD, Area.RANKINGS, Area.RELEVANCE}:
        every = True
    return Changes(frozenset(areas), frozenset(proposals), every, tuple(ids))


__all__ = ["ACTION_AREAS", "Area", "Changes", "changes_of"]
