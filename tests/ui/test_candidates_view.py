"""The Candidates tab and the desk's what-if, on the demo workspace in the real main window."""

import pytest
from PySide6.QtCore import Qt, QUrl
from pytestqt.modeltest import ModelTester

from reviewer.judges.fake import FakeJudge
from reviewer.modelconfig import ModelConfig, save_config
from reviewer.propose import list_candidates
from reviewer.workspace import Workspace
from tests.fake_openai_server import LOOP_MARK, FakeOpenAIServer, loop_responder
from tests.propose_fakes import DEMO_SECTIONS, INERT, MARK, edit_answer, rank_answer
from ui.dialogs import Dialogs

pytestmark = pytest.mark.gui


def run_loop(ws, mode, add, model):
    """One propose run with fake judges whose edits append ``add`` (the ranker follows ``MARK``)."""
    from reviewer import operations
    from reviewer.propose import ProposeOptions, plan_propose

    def answer(request):
        messages = list(request.messages)
        return edit_answer(messages, add=add) if request.task == "propose" else rank_answer(messages)

    plan = plan_propose(ws, ProposeOptions(mode=mode, sections=DEMO_SECTIONS, min_relevance=4, holdout=5,
                                           max_candidates=1), ModelConfig(model=model))
    judge = FakeJudge(model=model, answer=answer)
    return operations.propose(ws, plan, actor="Amara Okafor", judge=judge, ranker=judge).value


@pytest.fixture
def looped(demo_workspace):
    """The demo after three runs: kept (single), merged (batch, the same edit), rejected (an inert edit)."""
    with Workspace.open(demo_workspace) as ws:
        run_loop(ws, "single", MARK, "fake-judge")
        run_loop(ws, "batch", MARK, "fake-judge")
        run_loop(ws, "single", INERT, "inert-judge")
        rows = list_candidates(ws.store)
    assert {r.status for r in rows} == {"kept", "merged", "rejected"}
    return demo_workspace, rows


def open_candidates(qtbot, desk):
    view = desk.candidates_view
    with qtbot.waitSignal(view.loaded, timeout=20000):
        desk.tabs.setCurrentWidget(view)
    return view


def test_every_candidate_is_listed_with_why_and_filtered(qtbot, open_desk, looped):
    workspace, rows = looped
    desk = open_desk(workspace, "Amara Okafor")
    view = open_candidates(qtbot, desk)
    ModelTester(None).check(view.model)
    assert view.model.rowCount() == len(rows) == view.proxy.rowCount()
    assert view.count_label.text() == f"{len(rows)} candidates"
    first = view.model.rows[0]
    texts = [view.model.text(0, c) for c in range(len(view.model.COLUMNS))]
    assert texts[1] == first.section_id and texts[4] == f"{first.model} / propose-v1"
    assert texts[5] == f"{len(first.conversations)} + {len(first.holdout)} held out"
    kept = next(r for r in rows if r.status == "kept")
    line = view.model.text(view.model.row_of(kept.id), 6)
    assert "→" in line and "(" in line and view.model.text(view.model.row_of(kept.id), 7).startswith("+")
    view.status_box.setCurrentIndex(view.status_box.findData("rejected"))
    rejected = [r for r in rows if r.status == "rejected"]
    assert view.proxy.rowCount() == len(rejected) and view.count_label.text() == f"{len(rejected)} of {len(rows)} candidates"
    view.section_box.setCurrentIndex(view.section_box.findData("be_kind"))
    assert view.proxy.rowCount() == sum(1 for r in rejected if r.section_id == "be_kind") >= 1


def test_a_rejected_candidate_shows_its_diff_and_a_kept_one_leads_to_its_proposal(qtbot, open_desk, looped):
    workspace, rows = looped
    desk = open_desk(workspace, "Amara Okafor")
    view = open_candidates(qtbot, desk)
    rejected = next(r for r in rows if r.status == "rejected")
    with qtbot.waitSignal(view.detail_shown, timeout=20000):
        view.select(rejected.id)
    text = view.detail.toPlainText()
    assert rejected.reason in view.summary.text() and "Rejected" in view.summary.text()
    assert INERT in text and "Its text against the section" in text and not view.desk_button.isEnabled()
    assert "Written from (1 conversation;" in text
    assert ("Held out (" in text) == bool(rejected.holdout)
    # A conversation opens from its link.
    with qtbot.waitSignal(view.conversation_requested, timeout=1000) as opened:
        view.on_link(QUrl(f"conversation:{rejected.conversations[0]}"))
    assert opened.args == [rejected.conversations[0]]
    # A kept one names the candidates merged with it, and Enter shows its proposal on the desk.
    kept = next(r for r in rows if r.status == "kept" and any(m.merged_with == r.id for m in rows))
    merged = next(m for m in rows if m.merged_with == kept.id)
    with qtbot.waitSignal(view.detail_shown, timeout=20000):
        view.select(kept.id)
    text = view.detail.toPlainText()
    assert "Merged provenances" in text and "batch candidate by fake-judge" in text and INERT not in text
    assert view.desk_button.isEnabled() and kept.proposal_id == merged.proposal_id
    with qtbot.waitSignal(desk.detail_shown, timeout=20000):
        view.desk_button.click()
    assert desk.tabs.currentIndex() == 0 and desk.current_proposal == kept.proposal_id


def test_a_propose_run_from_the_menu_shows_up_in_the_candidates_tab(qtbot, open_desk, demo_workspace):
    with FakeOpenAIServer(loop_responder) as server:
        save_config(ModelConfig(base_url=server.base_url, model="test-model", timeout=5),
                    demo_workspace / "models.json")
        desk = open_desk(demo_workspace, "Amara Okafor")
        view = open_candidates(qtbot, desk)
        assert view.model.rowCount() == 0 and "No candidates yet" in view.summary.text()
        desk.tabs.setCurrentIndex(1)  # the Spec tab: its chosen section is checked in the dialog
        desk.section_tree.setCurrentIndex(desk.section_model.index_of("be_kind"))
        dialog = desk.on_propose()
        with qtbot.waitSignal(dialog.ready, timeout=20000):
            pass
        assert dialog.sections() == ("be_kind",)
        dialog.set_mode("single")
        dialog.relevance.setValue(4)
        dialog.max_candidates.setValue(1)
        with qtbot.waitSignal(dialog.planned, timeout=20000):
            dialog.estimate_button.click()
        with qtbot.waitSignal(dialog.finished, timeout=60000):
            dialog.run_button.click()
        with qtbot.waitSignal(view.loaded, timeout=20000):
            dialog.candidates_button.click()  # the window switches to the tab, which reads again
        assert desk.tabs.currentWidget() is view and view.model.rowCount() == 1
        assert view.model.rows[0].section_id == "be_kind" and view.model.rows[0].model == "test-model"
        dialog.close()


def test_what_if_on_the_desk_estimates_confirms_and_keeps_its_figure(qtbot, open_desk, demo_workspace, monkeypatch):
    with Workspace.open(demo_workspace) as ws:
        from reviewer.proposals import add_proposal

        current = ws.load_spec().document.get("be_kind").text
        human = add_proposal(ws, changes=[("be_kind", current + f"\n{LOOP_MARK}\n")], title="Crowd first",
                             intent="Follow the crowd.", kind="clarification", created_by="Amara Okafor")
    asked = []
    with FakeOpenAIServer(loop_responder) as server:
        save_config(ModelConfig(base_url=server.base_url, model="rk", timeout=5), demo_workspace / "models.json")
        desk = open_desk(demo_workspace, "Amara Okafor")
        bar = desk.what_if
        with qtbot.waitSignal(desk.detail_shown, timeout=20000):
            desk.show_proposal_on_desk(human.id)
        assert bar.button.isEnabled() and bar.result.text() == ""
        # Declined: nothing is sent.
        monkeypatch.setattr(Dialogs, "confirm", classmethod(lambda cls, parent, q: asked.append(q) or False))
        with qtbot.waitSignal(bar.failed, timeout=20000) as failed:
            bar.button.click()  # the demo grades its conversations 4 at most
        assert "graded ≥ 5" in str(failed.args[0]) and "lower the relevance grade beside" in bar.result.text()
        bar.relevance.setValue(4)
        with qtbot.waitSignal(bar.planned, timeout=20000) as planned:
            bar.button.click()
        plan = planned.args[0]
        assert "Send these requests?" in asked[0] and plan.estimate.describe() in asked[0]
        assert server.requests == [] and "Nothing was sent" in bar.result.text()
        monkeypatch.setattr(Dialogs, "confirm", classmethod(lambda cls, parent, q: asked.append(q) or True))
        with qtbot.waitSignal(bar.finished, timeout=60000) as finished:
            bar.button.click()
        f = finished.args[0].figures
        n = len(plan.conversations)
        assert len(server.requests) == 2 * n and f.conversations == n
        shown = bar.result.text()
        assert (f"agreement now <b>{f.before * 100:.0f}%</b> ({f.before_low * 100:.0f}%–{f.before_high * 100:.0f}%)"
                in shown)
        assert (f"under this proposal <b>{f.after * 100:.0f}%</b> ({f.after_low * 100:.0f}%–{f.after_high * 100:.0f}%), "
                f"{n} conversation{'' if n == 1 else 's'} <span" in shown)
        assert f.after > f.before  # the ranker follows the crowd under this text
        # Kept across choosing another proposal and coming back.
        with qtbot.waitSignal(desk.detail_shown, timeout=20000):
            desk.queue.step(1 if desk.queue.table.currentIndex().row() == 0 else -1)
        assert desk.current_proposal != human.id and bar.result.text() == ""
        with qtbot.waitSignal(desk.detail_shown, timeout=20000):
            desk.show_proposal_on_desk(human.id)
        assert bar.result.text() == shown
        # Asked again: every ranking is cached, so it runs without asking.
        before = len(asked)
        with qtbot.waitSignal(bar.finished, timeout=60000):
            bar.button.click()
        assert len(asked) == before and len(server.requests) == 2 * n
        # A new spec commit or crowd data makes it stale.
        from reviewer.ops import Area, Changes

        bar.on_changes(Changes(areas=frozenset({Area.CROWD})))
        assert bar.result.text() == "" and bar.results == {}


def test_the_what_if_without_an_endpoint_says_what_to_do(qtbot, open_desk, demo_workspace):
    desk = open_desk(demo_workspace, "Amara Okafor")
    with qtbot.waitSignal(desk.what_if.failed, timeout=20000):
        desk.what_if.button.click()
    assert "evidence pane" in desk.what_if.result.text() and desk.what_if.button.isEnabled()


def test_the_new_controls_are_named_and_on_the_keyboard_without_a_mnemonic_clash(qtbot, open_desk, demo_workspace):
    import re

    from PySide6.QtWidgets import QAbstractButton, QLabel, QMenu

    desk = open_desk(demo_workspace, "Amara Okafor")

    def mnemonic(text):
        found = re.search(r"&([^&\s])", text.replace("&&", ""))
        return found.group(1).lower() if found else None

    menus = [mnemonic(m.title()) for m in desk.menuBar().findChildren(QMenu) if m.title()]
    desk_keys = [mnemonic(w.text()) for w in desk.desk_splitter.findChildren(QAbstractButton)
                 + desk.desk_splitter.findChildren(QLabel) if w.isVisible() and w.window() is desk]
    assert mnemonic(desk.what_if.button.text()) == "w"
    assert desk_keys.count("w") == 1 and "w" not in menus
    models = next(m for m in desk.menuBar().findChildren(QMenu) if m.title() == "&Models")
    propose = next(a for a in models.actions() if a.text().startswith("&Propose"))
    assert propose.shortcut().toString() == "Ctrl+Shift+M" and mnemonic(propose.text()) not in [
        mnemonic(a.text()) for a in models.actions() if a is not propose]
    view = desk.candidates_view
    tab_key = next(a for a in desk.view_menu.actions() if a.text() == "Candidates")
    with qtbot.waitSignal(view.loaded, timeout=20000):
        tab_key.trigger()
    assert tab_key.shortcut().toString() == f"Alt+{desk.tabs.indexOf(view) + 1}"
    tab_keys = [mnemonic(w.text()) for w in view.findChildren(QAbstractButton) + view.findChildren(QLabel)]
    assert {"i", "u", "d"} <= set(tab_keys) and not {"i", "u", "d"} & set(menus)
    for widget in (view.section_box, view.status_box, view.table, view.detail, desk.what_if.button,
                   desk.what_if.relevance, desk.what_if.result):
        assert widget.accessibleName()
    # Alt+W on the desk asks for the what-if (here: no endpoint, said with what to do).
    desk.tabs.setCurrentIndex(0)
    desk.activateWindow()
    qtbot.waitUntil(desk.isActiveWindow, timeout=5000)
    with qtbot.waitSignal(desk.what_if.failed, timeout=20000):
        qtbot.keyClick(desk.queue.table, Qt.Key.Key_W, Qt.KeyboardModifier.AltModifier)
