"""Creating proposals from new section texts, and comparing a proposal with the spec as it is now."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reviewer.errors import KnownError
from reviewer.spec import AUTHORITY_RANK, SpecDocument, parse_spec
from reviewer.store import APP_ACTOR, Proposal, ProposalSection

if TYPE_CHECKING:
    from reviewer.store import Revision
    from reviewer.workspace import Workspace


def check_new_section_text(section_id: str, new_text: str) -> None:
    """Check that ``new_text`` is one whole section whose heading carries ``section_id``.

    Raises:
        KnownError: the text has no heading, another id, more than one heading, or does not parse.
    """
    if not new_text.strip():
        raise KnownError(f"The new text for section {section_id!r} is empty.")
    document = parse_spec(new_text)
    if document.preamble.strip():
        raise KnownError(
            f"The new text for section {section_id!r} must start with its heading line "
            f"(e.g. `## Title {{#{section_id} authority=user}}`)."
        )
    if len(document.sections) != 1:
        raise KnownError(
            f"The new text for section {section_id!r} holds {len(document.sections)} headings; "
            "a proposal replaces one section (heading through the line before the next heading) at a time.",
            hint="Split it into several --section/--text-file pairs.",
        )
    heading = document.sections[0]
    if heading.id != section_id:
        raise KnownError(
            f"The new text's heading has id {heading.id!r}, not {section_id!r}.",
            hint="Keep the section's `{#id ...}` block; an id cannot be changed by a proposal.",
        )
    fatal = [p for p in document.problems if p.kind in ("unterminated_fence", "unknown_authority", "bad_attribute")]
    if fatal:
        raise KnownError(f"The new text for section {section_id!r}: line {fatal[0].line}: {fatal[0].message}.")


def build_sections(base: SpecDocument, changes: Sequence[tuple[str, str]]) -> list[ProposalSection]:
    """Pair each ``(section_id, new_text)`` with the section's text in ``base``.

    Raises:
        KnownError: a section is missing from the base spec, or a new text is malformed or unchanged.
    """
    sections = []
    for section_id, new_text in changes:
        current = base.get(section_id)
        if current is None:
            raise KnownError(
                f"The spec has no section with id {section_id!r}.",
                hint="List the ids with `spec-review spec sections FILE`.",
            )
        check_new_section_text(section_id, new_text)
        if new_text == current.text:
            raise KnownError(f"The new text for section {section_id!r} is the same as the current text.")
        sections.append(ProposalSection(section_id=section_id, base_text=current.text, new_text=new_text))
    return sections


def authority_changed(old: str | None, new: str | None) -> bool:
    """Whether a heading's authority moves to another level (``platform`` → ``root`` is a rename, not a move)."""
    if old == new:
        return False
    if old in AUTHORITY_RANK and new in AUTHORITY_RANK:
        return AUTHORITY_RANK[old] != AUTHORITY_RANK[new]
    return True


def _heading_authority(text: str) -> str | None:
    sections = parse_spec(text.split("\n", 1)[0] + "\n").sections
    return sections[0].authority if sections else None


def authority_changes(base: SpecDocument, changes: Sequence[tuple[str, str]]) -> list[tuple[str, str | None, str | None]]:
    """Return ``(section_id, current authority, new authority)`` for each change that moves a section's authority."""
    out = []
    for section_id, new_text in changes:
        current = base.get(section_id)
        if current is None:
            continue
        new = _heading_authority(new_text)
        if authority_changed(current.authority, new):
            out.append((section_id, current.authority, new))
    return out


def check_kind(kind: str, moved: Sequence[tuple[str, str | None, str | None]]) -> None:
    """Refuse a proposal that moves a section's authority unless it is a change of principle.

    Raises:
        KnownError: ``moved`` is not empty and ``kind`` is not ``principle``.
    """
    if moved and kind != "principle":
        section_id, old, new = moved[0]
        raise KnownError(
            f"Section {section_id!r}: its authority changes from {old or 'none'} to {new or 'none'}, "
            "which is a change of principle, not a clarification.",
            hint="Make the proposal's kind 'principle' (--kind principle), or keep the section's authority.",
        )


def add_proposal(
    workspace: Workspace,
    *,
    changes: Sequence[tuple[str, str]],
    title: str,
    intent: str,
    kind: str,
    origin: str = "human-first",
    created_by: str = "",
    base_revision: str = "HEAD",
    actor: str = APP_ACTOR,
    justifications: Sequence[str] = (),
    **extra_fields: Any,
) -> Proposal:
    """Add a proposal that replaces the given sections, based on the spec at ``base_revision``.

    ``justifications`` are linked by hand, by the actor, in the caller's transaction (those that
    its linked conversations already bring are skipped). A change of a section's authority needs
    the kind ``principle``.

    Raises:
        KnownError: as ``build_sections`` and ``Store.add_proposal``; an authority change in a
            clarification; an unknown justification.
    """
    from reviewer.evidence import link_justifications

    loaded = workspace.load_spec(base_revision)
    sections = build_sections(loaded.document, changes)
    check_kind(kind, authority_changes(loaded.document, changes))
    proposal = workspace.store.add_proposal(
        title=title, intent=intent, kind=kind, origin=origin, base_revision=loaded.revision,
        sections=sections, created_by=created_by or actor, actor=actor, **extra_fields,
    )
    if justifications:
        link_justifications(workspace.store, proposal.id, justifications, actor)
    return proposal


# ---- a proposal being written ---------------------------------------------------------------


@dataclass(frozen=True)
class ProposalDraft:
    """What the proposal editor holds: the texts, title, intent, kind and links, against a spec revision.

    Attributes:
        changes: ``(section_id, whole new section text)`` in order.
        title: the title.
        intent: one or two plain sentences.
        kind: ``clarification`` or ``principle``.
        base_revision: the spec commit the texts were written against.
        conversations: conversation ids to link (all their justifications).
        justifications: justification ids to link by hand.
        proposal_id: the proposal it edits, when it was opened from one.
    """

    changes: tuple[tuple[str, str], ...]
    title: str = ""
    intent: str = ""
    kind: str = "clarification"
    base_revision: str = "HEAD"
    conversations: tuple[str, ...] = ()
    justifications: tuple[str, ...] = ()
    proposal_id: str | None = None


def draft_from_proposal(proposal: Proposal, base_revision: str = "HEAD") -> ProposalDraft:
    """A draft holding a stored proposal's texts, title, intent, kind and conversations (to edit it)."""
    return ProposalDraft(
        changes=tuple((s.section_id, s.new_text) for s in proposal.sections), title=proposal.title,
        intent=proposal.intent, kind=proposal.kind, base_revision=base_revision,
        conversations=proposal.linked_conversations, proposal_id=proposal.id,
    )


@dataclass(frozen=True)
class DraftCheck:
    """A draft checked against the spec it is written for, as the editor shows it while typing.

    Attributes:
        sections: each section compared with the spec (``SectionChangeView``: hunks, titles, authorities).
        section_problems: what is wrong with each section's text, by section id (format, unchanged).
        moved: ``(section_id, current, new)`` for each authority change.
        problems: every reason saving would be refused, in the order to show them.
    """

    sections: tuple[SectionChangeView, ...]
    section_problems: dict[str, str]
    moved: tuple[tuple[str, str | None, str | None], ...]
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """Whether the draft can be saved."""
        return not self.problems


def check_draft(base: SpecDocument, draft: ProposalDraft) -> DraftCheck:
    """Check a draft as ``add_proposal`` would, without raising: every problem is named, and each section diffed.

    The rules are the same functions ``add_proposal`` runs (``check_new_section_text``, the
    authority rule of ``check_kind``, a title and an intent), so what the editor accepts saves.
    """
    from reviewer.diffing import diff_text

    views = []
    section_problems: dict[str, str] = {}
    problems: list[str] = []
    if not draft.changes:
        problems.append("Choose at least one section to change.")
    seen: set[str] = set()
    for section_id, new_text in draft.changes:
        current = base.get(section_id)
        if current is None:
            section_problems[section_id] = f"The spec has no section with id {section_id!r}."
            continue
        if section_id in seen:
            section_problems[section_id] = f"Section {section_id!r} is named twice."
        seen.add(section_id)
        try:
            check_new_section_text(section_id, new_text)
        except KnownError as exc:
            section_problems[section_id] = str(exc)
        else:
            if new_text == current.text:
                section_problems[section_id] = f"Section {section_id!r} is unchanged."
        parsed = parse_spec(new_text).sections
        start = max(current.start_line - 1, 0)
        views.append(SectionChangeView(
            section_id=section_id, current_text=current.text, new_text=new_text, base_matches_current=True,
            old_title=current.title, new_title=parsed[0].title if parsed else None,
            old_authority=current.authority, new_authority=parsed[0].authority if parsed else None,
            start_line=current.start_line, hunks=diff_text(current.text, new_text, old_offset=start, new_offset=start),
        ))
    problems.extend(section_problems.values())
    moved = authority_changes(base, [(v.section_id, v.new_text) for v in views if v.section_id not in section_problems])
    try:
        check_kind(draft.kind, moved)
    except KnownError as exc:
        problems.append(str(exc).replace(" (--kind principle)", ""))
    if not draft.title.strip():
        problems.append("Give the proposal a title.")
    if not draft.intent.strip():
        problems.append("Say its intent: one or two plain sentences saying what it is for.")
    return DraftCheck(tuple(views), section_problems, tuple(moved), tuple(problems))


@dataclass(frozen=True)
class SectionChangeView:
    """One section of a proposal, compared with the spec as it is now.

    Attributes:
        section_id: the heading id.
        current_text: the section's text at the current commit ("" when it no longer exists).
        new_text: the proposed text.
        base_matches_current: whether the spec still has the text the proposal was written against.
        old_title: current heading title; new_title: proposed heading title.
        old_authority: current authority; new_authority: proposed authority.
        start_line: where the section starts in the current file (0 when missing).
        hunks: line diff with word-level segments, current → proposed.
        as_adopted: the comparison is the proposal's commit's own change (before it → as committed),
            not the current spec against the proposed text.
        now_text: the section's text now, when it differs from what the commit wrote (None otherwise).
        now_hunks: the change since the commit, as committed → now (empty when ``now_text`` is None).
    """

    section_id: str
    current_text: str
    new_text: str
    base_matches_current: bool
    old_title: str | None
    new_title: str | None
    old_authority: str | None
    new_authority: str | None
    start_line: int
    hunks: tuple[Any, ...]
    as_adopted: bool = False
    now_text: str | None = None
    now_hunks: tuple[Any, ...] = ()


@dataclass(frozen=True)
class ProposalView:
    """A proposal with each of its sections compared with the current spec.

    Attributes:
        proposal: the stored proposal.
        revision: the commit the comparison was made against.
        sections: one comparison per section, in the proposal's order.
        committed: the spec commit that adopted the proposal, when it was committed: the sections
            then show that commit's own change, and what changed in them since.
        revisions: every revision of the proposal, oldest first, when it has more than one
            (``reviewer.revisions``; empty for a proposal never revised).
    """

    proposal: Proposal
    revision: str
    sections: tuple[SectionChangeView, ...]
    committed: str | None = None
    revisions: tuple[Revision, ...] = ()


def proposal_view(workspace: Workspace, proposal_id: str) -> ProposalView:
    """Compare each section of a proposal with the spec at the current commit.

    A committed proposal keeps its diff: each section shows its commit's own change (the spec
    before the commit → the text committed), and what changed in it since, if anything.
    """
    from dataclasses import replace

    from reviewer.diffing import diff_text
    from reviewer.store import read_revisions

    proposal = workspace.store.get_proposal(proposal_id)
    loaded = workspace.load_spec()
    kept = tuple(read_revisions(workspace.store, proposal_id)) if proposal.revision > 1 else ()
    committed = _committed_view(workspace, proposal, loaded)
    if committed is not None:
        return replace(committed, revisions=kept)
    views = []
    for change in proposal.sections:
        current = loaded.document.get(change.section_id)
        current_text = current.text if current else ""
        new_section = parse_spec(change.new_text).sections[0]
        start = current.start_line if current else 0
        views.append(
            SectionChangeView(
                section_id=change.section_id,
                current_text=current_text,
                new_text=change.new_text,
                base_matches_current=current_text == change.base_text,
                old_title=current.title if current else None,
                new_title=new_section.title,
                old_authority=current.authority if current else None,
                new_authority=new_section.authority,
                start_line=start,
                hunks=diff_text(current_text, change.new_text, old_offset=max(start - 1, 0), new_offset=max(start - 1, 0)),
            )
        )
    return ProposalView(proposal=proposal, revision=loaded.revision, sections=tuple(views), revisions=kept)


def _committed_view(workspace: Workspace, proposal: Proposal, loaded: Any) -> ProposalView | None:
    """The view of a committed proposal (None when it is not committed, or its commit is not here)."""
    from reviewer import gitops
    from reviewer.diffing import diff_text
    from reviewer.errors import KnownError

    row = workspace.store.db.execute(
        "SELECT commit_sha FROM proposal_commit_state WHERE proposal_id = ? AND state = 'committed'",
        [proposal.id]).fetchone()
    if row is None or not row[0] or not gitops.commit_exists(workspace.spec_repo_path, str(row[0])):
        return None
    sha = str(row[0])
    try:
        before, after = workspace.load_spec(f"{sha}^"), workspace.load_spec(sha)
    except KnownError:  # a first commit, or a spec file that did not parse then
        return None
    views = []
    for change in proposal.sections:
        old, new, now = (spec.document.get(change.section_id) for spec in (before, after, loaded))
        old_text, new_text = (old.text if old else ""), (new.text if new else change.new_text)
        now_text = now.text if now else ""
        start = old.start_line if old else 0
        new_section = new or parse_spec(change.new_text).sections[0]
        moved = now_text != new_text
        views.append(SectionChangeView(
            section_id=change.section_id, current_text=old_text, new_text=new_text, base_matches_current=True,
            old_title=old.title if old else None, new_title=new_section.title,
            old_authority=old.authority if old else None, new_authority=new_section.authority, start_line=start,
            hunks=diff_text(old_text, new_text, old_offset=max(start - 1, 0), new_offset=max(start - 1, 0)),
            as_adopted=True, now_text=now_text if moved else None,
            now_hunks=diff_text(new_text, now_text, old_offset=max(start - 1, 0),
                                new_offset=max((now.start_line if now else 1) - 1, 0)) if moved else (),
        ))
    return ProposalView(proposal=proposal, revision=sha, sections=tuple(views), committed=sha)
