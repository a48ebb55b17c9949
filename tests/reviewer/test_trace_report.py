import csv
import io
import json
import re
import sqlite3

from reviewer import committing, governance, report
from reviewer.ids import new_id, utc_now
from reviewer.proposals import add_proposal
from reviewer.trace import trace
from tests.helpers import commit_file
from tests.reviewer.test_governance import SPEC, make_workspace, propose, run, section_text

# ---- traceability -----------------------------------------------------------------------------------


def committed_workspace(tmp_path):
    workspace = make_workspace(tmp_path)
    proposal = propose(workspace, "user_rule", ("Beta line.", "Beta line, clarified."))
    governance.decide(workspace.store, proposal.id, "adopt", "Ana", "Clearer.")
    (item,) = committing.commit_adopted(workspace, "Eve").items
    return workspace, proposal, item.commit_sha


def test_trace_fails_on_outside_commits_and_lists_them(tmp_path, capsys):
    workspace, proposal, sha = committed_workspace(tmp_path)
    outside = commit_file(workspace.spec_repo_path, "model_spec.md",
                          (workspace.spec_repo_path / "model_spec.md").read_text().replace("Guidance text.", "Edited by hand."),
                          "Hand edit")
    commit_file(workspace.spec_repo_path, "README.md", "not the spec\n", "Readme")  # not the spec file: not listed
    result = trace(workspace)
    assert not result.ok and result.problems == [
        f"commit {outside[:10]} (Hand edit) changed the spec outside the app: no adopted proposal explains it"]
    (entry,) = result.proposals
    assert entry["proposal_id"] == proposal.id and entry["commit_sha"] == sha
    assert all(entry["checks"].values()) and entry["changed_sections"] == ["user_rule"]
    assert entry["applied_as_proposed"] is True
    assert [(c["sha"], c["explained_by"]) for c in result.commits] == [(sha, "decision"), (outside, "outside")]
    workspace.close()
    code, out, _ = run(capsys, "audit", "trace", tmp_path / "ws", "--json")
    data = json.loads(out)
    assert code == 1 and not data["ok"] and data["outside_commits"] == 1


def test_trace_lists_adopted_but_uncommitted(tmp_path):
    workspace, _proposal, _sha = committed_workspace(tmp_path)
    waiting = propose(workspace, "guide", ("Guidance text.", "Guidance."))
    governance.decide(workspace.store, waiting.id, "adopt", "Ana", "Yes.")
    result = trace(workspace)
    assert result.ok
    assert {p["proposal_id"]: p["state"] for p in result.proposals}[waiting.id] == "awaiting_commit"


def test_trace_finds_a_decision_pointing_at_the_wrong_commit(tmp_path, capsys):
    workspace, proposal, sha = committed_workspace(tmp_path)
    # Someone commits a change to two sections by hand, then points the decision at it with sqlite3.
    text = (workspace.spec_repo_path / "model_spec.md").read_text()
    wrong = commit_file(workspace.spec_repo_path, "model_spec.md",
                        text.replace("Alpha line.", "Alpha!").replace("Guidance text.", "Guidance!"), "Two edits")
    workspace.close()
    conn = sqlite3.connect(tmp_path / "ws" / "reviewer.db")
    conn.execute("UPDATE proposal_commit_state SET commit_sha = ?", [wrong])
    conn.commit()
    conn.close()
    code, out, _ = run(capsys, "audit", "trace", tmp_path / "ws", "--json")
    data = json.loads(out)
    assert code == 1 and not data["ok"]
    problems = "\n".join(data["problems"])
    assert f"commit {wrong[:10]} also changed guide\n" in problems + "\n"
    assert "does not name it in a Proposal-Id trailer" in problems
    assert "do not name commit" in problems
    assert {c["sha"]: c["explained_by"] for c in data["commits"]}[sha] == "decision"


def test_trace_finds_a_recorded_commit_missing_from_the_repository(tmp_path):
    workspace, _proposal, sha = committed_workspace(tmp_path)
    workspace.store.db.execute("UPDATE proposal_commit_state SET commit_sha = ?", ["f" * 40])
    result = trace(workspace)
    assert not result.ok and any("is not in the spec repository" in p for p in result.problems)


# ---- the transparency report --------------------------------------------------------------------------


def add_crowd(workspace, proposal_section="root_rule"):
    """Two conversations' worth of crowd input, linked to a new proposal, with stances."""
    db = workspace.store.db
    now = utc_now()
    conversation = new_id()
    db.execute("INSERT INTO conversations (id, source, source_id, prompt, responses, created_at) VALUES (?,?,?,?,?,?)",
               [conversation, "ca1", "prompt-1", "[]", "{}", now])
    people = [("US", "18-24"), ("US", "25-34"), ("MX", "25-34"), ("IN", None)]
    justifications = []
    for i, (country, age) in enumerate(people):
        participant = new_id()
        demographics = {"country_of_residence": country, "age_group": age} if age else {"country_of_residence": country}
        db.execute("INSERT INTO participants (id, source, source_id, demographics, created_at) VALUES (?,?,?,?,?)",
                   [participant, "ca1", f"annotator-{i}", json.dumps(demographics), now])
        assessment = new_id()
        db.execute("INSERT INTO assessments (id, conversation_id, participant_id, created_at) VALUES (?,?,?,?)",
                   [assessment, conversation, participant, now])
        justification = new_id()
        db.execute("INSERT INTO justifications (id, assessment_id, block, position, text, created_at)"
                   " VALUES (?,?,?,?,?,?)", [justification, assessment, "personal", 0, f"reason {i}", now])
        justifications.append(justification)
    current = section_text(SPEC, proposal_section)
    proposal = add_proposal(
        workspace, changes=[(proposal_section, current.replace("Line one", "Line <b>1</b>"))],
        title="<script>alert('x')</script> & friends", intent="Test | escaping\nand <i>more</i>.",
        kind="principle", linked_conversations=[conversation],
    )
    for justification, stance in zip(justifications, ["supports", "supports", "refutes", "no_comment"]):
        db.execute("INSERT INTO stance_labels (id, proposal_id, justification_id, stance, source_kind, source_name,"
                   " created_at) VALUES (?,?,?,?,?,?,?)",
                   [new_id(), proposal.id, justification, stance, "model", "judge-1", now])
    return proposal


def report_workspace(tmp_path):
    workspace = make_workspace(tmp_path)
    crowd = add_crowd(workspace)
    governance.decide(workspace.store, crowd.id, "adopt", "Ana", "The crowd <agrees>.")
    governance.decide(workspace.store, crowd.id, "adopt", "Ben", "Agreed, with care.")
    deferred = propose(workspace, "guide", ("Guidance text.", "Guidance."), title="Later")
    governance.decide(workspace.store, deferred.id, "defer", "Ana", "Needs a study first.", "needs-research")
    (item,) = committing.commit_adopted(workspace, "Eve", tag="v1").items
    return workspace, crowd, deferred, item.commit_sha


def test_report_json_has_outcomes_evidence_split_and_commits(tmp_path, capsys):
    workspace, crowd, deferred, sha = report_workspace(tmp_path)
    workspace.close()
    out_file = tmp_path / "report.json"
    code, out, _ = run(capsys, "report", tmp_path / "ws", "--format", "json", "-o", out_file, "--json")
    assert code == 0 and json.loads(out)["proposals"] == 2
    data = json.loads(out_file.read_text())
    assert data["evidence_available"] is True and data["audit"]["intact"] is True
    by_id = {p["id"]: p for p in data["proposals"]}
    adopted = by_id[crowd.id]
    assert (adopted["status"], adopted["outcome"], adopted["level"], adopted["quorum"]) == ("committed", "adopt", "root", 2)
    assert adopted["reviewers"] == ["Ana", "Ben"]
    assert [d["rationale"] for d in adopted["decisions"]] == ["The crowd <agrees>.", "Agreed, with care."]
    assert adopted["commit"] == {"sha": sha, "release_tag": "v1"}
    assert adopted["evidence"]["counts"]["supports"] == 2 and adopted["evidence"]["counts"]["refutes"] == 1
    assert adopted["evidence"]["by_source"] == {"model:judge-1": {"supports": 2, "refutes": 1, "no_comment": 1}}
    assert adopted["split"] == {"US": {"supports": 2, "refutes": 0}, "MX": {"supports": 0, "refutes": 1}}
    later = by_id[deferred.id]
    assert (later["status"], later["outcome"], later["reason_categories"]) == ("deferred", "defer", ["needs-research"])
    assert later["commit"] is None and later["split"] == {}
    # Another demographic field; a missing value is its own group.
    code, _, _ = run(capsys, "report", tmp_path / "ws", "--format", "json", "-o", out_file, "--by", "age_group")
    split = {p["id"]: p for p in json.loads(out_file.read_text())["proposals"]}[crowd.id]["split"]
    assert split == {"18-24": {"supports": 1, "refutes": 0}, "25-34": {"supports": 1, "refutes": 1}}


def test_report_html_is_self_contained_and_escaped(tmp_path, capsys):
    workspace, crowd, _deferred, sha = report_workspace(tmp_path)
    workspace.close()
    out_file = tmp_path / "report.html"
    code, _, _ = run(capsys, "report", tmp_path / "ws", "--format", "html", "-o", out_file)
    page = out_file.read_text(encoding="utf-8")
    assert code == 0 and page.startswith("<!DOCTYPE html>")
    assert "<script" not in page and "alert(&#x27;x&#x27;)" in page
    assert "&lt;script&gt;" in page and "The crowd &lt;agrees&gt;." in page and "Line <b>" not in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)  # no external assets
    assert "<link" not in page and "@import" not in page
    assert page.count("<svg") == 2  # the status chart and one split chart (the deferred one has no split)
    assert sha in page and "needs-research" in page
    svg = page[page.index("<svg", page.index(crowd.id)):]
    assert ">US<" in svg and ">MX<" in svg


def test_report_md_and_csv(tmp_path, capsys):
    workspace, crowd, deferred, sha = report_workspace(tmp_path)
    workspace.close()
    md_file, csv_file = tmp_path / "report.md", tmp_path / "report.csv"
    assert run(capsys, "report", tmp_path / "ws", "--format", "md", "-o", md_file)[0] == 0
    md = md_file.read_text()
    assert "### &lt;script&gt;alert('x')&lt;/script&gt; &amp; friends" in md
    assert "Test \\| escaping and &lt;i&gt;more&lt;/i&gt;." in md
    assert "| US | 2 | 0 |" in md and f"`{sha}` (release v1)" in md
    assert run(capsys, "report", tmp_path / "ws", "--format", "csv", "-o", csv_file)[0] == 0
    rows = list(csv.DictReader(io.StringIO(csv_file.read_text())))
    by_id = {r["proposal_id"]: r for r in rows}
    assert by_id[crowd.id]["status"] == "committed" and by_id[crowd.id]["supports"] == "2"
    assert by_id[crowd.id]["commit_sha"] == sha and by_id[crowd.id]["release_tag"] == "v1"
    assert json.loads(by_id[crowd.id]["split"])["MX"] == {"supports": 0, "refutes": 1}
    assert by_id[deferred.id]["reason_categories"] == "needs-research"
    assert "Ana (defer): Needs a study first." in by_id[deferred.id]["rationales"]


def test_report_without_evidence_module(tmp_path, monkeypatch):
    workspace, crowd, _deferred, _sha = report_workspace(tmp_path)
    monkeypatch.setattr(report, "_evidence_functions", lambda: None)
    data = report.build_report(workspace)
    assert data["evidence_available"] is False
    assert all(p["evidence"] is None and p["split"] is None for p in data["proposals"])
    assert "Evidence: not available" in report.render_md(data)
    assert "not available" in report.render_html(data)


def test_report_errors(tmp_path, capsys):
    make_workspace(tmp_path).close()
    code, _, err = run(capsys, "report", tmp_path / "ws", "--format", "html", "-o", tmp_path / "no" / "such" / "r.html")
    assert code == 1 and "does not exist" in err
    code, _, err = run(capsys, "report", tmp_path / "ws", "--format", "pdf", "-o", tmp_path / "r.pdf")
    assert code == 1


def test_report_carries_the_agreement_chart_and_trust_on_the_demo(tmp_path):
    import json as _json

    from reviewer.report import write_report
    from reviewer.workspace import Workspace

    with Workspace.create_demo(tmp_path / "demo") as workspace:
        write_report(workspace, "html", tmp_path / "report.html")
        write_report(workspace, "json", tmp_path / "report.json")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "agreement by section" in page and page.count("<svg") >= 3
    data = _json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert "agreement_svg" not in data
    overall = data["agreement"]["overall"]["stats"]
    assert 0 < overall["share"] < 1 and overall["low"] <= overall["share"] <= overall["high"]
    assert data["trust"] == []  # no person has labelled a stance in the demo
    # The app's colour-blind-safe palette, not red and green: supports blue, refutes orange.
    from reviewer.palette import AGREEMENT_OVERALL, REFUTES, SUPPORTS

    assert f'fill="{SUPPORTS}"' in page and f'fill="{REFUTES}"' in page and AGREEMENT_OVERALL in page
    for red_or_green in ("#2e7d32", "#c62828", "#1b5e20", "#43a047", "#b22222"):
        assert red_or_green not in page.lower()


def test_report_labels_every_vote_for_every_status(tmp_path):
    """Each status, in the Markdown, HTML and CSV report: a vote is counted, awaits quorum, is contested or superseded."""
    workspace = make_workspace(tmp_path)
    decide = governance.decide
    store = workspace.store
    pending = propose(workspace, "root_rule", ("Line one", "Line 1"), title="Pending")
    decide(store, pending.id, "adopt", "Ana", "Ana: pending vote.")
    contested = propose(workspace, "legacy_rule", ("Old wording.", "New wording."), title="Contested")
    decide(store, contested.id, "adopt", "Ana", "Ana: adopt it.")
    decide(store, contested.id, "defer", "Ben", "Ben: not yet.", "needs-research")
    deferred = propose(workspace, "user_rule", ("Alpha line.", "Alpha line, deferred."), title="Deferred")
    decide(store, deferred.id, "adopt", "Ana", "Ana: first thought.")
    decide(store, deferred.id, "defer", "Ana", "Ana: on reflection, wait.", "needs-research")
    aside = propose(workspace, "guide", ("Guidance text.", "Guidance text, set aside."), title="Set aside")
    decide(store, aside.id, "set_aside", "Cy", "Cy: no.", "principle")
    committed = propose(workspace, "user_rule", ("Beta line.", "Beta line, committed."), title="Committed")
    decide(store, committed.id, "adopt", "Ben", "Ben: yes.")
    adopted = propose(workspace, "guide", ("Guidance text.", "Guidance text, adopted."), title="Adopted")
    committing.commit_adopted(workspace, "Eve")  # commits both adopted ones
    decide(store, adopted.id, "adopt", "Cy", "Cy: yes, after the commit run.")

    data = report.build_report(workspace)
    by_title = {p["title"]: p for p in data["proposals"]}
    assert {t: p["status"] for t, p in by_title.items()} == {
        "Pending": "pending", "Contested": "contested", "Deferred": "deferred", "Set aside": "set_aside",
        "Committed": "committed", "Adopted": "adopted",
    }
    standing = {t: [(d["reviewer"], d["standing"]) for d in p["decisions"]] for t, p in by_title.items()}
    assert standing == {
        "Pending": [("Ana", "latest")],
        "Contested": [("Ana", "latest"), ("Ben", "latest")],
        "Deferred": [("Ana", "superseded"), ("Ana", "counted")],
        "Set aside": [("Cy", "counted")],
        "Committed": [("Ben", "counted")],
        "Adopted": [("Cy", "counted")],
    }
    md = report.render_md(data)
    assert "| adopt (awaiting quorum) |" in md and "| defer (contested) |" in md
    assert md.count("(superseded)") == 1  # only Ana's first thought on "Deferred"
    html = report.render_html(data)
    assert "(awaiting quorum)" in html and "(contested)" in html
    rows = {r["title"]: r for r in csv.DictReader(io.StringIO(report.render_csv(data)))}
    rationale_column = next(c for c in rows["Pending"] if "rationale" in c)
    assert rows["Pending"][rationale_column] == "Ana (adopt, awaiting quorum): Ana: pending vote."
    assert "Ben (defer, contested): Ben: not yet." in rows["Contested"][rationale_column]
    assert rows["Deferred"][rationale_column] == "Ana (defer): Ana: on reflection, wait."


def test_a_commit_whose_text_is_not_the_proposal_is_a_trace_failure(tmp_path):
    """Someone commits other text under the app's trailers: recovery refuses it and trace names it."""
    from reviewer.committing import TRAILER_DECISION, TRAILER_PROPOSAL, TRAILER_WORKSPACE

    workspace, _proposal, _sha = committed_workspace(tmp_path)
    waiting = propose(workspace, "guide", ("Guidance text.", "Guidance, as adopted."))
    decision = governance.decide(workspace.store, waiting.id, "adopt", "Ana", "Yes.").decision
    spec = workspace.spec_repo_path / "model_spec.md"
    forged = spec.read_text().replace("Guidance text.", "Something nobody adopted.")
    message = (f"Guide\n\n{TRAILER_PROPOSAL}: {waiting.id}\n{TRAILER_DECISION}: {decision.id}\n"
               f"{TRAILER_WORKSPACE}: {workspace.config.id}\n")
    sha = commit_file(workspace.spec_repo_path, "model_spec.md", forged, message)
    report = committing.commit_adopted(workspace, "Eve")
    item = report.items[0]
    assert item.result == "refused" and item.commit_sha == sha and "not the proposal applied to its parent" in item.message
    assert governance.proposal_status(workspace.store, waiting.id).status != "committed"
    result = trace(workspace)
    assert not result.ok and any(sha[:10] in p for p in result.problems)


def test_the_html_report_shows_a_bidi_override_as_a_marker(tmp_path):
    workspace, proposal, _sha = committed_workspace(tmp_path)
    workspace.store.db.execute("UPDATE proposals SET title = ? WHERE id = ?", ["evil \u202eelif.exe", proposal.id])
    text = report.render_html(report.build_report(workspace))
    assert "\u202e" not in text and "RLO" in text
