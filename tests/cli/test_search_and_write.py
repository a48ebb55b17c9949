"""The command-line twins of the proposal editor: `search`, and `proposal add` with hand links and the authority rule."""

import json

import pytest

from cli.main import main
from reviewer.spec import parse_spec
from reviewer.workspace import Workspace

SECTION = "assume_objective_pov"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_search_prints_hits_with_what_proposal_add_takes(capsys, demo_workspace):
    code, out, _ = run(capsys, "search", demo_workspace, "op-ed voting", "--limit", "3")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].endswith("best first.") and "3 shown" in lines[0]
    assert "justification" in lines[1] and "«op-ed»" in lines[2] and "«voting»" in lines[2]
    assert "(search index built:" in out  # the first search builds the index, and says so
    code, out, _ = run(capsys, "search", demo_workspace, "op-ed voting", "--limit", "3")
    assert "search index" not in out


def test_search_json_and_kinds(capsys, demo_workspace):
    code, out, _ = run(capsys, "search", demo_workspace, "voting", "--kind", "conversation", "--json")
    data = json.loads(out)
    assert code == 0 and data["hits"] and {h["kind"] for h in data["hits"]} == {"conversation"}
    hit = data["hits"][0]
    assert set(hit) == {"kind", "id", "field", "conversation_id", "prompt_id", "annotator_id", "snippet", "highlights"}
    assert all(hit["snippet"][s:e].lower().startswith("voting") for s, e in hit["highlights"])


@pytest.mark.parametrize("typed", ['"', "NEAR(", "a AND OR", "x:y", "*"])
def test_search_syntax_never_fails(capsys, demo_workspace, typed):
    code, out, err = run(capsys, "search", demo_workspace, typed)
    assert code == 0 and err == ""


def test_a_bad_limit_is_a_user_error(capsys, demo_workspace):
    code, _, err = run(capsys, "search", demo_workspace, "x", "--limit", "0")
    assert code == 1 and "at least 1" in err


def _new_text(workspace, authority=None):
    with Workspace.open(workspace) as ws:
        text = ws.load_spec().document.get(SECTION).text
    if authority:
        text = text.replace("authority=user}", f"authority={authority}}}", 1)
    return text + "\nOne more sentence.\n"


def test_proposal_add_links_what_search_found_in_one_operation(capsys, demo_workspace, tmp_path):
    _, out, _ = run(capsys, "search", demo_workspace, "ridiculous", "--kind", "justification", "--json")
    hits = json.loads(out)["hits"][:2]
    _, out, _ = run(capsys, "search", demo_workspace, "voting age", "--kind", "conversation", "--json")
    # A conversation other than theirs: a justification its conversation brings is not linked again.
    conversation = next(c for c in json.loads(out)["hits"] if c["id"] not in {h["conversation_id"] for h in hits})
    new = tmp_path / "new.md"
    new.write_text(_new_text(demo_workspace), encoding="utf-8")
    argv = ["proposal", "add", demo_workspace, "--section", SECTION, "--text-file", new, "--title", "Plain",
            "--intent", "Say it plainly.", "--kind", "clarification", "--by", "Lena Fischer",
            "--justification", *[h["id"] for h in hits], "--link", conversation["prompt_id"]]
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["links"] >= 2 and data["created_by"] == "Lena Fischer"
    code, out, _ = run(capsys, "audit", "log", demo_workspace, "--limit", "3", "--json")
    actions = [e["action"] for e in json.loads(out)]
    assert actions[:2] == ["evidence.link", "evidence.link"] and "proposal.add" in actions
    code, out, _ = run(capsys, "evidence", demo_workspace, data["id"], "--json")
    linked = {item["justification_id"] for item in json.loads(out)["items"]}
    assert {h["id"] for h in hits} <= linked


def test_proposal_add_refuses_an_authority_change_in_a_clarification(capsys, demo_workspace, tmp_path):
    new = tmp_path / "new.md"
    new.write_text(_new_text(demo_workspace, authority="developer"), encoding="utf-8")
    argv = ["proposal", "add", demo_workspace, "--section", SECTION, "--text-file", new, "--title", "Move",
            "--intent", "Move it.", "--by", "Ana"]
    code, _, err = run(capsys, *argv, "--kind", "clarification")
    assert code == 1 and "authority changes from user to developer" in err and "--kind principle" in err
    code, out, _ = run(capsys, *argv, "--kind", "principle", "--json")
    assert code == 0
    (section,) = json.loads(out)["sections"]
    assert parse_spec(section["new_text"]).sections[0].authority == "developer"


def test_proposal_add_with_an_unknown_justification_writes_nothing(capsys, demo_workspace, tmp_path):
    new = tmp_path / "new.md"
    new.write_text(_new_text(demo_workspace), encoding="utf-8")
    _, before, _ = run(capsys, "proposal", "list", demo_workspace, "--json")
    code, _, err = run(capsys, "proposal", "add", demo_workspace, "--section", SECTION, "--text-file", new,
                       "--title", "t", "--intent", "i", "--kind", "clarification", "--justification", "nope")
    assert code == 1 and "No justification with id nope" in err
    _, after, _ = run(capsys, "proposal", "list", demo_workspace, "--json")
    assert json.loads(after) == json.loads(before)
