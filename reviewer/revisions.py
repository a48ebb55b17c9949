"""Revisions of a proposal: editing its text, rebasing it onto a newer spec, and votes on earlier text.

Every revision is kept whole (``proposal_revisions``); the proposal's row and sections hold the
current one. A revision is one of (``vocab.RevisionKind``):

- **edit**: a person changed the text (or title, intent, kind). The spec it is written against stays
  the same (the sections keep their base text), as a new patch set on the same parent does.
- **rebase**: the same change carried onto the current spec, with no text written by a person:
  each section either had not moved, or merged three ways without a conflict.
- **resolve**: a rebase whose conflicting hunks a person resolved.

Votes follow Gerrit's copy rules (and GitHub's "dismiss stale approvals"): a decision counts toward
quorum only when it was made on a revision at or after ``votes_from``, the last revision with new
text. Only a clean rebase keeps the votes before it. A reviewer confirms a vote on the new text by
deciding again (``operations.confirm_vote``). A decision made on another machine that had not yet
seen a revision is recorded with the revision its reviewer saw, so after a sync it is marked as a
vote on the earlier text in the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reviewer import audit
from reviewer.errors import KnownError
from reviewer.ids import utc_now
from reviewer.store import (
    Proposal,
    ProposalSection,
    Store,
    check_proposal_fields,
    sections_from_json,
    sections_json,
    sql_errors,
)
from reviewer.vocab import RevisionKind, Status

if TYPE_CHECKING:
    from reviewer.workspace import Workspace

CONFLICT_MARKERS = ("<<<<<<< ", "||||||| ", "=======", ">>>>>>> ")


@dataclass(frozen=True)
class Revision:
    """One revision of a proposal, whole.

    Attributes:
        proposal_id: the proposal.
        revision: its number, from 1.
        kind: written, edit, rebase or resolve (``RevisionKind``).
        title, intent, proposal_kind: the proposal's fields in this revision.
        base_revision: the spec commit this revision is written against.
        sections: its section texts.
        note: what its author said of it.
        created_at: when it was made (UTC); created_by: who made it.
    """

    proposal_id: str
    revision: int
    kind: str
    title: str
    intent: str
    proposal_kind: str
    base_revision: str
    sections: tuple[ProposalSection, ...]
    note: str
    created_at: str
    created_by: str

    @property
    def keeps_votes(self) -> bool:
        """Whether votes on the revision before it still count (a clean rebase)."""
        return self.kind == RevisionKind.REBASE


_COLUMNS = ("proposal_id, revision, kind, title, intent, proposal_kind, base_revision, sections, note, created_at,"
            " created_by")


def _revision(row: Sequence[Any]) -> Revision:
    return Revision(row[0], int(row[1]), row[2], row[3], row[4], row[5], row[6], sections_from_json(row[7]),
                    *row[8:11])


def revisions(store: Store, proposal_id: str) -> list[Revision]:
    """Every revision of a proposal, oldest first.

    Raises:
        KnownError: no proposal has that id.
    """
    from reviewer.store import require_proposal

    with sql_errors("reading the proposal's revisions"):
        require_proposal(store.db.conn, proposal_id)
        rows = store.db.execute(f"SELECT {_COLUMNS} FROM proposal_revisions WHERE proposal_id = ? ORDER BY revision",
                                [proposal_id]).fetchall()
    return [_revision(r) for r in rows]


def get_revision(store: Store, proposal_id: str, number: int) -> Revision:
    """One revision of a proposal.

    Raises:
        KnownError: no such proposal, or it has no revision ``number``.
    """
    found = [r for r in revisions(store, proposal_id) if r.revision == number]
    if not found:
        last = len(revisions(store, proposal_id))
        raise KnownError(f"Proposal {proposal_id} has no revision {number}; it has revisions 1 to {last}.")
    return found[0]


def votes_from(store: Store, proposal_id: str) -> int:
    """The first revision whose votes count toward quorum."""
    row = store.db.execute("SELECT votes_from FROM proposals WHERE id = ?", [proposal_id]).fetchone()
    return int(row[0]) if row else 1


# ---- comparing revisions -----------------------------------------------------------------------


@dataclass(frozen=True)
class SectionDiff:
    """One section compared between two revisions.

    Attributes:
        section_id: the heading id.
        old_text: its proposed text in the older revision ("" when that revision did not change it).
        new_text: its proposed text in the newer one ("" when it no longer changes it).
        hunks: the line diff with word-level segments, old → new (empty when they are the same).
    """

    section_id: str
    old_text: str
    new_text: str
    hunks: tuple[Any, ...]


@dataclass(frozen=True)
class RevisionDiff:
    """Two revisions compared: what changed in the proposal's text and fields between them.

    Attributes:
        old: the older revision; new: the newer one.
        sections: each section either revision changes, in the newer revision's order.
        fields: the fields that differ, ``{name: (old, new)}`` (title, intent, kind, base revision).
    """

    old: Revision
    new: Revision
    sections: tuple[SectionDiff, ...]
    fields: dict[str, tuple[str, str]]


def compare_revisions(store: Store, proposal_id: str, old: int, new: int) -> RevisionDiff:
    """Compare revision ``old`` of a proposal with revision ``new`` (any two, either way round).

    Raises:
        KnownError: no such proposal or revision.
    """
    from reviewer.diffing import diff_text

    a, b = get_revision(store, proposal_id, old), get_revision(store, proposal_id, new)
    before = {s.section_id: s.new_text for s in a.sections}
    after = {s.section_id: s.new_text for s in b.sections}
    order = [s.section_id for s in b.sections] + [s.section_id for s in a.sections if s.section_id not in after]
    sections = tuple(
        SectionDiff(sid, before.get(sid, ""), after.get(sid, ""),
                    tuple(diff_text(before.get(sid, ""), after.get(sid, ""))) if before.get(sid) != after.get(sid)
                    else ())
        for sid in order
    )
    fields = {
        name: (x, y) for name, x, y in (
            ("title", a.title, b.title), ("intent", a.intent, b.intent), ("kind", a.proposal_kind, b.proposal_kind),
            ("base revision", a.base_revision, b.base_revision),
        ) if x != y
    }
    return RevisionDiff(a, b, sections, fields)


# ---- making a revision -------------------------------------------------------------------------


def _refuse_committed(store: Store, proposal_id: str) -> None:
    from reviewer.governance import proposal_status

    status = proposal_status(store, proposal_id)
    if status.status == Status.COMMITTED:
        raise KnownError(
            f"Proposal {proposal_id} was committed ({(status.commit_sha or '')[:10]}); a committed proposal is not revised.",
            hint="Write a new proposal for a further change.",
        )


def _check_reviser(store: Store, proposal: Proposal, actor: str) -> None:
    """A proposal is revised by its author or by a member of the board."""
    from reviewer.governance import get_member

    if actor != proposal.created_by and get_member(store, actor) is None:
        raise KnownError(
            f"{actor} is neither the proposal's author ({proposal.created_by}) nor a member of this workspace.",
            hint="Add them with `spec-review member add`, or revise as a member.",
        )


def _check_seen(proposal: Proposal, seen: int | None) -> None:
    if seen is not None and seen != proposal.revision:
        raise KnownError(
            f"Proposal {proposal.id} is at revision {proposal.revision} now, not {seen} as you read it.",
            hint="Read the current revision (F5 in the app) and make the change again on it.",
        )


def _write_revision(store: Store, proposal: Proposal, *, kind: RevisionKind, title: str, intent: str,
                    proposal_kind: str, base_revision: str, sections: Sequence[ProposalSection], note: str,
                    actor: str) -> Revision:
    """Store a new revision as the proposal's current one, with its event (in the caller's transaction)."""
    number = proposal.revision + 1
    keeps = kind == RevisionKind.REBASE
    now = utc_now()
    with sql_errors("saving the revision"):
        before = votes_from(store, proposal.id)
        first_counting = before if keeps else number
        store.db.execute(
            "UPDATE proposals SET title = ?, intent = ?, kind = ?, base_revision = ?, revision = ?, votes_from = ?"
            " WHERE id = ?", [title, intent, proposal_kind, base_revision, number, first_counting, proposal.id])
        store.db.execute("DELETE FROM proposal_sections WHERE proposal_id = ?", [proposal.id])
        store.db.conn.executemany(
            "INSERT INTO proposal_sections (proposal_id, position, section_id, base_text, new_text) VALUES (?,?,?,?,?)",
            [(proposal.id, i, s.section_id, s.base_text, s.new_text) for i, s in enumerate(sections)])
        store.db.execute(
            f"INSERT INTO proposal_revisions ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [proposal.id, number, str(kind), title, intent, proposal_kind, base_revision, sections_json(sections),
             note, now, actor])
        # A revision is written against the spec as it is: an earlier "needs rebase" no longer holds.
        store.db.execute("DELETE FROM proposal_commit_state WHERE proposal_id = ? AND state = 'needs_rebase'",
                         [proposal.id])
        audit.append_event(
            store.db, actor=actor, action="proposal.revise", object_type="proposal", object_id=proposal.id,
            payload={
                "title": title, "revision": number, "kind": str(kind), "intent": intent, "proposal_kind": proposal_kind,
                "base_revision": base_revision, "note": note, "created_at": now, "votes_from": first_counting,
                "texts": [{"section_id": s.section_id, "base_text": s.base_text, "new_text": s.new_text}
                          for s in sections],
            },
        )
    return Revision(proposal.id, number, str(kind), title, intent, proposal_kind, base_revision, tuple(sections), note,
                    now, actor)


def revise(
    workspace: Workspace,
    proposal_id: str,
    *,
    changes: Sequence[tuple[str, str]] = (),
    title: str | None = None,
    intent: str | None = None,
    kind: str | None = None,
    note: str = "",
    seen_revision: int | None = None,
    actor: str,
) -> Revision:
    """Make a new revision of a proposal with new section texts and fields (an edit).

    ``changes`` are ``(section_id, new text)``: a section the proposal changes gets the new text
    (against the same base text); another section is added, against the spec at the proposal's base
    revision. Sections not named keep their text. ``seen_revision``, when given, is the revision
    the author edited: a proposal revised since is refused, so that no edit is lost.

    Raises:
        KnownError: no such proposal, a committed one, an author who is no member, a malformed or
            unchanged text, an empty title or intent, an unknown kind, or nothing changed at all.
    """
    from reviewer.proposals import build_sections, check_new_section_text

    store = workspace.store
    proposal = store.get_proposal(proposal_id)
    _check_seen(proposal, seen_revision)
    _check_reviser(store, proposal, actor)
    _refuse_committed(store, proposal_id)
    new_kind = kind if kind is not None else proposal.kind
    new_title, new_intent = check_proposal_fields(title if title is not None else proposal.title,
                                                  intent if intent is not None else proposal.intent, new_kind)
    named = [sid for sid, _text in changes]
    if len(set(named)) != len(named):
        raise KnownError("A section is named twice in one revision.")
    sections = list(proposal.sections)
    by_id = {s.section_id: i for i, s in enumerate(sections)}
    added = [(sid, text) for sid, text in changes if sid not in by_id]
    for sid, text in changes:
        if sid in by_id:
            check_new_section_text(sid, text)
            old = sections[by_id[sid]]
            if text == old.base_text:
                raise KnownError(f"The new text for section {sid!r} is the text of the spec it was written against;"
                                 " a revision cannot drop a section's change.")
            sections[by_id[sid]] = ProposalSection(sid, old.base_text, text)
    if added:
        sections += build_sections(workspace.load_spec(proposal.base_revision).document, added)
    if (tuple(sections) == proposal.sections and new_title == proposal.title and new_intent == proposal.intent
            and new_kind == proposal.kind):
        raise KnownError("Nothing to revise: the texts, title, intent and kind are as they are now.")
    return _write_revision(store, proposal, kind=RevisionKind.EDIT, title=new_title, intent=new_intent,
                           proposal_kind=new_kind, base_revision=proposal.base_revision, sections=sections,
                           note=note.strip(), actor=actor)


# ---- rebasing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hunk:
    """A piece of a section merged three ways: agreed text, or a conflict.

    Attributes:
        current: the current spec's lines here (for agreed text, the text itself).
        base: the lines of the spec the proposal was written against (conflicts only).
        proposed: the proposal's lines (conflicts only).
        conflict: whether the current spec and the proposal changed these lines differently.
    """

    current: str
    base: str = ""
    proposed: str = ""
    conflict: bool = False


@dataclass(frozen=True)
class SectionRebase:
    """One section of a proposal carried onto the current spec.

    Attributes:
        section_id: the heading id.
        base_text: the section as the proposal's base had it.
        current_text: the section in the current spec ("" when it is gone).
        proposed_text: the proposal's text for it.
        merged_text: the result when it merged cleanly (None while it conflicts).
        hunks: the three-way merge, in order: agreed pieces and conflicts.
        problem: why it cannot be carried over at all (the section is gone), else "".
    """

    section_id: str
    base_text: str
    current_text: str
    proposed_text: str
    merged_text: str | None
    hunks: tuple[Hunk, ...]
    problem: str = ""

    @property
    def conflicts(self) -> int:
        """How many hunks conflict."""
        return sum(1 for h in self.hunks if h.conflict)

    def resolve(self, choices: Sequence[str]) -> str:
        """The section's text with each conflicting hunk replaced by ``choices`` (in order)."""
        if len(choices) != self.conflicts:
            raise KnownError(f"Section {self.section_id!r} has {self.conflicts} conflicting hunks; "
                             f"{len(choices)} resolutions were given.")
        out, rest = [], iter(choices)
        for hunk in self.hunks:
            out.append(next(rest) if hunk.conflict else hunk.current)
        return "".join(out)


@dataclass(frozen=True)
class RebasePlan:
    """A proposal carried onto the spec as it is now.

    Attributes:
        proposal: the proposal.
        revision: the current spec commit it would be based on.
        sections: each section, merged or conflicting.
    """

    proposal: Proposal
    revision: str
    sections: tuple[SectionRebase, ...]

    @property
    def conflicts(self) -> int:
        """Conflicting hunks over all sections."""
        return sum(s.conflicts for s in self.sections)

    @property
    def up_to_date(self) -> bool:
        """Whether the proposal is already written against this commit."""
        return self.proposal.base_revision == self.revision


def split_merge(text: str) -> tuple[Hunk, ...]:
    """Split ``git merge-file --diff3`` output (labels current, base, proposal) into agreed pieces and conflicts."""
    hunks: list[Hunk] = []
    plain: list[str] = []
    parts: dict[str, list[str]] = {}
    where: str | None = None
    for line in text.splitlines(keepends=True):
        if where is None and line.startswith("<<<<<<< "):
            if plain:
                hunks.append(Hunk("".join(plain)))
                plain = []
            where, parts = "current", {"current": [], "base": [], "proposed": []}
        elif where == "current" and line.startswith("||||||| "):
            where = "base"
        elif where in ("current", "base") and line.rstrip("\r\n") == "=======":
            where = "proposed"
        elif where == "proposed" and line.startswith(">>>>>>> "):
            hunks.append(Hunk("".join(parts["current"]), "".join(parts["base"]), "".join(parts["proposed"]), True))
            where = None
        elif where is not None:
            parts[where].append(line)
        else:
            plain.append(line)
    if where is not None:  # an unterminated marker: not git's output; keep it as text
        plain += parts.get("current", []) + parts.get("base", []) + parts.get("proposed", [])
    if plain:
        hunks.append(Hunk("".join(plain)))
    return tuple(hunks)


def rebase_plan(workspace: Workspace, proposal_id: str) -> RebasePlan:
    """Merge each section of a proposal three ways onto the current spec (base, current spec, proposed).

    Raises:
        KnownError: no such proposal, or git could not run the merge.
    """
    from reviewer import gitops

    proposal = workspace.store.get_proposal(proposal_id)
    loaded = workspace.load_spec()
    sections = []
    for change in proposal.sections:
        current = loaded.document.get(change.section_id)
        if current is None:
            sections.append(SectionRebase(change.section_id, change.base_text, "", change.new_text, None, (),
                                          f"section {change.section_id!r} is no longer in the spec"))
            continue
        if current.text in (change.base_text, change.new_text):
            merged_text = change.new_text
            sections.append(SectionRebase(change.section_id, change.base_text, current.text, change.new_text,
                                          merged_text, (Hunk(merged_text),)))
            continue
        result = gitops.merge_text(change.base_text, current.text, change.new_text, diff3=True)
        hunks = split_merge(result.text)
        sections.append(SectionRebase(change.section_id, change.base_text, current.text, change.new_text,
                                      None if result.conflicts else result.text, hunks))
    return RebasePlan(proposal, loaded.revision, tuple(sections))


def rebase(
    workspace: Workspace,
    proposal_id: str,
    *,
    resolutions: Mapping[str, str] | None = None,
    note: str = "",
    seen_revision: int | None = None,
    actor: str,
) -> Revision:
    """Carry a proposal onto the current spec as a new revision.

    Sections that merge cleanly take the merged text (a **rebase**: the votes carry over). Each
    conflicting section needs its resolved text in ``resolutions`` (section id → the whole section);
    with any resolution the revision is a **resolve** and earlier votes wait for confirmation.

    Raises:
        KnownError: the proposal is committed or already on the current spec, a section is gone,
            a conflict has no resolution, or a resolution is malformed or still holds conflict markers.
    """
    from reviewer.proposals import check_new_section_text

    store = workspace.store
    proposal = store.get_proposal(proposal_id)
    _check_seen(proposal, seen_revision)
    _check_reviser(store, proposal, actor)
    _refuse_committed(store, proposal_id)
    plan = rebase_plan(workspace, proposal_id)
    if plan.up_to_date:
        raise KnownError(f"Proposal {proposal_id} is already written against the current spec "
                         f"({plan.revision[:10]}); there is nothing to rebase.")
    given = dict(resolutions or {})
    unknown = sorted(set(given) - {s.section_id for s in plan.sections})
    if unknown:
        raise KnownError(f"A resolution names section {unknown[0]!r}, which this proposal does not change.")
    sections, resolved = [], False
    for section in plan.sections:
        if section.problem:
            raise KnownError(f"Cannot rebase: {section.problem}.", hint="Write a new proposal against the current spec.")
        text = given.get(section.section_id)
        if text is None:
            if section.merged_text is None:
                raise KnownError(
                    f"Section {section.section_id!r} conflicts with the current spec ({section.conflicts} "
                    f"conflicting hunk{'' if section.conflicts == 1 else 's'}); give its resolved text.",
                    hint="In the app: Editor tab, Rebase. On the command line: --resolution FILE.",
                )
            text = section.merged_text
        else:
            if any(line.startswith(CONFLICT_MARKERS) for line in text.splitlines()):
                raise KnownError(f"The resolution for section {section.section_id!r} still holds conflict markers "
                                 "(<<<<<<<, |||||||, =======, >>>>>>>).", hint="Keep one side of each, or write both anew.")
            check_new_section_text(section.section_id, text)
            resolved = resolved or text != section.merged_text
        if text == section.current_text:
            raise KnownError(f"With that text, section {section.section_id!r} would be the same as the spec now; "
                             "the proposal would change nothing there.", hint="Set the proposal aside instead.")
        sections.append(ProposalSection(section.section_id, section.current_text, text))
    kind = RevisionKind.RESOLVE if resolved else RevisionKind.REBASE
    return _write_revision(store, proposal, kind=kind, title=proposal.title, intent=proposal.intent,
                           proposal_kind=proposal.kind, base_revision=plan.revision, sections=sections,
                           note=note.strip(), actor=actor)


def revision_json(revision: Revision) -> dict[str, Any]:
    """A revision as plain JSON data."""
    data = dict(revision.__dict__)
    data["sections"] = [dict(s.__dict__) for s in revision.sections]
    data["keeps_votes"] = revision.keeps_votes
    return data


def sections_of_payload(payload: Mapping[str, Any]) -> tuple[tuple[str, str, str], ...]:
    """A ``proposal.add``/``proposal.revise`` event's section texts as ``(id, base, new)`` triples."""
    return tuple((t["section_id"], t["base_text"], t["new_text"]) for t in payload["texts"])


__all__ = [
    "CONFLICT_MARKERS", "Hunk", "RebasePlan", "Revision", "RevisionDiff", "SectionDiff", "SectionRebase",
    "compare_revisions", "get_revision", "rebase", "rebase_plan", "revise", "revision_json", "revisions",
    "sections_of_payload", "split_merge", "votes_from",
]
