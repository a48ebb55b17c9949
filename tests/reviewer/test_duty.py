"""The duty to respond: a decision against a group's clear stance must answer it; stored, logged, replayed, reported."""

import json

import pytest

from reviewer import audit, groups, operations
from reviewer.duty import (
    DEFAULT_MIN_GROUP_SIZE,
    MIN_GROUP_SIZE_KEY,
    groups_owed,
    min_group_size,
    owed_by_outcome,
    parse_respond,
)
from reviewer.errors import KnownError
from reviewer.governance import decisions_for
from reviewer.rebuild import rebuild_workspace
from reviewer.replay import check_record
from reviewer.report import build_report, render_html, render_json, render_md
from reviewer.workspace import Workspace
from tests.helpers import spec_repo_with
from tests.reviewer.test_groups import write_ca1

COUNTRY = "demographic:country_of_residence"


@pytest.fixture
def split(tmp_path):
    """Three planted groups (one per country: Chile, Japan, Kenya, 30 each); a proposal Chile supports and the others refute.

    Returns the workspace, the proposal id and the opinion group letter of each country.
    """
    write_ca1(tmp_path / "ca1")
    ws = Workspace.create(tmp_path / "ws", spec_repo=spec_repo_with(tmp_path / "spec", "# Spec {#spec}\n\nText.\n"))
    operations.import_ca1(ws, [tmp_path / "ca1" / "comparisons.jsonl", tmp_path / "ca1" / "annotators.jsonl"],
                          actor="Ana")
    operations.add_member(ws, "Ana", ["reviewer"], actor="Ana")
    run = operations.compute_groups(ws, "ca1", actor="Ana").value
    rows = ws.store.db.execute(
        "SELECT j.id, p.id, json_extract(p.demographics, '$.country_of_residence') FROM justifications j"
        " JOIN assessments a ON a.id = j.assessment_id JOIN participants p ON p.id = a.participant_id"
        " ORDER BY j.id").fetchall()
    chosen = rows[::4]
    proposal = operations.add_proposal(ws, actor="Ana", changes=[("spec", "# Spec {#spec}\n\nNew text.\n")],
                                       title="T", intent="I", kind="clarification",
                                       justifications=[j for j, _p, _c in chosen]).value
    # Labels written so the interval lies clearly on one side: Chile supports, Japan and Kenya refute.
    operations.set_stances(ws, proposal.id, [j for j, _p, c in chosen if c == "Chile"], "supports", actor="Ana")
    operations.set_stances(ws, proposal.id, [j for j, _p, c in chosen if c != "Chile"], "refutes", actor="Ana")
    member_group = groups.assignments(ws.store, run.id)
    letter = {c: "ABCDEFG"[member_group[p]] for _j, p, c in chosen}
    yield ws, proposal.id, letter
    ws.close()


def _decisions(ws):
    return ws.store.db.execute("SELECT count(*) FROM decisions").fetchone()[0]


def test_adopting_over_a_clear_objection_is_refused_until_each_group_is_answered(split):
    ws, pid, letter = split
    owed = groups_owed(ws.store, pid, "adopt")
    expected = {f"opinion:{letter['Japan']}", f"opinion:{letter['Kenya']}", f"{COUNTRY}=Japan", f"{COUNTRY}=Kenya"}
    assert {g.id for g in owed} == expected
    assert all(g.stance == "refutes" and g.high < 0.5 and g.size == 30 for g in owed)
    assert {g.name for g in owed} >= {"country_of_residence: Japan", f"opinion group {letter['Kenya']}"}
    head = audit.head_of(ws.store.db).seq
    with pytest.raises(KnownError) as refused:
        operations.decide(ws, pid, "adopt", "The rule is right.", actor="Ana")
    text = str(refused.value) + (refused.value.hint or "")
    for g in owed:  # each group named, with its share and interval, and how to answer it
        assert g.id in text and f"{g.share * 100:.0f}% supporting" in text
    assert "--respond" in text and "Nothing was recorded" in text
    answers = {g.id: f"We adopt over {g.name}'s objection because the rule protects minors." for g in owed}
    partial = dict(list(answers.items())[:3])
    with pytest.raises(KnownError, match="owes 1 group an answer"):
        operations.decide(ws, pid, "adopt", "The rule is right.", actor="Ana", responses=partial)
    with pytest.raises(KnownError, match="owes 1 group"):  # a blank sentence is no answer
        operations.decide(ws, pid, "adopt", "Right.", actor="Ana", responses={**partial, **dict.fromkeys(
            set(answers) - set(partial), " \u200b ")})
    with pytest.raises(KnownError, match="opinion:Z: not a group this decision owes"):
        operations.decide(ws, pid, "adopt", "Right.", actor="Ana", responses={**answers, "opinion:Z": "Hello."})
    assert _decisions(ws) == 0 and audit.head_of(ws.store.db).seq == head  # nothing written on refusal

    result = operations.decide(ws, pid, "adopt", "The rule is right.", actor="Ana", responses=answers).value
    (stored,) = decisions_for(ws.store, pid)
    assert stored.responses == answers == result.decision.responses
    assert [g["id"] for g in stored.duty["owed"]] == [g.id for g in owed]
    assert stored.duty["min_group_size"] == DEFAULT_MIN_GROUP_SIZE
    (payload,) = ws.store.db.execute("SELECT payload FROM audit_events WHERE action = 'decision.record'").fetchone()
    assert json.loads(payload)["duty"] == stored.duty
    assert check_record(ws.store) == []  # audit verify replays the answers

    # The transparency report prints each answer under its decision, in every format.
    data = build_report(ws)
    (decision,) = next(p for p in data["proposals"] if p["id"] == pid)["decisions"]
    assert {r["id"]: r["response"] for r in decision["responses"]} == answers
    assert json.loads(render_json(data))["proposals"][0]["decisions"][0]["responses"] == decision["responses"]
    md, page = render_md(data), render_html(data)
    for group_id, answer in answers.items():
        assert group_id in md and answer.replace("'", "&#x27;") in page.replace("&#39;", "&#x27;")
        assert answer in md.replace("&#x27;", "'")

    # audit rebuild writes the same answers from the log alone.
    report = rebuild_workspace(ws, ws.root / "rebuilt.db")
    assert report.ok, report
    from reviewer.store import Store

    rebuilt = Store.open(ws.root / "rebuilt.db")
    try:
        (again,) = decisions_for(rebuilt, pid)
        assert again.duty == stored.duty
    finally:
        rebuilt.close()


def test_setting_aside_owes_the_groups_that_clearly_support_and_deferring_owes_none(split):
    ws, pid, letter = split
    both = owed_by_outcome(ws.store, pid)
    assert {g.id for g in both["set_aside"]} == {f"opinion:{letter['Chile']}", f"{COUNTRY}=Chile"}
    assert all(g.stance == "supports" and g.low > 0.5 for g in both["set_aside"])
    assert groups_owed(ws.store, pid, "set-aside") == both["set_aside"]
    assert groups_owed(ws.store, pid, "defer") == []
    with pytest.raises(KnownError, match=f"(?s)setting aside this proposal owes 2 groups.*opinion:{letter['Chile']}"):
        operations.decide(ws, pid, "set-aside", "Not now.", actor="Ana", reason="principle")
    operations.decide(ws, pid, "set-aside", "Not now.", actor="Ana", reason="principle",
                      responses={g.id: "We hear you." for g in both["set_aside"]})
    decided = operations.decide(ws, pid, "defer", "Wait.", actor="Ana", reason="needs-research").value.decision
    assert decided.duty is None and decided.responses == {}
    with pytest.raises(KnownError, match="not a group this decision owes"):
        operations.decide(ws, pid, "defer", "Wait.", actor="Ana", reason="needs-research",
                          responses={f"{COUNTRY}=Chile": "Hi."})
    assert check_record(ws.store) == []


def test_the_minimum_group_size_is_a_logged_workspace_setting(split):
    ws, pid, _letter = split
    assert min_group_size(ws.store) == DEFAULT_MIN_GROUP_SIZE == 10
    done = operations.set_min_group_size(ws, "31", actor="Ana")
    assert done.value == 31 and ws.store.get_info(MIN_GROUP_SIZE_KEY) == "31"
    action, payload = ws.store.db.execute("SELECT action, payload FROM audit_events ORDER BY seq DESC LIMIT 1").fetchone()
    assert (action, json.loads(payload)) == ("workspace.set", {"key": MIN_GROUP_SIZE_KEY, "value": "31"})
    assert owed_by_outcome(ws.store, pid) == {"adopt": [], "set_aside": []}  # every group has 30
    operations.decide(ws, pid, "adopt", "Fine.", actor="Ana")
    for bad in ("0", "-3", "ten", ""):
        with pytest.raises(KnownError, match="at least 1"):
            operations.set_min_group_size(ws, bad, actor="Ana")
    assert min_group_size(ws.store) == 31
    assert check_record(ws.store) == []


def test_respond_splits_the_group_id_from_the_answer():
    assert parse_respond("opinion:A=We heard you.") == ("opinion:A", "We heard you.")
    assert parse_respond("demographic:country=Japan=Because = reasons.") == ("demographic:country=Japan",
                                                                             "Because = reasons.")
    known = ["demographic:formula=a=b"]
    assert parse_respond("demographic:formula=a=b=Answer.", known) == ("demographic:formula=a=b", "Answer.")
    for bad in ("opinion:A", "demographic:country", "=text"):
        with pytest.raises(KnownError, match="GROUP=TEXT"):
            parse_respond(bad)


def test_the_command_line_lists_what_is_owed_refuses_without_answers_and_takes_respond(split, capsys):
    from tests.reviewer.test_governance import run

    ws, pid, letter = split
    ws.close()
    root = ws.root
    code, out, _err = run(capsys, "proposal", "show", root, pid)
    assert code == 0 and "To adopt it, answer (decide --respond GROUP=TEXT):" in out
    assert f"{COUNTRY}=Japan: country_of_residence: Japan (30 participants)" in out
    assert "To set aside it" in out and f"opinion:{letter['Chile']}" in out
    shown = json.loads(run(capsys, "proposal", "show", root, pid, "--json")[1])
    assert {g["id"] for g in shown["owed"]["adopt"]} == {f"opinion:{letter['Japan']}", f"opinion:{letter['Kenya']}",
                                                         f"{COUNTRY}=Japan", f"{COUNTRY}=Kenya"}
    decide = ["decide", root, pid, "adopt", "--reviewer", "Ana", "--rationale", "Protects minors."]
    code, out, err = run(capsys, *decide, "--respond", f"{COUNTRY}=Japan=We heard Japan.")
    assert code == 1 and out == ""
    assert "owes 3 groups an answer" in err and f"opinion:{letter['Kenya']}" in err and f"{COUNTRY}=Kenya" in err
    assert "--respond" in err and f"{COUNTRY}=Japan:" not in err  # the answered group is not listed again
    code, _out, err = run(capsys, *decide, "--respond", "no equals sign")
    assert code == 1 and "is not GROUP=TEXT" in err
    respond = [f"{COUNTRY}=Japan=We heard Japan: minors' safety comes first.",
               f"{COUNTRY}=Kenya=Kenya's worry about misuse is met by the review clause.",
               f"opinion:{letter['Japan']}=Group {letter['Japan']} = answered too.",
               f"opinion:{letter['Kenya']}=Answered."]
    code, out, err = run(capsys, *decide, *(x for r in respond for x in ("--respond", r)))
    assert code == 0, err
    assert "Answered 4 groups" in out
    with Workspace.open(root) as again:
        (stored,) = decisions_for(again.store, pid)
        assert stored.responses[f"opinion:{letter['Japan']}"] == f"Group {letter['Japan']} = answered too."
        assert stored.responses[f"{COUNTRY}=Kenya"] == "Kenya's worry about misuse is met by the review clause."
    code, out, _err = run(capsys, "proposal", "show", root, pid)
    assert "to country_of_residence: Japan: We heard Japan: minors' safety comes first." in out
    code, out, _err = run(capsys, "audit", "verify", root)
    assert code == 0, out
    code, out, _err = run(capsys, "duty", root, "--min-group-size", "40", "--by", "Ana", "--json")
    assert code == 0 and json.loads(out) == {"min_group_size": 40}
    code, out, _err = run(capsys, "duty", root)
    assert code == 0 and "at least 40 participants" in out
    code, _out, err = run(capsys, "duty", root, "--min-group-size", "none")
    assert code == 1 and "at least 1" in err
    code, out, _err = run(capsys, "proposal", "show", root, pid)
    assert "--respond" not in out  # no group of 40 or more
