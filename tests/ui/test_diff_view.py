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
