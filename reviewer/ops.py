"""Operations and the changes they make: the one way state changes (Anki's ``CollectionOp``/``OpChanges``).

An **operation** is a named state change. ``perform`` checks its actor, runs its work (in one
transaction unless it is a long run that commits as it goes, a commit run or a model run), and
returns an ``OpResult``: the operation's typed value plus the ``Changes`` it made. The changes are
read from the audit events the operation appended, never declared by hand, so they cannot drift
from what was written: each event's action maps to the areas of the record it touches
(``ACTION_AREAS``), and proposal-level events name their proposal.

The GUI's lane broadcasts ``Changes`` after every operation; each view refreshes what it shows
from them (``Changes.touches``). The command line prints the value. Named operations live in
``reviewer.operations``; reads are plain query functions.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Generic, TypeVar

from reviewer import audit
from reviewer.errors import BugError, KnownError
from reviewer.vocab import Role

if TYPE_CHECKING:
    from reviewer.store import Store

T = TypeVar("T")
U = TypeVar("U")


class Area(StrEnum):
    """A part of the record that an operation can change (what a view may need to re-read)."""

    WORKSPACE = "workspace"  # name, settings, anything in workspace_info
    MEMBERS = "members"  # members and their roles
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


_A = Area
# Every action an event can carry, with the areas it changes. ``changes_of`` refuses an action
# missing here (a test appends every kind of event and checks each is known).
ACTION_AREAS: Mapping[str, frozenset[Area]] = {
    "workspace.create": frozenset({_A.WORKSPACE}),
    "workspace.set": frozenset({_A.WORKSPACE}),
    "member.add": frozenset({_A.MEMBERS}),
    "member.role_add": frozenset({_A.MEMBERS}),
    "member.role_remove": frozenset({_A.MEMBERS}),
    "quorum.set": frozenset({_A.QUORUM, _A.PROPOSALS}),  # quorum decides statuses
    "proposal.add": frozenset({_A.PROPOSALS}),
    "proposal.needs_rebase": frozenset({_A.PROPOSALS}),
    "evidence.link": frozenset({_A.LINKS, _A.LABELS}),
    "evidence.unlink": frozenset({_A.LINKS, _A.LABELS}),
    "evidence.rule": frozenset({_A.LABELS}),
    "stance.set": frozenset({_A.LABELS}),
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
        if action.startswith(("import.", "judge.", "quorum.", "relevance.")) and not (
            action == "import.proposals"
        ):
            every = True
    if areas & {Area.CROWD, Area.RANKINGS, Area.RELEVANCE}:
        every = True
    return Changes(frozenset(areas), frozenset(proposals), every, tuple(ids))


@dataclass(frozen=True)
class OpResult(Generic[T]):
    """What an operation returns: its own typed value and the changes it made.

    Attributes:
        operation: the operation's name (``OPERATIONS``).
        value: the operation's result (a member, a decision, an import summary, ...).
        changes: what it changed, read from the events it wrote.
    """

    operation: str
    value: T
    changes: Changes = field(default_factory=Changes)

    def with_value(self, value: U) -> OpResult[U]:
        """The same operation and changes, carrying ``value`` (what a view read after it, say)."""
        return OpResult(self.operation, value, self.changes)


@dataclass(frozen=True)
class Operation:
    """A named state change.

    Attributes:
        name: its name (``member.add``, ``decide``, ...), as the CLI and the log show it.
        summary: one line for help and error messages.
        role: the role its actor must hold, or None when any named actor may.
        transactional: True when ``perform`` runs the whole operation in one transaction; False
            when the work manages its own: an import is one transaction of its own (with progress,
            and a cancel rolls it back), commit and model runs commit as they go and can resume.
        may_change: every area it can touch (its events' areas stay within it; tests check it).
    """

    name: str
    summary: str
    role: Role | None
    transactional: bool
    may_change: frozenset[Area]


def _op(name: str, summary: str, may_change: Iterable[Area], *, role: Role | None = None,
        transactional: bool = True) -> Operation:
    return Operation(name, summary, role, transactional, frozenset(may_change))


OPERATIONS: Mapping[str, Operation] = {op.name: op for op in (
    _op("member.add", "add a member or give a member roles", [_A.MEMBERS]),
    _op("member.remove_roles", "take roles away from a member", [_A.MEMBERS]),
    _op("quorum.set", "change the quorum of authority levels", [_A.QUORUM, _A.PROPOSALS]),
    _op("workspace.set", "change a workspace setting", [_A.WORKSPACE]),
    _op("proposal.add", "add a proposal", [_A.PROPOSALS]),
    _op("evidence.link", "link a justification to a proposal by hand", [_A.LINKS, _A.LABELS]),
    _op("evidence.unlink", "remove a hand link", [_A.LINKS, _A.LABELS]),
    _op("stance.set", "label a justification's stance on a proposal", [_A.LABELS]),
    _op("evidence.rule", "label stances by the exact ranking rule", [_A.LABELS]),
    _op("decide", "record a reviewer's decision", [_A.DECISIONS, _A.PROPOSALS], role=Role.REVIEWER),
    _op("commit", "commit adopted proposals to the spec repository", [_A.COMMITS, _A.PROPOSALS, _A.DECISIONS],
        role=Role.EDITOR, transactional=False),
    _op("import.ca1", "import CA-1 crowd data", [_A.CROWD], transactional=False),
    _op("import.polis", "import a Pol.is export", [_A.CROWD], transactional=False),
    _op("import.file", "import rankings, relevance grades, stances or proposals",
        [_A.RANKINGS, _A.RELEVANCE, _A.LABELS, _A.PROPOSALS, _A.LINKS], transactional=False),
    _op("relevance.lexical", "grade relevance by BM25", [_A.RELEVANCE], transactional=False),
    _op("model.run", "run a model task", [_A.MODEL_RUNS, _A.RANKINGS, _A.RELEVANCE, _A.LABELS],
        transactional=False),
)}


def check_actor(store: Store, operation: Operation, actor: str) -> str:
    """Return the actor's name, cleaned, when they may perform ``operation``.

    Raises:
        KnownError: no name, or (for an operation that needs a role) not a member holding it.
    """
    from reviewer.governance import clean_name, require_role

    name = clean_name(actor)
    if not name:
        raise KnownError(f"Say who is acting: {operation.summary} needs a name for the record.")
    if operation.role is not None:
        return require_role(store, name, operation.role).name
    return name


def perform(store: Store, name: str, actor: str, work: Callable[[str], T]) -> OpResult[T]:
    """Perform the operation ``name`` as ``actor``: check the actor, run ``work(actor)``, collect its changes.

    A transactional operation runs in one transaction with its events (nothing is written when
    it fails); a long run commits as it goes. Either way the changes are read from the events it
    appended.

    Raises:
        KnownError: the actor may not perform it, or the work refused its input.
        BugError: ``name`` is not an operation.
    """
    operation = OPERATIONS.get(name)
    if operation is None:
        raise BugError(f"{name!r} is not an operation (reviewer.ops.OPERATIONS)")
    actor = check_actor(store, operation, actor)
    before = audit.head_of(store.db).seq
    if operation.transactional:
        with audit.anchored(store.db):
            value = work(actor)
    else:
        value = work(actor)
    return OpResult(name, value, events_since(store, before))


def events_since(store: Store, seq: int) -> Changes:
    """Return the changes recorded by the events after ``seq``."""
    rows = store.db.execute(
        "SELECT id, action, object_type, object_id, payload FROM audit_events WHERE seq > ? ORDER BY seq",
        [seq],
    ).fetchall()
    return changes_of(rows)
