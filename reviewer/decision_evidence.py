"""The evidence a decision was made on: a snapshot stored with it, so later labels never rewrite its ground."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from typing import Any

from reviewer.evidence import evidence_split, evidence_summary, wilson_interval
from reviewer.store import Store, connection_of, sql_errors
from reviewer.vocab import Stance

DEFAULT_SPLIT = "country_of_residence"


def labels_digest(source: Store | sqlite3.Connection, proposal_id: str) -> str:
    """Return a SHA-256 over the proposal's effective labels (justification, stance, source), in id order.

    Two moments with the same digest had the same labels on every link; any relabel, new link or
    removed link changes it.
    """
    conn = connection_of(source)
    # The lines are joined by SQLite (C, one string) rather than row by row in Python: three times
    # faster on a 50,000-link proposal, and the same bytes: "justification\tstance\tkind\tname\n" each.
    with sql_errors("reading the evidence labels"):
        (text,) = conn.execute(
            "SELECT group_concat(line, char(10)) FROM (SELECT justification_id || char(9) || ifnull(stance, '')"
            " || char(9) || ifnull(source_kind, '') || char(9) || ifnull(source_name, '') AS line"
            " FROM evidence_current WHERE proposal_id = ? ORDER BY justification_id)",
            [proposal_id],
        ).fetchone()
    return hashlib.sha256(b"" if text is None else (text + "\n").encode("utf-8")).hexdigest()


def share_supporting(counts: dict[str, int]) -> dict[str, Any]:
    """Return ``{"share_supporting", "interval"}``: supports / (supports + refutes) and its 95% Wilson interval.

    Rounded as a snapshot keeps them; both None without supports or refutes.
    """
    judged = counts[Stance.SUPPORTS] + counts[Stance.REFUTES]
    interval = wilson_interval(counts[Stance.SUPPORTS], judged)
    return {
        "share_supporting": round(counts[Stance.SUPPORTS] / judged, 4) if judged else None,
        "interval": [round(interval[0], 4), round(interval[1], 4)] if interval else None,
    }


def evidence_snapshot(
    source: Store | sqlite3.Connection, proposal_id: str, split_by: str | None = DEFAULT_SPLIT
) -> dict[str, Any]:
    """Return what a reviewer sees of a proposal's evidence, as plain JSON data.

    Args:
        source: the store, or a connection to the workspace database.
        proposal_id: the proposal.
        split_by: the demographic field of the split; None leaves the split out (to compare with a
            decision's evidence, which needs only the counts and the digest).

    Returns:
        ``{"counts", "by_source", "links", "share_supporting", "interval", "split_by", "split",
        "labels_digest"}``; the share is supports / (supports + refutes), None without either, and
        the interval its 95% Wilson score interval.
    """
    summary = evidence_summary(source, proposal_id)
    snapshot: dict[str, Any] = {
        "counts": dict(summary.counts),
        "by_source": summary.by_source,
        "links": summary.links,
        **share_supporting(summary.counts),
        "labels_digest": labels_digest(source, proposal_id),
    }
    if split_by is not None:
        split = evidence_split(source, proposal_id, split_by)
        snapshot["split_by"] = split_by
        snapshot["split"] = {g.group: [g.supports, g.refutes, g.no_comment, g.unlabelled] for g in split}
    return snapshot


def snapshot_text(snapshot: dict[str, Any]) -> str:
    """The one serialisation of a snapshot: stored with the decision, and what its logged digest is of."""
    return json.dumps(snapshot, ensure_ascii=False, sort_keys=True)


def snapshot_digest(text: str) -> str:
    """SHA-256 of a snapshot's stored text: the decision's event carries it, so verify can check the row."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def evidence_changed(at_decision: dict[str, Any] | None, now: dict[str, Any]) -> bool:
    """Whether the evidence now differs from what a decision was made on (False when it stored none)."""
    return at_decision is not None and at_decision.get("labels_digest") != now.get("labels_digest")


def counts_line(snapshot: dict[str, Any]) -> str:
    """One line of a snapshot for people: ``239 supports · 40 refutes · 11 no comment · 86% [81–89%]``."""
    c = snapshot["counts"]
    line = f"{c['supports']} supports · {c['refutes']} refutes · {c['no_comment']} no comment"
    if c.get("unlabelled"):
        line += f" · {c['unlabelled']} unlabelled"
    if snapshot.get("share_supporting") is not None:
        low, high = snapshot["interval"]
        line += f" · {snapshot['share_supporting']:.0%} supporting [{low:.0%}–{high:.0%}]"
    return line
