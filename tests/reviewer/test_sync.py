"""Two machines, one board: the log ref synced through a bare remote of the spec repository."""

import json
import shutil
import subprocess

import pytest

from reviewer import gitops, governance, operations
from reviewer.changes import Area
from reviewer.errors import KnownError
from reviewer.logref import event_record
from reviewer.progress import Cancelled
from reviewer.publish import verify_published
from reviewer.replay import verify_workspace
from reviewer.sync import describe_event, tracking_ref
from reviewer.workspace import Workspace
from tests.datapaths import DEMO, ROOT_LEVEL, SPLIT_BY_COUNTRY, USER_LEVEL
from tests.helpers import answers, git, git_bytes


def _events(ws):
    rows = ws.store.db.execute(
        "SELECT id, at, actor, action, object_type, object_id, payload FROM audit_events ORDER BY seq").fetchall()
    return [event_record(r) for r in rows]


def _decisions(ws, proposal_id):
    return [(d.id, d.reviewer, d.outcome, d.rationale, d.evidence) for d in governance.decisions_for(ws.store, proposal_id)]


def _ada_added_on(root):
    """A member added on one machine and sent."""
    with Workspace.open(root) as ws:
        operations.add_member(ws, "Ada Byron", ["auditor"], actor="Amara Okafor")
        operations.sync(ws, actor="Amara Okafor")


def test_decisions_made_on_two_machines_in_turn_reach_both(machines):
    a_root, b_root, _remote = machines
    with Workspace.open(a_root) as a:
        operations.decide(a, ROOT_LEVEL, "adopt", "The crowd supports it.", actor="Amara Okafor")
        sent = operations.sync(a, actor="Amara Okafor").value
    assert sent.pushed == 1 and sent.received == ()
    with Workspace.open(b_root) as b:
        result = operations.sync(b, actor="Jonas Lindqvist")
        (received,) = result.value.received
        assert received["action"] == "decision.record" and received["actor"] == "Amara Okafor"
        assert result.changes.proposal_ids == {ROOT_LEVEL}  # the views refresh what arrived
        assert governance.proposal_status(b.store, ROOT_LEVEL).status == "pending"
        operations.decide(b, ROOT_LEVEL, "adopt", "Agreed.", actor="Jonas Lindqvist")
        operations.sync(b, actor="Jonas Lindqvist")
        b_events, b_decisions = _events(b), _decisions(b, ROOT_LEVEL)
        assert verify_workspace(b).ok
    with Workspace.open(a_root) as a:
        operations.sync(a, actor="Amara Okafor")
        # The same log and the same record on both machines; the quorum of two is met by the union.
        assert _events(a) == b_events
        assert _decisions(a, ROOT_LEVEL) == b_decisions
        assert all(evidence for *_rest, evidence in b_decisions)  # each decision's evidence travelled with it
        assert governance.proposal_status(a.store, ROOT_LEVEL).status == "adopted"
        assert verify_workspace(a).ok
        assert a.store.log_ref.tip() == git(a.spec_repo_path, "rev-parse", tracking_ref(a.config.id, "origin"))


def test_work_done_offline_is_sent_at_the_next_sync(machines):
    a_root, b_root, remote = machines
    with Workspace.open(a_root) as a:
        git(a.spec_repo_path, "remote", "set-url", "origin", str(remote.parent / "gone.git"))  # offline
        operations.decide(a, SPLIT_BY_COUNTRY, "defer", "Wait for more data.", actor="Amara Okafor",
                          reason="needs-research")
        with pytest.raises(KnownError, match="could not fetch from origin"):
            operations.sync(a, actor="Amara Okafor")
        git(a.spec_repo_path, "remote", "set-url", "origin", str(remote))  # back online
        assert operations.sync(a, actor="Amara Okafor").value.pushed == 1
    with Workspace.open(b_root) as b:
        operations.sync(b, actor="Jonas Lindqvist")
        assert [d[2] for d in _decisions(b, SPLIT_BY_COUNTRY)] == ["defer"]


def test_new_events_on_both_machines_are_merged_and_both_converge(machines):
    """Two reviewers decide the same proposal on two machines: both decisions stand, the quorum counts both."""
    a_root, b_root, _remote = machines
    with Workspace.open(a_root) as a:
        operations.decide(a, ROOT_LEVEL, "adopt", "Supported.", actor="Amara Okafor")
        operations.sync(a, actor="Amara Okafor")
    with Workspace.open(b_root) as b:
        operations.decide(b, ROOT_LEVEL, "adopt", "Agreed, on my machine.", actor="Jonas Lindqvist")
        operations.add_member(b, "Bo Chen", ["auditor"], actor="Jonas Lindqvist")
        report = operations.sync(b, actor="Jonas Lindqvist").value
        assert [e["actor"] for e in report.received] == ["Amara Okafor"] and report.pushed >= 2
        repo, tip = b.spec_repo_path, b.store.log_ref.tip()
        assert len(git(repo, "rev-list", "--parents", "-1", tip).split()) == 3  # a merge commit
        assert governance.proposal_status(b.store, ROOT_LEVEL).status == "adopted"
        assert verify_workspace(b).ok
        b_events, b_decisions = _events(b), _decisions(b, ROOT_LEVEL)
    with Workspace.open(a_root) as a:
        operations.sync(a, actor="Amara Okafor")
        # The same events in the same order, the same record, on both machines.
        assert _events(a) == b_events and _decisions(a, ROOT_LEVEL) == b_decisions
        assert governance.proposal_status(a.store, ROOT_LEVEL).status == "adopted"
        assert "Bo Chen" in [m.name for m in governance.list_members(a.store)]
        assert verify_workspace(a).ok


def test_the_log_order_is_parents_first_and_at_a_merge_what_the_remote_had_first():
    from reviewer.logref import LogCommit
    from reviewer.sync import deterministic_order

    def event(at, event_id):
        return {"id": event_id, "at": at}

    base = LogCommit("base", (), (event("t1", "a"),))
    late = LogCommit("late", ("base",), (event("t5", "b1"), event("t2", "b2")))  # one operation: kept together
    early = LogCommit("early", ("base",), (event("t3", "c"),))
    tie = LogCommit("tie", ("base",), (event("t3", "0"),))
    merge = LogCommit("merge", ("late", "early", "tie"), ())
    child = LogCommit("child", ("merge",), (event("t0", "d"),))  # an earlier clock, but after its parents
    order = [e["id"] for e in deterministic_order([child, merge, tie, early, late, base])]
    assert order == ["a", "0", "c", "b1", "b2", "d"]  # the last parent's history first
    # A merge of this machine's "early" (unsent) with the remote's "late": the remote's events keep
    # their place though this machine's are older, so what others have seen is never reordered.
    merge = LogCommit("merge", ("early", "late"), ())
    assert [e["id"] for e in deterministic_order([merge, early, late, base])] == ["a", "b1", "b2", "c"]
    long = [LogCommit("c0", (), (event("t0", "e0"),))] + [
        LogCommit(f"c{i}", (f"c{i - 1}",), (event(f"t{i}", f"e{i}"),)) for i in range(1, 5000)]
    assert [e["id"] for e in deterministic_order(long[::-1])] == [f"e{i}" for i in range(5000)]  # no recursion


def test_a_rewritten_remote_log_is_refused(machines, tmp_path):
    a_root, b_root, remote = machines
    with Workspace.open(a_root) as a:
        operations.add_member(a, "Ada Byron", ["auditor"], actor="Amara Okafor")
        operations.sync(a, actor="Amara Okafor")
        operations.add_member(a, "Bo Chen", ["auditor"], actor="Amara Okafor")  # published here, not yet sent
        ref = a.store.log_ref.ref
        # Someone force-pushes the log back to before Ada was added.
        git(remote, "update-ref", ref, git(remote, "rev-parse", f"{ref}^"))
        with pytest.raises(KnownError, match="The log on origin was rewritten"):
            operations.sync(a, actor="Amara Okafor")
        assert [m.name for m in governance.list_members(a.store)].count("Ada Byron") == 1


def _rows(ws, table, where="1"):
    return ws.store.db.execute(f"SELECT * FROM {table} WHERE {where} ORDER BY rowid").fetchall()


def test_runs_travel_as_their_rows(machines, tmp_path):
    a_root, b_root, _remote = machines
    with Workspace.open(a_root) as a:
        operations.grade_lexical(a, actor="Amara Okafor")  # grades only this run's BM25 over all conversations makes
        operations.grade_lexical(a, actor="Amara Okafor")  # again: the first run's grades are replaced
        rankings = tmp_path / "rankings.jsonl"  # the demo's ranker run, as a new run
        rankings.write_text((DEMO / "rankings.jsonl").read_text(encoding="utf-8").replace(
            json.loads((DEMO / "rankings.jsonl").read_text(encoding="utf-8").splitlines()[0])["run_id"],
            "0b9f4c1e-8d2a-4c3b-9e5f-6a7d8c9b0a1f"), encoding="utf-8")
        operations.import_file(a, "rankings", rankings, actor="Amara Okafor")
        operations.sync(a, actor="Amara Okafor")
        grades, rankings_rows, runs = _rows(a, "relevance_grades"), _rows(a, "ranker_rankings"), _rows(a, "ranker_runs")
    assert len(grades) > 100 and len(runs) == 2
    with Workspace.open(b_root) as b:
        received = operations.sync(b, actor="Jonas Lindqvist").value.received
        assert [e["action"] for e in received] == ["relevance.lexical", "relevance.lexical", "import.rankings"]
        assert _rows(b, "relevance_grades") == grades  # the same rows, in the same order
        assert _rows(b, "ranker_rankings") == rankings_rows and _rows(b, "ranker_runs") == runs
        assert verify_workspace(b).ok


def test_candidates_and_their_proposals_travel(machines):
    from tests.propose_fakes import fake_propose

    a_root, b_root, _remote = machines
    with Workspace.open(a_root) as a:
        summary = fake_propose(a, "single")
        operations.sync(a, actor="Amara Okafor")
        candidates, jobs = _rows(a, "candidates"), _rows(a, "judge_jobs")
    assert candidates and summary.proposal_ids
    with Workspace.open(b_root) as b:
        received = operations.sync(b, actor="Jonas Lindqvist")
        actions = [e["action"] for e in received.value.received]
        assert actions.count("propose.record") == 1 and actions.count("proposal.add") == len(summary.proposal_ids)
        assert {"candidates", "proposals"} <= set(received.changes.areas)
        # The same rows; a rebuild writes judge jobs in the order of their ids, not of their creation.
        assert _rows(b, "candidates") == candidates and sorted(_rows(b, "judge_jobs")) == sorted(jobs)
        assert all(b.store.get_proposal(p).origin == "automated-single" for p in summary.proposal_ids)
        assert verify_workspace(b).ok


def test_rows_tampered_on_the_log_ref_are_not_received(machines, tmp_path):
    a_root, b_root, _remote = machines
    with Workspace.open(a_root) as a:
        operations.grade_lexical(a, actor="Amara Okafor")
        log = a.store.log_ref
        tip = log.tip()
        (event,) = log.commits(tip)[-1].events
        rows = json.loads(git(a.spec_repo_path, "cat-file", "blob", f"{tip}:rows/{event['id']}.json"))
        rows["tables"][0]["rows"][0][3] = 5 if rows["tables"][0]["rows"][0][3] != 5 else 1  # one grade changed
        forged = gitops.write_commit(a.spec_repo_path, {
            "events.json": git_bytes(a.spec_repo_path, "cat-file", "blob", f"{tip}:events.json"),
            f"rows/{event['id']}.json": json.dumps(rows).encode()}, "forged", author=("Amara Okafor", ""),
            parents=log.commits(tip)[-1].parents)
        git(a.spec_repo_path, "update-ref", log.ref, forged)
        log.remember(forged)
        operations.sync(a, actor="Amara Okafor")
    with Workspace.open(b_root) as b:
        before = _events(b)
        with pytest.raises(KnownError, match="could not be rebuilt"):
            operations.sync(b, actor="Jonas Lindqvist")
        assert _events(b) == before and verify_workspace(b).ok


def test_events_of_a_kind_this_version_does_not_know_are_not_received(machines):
    a_root, b_root, remote = machines
    with Workspace.open(a_root) as a:  # a newer version's event, on the remote
        log = a.store.log_ref
        tip = log.tip()
        event = {"id": "0d6f3b2a-1c4e-4f5a-8b7c-9d0e1f2a3b4c", "at": "2030-01-01T00:00:00.000000Z",
                 "actor": "Amara Okafor", "action": "proposal.split", "object_type": "proposal",
                 "object_id": ROOT_LEVEL, "payload": {}}
        newer = gitops.write_commit(a.spec_repo_path, {"events.json": json.dumps([event]).encode()}, "split",
                                    author=("Amara Okafor", ""), parents=[tip])
        git(a.spec_repo_path, "push", "--quiet", str(remote), f"{newer}:{log.ref}")
    with Workspace.open(b_root) as b:
        before = _events(b)
        with pytest.raises(KnownError, match=r"cannot receive yet \(proposal.split\)"):
            operations.sync(b, actor="Jonas Lindqvist")
        assert _events(b) == before and verify_workspace(b).ok


def test_sync_names_the_remotes_there_are(machines):
    a_root, _b_root, _remote = machines
    with Workspace.open(a_root) as a, pytest.raises(KnownError, match=r"no remote 'upstream' \(it has: origin\)"):
        operations.sync(a, remote="upstream", actor="Amara Okafor")


def test_events_are_received_while_the_app_has_the_database_open(machines):
    """The app's connection stays open through a sync: it sees the record before, then after, never between."""
    import sqlite3

    a_root, b_root, _remote = machines
    _ada_added_on(a_root)
    app = sqlite3.connect(b_root / "reviewer.db")
    try:
        before = app.execute("SELECT count(*) FROM members").fetchone()[0]
        quarantined = app.execute("SELECT count(*) FROM quarantine").fetchone()[0]
        with Workspace.open(b_root) as b:
            (event,) = operations.sync(b, actor="Jonas Lindqvist").value.received
            assert event["action"] == "member.add"
            assert verify_workspace(b).ok
        assert app.execute("SELECT count(*) FROM members").fetchone()[0] == before + 1
        assert app.execute("SELECT name FROM members WHERE name = 'Ada Byron'").fetchone() == ("Ada Byron",)
        assert app.execute("SELECT count(*) FROM quarantine").fetchone()[0] == quarantined  # machine-local rows kept
        assert app.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        app.close()


def test_the_command_line_syncs_and_says_what_arrived(machines, capsys):
    from cli.main import main

    a_root, b_root, _remote = machines
    assert main(["decide", str(a_root), ROOT_LEVEL, "adopt", "--reviewer", "Amara Okafor", "--rationale", "Yes."]) == 0
    assert main(["sync", str(a_root)]) == 0
    assert "sent 1 commit" in capsys.readouterr().out
    assert main(["sync", str(b_root), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    (event,) = data["received"]
    assert event["action"] == "decision.record" and event["actor"] == "Amara Okafor" and data["pushed"] == 0
    assert main(["sync", str(b_root)]) == 0
    assert "already in step" in capsys.readouterr().out
    subprocess.run(["git", "-C", str(b_root / "spec"), "fsck", "--strict", "--no-dangling"], check=True)


@pytest.mark.parametrize("seed", [1, 2])
def test_three_machines_in_any_order_of_work_and_syncs_converge(machines, tmp_path, seed):
    """Interleaved operations and syncs on three machines end in one log and one record on all three."""
    import random

    a_root, b_root, _remote = machines
    c_root = tmp_path / "machine-c"
    shutil.copytree(b_root, c_root, symlinks=True)
    roots = [a_root, b_root, c_root]
    reviewers = ["Amara Okafor", "Jonas Lindqvist"]
    rng = random.Random(seed)
    proposals = [ROOT_LEVEL, SPLIT_BY_COUNTRY]
    for step in range(10):
        root = rng.choice(roots)
        with Workspace.open(root) as ws:
            kind = rng.choice(["decide", "member", "sync", "sync"])
            if kind == "decide":
                outcome = rng.choice(["adopt", "defer"])
                proposal = rng.choice(proposals)
                operations.decide(ws, proposal, outcome, f"Step {step}.", actor=rng.choice(reviewers),
                                  reason=None if outcome == "adopt" else "needs-research",
                                  responses=answers(ws, proposal, outcome))
            elif kind == "member":
                operations.add_member(ws, f"Member {step}", ["auditor"], actor="Amara Okafor")
            else:
                operations.sync(ws, actor="Amara Okafor")
    for _round in range(2):
        for root in roots:
            with Workspace.open(root) as ws:
                operations.sync(ws, actor="Amara Okafor")
    seen = []
    for root in roots:
        with Workspace.open(root) as ws:
            assert verify_workspace(ws).ok
            seen.append((
                [e["id"] for e in _events(ws)],
                {p: _decisions(ws, p) for p in proposals},
                {p: governance.proposal_status(ws.store, p).status for p in proposals},
                sorted((m.name, m.roles) for m in governance.list_members(ws.store)),
            ))
    assert seen[0] == seen[1] == seen[2]
    with Workspace.open(a_root) as a:  # the seeds are chosen so that the machines did diverge and merge
        assert git(a.spec_repo_path, "rev-list", "--merges", "--count", a.store.log_ref.ref) != "0"


@pytest.mark.gui
def test_a_decision_made_before_the_role_change_was_known_is_kept_and_marked(machines, qtbot):
    """One machine takes Jonas's reviewer role away while he decides on another that does not know yet."""
    from reviewer import report
    from reviewer.governance import ROLE_CHANGE_UNKNOWN, decided_before_role_change
    from ui.models.audit_log import AuditLogModel
    from ui.workers import PageReader

    a_root, b_root, _remote = machines
    with Workspace.open(a_root) as a:
        operations.remove_roles(a, "Jonas Lindqvist", ["reviewer"], actor="Amara Okafor")
        operations.sync(a, actor="Amara Okafor")
    with Workspace.open(b_root) as b:
        decided = operations.decide(b, ROOT_LEVEL, "adopt", "Supported.", actor="Jonas Lindqvist").value.decision
        operations.sync(b, actor="Jonas Lindqvist")
    for root in (a_root, b_root):
        with Workspace.open(root) as ws:
            operations.sync(ws, actor="Amara Okafor")
            assert [d[0] for d in _decisions(ws, ROOT_LEVEL)] == [decided.id]  # kept
            assert list(decided_before_role_change(ws.store)) == [decided.id]
            assert verify_workspace(ws).ok
            data = report.build_report(ws)
            (entry,) = [d for p in data["proposals"] for d in p["decisions"]]
            assert entry["decided_before_role_change"] is True
            assert f"Jonas Lindqvist ({ROLE_CHANGE_UNKNOWN})" in report.render_md(data)
            assert f"({ROLE_CHANGE_UNKNOWN})" in report.render_html(data)
            seq = decided_before_role_change(ws.store)[decided.id]
    reader = PageReader(b_root / "reviewer.db")
    try:
        model = AuditLogModel(reader)
        model.reload()
        model.fetch_all()
        row = model.seqs.index(seq)
        assert model.index(row, 5).data().startswith(ROLE_CHANGE_UNKNOWN)
        others = [model.index(r, 5).data() for r in range(model.rowCount()) if r != row]
        assert not any(ROLE_CHANGE_UNKNOWN in text for text in others)
    finally:
        reader.shutdown()


def test_the_sync_state_counts_what_is_left_to_send_without_the_network(machines):
    from reviewer.sync import sync_state

    a_root, _b_root, remote = machines
    with Workspace.open(a_root) as a:
        state = sync_state(a)
        assert (state.remote, state.unsent) == ("origin", 0) and state.last_synced is not None
        operations.decide(a, ROOT_LEVEL, "adopt", "Yes.", actor="Amara Okafor")
        operations.add_member(a, "Ada Byron", ["auditor"], actor="Amara Okafor")
        git(a.spec_repo_path, "remote", "set-url", "origin", str(remote.parent / "gone.git"))  # offline: still known
        assert sync_state(a).unsent == 2 and "2 commits to send" in sync_state(a).describe()
        git(a.spec_repo_path, "remote", "set-url", "origin", str(remote))
        operations.sync(a, actor="Amara Okafor")
        assert sync_state(a).unsent == 0 and "all sent" in sync_state(a).describe()
        git(a.spec_repo_path, "remote", "remove", "origin")
        assert sync_state(a).describe() == "log: local only (no origin)"


class _CancelAt:
    """A progress object whose user cancels at the first step whose label starts with ``word``."""

    def __init__(self, word):
        self.word, self.labels, self.armed = word, [], False

    def start(self, total, label=""):
        self.labels.append(label)
        self.armed = self.armed or label.startswith(self.word)

    def tick(self, amount=1):
        if self.armed:
            raise Cancelled()

    def finish(self):
        self.labels.append("(finished)")


def test_a_cancelled_sync_receives_nothing_and_leaves_no_scratch_files(machines):
    a_root, b_root, _remote = machines
    _ada_added_on(a_root)
    with Workspace.open(b_root) as b:
        before = _events(b)
        progress = _CancelAt("Receiving")
        with pytest.raises(Cancelled):
            operations.sync(b, actor="Jonas Lindqvist", progress=progress)
        assert progress.labels == ["Writing this machine's events to the log ref", "Fetching the log from origin",
                                   "Receiving 1 event: rebuilding the record", "(finished)"]
        assert _events(b) == before and not list(b.root.glob(".sync-*"))
        assert [e["actor"] for e in operations.sync(b, actor="Jonas Lindqvist").value.received] == ["Amara Okafor"]

def test_a_members_identity_set_on_one_machine_reaches_the_other_and_signs_their_commits(machines):
    """Set while the member works on another machine: the commits each machine wrote check out on both.

    The log's order puts the identity first (it is older), but Jonas's machine did not have it when
    it wrote his decision: his commit is checked against what its own history recorded (no email).
    """
    a_root, b_root, remote = machines
    with Workspace.open(a_root) as a:
        operations.set_identity(a, "Jonas Lindqvist", "jonas@example.org", actor="Amara Okafor",
                                signing_key="SHA256:jonas-key-fingerprint")
    with Workspace.open(b_root) as b:  # not synced yet: Jonas decides with no email recorded
        operations.decide(b, ROOT_LEVEL, "adopt", "Agreed, on my machine.", actor="Jonas Lindqvist")
        assert git(b.spec_repo_path, "log", "-1", "--format=%an <%ae>", b.store.log_ref.tip()) == "Jonas Lindqvist <>"
    with Workspace.open(a_root) as a:
        operations.sync(a, actor="Amara Okafor")
    with Workspace.open(b_root) as b:
        result = operations.sync(b, actor="Jonas Lindqvist")
        (received,) = result.value.received
        assert received["action"] == "member.set_identity" and result.changes.touches(Area.MEMBERS)
        assert describe_event(received) == "Amara Okafor set Jonas Lindqvist's git email to jonas@example.org"
        jonas = governance.get_member(b.store, "Jonas Lindqvist")
        assert (jonas.email, jonas.signing_key) == ("jonas@example.org", "SHA256:jonas-key-fingerprint")
        repo, log = b.spec_repo_path, b.store.log_ref
        assert len(git(repo, "rev-list", "--parents", "-1", log.tip()).split()) == 3  # merged
        operations.decide(b, USER_LEVEL, "adopt", "Fine.", actor="Jonas Lindqvist")
        assert git(repo, "log", "-1", "--format=%an <%ae>", log.tip()) == "Jonas Lindqvist <jonas@example.org>"
        operations.sync(b, actor="Jonas Lindqvist")
        assert verify_workspace(b).ok
        b_events = _events(b)
        actions = [(e["actor"], e["action"]) for e in b_events]
        assert actions.index(("Amara Okafor", "member.set_identity")) < actions.index(
            ("Jonas Lindqvist", "decision.record"))
    with Workspace.open(a_root) as a:
        operations.sync(a, actor="Amara Okafor")
        assert _events(a) == b_events
        assert governance.get_member(a.store, "Jonas Lindqvist").email == "jonas@example.org"
        assert verify_workspace(a).ok
    (published,) = verify_published(str(remote))
    assert published.ok, published.problems


def test_a_push_refused_because_the_remote_moved_is_fetched_merged_and_tried_again(machines, tmp_path, monkeypatch):
    """Machine C pushes between B's fetch and B's push: B's push is refused, and B fetches, merges and pushes."""
    from reviewer import sync as syncing

    a_root, b_root, _remote = machines
    c_root = tmp_path / "machine-c"
    shutil.copytree(b_root, c_root, symlinks=True)
    with Workspace.open(b_root) as b:
        operations.decide(b, ROOT_LEVEL, "adopt", "Agreed, on B.", actor="Jonas Lindqvist")
        real_fetch, fetches = gitops.fetch_ref, []

        def fetch_then_c_pushes(*args, **kwargs):
            tip = real_fetch(*args, **kwargs)
            fetches.append(tip)
            if len(fetches) == 1:  # C's sync lands right after B's first fetch
                with Workspace.open(c_root) as c:
                    operations.decide(c, ROOT_LEVEL, "adopt", "Agreed, on C.", actor="Amara Okafor")
                    syncing.sync(c, actor="Amara Okafor")
            return tip

        monkeypatch.setattr(gitops, "fetch_ref", fetch_then_c_pushes)
        report = operations.sync(b, actor="Jonas Lindqvist").value
        monkeypatch.setattr(gitops, "fetch_ref", real_fetch)
        # B's fetch, C's own (inside it), then B's second after its push was refused.
        assert len(fetches) == 3 and fetches[0] != fetches[2]
        assert [e["actor"] for e in report.received] == ["Amara Okafor"] and report.pushed >= 1
        reviewers = sorted(d[1] for d in _decisions(b, ROOT_LEVEL))
        assert reviewers == ["Amara Okafor", "Jonas Lindqvist"] and verify_workspace(b).ok
        b_events = _events(b)
    for root in (a_root, c_root):
        with Workspace.open(root) as other:
            operations.sync(other, actor="Amara Okafor")
            assert _events(other) == b_events and verify_workspace(other).ok


def _discussion(ws, proposal_id):
    from reviewer.discussion import thread_json, threads_of

    return [thread_json(t) for t in threads_of(ws.store, proposal_id)]


def test_comments_mentions_and_resolved_threads_travel_between_machines(machines):
    """A mention written on one machine reaches the mentioned member's queue on theirs; the answer comes back."""
    from reviewer.queue import waiting_for

    a_root, b_root, _remote = machines
    with Workspace.open(a_root) as a:
        asked = operations.add_comment(a, ROOT_LEVEL, "@Jonas Lindqvist does this cover paid ads?",
                                       actor="Amara Okafor").value
        operations.add_comment(a, USER_LEVEL, "Shorter, please.", actor="Wei Chen", section_id="present_perspectives")
        assert operations.sync(a, actor="Amara Okafor").value.pushed == 2  # a log commit per operation
    with Workspace.open(b_root) as b:
        result = operations.sync(b, actor="Jonas Lindqvist")
        described = [describe_event(e) for e in result.value.received]
        assert described[0] == ("Amara Okafor commented: \u201c@Jonas Lindqvist does this cover paid ads?\u201d"
                                " (mentioning Jonas Lindqvist)")
        assert result.changes.touches(Area.DISCUSSION) and result.changes.proposal_ids == {ROOT_LEVEL, USER_LEVEL}
        (mention,) = [w for w in waiting_for(b.store, "Jonas Lindqvist") if w.kind == "mention"]
        assert mention.thread_id == asked.id and mention.row.id == ROOT_LEVEL
        operations.add_comment(b, ROOT_LEVEL, "It does, see the second paragraph.", actor="Jonas Lindqvist",
                               reply_to=asked.id)
        operations.resolve_thread(b, asked.id, actor="Jonas Lindqvist")
        operations.sync(b, actor="Jonas Lindqvist")
        assert not [w for w in waiting_for(b.store, "Jonas Lindqvist") if w.thread_id]
        b_threads, b_events = _discussion(b, ROOT_LEVEL), _events(b)
        assert verify_workspace(b).ok
    with Workspace.open(a_root) as a:
        received = operations.sync(a, actor="Amara Okafor").value.received
        assert [e["action"] for e in received] == ["comment.add", "comment.resolve"]
        assert describe_event(received[1]) == "Jonas Lindqvist resolved a discussion thread"
        assert _discussion(a, ROOT_LEVEL) == b_threads and _events(a) == b_events
        (thread,) = b_threads
        assert thread["resolved_by"] == "Jonas Lindqvist" and [c["author"] for c in thread["comments"]] == [
            "Amara Okafor", "Jonas Lindqvist"]
        assert verify_workspace(a).ok


def test_the_duty_fields_set_on_one_machine_decide_what_the_other_owes(machines):
    from reviewer.duty import FIELDS_KEY, duty_fields, groups_owed

    a_root, b_root, _remote = machines
    with Workspace.open(a_root) as a:
        operations.set_duty_fields(a, "country_of_residence,age", actor="Amara Okafor")
        assert operations.sync(a, actor="Amara Okafor").value.pushed == 1
        owed_on_a = [g.id for g in groups_owed(a.store, SPLIT_BY_COUNTRY, "adopt")]
    assert any(g.startswith("demographic:age=") for g in owed_on_a)
    with Workspace.open(b_root) as b:
        assert duty_fields(b.store) == ["country_of_residence"]
        result = operations.sync(b, actor="Jonas Lindqvist")
        (received,) = result.value.received
        assert received["action"] == "workspace.set" and Area.WORKSPACE in result.changes.areas
        assert duty_fields(b.store) == ["country_of_residence", "age"]
        assert b.store.get_info(FIELDS_KEY) == '["country_of_residence", "age"]'
        assert [g.id for g in groups_owed(b.store, SPLIT_BY_COUNTRY, "adopt")] == owed_on_a
        assert verify_workspace(b).ok
