"""Names, ids and titles from data are shown literally: never as HTML, never loading an image."""

import re

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from reviewer import operations
from reviewer.evidence import evidence_links
from reviewer.store import APP_ACTOR
from reviewer.workspace import DB_FILE, Workspace
from tests.datapaths import ROOT, SUPPORTED
from tests.helpers import tamper
from tests.ui.conftest import first_justification
from ui.labels import PlainLabel, RichLabel, plain_tooltip
from ui.main_window import MainWindow
from ui.workers import WorkspaceLane

pytestmark = pytest.mark.gui

HOSTILE = '<b>x</b><a href="https://evil.example/">link</a><img src="file:///etc/hostname">'


def test_no_view_makes_its_own_label_or_message_box():
    # A QLabel guesses its format; only ui/labels.py makes one, with the format said.
    made = re.compile(r"\bQLabel\(|\bQMessageBox\.(warning|question|information|critical)\(")
    offenders = [f"{path.relative_to(ROOT)}:{n}" for path in sorted((ROOT / "ui").rglob("*.py"))
                 if path.name != "labels.py"
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if made.search(line)]
    assert offenders == []


def test_label_kinds_and_tooltips(qtbot):
    plain, rich = PlainLabel(HOSTILE), RichLabel("<b>ours</b>")
    qtbot.addWidget(plain)
    qtbot.addWidget(rich)
    assert plain.textFormat() == Qt.TextFormat.PlainText and plain.text() == HOSTILE
    plain.setText("\u202eevil")
    assert plain.text() == "⟨RLO⟩evil"
    assert rich.textFormat() == Qt.TextFormat.RichText
    tip = plain_tooltip(HOSTILE + "\nline two")
    assert "<img" not in tip and "&lt;img src=&quot;file:///etc/hostname&quot;&gt;" in tip and "\nline two" in tip


def test_conversation_title_shows_prompt_and_participant_ids_literally(demo_workspace, open_conversation):
    jid, cid, pid = first_justification(demo_workspace)
    tamper(demo_workspace / DB_FILE, "UPDATE conversations SET source_id = ? WHERE id = ?", [HOSTILE + "-p", cid])
    tamper(demo_workspace / DB_FILE, "UPDATE participants SET source_id = ? WHERE id = ?", [HOSTILE + "-a", pid])
    tamper(demo_workspace / DB_FILE, "UPDATE conversations SET prompt = ? WHERE id = ?",
           ['{"messages": [{"role": "user", "content": "<b>x</b><img src=x> please"}]}', cid])
    view = open_conversation(demo_workspace, cid, jid)
    assert view.title.textFormat() == Qt.TextFormat.PlainText
    assert view.title.text() == (f"“<b>x</b><img src=x> please” (prompt {HOSTILE}-p · ca1), opened from participant "
                                 f"{HOSTILE}-a's justification")
    text = view.browser.toPlainText()
    assert "“<b>x</b><img src=x> please”" in text and f"prompt {HOSTILE}-p · ca1" in text and f"Participant {HOSTILE}-a" in text
    assert view.browser.refused == []  # the <img> is text: nothing was asked for


def test_the_desk_shows_a_hostile_member_name_literally_everywhere(qtbot, demo_workspace):
    with Workspace.open(demo_workspace) as ws:
        operations.add_member(ws, HOSTILE, ["reviewer"], actor=APP_ACTOR)
        link = evidence_links(ws.store, SUPPORTED, limit=1)[0]
        operations.set_stance(ws, SUPPORTED, link.justification_id, "refutes", actor=HOSTILE)
        operations.decide(ws, SUPPORTED, "defer", HOSTILE, actor=HOSTILE, reason="other")
    win = MainWindow(WorkspaceLane(demo_workspace), remember_layout=False)
    qtbot.addWidget(win)
    try:
        with qtbot.waitSignal(win.detail_shown, timeout=20000):
            win.show()
            win.reload()
        win.set_reviewer(HOSTILE)
        if win.current_proposal != SUPPORTED:
            with qtbot.waitSignals([win.detail_shown, win.decision_panel.loaded], timeout=20000):
                win.queue.select(SUPPORTED)
        qtbot.waitUntil(lambda: win.evidence_view.summary is not None
                        and win.evidence_view.summary.proposal_id == SUPPORTED
                        and "deciding as" in win.decision_panel.status_label.text(), timeout=20000)
        sources = win.evidence_view.sources_label
        assert sources.textFormat() == Qt.TextFormat.PlainText and f"person {HOSTILE}: 1" in sources.text()
        assert "&lt;b&gt;x&lt;/b&gt;" in win.decision_panel.status_label.text()  # escaped in our markup
        labels = win.findChildren(QLabel)
        assert any(HOSTILE in label.text() for label in labels)
        for label in labels:  # anything not plain holds the name escaped, never as markup
            if label.textFormat() != Qt.TextFormat.PlainText:
                assert "<img" not in label.text() and "<b>x</b>" not in label.text(), label.text()
        history = win.decision_panel.history_model
        tip = history.data(history.index(0, 4), Qt.ItemDataRole.ToolTipRole)
        assert "<img" not in tip and "&lt;img" in tip
    finally:
        win.close()
