"""Hostile text in crowd data, titles and names never reaches the terminal raw; JSON keeps it exactly."""

import json
import re
import sqlite3
import subprocess
import sys

from cli.main import main
from reviewer.textsafe import BIDI_CONTROLS, BIDI_MARKS
from reviewer.workspace import DB_FILE
from tests.datapaths import ROOT, SUPPORTED

# A forged green light in red, an OSC 8 link, an OSC 0 window title, a right-to-left override, a bare CR.
HOSTILE = ("\x1b[31mAudit log intact\x1b[0m \x1b]8;;https://evil.example/\x07click\x1b]8;;\x07 "
           "\x1b]0;owned\x07 \u202eevil\u202c \rmore")
RAW_CONTROL = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{''.join(BIDI_CONTROLS)}{BIDI_MARKS}]")


def run_process(*argv):
    result = subprocess.run([sys.executable, "-m", "cli", *argv], capture_output=True, cwd=ROOT, timeout=120)
    return result.returncode, result.stdout.decode("utf-8"), result.stderr.decode("utf-8")


def assert_inert(text):
    """No ESC, BEL, CR or other control byte, and no bidi control, in what reached the terminal."""
    assert "\x1b" not in text and "\x07" not in text and "\r" not in text
    assert not RAW_CONTROL.search(text), repr(RAW_CONTROL.search(text).group())


def hostile_workspace(demo_workspace, capsys, tmp_path):
    """The demo with a proposal titled and argued in hostile text, linked to a conversation whose
    justification, participant and member names are hostile too (added the ordinary way, except the
    crowd text, which is written into the database as an import would)."""
    assert main(["proposal", "show", str(demo_workspace), SUPPORTED, "--json"]) == 0
    section = json.loads(capsys.readouterr().out)["sections"][0]
    assert main(["evidence", str(demo_workspace), SUPPORTED, "--limit", "1", "--json"]) == 0
    prompt_id = json.loads(capsys.readouterr().out)["items"][0]["prompt_id"]
    text_file = tmp_path / "section.md"
    text_file.write_text(section["new_text"] + "\nOne more sentence.\n", encoding="utf-8")
    assert main(["proposal", "add", str(demo_workspace), "--section", section["section_id"], "--text-file",
                 str(text_file), "--title", HOSTILE, "--intent", HOSTILE, "--kind", "clarification",
                 "--link", prompt_id, "--json"]) == 0
    proposal_id = json.loads(capsys.readouterr().out)["id"]
    assert main(["member", "add", str(demo_workspace), HOSTILE, "--role", "reviewer"]) == 0
    assert main(["decide", str(demo_workspace), proposal_id, "defer", "--reviewer", HOSTILE,
                 "--rationale", HOSTILE, "--reason", "other"]) == 0
    capsys.readouterr()
    conn = sqlite3.connect(demo_workspace / DB_FILE)
    with conn:
        conn.execute(
            "UPDATE justifications SET text = ? WHERE assessment_id IN (SELECT a.id FROM assessments a"
            " JOIN conversations c ON c.id = a.conversation_id WHERE c.source_id = ?)", [HOSTILE, prompt_id])
        conn.execute("UPDATE participants SET source_id = ? || source_id WHERE id IN (SELECT a.participant_id"
                     " FROM assessments a JOIN conversations c ON c.id = a.conversation_id WHERE c.source_id = ?)",
                     [HOSTILE, prompt_id])
    conn.close()
    return proposal_id


def test_human_output_neutralises_escapes_and_bidi_in_a_real_process(demo_workspace, capsys, tmp_path):
    proposal_id = hostile_workspace(demo_workspace, capsys, tmp_path)
    ws = str(demo_workspace)
    outputs = {}
    for argv in (("proposal", "show", ws, proposal_id), ("proposal", "list", ws), ("evidence", ws, proposal_id),
                 ("audit", "log", ws, "--limit", "20"), ("member", "list", ws), ("audit", "verify", ws)):
        code, out, err = run_process(*argv)
        # The crowd text was written into the database by hand, so verify rightly names those rows
        # (with the hostile text in its mismatch lines: neutralised like the rest).
        assert code == (1 if argv[:2] == ("audit", "verify") else 0), err
        assert_inert(out + err)
        outputs[argv[:2]] = out
    # The text is still there, readable, with its escapes spelled out.
    shown = outputs[("proposal", "show")]
    assert "\\x1b[31mAudit log intact\\x1b[0m" in shown and "\\u202eevil\\u202c" in shown
    assert "\\x1b]0;owned\\x07" in shown and "\\x0dmore" in shown
    assert "\\x1b[31mAudit log intact" in outputs[("evidence", ws)]
    assert "\\u202eevil" in outputs[("member", "list")]
    assert outputs[("audit", "verify")].startswith("Audit log intact (")  # the real one, uncoloured
    assert "the record does NOT match it" in outputs[("audit", "verify")]


def test_json_output_keeps_the_text_exactly_and_is_still_inert(demo_workspace, capsys, tmp_path):
    proposal_id = hostile_workspace(demo_workspace, capsys, tmp_path)
    code, out, err = run_process("proposal", "show", str(demo_workspace), proposal_id, "--json")
    assert code == 0, err
    assert_inert(out)
    data = json.loads(out)
    assert data["title"] == HOSTILE and data["intent"] == HOSTILE
    code, out, _err = run_process("evidence", str(demo_workspace), proposal_id, "--json")
    assert_inert(out)
    assert HOSTILE in [item["text"] for item in json.loads(out)["items"]]


def test_errors_and_usage_messages_are_neutralised(capsys, demo_workspace):
    assert main(["proposal", "show", str(demo_workspace), HOSTILE]) == 1
    _out, err = capsys.readouterr()
    assert_inert(err)
    assert main(["decide", str(demo_workspace), SUPPORTED, HOSTILE]) == 1
    _out, err = capsys.readouterr()
    assert_inert(err) and "invalid choice" in err


def test_no_command_writes_to_the_terminal_around_the_output_module():
    writes = re.compile(r"\bprint\(|sys\.std(out|err)\.write\(")
    offenders = [f"{path.name}:{n}" for path in sorted((ROOT / "cli").glob("*.py")) if path.name != "output.py"
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if writes.search(line)]
    assert offenders == []
