"""Reads for the automated loop's windows: what a propose run can be asked, and a candidate's text against its section.

The Candidates view lists candidates through ``reviewer.propose.list_candidates``; these are the
other reads it and the propose dialog need, each one named query (no SQL above the domain).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reviewer.diffing import Hunk, diff_text
from reviewer.errors import KnownError
from reviewer.store import sql_errors

if TYPE_CHECKING:
    from reviewer.workspace import Workspace


@dataclass(frozen=True)
class ProposeChoices:
    """What the propose dialog offers.

    Attributes:
        sections: every section of the current spec with an id, in order: (id, title).
        models: model names to choose from: the configured one first, then those earlier candidates
            were proposed with (newest first), each once.
        configured_model: the workspace's configured model (None: no endpoint set).
        endpoint: where requests would go.
    """

    sections: tuple[tuple[str, str], ...]
    models: tuple[str, ...]
    configured_model: str | None
    endpoint: str


def propose_choices(workspace: Workspace) -> ProposeChoices:
    """Read the sections and the models a propose run can be asked for."""
    from reviewer.modelconfig import load_config

    document = workspace.load_spec().document
    sections = tuple((s.id, s.title) for s in document.sections if s.id)
    config = load_config(workspace.root)
    with sql_errors("reading the candidates' models"):
        used = [model for (model,) in workspace.store.db.execute(
            "SELECT model FROM candidates GROUP BY model ORDER BY max(created_at) DESC, model")]
    models = tuple(dict.fromkeys(m for m in (config.model, *used) if m))
    return ProposeChoices(sections, models, config.model, config.endpoint)


@dataclass(frozen=True)
class CandidateText:
    """A candidate's section text beside the section as it was when the candidate was written.

    Attributes:
        candidate_id: the candidate.
        section_id: the section it edits.
        spec_revision: the spec commit it was written against.
        current_text: the section's text at that commit ("" when the commit no longer has it).
        new_text: the candidate's text.
        hunks: ``new_text`` against ``current_text``, line by line with word highlights.
        sources: each conversation it was written from or tested on -> its source id (the prompt's id
            in the crowd data), for naming it.
    """

    candidate_id: str
    section_id: str
    spec_revision: str
    current_text: str
    new_text: str
    hunks: tuple[Hunk, ...]
    sources: dict[str, str]


def candidate_text(workspace: Workspace, candidate_id: str) -> CandidateText:
    """Read a candidate's text and diff it against its section at the spec it was written for.

    Raises:
        KnownError: no such candidate.
    """
    with sql_errors("reading a candidate"):
        row = workspace.store.db.execute(
            "SELECT section_id, spec_revision, new_text, conversations, holdout FROM candidates WHERE id = ?",
            [candidate_id]).fetchone()
        if row is None:
            raise KnownError(f"No candidate {candidate_id!r} in this workspace.")
        tested = sorted({*json.loads(row[3]), *json.loads(row[4])})
        sources = {cid: str(sid) for cid, sid in workspace.store.db.execute(
            "SELECT c.id, c.source_id FROM conversations c JOIN json_each(?) j ON j.value = c.id",
            [json.dumps(tested)])}
    section_id, revision, new_text = str(row[0]), str(row[1]), str(row[2] or "")
    section = workspace.load_spec(revision).document.get(section_id)
    current = section.text if section is not None else ""
    return CandidateText(candidate_id, section_id, revision, current, new_text, diff_text(current, new_text), sources)


__all__ = ["CandidateText", "ProposeChoices", "candidate_text", "propose_choices"]
