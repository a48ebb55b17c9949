"""Tests of reviewer.diffing: line and word diffs, side by side rows, section level spec diffs."""

from __future__ import annotations

import json
import os
import random
from difflib import SequenceMatcher
from pathlib import Path

import pytest

from reviewer.diffing import (
    PREAMBLE_ID,
    DiffLine,
    Hunk,
    Segment,
    _line_opcodes,
    diff_specs,
    diff_text,
    side_by_side,
    spec_diff_json,
)
from reviewer.spec import SpecDocument, parse_spec
from tests.datapaths import GOLDEN, model_spec


def spec(path: Path) -> SpecDocument:
    return parse_spec(path.read_bytes().decode("utf-8"))


def kinds(line: DiffLine) -> list[tuple[str, str]]:
    return [(s.kind, s.text) for s in line.segments]


# --- golden file ---------------------------------------------------------------------------


def test_small_spec_diff_matches_golden_file() -> None:
    old = spec(GOLDEN / "small_old.md")
    new = spec(GOLDEN / "small_new.md")
    got = json.dumps(
        spec_diff_json(diff_specs(old, new), include_unchanged=True), indent=2, ensure_ascii=False
    )
    golden = GOLDEN / "small_diff.json"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(got + "\n", encoding="utf-8")
    assert got + "\n" == golden.read_text(encoding="utf-8")


def test_small_spec_diff_facts() -> None:
    # The same diff as the golden file, its main facts spelled out.
    diff = diff_specs(spec(GOLDEN / "small_old.md"), spec(GOLDEN / "small_new.md"))
    assert [(c.id, c.status, c.changes) for c in diff.changes] == [
        (PREAMBLE_ID, "changed", ("body",)),
        ("overview", "unchanged", ()),
        ("comply_with_laws", "changed", ("authority", "moved")),
        ("new_rule", "added", ()),  # placed after its predecessor in the new spec
        ("be_kind", "changed", ("body", "title")),
        ("be_clear", "changed", ("tags",)),
        ("old_rule", "removed", ()),
        ("style", "unchanged", ()),
    ]
    assert diff.counts() == {
        "added": 1,
        "removed": 1,
        "changed": 4,
        "moved": 1,
        "title": 1,
        "authority": 1,
        "unchanged": 2,
    }
    assert [c.id for c in diff.changed()] == [
        PREAMBLE_ID,
        "comply_with_laws",
        "new_rule",
        "be_kind",
        "be_clear",
        "old_rule",
    ]
    law = diff.changes[2]
    assert (law.old_authority, law.new_authority) == ("platform", "root")
    assert (law.old_start_line, law.new_start_line, law.old_index, law.new_index) == (7, 32, 1, 3)
    heading_old, heading_new = law.hunks[0].lines[:2]
    assert (heading_old.old_lineno, heading_new.new_lineno) == (7, 32)  # absolute file lines
    assert kinds(heading_old) == [
        ("equal", "## Follow the law {#comply_with_laws"),
        ("delete", " authority=platform}"),
    ]
    assert kinds(heading_new) == [
        ("equal", "## Follow the law {#comply_with_laws"),
        ("insert", " authority=root}"),
    ]


# --- word level ----------------------------------------------------------------------------


def test_changed_word_is_delete_and_insert_segments() -> None:
    (hunk,) = diff_text("The cat sat on the mat.\n", "The dog sat on the mat.\n")
    old_line, new_line = hunk.lines
    assert (old_line.kind, new_line.kind) == ("delete", "insert")
    assert kinds(old_line) == [("equal", "The"), ("delete", " cat"), ("equal", " sat on the mat.")]
    assert kinds(new_line) == [("equal", "The"), ("insert", " dog"), ("equal", " sat on the mat.")]
    assert (old_line.pair_lineno, new_line.pair_lineno) == (1, 1)


def test_word_segments_rebuild_each_line() -> None:
    old = "Be kind to the user, and always say thanks when they help.\n"
    new = "Be warm to every user, and always say thank you when they help!\n"
    (hunk,) = diff_text(old, new)
    old_line, new_line = hunk.lines
    assert "".join(s.text for s in old_line.segments) == old.rstrip("\n")
    assert "".join(s.text for s in new_line.segments) == new.rstrip("\n")
    assert {s.kind for s in old_line.segments} == {"equal", "delete"}
    assert {s.kind for s in new_line.segments} == {"equal", "insert"}
    deleted = [s.text.strip() for s in old_line.segments if s.kind == "delete"]
    inserted = [s.text.strip() for s in new_line.segments if s.kind == "insert"]
    # diff_cleanupSemantic folds the lone " to" between two changes into them.
    assert deleted == ["kind to the", "thanks", "help."]
    assert inserted == ["warm to every", "thank you", "help!"]
    equal_words = " ".join(s.text for s in old_line.segments if s.kind == "equal").split()
    assert equal_words == "Be user, and always say when they".split()


def test_words_not_characters_are_the_unit() -> None:
    (hunk,) = diff_text("alpha beta gamma\n", "alpha betas gamma\n")
    assert kinds(hunk.lines[0]) == [("equal", "alpha"), ("delete", " beta"), ("equal", " gamma")]
    assert kinds(hunk.lines[1]) == [("equal", "alpha"), ("insert", " betas"), ("equal", " gamma")]


def test_added_words_at_line_start_and_end() -> None:
    (hunk,) = diff_text("cat sat\n", "the cat sat down\n")
    assert kinds(hunk.lines[0]) == [("equal", "cat sat")]
    assert kinds(hunk.lines[1]) == [("insert", "the"), ("equal", " cat sat"), ("insert", " down")]


def test_long_rewritten_line_keeps_common_words() -> None:
    words = [f"w{i}" for i in range(60)]
    old = " ".join(words)
    changed = list(words)
    for i in (5, 17, 29, 41, 53):
        changed[i] = f"x{i}"
    new = " ".join(changed)
    (hunk,) = diff_text(old + "\n", new + "\n")
    deleted = [s.text.strip() for s in hunk.lines[0].segments if s.kind == "delete"]
    inserted = [s.text.strip() for s in hunk.lines[1].segments if s.kind == "insert"]
    assert deleted == ["w5", "w17", "w29", "w41", "w53"]
    assert inserted == ["x5", "x17", "x29", "x41", "x53"]


def test_unrelated_lines_are_not_paired() -> None:
    (hunk,) = diff_text("completely different words\n", "nothing shared here\n")
    old_line, new_line = hunk.lines
    assert old_line.pair_lineno is None and new_line.pair_lineno is None
    assert kinds(old_line) == [("delete", "completely different words")]
    assert kinds(new_line) == [("insert", "nothing shared here")]


def test_uneven_replace_pairs_the_similar_line() -> None:
    old = "intro\nThe quick brown fox jumps over the lazy dog.\noutro\n"
    new = (
        "intro\nA wholly new first sentence appears here.\n"
        "The quick brown fox leaps over the lazy dog.\noutro\n"
    )
    (hunk,) = diff_text(old, new)
    changed = [line for line in hunk.lines if line.kind != "equal"]
    assert [(x.kind, x.old_lineno, x.new_lineno, x.pair_lineno) for x in changed] == [
        ("delete", 2, None, 3),
        ("insert", None, 2, None),
        ("insert", None, 3, 2),
    ]
    assert ("delete", " jumps") in kinds(changed[0])


# --- line level ----------------------------------------------------------------------------


def test_hunks_context_and_numbering() -> None:
    old = "".join(f"line {i}\n" for i in range(1, 21))
    new = old.replace("line 3\n", "line three\n").replace("line 18\n", "")
    first, second = diff_text(old, new, context=2)
    assert (first.old_start, first.old_len, first.new_start, first.new_len) == (1, 5, 1, 5)
    assert (second.old_start, second.old_len, second.new_start, second.new_len) == (16, 5, 16, 4)
    assert [(x.kind, x.old_lineno, x.new_lineno) for x in second.lines] == [
        ("equal", 16, 16),
        ("equal", 17, 17),
        ("delete", 18, None),
        ("equal", 19, 18),
        ("equal", 20, 19),
    ]
    shifted = diff_text(old, new, context=2, old_offset=100, new_offset=200)
    assert (shifted[0].old_start, shifted[0].new_start) == (101, 201)
    assert shifted[1].lines[2].old_lineno == 118
    assert diff_text(old, old) == ()


def test_pure_insert_hunk_start_is_the_line_before() -> None:
    (hunk,) = diff_text("a\nb\n", "a\nnew\nb\n", context=0)
    assert (hunk.old_start, hunk.old_len, hunk.new_start, hunk.new_len) == (1, 0, 2, 1)


def test_final_newline_change_shows() -> None:
    (hunk,) = diff_text("a\nb", "a\nb\n")
    assert [(x.kind, x.text) for x in hunk.lines] == [
        ("equal", "a"),
        ("delete", "b"),
        ("insert", "b"),
    ]


def test_crlf_and_unicode_separators() -> None:
    (hunk,) = diff_text("a\r\nb x\u2028y\r\nc\r\n", "a\r\nb z\u2028y\r\nc\r\n")
    assert [(x.kind, x.text, x.old_lineno, x.new_lineno) for x in hunk.lines] == [
        ("equal", "a", 1, 1),
        ("delete", "b x\u2028y", 2, None),
        ("insert", "b z\u2028y", None, 2),
        ("equal", "c", 3, 3),
    ]


def check_opcodes(codes: list[tuple[str, int, int, int, int]], a: list[str], b: list[str]) -> None:
    i = j = 0
    for tag, i1, i2, j1, j2 in codes:
        assert (i1, j1) == (i, j)
        if tag == "equal":
            assert a[i1:i2] == b[j1:j2]
        i, j = i2, j2
    assert (i, j) == (len(a), len(b))


def test_line_alignment_is_sequence_matchers() -> None:
    # Without a common first or last line (which are taken off first) and below the
    # anchoring size, the alignment is exactly SequenceMatcher's.
    rng = random.Random(7)
    for _ in range(3000):
        a = [rng.choice("xyz\n") for _ in range(rng.randint(1, 12))]
        b = [rng.choice("xyzw\n") for _ in range(rng.randint(1, 12))]
        if a[0] == b[0] or a[-1] == b[-1]:
            continue
        expected = SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
        assert _line_opcodes(a, b) == expected, (a, b)


def test_long_line_lists_align_validly() -> None:
    rng = random.Random(11)
    for _ in range(200):
        a = [rng.choice([f"p{rng.randint(0, 300)}", ""]) for _ in range(rng.randint(40, 120))]
        b = list(a)
        for _ in range(rng.randint(1, 8)):
            spot = rng.randrange(len(b))
            if rng.random() < 0.5:
                b[spot] = f"new{rng.randint(0, 9)}"
            else:
                b.insert(spot, "")
        codes = _line_opcodes(a, b)
        check_opcodes(codes, a, b)
        changed = sum(i2 - i1 + j2 - j1 for tag, i1, i2, j1, j2 in codes if tag != "equal")
        plain = SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
        assert (
            changed <= sum(i2 - i1 + j2 - j1 for tag, i1, i2, j1, j2 in plain if tag != "equal") + 4
        )


def test_side_by_side_rows() -> None:
    old = "same\nThe cat sat.\ngone\nend\n"
    new = "same\nThe dog sat.\nend\nextra\n"
    hunks = diff_text(old, new)
    rows = side_by_side(hunks)
    shown = [(left.text if left else None, right.text if right else None) for left, right in rows]
    assert shown == [
        ("same", "same"),
        ("The cat sat.", "The dog sat."),
        ("gone", None),
        ("end", "end"),
        (None, "extra"),
    ]
    paired = rows[1]
    assert paired[0] is not None and paired[0].pair_lineno == 2


def test_side_by_side_puts_unpaired_lines_on_shared_rows() -> None:
    hunks = diff_text("keep\nalpha beta\nkeep2\n", "keep\nnothing alike\nkeep2\n")
    rows = side_by_side(hunks)
    middle = rows[1]
    assert middle[0] is not None and middle[1] is not None
    assert (middle[0].text, middle[1].text) == ("alpha beta", "nothing alike")


def test_dataclasses_compare_by_value() -> None:
    line = DiffLine("equal", 1, 1, "x")
    assert line.segments == (Segment("equal", "x"),)
    assert line == DiffLine("equal", 1, 1, "x", (Segment("equal", "x"),))
    assert Hunk(1, 1, 1, 1, (line,)) == Hunk(1, 1, 1, 1, (DiffLine("equal", 1, 1, "x"),))


# --- section level -------------------------------------------------------------------------


def test_moved_section_is_the_one_out_of_order() -> None:
    old = parse_spec("# A {#a}\n# B {#b}\n# C {#c}\n# D {#d}\n# E {#e}\n")
    new = parse_spec("# B {#b}\n# C {#c}\n# D {#d}\n# A {#a}\n# E {#e}\n")
    diff = diff_specs(old, new)
    assert {c.id: c.changes for c in diff.changes} == {
        "a": ("moved",),
        "b": (),
        "c": (),
        "d": (),
        "e": (),
    }
    assert diff.counts()["moved"] == 1 and diff.counts()["changed"] == 1


def test_parent_change_counts_as_moved() -> None:
    old = parse_spec("# A {#a}\n## X {#x}\n# B {#b}\n")
    new = parse_spec("# A {#a}\n# B {#b}\n## X {#x}\n")
    changes = {c.id: c.changes for c in diff_specs(old, new).changes}
    assert changes == {"a": (), "x": ("moved",), "b": ()}


def test_title_authority_level_tags_and_body() -> None:
    old = parse_spec("# Top {#top}\n## Rule {#rule authority=user tags=a}\n\nbody one\n")
    new = parse_spec("# Top {#top}\n### Rules {#rule authority=developer tags=b}\n\nbody two\n")
    change = diff_specs(old, new).changes[1]
    assert change.changes == ("body", "title", "authority", "level", "tags")
    assert (change.old_level, change.new_level) == (2, 3)
    assert (change.old_title, change.new_title) == ("Rule", "Rules")
    # The two heading lines are paired first (same section), then the body.
    assert [(x.kind, x.text) for h in change.hunks for x in h.lines if x.kind != "equal"] == [
        ("delete", "## Rule {#rule authority=user tags=a}"),
        ("insert", "### Rules {#rule authority=developer tags=b}"),
        ("delete", "body one"),
        ("insert", "body two"),
    ]


def test_body_flag_only_when_the_body_changed() -> None:
    def changes(old: str, new: str) -> tuple[str, ...]:
        return diff_specs(parse_spec(old), parse_spec(new)).changes[0].changes

    assert changes("# A {#a}", "# B {#a}") == ("title",)
    assert changes("# A {#a}\nx\n", "# B {#a}\nx\n") == ("title",)
    assert changes("# A {#a}\nx\n", "# A {#a}\ny\n") == ("body",)
    assert changes("# A {#a}\nx\n", "# B {#a}\ny\n") == ("body", "title")


def test_heading_only_formatting_change_is_body() -> None:
    old = parse_spec("# A {#a}\n")
    new = parse_spec("#  A {#a}\n")
    assert diff_specs(old, new).changes[0].changes == ("body",)


def test_sections_without_ids_match_by_title_and_level() -> None:
    old = parse_spec("# A {#a}\n## Notes\none\n## Notes\ntwo\n")
    new = parse_spec("# A {#a}\n## Notes\none\n## Notes\n2\n")
    diff = diff_specs(old, new)
    assert [(c.id, c.status) for c in diff.changes] == [
        ("a", "unchanged"),
        ("## Notes", "unchanged"),
        ("## Notes [2]", "changed"),
    ]


def test_added_sections_are_placed_where_they_appear() -> None:
    old = parse_spec("# A {#a}\n# B {#b}\n")
    new = parse_spec("# Z {#z}\n# A {#a}\n# N {#n}\n# B {#b}\n")
    diff = diff_specs(old, new)
    assert [(c.id, c.status) for c in diff.changes] == [
        ("z", "added"),
        ("a", "unchanged"),
        ("n", "added"),
        ("b", "unchanged"),
    ]
    added = diff.changes[2]
    assert (added.new_index, added.new_start_line, added.hunks[0].new_start) == (2, 3, 3)


def test_spec_diff_json_is_plain_data() -> None:
    old = parse_spec("# A {#a}\n\nold words here\n# B {#b}\n")
    new = parse_spec("# A {#a}\n\nnew words here\n# B {#b}\n")
    data = spec_diff_json(diff_specs(old, new))
    assert json.loads(json.dumps(data)) == data
    assert [s["id"] for s in data["sections"]] == ["a"]
    line = data["sections"][0]["hunks"][0]["lines"][2]
    assert line["segments"] == [
        {"kind": "delete", "text": "old"},
        {"kind": "equal", "text": " words here"},
    ]
    everything = spec_diff_json(diff_specs(old, new), include_unchanged=True)
    assert [s["id"] for s in everything["sections"]] == ["a", "b"]


# --- real releases -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spring_to_september() -> object:
    old = spec(model_spec("2025-04-11"))
    new = spec(model_spec("2025-09-12"))
    return diff_specs(old, new)


def test_real_diff_counts_and_added_ids(spring_to_september: object) -> None:
    diff = spring_to_september
    assert diff.counts() == {  # type: ignore[attr-defined]
        "added": 11,
        "removed": 5,
        "changed": 51,
        "moved": 4,
        "title": 2,
        "authority": 19,
        "unchanged": 15,
    }
    by_status: dict[str, list[str]] = {}
    for change in diff.changes:  # type: ignore[attr-defined]
        by_status.setdefault(change.status, []).append(change.id)
    assert by_status["added"] == [
        "red_line_principles",
        "no_other_objectives",
        "scope_of_autonomy",
        "control_side_effects",
        "protect_privileged_information",
        "be_responsible",
        "be_interesting_and_interested",
        "be_curious",
        "love_humanity",
        "have_conversational_sense",
        "be_warm",
    ]
    assert sorted(by_status["removed"]) == [
        "approachable",
        "be_empathetic",
        "be_engaging",
        "be_kind",
        "protect_privileged_messages",
    ]
    moved = [c.id for c in diff.changes if "moved" in c.changes]  # type: ignore[attr-defined]
    assert moved == [
        "structure",
        "be_rationally_optimistic",
        "do_not_make_unprompted_personal_comments",
        "avoid_being_condescending",
    ]


def test_real_political_manipulation_body_change(spring_to_september: object) -> None:
    change = next(
        c
        for c in spring_to_september.changes  # type: ignore[attr-defined]
        if c.id == "avoid_targeted_political_manipulation"
    )
    assert change.changes == ("body", "authority")
    assert (change.old_authority, change.new_authority) == ("platform", "root")
    assert (change.old_start_line, change.new_start_line) == (574, 894)
    first = change.hunks[0]
    assert (first.old_start, first.new_start) == (574, 894)
    heading_new = first.lines[1]
    assert (heading_new.kind, heading_new.new_lineno) == ("insert", 894)
    assert heading_new.segments[-1] == Segment("insert", " authority=root}")
    # The new commentary block sits at absolute line 900 of the September file.
    assert any(
        x.kind == "equal" and x.new_lineno == 900 and x.text == '!!! meta "Commentary"'
        for h in change.hunks
        for x in h.lines
    )
    rewritten = next(x for x in first.lines if x.kind == "insert" and x.new_lineno == 898)
    assert rewritten.text.startswith("However, political content that is crafted for an")
    assert ("equal", "However,") == (rewritten.segments[0].kind, rewritten.segments[0].text)
    refusal = [x for h in change.hunks for x in h.lines if x.text.startswith("I’m sorry")]
    assert [(x.kind, x.old_lineno) for x in refusal] == [("delete", 629), ("delete", 645)]


def test_real_platform_becomes_root() -> None:
    old = spec(model_spec("2025-02-12"))
    new = spec(model_spec("2025-09-12"))
    diff = diff_specs(old, new)
    renamed = [
        c.id for c in diff.changes if (c.old_authority, c.new_authority) == ("platform", "root")
    ]
    to_system = sorted(
        c.id for c in diff.changes if (c.old_authority, c.new_authority) == ("platform", "system")
    )
    assert len(renamed) == 16
    assert "letter_and_spirit" in renamed and "avoid_info_hazards" in renamed
    assert to_system == ["comply_with_laws", "no_erotica_or_gore", "use_preset_voice_in_voice_mode"]
    # Every line number in every hunk points at the line with that text in its file.
    old_lines = old.render().split("\n")
    new_lines = new.render().split("\n")
    for change in diff.changes:
        for hunk in change.hunks:
            for line in hunk.lines:
                if line.old_lineno is not None:
                    assert old_lines[line.old_lineno - 1] == line.text
                if line.new_lineno is not None:
                    assert new_lines[line.new_lineno - 1] == line.text
