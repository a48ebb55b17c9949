"""Crowd–ranker agreement per section: a chart with intervals, a sortable table, and each section's evidence."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    QPointF,
    QRectF,
    QSize,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QHelpEvent,
    QImage,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
    QResizeEvent,
    QShortcut,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTableView,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from reviewer.agreement import (
    MIN_CONVERSATIONS,
    AgreementResult,
    SectionAgreement,
    Share,
    TrustRow,
    compute_agreement,
    label_trust,
    section_assessments,
    section_proposal_ids,
)
from reviewer.errors import KnownError
from reviewer.evidence import demographic_fields
from reviewer.ops import Area
from reviewer.palette import AGREEMENT_OVERALL, AGREEMENT_POINT, OKABE_ITO
from reviewer.queue import QueueRow, queue_rows
from reviewer.rankings import normalise, pairwise_agreement, parse_ranking
from reviewer.reliability import DEFAULT_SEED as RELIABILITY_SEED
from reviewer.reliability import Reliability, label_reliability
from reviewer.render import escape
from reviewer.store import Store
from ui.access import describe
from ui.changes import Follower
from ui.dialogs import Dialogs
from ui.labels import PlainLabel, RichLabel, plain_tooltip, shown
from ui.models.queue import COL_KIND, COL_ORIGIN, COL_SECTIONS, COL_TITLE, ID_ROLE, QueueModel
from ui.workers import WorkspaceLane

# Okabe–Ito (reviewer.palette), as in reviewer.charts: the exported SVG and the screen use the same group colours.
PALETTE = OKABE_ITO
SHAPES = ("diamond", "square", "triangle", "triangle_down")  # beyond eight groups colours repeat, shapes don't
DEFAULT_SEED = 1
RANDOM_SEED = -1  # the seed box's "random" value
# The split box needs only the fields' names: reading the first participants keeps listing them
# fast however large the workspace (the evidence view, which shows the counts, reads them all).
FIELD_SAMPLE = 20000


# ---- reading (no Qt: these run on the workspace lane) ------------------------------------------


@dataclass(frozen=True)
class AgreementOptions:
    """What to compute.

    Attributes:
        min_relevance: the grade a conversation needs for a section.
        view: ``world`` or ``personal`` rankings.
        resamples: bootstrap resamples.
        seed: the random seed, or None for a fresh one.
        by: the demographic field to split on, or None.
    """

    min_relevance: int = 5
    view: str = "world"
    resamples: int = 1000
    seed: int | None = DEFAULT_SEED
    by: str | None = None


@dataclass(frozen=True)
class AgreementOutcome:
    """A computed agreement with what the controls need.

    Attributes:
        result: the agreement, sections carrying their titles.
        fields: the demographic fields one can split on.
    """

    result: AgreementResult
    fields: tuple[str, ...]


@dataclass(frozen=True)
class ConversationAgreement:
    """One conversation of a section, with the crowd's agreement with the ranker on it.

    Attributes:
        conversation_id: the conversation.
        prompt_id: its source id (the CA-1 prompt id).
        first_line: the first line of the prompt.
        ranker_ranking: the ranker's ranking.
        assessments: assessments with a usable ranking.
        agreeing: agreeing pairs, pooled over them.
        counted: counted pairs.
        share: agreeing / counted, or None.
    """

    conversation_id: str
    prompt_id: str
    first_line: str
    ranker_ranking: str
    assessments: int
    agreeing: int
    counted: int
    share: float | None


@dataclass(frozen=True)
class SectionDetail:
    """A section's conversations and the proposals that change it.

    Attributes:
        section_id: the section.
        conversations: its conversations in the ranker run, least agreement first.
        proposals: the proposals touching it, as the review queue shows them.
    """

    section_id: str
    conversations: tuple[ConversationAgreement, ...]
    proposals: tuple[QueueRow, ...]


def section_titles(workspace: Any, revision: str) -> dict[str, str]:
    """Return section id → title at ``revision`` (or HEAD when that revision cannot be read)."""
    for rev in (revision, "HEAD"):
        try:
            document = workspace.load_spec(rev).document
        except KnownError:
            continue
        return {s.id: s.title for s in document.sections if s.id}
    return {}


def compute_for_view(workspace: Any, options: AgreementOptions) -> AgreementOutcome:
    """Compute the agreement the view shows (``reviewer.agreement.compute_agreement``), with titles.

    Raises:
        KnownError: no ranker run, an unknown field, or an option out of range.
    """
    fields = tuple(f.name for f in demographic_fields(workspace.store, sample=FIELD_SAMPLE))
    result = compute_agreement(workspace.store, min_relevance=options.min_relevance, by=options.by,
                               resamples=options.resamples, seed=options.seed, view=options.view)
    titles = section_titles(workspace, result.spec_revision)
    result = replace(result, sections=tuple(replace(s, title=titles.get(s.section_id or "", s.title))
                                            for s in result.sections))
    return AgreementOutcome(result, fields)


def prompt_first_line(raw: str, limit: int = 200) -> str:
    """Return the first non-empty line of a stored prompt (JSON messages, or plain text)."""
    text = raw
    try:
        data = json.loads(raw)
    except (TypeError, ValueError):
        data = raw
    if isinstance(data, dict):
        data = data.get("messages", data.get("content", ""))
    if isinstance(data, list):
        messages = [m for m in data if isinstance(m, dict)]
        chosen = next((m for m in messages if m.get("role") == "user"), messages[0] if messages else {})
        content = chosen.get("content", "")
        if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}]
            content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        text = str(content)
    elif isinstance(data, str):
        text = data
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _code(text: Any, cache: dict[Any, Any]) -> Any:
    if text not in cache:
        try:
            cache[text] = parse_ranking(normalise(str(text))) if text else None
        except KnownError:
            cache[text] = None
    return cache[text]


def section_detail(store: Store, *, run_id: str, section_id: str, min_relevance: int,
                   view: str = "world") -> SectionDetail:
    """Return the conversations of one section in a ranker run, with their agreement, and its proposals.

    The conversations are those ``reviewer.agreement`` counts for the section: graded at least
    ``min_relevance`` (the effective grade: person over model over rule, then the latest), ranked by
    the run, and with at least one usable participant ranking. Agreement is pooled over the
    conversation's assessments, pair by pair, ties dropped.

    Raises:
        KnownError: an unknown view.
    """
    assessments = section_assessments(store, run_id=run_id, section_id=section_id,
                                      min_relevance=min_relevance, view=view)
    cache: dict[Any, Any] = {}
    totals: dict[str, list[Any]] = {}
    for row in assessments:
        machine = _code(row.ranker_ranking, cache)
        crowd = _code(row.crowd_ranking, cache)
        if machine is None or crowd is None:
            continue  # as in reviewer.agreement: no usable ranking, no contribution
        entry = totals.setdefault(row.conversation_id, [row.prompt_id, row.prompt, row.ranker_ranking, 0, 0, 0])
        pair = pairwise_agreement(crowd, machine)
        entry[3] += 1
        entry[4] += pair.agreeing
        entry[5] += pair.counted
    conversations = [
        ConversationAgreement(
            conversation_id=cid, prompt_id=str(prompt_id), first_line=prompt_first_line(prompt),
            ranker_ranking=str(ranker_text), assessments=n, agreeing=agreeing, counted=counted,
            share=agreeing / counted if counted else None)
        for cid, (prompt_id, prompt, ranker_text, n, agreeing, counted) in totals.items()
    ]
    conversations.sort(key=lambda c: (c.share is None, c.share or 0.0, c.prompt_id))
    ids = section_proposal_ids(store, section_id)
    proposals = tuple(queue_rows(store, ids)) if ids else ()
    return SectionDetail(section_id, tuple(conversations), proposals)


# ---- formatting --------------------------------------------------------------------------------


def pct(value: float | None, digits: int = 0) -> str:
    """Return a share as a percentage ("–" for none)."""
    return "–" if value is None else f"{value * 100:.{digits}f}%"


def interval_text(share: Share) -> str:
    """Return a share's interval as "[low–high%]"."""
    if share.low is None or share.high is None:
        return "–"
    return f"{share.low * 100:.0f}–{share.high * 100:.0f}%"


def _group_lines(entry: SectionAgreement, limit: int = 40) -> list[str]:
    lines = [f"{name}: {pct(g.share)} [{interval_text(g)}], {g.counted:,} pairs"
             for name, g in list(entry.groups.items())[:limit]]
    if len(entry.groups) > limit:
        lines.append(f"… and {len(entry.groups) - limit} more groups")
    return lines


# ---- item models -------------------------------------------------------------------------------

_Index = QModelIndex | QPersistentModelIndex
SortRole = Qt.ItemDataRole.UserRole + 1
SectionIdRole = Qt.ItemDataRole.UserRole + 2
ConversationIdRole = Qt.ItemDataRole.UserRole + 3
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


class AgreementTableModel(QAbstractTableModel):
    """The sections of an agreement result, one row each, in the result's order (highest agreement first).

    Sort through a ``QSortFilterProxyModel`` on ``SortRole`` (numbers sort as numbers).

    Attributes:
        entries: the sections shown, in row order.
        result: the result shown (None before the first computation).
    """

    COLUMNS = ("Section", "Title", "Conversations", "Pairs", "Agreement", "95% interval")
    SECTION, TITLE, CONVERSATIONS, PAIRS, AGREEMENT, INTERVAL = range(6)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.entries: list[SectionAgreement] = []
        self.result: AgreementResult | None = None

    def set_result(self, result: AgreementResult | None) -> None:
        """Show the sections of ``result`` (None clears the table)."""
        self.beginResetModel()
        self.result = result
        self.entries = list(result.sections) if result else []
        self.endResetModel()

    def row_of(self, section_id: str) -> int:
        """Return the row of a section, or -1."""
        for row, entry in enumerate(self.entries):
            if entry.section_id == section_id:
                return row
        return -1

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        """Qt override."""
        return 0 if parent.isValid() else len(self.entries)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        """Qt override."""
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Qt override."""
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self.COLUMNS):
            if role == Qt.ItemDataRole.DisplayRole:
                return self.COLUMNS[section]
            if role == Qt.ItemDataRole.ToolTipRole and section == self.AGREEMENT:
                return "Pooled pairwise agreement between each participant's ranking and the ranker's"
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Qt override."""
        if not index.isValid() or not 0 <= index.row() < len(self.entries):
            return None
        entry = self.entries[index.row()]
        s = entry.stats
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return shown((entry.section_id or "overall", entry.title or "", f"{s.conversations:,}", f"{s.counted:,}",
                          pct(s.share, 1), interval_text(s))[column])
        if role == SortRole:
            return (entry.section_id or "", (entry.title or "").lower(), s.conversations, s.counted,
                    -1.0 if s.share is None else s.share, -1.0 if s.low is None else s.low)[column]
        if role == Qt.ItemDataRole.TextAlignmentRole and column >= self.CONVERSATIONS:
            return _RIGHT
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [f"{entry.section_id}: {entry.title}" if entry.title else str(entry.section_id),
                     f"{pct(s.share, 1)} agreement, 95% interval {interval_text(s)}",
                     f"{s.agreeing:,} of {s.counted:,} pairs agree; {s.conversations:,} conversations, "
                     f"{s.assessments:,} assessments"]
            if entry.groups and self.result is not None:
                lines.append(f"By {self.result.by}:")
                lines.extend(_group_lines(entry))
            return plain_tooltip("\n".join(lines))
        if role == SectionIdRole:
            return entry.section_id
        return None


class SectionConversationsModel(QAbstractTableModel):
    """The conversations of one section, with the crowd's agreement with the ranker on each.

    Attributes:
        rows: the conversations, in row order.
    """

    COLUMNS = ("Prompt", "Assessments", "Agreement", "Ranker")
    PROMPT, ASSESSMENTS, AGREEMENT, RANKER = range(4)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: list[ConversationAgreement] = []

    def set_rows(self, rows: tuple[ConversationAgreement, ...] | list[ConversationAgreement]) -> None:
        """Show ``rows``."""
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        """Qt override."""
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        """Qt override."""
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Qt override."""
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole \
                and 0 <= section < len(self.COLUMNS):
            return self.COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Qt override."""
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        row = self.rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return shown((row.first_line, f"{row.assessments:,}", pct(row.share), row.ranker_ranking)[column])
        if role == SortRole:
            return (row.first_line.lower(), row.assessments, -1.0 if row.share is None else row.share,
                    row.ranker_ranking)[column]
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (self.ASSESSMENTS, self.AGREEMENT):
            return _RIGHT
        if role == Qt.ItemDataRole.ToolTipRole:
            return plain_tooltip(f"{row.first_line}\nPrompt {row.prompt_id}\n{row.agreeing:,} of {row.counted:,} pairs "
                                 f"agree with the ranker ({row.ranker_ranking}) over {row.assessments:,} assessments")
        if role == ConversationIdRole:
            return row.conversation_id
        return None


def _sorting_proxy(source: QAbstractTableModel, parent: Any) -> QSortFilterProxyModel:
    proxy = QSortFilterProxyModel(parent)
    proxy.setSourceModel(source)
    proxy.setSortRole(SortRole)
    return proxy


# ---- the chart ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Geometry:
    label_right: float
    plot_left: float
    plot_right: float
    top: float
    bottom: float

    def x(self, share: float) -> float:
        return self.plot_left + max(0.0, min(1.0, share)) * (self.plot_right - self.plot_left)


def _marker(centre: QPointF, shape: str, size: float) -> QPainterPath:
    x, y, s = centre.x(), centre.y(), size
    path = QPainterPath()
    if shape == "square":
        path.addRect(QRectF(x - s * 0.8, y - s * 0.8, s * 1.6, s * 1.6))
        return path
    points = {
        "diamond": [(x, y - s), (x + s, y), (x, y + s), (x - s, y)],
        "triangle": [(x, y - s), (x + s, y + s * 0.8), (x - s, y + s * 0.8)],
        "triangle_down": [(x, y + s), (x + s, y - s * 0.8), (x - s, y - s * 0.8)],
    }[shape]
    path.moveTo(*points[0])
    for point in points[1:]:
        path.lineTo(*point)
    path.closeSubpath()
    return path


def group_style(position: int) -> tuple[QColor, str]:
    """Return the colour and marker shape of the group at ``position``."""
    return QColor(PALETTE[position % len(PALETTE)]), SHAPES[(position // len(PALETTE)) % len(SHAPES)]


class AgreementChart(QWidget):
    """Sections sorted by agreement: a point and its 95% interval per row, the overall line, group markers.

    Click a row (or use the arrow keys) to choose its section; hover for the figures.

    Signals:
        section_clicked(str): the user chose a section on the chart.

    Attributes:
        result: the agreement drawn (None: a placeholder text is drawn instead).
        entries: the sections in drawing order (highest agreement first).
        selected: the highlighted section, if any.
        placeholder: what is drawn without a result.
    """

    section_clicked = Signal(str)

    ROW = 24
    HEADER = 74
    FOOTER = 30
    LEGEND_ITEM = 210
    LEGEND_ROW = 18

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.result: AgreementResult | None = None
        self.entries: list[SectionAgreement] = []
        self.selected: str | None = None
        self.placeholder = "Compute the agreement to see the chart."
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAutoFillBackground(False)
        self.setAccessibleName("Agreement chart")
        self._update_height()

    # ---- content -----------------------------------------------------------------------------

    def set_result(self, result: AgreementResult | None) -> None:
        """Draw ``result`` (groups are drawn when it was split)."""
        self.result = result
        self.entries = sorted(result.sections, key=lambda e: (e.stats.share is None, -(e.stats.share or 0.0),
                                                               e.section_id or "")) if result else []
        if self.selected and all(e.section_id != self.selected for e in self.entries):
            self.selected = None
        self._update_height()
        self.update()

    def set_placeholder(self, text: str) -> None:
        """Show ``text`` instead of a chart (e.g. why there is none)."""
        self.placeholder = text
        self.set_result(None)

    def set_selected(self, section_id: str | None) -> None:
        """Highlight a section's row."""
        if section_id != self.selected:
            self.selected = section_id
            self.update()

    @property
    def groups(self) -> tuple[str, ...]:
        """The groups drawn (empty without a split)."""
        return self.result.group_names if self.result and self.result.by else ()

    # ---- geometry ----------------------------------------------------------------------------

    def _legend_height(self, width: int) -> int:
        if not self.groups:
            return 0
        columns = max(1, (width - 24) // self.LEGEND_ITEM)
        return 26 + self.LEGEND_ROW * math.ceil(len(self.groups) / columns)

    def chart_height(self, width: int | None = None) -> int:
        """Return the height the whole chart needs at ``width``."""
        width = self.width() if width is None else width
        if self.result is None:
            return 120
        return (self.HEADER + self.ROW * max(1, len(self.entries)) + self.FOOTER + self._hidden_height()
                + self._legend_height(width) + 8)

    def _hidden_height(self) -> int:
        """The height of the line that says which sections are left out (0 when none are)."""
        return self.LEGEND_ROW if self.result is not None and self.result.hidden_sections else 0

    def _geometry(self, width: int) -> _Geometry:
        label_right = min(300.0, max(140.0, width * 0.34))
        return _Geometry(label_right=label_right, plot_left=label_right + 14, plot_right=max(label_right + 120, width - 104),
                         top=self.HEADER, bottom=self.HEADER + self.ROW * max(1, len(self.entries)))

    def _update_height(self) -> None:
        self.setMinimumHeight(self.chart_height(max(self.width(), 480)))

    def sizeHint(self) -> QSize:
        """Qt override: as wide as the exported chart, as tall as all its rows."""
        return QSize(880, self.chart_height(880))

    def minimumSizeHint(self) -> QSize:
        """Qt override."""
        return QSize(480, self.chart_height(480))

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Qt override: the legend wraps, so the height follows the width."""
        super().resizeEvent(event)
        self._update_height()

    def row_at(self, y: float) -> int | None:
        """Return the row drawn at ``y``, if any."""
        if self.result is None or not self.entries:
            return None
        row = int((y - self.HEADER) // self.ROW)
        return row if 0 <= row < len(self.entries) and y >= self.HEADER else None

    # ---- painting ----------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        """Qt override."""
        painter = QPainter(self)
        try:
            self.paint(painter, self.width(), self.height())
        finally:
            painter.end()

    def render_image(self, scale: float = 2.0, width: int = 880) -> QImage:
        """Return the whole chart (every row, not just what is scrolled into view) as an image."""
        height = self.chart_height(width)
        image = QImage(int(width * scale), int(height * scale), QImage.Format.Format_ARGB32)
        image.setDevicePixelRatio(scale)
        image.fill(QColor("white"))
        painter = QPainter(image)
        try:
            painter.setFont(self.font())
            self.paint(painter, width, height, for_export=True)
        finally:
            painter.end()
        return image

    def paint(self, painter: QPainter, width: int, height: int, *, for_export: bool = False) -> None:
        """Draw the chart into ``painter`` over ``width`` × ``height`` pixels."""
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(QRectF(0, 0, width, height), QColor("white"))
        base = QFont(self.font())
        painter.setFont(base)
        metrics = QFontMetrics(base)
        if self.result is None:
            painter.setPen(QColor("#6b6b6b"))
            painter.drawText(QRectF(12, 12, width - 24, height - 24),
                             int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap), self.placeholder)
            return
        result = self.result
        g = self._geometry(width)
        # Title and note.
        bold = QFont(base)
        bold.setBold(True)
        bold.setPointSizeF(base.pointSizeF() * 1.1)
        painter.setFont(bold)
        painter.setPen(QColor("#222"))
        view = "world" if result.view == "world" else "personal"
        title = (f"Crowd–ranker agreement by section: {result.model}, {view} rankings, "
                 f"conversations graded ≥ {result.min_relevance}")
        painter.drawText(QPointF(12, 20), QFontMetrics(bold).elidedText(title, Qt.TextElideMode.ElideRight,
                                                                       width - 24))
        painter.setFont(base)
        painter.setPen(QColor("#6b6b6b"))
        seed = "random seed" if result.seed is None else f"seed {result.seed}"
        note = (f"Points: pooled pairwise agreement; bars: {result.confidence * 100:.0f}% bootstrap interval "
                f"({result.resamples:,} resamples of conversations, {seed}).")
        painter.drawText(QPointF(12, 38), metrics.elidedText(note, Qt.TextElideMode.ElideRight, width - 24))
        # Rows' backgrounds, then grid and ticks.
        for i, entry in enumerate(self.entries):
            y0 = g.top + self.ROW * i
            if entry.section_id == self.selected and not for_export:
                painter.fillRect(QRectF(0, y0, width, self.ROW), QColor("#d4e4f7"))
            elif i % 2:
                painter.fillRect(QRectF(0, y0, width, self.ROW), QColor("#f6f7f9"))
        painter.setPen(QPen(QColor("#dddddd"), 1))
        for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
            x = g.x(tick)
            painter.drawLine(QPointF(x, g.top - 8), QPointF(x, g.bottom))
        painter.setPen(QColor("#555"))
        for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
            x = g.x(tick)
            label = f"{tick * 100:.0f}%"
            painter.drawText(QPointF(x - metrics.horizontalAdvance(label) / 2, g.top - 12), label)
        # Overall line.
        overall = result.overall.stats
        if overall.share is not None:
            x = g.x(overall.share)
            painter.setPen(QPen(QColor(AGREEMENT_OVERALL), 1.5, Qt.PenStyle.DashLine))
            painter.drawLine(QPointF(x, g.top - 8), QPointF(x, g.bottom))
            label = f"overall {pct(overall.share)} [{interval_text(overall)}]"
            painter.setPen(QColor(AGREEMENT_OVERALL))
            lx = min(max(x - metrics.horizontalAdvance(label) / 2, g.plot_left - 10),
                     width - metrics.horizontalAdvance(label) - 8)
            painter.drawText(QPointF(lx, g.bottom + 18), label)
        if not self.entries:
            painter.setPen(QColor("#6b6b6b"))
            painter.drawText(QPointF(g.plot_left, g.top + 16),
                             f"No section has conversations graded ≥ {result.min_relevance}.")
        groups = self.groups
        for i, entry in enumerate(self.entries):
            self._paint_row(painter, metrics, g, entry, g.top + self.ROW * i + self.ROW / 2, groups, width)
        if result.hidden_sections:
            painter.setPen(QColor("#6b6b6b"))
            painter.drawText(QPointF(12, g.bottom + self.FOOTER + 8), metrics.elidedText(
                result.hidden_note() + ("" if for_export else " Tick “Show sections with fewer…” to list them."),
                Qt.TextElideMode.ElideRight, width - 24))
        if groups:
            self._paint_legend(painter, metrics, g.bottom + self.FOOTER + self._hidden_height(), width,
                               result.by or "", groups)

    def _paint_row(self, painter: QPainter, metrics: QFontMetrics, g: _Geometry, entry: SectionAgreement, y: float,
                   groups: tuple[str, ...], width: int) -> None:
        s = entry.stats
        label = entry.title or entry.section_id or "overall"
        painter.setPen(QColor("#222"))
        text = metrics.elidedText(label, Qt.TextElideMode.ElideRight, int(g.label_right - 12))
        painter.drawText(QPointF(g.label_right - metrics.horizontalAdvance(text), y + metrics.ascent() / 2 - 1), text)
        if s.share is None:
            painter.setPen(QColor("#6e6e6e"))
            painter.drawText(QPointF(g.plot_left, y + metrics.ascent() / 2 - 1), "no counted pairs")
            return
        if s.low is not None and s.high is not None:
            painter.setPen(QPen(QColor("#555"), 1.5))
            painter.drawLine(QPointF(g.x(s.low), y), QPointF(g.x(s.high), y))
            for edge in (s.low, s.high):
                painter.drawLine(QPointF(g.x(edge), y - 4), QPointF(g.x(edge), y + 4))
        for j, name in enumerate(groups):
            share = entry.groups.get(name)
            if share is None or share.share is None:
                continue
            colour, shape = group_style(j)
            painter.setPen(QPen(QColor("#333"), 0.6))
            painter.setBrush(colour)
            painter.drawPath(_marker(QPointF(g.x(share.share), y), shape, 4.2))
        painter.setPen(QPen(QColor("white"), 1.2))
        painter.setBrush(QColor(AGREEMENT_POINT))
        painter.drawEllipse(QPointF(g.x(s.share), y), 5.0, 5.0)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QColor("#444"))
        value = f"{pct(s.share)} (n={s.conversations:,})"
        painter.drawText(QPointF(g.plot_right + 12, y + metrics.ascent() / 2 - 1),
                         metrics.elidedText(value, Qt.TextElideMode.ElideRight, int(width - g.plot_right - 14)))

    def _paint_legend(self, painter: QPainter, metrics: QFontMetrics, top: float, width: int, by: str,
                      groups: tuple[str, ...]) -> None:
        painter.setPen(QColor("#222"))
        painter.drawText(QPointF(12, top + 14), f"Groups by {by}:")
        columns = max(1, (width - 24) // self.LEGEND_ITEM)
        for j, name in enumerate(groups):
            x = 20 + (j % columns) * self.LEGEND_ITEM
            y = top + 26 + self.LEGEND_ROW * (j // columns) + 6
            colour, shape = group_style(j)
            painter.setPen(QPen(QColor("#333"), 0.6))
            painter.setBrush(colour)
            painter.drawPath(_marker(QPointF(x, y), shape, 4.2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(QColor("#222"))
            painter.drawText(QPointF(x + 10, y + metrics.ascent() / 2 - 1),
                             metrics.elidedText(name, Qt.TextElideMode.ElideRight, self.LEGEND_ITEM - 20))

    # ---- interaction -------------------------------------------------------------------------

    def tooltip_at(self, x: float, y: float) -> str | None:
        """Return the tooltip text for a point: a group marker's figure, or the row's."""
        row = self.row_at(y)
        if row is None or self.result is None:
            return None
        entry = self.entries[row]
        g = self._geometry(self.width())
        for name in self.groups:
            share = entry.groups.get(name)
            if share is not None and share.share is not None and abs(g.x(share.share) - x) <= 5:
                return (f"{entry.section_id} — {self.result.by} = {name}: {pct(share.share, 1)} "
                        f"[{interval_text(share)}], {share.agreeing:,} of {share.counted:,} pairs, "
                        f"{share.conversations:,} conversations")
        s = entry.stats
        text = (f"{entry.section_id}" + (f": {entry.title}" if entry.title else "")
                + f"\n{pct(s.share, 1)} agreement, 95% interval {interval_text(s)}"
                + f"\n{s.agreeing:,} of {s.counted:,} pairs agree; {s.conversations:,} conversations, "
                  f"{s.assessments:,} assessments")
        return text

    def event(self, event: QEvent) -> bool:
        """Qt override: tooltips for rows and group markers."""
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            text = self.tooltip_at(event.pos().x(), event.pos().y())
            if text:
                QToolTip.showText(event.globalPos(), text, self)
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().event(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        """Qt override: a click on a row chooses its section."""
        row = self.row_at(event.position().y())
        if row is not None and event.button() == Qt.MouseButton.LeftButton:
            self.setFocus()
            section = self.entries[row].section_id or ""
            self.set_selected(section)
            self.section_clicked.emit(section)
            return
        super().mousePressEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Qt override: Up and Down move between sections."""
        step = {Qt.Key.Key_Up: -1, Qt.Key.Key_Down: 1}.get(Qt.Key(event.key()))
        if step is None or not self.entries:
            super().keyPressEvent(event)
            return
        ids = [e.section_id or "" for e in self.entries]
        current = ids.index(self.selected) if self.selected in ids else (-1 if step > 0 else len(ids))
        row = max(0, min(len(ids) - 1, current + step))
        self.set_selected(ids[row])
        self.section_clicked.emit(ids[row])


# ---- the view ----------------------------------------------------------------------------------


class AgreementView(QWidget):
    """Crowd–ranker agreement per section: controls, chart, sortable table, and the chosen section's evidence.

    The computation (``reviewer.agreement.compute_agreement``) and every read run on the workspace
    lane; the widget only shows their results.

    Signals:
        computed(object): a new ``AgreementResult`` is shown.
        proposal_requested(str): the user opened a proposal (its id) from the section's proposals.
        conversation_requested(str): the user opened a conversation (its id) from the section's list.
        section_shown(str): a section's conversations and proposals are listed.
        failed(object): a computation or a read failed.

    Attributes:
        lane: the workspace lane.
        result: the agreement shown, if any: ``full_result`` without the sections of fewer than
            ``MIN_CONVERSATIONS`` conversations, unless ``few_box`` asks for them.
        full_result: the agreement computed, every section listed.
        few_box: "Show sections with fewer than N conversations".
        fields: the demographic fields offered for the split.
        table_model: the sections (source model); ``table_proxy`` sorts it.
        conversations_model: the chosen section's conversations; ``conversations_proxy`` sorts it.
        proposals_model: the proposals touching the chosen section.
        chart: the chart widget.
        detail: the chosen section's detail, if any.
    """

    computed = Signal(object)
    proposal_requested = Signal(str)
    conversation_requested = Signal(str)
    section_shown = Signal(str)
    failed = Signal(object)

    def __init__(self, lane: WorkspaceLane, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lane = lane
        self.result: AgreementResult | None = None
        self.full_result: AgreementResult | None = None
        self.fields: tuple[str, ...] = ()
        self.detail: SectionDetail | None = None
        self._generation = 0
        self._detail_generation = 0
        # Computed the first time the tab is shown, and again when the crowd, the rankings, the
        # grades or the spec change (a resampled computation is not cheap: never while hidden).
        self.follower = Follower(self, self.refresh, lambda changes: changes.touches(
            Area.CROWD, Area.RANKINGS, Area.RELEVANCE, Area.COMMITS))
        self.on_changes = self.follower.on_changes

        # Controls.
        self.relevance_box = QSpinBox()
        self.relevance_box.setRange(1, 5)
        self.relevance_box.setValue(5)
        self.relevance_box.setToolTip("The relevance grade (1–5) a conversation needs to count for a section")
        self.view_box = QComboBox()
        self.view_box.addItem("World", "world")
        self.view_box.addItem("Personal", "personal")
        self.view_box.setToolTip("Participants' rankings for the world at large, or for themselves")
        self.resamples_box = QSpinBox()
        self.resamples_box.setRange(0, 100_000)
        self.resamples_box.setSingleStep(500)
        self.resamples_box.setValue(1000)
        self.resamples_box.setGroupSeparatorShown(True)
        self.resamples_box.setToolTip("Bootstrap resamples of conversations for the 95% intervals (0: none)")
        self.seed_box = QSpinBox()
        self.seed_box.setRange(RANDOM_SEED, 2**31 - 1)
        self.seed_box.setSpecialValueText("random")
        self.seed_box.setValue(DEFAULT_SEED)
        self.seed_box.setToolTip("Random seed: the same seed gives the same intervals")
        self.seed_box.setMaximumWidth(110)
        self.by_box = QComboBox()
        self.by_box.addItem("None (overall)", None)
        self.by_box.setToolTip("Split each section's figure by a demographic field")
        self.by_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.compute_button = QPushButton("&Compute")
        self.compute_button.setToolTip("Compute the agreement with these settings (F5)")
        self.compute_button.clicked.connect(self.refresh)
        refresh = QShortcut(QKeySequence(QKeySequence.StandardKey.Refresh), self)
        refresh.activated.connect(self.refresh)
        self.png_button = QPushButton("Export &PNG…")
        self.svg_button = QPushButton("E&xport SVG…")
        self.png_button.clicked.connect(self.on_export_png)
        self.svg_button.clicked.connect(self.on_export_svg)
        controls = QHBoxLayout()
        for text, widget in (("Min. &relevance:", self.relevance_box), ("Ran&kings:", self.view_box),
                             ("R&esamples:", self.resamples_box), ("See&d:", self.seed_box),
                             ("Split &by:", self.by_box)):
            label = PlainLabel(text)
            label.setBuddy(widget)
            controls.addWidget(label)
            controls.addWidget(widget)
            controls.addSpacing(6)
        controls.addWidget(self.compute_button)
        controls.addStretch(1)
        controls.addWidget(self.png_button)
        controls.addWidget(self.svg_button)

        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setMaximumWidth(160)
        self.busy.setTextVisible(False)
        self.busy.hide()
        self.summary = RichLabel("Not computed yet.")
        self.summary.setWordWrap(True)
        # A section with one or two conversations has an interval that says nothing ("94–94%") and
        # would top the chart: such sections are listed only on request.
        self.few_box = QCheckBox(f"Show sections with fe&wer than {MIN_CONVERSATIONS} conversations")
        self.few_box.setToolTip(
            f"Sections with fewer than {MIN_CONVERSATIONS} conversations graded relevant are left out: with so "
            "few, the bootstrap interval is narrow only because there is almost nothing to resample "
            "(one conversation gives the same figure every time).")
        self.few_box.toggled.connect(self.on_few_toggled)
        status = QHBoxLayout()
        status.addWidget(self.busy)
        status.addWidget(self.summary, 1)
        status.addWidget(self.few_box, 0, Qt.AlignmentFlag.AlignTop)

        # Chart.
        self.chart = AgreementChart()
        describe(self.chart, None, "Each section's agreement as a point with its interval; click a row to choose it")
        self.chart.section_clicked.connect(self.select_section)
        self.chart_area = QScrollArea()
        describe(self.chart_area, "Agreement chart area", "Scrolls the agreement chart")
        self.chart_area.setWidget(self.chart)
        self.chart_area.setWidgetResizable(True)
        self.chart_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        # Table of sections.
        self.table_model = AgreementTableModel(self)
        self.table_proxy = _sorting_proxy(self.table_model, self)
        self.table = QTableView()
        describe(self.table, "Agreement by section", "Each section's agreement with its interval and number of conversations")
        self.table.setModel(self.table_proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(AgreementTableModel.AGREEMENT, Qt.SortOrder.DescendingOrder)
        self._list_table(self.table)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(AgreementTableModel.TITLE, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(AgreementTableModel.SECTION, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(AgreementTableModel.SECTION, 150)
        self.table.selectionModel().currentRowChanged.connect(self.on_table_row_changed)

        # The chosen section's conversations and proposals.
        self.conversations_label = RichLabel("Choose a section to see its conversations.")
        self.conversations_label.setWordWrap(True)
        self.conversations_model = SectionConversationsModel(self)
        self.conversations_proxy = _sorting_proxy(self.conversations_model, self)
        self.conversations = QTableView()
        describe(self.conversations, "Conversations of the section", "The conversations behind the chosen section's figure; "
                 "Enter opens one")
        self.conversations.setModel(self.conversations_proxy)
        self.conversations.setSortingEnabled(True)
        self.conversations.sortByColumn(SectionConversationsModel.AGREEMENT, Qt.SortOrder.AscendingOrder)
        self._list_table(self.conversations)
        header = self.conversations.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(SectionConversationsModel.PROMPT, QHeaderView.ResizeMode.Stretch)
        self.conversations.activated.connect(self.on_conversation_activated)
        self.proposals_label = PlainLabel("")
        self.proposals_model = QueueModel(self)
        self.proposals = QTableView()
        describe(self.proposals, "Proposals on the section", "The proposals that change the chosen section; Enter opens one "
                 "on the desk")
        self.proposals.setModel(self.proposals_model)
        self._list_table(self.proposals)
        for column in (COL_KIND, COL_ORIGIN, COL_SECTIONS):
            self.proposals.hideColumn(column)
        header = self.proposals.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COL_TITLE, QHeaderView.ResizeMode.Stretch)
        self.proposals.activated.connect(self.on_proposal_activated)
        detail = QWidget()
        detail_layout = QVBoxLayout(detail)
        detail_layout.setContentsMargins(0, 0, 0, 0)
        detail_layout.addWidget(self.conversations_label)
        detail_layout.addWidget(self.conversations, 3)
        detail_layout.addWidget(self.proposals_label)
        detail_layout.addWidget(self.proposals, 1)
        # How far each machine source of stance labels agrees with people: how much to trust it.
        self.trust_label = RichLabel()
        self.trust_label.setWordWrap(True)
        detail_layout.addWidget(self.trust_label)
        # Beside kappa per source: how far all the labellers together agree beyond chance.
        self.reliability_label = RichLabel()
        self.reliability_label.setWordWrap(True)
        self.reliability_label.setToolTip(
            "Krippendorff's alpha (nominal) over every link labelled by two or more labellers: each person, model"
            " (with its prompt version) and rule is a labeller, with its latest label on the link.\n1 is perfect"
            " agreement, 0 is what chance gives, below 0 is systematic disagreement. The interval is a percentile"
            " bootstrap over links.")
        detail_layout.addWidget(self.reliability_label)
        self.reliability: Reliability | None = None

        lower = QSplitter(Qt.Orientation.Horizontal)
        lower.addWidget(self.table)
        lower.addWidget(detail)
        lower.setStretchFactor(0, 1)
        lower.setStretchFactor(1, 1)
        self.lower_splitter = lower
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.chart_area)
        self.splitter.addWidget(lower)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self._sized = False

        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addLayout(status)
        layout.addWidget(self.splitter, 1)
        self._set_busy(False)

    def showEvent(self, event: QShowEvent) -> None:
        """Qt override: on first show, give the chart most of the height and the lists half the width each."""
        super().showEvent(event)
        if not self._sized:
            self._sized = True
            total = max(self.splitter.height(), 400)
            self.splitter.setSizes([int(total * 0.55), total - int(total * 0.55)])
            width = max(self.lower_splitter.width(), 400)
            self.lower_splitter.setSizes([int(width * 0.55), width - int(width * 0.55)])

    @staticmethod
    def _list_table(view: QTableView) -> None:
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        view.verticalHeader().hide()
        view.verticalHeader().setDefaultSectionSize(view.fontMetrics().height() + 8)
        view.setWordWrap(False)
        view.setAlternatingRowColors(True)

    # ---- computing ---------------------------------------------------------------------------

    def options(self) -> AgreementOptions:
        """Return what the controls ask for."""
        seed = self.seed_box.value()
        return AgreementOptions(
            min_relevance=self.relevance_box.value(), view=str(self.view_box.currentData()),
            resamples=self.resamples_box.value(), seed=None if seed == RANDOM_SEED else seed,
            by=self.by_box.currentData() or None,
        )

    def refresh(self) -> None:
        """Compute the agreement with the current settings, on the lane (a newer request wins)."""
        options = self.options()
        self._generation += 1
        generation = self._generation
        self._set_busy(True)
        split = f", split by {escape(options.by)}" if options.by else ""
        self.summary.setText(f"Computing agreement ({options.resamples:,} resamples{split})…")
        self.lane.run(lambda ws: compute_for_view(ws, options),
                      success=lambda outcome: self.on_computed(generation, outcome),
                      failure=lambda error: self.on_failed(generation, error))
        self.lane.run(lambda ws: label_trust(ws.store), success=self.show_trust,
                      failure=lambda error: self.on_failed(generation, error))
        seed = RELIABILITY_SEED if options.seed is None else options.seed
        self.lane.run(lambda ws: label_reliability(ws.store, resamples=options.resamples, seed=seed),
                      success=self.show_reliability, failure=lambda error: self.on_failed(generation, error))

    def show_reliability(self, result: Reliability) -> None:
        """Show Krippendorff's alpha across every stance labeller, with its interval."""
        self.reliability = result
        if result.alpha is None:
            self.reliability_label.setText(
                "<b>All labellers together:</b> Krippendorff's α is not defined yet: it needs links labelled by two"
                f" or more labellers with more than one stance among them ({result.units:,} such links).")
            return
        interval = (f" <span style='color:#5f6b7a'>[{result.low:.2f}, {result.high:.2f}], 95% bootstrap"
                    " interval</span>" if result.low is not None and result.high is not None else "")
        who = ", ".join(f"{n} {kind if n == 1 else {'person': 'people'}.get(kind, kind + 's')}"
                        for kind, n in result.labellers.items())
        self.reliability_label.setText(
            f"<b>All labellers together:</b> Krippendorff's α = <b>{result.alpha:.2f}</b>{interval} over"
            f" {result.units:,} links labelled by two or more of {escape(who)}.")

    def show_trust(self, rows: list[TrustRow]) -> None:
        """Show each model or rule against people on stance labels (share agreeing, Cohen's kappa)."""
        self.trust_rows = rows
        if not rows:
            self.trust_label.setText(
                "<b>Stance labels, machines against people:</b> no link has been labelled by both a person "
                "and a model or rule yet, so no source's agreement with people can be shown."
            )
            return
        cells = "".join(
            f"<tr><td>{escape(r.source_kind)}: {escape(r.source_name)}</td><td align='right'>{r.compared:,}</td>"
            f"<td align='right'>{pct(r.share, 0) if r.share is not None else '–'}</td>"
            f"<td align='right'>{f'{r.kappa:.2f}' if r.kappa is not None else '–'}</td></tr>"
            for r in rows
        )
        self.trust_label.setText(
            "<b>Stance labels, machines against people</b> (links labelled by both):"
            "<table cellspacing='0' cellpadding='3'><tr><th align='left'>source</th><th>links</th>"
            f"<th>agreeing</th><th>Cohen's κ</th></tr>{cells}</table>"
        )

    def on_computed(self, generation: int, outcome: AgreementOutcome) -> None:
        """Show a computed agreement (unless a newer computation was asked for)."""
        if generation != self._generation:
            return
        self._set_busy(False)
        self._set_fields(outcome.fields)
        self.show_result(outcome.result)

    def show_result(self, result: AgreementResult) -> None:
        """Show ``result`` in the chart and the table, keeping the chosen section when it is still there.

        Sections with fewer than ``MIN_CONVERSATIONS`` conversations are left out (and counted)
        unless "Show sections with fewer…" is ticked.
        """
        previous = self.detail.section_id if self.detail else self.chart.selected
        self.full_result = result
        if not self.few_box.isChecked():
            result = result.keeping(MIN_CONVERSATIONS)
        self.result = result
        self.chart.set_result(result)
        self.table_model.set_result(result)
        o = result.overall.stats
        plural = "" if len(result.sections) == 1 else "s"
        hidden = f" · {escape(result.hidden_note())}" if result.hidden_sections else ""
        self.summary.setText(
            f"<b>Overall {pct(o.share, 1)}</b> [{interval_text(o)}] over {o.conversations:,} conversations "
            f"({o.counted:,} pairs) · ranker {escape(result.model)} on spec {escape(result.spec_revision[:12])} · "
            f"{len(result.sections)} section{plural} with conversations graded ≥ {result.min_relevance}"
            + (f" · split by {escape(result.by)}" if result.by else "") + hidden
        )
        self._set_busy(False)
        self.computed.emit(result)
        if previous and self.table_model.row_of(previous) >= 0:
            self.select_section(previous)
        else:
            self._clear_detail()

    def on_few_toggled(self, _checked: bool) -> None:
        """List the sections with few conversations, or leave them out again (nothing is recomputed)."""
        if self.full_result is not None:
            self.show_result(self.full_result)

    def on_failed(self, generation: int, error: BaseException) -> None:
        """Report a failed computation."""
        if generation != self._generation:
            return
        self._set_busy(False)
        self._report(error, "Computing the agreement")
        self.failed.emit(error)

    def _report(self, error: BaseException, what: str) -> None:
        if isinstance(error, KnownError):
            text = str(error)
        else:
            text = f"{what} failed because of an internal error."
            Dialogs.show_error(self, error)
        self.summary.setText(f'<span style="color:#b3261e">{escape(text)}</span>')
        if self.result is None:
            self.chart.set_placeholder(text)

    def _set_fields(self, fields: tuple[str, ...]) -> None:
        if fields == self.fields:
            return
        current = self.by_box.currentData()
        self.fields = fields
        self.by_box.blockSignals(True)
        self.by_box.clear()
        self.by_box.addItem("None (overall)", None)
        for name in fields:
            self.by_box.addItem(name, name)
        position = self.by_box.findData(current) if current else 0
        self.by_box.setCurrentIndex(max(position, 0))
        self.by_box.blockSignals(False)

    def set_split(self, field: str | None) -> None:
        """Choose the demographic field to split by (it is offered once a computation has listed it)."""
        if field is not None and self.by_box.findData(field) < 0:
            self.by_box.addItem(field, field)
        self.by_box.setCurrentIndex(max(self.by_box.findData(field) if field else 0, 0))

    def _set_busy(self, busy: bool) -> None:
        self.busy.setVisible(busy)
        self.compute_button.setEnabled(not busy)
        has_result = self.result is not None
        self.png_button.setEnabled(has_result and not busy)
        self.svg_button.setEnabled(has_result and not busy)

    # ---- sections ----------------------------------------------------------------------------

    def select_section(self, section_id: str) -> None:
        """Choose a section: select its table row, highlight it on the chart, and list its evidence."""
        row = self.table_model.row_of(section_id)
        if row < 0:
            return
        index = self.table_proxy.mapFromSource(self.table_model.index(row, 0))
        if self.table.currentIndex().row() != index.row() or not self.table.selectionModel().isSelected(index):
            self.table.setCurrentIndex(index)  # on_table_row_changed does the rest
            self.table.scrollTo(index)
        else:
            self._load_detail(section_id)

    def on_table_row_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        """A table row was chosen."""
        if not current.isValid():
            return
        section_id = self.table_proxy.data(current, SectionIdRole)
        if section_id:
            self._load_detail(section_id)

    def _load_detail(self, section_id: str) -> None:
        result = self.result
        if result is None:
            return
        self.chart.set_selected(section_id)
        row = next((i for i, e in enumerate(self.chart.entries) if e.section_id == section_id), None)
        if row is not None:
            y = AgreementChart.HEADER + AgreementChart.ROW * row
            self.chart_area.ensureVisible(0, y + AgreementChart.ROW // 2, 0, AgreementChart.ROW)
        self._detail_generation += 1
        generation = self._detail_generation
        self.conversations_label.setText(f"Loading the conversations of <b>{escape(section_id)}</b>…")

        def op(workspace: Any) -> SectionDetail:
            return section_detail(workspace.store, run_id=result.run_id, section_id=section_id,
                                  min_relevance=result.min_relevance, view=result.view)

        def shown(detail: SectionDetail) -> None:
            if generation == self._detail_generation:
                self.show_detail(detail)

        def failed(error: BaseException) -> None:
            if generation == self._detail_generation:
                self._report(error, "Reading the section's conversations")
                self.failed.emit(error)

        self.lane.run(op, success=shown, failure=failed)

    def show_detail(self, detail: SectionDetail) -> None:
        """List a section's conversations and the proposals touching it."""
        self.detail = detail
        self.conversations_model.set_rows(detail.conversations)
        self.proposals_model.set_rows(detail.proposals)
        n = len(detail.conversations)
        min_relevance = self.result.min_relevance if self.result else 5
        self.conversations_label.setText(
            f"<b>{escape(detail.section_id)}</b>: {n:,} conversation{'s' if n != 1 else ''} graded "
            f"≥ {min_relevance}, least agreement first. Double-click or Enter to open one."
        )
        count = len(detail.proposals)
        self.proposals_label.setText(
            f"{count} proposal{'s' if count != 1 else ''} touching this section"
            + (" (double-click or Enter to open):" if count else ".")
        )
        self.section_shown.emit(detail.section_id)

    def _clear_detail(self) -> None:
        self.detail = None
        self.chart.set_selected(None)
        self.conversations_model.set_rows([])
        self.proposals_model.set_rows([])
        self.conversations_label.setText("Choose a section (in the chart or the table) to see its conversations.")
        self.proposals_label.setText("")

    def on_conversation_activated(self, index: QModelIndex) -> None:
        """Open a conversation."""
        conversation_id = self.conversations_proxy.data(index, ConversationIdRole)
        if conversation_id:
            self.conversation_requested.emit(conversation_id)

    def on_proposal_activated(self, index: QModelIndex) -> None:
        """Open a proposal."""
        proposal_id = self.proposals_model.data(index, ID_ROLE)
        if proposal_id:
            self.proposal_requested.emit(proposal_id)

    # ---- export ------------------------------------------------------------------------------

    def export_png(self, path: str | Path, *, scale: float = 2.0) -> Path:
        """Write the whole chart as a PNG image.

        Raises:
            KnownError: nothing computed yet, or the file cannot be written.
        """
        if self.result is None:
            raise KnownError("There is no chart to export yet.", hint="Compute the agreement first.")
        path = Path(path)
        image = self.chart.render_image(scale)
        # The stubs say bytes for the format, but PySide6 only accepts str at run time.
        if not image.save(str(path), "PNG"):  # type: ignore[call-overload]
            raise KnownError(f"Cannot write the image {path}.", hint="Check the folder exists and is writable.")
        return path

    def export_svg(self, path: str | Path) -> Path:
        """Write the chart as SVG (``reviewer.charts.agreement_svg``, as the transparency report draws it).

        Raises:
            KnownError: nothing computed yet, or the file cannot be written.
        """
        from reviewer.charts import agreement_svg

        if self.result is None:
            raise KnownError("There is no chart to export yet.", hint="Compute the agreement first.")
        path = Path(path)
        try:
            path.write_text(agreement_svg(self.result, by=self.result.by), encoding="utf-8")
        except OSError as exc:
            raise KnownError(f"Cannot write {path}: {exc.strerror or exc}.") from exc
        return path

    def _export(self, kind: str, suffix: str, write: Any) -> None:
        name = f"agreement-{self.result.by}.{suffix}" if self.result and self.result.by else f"agreement.{suffix}"
        path = Dialogs.ask_save_path(self, f"Export the chart as {kind}", name, f"{kind} image (*.{suffix})")
        if not path:
            return
        try:
            written = write(path)
        except KnownError as exc:
            Dialogs.show_error(self, exc)
            self.failed.emit(exc)
            return
        self.summary.setText(self.summary.text() + f" · exported {escape(written.name)}")

    def on_export_png(self) -> None:
        """Ask where to write the PNG, and write it."""
        self._export("PNG", "png", self.export_png)

    def on_export_svg(self) -> None:
        """Ask where to write the SVG, and write it."""
        self._export("SVG", "svg", self.export_svg)
