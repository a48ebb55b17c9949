"""Charts as self-contained SVG text (no Qt), for reports and for the GUI to display or export."""

from __future__ import annotations

import re
from xml.sax.saxutils import escape, quoteattr

from reviewer.agreement import AgreementResult, SectionAgreement, Share
from reviewer.palette import AGREEMENT_OVERALL, AGREEMENT_POINT, OKABE_ITO

PALETTE = OKABE_ITO  # group markers, in the app's colours
_INVALID_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

WIDTH = 880
LABEL_WIDTH = 300
PLOT_LEFT = LABEL_WIDTH + 10
PLOT_RIGHT = WIDTH - 110
ROW = 22
TOP = 70


def _text(value: object) -> str:
    return escape(_INVALID_XML.sub("", str(value)))


def _attr(value: object) -> str:
    return quoteattr(_INVALID_XML.sub("", str(value)))


def _x(share: float) -> float:
    return PLOT_LEFT + max(0.0, min(1.0, share)) * (PLOT_RIGHT - PLOT_LEFT)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def _short(text: str, limit: int = 44) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _row(entry: SectionAgreement, y: float, groups: tuple[str, ...]) -> list[str]:
    s: Share = entry.stats
    label = entry.section_id or "overall"
    tooltip = f"{label}: {entry.title}" if entry.title else label
    out = [f'<g class="section" data-section={_attr(label)}>',
           f"<title>{_text(tooltip)} — {_pct(s.share)} agreement ({s.agreeing}/{s.counted} pairs, "
           f"{s.conversations} conversations; 95% interval {_pct(s.low)}–{_pct(s.high)})</title>",
           f'<text x="{LABEL_WIDTH}" y="{y + 4:.1f}" text-anchor="end" class="label">{_text(_short(label))}</text>']
    if s.share is None:
        out.append(f'<text x="{PLOT_LEFT}" y="{y + 4:.1f}" class="note">no counted pairs</text></g>')
        return out
    if s.low is not None and s.high is not None:
        out.append(f'<line x1="{_x(s.low):.1f}" y1="{y:.1f}" x2="{_x(s.high):.1f}" y2="{y:.1f}" class="interval"/>')
        for edge in (s.low, s.high):
            out.append(f'<line x1="{_x(edge):.1f}" y1="{y - 4:.1f}" x2="{_x(edge):.1f}" y2="{y + 4:.1f}" '
                       'class="interval"/>')
    for j, name in enumerate(groups):
        g = entry.groups.get(name)
        if g is None or g.share is None:
            continue
        cx, colour = _x(g.share), PALETTE[j % len(PALETTE)]
        out.append(f'<path d="M{cx:.1f},{y - 4:.1f} L{cx + 4:.1f},{y:.1f} L{cx:.1f},{y + 4:.1f} '
                   f'L{cx - 4:.1f},{y:.1f} Z" fill="{colour}" class="group"><title>{_text(name)}: '
                   f"{_pct(g.share)} ({g.agreeing}/{g.counted} pairs)</title></path>")
    out.append(f'<circle cx="{_x(s.share):.1f}" cy="{y:.1f}" r="4.5" class="point"/>')
    out.append(f'<text x="{PLOT_RIGHT + 14}" y="{y + 4:.1f}" class="value">{_pct(s.share)} '
               f"(n={s.conversations})</text></g>")
    return out


def agreement_svg(result: AgreementResult, *, by: str | None = None) -> str:
    """Draw crowd–ranker agreement per section: sections sorted by agreement, point and interval bars.

    A dashed line marks the overall agreement. With ``by`` (the demographic field the result was
    split on), each group's figure is a coloured diamond on the section's row, with a legend.

    Args:
        result: from ``reviewer.agreement.compute_agreement``.
        by: draw group markers for this field (it must be the field ``result`` was split on).

    Returns:
        A complete SVG document (UTF-8 text); every piece of data in it is escaped.

    Raises:
        ValueError: ``by`` names a field the result was not split on.
    """
    if by is not None and by != result.by:
        raise ValueError(f"the agreement was split by {result.by!r}, not {by!r}")
    groups = result.group_names if by is not None else ()
    entries = sorted(result.sections, key=lambda e: (e.stats.share is None, -(e.stats.share or 0.0),
                                                      e.section_id or ""))
    legend_rows = (len(groups) + 3) // 4 + 1 if groups else 0
    hidden = 18 if result.hidden_sections else 0  # a line saying which sections are left out
    height = TOP + ROW * max(1, len(entries)) + 50 + hidden + 18 * legend_rows
    bottom = TOP + ROW * max(1, len(entries))
    view = "world" if result.view == "world" else "personal"
    title = (f"Crowd–ranker agreement by section: {result.model}, {view} rankings, "
             f"conversations graded ≥ {result.min_relevance}")
    note = (f"Points: pooled pairwise agreement; bars: {result.confidence * 100:.0f}% bootstrap interval "
            f"({result.resamples} resamples of conversations).")
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">',
        "<style>.label{fill:#222}.note{fill:#888;font-style:italic}.value{fill:#444}"
        f".interval{{stroke:#555;stroke-width:1.5}}.point{{fill:{AGREEMENT_POINT}}}.grid{{stroke:#ddd}}"
        f".overall{{stroke:{AGREEMENT_OVERALL};stroke-dasharray:5,4;stroke-width:1.5}}"
        ".title{font-size:14px;font-weight:bold}</style>",
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
        f'<text x="12" y="22" class="title">{_text(title)}</text>',
        f'<text x="12" y="40" class="note">{_text(note)}</text>',
    ]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        x = _x(tick)
        out.append(f'<line x1="{x:.1f}" y1="{TOP - 12}" x2="{x:.1f}" y2="{bottom}" class="grid"/>')
        out.append(f'<text x="{x:.1f}" y="{TOP - 16}" text-anchor="middle" class="value">{tick * 100:.0f}%</text>')
    overall = result.overall.stats
    if overall.share is not None:
        x = _x(overall.share)
        out.append(f'<line x1="{x:.1f}" y1="{TOP - 10}" x2="{x:.1f}" y2="{bottom}" class="overall">'
                   f"<title>overall {_pct(overall.share)} ({overall.conversations} conversations)</title></line>")
        out.append(f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle" fill="{AGREEMENT_OVERALL}">'
                   f"overall {_pct(overall.share)}</text>")
    if not entries:
        out.append(f'<text x="{PLOT_LEFT}" y="{TOP + 10}" class="note">No section has conversations graded '
                   f"≥ {result.min_relevance}.</text>")
    for i, entry in enumerate(entries):
        out.extend(_row(entry, TOP + ROW * i + ROW / 2, groups))
    if hidden:
        out.append(f'<text x="12" y="{bottom + 36}" class="note">{_text(result.hidden_note())}</text>')
    if groups:
        y0 = bottom + 36 + hidden
        out.append(f'<text x="12" y="{y0}" class="label">Groups by {_text(result.by or "")}:</text>')
        for j, name in enumerate(groups):
            x, y = 20 + (j % 4) * 210, y0 + 18 * (j // 4 + 1)
            colour = PALETTE[j % len(PALETTE)]
            out.append(f'<path d="M{x},{y - 8} L{x + 4},{y - 4} L{x},{y} L{x - 4},{y - 4} Z" fill="{colour}"/>')
            out.append(f'<text x="{x + 9}" y="{y}" class="label">{_text(_short(name, 28))}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
