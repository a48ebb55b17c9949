"""The proposal diff: side by side or inline with word-level highlights, and a rendered preview.

Every piece of spec text is escaped before it reaches the HTML. Side by side is one table whose
rows pair old and new lines, so the two sides of a long section always scroll together.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QHBoxLayout,
    QMenu,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from reviewer.diffing import DiffLine, Hunk, side_by_side
from reviewer.render import escape, render_markdown
from reviewer.spec import AUTHORITY_RANK
from reviewer.textsafe import display_text
from ui.access import describe
from ui.style import authority_badge_html
from ui.text_browser import SafeTextBrowser

if TYPE_CHECKING:
    from reviewer.proposals import ProposalView, SectionChangeView
    from reviewer.revisions import Revision, RevisionDiff

_LINE_BG = {"delete": "#fde8e8", "insert": "#e6f4ea", "equal": "#ffffff"}
_WORD_BG = {"delete": "#f5b5b5", "insert": "#a8dab5"}
_SIGN = {"delete": "−", "insert": "+", "equal": " "}


def number_cell_attrs(hunks: Sequence[Hunk]) -> str:
    """Return the attributes of the line-number cells, wide enough for the largest number shown.

    Qt's rich text breaks a number that does not fit its cell (a 1,520 read as "152" over "0"), and
    the real Model Spec runs to over 5,000 lines, so the width follows the number of digits.
    """
    largest = max((max(h.old_start + h.old_len, h.new_start + h.new_len) for h in hunks), default=0)
    width = 9 * max(len(str(largest)), 2) + 10
    return f'style="color:#8a94a6;padding:0 4px;white-space:pre" align="right" valign="top" width="{width}" nowrap'
_CSS = """
<style>
body { font-family: sans-serif; }
pre { background: #f6f8fa; padding: 6px; white-space: pre-wrap; }
.admonition { background: #f4f6fb; border-left: 4px solid #8a94a6; padding: 4px 8px; }
</style>
"""
MODES = ("side", "inline", "preview")


def _text_html(line: DiffLine) -> str:
    pieces = []
    for segment in line.segments:
        text = escape(segment.text)
        if segment.kind == "equal":
            pieces.append(text)
        elif segment.kind == line.kind:
            strike = "text-decoration:line-through;" if segment.kind == "delete" else ""
            pieces.append(f'<span style="background:{_WORD_BG[segment.kind]};{strike}">{text}</span>')
    return "".join(pieces) or "&nbsp;"


def _hunk_header(hunk: Hunk, columns: int) -> str:
    old_end = hunk.old_start + max(hunk.old_len - 1, 0)
    new_end = hunk.new_start + max(hunk.new_len - 1, 0)
    return (
        f'<tr><td colspan="{columns}" style="color:#6b6b6b;background:#eef1f5;padding:2px 6px">'
        f"lines {hunk.old_start}–{old_end} → {hunk.new_start}–{new_end}</td></tr>"
    )


def inline_diff_html(hunks: Sequence[Hunk]) -> str:
    """Return an inline (unified) diff table with old and new line numbers and word highlights."""
    if not hunks:
        return "<p><i>No change in the text.</i></p>"
    rows = []
    number = number_cell_attrs(hunks)
    for hunk in hunks:
        rows.append(_hunk_header(hunk, 4))
        for line in hunk.lines:
            rows.append(
                f'<tr style="background:{_LINE_BG[line.kind]}">'
                f"<td {number}>{line.old_lineno or ''}</td><td {number}>{line.new_lineno or ''}</td>"
                f'<td style="color:#555" valign="top">{_SIGN[line.kind]}</td>'
                f'<td style="white-space:pre-wrap">{_text_html(line)}</td></tr>'
            )
    return '<table cellspacing="0" cellpadding="1" width="100%" style="font-family:monospace">' + "".join(rows) + "</table>"


def side_by_side_html(hunks: Sequence[Hunk], labels: tuple[str, str] = ("Current text", "Proposed text")) -> str:
    """Return a two-column diff table: current text on the left, proposed text on the right."""
    if not hunks:
        return "<p><i>No change in the text.</i></p>"
    rows = [
        f'<tr><th></th><th align="left" width="50%">{escape(labels[0])}</th><th></th>'
        f'<th align="left" width="50%">{escape(labels[1])}</th></tr>'
    ]
    number_attrs = number_cell_attrs(hunks)
    for hunk in hunks:
        rows.append(_hunk_header(hunk, 4))
        for old, new in side_by_side([hunk]):
            cells = []
            for line, number in ((old, old.old_lineno if old else None), (new, new.new_lineno if new else None)):
                if line is None:
                    cells.append(f'<td {number_attrs}></td><td style="background:#f4f4f4"></td>')
                else:
                    cells.append(
                        f"<td {number_attrs}>{number or ''}</td>"
                        f'<td style="background:{_LINE_BG[line.kind]};white-space:pre-wrap" valign="top">'
                        f"{_text_html(line)}</td>"
                    )
            rows.append("<tr>" + "".join(cells) + "</tr>")
    return (
        '<table cellspacing="0" cellpadding="2" width="100%" style="font-family:monospace">'
        + "".join(rows)
        + "</table>"
    )


DISCUSS_SCHEME = "discuss"
"""Links ``discuss:SECTION_ID`` in a section's heading start a discussion thread on it."""


def discuss_link(section_id: str) -> str:
    """The link in a section's heading that starts a discussion thread on it."""
    return (f" &nbsp;<a href='{DISCUSS_SCHEME}:{escape(section_id)}' style='font-size:small;font-weight:normal'>"
            "Discuss this section</a>")


def section_header_html(section: SectionChangeView, *, discuss: bool = False) -> str:
    """Return the heading block of one changed section: id, title, authority, and what changed.

    ``discuss``: with a link that starts a discussion thread on the section.
    """
    parts = [
        f"<h3 style='margin-bottom:2px'>{authority_badge_html(section.new_authority)} &nbsp;"
        f"{escape(section.new_title or '')} &nbsp;<code style='color:#555'>#{escape(section.section_id)}</code>"
        f"{discuss_link(section.section_id) if discuss else ''}</h3>"
    ]
    notes = []
    if section.old_title is not None and section.old_title != section.new_title:
        notes.append(f"Title: <s>{escape(section.old_title)}</s> → <b>{escape(section.new_title or '')}</b>")
    if section.current_text and section.old_authority != section.new_authority:
        # ``platform`` is the older name of ``root``: the same level, so the same quorum.
        renamed = (
            section.old_authority in AUTHORITY_RANK and section.new_authority in AUTHORITY_RANK
            and AUTHORITY_RANK[section.old_authority] == AUTHORITY_RANK[section.new_authority]
        )
        notes.append(
            f"Authority: {authority_badge_html(section.old_authority)} → {authority_badge_html(section.new_authority)}"
            + (" <span style='color:#6b6b6b'>(the same level, renamed)</span>" if renamed else "")
        )
    if section.as_adopted:
        notes.append("<span style='color:#6b6b6b'>as adopted: the text before its commit → the text it committed"
                     + (f", at line {section.start_line}" if section.start_line else "") + "</span>")
        if section.now_text is not None:
            notes.append("<span style='color:#c25e00'>The section has changed since it was committed: "
                         "see “Since then” below.</span>")
        return "".join(parts) + "<p style='margin-top:0'>" + " &nbsp;·&nbsp; ".join(notes) + "</p>"
    if not section.current_text:
        notes.append("<span style='color:#b3261e'>This section is no longer in the spec.</span>")
    elif not section.base_matches_current:
        notes.append(
            "<span style='color:#c25e00'>The spec has changed since this proposal was written; "
            "the diff is against the current text.</span>"
        )
    if section.start_line:
        notes.append(f"<span style='color:#6b6b6b'>current text at line {section.start_line}</span>")
    if notes:
        parts.append("<p style='margin-top:0'>" + " &nbsp;·&nbsp; ".join(notes) + "</p>")
    return "".join(parts)


def proposal_diff_html(view: ProposalView, mode: str, *, discuss: bool = False) -> str:
    """Return the whole diff page of a proposal in ``mode`` (side, inline or preview).

    ``discuss``: each section's heading has a link that starts a discussion thread on it.
    """
    return sections_diff_html(view.sections, mode, committed=view.committed, discuss=discuss)


def sections_diff_html(sections: Sequence[SectionChangeView], mode: str, *, committed: str | None = None,
                       discuss: bool = False) -> str:
    """Return the diff page of changed sections in ``mode``: a proposal's, or a draft's in the proposal editor."""
    parts = [_CSS]
    if committed:
        parts.append(
            f"<p style='background:#e8f0fe;padding:4px'>Committed to the spec as <code>{escape(committed[:12])}"
            "</code>. Shown as adopted: what its commit changed, not the spec as it is now.</p>")
    labels = ("Before its commit", "As committed") if committed else ("Current text", "Proposed text")
    for section in sections:
        parts.append(section_header_html(section, discuss=discuss))
        if mode == "preview":
            parts.append(render_markdown(section.new_text))
        elif mode == "inline":
            parts.append(inline_diff_html(section.hunks))
        else:
            parts.append(side_by_side_html(section.hunks, labels))
        if section.now_text is not None:
            parts.append("<p><b>Since then</b> <span style='color:#6b6b6b'>(as committed → now)</span></p>")
            parts.append(inline_diff_html(section.now_hunks) if mode == "inline" else
                         side_by_side_html(section.now_hunks, ("As committed", "Now")))
        parts.append("<hr/>")
    return "".join(parts)


REVISION_KIND_LABELS = {"written": "written", "edit": "edited", "rebase": "rebased", "resolve": "rebased, conflicts resolved"}


def revision_line(revision: Revision) -> str:
    """``Revision 2 · edited by Ben, 2026-12-03 · “note”`` (plain text)."""
    note = f" · \u201c{revision.note}\u201d" if revision.note else ""
    return (f"Revision {revision.revision} · {REVISION_KIND_LABELS.get(revision.kind, revision.kind)} by "
            f"{revision.created_by}, {revision.created_at[:10]}{note}")


def revision_diff_html(diff: RevisionDiff, mode: str) -> str:
    """Two revisions of a proposal compared: the fields that changed, then each section's text, old → new."""
    old, new = diff.old, diff.new
    parts = [_CSS, f"<p style='background:#e8f0fe;padding:4px'>{escape(revision_line(old))}<br/>→ "
             f"{escape(revision_line(new))}</p>"]
    for name, (before, after) in diff.fields.items():
        shown_before, shown_after = (v[:12] if name == "base revision" else v for v in (before, after))
        parts.append(f"<p><b>{escape(name.capitalize())}:</b> <s>{escape(shown_before)}</s> → {escape(shown_after)}</p>")
    labels = (f"Revision {old.revision}", f"Revision {new.revision}")
    for section in diff.sections:
        parts.append(f"<h3 style='margin-bottom:2px'><code style='color:#555'>#{escape(section.section_id)}</code></h3>")
        if not section.hunks:
            parts.append("<p><i>The same text in both revisions.</i></p>")
        elif mode == "inline":
            parts.append(inline_diff_html(section.hunks))
        else:
            parts.append(side_by_side_html(section.hunks, labels))
        parts.append("<hr/>")
    return "".join(parts)


class DiffView(QWidget):
    """Shows a proposal's sections as a diff against the current spec.

    Each section's heading has a "Discuss this section" link, and the bar a "Discuss a section"
    menu (reachable by keyboard), that ask for a discussion thread on that section.

    Signals:
        mode_changed(str): the reviewer switched between side, inline and preview.
        discuss_requested(str): the reviewer asked to discuss a section (its id).
        link_clicked(QUrl): any other link in the diff was clicked.
    """

    mode_changed = Signal(str)
    discuss_requested = Signal(str)
    link_clicked = Signal(QUrl)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view: ProposalView | None = None
        self.sections: tuple[SectionChangeView, ...] | None = None
        self.placeholder = "Choose a proposal."
        self.mode = "side"
        self.buttons = QButtonGroup(self)
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        for mode, label, tip in (
            ("side", "Side by side", "Current and proposed text in two columns (Ctrl+1)"),
            ("inline", "Inline", "One column with deletions and insertions (Ctrl+2)"),
            ("preview", "Preview", "The proposed text rendered (Ctrl+3)"),
        ):
            button = QPushButton(label)
            button.setCheckable(True)
            button.setToolTip(tip)
            button.setObjectName(f"diff_mode_{mode}")
            button.setChecked(mode == self.mode)
            button.clicked.connect(lambda _=False, m=mode: self.set_mode(m))
            self.buttons.addButton(button)
            bar.addWidget(button)
        bar.addStretch(1)
        # Any two revisions of a revised proposal, compared (hidden for a proposal never revised).
        self.compare_box = QComboBox()
        self.compare_box.setAccessibleName("Compare revisions of this proposal")
        self.compare_box.setToolTip("Show the proposal against the current spec, or any two of its revisions compared")
        self.compare_box.currentIndexChanged.connect(lambda _i: self._render())
        self.compare_box.hide()
        bar.addWidget(self.compare_box)
        self.discuss_button = QToolButton()
        self.discuss_button.setText("Discuss a section")
        self.discuss_button.setAccessibleName("Discuss a section of this proposal")
        self.discuss_button.setToolTip("Start a discussion thread on one of the proposal's sections")
        self.discuss_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.discuss_button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.discuss_menu = QMenu(self.discuss_button)
        self.discuss_button.setMenu(self.discuss_menu)
        self.discuss_button.setEnabled(False)
        bar.addWidget(self.discuss_button)
        self.browser = SafeTextBrowser()
        describe(self.browser, "Proposal diff", "The proposal's sections: the current text beside the proposed one "
                 "(Ctrl+1 side by side, Ctrl+2 inline, Ctrl+3 preview)")
        self.browser.anchorClicked.connect(self.on_anchor)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.browser, 1)

    def set_view(self, view: ProposalView | None) -> None:
        """Show ``view`` (None clears)."""
        self.view = view
        self.sections = view.sections if view is not None else None
        self._fill_compare_box(view.revisions if view is not None else (), committed=bool(view and view.committed))
        self._fill_discuss_menu()
        self._render()

    def set_sections(self, sections: Sequence[SectionChangeView]) -> None:
        """Show changed sections that belong to no stored proposal (a draft being written: nothing to discuss)."""
        self.view = None
        self.sections = tuple(sections)
        self._fill_compare_box((), committed=False)
        self._fill_discuss_menu()
        self._render()

    def _fill_compare_box(self, revisions: Sequence[Revision], *, committed: bool) -> None:
        """Offer the proposal against the spec, and any two of its revisions compared (hidden when it has one)."""
        self.compare_box.blockSignals(True)
        self.compare_box.clear()
        if revisions:
            self.compare_box.addItem("As adopted" if committed else "Against the spec", None)
            last = revisions[-1].revision
            pairs = [(a.revision, b.revision) for i, a in enumerate(revisions) for b in revisions[i + 1:]]
            # The pairs with the newest revision first: what changed since each earlier one.
            pairs.sort(key=lambda pair: (pair[1] != last, -pair[1], -pair[0]))
            for a, b in pairs:
                self.compare_box.addItem(f"Revision {a} → {b}", (a, b))
        self.compare_box.setVisible(bool(revisions))
        self.compare_box.blockSignals(False)

    def _fill_discuss_menu(self) -> None:
        self.discuss_menu.clear()
        for section in self.view.sections if self.view is not None else ():
            action = self.discuss_menu.addAction(display_text(f"#{section.section_id}"))
            action.triggered.connect(lambda _=False, s=section.section_id: self.discuss_requested.emit(s))
        self.discuss_button.setEnabled(bool(self.discuss_menu.actions()))

    def on_anchor(self, url: QUrl) -> None:
        """A link in the diff: ``discuss:ID`` asks for a thread on that section; any other is passed on."""
        if url.scheme() == DISCUSS_SCHEME:
            self.discuss_requested.emit(url.path())
        else:
            self.link_clicked.emit(url)

    def set_mode(self, mode: str) -> None:
        """Switch to ``side``, ``inline`` or ``preview``, keeping the scroll position's proportion."""
        if mode not in MODES:
            raise ValueError(mode)
        for button in self.buttons.buttons():
            button.setChecked(button.objectName() == f"diff_mode_{mode}")
        if mode != self.mode:
            self.mode = mode
            bar = self.browser.verticalScrollBar()
            ratio = bar.value() / bar.maximum() if bar.maximum() else 0.0
            self._render()
            bar.setValue(int(ratio * bar.maximum()))
            self.mode_changed.emit(mode)

    def compare_revisions(self, old: int, new: int) -> None:
        """Show revisions ``old`` and ``new`` of the proposal compared (as choosing them in the box does)."""
        pairs = [self.compare_box.itemData(i) for i in range(self.compare_box.count())]
        wanted = [i for i, pair in enumerate(pairs) if pair is not None and tuple(pair) == (old, new)]
        if not wanted:
            raise ValueError(f"no revisions {old} and {new} to compare")
        self.compare_box.setCurrentIndex(wanted[0])

    def _render(self) -> None:
        pair = self.compare_box.currentData() if self.compare_box.isVisibleTo(self) else None
        if self.sections is None:
            html = f"<p style='color:#6b6b6b'>{escape(self.placeholder)}</p>"
        elif pair and self.view is not None:
            from reviewer.revisions import compare

            by_number = {r.revision: r for r in self.view.revisions}
            old, new = pair
            html = revision_diff_html(compare(by_number[old], by_number[new]), self.mode)
        else:
            html = sections_diff_html(self.sections, self.mode, committed=self.view.committed if self.view else None,
                                      discuss=self.view is not None)
        # The vertical scroll bar stays put while the page is replaced: left "as needed", setHtml
        # hides it for the emptied document and shows it again for the new one, and each change of
        # width lays the whole page out again (a 50-line side-by-side diff: 30 ms instead of 15).
        # Afterwards it goes if the new page fits.
        self.browser.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        try:
            self.browser.setHtml(html)
        finally:
            self.browser.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
