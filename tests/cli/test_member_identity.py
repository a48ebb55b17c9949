"""The command line's twins of the member identity tests: ``member add --email``, ``member identity``, ``member list``."""

import json

from reviewer.workspace import Workspace
from tests.helpers import forge_log_commit, git
from tests.reviewer.test_governance import make_workspace, run

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx1Y3kgbm90IGEgcmVhbCBrZXkgYXQgYWxsIQ ana@laptop"


def test_member_add_with_email_and_key_then_identity_then_list(tmp_path, capsys):
    make_workspace(tmp_path, members=False).close()
    ws = str(tmp_path / "ws")
    code, out, _ = run(capsys, "member", "add", ws, "Ana Lima", "--role", "reviewer", "--email", "ana@example.org",
                       "--signing-key", KEY, "--json")
    assert code == 0
    added = json.loads(out)
    assert (added["email"], added["signing_key"], added["roles"]) == ("ana@example.org", KEY, ["reviewer"])
    code, out, _ = run(capsys, "member", "add", ws, "Bo", "--role", "auditor")
    assert code == 0 and out.strip() == "Bo: auditor"
    code, out, _ = run(capsys, "member", "identity", ws, "Ana Lima", "--email", "ana@lima.example", "--by", "Bo")
    assert code == 0 and out.strip() == "Ana Lima <ana@lima.example>: reviewer; signing key recorded"
    code, out, _ = run(capsys, "member", "identity", ws, "Ana Lima", "--email", "ana@lima.example",
                       "--signing-key", "", "--by", "Bo", "--json")
    assert json.loads(out)["signing_key"] is None
    code, out, _ = run(capsys, "member", "list", ws)
    lines = out.splitlines()
    assert lines[0].startswith("Ana Lima") and lines[0].endswith("ana@lima.example")
    assert lines[1].startswith("Bo") and lines[1].endswith("(no email)")
    code, out, _ = run(capsys, "member", "list", ws, "--json")
    assert [(r["name"], r["email"]) for r in json.loads(out)] == [("Ana Lima", "ana@lima.example"), ("Bo", None)]
    code, out, _ = run(capsys, "audit", "log", ws, "--action", "member.set_identity", "--json")
    events = json.loads(out)
    assert [(e["actor"], e["payload"]["email"]) for e in events] == [("Bo", "ana@lima.example")] * 2
    code, out, _ = run(capsys, "audit", "verify", ws)
    assert code == 0 and "the record matches the log" in out


def test_member_identity_refusals_are_one_line_and_change_nothing(tmp_path, capsys):
    make_workspace(tmp_path, members=False).close()
    ws = str(tmp_path / "ws")
    run(capsys, "member", "add", ws, "Ana Lima", "--role", "reviewer", "--email", "ana@example.org")
    for argv, message in [
        (("member", "add", ws, "Cy", "--role", "reviewer", "--email", "not an address"), "not an email address"),
        (("member", "add", ws, "Ana Lima", "--role", "editor", "--email", "other@example.org"), "member identity"),
        (("member", "identity", ws, "Nobody", "--email", "n@example.org", "--by", "Ana Lima"), "No member called"),
        (("member", "identity", ws, "Ana Lima", "--email", "ana@", "--by", "Ana Lima"), "not an email address"),
    ]:
        code, _, err = run(capsys, *argv)
        assert code == 1 and message in err and len(err.strip().splitlines()) <= 2, (argv, err)
    code, out, _ = run(capsys, "member", "list", ws, "--json")
    assert [(r["name"], r["email"], r["roles"]) for r in json.loads(out)] == [
        ("Ana Lima", "ana@example.org", ["reviewer"])]


def test_audit_verify_names_a_log_commit_with_a_forged_email(tmp_path, capsys):
    make_workspace(tmp_path, members=False).close()
    ws = str(tmp_path / "ws")
    run(capsys, "member", "add", ws, "Ana Lima", "--role", "reviewer", "--email", "ana@example.org")
    run(capsys, "member", "add", ws, "Bo", "--role", "auditor", "--by", "Ana Lima")
    with Workspace.open(ws) as workspace:
        repo, ref = workspace.spec_repo_path, workspace.store.log_ref.ref
    assert git(repo, "log", "-1", "--format=%an <%ae>", ref) == "Ana Lima <ana@example.org>"
    event = json.loads(git(repo, "show", f"{ref}:events.json"))[-1]["id"]
    forged = forge_log_commit(repo, ref, ("Ana Lima", "mallory@example.org"))
    code, out, _ = run(capsys, "audit", "verify", ws)
    assert code == 1
    assert (f"log ref commit {forged[:12]} (event {event}): author: logged 'Ana Lima <ana@example.org>', "
            "stored 'Ana Lima <mallory@example.org>'") in out
    code, out, _ = run(capsys, "audit", "verify", ws, "--json")
    (found,) = [m for m in json.loads(out)["record"]["mismatches"] if m["field"] == "author"]
    assert (found["logged"], found["stored"]) == ("Ana Lima <ana@example.org>", "Ana Lima <mallory@example.org>")
