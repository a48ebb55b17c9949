"""A right-to-left override cannot make crowd text read otherwise in the GUI; real RTL text is untouched."""

import pytest
from PySide6.QtGui import QFont

from reviewer.evidence import EvidenceRow
from reviewer.workspace import DB_FILE
from tests.helpers import tamper
from tests.ui.conftest import first_justification
from ui.models.evidence import row_html
from ui.views.evidence_view import EvidenceDelegate

pytestmark = pytest.mark.gui

RTL = "مرحبا بالعالم · שלום עולם"
TEXT = f"{RTL}: this is \u202eevil\u202c, so keep it"


def _row(**changes):
    fields = dict(
        justification_id="j1", text=TEXT, block="world", language=None, demographics={"country": "\u202eniapS"},
        participant_id=None, annotator_id="\u202eann", conversation_id=None, prompt_id=None, stance="supports",
        source_kind="model", source_name="\u202ejudge", prompt_version=None, confidence=None, label_id="l1",
        quote="keep it", quote_from="\u202ejudge", key=("model", "judge", "j1"),
    )
    return EvidenceRow(**{**fields, **changes})


def test_an_evidence_item_shows_markers_and_still_highlights_the_quote(qtbot):
    delegate = EvidenceDelegate()
    row = _row()
    layout = delegate.text_layout(row, 600, QFont())
    assert layout.text() == f"{RTL}: this is ⟨RLO⟩evil⟨PDF⟩, so keep it"
    (span,) = layout.formats()
    assert layout.text()[span.start:span.start + span.length] == "keep it"
    drawn = delegate._drawn(row, 600, QFont())
    assert "\u202e" not in drawn.badge + drawn.meta and "⟨RLO⟩judge" in drawn.badge and "⟨RLO⟩niapS" in drawn.meta


def test_the_detail_pane_html_marks_overrides():
    html = row_html(_row())
    assert "\u202e" not in html and "\u202c" not in html
    assert "⟨RLO⟩evil⟨PDF⟩" in html and "⟨RLO⟩judge" in html and "participant ⟨RLO⟩ann" in html
    assert RTL in html


def test_the_conversation_view_marks_overrides(demo_workspace, open_conversation):
    jid, cid, _pid = first_justification(demo_workspace)
    tamper(demo_workspace / DB_FILE, "UPDATE justifications SET text = ? WHERE id = ?", [TEXT, jid])
    tamper(demo_workspace / DB_FILE, "UPDATE conversations SET source_id = ? WHERE id = ?", ["\u202eprompt", cid])
    tamper(demo_workspace / DB_FILE, "UPDATE conversations SET prompt = ? WHERE id = ?",
           ['{"messages": [{"role": "user", "content": "\u202eevil heading"}]}', cid])
    view = open_conversation(demo_workspace, cid, jid)
    assert view.title.text().startswith("“⟨RLO⟩evil heading”")  # the heading quotes the prompt, marked
    shown = view.browser.toPlainText() + view.title.text()
    assert "\u202e" not in shown and "\u202c" not in shown
    assert "⟨RLO⟩evil⟨PDF⟩" in shown and "(prompt ⟨RLO⟩prompt · ca1)" in view.title.text() and RTL in shown
