"""Commands for model-backed steps: judge (rank, relevance, stance, test, config, key), relevance, agreement, trust."""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypedDict

from cli.output import emit, redraw, value_of, warn
from reviewer.errors import KnownError
from reviewer.progress import Cancelled
from reviewer.reliability import label_reliability
from reviewer.store import require_proposal

EXIT_OK = 0
EXIT_USER_ERROR = 1
EXIT_INTERRUPTED = 130




class TerminalProgress:
    """A one-line progress bar on stderr (drawn only when stderr is a terminal).

    Attributes:
        stream: where the bar is drawn.
        enabled: whether anything is drawn.
    """

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self._total: int | None = None
        self._done = 0
        self._label = ""
        self._drawn = 0.0

    def start(self, total: int | None, label: str = "") -> None:
        """Begin a phase."""
        self._total, self._done, self._label = total, 0, label
        self._draw(force=True)

    def tick(self, amount: int = 1) -> None:
        """Advance the bar."""
        self._done += amount
        self._draw()

    def finish(self) -> None:
        """End the phase and the line."""
        self._draw(force=True)
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not force and now - self._drawn < 0.1):
            return
        self._drawn = now
        if self._total:
            filled = int(30 * self._done / self._total)
            bar = f"[{'#' * filled}{'.' * (30 - filled)}] {self._done}/{self._total}"
        else:
            bar = f"{self._done}"
        redraw(self.stream, f"{self._label}: {bar}")


# ---- endpoint options ------------------------------------------------------------------------


def add_endpoint_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--base-url", metavar="URL", help="OpenAI-compatible endpoint (default: the hosted service, "
                   "or SPEC_REVIEW_BASE_URL)")
    p.add_argument("--model", metavar="NAME", help="model name (or SPEC_REVIEW_MODEL)")
    p.add_argument("--concurrency", type=int, metavar="N", help="calls at once (default 4)")
    p.add_argument("--timeout", type=float, metavar="S", help="seconds to wait for one answer (default 120)")
    p.add_argument("--retries", type=int, metavar="N", help="retries after rate limits, timeouts and server errors")


def add_batch_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--batch", action="store_true",
                   help="send the calls through the OpenAI Batch API (results within 24 hours; a stopped run polls "
                        "the batch it sent when run again)")
    p.add_argument("--poll-every", type=float, default=30.0, metavar="S",
                   help="(--batch) seconds between looks at the batch's status (default 30)")


def endpoint_config(args: argparse.Namespace, root: Path | None) -> Any:
    from reviewer.modelconfig import load_config

    return load_config(root, overrides={
        "base_url": getattr(args, "base_url", None), "model": getattr(args, "model", None),
        "concurrency": getattr(args, "concurrency", None), "timeout": getattr(args, "timeout", None),
        "retries": getattr(args, "retries", None),
    })


def _judge(config: Any, what: str, hint: str) -> Any:
    from reviewer.judges.openai_judge import OpenAIJudge
    from reviewer.modelconfig import require_endpoint

    try:
        key = require_endpoint(config, what)
    except KnownError as exc:
        raise KnownError(exc.message, hint=f"{exc.hint} {hint}".strip()) from exc
    return OpenAIJudge.from_config(config, key)


def confirm_estimate(estimate: Any, args: argparse.Namespace) -> None:
    """Show the estimate and get a yes: ``--yes``, a typed yes on a terminal, else exit 1."""
    if estimate.calls == 0 or args.yes:
        return
    if sys.stdin.isatty() and sys.stderr.isatty():
        warn(estimate.describe() + "\nProceed? [y/N] ", end="")
        sys.stderr.flush()
        if sys.stdin.readline().strip().lower() in ("y", "yes"):
            return
        raise KnownError("Nothing was sent to the model.")
    emit({"estimate": asdict(estimate), "confirmed": False}, args.json, estimate.describe())
    raise KnownError("This run needs confirmation.", hint="Run again with --yes to send these requests.")


def _run(args: argparse.Namespace, workspace: Any, items: list[Any], judge: Any, config: Any,
         spec_revision: str | None, params: dict[str, Any], extra: dict[str, Any] | None = None) -> int:
    from reviewer import operations
    from reviewer.judges.estimates import estimate
    from reviewer.judges.running import flagged_text, run_usage, usage_text
    from reviewer.prices import load_prices
    from reviewer.store import APP_ACTOR

    prices = load_prices(workspace.root)
    plan = estimate(workspace.store, items, judge.model, endpoint=judge.config.endpoint, prices=prices)
    confirm_estimate(plan, args)
    try:
        summary = value_of(operations.run_model_items(
            workspace, items, judge, config, actor=APP_ACTOR, spec_revision=spec_revision, params=params,
            progress=TerminalProgress(),
        ))
    except (Cancelled, KeyboardInterrupt):
        warn("spec-review: cancelled; the answers received are kept. Run the same command again to resume.")
        return EXIT_INTERRUPTED
    data = {"estimate": asdict(plan), "summary": asdict(summary), **(extra or {})}
    human = (f"{summary.task} with {summary.model}: {summary.ok} of {summary.items} answered "
             f"({summary.cached} from the cache, {summary.called} sent), {summary.failed} failed, "
             f"{summary.flagged} flagged, {summary.stored} new rows stored"
             + (f"; ranker run {summary.ranker_run_id}" if summary.ranker_run_id else "")
             + (f"; job {summary.job_id}{' (resumed)' if summary.resumed else ''}."))
    data["usage"] = run_usage([summary], prices)
    human += "\n" + usage_text(data["usage"])
    flagged = flagged_text(summary)
    if flagged:
        human += ("\n" + flagged + " On the command line, `spec-review export stances WORKSPACE -o FILE` writes "
                  "every label with its detail; a flagged one has `flags` in it.")
    for failure in summary.failures[:10]:
        human += f"\n  failed {failure.item_key}: {failure.kind}: {failure.error}"
    emit(data, args.json, human)
    return EXIT_OK


def cmd_judge_rank(args: argparse.Namespace) -> int:
    """Rank each conversation's responses by the spec with a model."""
    from reviewer.judges.items import ranker_items
    from reviewer.workspace import Workspace

    with Workspace.open(args.workspace) as workspace:
        config = endpoint_config(args, workspace.root)
        judge = _judge(config, "Ranking by the spec",
                       "Rankings made elsewhere can be brought in with `spec-review import rankings`.")
        spec = workspace.load_spec(args.rev)
        items, skipped = ranker_items(workspace.store, spec.document, min_relevance=args.min_relevance,
                                      limit=args.limit)
        if not items:
            raise KnownError("There are no conversations to rank"
                             + (f" with a section graded ≥ {args.min_relevance}." if args.min_relevance else "."))
        params = {"rev": args.rev, "min_relevance": args.min_relevance, "limit": args.limit}
        return _run(args, workspace, items, judge, config, spec.revision, params,
                    {"skipped_no_relevant_section": len(skipped), "spec_revision": spec.revision})


def cmd_judge_relevance(args: argparse.Namespace) -> int:
    """Grade conversations' relevance to sections, with a model or (``--lexical``) by BM25."""
    if args.lexical:
        return cmd_relevance(args)
    from reviewer.judges.items import relevance_items
    from reviewer.workspace import Workspace

    with Workspace.open(args.workspace) as workspace:
        config = endpoint_config(args, workspace.root)
        judge = _judge(config, "Grading relevance with a model",
                       "Without a model, grade by BM25: `spec-review relevance WORKSPACE --lexical`.")
        spec = workspace.load_spec()
        sections = [s.strip() for s in args.sections.split(",") if s.strip()] if args.sections else None
        items = relevance_items(workspace.store, spec.document, section_ids=sections, limit=args.limit)
        if not items:
            raise KnownError("This workspace has no conversations to grade.", hint="Import crowd data first.")
        params = {"sections": sections, "limit": args.limit}
        return _run(args, workspace, items, judge, config, spec.revision, params)


def cmd_judge_stance(args: argparse.Namespace) -> int:
    """Label justifications' stances towards proposals with a model."""
    from reviewer.judges.items import stance_items
    from reviewer.workspace import Workspace

    with Workspace.open(args.workspace) as workspace:
        config = endpoint_config(args, workspace.root)
        judge = _judge(config, "Labelling stances with a model",
                       "Without a model, the exact ranking rule labels stances: "
                       "`spec-review evidence-rule WORKSPACE`.")
        items = stance_items(workspace.store, proposal_id=args.proposal, limit=args.limit)
        if not items:
            raise KnownError("There are no justifications to label: no proposal has linked conversations with "
                             "justifications.")
        params = {"proposal": args.proposal, "limit": args.limit}
        return _run(args, workspace, items, judge, config, None, params)


def cmd_judge_test(args: argparse.Namespace) -> int:
    """Send one tiny request to the configured endpoint."""
    from reviewer.judges.openai_judge import test_connection

    root = _workspace_root(args.workspace)
    config = endpoint_config(args, root)
    message = test_connection(config)
    emit({"ok": True, "endpoint": config.endpoint, "model": config.model, "message": message}, args.json, message)
    return EXIT_OK


def _workspace_root(path: str | None) -> Path | None:
    if not path:
        return None
    from reviewer.workspace import Workspace

    with Workspace.open(path) as workspace:
        return workspace.root


def cmd_judge_config(args: argparse.Namespace) -> int:
    """Show (and with ``--save``, keep) the effective model settings; the key only by its source."""
    from reviewer.modelconfig import CONFIG_FILE, config_files, resolve_api_key, save_config

    root = _workspace_root(args.workspace)
    config = endpoint_config(args, root)
    saved = None
    if args.save:
        if root is None:
            raise KnownError("--save needs a WORKSPACE.")
        saved = str(save_config(config, root / CONFIG_FILE))
    key = resolve_api_key(config)
    data = {"settings": config.to_json(), "endpoint": config.endpoint, "configured": config.configured,
            "endpoint_chosen_by": config.endpoint_chosen_by, "api_key_source": key.source,
            "api_key_withheld": key.withheld, "files": [str(p) for p in config_files(root)], "saved_to": saved}
    if key.withheld:
        key_line = f"not sent: the key from {key.withheld} goes only to endpoints chosen on this machine"
    else:
        key_line = f"from {key.source}" if key.source else "not found"
    human = "\n".join([f"{k:<16} {v}" for k, v in config.to_json().items()]
                      + [f"{'endpoint':<16} {config.endpoint}"
                         + (f" (chosen by {config.endpoint_chosen_by})" if config.endpoint_chosen_by else "")]
                      + [f"{'api key':<16} {key_line}"]
                      + ([f"saved to {saved}"] if saved else []))
    emit(data, args.json, human)
    return EXIT_OK


def cmd_judge_prices(args: argparse.Namespace) -> int:
    """Show the price table; with ``--set`` or ``--remove``, change one model's entry first."""
    from reviewer.prices import PRICES_FILE, Price, price_table, prices_files, set_price

    root = _workspace_root(args.workspace)
    if args.save_here and root is None:
        raise KnownError("--save-here needs a WORKSPACE.")
    target = root / PRICES_FILE if args.save_here and root is not None else prices_files(None)[0]
    changed = None
    if args.set and args.remove:
        raise KnownError("Use --set or --remove, not both.")
    if args.set:
        given = {"--input": args.input, "--cached-input": args.cached_input, "--output": args.output}
        missing = [name for name, value in given.items() if value is None]
        if missing:
            raise KnownError(f"--set needs all three prices; missing {', '.join(missing)}.",
                             hint="Prices are dollars per million tokens, as providers list them.")
        changed = str(set_price(target, args.set, Price(args.input, args.cached_input, args.output)))
    elif args.remove:
        changed = str(set_price(target, args.remove, None))
    rows = price_table(root)
    data = {"prices": [{"model": r.model, **r.price.to_json(), "source": r.source} for r in rows],
            "files": [str(p) for p in prices_files(root)], "saved_to": changed}
    lines = [f"{'model':<28} {'input':>10} {'cached in':>10} {'output':>10}  (dollars per million tokens)"]
    lines += [f"{r.model:<28} {r.price.input:>10g} {r.price.cached_input:>10g} {r.price.output:>10g}  {r.source}"
              for r in rows]
    if not rows:
        lines = ["No prices set: estimates say 'no price set for MODEL'. Set one with "
                 "`spec-review judge prices --set MODEL --input X --cached-input Y --output Z`."]
    if changed:
        lines.append(f"saved to {changed}")
    emit(data, args.json, "\n".join(lines))
    return EXIT_OK


def cmd_judge_key(args: argparse.Namespace) -> int:
    """Store an API key in the system keyring (read from the terminal or standard input)."""
    from reviewer.modelconfig import store_api_key

    key = getpass.getpass("API key: ") if sys.stdin.isatty() else sys.stdin.readline()
    key = key.strip()
    if not key:
        raise KnownError("No key was given.")
    message = store_api_key(key, args.base_url)
    emit({"ok": True, "message": message}, args.json, message)
    return EXIT_OK


def cmd_relevance(args: argparse.Namespace) -> int:
    """Grade relevance by BM25 (the default without a model)."""
    from reviewer import operations
    from reviewer.store import APP_ACTOR
    from reviewer.workspace import Workspace

    if not args.lexical:
        raise KnownError("Say how to grade: --lexical (BM25, no model).",
                         hint="To grade with a model, use `spec-review judge relevance WORKSPACE`.")
    with Workspace.open(args.workspace) as workspace:
        summary = value_of(operations.grade_lexical(workspace, actor=APP_ACTOR, progress=TerminalProgress()))
    data = asdict(summary)
    human = (f"Graded {summary.conversations} conversations against {summary.sections} sections by "
             f"{summary.grader} (rule): " + ", ".join(f"grade {g}: {n}" for g, n in summary.by_grade.items()))
    emit(data, args.json, human)
    return EXIT_OK


def _human_agreement(data: dict[str, Any]) -> str:
    def line(name: str, s: dict[str, Any]) -> str:
        if s["share"] is None:
            return f"{name:<48} –  (no counted pairs)"
        interval = (f"[{s['low'] * 100:.0f}–{s['high'] * 100:.0f}%]" if s["low"] is not None else "[–]")
        plural = "" if s["conversations"] == 1 else "s"
        return (f"{name:<48} {s['share'] * 100:5.1f}% {interval:<11} {s['conversations']} conversation{plural}, "
                f"{s['counted']} pairs")

    out = [f"Ranker run {data['run_id']} ({data['model']}), {data['view']} rankings, sections with conversations "
           f"graded ≥ {data['min_relevance']}; 95% bootstrap intervals over {data['resamples']} resamples."]
    out.append(line("overall", data["overall"]["stats"]))
    for name, g in data["overall"]["groups"].items():
        out.append(line(f"  {data['by']}={name}", g))
    for entry in data["sections"]:
        out.append(line(entry["section_id"], entry["stats"]))
        for name, g in entry["groups"].items():
            out.append(line(f"  {data['by']}={name}", g))
    hidden = data["hidden_sections"]
    if hidden:
        plural = "section" if hidden == 1 else "sections"
        out.append(f"{hidden} {plural} with fewer than {data['min_conversations']} conversations not shown "
                   "(their intervals say little); --min-conversations 1 lists them.")
    return "\n".join(out)


def _human_trust(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "No link has been labelled by both a person and a model or rule."
    out = []
    for r in rows:
        name = f"{r['source_kind']}:{r['source_name']}" + (f" ({r['prompt_version']})" if r["prompt_version"] else "")
        kappa = "–" if r["kappa"] is None else f"{r['kappa']:.2f}"
        share = "–" if r["share"] is None else f"{r['share'] * 100:.0f}%"
        out.append(f"{name:<50} agrees with people on {share} of {r['compared']} labels (kappa {kappa})")
    return "\n".join(out)


def cmd_agreement(args: argparse.Namespace) -> int:
    """Crowd–ranker agreement per section with bootstrap intervals (or, with ``--labels``, label trust)."""
    from reviewer.agreement import MIN_CONVERSATIONS, workspace_agreement
    from reviewer.workspace import Workspace

    if args.batch and not args.under:
        raise KnownError("--batch sends a what-if's calls through the Batch API: it goes with --under PROPOSAL_ID.")
    if args.labels:
        return cmd_trust(args)
    if args.under:
        return cmd_agreement_under(args)
    with Workspace.open(args.workspace) as workspace:
        result = workspace_agreement(
            workspace, min_relevance=args.min_relevance, by=args.by, resamples=args.resamples, seed=args.seed,
            view="personal" if args.personal else "world", run_id=args.run,
            min_conversations=MIN_CONVERSATIONS if args.min_conversations is None else args.min_conversations)
    if args.svg:
        from reviewer.charts import agreement_svg

        try:
            Path(args.svg).write_text(agreement_svg(result, by=args.by), encoding="utf-8")
        except OSError as exc:
            raise KnownError(f"Cannot write {args.svg}: {exc.strerror or exc}.") from exc
    data = result.to_json()
    emit(data, args.json, _human_agreement(data))
    return EXIT_OK


def cmd_agreement_under(args: argparse.Namespace) -> int:
    """What-if: re-rank a proposal's relevant conversations now and under its text; agreement now → under it."""
    from reviewer import operations
    from reviewer.judges.batch import BatchOptions
    from reviewer.judges.running import run_usage, usage_text
    from reviewer.prices import load_prices
    from reviewer.propose import plan_what_if
    from reviewer.store import APP_ACTOR
    from reviewer.workspace import Workspace

    with Workspace.open(args.workspace) as workspace:
        config = endpoint_config(args, workspace.root)
        _judge(config, "Re-ranking under a proposal", "Without a model, compare the proposal's evidence instead: "
               "`spec-review evidence WORKSPACE PROPOSAL_ID`.")
        plan = plan_what_if(workspace, args.under, config, min_relevance=args.min_relevance, limit=args.limit or 200)
        prices = load_prices(workspace.root)
        confirm_estimate(plan.estimate, args)
        try:
            batch = BatchOptions(poll_every=args.poll_every) if args.batch else None
            result = value_of(operations.what_if(workspace, plan, actor=APP_ACTOR, progress=TerminalProgress(),
                                                 resamples=args.resamples, batch=batch))
        except (Cancelled, KeyboardInterrupt):
            warn("spec-review: cancelled; the answers received are kept. Run the same command again to resume.")
            return EXIT_INTERRUPTED
    usage = run_usage([result.summary], prices)
    data = {"estimate": asdict(plan.estimate), **asdict(result), "usage": usage}
    f = result.figures

    def pct(x: float | None, signed: bool = False) -> str:
        return "–" if x is None else (f"{x * 100:+.1f}" if signed else f"{x * 100:.1f}%")

    if f.change is None:
        human = (f"Proposal {result.proposal_id}: no conversation got a usable ranking both now and under the "
                 "proposal.")
    else:
        human = (f"Proposal {result.proposal_id} ({', '.join(result.sections)}), ranked by {result.model} "
                 f"({result.prompt_version}) over {f.conversations} relevant conversations:\n"
                 f"  now            {pct(f.before)} [{pct(f.before_low)}–{pct(f.before_high)}]\n"
                 f"  under proposal {pct(f.after)} [{pct(f.after_low)}–{pct(f.after_high)}]\n"
                 f"  change         {pct(f.change, True)} points [{pct(f.change_low, True)}, "
                 f"{pct(f.change_high, True)}] (paired 95% bootstrap interval)")
    emit(data, args.json, human + "\n" + usage_text(usage))
    return EXIT_OK


def cmd_trust(args: argparse.Namespace) -> int:
    """How far each model or rule agrees with people on stance labels (share and Cohen's kappa)."""
    from reviewer.agreement import label_trust
    from reviewer.workspace import Workspace

    with Workspace.open(args.workspace) as workspace:
        rows = [asdict(r) for r in label_trust(workspace.store)]
        # Beside each source's kappa, alpha across every labeller (only in the text: --json keeps its rows).
        # Its interval takes the bootstrap draws asked for (``agreement --labels --resamples``; trust's own).
        alpha = None if args.json else label_reliability(workspace.store, **_bootstrap(args))
    emit(rows, args.json, lambda _rows: _human_trust(rows) + (f"\n{alpha.describe()}" if alpha else ""))
    return EXIT_OK


class _Bootstrap(TypedDict, total=False):
    resamples: int
    seed: int


def _bootstrap(args: argparse.Namespace) -> _Bootstrap:
    """The ``resamples`` and ``seed`` a command was given, for ``label_reliability`` (its defaults otherwise)."""
    out = _Bootstrap()
    if getattr(args, "resamples", None) is not None:
        out["resamples"] = int(args.resamples)
    if getattr(args, "seed", None) is not None:
        out["seed"] = int(args.seed)
    return out


def cmd_reliability(args: argparse.Namespace) -> int:
    """Krippendorff's alpha (nominal) across every stance labeller, with a bootstrap interval."""
    from reviewer.workspace import Workspace

    if args.resamples < 0:
        raise KnownError("--resamples must be 0 or more.")
    with Workspace.open(args.workspace) as workspace:
        if args.proposal:
            require_proposal(workspace.store.db.conn, args.proposal)
        result = label_reliability(workspace.store, proposal_id=args.proposal, resamples=args.resamples,
                                   seed=args.seed)
    emit(asdict(result), args.json, result.describe())
    return EXIT_OK


# ---- registration ----------------------------------------------------------------------------


def register(groups: Any) -> None:
    """Add ``judge``, ``relevance``, ``agreement`` and ``trust`` to the command line."""
    judge = groups.top.add_parser("judge", help="model-backed steps: rank, relevance, stance; test the endpoint")
    sub = judge.add_subparsers(dest="judge_command", parser_class=type(judge), metavar="COMMAND", required=True)

    def task_parser(name: str, help_text: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = sub.add_parser(name, help=help_text)
        p.add_argument("workspace")
        p.add_argument("--limit", type=int, metavar="N", help="at most N items")
        add_endpoint_options(p)
        p.add_argument("--yes", action="store_true", help="send the requests without asking")
        p.add_argument("--json", action="store_true")
        return p

    p = task_parser("rank", "rank each conversation's four responses by the spec (a ranker run)")
    p.add_argument("--rev", default="HEAD", help="spec revision to rank by (default HEAD)")
    p.add_argument("--min-relevance", type=int, metavar="N",
                   help="send only the sections graded ≥ N for each conversation (default: the whole spec)")
    p.set_defaults(func=cmd_judge_rank)
    p = task_parser("relevance", "grade each conversation's relevance 1–5 to each section")
    p.add_argument("--sections", metavar="IDS", help="only these section ids (comma-separated)")
    p.add_argument("--lexical", action="store_true", help="grade by BM25 instead of a model (no endpoint needed)")
    p.set_defaults(func=cmd_judge_relevance)
    p = task_parser("stance", "label each justification supports / refutes / no comment towards a proposal")
    p.add_argument("--proposal", metavar="ID", help="only this proposal (default: every proposal)")
    p.set_defaults(func=cmd_judge_stance)

    p = sub.add_parser("test", help="send one tiny request to the endpoint")
    p.add_argument("workspace", nargs="?", help="workspace whose models.json applies")
    add_endpoint_options(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_judge_test)
    p = sub.add_parser("config", help="show the effective model settings (never the key); --save keeps them")
    p.add_argument("workspace", nargs="?")
    add_endpoint_options(p)
    p.add_argument("--save", action="store_true", help="write the settings to WORKSPACE/models.json")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_judge_config)
    p = sub.add_parser("prices", help="show or edit the price table (dollars per million tokens, per model)")
    p.add_argument("workspace", nargs="?", help="workspace whose prices.json applies (and, with --save-here, is edited)")
    p.add_argument("--set", metavar="MODEL", help="set this model's prices (with --input, --cached-input, --output)")
    p.add_argument("--input", type=float, metavar="X", help="(--set) dollars per million input tokens")
    p.add_argument("--cached-input", type=float, metavar="X",
                   help="(--set) dollars per million input tokens read from the prompt cache")
    p.add_argument("--output", type=float, metavar="X", help="(--set) dollars per million output tokens")
    p.add_argument("--remove", metavar="MODEL", help="remove this model's prices")
    p.add_argument("--save-here", action="store_true",
                   help="edit WORKSPACE/prices.json instead of the user's price table")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_judge_prices)

    p = sub.add_parser("key", help="store an API key in the system keyring (read from the terminal or stdin)")
    p.add_argument("--base-url", metavar="URL", help="the endpoint the key is for (default: the hosted service)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_judge_key)

    p = groups.top.add_parser("relevance", help="grade relevance without a model (--lexical: BM25)")
    p.add_argument("workspace")
    p.add_argument("--lexical", action="store_true", help="BM25 of conversation text against section text")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_relevance)

    p = groups.top.add_parser("agreement", help="crowd–ranker agreement per section with bootstrap intervals")
    p.add_argument("workspace")
    p.add_argument("--min-relevance", type=int, default=5, metavar="N", help="grade a conversation needs (default 5)")
    # The default is reviewer.agreement.MIN_CONVERSATIONS, read when the command runs (numpy loads
    # only then); the help says its value and a test checks the two agree.
    p.add_argument("--min-conversations", type=int, metavar="N",
                   help="list only sections with at least N conversations (default 5; fewer give intervals "
                        "that say little)")
    p.add_argument("--by", metavar="FIELD", help="split by a demographic field (e.g. country_of_residence)")
    p.add_argument("--resamples", type=int, default=1000, metavar="N", help="bootstrap resamples (default 1000)")
    p.add_argument("--seed", type=int, metavar="S", help="random seed for reproducible intervals")
    p.add_argument("--personal", action="store_true", help="use personal rankings instead of world rankings")
    p.add_argument("--run", metavar="RUN_ID", help="ranker run (default: the newest)")
    p.add_argument("--svg", metavar="FILE", help="also draw the chart to an SVG file")
    p.add_argument("--labels", action="store_true", help="instead: models and rules against people on stance labels")
    p.add_argument("--under", metavar="PROPOSAL_ID",
                   help="what-if: re-rank the proposal's relevant conversations now and under its text with a "
                        "model, and show agreement now → under the proposal")
    p.add_argument("--limit", type=int, metavar="N", help="(--under) at most N conversations (default 200)")
    add_endpoint_options(p)
    p.add_argument("--yes", action="store_true", help="(--under) send the requests without asking")
    add_batch_options(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_agreement)

    p = groups.top.add_parser("trust", help="how far each model or rule agrees with people on stance labels")
    p.add_argument("workspace")
    p.add_argument("--resamples", type=int, default=1000, metavar="N",
                   help="bootstrap draws of the alpha line's interval (default 1000; 0: none, faster on a large board)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_trust)

    p = groups.top.add_parser("reliability",
                              help="Krippendorff's alpha across every stance labeller (people, models, rules)")
    p.add_argument("workspace")
    p.add_argument("--proposal", metavar="PROPOSAL_ID", help="only this proposal's links")
    p.add_argument("--resamples", type=int, default=1000, metavar="N", help="bootstrap draws (default 1000; 0: none)")
    p.add_argument("--seed", type=int, default=20250411, help="the bootstrap's seed")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_reliability)
