"""A server that echoes the API key cannot get it stored, logged or printed."""

import json

import pytest

from cli.main import main
from reviewer.modelconfig import REDACTED, ApiKey, redact
from reviewer.workspace import Workspace
from tests.fake_openai_server import FakeOpenAIServer, Reply, json_reply
from tests.helpers import spec_repo_with
from tests.reviewer.test_judges import SPEC, seed

SECRET = "sk-live-SECRETsecret0123456789abcdef"


def test_redact_replaces_the_key_the_environment_keys_and_token_shapes():
    env = {"OPENAI_API_KEY": "env-key-0123456789", "SPEC_REVIEW_API_KEY": ""}
    text = (f"key {SECRET}; env env-key-0123456789; Authorization: Bearer abc.DEF-ghi_123456; "
            "other sk-proj-AAAAbbbbCCCCdddd1234; typed typed-key-98765")
    out = redact(text, ApiKey("typed-key-98765", "typed"), env=env)
    assert out == ("key [redacted]; env [redacted]; Authorization: Bearer [redacted]; other [redacted]; "
                   "typed [redacted]")
    assert redact(None, SECRET, env={}) is None
    # Test stand-ins shorter than a real key, and the local placeholder, are left alone.
    assert redact('{"quote": "a test answer"}', "test", env={}) == '{"quote": "a test answer"}'
    assert redact("not-needed here", ApiKey("not-needed", "placeholder"), env={}) == "not-needed here"
    assert REDACTED == "[redacted]"


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("SPEC_REVIEW_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("SPEC_REVIEW_API_KEY", SECRET)
    ws = Workspace.create(tmp_path / "ws", spec_repo=spec_repo_with(tmp_path / "repo", SPEC))
    seed(ws.store, 3)
    ws.close()
    return tmp_path / "ws"


def echoing(request):
    """Answer with the key inside the text: a valid label whose reason quotes it, else an invalid echo."""
    text = json.dumps(request)
    if "Participant 0" in text:
        return json_reply({"stance": "supports", "quote": "Participant 0 thinks", "confidence": 0.7,
                           "reason": f"Your key {SECRET} (Bearer {SECRET}) is fine."})
    if "Participant 1" in text:
        return Reply(content=None, refusal=f"I will not, {SECRET}.")
    return Reply(content=f"not JSON, but here is your key: {SECRET}")


def test_an_answer_echoing_the_key_is_redacted_before_it_is_stored_or_printed(capsys, workspace):
    outputs = []
    with FakeOpenAIServer(echoing) as server:
        for extra in (["--json"], []):
            code = main(["judge", "stance", str(workspace), "--base-url", server.base_url, "--model", "m",
                         "--concurrency", "1", "--yes", *extra])
            out, err = capsys.readouterr()
            outputs.append(out + err)
            assert code == 0, err
        server.queue(Reply(content=f"OK {SECRET}"))
        assert main(["judge", "test", "--base-url", server.base_url, "--model", "m"]) == 0
        out, err = capsys.readouterr()
        outputs.append(out + err)
        assert server.headers[0]["authorization"] == f"Bearer {SECRET}"  # it was sent, and echoed
    summary = json.loads(outputs[0])["summary"]
    assert (summary["ok"], summary["failed"]) == (1, 2)
    assert "answered 'OK [redacted]'" in outputs[2]
    for text in outputs:
        assert SECRET not in text
    with Workspace.open(workspace) as ws:
        db = ws.store.db
        raws = [r[0] for r in db.execute("SELECT raw FROM judge_failures ORDER BY item_key")]
        assert raws and all(REDACTED in raw for raw in raws)
        reason = json.loads(db.execute("SELECT detail FROM stance_labels WHERE source_kind = 'model'").fetchone()[0])
        assert reason["reason"] == "Your key [redacted] (Bearer [redacted]) is fine."
        assert all(SECRET not in (r[0] or "") for r in db.execute("SELECT raw FROM judge_cache"))
    # The raw bytes of every file, the database with its write-ahead log included, after closing.
    files = [p for p in workspace.rglob("*") if p.is_file()]
    assert any(p.name.startswith("reviewer.db") for p in files)
    for path in files:
        assert SECRET.encode() not in path.read_bytes(), path
    assert REDACTED.encode() in b"".join(p.read_bytes() for p in workspace.glob("reviewer.db*"))
