"""A key from this machine goes only to an endpoint chosen on this machine, never to one a workspace names."""

import json

import keyring
import pytest

from cli.main import main
from reviewer import modelconfig, paths
from reviewer.errors import KnownError
from reviewer.judges.openai_judge import make_client
from reviewer.modelconfig import (
    HOSTED_URL,
    KEYRING_SERVICE,
    ApiKey,
    ModelConfig,
    load_config,
    save_config,
)
from reviewer.workspace import Workspace
from tests.fake_openai_server import FakeOpenAIServer
from tests.helpers import memory_keyring, spec_repo_with
from tests.reviewer.test_judges import SPEC, seed, stance_ok

KEY = "sk-env-0123456789abcdefSECRET"




@pytest.fixture(autouse=True)
def machine(tmp_path, monkeypatch, no_keyring):
    """This machine: its own folders, OPENAI_API_KEY set, no endpoint chosen, no keyring."""
    monkeypatch.setenv("SPEC_REVIEW_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SPEC_REVIEW_MODEL", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)


@pytest.fixture
def server():
    with FakeOpenAIServer(lambda _request: stance_ok("Participant 0")) as s:
        yield s


@pytest.fixture
def workspace(tmp_path, server):
    """A workspace from someone else: its models.json names the (fake) server."""
    ws = Workspace.create(tmp_path / "ws", spec_repo=spec_repo_with(tmp_path / "repo", SPEC))
    seed(ws.store, 1)
    ws.close()
    save_config(ModelConfig(base_url=server.base_url, model="m", timeout=5), tmp_path / "ws" / "models.json")
    return tmp_path / "ws"


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def keys_sent(server):
    return [h.get("authorization") for h in server.headers]


def test_an_environment_key_is_not_sent_to_an_endpoint_only_the_workspace_names(capsys, workspace, server):
    for argv in (["judge", "stance", str(workspace), "--yes"], ["judge", "test", str(workspace)]):
        code, out, err = run(capsys, *argv)
        assert code == 1 and out == ""
        assert server.base_url in err and str(workspace / "models.json") in err and "OPENAI_API_KEY" in err
        assert "--base-url" in err and "SPEC_REVIEW_BASE_URL" in err and "judge key" in err
        assert KEY not in err
    assert server.requests == [] and keys_sent(server) == []
    code, out, _ = run(capsys, "judge", "config", str(workspace), "--json")
    data = json.loads(out)
    assert data["endpoint_chosen_by"] == str(workspace / "models.json")
    assert data["api_key_withheld"] == "OPENAI_API_KEY" and data["api_key_source"] is None


@pytest.mark.parametrize("how", ["user file", "SPEC_REVIEW_BASE_URL", "OPENAI_BASE_URL", "--base-url"])
def test_the_same_endpoint_chosen_on_this_machine_gets_the_key(capsys, monkeypatch, workspace, server, how):
    options = []
    if how == "user file":
        save_config(ModelConfig(base_url=server.base_url), paths.config_dir() / "models.json")
    elif how == "--base-url":
        options = ["--base-url", server.base_url]
    else:
        monkeypatch.setenv(how, server.base_url)
    code, out, err = run(capsys, "judge", "stance", str(workspace), "--yes", "--json", *options)
    assert code == 0, err
    assert json.loads(out)["summary"]["ok"] == 1
    assert keys_sent(server) == [f"Bearer {KEY}"]


def test_a_key_stored_for_that_very_endpoint_is_the_users_choice(capsys, workspace, server):
    memory = memory_keyring()
    keyring.set_keyring(memory)
    memory.set_password(KEYRING_SERVICE, "default", "sk-default-entry-0123456789")
    code, _, err = run(capsys, "judge", "stance", str(workspace), "--yes")
    assert code == 1 and "keyring" in err and server.requests == []  # the default entry is not for it
    memory.set_password(KEYRING_SERVICE, server.base_url, "sk-for-this-endpoint-0123")
    code, _, err = run(capsys, "judge", "stance", str(workspace), "--yes")
    assert code == 0, err
    assert keys_sent(server) == ["Bearer sk-for-this-endpoint-0123"]


def test_a_local_endpoint_named_by_the_workspace_works_without_a_key(capsys, monkeypatch, workspace, server):
    monkeypatch.delenv("OPENAI_API_KEY")
    code, out, err = run(capsys, "judge", "stance", str(workspace), "--yes", "--json")
    assert code == 0, err
    assert keys_sent(server) == [f"Bearer {modelconfig.LOCAL_PLACEHOLDER_KEY}"]


def test_the_estimate_names_the_endpoint_before_anything_is_sent(capsys, workspace, server):
    code, out, err = run(capsys, "judge", "stance", str(workspace), "--base-url", server.base_url, "--json")
    assert code == 1 and "--yes" in err
    assert json.loads(out)["estimate"]["endpoint"] == server.base_url
    code, out, err = run(capsys, "judge", "stance", str(workspace), "--base-url", server.base_url)
    assert f"stance with m at {server.base_url} (" in out
    assert server.requests == []


def test_where_the_endpoint_came_from(tmp_path, monkeypatch):
    ws = tmp_path / "ws2"
    ws.mkdir()
    save_config(ModelConfig(base_url="https://evil.example/v1", model="m"), ws / "models.json")
    assert load_config(ws).endpoint_chosen_by == str(ws / "models.json")
    assert load_config(ws, overrides={"base_url": "https://evil.example/v1"}).endpoint_chosen_by is None
    assert load_config(ws, env={"SPEC_REVIEW_BASE_URL": "https://mine.example/v1"}).endpoint_chosen_by is None
    # Naming the endpoint already in force (the user's, or the hosted default) chooses nothing.
    save_config(ModelConfig(base_url="https://evil.example/v1/"), paths.config_dir() / "models.json")
    assert load_config(ws).endpoint_chosen_by is None
    save_config(ModelConfig(base_url=HOSTED_URL, model="m"), ws / "models.json")
    assert load_config(ws).endpoint_chosen_by is None
    # The origin is not a setting: a file cannot claim it, and it is never written.
    (ws / "models.json").write_text(json.dumps({"endpoint_chosen_by": None}))
    with pytest.raises(KnownError, match="unknown model settings"):
        load_config(ws)
    assert "endpoint_chosen_by" not in ModelConfig(endpoint_chosen_by="x").to_json()


def test_the_client_goes_where_the_endpoint_says(monkeypatch):
    # Left to itself, the openai client would send the key to OPENAI_BASE_URL whatever was shown.
    monkeypatch.setenv("OPENAI_BASE_URL", "https://elsewhere.example/v1")
    client = make_client(ModelConfig(model="m"), ApiKey("k", "test"))
    assert str(client.base_url).rstrip("/") == HOSTED_URL


def test_a_session_key_is_kept_for_its_endpoint_only(workspace, server, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    modelconfig.keep_session_key("sk-session-0123456789", server.base_url)
    config = load_config(workspace)
    assert config.endpoint_chosen_by is not None
    assert modelconfig.resolve_api_key(config) == ApiKey("sk-session-0123456789", "session")
    assert modelconfig.resolve_api_key(ModelConfig(model="m")).value is None
