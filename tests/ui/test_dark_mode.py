"""Light and dark: every text readable on every background (WCAG ≥ 4.5:1) in both schemes, and the desk follows a dark palette."""

import re

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from reviewer.palette import (
    BACKGROUND_TONES,
    BADGE_BACKGROUNDS,
    DARK,
    HIGHLIGHTS,
    LIGHT,
    STATUS_TINTS,
    TEXT_TONES,
    contrast,
    normal_hex,
    tone,
)
from tests.datapaths import ROOT, USER_LEVEL
from tests.ui.test_review_desk import choose, decide_in_panel
from ui import theme
from ui.models.queue import COL_STATUS

pytestmark = pytest.mark.gui

UI = ROOT / "ui"
BADGES = {normal_hex(c) for c in BADGE_BACKGROUNDS}
# The agreement chart paints its own white background (it is also exported as PNG and SVG).
WHITE_FIGURES = {"agreement_view.py"}


@pytest.fixture
def dark(qapp):
    before = qapp.palette()
    qapp.setPalette(theme.palette_for(DARK))
    yield qapp
    qapp.setPalette(before)


def _windows(chosen):
    palette = theme.palette_for(chosen)
    return {palette.color(r).name() for r in (QPalette.ColorRole.Base, QPalette.ColorRole.Window,
                                               QPalette.ColorRole.AlternateBase)}


@pytest.mark.parametrize("chosen", [LIGHT, DARK])
def test_every_text_colour_reads_on_every_background_of_its_scheme(qapp, chosen):
    """Each text tone on the window, the base and every tinted block; the window text on every tint; white on badges."""
    text_colour = theme.palette_for(chosen).color(QPalette.ColorRole.Text).name()
    backgrounds = _windows(chosen) | {tone(c, chosen, background=True) for c in BACKGROUND_TONES
                                      if c not in BADGES and c not in ("#ffe08a", "#e3e6eb", *HIGHLIGHTS)}
    backgrounds -= {tone("#ffffff", LIGHT if chosen == DARK else DARK, background=True)}
    failures = []
    for written in TEXT_TONES:
        if written in ("#000000", "#ffffff"):
            continue  # black only on the quote's yellow, white only on badges: checked below
        for background in sorted(backgrounds):
            ratio = contrast(tone(written, chosen), background)
            if ratio < 4.5:
                failures.append(f"text {written}→{tone(written, chosen)} on {background}: {ratio:.2f}")
    tints = {t[1] if chosen == DARK else t[0] for t in STATUS_TINTS.values()}
    highlights = {tone(c, chosen, background=True) for c in HIGHLIGHTS}
    for background in sorted(backgrounds | tints | highlights):
        ratio = contrast(text_colour, background)
        if ratio < 4.5:
            failures.append(f"window text {text_colour} on {background}: {ratio:.2f}")
    for badge in BADGES:
        ratio = contrast("#ffffff", tone(badge, chosen, background=True))
        if ratio < 4.5:
            failures.append(f"white on badge {badge}→{tone(badge, chosen, background=True)}: {ratio:.2f}")
    assert contrast("#000000", tone("#ffe08a", chosen, background=True)) >= 4.5  # the quote
    assert not failures, "\n".join(failures)


_LITERAL = re.compile(r"""(?i)(color|background(?:-color)?|border(?:-left)?)\s*:\s*[^;"'<>{}]*?(#[0-9a-f]{6}|#[0-9a-f]{3})\b"""
                      r"""|QColor\(\s*["'](#[0-9a-f]{3,6})["']""")


def test_the_widgets_use_no_colour_the_palette_does_not_give_for_both_schemes():
    """A colour written into a view's text, style or painter must be in reviewer.palette, with its dark form."""
    unknown = []
    for path in sorted(UI.rglob("*.py")):
        for match in _LITERAL.finditer(path.read_text(encoding="utf-8")):
            prop, colour, painted = match.groups()
            colour = normal_hex(colour or painted)
            if path.name in WHITE_FIGURES:  # its pens (text, lines) must read on its white; fills are its own
                pen = match.string[max(match.start() - 7, 0):match.start()].endswith("setPen(")
                if prop and prop.lower() == "color" or painted and pen:
                    if colour not in ("#ffffff",) and contrast(colour, "#ffffff") < 4.5 and colour not in BACKGROUND_TONES:
                        unknown.append(f"{path.name}: {colour} on the chart's white: {contrast(colour, '#ffffff'):.2f}")
                continue
            table = TEXT_TONES if prop and prop.lower() == "color" else BACKGROUND_TONES
            if colour not in table and colour not in TEXT_TONES and colour not in BACKGROUND_TONES:
                unknown.append(f"{path.relative_to(UI.parent)}: {match.group(0)}")
    assert not unknown, "colours with no dark form in reviewer/palette.py:\n" + "\n".join(unknown)


def test_markup_colours_follow_the_scheme(dark):
    html = "<pre style='background:#f6f8fa;padding:6px'>{}</pre><span style=\"color:#B3261E\">x</span>"
    assert theme.scheme() == DARK
    shown = theme.themed(html)
    assert "background:#2b2f36" in shown and "color:#ff8a80" in shown
    assert theme.themed(html, LIGHT) == html.replace("#B3261E", "#b3261e")


def test_the_desk_in_a_dark_palette_tints_rows_and_blocks_readably(qtbot, dark, open_desk, demo_workspace):
    desk = open_desk(demo_workspace, "Amara Okafor")
    choose(qtbot, desk, USER_LEVEL)  # one reviewer decides at user level: a deferred row, tinted
    decide_in_panel(qtbot, desk, "defer", "Needs research first.")
    text = QApplication.palette().color(QPalette.ColorRole.Text).name()
    model = desk.queue.model
    qtbot.waitUntil(lambda: any(model.index(r, COL_STATUS).data(Qt.ItemDataRole.BackgroundRole) is not None
                                for r in range(model.rowCount())), timeout=5000)
    tinted = 0
    for row in range(model.rowCount()):
        brush = model.index(row, COL_STATUS).data(Qt.ItemDataRole.BackgroundRole)
        if brush is not None:
            tinted += 1
            assert contrast(text, brush.color().name()) >= 4.5
            assert brush.color().lightness() < 110  # a dark tint, not the light one
    assert tinted
    # The audit log's JSON block, as the Audit page shows the first event: a dark block, light text.
    desk.tabs.setCurrentWidget(desk.auditor_view)
    audit = desk.auditor_view
    qtbot.waitUntil(lambda: audit.table.model().rowCount() > 0, timeout=20000)
    audit.table.selectRow(0)
    qtbot.waitUntil(lambda: "#2b2f36" in audit.detail.toHtml(), timeout=5000)
    assert "#f6f8fa" not in audit.detail.toHtml()
    assert contrast(text, "#2b2f36") >= 4.5


def test_labels_and_text_browsers_switch_colours_with_the_palette(qtbot, dark):
    from ui.labels import PlainLabel, RichLabel
    from ui.text_browser import SafeTextBrowser

    plain, rich, browser = PlainLabel("x"), RichLabel(), SafeTextBrowser()
    for widget in (plain, rich, browser):
        qtbot.addWidget(widget)
        widget.show()
    plain.setStyleSheet("color:#b3261e")
    rich.setText("<span style='color:#5f6b7a'>muted</span>")
    browser.setHtml("<pre style='background:#f6f8fa'>{}</pre>")
    assert "#ff8a80" in plain.styleSheet() and "#2b2f36" in browser.toHtml()
    assert rich.text() == "<span style='color:#5f6b7a'>muted</span>"  # what the view wrote; shown in its dark form
    QApplication.instance().setPalette(theme.palette_for(LIGHT))
    qtbot.waitUntil(lambda: "#f6f8fa" in browser.toHtml(), timeout=3000)
    assert plain.styleSheet() == "color:#b3261e"
    QApplication.instance().setPalette(theme.palette_for(DARK))
    qtbot.waitUntil(lambda: "#2b2f36" in browser.toHtml(), timeout=3000)
    assert "#ff8a80" in plain.styleSheet()
