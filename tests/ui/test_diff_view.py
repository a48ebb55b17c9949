import pytest

from reviewer.proposals import SectionChangeView
from ui.views.diff_view import section_header_html


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
