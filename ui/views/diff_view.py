"""Renders ``reviewer.diffing`` hunks as HTML for a text browser, every piece of text escaped."""

from __future__ import annotations

from collections.abc import Sequence

from reviewer.diffing import DiffLine, Hunk
from reviewer.render import escape

_LINE_BG = {"delete": "#fde8e8", "insert": "#e6f4ea", "equal": "transparent"}
_WORD_BG = {"delete": "#f5b5b5", "insert": "#a8dab5"}
_SIGN = {"delete": "−", "insert": "+", "equal": " "}


def _line_html(line: DiffLine) -> str:
    pieces = []
    for segment in line.segments:
        text = escape(segment.text)
        if segment.kind != "equal" and segment.kind == line.kind:
            strike = "text-decoration:line-through;" if segment.kind == "delete" else ""
            pieces.append(f'<span style="background:{_WORD_BG[segment.kind]};{strike}">{text}</span>')
        elif segment.kind == "equal":
            pieces.append(text)
    body = "".join(pieces) or "&nbsp;"
    return (
        f'<tr style="background:{_LINE_BG[line.kind]}">'
        f'<td style="color:#8a94a6;padding-right:4px" align="right">{line.old_lineno or ""}</td>'
        f'<td style="color:#8a94a6;padding-right:6px" align="right">{line.new_lineno or ""}</td>'
        f'<td style="color:#555;padding-right:4px">{_SIGN[line.kind]}</td>'
        f'<td style="white-space:pre-wrap">{body}</td></tr>'
    )


def inline_diff_html(hunks: Sequence[Hunk]) -> str:
    """Return an inline (unified) diff table with word-level highlights."""
    if not hunks:
        return "<p><i>No change in the text.</i></p>"
    rows = []
    for hunk in hunks:
        rows.append(
            f'<tr><td colspan="4" style="color:#6b6b6b;background:#f1f3f6">'
            f"@@ lines {hunk.old_start}–{hunk.old_start + max(hunk.old_len - 1, 0)} → "
            f"{hunk.new_start}–{hunk.new_start + max(hunk.new_len - 1, 0)}</td></tr>"
        )
        rows.extend(_line_html(line) for line in hunk.lines)
    return (
        '<table cellspacing="0" cellpadding="1" width="100%" style="font-family:monospace">'
        + "".join(rows)
        + "</table>"
    )
