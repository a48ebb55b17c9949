"""Commands for the automated loop: ``propose`` (candidates from disagreement, tested before kept) and ``--list``."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from typing import Any

from cli.models import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    TerminalProgress,
    add_batch_options,
    add_endpoint_options,
    confirm_estimate,
    endpoint_config,
)
from cli.output import emit, value_of, warn
from reviewer.errors import KnownError
from reviewer.progress import Cancelled


def _pct(x: float | None, signed: bool = False) -> str:
    if x is None:
        return "–"
    return f"{x * 100:+.1f}" if signed else f"{x * 100:.1f}%"


def _figures_line(f: dict[str, Any]) -> str:
    if f["change"] is None:
        return "not tested"
    return (f"{_pct(f['before'])} [{_pct(f['before_low'])}–{_pct(f['before_high'])}] → {_pct(f['after'])} "
            f"[{_pct(f['after_low'])}–{_pct(f['after_high'])}], change {_pct(f['change'], True)} points "
            f"[{_pct(f['change_low'], True)}, {_pct(f['change_high'], True)}] over {f['conversations']} conversations")


def _candidate_lines(rows: list[dict[str, Any]]) -> list[str]:
    out = []
    for r in rows:
        head = f"{r['status']:<8} {r['section_id']} ({r['mode']}, {r['model']}/{r['prompt_version']}) {r['id']}"
        out.append(head)
        if r["title"]:
            out.append(f"    {r['title']}")
        out.append(f"    {_figures_line(r['figures'])}; ranker {r['ranker_model']}/{r['ranker_prompt_version']}")
        out.append(f"    from {len(r['conversations'])} conversations, {len(r['holdout'])} held out")
        out.append(f"    {r['reason']}")
        if r["proposal_id"]:
            out.append(f"    proposal {r['proposal_id']}" + (f" (merged with {r['merged_with']})" if r["merged_with"] else ""))
    return out


def cmd_propose(args: argparse.Namespace) -> int:
    """Propose spec edits from crowd–ranker disagreement; keep those whose agreement interval clears the bar."""
    from reviewer import operations
    from reviewer.judges.running import run_usage, usage_text
    from reviewer.prices import load_prices
    from reviewer.propose import ProposeOptions, list_candidates, plan_propose
    from reviewer.store import APP_ACTOR
    from reviewer.workspace import Workspace

    with Workspace.open(args.workspace) as workspace:
        if args.list:
            rows = [asdict(r) for r in list_candidates(workspace.store, section_id=(args.section or [None])[0],
                                                       status=args.status)]
            emit(rows, args.json, lambda data: "\n".join(_candidate_lines(data)) or "No candidates yet.")
            return EXIT_OK
        if not args.mode:
            raise KnownError("Say how to read the disagreements: --mode batch or --mode single.",
                             hint="Or list the candidates so far with --list.")
        config = endpoint_config(args, workspace.root)
        from reviewer.modelconfig import require_endpoint

        try:
            require_endpoint(config, "Proposing changes")
        except KnownError as exc:
            raise KnownError(exc.message, hint=f"{exc.hint or ''} Without a model, write the change yourself: "
                             "`spec-review proposal add`.".strip()) from exc
        options = ProposeOptions(
            mode=args.mode, sections=tuple(args.section or ()), min_relevance=args.min_relevance,
            max_candidates=args.max_candidates, holdout=args.holdout, threshold=args.threshold,
            context_tokens=args.context_tokens, resamples=args.resamples, ranker_model=args.ranker_model,
            batch_api=args.batch, batch_poll_every=args.poll_every)
        prices = load_prices(workspace.root)
        plan = plan_propose(workspace, options, config, prices=prices)
        confirm_estimate(plan.estimate, args)
        try:
            summary = value_of(operations.propose(workspace, plan, actor=args.by or APP_ACTOR,
                                                  progress=TerminalProgress()))
        except (Cancelled, KeyboardInterrupt):
            warn("spec-review: cancelled; the answers received are kept. Run the same command again to resume"
                 + (" (a batch already sent goes on at the provider and is polled, not sent again)." if args.batch
                    else "."))
            return EXIT_INTERRUPTED
    candidates = [asdict(c) for c in summary.candidates]
    data = {"estimate": asdict(plan.estimate), "run_id": summary.run_id, "mode": summary.mode,
            "kept": summary.kept, "merged": summary.merged, "rejected": summary.rejected,
            "proposal_ids": list(summary.proposal_ids), "candidates": candidates,
            "generation": asdict(summary.generation), "rerank": asdict(summary.rerank) if summary.rerank else None}
    usage = run_usage([summary.generation, summary.rerank], prices)
    data["usage"] = usage
    failed = summary.generation.failed + (summary.rerank.failed if summary.rerank else 0)
    human = "\n".join([
        f"propose ({summary.mode}) run {summary.run_id}: {len(summary.candidates)} candidates, {summary.kept} kept as "
        f"proposals, {summary.merged} merged with earlier ones, {summary.rejected} rejected"
        + (f"; {failed} model calls failed (see the judge jobs)" if failed else "") + ".",
        usage_text(usage), *_candidate_lines(candidates)])
    emit(data, args.json, human)
    return EXIT_OK


def register(groups: Any) -> None:
    """Add ``propose`` to the command line."""
    p = groups.top.add_parser("propose", help="propose spec edits from crowd–ranker disagreement, tested before kept")
    p.add_argument("workspace")
    p.add_argument("--list", action="store_true", help="list the candidates so far, kept or rejected, with why")
    p.add_argument("--status", choices=("kept", "rejected", "merged"), help="(--list) only these")
    p.add_argument("--mode", choices=("batch", "single"),
                   help="batch: many conversations per call (as many as fit the context); single: one per call")
    p.add_argument("--section", action="append", metavar="ID", help="only this section (repeatable)")
    p.add_argument("--min-relevance", type=int, default=5, metavar="N",
                   help="grade a conversation needs for a section (default 5)")
    p.add_argument("--max-candidates", type=int, default=3, metavar="N", help="candidates per section (default 3)")
    p.add_argument("--holdout", type=int, default=20, metavar="N",
                   help="held-out relevant conversations re-ranked with every candidate (default 20)")
    p.add_argument("--threshold", type=float, default=0.0, metavar="X",
                   help="keep a candidate when its change's 95%% interval lies above X (default 0)")
    p.add_argument("--context-tokens", type=int, default=128_000, metavar="N",
                   help="the proposing model's context, which a batch call must fit (default 128000)")
    p.add_argument("--resamples", type=int, default=1000, metavar="N", help="bootstrap resamples (default 1000)")
    p.add_argument("--ranker-model", metavar="NAME",
                   help="the model that re-ranks (default: the newest ranker run's, when a judge run made it; "
                        "else --model)")
    p.add_argument("--by", metavar="NAME", help="who runs it (recorded; default spec-review)")
    add_batch_options(p)
    add_endpoint_options(p)
    p.add_argument("--yes", action="store_true", help="send the requests without asking")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_propose)
