"""Plan a model run (items and an estimate to confirm), then carry it out: what the GUI calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reviewer.errors import KnownError
from reviewer.progress import Progress

if TYPE_CHECKING:
    from reviewer.judges.estimates import Estimate
    from reviewer.judges.items import WorkItem
    from reviewer.judges.running import RunSummary
    from reviewer.modelconfig import ModelConfig
    from reviewer.workspace import Workspace

TASKS = ("rank", "relevance", "stance")
_WITHOUT_A_MODEL = {
    "rank": "Rankings made elsewhere can be brought in with File ▸ Import, or `spec-review import rankings`.",
    "relevance": "Without a model, grade by BM25: `spec-review relevance WORKSPACE --lexical`.",
    "stance": "Without a model, the exact ranking rule labels stances: `spec-review evidence-rule WORKSPACE`.",
}


@dataclass(frozen=True)
class JudgePlan:
    """A model run ready to confirm: what will be sent and what it will cost.

    Attributes:
        task: rank, relevance or stance.
        items: the work (one model call each unless cached).
        estimate: calls and tokens, shown before anything is sent.
        config: the endpoint settings in force.
        spec_revision: the spec commit the requests were built from.
        params: the run's options (recorded with the job, so a re-run resumes it).
    """

    task: str
    items: tuple[WorkItem, ...]
    estimate: Estimate
    config: ModelConfig
    spec_revision: str | None
    params: dict[str, Any]


def plan_judge_run(
    workspace: Workspace,
    task: str,
    *,
    proposal_id: str | None = None,
    limit: int | None = None,
    min_relevance: int | None = None,
) -> JudgePlan:
    """Build the items of a model run and estimate it, without sending anything.

    Raises:
        KnownError: no endpoint is configured (saying what to set and what works without a model),
            or there is nothing to send.
    """
    from reviewer.judges import estimates
    from reviewer.judges.items import ranker_items, relevance_items, stance_items
    from reviewer.modelconfig import load_config, require_endpoint

    if task not in TASKS:
        raise KnownError(f"Unknown model task {task!r}.", hint=f"Use one of: {', '.join(TASKS)}.")
    config = load_config(workspace.root)
    try:
        require_endpoint(config, f"The {task} task")
    except KnownError as exc:
        raise KnownError(exc.message, hint=f"{exc.hint or ''} {_WITHOUT_A_MODEL[task]}".strip()) from exc
    spec_revision: str | None = None
    if task == "rank":
        spec = workspace.load_spec()
        spec_revision = spec.revision
        items, _skipped = ranker_items(workspace.store, spec.document, min_relevance=min_relevance, limit=limit)
        params: dict[str, Any] = {"rev": "HEAD", "min_relevance": min_relevance, "limit": limit}
    elif task == "relevance":
        spec = workspace.load_spec()
        spec_revision = spec.revision
        items = relevance_items(workspace.store, spec.document, limit=limit)
        params = {"sections": None, "limit": limit}
    else:
        items = stance_items(workspace.store, proposal_id=proposal_id, limit=limit)
        params = {"proposal": proposal_id, "limit": limit}
    if not items:
        raise KnownError("There is nothing to send to the model for this task.",
                         hint="Import crowd data, or link conversations to the proposal, first.")
    from reviewer.prices import load_prices

    estimate = estimates.estimate(workspace.store, items, config.model or "", endpoint=config.endpoint,
                                  prices=load_prices(workspace.root))
    return JudgePlan(task, tuple(items), estimate, config, spec_revision, params)


def execute_judge_run(
    workspace: Workspace, plan: JudgePlan, *, progress: Progress | None = None, actor: str | None = None
) -> RunSummary:
    """Send a confirmed plan to the model (cached answers are reused; a cancelled run resumes next time).

    Raises:
        Cancelled: the progress object cancelled the run (finished answers are kept).
        KnownError: the endpoint refused every request.
    """
    from reviewer.judges.openai_judge import OpenAIJudge
    from reviewer.judges.running import run_items
    from reviewer.modelconfig import require_endpoint
    from reviewer.store import APP_ACTOR

    judge = OpenAIJudge.from_config(plan.config, require_endpoint(plan.config, f"The {plan.task} task"))
    return run_items(
        workspace.store, list(plan.items), judge, plan.config, progress=progress,
        spec_revision=plan.spec_revision, params=plan.params, actor=actor or APP_ACTOR,
    )
