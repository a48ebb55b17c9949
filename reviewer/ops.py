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

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

from reviewer import audit
from reviewer.changes import ACTION_AREAS, Area, Changes, changes_of
from reviewer.errors import BugError, KnownError
from reviewer.held import refuse_while_held
from reviewer.vocab import Role

if TYPE_CHECKING:
    from reviewer.store import Store

T = TypeVar("T")
U = TypeVar("U")


@dataclass(frozen=True)
class OpResult(Generic[T]):
    """What an operation returns: its own typed value and the changes it made.

    Attributes:
        operation: the operation's name (``OPERATIONS``).
        value: the operation's result (a member, a decision, an import summary, ...).
        changes: what it changed, read from the events it wrote.
        warnings: what went wrong after the change was safely written (the log ref could not be
            updated, say): shown to the user, never a reason to think the change was lost.
    """

    operation: str
    value: T
    changes: Changes = field(default_factory=Changes)
    warnings: tuple[str, ...] = ()

    def with_value(self, value: U) -> OpResult[U]:
        """The same operation, changes and warnings, carrying ``value`` (what a view read after it, say)."""
        return OpResult(self.operation, value, self.changes, self.warnings)


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


_A = Area
OPERATIONS: Mapping[str, Operation] = {op.name: op for op in (
    _op("member.add", "add a member or give a member roles", [_A.MEMBERS]),
    _op("member.remove_roles", "take roles away from a member", [_A.MEMBERS]),
    _op("member.set_identity", "record a member's git identity (email, signing key)", [_A.MEMBERS]),
    _op("quorum.set", "change the quorum of authority levels", [_A.QUORUM, _A.PROPOSALS]),
    _op("workspace.set", "change a workspace setting", [_A.WORKSPACE]),
    _op("proposal.add", "add a proposal (and link justifications to it by hand)", [_A.PROPOSALS, _A.LINKS, _A.LABELS]),
    _op("proposal.revise", "revise a proposal's text", [_A.PROPOSALS, _A.DECISIONS]),
    _op("proposal.rebase", "carry a proposal onto the current spec", [_A.PROPOSALS, _A.DECISIONS]),
    _op("evidence.link", "link a justification to a proposal by hand", [_A.LINKS, _A.LABELS]),
    _op("evidence.unlink", "remove a hand link", [_A.LINKS, _A.LABELS]),
    _op("stance.set", "label a justification's stance on a proposal", [_A.LABELS]),
    _op("evidence.rule", "label stances by the exact ranking rule", [_A.LABELS]),
    _op("comment.add", "comment on a proposal, a section of it or a justification", [_A.DISCUSSION]),
    _op("comment.resolve", "resolve a discussion thread", [_A.DISCUSSION]),
    _op("comment.reopen", "reopen a resolved discussion thread", [_A.DISCUSSION]),
    _op("decide", "record a reviewer's decision", [_A.DECISIONS, _A.PROPOSALS], role=Role.REVIEWER),
    _op("decide.confirm", "confirm a vote on an earlier revision on the current text", [_A.DECISIONS, _A.PROPOSALS],
        role=Role.REVIEWER),
    _op("commit", "commit adopted proposals to the spec repository", [_A.COMMITS, _A.PROPOSALS, _A.DECISIONS],
        role=Role.EDITOR, transactional=False),
    _op("import.ca1", "import CA-1 crowd data", [_A.CROWD], transactional=False),
    _op("import.polis", "import a Pol.is export", [_A.CROWD], transactional=False),
    _op("import.file", "import rankings, relevance grades, stances or proposals",
        [_A.RANKINGS, _A.RELEVANCE, _A.LABELS, _A.PROPOSALS, _A.LINKS], transactional=False),
    _op("relevance.lexical", "grade relevance by BM25", [_A.RELEVANCE], transactional=False),
    _op("model.run", "run a model task", [_A.MODEL_RUNS, _A.RANKINGS, _A.RELEVANCE, _A.LABELS],
        transactional=False),
    _op("propose", "propose spec edits from disagreement, keeping those that raise agreement",
        [_A.MODEL_RUNS, _A.RANKINGS, _A.CANDIDATES, _A.PROPOSALS], transactional=False),
    _op("sync", "send and receive the log through a remote of the spec repository",
        [_A.WORKSPACE, _A.MEMBERS, _A.QUORUM, _A.PROPOSALS, _A.LINKS, _A.LABELS, _A.DECISIONS, _A.DISCUSSION,
         _A.CANDIDATES],
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
    refuse_while_held(store)
    before = audit.head_of(store.db).seq
    if operation.transactional:
        with audit.anchored(store.db):
            value = work(actor)
    else:
        value = work(actor)
    changes = events_since(store, before)
    warnings = publish_log(store, name, before + 1) if changes.events else ()
    return OpResult(name, value, changes, warnings)


def publish_log(store: Store, operation: str | None = None, first_seq: int | None = None) -> tuple[str, ...]:
    """Write the events the workspace's log ref lacks (``reviewer.logref``); returns the warnings.

    The change itself is already committed to the database: a failure here is reported, and the
    next publish writes what is missing.
    """
    log = store.log_ref
    if log is None or store.read_only:
        return ()
    try:
        log.publish(store, operation=operation, first_seq=first_seq)
    except KnownError as exc:
        return (f"Saved, but the log ref was not updated: {exc}",)
    except OSError as exc:
        return (f"Saved, but the log ref was not updated: {exc}.",)
    return ()


def events_since(store: Store, seq: int) -> Changes:
    """Return the changes recorded by the events after ``seq``."""
    rows = store.db.execute(
        "SELECT id, action, object_type, object_id, payload FROM audit_events WHERE seq > ? ORDER BY seq",
        [seq],
    ).fetchall()
    return changes_of(rows)


__all__ = [
    "ACTION_AREAS", "OPERATIONS", "Area", "Changes", "OpResult", "Operation", "changes_of", "check_actor",
    "events_since", "perform", "publish_log",
]
