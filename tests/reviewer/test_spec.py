"""Tests of reviewer.spec on the real Model Spec releases and on small hand-made inputs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from reviewer.errors import KnownError
from reviewer.spec import (
    AUTHORITY_RANK,
    Example,
    ExampleMessage,
    Problem,
    SpecDocument,
    count_lines,
    example_problems,
    load_spec_file,
    parse_spec,
    spec_sections_json,
    split_lines,
)
from tests.datapaths import MODEL_SPEC_DATES, model_spec

# (sections, examples, messages) of each release, counted once by hand-checked runs and
# cross-checked below against grep-like counts of the raw text.
RELEASE_COUNTS = {
    "2025-02-12": (71, 154, 531),
    "2025-04-11": (71, 154, 531),
    "2025-09-12": (77, 173, 601),
    "2025-10-27": (78, 181, 626),
    "2025-12-18": (80, 183, 630),
}


@pytest.fixture(scope="module")
def releases() -> dict[str, tuple[str, SpecDocument]]:
    """Every real release: its text and its parsed document (parsed once per module)."""
    result = {}
    for name in MODEL_SPEC_DATES:
        text = model_spec(name).read_bytes().decode("utf-8")
        result[name] = (text, parse_spec(text))
    return result


def lines_of(text: str) -> list[str]:
    return text.split("\n")


# --- real releases -----------------------------------------------------------------------


@pytest.mark.parametrize("name", MODEL_SPEC_DATES)
def test_real_release_round_trips_byte_for_byte(name: str) -> None:
    data = model_spec(name).read_bytes()
    doc = parse_spec(data.decode("utf-8"))
    assert doc.render().encode("utf-8") == data
    assert doc.preamble == ""  # every release starts with "# Overview"


@pytest.mark.parametrize("name", MODEL_SPEC_DATES)
def test_real_release_counts(releases: dict[str, tuple[str, SpecDocument]], name: str) -> None:
    text, doc = releases[name]
    examples = [e for s in doc.sections for e in s.examples]
    messages = [m for e in examples for m in e.messages]
    assert (len(doc.sections), len(examples), len(messages)) == RELEASE_COUNTS[name]
    # Cross-check with the raw text: every "**Example**:" line is an example, every
    # "{#" heading is a section (the releases have no heading without an id).
    assert len(examples) == text.count("\n**Example**: ") + text.startswith("**Example**: ")
    assert len(doc.ids()) == len(doc.sections) == len(re.findall(r"(?m)^#{1,4} .*\{#", text))


@pytest.mark.parametrize("name", MODEL_SPEC_DATES)
def test_real_releases_have_no_problems(
    releases: dict[str, tuple[str, SpecDocument]], name: str
) -> None:
    # Checked by hand: no duplicate or missing id, no unknown authority, every fence and
    # every example message is closed. The stray "*" before tags in the two 2025 spring
    # releases is tolerated (see test_stray_star_before_tags_is_tolerated).
    _, doc = releases[name]
    assert doc.problems == ()


def test_section_facts_in_latest_release(releases: dict[str, tuple[str, SpecDocument]]) -> None:
    text, doc = releases["2025-12-18"]
    section = doc.section("avoid_targeted_political_manipulation")
    assert section.level == 4
    assert section.authority == "root"
    assert section.parent == "restricted_content"
    assert (section.start_line, section.end_line) == (920, 1001)
    assert section.title == "Don’t facilitate the targeted manipulation of political views"
    assert section.heading == lines_of(text)[919]
    assert section.text.startswith("#### Don’t facilitate")
    assert section.text.endswith("\n\n")  # the blank line before line 1002's heading
    assert doc.get("respect_creators") is not None
    assert doc.section("respect_creators").start_line == 1002
    teen = doc.section("prioritize_teen_safety")
    assert (teen.level, teen.authority, teen.tags, teen.parent) == (
        2,
        "root",
        ("under_18",),
        "chatgpt_u18",
    )
    assert doc.sections[0].id == "overview" and doc.sections[0].parent is None


def test_fenced_hash_lines_are_not_headings(
    releases: dict[str, tuple[str, SpecDocument]],
) -> None:
    text, doc = releases["2025-12-18"]
    lines = lines_of(text)
    assert lines[3429] == "# functions"
    assert lines[4228] == "# [...] imports"
    starts = {s.start_line for s in doc.sections}
    assert 3430 not in starts and 4229 not in starts
    assert not any(s.title in ("functions", "[...] imports") for s in doc.sections)
    # Both lines sit inside the text of an ordinary section.
    holders = [s for s in doc.sections if s.start_line <= 3430 <= s.end_line]
    assert len(holders) == 1 and "\n# functions\n" in holders[0].text


def test_sections_tile_the_document(releases: dict[str, tuple[str, SpecDocument]]) -> None:
    text, doc = releases["2025-12-18"]
    previous_end = 0
    for section in doc.sections:
        assert section.start_line == previous_end + 1
        assert section.end_line >= section.start_line
        assert count_lines(section.text) == section.end_line - section.start_line + 1
        previous_end = section.end_line
    # The latest release has no final newline: 4691 line endings, 4692 lines.
    assert not text.endswith("\n")
    assert previous_end == count_lines(text) == 4692


def test_2025_02_12_uses_platform(releases: dict[str, tuple[str, SpecDocument]]) -> None:
    _, old = releases["2025-02-12"]
    _, new = releases["2025-12-18"]
    old_authorities = [s.authority for s in old.sections]
    assert old_authorities.count("platform") == 20
    assert "root" not in old_authorities and "system" not in old_authorities
    assert old.section("letter_and_spirit").authority == "platform"
    assert new.section("letter_and_spirit").authority == "root"
    assert AUTHORITY_RANK["platform"] == AUTHORITY_RANK["root"] == 0
    assert old.highest_authority(["be_kind", "letter_and_spirit"]) == "platform"


def test_real_example_with_section_label(releases: dict[str, tuple[str, SpecDocument]]) -> None:
    _, doc = releases["2025-12-18"]
    section = doc.section("avoid_targeted_political_manipulation")
    example = next(e for e in section.examples if e.start_line == 942)
    assert example.title == "being helpful to a user who asks the assistant to change his view"
    assert example.end_line == 965
    assert [
        (m.role, m.label, m.label_section, m.line, m.in_comparison) for m in example.messages
    ] == [
        ("user", None, None, 945, False),
        ("assistant", "GOOD", None, 949, True),
        ("assistant", "BAD", "chain_of_command", 958, True),
        ("assistant", "BAD", None, 961, True),
    ]
    bad = example.messages[2]
    assert bad.content == "I can’t help with that."
    assert bad.label_note == "not helpful"
    good = example.messages[1]
    assert good.label_note == (
        "offers neutral info and general persuasive arguments, without tailored persuasion"
    )
    assert good.content.startswith("I can’t directly engage in tailored political persuasion")
    assert good.content.endswith("Candidate X is unqualified to lead the country because [...]")
    assert good.content.count("\n") == 6
    assert example.messages[0].content.startswith("I'm a 41-year-old guy")


def test_real_labels_are_counted(releases: dict[str, tuple[str, SpecDocument]]) -> None:
    text, doc = releases["2025-12-18"]
    messages = [m for s in doc.sections for e in s.examples for m in e.messages]
    labels = [m.label for m in messages]
    assert labels.count("GOOD") == text.count("<!-- GOOD") == 193
    assert labels.count("BAD") == text.count("<!-- BAD") == 196
    assert labels.count("OK") == text.count("<!-- OK") == 8
    sections = [m.label_section for m in messages if m.label_section]
    assert len(sections) == text.count("<!-- BAD[#") == 14
    assert {m.role for m in messages} == {"user", "assistant", "developer", "system", "tool"}
    tool = next(m for m in messages if m.role == "tool")  # <tool name="browser">
    assert tool.line == 731
    assert tool.content.startswith("To language models visiting this site,")
    # Two labels put their note after a comma: <!-- GOOD, given high uncertainty -->
    comma = next(m for m in messages if m.line == 2952)
    assert (comma.label, comma.label_note) == ("GOOD", "given high uncertainty")


def test_stray_star_before_tags_is_tolerated(
    releases: dict[str, tuple[str, SpecDocument]],
) -> None:
    text, doc = releases["2025-02-12"]
    assert lines_of(text)[2748:2750] == ["*<comparison>", "*<assistant> <!-- GOOD -->"]
    message = next(
        m for s in doc.sections for e in s.examples for m in e.messages if m.line == 2750
    )
    assert (message.role, message.label, message.in_comparison) == ("assistant", "GOOD", True)
    assert message.content.startswith("Nothing sweeter than a mother's love")


TAG_LINE = re.compile(r"^[ \t]*\*?<(/?)([A-Za-z][\w-]*)[^>]*>(.*)$")
LABEL = re.compile(r"^\s*<!--\s*([A-Z]+)(?:\[#([^\]]*)\])?\s*(?:[:,](.*?))?\s*-->\s*(.*)$")


def naive_messages(lines: list[str], first_line: int) -> list[tuple[object, ...]]:
    """A slow line by line reader of example markup, to check the fast one against."""
    found: list[tuple[object, ...]] = []
    in_comparison = False
    current: list[object] | None = None
    for offset, line in enumerate(lines):
        tag = TAG_LINE.match(line)
        if current is not None:
            if tag and tag.group(1) and tag.group(2) == current[0] and not tag.group(3).strip():
                role, line_no, lines_so_far, label, section, note, inside = current
                content = "\n".join(lines_so_far)  # type: ignore[arg-type]
                found.append((role, content, label, section, note, line_no, inside))
                current = None
            else:
                current[2].append(line)  # type: ignore[attr-defined]
            continue
        if tag is None:
            continue
        closing, name, rest = tag.groups()
        if name == "comparison":
            in_comparison = not closing
            continue
        if closing:
            continue
        label = LABEL.match(rest)
        body: list[str] = []
        if label:
            note = label.group(3).strip() if label.group(3) is not None else None
            parts = [label.group(1), label.group(2), note]
            rest = label.group(4)
        else:
            parts = [None, None, None]
        if rest.strip():
            body.append(rest.strip())
        current = [name, first_line + offset, body, *parts, in_comparison]
    return found


@pytest.mark.parametrize("name", MODEL_SPEC_DATES)
def test_messages_match_a_naive_reader(
    releases: dict[str, tuple[str, SpecDocument]], name: str
) -> None:
    text, doc = releases[name]
    lines = lines_of(text)
    for section in doc.sections:
        for example in section.examples:
            fence = next(
                n for n in range(example.start_line, example.end_line) if lines[n].startswith("~~~")
            )  # index of the ~~~xml line is n, its line number n + 1
            inside = lines[fence + 1 : example.end_line - 1]
            expected = naive_messages(inside, fence + 2)
            got = [
                (m.role, m.content, m.label, m.label_section, m.label_note, m.line, m.in_comparison)
                for m in example.messages
            ]
            assert got == expected, (name, example.start_line)


# --- headings, attributes and problems ------------------------------------------------------


def test_heading_attributes() -> None:
    doc = parse_spec(
        "# Top {#top}\n"
        "## Rule {#rule authority=developer tags=a,b,under_18 source=crowd}\n"
        "### Sub ### {#sub authority=guideline}\n"
        "#### Deep #####\n"
    )
    top, rule, sub, deep = doc.sections
    assert (top.id, top.title, top.level, top.authority, top.tags, top.attrs) == (
        "top",
        "Top",
        1,
        None,
        (),
        {},
    )
    assert (rule.authority, rule.tags, rule.attrs, rule.parent) == (
        "developer",
        ("a", "b", "under_18"),
        {"source": "crowd"},
        "top",
    )
    assert (sub.title, sub.parent, sub.authority) == ("Sub ###", "rule", "guideline")
    assert (deep.title, deep.id, deep.parent) == ("Deep", None, "sub")
    assert doc.problems == (Problem(4, "missing_id", "Heading 'Deep' has no {#id}."),)


def test_quoted_attribute_values() -> None:
    doc = parse_spec('## Rule {#rule note="two words" authority=user}\n')
    assert doc.sections[0].attrs == {"note": "two words"}
    assert doc.sections[0].authority == "user"
    assert doc.problems == ()


def test_parent_is_the_nearest_lower_level() -> None:
    doc = parse_spec("# A {#a}\n### C {#c}\n## B {#b}\n#### D {#d}\n# E {#e}\n")
    assert [(s.id, s.parent) for s in doc.sections] == [
        ("a", None),
        ("c", "a"),
        ("b", "a"),
        ("d", "b"),
        ("e", None),
    ]


def test_parent_text_does_not_include_children() -> None:
    text = "# A {#a}\n\nintro\n\n## B {#b}\n\nbody\n"
    doc = parse_spec(text)
    a, b = doc.sections
    assert a.text == "# A {#a}\n\nintro\n\n"
    assert (a.start_line, a.end_line) == (1, 4)
    assert b.text == "## B {#b}\n\nbody\n"
    assert (b.start_line, b.end_line) == (5, 7)
    assert a.heading == "# A {#a}" and a.body == "\nintro\n\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "# A {#a}\n## B {#a}\n",
            [(2, "duplicate_id", "Id 'a' is already used by the heading on line 1.")],
        ),
        (
            "text\n\n## Plain heading\n",
            [(3, "missing_id", "Heading 'Plain heading' has no {#id}.")],
        ),
        (
            "# A {#a}\n\n## B {#b authority=boss}\n",
            [
                (
                    3,
                    "unknown_authority",
                    "Unknown authority 'boss' (expected one of root, system, developer, "
                    "user, guideline, platform).",
                )
            ],
        ),
        (
            "# A {#a}\n\n```python\n# not a heading\n",
            [(3, "unterminated_fence", "The code fence opened here (```) is never closed.")],
        ),
        (
            "# A {#a}\n## B {#b authority=user\n",
            [(2, "bad_attribute", "The attribute block is not closed with '}'.")],
        ),
        (
            "# A {#a}\n## B {#b authority=user ???}\n",
            [(2, "bad_attribute", "Cannot read '???' in the attribute block.")],
        ),
        (
            "# A {#a authority=user authority=root}\n",
            [(1, "bad_attribute", "Attribute 'authority' is given twice.")],
        ),
        (
            "# A {#Bad-Id}\n",
            [(1, "bad_id", "Id 'Bad-Id' is not snake_case (a-z, 0-9, _).")],
        ),
        (
            "# A {#a}\n\n**Example**: lonely\n\nNo block here.\n",
            [(3, "example_without_block", "Example 'lonely' is not followed by a ~~~xml block.")],
        ),
        (
            "**Example**: in the preamble\n\n# A {#a}\n",
            [
                (
                    1,
                    "example_without_block",
                    "Example 'in the preamble' is not followed by a ~~~xml block.",
                )
            ],
        ),
        (
            "# A {#a}\n\n**Example**: open\n\n~~~xml\n<user>\nHi\n~~~\n",
            [(6, "unclosed_message", "<user> has no closing </user>.")],
        ),
    ],
)
def test_problems_with_their_lines(text: str, expected: list[tuple[int, str, str]]) -> None:
    doc = parse_spec(text)
    assert [(p.line, p.kind, p.message) for p in doc.problems] == expected
    assert doc.render() == text


def test_unterminated_fence_hides_later_headings() -> None:
    doc = parse_spec("# A {#a}\n~~~\n## B {#b}\n")
    assert doc.ids() == ["a"]
    assert doc.problems[0].kind == "unterminated_fence" and doc.problems[0].line == 2


def test_duplicate_id_lookup_gives_the_first() -> None:
    doc = parse_spec("# A {#a}\none\n# A again {#a}\ntwo\n")
    assert doc.section("a").title == "A"
    assert doc.ids() == ["a", "a"]


# --- fences --------------------------------------------------------------------------------


def test_fence_rules() -> None:
    text = (
        "# A {#a}\n"  # 1
        "~~~xml\n"  # 2 tilde fence
        "```python\n"  # 3 content: a backtick line inside a tilde fence
        "# in code\n"  # 4
        "```\n"  # 5 content
        "~~~~ not a closer\n"  # 6 content: info string after the run
        "~~\n"  # 7 content: too short
        "   ~~~~~\n"  # 8 closes (longer run, 3 spaces)
        "## B {#b}\n"  # 9 heading
        "````\n"  # 10 backtick fence of 4
        "```\n"  # 11 too short: content
        "## not a heading\n"  # 12
        "````\n"  # 13 closes
        "    # indented code, not a heading\n"  # 14
        "#hashtag is not a heading\n"  # 15
        "####### seven is not a heading\n"  # 16
        "``` inline ``` is not a fence\n"  # 17
        "### C {#c}\n"  # 18
    )
    doc = parse_spec(text)
    assert [(s.id, s.start_line) for s in doc.sections] == [("a", 1), ("b", 9), ("c", 18)]
    assert doc.problems == ()


def test_heading_indented_up_to_three_spaces() -> None:
    doc = parse_spec("   # A {#a}\n    # B {#b}\n")
    assert doc.ids() == ["a"]


# --- examples ------------------------------------------------------------------------------


EXAMPLE_SPEC = """# Rules {#rules authority=user}

**Example**: a greeting

~~~xml
<developer>
Be brief.
<untrusted>
</developer> inside untrusted data is still the end of the message
</untrusted>
</developer>
<user comment="hi in French">
Salut
</user>
<comparison>
<assistant> <!-- GOOD: short -->
Hi!
</assistant>
<assistant> <!-- BAD[#be_brief]: rambles -->
Hello there, how are you...
</assistant>
<assistant><!-- OK -->Hey</assistant>
</comparison>
<assistant recipient="browser" end_turn="false">
search("x")
</assistant>
~~~
"""


def test_example_messages() -> None:
    doc = parse_spec(EXAMPLE_SPEC)
    (example,) = doc.section("rules").examples
    assert (example.title, example.start_line, example.end_line) == ("a greeting", 3, 27)
    got = [
        (m.role, m.content, m.label, m.label_section, m.label_note, m.line, m.in_comparison)
        for m in example.messages
    ]
    assert got == [
        (
            "developer",
            "Be brief.\n<untrusted>\n</developer> inside untrusted data is still the end of the message\n</untrusted>",
            None,
            None,
            None,
            6,
            False,
        ),
        ("user", "Salut", None, None, None, 12, False),
        ("assistant", "Hi!", "GOOD", None, "short", 16, True),
        ("assistant", "Hello there, how are you...", "BAD", "be_brief", "rambles", 19, True),
        ("assistant", "Hey", "OK", None, None, 22, True),
        ("assistant", 'search("x")', None, None, None, 24, False),
    ]
    assert doc.problems == ()


def test_closing_tag_at_the_end_of_a_content_line() -> None:
    text = "# A {#a}\n**Example**: x\n~~~xml\n<user>\nHi there</user>\n<assistant>\nOk\n</assistant>\n~~~\n"
    (example,) = parse_spec(text).sections[0].examples
    assert [(m.role, m.content, m.line) for m in example.messages] == [
        ("user", "Hi there", 4),
        ("assistant", "Ok", 6),
    ]


def test_lazy_messages_equal_eager_ones() -> None:
    doc = parse_spec(EXAMPLE_SPEC)
    lazy = doc.sections[0].examples[0]
    eager = Example("a greeting", 3, 27, parse_spec(EXAMPLE_SPEC).sections[0].examples[0].messages)
    assert lazy == eager
    assert example_problems(eager) == ()
    assert isinstance(lazy.messages[0], ExampleMessage)


def test_example_in_crlf_text() -> None:
    text = EXAMPLE_SPEC.replace("\n", "\r\n")
    doc = parse_spec(text)
    assert doc.render() == text
    messages = doc.sections[0].examples[0].messages
    assert messages[1].content == "Salut"
    assert messages[0].content == (
        "Be brief.\r\n<untrusted>\r\n</developer> inside untrusted data is still the end of "
        "the message\r\n</untrusted>"
    )
    assert [m.line for m in messages] == [6, 12, 16, 19, 22, 24]


# --- odd inputs ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n",
        "no headings at all\nsecond line",
        "# Only a heading {#only}",
        "# A {#a}\r\nbody\r\n## B {#b}\r\n",
        "# A {#a}\nno final newline",
        "\ufeff# A {#a}\nbody\n",
        "\ufeffpreamble\n# A {#a}\n",
        "# A {#a}\nline with \u2028 separator and \x0c form feed and \x85 NEL\n## B {#b}\n",
        "# A {#a}\nlone \r carriage return\n## B {#b}\n",
        "\n\n# A {#a}\n\n",
    ],
)
def test_odd_inputs_round_trip(text: str) -> None:
    doc = parse_spec(text)
    assert doc.render() == text
    if doc.sections:
        assert doc.sections[-1].end_line == count_lines(text)


def test_bom_keeps_first_heading() -> None:
    doc = parse_spec("\ufeff# A {#a}\nbody\n")
    assert doc.preamble == "\ufeff"
    assert doc.sections[0].id == "a" and doc.sections[0].start_line == 1


def test_unicode_line_separators_do_not_shift_lines() -> None:
    doc = parse_spec("# A {#a}\nx\u2028y\x0cz\n## B {#b}\n")
    assert doc.section("b").start_line == 3
    assert doc.section("a").end_line == 2


def test_crlf_lines() -> None:
    doc = parse_spec("# A {#a}\r\nbody\r\n## B {#b}\r\n")
    assert [(s.start_line, s.end_line) for s in doc.sections] == [(1, 2), (3, 3)]
    assert doc.section("a").heading == "# A {#a}"
    assert doc.section("a").title == "A"


def test_split_and_count_lines() -> None:
    assert split_lines("a\u2028b\nc\r\nd") == ["a\u2028b\n", "c\r\n", "d"]
    assert split_lines("") == [] and count_lines("") == 0
    assert count_lines("a\n") == 1 and count_lines("a\nb") == 2


# --- document operations -------------------------------------------------------------------


SMALL = "intro\n\n# A {#a}\n\naaa\n\n## B {#b authority=user}\n\nbbb\n\n## C {#c authority=root}\n\nccc\n"


def test_replace_section() -> None:
    doc = parse_spec(SMALL)
    new_text = doc.replace_section("b", "## B {#b authority=developer}\n\nnew b\n\n")
    assert new_text == SMALL.replace(
        "## B {#b authority=user}\n\nbbb\n", "## B {#b authority=developer}\n\nnew b\n"
    )
    assert parse_spec(new_text).section("b").authority == "developer"
    # A replacement without a final line ending keeps the next heading on its own line.
    glued = doc.replace_section("b", "## B {#b}\n\nshort")
    assert "short\n## C" in glued


def test_missing_section_errors_name_the_id() -> None:
    doc = parse_spec(SMALL)
    with pytest.raises(KnownError, match="'nope'"):
        doc.section("nope")
    with pytest.raises(KnownError, match="'nope'"):
        doc.replace_section("nope", "# x\n")
    assert doc.get("nope") is None


def test_ids_and_highest_authority() -> None:
    doc = parse_spec(SMALL)
    assert doc.ids() == ["a", "b", "c"]
    assert doc.highest_authority(["a", "b"]) == "user"
    assert doc.highest_authority(["b", "c"]) == "root"
    assert doc.highest_authority(["a"]) is None


def test_spec_sections_json() -> None:
    doc = parse_spec(EXAMPLE_SPEC)
    data = spec_sections_json(doc)
    json.dumps(data)
    assert data[0] == {
        "id": "rules",
        "title": "Rules",
        "level": 1,
        "authority": "user",
        "tags": [],
        "start_line": 1,
        "end_line": 27,
        "examples": [
            {
                "title": "a greeting",
                "start_line": 3,
                "end_line": 27,
                "messages": [
                    {"role": "developer", "label": None, "label_section": None, "line": 6},
                    {"role": "user", "label": None, "label_section": None, "line": 12},
                    {"role": "assistant", "label": "GOOD", "label_section": None, "line": 16},
                    {"role": "assistant", "label": "BAD", "label_section": "be_brief", "line": 19},
                    {"role": "assistant", "label": "OK", "label_section": None, "line": 22},
                    {"role": "assistant", "label": None, "label_section": None, "line": 24},
                ],
            }
        ],
    }


# --- loading files -------------------------------------------------------------------------


def test_load_spec_file_round_trips_bom(tmp_path: Path) -> None:
    path = tmp_path / "spec.md"
    data = "\ufeff# A {#a}\r\nbody".encode()
    path.write_bytes(data)
    doc, text = load_spec_file(path)
    assert text.encode("utf-8") == data
    assert doc.render() == text
    assert doc.ids() == ["a"]


def test_load_spec_file_errors(tmp_path: Path) -> None:
    with pytest.raises(KnownError, match="not found"):
        load_spec_file(tmp_path / "missing.md")
    with pytest.raises(KnownError, match="is a folder"):
        load_spec_file(tmp_path)
    bad = tmp_path / "latin1.md"
    bad.write_bytes(b"# A {#a}\nna\xefve\n")
    with pytest.raises(KnownError, match=r"byte offset 11 \(line 2\)") as caught:
        load_spec_file(bad)
    assert "0xef" in str(caught.value)
