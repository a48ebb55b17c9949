"""Evidence for a proposal: linked justifications, their stance labels, the ranking rule and counts."""

from __future__ import annotations

import functools
import json
import re
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from reviewer import audit
from reviewer.digests import writer_rows_digest
from reviewer.errors import KnownError
from reviewer.ids import new_id, utc_now
from reviewer.rankings import Ranking, pairwise_agreement, ranking_or_none
from reviewer.store import Store, connection_of, require_proposal, sql_errors
from reviewer.vocab import LABEL_SOURCES, STANCES, UNLABELLED

SOURCE_KINDS = LABEL_SOURCES
# Which label wins when a link has several: a person's, then a model's, then a rule's.
SOURCE_PRIORITY = {"person": 0, "model": 1, "rule": 2}
RANKING_RULE = "ranking-based"
RANKING_RULE_VERSION = 1
# The inputs of the ranking rule: a stored rule label whose detail holds the same values needs no successor.
_RULE_INPUT_KEYS = (
    "version", "participant_ranking", "participant_ranking_block", "expected_ranking",
    "ranker_ranking", "ranker_run_id",
)


@dataclass(frozen=True)
class StanceLabel:
    """One stance label on one evidence link; labels are never changed, only superseded.

    Attributes:
        id: UUID of the label.
        proposal_id: the proposal.
        justification_id: the justification.
        stance: supports, refutes or no_comment.
        source_kind: person, model or rule.
        source_name: the person's name, the model's name, or the rule's name.
        prompt_version: the prompt version of a model label.
        confidence: 0..1 where the source gives one.
        quote: the span of the justification the label rests on (verbatim), if any.
        detail: everything needed to check the label (for a rule: its inputs and figures).
        supersedes: the label this one replaces, if any.
        created_at: UTC time it was made.
    """

    id: str
    proposal_id: str
    justification_id: str
    stance: str
    source_kind: str
    source_name: str
    prompt_version: str | None
    confidence: float | None
    quote: str | None
    detail: dict[str, Any]
    supersedes: str | None
    created_at: str

    @property
    def source(self) -> str:
        """``kind:name``, the key used in ``EvidenceSummary.by_source``."""
        return f"{self.source_kind}:{self.source_name}"


@dataclass(frozen=True)
class EvidenceLink:
    """One justification linked to a proposal, with its effective stance.

    Attributes:
        proposal_id: the proposal.
        justification_id: the justification.
        text: the justification's text.
        block: personal, world, unacceptable or statement.
        position: its index in the block (or the statement's number).
        ranking: the ranking of the justification's block, if it has one.
        language: the language of the text, if known.
        participant_id: the participant's id (for a Pol.is statement, its author's; None when unknown).
        annotator_id: the participant's id in the source data.
        demographics: the participant's demographics (a Pol.is author's: the opinion group).
        conversation_id: the conversation's id (None for a Pol.is statement).
        prompt_id: the conversation's id in the source data.
        linked_by: ``conversation`` (through a linked conversation) or ``hand``.
        stance: the effective stance, or None when no label exists yet.
        label: the label that gives the effective stance.
        history: every label on the link, oldest first (only when asked for).
    """

    proposal_id: str
    justification_id: str
    text: str
    block: str
    position: int
    ranking: str | None
    language: str | None
    participant_id: str | None
    annotator_id: str | None
    demographics: dict[str, Any]
    conversation_id: str | None
    prompt_id: str | None
    linked_by: str
    stance: str | None
    label: StanceLabel | None
    history: tuple[StanceLabel, ...] = ()


@dataclass(frozen=True)
class RuleSummary:
    """What one run of the ranking rule did.

    Attributes:
        proposal_id: the proposal.
        rule: the rule's name and version, e.g. ``ranking-based v1``.
        links: links looked at.
        added: new rule labels stored.
        unchanged: links whose latest rule label already had the same inputs.
        results: stance counts over every link the rule could judge (new or unchanged).
        skipped: links the rule could not judge, by reason.
    """

    proposal_id: str
    rule: str
    links: int
    added: int
    unchanged: int
    results: dict[str, int]
    skipped: dict[str, int]


def normalise_stance(stance: str) -> str:
    """Return the stored form of a stance (``no-comment`` is accepted for ``no_comment``).

    Raises:
        KnownError: not one of supports, refutes, no_comment.
    """
    value = stance.strip().lower().replace("-", "_") if isinstance(stance, str) else stance
    if value not in STANCES:
        raise KnownError(f"Unknown stance {stance!r}.", hint="Use supports, refutes or no_comment.")
    return str(value)


def _require_proposal(source: Store | sqlite3.Connection, proposal_id: str) -> None:
    require_proposal(connection_of(source), proposal_id)


def _require_justification(store: Store, justification_id: str) -> None:
    if store.db.execute("SELECT 1 FROM justifications WHERE id = ?", [justification_id]).fetchone() is None:
        raise KnownError(f"No justification with id {justification_id}.")


def _link_via(store: Store, proposal_id: str, justification_id: str) -> str | None:
    row = store.db.execute(
        "SELECT via FROM evidence_current WHERE proposal_id = ? AND justification_id = ?",
        [proposal_id, justification_id],
    ).fetchone()
    return str(row[0]) if row else None


# ---- links --------------------------------------------------------------------------------------


HAND_LINK_COLUMNS = ("id", "proposal_id", "justification_id", "action", "person", "note", "created_at")
"""The columns of ``evidence_hand_links``, in the order its rows are logged (``hand_links`` in an event)."""


def write_hand_link(store: Store, proposal_id: str, justification_id: str, action: str, person: str,
                    note: str | None) -> list[Any]:
    """Insert one ``evidence_hand_links`` row inside the caller's transaction; return it as logged.

    Returns:
        The row's values in ``HAND_LINK_COLUMNS`` order (what the audit event carries, so that
        ``audit verify`` can rebuild the row).
    """
    row = [new_id(), proposal_id, justification_id, action, person, note, utc_now()]
    store.db.execute(
        f"INSERT INTO evidence_hand_links ({', '.join(HAND_LINK_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?)", row
    )
    return row


def add_hand_link(
    store: Store, proposal_id: str, justification_id: str, person: str, note: str | None
) -> list[Any] | None:
    """Record a hand link inside the caller's transaction; None when the pair is already linked.

    No audit event: the caller writes one for its whole action, carrying the returned row.

    Returns:
        The new ``evidence_hand_links`` row in ``HAND_LINK_COLUMNS`` order, or None.
    """
    if _link_via(store, proposal_id, justification_id) is not None:
        return None
    row = write_hand_link(store, proposal_id, justification_id, "link", person, note)
    # The insert trigger on evidence_current fills in the effective label from any earlier labels.
    store.db.execute(
        "INSERT INTO evidence_current (proposal_id, justification_id, via) VALUES (?, ?, 'hand')",
        [proposal_id, justification_id],
    )
    return row


def _hand_link_payload(row: list[Any]) -> dict[str, Any]:
    # justification_id and note as before; the row's id and time so that the row can be rebuilt.
    return {"justification_id": row[2], "note": row[5], "link_id": row[0], "created_at": row[6]}


def link_statement(
    store: Store, proposal_id: str, justification_id: str, person: str, *, note: str | None = None
) -> None:
    """Link a justification (typically a Pol.is statement) to a proposal by hand.

    Raises:
        KnownError: unknown proposal or justification, no person named, or already linked.
    """
    person = (person or "").strip()
    if not person:
        raise KnownError("Say who links the statement (a person's name).")
    with sql_errors("linking the statement"), store.db.atomic():
        _require_proposal(store, proposal_id)
        if not _link_by_hand(store, proposal_id, justification_id, person, note):
            raise KnownError(f"Justification {justification_id} is already linked to proposal {proposal_id}.")


def _link_by_hand(store: Store, proposal_id: str, justification_id: str, person: str, note: str | None) -> bool:
    """Link one justification with its event, in the caller's transaction; False when it was linked already."""
    _require_justification(store, justification_id)
    row = add_hand_link(store, proposal_id, justification_id, person, note)
    if row is None:
        return False
    audit.append_event(
        store.db, actor=person, action="evidence.link", object_type="proposal", object_id=proposal_id,
        payload=_hand_link_payload(row),
    )
    return True


def link_justifications(
    store: Store, proposal_id: str, justification_ids: Sequence[str], person: str, *, note: str | None = None
) -> int:
    """Link justifications to a proposal by hand, one event each; those already linked are skipped.

    A justification whose conversation the proposal links is linked already (through it).

    Returns:
        How many were linked.

    Raises:
        KnownError: unknown proposal or justification, or no person named.
    """
    person = (person or "").strip()
    if not person:
        raise KnownError("Say who links the justifications (a person's name).")
    linked = 0
    with sql_errors("linking justifications"), store.db.atomic():
        _require_proposal(store, proposal_id)
        for justification_id in dict.fromkeys(justification_ids):
            linked += _link_by_hand(store, proposal_id, justification_id, person, note)
    return linked


def unlink_statement(
    store: Store, proposal_id: str, justification_id: str, person: str, *, note: str | None = None
) -> None:
    """Remove a hand link; the link and its labels stay in the history.

    Raises:
        KnownError: no person named, the pair is not hand-linked (links through a conversation
            cannot be removed by hand).
    """
    person = (person or "").strip()
    if not person:
        raise KnownError("Say who unlinks the statement (a person's name).")
    with sql_errors("unlinking the statement"), store.db.atomic():
        via = _link_via(store, proposal_id, justification_id)
        if via is None:
            raise KnownError(f"Justification {justification_id} is not linked to proposal {proposal_id}.")
        if via != "hand":
            raise KnownError(
                f"Justification {justification_id} is linked through its conversation, not by hand.",
                hint="Only hand links can be removed; set its stance to no_comment instead.",
            )
        row = write_hand_link(store, proposal_id, justification_id, "unlink", person, note)
        store.db.execute(
            "DELETE FROM evidence_current WHERE proposal_id = ? AND justification_id = ?",
            [proposal_id, justification_id],
        )
        audit.append_event(
            store.db, actor=person, action="evidence.unlink", object_type="proposal", object_id=proposal_id,
            payload=_hand_link_payload(row),
        )


# ---- labels -------------------------------------------------------------------------------------

_LABEL_COLUMNS = (
    "id, proposal_id, justification_id, stance, source_kind, source_name, prompt_version,"
    " confidence, quote, detail, supersedes, created_at"
)


def _label(row: Iterable[Any]) -> StanceLabel:
    r = list(row)
    return StanceLabel(
        id=r[0], proposal_id=r[1], justification_id=r[2], stance=r[3], source_kind=r[4],
        source_name=r[5], prompt_version=r[6], confidence=r[7], quote=r[8],
        detail=json.loads(r[9] or "{}"), supersedes=r[10], created_at=r[11],
    )


def insert_label(store: Store, label: StanceLabel, *, written_by: str | None = None) -> None:
    """Store one label inside the caller's transaction (a trigger updates the effective stance).

    Args:
        store: the workspace store.
        label: the label.
        written_by: the import or rule run whose audit event vouches for the label by digest (None
            for a person's label set in the app: its event carries it whole).
    """
    store.db.execute(
        f"INSERT INTO stance_labels ({_LABEL_COLUMNS}, written_by) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [*_label_values(label), written_by],
    )


def _label_values(label: StanceLabel) -> tuple[Any, ...]:
    return (
        label.id, label.proposal_id, label.justification_id, label.stance, label.source_kind,
        label.source_name, label.prompt_version, label.confidence, label.quote,
        json.dumps(label.detail, sort_keys=True, ensure_ascii=False), label.supersedes, label.created_at,
    )


def get_label(store: Store, label_id: str) -> StanceLabel | None:
    """Return one label, or None."""
    row = store.db.execute(f"SELECT {_LABEL_COLUMNS} FROM stance_labels WHERE id = ?", [label_id]).fetchone()
    return _label(row) if row else None


def labels_for(store: Store, proposal_id: str, justification_id: str) -> list[StanceLabel]:
    """Return every label on one link, oldest first."""
    return [
        _label(r)
        for r in store.db.execute(
            f"SELECT {_LABEL_COLUMNS} FROM stance_labels WHERE proposal_id = ? AND justification_id = ?"
            " ORDER BY created_at, rowid",
            [proposal_id, justification_id],
        )
    ]


def require_labeller(store: Store, person: str) -> None:
    """Refuse a person's stance label from a workspace member without the reviewer role.

    Auditors (and editors) read the evidence but do not weigh it. Names that are not members
    (outside researchers, a crowd-labelling team) may still label.

    Raises:
        KnownError: ``person`` is a member without the reviewer role.
    """
    member = store.db.execute("SELECT roles FROM members WHERE name = ?", [person]).fetchone()
    if member is not None and "reviewer" not in json.loads(member[0] or "[]"):
        raise KnownError(
            f"{person} is a member without the reviewer role, so cannot set a stance.",
            hint="Give them the role with `spec-review member add WORKSPACE NAME --role reviewer`.",
        )


def set_stance(
    store: Store,
    proposal_id: str,
    justification_id: str,
    stance: str,
    person: str,
    note: str | None = None,
) -> StanceLabel:
    """Set or override the stance of one link as a person; earlier labels are kept.

    The new label supersedes the link's effective label, and becomes the effective one.

    Raises:
        KnownError: unknown stance, proposal or justification; the pair is not linked; no person named.
    """
    stance = normalise_stance(stance)
    person = (person or "").strip()
    if not person:
        raise KnownError("A stance set by hand needs the name of the person setting it.")
    with sql_errors("saving the stance"), store.db.atomic():
        require_labeller(store, person)
        _require_proposal(store, proposal_id)
        _require_justification(store, justification_id)
        row = store.db.execute(
            "SELECT label_id FROM evidence_current WHERE proposal_id = ? AND justification_id = ?",
            [proposal_id, justification_id],
        ).fetchone()
        if row is None:
            raise KnownError(
                f"Justification {justification_id} is not linked to proposal {proposal_id}.",
                hint="Link it first (a Pol.is statement is linked by hand).",
            )
        label = StanceLabel(
            id=new_id(), proposal_id=proposal_id, justification_id=justification_id, stance=stance,
            source_kind="person", source_name=person, prompt_version=None, confidence=None, quote=None,
            detail={"note": note} if note else {}, supersedes=row[0], created_at=utc_now(),
        )
        insert_label(store, label)
        audit.append_event(
            store.db, actor=person, action="stance.set", object_type="proposal", object_id=proposal_id,
            payload={
                "label_id": label.id, "justification_id": justification_id, "stance": stance,
                "supersedes": row[0], "note": note, "created_at": label.created_at,
            },
        )
    return label


# ---- the ranking rule ---------------------------------------------------------------------------


def _latest_ranker_rankings(
    store: Store, conversation_ids: list[str], run_id: str | None
) -> dict[str, tuple[str, str, str]]:
    """Return conversation id → (ranking, run id, model) from ``run_id``, or from the latest run per conversation."""
    found: dict[str, tuple[str, str, str]] = {}
    wanted = set(conversation_ids)
    if run_id is not None:
        if store.db.execute("SELECT 1 FROM ranker_runs WHERE id = ?", [run_id]).fetchone() is None:
            raise KnownError(f"No ranker run with id {run_id}.")
        rows = store.db.execute(
            "SELECT rr.conversation_id, rr.ranking, r.id, r.model FROM ranker_rankings rr"
            " JOIN ranker_runs r ON r.id = rr.run_id WHERE rr.run_id = ?",
            [run_id],
        )
    else:
        # Oldest first, so that the latest run overwrites earlier ones.
        rows = store.db.execute(
            "SELECT rr.conversation_id, rr.ranking, r.id, r.model FROM ranker_rankings rr"
            " JOIN ranker_runs r ON r.id = rr.run_id ORDER BY r.created_at, r.rowid"
        )
    for conversation_id, ranking, rid, model in rows:
        if conversation_id in wanted:
            found[conversation_id] = (ranking, rid, model)
    return found


def _participant_ranking(block: str, own: str | None, world: str | None, personal: str | None) -> tuple[str, str] | None:
    """Return (ranking, which block it is from) for a justification, or None when it has none."""
    if block == "personal":
        choice = own or personal
        return (choice, "personal") if choice else None
    if block in ("world", "unacceptable"):
        choice = world or (own if block == "world" else None)
        return (choice, "world") if choice else None
    return None


def _canonical(ranking: Ranking) -> str:
    """The ranking as text with tied letters sorted, as ``rankings.normalise`` writes it."""
    return ">".join("=".join(sorted(tier)) for tier in ranking.tiers)


def ranking_rule_stance(participant: Ranking, expected: Ranking, ranker: Ranking) -> tuple[str, dict[str, int]]:
    """Apply the ranking rule to one participant ranking.

    The participant supports the change when their ranking agrees more (share of pairs ordered
    the same way, ties in either ranking dropped) with the expected ranking under the new text
    than with the ranker's ranking under the current text; refutes it when it agrees less; and
    does not comment when the shares are equal or either has no pair to count.

    Returns:
        The stance and the four figures (expected_agreeing/counted, ranker_agreeing/counted).
    """
    e = pairwise_agreement(participant, expected)
    r = pairwise_agreement(participant, ranker)
    figures = {
        "expected_agreeing": e.agreeing, "expected_counted": e.counted,
        "ranker_agreeing": r.agreeing, "ranker_counted": r.counted,
    }
    if not e.counted or not r.counted:
        return "no_comment", figures
    # Exact comparison of e.agreeing/e.counted with r.agreeing/r.counted.
    left, right = e.agreeing * r.counted, r.agreeing * e.counted
    if left > right:
        return "supports", figures
    if left < right:
        return "refutes", figures
    return "no_comment", figures


def apply_ranking_rule(store: Store, proposal_id: str, *, run_id: str | None = None) -> RuleSummary:
    """Label every link of a proposal whose conversation has an expected ranking, by the ranking rule.

    Uses the participant's world ranking (a personal-block justification uses its own block's
    ranking) and, as the current ranking, the ranking of ``run_id`` or, by default, of the latest
    ranker run (by ``created_at``) that ranked the conversation. Links without any of the three
    rankings get no label. Re-running with the same inputs adds nothing; when an input changed, a
    new rule label superseding the previous one is added. One audit event when labels were added.

    Raises:
        KnownError: unknown proposal or run.
    """
    rule = f"{RANKING_RULE} v{RANKING_RULE_VERSION}"
    skipped = {"no_expected_ranking": 0, "no_ranker_ranking": 0, "no_participant_ranking": 0}
    results: dict[str, int] = dict.fromkeys(STANCES, 0)
    with sql_errors("applying the ranking rule"), store.db.atomic():
        proposal = store.get_proposal(proposal_id)
        expected_by_conversation = proposal.expected_ranking or {}
        rankers = _latest_ranker_rankings(store, list(expected_by_conversation), run_id)
        rows = store.db.execute(
            "SELECT e.justification_id, j.block, j.ranking, a.world_ranking, a.personal_ranking,"
            " a.conversation_id FROM evidence_current e"
            " JOIN justifications j ON j.id = e.justification_id"
            " LEFT JOIN assessments a ON a.id = j.assessment_id"
            " WHERE e.proposal_id = ? ORDER BY e.justification_id",
            [proposal_id],
        ).fetchall()
        # The latest rule label of each link, to tell whether its inputs changed.
        previous: dict[str, tuple[str, dict[str, Any]]] = {}
        for label_id, justification_id, stored_detail in store.db.execute(
            "SELECT id, justification_id, detail FROM stance_labels WHERE proposal_id = ?"
            " AND source_kind = 'rule' AND source_name = ? ORDER BY created_at, rowid",
            [proposal_id, RANKING_RULE],
        ):
            previous[justification_id] = (label_id, json.loads(stored_detail or "{}"))
        now = utc_now()
        new_labels: list[StanceLabel] = []
        unchanged = 0
        parsed_expected = {c: ranking_or_none(t) for c, t in expected_by_conversation.items()}
        parsed_ranker = {c: (ranking_or_none(t[0]), t[1], t[2]) for c, t in rankers.items()}
        judged: dict[tuple[Ranking, Ranking, Ranking], tuple[str, dict[str, int]]] = {}
        for justification_id, block, own, world, personal, conversation_id in rows:
            expected = parsed_expected.get(conversation_id) if conversation_id else None
            if expected is None:
                skipped["no_expected_ranking"] += 1
                continue
            ranker, ranker_run, ranker_model = parsed_ranker.get(conversation_id, (None, "", ""))
            if ranker is None:
                skipped["no_ranker_ranking"] += 1
                continue
            chosen = _participant_ranking(block, own, world, personal)
            participant = ranking_or_none(chosen[0]) if chosen else None
            if participant is None or chosen is None:
                skipped["no_participant_ranking"] += 1
                continue
            key = (participant, expected, ranker)
            if key not in judged:
                judged[key] = ranking_rule_stance(participant, expected, ranker)
            stance, figures = judged[key]
            results[stance] += 1
            detail: dict[str, Any] = {
                "rule": RANKING_RULE,
                "version": RANKING_RULE_VERSION,
                "participant_ranking": _canonical(participant),
                "participant_ranking_block": chosen[1],
                "expected_ranking": _canonical(expected),
                "ranker_ranking": _canonical(ranker),
                "ranker_run_id": ranker_run,
                "ranker_model": ranker_model,
                **figures,
            }
            before = previous.get(justification_id)
            if before is not None and all(before[1].get(k) == detail[k] for k in _RULE_INPUT_KEYS):
                unchanged += 1
                continue
            new_labels.append(
                StanceLabel(
                    id=new_id(), proposal_id=proposal_id, justification_id=justification_id, stance=stance,
                    source_kind="rule", source_name=RANKING_RULE, prompt_version=None, confidence=None,
                    quote=None, detail=detail, supersedes=before[0] if before else None, created_at=now,
                )
            )
        if new_labels:
            # The labels name this run, and its event carries their digest: audit verify finds them again.
            rule_run = new_id()
            store.db.conn.executemany(
                f"INSERT INTO stance_labels ({_LABEL_COLUMNS}, written_by) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [(*_label_values(x), rule_run) for x in new_labels],
            )
            audit.append_event(
                store.db, actor=RANKING_RULE, action="evidence.rule", object_type="proposal",
                object_id=proposal_id,
                payload={
                    "rule": RANKING_RULE, "version": RANKING_RULE_VERSION, "run_id": run_id,
                    "added": len(new_labels), "unchanged": unchanged, "skipped": skipped,
                    "rule_run_id": rule_run, "labels": writer_rows_digest(store.db.conn, "stance_labels", rule_run).to_json(),
                },
            )
    return RuleSummary(
        proposal_id=proposal_id, rule=rule, links=len(rows), added=len(new_labels), unchanged=unchanged,
        results=results, skipped=skipped,
    )


# ---- reading the evidence -----------------------------------------------------------------------


@dataclass(frozen=True)
class EvidenceSummary:
    """A proposal's links counted by effective stance and by the source of that stance.

    Attributes:
        proposal_id: the proposal.
        counts: links per stance, ``unlabelled`` included (every stance present, 0 when none).
        by_source: per ``"<kind>:<name>"`` source, its labels per stance.
        links: every current link.
    """

    proposal_id: str
    counts: dict[str, int]
    by_source: dict[str, dict[str, int]]
    links: int

    def to_json(self) -> dict[str, Any]:
        """Return the summary as plain JSON data."""
        return {"proposal_id": self.proposal_id, "counts": dict(self.counts), "by_source": dict(self.by_source),
                "links": self.links}


def evidence_summary(source: Store | sqlite3.Connection, proposal_id: str) -> EvidenceSummary:
    """Count a proposal's links by effective stance and by the source of that stance.

    Args:
        source: the store, or a (read-only) connection to the workspace database.
        proposal_id: the proposal.


    Raises:
        KnownError: no proposal has that id.
    """
    with sql_errors("counting the evidence"):
        _require_proposal(source, proposal_id)
        # One scan of a covering index over the materialised current stances.
        rows = connection_of(source).execute(
            "SELECT stance, source_kind, source_name, count(*) FROM evidence_current"
            " WHERE proposal_id = ? GROUP BY stance, source_kind, source_name",
            [proposal_id],
        ).fetchall()
    counts: dict[str, int] = {**dict.fromkeys(STANCES, 0), UNLABELLED: 0}
    by_source: dict[str, dict[str, int]] = {}
    total = 0
    for stance, kind, name, n in rows:
        total += n
        if stance is None:
            counts[UNLABELLED] += n
            continue
        counts[stance] += n
        by_source.setdefault(f"{kind}:{name}", dict.fromkeys(STANCES, 0))[stance] += n
    return EvidenceSummary(proposal_id, counts, dict(sorted(by_source.items())), total)


def evidence_links(
    store: Store,
    proposal_id: str,
    *,
    stance: str | None = None,
    limit: int | None = None,
    offset: int = 0,
    history: bool = False,
) -> list[EvidenceLink]:
    """Return a proposal's links in a stable order (by justification id), one page at a time.

    Args:
        store: the workspace store.
        proposal_id: the proposal.
        stance: only links with this effective stance (``unlabelled`` for links without a label).
        limit: at most this many links (all when None).
        offset: skip this many first.
        history: also return every label of each link.

    Raises:
        KnownError: unknown proposal or stance.
    """
    where = "e.proposal_id = ?"
    params: list[Any] = [proposal_id]
    if stance is not None:
        if stance == UNLABELLED:
            where += " AND e.stance IS NULL"
        else:
            where += " AND e.stance = ?"
            params.append(normalise_stance(stance))
    params += [-1 if limit is None else int(limit), int(offset)]
    with sql_errors("reading the evidence"):
        _require_proposal(store, proposal_id)
        rows = store.db.execute(
            "SELECT e.justification_id, e.via, e.label_id, e.stance, j.text, j.block, j.position, j.ranking,"
            " j.language, e.participant_id, p.source_id, p.demographics, a.conversation_id, c.source_id"
            " FROM evidence_current e JOIN justifications j ON j.id = e.justification_id"
            " LEFT JOIN assessments a ON a.id = j.assessment_id"
            " LEFT JOIN participants p ON p.id = e.participant_id"
            " LEFT JOIN conversations c ON c.id = a.conversation_id"
            f" WHERE {where} ORDER BY e.justification_id LIMIT ? OFFSET ?",
            params,
        ).fetchall()
        label_ids = [r[2] for r in rows if r[2]]
        labels: dict[str, StanceLabel] = {}
        for start in range(0, len(label_ids), 500):
            chunk = label_ids[start:start + 500]
            for r in store.db.execute(
                f"SELECT {_LABEL_COLUMNS} FROM stance_labels WHERE id IN ({','.join('?' * len(chunk))})", chunk
            ):
                labels[r[0]] = _label(r)
        histories: dict[str, list[StanceLabel]] = {}
        if history:
            for r in rows:
                histories[r[0]] = labels_for(store, proposal_id, r[0])
    return [
        EvidenceLink(
            proposal_id=proposal_id, justification_id=r[0], text=r[4], block=r[5], position=r[6],
            ranking=r[7], language=r[8], participant_id=r[9], annotator_id=r[10],
            demographics=json.loads(r[11]) if r[11] else {}, conversation_id=r[12], prompt_id=r[13],
            linked_by=r[1], stance=r[3], label=labels.get(r[2]) if r[2] else None,
            history=tuple(histories.get(r[0], ())),
        )
        for r in rows
    ]


def link_json(link: EvidenceLink) -> dict[str, Any]:
    """Return one link as plain JSON data (labels with their ``source``)."""

    def label_json(label: StanceLabel | None) -> dict[str, Any] | None:
        if label is None:
            return None
        return {**label.__dict__, "source": label.source}

    data = dict(link.__dict__)
    data["label"] = label_json(link.label)
    data["history"] = [label_json(x) for x in link.history]
    return data


# ---- the review desk: pages, splits and display helpers -------------------------------------------

# Pages are read by (proposal, effective stance) in the order of the ``evidence_current_counts``
# index (source kind, source name, then the justification id the table's primary key appends), so
# a page is one index range scan whatever the list's length: keyset paging, never OFFSET.
UNKNOWN_GROUP = "(unknown)"
_Z95 = 1.959963984540054


@dataclass(frozen=True)
class EvidenceRow:
    """One evidence link as the evidence list shows it.

    Attributes:
        justification_id: the justification.
        text: its text (untrusted crowd text).
        block: personal, world, unacceptable or statement.
        language: the stored language, or None (``shown_language`` adds a guess for display).
        demographics: the participant's demographics (a Pol.is author's: the opinion group; {} when unknown).
        participant_id: the participant (for a Pol.is statement, its author; None when unknown).
        annotator_id: the participant's id in the source data.
        conversation_id: the conversation (None for a Pol.is statement).
        prompt_id: the conversation's id in the source data.
        stance: the effective stance, or None when the link has no label.
        source_kind: person, model or rule (None without a label).
        source_name: who or what set the effective stance.
        prompt_version: the prompt version of a model label.
        confidence: the effective label's confidence, if given.
        label_id: the effective label.
        quote: the span the label rests on, if one quotes a span (the effective label's, else the latest).
        quote_from: ``kind:name`` of the label the quote comes from.
        key: the row's paging key (source kind, source name, justification id).
    """

    justification_id: str
    text: str
    block: str
    language: str | None
    demographics: dict[str, Any]
    participant_id: str | None
    annotator_id: str | None
    conversation_id: str | None
    prompt_id: str | None
    stance: str | None
    source_kind: str | None
    source_name: str | None
    prompt_version: str | None
    confidence: float | None
    label_id: str | None
    quote: str | None
    quote_from: str | None
    key: tuple[str, str, str]

    def shown_language(self) -> tuple[str | None, bool]:
        """Return the language to show and whether it is a guess (made lazily, only for rows drawn)."""
        if self.language:
            return self.language, False
        guess = guess_language(self.text)
        return guess, guess is not None

    def quote_span(self) -> tuple[int, int] | None:
        """Return (start, end) of the quote in the text, or None when there is none or it does not occur."""
        if not self.quote:
            return None
        start = self.text.find(self.quote)
        return None if start < 0 else (start, start + len(self.quote))


@dataclass(frozen=True)
class GroupSplit:
    """The effective stances of one demographic group's links.

    Attributes:
        group: the field's value (``(unknown)`` when missing).
        supports: links that support.
        refutes: links that refute.
        no_comment: links that do not comment.
        unlabelled: links without a label.
    """

    group: str
    supports: int
    refutes: int
    no_comment: int
    unlabelled: int

    @property
    def decided(self) -> int:
        """The denominator of the share: supports + refutes."""
        return self.supports + self.refutes

    @property
    def share(self) -> float | None:
        """The share supporting, supports / (supports + refutes); None when neither."""
        return self.supports / self.decided if self.decided else None


MAX_GROUPS = 40
"""A demographic field with more distinct values than this is not offered as a split (free text)."""
FEW_GROUPS = 12
"""A field with at most this many distinct values is categorical however few participants answered."""


@dataclass(frozen=True)
class DemographicField:
    """A key of ``participants.demographics`` that can split the evidence or the agreement.

    Attributes:
        name: the key.
        groups: how many distinct values it has (among the participants read).
        participants: how many participants have a value (among the participants read).
    """

    name: str
    groups: int
    participants: int


_PAGE_SELECT = (
    "SELECT e.justification_id, e.stance, e.source_kind, e.source_name, e.label_id, j.text, j.block, j.language,"
    " e.participant_id, p.source_id, p.demographics, a.conversation_id, c.source_id,"
    " s.prompt_version, s.confidence, s.quote"
    " FROM evidence_current e JOIN justifications j ON j.id = e.justification_id"
    " LEFT JOIN assessments a ON a.id = j.assessment_id"
    " LEFT JOIN participants p ON p.id = e.participant_id"
    " LEFT JOIN conversations c ON c.id = a.conversation_id"
    " LEFT JOIN stance_labels s ON s.id = e.label_id"
)


@functools.lru_cache(maxsize=8192)
def _demographics(raw: str | None) -> dict[str, Any]:
    # Cached by the stored text: a page repeats participants, and the lists only read the dicts.
    try:
        value = json.loads(raw) if raw else {}
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _rows(conn: sqlite3.Connection, proposal_id: str, raw: list[Any]) -> list[EvidenceRow]:
    # A quote on an earlier or overridden label is still worth showing: fetch the latest one per
    # link for those links whose effective label quotes nothing (one indexed query per page).
    missing = [r[0] for r in raw if not r[15]]
    quotes: dict[str, tuple[str | None, str | None]] = {}
    for start in range(0, len(missing), 500):
        chunk = missing[start:start + 500]
        for jid, quote, kind, name in conn.execute(
            "SELECT justification_id, quote, source_kind, source_name FROM stance_labels"
            f" WHERE proposal_id = ? AND justification_id IN ({','.join('?' * len(chunk))})"
            " AND quote IS NOT NULL AND quote != '' ORDER BY created_at, rowid",
            [proposal_id, *chunk],
        ):
            quotes[jid] = (quote, f"{kind}:{name}")
    out = []
    for r in raw:
        quote, quote_from = (r[15], f"{r[2]}:{r[3]}") if r[15] else quotes.get(r[0], (None, None))
        demographics = _demographics(r[10])
        out.append(
            EvidenceRow(
                justification_id=r[0], text=r[5], block=r[6], language=r[7], demographics=demographics,
                participant_id=r[8], annotator_id=r[9], conversation_id=r[11], prompt_id=r[12], stance=r[1],
                source_kind=r[2], source_name=r[3], prompt_version=r[13], confidence=r[14], label_id=r[4],
                quote=quote, quote_from=quote_from, key=(r[2] or "", r[3] or "", r[0]),
            )
        )
    return out


def evidence_page(
    source: Store | sqlite3.Connection,
    proposal_id: str,
    stance: str,
    *,
    after: tuple[str, str, str] | None = None,
    limit: int = 200,
) -> list[EvidenceRow]:
    """Return one page of a proposal's links with one effective stance, after the key ``after``.

    Rows come in a stable order (source kind, source name, justification id) that follows an index,
    so every page costs the same however far into the list it is.

    Args:
        source: the store, or a (read-only) connection to the workspace database.
        proposal_id: the proposal.
        stance: supports, refutes, no_comment or ``unlabelled``.
        after: the ``key`` of the last row already read (None for the first page).
        limit: rows per page.

    Raises:
        KnownError: unknown stance.
    """
    conn = connection_of(source)
    params: list[Any] = [proposal_id]
    if stance == UNLABELLED:
        where = "e.proposal_id = ? AND e.stance IS NULL"
        if after is not None:
            where += " AND e.justification_id > ?"
            params.append(after[2])
        order = "e.justification_id"
    else:
        where = "e.proposal_id = ? AND e.stance = ?"
        params.append(normalise_stance(stance))
        if after is not None:
            where += " AND (e.source_kind, e.source_name, e.justification_id) > (?, ?, ?)"
            params += list(after)
        order = "e.source_kind, e.source_name, e.justification_id"
    with sql_errors("reading the evidence"):
        raw = conn.execute(f"{_PAGE_SELECT} WHERE {where} ORDER BY {order} LIMIT ?", [*params, int(limit)]).fetchall()
        return _rows(conn, proposal_id, raw)


def evidence_row(source: Store | sqlite3.Connection, proposal_id: str, justification_id: str) -> EvidenceRow | None:
    """Return one link as the evidence list shows it, or None when the pair is not linked."""
    conn = connection_of(source)
    with sql_errors("reading the evidence"):
        raw = conn.execute(
            f"{_PAGE_SELECT} WHERE e.proposal_id = ? AND e.justification_id = ?", [proposal_id, justification_id]
        ).fetchall()
        rows = _rows(conn, proposal_id, raw)
    return rows[0] if rows else None


def _json_path(field_name: str) -> str:
    # A quoted key, so names with dashes or dots ("ideal-model-behavior") address one key.
    return '$."' + field_name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def demographic_fields(source: Store | sqlite3.Connection, *, max_groups: int = MAX_GROUPS,
                       sample: int | None = None) -> list[DemographicField]:
    """Return the demographic keys worth splitting by: categorical answers, in a bounded number of groups.

    The one rule for every split (the evidence chart and the agreement view): a key of
    ``participants.demographics`` (a JSON object) qualifies when it has at most ``max_groups``
    distinct non-empty values, and either at most ``FEW_GROUPS`` of them or at least two
    participants per value on average. Free-text answers (a distinct value per participant) fail
    the second test even in a workspace too small for the first to catch them. A list or object
    value counts as one value (its JSON), as the splits group it.

    Args:
        source: the workspace store, or a (read-only) connection to its database.
        max_groups: the most distinct values a field may have.
        sample: read only this many participants (the first ones stored), to bound the time on a
            very large workspace when only the names are needed; None reads all of them, so the
            counts are exact.

    Returns:
        The fields, ``country_of_residence`` first when present, then the others by name.
    """
    conn = connection_of(source)
    limit = "" if sample is None else " LIMIT ?"
    with sql_errors("reading demographics"):
        rows = conn.execute(
            "SELECT d.key, count(DISTINCT d.value), count(*)"
            " FROM (SELECT demographics FROM participants"
            f"  WHERE json_valid(demographics) AND json_type(demographics) = 'object'{limit}) p,"
            " json_each(p.demographics) d"
            " WHERE d.value IS NOT NULL AND d.value != '' GROUP BY d.key",
            [] if sample is None else [sample],
        ).fetchall()
    fields = [DemographicField(name=k, groups=g, participants=n) for k, g, n in rows
              if g <= max_groups and (g <= FEW_GROUPS or 2 * g <= n)]
    return sorted(fields, key=lambda f: (f.name != "country_of_residence", f.name))


def check_split_fields(source: Store | sqlite3.Connection, names: Sequence[str], consequence: str, *,
                       example: str) -> None:
    """Refuse a name that is not a field the splits offer (``demographic_fields``), saying why and what there is.

    A key the participants have but the splits do not offer (free text, or too many values to be
    groups of people) is refused with that reason; an unknown name with the fields there are.

    Args:
        source: the workspace store, or a connection to its database.
        names: the field names to check.
        consequence: what the refusal means, said after the reasons (``Nothing was changed.``).
        example: the hint's command, ``{fields}`` standing for one or two of the fields there are
            (comma-separated), ``{field}`` for the first.

    Raises:
        KnownError: a name is not such a field.
    """
    offered = [f.name for f in demographic_fields(source)]
    wrong = [n for n in names if n not in offered]
    if not wrong:
        return
    with sql_errors("reading demographics"):
        keys = {r[0] for r in connection_of(source).execute(
            "SELECT DISTINCT d.key FROM participants p, json_each(p.demographics) d"
            " WHERE json_valid(p.demographics) AND json_type(p.demographics) = 'object'")}
    said = "; ".join(
        f"{n!r} is free text or has too many values to be groups of people" if n in keys
        else f"{n!r} is not a demographic field of this workspace's crowd" for n in wrong)
    there = ", ".join(offered) if offered else "none yet: import a crowd first"
    some = offered[:2] or ["country_of_residence"]
    raise KnownError(f"{said}. {consequence} The fields there are: {there}.",
                     hint="For example: " + example.format(fields=",".join(some), field=some[0]))


def evidence_split(source: Store | sqlite3.Connection, proposal_id: str, field_name: str) -> list[GroupSplit]:
    """Count a proposal's links by the value of one demographic field and by effective stance.

    One GROUP BY over the proposal's links (``evidence_current``) joined to their participants
    (through justification and assessment; directly when ``evidence_current`` has a
    ``participant_id`` column, which holds a Pol.is statement's author). Groups come sorted by
    name, with ``(unknown)`` (no value) last.
    """
    conn = connection_of(source)
    path = _json_path(field_name)
    with sql_errors("splitting the evidence"):
        columns = {r[1] for r in conn.execute("PRAGMA table_info(evidence_current)")}
        if "participant_id" in columns:
            # With the participant stored on each link: one covering scan, then one lookup per participant.
            rows = conn.execute(
                "SELECT json_extract(p.demographics, ?) AS g, x.stance, sum(x.n) FROM"
                " (SELECT participant_id, stance, count(*) AS n FROM evidence_current WHERE proposal_id = ?"
                "  GROUP BY participant_id, stance) x"
                " LEFT JOIN participants p ON p.id = x.participant_id GROUP BY g, x.stance",
                [path, proposal_id],
            ).fetchall()
        else:
            rows = conn.execute(
                "SELECT json_extract(p.demographics, ?) AS g, e.stance, count(*) FROM evidence_current e"
                " JOIN justifications j ON j.id = e.justification_id"
                " LEFT JOIN assessments a ON a.id = j.assessment_id"
                " LEFT JOIN participants p ON p.id = a.participant_id"
                " WHERE e.proposal_id = ? GROUP BY g, e.stance",
                [path, proposal_id],
            ).fetchall()
    counts: dict[str, dict[str, int]] = {}
    for value, stance, n in rows:
        if value is None or value == "":
            group = UNKNOWN_GROUP
        elif isinstance(value, str):
            group = value
        else:
            group = json.dumps(value, ensure_ascii=False)
        slot = counts.setdefault(group, {**dict.fromkeys(STANCES, 0), UNLABELLED: 0})
        slot[stance or UNLABELLED] += n
    return [
        GroupSplit(group=g, supports=c["supports"], refutes=c["refutes"], no_comment=c["no_comment"],
                   unlabelled=c[UNLABELLED])
        for g, c in sorted(counts.items(), key=lambda kv: (kv[0] == UNKNOWN_GROUP, kv[0]))
    ]


def wilson_interval(successes: int, n: int, z: float = _Z95) -> tuple[float, float] | None:
    """Return the Wilson score interval for a proportion (95% by default), or None when ``n`` is 0."""
    if n <= 0:
        return None
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


# Scripts that name their language well enough for a display hint (the first match wins).
_SCRIPTS = (
    ("ja", ((0x3040, 0x30FF),)),
    ("ko", ((0xAC00, 0xD7AF), (0x1100, 0x11FF))),
    ("zh", ((0x4E00, 0x9FFF),)),
    ("hi", ((0x0900, 0x097F),)),
    ("bn", ((0x0980, 0x09FF),)),
    ("ta", ((0x0B80, 0x0BFF),)),
    ("th", ((0x0E00, 0x0E7F),)),
    ("ar", ((0x0600, 0x06FF),)),
    ("he", ((0x0590, 0x05FF),)),
    ("el", ((0x0370, 0x03FF),)),
    ("ru", ((0x0400, 0x04FF),)),
)
_STOP_WORDS = {
    "en": "the and is it to of this that for not but with because too be are should i me my you it's don't"
          " what just best prefer answer like would doesn't was very obviously sure one",
    "es": "el la los las que y es en un una por porque con lo me mas más muy pero para está esta creo gusta"
          " respuesta mejor eso del se su prefiero también sin duda ninguna debería mí",
    "pt": "o os as que e é em um uma não com para por porque mais muito mas eu prefiro resposta melhor isso"
          " essa fico do da ela acho pra mim fato pergunta nenhuma deveria",
    "fr": "le la les des et est un une que qui pas ne pour avec je c'est elle très mais réponse meilleure moi"
          " ça du au on trop tout avant aucune devrait vraiment",
    "de": "der die das und ist nicht ein eine zu ich sie es mit auf für aber sehr am besten antwort weil"
          " mir auch klar",
    "it": "il lo di che è non per con mi sono ma molto perché risposta migliore questa",
    "nl": "het een niet van ik dat die voor maar met zijn antwoord",
}
_WORDS = {lang: frozenset(words.split()) for lang, words in _STOP_WORDS.items()}
_MARKS = {"es": "ñ¿¡", "pt": "ãõ", "de": "ßäöü", "fr": "èêœùûëî"}
_TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)


@functools.lru_cache(maxsize=65536)
def guess_language(text: str) -> str | None:
    """Guess the language of a short crowd text for display only (cheap, cached; None when unsure).

    Non-Latin scripts decide directly; Latin text is scored by common words and letters of a few
    European languages, and a tie or no evidence gives None. Never store the guess as the language.
    """
    if not text:
        return None
    for char in text:
        code = ord(char)
        if code < 0x0370:
            continue
        for language, ranges in _SCRIPTS:
            if any(low <= code <= high for low, high in ranges):
                # Kana anywhere makes CJK text Japanese; a leading Han character alone may be Chinese.
                if language == "zh" and any(0x3040 <= ord(c) <= 0x30FF for c in text):
                    return "ja"
                return language
    lowered = text.lower()
    tokens = _TOKEN.findall(lowered.replace("’", "'"))
    scores = {lang: sum(1 for t in tokens if t in words) for lang, words in _WORDS.items()}
    for lang, marks in _MARKS.items():
        if any(m in lowered for m in marks):
            scores[lang] += 2
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    best, second = ranked[0], ranked[1]
    if best[1] == 0 or best[1] == second[1]:
        return None
    return best[0]


def label_history(source: Store | sqlite3.Connection, proposal_id: str, justification_id: str) -> list[StanceLabel]:
    """Return every label on one link, oldest first (``labels_for`` for a store or a read connection)."""
    conn = connection_of(source)
    with sql_errors("reading the stance labels"):
        return [
            _label(r)
            for r in conn.execute(
                f"SELECT {_LABEL_COLUMNS} FROM stance_labels WHERE proposal_id = ? AND justification_id = ?"
                " ORDER BY created_at, rowid",
                [proposal_id, justification_id],
            )
        ]
