"""The colours the app and the transparency report share: Okabe–Ito, told apart with the common colour-vision deficiencies.

Stances are blue (supports) and vermillion orange (refutes), never green and red; groups take the
eight Okabe–Ito colours in turn. The widgets (``ui/``) and the report and its SVG charts
(``reviewer/report.py``, ``reviewer/charts.py``) read them from here, so a reader sees the same
colour for the same thing in both. Plain hex strings: no Qt.
"""

from __future__ import annotations

from reviewer.vocab import Status

BLUE = "#0072B2"
VERMILLION = "#D55E00"
ORANGE = "#E69F00"
SKY_BLUE = "#56B4E9"
BLUISH_GREEN = "#009E73"
YELLOW = "#F0E442"
REDDISH_PURPLE = "#CC79A7"
BLACK = "#000000"

OKABE_ITO = (ORANGE, SKY_BLUE, BLUISH_GREEN, YELLOW, BLUE, VERMILLION, REDDISH_PURPLE, BLACK)
"""Colours for groups (opinion groups, demographic groups), in the order they are handed out."""

SUPPORTS = BLUE
REFUTES = VERMILLION
STANCE_COLOURS = {"supports": SUPPORTS, "refutes": REFUTES, "no_comment": "#8a94a6", "unlabelled": "#c7ccd4"}
"""A stance's colour wherever stances are drawn: the evidence view, its split chart, the report."""

AGREEMENT_POINT = "#1f4e79"
"""A section's agreement point on the agreement chart (the app's and the report's)."""
AGREEMENT_OVERALL = VERMILLION
"""The dashed line of the overall agreement on the agreement chart."""

GROUP_COLOURS = (ORANGE, SKY_BLUE, BLUISH_GREEN, REDDISH_PURPLE, BLACK, BLUE, VERMILLION, YELLOW)
"""Opinion groups A, B, C... (the Groups map); yellow last: it reads poorly on white."""

STATUS_COLOURS: dict[str, str] = {
    Status.COMMITTED: BLUE, Status.ADOPTED: SKY_BLUE, Status.NEEDS_REBASE: ORANGE,
    Status.DEFERRED: REDDISH_PURPLE, Status.SET_ASIDE: "#6b6b6b", Status.CONTESTED: VERMILLION,
    Status.PENDING: "#9e9e9e", Status.OPEN: "#cfd8dc",
}
"""A proposal status's colour in charts (the report's proposals-by-status bars)."""


# ---- light and dark schemes ----------------------------------------------------------------------
# The app follows the system's colour scheme. Every colour it writes into text (HTML, style sheets)
# or paints is named here by the light colour the code uses, with the colour actually shown in each
# scheme; ``ui/theme.py`` applies them. tests/ui/test_dark_mode.py checks every text/background pair
# (WCAG contrast ≥ 4.5:1) in both schemes, and that the code uses no colour missing here.

LIGHT = "light"
DARK = "dark"

SCHEME_COLOURS: dict[str, dict[str, str]] = {
    LIGHT: {"window": "#efefef", "base": "#ffffff", "text": "#1a1a1a", "alternate": "#f5f5f5",
            "highlight": "#0072b2", "highlighted_text": "#ffffff", "link": "#1f5fbf", "button": "#efefef"},
    DARK: {"window": "#2d2d2d", "base": "#1e1e1e", "text": "#e8e8e8", "alternate": "#262626",
           "highlight": "#0072b2", "highlighted_text": "#ffffff", "link": "#8ab4f8", "button": "#353535"},
}
"""The window colours of each scheme (the dark one is applied when the system asks for dark but the
platform gives the app no dark palette of its own)."""

TEXT_TONES: dict[str, tuple[str, str]] = {
    "#b3261e": ("#b3261e", "#ff8a80"),  # errors, "no reviewer name set"
    "#5f6b7a": ("#5f6b7a", "#aab4c0"),  # muted notes
    "#6b6b6b": ("#6b6b6b", "#b0b0b0"),
    "#555555": ("#555555", "#b8b8b8"),
    "#c25e00": ("#a84f00", "#ffb74d"),  # warnings (darker in light: #c25e00 is 4.3:1 on white)
    "#8a94a6": ("#5a6475", "#a9b3c4"),  # faint (darker in light: #8a94a6 is 3.1:1 on white)
    "#8a4b00": ("#8a4b00", "#ffcc80"),
    "#9a5b00": ("#9a5b00", "#ffcc80"),  # "flagged"
    "#8a5a00": ("#8a5a00", "#ffcc80"),
    "#2e7d32": ("#2a6f2e", "#81c784"),  # done, resolved
    "#1e7b34": ("#1e7b34", "#81c784"),
    "#1f5fbf": ("#1f5fbf", "#8ab4f8"),  # a person's label
    "#7b3fa0": ("#7b3fa0", "#d7a6f0"),  # a model's label
    "#0072b2": ("#006aa6", "#56b4e9"),  # supports (the stance list's title)
    "#d55e00": ("#b34700", "#f0a070"),  # refutes (vermillion is 3.9:1 as text on white)
    "#000000": ("#000000", "#000000"),  # only on the quote's yellow
    "#ffffff": ("#ffffff", "#ffffff"),  # only on badges
}
"""Text colours: the colour the code writes → (shown in light, shown in dark)."""

BACKGROUND_TONES: dict[str, tuple[str, str]] = {
    "#ffffff": ("#ffffff", "#1e1e1e"),
    "#f6f8fa": ("#f6f8fa", "#2b2f36"),  # code and JSON blocks
    "#f4f6fb": ("#f4f6fb", "#262b36"),  # admonitions
    "#eef1f5": ("#eef1f5", "#2f3540"),  # table heads, hunk headers
    "#e8f0fe": ("#e8f0fe", "#1f2a3d"),  # notes ("Committed to the spec as…")
    "#e8f0fb": ("#e8f0fb", "#1f2a3d"),  # the opened justification
    "#f4f4f4": ("#f4f4f4", "#2a2a2a"),  # an empty side of the diff
    "#fde8e8": ("#fde8e8", "#4b2626"),  # a removed line; a broken audit row
    "#e6f4ea": ("#e6f4ea", "#1f3d2a"),  # an added line
    "#f5b5b5": ("#f5b5b5", "#7a3030"),  # removed words
    "#a8dab5": ("#a8dab5", "#2f6b3f"),  # added words
    "#ffe08a": ("#ffe08a", "#ffe08a"),  # the quoted span (always with black text)
    "#e3e6eb": ("#e3e6eb", "#3a3f47"),  # separators (lines, no text)
    # Badges and markers with white text: the same in both schemes.
    "#b3261e": ("#b3261e", "#b3261e"), "#c25e00": ("#a84f00", "#a84f00"), "#1f5fbf": ("#1f5fbf", "#1f5fbf"),
    "#2e7d32": ("#2e7d32", "#2e7d32"), "#6b6b6b": ("#6b6b6b", "#6b6b6b"), "#8a94a6": ("#667085", "#667085"),
    "#5f6b7a": ("#5f6b7a", "#5f6b7a"), "#7b3fa0": ("#7b3fa0", "#7b3fa0"),
}
"""Backgrounds and fills: the colour the code writes → (shown in light, shown in dark)."""

HIGHLIGHTS = ("#f5b5b5", "#a8dab5")
"""Backgrounds behind the window's own text only (the diff's removed and added words), never coloured text."""

BADGE_BACKGROUNDS = ("#b3261e", "#c25e00", "#1f5fbf", "#2e7d32", "#6b6b6b", "#8a94a6", "#5f6b7a", "#7b3fa0")
"""The backgrounds that carry white text (authority and source badges, the queue's level column)."""

STATUS_TINTS: dict[str, tuple[str, str]] = {
    Status.PENDING: ("#fff4d6", "#4a3f1a"),
    Status.CONTESTED: ("#fbe0cf", "#5a2e14"),  # vermillion: reviewers disagree
    Status.NEEDS_REBASE: ("#fbe0cf", "#5a2e14"),
    Status.ADOPTED: ("#dcebf7", "#17344d"),  # blue: the change is agreed
    Status.COMMITTED: ("#c6def2", "#1d4466"),
    Status.DEFERRED: ("#f3e1ec", "#4a2a3f"),  # reddish purple
    Status.SET_ASIDE: ("#eeeeee", "#3a3a3a"),
}
"""A queue row's tint by status (open rows are not tinted): the colour-blind-safe blue/vermillion pair, not green/red."""


def tone(colour: str, scheme: str, *, background: bool = False) -> str:
    """Return what ``colour`` (as the code writes it) shows as in ``scheme``; a colour not listed is returned as is."""
    table = BACKGROUND_TONES if background else TEXT_TONES
    pair = table.get(normal_hex(colour))
    if pair is None:
        return colour
    return pair[1] if scheme == DARK else pair[0]


def normal_hex(colour: str) -> str:
    """``#ABC`` → ``#aabbcc``; ``#AABBCC`` → ``#aabbcc``; anything else unchanged."""
    text = colour.strip().lower()
    if len(text) == 4 and text.startswith("#"):
        return "#" + "".join(c * 2 for c in text[1:])
    return text


def contrast(foreground: str, background: str) -> float:
    """The WCAG 2 contrast ratio of two ``#rrggbb`` colours (1 to 21; 4.5 is the minimum for text)."""
    def luminance(colour: str) -> float:
        value = normal_hex(colour).lstrip("#")
        channels = [int(value[i:i + 2], 16) / 255 for i in (0, 2, 4)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)
