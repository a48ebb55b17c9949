"""Labeller reliability: Krippendorff's alpha (nominal) across every stance labeller, with a bootstrap interval.

Cohen's kappa (``agreement.label_trust``) compares one machine source with people, two raters at a
time. Krippendorff's alpha asks how far *all* the labellers agree beyond chance, however many label
each link and whoever they are: each person is a labeller, each model (with its prompt version) is
one, each rule is one. A **unit** is one link (proposal, justification); a labeller's value for it
is the stance of its latest label there (labels an undo withdrew are left out). Units labelled by
fewer than two labellers cannot show agreement and are left out, as alpha defines.

The figure comes from the ``krippendorff`` package (nominal level: supports, refutes and no comment
are categories, none nearer another). The 95% interval is a percentile bootstrap over units:
units drawn with replacement, alpha computed again for each draw (seeded, so the same labels give
the same interval); draws where alpha is undefined (every value the same) are skipped.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from reviewer.store import Store, connection_of, sql_errors
from reviewer.vocab import STANCES

DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 20250411
_PLURALS = {"person": "people", "model": "models", "rule": "rules"}


@dataclass(frozen=True)
class Reliability:
    """Krippendorff's alpha across the stance labellers, with its bootstrap interval.

    Attributes:
        alpha: the figure (None when undefined: no unit with two labels, or one stance only).
        low: the interval's lower end (None without enough defined draws).
        high: the interval's upper end.
        units: links labelled by at least two labellers (what alpha is computed over).
        values: labels counted in those units.
        labellers: labeller kind (person, model, rule) → how many labelled those units.
        resamples: bootstrap draws asked for.
        seed: the bootstrap's seed.
        confidence: the interval's level.
    """

    alpha: float | None
    low: float | None
    high: float | None
    units: int
    values: int
    labellers: dict[str, int] = field(default_factory=dict)
    resamples: int = DEFAULT_RESAMPLES
    seed: int = DEFAULT_SEED
    confidence: float = 0.95

    def describe(self) -> str:
        """One line for people."""
        who = ", ".join(f"{n} {kind if n == 1 else _PLURALS[kind]}" for kind, n in self.labellers.items()) or "no labellers"
        if self.alpha is None:
            return (f"Krippendorff's alpha: not defined ({self.units} links labelled by two or more labellers; "
                    f"{who}).")
        interval = (f" [{self.low:.2f}, {self.high:.2f}] ({self.confidence:.0%} bootstrap interval, "
                    f"{self.resamples:,} resamples)" if self.low is not None and self.high is not None else "")
        return (f"Krippendorff's alpha (nominal) {self.alpha:.2f}{interval} over {self.units:,} links labelled by"
                f" two or more of {who}.")


def value_counts(units: Sequence[Sequence[str]]) -> np.ndarray:
    """The units × stances table of how many labellers gave each stance (units with fewer than two values dropped)."""
    index = {str(s): i for i, s in enumerate(STANCES)}
    rows = []
    for values in units:
        if len(values) < 2:
            continue
        row = [0] * len(index)
        for value in values:
            row[index[value]] += 1
        rows.append(row)
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(index))


def nominal_alpha(counts: np.ndarray) -> float | None:
    """Krippendorff's alpha (nominal) of a units × values count table, by the ``krippendorff`` package; None if undefined."""
    import krippendorff

    if counts.shape[0] == 0 or np.count_nonzero(counts.sum(axis=0)) < 2:
        return None  # no pairable unit, or one value only: expected disagreement is zero
    value = float(krippendorff.alpha(value_counts=counts, level_of_measurement="nominal"))
    return None if np.isnan(value) else value


def reliability_from_units(units: Sequence[Sequence[str]], *, labellers: dict[str, int] | None = None,
                           resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED,
                           confidence: float = 0.95) -> Reliability:
    """Alpha over ``units`` (each the stances its labellers gave), with a percentile bootstrap over units."""
    counts = value_counts(units)
    alpha = nominal_alpha(counts)
    low = high = None
    if alpha is not None and resamples > 0:
        rng = np.random.default_rng(seed)
        draws = []
        n = counts.shape[0]
        for _ in range(resamples):
            value = nominal_alpha(counts[rng.integers(0, n, n)])
            if value is not None:
                draws.append(value)
        if len(draws) >= max(10, resamples // 2):
            tail = (1 - confidence) / 2 * 100
            low, high = (float(x) for x in np.percentile(draws, [tail, 100 - tail]))
    return Reliability(alpha, low, high, int(counts.shape[0]), int(counts.sum()), dict(labellers or {}),
                       resamples, seed, confidence)


def label_reliability(source: Store | sqlite3.Connection, *, proposal_id: str | None = None,
                      resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED) -> Reliability:
    """Krippendorff's alpha across every stance labeller of the workspace (or of one proposal).

    Args:
        source: the store, or a (read-only) connection to the workspace database.
        proposal_id: only this proposal's links (default: every proposal's).
        resamples: bootstrap draws for the interval (0: none).
        seed: the bootstrap's seed.
    """
    where = "WHERE id NOT IN (SELECT label_id FROM stance_label_withdrawals)"
    params: list[str] = []
    if proposal_id:
        where += " AND proposal_id = ?"
        params.append(proposal_id)
    sql = f"""
        WITH ranked AS (
            SELECT proposal_id, justification_id, stance, source_kind,
                   source_name || CASE WHEN source_kind = 'model' THEN ' (' || coalesce(prompt_version, '') || ')'
                                       ELSE '' END AS labeller,
                   ROW_NUMBER() OVER (PARTITION BY proposal_id, justification_id, source_kind, source_name,
                                                   CASE WHEN source_kind = 'model' THEN prompt_version END
                                      ORDER BY created_at DESC, rowid DESC) AS pick
            FROM stance_labels {where})
        SELECT proposal_id, justification_id, stance, source_kind, labeller FROM ranked WHERE pick = 1
        ORDER BY proposal_id, justification_id
    """
    with sql_errors("reading stance labels"):
        rows = connection_of(source).execute(sql, params).fetchall()
    units: dict[tuple[str, str], list[str]] = {}
    who: dict[tuple[str, str], set[str]] = {}
    for pid, jid, stance, kind, labeller in rows:
        units.setdefault((pid, jid), []).append(stance)
        who.setdefault((pid, jid), set()).add(f"{kind}:{labeller}")
    counted: dict[str, set[str]] = {}
    for key, values in units.items():
        if len(values) >= 2:
            for name in who[key]:
                counted.setdefault(name.partition(":")[0], set()).add(name)
    labellers: dict[str, int] = {kind: len(counted[kind]) for kind in ("person", "model", "rule") if kind in counted}
    return reliability_from_units(list(units.values()), labellers=labellers, resamples=resamples, seed=seed)


__all__ = ["DEFAULT_RESAMPLES", "Reliability", "label_reliability", "nominal_alpha", "reliability_from_units",
           "value_counts"]
