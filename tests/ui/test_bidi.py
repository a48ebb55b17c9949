"""A right-to-left override cannot make crowd text read otherwise in the GUI; real RTL text is untouched."""

import pytest
from PySide6.QtCore import Qt
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


ARABIC = "هذا التبرير مكتوب بالعربية ويجب أن يُقرأ من اليمين إلى اليسار"
HEBREW = "ההצדקה הזאת כתובה בעברית"


def test_a_right_to_left_justification_is_laid_out_and_aligned_from_the_right(qtbot):
    delegate = EvidenceDelegate()
    for number, text in enumerate((ARABIC, HEBREW)):
        layout = delegate.text_layout(_row(justification_id=f"rtl{number}", text=text, quote=None), 900, QFont())
        assert layout.textOption().textDirection() == Qt.LayoutDirection.RightToLeft
        line = layout.lineAt(0)
        assert line.naturalTextWidth() < 800  # one short line: it ends at the right edge, not the left
        assert line.naturalTextRect().right() == pytest.approx(line.width(), abs=2)
        assert line.naturalTextRect().left() > 100
    latin = delegate.text_layout(_row(justification_id="ltr", text="A left-to-right justification.", quote=None),
                                 900, QFont())
    assert latin.textOption().textDirection() != Qt.LayoutDirection.RightToLeft
    assert latin.lineAt(0).naturalTextRect().left() == pytest.approx(0, abs=2)


def test_the_detail_pane_conversation_and_discussion_set_the_direction_of_right_to_left_text():
    assert row_html(_row(text=HEBREW, quote=None)).startswith('<p dir="rtl" align="right"')
    assert row_html(_row(text="Plain English.", quote=None)).startswith('<p style=')


def test_the_conversation_window_aligns_a_hebrew_justification_right(demo_workspace, open_conversation):
    jid, cid, _pid = first_justification(demo_workspace)
    tamper(demo_workspace / DB_FILE, "UPDATE justifications SET text = ? WHERE id = ?", [HEBREW, jid])
    view = open_conversation(demo_workspace, cid, jid)
    document = view.browser.document()
    block = document.begin()
    while block.isValid() and HEBREW not in block.text():
        block = block.next()
    assert block.isValid()
    assert block.textDirection() == Qt.LayoutDirection.RightToLeft
    assert block.blockFormat().alignment() & Qt.AlignmentFlag.AlignRight


def test_a_script_no_installed_font_shows_is_named_once_in_the_status_bar(qtbot, open_desk, demo_workspace,
                                                                          monkeypatch):
    from PySide6.QtGui import QFontDatabase

    from ui import fonts

    latin = QFontDatabase.WritingSystem.Latin
    assert fonts.shows_every_glyph("Aa Ää", latin)
    assert not fonts.shows_every_glyph("\ue000\ue001", latin)  # private-use letters: no font has them
    monkeypatch.setattr(fonts, "SCRIPT_SAMPLES", {"Latin": (latin, "Aa"), "Private use": (latin, "\ue000")})
    desk = open_desk(demo_workspace, "Amara Okafor")
    qtbot.waitUntil(lambda: desk.missing_scripts is not None, timeout=5000)  # checked while idle after loading
    assert desk.missing_scripts == ["Private use"]
    message = desk.statusBar().currentMessage()
    assert message.startswith("No font for Private use:") and "fonts-noto-core" in message
    desk.statusBar().showMessage("something else")
    desk._warm_fonts()
    assert desk.statusBar().currentMessage() == "something else"  # said once


def test_the_conversation_window_sets_each_paragraph_of_a_prompt_by_its_own_direction(demo_workspace,
                                                                                      open_conversation):
    """A prompt with a Hebrew paragraph and an English one: the first reads and aligns right, the second left."""
    jid, cid, _pid = first_justification(demo_workspace)
    tamper(demo_workspace / DB_FILE, "UPDATE conversations SET prompt = ? WHERE id = ?",
           [f"{HEBREW}\n\nAnd an English paragraph after it.", cid])
    view = open_conversation(demo_workspace, cid, jid)

    def block_with(text):  # the prompt's own paragraph, not the heading that quotes it
        block = view.browser.document().begin()
        while block.isValid() and not block.text().startswith(text):
            block = block.next()
        assert block.isValid(), text
        return block

    hebrew, english = block_with(HEBREW), block_with("And an English paragraph")
    assert hebrew.textDirection() == Qt.LayoutDirection.RightToLeft
    assert hebrew.blockFormat().alignment() & Qt.AlignmentFlag.AlignRight
    assert english.textDirection() == Qt.LayoutDirection.LeftToRight
    assert not english.blockFormat().alignment() & Qt.AlignmentFlag.AlignRight
