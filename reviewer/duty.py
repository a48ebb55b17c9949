"""The duty to respond: the groups a decision must answer, and the check that each got a sentence.

When a group of participants (an opinion group, or a group of one of the workspace's **duty
fields**, such as ``country_of_residence = Japan``) of at least the workspace's minimum size
**clearly refutes** a proposal (its whole 95% interval of the share supporting lies below 50%),
adopting the proposal owes that group an answer: a sentence saying why the board adopts over its
objection. Setting a proposal aside owes the same to every group that **clearly supports** it.
Deferring owes nothing.

The demographic groups owed are those of the duty fields, a logged workspace setting
(``duty.fields``; country of residence alone unless set otherwise), **whatever split the reviewer
shows** while deciding. The split shown is kept with the decision's evidence and changes nothing
here: were it to choose the groups owed, a reviewer could show "age" and adopt without a word to
the countries that clearly refute the proposal. Every field at once is not the default: it would
ask for dozens of answers, one per age band, education level and usage habit, most of them saying
the same thing; the board chooses which fields it answers to (``spec-review duty --fields``), and
only fields the crowd data has are accepted.

Both settings (``duty.min_group_size`` and ``duty.fields``) change what later decisions owe, so
each change is a ``workspace.set`` event: ``audit verify`` compares the stored value with the
logged one, and ``audit rebuild`` and sync carry it.

``governance.decide`` computes what is owed inside the decision's transaction, refuses a decision
that leaves a group unanswered (nothing is written), and stores the groups owed, the answers and
the fields and minimum size they were measured with, with the decision (``decisions.duty``) and
in its ``decision.record`` event, so that ``audit verify``, ``audit rebuild`` and sync reproduce
them. A decision recorded earlier keeps what it stored (older records name no fields). Groups
with no known value (``(unknown)``) are not a group of people and are never owed.

Group ids are stable and typed on the command line: ``opinion:A`` and
``demographic:FIELD=VALUE`` (``demographic:country_of_residence=Japan``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from reviewer.decision_evidence import DEFAULT_SPLIT
from reviewer.errors import KnownError
from reviewer.evidence import UNKNOWN_GROUP, check_split_fields
from reviewer.group_support import OPINION, GroupSupport, proposal_groups
from reviewer.store import Store, connection_of
from reviewer.textsafe import visible
from reviewer.vocab import Outcome

MIN_GROUP_SIZE_KEY = "duty.min_group_size"
"""``workspace_info`` key: the fewest participants a group needs for a decision to owe it an answer."""
DEFAULT_MIN_GROUP_SIZE = 10
FIELDS_KEY = "duty.fields"
"""``workspace_info`` key: the demographic fields whose groups a decision owes an answer (a JSON list of names)."""
DEFAULT_FIELDS = (DEFAULT_SPLIT,)
LOGGED_SETTINGS = (MIN_GROUP_SIZE_KEY, FIELDS_KEY)
"""The settings of the duty to respond: only ever stored with their ``workspace.set`` event (``audit verify`` checks)."""
REFUTES = "refutes"
SUPPORTS = "supports"


@dataclass(frozen=True)
class OwedGroup:
    """A group a decision owes an answer.

    Attributes:
        id: the stable id (``opinion:A``, ``demographic:country=Japan``): what ``--respond`` names.
        name: for people (``opinion group A``, ``country: Japan``).
        stance: ``refutes`` (adopting over its objection) or ``supports`` (setting aside what it wants).
        size: the group's participants in the whole crowd.
        supports: its links that support the proposal.
        refutes: its links that refute it.
        share: the share supporting.
        low: the 95% interval's low end.
        high: its high end.
    """

    id: str
    name: str
    stance: str
    size: int
    supports: int
    refutes: int
    share: float
    low: float
    high: float

    def describe(self) -> str:
        """One line: ``opinion group A (40 participants): 20% supporting (95% interval 9%–38%), clearly refutes``."""
        return (f"{self.name} ({self.size} participants): {self.share * 100:.0f}% supporting (95% interval "
                f"{self.low * 100:.0f}%\u2013{self.high * 100:.0f}%, {self.supports} of {self.supports + self.refutes}"
                f" links), clearly {self.stance}")


DEMOGRAPHIC_PREFIX = "demographic:"
"""How the id of a demographic group starts (``demographic:FIELD=VALUE``)."""


def group_id(group: GroupSupport) -> str:
    """The stable id of a group: ``opinion:A`` or ``demographic:FIELD=VALUE``."""
    return f"opinion:{group.group}" if group.kind == OPINION else f"{DEMOGRAPHIC_PREFIX}{group.field}={group.group}"


def group_name(group: GroupSupport) -> str:
    """A group's name for people: ``opinion group A`` or ``country: Japan``."""
    return f"opinion group {group.group}" if group.kind == OPINION else f"{group.field}: {group.group}"


def parse_min_group_size(value: str | int) -> int:
    """The minimum group size from what a person typed (a whole number of participants, at least 1).

    Raises:
        KnownError: anything else.
    """
    try:
        number = int(str(value).strip())
    except ValueError:
        number = 0
    if number < 1:
        raise KnownError(f"The minimum group size must be a whole number of participants, at least 1 (not {value!r}).",
                         hint="For example: spec-review duty WORKSPACE --min-group-size 10")
    return number


def min_group_size(source: Store | sqlite3.Connection) -> int:
    """The workspace's minimum group size for the duty to respond (``DEFAULT_MIN_GROUP_SIZE`` when never set)."""
    row = connection_of(source).execute("SELECT value FROM workspace_info WHERE key = ?",
                                        [MIN_GROUP_SIZE_KEY]).fetchone()
    return parse_min_group_size(row[0]) if row else DEFAULT_MIN_GROUP_SIZE


def parse_field_names(value: str | Sequence[str]) -> list[str]:
    """The duty fields from what a person typed (``country_of_residence,language``) or a list: names, each once.

    Raises:
        KnownError: no name at all.
    """
    parts = value.split(",") if isinstance(value, str) else [str(v) for v in value]
    names = list(dict.fromkeys(p.strip() for p in parts if p.strip()))
    if not names:
        raise KnownError(f"Name at least one demographic field whose groups a decision owes an answer (not {value!r}).",
                         hint="For example: spec-review duty WORKSPACE --fields country_of_residence,language")
    return names


def check_field_names(source: Store | sqlite3.Connection, names: str | Sequence[str]) -> list[str]:
    """The names, once each, when every one is a demographic field the crowd data has and the splits offer.

    Raises:
        KnownError: no name, or naming each field refused (``evidence.check_split_fields``) and the
            fields there are; nothing is changed.
    """
    names = parse_field_names(names)
    check_split_fields(source, names, "Nothing was changed.",
                       example="spec-review duty WORKSPACE --fields {fields}")
    return names


def field_names_text(names: Sequence[str]) -> str:
    """The stored form of the duty fields (``workspace_info`` and the ``workspace.set`` event): a JSON list."""
    return json.dumps(list(names), ensure_ascii=False)


def duty_fields(source: Store | sqlite3.Connection) -> list[str]:
    """The workspace's duty fields: the demographic fields whose groups are owed (``DEFAULT_FIELDS`` when never set).

    Raises:
        KnownError: the stored setting is not a list of names (edited outside the app).
    """
    row = connection_of(source).execute("SELECT value FROM workspace_info WHERE key = ?", [FIELDS_KEY]).fetchone()
    if row is None:
        return list(DEFAULT_FIELDS)
    try:
        stored = json.loads(row[0])
        if not isinstance(stored, list) or not all(isinstance(n, str) for n in stored):
            raise ValueError(row[0])
        return parse_field_names(stored)
    except (ValueError, KnownError):
        raise KnownError(f"The workspace setting {FIELDS_KEY} is damaged ({row[0]!r} is not a list of field names).",
                         hint="spec-review audit verify compares it with the log; spec-review duty WORKSPACE --fields"
                              " sets it again.") from None


def _stance_owed(outcome: str) -> str | None:
    """The stance whose groups ``outcome`` owes an answer (None: deferring owes nothing)."""
    outcome = outcome.replace("-", "_")
    return REFUTES if outcome == Outcome.ADOPT else SUPPORTS if outcome == Outcome.SET_ASIDE else None


def _owed_for(groups: Iterable[GroupSupport], outcome: str, min_size: int) -> list[OwedGroup]:
    stance = _stance_owed(outcome)
    if stance is None:
        return []
    found = []
    for g in groups:
        clearly = g.clearly_refutes if stance == REFUTES else g.clearly_supports
        if clearly and g.size >= min_size and g.group != UNKNOWN_GROUP:
            assert g.share is not None and g.low is not None and g.high is not None
            found.append(OwedGroup(group_id(g), group_name(g), stance, g.size, g.supports, g.refutes, g.share, g.low,
                                   g.high))
    return found


def _groups(source: Store | sqlite3.Connection, proposal_id: str, fields: Sequence[str]) -> list[GroupSupport]:
    return proposal_groups(source, proposal_id, fields=fields).every_group()


def groups_owed(source: Store | sqlite3.Connection, proposal_id: str, outcome: str) -> list[OwedGroup]:
    """The groups that deciding ``outcome`` on a proposal owes an answer: opinion groups, then each duty field's.

    The split a reviewer shows plays no part: the groups are those of the workspace's duty fields.

    Args:
        source: the store or a connection.
        proposal_id: the proposal.
        outcome: adopt, defer or set_aside.

    Raises:
        KnownError: no proposal has that id.
    """
    return _owed_for(_groups(source, proposal_id, duty_fields(source)), outcome, min_group_size(source))


def owed_by_outcome(source: Store | sqlite3.Connection, proposal_id: str) -> dict[str, list[OwedGroup]]:
    """What adopting and setting aside would each owe (deferring owes nothing): one read of the groups."""
    groups = _groups(source, proposal_id, duty_fields(source))
    size = min_group_size(source)
    return {outcome: _owed_for(groups, outcome, size) for outcome in (Outcome.ADOPT, Outcome.SET_ASIDE)}


def _hint(owed: Iterable[OwedGroup]) -> str:
    example = " ".join(f'--respond "{g.id}=..."' for g in owed)
    return (f"Answer each group in a sentence: {example} (on the command line; --respond GROUP=TEXT is repeatable),"
            " or in its line under the outcome in the app's decision panel.")


def check_responses(owed: list[OwedGroup], responses: Mapping[str, str], outcome: str) -> dict[str, str]:
    """The answers to keep, cleaned; refuses a group owed without a sentence and an id not owed.

    Raises:
        KnownError: naming each unanswered group with its share and interval, or the ids not owed.
    """
    cleaned = {str(k).strip(): " ".join(str(v).split()) for k, v in responses.items()}
    owed_ids = {g.id for g in owed}
    unknown = sorted(k for k in cleaned if k not in owed_ids)
    if unknown:
        listed = ", ".join(sorted(owed_ids)) or "none"
        raise KnownError(
            f"{'; '.join(unknown)}: not a group this decision owes an answer (owed: {listed}). Nothing was recorded.",
            hint="Group ids are opinion:A or demographic:FIELD=VALUE; spec-review proposal show lists what is owed.")
    missing = [g for g in owed if not visible(cleaned.get(g.id, ""))]
    if missing:
        verb = "adopting" if outcome == Outcome.ADOPT else "setting aside"
        lines = "\n".join(f"  {g.id}: {g.describe()}" for g in missing)
        raise KnownError(
            f"The duty to respond: {verb} this proposal owes {len(missing)} group"
            f"{'' if len(missing) == 1 else 's'} an answer. Nothing was recorded.\n{lines}",
            hint=_hint(missing))
    return {g.id: cleaned[g.id] for g in owed}


def duty_record(owed: list[OwedGroup], responses: Mapping[str, str], min_size: int,
                fields: Sequence[str]) -> dict[str, Any] | None:
    """What is kept with a decision: the minimum size and duty fields, the groups owed and each answer.

    None when nothing was owed. (Records kept before the duty fields were a setting have no ``fields``.)
    """
    if not owed:
        return None
    return {"min_group_size": min_size, "fields": list(fields), "owed": [asdict(g) for g in owed],
            "responses": dict(responses)}


def duty_text(record: Mapping[str, Any] | None) -> str | None:
    """The stored form of a duty record: canonical JSON (the same text from the row and from the event)."""
    return None if record is None else json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def owed_and_answered(store: Store, proposal_id: str, outcome: str,
                      responses: Mapping[str, str]) -> dict[str, Any] | None:
    """Check a decision's answers against what it owes now; returns the record to keep (``duty_record``).

    Call it inside the decision's transaction, so the groups owed are those of the evidence and the
    settings it is made on.

    Raises:
        KnownError: a group owed has no sentence, or an id names no group owed.
    """
    size, fields = min_group_size(store), duty_fields(store)
    # Deferring owes nothing: the groups' support is not read inside the write transaction for it.
    owed = _owed_for(_groups(store, proposal_id, fields), outcome, size) if _stance_owed(outcome) else []
    return duty_record(owed, check_responses(owed, responses, outcome), size, fields)


def parse_respond(text: str, known: Iterable[str] = ()) -> tuple[str, str]:
    """Split ``GROUP=TEXT`` (``--respond``) into the group id and the answer.

    A group id holds ``=`` itself (``demographic:country=Japan``): an id from ``known`` that the text
    starts with wins; otherwise a demographic id ends at its second ``=``, any other at its first.

    Raises:
        KnownError: no ``=`` where one must be.
    """
    for group in sorted(known, key=len, reverse=True):
        if text.startswith(group + "="):
            return group, text[len(group) + 1:]
    skip = text.find("=") + 1 if text.startswith("demographic:") else 0
    at = text.find("=", skip)
    if at <= 0:
        raise KnownError(f"--respond {text!r} is not GROUP=TEXT.",
                         hint='For example: --respond "opinion:A=We adopt it because ..."')
    return text[:at], text[at + 1:]


__all__ = [
    "DEFAULT_FIELDS", "DEFAULT_MIN_GROUP_SIZE", "DEMOGRAPHIC_PREFIX", "FIELDS_KEY", "LOGGED_SETTINGS", "MIN_GROUP_SIZE_KEY", "OwedGroup",
    "check_field_names", "check_responses", "duty_fields", "duty_record", "duty_text", "field_names_text", "group_id",
    "group_name", "groups_owed", "min_group_size", "owed_and_answered", "owed_by_outcome", "parse_field_names",
    "parse_min_group_size", "parse_respond",
]
