"""Operations: each checks its actor, writes its change with its event, and returns its value and Changes."""

import ast
import json
import re

import pytest

from reviewer import audit, operations
from reviewer.decision_evidence import evidence_snapshot
from reviewer.errors import BugError, KnownError
from reviewer.formats import KINDS
from reviewer.governance import decisions_for, get_member
from reviewer.ops import ACTION_AREAS, OPERATIONS, Area, Changes, changes_of
from reviewer.workspace import Workspace
from tests.datapaths import ROOT, SPLIT_BY_COUNTRY, SUPPORTED


@pytest.fixture
def ws(demo_workspace):
    with Workspace.open(demo_workspace) as workspace:
        yield workspace


def _head(workspace):
    return audit.head_of(workspace.store.db).seq


def _last_event(workspace):
    return workspace.store.db.execute("SELECT id, action FROM audit_events ORDER BY seq DESC LIMIT 1").fetchone()


# ---- every event says what it changed -------------------------------------------------------------


def _actions_in_source():
    """Every action string the domain writes: literals, f"import.{kind}", and the judge run's table."""
    found = set()
    for path in (ROOT / "reviewer").rglob("*.py"):
        if path.name in ("ops.py", "operations.py"):
            continue  # operation names, not event actions
        text = path.read_text(encoding="utf-8")
        found |= set(re.findall(r'action="([a-z_]+\.[a-z_]+)"', text))
        found |= set(re.findall(r'"((?:judge|member|import)\.[a-z_]+)"', text))
        if 'action=f"import.{kind}"' in text:
            found |= {f"import.{kind}" for kind in KINDS}
    return found


def test_every_action_the_domain_writes_says_which_areas_it_changes():
    actions = _actions_in_source()
    assert {"decision.record", "member.add", "member.role_add", "spec.commit", "judge.finish",
            "import.proposals"} <= actions  # the scan sees them all
    assert actions - set(ACTION_AREAS) == set()


def test_an_unknown_action_is_a_bug_not_a_silent_no_change():
    with pytest.raises(BugError, match="ACTION_AREAS"):
        changes_of([("e1", "mystery.thing", "workspace", None, "{}")])


@pytest.mark.parametrize(("action", "object_type", "object_id", "payload", "areas", "proposals", "every"), [
    ("stance.set", "proposal", "p1", {}, {Area.LABELS}, {"p1"}, False),
    ("decision.record", "decision", "d1", {"proposal_id": "p2"}, {Area.DECISIONS, Area.PROPOSALS}, {"p2"}, False),
    ("spec.commit", "spec_commit", "abc", {"proposal_id": "p3"},
     {Area.COMMITS, Area.PROPOSALS, Area.DECISIONS}, {"p3"}, False),
    ("spec.release", "spec_commit", "abc", {"proposal_ids": ["p1", "p2"]}, {Area.COMMITS}, {"p1", "p2"}, False),
    ("import.ca1", "import", "i1", {}, {Area.CROWD}, set(), True),
    ("judge.finish", "judge_job", "j1", {"task": "stance"}, {Area.MODEL_RUNS, Area.LABELS}, set(), True),
    ("judge.finish", "judge_job", "j1", {"task": "ranker"}, {Area.MODEL_RUNS, Area.RANKINGS}, set(), True),
    ("quorum.set", "workspace", None, {}, {Area.QUORUM, Area.PROPOSALS}, set(), True),
    ("member.role_remove", "member", "m1", {}, {Area.MEMBERS}, set(), False),
])
def test_changes_are_read_from_the_events(action, object_type, object_id, payload, areas, proposals, every):
    changes = changes_of([("e1", action, object_type, object_id, json.dumps(payload))])
    assert changes.areas == areas
    assert changes.proposal_ids == proposals
    assert changes.all_proposals is every
    assert changes.events == ("e1",)


def test_changes_combine_and_answer_what_a_view_asks():
    a = Changes(frozenset({Area.LABELS}), frozenset({"p1"}), False, ("e1",))
    b = Changes(frozenset({Area.DECISIONS}), frozenset({"p2"}), False, ("e2",))
    both = a | b
    assert both.touches(Area.DECISIONS) and not both.touches(Area.CROWD)
    assert both.touches_proposal("p1") and both.touches_proposal("p2") and not both.touches_proposal("p3")
    assert both.events == ("e1", "e2")
    assert not Changes() and not Changes().touches_proposal("any")


# ---- operations on a real workspace ----------------------------------------------------------------


def test_a_decision_returns_its_result_and_the_changes_its_event_records(ws):
    result = operations.decide(ws, SUPPORTED, "adopt", "The crowd supports it.", actor="Amara Okafor")
    assert result.operation == "decide" and result.changes.areas <= OPERATIONS["decide"].may_change
    assert result.value.decision.reviewer == "Amara Okafor" and result.value.decision.proposal_id == SUPPORTED
    assert result.changes.areas == {Area.DECISIONS, Area.PROPOSALS}
    assert result.changes.proposal_ids == {SUPPORTED} and not result.changes.all_proposals
    event_id, action = _last_event(ws)
    assert result.changes.events == (event_id,) and action == "decision.record"


def test_the_desk_split_field_is_kept_with_the_decision(ws):
    result = operations.decide(ws, SPLIT_BY_COUNTRY, "defer", "Split by age first.", actor="Amara Okafor",
                               reason="needs-more-evidence", split_by="age")
    kept = decisions_for(ws.store, SPLIT_BY_COUNTRY)[-1].evidence
    assert result.value.decision.evidence["split_by"] == kept["split_by"] == "age"
    by_country = evidence_snapshot(ws.store, SPLIT_BY_COUNTRY)["split"]
    assert "65+" in kept["split"] and len(by_country) > 1 and not set(kept["split"]) & set(by_country)


@pytest.mark.parametrize(("call", "message"), [
    (lambda ws: operations.decide(ws, SUPPORTED, "adopt", "Yes.", actor="Somebody Else"), "not a member"),
    (lambda ws: operations.decide(ws, SUPPORTED, "adopt", "Yes.", actor="Wei Chen"), "reviewer"),
    (lambda ws: operations.commit(ws, actor="Amara Okafor"), "editor"),
    (lambda ws: operations.add_member(ws, "New Person", ["auditor"], actor="   "), "Say who is acting"),
    (lambda ws: operations.link(ws, SUPPORTED, "j", actor=""), "Say who is acting"),
])
def test_the_actor_is_checked_before_anything_is_written(ws, call, message):
    before = _head(ws)
    with pytest.raises(KnownError, match=message):
        call(ws)
    assert _head(ws) == before
    assert get_member(ws.store, "New Person") is None


def test_a_transactional_operation_writes_all_or_nothing(ws):
    before = _head(ws)
    with pytest.raises(KnownError, match="does not hold the role editor"):
        operations.remove_roles(ws, "Amara Okafor", ["reviewer", "editor"], actor="Priya Raman")
    assert get_member(ws.store, "Amara Okafor").roles == ("reviewer",)  # the first removal was rolled back
    assert _head(ws) == before
    done = operations.remove_roles(ws, "Priya Raman", ["reviewer", "editor"], actor="Priya Raman")
    assert done.value.roles == () and done.changes.areas == {Area.MEMBERS} and len(done.changes.events) == 2


def test_members_quorum_and_settings_report_their_areas(ws):
    assert operations.add_member(ws, "Lena Vogel", ["reviewer"], actor="Priya Raman").changes.areas == {Area.MEMBERS}
    quorum = operations.set_quorum(ws, {"user": 2}, actor="Priya Raman")
    assert quorum.value["user"] == 2 and quorum.changes.touches(Area.QUORUM) and quorum.changes.all_proposals
    setting = operations.set_setting(ws, "name", "Board of 2026", actor="Priya Raman")
    assert setting.changes.areas == {Area.WORKSPACE} and ws.store.get_info("name") == "Board of 2026"


def test_an_operation_that_writes_nothing_reports_no_changes(ws):
    again = operations.add_member(ws, "Amara Okafor", ["reviewer"], actor="Priya Raman")
    assert again.value.roles == ("reviewer",)
    assert not again.changes and again.changes.events == ()


def test_every_operation_names_what_it_may_change_and_its_role():
    assert OPERATIONS["decide"].role == "reviewer" and OPERATIONS["commit"].role == "editor"
    assert not OPERATIONS["commit"].transactional and OPERATIONS["decide"].transactional
    for operation in OPERATIONS.values():
        assert operation.may_change, operation.name
        assert operation.may_change <= set(Area)


# ---- the command line and the GUI write only through operations ------------------------------------

# The domain's writers: outside reviewer/, only reviewer.operations may call them.
WRITERS = {
    "add_member", "remove_role", "set_quorum", "set_info", "record_decision", "add_proposal", "link_statement",
    "link_justifications", "unlink_statement", "set_stance", "apply_ranking_rule", "commit_adopted", "import_file", "import_ca1",
    "import_polis", "import_rankings", "import_relevance", "import_stances", "import_proposals", "grade_lexical",
    "run_items", "execute_judge_run", "append_event", "append_received", "sync", "add_comment", "set_resolved",
}


def _writer_uses(path):
    """Names of domain writers a module imports or calls as ``module.writer`` (not through operations)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    used = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("reviewer") and (
            node.module != "reviewer.operations"
        ):
            used |= {alias.name for alias in node.names if alias.name in WRITERS}
        elif isinstance(node, ast.Attribute) and node.attr in WRITERS:
            owner = node.value
            if not (isinstance(owner, ast.Name) and owner.id == "operations"):
                used.add(node.attr)
    return used


def test_the_command_line_and_the_gui_write_only_through_operations():
    offenders = {
        str(path.relative_to(ROOT)): sorted(used)
        for folder in ("cli", "ui")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if (used := _writer_uses(path))
    }
    assert offenders == {}


def test_the_writer_scan_would_see_a_direct_call(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("from reviewer.governance import record_decision\nimport x\nx.store.set_info('a', 'b')\n")
    assert _writer_uses(probe) == {"record_decision", "set_info"}
