"""Models ▸ Propose changes from disagreement… against a real HTTP server on 127.0.0.1 with the real openai client."""

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from reviewer.modelconfig import ModelConfig, save_config
from reviewer.store import Store
from reviewer.workspace import DB_FILE
from tests.fake_openai_server import FakeOpenAIServer, error_reply, json_reply, loop_responder
from tests.propose_fakes import DEMO_SECTIONS, is_propose
from ui.views.propose_dialog import ProposeDialog

pytestmark = pytest.mark.gui


def stored(path):
    """(status, reason) of every stored candidate, and how many proposals the loop made."""
    store = Store.open(path / DB_FILE)
    try:
        candidates = store.db.execute("SELECT status, reason FROM candidates ORDER BY status").fetchall()
        # The demo holds automated proposals of its own: count those a candidate made.
        proposals = store.db.execute("SELECT count(*) FROM proposals WHERE extra LIKE '%candidate_id%'").fetchone()[0]
        return candidates, proposals
    finally:
        store.close()


def propose_dialog(qtbot, workspace, server, *, concurrency=4, sections=DEMO_SECTIONS, **config):
    """A propose dialog on ``workspace`` talking to ``server``, shown with its choices read."""
    save_config(ModelConfig(base_url=server.base_url, model="test-model", concurrency=concurrency, timeout=5,
                            retries=0, **config), workspace / "models.json")
    dialog = ProposeDialog(workspace, sections=sections)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.ready, timeout=20000):
        dialog.show()
    dialog.relevance.setValue(4)
    return dialog


def test_estimate_confirm_run_and_say_what_was_kept(qtbot, demo_workspace):
    with FakeOpenAIServer(loop_responder) as server:
        dialog = propose_dialog(qtbot, demo_workspace, server)
        assert dialog.chosen_sections.isChecked() and set(dialog.sections()) == set(DEMO_SECTIONS)
        assert dialog.model.currentText() == "test-model"
        dialog.set_mode("single")
        dialog.max_candidates.setValue(1)
        with qtbot.waitSignal(dialog.planned, timeout=20000) as planned:
            dialog.estimate_button.click()
        plan = planned.args[0]
        assert plan.estimate.generation_calls == 3 and plan.options.mode == "single"
        assert set(plan.options.sections) == set(DEMO_SECTIONS) and plan.options.min_relevance == 4
        text = dialog.message.text()
        assert "propose (single) with test-model at " + server.base_url in text and "Send these requests?" in text
        assert server.requests == [] and stored(demo_workspace) == ([], 0)  # nothing sent before confirming
        with qtbot.waitSignal(dialog.finished, timeout=60000) as finished:
            dialog.run_button.click()
        summary = finished.args[0]
        candidates, proposals = stored(demo_workspace)
        assert len(candidates) == 3 == len(summary.candidates)
        assert proposals == summary.kept and summary.kept + summary.merged + summary.rejected == 3
        text = dialog.message.text()
        assert f"3 candidates: <b>{summary.kept} kept</b> as proposals, {summary.merged} merged" in text
        assert f"{summary.rejected} rejected" in text and "3 proposing calls sent" in text
        assert dialog.candidates_button.isVisible()
        with qtbot.waitSignal(dialog.candidates_requested, timeout=1000):
            dialog.candidates_button.click()
        dialog.close()


def test_a_cancelled_run_resumes_without_repeating_finished_calls(qtbot, demo_workspace):
    with FakeOpenAIServer(loop_responder, delay=0.05) as server:
        dialog = propose_dialog(qtbot, demo_workspace, server, concurrency=1)
        dialog.set_mode("single")
        with qtbot.waitSignal(dialog.planned, timeout=20000) as planned:
            dialog.estimate_button.click()
        calls = planned.args[0].estimate.generation_calls
        assert calls >= 6
        with qtbot.waitSignal(dialog.cancelled, timeout=30000):
            dialog.run_button.click()
            qtbot.waitUntil(lambda: dialog.progress_panel.bar.value() >= 2, timeout=20000)
            dialog.progress_panel.cancel_button.click()
        assert "estimate and send again to resume" in dialog.message.text()
        sent = sum(1 for r in server.requests if is_propose(r["messages"]))
        assert 0 < sent < calls and stored(demo_workspace) == ([], 0)
        with qtbot.waitSignal(dialog.planned, timeout=20000) as planned:
            dialog.estimate_button.click()
        assert planned.args[0].estimate.cached >= 2
        with qtbot.waitSignal(dialog.finished, timeout=60000):
            dialog.run_button.click()
        # Every proposing call was sent once, over the two runs.
        assert sum(1 for r in server.requests if is_propose(r["messages"])) == calls
        assert len(stored(demo_workspace)[0]) == calls
        dialog.close()


def test_an_endpoint_that_is_down_is_said_with_what_to_do(qtbot, demo_workspace):
    with FakeOpenAIServer(loop_responder) as server:
        dialog = propose_dialog(qtbot, demo_workspace, server)
        with qtbot.waitSignal(dialog.planned, timeout=20000):
            dialog.estimate_button.click()
    # The server has stopped: every call is refused.
    with qtbot.waitSignal(dialog.failed, timeout=60000) as failed:
        dialog.run_button.click()
    text = dialog.message.text()
    assert "Cannot reach the model endpoint http://127.0.0.1:" in text and "Connection refused" in text
    assert "Check the base URL and that the server is running." in text  # what to do
    assert failed.args[0].hint and failed.args[0].hint in text
    assert "#b3261e" in text and stored(demo_workspace) == ([], 0)
    assert not dialog.run_button.isEnabled() and dialog.estimate_button.isEnabled()
    dialog.close()


def test_nonsense_answers_are_counted_with_what_to_do(qtbot, demo_workspace):
    def nonsense(request):
        if is_propose(request["messages"]):
            if "be_kind" in json.dumps(request["messages"]):
                return json_reply({"section_text": "not a section", "title": "T", "intent": "I",
                                   "kind": "clarification", "reason": "R"})
            return error_reply(400, "This model cannot do that.")
        return loop_responder(request)

    with FakeOpenAIServer(nonsense) as server:
        dialog = propose_dialog(qtbot, demo_workspace, server)
        dialog.set_mode("single")
        dialog.max_candidates.setValue(1)
        with qtbot.waitSignal(dialog.planned, timeout=20000):
            dialog.estimate_button.click()
        with qtbot.waitSignal(dialog.finished, timeout=60000) as finished:
            dialog.run_button.click()
        summary = finished.args[0]
    text = dialog.message.text()
    assert summary.generation.failed == 2 and summary.rejected == 1
    assert "2 model calls failed" in text and "choose another model" in text
    assert "Malformed edits, rejected without re-ranking:<br/>· be_kind: Malformed edit" in text
    dialog.close()


def test_without_an_endpoint_the_dialog_says_what_to_do(qtbot, demo_workspace):
    dialog = ProposeDialog(demo_workspace)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.ready, timeout=20000):
        dialog.show()
    assert "No model endpoint is configured" in dialog.message.text()
    assert dialog.all_sections.isChecked() and not dialog.section_list.isEnabled()
    with qtbot.waitSignal(dialog.failed, timeout=20000):
        dialog.estimate_button.click()
    assert "Proposal ▸ New proposal…" in dialog.message.text() and not dialog.run_button.isEnabled()
    dialog.close()


def test_the_dialog_can_be_driven_with_the_keyboard_alone(qtbot, demo_workspace):
    with FakeOpenAIServer(loop_responder) as server:
        dialog = propose_dialog(qtbot, demo_workspace, server, sections=())
        dialog.activateWindow()
        qtbot.waitUntil(dialog.isActiveWindow, timeout=5000)
        assert dialog.all_sections.isChecked() and not dialog.section_list.isEnabled()

        def keys(*sequence):
            for key in sequence:
                if isinstance(key, str):
                    qtbot.keyClicks(dialog.focusWidget(), key)
                else:
                    qtbot.keyClick(dialog.focusWidget() or dialog, *key)

        alt = Qt.KeyboardModifier.AltModifier
        keys((Qt.Key.Key_I, alt))  # S&ingle (a button's mnemonic clicks it a moment later)
        qtbot.waitUntil(lambda: dialog.mode() == "single", timeout=2000)
        keys((Qt.Key.Key_H, alt))  # C&hosen sections:
        qtbot.waitUntil(dialog.chosen_sections.isChecked, timeout=2000)
        assert dialog.chosen_sections.hasFocus()
        keys((Qt.Key.Key_Tab,))
        assert dialog.section_list.hasFocus()
        for section_id in ("be_kind", "be_creative"):
            keys((Qt.Key.Key_Home,), section_id, (Qt.Key.Key_Space,))  # type to find it, Space checks it
            qtbot.wait(QApplication.keyboardInputInterval() + 50)  # the next letters start a new search
        assert set(dialog.sections()) == {"be_kind", "be_creative"}
        keys((Qt.Key.Key_R, alt), (Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier), "4")  # Min. &relevance
        keys((Qt.Key.Key_D, alt), (Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier), "1")  # Max. candi&dates
        assert (dialog.relevance.value(), dialog.max_candidates.value()) == (4, 1)
        keys((Qt.Key.Key_M, alt))  # &Model
        assert dialog.model.hasFocus() and dialog.model.currentText() == "test-model"
        with qtbot.waitSignal(dialog.planned, timeout=20000) as planned:
            keys((Qt.Key.Key_E, alt))  # &Estimate
        qtbot.waitUntil(dialog.run_button.isEnabled, timeout=2000)
        assert planned.args[0].estimate.generation_calls == 2 and server.requests == []
        with qtbot.waitSignal(dialog.finished, timeout=60000) as finished:
            keys((Qt.Key.Key_S, alt))  # &Send to the model
        assert len(finished.args[0].candidates) == 2
        assert dialog.candidates_button.hasFocus()  # the next step is one key away
        with qtbot.waitSignal(dialog.candidates_requested, timeout=1000):
            keys((Qt.Key.Key_O, alt))  # &Open the Candidates view
        dialog.close()
