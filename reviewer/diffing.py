"""Line and word level diffs of spec text, and the section level diff of two specs; no I/O."""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from itertools import zip_longest
from typing import Any, overload

from diff_match_patch import diff_match_patch

from reviewer.spec import Section, SpecDocument

EQUAL = "equal"
DELETE = "delete"
INSERT = "insert"

PREAMBLE_ID = "(preamble)"
"""The id of the change entry for the text before the first heading."""

# Paired lines must share at least half of their words (Dice coefficient); below that a
# word diff is mostly noise, and the costliest to compute.
_PAIR_THRESHOLD = 0.5
# Above this many delete x insert combinations a replace block is paired by position.
_MAX_ALIGN_CELLS = 4096
# Tokens are encoded as one character each, from the private use area on.
_TOKEN_BASE = 0xE000
# Marks the comparison key of a last line that has no line ending.
_NO_EOL = "\n(no newline at end)"
# Line lists whose middles have at least this many lines on each side are cut at
# unique common lines first.
_ANCHOR_LINES = 40
# Middles of at least this many words (both sides together) are cut at anchors first.
_ANCHOR_MIN = 16
# diff-match-patch keeps only settings, so one instance serves every diff.
_DMP = diff_match_patch()
_common_prefix = _DMP.diff_commonPrefix
_common_suffix = _DMP.diff_commonSuffix


@dataclass(frozen=True, init=False)
class Segment:
    """A piece of a line in a word level diff.

    Attributes:
        kind: ``equal``, ``delete`` or ``insert``.
        text: The words (with their blanks).
    """

    kind: str
    text: str

    def __init__(self, kind: str, text: str) -> None:
        # Frozen dataclasses set each field through object.__setattr__, 2-3x slower than
        # filling __dict__; segments and lines are made by the thousand per diff.
        fields = self.__dict__
        fields["kind"] = kind
        fields["text"] = text


@dataclass(frozen=True, init=False)
class DiffLine:
    """One line of a hunk.

    Attributes:
        kind: ``equal``, ``delete`` or ``insert``.
        old_lineno: The line number in the old text (None for an inserted line).
        new_lineno: The line number in the new text (None for a deleted line).
        text: The line without its line ending.
        segments: Word level pieces for a changed line paired with a counterpart,
            else a single segment of the line's own kind.
        pair_lineno: For a paired changed line, the line number of its counterpart
            on the other side (new number for a deleted line, old for an inserted one).
    """

    kind: str
    old_lineno: int | None
    new_lineno: int | None
    text: str
    segments: tuple[Segment, ...]
    pair_lineno: int | None = None

    def __init__(
        self,
        kind: str,
        old_lineno: int | None,
        new_lineno: int | None,
        text: str,
        segments: tuple[Segment, ...] | None = None,
        pair_lineno: int | None = None,
    ) -> None:
        fields = self.__dict__  # see Segment.__init__
        fields["kind"] = kind
        fields["old_lineno"] = old_lineno
        fields["new_lineno"] = new_lineno
        fields["text"] = text
        if segments is not None:  # else the whole line, made on first access
            fields["segments"] = segments
        fields["pair_lineno"] = pair_lineno


class _WholeLine:
    """``DiffLine.segments`` of a line without word level pieces: one segment, made on read.

    A non-data descriptor: once stored in the instance it is not consulted again. Most
    lines of a diff are context or unpaired, and their segment is rarely looked at.
    """

    @overload
    def __get__(self, line: None, owner: type | None = None) -> _WholeLine: ...

    @overload
    def __get__(self, line: DiffLine, owner: type | None = None) -> tuple[Segment, ...]: ...

    def __get__(
        self, line: DiffLine | None, owner: type | None = None
    ) -> tuple[Segment, ...] | _WholeLine:
        if line is None:
            return self
        segments = (Segment(line.kind, line.text),)
        line.__dict__["segments"] = segments
        return segments


# Set after the class is made, so the dataclass sees a plain field without a default.
setattr(DiffLine, "segments", _WholeLine())  # noqa: B010


@dataclass(frozen=True, init=False)
class Hunk:
    """A group of changed lines with their context, numbered like ``@@ -a,b +c,d @@``.

    Attributes:
        old_start: The first old line (the line before, when ``old_len`` is 0).
        old_len: The number of old lines in the hunk.
        new_start: The first new line (the line before, when ``new_len`` is 0).
        new_len: The number of new lines in the hunk.
        lines: Context, deleted and inserted lines in display order.
    """

    old_start: int
    old_len: int
    new_start: int
    new_len: int
    lines: tuple[DiffLine, ...]

    def __init__(
        self,
        old_start: int,
        old_len: int,
        new_start: int,
        new_len: int,
        lines: tuple[DiffLine, ...],
    ) -> None:
        fields = self.__dict__  # see Segment.__init__
        fields["old_start"] = old_start
        fields["old_len"] = old_len
        fields["new_start"] = new_start
        fields["new_len"] = new_len
        fields["lines"] = lines


@dataclass(frozen=True, init=False)
class SectionChange:
    """How one section differs between two specs.

    Attributes:
        id: The section id; for a heading without one, ``"## Title"`` (with `` [n]``
            for the n-th repeat), and ``(preamble)`` for the text before the first heading.
        status: ``added``, ``removed``, ``changed`` or ``unchanged``.
        changes: What changed, a subset of body, title, authority, level, tags, moved.
        old_title: The title in the old spec.
        new_title: The title in the new spec.
        old_authority: The authority in the old spec.
        new_authority: The authority in the new spec.
        old_level: The heading level in the old spec.
        new_level: The heading level in the new spec.
        old_index: The position among the old sections.
        new_index: The position among the new sections.
        old_start_line: The heading line in the old file.
        new_start_line: The heading line in the new file.
        hunks: The text diff when the text changed, numbered by file line. An added or
            removed section has one hunk with all its lines (made on first access: it
            is the section text, nothing to compute).
    """

    id: str
    status: str
    changes: tuple[str, ...]
    old_title: str | None
    new_title: str | None
    old_authority: str | None
    new_authority: str | None
    old_level: int | None
    new_level: int | None
    old_index: int | None
    new_index: int | None
    old_start_line: int | None
    new_start_line: int | None
    hunks: tuple[Hunk, ...]

    def __init__(
        self,
        id: str,  # noqa: A002 - the field is called id
        status: str,
        changes: tuple[str, ...],
        old_title: str | None,
        new_title: str | None,
        old_authority: str | None,
        new_authority: str | None,
        old_level: int | None,
        new_level: int | None,
        old_index: int | None,
        new_index: int | None,
        old_start_line: int | None,
        new_start_line: int | None,
        hunks: tuple[Hunk, ...] | None,
    ) -> None:
        fields = self.__dict__  # see Segment.__init__
        fields["id"] = id
        fields["status"] = status
        fields["changes"] = changes
        fields["old_title"] = old_title
        fields["new_title"] = new_title
        fields["old_authority"] = old_authority
        fields["new_authority"] = new_authority
        fields["old_level"] = old_level
        fields["new_level"] = new_level
        fields["old_index"] = old_index
        fields["new_index"] = new_index
        fields["old_start_line"] = old_start_line
        fields["new_start_line"] = new_start_line
        if hunks is not None:  # else a one-sided section's hunk, made on first access
            fields["hunks"] = hunks


class _OneSidedHunks:
    """``SectionChange.hunks`` of an added or removed section, made on first read.

    The hunk lists the section's lines as inserted or deleted; the text is kept in the
    instance (``_one_sided``) until then.
    """

    @overload
    def __get__(self, change: None, owner: type | None = None) -> _OneSidedHunks: ...

    @overload
    def __get__(self, change: SectionChange, owner: type | None = None) -> tuple[Hunk, ...]: ...

    def __get__(
        self, change: SectionChange | None, owner: type | None = None
    ) -> tuple[Hunk, ...] | _OneSidedHunks:
        if change is None:
            return self
        text, offset, kind = change.__dict__["_one_sided"]
        hunks = _whole_text_hunk(text, offset, kind)
        change.__dict__["hunks"] = hunks
        return hunks


# Set after the class is made, so the dataclass sees a plain field without a default.
setattr(SectionChange, "hunks", _OneSidedHunks())  # noqa: B010


@dataclass(frozen=True)
class SpecDiff:
    """The section level diff of two specs.

    Attributes:
        changes: One entry per section, in old order with added ones placed where
            they appear in the new spec.
    """

    changes: tuple[SectionChange, ...]

    def counts(self) -> dict[str, int]:
        """Count the changes.

        Returns:
            Sections added, removed, changed (any change, moves included), moved,
            retitled, with a new authority, and unchanged.
        """
        result = dict.fromkeys(
            ("added", "removed", "changed", "moved", "title", "authority", "unchanged"), 0
        )
        for change in self.changes:
            result[change.status] += 1
            for kind in ("moved", "title", "authority"):
                if kind in change.changes:
                    result[kind] += 1
        return result

    def changed(self) -> list[SectionChange]:
        """List the sections that are not unchanged.

        Returns:
            The added, removed and changed entries in order.
        """
        return [c for c in self.changes if c.status != "unchanged"]


class _WordDiffer:
    """Word level diff of line pairs: diff-match-patch on words encoded as characters.

    Words are the runs between spaces (git's ``--word-diff`` unit is the same). Each
    distinct word becomes one private-use character, so diff-match-patch's character
    diff is a word diff (its ``linesToChars`` trick applied to words). Long, much
    rewritten lines are first cut at words that occur once on each side and keep their
    order (patience anchors), so diff-match-patch's quadratic search only runs on the
    short gaps.
    """

    def __init__(self) -> None:
        self._codes: dict[str, str] = {}

    def _encode(self, words: list[str]) -> str:
        codes = self._codes
        new = set(words).difference(codes)
        if new:
            first = _TOKEN_BASE + len(codes)
            codes.update(zip(new, map(chr, range(first, first + len(new)))))
        return "".join(map(codes.__getitem__, words))

    def segments(
        self, old: str, new: str
    ) -> tuple[tuple[Segment, ...], tuple[Segment, ...]] | None:
        """Diff two lines word by word.

        Args:
            old: The old line without its line ending.
            new: The new line without its line ending.

        Returns:
            The old line's segments (equal and delete) and the new line's (equal and
            insert); joined, each side gives back its line. A piece that does not start
            the line begins with the space before its first word. None when the lines
            share too few words to be shown as one changed line.
        """
        if old == new:
            return (Segment(EQUAL, old),), (Segment(EQUAL, new),)
        # The common head and tail are found on the strings (a C-speed binary search) and
        # cut back to a space, so only the changed middle is split into words.
        head = old.rfind(" ", 0, _common_prefix(old, new))
        if head < 0:
            head = 0
        rest_old = old[head:]
        rest_new = new[head:]
        tail_start = rest_old.find(" ", len(rest_old) - _common_suffix(rest_old, rest_new))
        if tail_start < 0:
            tail = ""
            mid_old, mid_new = rest_old, rest_new
        else:
            tail = rest_old[tail_start:]
            mid_old = rest_old[:tail_start]
            mid_new = rest_new[: len(rest_new) - len(tail)]
        # Split the middles into words; after a head they start with the space before
        # their first word, which the pieces below put back.
        if head:
            old_words = mid_old[1:].split(" ") if mid_old else []
            new_words = mid_new[1:].split(" ") if mid_new else []
        else:
            old_words = mid_old.split(" ") if mid_old else []
            new_words = mid_new.split(" ") if mid_new else []
        # Pair only lines that share enough words (Dice coefficient over all words).
        total = (old.count(" ") + new.count(" ") + 2) * _PAIR_THRESHOLD
        common = 2 * ((old.count(" ", 0, head) + 1 if head else 0) + tail.count(" "))
        if common < total:
            if common + 2 * min(len(old_words), len(new_words)) < total:
                return None
            if common + 2 * len(set(old_words).intersection(new_words)) < total:
                return None
        if not old_words or not new_words:
            # Words only added or only removed: nothing to search.
            runs = [(-1, len(old_words))] if old_words else [(1, len(new_words))]
        elif len(old_words) == 1 or len(new_words) == 1:
            # One word on a side: it is kept where the other side has it first (what
            # diff-match-patch answers too), everything else changed.
            runs = _single_word_runs(old_words, new_words)
        else:
            diffs = _anchored_diff(self._encode(old_words), self._encode(new_words))
            if len(diffs) > 2:
                _DMP.diff_cleanupSemantic(diffs)
            runs = [(op, len(chars)) for op, chars in diffs]
        head_text = old[:head]
        return (
            _side_segments(old_words, runs, 1, DELETE, head_text, tail),
            _side_segments(new_words, runs, -1, INSERT, head_text, tail),
        )


def _side_segments(
    words: list[str], runs: list[tuple[int, int]], other: int, kind: str, head: str, tail: str
) -> tuple[Segment, ...]:
    """Build one side's segments from word runs.

    Args:
        words: The side's middle words.
        runs: (op, number of words) runs of the middle; -1 delete, 0 equal, 1 insert.
        other: The op of the other side, skipped here.
        kind: This side's change kind (``delete`` or ``insert``).
        head: The common text before the middle ("" if none).
        tail: The common text after the middle ("" if none).

    Returns:
        The segments, adjacent pieces of one kind merged; joined they give the line.
    """
    pieces: list[list[str]] = []  # [kind, text]
    if head:
        pieces.append([EQUAL, head])
    lead = " " if head else ""  # the first middle word's space
    start = 0
    for op, size in runs:
        if op == other:
            continue
        text = " ".join(words[start : start + size])
        text = " " + text if start else lead + text
        start += size
        piece_kind = EQUAL if op == 0 else kind
        if pieces and pieces[-1][0] == piece_kind:
            pieces[-1][1] += text
        elif text:
            pieces.append([piece_kind, text])
    if tail:
        if pieces and pieces[-1][0] == EQUAL:
            pieces[-1][1] += tail
        else:
            pieces.append([EQUAL, tail])
    if not pieces:
        return (Segment(kind, ""),)
    return tuple([Segment(piece_kind, text) for piece_kind, text in pieces])


def _single_word_runs(old_words: list[str], new_words: list[str]) -> list[tuple[int, int]]:
    """Diff word lists when one side has a single word.

    Args:
        old_words: The old words (one word, or the longer side).
        new_words: The new words (one word, or the longer side).

    Returns:
        (op, number of words) runs.
    """
    if len(old_words) == 1:
        single, others, op = old_words[0], new_words, 1
    else:
        single, others, op = new_words[0], old_words, -1
    if single not in others:
        return [(-1, len(old_words)), (1, len(new_words))]
    where = others.index(single)
    runs = [(op, where)] if where else []
    runs.append((0, 1))
    if where + 1 < len(others):
        runs.append((op, len(others) - where - 1))
    return runs


def _anchored_diff(a: str, b: str) -> list[tuple[int, str]]:
    """Diff two encoded strings, cutting long ones at unique common characters first.

    Args:
        a: The old encoded words (no common head or tail).
        b: The new encoded words.

    Returns:
        diff-match-patch diffs (op, chars), adjacent runs of one kind merged.
    """
    if len(a) + len(b) < _ANCHOR_MIN:
        return list(_DMP.diff_main(a, b, False))
    count_a = Counter(a)
    count_b = Counter(b)
    where_b = {c: i for i, c in enumerate(b) if count_b[c] == 1}
    # Unique on both sides, in old order: (old position, new position)
    candidates = [(i, where_b[c]) for i, c in enumerate(a) if count_a[c] == 1 and c in where_b]
    anchors = _increasing_run(candidates)
    if not anchors:
        return list(_DMP.diff_main(a, b, False))
    diffs: list[tuple[int, str]] = []
    i = j = 0
    for anchor_a, anchor_b in anchors:
        if i < anchor_a or j < anchor_b:
            _diff_gap(diffs, a[i:anchor_a], b[j:anchor_b])
        _append_diff(diffs, 0, a[anchor_a])
        i, j = anchor_a + 1, anchor_b + 1
    if i < len(a) or j < len(b):
        _diff_gap(diffs, a[i:], b[j:])
    return diffs


def _diff_gap(diffs: list[tuple[int, str]], a: str, b: str) -> None:
    """Diff the encoded words between two anchors and append the result.

    Args:
        diffs: Where the diffs go (adjacent runs of one kind are merged).
        a: The old gap.
        b: The new gap.
    """
    if not a or not b or (len(a) == 1 and len(b) == 1 and a != b):
        if a:
            _append_diff(diffs, -1, a)
        if b:
            _append_diff(diffs, 1, b)
        return
    for op, chars in _DMP.diff_main(a, b, False):
        _append_diff(diffs, op, chars)


def _append_diff(diffs: list[tuple[int, str]], op: int, chars: str) -> None:
    """Append a diff run, merging it into the previous run of the same kind.

    Args:
        diffs: The runs so far.
        op: -1 delete, 0 equal, 1 insert.
        chars: The encoded words.
    """
    if diffs and diffs[-1][0] == op:
        diffs[-1] = (op, diffs[-1][1] + chars)
    else:
        diffs.append((op, chars))


def _increasing_run(pairs: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Keep a longest run of pairs whose second items increase (first items already do).

    Args:
        pairs: (old position, new position) pairs sorted by old position.

    Returns:
        The kept pairs in order.
    """
    tails: list[int] = []  # tails[k]: index in pairs of the smallest end of a run of k+1
    tail_values: list[int] = []
    previous = [-1] * len(pairs)
    for index, (_, value) in enumerate(pairs):
        k = bisect_left(tail_values, value)
        if k:
            previous[index] = tails[k - 1]
        if k == len(tails):
            tails.append(index)
            tail_values.append(value)
        else:
            tails[k] = index
            tail_values[k] = value
    run: list[tuple[int, int]] = []
    index = tails[-1] if tails else -1
    while index >= 0:
        run.append(pairs[index])
        index = previous[index]
    run.reverse()
    return run


def _split_for_diff(text: str) -> tuple[list[str], list[str]]:
    r"""Split text into comparison keys and display texts, one per line.

    Only ``\n`` ends a line. The key of a last line without a line ending is marked
    (a line cannot contain ``\n``), so adding or removing the final newline shows as
    a change of that line, as in git.

    Args:
        text: Any text.

    Returns:
        The keys (the line with a kept ``\r``) and the texts (without line ending).
    """
    pieces = text.split("\n")
    if pieces[-1]:
        keys = pieces[:-1]
        keys.append(pieces[-1] + _NO_EOL)
    else:
        pieces.pop()  # the text ends with a line ending, or is empty
        keys = pieces
    if "\r" not in text:
        return keys, pieces
    texts = [piece[:-1] if piece.endswith("\r") else piece for piece in pieces]
    if text.endswith("\r"):
        texts[-1] = pieces[-1]  # a "\r" with no "\n" after it is not a line ending
    return keys, texts


def _similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Share of words two lines have in common (Dice coefficient).

    Args:
        a: The words of one line.
        b: The words of the other.

    Returns:
        0.0 (nothing shared) to 1.0 (same words); two blank lines give 1.0.
    """
    if not a and not b:
        return 1.0
    return 2 * len(a & b) / (len(a) + len(b))


def _pair_lines(old: Sequence[str], new: Sequence[str]) -> list[tuple[int, int]]:
    """Choose which deleted and inserted lines of a replace block belong together.

    Equal counts pair by position (the word diff then drops pairs that share too few
    words); otherwise an order keeping alignment maximises the summed similarity of
    pairs above the threshold.

    Args:
        old: The deleted lines.
        new: The inserted lines.

    Returns:
        Increasing (old index, new index) pairs.
    """
    n, m = len(old), len(new)
    if n == m or n * m > _MAX_ALIGN_CELLS:
        return [(i, i) for i in range(min(n, m))]
    if n == 1 or m == 1:
        return _pair_one(old, new)
    # Word counts bound the similarity (Dice <= 2 min / sum): word sets are only built
    # for pairs that could reach the threshold.
    old_sizes = [line.count(" ") + 1 for line in old]
    new_sizes = [line.count(" ") + 1 for line in new]
    old_words: dict[int, frozenset[str]] = {}
    new_words: dict[int, frozenset[str]] = {}
    threshold = _PAIR_THRESHOLD
    # score[i][j]: best total similarity aligning old[:i] with new[:j]
    score = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        row, prev = score[i], score[i - 1]
        size = old_sizes[i - 1]
        for j in range(1, m + 1):
            best = prev[j] if prev[j] >= row[j - 1] else row[j - 1]
            other = new_sizes[j - 1]
            if 2 * min(size, other) >= threshold * (size + other):
                words = old_words.get(i - 1)
                if words is None:
                    words = old_words[i - 1] = frozenset(old[i - 1].split())
                others = new_words.get(j - 1)
                if others is None:
                    others = new_words[j - 1] = frozenset(new[j - 1].split())
                sim = _similarity(words, others)
                if sim >= threshold and prev[j - 1] + sim > best:
                    best = prev[j - 1] + sim
            row[j] = best
    pairs: list[tuple[int, int]] = []
    i, j = n, m
    while i and j:
        if score[i][j] == score[i - 1][j]:
            i -= 1
        elif score[i][j] == score[i][j - 1]:
            j -= 1
        else:
            pairs.append((i - 1, j - 1))
            i -= 1
            j -= 1
    pairs.reverse()
    return pairs


def _pair_one(old: Sequence[str], new: Sequence[str]) -> list[tuple[int, int]]:
    """Pair the single line of one side with the most similar line of the other.

    Args:
        old: The deleted lines (one of the two lists has a single line).
        new: The inserted lines.

    Returns:
        The pair as [(old index, new index)], or [] when no line is similar enough.
    """
    single, others = (old[0], new) if len(old) == 1 else (new[0], old)
    size = single.count(" ") + 1
    words = frozenset(single.split())
    best, best_index = _PAIR_THRESHOLD, -1
    for index, line in enumerate(others):
        other = line.count(" ") + 1
        if 2 * min(size, other) < best * (size + other):
            continue  # cannot beat the best so far
        sim = _similarity(words, frozenset(line.split()))
        if sim > best or (sim == best and best_index < 0):
            best, best_index = sim, index
    if best_index < 0:
        return []
    return [(0, best_index)] if len(old) == 1 else [(best_index, 0)]


def _format_start(start: int, length: int) -> int:
    """Number a hunk's start the way unified diffs do.

    Args:
        start: The 0-based index of the hunk's first line (with the offset added).
        length: The number of lines.

    Returns:
        The 1-based first line, or the line before when the hunk has no lines on that side.
    """
    return start + 1 if length else start


def _line_opcodes(a: list[str], b: list[str]) -> list[tuple[str, int, int, int, int]]:
    """Align two line lists with SequenceMatcher, common head and tail taken off first.

    Taking the common lines off first gives the same alignment at a fraction of the cost.
    A long remaining middle is first cut at lines found once on each side, in the same
    order (patience anchors, as ``git diff --patience``); SequenceMatcher aligns the
    short stretches between them.

    Args:
        a: The old lines.
        b: The new lines.

    Returns:
        difflib opcodes over the whole lists, adjacent equal runs merged.
    """
    size = min(len(a), len(b))
    head = 0
    while head < size and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < size - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    a_end, b_end = len(a) - tail, len(b) - tail
    codes: list[tuple[str, int, int, int, int]] = []
    if head:
        codes.append(("equal", 0, head, 0, head))
    if head < a_end and head < b_end:
        mid_a, mid_b = a[head:a_end], b[head:b_end]
        if len(mid_a) == 1 or len(mid_b) == 1:
            _single_line_codes(mid_a, mid_b, head, codes)
        elif len(mid_a) >= _ANCHOR_LINES and len(mid_b) >= _ANCHOR_LINES:
            _anchored_line_opcodes(mid_a, mid_b, head, head, codes)
        else:
            matcher = SequenceMatcher(None, mid_a, mid_b, autojunk=False)
            codes.extend(
                (tag, i1 + head, i2 + head, j1 + head, j2 + head)
                for tag, i1, i2, j1, j2 in matcher.get_opcodes()
            )
    elif head < a_end:
        codes.append(("delete", head, a_end, head, head))
    elif head < b_end:
        codes.append(("insert", head, head, head, b_end))
    if tail:
        codes.append(("equal", a_end, len(a), b_end, len(b)))
    return codes


def _single_line_codes(
    a: list[str], b: list[str], base: int, codes: list[tuple[str, int, int, int, int]]
) -> None:
    """Align line lists when one side has a single line, as SequenceMatcher would.

    The single line matches its first occurrence on the other side (SequenceMatcher's
    choice among equal matches), the rest is inserted or deleted; with no occurrence
    the whole block is replaced.

    Args:
        a: The old lines (no common head or tail).
        b: The new lines.
        base: The index of ``a[0]`` and ``b[0]`` in the whole lists.
        codes: Where the opcodes go.
    """
    if len(a) == 1:
        where = b.index(a[0]) if a[0] in b else -1
        if where < 0:
            codes.append(("replace", base, base + 1, base, base + len(b)))
            return
        if where:
            codes.append(("insert", base, base, base, base + where))
        codes.append(("equal", base, base + 1, base + where, base + where + 1))
        if where + 1 < len(b):
            codes.append(("insert", base + 1, base + 1, base + where + 1, base + len(b)))
        return
    where = a.index(b[0]) if b[0] in a else -1
    if where < 0:
        codes.append(("replace", base, base + len(a), base, base + 1))
        return
    if where:
        codes.append(("delete", base, base + where, base, base))
    codes.append(("equal", base + where, base + where + 1, base, base + 1))
    if where + 1 < len(a):
        codes.append(("delete", base + where + 1, base + len(a), base + 1, base + 1))


def _anchored_line_opcodes(
    a: list[str],
    b: list[str],
    a_base: int,
    b_base: int,
    codes: list[tuple[str, int, int, int, int]],
) -> None:
    """Align long line lists: unique common lines in order first, then the gaps.

    Args:
        a: The old lines (no common head or tail).
        b: The new lines.
        a_base: The index of ``a[0]`` in the whole old list.
        b_base: The index of ``b[0]`` in the whole new list.
        codes: Where the opcodes go (adjacent equal runs merged).
    """
    count_a = Counter(a)
    count_b = Counter(b)
    where_b = {line: j for j, line in enumerate(b) if count_b[line] == 1}
    anchors = _increasing_run(
        [(i, where_b[line]) for i, line in enumerate(a) if count_a[line] == 1 and line in where_b]
    )
    anchors.append((len(a), len(b)))
    i = j = 0
    for anchor_a, anchor_b in anchors:
        if i < anchor_a or j < anchor_b:
            gap_a, gap_b = a[i:anchor_a], b[j:anchor_b]
            if gap_a == gap_b:
                _add_code(
                    codes, "equal", a_base + i, a_base + anchor_a, b_base + j, b_base + anchor_b
                )
            else:
                for tag, i1, i2, j1, j2 in _line_opcodes(gap_a, gap_b):
                    _add_code(
                        codes,
                        tag,
                        a_base + i + i1,
                        a_base + i + i2,
                        b_base + j + j1,
                        b_base + j + j2,
                    )
        if anchor_a < len(a):
            last = codes[-1] if codes else None
            if last is not None and last[0] == "equal" and last[2] == a_base + anchor_a:
                codes[-1] = (
                    "equal",
                    last[1],
                    a_base + anchor_a + 1,
                    last[3],
                    b_base + anchor_b + 1,
                )
            else:
                codes.append(
                    (
                        "equal",
                        a_base + anchor_a,
                        a_base + anchor_a + 1,
                        b_base + anchor_b,
                        b_base + anchor_b + 1,
                    )
                )
        i, j = anchor_a + 1, anchor_b + 1


def _add_code(
    codes: list[tuple[str, int, int, int, int]], tag: str, i1: int, i2: int, j1: int, j2: int
) -> None:
    """Append an opcode, merging an equal run into a preceding equal run.

    Args:
        codes: The opcodes so far.
        tag: The opcode tag.
        i1: Old start.
        i2: Old end.
        j1: New start.
        j2: New end.
    """
    if tag == "equal" and codes and codes[-1][0] == "equal" and codes[-1][2] == i1:
        codes[-1] = ("equal", codes[-1][1], i2, codes[-1][3], j2)
    else:
        codes.append((tag, i1, i2, j1, j2))


def _group_opcodes(
    codes: list[tuple[str, int, int, int, int]], context: int
) -> list[list[tuple[str, int, int, int, int]]]:
    """Cut opcodes into hunks with ``context`` equal lines around changes (as difflib does).

    Args:
        codes: Opcodes over whole texts that differ.
        context: Equal lines kept on each side of a change.

    Returns:
        One opcode list per hunk.
    """
    codes = list(codes)
    tag, i1, i2, j1, j2 = codes[0]
    if tag == "equal":
        codes[0] = tag, max(i1, i2 - context), i2, max(j1, j2 - context), j2
    tag, i1, i2, j1, j2 = codes[-1]
    if tag == "equal":
        codes[-1] = tag, i1, min(i2, i1 + context), j1, min(j2, j1 + context)
    groups: list[list[tuple[str, int, int, int, int]]] = []
    group: list[tuple[str, int, int, int, int]] = []
    for tag, i1, i2, j1, j2 in codes:
        if tag == "equal" and i2 - i1 > 2 * context:
            group.append((tag, i1, min(i2, i1 + context), j1, min(j2, j1 + context)))
            groups.append(group)
            group = []
            i1, j1 = max(i1, i2 - context), max(j1, j2 - context)
        group.append((tag, i1, i2, j1, j2))
    if group and not (len(group) == 1 and group[0][0] == "equal"):
        groups.append(group)
    return [g for g in groups if any(code[0] != "equal" for code in g)]


def diff_text(
    old: str, new: str, *, context: int = 3, old_offset: int = 0, new_offset: int = 0
) -> tuple[Hunk, ...]:
    """Diff two texts line by line, with word level segments for changed line pairs.

    Lines are aligned with ``difflib.SequenceMatcher`` (autojunk off). In each replace
    block, deleted and inserted lines are paired (by position when the counts match,
    else by word similarity) and each pair is diffed word by word.

    Args:
        old: The old text.
        new: The new text.
        context: Unchanged lines kept around each change.
        old_offset: Added to old line numbers (the file line before the old text).
        new_offset: Added to new line numbers (the file line before the new text).

    Returns:
        The hunks; empty when the texts are equal.
    """
    if old == new:
        return ()
    return _diff_lines(old, new, context, old_offset, new_offset, False)


def _diff_lines(
    old: str, new: str, context: int, old_offset: int, new_offset: int, pin_first: bool
) -> tuple[Hunk, ...]:
    """Diff two different texts (see ``diff_text``).

    Args:
        old: The old text.
        new: The new text.
        context: Unchanged lines kept around each change.
        old_offset: Added to old line numbers.
        new_offset: Added to new line numbers.
        pin_first: The first lines belong together (two versions of one section's
            heading line), so they are paired without searching.

    Returns:
        The hunks.
    """
    a, a_texts = _split_for_diff(old)
    b, b_texts = _split_for_diff(new)
    words: _WordDiffer | None = None
    hunks: list[Hunk] = []
    if pin_first and a and b and a[0] != b[0]:
        codes = [("replace", 0, 1, 0, 1)]
        codes.extend(
            (tag, i1 + 1, i2 + 1, j1 + 1, j2 + 1)
            for tag, i1, i2, j1, j2 in _line_opcodes(a[1:], b[1:])
        )
    else:
        codes = _line_opcodes(a, b)
    for group in _group_opcodes(codes, max(context, 0)):
        lines: list[DiffLine] = []
        append = lines.append
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                number = old_offset + i1 + 1
                delta = new_offset + j1 - old_offset - i1
                for text in a_texts[i1:i2]:
                    append(DiffLine(EQUAL, number, number + delta, text))
                    number += 1
                continue
            if i1 == i2 or j1 == j2:  # only inserted or only deleted lines
                if i1 < i2:
                    number = old_offset + i1
                    for text in a_texts[i1:i2]:
                        number += 1
                        append(DiffLine(DELETE, number, None, text))
                else:
                    number = new_offset + j1
                    for text in b_texts[j1:j2]:
                        number += 1
                        append(DiffLine(INSERT, None, number, text))
                continue
            if words is None:
                words = _WordDiffer()
            if i2 - i1 == 1 and j2 - j1 == 1:  # one line replaced: the usual case
                old_number, new_number = old_offset + i2, new_offset + j2
                old_text, new_text = a_texts[i1], b_texts[j1]
                pair = words.segments(old_text, new_text)
                if pair is None:
                    append(DiffLine(DELETE, old_number, None, old_text))
                    append(DiffLine(INSERT, None, new_number, new_text))
                else:
                    append(DiffLine(DELETE, old_number, None, old_text, pair[0], new_number))
                    append(DiffLine(INSERT, None, new_number, new_text, pair[1], old_number))
                continue
            old_lines = a_texts[i1:i2]
            new_lines = b_texts[j1:j2]
            old_segments: list[tuple[Segment, ...] | None] = [None] * len(old_lines)
            new_segments: list[tuple[Segment, ...] | None] = [None] * len(new_lines)
            old_pair: list[int | None] = [None] * len(old_lines)
            new_pair: list[int | None] = [None] * len(new_lines)
            if old_lines and new_lines:
                for i, j in _pair_lines(old_lines, new_lines):
                    pair = words.segments(old_lines[i], new_lines[j])
                    if pair is None:
                        continue
                    old_segments[i], new_segments[j] = pair
                    old_pair[i] = new_offset + j1 + j + 1
                    new_pair[j] = old_offset + i1 + i + 1
            for k, text in enumerate(old_lines):
                append(
                    DiffLine(
                        DELETE,
                        old_offset + i1 + k + 1,
                        None,
                        text,
                        old_segments[k],
                        old_pair[k],
                    )
                )
            for k, text in enumerate(new_lines):
                append(
                    DiffLine(
                        INSERT,
                        None,
                        new_offset + j1 + k + 1,
                        text,
                        new_segments[k],
                        new_pair[k],
                    )
                )
        first, last = group[0], group[-1]
        old_len = last[2] - first[1]
        new_len = last[4] - first[3]
        hunks.append(
            Hunk(
                _format_start(old_offset + first[1], old_len),
                old_len,
                _format_start(new_offset + first[3], new_len),
                new_len,
                tuple(lines),
            )
        )
    return tuple(hunks)


def side_by_side(hunks: Iterable[Hunk]) -> list[tuple[DiffLine | None, DiffLine | None]]:
    """Arrange hunk lines in two columns.

    Context lines fill both columns; a paired changed line sits beside its counterpart;
    unpaired deleted and inserted lines between two pairs share rows.

    Args:
        hunks: Hunks from ``diff_text`` (one hunk's rows follow the previous hunk's).

    Returns:
        (old, new) rows; None where a column has no line.
    """
    rows: list[tuple[DiffLine | None, DiffLine | None]] = []
    for hunk in hunks:
        deleted: list[DiffLine] = []
        inserted: list[DiffLine] = []
        for line in hunk.lines:
            if line.kind == DELETE:
                deleted.append(line)
            elif line.kind == INSERT:
                inserted.append(line)
            else:
                _flush_changes(deleted, inserted, rows)
                rows.append((line, line))
        _flush_changes(deleted, inserted, rows)
    return rows


def _flush_changes(
    deleted: list[DiffLine],
    inserted: list[DiffLine],
    rows: list[tuple[DiffLine | None, DiffLine | None]],
) -> None:
    """Turn one run of deleted and inserted lines into rows, then empty the run.

    Args:
        deleted: The run's deleted lines in order.
        inserted: The run's inserted lines in order.
        rows: Where the rows are appended.
    """
    if not deleted and not inserted:
        return
    new_by_number = {line.new_lineno: line for line in inserted}
    i = j = 0
    for old_line in [line for line in deleted if line.pair_lineno is not None] + [None]:
        partner = new_by_number.get(old_line.pair_lineno) if old_line is not None else None
        gap_old: list[DiffLine] = []
        while i < len(deleted) and deleted[i] is not old_line:
            gap_old.append(deleted[i])
            i += 1
        gap_new: list[DiffLine] = []
        while j < len(inserted) and inserted[j] is not partner:
            gap_new.append(inserted[j])
            j += 1
        rows.extend(zip_longest(gap_old, gap_new))
        if old_line is not None:
            rows.append((old_line, partner))
            i += 1
            j += 1
    deleted.clear()
    inserted.clear()


def _section_keys(sections: Sequence[Section]) -> list[str]:
    """Give every section a key to match it by.

    Args:
        sections: A spec's sections in order.

    Returns:
        The id; for a repeated id or a heading without one, a readable stand-in.
    """
    seen: dict[str, int] = {}
    keys = []
    for section in sections:
        key = section.id if section.id is not None else f"{'#' * section.level} {section.title}"
        number = seen.get(key, 0) + 1
        seen[key] = number
        keys.append(key if number == 1 else f"{key} [{number}]")
    return keys


def _stable_positions(positions: Sequence[int]) -> set[int]:
    """Find the common sections that kept their relative order.

    Args:
        positions: The new positions of the common sections, in old order.

    Returns:
        The new positions in one longest increasing subsequence.
    """
    return {value for _, value in _increasing_run(list(enumerate(positions)))}


def _compare(
    key: str, old: Section, new: Section, old_index: int, new_index: int, moved: bool
) -> SectionChange:
    """Compare two matched sections.

    Args:
        key: The matching key.
        old: The old section.
        new: The new section.
        old_index: Its old position.
        new_index: Its new position.
        moved: Whether it moved (order or parent).

    Returns:
        The change entry.
    """
    changes: list[str] = []
    if old.title != new.title:
        changes.append("title")
    if old.authority != new.authority:
        changes.append("authority")
    if old.level != new.level:
        changes.append("level")
    if old.tags != new.tags:
        changes.append("tags")
    hunks: tuple[Hunk, ...] = ()
    if old.text != new.text:
        hunks = _diff_lines(old.text, new.text, 3, old.start_line - 1, new.start_line - 1, True)
        # The body changed unless only the heading line did (checked without copies
        # when the heading lines are equal, the usual case).
        old_end, new_end = old.text.find("\n"), new.text.find("\n")
        same_heading = 0 <= old_end == new_end and old.text.startswith(new.text[: new_end + 1])
        if same_heading or old.body != new.body or not changes:
            changes.insert(0, "body")
    if moved:
        changes.append("moved")
    return SectionChange(
        id=key,
        status="changed" if changes else "unchanged",
        changes=tuple(changes),
        old_title=old.title,
        new_title=new.title,
        old_authority=old.authority,
        new_authority=new.authority,
        old_level=old.level,
        new_level=new.level,
        old_index=old_index,
        new_index=new_index,
        old_start_line=old.start_line,
        new_start_line=new.start_line,
        hunks=hunks,
    )


def _one_sided(key: str, section: Section, index: int, added: bool) -> SectionChange:
    """Describe a section found in only one spec.

    Args:
        key: The matching key.
        section: The section.
        index: Its position in its spec.
        added: True for a section only in the new spec, False for one only in the old.

    Returns:
        The change entry, with the whole text as one hunk.
    """
    offset = section.start_line - 1
    if added:
        change = SectionChange(
            id=key,
            status="added",
            changes=(),
            old_title=None,
            new_title=section.title,
            old_authority=None,
            new_authority=section.authority,
            old_level=None,
            new_level=section.level,
            old_index=None,
            new_index=index,
            old_start_line=None,
            new_start_line=section.start_line,
            hunks=None,
        )
        change.__dict__["_one_sided"] = (section.text, offset, INSERT)
        return change
    change = SectionChange(
        id=key,
        status="removed",
        changes=(),
        old_title=section.title,
        new_title=None,
        old_authority=section.authority,
        new_authority=None,
        old_level=section.level,
        new_level=None,
        old_index=index,
        new_index=None,
        old_start_line=section.start_line,
        new_start_line=None,
        hunks=None,
    )
    change.__dict__["_one_sided"] = (section.text, offset, DELETE)
    return change


def _whole_text_hunk(text: str, offset: int, kind: str) -> tuple[Hunk, ...]:
    """Make the hunk of a text that was wholly added or removed.

    Args:
        text: The text.
        offset: The file line before the text.
        kind: ``insert`` or ``delete``.

    Returns:
        One hunk holding every line (the same as ``diff_text`` against "").
    """
    texts = _split_for_diff(text)[1]
    if not texts:
        return ()
    if kind == INSERT:
        lines = [DiffLine(INSERT, None, offset + k, line) for k, line in enumerate(texts, 1)]
        return (Hunk(0, 0, offset + 1, len(lines), tuple(lines)),)
    lines = [DiffLine(DELETE, offset + k, None, line) for k, line in enumerate(texts, 1)]
    return (Hunk(offset + 1, len(lines), 0, 0, tuple(lines)),)


def _preamble_change(old: SpecDocument, new: SpecDocument) -> SectionChange | None:
    """Describe a change of the text before the first heading.

    Args:
        old: The old spec.
        new: The new spec.

    Returns:
        A change entry with id ``(preamble)``, or None when the preamble is the same.
    """
    if old.preamble == new.preamble:
        return None
    status = "added" if not old.preamble else "removed" if not new.preamble else "changed"
    return SectionChange(
        id=PREAMBLE_ID,
        status=status,
        changes=("body",) if status == "changed" else (),
        old_title=None,
        new_title=None,
        old_authority=None,
        new_authority=None,
        old_level=None,
        new_level=None,
        old_index=None,
        new_index=None,
        old_start_line=1 if old.preamble else None,
        new_start_line=1 if new.preamble else None,
        hunks=diff_text(old.preamble, new.preamble),
    )


def diff_specs(old: SpecDocument, new: SpecDocument) -> SpecDiff:
    """Diff two specs section by section.

    Sections are matched by id (headings without one by level and title, repeats by
    occurrence). A common section has moved when the relative order of the common
    sections changed around it (it is not in a longest increasing run of new
    positions) or when its parent changed.

    Args:
        old: The old spec.
        new: The new spec.

    Returns:
        The diff; a changed preamble is the first entry, with id ``(preamble)``.
    """
    old_keys = _section_keys(old.sections)
    new_keys = _section_keys(new.sections)
    new_index = {key: index for index, key in enumerate(new_keys)}
    common = [key for key in old_keys if key in new_index]
    common_set = set(common)
    stable = _stable_positions([new_index[key] for key in common])
    # Added sections go after the nearest preceding common section of the new spec.
    added_after: dict[str | None, list[SectionChange]] = {}
    anchor: str | None = None
    for index, (key, section) in enumerate(zip(new_keys, new.sections)):
        if key in common_set:
            anchor = key
        else:
            added_after.setdefault(anchor, []).append(_one_sided(key, section, index, True))
    result: list[SectionChange] = []
    preamble = _preamble_change(old, new)
    if preamble is not None:
        result.append(preamble)
    result.extend(added_after.get(None, ()))
    for index, (key, section) in enumerate(zip(old_keys, old.sections)):
        position = new_index.get(key)
        if position is None:
            result.append(_one_sided(key, section, index, False))
            continue
        other = new.sections[position]
        moved = position not in stable or section.parent != other.parent
        result.append(_compare(key, section, other, index, position, moved))
        result.extend(added_after.get(key, ()))
    return SpecDiff(tuple(result))


def _hunk_json(hunk: Hunk) -> dict[str, Any]:
    """Turn a hunk into plain JSON data.

    Args:
        hunk: A hunk.

    Returns:
        The hunk with its lines and segments as dicts and lists.
    """
    return {
        "old_start": hunk.old_start,
        "old_len": hunk.old_len,
        "new_start": hunk.new_start,
        "new_len": hunk.new_len,
        "lines": [
            {
                "kind": line.kind,
                "old_lineno": line.old_lineno,
                "new_lineno": line.new_lineno,
                "text": line.text,
                "pair_lineno": line.pair_lineno,
                "segments": [{"kind": s.kind, "text": s.text} for s in line.segments],
            }
            for line in hunk.lines
        ],
    }


def hunks_json(hunks: Iterable[Hunk]) -> list[dict[str, Any]]:
    """Turn hunks into plain JSON data.

    Args:
        hunks: Hunks from ``diff_text``.

    Returns:
        One dict per hunk.
    """
    return [_hunk_json(hunk) for hunk in hunks]


def spec_diff_json(diff: SpecDiff, *, include_unchanged: bool = False) -> dict[str, Any]:
    """Turn a spec diff into plain JSON data.

    Args:
        diff: The diff.
        include_unchanged: Also list the unchanged sections.

    Returns:
        ``{"counts": {...}, "sections": [...]}`` with hunks, lines and segments inside.
    """
    return {
        "counts": diff.counts(),
        "sections": [
            {
                "id": c.id,
                "status": c.status,
                "changes": list(c.changes),
                "old_title": c.old_title,
                "new_title": c.new_title,
                "old_authority": c.old_authority,
                "new_authority": c.new_authority,
                "old_level": c.old_level,
                "new_level": c.new_level,
                "old_index": c.old_index,
                "new_index": c.new_index,
                "old_start_line": c.old_start_line,
                "new_start_line": c.new_start_line,
                "hunks": hunks_json(c.hunks),
            }
            for c in diff.changes
            if include_unchanged or c.status != "unchanged"
        ],
    }
