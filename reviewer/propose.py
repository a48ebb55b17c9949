"""The automated loop: spec edits proposed from crowd–ranker disagreement, kept only when agreement rises.

For each section, the conversations graded relevant to it are ordered by how far the crowd and the
newest ranker run disagree on them (pairwise agreement, as ``reviewer.agreement`` counts it). A
model reads the most disagreeing ones with the participants' rankings and justifications, sent as
delimited data, and answers with the whole new section text: in ``batch`` mode many conversations
per call (as many as fit the model's context, counted with the tokenizer), in ``single`` mode one.

Each candidate is tested before it is kept: the conversations it was written from, plus a held-out
sample of the section's other relevant conversations, are ranked by the ranker model and prompt
under the spec as it is and under the edited spec (both in the same layout: fixed instructions,
the spec with the section under test last, the conversation last, so a section's requests share
their prefix). The change in agreement gets a paired bootstrap interval over those conversations;
a candidate becomes a proposal only when the interval's lower bound is above the threshold.
Every candidate, kept or rejected, is stored with why (``candidates``), in one transaction with
the proposals it made and one ``propose.record`` event that vouches for the run's rows by digest.
A kept candidate that changes its section in nearly the same way as an earlier kept one (text
similarity) is merged with it: both rows stay, naming the same proposal.

Model calls go through the judge machinery (``reviewer.judges.running``): the cache, the jobs and
their events, so a cancelled run resumes without repeating finished calls.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import random
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from reviewer import audit
from reviewer.digests import writer_rows_digest
from reviewer.errors import KnownError
from reviewer.ids import new_id, utc_now
from reviewer.judges.data import conversation_block, data_block, section_block, wrap_blocks
from reviewer.judges.estimates import TokenCounter, cached_results
from reviewer.judges.items import Digests, WorkItem, make_messages_item
from reviewer.judges.prompts import PROMPT_VERSIONS, load_prompt
from reviewer.prices import Cost, Price, load_prices
from reviewer.progress import Progress
from reviewer.rankings import normalise, pairwise_agreement, ranking_or_none
from reviewer.spec import Section, SpecDocument, parse_spec
from reviewer.store import APP_ACTOR, Store, sql_errors

if TYPE_CHECKING:
    from reviewer.judges.base import Judge, ProposeVerdict
    from reviewer.judges.running import RunSummary
    from reviewer.modelconfig import ModelConfig
    from reviewer.workspace import Workspace

MODES = ("batch", "single")
ORIGINS = {"batch": "automated-batch", "single": "automated-single"}
MERGE_SIMILARITY = 0.9
"""Two kept candidates for one section whose texts are at least this similar (difflib's ratio) are one proposal."""
DEFAULT_CONTEXT_TOKENS = 128_000
MAX_JUSTIFICATIONS = 20
"""At most this many participants' rankings and justifications are sent per conversation."""
_OUTPUT_MARGIN = 300  # tokens for the title, intent and reason around the new section text


# ---- options, figures --------------------------------------------------------------------------


@dataclass(frozen=True)
class ProposeOptions:
    """What a propose run is asked to do.

    Attributes:
        mode: ``batch`` (many conversations per call) or ``single`` (one per call).
        sections: only these section ids (empty: every section with relevant conversations).
        min_relevance: the grade a conversation needs for a section (1–5).
        max_candidates: at most this many candidates (generation calls) per section.
        holdout: held-out conversations per section, re-ranked with every candidate to catch regressions.
        threshold: a candidate is kept when its change's interval lies above this (lower bound > threshold).
        context_tokens: the proposing model's context, which a batch call must fit.
        resamples: bootstrap resamples for the intervals.
        ranker_model: the model that re-ranks (default: the newest ranker run's model when a judge
            run made it, else the proposing model).
        batch_api: send the calls through the provider's Batch API (upload, create, poll, read) instead
            of one request each; a restarted run polls the batch it sent.
        batch_poll_every: (``batch_api``) seconds between looks at a batch's status.
    """

    mode: str
    sections: tuple[str, ...] = ()
    min_relevance: int = 5
    max_candidates: int = 3
    holdout: int = 20
    threshold: float = 0.0
    context_tokens: int = DEFAULT_CONTEXT_TOKENS
    resamples: int = 1000
    ranker_model: str | None = None
    batch_api: bool = False
    batch_poll_every: float = 30.0

    def check(self) -> None:
        """Raise ``KnownError`` for an option out of range."""
        if self.mode not in MODES:
            raise KnownError(f"Unknown mode {self.mode!r}.", hint="Use --mode batch or --mode single.")
        if not 1 <= self.min_relevance <= 5:
            raise KnownError(f"The minimum relevance must be 1 to 5 (got {self.min_relevance}).")
        if self.max_candidates < 1:
            raise KnownError(f"--max-candidates must be at least 1 (got {self.max_candidates}).")
        if self.holdout < 0:
            raise KnownError(f"--holdout must be 0 or more (got {self.holdout}).")
        if self.context_tokens < 500:
            raise KnownError(f"--context-tokens must be at least 500 (got {self.context_tokens}).")
        if not 0 <= self.resamples <= 100_000:
            raise KnownError(f"The number of resamples must be 0 to 100,000 (got {self.resamples}).")
        if not -1 < self.threshold < 1:
            raise KnownError(f"The threshold is a change in agreement between -1 and 1 (got {self.threshold}).")


@dataclass(frozen=True)
class Figures:
    """Agreement before and under an edit over the same conversations, with paired bootstrap intervals.

    Attributes:
        conversations: conversations counted (ranked both ways, with counted pairs).
        before: pooled agreement under the spec as it is (agreeing / counted pairs).
        before_low: its interval's lower bound; before_high: its upper bound.
        after: pooled agreement under the edited spec.
        after_low: its interval's lower bound; after_high: its upper bound.
        change: after − before.
        change_low: the paired interval's lower bound (the same resampled conversations on both sides).
        change_high: its upper bound.
    """

    conversations: int
    before: float | None
    before_low: float | None
    before_high: float | None
    after: float | None
    after_low: float | None
    after_high: float | None
    change: float | None
    change_low: float | None
    change_high: float | None


_NO_FIGURES = Figures(0, None, None, None, None, None, None, None, None, None)


def _opt(x: float) -> float | None:
    return None if x is None or np.isnan(x) else round(float(x), 12)


def paired_figures(before: np.ndarray, after: np.ndarray, *, resamples: int = 1000, seed: int = 0,
                   confidence: float = 0.95) -> Figures:
    """Pooled agreement before and after, and the paired change, with percentile bootstrap intervals.

    Args:
        before: conversations × 2 (agreeing, counted pairs summed over each conversation's assessments)
            under the spec as it is.
        after: the same conversations, in the same order, under the edit.
        resamples: bootstrap resamples (0: no interval).
        seed: random seed (the same seed gives the same intervals).
        confidence: interval coverage.
    """
    n = len(before)
    if n == 0:
        return _NO_FIGURES

    def ratio(a: np.ndarray, c: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(c > 0, a / np.where(c > 0, c, 1), np.nan)

    tb, ta = before.sum(axis=0), after.sum(axis=0)
    point_b = float(ratio(np.array(tb[0], dtype=float), np.array(tb[1], dtype=float)))
    point_a = float(ratio(np.array(ta[0], dtype=float), np.array(ta[1], dtype=float)))
    low_b = high_b = low_a = high_a = low_c = high_c = float("nan")
    if resamples > 0:
        rng = np.random.default_rng(seed)
        draws = rng.integers(0, n, size=(resamples, n))
        sb, sa = before[draws].sum(axis=1), after[draws].sum(axis=1)  # resamples × 2
        rb, ra = ratio(sb[:, 0], sb[:, 1]), ratio(sa[:, 0], sa[:, 1])
        tail = (1 - confidence) / 2 * 100
        both = ~np.isnan(rb) & ~np.isnan(ra)
        if both.any():
            columns = np.stack([rb[both], ra[both], (ra - rb)[both]], axis=1)
            (low_b, low_a, low_c), (high_b, high_a, high_c) = np.percentile(columns, [tail, 100 - tail], axis=0)
    change = point_a - point_b
    return Figures(n, _opt(point_b), _opt(low_b), _opt(high_b), _opt(point_a), _opt(low_a), _opt(high_a),
                   _opt(change), _opt(low_c), _opt(high_c))


# ---- the crowd and the ranker, per conversation ----------------------------------------------


@dataclass(frozen=True)
class CrowdView:
    """The crowd's world rankings and justifications of some conversations.

    Attributes:
        rankings: conversation id -> the participants' world rankings (normalised; unusable ones left out).
        justifications: conversation id -> (world ranking or "", justification text) per assessment.
        prompt_ids: conversation id -> its source id.
    """

    rankings: dict[str, list[str]]
    justifications: dict[str, list[tuple[str, str]]]
    prompt_ids: dict[str, str]


_PAIRS: dict[tuple[str, str], tuple[int, int]] = {}


def pair_counts(crowd: Iterable[str], machine: str | None) -> tuple[int, int]:
    """Return (agreeing, counted) pairs between each crowd ranking and ``machine``, summed."""
    m = ranking_or_none(machine)
    if m is None:
        return 0, 0
    agreeing = counted = 0
    for text in crowd:
        key = (text, str(machine))
        found = _PAIRS.get(key)
        if found is None:
            c = ranking_or_none(text)
            result = pairwise_agreement(c, m) if c is not None else None
            found = _PAIRS[key] = (result.agreeing, result.counted) if result else (0, 0)
        agreeing += found[0]
        counted += found[1]
    return agreeing, counted


def load_crowd(store: Store, conversation_ids: Iterable[str] | None = None) -> CrowdView:
    """Read the participants' world rankings and justifications (all conversations, or those named)."""
    wanted = None if conversation_ids is None else set(conversation_ids)
    rankings: dict[str, list[str]] = {}
    texts: dict[str, list[tuple[str, str]]] = {}
    with sql_errors("reading the crowd's rankings"):
        prompt_ids = {cid: sid for cid, sid in store.db.execute("SELECT id, source_id FROM conversations")
                      if wanted is None or cid in wanted}
        for cid, world, text in store.db.execute(
            "SELECT a.conversation_id, a.world_ranking, group_concat(j.text, char(10) || char(10))"
            " FROM assessments a LEFT JOIN (SELECT assessment_id, text FROM justifications"
            "  WHERE trim(text) != '' ORDER BY block, position) j ON j.assessment_id = a.id"
            " GROUP BY a.id ORDER BY a.conversation_id, a.participant_id, a.id"
        ):
            if wanted is not None and cid not in wanted:
                continue
            parsed = ranking_or_none(world)
            if parsed is not None:
                rankings.setdefault(cid, []).append(normalise(world))
            if text:
                texts.setdefault(cid, []).append((normalise(world) if parsed is not None else "", text))
    return CrowdView(rankings, texts, prompt_ids)


def _latest_ranker(store: Store) -> tuple[str, str, str, dict[str, tuple[str, str]]]:
    from reviewer.agreement import latest_run

    found = latest_run(store)
    if found is None:
        raise KnownError("This workspace has no ranker run yet: there is no disagreement to read.",
                         hint="Run `spec-review judge rank WORKSPACE` or import rankings first.")
    run_id, model, _revision = found
    with sql_errors("reading the ranker's rankings"):
        source = store.db.execute("SELECT source FROM ranker_runs WHERE id = ?", [run_id]).fetchone()[0]
        rankings = {cid: (ranking, reason or "") for cid, ranking, reason in store.db.execute(
            "SELECT conversation_id, ranking, reason FROM ranker_rankings WHERE run_id = ?", [run_id])}
    return run_id, model, str(source), rankings


# ---- building the requests ---------------------------------------------------------------------


def disagreement_block(prompt_id: str, prompt: str, responses: str, ranker: tuple[str, str],
                       crowd: Sequence[tuple[str, str]]) -> str:
    """Render one conversation where crowd and ranker disagree, every untrusted text delimited.

    The conversation, the ranker's ranking and reason, then each participant's ranking with their
    justification (at most ``MAX_JUSTIFICATIONS``).
    """
    lines = [conversation_block(prompt, responses)]
    ranking, reason = ranker
    try:
        shown = normalise(ranking)
    except KnownError:
        shown = "(not a valid ranking)"
    lines.append(f"The ranker's ranking: {shown}")
    if reason.strip():
        lines.append(data_block("ranker_reason", reason))
    for n, (world, text) in enumerate(crowd[:MAX_JUSTIFICATIONS], 1):
        lines.append(f"Participant {n} ranked: {world or '(no usable ranking)'}")
        lines.append(data_block("justification", text))
    return wrap_blocks("disagreement", "\n".join(lines), prompt_id=prompt_id)


def spec_message(document: SpecDocument, tested: Sequence[Section], cache: dict[Any, Any] | None = None,
                 digests: Digests | None = None) -> str:
    """The spec as the re-ranking sends it: every other section in order, then the sections under test.

    The part before the sections under test is the same for every request about them (before and
    under any edit), so the provider's prompt cache reuses it. With ``digests``, the text's SHA-256
    is put there, from the shared part's hash state and the rest: the shared part is hashed once.
    """
    ids = tuple(s.id or "" for s in tested)
    cache = cache if cache is not None else {}
    key = ("others", id(document), ids)
    others = cache.get(key)
    if others is None:
        others = cache[key] = "<spec>\n" + "\n".join(
            section_block(s) for s in document.sections if s.text.strip() and (s.id or "") not in ids)
    rest = "\n".join(section_block(s) for s in tested) + "\n</spec>"
    text = "".join((others, "\n", rest))  # one copy of the 270 KB (over 1 MB in memory), not three
    if digests is not None:
        state = cache.get(("sha256", key))
        if state is None:
            state = cache[("sha256", key)] = hashlib.sha256((others + "\n").encode("utf-8"))
        hasher = state.copy()
        hasher.update(rest.encode("utf-8"))
        digests.put(text, hasher.hexdigest())
    return text


@dataclass(frozen=True)
class SectionWork:
    """One section's share of a propose run.

    Attributes:
        section_id: the section.
        relevant: its relevant conversations with usable figures, most disagreeing first.
        groups: the conversations each generation call reads (one each in ``single`` mode).
        holdout: the held-out conversations every candidate is also tested on.
        skipped: conversations too long for one batch call (batch mode).
    """

    section_id: str
    relevant: tuple[str, ...]
    groups: tuple[tuple[str, ...], ...]
    holdout: tuple[str, ...]
    skipped: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProposeEstimate:
    """What a propose run will cost, shown before anything is sent.

    Attributes:
        task: ``propose``.
        mode: ``batch`` or ``single``.
        model: the proposing model; ranker_model: the re-ranking model.
        prompt_version: the proposing prompt; ranker_prompt_version: the ranker's.
        sections: sections with work.
        items: generation calls in the run.
        cached: generation calls already answered.
        generation_calls: generation calls to make.
        rerank_calls: re-ranking calls at most (every candidate valid; cached ones not counted).
        calls: all calls at most.
        input_tokens: prompt tokens of those calls (re-ranking counted with the spec as it is).
        output_tokens: an approximate answer size.
        tokenizer: how input tokens were counted; exact: whether with a real tokenizer.
        endpoint: where the requests go.
        cached_input_tokens: of ``input_tokens``, about how many the provider's prompt cache may serve
            (each section's ranker requests share the spec before the conversation).
        cost: the price of it all at the price table's prices, both models counted (None: a model has
            no price; ``no_price`` names it).
        cost_without_cache: the same with no input token served by the prompt cache.
        no_price: the models without a price.
        generation_cost: the proposing calls' part of ``cost``; rerank_cost: the ranker calls' part.
        batch_api: whether the calls go through the Batch API (``--batch``), whose own prices are not applied.
    """

    task: str
    mode: str
    model: str
    ranker_model: str
    prompt_version: str
    ranker_prompt_version: str
    sections: int
    items: int
    cached: int
    generation_calls: int
    rerank_calls: int
    calls: int
    input_tokens: int
    output_tokens: int
    tokenizer: str
    exact: bool
    endpoint: str | None = None
    cached_input_tokens: int = 0
    cost: float | None = None
    cost_without_cache: float | None = None
    no_price: tuple[str, ...] = ()
    generation_cost: float | None = None
    rerank_cost: float | None = None
    batch_api: bool = False

    def describe(self) -> str:
        """Return the estimate as one paragraph for the terminal."""
        from reviewer.judges.estimates import cost_sentence

        how = "counted with o200k_base" if self.exact else "approximate"
        at = f" at {self.endpoint}" if self.endpoint else ""
        text = (f"propose ({self.mode}) with {self.model}{at} ({self.prompt_version}), re-ranked by "
                f"{self.ranker_model} ({self.ranker_prompt_version}): {self.sections} sections, {self.items} "
                f"candidate calls ({self.cached} already answered), then at most {self.rerank_calls} ranker calls; "
                f"at most {self.calls} model calls, about {self.input_tokens:,} input tokens ({how}) and "
                f"{self.output_tokens:,} output tokens (approximate). "
                + cost_sentence(self.calls, self.cached_input_tokens, self.cost, self.cost_without_cache,
                                self.no_price))
        if self.batch_api:
            text += (" Sent through the Batch API: results within 24 hours, at the price table's prices "
                     "(the provider's batch discount is not counted).")
        return text


@dataclass(frozen=True)
class ProposePlan:
    """A propose run ready to confirm.

    Attributes:
        options: what was asked.
        config: the proposing model's endpoint settings; ranker_config: the re-ranking model's.
        spec_revision: the spec commit the edits are made against.
        ranker_run_id: the ranker run whose disagreement was read.
        work: each section's conversations.
        items: the generation requests.
        estimate: what it will cost.
    """

    options: ProposeOptions
    config: ModelConfig
    ranker_config: ModelConfig
    spec_revision: str
    ranker_run_id: str
    work: tuple[SectionWork, ...]
    items: tuple[WorkItem, ...]
    estimate: ProposeEstimate


def _seed(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()[:8], "big")


def _conversation_rows(store: Store, ids: Iterable[str]) -> dict[str, tuple[str, str, str]]:
    wanted = sorted(set(ids))
    out: dict[str, tuple[str, str, str]] = {}
    with sql_errors("reading conversations"):
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            out.update((cid, (sid, prompt, responses)) for cid, sid, prompt, responses in store.db.execute(
                f"SELECT id, source_id, prompt, responses FROM conversations WHERE id IN ({','.join('?' * len(chunk))})",
                chunk))
    return out


def _ranker_config(workspace: Workspace, config: ModelConfig, options: ProposeOptions, model: str,
                   source: str) -> ModelConfig:
    chosen = options.ranker_model or (model if source == "judge" and model else None) or config.model
    return replace(config, model=chosen)


def plan_propose(workspace: Workspace, options: ProposeOptions, config: ModelConfig, *,
                 counter: TokenCounter | None = None, prices: Mapping[str, Price] | None = None) -> ProposePlan:
    """Choose each section's conversations, build the generation requests and estimate the run.

    Args:
        prices: the price table for the estimate's cost (default: the workspace's and the user's).

    Raises:
        KnownError: an option out of range, no ranker run, an unknown section, or nothing to send.
    """
    from reviewer.agreement import effective_grades

    options.check()
    store = workspace.store
    loaded = workspace.load_spec()
    document = loaded.document
    run_id, ranker_model, source, machine = _latest_ranker(store)
    ranker_config = _ranker_config(workspace, config, options, ranker_model, source)
    by_id = {s.id: s for s in document.sections if s.id}
    for wanted in options.sections:
        if wanted not in by_id:
            raise KnownError(f"No section {wanted!r} in the spec.", hint="See `spec-review spec sections FILE`.")
    relevant: dict[str, list[str]] = {}
    for (cid, sid), _grade in effective_grades(store, min_grade=options.min_relevance).items():
        if sid in by_id and (not options.sections or sid in options.sections) and cid in machine:
            relevant.setdefault(sid, []).append(cid)
    crowd = load_crowd(store, {c for cs in relevant.values() for c in cs})
    prompt = load_prompt("propose")
    counter = counter or TokenCounter()
    rows = _conversation_rows(store, crowd.prompt_ids)
    work: list[SectionWork] = []
    items: list[WorkItem] = []
    digests = Digests()
    for sid in [s.id for s in document.sections if s.id in relevant]:
        assert sid is not None
        figures = {}
        for cid in relevant[sid]:
            agreeing, counted = pair_counts(crowd.rankings.get(cid, ()), machine[cid][0])
            if counted:
                figures[cid] = (agreeing, counted)
        ordered = sorted(figures, key=lambda c: (figures[c][0] / figures[c][1], -figures[c][1], c))
        pool = [c for c in ordered if figures[c][0] < figures[c][1]]
        section = by_id[sid]
        section_part = data_block_section(section)
        blocks = _Blocks(rows, machine, crowd)
        expected_out = counter.count(section.text) + _OUTPUT_MARGIN
        if options.mode == "single":
            groups: list[tuple[str, ...]] = [(c,) for c in pool[:options.max_candidates]]
            skipped: list[str] = []
        else:
            fixed = counter.count(prompt.system) + counter.count(section_part) + 20
            budget = options.context_tokens - fixed - expected_out
            groups, skipped = _pack(pool, blocks, counter, budget, options.max_candidates)
        if not groups:
            continue
        used = {c for g in groups for c in g}
        rest = sorted(c for c in figures if c not in used)
        holdout = tuple(sorted(random.Random(_seed("holdout", sid)).sample(rest, min(options.holdout, len(rest)))))
        work.append(SectionWork(sid, tuple(ordered), tuple(groups), holdout, tuple(skipped)))
        for n, group in enumerate(groups):
            disagreements = "\n".join(blocks[c] for c in group)
            payload = {"section_id": sid, "conversation_ids": list(group), "mode": options.mode,
                       "expected_output_tokens": expected_out}
            items.append(make_messages_item(prompt, f"{sid}:{n}", [section_part, disagreements], payload, digests))
    if not items:
        raise KnownError(
            "There is nothing to propose from: no section has relevant conversations where the crowd and the "
            f"ranker disagree (graded ≥ {options.min_relevance}).",
            hint="Grade relevance first (`spec-review judge relevance` or `relevance --lexical`), or lower "
                 "--min-relevance.")
    prices = load_prices(workspace.root) if prices is None else prices
    estimate = _estimate(workspace, options, config, ranker_config, document, work, items, counter, prices)
    return ProposePlan(options, config, ranker_config, loaded.revision, run_id, tuple(work), tuple(items), estimate)


class _Blocks(dict[str, str]):
    """Disagreement blocks, built when first asked for (a batch reads only the conversations that fit)."""

    def __init__(self, rows: Mapping[str, tuple[str, str, str]], machine: Mapping[str, tuple[str, str]],
                 crowd: CrowdView) -> None:
        super().__init__()
        self.rows, self.machine, self.crowd = rows, machine, crowd

    def __missing__(self, cid: str) -> str:
        source_id, prompt, responses = self.rows[cid]
        block = self[cid] = disagreement_block(source_id, prompt, responses, self.machine[cid],
                                               self.crowd.justifications.get(cid, []))
        return block


def data_block_section(section: Section) -> str:
    """The section under edit, as the proposing model reads it."""
    return "The section to edit:\n" + section_block(section)


def _pack(pool: Sequence[str], blocks: Mapping[str, str], counter: TokenCounter, budget: int,
          calls: int) -> tuple[list[tuple[str, ...]], list[str]]:
    """Fill up to ``calls`` batches with the most disagreeing conversations, each within ``budget`` tokens."""
    groups: list[tuple[str, ...]] = []
    skipped: list[str] = []
    current: list[str] = []
    used = 0
    for cid in pool:
        size = counter.count(blocks[cid]) + 1
        if size > budget:
            skipped.append(cid)  # one conversation larger than a whole call: it cannot be sent
            continue
        if used + size > budget:
            groups.append(tuple(current))
            if len(groups) == calls:
                return groups, skipped
            current, used = [], 0
        current.append(cid)
        used += size
    if current and len(groups) < calls:
        groups.append(tuple(current))
    return groups, skipped


def _estimate(workspace: Workspace, options: ProposeOptions, config: ModelConfig, ranker_config: ModelConfig,
              document: SpecDocument, work: Sequence[SectionWork], items: Sequence[WorkItem],
              counter: TokenCounter, prices: Mapping[str, Price]) -> ProposeEstimate:
    from reviewer.judges.estimates import CACHE_MIN_TOKENS, estimate, estimated_cost

    generation = estimate(workspace.store, items, config.model or "", counter=counter, endpoint=config.endpoint,
                          prices=prices)
    ranker = load_prompt("ranker")
    rows = _conversation_rows(workspace.store, {c for w in work for g in w.groups for c in g}
                              | {c for w in work for c in w.holdout})
    rerank_calls = rerank_tokens = rerank_cached = 0
    cache: dict[Any, Any] = {}
    system = counter.count(ranker.system)
    for w in work:
        section = document.get(w.section_id)
        assert section is not None
        spec_tokens = counter.count(spec_message(document, [section], cache))
        # Every ranker request of the section begins with the instructions and the other sections.
        shared = system + spec_tokens - counter.count(section_block(section))
        tested = [*{c for g in w.groups for c in g}, *w.holdout]
        per_candidate = [len(g) + len(w.holdout) for g in w.groups]
        calls = len(set(tested)) + sum(per_candidate)  # before (once per conversation) and under each candidate
        conv_tokens = {c: counter.count(conversation_block(rows[c][1], rows[c][2])) for c in set(tested)}
        rerank_calls += calls
        rerank_tokens += calls * (system + spec_tokens + 12)
        if shared >= CACHE_MIN_TOKENS:
            rerank_cached += (calls - 1) * shared
        rerank_tokens += sum(conv_tokens.values()) + sum(
            conv_tokens[c] for g in w.groups for c in (*g, *w.holdout))
    rerank_out = 80 * rerank_calls
    rerank_cost, rerank_plain = estimated_cost(prices, ranker_config.model or "", rerank_tokens, rerank_cached,
                                               rerank_out)
    gen_cost, gen_plain = estimated_cost(prices, config.model or "", generation.input_tokens,
                                         generation.cached_input_tokens, generation.output_tokens)
    if not generation.calls:
        gen_cost = gen_plain = Cost(0.0)
    total, plain = gen_cost + rerank_cost, gen_plain + rerank_plain
    return ProposeEstimate(
        task="propose", mode=options.mode, model=config.model or "", ranker_model=ranker_config.model or "",
        prompt_version=PROMPT_VERSIONS["propose"], ranker_prompt_version=PROMPT_VERSIONS["ranker"],
        sections=len(work), items=len(items), cached=generation.cached, generation_calls=generation.calls,
        rerank_calls=rerank_calls, calls=generation.calls + rerank_calls,
        input_tokens=generation.input_tokens + rerank_tokens,
        output_tokens=generation.output_tokens + rerank_out, tokenizer=counter.method, exact=counter.exact,
        endpoint=config.endpoint, cached_input_tokens=generation.cached_input_tokens + rerank_cached,
        cost=total.amount, cost_without_cache=plain.amount, no_price=total.missing, generation_cost=gen_cost.amount,
        rerank_cost=rerank_cost.amount, batch_api=options.batch_api)


# ---- checking an edit --------------------------------------------------------------------------


def check_edit(current: Section, verdict: ProposeVerdict) -> str | None:
    """Return why a proposed section text cannot be a candidate, or None when it can.

    It must parse as one section with the same id (``proposals.check_new_section_text``), differ
    from the current text, keep the authority unless labelled a change of principle, and have a
    title and an intent.
    """
    from reviewer.proposals import check_new_section_text
    from reviewer.store import check_proposal_fields

    section_id = current.id or ""
    text = verdict.section_text
    if text and not text.endswith("\n"):
        text += "\n"
    try:
        check_new_section_text(section_id, text)
        check_proposal_fields(verdict.title, verdict.intent, verdict.kind)
    except KnownError as exc:
        return exc.message
    if text == current.text:
        return "The new text is the same as the current text."
    new = parse_spec(text).sections[0]
    if new.authority != current.authority and verdict.kind != "principle":
        return (f"The new text changes the authority from {current.authority or '(none)'} to "
                f"{new.authority or '(none)'} without being labelled a change of principle.")
    return None


def edited_text(verdict: ProposeVerdict) -> str:
    """The section text as a proposal stores it (ending with a newline)."""
    text = verdict.section_text
    return text if text.endswith("\n") else text + "\n"


# ---- running -----------------------------------------------------------------------------------


@dataclass
class _Candidate:
    item: WorkItem
    section_id: str
    conversations: tuple[str, ...]
    holdout: tuple[str, ...]
    verdict: ProposeVerdict | None
    problem: str | None
    text: str = ""
    rerank_keys: dict[str, tuple[str, str]] = field(default_factory=dict)  # conversation -> (before key, after key)


@dataclass(frozen=True)
class CandidateRow:
    """One stored candidate.

    Attributes:
        id: the candidate's id.
        run_id: the propose run that wrote it.
        mode: ``batch`` or ``single``.
        section_id: the section it edits.
        model: the proposing model; prompt_version: its prompt.
        ranker_model: the re-ranking model; ranker_prompt_version: its prompt.
        title: the change's title; intent: what it is for; kind: clarification or principle.
        conversations: the conversations it was written from; holdout: the held-out ones it was also tested on.
        figures: agreement before and under it, with intervals (none when it was never tested).
        threshold: the bar its change's lower bound had to clear.
        status: ``kept``, ``rejected`` or ``merged``.
        reason: why.
        proposal_id: the proposal it became (or was merged into).
        merged_with: the earlier candidate it was merged with.
        created_at: when.
    """

    id: str
    run_id: str
    mode: str
    section_id: str
    model: str
    prompt_version: str
    ranker_model: str
    ranker_prompt_version: str
    title: str
    intent: str
    kind: str
    conversations: tuple[str, ...]
    holdout: tuple[str, ...]
    figures: Figures
    threshold: float
    status: str
    reason: str
    proposal_id: str | None
    merged_with: str | None
    created_at: str


@dataclass(frozen=True)
class ProposeSummary:
    """What a propose run did.

    Attributes:
        run_id: the run (its candidates name it).
        mode: ``batch`` or ``single``.
        generation: the generation job's summary; rerank: the re-ranking job's (None when nothing was tested).
        candidates: every candidate stored.
        kept: candidates that became proposals; merged: kept ones merged with an earlier candidate;
        rejected: the others.
        proposal_ids: the proposals made.
    """

    run_id: str
    mode: str
    generation: RunSummary
    rerank: RunSummary | None
    candidates: tuple[CandidateRow, ...]
    kept: int
    merged: int
    rejected: int
    proposal_ids: tuple[str, ...]


def execute_propose(workspace: Workspace, plan: ProposePlan, *, judge: Judge, ranker: Judge,
                    progress: Progress | None = None, actor: str = APP_ACTOR) -> ProposeSummary:
    """Run a confirmed plan: generate, test, and record every candidate (call inside the ``propose`` operation).

    The work between the model calls is done while they run, on a thread of its own: each candidate
    is checked, and its ranker requests built, as its answer is written; each candidate's figures
    are computed as soon as its last ranking is written. What is left after the last call is
    merging and recording.

    Raises:
        Cancelled: the run was cancelled (answers received are kept; run again to resume).
        KnownError: the endpoint refused every request.
    """
    from reviewer.judges.batch import BatchOptions
    from reviewer.judges.running import run_items

    store = workspace.store
    options = plan.options
    params = {"mode": options.mode, "sections": list(options.sections), "min_relevance": options.min_relevance,
              "max_candidates": options.max_candidates, "holdout": options.holdout,
              "context_tokens": options.context_tokens}
    batch = BatchOptions(poll_every=options.batch_poll_every) if options.batch_api else None
    document = workspace.load_spec(plan.spec_revision).document
    tests = _Testing(workspace, plan, document)
    try:
        generation = run_items(store, list(plan.items), judge, plan.config, progress=progress,
                               spec_revision=plan.spec_revision, params={**params, "step": "propose"}, actor=actor,
                               batch=batch, on_written=tests.on_generation)
        candidates, rerank_items = tests.rerank_items()
        rerank = None
        if rerank_items:
            rerank = run_items(store, rerank_items, ranker, plan.ranker_config, progress=progress,
                               spec_revision=plan.spec_revision, params={**params, "step": "rerank"}, actor=actor,
                               ranker_run=False, batch=batch, on_written=tests.on_rankings)
        return _record(workspace, plan, judge.model, ranker.model, candidates, tests, generation, rerank, actor)
    finally:
        tests.close()


class _Testing:
    """A propose run's work between the calls, done while they run.

    The calling thread reads what the work needs from the database once, at the first answer; the
    checking, the building of ranker requests and the figures run on one thread of their own, so
    the calling thread goes on handing out calls and writing answers meanwhile.

    Attributes:
        candidates: the candidates by their generation item's key (complete after ``rerank_items``).
        rankings: each ranker item's ranking (None: no usable answer), by key.
    """

    def __init__(self, workspace: Workspace, plan: ProposePlan, document: SpecDocument) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.store = workspace.store
        self.plan = plan
        self.document = document
        self.work = {w.section_id: w for w in plan.work}
        self.candidates: dict[str, _Candidate] = {}
        self.rankings: dict[str, str | None] = {}
        self._prompt = load_prompt("ranker")
        self._rows: dict[str, tuple[str, str, str]] | None = None
        self._crowd: CrowdView | None = None
        self._specs: dict[Any, Any] = {}
        self._digests = Digests()
        self._blocks: dict[str, str] = {}
        self._built: dict[str, Future[tuple[_Candidate, list[WorkItem]]]] = {}
        self._items: dict[str, list[WorkItem]] = {}  # each candidate's ranker items
        self._waiting: dict[str, set[str]] = {}  # candidate -> ranker keys not written yet
        self._by_key: dict[str, list[str]] = {}  # ranker key -> the candidates waiting for it
        self._figures: dict[str, Future[tuple[Figures, dict[str, list[str | None]]]]] = {}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="propose-testing")

    def close(self) -> None:
        """Stop the testing thread (work not started is dropped)."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _read(self) -> None:
        """Read the planned conversations and the crowd's rankings of them (this thread owns the database)."""
        if self._rows is None:
            planned = {c for w in self.plan.work for c in (*(c for g in w.groups for c in g), *w.holdout)}
            self._rows = _conversation_rows(self.store, planned)
            self._crowd = load_crowd(self.store, planned)

    def on_generation(self, results: Sequence[tuple[WorkItem, Any]]) -> None:
        """Hand each written answer to the testing thread: its edit checked, its ranker requests built."""
        from reviewer.judges.answers import verdict_from_json

        self._read()
        for item, result in results:
            if isinstance(result, dict):
                verdict = verdict_from_json("propose", result)
            elif result.status == "ok":
                verdict = result.verdict
            else:
                continue  # no usable answer: a judge failure, recorded with the job
            self._built[item.key] = self._pool.submit(self._candidate, item, verdict)

    def _candidate(self, item: WorkItem, verdict: ProposeVerdict) -> tuple[_Candidate, list[WorkItem]]:
        section_id = item.request.payload["section_id"]
        current = self.document.get(section_id)
        assert current is not None
        problem = check_edit(current, verdict)
        cand = _Candidate(item, section_id, tuple(item.request.payload["conversation_ids"]),
                          self.work[section_id].holdout, verdict, problem,
                          edited_text(verdict) if problem is None else verdict.section_text)
        return cand, (self._build(cand) if problem is None else [])

    def _build(self, cand: _Candidate) -> list[WorkItem]:
        """The candidate's ranker requests: each tested conversation under the spec as it is and under the edit."""
        rows = self._rows
        assert rows is not None
        current = self.document.get(cand.section_id)
        assert current is not None
        before = self._specs.get(("before", cand.section_id))
        if before is None:  # one string per section: every candidate's "before" requests share it
            before = self._specs[("before", cand.section_id)] = spec_message(self.document, [current], self._specs,
                                                                             self._digests)
        after = spec_message(self.document, [parse_spec(cand.text).sections[0]], self._specs, self._digests)
        items = []
        for cid in dict.fromkeys((*cand.conversations, *cand.holdout)):
            if cid not in self._blocks:
                self._blocks[cid] = conversation_block(rows[cid][1], rows[cid][2])
            payload = {"conversation_id": cid, "prompt_id": rows[cid][0], "section_id": cand.section_id}
            keys = (f"before:{cand.section_id}:{cid}", f"{cand.item.key}:{cid}")
            for key, spec in zip(keys, (before, after)):
                items.append(make_messages_item(self._prompt, key, [spec, self._blocks[cid]], payload, self._digests))
            cand.rerank_keys[cid] = keys
        return items

    def rerank_items(self) -> tuple[list[_Candidate], list[WorkItem]]:
        """Every candidate (in the plan's order) and their ranker requests, each key once; wait for their rankings."""
        for key, future in self._built.items():
            self.candidates[key], self._items[key] = future.result()
        candidates = [self.candidates[i.key] for i in self.plan.items if i.key in self.candidates]
        items: dict[str, WorkItem] = {}
        for cand in candidates:
            for item in self._items[cand.item.key]:
                items.setdefault(item.key, item)
            if cand.problem is None:
                keys = {k for pair in cand.rerank_keys.values() for k in pair}
                self._waiting[cand.item.key] = keys
                for key in keys:
                    self._by_key.setdefault(key, []).append(cand.item.key)
        return candidates, list(items.values())

    def on_rankings(self, results: Sequence[tuple[WorkItem, Any]]) -> None:
        """Keep each written ranking; once a candidate's last one is in, its figures are computed meanwhile."""
        for item, result in results:
            if isinstance(result, dict):
                ranking = result.get("ranking")
            else:
                ranking = result.verdict.ranking if result.status == "ok" else None
            self.rankings[item.key] = ranking
            for cand_key in self._by_key.get(item.key, ()):
                waiting = self._waiting[cand_key]
                waiting.discard(item.key)
                if not waiting:
                    self._figures[cand_key] = self._pool.submit(self._test, self.candidates[cand_key],
                                                                self._rankings_of(self.candidates[cand_key]))

    def figures_of(self, cand: _Candidate) -> tuple[Figures, dict[str, list[str | None]]]:
        """The candidate's figures and the rankings (before, after) per conversation they come from."""
        found = self._figures.get(cand.item.key)
        if found is None:  # its rankings came in no write (a run whose answers were all in an earlier one)
            found = self._figures[cand.item.key] = self._pool.submit(self._test, cand, self._rankings_of(cand))
        return found.result()

    def _rankings_of(self, cand: _Candidate) -> dict[str, str | None]:
        return {k: self.rankings.get(k) for pair in cand.rerank_keys.values() for k in pair}

    def crowd(self) -> CrowdView:
        """The crowd's rankings of the planned conversations."""
        self._read()
        assert self._crowd is not None
        return self._crowd

    def _test(self, cand: _Candidate, rankings: Mapping[str, str | None]
              ) -> tuple[Figures, dict[str, list[str | None]]]:
        assert self._crowd is not None
        pairs = [(cid, rankings.get(kb), rankings.get(ka)) for cid, (kb, ka) in cand.rerank_keys.items()]
        figures = figures_for(self._crowd, pairs, resamples=self.plan.options.resamples,
                              seed=_seed(cand.item.input_hash, self.plan.ranker_config.model or ""))
        return figures, {cid: [b, a] for cid, b, a in pairs}


def figures_for(crowd: CrowdView, pairs: Sequence[tuple[str, str | None, str | None]], *, resamples: int,
                seed: int) -> Figures:
    """Paired figures over conversations ranked both ways: ``(conversation, ranking before, ranking after)``."""
    before, after = [], []
    for cid, ranking_before, ranking_after in pairs:
        if ranking_before is None or ranking_after is None:
            continue
        b = pair_counts(crowd.rankings.get(cid, ()), ranking_before)
        a = pair_counts(crowd.rankings.get(cid, ()), ranking_after)
        if b[1] == 0 and a[1] == 0:
            continue
        before.append(b)
        after.append(a)
    return paired_figures(np.array(before, dtype=np.int64).reshape(-1, 2),
                          np.array(after, dtype=np.int64).reshape(-1, 2), resamples=resamples, seed=seed)


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x * 100:+.1f}"


def _decide(figures: Figures, threshold: float) -> tuple[str, str]:
    if figures.change is None or figures.change_low is None:
        return "rejected", "Not tested: no conversation got a usable ranking both before and under the edit."
    span = (f"agreement change {_pct(figures.change)} points [{_pct(figures.change_low)}, "
            f"{_pct(figures.change_high)}] over {figures.conversations} conversations")
    if figures.change_low > threshold:
        return "kept", f"Kept: {span}; the lower bound is above {_pct(threshold)}."
    return "rejected", f"Rejected: {span}; the lower bound is not above {_pct(threshold)}."


def _similar(a: str, b: str) -> float:
    """Return difflib's ratio over the two texts' words.

    By character, the comparison of two sections of thousands of characters is quadratic and takes
    a large part of a second; by word it takes milliseconds.
    """
    if a == b:  # the common case of a merge: two calls wrote the same text
        return 1.0
    matcher = difflib.SequenceMatcher(None, a.split(), b.split(), autojunk=False)
    if matcher.real_quick_ratio() < MERGE_SIMILARITY or matcher.quick_ratio() < MERGE_SIMILARITY:
        return 0.0
    return matcher.ratio()


def _record(workspace: Workspace, plan: ProposePlan, model: str, ranker_model: str, candidates: Sequence[_Candidate],
            tests: _Testing, generation: RunSummary, rerank: RunSummary | None, actor: str) -> ProposeSummary:
    """Store every candidate, the kept ones' proposals and the run's event, in one transaction."""
    from reviewer.proposals import build_sections

    store = workspace.store
    options = plan.options
    run_id = new_id()
    crowd = tests.crowd()
    document = workspace.load_spec(plan.spec_revision).document
    now = utc_now()
    rows: list[CandidateRow] = []
    proposal_ids: list[str] = []
    with sql_errors("saving the candidates"), store.db.atomic():
        earlier = [(cid, section, text, proposal) for cid, section, text, proposal in store.db.execute(
            "SELECT id, section_id, new_text, proposal_id FROM candidates WHERE status = 'kept' ORDER BY created_at, id")]
        for cand in candidates:
            candidate_id = new_id()
            verdict = cand.verdict
            assert verdict is not None
            figures = _NO_FIGURES
            detail: dict[str, Any] = {"reason": verdict.reason, "generation_input_hash": cand.item.input_hash}
            status, reason, proposal_id, merged_with = "rejected", f"Malformed edit: {cand.problem}", None, None
            if cand.problem is None:
                figures, detail["rankings"] = tests.figures_of(cand)
                status, reason = _decide(figures, options.threshold)
            if status == "kept":
                match = next(((eid, proposal) for eid, section, text, proposal in earlier
                              if section == cand.section_id and _similar(text, cand.text) >= MERGE_SIMILARITY), None)
                if match is not None:
                    merged_with, proposal_id = match
                    status = "merged"
                    reason += f" Merged with candidate {merged_with}, which changes the section in nearly the same way."
                else:
                    expected = {crowd.prompt_ids[c]: r for c, (_b, r) in detail["rankings"].items()
                                if r and c in cand.conversations and c in crowd.prompt_ids}
                    proposal = store.add_proposal(
                        title=verdict.title, intent=verdict.intent, kind=verdict.kind, origin=ORIGINS[options.mode],
                        base_revision=plan.spec_revision,
                        sections=build_sections(document, [(cand.section_id, cand.text)]), created_by=actor,
                        linked_conversations=list(cand.conversations), expected_ranking=expected or None,
                        extra={"candidate_id": candidate_id, "propose_run_id": run_id, "model": model,
                               "prompt_version": PROMPT_VERSIONS["propose"]},
                        actor=actor)
                    proposal_id = proposal.id
                    proposal_ids.append(proposal.id)
                    earlier.append((candidate_id, cand.section_id, cand.text, proposal.id))
            row = CandidateRow(
                id=candidate_id, run_id=run_id, mode=options.mode, section_id=cand.section_id, model=model,
                prompt_version=PROMPT_VERSIONS["propose"], ranker_model=ranker_model,
                ranker_prompt_version=PROMPT_VERSIONS["ranker"], title=verdict.title, intent=verdict.intent,
                kind=verdict.kind, conversations=cand.conversations, holdout=cand.holdout, figures=figures,
                threshold=options.threshold, status=status, reason=reason, proposal_id=proposal_id,
                merged_with=merged_with, created_at=now)
            rows.append(row)
            f = figures
            store.db.execute(
                "INSERT INTO candidates (id, run_id, mode, section_id, spec_revision, model, prompt_version, input_hash,"
                " ranker_model, ranker_prompt_version, title, intent, kind, new_text, conversations, holdout,"
                " before_share, before_low, before_high, after_share, after_low, after_high, change, change_low,"
                " change_high, threshold, status, reason, proposal_id, merged_with, detail, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [candidate_id, run_id, options.mode, cand.section_id, plan.spec_revision, model,
                 PROMPT_VERSIONS["propose"], cand.item.input_hash, ranker_model, PROMPT_VERSIONS["ranker"],
                 verdict.title, verdict.intent, verdict.kind, cand.text, json.dumps(list(cand.conversations)),
                 json.dumps(list(cand.holdout)), f.before, f.before_low, f.before_high, f.after, f.after_low,
                 f.after_high, f.change, f.change_low, f.change_high, float(options.threshold), status, reason,
                 proposal_id, merged_with, json.dumps(detail, ensure_ascii=False, sort_keys=True), now])
        digest = writer_rows_digest(store.db.conn, "candidates", run_id)
        counts = {s: sum(1 for r in rows if r.status == s) for s in ("kept", "merged", "rejected")}
        audit.append_event(
            store.db, actor=actor, action="propose.record", object_type="propose_run", object_id=run_id,
            payload={"mode": options.mode, "model": model, "prompt_version": PROMPT_VERSIONS["propose"],
                     "ranker_model": ranker_model, "ranker_prompt_version": PROMPT_VERSIONS["ranker"],
                     "spec_revision": plan.spec_revision, "ranker_run_id": plan.ranker_run_id,
                     "threshold": float(options.threshold), "generation_job": generation.job_id,
                     "rerank_job": rerank.job_id if rerank else None, "candidates": len(rows), **counts,
                     "proposal_ids": proposal_ids, "digests": {"candidates": digest.to_json()}})
    return ProposeSummary(run_id, options.mode, generation, rerank, tuple(rows), counts["kept"], counts["merged"],
                          counts["rejected"], tuple(proposal_ids))


# ---- reading -----------------------------------------------------------------------------------


def list_candidates(store: Store, *, section_id: str | None = None, status: str | None = None,
                    limit: int | None = None) -> list[CandidateRow]:
    """Return the stored candidates, newest first (optionally one section's, or one status)."""
    sql = ("SELECT id, run_id, mode, section_id, model, prompt_version, ranker_model, ranker_prompt_version, title,"
           " intent, kind, conversations, holdout, before_share, before_low, before_high, after_share, after_low,"
           " after_high, change, change_low, change_high, threshold, status, reason, proposal_id, merged_with,"
           " created_at FROM candidates")
    where: list[str] = []
    params: list[Any] = []
    if section_id:
        where.append("section_id = ?")
        params.append(section_id)
    if status:
        where.append("status = ?")
        params.append(status)
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY created_at DESC, rowid DESC"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(int(limit))
    out = []
    with sql_errors("reading the candidates"):
        for r in store.db.execute(sql, params):
            conversations, holdout = tuple(json.loads(r[11])), tuple(json.loads(r[12]))
            tested = len(set(conversations) | set(holdout)) if r[19] is not None else 0
            figures = Figures(tested, *r[13:22])
            out.append(CandidateRow(
                id=r[0], run_id=r[1], mode=r[2], section_id=r[3], model=r[4], prompt_version=r[5], ranker_model=r[6],
                ranker_prompt_version=r[7], title=r[8], intent=r[9], kind=r[10], conversations=conversations,
                holdout=holdout, figures=figures, threshold=r[22], status=r[23], reason=r[24], proposal_id=r[25],
                merged_with=r[26], created_at=r[27]))
    return out


# ---- what-if: agreement under any proposal ----------------------------------------------------


@dataclass(frozen=True)
class WhatIfPlan:
    """Re-ranking a proposal's relevant conversations under its text, ready to confirm.

    Attributes:
        proposal_id: the proposal.
        sections: the sections it changes.
        conversations: the relevant conversations re-ranked.
        items: the ranker requests (each conversation as the spec is, and under the proposal).
        estimate: calls and tokens (``reviewer.judges.estimates.Estimate``).
        spec_revision: the spec the proposal is applied to (the current one).
        config: the ranker's endpoint settings.
    """

    proposal_id: str
    sections: tuple[str, ...]
    conversations: tuple[str, ...]
    items: tuple[WorkItem, ...]
    estimate: Any
    spec_revision: str
    config: ModelConfig


@dataclass(frozen=True)
class WhatIf:
    """Agreement now and under a proposal, over the same conversations.

    Attributes:
        proposal_id: the proposal.
        sections: the sections it changes.
        model: the ranker model; prompt_version: its prompt.
        spec_revision: the spec it was compared with.
        figures: before (now) and after (under the proposal), with the paired change.
        summary: the ranker job's summary.
    """

    proposal_id: str
    sections: tuple[str, ...]
    model: str
    prompt_version: str
    spec_revision: str
    figures: Figures
    summary: RunSummary


def plan_what_if(workspace: Workspace, proposal_id: str, config: ModelConfig, *, min_relevance: int = 5,
                 limit: int = 200) -> WhatIfPlan:
    """Build the ranker requests that compare agreement now with agreement under a proposal's text.

    Raises:
        KnownError: no such proposal, a section missing from the current spec, or no relevant conversation.
    """
    from reviewer.agreement import effective_grades
    from reviewer.judges.estimates import estimate

    store = workspace.store
    proposal = store.get_proposal(proposal_id)
    loaded = workspace.load_spec()
    document = loaded.document
    current, edited = [], []
    for change in proposal.sections:
        section = document.get(change.section_id)
        if section is None:
            raise KnownError(f"The current spec has no section {change.section_id!r}.",
                             hint="Rebase the proposal first (`spec-review proposal rebase`).")
        current.append(section)
        edited.append(parse_spec(change.new_text).sections[0])
    ids = {s.section_id for s in proposal.sections}
    graded = sorted({c for (c, s), _g in effective_grades(store, min_grade=min_relevance).items() if s in ids})
    crowd = load_crowd(store, graded)
    usable = [c for c in graded if crowd.rankings.get(c)]
    if len(usable) > limit:
        usable = sorted(random.Random(_seed("what-if", proposal_id)).sample(usable, limit))
    if not usable:
        raise KnownError(f"No conversation with crowd rankings is graded ≥ {min_relevance} for the proposal's sections.",
                         hint="Grade relevance first, or lower --min-relevance.")
    prompt = load_prompt("ranker")
    rows = _conversation_rows(store, usable)
    cache: dict[Any, Any] = {}
    digests = Digests()
    before, after = spec_message(document, current, cache), spec_message(document, edited, cache)
    items = []
    for cid in usable:
        block = conversation_block(rows[cid][1], rows[cid][2])
        payload = {"conversation_id": cid, "prompt_id": rows[cid][0], "proposal_id": proposal_id}
        items.append(make_messages_item(prompt, f"now:{cid}", [before, block], payload, digests))
        items.append(make_messages_item(prompt, f"under:{cid}", [after, block], payload, digests))
    est = estimate(store, items, config.model or "", endpoint=config.endpoint, prices=load_prices(workspace.root))
    return WhatIfPlan(proposal_id, tuple(sorted(ids)), tuple(usable), tuple(items), est, loaded.revision, config)


def what_if_figures(workspace: Workspace, plan: WhatIfPlan, summary: RunSummary, *, model: str,
                    resamples: int = 1000) -> WhatIf:
    """Read the ranker's answers for a what-if plan (after it ran) and compute the figures."""
    answers = cached_results(workspace.store, "ranker", PROMPT_VERSIONS["ranker"], model,
                             (i.input_hash for i in plan.items))
    ranking = {i.key: (answers.get(i.input_hash) or {}).get("ranking") for i in plan.items}
    crowd = load_crowd(workspace.store, plan.conversations)
    pairs = [(c, ranking.get(f"now:{c}"), ranking.get(f"under:{c}")) for c in plan.conversations]
    figures = figures_for(crowd, pairs, resamples=resamples, seed=_seed("what-if", plan.proposal_id, model))
    return WhatIf(plan.proposal_id, plan.sections, model, PROMPT_VERSIONS["ranker"], plan.spec_revision, figures,
                  summary)


__all__ = [
    "DEFAULT_CONTEXT_TOKENS", "MERGE_SIMILARITY", "MODES", "ORIGINS", "CandidateRow", "Figures", "ProposeEstimate",
    "ProposeOptions", "ProposePlan", "ProposeSummary", "WhatIf", "WhatIfPlan", "check_edit", "execute_propose",
    "figures_for", "list_candidates", "paired_figures", "plan_propose", "plan_what_if", "spec_message",
    "what_if_figures",
]
