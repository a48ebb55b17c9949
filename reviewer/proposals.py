"""Creating proposals from new section texts, and reading them from the product's JSONL format."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewer.errors import KnownError
from reviewer.formats import ConversationIndex, at_line, read_jsonl
from reviewer.ids import is_uuid, stable_id
from reviewer.rankings import normalise
from reviewer.spec import SpecDocument, parse_spec
from reviewer.store import APP_ACTOR, Proposal, ProposalSection, sql_errors

if TYPE_CHECKING:
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
    **extra_fields: Any,
) -> Proposal:
    """Add a proposal that replaces the given sections, based on the spec at ``base_revision``."""
    loaded = workspace.load_spec(base_revision)
    sections = build_sections(loaded.document, changes)
    return workspace.store.add_proposal(
        title=title, intent=intent, kind=kind, origin=origin, base_revision=loaded.revision,
        sections=sections, created_by=created_by or actor, actor=actor, **extra_fields,
    )


@dataclass(frozen=True)
class ImportSummary:
    """What an import did.

    Attributes:
        added: rows stored.
        unchanged: rows already present, skipped.
    """

    added: int
    unchanged: int


def _proposal_row(
    workspace: Workspace,
    row: dict[str, Any],
    conversations: ConversationIndex,
    specs: dict[str, SpecDocument],
    revisions: dict[str, str],
    actor: str,
) -> dict[str, Any]:
    """Check one JSONL row and return the keyword arguments of ``Store.add_proposal`` for it.

    Raises:
        KnownError: a field is missing or malformed, a prompt id is unknown, or a section is wrong.
    """
    proposal_id = row.get("id")
    if proposal_id is None:
        # No id given: derive one from the content, so importing the same file twice adds it once.
        proposal_id = stable_id("proposal", json.dumps(row, sort_keys=True, ensure_ascii=False))
    elif not isinstance(proposal_id, str) or not is_uuid(proposal_id):
        raise KnownError(f"field 'id' must be a UUID, not {proposal_id!r}")
    given_revision = row.get("base_revision") or "HEAD"
    if not isinstance(given_revision, str):
        raise KnownError("field 'base_revision' must be a tag or commit sha")
    if given_revision not in revisions:
        revisions[given_revision] = workspace.resolve(given_revision)
    revision = revisions[given_revision]
    if revision not in specs:
        specs[revision] = workspace.load_spec(revision).document
    raw_sections = row.get("sections")
    if not isinstance(raw_sections, list) or not all(isinstance(x, dict) for x in raw_sections):
        raise KnownError("field 'sections' must be a list of {section_id, new_text}")
    changes = []
    for item in raw_sections:
        section_id, new_text = item.get("section_id"), item.get("new_text")
        if not isinstance(section_id, str) or not isinstance(new_text, str):
            raise KnownError("each of 'sections' needs a section_id and a new_text string")
        changes.append((section_id, new_text))
    linked_prompts = row.get("linked_conversations") or []
    if not isinstance(linked_prompts, list):
        raise KnownError("field 'linked_conversations' must be a list of prompt ids")
    linked: list[str] = []
    for prompt_id in linked_prompts:
        conversation_id = conversations.id_for(prompt_id, "linked_conversations")
        if conversation_id not in linked:
            linked.append(conversation_id)
    expected_raw = row.get("expected_ranking")
    expected: dict[str, str] | None = None
    if expected_raw is not None:
        if not isinstance(expected_raw, dict):
            raise KnownError("field 'expected_ranking' must be an object {prompt_id: ranking} or null")
        expected = {}
        for prompt_id, ranking in expected_raw.items():
            conversation_id = conversations.id_for(prompt_id, "expected_ranking")
            if conversation_id not in linked:
                raise KnownError(
                    f"expected_ranking names prompt {prompt_id!r}, which is not in linked_conversations"
                )
            if not isinstance(ranking, str):
                raise KnownError(f"expected_ranking for {prompt_id!r} must be a ranking string")
            expected[conversation_id] = normalise(ranking)
    extra = row.get("extra") or {}
    if not isinstance(extra, dict):
        raise KnownError("field 'extra' must be a JSON object")
    created_at = row.get("created_at")
    created_by = row.get("created_by")
    if created_at is not None and not isinstance(created_at, str):
        raise KnownError("field 'created_at' must be an ISO-8601 time string")
    if created_by is not None and not isinstance(created_by, str):
        raise KnownError("field 'created_by' must be a string")
    for key in ("title", "intent", "kind"):
        if not isinstance(row.get(key), str):
            raise KnownError(f"field {key!r} must be a string")
    origin = row.get("origin", "imported")
    if not isinstance(origin, str):
        raise KnownError("field 'origin' must be a string")
    return {
        "proposal_id": proposal_id,
        "title": row["title"],
        "intent": row["intent"],
        "kind": row["kind"],
        "origin": origin,
        "base_revision": revision,
        "sections": build_sections(specs[revision], changes),
        "created_by": created_by or actor,
        "created_at": created_at,
        "linked_conversations": linked,
        "expected_ranking": expected,
        "extra": extra,
    }


def _conflicts(stored: Proposal, fields: dict[str, Any], row: dict[str, Any]) -> list[str]:
    """Return the names of the fields in which an imported row differs from the stored proposal."""
    differs = [
        key for key in ("title", "intent", "kind", "origin", "base_revision")
        if getattr(stored, key) != str(fields[key]).strip()
    ]
    if [(s.section_id, s.new_text) for s in stored.sections] != [
        (s.section_id, s.new_text) for s in fields["sections"]
    ]:
        differs.append("sections")
    if sorted(stored.linked_conversations) != sorted(fields["linked_conversations"]):
        differs.append("linked_conversations")
    if (stored.expected_ranking or None) != (fields["expected_ranking"] or None):
        differs.append("expected_ranking")
    if stored.extra != fields["extra"]:
        differs.append("extra")
    for key in ("created_at", "created_by"):
        if row.get(key) is not None and getattr(stored, key) != row[key]:
            differs.append(key)
    return differs


def import_proposals_jsonl(workspace: Workspace, path: Path, *, actor: str = APP_ACTOR) -> ImportSummary:
    """Import proposals from a JSONL file, all or nothing.

    Each line: ``id, title, intent, kind, origin, base_revision, sections: [{section_id, new_text}],
    created_at, created_by, linked_conversations: [prompt_id, ...], expected_ranking: {prompt_id:
    ranking} | null`` (and optionally ``extra``). Conversations are named by prompt id; every
    prompt of ``expected_ranking`` must be linked. A proposal already stored with the same content
    is skipped; with other content it is an error. Each proposal added gets its own
    ``proposal.add`` audit event.

    Raises:
        KnownError: naming the file and line of the first bad row; nothing is stored then.
    """
    path = Path(path)
    rows = read_jsonl(path)
    store = workspace.store
    conversations = ConversationIndex(store)
    added = unchanged = 0
    specs: dict[str, SpecDocument] = {}
    revisions: dict[str, str] = {}
    with sql_errors("importing proposals"), store.db.atomic():
        for number, row in rows:
            with at_line(path, number):
                fields = _proposal_row(workspace, row, conversations, specs, revisions, actor)
                if store.db.execute("SELECT 1 FROM proposals WHERE id = ?", [fields["proposal_id"]]).fetchone():
                    differs = _conflicts(store.get_proposal(fields["proposal_id"]), fields, row)
                    if differs:
                        raise KnownError(
                            f"proposal {fields['proposal_id']} is already stored with another {', '.join(differs)}"
                        )
                    unchanged += 1
                    continue
                store.add_proposal(**fields, actor=actor)
                added += 1
    return ImportSummary(added=added, unchanged=unchanged)


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


@dataclass(frozen=True)
class ProposalView:
    """A proposal with each of its sections compared with the current spec.

    Attributes:
        proposal: the stored proposal.
        revision: the commit the comparison was made against.
        sections: one comparison per section, in the proposal's order.
    """

    proposal: Proposal
    revision: str
    sections: tuple[SectionChangeView, ...]


def proposal_view(workspace: Workspace, proposal_id: str) -> ProposalView:
    """Compare each section of a proposal with the spec at the current commit."""
    from reviewer.diffing import diff_text

    proposal = workspace.store.get_proposal(proposal_id)
    loaded = workspace.load_spec()
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
    return ProposalView(proposal=proposal, revision=loaded.revision, sections=tuple(views))
