"""One conversation with everything the conversation view shows: prompt, responses, rankings and the crowd's summary."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from reviewer.errors import KnownError
from reviewer.evidence import guess_language
from reviewer.judges.data import prompt_messages, response_messages
from reviewer.rankings import LETTERS, Ranking, ranking_or_none
from reviewer.store import Store, sql_errors

_UNACCEPTABLE = re.compile(r"\b([A-Z])\b\s+is\s+unacceptable", re.IGNORECASE)


@dataclass(frozen=True)
class Justification:
    """One justification text of the focused participant on this conversation.

    Attributes:
        id: the justification's id.
        block: personal, world or unacceptable.
        position: its index in the block.
        ranking: the ranking of its block, if stored with it.
        text: the text (untrusted crowd text).
        language: the stored language, or a guess.
        language_guessed: whether ``language`` is a guess.
    """

    id: str
    block: str
    position: int
    ranking: str | None
    text: str
    language: str | None
    language_guessed: bool


@dataclass(frozen=True)
class ParticipantView:
    """The participant who wrote the justification being looked at, on this conversation.

    Attributes:
        participant_id: the participant's id.
        annotator_id: the participant's id in the source data.
        demographics: the participant's demographics.
        personal_ranking: their ranking for themselves (None when not given).
        world_ranking: their ranking for the world (None when not given).
        unacceptable: the letters they marked unacceptable.
        justifications: every justification they wrote on this conversation, by block and position.
        focus_id: the justification that was opened.
    """

    participant_id: str
    annotator_id: str
    demographics: dict[str, Any]
    personal_ranking: str | None
    world_ranking: str | None
    unacceptable: tuple[str, ...]
    justifications: tuple[Justification, ...]
    focus_id: str | None


@dataclass(frozen=True)
class RankerRanking:
    """The spec-based ranking of the conversation by one ranker run.

    Attributes:
        run_id: the run.
        model: the model that ranked.
        spec_revision: the spec revision it applied.
        prompt_version: the ranker prompt's version.
        ranking: the ranking.
        reason: the ranker's reason, if stored.
        created_at: when the run was made.
    """

    run_id: str
    model: str
    spec_revision: str
    prompt_version: str | None
    ranking: str
    reason: str | None
    created_at: str


@dataclass(frozen=True)
class ResponseTally:
    """How a group of rankings placed one response.

    Attributes:
        letter: the response (A–D).
        ranked: rankings that place it (the valid rankings).
        first: rankings that put it in the top tier (alone or tied).
        mean_position: mean position, 1 = best; tied letters share the mean of their places.
        unacceptable: participants who marked it unacceptable.
    """

    letter: str
    ranked: int
    first: int
    mean_position: float | None
    unacceptable: int

    @property
    def first_share(self) -> float | None:
        """``first / ranked``, or None when nothing was ranked."""
        return self.first / self.ranked if self.ranked else None


@dataclass(frozen=True)
class CrowdSummary:
    """The other participants' rankings of the conversation, summarised.

    Attributes:
        assessments: how many other participants assessed it.
        personal: per response, over their personal rankings.
        world: per response, over their world rankings.
        personal_n: how many personal rankings were counted.
        world_n: how many world rankings were counted.
        world_top: top tier of the world rankings (``"B"``, or ``"A=B"`` for a tie) → count, most first.
    """

    assessments: int
    personal: tuple[ResponseTally, ...]
    world: tuple[ResponseTally, ...]
    personal_n: int
    world_n: int
    world_top: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class ConversationDetail:
    """A conversation as the conversation view shows it.

    Attributes:
        id: the conversation's id.
        source: where it was imported from (``ca1``...).
        prompt_id: its id in the source data.
        prompt: the prompt's messages as (role, text).
        responses: A–D → the response's messages as (role, text).
        participant: the focused participant, when a justification was given.
        rankers: the ranker rankings of the conversation, latest run first.
        crowd: the other participants' rankings summarised (everyone's when no justification was given).
    """

    id: str
    source: str
    prompt_id: str
    prompt: tuple[tuple[str, str], ...]
    responses: dict[str, tuple[tuple[str, str], ...]]
    participant: ParticipantView | None
    rankers: tuple[RankerRanking, ...]
    crowd: CrowdSummary

    @property
    def heading(self) -> str:
        """A human heading: the prompt's opening words, quoted (plain text; escape it for HTML)."""
        words = opening_words(self.prompt)
        return f"“{words}”" if words else "A conversation with an empty prompt"

    @property
    def provenance(self) -> str:
        """Where the conversation comes from: ``prompt 763adecd… · ca1`` (plain text)."""
        return f"prompt {self.prompt_id} · {self.source}"


HEADING_CHARS = 80
"""How much of a prompt a conversation's heading quotes, at most (cut at a word)."""


def opening_words(messages: tuple[tuple[str, str], ...] | list[tuple[str, str]], limit: int = HEADING_CHARS) -> str:
    """Return the opening words of a prompt: its first user message (else its first message), on one line.

    Markdown marks at the start of lines (``#``, ``>``, ``*``, ``-``) and runs of white space are
    dropped; a text longer than ``limit`` is cut at a word and ends in ``…``.

    Args:
        messages: the prompt's messages as (role, text).
        limit: the most characters returned, the ``…`` included.

    Returns:
        Plain text (crowd text: escape it before putting it in HTML); '' for an empty prompt.
    """
    texts = [text for role, text in messages if role == "user" and text.strip()]
    texts = texts or [text for _role, text in messages if text.strip()]
    if not texts:
        return ""
    lines = (_LINE_MARKS.sub("", line) for line in texts[0].splitlines())
    text = " ".join(" ".join(lines).split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2:]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,.;:") + "…"


_LINE_MARKS = re.compile(r"^\s*(?:#{1,6}\s+|>\s*|[*+-]\s+|\d+[.)]\s+)")


def mean_positions(ranking: Ranking) -> dict[str, float]:
    """Return each letter's place (1 = best), tied letters sharing the mean of the places they span."""
    out: dict[str, float] = {}
    place = 1
    for tier in ranking.tiers:
        shared = place + (len(tier) - 1) / 2
        for letter in tier:
            out[letter] = shared
        place += len(tier)
    return out


def unacceptable_letters(raw: str | None) -> tuple[str, ...]:
    """Read the letters a participant marked unacceptable from the stored ``unacceptable`` column.

    Accepts the CA-1 shapes: a list of strings such as ``"A is unacceptable"``, or a list of
    ``{"rating": [...], "rationale": ...}`` objects.
    """
    try:
        data: Any = json.loads(raw) if raw else []
    except json.JSONDecodeError:
        return ()
    found: list[str] = []

    def visit(value: Any) -> None:
        if isinstance(value, str):
            found.extend(m.upper() for m in _UNACCEPTABLE.findall(value))
        elif isinstance(value, list):
            for item in value:
                visit(item)
        elif isinstance(value, dict):
            visit(value.get("rating", []))

    visit(data)
    return tuple(sorted(set(found)))


def _tally(rankings: list[Ranking], unacceptable: dict[str, int], letters: tuple[str, ...]) -> tuple[ResponseTally, ...]:
    out = []
    for letter in letters:
        places = [mean_positions(r)[letter] for r in rankings]
        first = sum(1 for r in rankings if letter in r.tiers[0])
        out.append(
            ResponseTally(
                letter=letter, ranked=len(places), first=first,
                mean_position=sum(places) / len(places) if places else None,
                unacceptable=unacceptable.get(letter, 0),
            )
        )
    return tuple(out)


def conversation_detail(store: Store, conversation_id: str, justification_id: str | None = None) -> ConversationDetail:
    """Read one conversation with its rankings, and the focused participant when a justification is given.

    Args:
        store: the workspace store.
        conversation_id: the conversation.
        justification_id: a justification written on this conversation: its author becomes the
            focused participant and is left out of the crowd summary.

    Raises:
        KnownError: no such conversation, no such justification, or the justification is not about
            this conversation.
    """
    with sql_errors("reading the conversation"):
        row = store.db.execute(
            "SELECT id, source, source_id, prompt, responses FROM conversations WHERE id = ?", [conversation_id]
        ).fetchone()
        if row is None:
            raise KnownError(f"No conversation with id {conversation_id}.")
        focus_participant: str | None = None
        if justification_id is not None:
            found = store.db.execute(
                "SELECT a.conversation_id, a.participant_id FROM justifications j"
                " LEFT JOIN assessments a ON a.id = j.assessment_id WHERE j.id = ?",
                [justification_id],
            ).fetchone()
            if found is None:
                raise KnownError(f"No justification with id {justification_id}.")
            if found[0] != conversation_id:
                raise KnownError(f"Justification {justification_id} is not about conversation {conversation_id}.")
            focus_participant = found[1]
        assessments = store.db.execute(
            "SELECT a.id, a.participant_id, a.personal_ranking, a.world_ranking, a.unacceptable,"
            " p.source_id, p.demographics FROM assessments a JOIN participants p ON p.id = a.participant_id"
            " WHERE a.conversation_id = ? ORDER BY a.id",
            [conversation_id],
        ).fetchall()
        rankers = tuple(
            RankerRanking(
                run_id=r[0], model=r[1], spec_revision=r[2], prompt_version=r[3], ranking=r[4], reason=r[5],
                created_at=r[6],
            )
            for r in store.db.execute(
                "SELECT r.id, r.model, r.spec_revision, r.prompt_version, rr.ranking, rr.reason, r.created_at"
                " FROM ranker_rankings rr JOIN ranker_runs r ON r.id = rr.run_id WHERE rr.conversation_id = ?"
                " ORDER BY r.created_at DESC, r.rowid DESC",
                [conversation_id],
            )
        )
        participant: ParticipantView | None = None
        if focus_participant is not None:
            mine = next(a for a in assessments if a[1] == focus_participant)
            texts = tuple(
                Justification(id=j[0], block=j[1], position=j[2], ranking=j[3], text=j[4], **_language(j[5], j[4]))
                for j in store.db.execute(
                    "SELECT id, block, position, ranking, text, language FROM justifications"
                    " WHERE assessment_id = ?"
                    " ORDER BY CASE block WHEN 'personal' THEN 0 WHEN 'world' THEN 1 ELSE 2 END, position",
                    [mine[0]],
                )
            )
            participant = ParticipantView(
                participant_id=mine[1], annotator_id=mine[5], demographics=_json_object(mine[6]),
                personal_ranking=mine[2], world_ranking=mine[3], unacceptable=unacceptable_letters(mine[4]),
                justifications=texts, focus_id=justification_id,
            )
    responses = {k: tuple(v) for k, v in response_messages(row[4]).items()}
    letters = tuple(sorted(responses)) if responses else LETTERS
    others = [a for a in assessments if a[1] != focus_participant]
    personal = [r for r in (ranking_or_none(a[2]) for a in others) if r is not None and _covers(r, letters)]
    world = [r for r in (ranking_or_none(a[3]) for a in others) if r is not None and _covers(r, letters)]
    marked: dict[str, int] = {}
    for a in others:
        for letter in unacceptable_letters(a[4]):
            marked[letter] = marked.get(letter, 0) + 1
    tops: dict[str, int] = {}
    for r in world:
        key = "=".join(sorted(r.tiers[0]))
        tops[key] = tops.get(key, 0) + 1
    crowd = CrowdSummary(
        assessments=len(others), personal=_tally(personal, marked, letters), world=_tally(world, marked, letters),
        personal_n=len(personal), world_n=len(world),
        world_top=tuple(sorted(tops.items(), key=lambda kv: (-kv[1], kv[0]))),
    )
    return ConversationDetail(
        id=row[0], source=row[1], prompt_id=row[2], prompt=tuple(prompt_messages(row[3])), responses=responses,
        participant=participant, rankers=rankers, crowd=crowd,
    )


def _covers(ranking: Ranking, letters: tuple[str, ...]) -> bool:
    return sorted(x for tier in ranking.tiers for x in tier) == list(letters)


def _language(stored: str | None, text: str) -> dict[str, Any]:
    if stored:
        return {"language": stored, "language_guessed": False}
    guess = guess_language(text)
    return {"language": guess, "language_guessed": guess is not None}


def _json_object(raw: str | None) -> dict[str, Any]:
    try:
        value = json.loads(raw) if raw else {}
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}
