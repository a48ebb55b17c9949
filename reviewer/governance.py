"""Governance: members and roles, quorum per authority level, decisions and proposal status."""

from __future__ import annotations

import dataclasses
import functools
import json
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reviewer import audit
from reviewer.errors import KnownError
from reviewer.ids import new_id, utc_now
from reviewer.outcomes import OUTCOMES, REASONS
from reviewer.spec import AUTHORITY_RANK, SpecDocument, parse_spec
from reviewer.store import (
    APP_ACTOR,
    Store,
    connection_of,
    read_errors,
    require_proposal,
    sql_errors,
)
from reviewer.textsafe import visible
from reviewer.vocab import ROLES, Outcome, Status

if TYPE_CHECKING:
    import sqlite3

    from reviewer.decision_evidence import SeenEvidence
    from reviewer.workspace import Workspace

LEVELS = ("root", "system", "developer", "user", "guideline", "none")
"""Quorum levels: the authority levels (``platform`` counts as ``root``), and ``none`` for sections
that declare no authority (the overview, chapter introductions)."""
DEFAULT_QUORUM = {"root": 2, "system": 2, "developer": 1, "user": 1, "guideline": 1, "none": 1}
FINAL_STATUS: dict[str, Status] = {Outcome.ADOPT: Status.ADOPTED, Outcome.DEFER: Status.DEFERRED, Outcome.SET_ASIDE: Status.SET_ASIDE}
_LEVEL_ORDER = {level: i for i, level in enumerate(LEVELS)}


# ---- members -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    """A person in the workspace with their current roles.

    Attributes:
        id: UUID of the member.
        name: the name decisions and commits are recorded under (unique).
        roles: current roles (reviewer, editor, auditor), sorted.
        created_at: when the member was first added.
        email: the email their log commits are authored with (None: none recorded; only the name
            is checked then).
        signing_key: the key they sign with, as given (a fingerprint or public key text), or None.
    """

    id: str
    name: str
    roles: tuple[str, ...]
    created_at: str
    email: str | None = None
    signing_key: str | None = None

    @property
    def identity(self) -> str:
        """The member as git names an author: ``Name <email>``, or the name alone when no email is recorded."""
        return git_identity(self.name, self.email)


@dataclass(frozen=True)
class RoleChange:
    """One role given or taken away (never deleted).

    Attributes:
        member: the member's name.
        role: the role.
        change: ``add`` or ``remove``.
        changed_by: who made the change.
        changed_at: when.
    """

    member: str
    role: str
    change: str
    changed_by: str
    changed_at: str


def clean_name(name: str) -> str:
    """Return a person's name as the record keeps it ("" when nothing visible is left).

    NFC (a typed "í" and "i" + combining accent are one name), spaces collapsed, invisible
    format characters trimmed from both ends.
    """
    text = " ".join(unicodedata.normalize("NFC", name or "").split())
    start, end = 0, len(text)
    while start < end and unicodedata.category(text[start]) == "Cf":
        start += 1
    while end > start and unicodedata.category(text[end - 1]) == "Cf":
        end -= 1
    text = text[start:end].strip()
    return text if visible(text) else ""


def _clean_name(name: str, what: str = "member") -> str:
    cleaned = clean_name(name)
    if not cleaned:
        raise KnownError(f"A {what} needs a name.")
    return cleaned


def git_identity(name: str, email: str | None) -> str:
    """``Name <email>`` as git shows an author; the name alone when there is no email."""
    return f"{name} <{email}>" if email else name


def git_author(store: Store, name: str) -> tuple[str, str]:
    """``(name, email)`` to author a commit as ``name`` now: the email recorded for them, or "" when none is."""
    member = get_member(store, name)
    return (name, member.email or "") if member is not None else (name, "")


def clean_email(email: str) -> str:
    """Return an email address as the record keeps it (NFC, trimmed).

    Raises:
        KnownError: empty, or not something git can record as an author's email (spaces, angle
            brackets, control characters, not one ``@`` between two parts).
    """
    text = unicodedata.normalize("NFC", email or "").strip()
    local, at, domain = text.partition("@")
    if (not at or not local or not domain or "@" in domain
            or any(ch.isspace() or ch in "<>" or unicodedata.category(ch) in ("Cc", "Cf") for ch in text)):
        raise KnownError(f"{email!r} is not an email address git can record.",
                         hint="Give it as name@example.org, without spaces or angle brackets.")
    return text


MOST_SIGNING_KEY_CHARS = 20_000


def clean_signing_key(key: str) -> str | None:
    """Return a signing key (a fingerprint or public key text) as the record keeps it; None when empty.

    Raises:
        KnownError: control characters other than line breaks, or longer than any public key.
    """
    text = "\n".join(line.strip() for line in (key or "").strip().splitlines())
    if not text:
        return None
    if len(text) > MOST_SIGNING_KEY_CHARS or any(
        unicodedata.category(ch) in ("Cc", "Cf") and ch != "\n" for ch in text
    ):
        raise KnownError("That signing key is not a fingerprint or public key text.",
                         hint="Give the key's fingerprint, or its public key as one text (ssh-ed25519 AAAA…).")
    return text


def _check_role(role: str) -> str:
    value = role.strip().lower()
    if value not in ROLES:
        raise KnownError(f"Unknown role {role!r}.", hint=f"Use one of: {', '.join(ROLES)}.")
    return value


def get_member(store: Store, name: str) -> Member | None:
    """Return the member called ``name``, or None."""
    row = store.db.execute(f"SELECT {_MEMBER_COLUMNS} FROM members WHERE name = ?", [clean_name(name)]).fetchone()
    return None if row is None else _member(row)


def list_members(store: Store) -> list[Member]:
    """Return every member, by name."""
    with sql_errors("listing members"):
        rows = store.db.execute(f"SELECT {_MEMBER_COLUMNS} FROM members ORDER BY name").fetchall()
    return [_member(r) for r in rows]


_MEMBER_COLUMNS = "id, name, roles, created_at, email, signing_key"


def _member(row: Sequence[Any]) -> Member:
    return Member(row[0], row[1], tuple(sorted(json.loads(row[2] or "[]"))), row[3], row[4], row[5])


def member_names(source: Store | sqlite3.Connection) -> list[str]:
    """Return every member's name, sorted (the people an audit event's actor can be, besides the app).

    Args:
        source: the workspace store, or a (read-only) connection to its database.

    Raises:
        KnownError: the database is locked, damaged or unreadable.
        BugError: any other SQLite failure.
    """
    conn = connection_of(source)
    with read_errors("listing members"):
        return [r[0] for r in conn.execute("SELECT name FROM members ORDER BY name")]


def role_history(store: Store, name: str | None = None) -> list[RoleChange]:
    """Return every role change (of one member, or all), oldest first."""
    sql = (
        "SELECT m.name, c.role, c.change, c.changed_by, c.changed_at FROM member_role_changes c"
        " JOIN members m ON m.id = c.member_id"
    )
    params: list[Any] = []
    if name is not None:
        sql += " WHERE m.name = ?"
        params.append(" ".join(name.split()))
    sql += " ORDER BY c.changed_at, c.rowid"
    return [RoleChange(*r) for r in store.db.execute(sql, params).fetchall()]


def add_member(store: Store, name: str, roles: Sequence[str], *, actor: str = APP_ACTOR, email: str | None = None,
               signing_key: str | None = None) -> Member:
    """Add a member, or give an existing member more roles; recorded with an audit event.

    A new member's ``member.add`` event carries their git identity: ``email`` (None when not
    given) and ``signing_key`` when given. An existing member's identity is changed only by
    ``set_identity``; giving another one here is refused.

    Raises:
        KnownError: no name, no role, an unknown role, an email git cannot record, or an identity
            other than the one an existing member has.
    """
    name = _clean_name(name)
    wanted = sorted({_check_role(r) for r in roles})
    if not wanted:
        raise KnownError(f"Say which role {name} has with --role ({', '.join(ROLES)}).")
    email = clean_email(email) if email is not None else None
    signing_key = clean_signing_key(signing_key) if signing_key is not None else None
    now = utc_now()
    with sql_errors("saving the member"), audit.anchored(store.db):
        member = get_member(store, name)
        if member is None:
            member = Member(new_id(), name, (), now, email, signing_key)
            store.db.execute(
                "INSERT INTO members (id, name, roles, created_at, email, signing_key) VALUES (?, ?, '[]', ?, ?, ?)",
                [member.id, name, now, email, signing_key],
            )
            action = "member.add"
        else:
            _refuse_other_identity(member, email, signing_key)
            action = "member.role_add"
        added = [r for r in wanted if r not in member.roles]
        roles_now = tuple(sorted(set(member.roles) | set(wanted)))
        if not added and action == "member.role_add":
            return member
        store.db.execute("UPDATE members SET roles = ? WHERE id = ?", [json.dumps(list(roles_now)), member.id])
        changes = _role_changes(store, member.id, added, "add", actor, now)
        payload: dict[str, Any] = {"name": name, "added": added, "roles": list(roles_now),
                                   "created_at": member.created_at, "changes": changes}
        if action == "member.add":
            payload["email"] = email
            if signing_key is not None:
                payload["signing_key"] = signing_key
        audit.append_event(store.db, actor=actor, action=action, object_type="member", object_id=member.id,
                           payload=payload)
    return dataclasses.replace(member, roles=roles_now)


def _refuse_other_identity(member: Member, email: str | None, signing_key: str | None) -> None:
    if (email is not None and email != member.email) or (signing_key is not None and signing_key != member.signing_key):
        raise KnownError(
            f"{member.name} is already a member, with the git identity {member.identity}; adding roles does not "
            "change it.",
            hint=f"Change it with `spec-review member identity WORKSPACE {member.name!r} --email ADDR --by NAME`.",
        )


def set_identity(store: Store, name: str, email: str, signing_key: str | None = None, *,
                 actor: str = APP_ACTOR) -> Member:
    """Record a member's git identity (``member.set_identity``): the email their log commits carry, and a signing key.

    Args:
        store: the workspace store.
        name: the member.
        email: their email (required).
        signing_key: their key's fingerprint or public key text; None keeps the one recorded, ""
            removes it.

    Returns:
        The member as now recorded (nothing is logged when nothing changed).

    Raises:
        KnownError: no such member, or an email or key that cannot be recorded.
    """
    email = clean_email(email)
    with sql_errors("saving the member's identity"), audit.anchored(store.db):
        member = get_member(store, name)
        if member is None:
            raise KnownError(f"No member called {name!r}.", hint="List them with `spec-review member list WORKSPACE`.")
        key = member.signing_key if signing_key is None else clean_signing_key(signing_key)
        if (email, key) == (member.email, member.signing_key):
            return member
        store.db.execute("UPDATE members SET email = ?, signing_key = ? WHERE id = ?", [email, key, member.id])
        audit.append_event(
            store.db, actor=actor, action="member.set_identity", object_type="member", object_id=member.id,
            payload={"name": member.name, "email": email, "signing_key": key,
                     "before": {"email": member.email, "signing_key": member.signing_key}, "updated_at": utc_now()},
        )
    return dataclasses.replace(member, email=email, signing_key=key)


def _role_changes(
    store: Store, member_id: str, roles: Sequence[str], change: str, actor: str, at: str
) -> list[list[str]]:
    """Write ``member_role_changes`` rows inside the caller's transaction; return ``[id, role, change, at]`` of each.

    The event carries them, so the role history can be rebuilt from the log as it was written.
    """
    rows = [[new_id(), role, change, at] for role in roles]
    store.db.conn.executemany(
        "INSERT INTO member_role_changes (id, member_id, role, change, changed_by, changed_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(row_id, member_id, role, kind, actor, when) for row_id, role, kind, when in rows],
    )
    return rows


def remove_role(store: Store, name: str, role: str, *, actor: str = APP_ACTOR) -> Member:
    """Take a role away from a member; the member and every past decision stay.

    Raises:
        KnownError: no such member, or the member does not hold the role.
    """
    role = _check_role(role)
    with sql_errors("changing the member's roles"), audit.anchored(store.db):
        member = get_member(store, name)
        if member is None:
            raise KnownError(f"No member called {name!r}.", hint="List them with `spec-review member list WORKSPACE`.")
        if role not in member.roles:
            raise KnownError(f"{member.name} does not hold the role {role}.")
        roles_now = tuple(r for r in member.roles if r != role)
        store.db.execute("UPDATE members SET roles = ? WHERE id = ?", [json.dumps(list(roles_now)), member.id])
        changes = _role_changes(store, member.id, [role], "remove", actor, utc_now())
        audit.append_event(
            store.db, actor=actor, action="member.role_remove", object_type="member", object_id=member.id,
            payload={"name": member.name, "removed": role, "roles": list(roles_now), "changes": changes},
        )
    return dataclasses.replace(member, roles=roles_now)


def require_role(store: Store, name: str, role: str) -> Member:
    """Return the member called ``name`` when they hold ``role``.

    Raises:
        KnownError: no such member, or they lack the role.
    """
    member = get_member(store, name)
    problem = role_problem(name, None if member is None else member.roles, role)
    if problem is not None:
        raise problem
    assert member is not None
    return member


def role_problem(name: str, roles: Sequence[str] | None, role: str) -> KnownError | None:
    """Say why ``name``, holding ``roles`` (None: not a member), may not act as ``role``; None when they may.

    The one rule, for the domain's refusal and for the GUI, which says it before anything is typed.
    """
    if roles is None:
        return KnownError(
            f"{name} is not a member of this workspace.",
            hint=f"Add them with `spec-review member add WORKSPACE {name!r} --role {role}`.",
        )
    if role not in roles:
        held = ", ".join(roles) or "no role"
        return KnownError(
            f"{name} holds {held}, not {role}: only {role}s may do this.",
            hint=f"Give them the {role} role with `spec-review member add WORKSPACE {name!r} --role {role}`.",
        )
    return None


# ---- quorum ------------------------------------------------------------------------------------


def level_of(authority: str | None) -> str:
    """Return the quorum level of a declared authority (``platform`` is ``root``; none or unknown: ``none``)."""
    if authority == "platform":
        return "root"
    if authority in AUTHORITY_RANK:
        return str(authority)
    return "none"


def quorum_settings(store: Store) -> dict[str, int]:
    """Return the quorum of every level, in level order."""
    with sql_errors("reading the quorum"):
        stored = dict(store.db.execute("SELECT level, quorum FROM quorum_settings").fetchall())
    return {level: int(stored.get(level, DEFAULT_QUORUM[level])) for level in LEVELS}


def parse_quorum_setting(text: str) -> tuple[str, int]:
    """Read ``LEVEL=N`` (``platform`` is accepted for ``root``).

    Raises:
        KnownError: not of that form, an unknown level, or N below 1.
    """
    level, sep, value = text.partition("=")
    level = level.strip().lower()
    level = "root" if level == "platform" else level
    if not sep or level not in LEVELS:
        raise KnownError(f"{text!r} is not LEVEL=N.", hint=f"Levels: {', '.join(LEVELS)}; e.g. root=3.")
    try:
        number = int(value)
    except ValueError as exc:
        raise KnownError(f"{text!r}: the quorum must be a whole number.") from exc
    if number < 1:
        raise KnownError(f"{text!r}: the quorum must be at least 1.")
    return level, number


def set_quorum(store: Store, changes: Mapping[str, int], *, actor: str = APP_ACTOR) -> dict[str, int]:
    """Change the quorum of some levels; recorded with one audit event.

    Returns:
        Every level's quorum after the change.

    Raises:
        KnownError: an unknown level or a quorum below 1.
    """
    for level, number in changes.items():
        if level not in LEVELS:
            raise KnownError(f"Unknown level {level!r}.", hint=f"Use one of: {', '.join(LEVELS)}.")
        if int(number) < 1:
            raise KnownError(f"The quorum of {level} must be at least 1.")
    before = quorum_settings(store)
    changed = {level: {"from": before[level], "to": int(n)} for level, n in changes.items() if before[level] != int(n)}
    if not changed:
        return before
    now = utc_now()
    with sql_errors("saving the quorum"), audit.anchored(store.db):
        store.db.conn.executemany(
            "INSERT INTO quorum_settings (level, quorum, updated_at, updated_by) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(level) DO UPDATE SET quorum = excluded.quorum, updated_at = excluded.updated_at,"
            " updated_by = excluded.updated_by",
            [(level, c["to"], now, actor) for level, c in changed.items()],
        )
        audit.append_event(
            store.db, actor=actor, action="quorum.set", object_type="workspace", object_id=None,
            payload={"changed": changed, "updated_at": now},
        )
    return quorum_settings(store)


def _heading_authority(text: str) -> str | None:
    return _line_authority(text.split("\n", 1)[0])


@functools.lru_cache(maxsize=4096)
def _line_authority(first_line: str) -> str | None:
    sections = parse_spec(first_line + "\n").sections
    return sections[0].authority if sections else None


def governing_level(levels: Iterable[str], quorum: Mapping[str, int]) -> str:
    """Return the level whose bar applies: the highest quorum among ``levels``, then the highest authority."""
    found = set(levels) or {"none"}
    return min(found, key=lambda level: (-quorum[level], _LEVEL_ORDER[level]))


def proposal_levels(store: Store, proposal_id: str, spec_document: SpecDocument | None = None) -> set[str]:
    """Return the levels a proposal touches: from its new and base heading lines, and the current spec.

    Args:
        store: the workspace store.
        proposal_id: the proposal.
        spec_document: the spec as it is now, when known (its sections' authority counts too).
    """
    levels: set[str] = set()
    for section_id, base_text, new_text in store.db.execute(
        "SELECT section_id, base_text, new_text FROM proposal_sections WHERE proposal_id = ?", [proposal_id]
    ):
        levels.add(level_of(_heading_authority(new_text)))
        levels.add(level_of(_heading_authority(base_text)))
        current = spec_document.get(section_id) if spec_document is not None else None
        if current is not None:
            levels.add(level_of(current.authority))
    return levels


# ---- decisions and status ----------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """One reviewer's recorded outcome for a proposal (never changed, never deleted).

    Attributes:
        id: UUID of the decision.
        proposal_id: the proposal.
        outcome: adopt, defer or set_aside.
        reason_category: for defer and set_aside, the category of the reason.
        rationale: the reviewer's written reasons.
        reviewer: the reviewer's member name.
        decided_at: UTC time.
        commit_sha: the commit that carried the adopted change out, once committed.
        level: the quorum level that applied when it was recorded.
        quorum: the quorum that applied when it was recorded.
        status_after: the proposal's status right after it.
        spec_revision: the spec commit the reviewer saw, when known.
        evidence: the evidence it was made on (``decision_evidence.evidence_snapshot``), when kept.
        proposal_revision: the revision of the proposal it was made on (``reviewer.revisions``).
        duty: the duty to respond it met (``reviewer.duty.duty_record``): the groups owed an answer and
            each answer; None when it owed none.
    """

    id: str
    proposal_id: str
    outcome: str
    reason_category: str | None
    rationale: str
    reviewer: str
    decided_at: str
    commit_sha: str | None = None
    level: str | None = None
    quorum: int | None = None
    status_after: str | None = None
    spec_revision: str | None = None
    evidence: dict[str, Any] | None = None
    proposal_revision: int | None = None
    duty: dict[str, Any] | None = None

    @property
    def responses(self) -> dict[str, str]:
        """Group id -> the answer given to it (empty when the decision owed none)."""
        return dict((self.duty or {}).get("responses") or {})


@dataclass(frozen=True)
class ProposalStatus:
    """Where a proposal stands.

    Attributes:
        proposal_id: the proposal.
        status: open, pending, contested, adopted, deferred, set_aside, committed or needs_rebase.
        level: the quorum level that applies.
        quorum: how many distinct reviewers must agree.
        votes: each reviewer's latest outcome.
        final_outcome: adopt, defer or set_aside once the quorum agrees (also when committed).
        counted_decisions: the ids of the latest decisions that make up the final outcome.
        commit_sha: the commit that carried it out, once committed.
        detail: why a rebase is needed, when it is.
        revision: the proposal's current revision.
        votes_from: the first revision whose votes count (``reviewer.revisions``).
        stale: reviewers whose latest vote was on an earlier text and does not count until they
            confirm it: ``{reviewer: (outcome, revision voted on)}`` (``reviewer.revisions``).
    """

    proposal_id: str
    status: str
    level: str
    quorum: int
    votes: dict[str, str] = field(default_factory=dict)
    final_outcome: str | None = None
    counted_decisions: tuple[str, ...] = ()
    commit_sha: str | None = None
    detail: str = ""
    revision: int = 1
    stale: dict[str, tuple[str, int]] = field(default_factory=dict)
    votes_from: int = 1

    def on_earlier_text(self, decision: Decision) -> bool:
        """Whether ``decision`` was made on a revision whose votes no longer count."""
        return (decision.proposal_revision or 1) < self.votes_from


@dataclass(frozen=True)
class DecisionResult:
    """What recording a decision did.

    Attributes:
        decision: the stored decision.
        status: the proposal's status after it.
        event_seq: the position of its audit event.
    """

    decision: Decision
    status: ProposalStatus
    event_seq: int


_DECISION_COLUMNS = (
    "id, proposal_id, outcome, reason_category, rationale, reviewer, decided_at, commit_sha,"
    " authority, quorum, status_after, spec_revision, evidence, proposal_revision, duty"
)


def _decision(row: Sequence[Any]) -> Decision:
    decision = Decision(*row[:12])
    return dataclasses.replace(decision, evidence=json.loads(row[12]) if row[12] else None, proposal_revision=row[13],
                               duty=json.loads(row[14]) if row[14] else None)


ROLE_CHANGE_UNKNOWN = "decided before the role change was known"


def decided_before_role_change(source: Store | sqlite3.Connection) -> dict[str, int]:
    """Decisions whose reviewer had lost the reviewer role at their place in the log: ``{decision id: seq}``.

    Only a sync brings these about: one machine took the role away while the member decided on
    another, which did not know yet. The decision is kept (it was made in good faith); the log
    view and the report mark it ``ROLE_CHANGE_UNKNOWN``. Reads the member and decision events in log order.
    """
    from reviewer.store import connection_of

    conn = connection_of(source)
    roles: dict[str, tuple[str, set[str]]] = {}  # name -> (last member action, roles)
    found: dict[str, int] = {}
    with sql_errors("reading the audit log"):
        rows = conn.execute(
            "SELECT seq, actor, action, object_id, payload FROM audit_events WHERE action IN"
            " ('member.add', 'member.role_add', 'member.role_remove', 'decision.record') ORDER BY seq").fetchall()
    for seq, actor, action, object_id, payload_text in rows:
        try:
            payload = json.loads(payload_text or "{}")
        except ValueError:
            continue
        if action.startswith("member.") and isinstance(payload.get("name"), str):
            roles[payload["name"]] = (action, set(payload.get("roles") or ()))
        elif action == "decision.record" and object_id:
            last = roles.get(actor)
            if last is not None and last[0] == "member.role_remove" and "reviewer" not in last[1]:
                found[str(object_id)] = int(seq)
    return found


def earlier_text(revision: int | None) -> str:
    """How a vote on an earlier revision is marked: ``on an earlier text (revision 1)``."""
    return f"on an earlier text (revision {revision or 1})"


def decisions_on_earlier_text(source: Store | sqlite3.Connection) -> dict[str, tuple[int, int]]:
    """Decisions made on a revision whose votes no longer count: ``{decision id: (event seq, revision)}``.

    The proposal was revised with new text after (or, on another machine, while) the reviewer
    decided; the decision is kept, marked ``earlier_text`` in the log view and the report, and
    counts again only when its reviewer confirms it on the new text.
    """
    from reviewer.store import connection_of

    with sql_errors("reading decisions"):
        rows = connection_of(source).execute(
            "SELECT d.id, e.seq, coalesce(d.proposal_revision, 1) FROM decisions d"
            " JOIN proposals p ON p.id = d.proposal_id"
            " JOIN audit_events e ON e.object_id = d.id AND e.action = 'decision.record'"
            " WHERE coalesce(d.proposal_revision, 1) < p.votes_from").fetchall()
    return {str(r[0]): (int(r[1]), int(r[2])) for r in rows}


def decision_marks(source: Store | sqlite3.Connection) -> dict[int, str]:
    """What the log view says before a decision event's details, by the event's seq.

    A decision made before its reviewer's role change was known (``ROLE_CHANGE_UNKNOWN``), and one
    made on an earlier text of its proposal (``earlier_text``).
    """
    marks: dict[int, list[str]] = {}
    for seq in decided_before_role_change(source).values():
        marks.setdefault(seq, []).append(ROLE_CHANGE_UNKNOWN)
    for seq, revision in decisions_on_earlier_text(source).values():
        marks.setdefault(seq, []).append(earlier_text(revision))
    return {seq: " · ".join(found) for seq, found in marks.items()}


def decisions_for(store: Store, proposal_id: str) -> list[Decision]:
    """Return every decision on a proposal, oldest first."""
    with sql_errors("reading decisions"):
        rows = store.db.execute(
            f"SELECT {_DECISION_COLUMNS} FROM decisions WHERE proposal_id = ? ORDER BY rowid",
            [proposal_id],
        ).fetchall()
    return [_decision(r) for r in rows]


def normalise_outcome(outcome: str) -> str:
    """Return ``adopt``, ``defer`` or ``set_aside`` for what a person typed (``set-aside`` too).

    Raises:
        KnownError: anything else.
    """
    value = outcome.strip().lower().replace("-", "_").replace(" ", "_")
    if value not in OUTCOMES:
        raise KnownError(f"Unknown outcome {outcome!r}.", hint="Use adopt, defer or set-aside.")
    return value


def normalise_reason(outcome: str, reason: str | None) -> str | None:
    """Check the reason category for an outcome and return it in its stored form.

    Raises:
        KnownError: a reason for adopt, a missing reason for defer or set aside, or an unknown one.
    """
    allowed = REASONS[outcome]
    label = outcome.replace("_", " ")
    if not allowed:
        if reason:
            raise KnownError("Adopting takes no reason category; give the reasons in the rationale.")
        return None
    if not reason or not reason.strip():
        raise KnownError(
            f"To {label} a proposal, give a reason category with --reason.", hint=f"One of: {', '.join(allowed)}."
        )
    value = reason.strip().lower().replace("_", "-").replace(" ", "-")
    if value not in allowed:
        raise KnownError(f"{reason!r} is not a reason to {label}.", hint=f"Use one of: {', '.join(allowed)}.")
    return value


def _compute(
    proposal_id: str,
    decisions: Sequence[tuple[str, str, str, str | None, int | None]],
    level: str,
    quorum: int,
    commit_state: tuple[str, str | None, str] | None,
    revision: tuple[int, int] = (1, 1),
) -> ProposalStatus:
    """Derive a status from decisions ``(id, reviewer, outcome, commit_sha, proposal revision)`` in log order.

    ``revision`` is the proposal's (current revision, first revision whose votes count): a
    reviewer's latest decision on an earlier revision is kept aside as stale, not counted.
    """
    current, first_counting = revision
    latest: dict[str, tuple[str, str, int]] = {}
    for decision_id, reviewer, outcome, _sha, voted_on in decisions:
        latest[reviewer] = (decision_id, outcome, voted_on or 1)
    stale = {r: (o, n) for r, (_d, o, n) in sorted(latest.items()) if n < first_counting}
    if commit_state is not None and commit_state[0] == Status.COMMITTED:
        votes = {r: o for r, (_d, o, _n) in sorted(latest.items())}
        counted = tuple(d for _r, (d, o, _n) in sorted(latest.items()) if o == Outcome.ADOPT)
        return ProposalStatus(proposal_id, Status.COMMITTED, level, quorum, votes, Outcome.ADOPT, counted,
                              commit_state[1], revision=current, votes_from=first_counting)
    counting = {r: v for r, v in sorted(latest.items()) if r not in stale}
    votes = {r: o for r, (_d, o, _n) in counting.items()}
    if not votes:
        return ProposalStatus(proposal_id, Status.OPEN, level, quorum, revision=current, stale=stale,
                              votes_from=first_counting)
    outcomes = set(votes.values())
    if len(outcomes) > 1:
        return ProposalStatus(proposal_id, Status.CONTESTED, level, quorum, votes, revision=current, stale=stale,
                              votes_from=first_counting)
    (outcome,) = outcomes
    if len(votes) < quorum:
        return ProposalStatus(proposal_id, Status.PENDING, level, quorum, votes, revision=current, stale=stale,
                              votes_from=first_counting)
    counted = tuple(d for _r, (d, _o, _n) in counting.items())
    status = FINAL_STATUS[outcome]
    detail = ""
    if outcome == Outcome.ADOPT and commit_state is not None and commit_state[0] == Status.NEEDS_REBASE:
        status, detail = Status.NEEDS_REBASE, commit_state[2]
    return ProposalStatus(proposal_id, status, level, quorum, votes, outcome, counted, None, detail, current, stale,
                          first_counting)


_FEW = 100  # up to this many proposals, statuses() reads their rows by index instead of whole tables


def statuses(store: Store, proposal_ids: Iterable[str] | None = None) -> dict[str, ProposalStatus]:
    """Return the status of every proposal (or of the given ones), reading each table once."""
    quorum = quorum_settings(store)
    with sql_errors("reading proposal status"):
        if proposal_ids is None:
            rows = store.db.execute("SELECT id, revision, votes_from FROM proposals ORDER BY created_at, id").fetchall()
            wanted = [r[0] for r in rows]
        else:
            wanted = list(proposal_ids)
        wanted_set = set(wanted)
        # A few proposals (the one on screen): read only their rows, by index; many: each table once.
        few = proposal_ids is not None and len(wanted) <= _FEW
        where = f" WHERE proposal_id IN ({','.join('?' * len(wanted))})" if few else ""
        params = wanted if few else []
        if proposal_ids is not None:
            rows = store.db.execute(
                "SELECT id, revision, votes_from FROM proposals"
                + (f" WHERE id IN ({','.join('?' * len(wanted))})" if few else ""), params).fetchall()
        revisions = {r[0]: (int(r[1]), int(r[2])) for r in rows}
        levels: dict[str, set[str]] = {pid: set() for pid in wanted}
        # Only the heading lines matter here: read them without the section bodies.
        for pid, base_text, new_text in store.db.execute(
            "SELECT proposal_id, substr(base_text, 1, instr(base_text || char(10), char(10))),"
            f" substr(new_text, 1, instr(new_text || char(10), char(10))) FROM proposal_sections{where}", params
        ):
            if pid in wanted_set:
                levels[pid].add(level_of(_heading_authority(new_text)))
                levels[pid].add(level_of(_heading_authority(base_text)))
        decisions: dict[str, list[tuple[str, str, str, str | None, int | None]]] = {pid: [] for pid in wanted}
        for pid, decision_id, reviewer, outcome, sha, authority, voted_on in store.db.execute(
            f"SELECT proposal_id, id, reviewer, outcome, commit_sha, authority, proposal_revision FROM decisions{where}"
            # In the order they were recorded (the log's), never by wall-clock time: a reviewer
            # whose clock runs behind must not have their later decision counted as earlier.
            " ORDER BY rowid", params
        ):
            if pid in wanted_set:
                decisions[pid].append((decision_id, reviewer, outcome, sha, voted_on))
                if authority in _LEVEL_ORDER:
                    levels[pid].add(authority)
        states = {
            r[0]: (r[1], r[2], r[3])
            for r in store.db.execute(
                f"SELECT proposal_id, state, commit_sha, detail FROM proposal_commit_state{where}", params)
        }
    result = {}
    for pid in wanted:
        level = governing_level(levels[pid], quorum)
        result[pid] = _compute(pid, decisions[pid], level, quorum[level], states.get(pid), revisions.get(pid, (1, 1)))
    return result


def proposal_status(store: Store, proposal_id: str) -> ProposalStatus:
    """Return one proposal's status.

    Raises:
        KnownError: no proposal has that id.
    """
    with sql_errors("reading proposal status"):
        require_proposal(store.db.conn, proposal_id)
    return statuses(store, [proposal_id])[proposal_id]


def decide(
    store: Store,
    proposal_id: str,
    outcome: str,
    reviewer: str,
    rationale: str,
    reason: str | None = None,
    spec_document: SpecDocument | None = None,
    *,
    spec_revision: str | None = None,
    split_by: str | None = None,
    seen: SeenEvidence | None = None,
    revision: int | None = None,
    responses: Mapping[str, str] | None = None,
) -> DecisionResult:
    """Record one reviewer's decision on a proposal, with its audit event, in one transaction.

    Each reviewer's latest decision counts; the proposal is final once ``quorum`` distinct
    reviewers agree, contested while their latest outcomes differ. A deferred or set-aside
    proposal can be decided again; a committed one cannot.

    Args:
        store: the workspace store.
        proposal_id: the proposal.
        outcome: adopt, defer or set_aside (``set-aside`` accepted).
        reviewer: a member holding the reviewer role.
        rationale: the written reasons (required).
        reason: the reason category for defer and set aside.
        spec_document: the current spec, so that its sections' authority counts for the quorum.
        spec_revision: the spec commit the reviewer saw, recorded with the decision.
        split_by: the demographic field of the split kept with the decision's evidence (country
            when not given); it does not choose the groups owed an answer (the duty fields do).
        seen: the evidence as the desk read it (``decision_evidence.seen_evidence``), kept when no
            change since touched it (checked in the decision's transaction); read again otherwise.
        revision: the proposal's revision the reviewer read; the decision is recorded on it, and
            refused when the proposal has been revised since (None: the current revision).
        responses: the duty to respond (``reviewer.duty``): group id -> a sentence answering that
            group, for each group the outcome owes an answer (computed in the transaction).

    Raises:
        KnownError: unknown proposal or outcome, a missing or unknown reason, an empty rationale,
            a reviewer without the reviewer role, a proposal already committed, one revised
            since the reviewer read it, a group owed an answer left without one, or an answer
            to a group not owed one.
    """
    outcome = normalise_outcome(outcome)
    reason_category = normalise_reason(outcome, reason)
    rationale = (rationale or "").strip()
    if not visible(rationale):
        raise KnownError("A decision needs a rationale: say why, in words others can read.")
    proposal = store.get_proposal(proposal_id)
    member = require_role(store, reviewer, "reviewer")
    levels = proposal_levels(store, proposal_id, spec_document)
    quorum = quorum_settings(store)
    level = governing_level(levels, quorum)
    decision_id = new_id()
    now = utc_now()
    # Imported here: reading statuses (the GUI at start-up) does not need the evidence module.
    from reviewer.decision_evidence import (
        DEFAULT_SPLIT,
        evidence_snapshot,
        snapshot_digest,
        snapshot_text,
        still_current,
    )
    from reviewer.duty import duty_text, owed_and_answered

    split_by = split_by or DEFAULT_SPLIT

    with sql_errors("saving the decision"), audit.anchored(store.db):
        before = statuses(store, [proposal_id])[proposal_id]
        if revision is not None and revision != before.revision:
            raise KnownError(
                f"Proposal {proposal_id} was revised (now revision {before.revision}) since you read revision {revision}; "
                "nothing was recorded.",
                hint="Read the new text (F5 in the app) and decide on it.",
            )
        if before.status == "committed":
            raise KnownError(
                f"Proposal {proposal_id} was already committed ({(before.commit_sha or '')[:10]}); it cannot be decided again.",
                hint="Propose a new change to revise it.",
            )
        # The groups owed an answer are those of the evidence as it stands in this transaction.
        # The groups of the workspace's duty fields, whatever split the reviewer showed (``reviewer.duty``).
        duty = owed_and_answered(store, proposal_id, outcome, responses or {})
        store.db.execute(
            "INSERT INTO decisions (id, proposal_id, outcome, reason_category, rationale, reviewer, decided_at,"
            " authority, quorum, spec_revision, proposal_revision, duty) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [decision_id, proposal_id, outcome, reason_category, rationale, member.name, now, level,
             quorum[level], spec_revision, before.revision, duty_text(duty)],
        )
        after = statuses(store, [proposal_id])[proposal_id]
        # What the reviewer decided on, kept as it is now: later labels never rewrite it.
        if seen is not None and still_current(store, seen, proposal_id, split_by):
            snapshot = seen.snapshot
        else:
            snapshot = evidence_snapshot(store, proposal_id, split_by)
        evidence_text = snapshot_text(snapshot)
        store.db.execute(
            "UPDATE decisions SET status_after = ?, evidence = ? WHERE id = ?",
            [after.status, evidence_text, decision_id],
        )
        event = audit.append_event(
            store.db, actor=member.name, action="decision.record", object_type="decision", object_id=decision_id,
            payload={
                "proposal_id": proposal_id,
                "title": proposal.title,
                "outcome": outcome,
                "reason_category": reason_category,
                "rationale": rationale,
                "level": level,
                "quorum": quorum[level],
                "status_before": before.status,
                "status_after": after.status,
                "spec_revision": spec_revision,
                "proposal_revision": before.revision,
                # The snapshot stays in the row; the event holds its digest (small events keep
                # verify fast) and the figures a reader of the log wants at a glance.
                "evidence_sha256": snapshot_digest(evidence_text),
                "evidence_counts": snapshot["counts"],
                "evidence_share": snapshot["share_supporting"],
                "decided_at": now,
                # Only when a group was owed an answer: older events and decisions that owed none match.
                **({"duty": duty} if duty is not None else {}),
            },
        )
    decision = Decision(
        decision_id, proposal_id, outcome, reason_category, rationale, member.name, now, None, level,
        quorum[level], after.status, spec_revision, snapshot, before.revision, duty,
    )
    return DecisionResult(decision=decision, status=after, event_seq=event.seq)


def status_json(status: ProposalStatus) -> dict[str, Any]:
    """Return a status as plain JSON data."""
    return {
        "proposal_id": status.proposal_id,
        "status": status.status,
        "level": status.level,
        "quorum": status.quorum,
        "votes": status.votes,
        "agreeing": max((list(status.votes.values()).count(o) for o in set(status.votes.values())), default=0),
        "final_outcome": status.final_outcome,
        "counted_decisions": list(status.counted_decisions),
        "commit_sha": status.commit_sha,
        "detail": status.detail,
        "revision": status.revision,
        "votes_on_earlier_text": {name: {"outcome": o, "revision": n} for name, (o, n) in status.stale.items()},
    }


def decision_json(decision: Decision) -> dict[str, Any]:
    """Return a decision as plain JSON data."""
    return dict(decision.__dict__)


def record_decision(
    workspace: Workspace,
    proposal_id: str,
    outcome: str,
    reviewer: str,
    rationale: str,
    reason: str | None = None,
    *,
    split_by: str | None = None,
    seen: SeenEvidence | None = None,
    revision: int | None = None,
    responses: Mapping[str, str] | None = None,
) -> DecisionResult:
    """Record a decision against the spec at the current commit (``reviewer.operations.decide`` calls it).

    The current spec's section authorities count for the quorum, and its commit is stored with
    the decision as the revision the reviewer saw. ``split_by`` is the demographic field whose
    split the reviewer was shown (country when not given); ``seen`` the evidence the desk read
    with it, kept if nothing changed it since.
    """
    loaded = workspace.load_spec()
    return decide(
        workspace.store, proposal_id, outcome, reviewer, rationale, reason, loaded.document,
        spec_revision=loaded.revision, split_by=split_by, seen=seen, revision=revision, responses=responses,
    )


def confirm_vote(workspace: Workspace, proposal_id: str, reviewer: str, rationale: str | None = None) -> DecisionResult:
    """Confirm a reviewer's vote on an earlier revision on the current text: the same outcome, decided again.

    The rationale is the earlier one unless a new one is given; the reason category is kept.

    Raises:
        KnownError: the reviewer has no vote on the proposal, or their vote already counts.
    """
    status = proposal_status(workspace.store, proposal_id)
    name = clean_name(reviewer)
    if name not in status.stale:
        if name in status.votes:
            raise KnownError(f"{name}'s vote is on the current revision ({status.revision}) already; there is nothing"
                             " to confirm.")
        raise KnownError(f"{name} has not decided on this proposal yet; decide with adopt, defer or set aside.")
    earlier = [d for d in decisions_for(workspace.store, proposal_id) if d.reviewer == name][-1]
    from reviewer.duty import groups_owed

    # The earlier answers carry over to the groups still owed one; a group newly owed must be answered afresh.
    split = (earlier.evidence or {}).get("split_by")
    owed = {g.id for g in groups_owed(workspace.store, proposal_id, earlier.outcome)}
    return record_decision(workspace, proposal_id, earlier.outcome, name, rationale or earlier.rationale,
                           earlier.reason_category, revision=status.revision,
                           split_by=split, responses={k: v for k, v in earlier.responses.items() if k in owed})
