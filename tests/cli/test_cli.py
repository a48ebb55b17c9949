import json
import subprocess
import sys

import pytest

from cli.main import main
from tests.datapaths import LATEST, MODEL_SPEC_DATES, ROOT, model_spec
from tests.helpers import spec_repo_with, tree_snapshot


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_process(*argv, cwd=None):
    return subprocess.run([sys.executable, "-m", "cli", *argv], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=120)


def test_spec_sections_json_on_real_release(capsys):
    code, out, _ = run(capsys, "spec", "sections", str(model_spec(LATEST)), "--json")
    assert code == 0
    rows = json.loads(out)
    assert set(rows[0]) >= {"id", "title", "level", "authority", "tags", "start_line", "end_line", "examples"}
    by_id = {r["id"]: r for r in rows}
    row = by_id["avoid_targeted_political_manipulation"]
    assert (row["level"], row["authority"], row["start_line"]) == (4, "root", 920)
    assert by_id["prioritize_teen_safety"]["tags"] == ["under_18"]
    assert rows[0]["id"] == "overview" and rows[0]["start_line"] == 1


@pytest.mark.parametrize("name", MODEL_SPEC_DATES)
def test_spec_check_passes_on_every_real_release(capsys, name):
    code, out, _ = run(capsys, "spec", "check", str(model_spec(name)), "--json")
    result = json.loads(out)
    assert result["round_trips"] is True
    assert code == (0 if result["ok"] else 1)


def test_spec_check_reports_problems_with_lines(capsys, tmp_path):
    bad = tmp_path / "bad.md"
    bad.write_text("# A {#a}\n\n## B {#a authority=root}\n\n## C\n\n### D {#d authority=boss}\n\n~~~xml\n# not a heading\n")
    code, out, err = run(capsys, "spec", "check", str(bad))
    assert code == 1
    assert f"{bad}:3: duplicate_id" in out
    assert f"{bad}:5: missing_id" in out
    assert f"{bad}:7: unknown_authority" in out
    assert f"{bad}:9: unterminated_fence" in out


def test_spec_diff_json(capsys):
    code, out, _ = run(capsys, "spec", "diff", str(model_spec("2025-04-11")),
                       str(model_spec("2025-09-12")), "--json")
    assert code == 0
    data = json.loads(out)
    by_id = {s["id"]: s for s in data["sections"]}
    changed = by_id["avoid_targeted_political_manipulation"]
    assert changed["status"] == "changed" and "body" in changed["changes"]
    assert "authority" in by_id["chain_of_command"]["changes"] or by_id["follow_all_applicable_instructions"]["new_authority"] == "root"
    assert data["counts"]["added"] > 0


def test_init_status_and_proposals_on_existing_repo(capsys, tmp_path):
    repo = spec_repo_with(tmp_path / "spec", model_spec(LATEST).read_text(encoding="utf-8"))
    code, out, _ = run(capsys, "init", str(tmp_path / "ws"), "--spec-repo", str(repo), "--json")
    assert code == 0
    created = json.loads(out)
    assert created["counts"]["sections"] == 80 and created["counts"]["proposals"] == 0
    code, out, _ = run(capsys, "status", str(tmp_path / "ws"), "--json")
    status = json.loads(out)
    assert code == 0
    assert set(status["counts"]) >= {"sections", "conversations", "participants", "proposals", "decisions"}
    code, out, _ = run(capsys, "proposal", "list", str(tmp_path / "ws"), "--json")
    assert code == 0 and json.loads(out) == []


@pytest.mark.parametrize(
    "argv, message",
    [
        (["status", "{tmp}/nowhere"], "does not exist"),
        (["status", "{tmp}"], "not a Spec Review workspace"),
        (["init", "{tmp}/ws"], "one of --demo, --spec-repo PATH or --join URL"),
        (["init", "{tmp}/ws", "--spec-repo", "{tmp}/nothing"], "does not exist"),
        (["spec", "check", "{tmp}/missing.md"], "missing.md"),
        (["spec", "sections", "{tmp}"], "folder"),
        (["proposal", "show", "{tmp}/nowhere", "x"], "does not exist"),
        (["no-such-command"], "invalid choice"),
        (["init"], "required"),
    ],
)
def test_user_errors_exit_1_with_one_line_and_change_nothing(capsys, tmp_path, argv, message):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    before = tree_snapshot(tmp_path)
    assert main(argv) == 1
    _out, err = capsys.readouterr()
    assert message in err or message.lower() in err.lower()
    assert err.startswith("spec-review: error:") and err.count("\n") == 1
    assert "Traceback" not in err
    assert tree_snapshot(tmp_path) == before


def test_real_process_exit_codes_and_no_traceback(tmp_path):
    ok = run_process("spec", "check", str(model_spec(LATEST)))
    assert ok.returncode == 0, ok.stderr
    bad = run_process("status", str(tmp_path))
    assert bad.returncode == 1
    assert "Traceback" not in bad.stderr and bad.stderr.count("\n") == 1
    usage = run_process("spec", "frobnicate")
    assert usage.returncode == 1 and "Traceback" not in usage.stderr


def test_an_argument_that_is_not_utf8_is_refused_plainly(demo_workspace):
    result = subprocess.run(
        [sys.executable.encode(), b"-m", b"cli", b"member", b"add", str(demo_workspace).encode(), b"Bad\xffName",
         b"--role", b"reviewer"],
        capture_output=True, cwd=ROOT, timeout=120,
    )
    err = result.stderr.decode("utf-8", "replace")
    assert result.returncode == 1 and "argument 4 is not valid UTF-8 text: Bad\\xffName" in err
    assert "Traceback" not in err and "internal error" not in err


def test_glossary_prints_what_the_app_s_words_mean(capsys):
    from cli.main import main
    from reviewer.glossary import TERMS

    assert main(["glossary"]) == 0
    out = capsys.readouterr().out
    assert "Contested\n  Reviewers whose votes count disagree" in out and "Quorum\n" in out and "Flagged\n" in out
    assert main(["glossary", "--json"]) == 0
    import json

    data = json.loads(capsys.readouterr().out)
    assert [d["key"] for d in data] == [t.key for t in TERMS]
