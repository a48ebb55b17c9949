"""Small charts painted with QPainter: the share supporting a proposal in each demographic group."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QHelpEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from reviewer.evidence import UNKNOWN_GROUP, GroupSplit, wilson_interval
from reviewer.palette import (
    DARK,
    STANCE_COLOURS,  # Okabe–Ito, shared with the report
)
from ui.theme import fg, scheme

# Groups with fewer decided links than this are drawn faded: their share says little.
SMALL_GROUP = 10


def percent(value: float | None) -> str:
    """Return ``62%`` (``–`` for None)."""
    return "–" if value is None else f"{value * 100:.0f}%"


def share_sentence(supports: int, refutes: int) -> str:
    """Return ``62% supporting (95% interval 55–68%, 45 of 72)`` for supports and refutes counts."""
    decided = supports + refutes
    if not decided:
        return "no link supports or refutes"
    interval = wilson_interval(supports, decided)
    assert interval is not None
    return (
        f"{percent(supports / decided)} supporting (95% interval {percent(interval[0])}–{percent(interval[1])},"
        f" {supports} of {decided})"
    )


class SplitChart(QWidget):
    """A horizontal bar per group: the share of its decided links (supports + refutes) that support.

    Each bar is split at the share supporting (blue) and refuting (vermillion), carries its 95%
    Wilson score interval as a black whisker, and a dashed line marks the share over everyone, so
    a group that disagrees stands out. Groups with fewer than ``SMALL_GROUP`` decided links are
    faded. Groups are sorted by share (most supporting first); ``(unknown)`` and groups with no
    decided link come last. Hovering a bar gives its counts.

    Attributes:
        groups: the groups drawn, in drawing order.
        field_label: the name of the field the groups come from.
        overall: the share supporting over every group (None when nothing is decided).
    """

    ROW = 18
    TOP = 40
    BOTTOM = 20
    LABEL_MIN = 90
    RIGHT = 120

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.groups: list[GroupSplit] = []
        self.field_label = ""
        self.overall: float | None = None
        self.message = "Choose a proposal to see how groups split."
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMouseTracking(True)
        self.setAccessibleName("Split of the evidence by group")

    def set_split(self, groups: Sequence[GroupSplit], field_label: str) -> None:
        """Draw ``groups`` of the field called ``field_label``."""
        self.field_label = field_label
        supports = sum(g.supports for g in groups)
        decided = sum(g.decided for g in groups)
        self.overall = supports / decided if decided else None
        self.groups = sorted(
            groups,
            key=lambda g: (g.group == UNKNOWN_GROUP, g.share is None, -(g.share or 0.0), -g.decided, g.group),
        )
        self.message = "" if groups else "No linked justification to split."
        self.setAccessibleDescription(self.summary_text())
        self.updateGeometry()
        self.update()

    def clear(self, message: str = "") -> None:
        """Draw nothing but ``message``."""
        self.groups = []
        self.overall = None
        self.message = message
        self.updateGeometry()
        self.update()

    def summary_text(self) -> str:
        """Return the chart as plain text, one group a line (accessibility, copying)."""
        lines = [f"{self.field_label}: share supporting by group (overall {percent(self.overall)})"]
        for g in self.groups:
            lines.append(f"{g.group}: {share_sentence(g.supports, g.refutes)}; {g.no_comment} no comment")
        return "\n".join(lines)

    # ---- geometry --------------------------------------------------------------------------------

    def sizeHint(self) -> QSize:
        """Qt override: one row per group."""
        rows = max(len(self.groups), 1)
        return QSize(420, self.TOP + rows * self.ROW + self.BOTTOM)

    def minimumSizeHint(self) -> QSize:
        """Qt override: as tall as the rows need."""
        return QSize(260, self.sizeHint().height())

    def _label_width(self) -> int:
        metrics = QFontMetrics(self.font())
        widest = max((metrics.horizontalAdvance(g.group) for g in self.groups), default=0)
        return max(self.LABEL_MIN, min(widest + 12, self.width() // 3))

    def _plot(self) -> tuple[float, float]:
        left = self._label_width() + 8
        right = max(left + 40, self.width() - self.RIGHT)
        return float(left), float(right)

    def row_at(self, y: float) -> int:
        """Return the group index drawn at height ``y``, or -1."""
        i = int((y - self.TOP) // self.ROW)
        return i if 0 <= i < len(self.groups) and y >= self.TOP else -1

    # ---- painting --------------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        """Qt override: draw the legend, the bars, their intervals and the overall line."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        text_colour = palette.color(palette.ColorRole.WindowText)
        painter.fillRect(self.rect(), palette.color(palette.ColorRole.Base))
        metrics = QFontMetrics(self.font())
        if not self.groups:
            painter.setPen(QColor(fg("#6b6b6b")))
            painter.drawText(self.rect().adjusted(8, 0, -8, 0), Qt.AlignmentFlag.AlignVCenter, self.message)
            painter.end()
            return
        left, right = self._plot()
        width = right - left
        # Legend.
        x = 8.0
        for name, label in (("supports", "supports"), ("refutes", "refutes")):
            painter.fillRect(QRectF(x, 8, 10, 10), QColor(STANCE_COLOURS[name]))
            painter.setPen(text_colour)
            painter.drawText(QPointF(x + 14, 17), label)
            x += 14 + metrics.horizontalAdvance(label) + 14
        painter.setPen(text_colour)
        note = f"per {self.field_label.lower()} · whisker: 95% interval · dashed: everyone"
        painter.drawText(QRectF(x, 2, self.width() - x - 8, 20), Qt.AlignmentFlag.AlignVCenter,
                         metrics.elidedText(note, Qt.TextElideMode.ElideRight, int(self.width() - x - 8)))
        label_width = self._label_width()
        bold = QFont(self.font())
        for i, g in enumerate(self.groups):
            top = self.TOP + i * self.ROW
            bar = QRectF(left, top + 4, width, self.ROW - 8)
            faded = g.decided < SMALL_GROUP
            painter.setFont(bold if not faded else self.font())
            painter.setPen(QColor(fg("#8a94a6")) if faded else text_colour)
            label = metrics.elidedText(g.group, Qt.TextElideMode.ElideRight, label_width)
            painter.drawText(QRectF(4, top, label_width, self.ROW),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, label)
            if g.share is None:
                painter.fillRect(bar, QColor(STANCE_COLOURS["unlabelled"]))
                painter.setPen(QColor(fg("#6b6b6b")))
                painter.drawText(QRectF(right + 6, top, self.RIGHT - 8, self.ROW), Qt.AlignmentFlag.AlignVCenter,
                                 f"no stance · {g.no_comment + g.unlabelled}")
                continue
            alpha = 110 if faded else 255
            supports = QColor(STANCE_COLOURS["supports"])
            refutes = QColor(STANCE_COLOURS["refutes"])
            supports.setAlpha(alpha)
            refutes.setAlpha(alpha)
            split = left + width * g.share
            painter.fillRect(QRectF(left, bar.top(), split - left, bar.height()), supports)
            painter.fillRect(QRectF(split, bar.top(), right - split, bar.height()), refutes)
            interval = wilson_interval(g.supports, g.decided)
            if interval is not None:
                painter.setPen(QPen(_marker_colour(faded), 1.5))
                mid = top + self.ROW / 2
                low, high = left + width * interval[0], left + width * interval[1]
                painter.drawLine(QPointF(low, mid), QPointF(high, mid))
                painter.drawLine(QPointF(low, mid - 3), QPointF(low, mid + 3))
                painter.drawLine(QPointF(high, mid - 3), QPointF(high, mid + 3))
            painter.setPen(QColor(fg("#8a94a6")) if faded else text_colour)
            painter.drawText(QRectF(right + 6, top, self.RIGHT - 8, self.ROW), Qt.AlignmentFlag.AlignVCenter,
                             f"{percent(g.share)} of {g.decided}")
        # Axis: 0, 50, 100% and the overall share.
        bottom = self.TOP + len(self.groups) * self.ROW
        painter.setFont(self.font())
        painter.setPen(QColor(fg("#8a94a6")))
        for share in (0.0, 0.5, 1.0):
            x = left + width * share
            painter.drawLine(QPointF(x, bottom), QPointF(x, bottom + 3))
            text = percent(share)
            painter.drawText(QPointF(x - metrics.horizontalAdvance(text) / 2, bottom + 15), text)
        if self.overall is not None:
            x = left + width * self.overall
            pen = QPen(text_colour, 1.2, Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.drawLine(QPointF(x, self.TOP - 2), QPointF(x, bottom))
            text = f"everyone {percent(self.overall)}"
            shift = metrics.horizontalAdvance(text) + 3 if x + metrics.horizontalAdvance(text) + 3 > right else -0.0
            painter.drawText(QPointF(x + 3 - shift, self.TOP - 5), text)
        painter.end()

    def event(self, event: QEvent) -> bool:
        """Qt override: a tooltip with the counts of the group under the mouse."""
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            i = self.row_at(event.pos().y())
            if i >= 0:
                QToolTip.showText(event.globalPos(), self.group_tooltip(i), self)
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().event(event)

    def group_tooltip(self, i: int) -> str:
        """Return the tooltip of group ``i``."""
        g = self.groups[i]
        lines = [
            f"{self.field_label}: {g.group}",
            f"{g.supports} supports, {g.refutes} refutes, {g.no_comment} no comment"
            + (f", {g.unlabelled} unlabelled" if g.unlabelled else ""),
            share_sentence(g.supports, g.refutes),
            "Share = supports / (supports + refutes); interval: Wilson score, 95%.",
        ]
        if g.decided < SMALL_GROUP:
            lines.append(f"Fewer than {SMALL_GROUP} links support or refute: read this share with care.")
        return "\n".join(lines)


def _marker_colour(faded: bool) -> QColor:
    """The interval marker: dark on a light window, light on a dark one."""
    colour = QColor("#ffffff" if scheme() == DARK else "#000000")
    colour.setAlpha(200 if not faded else 110)
    return colour
