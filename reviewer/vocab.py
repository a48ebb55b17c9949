"""The record's fixed vocabularies: stances, outcomes, statuses, label sources, authority levels, roles.

Each is a ``StrEnum``: a member *is* its string (``Stance.SUPPORTS == "supports"``), so the values
stored in the database, written to JSON and shown on the command line are unchanged, while the code
names them once and a typo is an ``AttributeError`` instead of a silent mismatch.
"""

from __future__ import annotations

from enum import StrEnum


class Stance(StrEnum):
    """What a justification says of a proposal's intent."""

    SUPPORTS = "supports"
    REFUTES = "refutes"
    NO_COMMENT = "no_comment"


UNLABELLED = "unlabelled"
"""Not a stance: the evidence lists' name for links that no source has labelled yet."""


class Outcome(StrEnum):
    """What a reviewer decides."""

    ADOPT = "adopt"
    DEFER = "defer"
    SET_ASIDE = "set_aside"


class Status(StrEnum):
    """Where a proposal stands (``governance.proposal_status``)."""

    OPEN = "open"
    PENDING = "pending"
    CONTESTED = "contested"
    ADOPTED = "adopted"
    DEFERRED = "deferred"
    SET_ASIDE = "set_aside"
    COMMITTED = "committed"
    NEEDS_REBASE = "needs_rebase"


class LabelSource(StrEnum):
    """Who or what set a stance label or a relevance grade."""

    PERSON = "person"
    MODEL = "model"
    RULE = "rule"


class EvidenceSort(StrEnum):
    """How an evidence list is ordered (``reviewer.triage``)."""

    SOURCE = "source"
    DIVISIVE = "divisive"


class Authority(StrEnum):
    """A section's authority level; ``PLATFORM`` is the older name of ``ROOT`` (releases before 2025-09)."""

    ROOT = "root"
    SYSTEM = "system"
    DEVELOPER = "developer"
    USER = "user"
    GUIDELINE = "guideline"
    PLATFORM = "platform"


class Role(StrEnum):
    """What a workspace member may do: decide, commit, or only read."""

    REVIEWER = "reviewer"
    EDITOR = "editor"
    AUDITOR = "auditor"


class RevisionKind(StrEnum):
    """How a proposal's revision came about (``reviewer.revisions``).

    Only ``REBASE`` keeps the votes on the revision before it: the same change, carried onto a newer
    spec without a person writing any of it (Gerrit's trivial rebase). A conflict resolved by hand
    (``RESOLVE``) or an edit is new text, and the votes on earlier revisions wait for confirmation.
    """

    WRITTEN = "written"
    EDIT = "edit"
    REBASE = "rebase"
    RESOLVE = "resolve"


class GroupSource(StrEnum):
    """The crowd input opinion groups are found in (``reviewer.groups``)."""

    CA1 = "ca1"  # participant x (conversation, response pair) preferences from the CA-1 rankings
    POLIS = "polis"  # participant x statement votes of a Pol.is export


class PriceFileKind(StrEnum):
    """Which price file an entry is kept in (``reviewer.prices``): the user's or a workspace's."""

    USER = "user"  # the config folder's prices.json: every workspace on this machine
    WORKSPACE = "workspace"  # WORKSPACE/prices.json: this workspace only, and it wins


STANCES: tuple[Stance, ...] = tuple(Stance)
OUTCOMES: tuple[Outcome, ...] = tuple(Outcome)
STATUSES: tuple[Status, ...] = tuple(Status)
LABEL_SOURCES: tuple[LabelSource, ...] = tuple(LabelSource)
EVIDENCE_SORTS: tuple[EvidenceSort, ...] = tuple(EvidenceSort)
AUTHORITIES: tuple[Authority, ...] = tuple(Authority)
ROLES: tuple[Role, ...] = tuple(Role)
REVISION_KINDS: tuple[RevisionKind, ...] = tuple(RevisionKind)
GROUP_SOURCES: tuple[GroupSource, ...] = tuple(GroupSource)
