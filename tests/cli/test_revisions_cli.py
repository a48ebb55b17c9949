"""The revision commands: proposal revise, rebase (with --show and --resolution), revisions, compare; confirm."""

import json

from reviewer import governance
from reviewer.queue import waiting_for
from reviewer.workspace import Workspace
from tests.helpers import commit_file
from tests.reviewer.test_governance import make_workspace, propose, run, section_text


def test_revise_confirm_and_compare_from_the_command_line(tmp_path, capsys):
    workspace = make_workspace(tmp_path)
    proposal = propose(workspace, "user_rule", replace=("Beta line.", "Beta line, made clearer."))
    ws = tmp_path / "ws"
    workspace.close()
    code, out, _err = run(capsys, "decide", ws, proposal.id, "adopt", "--reviewer", "Ana", "--rationale", "Clearer.")
    assert code == 0
    new = tmp_path / "new.md"
    new.write_text(proposal.sections[0].new_text.replace("made clearer", "plainer"), encoding="utf-8")
    code, out, err = run(capsys, "proposal", "revise", ws, proposal.id, "--section", "user_rule", "--text-file", new,
                         "--note", "Plainer.", "--revision", "1", "--by", "Ben")
    assert code == 0, err
    assert "revision 2  edit" in out and "earlier votes wait for confirmation" in out and "Plainer." in out
    # The same revision number again: the proposal moved on since, nothing is written.
    code, _out, err = run(capsys, "proposal", "revise", ws, proposal.id, "--title", "x", "--revision", "1", "--by", "Ben")
    assert code == 1 and "at revision 2 now, not 1" in err
    code, out, _err = run(capsys, "proposal", "revisions", ws, proposal.id, "--json")
    assert [(r["revision"], r["kind"], r["created_by"]) for r in json.loads(out)] == [
        (1, "written", "spec-review"), (2, "edit", "Ben")]
    code, out, _err = run(capsys, "proposal", "compare", ws, proposal.id, "1", "2")
    assert code == 0 and "-Beta line, made clearer." in out and "+Beta line, plainer." in out
    code, out, _err = run(capsys, "proposal", "compare", ws, proposal.id, "1", "2", "--json")
    assert json.loads(out)["sections"][0]["changed"] is True
    # Ana's vote waits for her: in her queue, and her decide on the old revision is refused.
    with Workspace.open(ws) as again:
        (waiting,) = [w for w in waiting_for(again.store, "Ana") if w.row.id == proposal.id]
        assert waiting.kind == "confirm" and "your adopt on revision 1: confirm it on revision 2" in waiting.why
    code, _out, err = run(capsys, "decide", ws, proposal.id, "adopt", "--reviewer", "Ana", "--rationale", "x",
                          "--revision", "1")
    assert code == 1 and "since you read revision 1" in err
    code, out, _err = run(capsys, "confirm", ws, proposal.id, "--reviewer", "Ana")
    assert code == 0 and "Confirmed adopt by Ana on revision 2" in out
    with Workspace.open(ws) as again:
        assert governance.proposal_status(again.store, proposal.id).votes == {"Ana": "adopt"}


def test_rebase_shows_the_conflict_three_ways_and_takes_a_resolution_file(tmp_path, capsys):
    workspace = make_workspace(tmp_path)
    proposal = propose(workspace, "user_rule", replace=("Beta line.", "Beta line, made clearer."))
    text = workspace.load_spec().text.replace("Beta line.", "Beta line, amended.")
    commit_file(workspace.spec_repo_path, "model_spec.md", text, "spec moved")
    current = section_text(text, "user_rule")
    ws = tmp_path / "ws"
    workspace.close()
    code, out, _err = run(capsys, "proposal", "rebase", ws, proposal.id, "--show")
    assert code == 0 and "1 conflicting hunk" in out
    assert "<<<<<<< current spec\nBeta line, amended.\n||||||| base\nBeta line.\n=======\nBeta line, made clearer.\n" \
           ">>>>>>> proposal" in out
    code, _out, err = run(capsys, "proposal", "rebase", ws, proposal.id, "--by", "Ana")
    assert code == 1 and "conflicts with the current spec" in err
    resolution = tmp_path / "resolved.md"
    resolution.write_text(current.replace("Beta line, amended.", "Beta line, amended and clearer."), encoding="utf-8")
    code, out, err = run(capsys, "proposal", "rebase", ws, proposal.id, "--resolution", resolution, "--by", "Ana",
                         "--json")
    assert code == 0, err
    data = json.loads(out)
    assert (data["revision"], data["kind"], data["keeps_votes"]) == (2, "resolve", False)
    assert data["sections"][0]["base_text"] == current
    code, out, _err = run(capsys, "proposal", "rebase", ws, proposal.id, "--show")
    assert code == 0 and "is written against the current spec" in out
