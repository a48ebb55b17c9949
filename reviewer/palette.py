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
