"""Opinion groups found in the crowd's own input, as Pol.is finds them: PCA to two components, then k-means.

The input is a sparse participant × item matrix:

- **CA-1** (``source="ca1"``): one column per (conversation, pair of responses), six pairs per
  conversation (AB, AC, AD, BC, BD, CD). A participant's cell is +1 when their ranking for everyone
  (the ``world`` block; the ``personal`` one when that is all they gave) puts the pair's first
  response above the second, -1 when below, 0 for a tie.
- **Pol.is** (``source="polis"``): one column per statement, +1 agree, -1 disagree, 0 pass; statements
  moderated out (``moderated = -1``) are left out, as Pol.is leaves them out.

Then, as Pol.is does: participants with fewer than ``min_entries`` cells are left out (and counted);
each column is centred on the mean of the cells present, so a missing cell is 0 after centring
(the matrix stays sparse); the first two principal components are found by a truncated SVD of the
centred matrix (PCA without densifying it), and each participant's place is scaled by
``sqrt(items / their entries)`` so that people who voted on little are not all drawn to the centre;
k-means (scikit-learn, ``n_init`` starts, seeded) is run for k from ``k_min`` to ``k_max`` and the k
with the highest silhouette score (on a seeded sample of at most ``silhouette_sample`` participants)
is kept. Groups are named A, B, C… by size, largest first. Everything is seeded: the same input and
parameters give the same groups.

What sets a group apart (``Distinctive``): Pol.is's representativeness. For a group and an item,
the share of the group's entries on the item that agree (prefer the pair's first response) and of
everyone else's, each smoothed as (count + 1) / (entries + 2); the representativeness is the ratio
of the two (agreement), or the same for disagreement. An item counts when the group has at least
``MIN_SEEN`` entries on it and most of them go that way; the ``DISTINCTIVE`` items with the highest
ratio above 1 are kept per group.

The result is stored (``group_runs``, ``group_members``: migration 0016) with the parameters and
the input's digest, by the ``groups.compute`` operation, whose event vouches for the rows by digest:
``audit verify`` checks the stored assignments against the log, a rebuild copies them when they
match and sync carries them (``rows/<event id>.json``). Views and decisions read the stored groups
(``current_run``, ``groups_view``; per proposal ``reviewer.group_support``) and never recompute.
"""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from reviewer import audit
from reviewer.digests import writer_rows_digest
from reviewer.errors import KnownError
from reviewer.ids import new_id, utc_now
from reviewer.progress import NoProgress, Progress
from reviewer.rankings import LETTERS, ranking_or_none
from reviewer.store import Store, connection_of, sql_errors
from reviewer.vocab import GROUP_SOURCES, GroupSource

if TYPE_CHECKING:
    import numpy as np
    from scipy.sparse import csr_matrix

PAIRS: tuple[tuple[str, str], ...] = tuple((a, b) for i, a in enumerate(LETTERS) for b in LETTERS[i + 1:])
"""The six pairs of responses of a CA-1 conversation, one matrix column each."""
GROUP_LABELS = "ABCDEFGHIJ"
"""Groups are named by letter, largest first (as the Pol.is report names them)."""
DEFAULT_MIN_ENTRIES = {GroupSource.CA1: 12, GroupSource.POLIS: 7}
"""Fewest cells a participant needs to be grouped: Pol.is's 7 votes; for CA-1, two conversations' six pairs."""
MIN_SEEN = 3
"""Fewest entries a group needs on an item for it to say the item sets the group apart."""
DISTINCTIVE = 5
"""How many items that most set it apart are kept per group."""
_SOURCE_LABELS = {GroupSource.CA1: "CA-1 rankings", GroupSource.POLIS: "Pol.is votes"}


def source_label(source: str) -> str:
    """``CA-1 rankings`` or ``Pol.is votes``."""
    return _SOURCE_LABELS.get(GroupSource(source), source) if source in GROUP_SOURCES else source


def json_path(field_name: str) -> str:
    """The JSON path of one key of ``participants.demographics`` (quoted: names with dashes or dots)."""
    return '$."' + field_name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def group_label(index: int) -> str:
    """``A`` for group 0, ``B`` for group 1, ..."""
    return GROUP_LABELS[index] if 0 <= index < len(GROUP_LABELS) else str(index + 1)


@dataclass(frozen=True)
class GroupParams:
    """How groups are found (stored with every run; the same parameters and input give the same groups).

    Attributes:
        seed: the random seed of the SVD, k-means and the silhouette sample.
        k_min: the fewest groups tried.
        k_max: the most groups tried.
        min_entries: the fewest matrix cells a participant needs to be grouped (None: the source's default).
        n_init: k-means starts per k (the best is kept).
        silhouette_sample: at most this many participants score each k (a seeded sample).
    """

    seed: int = 0
    k_min: int = 2
    k_max: int = 5
    min_entries: int | None = None
    n_init: int = 10
    silhouette_sample: int = 5000

    def resolved(self, source: str) -> GroupParams:
        """These parameters with ``min_entries`` filled in for ``source``."""
        if self.min_entries is not None:
            return self
        return GroupParams(self.seed, self.k_min, self.k_max, DEFAULT_MIN_ENTRIES[GroupSource(source)], self.n_init,
                           self.silhouette_sample)

    def check(self) -> None:
        """Refuse parameters that cannot find groups.

        Raises:
            KnownError: a k range outside 2..10, or fewer than 1 entry or 2 silhouette samples.
        """
        if not 2 <= self.k_min <= self.k_max <= len(GROUP_LABELS):
            raise KnownError(f"The number of groups must range within 2..{len(GROUP_LABELS)} (k {self.k_min}"
                             f" to {self.k_max} was asked).", hint="Pol.is tries 2 to 5.")
        if self.min_entries is not None and self.min_entries < 1:
            raise KnownError("The fewest entries per participant must be at least 1.")
        if self.n_init < 1 or self.silhouette_sample < 2:
            raise KnownError("k-means needs at least one start, and the silhouette at least two participants.")

    def to_json(self) -> dict[str, Any]:
        """The parameters as plain JSON data (as the run and its event keep them)."""
        return asdict(self)


@dataclass
class CrowdMatrix:
    """The sparse participant × item matrix groups are found in.

    Attributes:
        source: ``ca1`` or ``polis``.
        participants: participant ids, sorted (row order).
        items: item keys, sorted (column order): a statement id, or ``<conversation id>/<pair>``.
        rows: row index of each entry.
        cols: column index of each entry.
        values: each entry's value: +1, -1 or 0.
        digest: SHA-256 of the whole input (ids, and every entry in a fixed order).
    """

    source: str
    participants: list[str]
    items: list[str]
    rows: np.ndarray
    cols: np.ndarray
    values: np.ndarray
    digest: str

    @property
    def entries(self) -> int:
        """How many cells are filled (a tie or a pass counts: it was seen)."""
        return int(self.values.shape[0])

    def csr(self) -> csr_matrix:
        """The matrix as SciPy CSR (explicit zeros kept, duplicate cells summed: there are none)."""
        from scipy.sparse import coo_matrix

        return coo_matrix((self.values.astype("float64"), (self.rows, self.cols)),
                          shape=(len(self.participants), len(self.items))).tocsr()


def _digest(source: str, participants: Sequence[str], items: Sequence[str], rows: np.ndarray, cols: np.ndarray,
            values: np.ndarray) -> str:
    hasher = hashlib.sha256(f"spec-review groups input v1 {source}\n".encode())
    hasher.update("\n".join(participants).encode("utf-8"))
    hasher.update(b"\0")
    hasher.update("\n".join(items).encode("utf-8"))
    hasher.update(b"\0")
    for array, kind in ((rows, "<i4"), (cols, "<i4"), (values, "<i1")):
        hasher.update(array.astype(kind).tobytes())
    return hasher.hexdigest()


def _index(values: Iterable[str]) -> tuple[list[str], dict[str, int]]:
    ordered = sorted(set(values))
    return ordered, {v: i for i, v in enumerate(ordered)}


def _pair_signs(text: str) -> tuple[int, ...] | None:
    ranking = ranking_or_none(text)
    if ranking is None:
        return None
    where = ranking.positions()
    return tuple((where[b] > where[a]) - (where[b] < where[a]) for a, b in PAIRS)


def crowd_matrix(source: Store | sqlite3.Connection, crowd: str) -> CrowdMatrix:
    """Read the participant × item matrix of ``crowd`` (``ca1`` or ``polis``) from the workspace.

    Participants and items are numbered by their sorted ids and the entries sorted by (row, column),
    so the entries (and the digest) come out the same whatever the order rows were stored in.

    Raises:
        KnownError: an unknown source.
    """
    import numpy as np

    if crowd not in GROUP_SOURCES:
        raise KnownError(f"{crowd!r} is not a crowd source of opinion groups.",
                         hint=f"Use one of: {', '.join(GROUP_SOURCES)}.")
    conn = connection_of(source)
    # Read in storage order (an index's order would fetch a million rows one random page at a
    # time); the entries are put in a fixed order below, so the digest does not depend on it.
    with sql_errors("reading the crowd's rankings and votes"):
        if crowd == GroupSource.POLIS:
            raw = conn.execute(
                "SELECT participant_id, statement_id, vote FROM votes WHERE statement_id NOT IN"
                " (SELECT justification_id FROM polis_statements WHERE moderated = -1)").fetchall()
        else:
            raw = conn.execute(
                "SELECT participant_id, conversation_id, coalesce(world_ranking, personal_ranking)"
                " FROM assessments").fetchall()
    empty = np.zeros(0, "int32")
    if crowd != GroupSource.POLIS and raw:
        table = {text: _pair_signs(text) for text in {r[2] for r in raw}}
        raw = [r for r in raw if table[r[2]] is not None]
    if not raw:
        return CrowdMatrix(crowd, [], [], empty, empty, empty.astype("int8"), _digest(crowd, [], [], empty, empty,
                                                                                      empty))
    people, second, third = zip(*raw)
    participants, p_index = _index(people)
    rows = np.fromiter((p_index[p] for p in people), "int32", len(people))
    if crowd == GroupSource.POLIS:
        items, i_index = _index(second)
        cols = np.fromiter((i_index[s] for s in second), "int32", len(second))
        values = np.asarray(third, dtype="int8")
        order = np.lexsort((cols, rows))
        rows, cols, values = rows[order], cols[order], values[order]
    else:
        conversations, c_index = _index(second)
        known = sorted(t for t in table if table[t] is not None)
        which = {t: i for i, t in enumerate(known)}
        signs = np.array([table[t] for t in known], dtype="int8")[
            np.fromiter((which[t] for t in third), "int32", len(third))]
        base = np.fromiter((c_index[c] for c in second), "int32", len(second))
        # Put the entries in (row, column) order before each becomes one per pair: sorting a
        # million keys instead of six million (a conversation's pairs are in column order already).
        order = np.argsort(rows.astype("int64") * len(conversations) + base, kind="stable")
        rows, base, signs = rows[order], base[order], signs[order]
        rows = np.repeat(rows, len(PAIRS))
        cols = (base[:, None] * len(PAIRS) + np.arange(len(PAIRS), dtype="int32")[None, :]).ravel()
        values = signs.ravel()
        items = [f"{c}/{a}{b}" for c in conversations for a, b in PAIRS]
    return CrowdMatrix(crowd, participants, items, rows, cols, values, _digest(crowd, participants, items, rows,
                                                                               cols, values))


# ---- finding the groups ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Distinctive:
    """An item that sets a group apart (Pol.is's representativeness).

    Attributes:
        item: the item's key (a statement id, or ``<conversation id>/<pair>``).
        direction: ``agree`` (for CA-1: prefers the pair's first response) or ``disagree``.
        share_in: the share of the group's entries on the item that go this way.
        share_out: the same share among everyone else grouped.
        seen_in: the group's entries on the item.
        repness: the ratio of the two smoothed shares ((count + 1) / (entries + 2)).
    """

    item: str
    direction: str
    share_in: float
    share_out: float | None
    seen_in: int
    repness: float


@dataclass(frozen=True)
class FoundGroups:
    """What clustering found, before it is stored.

    Attributes:
        participants: the grouped participants' ids (sorted).
        labels: each one's group (0 = A, the largest).
        coords: each one's place on the two components (n × 2).
        left_out: participants with too few entries.
        k: the number of groups chosen.
        silhouette: its silhouette score.
        silhouettes: every k tried and its score.
        sizes: participants per group.
        centres: each group's centre on the two components.
        distinctive: per group, the items that most set it apart.
        explained: the share of the variance each component explains.
    """

    participants: list[str]
    labels: np.ndarray
    coords: np.ndarray
    left_out: int
    k: int
    silhouette: float
    silhouettes: dict[int, float]
    sizes: list[int]
    centres: list[tuple[float, float]]
    distinctive: list[list[Distinctive]]
    explained: list[float]


def find_groups(matrix: CrowdMatrix, params: GroupParams, progress: Progress | None = None) -> FoundGroups:
    """Find opinion groups in ``matrix`` (see the module's docstring for the method).

    Raises:
        KnownError: too few participants with enough entries, or no spread among them to group.
        Cancelled: the progress object asked to stop.
    """
    from threadpoolctl import threadpool_limits  # installed with scikit-learn, which uses it itself

    # One BLAS/OpenMP thread: k-means and the silhouette on two columns do too little per step for
    # threads to pay, and on a busy machine they are three times slower with them.
    with threadpool_limits(limits=1):
        return _find_groups(matrix, params, progress)


def _find_groups(matrix: CrowdMatrix, params: GroupParams, progress: Progress | None) -> FoundGroups:
    import numpy as np
    from sklearn.cluster import KMeans
    from sklearn.decomposition import TruncatedSVD
    from sklearn.metrics import silhouette_score

    params = params.resolved(matrix.source)
    params.check()
    progress = progress or NoProgress()
    k_values = list(range(params.k_min, params.k_max + 1))
    progress.start(2 + len(k_values), "Finding opinion groups")
    assert params.min_entries is not None
    counts = np.bincount(matrix.rows, minlength=len(matrix.participants))
    keep = counts >= params.min_entries
    n = int(keep.sum())
    if n < params.k_min + 1:
        raise KnownError(
            f"Too few participants to find groups in the {source_label(matrix.source)}: {n} of"
            f" {len(matrix.participants)} have at least {params.min_entries} entries.",
            hint="Import more crowd data, or lower the fewest entries per participant (--min-entries).")
    full = matrix.csr()
    x = full[keep]
    x.sort_indices()
    seen = np.bincount(x.indices, minlength=x.shape[1]).astype("float64")
    sums = np.asarray(x.sum(axis=0)).ravel()
    means = np.divide(sums, seen, out=np.zeros_like(sums), where=seen > 0)
    centred = x.copy()
    centred.data = centred.data - means[centred.indices]  # a missing cell stays 0: centred on its column
    progress.tick()
    svd = TruncatedSVD(n_components=2, algorithm="randomized", n_iter=7, random_state=params.seed)
    coords = svd.fit_transform(centred)
    items_seen = max(int((seen > 0).sum()), 1)
    coords = coords * np.sqrt(items_seen / counts[keep])[:, None]
    progress.tick()
    if len(np.unique(np.round(coords, 9), axis=0)) < 2:
        raise KnownError(f"The {n} participants' entries do not differ: there are no groups to find.")
    silhouettes: dict[int, float] = {}
    labelled: dict[int, np.ndarray] = {}
    sample = min(params.silhouette_sample, n)
    for k in k_values:
        if k >= n:
            break
        model = KMeans(n_clusters=k, n_init=params.n_init, random_state=params.seed).fit(coords)
        labels = model.labels_
        if len(np.unique(labels)) < 2:
            continue
        silhouettes[k] = float(silhouette_score(coords, labels, sample_size=sample if sample < n else None,
                                                random_state=params.seed))
        labelled[k] = labels
        progress.tick()
    if not silhouettes:
        raise KnownError(f"k-means found no two groups among the {n} participants.")
    best = max(silhouettes, key=lambda k: (silhouettes[k], -k))
    raw = labelled[best]
    # Name the groups by size, largest first (then by their centre, so the order is fixed).
    found = []
    for g in range(best):
        members = raw == g
        centre = coords[members].mean(axis=0)
        found.append((-int(members.sum()), float(centre[0]), float(centre[1]), g))
    order = {g: rank for rank, (*_key, g) in enumerate(sorted(found))}
    labels = np.array([order[g] for g in raw], dtype="int64")
    sizes = [int((labels == g).sum()) for g in range(best)]
    centres = [(float(coords[labels == g, 0].mean()), float(coords[labels == g, 1].mean())) for g in range(best)]
    participants = [p for p, k in zip(matrix.participants, keep) if k]
    progress.finish()
    return FoundGroups(
        participants=participants, labels=labels, coords=coords, left_out=len(matrix.participants) - n, k=best,
        silhouette=silhouettes[best], silhouettes=silhouettes, sizes=sizes, centres=centres,
        distinctive=distinctive_items(x, labels, best, matrix.items),
        explained=[float(v) for v in svd.explained_variance_ratio_],
    )


def distinctive_items(x: csr_matrix, labels: np.ndarray, k: int, items: Sequence[str],
                      top: int = DISTINCTIVE) -> list[list[Distinctive]]:
    """Per group, the items that most set it apart (representativeness; see the module's docstring)."""
    import numpy as np
    from scipy.sparse import csr_matrix

    n = x.shape[0]
    member = csr_matrix((np.ones(n), (labels, np.arange(n))), shape=(k, n))
    present = x.copy()
    present.data = np.ones_like(present.data)
    agree = x.copy()
    agree.data = (agree.data > 0).astype("float64")
    disagree = x.copy()
    disagree.data = (disagree.data < 0).astype("float64")
    seen_in = np.asarray((member @ present).todense())
    agree_in = np.asarray((member @ agree).todense())
    disagree_in = np.asarray((member @ disagree).todense())
    seen_out = seen_in.sum(axis=0)[None, :] - seen_in
    agree_out = agree_in.sum(axis=0)[None, :] - agree_in
    disagree_out = disagree_in.sum(axis=0)[None, :] - disagree_in
    out: list[list[Distinctive]] = []
    for g in range(k):
        found: list[Distinctive] = []
        for direction, count_in, count_out in (("agree", agree_in[g], agree_out[g]),
                                               ("disagree", disagree_in[g], disagree_out[g])):
            smoothed_in = (count_in + 1) / (seen_in[g] + 2)
            smoothed_out = (count_out + 1) / (seen_out[g] + 2)
            repness = smoothed_in / smoothed_out
            share_in = np.divide(count_in, seen_in[g], out=np.zeros_like(count_in), where=seen_in[g] > 0)
            wanted = (seen_in[g] >= MIN_SEEN) & (share_in > 0.5) & (repness > 1)
            for i in np.flatnonzero(wanted):
                found.append(Distinctive(
                    item=items[int(i)], direction=direction, share_in=round(float(share_in[i]), 4),
                    share_out=round(float(count_out[i] / seen_out[g][i]), 4) if seen_out[g][i] else None,
                    seen_in=int(seen_in[g][i]), repness=round(float(repness[i]), 4)))
        found.sort(key=lambda d: (-d.repness, -d.seen_in, d.item, d.direction))
        out.append(found[:top])
    return out


def adjusted_rand(ours: Mapping[str, int], theirs: Mapping[str, Any]) -> tuple[float | None, int]:
    """The adjusted Rand index between two groupings of the same participants, over those both group.

    Returns:
        The index (None when fewer than two participants are in both), and how many were compared.
    """
    from sklearn.metrics import adjusted_rand_score

    common = sorted(p for p in ours if theirs.get(p) is not None)
    if len(common) < 2:
        return None, len(common)
    return float(adjusted_rand_score([str(theirs[p]) for p in common], [ours[p] for p in common])), len(common)


def polis_groups(source: Store | sqlite3.Connection, participants: Sequence[str]) -> dict[str, Any]:
    """The Pol.is export's own opinion group (``group-id``, kept as ``demographics.opinion_group``) per participant."""
    conn = connection_of(source)
    found: dict[str, Any] = {}
    with sql_errors("reading the Pol.is groups"):
        for start in range(0, len(participants), 900):
            chunk = list(participants[start:start + 900])
            found.update(conn.execute(
                "SELECT id, json_extract(demographics, '$.opinion_group') FROM participants"
                f" WHERE source = 'polis' AND json_valid(demographics) AND id IN ({','.join('?' * len(chunk))})",
                chunk).fetchall())
    return {p: g for p, g in found.items() if g is not None}


# ---- the stored runs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupRun:
    """One stored computation of opinion groups.

    Attributes:
        id: the run's id (its ``groups.compute`` event's object).
        source: ``ca1`` or ``polis``.
        params: the parameters it ran with (``GroupParams.to_json``, ``min_entries`` filled in).
        input_digest: SHA-256 of the input matrix (``CrowdMatrix.digest``).
        crowd_event: the last crowd import event of that source when it ran (None: none yet).
        k: how many groups.
        silhouette: the chosen k's silhouette score.
        participants: how many participants were grouped.
        left_out: how many had too few entries.
        items: the matrix's columns.
        entries: the matrix's filled cells.
        ari: the adjusted Rand index against the Pol.is export's own groups (None for CA-1).
        detail: each k's silhouette, explained variance, group sizes and centres, and per group the
            items that most set it apart (``Distinctive`` as JSON).
        created_at: when it ran.
        created_by: who ran it.
    """

    id: str
    source: str
    params: dict[str, Any]
    input_digest: str
    crowd_event: str | None
    k: int
    silhouette: float | None
    participants: int
    left_out: int
    items: int
    entries: int
    ari: float | None
    detail: dict[str, Any]
    created_at: str
    created_by: str

    def to_json(self) -> dict[str, Any]:
        """The run as plain JSON data."""
        return asdict(self)


_RUN_COLUMNS = ("id, source, params, input_digest, crowd_event, k, silhouette, participants, left_out, items,"
                " entries, ari, detail, created_at, created_by")


def _run(row: Sequence[Any]) -> GroupRun:
    return GroupRun(row[0], row[1], json.loads(row[2] or "{}"), row[3], row[4], row[5], row[6], row[7], row[8],
                    row[9], row[10], row[11], json.loads(row[12] or "{}"), row[13], row[14])


def current_run(source: Store | sqlite3.Connection, crowd: str | None = None) -> GroupRun | None:
    """The latest run of opinion groups (of ``crowd``, when given), or None when none was computed."""
    conn = connection_of(source)
    where, params = ("WHERE source = ?", [crowd]) if crowd else ("", [])
    with sql_errors("reading the opinion groups"):
        row = conn.execute(f"SELECT {_RUN_COLUMNS} FROM group_runs {where} ORDER BY created_at DESC, rowid DESC"
                           " LIMIT 1", params).fetchone()
    return _run(row) if row else None


def current_runs(source: Store | sqlite3.Connection) -> list[GroupRun]:
    """The latest run of each crowd source that has one (CA-1 first)."""
    return [run for crowd in GROUP_SOURCES if (run := current_run(source, crowd)) is not None]


def get_run(source: Store | sqlite3.Connection, run_id: str) -> GroupRun:
    """One stored run.

    Raises:
        KnownError: no run has that id.
    """
    conn = connection_of(source)
    with sql_errors("reading the opinion groups"):
        row = conn.execute(f"SELECT {_RUN_COLUMNS} FROM group_runs WHERE id = ?", [run_id]).fetchone()
    if row is None:
        raise KnownError(f"No opinion-group run has the id {run_id}.")
    return _run(row)


def assignments(source: Store | sqlite3.Connection, run_id: str) -> dict[str, int]:
    """Each grouped participant's group in run ``run_id`` (0 = A)."""
    conn = connection_of(source)
    with sql_errors("reading the opinion groups"):
        return dict(conn.execute("SELECT participant_id, group_index FROM group_members WHERE run_id = ?", [run_id]))


def crowd_event(source: Store | sqlite3.Connection, crowd: str) -> str | None:
    """The id of the last import event of ``crowd``'s data (what a run read up to), or None."""
    conn = connection_of(source)
    with sql_errors("reading the audit log"):
        row = conn.execute("SELECT id FROM audit_events WHERE action = ? ORDER BY seq DESC LIMIT 1",
                           [f"import.{crowd}"]).fetchone()
    return row[0] if row else None


def default_source(source: Store | sqlite3.Connection) -> str:
    """The crowd source groups are found in when none is named: CA-1 when the workspace has rankings, else Pol.is."""
    conn = connection_of(source)
    with sql_errors("reading the crowd"):
        has_rankings = conn.execute("SELECT 1 FROM assessments LIMIT 1").fetchone() is not None
        has_votes = conn.execute("SELECT 1 FROM votes LIMIT 1").fetchone() is not None
    return GroupSource.POLIS if has_votes and not has_rankings else GroupSource.CA1


@dataclass(frozen=True)
class Freshness:
    """Whether the stored groups of a source still stand for the crowd and the parameters asked.

    Attributes:
        run: the latest run of the source (None: never computed).
        stale: True when groups must be computed (none yet, other parameters, or the crowd changed).
        reason: why, in a few words ('' when fresh).
    """

    run: GroupRun | None
    stale: bool
    reason: str


def freshness(source: Store | sqlite3.Connection, crowd: str, params: GroupParams | None = None) -> Freshness:
    """Whether ``crowd``'s stored groups are current: same parameters, and no crowd import since they were found."""
    params = (params or GroupParams()).resolved(crowd)
    run = current_run(source, crowd)
    if run is None:
        return Freshness(None, True, "no groups were computed yet")
    if run.params != params.to_json():
        return Freshness(run, True, "computed with other parameters")
    if run.crowd_event != crowd_event(source, crowd):
        return Freshness(run, True, "crowd data was imported since")
    return Freshness(run, False, "")


def compute_groups(store: Store, crowd: str, *, params: GroupParams | None = None, actor: str,
                   progress: Progress | None = None, force: bool = False) -> GroupRun:
    """Find and store ``crowd``'s opinion groups unless the stored ones are current (``freshness``).

    The matrix is read and the groups found outside any transaction; the run's rows and its
    ``groups.compute`` event are then written in one. When the crowd changed but the matrix did not
    (an import that added nothing), the stored run stands and nothing is written.

    Args:
        store: the workspace store.
        crowd: ``ca1`` or ``polis``.
        params: how to find them (defaults: ``GroupParams()``).
        actor: who computes them, for the event.
        progress: receives the steps; raising ``Cancelled`` stops before anything is written.
        force: compute again even when the stored groups are current.

    Returns:
        The run now current: the new one, or the stored one when it was still current.

    Raises:
        KnownError: an unknown source, bad parameters, or too few participants to group.
        Cancelled: the progress object asked to stop (nothing is written).
    """
    if crowd not in GROUP_SOURCES:
        raise KnownError(f"{crowd!r} is not a crowd source of opinion groups.",
                         hint=f"Use one of: {', '.join(GROUP_SOURCES)}.")
    params = (params or GroupParams()).resolved(crowd)
    params.check()
    state = freshness(store, crowd, params)
    if not state.stale and not force:
        assert state.run is not None
        return state.run
    marker = crowd_event(store, crowd)
    matrix = crowd_matrix(store, crowd)
    if state.run is not None and not force and state.run.params == params.to_json() and (
            state.run.input_digest == matrix.digest):
        return state.run
    found = find_groups(matrix, params, progress)
    ari = compared = None
    if crowd == GroupSource.POLIS:
        ours = dict(zip(found.participants, (int(g) for g in found.labels)))
        ari, compared = adjusted_rand(ours, polis_groups(store, found.participants))
    detail = {
        "silhouettes": {str(k): round(v, 6) for k, v in found.silhouettes.items()},
        "explained_variance": [round(v, 6) for v in found.explained],
        "sizes": found.sizes,
        "centres": [[round(x, 6), round(y, 6)] for x, y in found.centres],
        "distinctive": [[asdict(d) for d in group] for group in found.distinctive],
        "ari_compared": compared,
    }
    run_id = new_id()
    now = utc_now()
    order = sorted(range(len(found.participants)), key=lambda i: found.participants[i])
    with sql_errors("storing the opinion groups"), store.db.atomic():
        conn = store.db.conn
        conn.execute(
            f"INSERT INTO group_runs ({_RUN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, crowd, json.dumps(params.to_json(), sort_keys=True), matrix.digest, marker, found.k,
             round(found.silhouette, 6), len(found.participants), found.left_out, len(matrix.items), matrix.entries,
             None if ari is None else round(ari, 6), json.dumps(detail, sort_keys=True, ensure_ascii=False), now,
             actor])
        conn.executemany(
            "INSERT INTO group_members (run_id, participant_id, group_index, x, y) VALUES (?, ?, ?, ?, ?)",
            ((run_id, found.participants[i], int(found.labels[i]), round(float(found.coords[i, 0]), 6),
              round(float(found.coords[i, 1]), 6)) for i in order))
        digests = {table: writer_rows_digest(conn, table, run_id).to_json() for table in ("group_runs", "group_members")}
        audit.append_event(
            store.db, actor=actor, action="groups.compute", object_type="group_run", object_id=run_id,
            payload={"source": crowd, "params": params.to_json(), "input_digest": matrix.digest, "k": found.k,
                     "silhouette": round(found.silhouette, 6), "participants": len(found.participants),
                     "left_out": found.left_out, "ari": None if ari is None else round(ari, 6),
                     "sizes": found.sizes, "digests": digests})
    return get_run(store, run_id)


# ---- reading the groups for people ---------------------------------------------------------------------


@dataclass(frozen=True)
class MakeUp:
    """How one value of a demographic field is represented in a group.

    Attributes:
        value: the field's value (``(unknown)`` when missing).
        count: the group's participants with that value.
        share: their share of the group.
        overall: the value's share among everyone grouped.
    """

    value: str
    count: int
    share: float
    overall: float


@dataclass(frozen=True)
class ItemText:
    """What an item says, for people.

    Attributes:
        item: the item's key.
        text: the statement, or the conversation's prompt (crowd text: escape it before rendering).
        pair: for CA-1, the pair compared (``AB``); '' for a statement.
        conversation_id: for CA-1, the conversation; None for a statement.
    """

    item: str
    text: str
    pair: str
    conversation_id: str | None


@dataclass(frozen=True)
class OpinionGroup:
    """One group of a run, as the Groups view and the CLI show it.

    Attributes:
        index: 0 for A, 1 for B, ...
        label: ``A``, ``B``, ...
        size: participants in it.
        centre: its centre on the two components.
        make_up: per demographic field, its values in this group (most frequent first).
        distinctive: the items that most set it apart, with what each says.
        polis_groups: for a Pol.is run, how many of its members each of the export's own groups holds.
    """

    index: int
    label: str
    size: int
    centre: tuple[float, float]
    make_up: dict[str, list[MakeUp]]
    distinctive: list[tuple[Distinctive, ItemText]]
    polis_groups: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class GroupsView:
    """A run with its groups, for people.

    Attributes:
        run: the run.
        groups: its groups, A first.
        fields: the demographic fields their make-up is given for.
    """

    run: GroupRun
    groups: list[OpinionGroup]
    fields: list[str]


UNKNOWN_VALUE = "(unknown)"


def item_texts(source: Store | sqlite3.Connection, items: Sequence[str]) -> dict[str, ItemText]:
    """What each item says: a Pol.is statement's text, or a CA-1 conversation's prompt and the pair compared."""
    conn = connection_of(source)
    found: dict[str, ItemText] = {}
    pairs = {item: item.rpartition("/") for item in items if "/" in item}
    statements = [item for item in items if "/" not in item]
    with sql_errors("reading the groups' items"):
        if statements:
            marks = ",".join("?" * len(statements))
            for jid, text in conn.execute(f"SELECT id, text FROM justifications WHERE id IN ({marks})", statements):
                found[jid] = ItemText(jid, text, "", None)
        conversations = sorted({conversation for conversation, _sep, _pair in pairs.values()})
        prompts: dict[str, str] = {}
        if conversations:
            marks = ",".join("?" * len(conversations))
            for cid, prompt in conn.execute(f"SELECT id, prompt FROM conversations WHERE id IN ({marks})",
                                            conversations):
                prompts[cid] = _prompt_text(prompt)
        for item, (conversation, _sep, pair) in pairs.items():
            found[item] = ItemText(item, prompts.get(conversation, ""), pair, conversation)
    return found


def _prompt_text(prompt: str) -> str:
    """The last user message of a stored prompt (JSON messages), else the stored text itself."""
    try:
        value = json.loads(prompt)
    except (TypeError, ValueError):
        return str(prompt)
    messages = value.get("messages") if isinstance(value, dict) else value
    if isinstance(messages, list):
        users = [m.get("content") for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        if users and isinstance(users[-1], str):
            return users[-1]
    return str(prompt)


def describe_item(d: Distinctive, text: ItemText) -> str:
    """One line for people: ``prefers B over A on “prompt”`` or ``agrees with “statement”``."""
    if text.pair:
        first, second = text.pair[0], text.pair[1]
        winner, loser = (first, second) if d.direction == "agree" else (second, first)
        return f"prefers {winner} over {loser} on \u201c{text.text}\u201d"
    return f"{'agrees' if d.direction == 'agree' else 'disagrees'} with \u201c{text.text}\u201d"


def groups_view(source: Store | sqlite3.Connection, run: GroupRun, *, fields: Sequence[str] | None = None,
                top_values: int = 6) -> GroupsView:
    """The run's groups with their demographic make-up and what sets each apart.

    Args:
        source: the store, or a (read-only) connection to the workspace database.
        run: the run (``current_run``).
        fields: the demographic fields to give the make-up of (default: every field the splits offer,
            less a Pol.is run's ``opinion_group``, which ``polis_groups`` gives).
        top_values: the most values listed per field (the most frequent).
    """
    from reviewer.evidence import demographic_fields

    conn = connection_of(source)
    if fields is None:
        fields = [f.name for f in demographic_fields(conn) if f.name != "opinion_group"]
    counts: dict[str, dict[int, dict[str, int]]] = {name: {} for name in fields}
    totals: dict[str, dict[str, int]] = {name: {} for name in fields}
    polis: dict[int, dict[str, int]] = {}
    with sql_errors("reading the opinion groups"):
        for name in fields:
            path = json_path(name)
            for group, value, n in conn.execute(
                "SELECT m.group_index, json_extract(p.demographics, ?), count(*) FROM group_members m"
                " JOIN participants p ON p.id = m.participant_id WHERE m.run_id = ? AND json_valid(p.demographics)"
                " GROUP BY 1, 2", [path, run.id]):
                text = UNKNOWN_VALUE if value in (None, "") else value if isinstance(value, str) else json.dumps(value)
                slot = counts[name].setdefault(group, {})
                slot[text] = slot.get(text, 0) + n
                totals[name][text] = totals[name].get(text, 0) + n
        if run.source == GroupSource.POLIS:
            for group, theirs, n in conn.execute(
                "SELECT m.group_index, json_extract(p.demographics, '$.opinion_group'), count(*) FROM group_members m"
                " JOIN participants p ON p.id = m.participant_id WHERE m.run_id = ? AND json_valid(p.demographics)"
                " GROUP BY 1, 2", [run.id]):
                polis.setdefault(group, {})["(none)" if theirs is None else str(theirs)] = n
    sizes = run.detail.get("sizes", [])
    everyone = sum(sizes) or 1
    wanted = [Distinctive(**d) for group in run.detail.get("distinctive", []) for d in group]
    texts = item_texts(conn, sorted({d.item for d in wanted}))
    groups = []
    for index in range(run.k):
        size = sizes[index] if index < len(sizes) else 0
        make_up = {}
        for name in fields:
            values = counts[name].get(index, {})
            ranked = sorted(values.items(), key=lambda kv: (kv[0] == UNKNOWN_VALUE, -kv[1], kv[0]))[:top_values]
            make_up[name] = [MakeUp(v, n, n / size if size else 0.0, totals[name].get(v, 0) / everyone)
                             for v, n in ranked]
        listed = run.detail.get("distinctive", [])
        distinctive = [Distinctive(**d) for d in (listed[index] if index < len(listed) else [])]
        centre = run.detail.get("centres", [])
        groups.append(OpinionGroup(
            index=index, label=group_label(index), size=size,
            centre=tuple(centre[index]) if index < len(centre) else (0.0, 0.0),  # type: ignore[arg-type]
            make_up=make_up,
            distinctive=[(d, texts.get(d.item, ItemText(d.item, "", "", None))) for d in distinctive],
            polis_groups=polis.get(index, {})))
    return GroupsView(run, groups, list(fields))


def group_points(source: Store | sqlite3.Connection, run_id: str, *, limit: int = 4000) -> list[tuple[float, float, int]]:
    """Up to ``limit`` participants' places on the two components and their groups (an even sample, for a plot)."""
    conn = connection_of(source)
    with sql_errors("reading the opinion groups"):
        total = conn.execute("SELECT count(*) FROM group_members WHERE run_id = ?", [run_id]).fetchone()[0]
        step = max(1, math.ceil(total / limit))
        return [(x, y, g) for x, y, g in conn.execute(
            "SELECT x, y, group_index FROM (SELECT x, y, group_index, row_number() OVER (ORDER BY rowid) AS n"
            " FROM group_members WHERE run_id = ?) WHERE (n - 1) % ? = 0", [run_id, step])]


def view_json(view: GroupsView) -> dict[str, Any]:
    """A run and its groups as plain JSON data (``spec-review groups --json``)."""
    return {
        "run": view.run.to_json(),
        "fields": view.fields,
        "groups": [
            {"label": g.label, "index": g.index, "size": g.size, "centre": list(g.centre),
             "make_up": {name: [asdict(m) for m in values] for name, values in g.make_up.items()},
             "distinctive": [{**asdict(d), "text": t.text, "pair": t.pair, "conversation_id": t.conversation_id,
                              "says": describe_item(d, t)} for d, t in g.distinctive],
             "polis_groups": g.polis_groups}
            for g in view.groups
        ],
    }


__all__ = [
    "DEFAULT_MIN_ENTRIES", "PAIRS", "CrowdMatrix", "Distinctive", "FoundGroups", "Freshness", "GroupParams", "GroupRun",
    "GroupsView", "ItemText", "MakeUp", "OpinionGroup", "adjusted_rand", "assignments", "compute_groups",
    "crowd_event", "crowd_matrix", "current_run", "current_runs", "default_source", "describe_item",
    "distinctive_items", "find_groups", "freshness", "get_run", "group_label", "group_points", "groups_view",
    "item_texts", "polis_groups", "source_label", "view_json",
]
