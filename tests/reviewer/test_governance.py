import atexit
import json
import shutil
import sqlite3
import tempfile
from pathlib import Path

import pytest

from cli.main import main
from reviewer import audit, governance
from reviewer.errors import KnownError
from reviewer.proposals import add_proposal
from reviewer.spec import parse_spec
from reviewer.workspace import Workspace
from tests.helpers import spec_repo_with

SPEC = """# Overview {#overview}

What this spec is for.

## Root rule {#root_rule authority=root}

Line one of the root rule.
Line two of the root rule.
Line three of the root rule.

## User rule {#user_rule authority=user}

Alpha line.
Beta line.
Gamma line.
Delta line.
Epsilon line.

## Legacy rule {#legacy_rule authority=platform}

Old wording.

## Guide {#guide authority=guideline}

Guidance text.
"""


def section_text(text, section_id):
    """The section as written: its heading line through the line before the next heading."""
    lines = text.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("#") and f"{{#{section_id}" in line)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("#")), len(lines))
    return "".join(lines[start:end])


_TEMPLATES: dict = {}


def _build_template(spec, members):
    folder = Path(tempfile.mkdtemp(prefix="governance-template-"))
    atexit.register(shutil.rmtree, folder, True)
    repo = spec_repo_with(folder / "spec", spec)
    with Workspace.create(folder / "ws", spec_repo=repo) as workspace:
        if members:
            governance.add_member(workspace.store, "Ana", ["reviewer"])
            governance.add_member(workspace.store, "Ben", ["reviewer"])
            governance.add_member(workspace.store, "Cy", ["reviewer", "editor"])
            governance.add_member(workspace.store, "Eve", ["editor"])
            governance.add_member(workspace.store, "Aud", ["auditor"])
    return folder


def make_workspace(tmp_path, spec=SPEC, members=True):
    """A workspace at tmp_path/ws on a repository at tmp_path/spec (copied from one built per spec)."""
    key = (spec, members)
    if key not in _TEMPLATES:
        _TEMPLATES[key] = _build_template(spec, members)
    shutil.copytree(_TEMPLATES[key] / "spec", tmp_path / "spec")
    shutil.copytree(_TEMPLATES[key] / "ws", tmp_path / "ws")
    config_file = tmp_path / "ws" / "workspace.json"
    config = json.loads(config_file.read_text())
    config["spec_repo"] = str((tmp_path / "spec").resolve())
    config_file.write_text(json.dumps(config))
    return Workspace.open(tmp_path / "ws")


def propose(workspace, section_id, replace=None, new_text=None, title="A change", kind="clarification"):
    if new_text is None:
        current = section_text(workspace.load_spec().text, section_id)
        old, new = replace
        assert old in current
        new_text = current.replace(old, new)
    return add_proposal(
        workspace, changes=[(section_id, new_text)], title=title, intent="Say it more clearly.", kind=kind,
    )


def count(workspace, table):
    return workspace.store.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# ---- members -------------------------------------------------------------------------------------


def test_members_roles_are_added_listed_and_removed_with_history(tmp_path):
    workspace = make_workspace(tmp_path, members=False)
    store = workspace.store
    ana = governance.add_member(store, "Ana", ["reviewer"], actor="admin")
    again = governance.add_member(store, "Ana", ["editor", "reviewer"], actor="admin")
    assert again.id == ana.id and again.roles == ("editor", "reviewer")
    after = governance.remove_role(store, "Ana", "editor", actor="admin")
    assert after.roles == ("reviewer",)
    history = [(h.role, h.change) for h in governance.role_history(store, "Ana")]
    assert history == [("reviewer", "add"), ("editor", "add"), ("editor", "remove")]
    actions = [e.action for e in audit.list_events(store.db, object_ref="member", newest_first=False)]
    assert actions == ["member.add", "member.role_add", "member.role_remove"]
    with pytest.raises(KnownError, match="does not hold"):
        governance.remove_role(store, "Ana", "auditor")
    with pytest.raises(KnownError, match="Unknown role"):
        governance.add_member(store, "Bo", ["boss"])
    assert governance.get_member(store, "Bo") is None
    # Adding roles the member already holds changes nothing and logs nothing.
    events = count(workspace, "audit_events")
    governance.add_member(store, "Ana", ["reviewer"])
    assert count(workspace, "audit_events") == events


def test_member_cli_add_list_remove(tmp_path, capsys):
    make_workspace(tmp_path, members=False).close()
    ws = tmp_path / "ws"
    code, out, _ = run(capsys, "member", "add", ws, "Ana Lima", "--role", "reviewer", "--role", "auditor", "--json")
    assert code == 0 and json.loads(out)["roles"] == ["auditor", "reviewer"]
    code, out, _ = run(capsys, "member", "add", ws, "Ana Lima", "--role", "editor", "--json")
    assert json.loads(out)["roles"] == ["auditor", "editor", "reviewer"]
    code, out, _ = run(capsys, "member", "remove-role", ws, "Ana Lima", "--role", "auditor", "--json")
    assert code == 0 and json.loads(out)["roles"] == ["editor", "reviewer"]
    code, out, _ = run(capsys, "member", "list", ws, "--json")
    (row,) = json.loads(out)
    assert row["name"] == "Ana Lima" and row["roles"] == ["editor", "reviewer"]
    assert [(h["role"], h["change"]) for h in row["history"]] == [
        ("auditor", "add"), ("reviewer", "add"), ("editor", "add"), ("auditor", "remove")]
    code, _, err = run(capsys, "member", "add", ws, "Bo", "--role", "king")
    assert code == 1 and "Unknown role" in err and len(err.strip().splitlines()) == 1


# ---- quorum ----------------------------------------------------------------------------------------


def test_quorum_defaults_and_changes(tmp_path, capsys):
    make_workspace(tmp_path, members=False).close()
    ws = tmp_path / "ws"
    code, out, _ = run(capsys, "quorum", ws, "--json")
    assert json.loads(out) == {"root": 2, "system": 2, "developer": 1, "user": 1, "guideline": 1, "none": 1}
    code, out, _ = run(capsys, "quorum", ws, "--set", "platform=3", "--set", "user=2", "--json")
    assert code == 0 and json.loads(out)["root"] == 3 and json.loads(out)["user"] == 2
    for bad in ("root=0", "boss=2", "root", "root=x"):
        code, _, err = run(capsys, "quorum", ws, "--set", bad)
        assert code == 1 and err.startswith("spec-review: error:")
    with Workspace.open(ws) as workspace:
        (event,) = audit.list_events(workspace.store.db, action="quorum")
        assert event.payload["changed"] == {"root": {"from": 2, "to": 3}, "user": {"from": 1, "to": 2}}


# ---- decisions ---------------------------------------------------------------------------------------


def test_user_level_needs_one_reviewer_root_level_two(tmp_path):
    workspace = make_workspace(tmp_path)
    store = workspace.store
    user = propose(workspace, "user_rule", ("Beta line.", "Beta line, clarified."))
    root = propose(workspace, "root_rule", ("Line two", "Line 2"))
    result = governance.decide(store, user.id, "adopt", "Ana", "Clear improvement.")
    assert (result.status.status, result.status.level, result.status.quorum) == ("adopted", "user", 1)
    first = governance.decide(store, root.id, "adopt", "Ana", "Agree.")
    assert (first.status.status, first.status.level, first.status.quorum) == ("pending", "root", 2)
    second = governance.decide(store, root.id, "adopt", "Ben", "Agree too.")
    assert second.status.status == "adopted"
    assert set(second.status.counted_decisions) == {first.decision.id, second.decision.id}
    assert second.decision.status_after == "adopted"
    stored = store.db.execute(
        "SELECT outcome, reviewer, authority, quorum, status_after FROM decisions WHERE id = ?", [second.decision.id]
    ).fetchone()
    assert tuple(stored) == ("adopt", "Ben", "root", 2, "adopted")
    event = audit.list_events(store.db, limit=1)[0]
    assert event.action == "decision.record" and event.object_id == second.decision.id
    assert event.payload["status_before"] == "pending" and event.payload["status_after"] == "adopted"
    assert event.seq == second.event_seq


def test_latest_decision_per_reviewer_counts_contested_and_redecided(tmp_path):
    workspace = make_workspace(tmp_path)
    store = workspace.store
    p = propose(workspace, "root_rule", ("Line one", "Line 1"))
    governance.decide(store, p.id, "adopt", "Ana", "Yes.")
    contested = governance.decide(store, p.id, "defer", "Ben", "More research first.", "needs-research")
    assert contested.status.status == "contested"
    assert contested.status.votes == {"Ana": "adopt", "Ben": "defer"}
    # The same reviewer twice is still one reviewer.
    governance.decide(store, p.id, "defer", "Ben", "Still needs research.", "needs-research")
    deferred = governance.decide(store, p.id, "defer", "Ana", "Changed my mind.", "needs-research")
    assert deferred.status.status == "deferred"
    # A deferred proposal can be decided again later; nothing is deleted.
    governance.decide(store, p.id, "adopt", "Ana", "Research is in.")
    assert governance.proposal_status(store, p.id).status == "contested"
    final = governance.decide(store, p.id, "adopt", "Ben", "Agreed now.")
    assert final.status.status == "adopted"
    assert len(governance.decisions_for(store, p.id)) == 6
    set_aside = governance.decide(store, p.id, "set-aside", "Ana", "Risky.", "risk")
    assert set_aside.status.status == "contested"
    governance.decide(store, p.id, "set_aside", "Ben", "Agreed, risky.", "RISK")
    assert governance.proposal_status(store, p.id).status == "set_aside"


def test_status_of_one_proposal_equals_its_status_among_all(tmp_path):
    workspace = make_workspace(tmp_path)
    store = workspace.store
    a = propose(workspace, "root_rule", ("Line one", "Line 1"))
    b = propose(workspace, "root_rule", ("Line one", "Line I"), title="Another change")
    governance.decide(store, a.id, "adopt", "Ana", "Yes.")
    governance.decide(store, a.id, "defer", "Ben", "More research first.", "needs-research")
    governance.decide(store, b.id, "adopt", "Ana", "Yes.")
    governance.decide(store, b.id, "adopt", "Ben", "Yes.")
    every = governance.statuses(store)
    assert {every[a.id].status, every[b.id].status} == {"contested", "adopted"}
    for pid in (a.id, b.id):  # read by index for a few proposals, by whole tables for all: the same answer
        assert governance.statuses(store, [pid]) == {pid: every[pid]}
        assert governance.proposal_status(store, pid) == every[pid]
    with pytest.raises(KnownError, match="No proposal with id nope"):
        governance.proposal_status(store, "nope")


def test_level_comes_from_new_heading_and_current_spec(tmp_path):
    workspace = make_workspace(tmp_path)
    store = workspace.store
    # The new text raises the section's authority from user to root (a change of principle): the higher level applies.
    current = section_text(SPEC, "user_rule")
    raised = propose(workspace, "user_rule", new_text=current.replace("authority=user", "authority=root"),
                     kind="principle")
    assert governance.decide(store, raised.id, "adopt", "Ana", "Ok.").status.status == "pending"
    # The proposal says user, but the spec has since made the section a system one.
    lower = propose(workspace, "user_rule", ("Alpha line.", "Alpha line, reworded."))
    moved_on = parse_spec(SPEC.replace("{#user_rule authority=user}", "{#user_rule authority=system}"))
    result = governance.decide(store, lower.id, "adopt", "Ana", "Ok.", spec_document=moved_on)
    assert (result.status.level, result.status.quorum, result.status.status) == ("system", 2, "pending")
    # Without the document, the level recorded with the decision still counts.
    assert governance.proposal_status(store, lower.id).level == "system"
    # "platform" is the older name of root; unmarked sections have their own level (default 2).
    legacy = propose(workspace, "legacy_rule", ("Old wording.", "New wording."))
    overview = propose(workspace, "overview", ("What this spec", "What this document"))
    statuses = governance.statuses(store)
    assert (statuses[legacy.id].level, statuses[legacy.id].quorum) == ("root", 2)
    assert (statuses[overview.id].level, statuses[overview.id].quorum, statuses[overview.id].status) == ("none", 1, "open")
    governance.set_quorum(store, {"none": 1})
    assert governance.decide(store, overview.id, "adopt", "Ana", "Fine.").status.status == "adopted"


@pytest.mark.parametrize(
    ("outcome", "reviewer", "rationale", "reason", "message"),
    [
        ("adopt", "Ana", "   ", None, "rationale"),
        ("adopt", "Ana", "ok", "risk", "no reason category"),
        ("defer", "Ana", "ok", None, "reason category"),
        ("defer", "Ana", "ok", "risk", "not a reason to defer"),
        ("set-aside", "Ana", "ok", "needs-research", "not a reason to set aside"),
        ("approve", "Ana", "ok", None, "Unknown outcome"),
        ("adopt", "Zed", "ok", None, "not a member"),
        ("adopt", "Aud", "ok", None, "only reviewers"),
        ("adopt", "Eve", "ok", None, "only reviewers"),
    ],
)
def test_invalid_decisions_change_nothing(tmp_path, outcome, reviewer, rationale, reason, message):
    workspace = make_workspace(tmp_path)
    p = propose(workspace, "guide", ("Guidance text.", "Guidance, clearer."))
    before = (count(workspace, "decisions"), count(workspace, "audit_events"))
    with pytest.raises(KnownError, match=message):
        governance.decide(workspace.store, p.id, outcome, reviewer, rationale, reason)
    assert (count(workspace, "decisions"), count(workspace, "audit_events")) == before


def test_removed_reviewer_role_stops_new_decisions_but_keeps_old_ones(tmp_path):
    workspace = make_workspace(tmp_path)
    p = propose(workspace, "root_rule", ("Line one", "Line 1"))
    governance.decide(workspace.store, p.id, "adopt", "Ana", "Yes.")
    governance.remove_role(workspace.store, "Ana", "reviewer")
    with pytest.raises(KnownError, match="only reviewers"):
        governance.decide(workspace.store, p.id, "defer", "Ana", "Wait.", "other")
    assert governance.proposal_status(workspace.store, p.id).votes == {"Ana": "adopt"}


def test_decision_and_audit_event_are_one_transaction(tmp_path, monkeypatch):
    workspace = make_workspace(tmp_path)
    p = propose(workspace, "guide", ("Guidance text.", "Guidance, clearer."))
    before = (count(workspace, "decisions"), count(workspace, "audit_events"))

    def broken(*args, **kwargs):
        error = sqlite3.OperationalError("disk I/O error")
        error.sqlite_errorcode = 10  # SQLITE_IOERR, as SQLite sets it
        raise error

    monkeypatch.setattr(governance.audit, "append_event", broken)
    with pytest.raises(KnownError, match="disk failed"):
        governance.decide(workspace.store, p.id, "adopt", "Ana", "Yes.")
    assert (count(workspace, "decisions"), count(workspace, "audit_events")) == before


def test_decide_cli_reports_status(tmp_path, capsys):
    workspace = make_workspace(tmp_path)
    p = propose(workspace, "root_rule", ("Line one", "Line 1"))
    workspace.close()
    ws = tmp_path / "ws"
    code, out, _ = run(capsys, "decide", ws, p.id, "adopt", "--reviewer", "Ana", "--rationale", "Clearer.", "--json")
    data = json.loads(out)
    assert code == 0 and data["status"]["status"] == "pending" and data["status"]["quorum"] == 2
    assert data["decision"]["spec_revision"] and data["decision"]["outcome"] == "adopt"
    code, out, _ = run(capsys, "decide", ws, p.id, "set-aside", "--reviewer", "Ben", "--rationale", "Risky.",
                       "--reason", "risk", "--json")
    assert json.loads(out)["status"]["status"] == "contested"
    assert json.loads(out)["status"]["votes"] == {"Ana": "adopt", "Ben": "set_aside"}
    code, out, _ = run(capsys, "decide", ws, p.id, "defer", "--reviewer", "Ben", "--rationale", "Hmm.")
    assert code == 1
    code, out, _ = run(capsys, "decide", ws, p.id, "adopt", "--reviewer", "Ben", "--rationale", "Fine then.")
    assert code == 0 and "now adopted" in out
    code, out, _ = run(capsys, "proposal", "show", ws, p.id, "--json")
    assert code == 0


def test_a_later_decision_counts_as_later_even_when_its_clock_runs_behind(tmp_path, monkeypatch):
    """Decisions are ordered by the record, not by wall-clock time (a laptop two hours behind)."""
    workspace = make_workspace(tmp_path)
    proposal = propose(workspace, "guide", ("Guidance text.", "Guidance."))
    governance.decide(workspace.store, proposal.id, "adopt", "Ana", "Looks right.")
    assert governance.proposal_status(workspace.store, proposal.id).status == "adopted"
    monkeypatch.setattr(governance, "utc_now", lambda: "2000-01-01T00:00:00.000000+00:00")
    governance.decide(workspace.store, proposal.id, "defer", "Ana", "On reflection, not yet.",
                      "needs-more-evidence")
    status = governance.proposal_status(workspace.store, proposal.id)
    assert status.status == "deferred" and status.votes == {"Ana": "defer"}
    assert [d.outcome for d in governance.decisions_for(workspace.store, proposal.id)] == ["adopt", "defer"]


def test_verify_notes_events_whose_clock_went_backwards(tmp_path, monkeypatch, capsys):
    workspace = make_workspace(tmp_path)
    proposal = propose(workspace, "guide", ("Guidance text.", "Guidance."))
    monkeypatch.setattr(governance, "utc_now", lambda: "2000-01-01T00:00:00.000000+00:00")
    monkeypatch.setattr(audit, "utc_now", lambda: "2000-01-01T00:00:00.000000+00:00")
    governance.decide(workspace.store, proposal.id, "adopt", "Ana", "Looks right.")
    seq = audit.head_of(workspace.store.db).seq
    workspace.close()
    code, out, _err = run(capsys, "audit", "verify", tmp_path / "ws")
    assert code == 0 and "Audit log intact" in out
    assert f"event {seq}: 2000-01-01T00:00:00 after " in out and "clock running behind" in out
    code, out, _err = run(capsys, "audit", "verify", tmp_path / "ws", "--json")
    assert json.loads(out)["clock_backwards"][0]["seq"] == seq


def test_a_name_typed_decomposed_is_the_same_member(tmp_path):
    import unicodedata

    workspace = make_workspace(tmp_path, members=False)
    composed = governance.add_member(workspace.store, "Sofía Herrera", ["reviewer"])
    decomposed = unicodedata.normalize("NFD", "Sofía Herrera")
    assert decomposed != "Sofía Herrera"
    again = governance.add_member(workspace.store, decomposed, ["editor"])
    assert again.id == composed.id and again.roles == ("editor", "reviewer")
    assert [m.name for m in governance.list_members(workspace.store)] == ["Sofía Herrera"]
    assert governance.require_role(workspace.store, "\u200bSofía Herrera\u200b", "editor").id == composed.id
    with pytest.raises(KnownError, match="needs a name"):
        governance.add_member(workspace.store, "\u200b\u200b ", ["reviewer"])


def test_a_rationale_of_invisible_characters_is_no_rationale(tmp_path):
    workspace = make_workspace(tmp_path)
    proposal = propose(workspace, "guide", ("Guidance text.", "Guidance."))
    with pytest.raises(KnownError, match="needs a rationale"):
        governance.decide(workspace.store, proposal.id, "adopt", "Ana", "\u200b\u200b\u2060\ufeff ")
    assert governance.decisions_for(workspace.store, proposal.id) == []
