"""Crowd–ranker agreement per spec section with bootstrap intervals, and machine-against-person label trust.

Agreement between a participant's ranking and the ranker's ranking of the same conversation is
counted pair by pair: every pair of responses that both order strictly counts once (ties in either
are dropped), and the agreement is agreeing pairs over counted pairs, pooled over the assessments.
A section's figure uses the conversations graded at or above the chosen relevance for it (default
5); the overall figure uses every conversation the ranker ranked. The 95% interval is a percentile
bootstrap that resamples conversations (all of a conversation's assessments move together).
A section with few conversations gets an interval that says almost nothing (one conversation
resampled is always itself: "94–94%"), so lists and charts leave out sections with fewer than
``MIN_CONVERSATIONS`` unless asked for them, and say how many they left out.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from itertools import combinations
from typing import TYPE_CHECKING, Any

import numpy as np

from reviewer.errors import KnownError
from reviewer.rankings import LETTERS, normalise, parse_ranking
from reviewer.store import Store, sql_errors
from reviewer.vocab import STANCES

if TYPE_CHECKING:
    from reviewer.workspace import Workspace

VIEWS = ("world", "personal")
MIN_CONVERSATIONS = 5
"""Sections with fewer conversations than this are left out of lists and charts unless asked for."""
UNKNOWN_GROUP = "(unknown)"
_PAIRS = list(combinations(range(len(LETTERS)), 2))
# Cap on the resample-count matrix held at once (elements), to bound memory on big sections.
_CHUNK_ELEMENTS = 4_000_000

# ---- relevance -------------------------------------------------------------------------------


def effective_grades(store: Store, *, min_grade: int | None = None) -> dict[tuple[str, str], int]:
    """Return one relevance grade per (conversation, section): person over model over rule, then latest.

    Args:
        store: the workspace database.
        min_grade: keep only grades at or above this (applied after choosing the grade).
    """
    sql = """
        SELECT conversation_id, section_id, grade FROM (
            SELECT conversation_id, section_id, grade, ROW_NUMBER() OVER (
                PARTITION BY conversation_id, section_id
                ORDER BY CASE grader_kind WHEN 'person' THEN 0 WHEN 'model' THEN 1 ELSE 2 END,
                         created_at DESC, rowid DESC) AS pick
            FROM relevance_grades)
        WHERE pick = 1
    """
    params: list[Any] = []
    if min_grade is not None:
        sql += " AND grade >= ?"
        params.append(int(min_grade))
    with sql_errors("reading relevance grades"):
        return {(c, s): int(g) for c, s, g in store.db.execute(sql, params).fetchall()}


# ---- rankings as codes -----------------------------------------------------------------------


class _Codes:
    """Maps ranking strings to small integer codes, with per-code pair signs (memoised parsing)."""

    def __init__(self) -> None:
        self.by_text: dict[str | None, int] = {None: -1, "": -1}
        self.by_norm: dict[str, int] = {}
        self.signs: list[list[int]] = []

    def code(self, text: str | None) -> int:
        found = self.by_text.get(text)
        if found is not None:
            return found
        try:
            norm = normalise(str(text))
        except KnownError:
            self.by_text[text] = -1
            return -1
        value = self.by_norm.get(norm)
        if value is None:
            positions = parse_ranking(norm).positions()
            value = len(self.signs)
            self.by_norm[norm] = value
            diffs = [positions[LETTERS[j]] - positions[LETTERS[i]] for i, j in _PAIRS]
            self.signs.append([(d > 0) - (d < 0) for d in diffs])
        self.by_text[text] = value
        return value

    def tables(self) -> tuple[np.ndarray, np.ndarray]:
        """Return (agreeing, counted) pair counts for every pair of codes."""
        s = np.array(self.signs, dtype=np.int64).reshape(-1, len(_PAIRS))
        both = np.abs(s) @ np.abs(s).T  # pairs both order strictly
        same = s @ s.T  # +1 for each agreeing pair, -1 for each disagreeing one
        return ((both + same) // 2).astype(np.int64), both.astype(np.int64)


# ---- data ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgreementData:
    """The assessments of one ranker run, reduced to per-assessment pair counts.

    Attributes:
        run_id: the ranker run.
        model: the ranker's model.
        spec_revision: the spec revision the ranker applied.
        view: ``world`` or ``personal`` rankings of the participants.
        conversation_ids: the conversations with a ranker ranking and at least one usable assessment.
        conversation_index: for each assessment, its conversation's position in ``conversation_ids``.
        agreeing: for each assessment, pairs ordered the same way by participant and ranker.
        counted: for each assessment, pairs both order strictly.
        participant_ids: for each assessment, the participant (for the demographic split).
        skipped: assessments left out, by reason.
    """

    run_id: str
    model: str
    spec_revision: str
    view: str
    conversation_ids: list[str]
    conversation_index: np.ndarray
    agreeing: np.ndarray
    counted: np.ndarray
    participant_ids: list[str]
    skipped: dict[str, int] = field(default_factory=dict)


def latest_run(store: Store) -> tuple[str, str, str] | None:
    """Return (id, model, spec_revision) of the newest ranker run, or None."""
    with sql_errors("reading ranker runs"):
        row = store.db.execute(
            "SELECT id, model, spec_revision FROM ranker_runs ORDER BY created_at DESC, rowid DESC LIMIT 1"
        ).fetchone()
    return (row[0], row[1], row[2]) if row else None


def load_agreement_data(store: Store, *, run_id: str | None = None, view: str = "world") -> AgreementData:
    """Read a ranker run's rankings and the participants' rankings of the same conversations.

    Raises:
        KnownError: no ranker run (or not the one named), or an unknown view.
    """
    if view not in VIEWS:
        raise KnownError(f"Unknown ranking view {view!r}.", hint="Use world or personal.")
    with sql_errors("reading rankings"):
        if run_id is None:
            found = latest_run(store)
            if found is None:
                raise KnownError("This workspace has no ranker run yet.",
                                 hint="Run `spec-review judge rank WORKSPACE` or import rankings.")
        else:
            row = store.db.execute("SELECT id, model, spec_revision FROM ranker_runs WHERE id = ?", [run_id]).fetchone()
            if row is None:
                raise KnownError(f"No ranker run {run_id} in this workspace.")
            found = (row[0], row[1], row[2])
        rid, model, revision = found
        codes = _Codes()
        # Conversations are keyed by the ranking row's rowid: integers are cheaper than UUID strings.
        ranker: dict[int, tuple[str, int]] = {rowid: (cid, codes.code(text)) for rowid, cid, text in store.db.execute(
            "SELECT rowid, conversation_id, ranking FROM ranker_rankings WHERE run_id = ?", [rid])}
        column = "world_ranking" if view == "world" else "personal_ranking"
        rows = store.db.execute(
            f"SELECT r.rowid, a.participant_id, a.{column} FROM ranker_rankings r"
            " JOIN assessments a ON a.conversation_id = r.conversation_id WHERE r.run_id = ?", [rid]).fetchall()
    skipped = {"no_ranking": 0, "invalid_ranking": 0, "invalid_ranker_ranking": 0}
    index: dict[int, int] = {}
    conv_idx: list[int] = []
    crowd: list[int] = []
    machine: list[int] = []
    participants: list[str] = []
    code = codes.code
    for rowid, participant_id, text in rows:
        c = code(text)
        m = ranker[rowid][1]
        if c < 0 or m < 0:
            reason = "no_ranking" if not text else "invalid_ranking" if c < 0 else "invalid_ranker_ranking"
            skipped[reason] += 1
            continue
        position = index.get(rowid)
        if position is None:
            position = index[rowid] = len(index)
        conv_idx.append(position)
        crowd.append(c)
        machine.append(m)
        participants.append(participant_id)
    if codes.signs:
        agree_table, counted_table = codes.tables()
        crowd_arr = np.array(crowd, dtype=np.int64)
        machine_arr = np.array(machine, dtype=np.int64)
        agreeing = agree_table[crowd_arr, machine_arr]
        counted = counted_table[crowd_arr, machine_arr]
    else:
        agreeing = counted = np.zeros(0, dtype=np.int64)
    conversation_ids = [ranker[rowid][0] for rowid in index]
    return AgreementData(run_id=rid, model=model, spec_revision=revision, view=view,
                         conversation_ids=conversation_ids, conversation_index=np.array(conv_idx, dtype=np.int64),
                         agreeing=agreeing, counted=counted, participant_ids=participants, skipped=skipped)


def demographic_groups(store: Store, data: AgreementData, field_name: str) -> tuple[np.ndarray, list[str]]:
    """Return each assessment's group index for a demographic field, and the group names.

    Values are read from ``participants.demographics``; a missing value is ``(unknown)`` and a list
    value is written as JSON.
    """
    with sql_errors("reading demographics"):
        values = {pid: raw for pid, raw in store.db.execute("SELECT id, demographics FROM participants")}
    known: dict[str, str] = {}
    for pid, raw in values.items():
        try:
            demo = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            demo = {}
        value = demo.get(field_name) if isinstance(demo, dict) else None
        if value is None or value == "":
            continue
        known[pid] = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if not known:
        raise KnownError(f"No participant has the demographic field {field_name!r}.",
                         hint="Check the field name (e.g. country_of_residence, age, generative_ai_usage).")
    labels = [known.get(pid, UNKNOWN_GROUP) for pid in data.participant_ids]
    names = sorted(set(labels), key=lambda n: (n == UNKNOWN_GROUP, n))
    position = {n: i for i, n in enumerate(names)}
    return np.array([position[n] for n in labels], dtype=np.int64), names


# ---- analysis --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Share:
    """Pooled pairwise agreement with its bootstrap interval.

    Attributes:
        agreeing: agreeing pairs.
        counted: counted pairs.
        conversations: conversations contributing.
        assessments: assessments contributing.
        share: agreeing / counted (None when nothing counted).
        low: lower bound of the interval (None without one).
        high: upper bound of the interval.
    """

    agreeing: int
    counted: int
    conversations: int
    assessments: int
    share: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class SectionAgreement:
    """Agreement over one set of conversations (a section, or all of them).

    Attributes:
        section_id: the section (None for the overall figure).
        title: the section's title, when known.
        stats: the figure over everyone.
        groups: the figure per demographic group, when split.
    """

    section_id: str | None
    title: str | None
    stats: Share
    groups: dict[str, Share] = field(default_factory=dict)


@dataclass(frozen=True)
class AgreementResult:
    """Crowd–ranker agreement for one ranker run.

    Attributes:
        run_id: the ranker run.
        model: the ranker's model.
        spec_revision: the spec revision it applied.
        view: ``world`` or ``personal`` rankings.
        min_relevance: the relevance grade a conversation needs to count for a section.
        resamples: bootstrap resamples.
        seed: the random seed (None: not reproducible).
        confidence: the interval's coverage (0.95).
        by: the demographic field split on, if any.
        group_names: the groups, in order.
        overall: every conversation the ranker ranked.
        sections: one entry per section with relevant conversations, highest agreement first
            (those with at least ``min_conversations``).
        skipped: assessments left out, by reason.
        min_conversations: the conversations a section needs to be listed (1: every section).
        hidden_sections: sections left out for having fewer conversations than that.
    """

    run_id: str
    model: str
    spec_revision: str
    view: str
    min_relevance: int
    resamples: int
    seed: int | None
    confidence: float
    by: str | None
    group_names: tuple[str, ...]
    overall: SectionAgreement
    sections: tuple[SectionAgreement, ...]
    skipped: dict[str, int]
    min_conversations: int = 1
    hidden_sections: int = 0

    def to_json(self) -> dict[str, Any]:
        """Return the result as JSON data."""
        return asdict(self)

    def keeping(self, min_conversations: int) -> AgreementResult:
        """Return the result listing only the sections with at least ``min_conversations`` conversations.

        The sections left out are counted in ``hidden_sections`` (with those this result already
        left out). Keep the full result to list them again: they are not in the returned one.
        """
        kept = tuple(s for s in self.sections if s.stats.conversations >= min_conversations)
        return replace(self, sections=kept, min_conversations=max(min_conversations, self.min_conversations),
                       hidden_sections=self.hidden_sections + len(self.sections) - len(kept))

    def hidden_note(self) -> str:
        """Say which sections are left out ('' when none are), as lists and charts show it."""
        if not self.hidden_sections:
            return ""
        plural = "section" if self.hidden_sections == 1 else "sections"
        return (f"{self.hidden_sections} {plural} with fewer than {self.min_conversations} conversations "
                "not shown (their intervals say little).")


def _ratio(a: np.ndarray, n: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 0, a / np.where(n > 0, n, 1), np.nan)


def _bootstrap(columns: np.ndarray, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Sum ``columns`` (conversations × k, non-negative integers) over resamples of the conversations.

    Each resample draws as many conversations as there are, with replacement. Without a split
    (k = 2) the two columns are packed into one 64-bit integer, so one gather and one sum per
    resample do the work; with groups, a resample-count matrix times the columns does it. Both
    run in chunks that bound memory.
    """
    n, k = columns.shape
    out = np.empty((resamples, k), dtype=np.float64)
    step = max(1, min(resamples, _CHUNK_ELEMENTS // max(n, 1)))
    index_type = np.uint16 if n <= np.iinfo(np.uint16).max else np.uint32
    top = int(columns.max(initial=0)) * n  # the largest possible sum of one column in one resample
    if k == 2 and top < 2**31:
        packed = (columns[:, 0].astype(np.int64) << 32) | columns[:, 1].astype(np.int64)
        for start in range(0, resamples, step):
            r = min(step, resamples - start)
            sums = packed[rng.integers(0, n, size=(r, n), dtype=index_type)].sum(axis=1)
            out[start:start + r, 0] = sums >> 32
            out[start:start + r, 1] = sums & 0xFFFFFFFF
        return out
    # float32 is exact for integers below 2**24 and twice as fast as float64 in the product.
    weights = columns.astype(np.float32 if top < 2**24 else np.float64)
    for start in range(0, resamples, step):
        r = min(step, resamples - start)
        draws = rng.integers(0, n, size=(r, n), dtype=index_type).astype(np.int64)
        draws += (np.arange(r, dtype=np.int64) * n)[:, None]
        counts = np.bincount(draws.ravel(), minlength=r * n).reshape(r, n).astype(weights.dtype)
        out[start:start + r] = counts @ weights
    return out


def _interval(boot: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    tail = (1 - confidence) / 2 * 100
    ratios = _ratio(boot[:, 0::2], boot[:, 1::2])
    valid = ~np.isnan(ratios)
    low = np.full(ratios.shape[1], np.nan)
    high = np.full(ratios.shape[1], np.nan)
    for j in range(ratios.shape[1]):  # k is small (1 + groups); nanpercentile per column is clear
        column = ratios[valid[:, j], j]
        if column.size:
            low[j], high[j] = np.percentile(column, [tail, 100 - tail])
    return low, high


def _opt(x: float) -> float | None:
    return None if np.isnan(x) else float(x)


def analyse(data: AgreementData, memberships: dict[str | None, np.ndarray], *, groups: np.ndarray | None = None,
            group_names: list[str] | None = None, resamples: int = 1000, seed: int | None = None,
            confidence: float = 0.95) -> dict[str | None, tuple[Share, dict[str, Share]]]:
    """Compute pooled agreement and bootstrap intervals for each set of conversations.

    Args:
        data: the per-assessment pair counts.
        memberships: key (section id, or None for overall) to the conversation positions in the set.
        groups: each assessment's group index (for a demographic split).
        group_names: the groups' names.
        resamples: bootstrap resamples (0: no interval).
        seed: random seed; the same seed gives the same intervals.
        confidence: interval coverage.

    Returns:
        Key to (the figure over everyone, the figure per group).
    """
    n_conv = len(data.conversation_ids)
    names = group_names or []
    g = len(names)
    # Per-conversation sums: columns [agree, count] for everyone, then for each group.
    cols = 2 + 2 * g
    per_conv = np.zeros((n_conv, cols), dtype=np.int64)
    per_conv[:, 0] = np.bincount(data.conversation_index, weights=data.agreeing, minlength=n_conv)
    per_conv[:, 1] = np.bincount(data.conversation_index, weights=data.counted, minlength=n_conv)
    assessments = np.bincount(data.conversation_index, minlength=n_conv)
    group_assessments = np.zeros((n_conv, g), dtype=np.int64)
    if g and groups is not None:
        flat = data.conversation_index * g + groups
        per_conv[:, 2::2] = np.bincount(flat, weights=data.agreeing, minlength=n_conv * g).reshape(n_conv, g)
        per_conv[:, 3::2] = np.bincount(flat, weights=data.counted, minlength=n_conv * g).reshape(n_conv, g)
        group_assessments = np.bincount(flat, minlength=n_conv * g).reshape(n_conv, g)
    seeds = np.random.SeedSequence(seed).spawn(len(memberships))
    results: dict[str | None, tuple[Share, dict[str, Share]]] = {}
    for (key, members), child in zip(memberships.items(), seeds):
        columns = per_conv[members]
        totals = columns.sum(axis=0)
        if resamples > 0 and len(members):
            low, high = _interval(_bootstrap(columns, resamples, np.random.default_rng(child)), confidence)
        else:
            low = high = np.full(1 + g, np.nan)
        point = _ratio(totals[0::2].astype(np.float64), totals[1::2].astype(np.float64))
        counts = group_assessments[members]

        shares = [
            Share(agreeing=int(totals[2 * j]), counted=int(totals[2 * j + 1]),
                  conversations=len(members) if j == 0 else int((counts[:, j - 1] > 0).sum()),
                  assessments=int(assessments[members].sum()) if j == 0 else int(counts[:, j - 1].sum()),
                  share=_opt(point[j]), low=_opt(low[j]), high=_opt(high[j]))
            for j in range(1 + g)
        ]
        overall = shares[0]
        by_group = {name: shares[1 + j] for j, name in enumerate(names)}
        results[key] = (overall, by_group)
    return results


def section_memberships(store: Store, data: AgreementData, min_relevance: int) -> dict[str, np.ndarray]:
    """Return, per section, the positions of the run's conversations graded at least ``min_relevance``."""
    index = {cid: i for i, cid in enumerate(data.conversation_ids)}
    members: dict[str, list[int]] = {}
    for (conversation_id, section_id), _grade in effective_grades(store, min_grade=min_relevance).items():
        position = index.get(conversation_id)
        if position is not None:
            members.setdefault(section_id, []).append(position)
    return {s: np.array(sorted(v), dtype=np.int64) for s, v in sorted(members.items())}


def compute_agreement(store: Store, *, min_relevance: int = 5, by: str | None = None, resamples: int = 1000,
                      seed: int | None = None, view: str = "world", run_id: str | None = None,
                      confidence: float = 0.95, titles: dict[str, str] | None = None,
                      min_conversations: int = 1) -> AgreementResult:
    """Compute crowd–ranker agreement overall and per section, optionally split by a demographic field.

    Args:
        store: the workspace database (read only).
        min_relevance: the grade (1–5) a conversation needs for a section (default 5).
        by: a demographic field to split on (a key of ``participants.demographics``).
        resamples: bootstrap resamples (default 1,000).
        seed: random seed for reproducible intervals.
        view: ``world`` (default) or ``personal`` rankings.
        run_id: the ranker run (default: the newest).
        confidence: interval coverage (default 0.95).
        titles: section id to title, for display.
        min_conversations: list only the sections with at least this many conversations (default 1:
            all; ``MIN_CONVERSATIONS`` is what lists and charts use); the others are counted.

    Raises:
        KnownError: no ranker run, an unknown field, or an option out of range.
    """
    if not 1 <= min_relevance <= 5:
        raise KnownError(f"The minimum relevance must be 1 to 5 (got {min_relevance}).")
    if min_conversations < 1:
        raise KnownError(f"The minimum number of conversations must be at least 1 (got {min_conversations}).")
    if resamples < 0 or resamples > 1_000_000:
        raise KnownError(f"The number of resamples must be 0 to 1,000,000 (got {resamples}).")
    if not 0 < confidence < 1:
        raise KnownError(f"The confidence must be between 0 and 1 (got {confidence}).")
    data = load_agreement_data(store, run_id=run_id, view=view)
    groups, names = (demographic_groups(store, data, by) if by else (None, []))
    sections = section_memberships(store, data, min_relevance)
    memberships: dict[str | None, np.ndarray] = {None: np.arange(len(data.conversation_ids), dtype=np.int64)}
    memberships.update(sections)
    figures = analyse(data, memberships, groups=groups, group_names=names, resamples=resamples, seed=seed,
                      confidence=confidence)
    titles = titles or {}
    overall_stats, overall_groups = figures[None]
    entries = [SectionAgreement(section_id=s, title=titles.get(s), stats=figures[s][0], groups=figures[s][1])
               for s in sections]
    entries.sort(key=lambda e: (e.stats.share is None, -(e.stats.share or 0.0), e.section_id or ""))
    return AgreementResult(
        run_id=data.run_id, model=data.model, spec_revision=data.spec_revision, view=view,
        min_relevance=min_relevance, resamples=resamples, seed=seed, confidence=confidence, by=by,
        group_names=tuple(names), overall=SectionAgreement(None, None, overall_stats, overall_groups),
        sections=tuple(entries), skipped=dict(data.skipped),
    ).keeping(min_conversations)


# ---- machine against person ------------------------------------------------------------------


@dataclass(frozen=True)
class TrustRow:
    """How one machine source's stance labels agree with people's labels on the same links.

    Attributes:
        source_kind: ``model`` or ``rule``.
        source_name: the model or rule name.
        prompt_version: the prompt version (models), or None.
        compared: links labelled by both this source and a person.
        agreeing: links where both gave the same stance.
        share: agreeing / compared.
        kappa: Cohen's kappa over the three stances (None when undefined: only one stance used by both).
        table: person stance to this source's stance to count.
    """

    source_kind: str
    source_name: str
    prompt_version: str | None
    compared: int
    agreeing: int
    share: float | None
    kappa: float | None
    table: dict[str, dict[str, int]]


def cohen_kappa(table: np.ndarray) -> float | None:
    """Return Cohen's kappa for a square agreement table (rows: one rater, columns: the other)."""
    total = table.sum()
    if total == 0:
        return None
    observed = np.trace(table) / total
    expected = float((table.sum(axis=1) / total) @ (table.sum(axis=0) / total))
    if expected >= 1.0:
        return None
    return float((observed - expected) / (1 - expected))


def label_trust(store: Store) -> list[TrustRow]:
    """Compare each model or rule with people wherever a person labelled the same link.

    The person's label is the latest person label on the link; a source's label is its latest on
    the link. Reads ``stance_labels`` only, leaving out labels an undo withdrew.
    """
    sql = """
        WITH ranked AS (
            SELECT proposal_id, justification_id, stance, source_kind, source_name, prompt_version,
                   ROW_NUMBER() OVER (
                       PARTITION BY proposal_id, justification_id, source_kind,
                                    CASE source_kind WHEN 'person' THEN '' ELSE source_name END,
                                    CASE source_kind WHEN 'person' THEN '' ELSE coalesce(prompt_version, '') END
                       ORDER BY created_at DESC, rowid DESC) AS pick
            FROM stance_labels
            WHERE id NOT IN (SELECT label_id FROM stance_label_withdrawals))
        SELECT m.source_kind, m.source_name, m.prompt_version, p.stance, m.stance
        FROM ranked m JOIN ranked p
          ON p.proposal_id = m.proposal_id AND p.justification_id = m.justification_id
         AND p.source_kind = 'person' AND p.pick = 1
        WHERE m.source_kind != 'person' AND m.pick = 1
    """
    with sql_errors("reading stance labels"):
        rows = store.db.execute(sql).fetchall()
    index = {s: i for i, s in enumerate(STANCES)}
    tables: dict[tuple[str, str, str | None], np.ndarray] = {}
    for kind, name, version, person, machine in rows:
        table = tables.setdefault((kind, name, version), np.zeros((3, 3), dtype=np.int64))
        table[index[person], index[machine]] += 1
    out = []
    for (kind, name, version), table in sorted(tables.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or "")):
        compared = int(table.sum())
        agreeing = int(np.trace(table))
        out.append(TrustRow(
            source_kind=kind, source_name=name, prompt_version=version, compared=compared, agreeing=agreeing,
            share=agreeing / compared if compared else None, kappa=cohen_kappa(table),
            table={p: {m: int(table[i, j]) for j, m in enumerate(STANCES)} for i, p in enumerate(STANCES)},
        ))
    return out


def workspace_agreement(workspace: Workspace, **options: Any) -> AgreementResult:
    """Compute agreement over a workspace, with section titles from the spec the ranker ranked by.

    Takes the same keyword options as ``compute_agreement``; used by the CLI, the GUI and the report.
    """
    result = compute_agreement(workspace.store, **options)
    titles: dict[str, str] = {}
    for rev in (result.spec_revision, "HEAD"):
        try:
            document = workspace.load_spec(rev).document
        except KnownError:
            continue
        titles = {s.id: s.title for s in document.sections if s.id}
        break
    return replace(result, sections=tuple(replace(s, title=titles.get(s.section_id or "")) for s in result.sections))


# ---- one section's detail ----------------------------------------------------------------------


@dataclass(frozen=True)
class SectionAssessment:
    """One participant's assessment of a conversation that counts for a section, with the ranker's ranking.

    Attributes:
        conversation_id: the conversation.
        prompt_id: its source id (the CA-1 prompt id).
        prompt: the stored prompt (JSON messages, or plain text).
        ranker_ranking: the ranker's ranking of the conversation in the run, as stored.
        crowd_ranking: the participant's ranking in the chosen view, as stored (None when missing).
    """

    conversation_id: str
    prompt_id: str
    prompt: str
    ranker_ranking: str | None
    crowd_ranking: str | None


def section_assessments(store: Store, *, run_id: str, section_id: str, min_relevance: int,
                        view: str = "world") -> list[SectionAssessment]:
    """Return the assessments of the conversations that count for one section in a ranker run.

    The conversations are those ``section_memberships`` gives the section: their effective grade
    (person over model over rule, then the latest, as ``effective_grades``) is at least
    ``min_relevance``, and the run ranked them. Rankings come as stored; one that cannot be parsed
    contributes nothing to the agreement, as in ``compute_agreement``.

    Args:
        store: the workspace database (read only).
        run_id: the ranker run.
        section_id: the section.
        min_relevance: the grade a conversation needs for the section.
        view: ``world`` or ``personal`` rankings.

    Raises:
        KnownError: an unknown view, or a locked or damaged database.
    """
    if view not in VIEWS:
        raise KnownError(f"Unknown ranking view {view!r}.", hint="Use world or personal.")
    column = "world_ranking" if view == "world" else "personal_ranking"
    sql = f"""
        WITH picked AS (
            SELECT conversation_id, grade, ROW_NUMBER() OVER (
                PARTITION BY conversation_id
                ORDER BY CASE grader_kind WHEN 'person' THEN 0 WHEN 'model' THEN 1 ELSE 2 END,
                         created_at DESC, rowid DESC) AS pick
            FROM relevance_grades WHERE section_id = ?)
        SELECT c.id, c.source_id, c.prompt, r.ranking, a.{column}
        FROM picked g
        JOIN ranker_rankings r ON r.conversation_id = g.conversation_id AND r.run_id = ?
        JOIN conversations c ON c.id = g.conversation_id
        JOIN assessments a ON a.conversation_id = g.conversation_id
        WHERE g.pick = 1 AND g.grade >= ?
    """
    with sql_errors("reading a section's conversations"):
        rows = store.db.execute(sql, [section_id, run_id, int(min_relevance)]).fetchall()
    return [SectionAssessment(*row) for row in rows]


def section_proposal_ids(store: Store, section_id: str) -> list[str]:
    """Return the ids of the proposals that change ``section_id`` (each once, in no particular order).

    Raises:
        KnownError: a locked or damaged database.
    """
    with sql_errors("reading a section's proposals"):
        return [r[0] for r in store.db.execute(
            "SELECT DISTINCT proposal_id FROM proposal_sections WHERE section_id = ?", [section_id])]
