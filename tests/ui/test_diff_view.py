from types import SimpleNamespace

import pytest
from PySide6.QtCore import QEvent, QObject, Qt

from reviewer import operations
from reviewer.proposals import SectionChangeView, proposal_view
from reviewer.workspace import Workspace
from tests.datapaths import USER_LEVEL
from tests.helpers import commit_file
from ui.views.diff_view import proposal_diff_html, section_header_html


def _section(old: str | None, new: str | None) -> SectionChangeView:
    return SectionChangeView(
        section_id="s", current_text="## S {#s}\n", new_text="## S {#s}\n", base_matches_current=True,
        old_title="S", new_title="S", old_authority=old, new_authority=new, start_line=3, hunks=(),
    )


@pytest.mark.parametrize(("old", "new", "renamed"), [
    ("platform", "root", True),   # 2025-09-12 renamed the level: same rank, same quorum
    ("platform", "system", False),  # a real change of level
    ("user", "guideline", False),
])
def test_authority_note_tells_a_rename_from_a_change(old, new, renamed):
    html = section_header_html(_section(old, new))
    assert "Authority:" in html
    assert ("the same level, renamed" in html) is renamed


def test_no_authority_note_when_it_stays():
    assert "Authority:" not in section_header_html(_section("user", "user"))


def test_line_number_cells_widen_for_four_digit_lines():
    from reviewer.diffing import diff_text
    from ui.views.diff_view import number_cell_attrs, side_by_side_html

    short = diff_text("a\nb\n", "a\nc\n")
    long_old = "x\n" * 1519 + "old line\n"
    long = diff_text(long_old, long_old.replace("old line", "new line"))
    width = lambda hunks: int(number_cell_attrs(hunks).split('width="')[1].split('"')[0])  # noqa: E731
    assert width(long) > width(short)
    assert "1520" in side_by_side_html(long)


class _Resizes(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def eventFilter(self, obj, event):  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Resize:
            self.count += 1
        return False


def _page(lines: int) -> SimpleNamespace:
    """What ``DiffView.set_view`` reads of a ``ProposalView``: one section changing ``lines`` lines."""
    from dataclasses import replace

    from reviewer.diffing import diff_text

    old = "".join(f"line {i}\n" for i in range(lines))
    new = "".join(f"line {i}\n" if i % 2 else f"changed line {i}\n" for i in range(lines))
    return SimpleNamespace(committed=None, revisions=(), sections=[replace(_section("user", "user"), hunks=diff_text(old, new))])


@pytest.mark.gui
def test_a_new_page_is_laid_out_once_and_scrolls_only_when_it_needs_to(qtbot):
    from ui.views.diff_view import DiffView

    view = DiffView()
    qtbot.addWidget(view)
    view.resize(500, 300)
    view.show()
    qtbot.waitExposed(view)
    bar = view.browser.verticalScrollBar()
    view.set_view(_page(80))
    assert bar.isVisible()
    resizes = _Resizes()
    view.browser.viewport().installEventFilter(resizes)
    view.set_view(_page(60))
    # The scroll bar stayed while the page was replaced: no second layout at another width.
    assert resizes.count == 0 and bar.isVisible()
    view.set_view(_page(1))
    assert not bar.isVisible()  # a page that fits has no scroll bar
    view.set_view(_page(80))
    assert bar.isVisible()
    assert view.browser.verticalScrollBarPolicy() == Qt.ScrollBarPolicy.ScrollBarAsNeeded


def test_a_committed_proposal_keeps_its_diff_and_shows_what_changed_since(demo_workspace):
    with Workspace.open(demo_workspace) as ws:
        before = proposal_view(ws, USER_LEVEL)
        assert before.committed is None and all(s.hunks for s in before.sections)
        operations.decide(ws, USER_LEVEL, "adopt", "Supported across groups.", actor="Amara Okafor")
        (item,) = [i for i in operations.commit(ws, actor="Sofía Herrera").value.items if i.commit_sha]
        view = proposal_view(ws, USER_LEVEL)
        # Compared with the current spec it would show no change; as adopted it shows its commit's own change.
        assert view.committed == item.commit_sha
        assert [s.hunks for s in view.sections] == [s.hunks for s in before.sections]
        assert all(s.as_adopted and s.now_text is None for s in view.sections)
        html = proposal_diff_html(view, "side")
        assert f"Committed to the spec as <code>{item.commit_sha[:12]}</code>" in html
        assert "No change in the text" not in html and "As committed" in html and "Since then" not in html
        # The spec moves on in that section: "as committed → now" is shown beside it.
        section = view.sections[0]
        text = ws.load_spec().text.replace(section.new_text, section.new_text.rstrip("\n") + "\n\nA later line.\n")
        commit_file(ws.spec_repo_path, ws.config.spec_file, text, "A later edit")
        later = proposal_view(ws, USER_LEVEL)
        assert later.sections[0].now_text is not None and later.sections[0].now_hunks
        assert [s.hunks for s in later.sections] == [s.hunks for s in before.sections]  # still as adopted
        html = proposal_diff_html(later, "side")
        assert "Since then" in html and "A later line." in html and "changed since it was committed" in html
