"""A proposal's support per group (opinion groups and demographic groups), group-aware consensus and bridging.

The counts are a proposal's links by effective stance (``evidence_current``), as the demographic
split counts them, per group of the link's participant. For each group:

- **share supporting** = supports / (supports + refutes), with its 95% Wilson score interval
  (links that do not comment, or have no stance yet, are left out of the share);
- **smoothed share** = (supports + 1) / (supports + refutes + 2): Pol.is's smoothing, so a group with
  no decided link counts as 50%, never as 0% or 100%.

Over the opinion groups of one run (every group of the run, those with no decided link included):

- **group-aware consensus** = the product over groups of the smoothed share (Pol.is's
  group-informed consensus): high only when every group supports;
- **bridging** = the lowest group's smoothed share: the support that holds in every group. A
  proposal *bridges* (the queue's filter) when it is above 50% in every group;
- **divisiveness** = the highest group's smoothed share minus the lowest's: how far the groups
  are apart. A proposal is *divisive* (the queue's filter) when that is at least ``DIVISIVE``.

A proposal's opinion groups come from one run: the latest run of the crowd source whose groups
hold most of its decided links (a workspace with both CA-1 and Pol.is data has a run of each).
``proposal_groups`` is the named query the desk, the CLI and the duty to respond read.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from reviewer.evidence import UNKNOWN_GROUP, demographic_fields, evidence_split, wilson_interval
from reviewer.groups import GroupRun, current_runs, group_label, json_path, source_label
from reviewer.store import Store, connection_of, require_proposal, sql_errors
from reviewer.vocab import Stance

DIVISIVE = 0.25
"""Groups whose smoothed shares differ by at least this much make a proposal divisive (25 points)."""
BRIDGING = 0.5
"""A proposal bridges when every group's smoothed share is above this."""
OPINION = "opinion"
"""The ``kind`` of an opinion group (a demographic group's kind is ``demographic``)."""
DEMOGRAPHIC = "demographic"


def smoothed(supports: int, refutes: int) -> float:
    """Pol.is's smoothed share supporting: (supports + 1) / (supports + refutes + 2)."""
    return (supports + 1) / (supports + refutes + 2)


def consensus(counts: Iterable[tuple[int, int]]) -> float:
    """Group-aware consensus: the product over groups of the smoothed share, from (supports, refutes) per group."""
    product = 1.0
    for supports, refutes in counts:
        product *= smoothed(supports, refutes)
    return product


@dataclass(frozen=True)
class GroupFigures:
    """The group-aware figures of one proposal over one run's opinion groups.

    Attributes:
        run_id: the run the groups come from.
        source: its crowd source.
        consensus: the product over groups of the smoothed share.
        bridging: the lowest group's smoothed share.
        divisiveness: the highest group's smoothed share minus the lowest's.
        lowest: the label of the group with the lowest smoothed share.
        decided: the links that support or refute, over every group.
    """

    run_id: str
    source: str
    consensus: float
    bridging: float
    divisiveness: float
    lowest: str
    decided: int

    @property
    def bridges(self) -> bool:
        """Whether support holds in every group (every smoothed share above 50%)."""
        return self.bridging > BRIDGING

    @property
    def divisive(self) -> bool:
        """Whether the groups are at least ``DIVISIVE`` apart."""
        return self.divisiveness >= DIVISIVE


def figures(run: GroupRun, counts: dict[int, tuple[int, int]]) -> GroupFigures:
    """The figures over every group of ``run`` from (supports, refutes) per group index (missing: none)."""
    per_group = [counts.get(g, (0, 0)) for g in range(run.k)]
    shares = [smoothed(s, r) for s, r in per_group]
    low = min(range(run.k), key=lambda g: (shares[g], g))
    return GroupFigures(run.id, run.source, consensus(per_group), shares[low], max(shares) - shares[low],
                        group_label(low), sum(s + r for s, r in per_group))


@dataclass(frozen=True)
class GroupSupport:
    """One group's stance on a proposal.

    Attributes:
        kind: ``opinion`` or ``demographic``.
        field: for an opinion group, ``opinion group``; else the demographic field.
        group: the group's name (``A``; or the field's value, ``(unknown)`` when missing).
        size: the group's participants in the whole crowd (for an opinion group, those grouped).
        supports: its links that support the proposal.
        refutes: its links that refute it.
        no_comment: its links that do not comment.
        unlabelled: its links with no stance yet.
        share: supports / (supports + refutes), None when neither.
        low: the 95% Wilson interval's low end (None when neither).
        high: its high end.
        smoothed: (supports + 1) / (supports + refutes + 2).
    """

    kind: str
    field: str
    group: str
    size: int
    supports: int
    refutes: int
    no_comment: int
    unlabelled: int
    share: float | None
    low: float | None
    high: float | None
    smoothed: float

    @property
    def decided(self) -> int:
        """The links that support or refute."""
        return self.supports + self.refutes

    @property
    def clearly_refutes(self) -> bool:
        """Its whole interval lies below 50% supporting."""
        return self.high is not None and self.high < 0.5

    @property
    def clearly_supports(self) -> bool:
        """Its whole interval lies above 50% supporting."""
        return self.low is not None and self.low > 0.5


def _support(kind: str, field_name: str, group: str, size: int, supports: int, refutes: int, no_comment: int,
             unlabelled: int) -> GroupSupport:
    decided = supports + refutes
    interval = wilson_interval(supports, decided)
    return GroupSupport(kind, field_name, group, size, supports, refutes, no_comment, unlabelled,
                        supports / decided if decided else None, interval[0] if interval else None,
                        interval[1] if interval else None, smoothed(supports, refutes))


@dataclass(frozen=True)
class ProposalGroups:
    """Every group's stance on one proposal, with the group-aware figures.

    Attributes:
        proposal_id: the proposal.
        run: the opinion-group run used (None when no groups were computed).
        opinion: the run's groups, A first (every group of the run, with or without links).
        figures: consensus, bridging and divisiveness over them (None without a run).
        ungrouped: the proposal's decided links whose participant is in no group of the run.
        demographic: per demographic field, its groups (sorted by name, ``(unknown)`` last).
    """

    proposal_id: str
    run: GroupRun | None
    opinion: list[GroupSupport]
    figures: GroupFigures | None
    ungrouped: int
    demographic: dict[str, list[GroupSupport]]

    def every_group(self) -> list[GroupSupport]:
        """Opinion groups first, then each demographic field's groups."""
        return [*self.opinion, *(g for groups in self.demographic.values() for g in groups)]

    def to_json(self) -> dict[str, Any]:
        """As plain JSON data (``spec-review groups --proposal``)."""
        def one(g: GroupSupport) -> dict[str, Any]:
            return {**asdict(g), "decided": g.decided, "clearly_refutes": g.clearly_refutes,
                    "clearly_supports": g.clearly_supports}

        return {
            "proposal_id": self.proposal_id,
            "run": None if self.run is None else {"id": self.run.id, "source": self.run.source, "k": self.run.k,
                                                  "created_at": self.run.created_at},
            "opinion": [one(g) for g in self.opinion],
            "figures": None if self.figures is None else {**asdict(self.figures), "bridges": self.figures.bridges,
                                                          "divisive": self.figures.divisive},
            "ungrouped": self.ungrouped,
            "demographic": {name: [one(g) for g in groups] for name, groups in self.demographic.items()},
        }


def _opinion_counts(conn: sqlite3.Connection, run_ids: Sequence[str], proposal_id: str | None
                    ) -> dict[tuple[str, str, int], dict[str, int]]:
    """(proposal, run, group) -> links per stance ('' for no stance), for one proposal or all."""
    marks = ",".join("?" * len(run_ids))
    where, params = ("WHERE proposal_id = ?", [proposal_id]) if proposal_id else ("", [])
    found: dict[tuple[str, str, int], dict[str, int]] = {}
    for pid, run_id, group, stance, n in conn.execute(
        "SELECT x.proposal_id, m.run_id, m.group_index, x.stance, sum(x.n) FROM"
        f" (SELECT proposal_id, participant_id, stance, count(*) AS n FROM evidence_current {where}"
        "  GROUP BY proposal_id, participant_id, stance) x"
        f" JOIN group_members m ON m.participant_id = x.participant_id AND m.run_id IN ({marks})"
        " GROUP BY 1, 2, 3, 4", [*params, *run_ids]):
        found.setdefault((pid, run_id, group), {})[stance or ""] = n
    return found


def _choose_run(runs: Sequence[GroupRun], counts: dict[tuple[str, str, int], dict[str, int]],
                proposal_id: str) -> GroupRun | None:
    """The run whose groups hold most of the proposal's decided links (the latest on a tie; CA-1 with none)."""
    if not runs:
        return None

    def decided(run: GroupRun) -> int:
        return sum(c.get(Stance.SUPPORTS, 0) + c.get(Stance.REFUTES, 0)
                   for (pid, rid, _g), c in counts.items() if pid == proposal_id and rid == run.id)

    return max(runs, key=lambda r: (decided(r), r.created_at))


def proposal_run(source: Store | sqlite3.Connection, proposal_id: str) -> GroupRun | None:
    """The opinion-group run a proposal's groups come from (see the module's docstring); None without one."""
    conn = connection_of(source)
    with sql_errors("reading the proposal's opinion groups"):
        runs = current_runs(conn)
        if not runs:
            return None
        return _choose_run(runs, _opinion_counts(conn, [r.id for r in runs], proposal_id), proposal_id)


def proposal_groups(source: Store | sqlite3.Connection, proposal_id: str, *,
                    fields: Sequence[str] | None = None) -> ProposalGroups:
    """Every group's stance on a proposal: its opinion groups and every demographic group, with sizes and intervals.

    The named query the desk's group split, ``spec-review groups --proposal`` and the duty to
    respond read. Opinion groups come from the stored run (``reviewer.groups``), never recomputed.

    Args:
        source: the store, or a (read-only) connection to the workspace database.
        proposal_id: the proposal.
        fields: the demographic fields to split by (default: every field the splits offer; a Pol.is
            import's ``opinion_group`` among them).

    Raises:
        KnownError: no proposal has that id.
    """
    conn = connection_of(source)
    with sql_errors("reading the proposal's group support"):
        require_proposal(conn, proposal_id)
        runs = current_runs(conn)
        counts = _opinion_counts(conn, [r.id for r in runs], proposal_id) if runs else {}
        run = _choose_run(runs, counts, proposal_id)
        opinion: list[GroupSupport] = []
        group_figures = None
        ungrouped = 0
        if run is not None:
            sizes = run.detail.get("sizes", [])
            for g in range(run.k):
                c = counts.get((proposal_id, run.id, g), {})
                opinion.append(_support(OPINION, "opinion group", group_label(g), sizes[g] if g < len(sizes) else 0,
                                        c.get(Stance.SUPPORTS, 0), c.get(Stance.REFUTES, 0),
                                        c.get(Stance.NO_COMMENT, 0), c.get("", 0)))
            group_figures = figures(run, {g: (s.supports, s.refutes) for g, s in enumerate(opinion)})
            decided_all = conn.execute(
                "SELECT count(*) FROM evidence_current WHERE proposal_id = ? AND stance IN ('supports', 'refutes')",
                [proposal_id]).fetchone()[0]
            ungrouped = decided_all - sum(s.decided for s in opinion)
        names = list(fields) if fields is not None else [f.name for f in demographic_fields(conn)]
        demographic = {name: _demographic_groups(conn, proposal_id, name) for name in names}
    return ProposalGroups(proposal_id, run, opinion, group_figures, ungrouped, demographic)


def _demographic_groups(conn: sqlite3.Connection, proposal_id: str, name: str) -> list[GroupSupport]:
    path = json_path(name)
    sizes: dict[str, int] = {}
    for value, n in conn.execute(
        "SELECT json_extract(demographics, ?), count(*) FROM participants WHERE json_valid(demographics) GROUP BY 1",
        [path]):
        group = UNKNOWN_GROUP if value in (None, "") else value if isinstance(value, str) else _json(value)
        sizes[group] = sizes.get(group, 0) + n
    return [_support(DEMOGRAPHIC, name, g.group, sizes.get(g.group, 0), g.supports, g.refutes, g.no_comment,
                     g.unlabelled) for g in evidence_split(conn, proposal_id, name)]


def _json(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


def queue_figures(source: Store | sqlite3.Connection) -> dict[str, GroupFigures]:
    """Every proposal's group-aware figures (for the queue's columns, sort and filters); {} without groups."""
    conn = connection_of(source)
    with sql_errors("reading the proposals' group support"):
        runs = current_runs(conn)
        if not runs:
            return {}
        counts = _opinion_counts(conn, [r.id for r in runs], None)
        proposals = [r[0] for r in conn.execute("SELECT id FROM proposals")]
    out = {}
    by_id = {r.id: r for r in runs}
    per: dict[tuple[str, str], dict[int, tuple[int, int]]] = {}
    for (pid, rid, g), c in counts.items():
        per.setdefault((pid, rid), {})[g] = (c.get(Stance.SUPPORTS, 0), c.get(Stance.REFUTES, 0))
    for pid in proposals:
        run = _choose_run(runs, counts, pid)
        assert run is not None
        out[pid] = figures(by_id[run.id], per.get((pid, run.id), {}))
    return out


def describe_figures(f: GroupFigures) -> str:
    """One line for people: ``consensus 0.12 · bridging 41% (lowest: group B) · groups 35 points apart``."""
    return (f"group-aware consensus {f.consensus:.3f} · bridging {f.bridging * 100:.0f}% (lowest: group {f.lowest})"
            f" · groups {f.divisiveness * 100:.0f} points apart ({source_label(f.source)})")


__all__ = [
    "BRIDGING", "DIVISIVE", "GroupFigures", "GroupSupport", "ProposalGroups", "consensus", "describe_figures",
    "figures", "proposal_groups", "queue_figures", "smoothed",
]
