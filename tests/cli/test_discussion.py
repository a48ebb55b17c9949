"""`spec-review comment add|list|resolve|reopen`: the command-line twin of the desk's Discussion pane."""

import json

from reviewer.workspace import Workspace
from tests.datapaths import MULTI_SECTION, SUPPORTED
from tests.reviewer.test_governance import run


def _justification(root, proposal_id=SUPPORTED):
    with Workspace.open(root) as ws:
        return ws.store.db.execute("SELECT justification_id FROM evidence_current WHERE proposal_id = ? ORDER BY"
                                   " justification_id LIMIT 1", [proposal_id]).fetchone()[0]


def test_comment_add_list_resolve_and_reopen(demo_workspace, capsys, tmp_path):
    ws = demo_workspace
    code, out, _ = run(capsys, "comment", "add", ws, SUPPORTED, "--text", "Paid ads too? @Jonas Lindqvist",
                       "--by", "Amara Okafor", "--json")
    first = json.loads(out)
    assert code == 0 and first["mentions"] == ["Jonas Lindqvist"] and first["thread_id"] == first["id"]
    note = tmp_path / "reply.txt"
    note.write_text("Yes: the second paragraph.\nSee line 12.\n", encoding="utf-8")
    code, out, _ = run(capsys, "comment", "add", ws, SUPPORTED, "--text-file", note, "--reply-to", first["id"],
                       "--by", "Jonas Lindqvist")
    assert code == 0 and out.startswith(f"Replied in thread {first['id']} as Jonas Lindqvist (comment ")
    code, out, _ = run(capsys, "comment", "add", ws, MULTI_SECTION, "--text", "Shorter?", "--section",
                       "present_perspectives", "--by", "Wei Chen")
    assert code == 0 and out.startswith("Started thread ")
    justification = _justification(ws)
    code, out, _ = run(capsys, "comment", "add", ws, SUPPORTED, "--text", "A fair objection.", "--justification",
                       justification, "--by", "Priya Raman", "--json")
    on_quote = json.loads(out)
    assert code == 0

    code, out, _ = run(capsys, "comment", "list", ws, SUPPORTED, "--json")
    threads = json.loads(out)
    assert code == 0 and [t["id"] for t in threads] == [first["id"], on_quote["id"]]
    assert [c["text"] for c in threads[0]["comments"]] == ["Paid ads too? @Jonas Lindqvist",
                                                          "Yes: the second paragraph.\nSee line 12."]
    assert threads[1]["justification_id"] == justification and not threads[1]["resolved"]
    code, out, _ = run(capsys, "comment", "list", ws, SUPPORTED)
    assert f"Thread {first['id']} on the proposal (open)" in out and "    See line 12." in out

    code, out, _ = run(capsys, "comment", "resolve", ws, first["id"], "--by", "Amara Okafor")
    assert code == 0 and out.startswith(f"Resolved thread {first['id']} on the proposal (2 comments)")
    code, out, _ = run(capsys, "comment", "list", ws, SUPPORTED, "--open", "--json")
    assert [t["id"] for t in json.loads(out)] == [on_quote["id"]]
    code, out, _ = run(capsys, "comment", "list", ws, SUPPORTED)
    assert "(resolved by Amara Okafor " in out
    code, _, err = run(capsys, "comment", "add", ws, SUPPORTED, "--text", "More.", "--reply-to", first["id"],
                       "--by", "Wei Chen")
    assert code == 1 and "resolved: reopen it to reply" in err
    code, out, _ = run(capsys, "comment", "reopen", ws, first["id"], "--by", "Wei Chen", "--json")
    assert code == 0 and json.loads(out)["resolved"] is False
    code, out, _ = run(capsys, "audit", "verify", ws)
    assert code == 0 and "the record matches the log" in out


def test_comment_refusals_are_one_clear_line(demo_workspace, capsys):
    ws = demo_workspace
    for argv, message in (
        (["--text", "  ", "--by", "Wei Chen"], "A comment needs text"),
        (["--text", "Hi", "--by", "Mallory"], "Mallory is not a member"),
        (["--by", "Wei Chen"], "--text TEXT or --text-file FILE"),
        (["--text", "Hi", "--text-file", "x.txt", "--by", "Wei Chen"], "--text TEXT or --text-file FILE"),
        (["--text-file", "/no/such/file.txt", "--by", "Wei Chen"], "Cannot read /no/such/file.txt"),
        (["--text", "Hi", "--section", "nope", "--by", "Wei Chen"], "does not change a section 'nope'"),
    ):
        code, _out, err = run(capsys, "comment", "add", ws, SUPPORTED, *argv)
        assert code == 1 and message in err, (argv, err)
        assert len(err.strip().splitlines()) <= 2
    code, _out, err = run(capsys, "comment", "add", ws, SUPPORTED, "--text", "Hi", "--section", "a",
                          "--reply-to", "b", "--by", "Wei Chen")
    assert code == 1 and "not allowed with argument" in err
    code, _out, err = run(capsys, "comment", "resolve", ws, "no-such-thread", "--by", "Wei Chen")
    assert code == 1 and "No thread or comment with id no-such-thread" in err


def test_comment_text_is_neutralised_on_the_terminal_and_kept_whole_in_json(demo_workspace, capsys):
    ws = demo_workspace
    code, out, _ = run(capsys, "comment", "add", ws, SUPPORTED, "--text", "evil \u202e txt and \x1b]0;title\x07",
                       "--by", "Wei Chen")
    assert code == 1  # control characters are refused outright
    code, out, _ = run(capsys, "comment", "add", ws, SUPPORTED, "--text", "evil \u202eroot\u202c here",
                       "--by", "Wei Chen", "--json")
    assert code == 0
    code, out, _ = run(capsys, "comment", "list", ws, SUPPORTED)
    assert "\u202e" not in out and "\\u202e" in out
    code, out, _ = run(capsys, "comment", "list", ws, SUPPORTED, "--json")
    assert json.loads(out)[0]["comments"][0]["text"] == "evil \u202eroot\u202c here"


def test_a_mention_made_on_the_command_line_is_in_the_mentioned_members_queue(demo_workspace, capsys):
    ws = demo_workspace
    code, out, _ = run(capsys, "comment", "add", ws, SUPPORTED, "--text", "@Sofía Herrera one commit or two?",
                       "--by", "Amara Okafor", "--json")
    thread_id = json.loads(out)["thread_id"]
    code, out, _ = run(capsys, "queue", ws, "--mine", "Sofía Herrera", "--json")
    (row,) = json.loads(out)
    assert code == 0 and (row["id"], row["kind"], row["thread_id"]) == (SUPPORTED, "mention", thread_id)
    code, out, _ = run(capsys, "queue", ws, "--mine", "Sofía Herrera")
    assert "Amara Okafor mentioned you on the proposal" in out
    run(capsys, "comment", "add", ws, SUPPORTED, "--text", "One.", "--reply-to", thread_id, "--by", "Sofía Herrera")
    code, out, _ = run(capsys, "queue", ws, "--mine", "Sofía Herrera")
    assert code == 0 and out.strip() == "Nothing waits for Sofía Herrera."
