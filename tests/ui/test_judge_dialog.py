"""Running model tasks from the GUI against a real HTTP server on 127.0.0.1 with the real openai client."""

import pytest

from reviewer.modelconfig import ModelConfig, save_config
from reviewer.store import Store
from reviewer.workspace import DB_FILE
from tests.datapaths import SUPPORTED
from tests.fake_openai_server import FakeOpenAIServer, json_reply, stance_responder
from ui.views.judge_dialog import JudgeDialog

pytestmark = pytest.mark.gui


def model_labels(path):
    store = Store.open(path / DB_FILE)
    try:
        return store.db.execute("SELECT count(*) FROM stance_labels WHERE source_kind = 'model'").fetchone()[0]
    finally:
        store.close()


def stance_dialog(qtbot, workspace, server, *, limit=0, concurrency=4, **config):
    """A judge dialog on ``workspace`` set to label stances for the supported proposal through ``server``."""
    save_config(ModelConfig(base_url=server.base_url, model="test-model", concurrency=concurrency, timeout=5,
                            **config), workspace / "models.json")
    dialog = JudgeDialog(workspace, proposal_id=SUPPORTED)
    qtbot.addWidget(dialog)
    dialog.task.setCurrentIndex(dialog.task.findData("stance"))
    dialog.limit.setValue(limit)
    return dialog


def test_without_an_endpoint_the_dialog_says_what_to_do(qtbot, demo_workspace):
    dialog = JudgeDialog(demo_workspace)
    qtbot.addWidget(dialog)
    dialog.task.setCurrentIndex(dialog.task.findData("stance"))
    with qtbot.waitSignal(dialog.failed, timeout=20000):
        dialog.estimate_button.click()
    assert "evidence-rule" in dialog.message.text() and not dialog.run_button.isEnabled()
    dialog.close()


def test_estimate_confirm_and_run_stance_labels(qtbot, demo_workspace):
    with FakeOpenAIServer(stance_responder) as server:
        dialog = stance_dialog(qtbot, demo_workspace, server, limit=12)
        with qtbot.waitSignal(dialog.planned, timeout=20000) as planned:
            dialog.estimate_button.click()
        plan = planned.args[0]
        calls = len({item.input_hash for item in plan.items})  # the same request under two keys goes once
        assert plan.estimate.items == 12 and plan.estimate.calls == calls and "12" in dialog.message.text()
        assert server.base_url in dialog.message.text()  # where the requests would go, before confirming
        assert model_labels(demo_workspace) == 0  # nothing sent before confirming
        with qtbot.waitSignal(dialog.finished, timeout=30000) as finished:
            dialog.run_button.click()
        summary = finished.args[0]
        assert summary.ok == 12 and summary.called == calls == len(server.requests)
        assert model_labels(demo_workspace) == 12
        # Again: everything comes from the cache, nothing is sent.
        with qtbot.waitSignal(dialog.planned, timeout=20000) as planned:
            dialog.estimate_button.click()
        assert planned.args[0].estimate.calls == 0
        dialog.close()


def test_the_run_summary_explains_what_flagged_means(qtbot, demo_workspace):
    def misquoting(request):  # every answer quotes words the justification does not hold
        return json_reply({"stance": "refutes", "quote": "words nobody wrote", "reason": "No.", "confidence": 0.6})

    with FakeOpenAIServer(misquoting) as server:
        dialog = stance_dialog(qtbot, demo_workspace, server, limit=3)
        with qtbot.waitSignal(dialog.planned, timeout=20000):
            dialog.estimate_button.click()
        with qtbot.waitSignal(dialog.finished, timeout=30000) as finished:
            dialog.run_button.click()
        summary = finished.args[0]
        assert summary.flagged == 3 and summary.flags == {"quote_not_verbatim": 3}
        text = dialog.message.text()
        assert "3 flagged</" not in text and "3 flagged, " in text
        assert "3 flagged: stance labels by test-model kept although the answer broke the quoting rule" in text
        assert "3 quoted words the justification does not contain" in text
        assert "labels list" in text  # where to see them
        assert "Flagged: a stance label the model gave" in dialog.message.toolTip()
        dialog.close()


def test_cancel_keeps_finished_answers_and_the_next_run_resumes(qtbot, demo_workspace):
    with FakeOpenAIServer(stance_responder, delay=0.05) as server:
        dialog = stance_dialog(qtbot, demo_workspace, server, limit=40, concurrency=1)
        with qtbot.waitSignal(dialog.planned, timeout=20000):
            dialog.estimate_button.click()
        with qtbot.waitSignal(dialog.cancelled, timeout=30000):
            dialog.run_button.click()
            qtbot.waitUntil(lambda: dialog.progress_panel.bar.value() >= 3, timeout=20000)
            dialog.progress_panel.cancel_button.click()
        assert 0 < model_labels(demo_workspace) < 40
        with qtbot.waitSignal(dialog.planned, timeout=20000) as planned:
            dialog.estimate_button.click()
        estimate = planned.args[0].estimate
        # Answers that arrived before the cancel are cached: only the others are sent again.
        assert 0 < estimate.cached < 40 and estimate.calls == 40 - estimate.cached
        with qtbot.waitSignal(dialog.finished, timeout=30000):
            dialog.run_button.click()
        assert model_labels(demo_workspace) == 40
        dialog.close()


def test_an_environment_key_is_not_sent_where_only_the_workspace_points(qtbot, demo_workspace, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-0123456789abcdef")
    with FakeOpenAIServer(stance_responder) as server:
        save_config(ModelConfig(base_url=server.base_url, model="test-model", timeout=5),
                    demo_workspace / "models.json")
        dialog = JudgeDialog(demo_workspace, proposal_id=SUPPORTED)
        qtbot.addWidget(dialog)
        dialog.task.setCurrentIndex(dialog.task.findData("stance"))
        with qtbot.waitSignal(dialog.failed, timeout=20000):
            dialog.estimate_button.click()
        text = dialog.message.text()
        assert server.base_url in text and "OPENAI_API_KEY" in text and not dialog.run_button.isEnabled()
        assert "sk-env" not in text and server.requests == []
        dialog.close()


def test_a_choice_changed_while_estimating_drops_that_estimate(qtbot, demo_workspace):
    import threading

    with FakeOpenAIServer(stance_responder) as server:
        dialog = stance_dialog(qtbot, demo_workspace, server, limit=12)
        gate, done = threading.Event(), []
        dialog.lane.run(lambda ws: gate.wait(10))  # the estimate waits behind this on the lane
        planned = []
        dialog.planned.connect(planned.append)
        dialog.estimate_button.click()
        assert not dialog.estimate_button.isEnabled() and dialog.message.text() == "Estimating…"
        dialog.limit.setValue(3)  # a new choice while the estimate for 12 is on its way
        assert dialog.estimate_button.isEnabled() and "estimate again" in dialog.message.text()
        gate.set()
        dialog.lane.run(lambda ws: None, success=done.append)
        qtbot.waitUntil(lambda: bool(done), timeout=20000)
        # The estimate for 12 came back and was dropped: nothing can be sent on it.
        assert planned == [] and dialog.plan is None and not dialog.run_button.isEnabled()
        with qtbot.waitSignal(dialog.planned, timeout=20000) as fresh:
            dialog.estimate_button.click()
        assert fresh.args[0].estimate.items == 3 and dialog.run_button.isEnabled()
        dialog.close()
