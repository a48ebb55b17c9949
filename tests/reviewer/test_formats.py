import json

import pytest

from cli.main import main
from reviewer import audit
from reviewer.errors import KnownError
from reviewer.evidence import (
    apply_ranking_rule,
    evidence_links,
    evidence_summary,
    link_statement,
    set_stance,
)
from reviewer.formats import (
    export_file,
    import_file,
    import_proposals,
    import_rankings,
    import_relevance,
    import_stances,
)
from reviewer.proposals import add_proposal
from reviewer.workspace import Workspace
from tests.helpers import git
from tests.reviewer.test_evidence import (
    NEW_HONEST,
    add_assessment,
    add_statement,
    conv,
    make_spec_repo,
)

RUN = "11111111-1111-4111-8111-111111111111"
PROPOSAL = "0b6c1c7e-5a55-4c43-9d47-2f0f8c8f0c01"
LABEL = "aaaaaaaa-0000-4000-8000-000000000001"

NEW_PRIVACY = """## Respect privacy {#respect_privacy authority=root}

Keep personal details private unless the person asks you to share them.
"""

TABLES = {
    "proposals": "SELECT * FROM proposals ORDER BY id",
    "proposal_sections": "SELECT * FROM proposal_sections ORDER BY proposal_id, position",
    "proposal_conversations": "SELECT * FROM proposal_conversations ORDER BY 1, 2",
    "ranker_runs": "SELECT * FROM ranker_runs ORDER BY id",
    "ranker_rankings": "SELECT * FROM ranker_rankings ORDER BY id",
    "relevance_grades": "SELECT * FROM relevance_grades ORDER BY id",
    "stance_labels": "SELECT * FROM stance_labels ORDER BY rowid",
    "evidence_current": "SELECT * FROM evidence_current ORDER BY 1, 2",
}


def crowd(store):
    """The same crowd in every workspace (the rows the CA-1 and Pol.is importers write)."""
    ids = {}
    for prompt_id, rankings in {"p1": ["A>B>C>D", "B>A>C>D", "A=B>C>D"], "p2": ["D>C>B>A"], "p3": ["A>B>C>D"]}.items():
        for n, ranking in enumerate(rankings):
            ids[(prompt_id, f"u{n}")] = add_assessment(store, prompt_id, f"u{n}", world=ranking,
                                                       personal="A>B>C>D" if n == 0 else None)
    ids["statement"] = add_statement(store, "ccai", 1417, "AI should follow the same laws as people.")
    return ids


def new_workspace(tmp_path, name, repo):
    ws = Workspace.create(tmp_path / name, spec_repo=repo)
    return ws, crowd(ws.store)


def write(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def proposal_line(**overrides):
    line = {
        "id": PROPOSAL, "title": "Say how sure", "intent": "Ask for calibrated honesty.", "kind": "clarification",
        "origin": "automated-single", "base_revision": "v1",
        "sections": [{"section_id": "be_honest", "new_text": NEW_HONEST}],
        "created_at": "2026-07-03T09:14:22Z", "created_by": "o3 (single proposer)",
        "linked_conversations": ["p1", "p2"], "expected_ranking": {"p1": "A>B>C>D", "p2": "A > B = C > D"},
    }
    line.update(overrides)
    return line


def ranking_line(prompt_id="p1", ranking="B>A>C>D", **overrides):
    line = {"run_id": RUN, "spec_revision": "v1", "model": "o3", "prompt_version": "ranker-v2",
            "prompt_id": prompt_id, "ranking": ranking, "reason": "Per be_honest.",
            "created_at": "2026-06-01T12:00:00Z"}
    line.update(overrides)
    return line


def relevance_line(prompt_id="p1", grade=5, **overrides):
    line = {"prompt_id": prompt_id, "section_id": "be_honest", "grade": grade, "grader_kind": "model",
            "grader": "gpt-4.1 (relevance v1)", "created_at": "2026-06-02T08:00:00Z"}
    line.update(overrides)
    return line


def stance_line(**overrides):
    line = {"id": LABEL, "proposal_id": PROPOSAL,
            "justification": {"prompt_id": "p1", "annotator_id": "u1", "block": "world", "position": 0},
            "stance": "refutes", "source_kind": "model", "source_name": "gpt-4.1", "prompt_version": "stance-v1",
            "confidence": 0.7, "quote": "honest answers", "detail": {"reasoning": "short"}, "supersedes": None,
            "created_at": "2026-06-03T00:00:00Z"}
    line.update(overrides)
    return line


def rows(store):
    """Every row of TABLES, without the column naming the import or rule run that wrote it (one per workspace)."""
    out = {}
    for name, sql in TABLES.items():
        cursor = store.db.execute(sql)
        keep = [i for i, column in enumerate(cursor.description) if column[0] not in ("import_id", "written_by")]
        out[name] = [tuple(row[i] for i in keep) for row in cursor]
    return out


def events(store):
    return [r[0] for r in store.db.execute("SELECT action FROM audit_events ORDER BY seq")]


@pytest.fixture(scope="module")
def spec_repo(tmp_path_factory):
    # Workspaces only read the repository, so one serves every test of the module.
    return make_spec_repo(tmp_path_factory.mktemp("spec") / "repo")


@pytest.fixture
def ws(tmp_path, spec_repo):
    workspace, ids = new_workspace(tmp_path, "ws", spec_repo)
    workspace.ids = ids
    workspace.repo = spec_repo
    yield workspace
    workspace.close()


# ---- round trip ---------------------------------------------------------------------------------


def test_export_then_import_into_an_empty_workspace_gives_the_same_data(tmp_path, ws):
    s = ws.store
    import_proposals(ws, write(tmp_path / "p.jsonl", [proposal_line()]))
    other = add_proposal(ws, changes=[("respect_privacy", NEW_PRIVACY)], title="Consent", intent="Share on request.",
                         kind="principle", created_by="Ana", linked_conversations=[conv("p3")])
    import_rankings(ws, write(tmp_path / "r.jsonl", [ranking_line("p1"), ranking_line("p2", "A>B>C>D"),
                                                     ranking_line("p3", "A=B>C=D", reason=None)]))
    import_relevance(s, write(tmp_path / "g.jsonl", [relevance_line("p1", 5), relevance_line("p2", 3),
                                                     relevance_line("p1", 4, grader_kind="person", grader="Ana",
                                                                    section_id="be_brief")]))
    apply_ranking_rule(s, PROPOSAL)
    import_stances(s, write(tmp_path / "s.jsonl", [stance_line()]))
    set_stance(s, PROPOSAL, ws.ids[("p1", "u1")]["world"], "supports", "Ana", note="tone only")
    link_statement(s, PROPOSAL, ws.ids["statement"], "Ana")
    set_stance(s, PROPOSAL, ws.ids["statement"], "supports", "Ana")
    set_stance(s, other.id, ws.ids[("p3", "u0")]["personal"], "no_comment", "Ben")
    before = rows(s)
    assert all(before[name] for name in TABLES), [n for n in TABLES if not before[n]]
    kinds = ("proposals", "rankings", "relevance", "stances")
    out = tmp_path / "out"
    out.mkdir()
    for kind in kinds:
        assert export_file(kind, s, out / f"{kind}.jsonl").rows == {
            "proposals": 2, "rankings": 3, "relevance": 3, "stances": len(before["stance_labels"])
        }[kind]

    target, _ = new_workspace(tmp_path, "ws2", ws.repo)
    with target:
        for kind in kinds:
            import_file(kind, target, out / f"{kind}.jsonl")
        assert rows(target.store) == before
        assert evidence_summary(target.store, PROPOSAL) == evidence_summary(s, PROPOSAL)
        again = tmp_path / "again"
        again.mkdir()
        for kind in kinds:
            export_file(kind, target.store, again / f"{kind}.jsonl")
            assert (again / f"{kind}.jsonl").read_bytes() == (out / f"{kind}.jsonl").read_bytes()
        # Importing the same files again changes nothing and records nothing.
        count = len(events(target.store))
        for kind in kinds:
            report = import_file(kind, target, out / f"{kind}.jsonl")
            assert report.added == 0 and report.unchanged > 0
        assert len(events(target.store)) == count
        assert audit.verify_chain(target.store.db).ok


def test_import_writes_one_audit_event_per_import(tmp_path, ws):
    s = ws.store
    import_proposals(ws, write(tmp_path / "p.jsonl", [proposal_line()]))
    start = len(events(s))
    report = import_rankings(ws, write(tmp_path / "r.jsonl", [ranking_line("p1"), ranking_line("p2")]))
    assert (report.added, report.details) == (2, {"runs_added": 1})
    import_relevance(s, write(tmp_path / "g.jsonl", [relevance_line("p1"), relevance_line("p2")]))
    import_stances(s, write(tmp_path / "s.jsonl", [stance_line()]))
    assert events(s)[start:] == ["import.rankings", "import.relevance", "import.stances"]
    payload = json.loads(s.db.execute("SELECT payload FROM audit_events ORDER BY seq DESC LIMIT 1").fetchone()[0])
    assert payload["added"] == 1 and payload["file"].endswith("s.jsonl")


def test_proposal_links_and_expected_rankings_use_prompt_ids(tmp_path, ws):
    import_proposals(ws, write(tmp_path / "p.jsonl", [proposal_line()]))
    stored = ws.store.get_proposal(PROPOSAL)
    assert stored.linked_conversations == tuple(sorted([conv("p1"), conv("p2")]))
    assert stored.expected_ranking == {conv("p1"): "A>B>C>D", conv("p2"): "A>B=C>D"}
    assert stored.base_revision == git(ws.repo, "rev-parse", "v1")
    assert evidence_summary(ws.store, PROPOSAL).links == 6  # p1: 3 world + 1 personal; p2: 1 + 1
    export_file("proposals", ws.store, tmp_path / "out.jsonl")
    line = json.loads((tmp_path / "out.jsonl").read_text())
    assert line["linked_conversations"] == ["p1", "p2"]
    assert line["expected_ranking"] == {"p1": "A>B>C>D", "p2": "A>B=C>D"}


def test_spec_revision_is_resolved_when_the_repository_has_it(tmp_path, ws):
    import_rankings(ws, write(tmp_path / "r.jsonl", [
        ranking_line("p1"),
        ranking_line("p1", run_id="22222222-2222-4222-8222-222222222222", spec_revision="2025-12-18-release"),
    ]))
    revisions = dict(ws.store.db.execute("SELECT id, spec_revision FROM ranker_runs").fetchall())
    assert revisions[RUN] == git(ws.repo, "rev-parse", "v1")
    assert revisions["22222222-2222-4222-8222-222222222222"] == "2025-12-18-release"


def test_stance_import_links_a_statement_by_its_id(tmp_path, ws):
    import_proposals(ws, write(tmp_path / "p.jsonl", [proposal_line()]))
    line = stance_line(justification={"block": "statement", "id": ws.ids["statement"]}, quote="same laws")
    import_stances(ws.store, write(tmp_path / "s.jsonl", [line]))
    summary = evidence_summary(ws.store, PROPOSAL)
    assert summary.links == 7 and summary.by_source["model:gpt-4.1"]["refutes"] == 1



def test_stance_import_refuses_a_person_label_from_a_member_without_the_reviewer_role(tmp_path, ws):
    from reviewer.governance import add_member

    import_proposals(ws, write(tmp_path / "p.jsonl", [proposal_line()]))
    add_member(ws.store, "Ines Auditor", ["auditor"])
    add_member(ws.store, "Amara Okafor", ["reviewer"])
    before, before_events = rows(ws.store), events(ws.store)
    by_person = {"source_kind": "person", "prompt_version": None, "confidence": None, "quote": None}
    lines = [
        stance_line(id=None, source_name="Amara Okafor", **by_person),
        stance_line(id=None, source_name="Ines Auditor", stance="supports", **by_person),
    ]
    path = write(tmp_path / "s.jsonl", lines)
    with pytest.raises(KnownError, match="line 2: Ines Auditor is a member without the reviewer role") as info:
        import_stances(ws.store, path)
    assert "--role reviewer" in (info.value.hint or "")
    assert rows(ws.store) == before and events(ws.store) == before_events  # the reviewer's line went back too
    # A reviewer, and a labeller who is not a member (an outside team), may label.
    lines[1] = stance_line(id=None, source_name="Crowd team B", stance="supports", **by_person)
    report = import_stances(ws.store, write(tmp_path / "s2.jsonl", lines))
    assert report.added == 2

# ---- bad input: a clear error naming the line, nothing written ----------------------------------

BAD = [
    ("rankings", [ranking_line(), "{not json"], "line 2: invalid JSON"),
    ("rankings", [ranking_line(), ranking_line("p404")], "line 2: unknown prompt_id 'p404'"),
    ("rankings", [ranking_line(), ranking_line("p2", "A>B>C")], "line 2: ranking 'A>B>C' is not a permutation"),
    ("rankings", [ranking_line(), ranking_line("p1", "A>B>D>C")], "line 2: run .* already ranks prompt 'p1'"),
    ("rankings", [ranking_line(), ranking_line("p2", model="other")], "line 2: run .* has model 'other' here"),
    ("rankings", [ranking_line(), ranking_line("p2", run_id="7")], "line 2: field 'run_id' must be a UUID"),
    ("relevance", [relevance_line(), "[1, 2]"], "line 2: expected a JSON object"),
    ("relevance", [relevance_line(), relevance_line("p2", 6)], "line 2: grade must be a whole number from 1 to 5"),
    ("relevance", [relevance_line(), relevance_line("nope")], "line 2: unknown prompt_id 'nope'"),
    ("relevance", [relevance_line(), relevance_line(grade=2)], "line 2: .* already graded prompt 'p1'"),
    ("relevance", [relevance_line(), relevance_line("p2", grader_kind="crowd")], "line 2: grader_kind must be"),
    ("stances", [stance_line(), stance_line(id=None, stance="agrees")], "line 2: stance must be one of"),
    ("stances", [stance_line(), "{"], "line 2: invalid JSON"),
    ("stances", [stance_line(), stance_line(id=None, justification={"prompt_id": "p404", "annotator_id": "u1",
                                                                    "block": "world", "position": 0})],
     "line 2: unknown prompt_id 'p404'"),
    ("stances", [stance_line(), stance_line(id=None, quote="not in the text")], "line 2: quote does not occur"),
    ("stances", [stance_line(), stance_line(stance="supports")], "line 2: label .* already stored with another stance"),
    ("stances", [stance_line(), stance_line(id=None, proposal_id="0b6c1c7e-0000-4c43-9d47-2f0f8c8f0c01")],
     "line 2: unknown proposal_id"),
    ("stances", [stance_line(), stance_line(id=None, confidence=2)], "line 2: confidence must be"),
    ("stances", [stance_line(), stance_line(id=None, supersedes="bbbbbbbb-0000-4000-8000-000000000001")],
     "line 2: supersedes .* neither stored"),
    ("proposals", [proposal_line(id="0b6c1c7e-5a55-4c43-9d47-2f0f8c8f0c02"), proposal_line(linked_conversations=["p1", "p404"])],
     "line 2: unknown prompt_id 'p404'"),
    ("proposals", [proposal_line(id="0b6c1c7e-5a55-4c43-9d47-2f0f8c8f0c02"), proposal_line(expected_ranking={"p1": "A>A>B>C"})],
     "line 2: ranking 'A>A>B>C'"),
    ("proposals", [proposal_line(id="0b6c1c7e-5a55-4c43-9d47-2f0f8c8f0c02"), proposal_line(expected_ranking={"p3": "A>B>C>D"})],
     "line 2: expected_ranking names prompt 'p3', which is not in linked_conversations"),
    ("proposals", [proposal_line(id="0b6c1c7e-5a55-4c43-9d47-2f0f8c8f0c02"), "nope"], "line 2: invalid JSON"),
    ("proposals", [proposal_line(id="0b6c1c7e-5a55-4c43-9d47-2f0f8c8f0c02"), proposal_line(title="Another title")],
     "line 2: proposal .* already stored with another title"),
]


@pytest.fixture(scope="module")
def shared_ws(tmp_path_factory, spec_repo):
    """One workspace for every bad-file case: each case checks that it changed nothing."""
    folder = tmp_path_factory.mktemp("bad")
    workspace, _ = new_workspace(folder, "ws", spec_repo)
    # The conflicts are against rows stored before each import.
    import_proposals(workspace, write(folder / "base.jsonl", [proposal_line()]))
    yield workspace
    workspace.close()


@pytest.mark.parametrize(("kind", "lines", "message"), BAD, ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(BAD)])
def test_bad_line_is_reported_with_its_number_and_nothing_is_written(tmp_path, shared_ws, kind, lines, message):
    ws = shared_ws
    before, before_events = rows(ws.store), events(ws.store)
    lines = [{k: v for k, v in x.items() if v is not None or k != "id"} if isinstance(x, dict) else x for x in lines]
    path = write(tmp_path / f"{kind}.jsonl", lines)
    with pytest.raises(KnownError, match=message) as info:
        import_file(kind, ws, path)
    assert str(path) in str(info.value)
    assert rows(ws.store) == before and events(ws.store) == before_events


def test_missing_file_is_a_known_error(tmp_path, shared_ws):
    with pytest.raises(KnownError, match="No file"):
        import_file("rankings", shared_ws, tmp_path / "missing.jsonl")


# ---- command line -------------------------------------------------------------------------------


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_import_export_evidence_rule_and_stance(tmp_path, ws, capsys):
    root = str(ws.root)
    ws.close()
    code, out, _ = run(capsys, "import", "proposals", root, write(tmp_path / "p.jsonl", [proposal_line()]), "--json")
    assert code == 0 and json.loads(out)["added"] == 1
    code, out, _ = run(capsys, "import", "rankings", root,
                       write(tmp_path / "r.jsonl", [ranking_line("p1"), ranking_line("p2", "A>B>C>D")]), "--json")
    assert code == 0 and json.loads(out)["details"] == {"runs_added": 1}
    code, out, _ = run(capsys, "import", "relevance", root, write(tmp_path / "g.jsonl", [relevance_line()]))
    assert code == 0 and "1 added" in out
    code, out, _ = run(capsys, "evidence-rule", root, PROPOSAL, "--json")
    rule = json.loads(out)
    assert code == 0 and rule["added"] == 6 and rule["results"] == {"supports": 2, "refutes": 1, "no_comment": 3}
    code, out, _ = run(capsys, "evidence-rule", root, PROPOSAL, "--run", RUN)
    assert code == 0 and "0 labels added, 6 unchanged" in out
    with Workspace.open(root) as again:
        target = evidence_links(again.store, PROPOSAL, stance="refutes")[0].justification_id
    code, out, _ = run(capsys, "stance", root, PROPOSAL, target, "no-comment", "--person", "Ana", "--note", "n",
                       "--json")
    label = json.loads(out)
    assert code == 0 and label["stance"] == "no_comment" and label["source"] == "person:Ana" and label["supersedes"]
    code, out, _ = run(capsys, "evidence", root, PROPOSAL, "--json")
    data = json.loads(out)
    assert code == 0 and data["links"] == 6 and len(data["items"]) == 6
    assert data["counts"] == {"supports": 2, "refutes": 0, "no_comment": 4, "unlabelled": 0}
    assert data["by_source"]["person:Ana"] == {"supports": 0, "refutes": 0, "no_comment": 1}
    assert {x["prompt_id"] for x in data["items"]} == {"p1", "p2"}
    code, out, _ = run(capsys, "evidence", root, PROPOSAL, "--stance", "supports", "--history")
    assert code == 0 and out.count("supports (rule:ranking-based)") == 2 and "6 linked justifications" in out
    code, out, _ = run(capsys, "export", "stances", root, "-o", tmp_path / "s.jsonl", "--json")
    assert code == 0 and json.loads(out)["rows"] == 7
    assert len((tmp_path / "s.jsonl").read_text().splitlines()) == 7
    code, out, _ = run(capsys, "export", "rankings", root, "-o", tmp_path / "r2.jsonl")
    assert code == 0 and "Wrote 2 rankings lines" in out


def test_cli_errors_exit_1_with_the_line(tmp_path, ws, capsys):
    root = str(ws.root)
    ws.close()
    code, out, err = run(capsys, "import", "relevance", root, write(tmp_path / "g.jsonl", [relevance_line(grade=6)]))
    assert code == 1 and "g.jsonl, line 1: grade must be" in err and "Traceback" not in err
    code, _, err = run(capsys, "stance", root, PROPOSAL, "x", "maybe", "--person", "A")
    assert code == 1 and "invalid choice" in err
    code, _, err = run(capsys, "evidence", root, PROPOSAL)
    assert code == 1 and "No proposal" in err


def test_cli_proposal_add_with_links(tmp_path, ws, capsys):
    root = str(ws.root)
    ws.close()
    honest, privacy = tmp_path / "honest.md", tmp_path / "privacy.md"
    honest.write_text(NEW_HONEST)
    privacy.write_text(NEW_PRIVACY)
    code, out, _ = run(capsys, "proposal", "add", root, "--section", "be_honest", "--text-file", honest,
                       "--section", "respect_privacy", "--text-file", privacy, "--title", "Two changes",
                       "--intent", "Calibrated honesty; consent to share.", "--kind", "principle",
                       "--link", "p1", "p2", "--link", "p3", "--expect", "p1=A>B=C>D", "--json")
    assert code == 0
    made = json.loads(out)
    assert made["linked_conversations"] == ["p1", "p2", "p3"]
    assert made["expected_ranking"] == {"p1": "A>B=C>D"}
    assert [s["section_id"] for s in made["sections"]] == ["be_honest", "respect_privacy"]
    assert made["origin"] == "human-first"
    code, out, _ = run(capsys, "proposal", "show", root, made["id"], "--json")
    assert code == 0 and json.loads(out)["title"] == "Two changes"
    code, out, _ = run(capsys, "evidence", root, made["id"], "--json")
    assert json.loads(out)["links"] == 8
    code, _, err = run(capsys, "proposal", "add", root, "--section", "be_honest", "--text-file", honest,
                       "--title", "t", "--intent", "i", "--kind", "clarification", "--link", "p404")
    assert code == 1 and "unknown prompt_id 'p404'" in err
    code, _, err = run(capsys, "proposal", "add", root, "--section", "be_honest", "--title", "t", "--intent", "i",
                       "--kind", "clarification")
    assert code == 1 and "--text-file" in err
