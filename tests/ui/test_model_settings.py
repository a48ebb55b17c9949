import json
import threading

import keyring
import pytest

from reviewer.modelconfig import KEYRING_SERVICE, ApiKey, ModelConfig, load_config, resolve_api_key
from tests.fake_openai_server import FakeOpenAIServer, Reply, error_reply
from tests.helpers import memory_keyring
from ui.dialogs import Dialogs
from ui.views.model_settings import ModelSettingsDialog

pytestmark = pytest.mark.gui

KEY = "sk-test-0123456789abcdef"




@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path, no_keyring):
    for name in ("SPEC_REVIEW_API_KEY", "OPENAI_API_KEY", "SPEC_REVIEW_BASE_URL", "OPENAI_BASE_URL", "SPEC_REVIEW_MODEL",
                 "SPEC_REVIEW_TIMEOUT", "SPEC_REVIEW_RETRIES", "SPEC_REVIEW_CONCURRENCY"):
        monkeypatch.delenv(name, raising=False)
    from reviewer import paths

    monkeypatch.setattr(paths, "config_dir", lambda: tmp_path / "user-config")


@pytest.fixture
def workspace(tmp_path):
    path = tmp_path / "ws"
    path.mkdir()
    return path


@pytest.fixture
def dialog(qtbot, workspace):
    d = ModelSettingsDialog(workspace)
    qtbot.addWidget(d)
    yield d
    d.shutdown()


@pytest.fixture
def server():
    with FakeOpenAIServer() as s:
        yield s


def _fill(dialog, *, url, model="test-model", timeout=5.0, retries=2, concurrency=3):
    dialog.base_url_edit.setText(url)
    dialog.model_edit.setText(model)
    dialog.timeout_box.setValue(timeout)
    dialog.retries_box.setValue(retries)
    dialog.concurrency_box.setValue(concurrency)


def test_test_connection_runs_on_the_network_lane_and_shows_the_answer(qtbot, dialog, server):
    server.queue(Reply(content="OK"))
    _fill(dialog, url=server.base_url)
    main = threading.get_ident()
    seen = []
    dialog.network.busy_changed.connect(seen.append)
    with qtbot.waitSignal(dialog.tested, timeout=20000) as blocker:
        dialog.test_button.click()
        assert not dialog.test_button.isEnabled() and dialog.busy.isVisibleTo(dialog)
    assert "answered 'OK'" in blocker.args[0] and server.base_url in blocker.args[0]
    assert dialog.message.text() == blocker.args[0]
    assert dialog.test_button.isEnabled() and not dialog.busy.isVisibleTo(dialog)
    assert seen[0] is True  # it ran on the dialog's network lane
    request = server.requests[0]
    assert request["model"] == "test-model"
    assert threading.get_ident() == main
    assert not dialog.settings_file.exists()  # testing saves nothing


def test_a_server_error_is_shown_as_a_plain_failure(qtbot, dialog, server):
    server.queue(error_reply(500, "the model fell over"))
    _fill(dialog, url=server.base_url)
    with qtbot.waitSignal(dialog.failed, timeout=20000) as blocker:
        dialog.on_test()
    assert "500" in str(blocker.args[0])
    assert dialog.message.text().startswith("Connection failed: ") and "the model fell over" in dialog.message.text()
    assert Dialogs.shown == []  # a known failure, not a bug box


def test_a_slow_server_times_out(qtbot, dialog, server):
    server.queue(Reply(content="late", delay=3.0))
    _fill(dialog, url=server.base_url, timeout=0.5)
    with qtbot.waitSignal(dialog.failed, timeout=20000) as blocker:
        dialog.on_test()
    assert "did not answer within 0.5 s" in str(blocker.args[0])
    assert "did not answer" in dialog.message.text()


def test_a_typed_key_is_sent_for_the_test_and_not_kept(qtbot, dialog, server):
    import os

    server.queue(Reply(content="OK"))
    _fill(dialog, url=server.base_url)
    dialog.key_edit.setText(KEY)
    with qtbot.waitSignal(dialog.tested, timeout=20000) as blocker:
        dialog.on_test()
    assert server.headers[0]["authorization"] == f"Bearer {KEY}"
    assert "(the API key typed here)." in blocker.args[0] and KEY not in blocker.args[0]
    assert "SPEC_REVIEW_API_KEY" not in os.environ


def test_no_model_is_a_plain_message(qtbot, dialog):
    with qtbot.waitSignal(dialog.failed, timeout=20000):
        dialog.on_test()
    assert "needs a model endpoint" in dialog.message.text()


def test_save_writes_settings_and_never_the_key(qtbot, dialog, workspace, monkeypatch):
    memory = memory_keyring()
    keyring.set_keyring(memory)
    _fill(dialog, url="https://models.example.org/v1", model="big-model", timeout=30.0, retries=5,
          concurrency=8)
    dialog.key_edit.setText(KEY)
    with qtbot.waitSignal(dialog.saved, timeout=5000) as blocker:
        dialog.save_button.click()
    config = blocker.args[0]
    assert isinstance(config, ModelConfig) and config.model == "big-model"
    text = dialog.settings_file.read_text(encoding="utf-8")
    assert KEY not in text
    data = json.loads(text)
    assert data["base_url"] == "https://models.example.org/v1" and data["timeout"] == 30.0
    assert data["retries"] == 5 and data["concurrency"] == 8
    assert load_config(workspace, env={}) == config
    assert memory.store == {(KEYRING_SERVICE, "https://models.example.org/v1"): KEY}
    assert dialog.key_edit.text() == "" and "system keyring" in dialog.message.text()
    assert "comes from the system keyring" in dialog.key_status.text()


def test_without_a_keyring_the_key_is_kept_for_the_session_only(qtbot, dialog, workspace):
    import os

    assert "no system keyring" in dialog.key_status.text()
    _fill(dialog, url="https://models.example.org/v1")
    dialog.key_edit.setText(KEY)
    with qtbot.waitSignal(dialog.saved, timeout=5000):
        dialog.on_save()
    assert "session only" in dialog.message.text()
    # Kept in memory for that endpoint alone: not lent to every endpoint through the environment.
    assert "SPEC_REVIEW_API_KEY" not in os.environ
    saved = load_config(workspace, env={})
    assert saved.endpoint_chosen_by is not None  # the workspace file names it now...
    assert resolve_api_key(saved, env={}) == ApiKey(KEY, "session")  # ...and the key typed for it is used
    assert resolve_api_key(ModelConfig(model="m"), env={}).value is None
    assert "this session" in dialog.key_status.text()
    assert KEY not in dialog.settings_file.read_text(encoding="utf-8")
    assert not any(KEY in p.read_text(errors="replace") for p in workspace.rglob("*") if p.is_file())


def test_the_form_starts_from_the_saved_file_and_keeps_other_settings(qtbot, workspace):
    (workspace / "models.json").write_text(json.dumps({"model": "m1", "timeout": 12.5, "backoff": 3.0}))
    d = ModelSettingsDialog(workspace)
    qtbot.addWidget(d)
    try:
        assert d.model_edit.text() == "m1" and d.timeout_box.value() == 12.5
        d.retries_box.setValue(7)
        with qtbot.waitSignal(d.saved, timeout=5000):
            d.on_save()
        saved = json.loads((workspace / "models.json").read_text())
        assert saved["backoff"] == 3.0 and saved["retries"] == 7 and saved["model"] == "m1"
    finally:
        d.shutdown()


def test_a_broken_settings_file_is_reported(qtbot, workspace, monkeypatch):
    (workspace / "models.json").write_text('{"api_key": "sk-oops"}')
    monkeypatch.setenv("SPEC_REVIEW_MODEL", "from-env")
    d = ModelSettingsDialog(workspace)
    qtbot.addWidget(d)
    try:
        assert "API keys are never kept in settings files" in d.message.text()
        assert "SPEC_REVIEW_MODEL=from-env" in d.env_note.text()
    finally:
        d.shutdown()


def test_an_environment_key_is_not_sent_to_the_workspace_endpoint_unless_typed_here(qtbot, workspace, server,
                                                                                    monkeypatch):
    (workspace / "models.json").write_text(json.dumps({"base_url": server.base_url, "model": "m"}))
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    d = ModelSettingsDialog(workspace)
    qtbot.addWidget(d)
    try:
        assert "only the workspace's settings name it" in d.key_status.text()
        with qtbot.waitSignal(d.failed, timeout=20000):
            d.on_test()
        assert server.base_url in d.message.text() and "--base-url" in d.message.text()
        assert server.requests == []
        # A key typed here, for the endpoint the form shows, is the user's own choice.
        server.queue(Reply(content="OK"))
        d.key_edit.setText("sk-typed-for-it-0123456")
        with qtbot.waitSignal(d.tested, timeout=20000):
            d.on_test()
        assert [h["authorization"] for h in server.headers] == ["Bearer sk-typed-for-it-0123456"]
    finally:
        d.shutdown()
