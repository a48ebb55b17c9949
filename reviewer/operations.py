"""The named operations: every state change the command line and the GUI can make.

Each function checks its actor (``reviewer.ops.perform``), makes its change with its audit event,
and returns an ``OpResult``: its typed value and the ``Changes`` read from the events it wrote.
The command line and the GUI write only through these (``tests/reviewer/test_operations.py``
checks that neither calls a writer directly); reads are the query functions of each module.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewer.errors import BugError
from reviewer.held import held_log
from reviewer.ops import OPERATIONS, OpResult, perform

if TYPE_CHECKING:
    from reviewer.bulk_labels import BulkResult
    from reviewer.changes import Changes
    from reviewer.committing import CommitReport
    from reviewer.decision_evidence import SeenEvidence
    from reviewer.discussion import Comment, Thread
    from reviewer.evidence import RuleSummary, StanceLabel
    from reviewer.formats import ImportReport
    from reviewer.governance import DecisionResult, Member
    from reviewer.groups import GroupParams, GroupRun
    from reviewer.importing import ImportSummary
    from reviewer.judges.base import Judge
    from reviewer.judges.batch import BatchOptions
    from reviewer.judges.items import WorkItem
    from reviewer.judges.running import RunSummary
    from reviewer.judges.runs import JudgePlan
    from reviewer.lexical import LexicalSummary
    from reviewer.modelconfig import ModelConfig
    from reviewer.progress import Progress
    from reviewer.propose import ProposePlan, ProposeSummary, WhatIf, WhatIfPlan
    from reviewer.revisions import Revision
    from reviewer.store import Proposal
    from reviewer.sync import SyncReport
    from reviewer.workspace import Workspace


# ---- the board ----------------------------------------------------------------------------------


def add_member(workspace: Workspace, name: str, roles: Sequence[str], *, actor: str, email: str | None = None,
               signing_key: str | None = None) -> OpResult[Member]:
    """Add a member (with their git email and signing key, when given), or give a member more roles."""
    from reviewer import governance

    return perform(workspace.store, "member.add", actor, lambda who: governance.add_member(
        workspace.store, name, roles, actor=who, email=email, signing_key=signing_key))


def set_identity(workspace: Workspace, name: str, email: str, *, actor: str,
                 signing_key: str | None = None) -> OpResult[Member]:
    """Record a member's git identity: the email their log commits carry, and their signing key.

    ``signing_key`` None keeps the key recorded; "" removes it.
    """
    from reviewer import governance

    return perform(workspace.store, "member.set_identity", actor, lambda who: governance.set_identity(
        workspace.store, name, email, signing_key, actor=who))


def remove_roles(workspace: Workspace, name: str, roles: Sequence[str], *, actor: str) -> OpResult[Member]:
    """Take one or more roles away from a member, all or none (the member's history stays).

    Raises:
        KnownError: no role named, no such member, or a role the member does not hold.
    """
    from reviewer import governance
    from reviewer.errors import KnownError

    if not roles:
        raise KnownError("Say which role to remove with --role.")

    def work(who: str) -> Member:
        member = None
        for role in roles:
            member = governance.remove_role(workspace.store, name, role, actor=who)
        assert member is not None
        return member

    return perform(workspace.store, "member.remove_roles", actor, work)


def set_quorum(workspace: Workspace, levels: Mapping[str, int], *, actor: str) -> OpResult[dict[str, int]]:
    """Change how many agreeing reviewers each authority level needs; returns every level's quorum."""
    from reviewer import governance

    return perform(workspace.store, "quorum.set", actor,
                   lambda who: governance.set_quorum(workspace.store, levels, actor=who))


def set_setting(workspace: Workspace, key: str, value: str, *, actor: str) -> OpResult[None]:
    """Change one workspace setting."""
    return perform(workspace.store, "workspace.set", actor,
                   lambda who: workspace.store.set_info(key, value, actor=who))


# ---- proposals and evidence ---------------------------------------------------------------------


def add_proposal(workspace: Workspace, *, actor: str, **fields: Any) -> OpResult[Proposal]:
    """Add a proposal (``reviewer.proposals.add_proposal`` names its fields); its author is the actor.

    With ``justifications``, they are linked by hand in the same operation: one transaction, and
    one commit on the log ref holding the proposal's event and each link's.
    """
    from reviewer import proposals

    fields.setdefault("created_by", actor)
    return perform(workspace.store, "proposal.add", actor,
                   lambda who: proposals.add_proposal(workspace, actor=who, **fields))


def revise_proposal(workspace: Workspace, proposal_id: str, *, actor: str, changes: Sequence[tuple[str, str]] = (),
                    title: str | None = None, intent: str | None = None, kind: str | None = None, note: str = "",
                    seen_revision: int | None = None) -> OpResult[Revision]:
    """Make a new revision of a proposal (``reviewer.revisions.revise``): votes on earlier text wait for confirmation."""
    from reviewer import revisions

    return perform(workspace.store, "proposal.revise", actor, lambda who: revisions.revise(
        workspace, proposal_id, changes=changes, title=title, intent=intent, kind=kind, note=note,
        seen_revision=seen_revision, actor=who))


def rebase_proposal(workspace: Workspace, proposal_id: str, *, actor: str,
                    resolutions: Mapping[str, str] | None = None, note: str = "",
                    seen_revision: int | None = None) -> OpResult[Revision]:
    """Carry a proposal onto the current spec as a new revision (``reviewer.revisions.rebase``)."""
    from reviewer import revisions

    return perform(workspace.store, "proposal.rebase", actor, lambda who: revisions.rebase(
        workspace, proposal_id, resolutions=resolutions, note=note, seen_revision=seen_revision, actor=who))


def link(workspace: Workspace, proposal_id: str, justification_id: str, *, actor: str,
         note: str | None = None) -> OpResult[None]:
    """Link a justification to a proposal by hand."""
    from reviewer import evidence

    return perform(workspace.store, "evidence.link", actor,
                   lambda who: evidence.link_statement(workspace.store, proposal_id, justification_id, who, note=note))


def unlink(workspace: Workspace, proposal_id: str, justification_id: str, *, actor: str,
           note: str | None = None) -> OpResult[None]:
    """Remove a hand link (the link and its labels stay in the history)."""
    from reviewer import evidence

    return perform(workspace.store, "evidence.unlink", actor,
                   lambda who: evidence.unlink_statement(workspace.store, proposal_id, justification_id, who, note=note))


def set_stance(workspace: Workspace, proposal_id: str, justification_id: str, stance: str, *, actor: str,
               note: str | None = None) -> OpResult[StanceLabel]:
    """Label a justification's stance on a proposal as a person (earlier labels are kept)."""
    from reviewer import evidence

    return perform(workspace.store, "stance.set", actor, lambda who: evidence.set_stance(
        workspace.store, proposal_id, justification_id, stance, who, note))


def set_stances(workspace: Workspace, proposal_id: str, justification_ids: Sequence[str], stance: str, *,
                actor: str, note: str | None = None) -> OpResult[BulkResult]:
    """Label many justifications' stance on a proposal as a person, in one transaction and one event."""
    from reviewer import bulk_labels

    return perform(workspace.store, "stance.bulk", actor, lambda who: bulk_labels.set_stances(
        workspace.store, proposal_id, justification_ids, stance, who, note))


def undo_stances(workspace: Workspace, *, actor: str, bulk_id: str | None = None) -> OpResult[BulkResult]:
    """Undo a bulk labelling (by default the actor's latest): each link back to exactly its stance before."""
    from reviewer import bulk_labels

    return perform(workspace.store, "stance.undo", actor,
                   lambda who: bulk_labels.undo_stances(workspace.store, who, bulk_id=bulk_id))


def apply_rule(workspace: Workspace, proposal_id: str, *, actor: str, run_id: str | None = None) -> OpResult[RuleSummary]:
    """Label a proposal's justifications by the exact ranking rule."""
    from reviewer import evidence

    return perform(workspace.store, "evidence.rule", actor,
                   lambda _who: evidence.apply_ranking_rule(workspace.store, proposal_id, run_id=run_id))


# ---- discussion ---------------------------------------------------------------------------------


def add_comment(workspace: Workspace, proposal_id: str, text: str, *, actor: str, section_id: str | None = None,
                justification_id: str | None = None, reply_to: str | None = None) -> OpResult[Comment]:
    """Comment on a proposal as a member: a new thread (on the proposal, a section or a justification) or a reply.

    ``@Name`` mentions a member (``reviewer.discussion.find_mentions``).
    """
    from reviewer import discussion

    return perform(workspace.store, "comment.add", actor, lambda who: discussion.add_comment(
        workspace.store, proposal_id, text, actor=who, section_id=section_id, justification_id=justification_id,
        reply_to=reply_to))


def resolve_thread(workspace: Workspace, thread_id: str, *, actor: str) -> OpResult[Thread]:
    """Resolve a discussion thread (named by its id or any of its comments' ids)."""
    from reviewer import discussion

    return perform(workspace.store, "comment.resolve", actor,
                   lambda who: discussion.set_resolved(workspace.store, thread_id, True, actor=who))


def reopen_thread(workspace: Workspace, thread_id: str, *, actor: str) -> OpResult[Thread]:
    """Reopen a resolved discussion thread."""
    from reviewer import discussion

    return perform(workspace.store, "comment.reopen", actor,
                   lambda who: discussion.set_resolved(workspace.store, thread_id, False, actor=who))


# ---- decisions and commits ----------------------------------------------------------------------


def decide(workspace: Workspace, proposal_id: str, outcome: str, rationale: str, *, actor: str,
           reason: str | None = None, split_by: str | None = None,
           seen: SeenEvidence | None = None, revision: int | None = None,
           responses: Mapping[str, str] | None = None) -> OpResult[DecisionResult]:
    """Record the actor's decision on a proposal against the spec at its current commit.

    ``split_by`` is the demographic field whose split the reviewer looked at (kept with the
    decision's evidence); by default, country. It does not choose the groups owed an answer: those
    are the workspace's duty fields' (``set_duty_fields``), whatever split is shown. ``seen`` is the evidence the desk read with that
    split: kept as the decision's evidence when no event since touched it, read again otherwise.
    ``revision`` is the proposal's revision the reviewer read (refused if it was revised since).
    ``responses`` answers each group the outcome owes an answer (``reviewer.duty``): group id -> sentence.
    """
    from reviewer import governance

    return perform(workspace.store, "decide", actor, lambda who: governance.record_decision(
        workspace, proposal_id, outcome, who, rationale, reason, split_by=split_by, seen=seen, revision=revision,
        responses=responses))


def set_min_group_size(workspace: Workspace, size: str | int, *, actor: str) -> OpResult[int]:
    """Set the fewest participants a group needs for a decision to owe it an answer (``reviewer.duty``)."""
    from reviewer.duty import MIN_GROUP_SIZE_KEY, parse_min_group_size

    number = parse_min_group_size(size)

    def work(who: str) -> int:
        workspace.store.set_info(MIN_GROUP_SIZE_KEY, str(number), actor=who)
        return number

    return perform(workspace.store, "workspace.set", actor, work)


def set_duty_fields(workspace: Workspace, fields: str | Sequence[str], *, actor: str) -> OpResult[list[str]]:
    """Set the demographic fields whose groups a decision owes an answer, whatever split is shown (``reviewer.duty``).

    ``fields`` is a list of names or ``country_of_residence,language``; each must be a field the
    crowd data has and the splits offer.

    Raises:
        KnownError: no name, or a name that is not such a field (nothing is written).
    """
    from reviewer.duty import FIELDS_KEY, check_field_names, field_names_text

    def work(who: str) -> list[str]:
        # Checked inside the operation: the fields offered are those of the data as it stands now.
        names = check_field_names(workspace.store, fields)
        workspace.store.set_info(FIELDS_KEY, field_names_text(names), actor=who)
        return names

    return perform(workspace.store, "workspace.set", actor, work)


def confirm_vote(workspace: Workspace, proposal_id: str, *, actor: str,
                 rationale: str | None = None) -> OpResult[DecisionResult]:
    """Confirm the actor's vote on an earlier revision on the current text (``governance.confirm_vote``)."""
    from reviewer import governance

    return perform(workspace.store, "decide.confirm", actor, lambda who: governance.confirm_vote(
        workspace, proposal_id, who, rationale))


def commit(workspace: Workspace, *, actor: str, tag: str | None = None,
           progress: Progress | None = None) -> OpResult[CommitReport]:
    """Commit every adopted, uncommitted proposal to the spec repository as the editor ``actor``.

    On a board (a workspace that syncs with its spec repository's ``origin``), the board's commit
    lease is taken on origin (``spec_branch.commit_lease``), the log is synced and the spec branch
    moved forward to origin's, so that a proposal another editor's machine committed is seen as
    committed and not committed twice; afterwards the new spec commits and the log are sent (a
    failure then is a warning: the commits are recorded here), and the lease is given back.

    Raises:
        KnownError: as ``committing.commit_adopted``; on a board also when origin cannot be reached,
            another editor holds the commit lease, or the spec branch here has diverged from
            origin's (nothing is committed then).
    """
    from dataclasses import replace

    from reviewer import committing
    from reviewer import spec_branch as branch
    from reviewer import sync as syncing
    from reviewer.errors import KnownError
    from reviewer.ops import check_actor

    def run() -> OpResult[CommitReport]:
        return perform(workspace.store, "commit", actor,
                       lambda who: committing.commit_adopted(workspace, who, tag=tag, progress=progress))

    board = "origin" if syncing.sync_state(workspace).last_synced is not None else None
    if board is None:
        return run()
    check_actor(workspace.store, OPERATIONS["commit"], actor)
    repo = workspace.spec_repo_path
    with branch.commit_lease(repo, board, workspace.config.id, actor):
        syncing.sync(workspace, board, actor=actor)
        branch.fetch_spec_commits(repo, board, [])
        note = branch.catch_up(repo, board)
        if note is not None:
            raise KnownError(f"Nothing was committed: {note}",
                             hint="On a board, every editor commits on top of origin's spec branch.")
        result = run()
        if any(item.commit_sha for item in result.value.items) or result.value.release:
            try:
                syncing.sync(workspace, board, actor=actor)
            except KnownError as exc:
                return replace(result, warnings=(*result.warnings, f"Committed here, but not sent to {board}: {exc}"))
    return result


# ---- imports and model runs ---------------------------------------------------------------------


def import_ca1(workspace: Workspace, files: Sequence[str | os.PathLike[str]], *, actor: str,
               strict: bool = False, progress: Progress | None = None) -> OpResult[ImportSummary]:
    """Import CA-1 files in one transaction (a cancel rolls it back).

    A workspace still joining its board (``reviewer.held``) takes only the file its log waits for:
    importing it receives the import as the board made it, and the events that waited for it.
    """
    from reviewer import ca1

    if held_log(workspace.store) is not None:
        return _fill_in(workspace, "import.ca1", files, actor, progress)
    return perform(workspace.store, "import.ca1", actor, lambda who: ca1.import_ca1(
        workspace.store, files, strict=strict, progress=progress, actor=who))


def import_polis(workspace: Workspace, comments: str | os.PathLike[str], votes: str | os.PathLike[str], *,
                 actor: str, key: str | None = None, strict: bool = False,
                 progress: Progress | None = None) -> OpResult[ImportSummary]:
    """Import one Pol.is export in one transaction (a cancel rolls it back); see ``import_ca1`` on joining."""
    from reviewer import polis

    if held_log(workspace.store) is not None:
        return _fill_in(workspace, "import.polis", [comments, votes], actor, progress)
    return perform(workspace.store, "import.polis", actor, lambda who: polis.import_polis(
        workspace.store, comments, votes, key=key, strict=strict, progress=progress, actor=who))


def _fill_in(workspace: Workspace, name: str, files: Sequence[str | os.PathLike[str]], actor: str,
             progress: Progress | None) -> OpResult[ImportSummary]:
    """Import the file a joining workspace waits for: receive the waiting part of the board's log."""
    from reviewer import sync as syncing
    from reviewer.ops import check_actor

    check_actor(workspace.store, OPERATIONS[name], actor)
    report, imports = syncing.fill_in(workspace, files, actor=actor, progress=progress)
    if not imports:
        raise BugError("a held import was received without running")
    changes = _received_changes(report.received)
    return OpResult(name, imports[0], changes, () if report.held is None else (report.held.describe(),))


def import_file(workspace: Workspace, kind: str, path: Path, *, actor: str) -> OpResult[ImportReport]:
    """Import rankings, relevance grades, stance labels or proposals from one of the product's files."""
    from reviewer import formats

    return perform(workspace.store, "import.file", actor,
                   lambda who: formats.import_file(kind, workspace, path, actor=who))


def grade_lexical(workspace: Workspace, *, actor: str, progress: Progress | None = None) -> OpResult[LexicalSummary]:
    """Grade every conversation against every section of the current spec by BM25."""
    from reviewer import lexical

    spec = workspace.load_spec()
    return perform(workspace.store, "relevance.lexical", actor, lambda who: lexical.grade_lexical(
        workspace.store, spec.document, spec_revision=spec.revision, progress=progress, actor=who))


def run_model(workspace: Workspace, plan: JudgePlan, *, actor: str,
              progress: Progress | None = None) -> OpResult[RunSummary]:
    """Send a confirmed model-run plan (``reviewer.judges.runs.plan_judge_run``) to the model."""
    from reviewer.judges.runs import execute_judge_run

    return perform(workspace.store, "model.run", actor,
                   lambda who: execute_judge_run(workspace, plan, progress=progress, actor=who))


def run_model_items(workspace: Workspace, items: Sequence[WorkItem], judge: Judge, config: ModelConfig, *,
                    actor: str, spec_revision: str | None, params: dict[str, Any],
                    progress: Progress | None = None) -> OpResult[RunSummary]:
    """Send work items to ``judge`` (the command line's model tasks, which build their own items)."""
    from reviewer.judges.running import run_items

    return perform(workspace.store, "model.run", actor, lambda who: run_items(
        workspace.store, list(items), judge, config, progress=progress, spec_revision=spec_revision,
        params=params, actor=who))


def propose(workspace: Workspace, plan: ProposePlan, *, actor: str, progress: Progress | None = None,
            judge: Judge | None = None, ranker: Judge | None = None) -> OpResult[ProposeSummary]:
    """Run a confirmed propose plan (``reviewer.propose.plan_propose``): generate, test, keep or reject, record.

    The judges are made from the plan's settings unless given.
    """
    from reviewer import propose as proposing
    from reviewer.judges.openai_judge import OpenAIJudge
    from reviewer.modelconfig import require_endpoint

    judge = judge or OpenAIJudge.from_config(plan.config, require_endpoint(plan.config, "Proposing changes"))
    ranker = ranker or OpenAIJudge.from_config(plan.ranker_config,
                                               require_endpoint(plan.ranker_config, "Re-ranking"))
    return perform(workspace.store, "propose", actor, lambda who: proposing.execute_propose(
        workspace, plan, judge=judge, ranker=ranker, progress=progress, actor=who))


def what_if(workspace: Workspace, plan: WhatIfPlan, *, actor: str, progress: Progress | None = None,
            judge: Judge | None = None, resamples: int = 1000, batch: BatchOptions | None = None) -> OpResult[WhatIf]:
    """Re-rank a proposal's relevant conversations now and under its text (``propose.plan_what_if``).

    A model run whose rankings stay in the judge cache: no ranker run is written, since the text
    is not the spec's. With ``batch``, the requests go through the Batch API.
    """
    from reviewer import propose as proposing
    from reviewer.judges.openai_judge import OpenAIJudge
    from reviewer.judges.running import run_items
    from reviewer.modelconfig import require_endpoint

    ranker = judge or OpenAIJudge.from_config(plan.config, require_endpoint(plan.config, "Re-ranking"))

    def work(who: str) -> WhatIf:
        summary = run_items(workspace.store, list(plan.items), ranker, plan.config, progress=progress,
                            spec_revision=plan.spec_revision, params={"what_if": plan.proposal_id}, actor=who,
                            ranker_run=False, batch=batch)
        return proposing.what_if_figures(workspace, plan, summary, model=ranker.model, resamples=resamples)

    return perform(workspace.store, "model.run", actor, work)


def compute_groups(workspace: Workspace, source: str, *, actor: str, params: GroupParams | None = None,
                   progress: Progress | None = None, force: bool = False) -> OpResult[GroupRun]:
    """Find and store the crowd's opinion groups in ``source`` (``ca1`` or ``polis``) unless the stored ones are current.

    ``reviewer.groups.compute_groups``: read and clustered outside a transaction, then the run's rows
    and its ``groups.compute`` event written in one. Nothing is written (no changes) when the
    stored groups still stand for the crowd and the parameters.
    """
    from reviewer import groups

    return perform(workspace.store, "groups.compute", actor, lambda who: groups.compute_groups(
        workspace.store, source, params=params, actor=who, progress=progress, force=force))


# ---- many machines ------------------------------------------------------------------------------


def sync(workspace: Workspace, *, remote: str = "origin", actor: str,
         crowd_files: Sequence[str | os.PathLike[str]] = (), progress: Progress | None = None) -> OpResult[SyncReport]:
    """Send and receive the log through ``remote`` (``reviewer.sync``); the changes are the events received.

    Not through ``perform``: the events are another machine's (already checked there), and the
    workspace's store is replaced when any arrive.
    """
    from reviewer import sync as syncing
    from reviewer.ops import check_actor

    check_actor(workspace.store, OPERATIONS["sync"], actor)
    report = syncing.sync(workspace, remote, actor=actor, crowd_files=crowd_files, progress=progress)
    return OpResult("sync", report, _received_changes(report.received))


def _received_changes(events: Sequence[dict[str, Any]]) -> Changes:
    """The changes other machines' events made here."""
    from reviewer.audit import canonical_json
    from reviewer.ops import changes_of

    return changes_of((str(e["id"]), str(e["action"]), str(e["object_type"]), e.get("object_id"),
                       canonical_json(e.get("payload") or {})) for e in events)
