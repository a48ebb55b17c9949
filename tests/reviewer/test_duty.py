"""The duty to respond: a decision against a group's clear stance must answer it; stored, logged, replayed, reported."""

import json

import pytest

from reviewer import audit, groups, operations
from reviewer.duty import (
    DEFAULT_FIELDS,
    DEFAULT_MIN_GROUP_SIZE,
    FIELDS_KEY,
    MIN_GROUP_SIZE_KEY,
    duty_fields,
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
    assert code == 0 and json.loads(out) == {"min_group_size": 40, "fields": ["country_of_residence"]}
    code, out, _err = run(capsys, "duty", root)
    assert code == 0 and "at least 40 participants" in out
    code, _out, err = run(capsys, "duty", root, "--min-group-size", "none")
    assert code == 1 and "at least 1" in err
    code, out, _err = run(capsys, "proposal", "show", root, pid)
    assert "--respond" not in out  # no group of 40 or more


# ---- the duty fields: the groups owed are the workspace's, whatever split the reviewer shows ------------------


def test_a_decision_shown_split_by_age_still_owes_the_countries_that_clearly_refute(split):
    ws, pid, letter = split
    owed = {g.id for g in groups_owed(ws.store, pid, "adopt")}
    assert {f"{COUNTRY}=Japan", f"{COUNTRY}=Kenya"} <= owed
    head = audit.head_of(ws.store.db).seq
    # The reviewer looks at the age split: the countries are owed all the same (the loophole, closed).
    with pytest.raises(KnownError, match=f"(?s)owes 4 groups.*{COUNTRY}=Japan.*{COUNTRY}=Kenya"):
        operations.decide(ws, pid, "adopt", "Fine.", actor="Ana", split_by="age")
    ages_only = {g: "Heard." for g in owed if not g.startswith(COUNTRY)}
    with pytest.raises(KnownError, match="owes 2 groups"):
        operations.decide(ws, pid, "adopt", "Fine.", actor="Ana", split_by="age", responses=ages_only)
    assert _decisions(ws) == 0 and audit.head_of(ws.store.db).seq == head
    answers = dict.fromkeys(owed, "We adopt over this objection because the rule protects minors.")
    decided = operations.decide(ws, pid, "adopt", "Fine.", actor="Ana", split_by="age", responses=answers).value.decision
    assert decided.evidence["split_by"] == "age"  # the split shown is kept with the evidence, as before
    assert set(decided.evidence["split"]) == {"18-24", "25-34", "35-44"}
    assert {g["id"] for g in decided.duty["owed"]} == owed and decided.duty["fields"] == [COUNTRY.split(":")[1]]
    assert check_record(ws.store) == []


def test_the_duty_fields_are_a_logged_setting_every_decision_answers_to(split):
    ws, pid, letter = split
    assert duty_fields(ws.store) == list(DEFAULT_FIELDS) == ["country_of_residence"]
    first = operations.decide(ws, pid, "adopt", "Fine.", actor="Ana",
                              responses=dict.fromkeys((g.id for g in groups_owed(ws.store, pid, "adopt")), "Heard."))
    stored_before = first.value.decision.duty

    done = operations.set_duty_fields(ws, " age , country_of_residence,age", actor="Ana")
    assert done.value == ["age", "country_of_residence"] and done.changes.events
    action, payload = ws.store.db.execute("SELECT action, payload FROM audit_events ORDER BY seq DESC LIMIT 1").fetchone()
    assert (action, json.loads(payload)) == ("workspace.set", {"key": FIELDS_KEY,
                                                               "value": '["age", "country_of_residence"]'})
    assert duty_fields(ws.store) == ["age", "country_of_residence"]
    # Opinion groups first, then each field's groups in the order set; the split shown plays no part.
    owed = groups_owed(ws.store, pid, "adopt")
    ids = [g.id for g in owed]
    ages = [i for i in ids if i.startswith("demographic:age=")]
    assert ids[:2] == [f"opinion:{letter['Japan']}", f"opinion:{letter['Kenya']}"]
    assert ages and ids[2:2 + len(ages)] == ages and ids[2 + len(ages):] == [f"{COUNTRY}=Japan", f"{COUNTRY}=Kenya"]
    # One age band in three supports it (Chile's third): every band refutes, each is owed.
    with pytest.raises(KnownError, match="demographic:age="):
        operations.decide(ws, pid, "adopt", "Again.", actor="Ana", responses=dict.fromkeys(
            (i for i in ids if i not in ages), "Heard."))
    second = operations.decide(ws, pid, "adopt", "Again.", actor="Ana", split_by="country_of_residence",
                               responses=dict.fromkeys(ids, "Heard.")).value.decision
    assert second.duty["fields"] == ["age", "country_of_residence"]

    # The decision recorded before keeps what it stored; the log replays both and the setting.
    assert decisions_for(ws.store, pid)[0].duty == stored_before
    assert "fields" in stored_before and stored_before["fields"] == ["country_of_residence"]
    assert check_record(ws.store) == []
    report = rebuild_workspace(ws, ws.root / "rebuilt.db")
    assert report.ok, report
    from reviewer.store import Store

    rebuilt = Store.open(ws.root / "rebuilt.db")
    try:
        assert rebuilt.get_info(FIELDS_KEY) == ws.store.get_info(FIELDS_KEY)
        assert duty_fields(rebuilt) == ["age", "country_of_residence"]
        assert [d.duty for d in decisions_for(rebuilt, pid)] == [stored_before, second.duty]
        assert check_record(rebuilt) == []
    finally:
        rebuilt.close()


def test_a_field_the_crowd_does_not_have_is_refused_and_nothing_is_written(split):
    ws, _pid, _letter = split
    operations.set_duty_fields(ws, ["country_of_residence"], actor="Ana")
    head, stored = audit.head_of(ws.store.db).seq, ws.store.get_info(FIELDS_KEY)
    for bad, said in [("country_of_residence,religion", "'religion' is not a demographic field of this workspace"),
                      ("Country_Of_Residence", "'Country_Of_Residence' is not a demographic field"),
                      ("", "Name at least one demographic field"), (" , ", "Name at least one demographic field"),
                      (["age", "religion", "income"], "'religion' is not .*; 'income' is not")]:
        with pytest.raises(KnownError, match=said) as refused:
            operations.set_duty_fields(ws, bad, actor="Ana")
        if "religion" in said:
            assert "Nothing was changed. The fields there are: country_of_residence, age." in str(refused.value)
            assert refused.value.hint == "For example: spec-review duty WORKSPACE --fields country_of_residence,age"
    assert audit.head_of(ws.store.db).seq == head and ws.store.get_info(FIELDS_KEY) == stored


def test_a_free_text_field_is_refused_for_what_it_is(tmp_path):
    ws = Workspace.create(tmp_path / "ws", spec_repo=spec_repo_with(tmp_path / "spec", "# Spec {#spec}\n\nText.\n"))
    try:
        with pytest.raises(KnownError, match="none yet: import a crowd first"):
            operations.set_duty_fields(ws, "country_of_residence", actor="Ana")
        write_ca1(tmp_path / "ca1", per_group=10, prompts=8, per_person=3)
        annotators = tmp_path / "ca1" / "annotators.jsonl"
        rows = [json.loads(line) for line in annotators.read_text(encoding="utf-8").splitlines()]
        for i, row in enumerate(rows):  # a distinct answer per participant: free text, not groups of people
            row["demographics"]["ideal-model-behavior"] = f"Answer {i}: plainly."
        annotators.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        operations.import_ca1(ws, [tmp_path / "ca1" / "comparisons.jsonl", annotators], actor="Ana")
        with pytest.raises(KnownError, match="'ideal-model-behavior' is free text or has too many values"):
            operations.set_duty_fields(ws, "age,ideal-model-behavior", actor="Ana")
        assert ws.store.get_info(FIELDS_KEY) is None and duty_fields(ws.store) == ["country_of_residence"]
    finally:
        ws.close()


def test_audit_verify_reports_a_duty_setting_changed_or_stored_outside_the_log(split):
    ws, _pid, _letter = split
    operations.set_duty_fields(ws, "country_of_residence,age", actor="Ana")
    assert check_record(ws.store) == []
    with ws.store.db.conn:
        ws.store.db.execute("UPDATE workspace_info SET value = ? WHERE key = ?", ['["age"]', FIELDS_KEY])
        ws.store.db.execute("INSERT INTO workspace_info (key, value) VALUES (?, '1')", [MIN_GROUP_SIZE_KEY])
    found = {(m.table, m.id, m.field): (m.logged, m.stored) for m in check_record(ws.store)}
    assert found == {("workspace_info", FIELDS_KEY, "value"): ('["country_of_residence", "age"]', '["age"]'),
                     ("workspace_info", MIN_GROUP_SIZE_KEY, "row"): ("(not in the log)", "(present)")}
    with ws.store.db.conn:
        ws.store.db.execute("UPDATE workspace_info SET value = 'age' WHERE key = ?", [FIELDS_KEY])
    with pytest.raises(KnownError, match="duty.fields is damaged"):
        duty_fields(ws.store)


def test_the_command_line_sets_the_duty_fields_and_a_split_by_age_still_owes_the_countries(split, capsys):
    from tests.reviewer.test_governance import run

    ws, pid, letter = split
    ws.close()
    root = ws.root

    def events():
        with Workspace.open(root) as again:
            return audit.head_of(again.store.db).seq

    code, out, _err = run(capsys, "duty", root)
    assert code == 0 and "the groups of country_of_residence, whatever split the reviewer shows" in out
    head = events()
    code, out, err = run(capsys, "duty", root, "--fields", "country_of_residence,religion", "--by", "Ana")
    assert code == 1 and out == "" and "'religion' is not a demographic field of this workspace's crowd" in err
    assert "The fields there are: country_of_residence, age" in err and "--fields country_of_residence,age" in err
    code, _out, err = run(capsys, "duty", root, "--fields", "age", "--min-group-size", "0", "--by", "Ana")
    assert code == 1 and "at least 1" in err
    assert events() == head  # neither was written: each value is checked before either is set

    decide = ["decide", root, pid, "adopt", "--reviewer", "Ana", "--rationale", "Protects minors.", "--split-by", "age"]
    opinions = [f"opinion:{letter[c]}=Heard {c}'s group." for c in ("Japan", "Kenya")]
    code, out, err = run(capsys, *decide, *(x for r in opinions for x in ("--respond", r)))
    assert code == 1 and out == "" and "owes 2 groups an answer" in err  # the split shown is age: countries owed
    assert f"{COUNTRY}=Japan: country_of_residence: Japan (30 participants)" in err and f"{COUNTRY}=Kenya" in err
    code, _out, err = run(capsys, *decide[:-1], "religion")
    assert code == 1 and "'religion' is not a demographic field" in err and "Nothing was recorded." in err
    assert events() == head

    code, out, _err = run(capsys, "duty", root, "--fields", "country_of_residence,age", "--by", "Ana", "--json")
    assert code == 0 and json.loads(out) == {"min_group_size": 10, "fields": ["country_of_residence", "age"]}
    shown = json.loads(run(capsys, "proposal", "show", root, pid, "--json")[1])
    owed = [g["id"] for g in shown["owed"]["adopt"]]
    ages = [g for g in owed if g.startswith("demographic:age=")]
    assert ages and owed[2:4] == [f"{COUNTRY}=Japan", f"{COUNTRY}=Kenya"] and owed[4:] == ages
    respond = [*opinions, f"{COUNTRY}=Japan=Heard Japan.", f"{COUNTRY}=Kenya=Heard Kenya.",
               *(f"{a}=Every age band is answered: {a.split('=')[1]}." for a in ages)]
    code, out, err = run(capsys, *decide, *(x for r in respond for x in ("--respond", r)), "--json")
    assert code == 0, err
    decision = json.loads(out)["decision"]
    assert decision["evidence"]["split_by"] == "age" and decision["duty"]["fields"] == ["country_of_residence", "age"]
    assert decision["duty"]["responses"][ages[0]] == f"Every age band is answered: {ages[0].split('=')[1]}."
    code, out, _err = run(capsys, "audit", "verify", root)
    assert code == 0, out
    code, _out, err = run(capsys, "report", root, "--format", "md", "-o", root / "report.md")
    md = (root / "report.md").read_text(encoding="utf-8")
    assert code == 0, err
    assert f"Every age band is answered: {ages[0].split('=')[1]}." in md and "Heard Japan." in md and ages[0] in md
