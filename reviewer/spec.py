"""Parse a Model Spec Markdown file into addressable sections, examples and problems."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar, overload

from reviewer.errors import KnownError
from reviewer.vocab import AUTHORITIES  # platform is the older name of root

AUTHORITY_RANK: dict[str, int] = {
    "root": 0,
    "platform": 0,
    "system": 1,
    "developer": 2,
    "user": 3,
    "guideline": 4,
}
"""Rank of each authority: 0 is the highest."""

BOM = "\ufeff"

# One pass over the whole text finds every line that shapes the structure: ATX headings
# and fence lines (each with up to 3 spaces of indent; groups: line, heading marks, fence
# run, info string). Every pattern scanned over long text starts with a literal "\n": the
# regex engine then jumps from newline to newline instead of trying every position.
_CANDIDATE_RE = re.compile(
    r"\n(?=[ #`~])( {0,3}(?:(#{1,6})(?=[ \t\r\n]|$)[^\n]*|(`{3,}|~{3,})([^\n]*)))"
)
# Inside a section: fence lines and ``**Example**:`` lines (groups: line, fence run, info,
# example title).
_EXAMPLE_SCAN_RE = re.compile(
    r"\n(?=[ `~*])( {0,3}(?:(`{3,}|~{3,})([^\n]*)|\*\*Example\*\*:([^\n]*)))"
)
_ATTR_KEY_RE = re.compile(r"[A-Za-z_][\w-]*")
_CLOSING_HASHES_RE = re.compile(r"(?:^|[ \t]+)#+$")
_OPEN_ATTR_BLOCK_RE = re.compile(r"\{\s*(?:#|[A-Za-z_][\w-]*=)")
_ATTR_TOKEN_RE = re.compile(r'\s*(?:#([^\s{}=]+)|([A-Za-z_][\w-]*)=("[^"]*"|[^\s"{}]*))(?=\s|$)')
_SNAKE_ID_RE = re.compile(r"[a-z0-9][a-z0-9_]*")
# Message markup inside an example fence. A stray "*" before a tag occurs in the
# 2025-02-12 and 2025-04-11 releases ("*<comparison>"), so it is tolerated; the label
# note follows a colon, or in a few labels a comma ("<!-- GOOD, given high uncertainty -->").
# Groups: closing "/", name, attributes, label, label section, label note, rest of the line.
_TAG_RE = re.compile(
    r"\n[ \t]*\*?<(/?)([A-Za-z][\w-]*)((?:[ \t][^>\n]*)?)>"
    r"(?:[ \t]*<!--[ \t]*([A-Z]+)(?:\[#([^\]\s]*)\])?[ \t]*(?:[:,](.*?))?[ \t]*-->)?"
    r"([^\n]*)"
)
_NON_MESSAGE_TAGS = frozenset({"comparison", "settings", "untrusted"})

# (offset, line, level, title, id, authority, tags, attrs) of one heading
_HeadingRow = tuple[int, int, int, str, str | None, str | None, tuple[str, ...], dict[str, str]]


@dataclass(frozen=True, init=False)
class ExampleMessage:
    """One message (``<user>``, ``<assistant>``, ...) inside an example.

    Attributes:
        role: The xml tag name: user, assistant, developer, system, tool...
        content: The inner text as written, with a label comment removed from its start.
        label: ``GOOD``, ``BAD``, ``OK`` (any upper-case word in the comment) or None.
        label_section: The section named in ``<!-- BAD[#id]: ... -->``, or None.
        label_note: The text after the colon in the label comment, or None.
        line: The 1-based line of the opening tag.
        in_comparison: Whether the message is inside a ``<comparison>`` block.
    """

    role: str
    content: str
    label: str | None
    label_section: str | None
    label_note: str | None
    line: int
    in_comparison: bool

    def __init__(
        self,
        role: str,
        content: str,
        label: str | None,
        label_section: str | None,
        label_note: str | None,
        line: int,
        in_comparison: bool,
    ) -> None:
        # Frozen dataclasses set each field through object.__setattr__, 2-3x slower than
        # filling __dict__; a spec has hundreds of messages.
        fields = self.__dict__
        fields["role"] = role
        fields["content"] = content
        fields["label"] = label
        fields["label_section"] = label_section
        fields["label_note"] = label_note
        fields["line"] = line
        fields["in_comparison"] = in_comparison


_T = TypeVar("_T")


class _LazyField(Generic[_T]):
    """A dataclass field computed on first read, then kept in the instance like any field.

    It is a non-data descriptor: once the value sits in the instance ``__dict__`` the
    descriptor is no longer consulted, and instances built with a value never use it.
    """

    def __init__(self, name: str, compute: Callable[[Any], _T]) -> None:
        self._name = name
        self._compute = compute

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> _LazyField[_T]: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> _T: ...

    def __get__(self, instance: object | None, owner: type | None = None) -> Any:
        if instance is None:
            return self
        value = self._compute(instance)
        instance.__dict__[self._name] = value
        return value


@dataclass(frozen=True, init=False)
class Example:
    """A ``**Example**: title`` line with its ``~~~xml`` block.

    The messages of an example parsed from a file are read from the block on first
    access: a diff or a section listing never pays for them.

    Attributes:
        title: The text after ``**Example**:``.
        start_line: The 1-based line of the ``**Example**`` line.
        end_line: The 1-based line of the closing fence (the last line if unterminated).
        messages: The messages in document order.
    """

    title: str
    start_line: int
    end_line: int
    messages: tuple[ExampleMessage, ...]

    def __init__(
        self, title: str, start_line: int, end_line: int, messages: Iterable[ExampleMessage]
    ) -> None:
        fields = self.__dict__
        fields["title"] = title
        fields["start_line"] = start_line
        fields["end_line"] = end_line
        fields["messages"] = tuple(messages)
        fields["_problems"] = ()


def _read_examples(section: Section) -> tuple[Example, ...]:
    """Find the examples of a section made by the parser (first access only).

    Args:
        section: The section.

    Returns:
        The examples; the problems found are kept in ``_problems``.
    """
    examples, problems = _scan_examples(section.text, section.start_line)
    section.__dict__["_problems"] = tuple(problems)
    return examples


def _read_messages(example: Example) -> tuple[ExampleMessage, ...]:
    """Parse the messages of an example made by the parser (first access only).

    Args:
        example: The example, whose ``_source`` holds (text, start, end, first line).

    Returns:
        The messages; the markup problems are kept in ``_problems``.
    """
    text, start, end, first_line = example.__dict__["_source"]
    problems: list[Problem] = []
    messages = _parse_messages(text, start, end, first_line, problems)
    example.__dict__["_problems"] = tuple(problems)
    return messages


# Set after the class is made, so the dataclass sees a plain field without a default.
setattr(Example, "messages", _LazyField("messages", _read_messages))  # noqa: B010


def _lazy_example(
    title: str, start_line: int, end_line: int, source: tuple[str, int, int, int]
) -> Example:
    """Make an example whose messages are parsed on first access.

    Args:
        title: The example title.
        start_line: The ``**Example**`` line.
        end_line: The closing fence line.
        source: The document text, the block's content start and end offsets and the
            line number at the content start.

    Returns:
        The example.
    """
    example = Example.__new__(Example)
    fields = example.__dict__
    fields["title"] = title
    fields["start_line"] = start_line
    fields["end_line"] = end_line
    fields["_source"] = source
    return example


def example_problems(example: Example) -> tuple[Problem, ...]:
    """The markup problems of one example (an unclosed message tag).

    Args:
        example: An example from ``parse_spec``.

    Returns:
        The problems; reading them parses the messages if that has not happened yet.
    """
    example.messages  # noqa: B018 - parses on first access
    problems: tuple[Problem, ...] = example.__dict__.get("_problems", ())
    return problems


@dataclass(frozen=True, init=False)
class Section:
    """One heading and the text up to the next heading of any level.

    Attributes:
        id: The ``{#id}`` of the heading, or None when it has none.
        title: The heading text without the ``#`` marks and the attribute block.
        level: The number of ``#`` (1..6; the spec uses 1..4).
        authority: The declared ``authority=`` value as written, or None.
        tags: The values of ``tags=`` (comma separated), in order.
        attrs: Any other ``key=value`` pairs of the attribute block.
        parent: The id of the nearest preceding heading with a lower level, or None.
        start_line: The 1-based line of the heading.
        end_line: The 1-based inclusive last line of the section.
        text: The exact source text, heading line included, line endings kept.
        examples: The examples whose ``**Example**`` line is in this section (for a
            parsed section, found in ``text`` on first access).
    """

    id: str | None
    title: str
    level: int
    authority: str | None
    tags: tuple[str, ...]
    attrs: dict[str, str]
    parent: str | None
    start_line: int
    end_line: int
    text: str
    examples: tuple[Example, ...] = ()

    def __init__(
        self,
        id: str | None,  # noqa: A002 - the field is called id
        title: str,
        level: int,
        authority: str | None,
        tags: tuple[str, ...],
        attrs: dict[str, str],
        parent: str | None,
        start_line: int,
        end_line: int,
        text: str,
        examples: tuple[Example, ...] = (),
    ) -> None:
        # Frozen dataclasses set each field through object.__setattr__, 2-3x slower than
        # filling __dict__ (see ExampleMessage).
        fields = self.__dict__
        fields["id"] = id
        fields["title"] = title
        fields["level"] = level
        fields["authority"] = authority
        fields["tags"] = tags
        fields["attrs"] = attrs
        fields["parent"] = parent
        fields["start_line"] = start_line
        fields["end_line"] = end_line
        fields["text"] = text
        fields["examples"] = examples

    @property
    def heading(self) -> str:
        """The heading line without its line ending."""
        end = self.text.find("\n")
        line = self.text if end < 0 else self.text[:end]
        return line[:-1] if line.endswith("\r") else line

    @property
    def body(self) -> str:
        """The text after the heading line."""
        end = self.text.find("\n")
        return "" if end < 0 else self.text[end + 1 :]


@dataclass(frozen=True)
class Problem:
    """Something wrong with the spec source, at a line.

    Attributes:
        line: The 1-based line.
        kind: ``duplicate_id``, ``missing_id``, ``bad_id``, ``unknown_authority``,
            ``unterminated_fence``, ``bad_attribute`` (found by ``parse_spec``), or
            ``example_without_block``, ``unclosed_message`` (found when the examples
            are read).
        message: A sentence for people.
    """

    line: int
    kind: str
    message: str


@dataclass(frozen=True, init=False)
class SpecDocument:
    """A parsed spec: the text before the first heading, the sections and the problems.

    Attributes:
        preamble: The exact text before the first heading ("" if none).
        sections: Every heading's section, in document order.
        problems: What is wrong with the source, in line order. For a parsed document
            the example markup problems are added on first access, which parses the
            examples' messages.
    """

    preamble: str
    sections: tuple[Section, ...]
    problems: tuple[Problem, ...]

    def __init__(
        self, preamble: str, sections: Iterable[Section], problems: Iterable[Problem] = ()
    ) -> None:
        fields = self.__dict__
        fields["preamble"] = preamble
        fields["sections"] = tuple(sections)
        fields["problems"] = tuple(problems)
        fields["_by_id"] = _index_sections(fields["sections"])

    def render(self) -> str:
        """Give back the source text.

        Returns:
            The preamble followed by every section's text: exactly the parsed input.
        """
        return self.preamble + "".join(s.text for s in self.sections)

    def get(self, section_id: str) -> Section | None:
        """Look up a section.

        Args:
            section_id: The heading id (the first one when the id is duplicated).

        Returns:
            The section, or None when no heading has that id.
        """
        found: Section | None = self.__dict__["_by_id"].get(section_id)
        return found

    def section(self, section_id: str) -> Section:
        """Look up a section that must exist.

        Args:
            section_id: The heading id.

        Returns:
            The section (the first one when the id is duplicated).

        Raises:
            KnownError: No heading has that id.
        """
        found: Section | None = self.__dict__["_by_id"].get(section_id)
        if found is None:
            raise KnownError(
                f"The spec has no section with id '{section_id}'.",
                hint="Check the {#id} at the end of the heading.",
            )
        return found

    def ids(self) -> list[str]:
        """List the heading ids.

        Returns:
            Every id in document order (a duplicated id appears once per heading).
        """
        return [s.id for s in self.sections if s.id is not None]

    def replace_section(self, section_id: str, new_text: str) -> str:
        """Build the document text with one section replaced.

        Args:
            section_id: The id of the section to replace.
            new_text: The whole new section, heading line included. When the old
                section ended with a line ending and this text does not, the old
                line ending is added so the next heading stays on its own line.

        Returns:
            The whole document text with that section's text replaced.

        Raises:
            KnownError: No heading has that id.
        """
        old = self.section(section_id)
        if old.text.endswith("\n") and new_text and not new_text.endswith("\n"):
            new_text += "\r\n" if old.text.endswith("\r\n") else "\n"
        parts = [self.preamble]
        parts.extend(new_text if s is old else s.text for s in self.sections)
        return "".join(parts)

    def highest_authority(self, ids: Iterable[str]) -> str | None:
        """Find the highest authority among some sections.

        Args:
            ids: Section ids; sections with no or an unknown authority are skipped.

        Returns:
            The authority as written (``platform`` stays ``platform``), or None.

        Raises:
            KnownError: One of the ids is not in the spec.
        """
        best: str | None = None
        for section_id in ids:
            authority = self.section(section_id).authority
            if authority in AUTHORITY_RANK and (
                best is None or AUTHORITY_RANK[authority] < AUTHORITY_RANK[best]
            ):
                best = authority
        return best


def _index_sections(sections: Iterable[Section]) -> dict[str, Section]:
    """Map ids to sections (the first one when an id is duplicated).

    Args:
        sections: Sections in document order.

    Returns:
        The index.
    """
    index: dict[str, Section] = {}
    for section in sections:
        if section.id is not None and section.id not in index:
            index[section.id] = section
    return index


def _all_problems(doc: SpecDocument) -> tuple[Problem, ...]:
    """Join a parsed document's structural problems with its examples' (first access).

    Args:
        doc: A document from ``parse_spec``.

    Returns:
        Every problem in line order.
    """
    problems = list(doc.__dict__["_structural_problems"])
    if doc.preamble:
        problems.extend(_scan_examples(doc.preamble.removeprefix(BOM), 1)[1])
    for section in doc.sections:
        for example in section.examples:
            problems.extend(example_problems(example))
        problems.extend(section.__dict__.get("_problems", ()))
    return tuple(sorted(problems, key=_problem_key))


setattr(SpecDocument, "problems", _LazyField("problems", _all_problems))  # noqa: B010
setattr(Section, "examples", _LazyField("examples", _read_examples))  # noqa: B010


def _parse_attributes(
    inner: str, line: int, problems: list[Problem]
) -> tuple[str | None, str | None, tuple[str, ...], dict[str, str]]:
    """Read the inside of a ``{...}`` heading attribute block.

    Args:
        inner: The text between the braces.
        line: The heading line, for problems.
        problems: Where problems are appended.

    Returns:
        The id, the authority, the tags and the other key=value pairs.
    """
    fast = _parse_plain_attributes(inner, line, problems)
    if fast is not None:
        return fast
    section_id: str | None = None
    authority: str | None = None
    tags: tuple[str, ...] = ()
    attrs: dict[str, str] = {}
    seen: set[str] = set()
    pos = 0
    while True:
        match = _ATTR_TOKEN_RE.match(inner, pos)
        if match is None:
            break
        pos = match.end()
        key = "id" if match.group(1) is not None else match.group(2)
        if key in seen:
            problems.append(Problem(line, "bad_attribute", f"Attribute '{key}' is given twice."))
            continue
        seen.add(key)
        if match.group(1) is not None:
            section_id = match.group(1)
            if _SNAKE_ID_RE.fullmatch(section_id) is None:
                problems.append(
                    Problem(line, "bad_id", f"Id '{section_id}' is not snake_case (a-z, 0-9, _).")
                )
            continue
        value = match.group(3)
        if value.startswith('"'):
            value = value[1:-1]
        if key == "authority":
            authority = value
            if value not in AUTHORITY_RANK:
                problems.append(
                    Problem(
                        line,
                        "unknown_authority",
                        f"Unknown authority '{value}' (expected one of {', '.join(AUTHORITIES)}).",
                    )
                )
        elif key == "tags":
            tags = tuple(t for t in (p.strip() for p in value.split(",")) if t)
        else:
            attrs[key] = value
    rest = inner[pos:].strip()
    if rest:
        problems.append(
            Problem(line, "bad_attribute", f"Cannot read '{rest}' in the attribute block.")
        )
    return section_id, authority, tags, attrs


def _parse_plain_attributes(
    inner: str, line: int, problems: list[Problem]
) -> tuple[str | None, str | None, tuple[str, ...], dict[str, str]] | None:
    """Read an attribute block of plain tokens (``#id``, ``key=value``) with string methods.

    Args:
        inner: The text between the braces.
        line: The heading line, for problems.
        problems: Where problems are appended.

    Returns:
        What ``_parse_attributes`` returns, or None when a token needs the full reader
        (quotes, a repeated key, anything malformed).
    """
    if '"' in inner:
        return None
    section_id: str | None = None
    authority: str | None = None
    tags: tuple[str, ...] = ()
    attrs: dict[str, str] = {}
    found: list[Problem] = []
    for token in inner.split():
        if token[0] == "#":
            if section_id is not None or len(token) == 1 or "=" in token:
                return None
            section_id = token[1:]
            if _SNAKE_ID_RE.fullmatch(section_id) is None:
                found.append(
                    Problem(line, "bad_id", f"Id '{section_id}' is not snake_case (a-z, 0-9, _).")
                )
            continue
        key, equals, value = token.partition("=")
        if not equals or _ATTR_KEY_RE.fullmatch(key) is None:
            return None
        if key == "authority":
            if authority is not None:
                return None
            authority = value
            if value not in AUTHORITY_RANK:
                expected = ", ".join(AUTHORITIES)
                found.append(
                    Problem(
                        line,
                        "unknown_authority",
                        f"Unknown authority '{value}' (expected one of {expected}).",
                    )
                )
        elif key == "tags":
            if "tags" in attrs or tags:
                return None
            tags = tuple(t for t in (p.strip() for p in value.split(",")) if t)
            attrs["tags"] = ""  # marks the key as seen; removed below
        elif key in attrs:
            return None
        else:
            attrs[key] = value
    attrs.pop("tags", None)
    problems.extend(found)
    return section_id, authority, tags, attrs


def _parse_heading(
    line_text: str, line: int, problems: list[Problem]
) -> tuple[int, str, str | None, str | None, tuple[str, ...], dict[str, str]]:
    """Split an ATX heading line into its parts.

    Args:
        line_text: The heading line without its line ending.
        line: Its 1-based line number, for problems.
        problems: Where problems are appended.

    Returns:
        The level, the title, the id, the authority, the tags and the other attributes.
    """
    marks = line_text.lstrip(" ")
    content = marks.lstrip("#")
    level = len(marks) - len(content)
    raw = content.strip(" \t")
    if raw.endswith("#"):  # an optional closing sequence: "## Title ##"
        closing = _CLOSING_HASHES_RE.search(raw)
        if closing is not None:
            raw = raw[: closing.start()]
    section_id: str | None = None
    authority: str | None = None
    tags: tuple[str, ...] = ()
    attrs: dict[str, str] = {}
    brace = raw.rfind("{")
    inner = raw[brace + 1 : -1]
    if brace >= 0 and raw.endswith("}") and "}" not in inner:
        title = raw[:brace].rstrip(" \t")
        section_id, authority, tags, attrs = _parse_attributes(inner, line, problems)
        if section_id is None:
            problems.append(Problem(line, "missing_id", f"Heading '{title}' has no {{#id}}."))
    else:
        title = raw
        if brace >= 0 and _OPEN_ATTR_BLOCK_RE.match(raw, brace):
            title = raw[:brace].rstrip(" \t")
            problems.append(
                Problem(line, "bad_attribute", "The attribute block is not closed with '}'.")
            )
        else:
            problems.append(Problem(line, "missing_id", f"Heading '{title}' has no {{#id}}."))
    return level, title, section_id, authority, tags, attrs


def _parse_messages(
    text: str, start: int, end: int, first_line: int, problems: list[Problem]
) -> tuple[ExampleMessage, ...]:
    """Read the messages of an example block.

    Args:
        text: The whole document text.
        start: Offset of the first content line of the block.
        end: Offset just after the last content line (the closing fence's start).
        first_line: The 1-based line number at ``start``.
        problems: Where problems are appended.

    Returns:
        The messages in order.
    """
    messages: list[ExampleMessage] = []
    in_comparison = False
    line = first_line  # the line number at offset `counted`
    counted = start
    count = text.count
    # Tags are read as one stream of tag lines. Inside a message only its own closing tag
    # on a line of its own is looked at; a closing tag that ends a content line (rare) is
    # found when the message is closed, and the stream restarts on the line after it.
    scan_from = start
    while True:
        open_name: str | None = None  # the message (or settings/untrusted block) being read
        opener_line = content_start = 0
        label = label_section = label_note = None
        resume_at = -1
        for tag in _TAG_RE.finditer(text, scan_from - 1, end):
            closing, name = tag.group(1, 2)
            if open_name is not None:
                if closing and name == open_name and not tag.group(7).strip():
                    content_end = tag.start()  # the line ending before the closing tag's line
                    resume_at = _close_message(
                        messages, text, open_name, content_start, content_end,
                        (label, label_section, label_note, opener_line, in_comparison),
                    )  # fmt: skip
                    open_name = None
                    if resume_at >= 0:
                        break
                continue
            if name == "comparison":
                in_comparison = not closing
                continue
            if closing:
                continue
            line_start = tag.start() + 1
            line += count("\n", counted, line_start)
            counted = line_start
            opener_line = line
            open_name = name
            label, label_section, label_note = tag.group(4, 5, 6)
            if label_note is not None:
                label_note = label_note.strip()
            rest = tag.group(7)
            if rest.strip():  # the content starts on the tag's line
                content_start = tag.start(7) + len(rest) - len(rest.lstrip(" \t"))
                resume_at = _close_message(
                    messages, text, name, content_start, -1,
                    (label, label_section, label_note, opener_line, in_comparison),
                    search_end=tag.end(),
                )  # fmt: skip
                if resume_at >= 0:  # a one-line message: <user>Hi</user>
                    open_name = None
                    break
            else:
                content_start = min(tag.end() + 1, end)  # the content starts on the next line
        else:
            if open_name is not None:
                resume_at = _close_message(
                    messages, text, open_name, content_start, end,
                    (label, label_section, label_note, opener_line, in_comparison),
                    unclosed=problems,
                )  # fmt: skip
            if resume_at < 0:
                return tuple(messages)
        eol = text.find("\n", resume_at, end)
        if eol < 0:
            return tuple(messages)
        scan_from = eol + 1


def _close_message(
    messages: list[ExampleMessage],
    text: str,
    name: str,
    content_start: int,
    content_end: int,
    info: tuple[str | None, str | None, str | None, int, bool],
    *,
    search_end: int = -1,
    unclosed: list[Problem] | None = None,
) -> int:
    """Finish a message (or a settings/untrusted block) and record it.

    Args:
        messages: Where the message is appended.
        text: The whole document text.
        name: The tag name.
        content_start: Where the content starts.
        content_end: Where a closing tag on its own line was found (the line ending
            before it), the end of the block when none was, or -1 to only look for a
            closing tag that ends a line before ``search_end``.
        info: The label, label section, label note, opening line and comparison flag.
        search_end: Where to stop looking when ``content_end`` is -1.
        unclosed: When given, no closing tag was found: an unclosed message is reported
            here unless one ends a content line.

    Returns:
        The offset of a closing tag that ends a content line (the tag stream restarts
        after its line), or -1.
    """
    early = _find_closer(text, name, content_start, search_end if content_end < 0 else content_end)
    if early < 0:
        if content_end < 0:
            return -1
        if unclosed is not None:
            unclosed.append(
                Problem(info[3], "unclosed_message", f"<{name}> has no closing </{name}>.")
            )
        elif content_end > content_start and text[content_end - 1] == "\r":
            content_end -= 1
    else:
        content_end = early
    if name not in _NON_MESSAGE_TAGS:
        label, label_section, label_note, line, in_comparison = info
        messages.append(
            ExampleMessage(
                name,
                text[content_start : max(content_end, content_start)],
                label,
                label_section,
                label_note,
                line,
                in_comparison,
            )
        )
    return early


def _find_closer(text: str, name: str, start: int, end: int) -> int:
    """Find a closing tag that ends a content line: ``</name>`` with only blanks after it.

    Args:
        text: The whole document text.
        name: The tag name.
        start: Where to start looking.
        end: Where to stop looking.

    Returns:
        The offset of the closing tag, or -1.
    """
    closer = f"</{name}>"
    find = text.find
    at = find(closer, start, end)
    while at >= 0:
        after = at + len(closer)
        eol = find("\n", after, end)
        if not text[after : end if eol < 0 else eol].strip():
            return at
        at = find(closer, after, end)
    return -1


def parse_spec(text: str) -> SpecDocument:
    """Parse spec Markdown into sections; never raises on bad content.

    The structure (headings, fences, attributes) is read at once; each section's
    examples, and each example's messages, are read from the section text on first
    access, and so are their problems (``SpecDocument.problems`` collects them all).

    Args:
        text: The whole file as a string (a leading BOM is kept in the preamble).

    Returns:
        The document; ``render()`` gives back ``text`` exactly.
    """
    problems: list[Problem] = []
    headings: list[_HeadingRow] = []
    # Scan a copy that starts with "\n" so the first line is found like the others; a
    # BOM is left out of the copy and stays in the preamble. Offsets in the copy are
    # offsets in the text minus `shift`.
    base = 1 if text.startswith(BOM) else 0
    scan = "\n" + text[base:]
    shift = base - 1
    search = _CANDIDATE_RE.search
    count = scan.count
    line = 1  # the line number at offset `counted` of the copy
    counted = 1
    at = 0
    while True:
        match = search(scan, at)
        if match is None:
            break
        start = match.start(1)
        at = match.end()
        marks = match.group(3)
        if marks is None:  # a heading
            line += count("\n", counted, start)
            counted = start
            line_text = match.group(1)
            if line_text.endswith("\r"):
                line_text = line_text[:-1]
            headings.append((start + shift, line, *_parse_heading(line_text, line, problems)))
            continue
        if marks[0] == "`" and "`" in match.group(4):
            continue  # inline code such as ```x```, not a fence
        # Jump straight to the closing fence: nothing inside a fence is a heading. (Lines
        # are counted at headings only, so fences cost no count of their own.)
        closer_start, closer_end = _find_fence_closer(scan, marks, at)
        if closer_start < 0:
            line += count("\n", counted, start)
            problems.append(
                Problem(
                    line,
                    "unterminated_fence",
                    f"The code fence opened here ({marks}) is never closed.",
                )
            )
            break
        at = closer_end
    return _build_document(text, headings, problems)


def _scan_examples(text: str, first_line: int) -> tuple[tuple[Example, ...], list[Problem]]:
    """Find the examples in a section's text (or a preamble).

    Args:
        text: The text; it holds no heading outside fences.
        first_line: The line number of its first line.

    Returns:
        The examples, with messages read on first access, and the problems found
        (``example_without_block``; unclosed fences are reported by ``parse_spec``).
    """
    examples: list[Example] = []
    problems: list[Problem] = []
    if "**Example**:" not in text:
        return (), problems
    pending: tuple[int, int, str] | None = None  # an **Example** line: (line, end, title)
    scan = "\n" + text  # offsets in the copy are offsets in the text plus one
    search = _EXAMPLE_SCAN_RE.search
    count = scan.count
    line = first_line  # the line number at offset `counted` of the copy
    counted = 1
    at = 0
    while True:
        match = search(scan, at)
        if match is None:
            break
        start = match.start(1)
        at = match.end()
        line += count("\n", counted, start)
        counted = start
        if match.group(2) is None:  # an **Example** line
            if pending is not None:
                _example_without_block(pending, problems)
            pending = (line, at, match.group(4).strip())
            continue
        marks, info = match.group(2), match.group(3)
        if marks[0] == "`" and "`" in info:
            continue  # inline code such as ```x```, not a fence
        is_example = False
        if pending is not None:
            words = info.split()
            if words and words[0] == "xml" and not scan[pending[1] : start].strip():
                is_example = True
            else:
                _example_without_block(pending, problems)
                pending = None
        closer_start, closer_end = _find_fence_closer(scan, marks, at)
        body = at + 1  # the first line inside the fence (in the copy)
        end = len(scan) if closer_start < 0 else closer_start
        end_line = line + count("\n", start, end) - (closer_start < 0 and scan.endswith("\n"))
        if is_example and pending is not None:
            source = (text, min(body, len(scan)) - 1, end - 1, line + 1)
            examples.append(_lazy_example(pending[2], pending[0], end_line, source))
            pending = None
        if closer_start < 0:
            break
        line = end_line
        counted = end
        at = closer_end
    if pending is not None:
        _example_without_block(pending, problems)
    return tuple(examples), problems


def _find_fence_closer(scan: str, marks: str, start: int) -> tuple[int, int]:
    r"""Find the line that closes a fence: up to 3 spaces, the fence run or longer, blanks.

    Args:
        scan: The text (a copy that starts with "\n").
        marks: The opening run, such as ``~~~`` or ``````.
        start: Where to start looking (the end of the opening line).

    Returns:
        The offsets of the closing line's start and end (before its line ending), or
        (-1, -1) when the fence is never closed.
    """
    find = scan.find
    char = marks[0]
    at = find(marks, start)
    while at >= 0:
        line_start = scan.rfind("\n", start, at) + 1
        line_end = find("\n", at)
        if line_end < 0:
            line_end = len(scan)
        if (
            line_start
            and at - line_start <= 3
            and not scan[line_start:at].strip(" ")
            and not scan[at:line_end].lstrip(char).strip(" \t\r")
        ):
            return line_start, line_end
        at = find(marks, line_end)
    return -1, -1


def _example_without_block(pending: tuple[int, int, str], problems: list[Problem]) -> None:
    """Report an ``**Example**`` line that no ``~~~xml`` block follows.

    Args:
        pending: The example's line, end offset and title.
        problems: Where the problem is appended.
    """
    problems.append(
        Problem(
            pending[0],
            "example_without_block",
            f"Example '{pending[2]}' is not followed by a ~~~xml block.",
        )
    )


def _build_document(
    text: str, headings: list[_HeadingRow], problems: list[Problem]
) -> SpecDocument:
    """Cut the text into sections and check ids.

    Args:
        text: The whole text.
        headings: The heading rows found by the scan.
        problems: Problems found so far (appended to, then sorted).

    Returns:
        The document.
    """
    if not headings:
        return _lazy_document(text, (), problems, {})
    sections: list[Section] = []
    by_id: dict[str, Section] = {}
    first_line: dict[str, int] = {}
    stack: list[tuple[int, str | None]] = []  # (level, id) of the enclosing headings
    last = len(headings) - 1
    new_section = Section.__new__
    for index, (offset, line, level, title, sid, authority, tags, attrs) in enumerate(headings):
        if index < last:
            end_offset = headings[index + 1][0]
            end_line = headings[index + 1][1] - 1
        else:
            end_offset = len(text)
            end_line = line - 1 + count_lines(text[offset:])
        while stack and stack[-1][0] >= level:
            stack.pop()
        parent = stack[-1][1] if stack else None
        stack.append((level, sid))
        # Built without __init__: "examples" is left out, to be read on first access.
        section = new_section(Section)
        section.__dict__.update(
            id=sid,
            title=title,
            level=level,
            authority=authority,
            tags=tags,
            attrs=attrs,
            parent=parent,
            start_line=line,
            end_line=end_line,
            text=text[offset:end_offset],
        )
        sections.append(section)
        if sid is not None:
            if sid in first_line:
                problems.append(
                    Problem(
                        line,
                        "duplicate_id",
                        f"Id '{sid}' is already used by the heading on line {first_line[sid]}.",
                    )
                )
            else:
                first_line[sid] = line
                by_id[sid] = section
    preamble = text[: headings[0][0]]  # a BOM stays here
    return _lazy_document(preamble, tuple(sections), problems, by_id)


def _lazy_document(
    preamble: str,
    sections: tuple[Section, ...],
    problems: list[Problem],
    by_id: dict[str, Section],
) -> SpecDocument:
    """Make a parsed document whose example problems are collected on first access.

    Args:
        preamble: The text before the first heading.
        sections: The sections.
        problems: The structural problems.
        by_id: The id index.

    Returns:
        The document.
    """
    doc = SpecDocument.__new__(SpecDocument)
    fields = doc.__dict__
    fields["preamble"] = preamble
    fields["sections"] = sections
    fields["_structural_problems"] = tuple(problems)
    fields["_by_id"] = by_id
    return doc


def _problem_key(problem: Problem) -> tuple[int, str]:
    """Sort problems by line, then kind.

    Args:
        problem: A problem.

    Returns:
        The sort key.
    """
    return problem.line, problem.kind


def count_lines(text: str) -> int:
    r"""Count lines the way the parser numbers them (only ``\n`` ends a line).

    Args:
        text: Any text.

    Returns:
        The number of lines; a last line without a line ending counts, "" has 0.
    """
    if not text:
        return 0
    return text.count("\n") + (0 if text.endswith("\n") else 1)


def split_lines(text: str) -> list[str]:
    r"""Split text into lines on ``\n`` only, keeping the line endings.

    Unlike ``str.splitlines`` this does not break on ``\u2028``, ``\x0c`` or a lone
    ``\r``, so the lines are the ones git and the parser count.

    Args:
        text: Any text.

    Returns:
        The lines; joined they give back ``text``.
    """
    if not text:
        return []
    lines = [part + "\n" for part in text.split("\n")]
    if text.endswith("\n"):
        lines.pop()
    else:
        lines[-1] = lines[-1][:-1]
    return lines


def load_spec_file(path: str | os.PathLike[str]) -> tuple[SpecDocument, str]:
    """Read and parse a spec file.

    Args:
        path: The Markdown file.

    Returns:
        The parsed document and the decoded text (a BOM stays in the text).

    Raises:
        KnownError: The file is missing, is a folder, cannot be read or is not UTF-8.
    """
    file = Path(path)
    if file.is_dir():
        raise KnownError(
            f"{file} is a folder, not a spec file.", hint="Give the path of the .md file."
        )
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise KnownError(f"Spec file not found: {file}.") from None
    except OSError as exc:
        raise KnownError(f"Cannot read the spec file {file}: {exc.strerror or exc}.") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise KnownError(
            f"{file} is not UTF-8: invalid byte 0x{data[exc.start]:02x} at byte offset "
            f"{exc.start} (line {line}).",
            hint="Save the file as UTF-8.",
        ) from None
    return parse_spec(text), text


def spec_sections_json(doc: SpecDocument) -> list[dict[str, Any]]:
    """Describe every heading as plain JSON data.

    Args:
        doc: A parsed spec.

    Returns:
        One object per heading with id, title, level, authority, tags, start_line,
        end_line and examples (title, lines and messages with role, label,
        label_section and line).
    """
    return [
        {
            "id": s.id,
            "title": s.title,
            "level": s.level,
            "authority": s.authority,
            "tags": list(s.tags),
            "start_line": s.start_line,
            "end_line": s.end_line,
            "examples": [
                {
                    "title": e.title,
                    "start_line": e.start_line,
                    "end_line": e.end_line,
                    "messages": [
                        {
                            "role": m.role,
                            "label": m.label,
                            "label_section": m.label_section,
                            "line": m.line,
                        }
                        for m in e.messages
                    ],
                }
                for e in s.examples
            ],
        }
        for s in doc.sections
    ]
