"""The evidence beside the diff: supports and refutes columns, counts with an interval, and the split by group.

Counts, the split and the lists' pages are read on a ``PageReader`` (never on the GUI thread, and
beside the workspace lane, which meanwhile computes the diff); a stance is changed on the lane with
``reviewer.evidence.set_stance`` (a person's label that supersedes the earlier one, which is kept).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any, NamedTuple

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QPointF,
    QRect,
    QRectF,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QColor,
    QFont,
    QFontMetrics,
    QKeySequence,
    QPainter,
    QPen,
    QTextCharFormat,
    QTextLayout,
    QTextOption,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QMenu,
    QScrollArea,
    QSplitter,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from reviewer.decision_evidence import SeenEvidence, seen_evidence
from reviewer.errors import KnownError
from reviewer.evidence import (
    STANCES,
    UNLABELLED,
    EvidenceRow,
    EvidenceSummary,
    demographic_fields,
    evidence_page,
    evidence_row,
    evidence_summary,
    label_history,
)
from reviewer.judges.base import FLAGS
from reviewer.progress import Cancelled
from reviewer.render import escape
from reviewer.textsafe import base_direction, display_offset, display_text
from reviewer.triage import (
    NO_SOURCE,
    EvidenceFilter,
    FilterChoices,
    GroupRef,
    TriageCounts,
    filter_choices,
    opinion_group,
    prepare_search_index,
    triage_counts,
    triage_page,
)
from reviewer.vocab import EvidenceSort

if TYPE_CHECKING:
    import sqlite3
    from pathlib import Path

    from reviewer.ops import Changes, OpResult
    from reviewer.translation import Translation
from ui.access import describe
from ui.dialogs import Dialogs
from ui.labels import PlainLabel, RichLabel, plain_tooltip
from ui.models.evidence import (
    PAGE,
    QUOTE_BACKGROUND,
    SOURCE_COLOURS,
    EvidenceListModel,
    demographics_text,
    language_text,
    row_html,
    source_badge_text,
)
from ui.text_browser import SafeTextBrowser
from ui.theme import bg, fg
from ui.views.charts import STANCE_COLOURS, SplitChart, percent, share_sentence
from ui.views.help import follow_glossary_link, glossary_link
from ui.views.progress_panel import ProgressPanel
from ui.workers import PageReader, TaskProgress, WorkspaceLane

STANCE_TITLES = {"supports": "Supports", "refutes": "Refutes", "no_comment": "No comment", UNLABELLED: "Unlabelled"}
STANCE_KEYS = {"supports": "S", "refutes": "R", "no_comment": "N"}
TEXT_LINES = 3
KEYS_HINT = "Keys: S supports · R refutes · N no comment · D discuss · T translate · Enter opens · Ctrl+Z undo"
KEYS_HELP = ("S, R and N label every selected justification (Ctrl+Z undoes a labelling of several); D starts a"
             " discussion thread on it; T has the model translate it (shown under the original, labelled as a"
             " machine translation); Enter opens its conversation.")
# Offered first when choosing the language to translate into (any other language name can be typed).
COMMON_LANGUAGES = ("English", "Spanish", "French", "German", "Portuguese", "Italian", "Dutch", "Polish",
                    "Russian", "Ukrainian", "Turkish", "Arabic", "Hebrew", "Persian", "Hindi", "Bengali",
                    "Indonesian", "Vietnamese", "Thai", "Chinese (Simplified)", "Chinese (Traditional)",
                    "Japanese", "Korean", "Swahili")
SEARCH_DELAY_MS = 300  # typing pauses this long before the lists are searched again
SOURCE_TITLES = {"person": "Set by a person", "model": "Set by a model", "rule": "Set by the rule",
                 NO_SOURCE: "Unlabelled"}
# Enough for every list's visible items several screens back; each cached item is a few Python objects
# that the garbage collector walks until they are old, so a bigger cache makes collections longer.
_LAYOUT_CACHE = 500
_PAD = 6
_PREPARE_AT_ONCE = 4  # items laid out ahead per turn of the event loop (about 1 ms each at most)
_CHECK_EVERY = 20_000  # SQLite steps between checks that a reading is still wanted (well under 1 ms)
_Index = QModelIndex | QPersistentModelIndex


def field_title(name: str) -> str:
    """Return a readable title for a demographic key (``generative_ai_usage`` → ``Generative AI usage``)."""
    words = name.replace("_", " ").replace("-", " ").split()
    words = ["AI" if w.lower() == "ai" else w for w in words]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


class EvidenceDelegate(QStyledItemDelegate):
    """Paints one justification: a source badge, language, demographics, and three lines of text.

    The quoted span, if a label quotes one, is highlighted in the text. Every item has the same
    height. What an item needs to be drawn (the text layout, the elided badge and meta line) is
    built once per (justification, effective label, width) and kept in a small LRU cache, so
    scrolling only draws; a relabelled item (a new effective label) is drawn afresh, badge included.
    """

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._layouts: OrderedDict[tuple[str, str, int, str], _Drawn] = OrderedDict()
        self._fonts: dict[str, tuple[QFont, QFontMetrics, QFontMetrics]] = {}

    def clear_cache(self) -> None:
        """Forget every layout (after a font change)."""
        self._layouts.clear()
        self._fonts.clear()

    def _font_set(self, font: QFont) -> tuple[QFont, QFontMetrics, QFontMetrics]:
        key = font.key()
        found = self._fonts.get(key)
        if found is None:
            small = QFont(font)
            small.setPointSizeF(max(font.pointSizeF() - 1, 6))
            found = (small, QFontMetrics(font), QFontMetrics(small))
            self._fonts[key] = found
        return found

    def item_height(self, font: QFont) -> int:
        """Return the height of every item drawn with ``font``."""
        metrics = self._font_set(font)[1]
        return _PAD + metrics.height() + 4 + TEXT_LINES * metrics.lineSpacing() + _PAD

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:
        """Qt override: the same height for every item."""
        return QSize(200, self.item_height(option.font))

    def prepare(self, row: EvidenceRow, item_width: int, font: QFont) -> bool:
        """Lay out ``row`` for an item ``item_width`` wide ahead of painting; returns whether it was new."""
        width = max(item_width - 2 * _PAD, 20)
        if _cache_key(row, width, font) in self._layouts:
            return False
        self._drawn(row, width, font)
        return True

    def text_layout(self, row: EvidenceRow, width: int, font: QFont) -> QTextLayout:
        """Return the laid-out text of ``row`` for ``width``: at most three lines, the last elided."""
        return self._drawn(row, width, font).layout

    def badge_text(self, row: EvidenceRow, item_width: int, font: QFont) -> str:
        """Return the badge as drawn for ``row`` in an item ``item_width`` wide (elided if need be)."""
        return self._drawn(row, max(item_width - 2 * _PAD, 20), font).badge

    def _drawn(self, row: EvidenceRow, width: int, font: QFont) -> _Drawn:
        key = _cache_key(row, width, font)
        drawn = self._layouts.get(key)
        if drawn is not None:
            self._layouts.move_to_end(key)
            return drawn
        small, metrics, small_metrics = self._font_set(font)
        # Bidi overrides become markers (the quote's offsets move with them); the line breaks keep
        # the length, and QTextLayout breaks at U+2028.
        text = display_text(row.text).replace("\r", " ").replace("\n", "\u2028")
        span = row.quote_span()
        if span is not None:
            span = (display_offset(row.text, span[0]), display_offset(row.text, span[1]))
        layout = self._lay_out(text, span, width, font)
        if layout.lineCount() > TEXT_LINES:
            start = layout.lineAt(TEXT_LINES - 1).textStart()
            tail = metrics.elidedText(
                text[start:].replace("\u2028", " "), Qt.TextElideMode.ElideRight, max(width - 2, 10)
            )
            layout = self._lay_out(text[:start] + tail, span, width, font)
        badge = small_metrics.elidedText(display_text(source_badge_text(row)), Qt.TextElideMode.ElideRight,
                                         max(width // 2, 40))
        badge_width = small_metrics.horizontalAdvance(badge) + 10
        meta = display_text("  ".join(p for p in (language_text(row), demographics_text(row.demographics)) if p))
        meta = small_metrics.elidedText(meta, Qt.TextElideMode.ElideRight, max(width - badge_width - 6, 0))
        badge_colour = QColor(bg(SOURCE_COLOURS.get(row.source_kind or "", "#8a94a6")))  # the same in both schemes
        drawn = _Drawn(layout, badge, badge_width, meta, badge_colour)
        self._layouts[key] = drawn
        if len(self._layouts) > _LAYOUT_CACHE:
            self._layouts.popitem(last=False)
        return drawn

    @staticmethod
    def _lay_out(text: str, span: tuple[int, int] | None, width: int, font: QFont) -> QTextLayout:
        layout = QTextLayout(text, font)
        # Arabic and Hebrew read from the right: such an item is laid out and aligned right to left.
        if base_direction(text) == "rtl":
            option = QTextOption(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignAbsolute)
            option.setTextDirection(Qt.LayoutDirection.RightToLeft)
            layout.setTextOption(option)
        if span is not None and span[0] < len(text):
            quote = QTextLayout.FormatRange()
            quote.start = span[0]
            quote.length = min(span[1], len(text)) - span[0]
            char_format = QTextCharFormat()
            char_format.setBackground(QColor(QUOTE_BACKGROUND))
            char_format.setForeground(QColor("#000000"))
            quote.format = char_format
            layout.setFormats([quote])
        layout.beginLayout()
        y = 0.0
        while True:
            line = layout.createLine()
            if not line.isValid():
                break
            line.setLineWidth(width)
            line.setPosition(QPointF(0, y))
            y += line.height()
            if layout.lineCount() > TEXT_LINES:
                break
        layout.endLayout()
        return layout

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        """Qt override: draw the badge line and the text."""
        row = index.data(EvidenceListModel.RowRole)
        if row is None:
            super().paint(painter, option, index)
            return
        widget = option.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter, widget)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        palette = option.palette
        text_colour = palette.color(palette.ColorRole.HighlightedText if selected else palette.ColorRole.Text)
        rect: QRect = option.rect
        font = option.font
        small, metrics, _small_metrics = self._font_set(font)
        drawn = self._drawn(row, max(rect.width() - 2 * _PAD, 20), font)
        painter.save()
        painter.setClipRect(rect)
        painter.setPen(QColor(bg("#e3e6eb")))
        painter.drawLine(rect.bottomLeft(), rect.bottomRight())
        x = rect.left() + _PAD
        top = rect.top() + _PAD
        badge_rect = QRectF(x, top + 1, drawn.badge_width, metrics.height() - 2)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(_NO_PEN)
        painter.setBrush(drawn.badge_colour)
        painter.drawRoundedRect(badge_rect, 3, 3)
        painter.setFont(small)
        painter.setPen(_WHITE)
        painter.drawText(badge_rect, Qt.AlignmentFlag.AlignCenter, drawn.badge)
        if drawn.meta:
            painter.setPen(text_colour if selected else QColor(fg("#5f6b7a")))
            meta_left = x + drawn.badge_width + 6
            painter.drawText(QRectF(meta_left, top, rect.right() - _PAD - meta_left, metrics.height()),
                             Qt.AlignmentFlag.AlignVCenter, drawn.meta)
        painter.setFont(font)
        painter.setPen(text_colour)
        drawn.layout.draw(painter, QPointF(x, top + metrics.height() + 4))
        painter.restore()


def _flags_html(detail: dict[str, Any]) -> str:
    """Say, after a label in the labels list, that it is flagged and why ('' when it is not)."""
    flags = detail.get("flags") if isinstance(detail, dict) else None
    if not flags or not isinstance(flags, list):
        return ""
    reasons = "; ".join(FLAGS.get(str(flag), str(flag).replace("_", " ")) for flag in flags)
    rejected = detail.get("rejected_quote")
    quoted = f" (it quoted “{escape(str(rejected))}”)" if rejected else ""
    return f"<br/><b style='color:#9a5b00'>{glossary_link('flagged', 'flagged')}</b>: the model {escape(reasons)}{quoted}"


def _cache_key(row: EvidenceRow, width: int, font: QFont) -> tuple[str, str, int, str]:
    # The effective label is part of the key: the badge, colour and quote belong to it, and one
    # delegate draws all the lists, so an item that moved list after a relabel must not be drawn
    # from what was kept for its earlier label.
    return (row.justification_id, row.label_id or "", width, font.key())


class _Drawn(NamedTuple):
    """What the delegate keeps to draw one item at one width."""

    layout: QTextLayout
    badge: str
    badge_width: int
    meta: str
    badge_colour: QColor


class _Loaded(NamedTuple):
    """What the page reader reads when a proposal is shown: counts, fields, first pages, filtered counts, choices."""

    summary: EvidenceSummary
    fields: list[Any] | None
    pages: dict[str, list[EvidenceRow]]
    triage: TriageCounts | None
    choices: FilterChoices


_NO_PEN = QPen(Qt.PenStyle.NoPen)
_WHITE = QColor("#ffffff")


class _StanceList(QWidget):
    """A titled list of one stance's links (title shows the count)."""

    def __init__(self, stance: str, model: EvidenceListModel, delegate: EvidenceDelegate, parent: Any = None) -> None:
        super().__init__(parent)
        self.stance = stance
        self.title = RichLabel()
        # A one-column table rather than a QTableView: a list view lays every row out again when a
        # page is appended (tens of ms at 20,000 rows), a table's fixed-height rows cost nothing.
        self.view = QTableView()
        self.view.setObjectName(f"evidence_{stance}")
        self.view.setModel(model)
        self.view.setItemDelegate(delegate)
        self.view.horizontalHeader().hide()
        self.view.horizontalHeader().setStretchLastSection(True)
        rows = self.view.verticalHeader()
        rows.hide()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(delegate.item_height(self.view.font()))
        self.view.setShowGrid(False)
        self.view.setWordWrap(False)
        self.view.setTabKeyNavigation(False)
        self.view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.setAccessibleName(f"{STANCE_TITLES[stance]} justifications")
        self.view.setAccessibleDescription(f"The crowd's justifications labelled {STANCE_TITLES[stance].lower()}. "
                                           f"{KEYS_HINT}")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(self.view, 1)
        self.delegate = delegate
        self.model = model
        self._count: int | None = None
        self._of: int | None = None
        self._floor = False
        self.set_count(None)
        model.reading_changed.connect(lambda _reading: self.set_count(self._count, self._of, floor=self._floor))
        # Between frames, lay out the items just off screen, so that a scroll only has to draw them.
        self._prepare_timer = QTimer(self)
        self._prepare_timer.setSingleShot(True)
        self._prepare_timer.setInterval(0)
        self._prepare_timer.timeout.connect(self.prepare_nearby)
        self.view.verticalScrollBar().valueChanged.connect(self._prepare_timer.start)
        model.rowsInserted.connect(self._prepare_timer.start)

    def prepare_nearby(self) -> int:
        """Lay out a few of the items just off screen (a screen below, half a screen above).

        At most ``_PREPARE_AT_ONCE`` items a time, so that this never holds up an input event; the
        timer comes back for the rest. Returns how many were laid out.
        """
        rows = self.model.rowCount()
        if not rows or not self.view.isVisible():
            return 0
        height = self.view.verticalHeader().defaultSectionSize()
        first = max(self.view.rowAt(0), 0)
        screen = max(self.view.viewport().height() // max(height, 1), 1) + 1
        width, font = self.view.columnWidth(0), self.view.font()
        made = 0
        for row in (*range(first + screen, min(first + 2 * screen, rows)), *range(max(first - screen // 2, 0), first)):
            item = self.model.row_at(row)
            if item is not None and self.delegate.prepare(item, width, font):
                made += 1
                if made == _PREPARE_AT_ONCE:
                    self._prepare_timer.start()
                    break
        return made

    def set_count(self, count: int | None, of: int | None = None, *, floor: bool = False) -> None:
        """Show ``count`` links in the title (None: no proposal), ``of`` the list's whole length when filtered.

        ``floor``: ``count`` is a floor (a capped search, ``TriageCounts.capped``): "at least".
        """
        self._count, self._of, self._floor = count, of, floor
        colour = STANCE_COLOURS[self.stance]
        least = "at least " if floor else ""
        shown = "" if count is None else f" ({least}{count:,} of {of:,})" if of is not None else f" ({count:,})"
        reading = ' <span style="color:#5f6b7a">· reading more…</span>' if self.model.reading else ""
        self.title.setText(f'<b style="color:{colour}">{STANCE_TITLES[self.stance]}</b>{shown}{reading}')


class EvidenceView(QWidget):
    """A proposal's crowd evidence: counts, share supporting, the split by group and the justifications.

    Keys on a selected justification: S supports, R refutes, N no comment (recorded as a person's
    label in the current reviewer's name), T translates it with the model, Enter or double-click
    opens its conversation.

    Signals:
        loaded(str): the counts and the lists of a proposal are shown (its id).
        split_shown(str): the split chart of a proposal is drawn (its id).
        stance_changed(str, str, str): a stance was saved and the view updated (proposal id,
            justification id, stance).
        conversation_requested(str, str): open a conversation (conversation id, justification id).
        discussion_requested(str): start a discussion thread on a justification (its id).
        detail_shown(str): the selected justification is shown whole with its labels (its id).
        filtered(str): the lists of a proposal are shown through the filter bar's filter (its id).
        bulk_saved(str): several justifications were labelled in one operation (the bulk's id).
        undone(str): a bulk labelling was undone (its id).
        translated(str): a machine translation of a justification is shown in the detail pane (its id).
        failed(object): an operation failed or was refused (the error).

    Attributes:
        models: stance → its list model (supports, refutes, no_comment, unlabelled).
        chart: the split chart.
        summary: the counts of the proposal shown (``evidence_summary``), or None.
        seen: the evidence last read with the split (what a decision on the desk keeps), or None.
        reviewer: the name stances are recorded under ('' when not set).
        filter: what the filter bar narrows the lists to (``reviewer.triage``).
        triage: the filtered lists' counts, or None when no filter is active.
        translations: the machine translations received or read from the cache, by justification id.
    """

    loaded = Signal(str)
    split_shown = Signal(str)
    stance_changed = Signal(str, str, str)
    conversation_requested = Signal(str, str)
    discussion_requested = Signal(str)
    detail_shown = Signal(str)
    filtered = Signal(str)
    bulk_saved = Signal(str)
    undone = Signal(str)
    translated = Signal(str)
    failed = Signal(object)

    def __init__(self, lane: WorkspaceLane, reader: PageReader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lane = lane
        self.reader = reader
        self.reviewer = ""
        self.summary: EvidenceSummary | None = None
        self.seen: SeenEvidence | None = None
        self.proposal_id: str | None = None
        self._generation = 0
        self._fields_loaded = False
        self._active: QTableView | None = None
        # After a label under a filter the lists are read again: the row to select then (list, position, focus).
        self._reselect: tuple[str, int, bool] | None = None
        self.filter = EvidenceFilter()
        self.triage: TriageCounts | None = None
        self._index: Path | None = None
        self.translations: dict[str, Translation] = {}
        self.translate_to = ""
        self._history: tuple[str, list[Any]] | None = None  # the labels shown in the detail, by justification
        self._translating: TaskProgress | None = None
        self._translate_lane: WorkspaceLane | None = None

        self.counts_label = RichLabel("Choose a proposal.")
        self.counts_label.setWordWrap(True)
        # As tall as the counts and the share (two lines) while it says "Counting the evidence…": a
        # label that changed height would move the lists, the chart and the detail below it, and
        # have them all drawn again, twice for each proposal chosen.
        self.counts_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.counts_label.setMinimumHeight(2 * self.counts_label.fontMetrics().lineSpacing())
        self.counts_label.setToolTip(
            "Share supporting = supports / (supports + refutes); links that do not comment are left out.\n"
            "The 95% interval is the Wilson score interval for that proportion."
        )
        self.sources_label = PlainLabel()
        self.sources_label.setWordWrap(True)
        self.sources_label.setStyleSheet("color:#5f6b7a")
        self.field_combo = QComboBox()
        self.field_combo.setToolTip("Split the evidence by this field of the participants' demographics")
        self.field_combo.setAccessibleName("Split by")
        self.field_combo.currentIndexChanged.connect(self.on_field_changed)
        field_label = PlainLabel("Split by:")
        field_label.setBuddy(self.field_combo)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(field_label)
        top.addWidget(self.field_combo, 1)
        filters = self._build_filter_bar()

        self.chart = SplitChart()
        self.chart_scroll = QScrollArea()
        self.chart_scroll.setWidget(self.chart)
        describe(self.chart_scroll, "Split chart", "The share supporting the proposal in each group of the field chosen above")
        self.chart_scroll.setWidgetResizable(True)
        self.chart_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.chart_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        self.delegate = EvidenceDelegate(self)
        self.models = {s: EvidenceListModel(reader, s, self) for s in (*STANCES, UNLABELLED)}
        for model in self.models.values():
            model.failed.connect(lambda error: self._on_failure(self._generation, error))
        self.lists = {s: _StanceList(s, self.models[s], self.delegate) for s in self.models}
        columns = QSplitter(Qt.Orientation.Horizontal)
        columns.setChildrenCollapsible(False)
        columns.addWidget(self.lists["supports"])
        columns.addWidget(self.lists["refutes"])
        self.toggles: dict[str, QToolButton] = {}
        collapsed = QVBoxLayout()
        collapsed.setContentsMargins(0, 0, 0, 0)
        collapsed.setSpacing(2)
        for stance in ("no_comment", UNLABELLED):
            toggle = QToolButton()
            toggle.setCheckable(True)
            describe(toggle, None, f"Show or hide the {STANCE_TITLES[stance].lower()} justifications")
            toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            toggle.setArrowType(Qt.ArrowType.RightArrow)
            toggle.setAutoRaise(True)
            toggle.toggled.connect(lambda on, s=stance: self.set_expanded(s, on))
            self.toggles[stance] = toggle
            self.lists[stance].title.hide()
            self.lists[stance].hide()
            collapsed.addWidget(toggle)
            collapsed.addWidget(self.lists[stance], 1)
        self.toggles[UNLABELLED].hide()
        lists = QWidget()
        lists_layout = QVBoxLayout(lists)
        lists_layout.setContentsMargins(0, 0, 0, 0)
        lists_layout.setSpacing(2)
        lists_layout.addLayout(filters)
        lists_layout.addWidget(columns, 3)
        lists_layout.addLayout(collapsed)

        self.detail = SafeTextBrowser()
        describe(self.detail, "Justification", "The selected justification whole, with every label it has had")
        self.detail.anchorClicked.connect(lambda url: follow_glossary_link(self, url))
        self.detail.setPlaceholderText("Select a justification to read it whole, with every label it has had.")
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.chart_scroll)
        self.splitter.addWidget(lists)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 5)
        self.splitter.setStretchFactor(2, 1)
        # Small minimums, the lists first: the column must fit over the decision at 1366×768.
        line = self.fontMetrics().lineSpacing()
        self.chart_scroll.setMinimumHeight(3 * line + 8)
        self.detail.setMinimumHeight(2 * line + 12)
        self.splitter.setSizes([130, 460, 80])

        self.message = RichLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color:#5f6b7a")
        self.message.setToolTip(KEYS_HELP)
        self.say(KEYS_HINT)
        self.translation_progress = ProgressPanel()
        describe(self.translation_progress.cancel_button, "Cancel translation",
                 "Stop asking the model for this translation; nothing of it is saved")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.counts_label)
        layout.addWidget(self.sources_label)
        layout.addLayout(top)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.message)
        layout.addWidget(self.translation_progress)  # hidden until a translation is asked of the model

        self.stance_actions: dict[str, QAction] = {}
        for stance, key in STANCE_KEYS.items():
            action = QAction(f"Set stance: {STANCE_TITLES[stance].lower()}", self)
            action.setShortcut(QKeySequence(key))
            action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
            action.triggered.connect(lambda _checked=False, s=stance: self.set_selected_stance(s))
            self.stance_actions[stance] = action
        self.open_action = QAction("Open conversation", self)
        self.open_action.setShortcuts([QKeySequence(Qt.Key.Key_Return), QKeySequence(Qt.Key.Key_Enter)])
        self.open_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.open_action.triggered.connect(self.open_selected)
        self.copy_action = QAction("Copy text", self)
        self.copy_action.setShortcut(QKeySequence.StandardKey.Copy)
        self.copy_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.copy_action.triggered.connect(self.copy_selected)
        self.discuss_action = QAction("Discuss this justification", self)
        self.discuss_action.setShortcut(QKeySequence("D"))
        self.discuss_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.discuss_action.triggered.connect(self.discuss_selected)
        self.translate_action = QAction("Translate (machine translation)", self)
        self.translate_action.setShortcut(QKeySequence("T"))
        self.translate_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.translate_action.setToolTip("Have the model translate the selected justification; the translation is "
                                         "shown under the original, labelled, and kept so it is never asked twice")
        self.translate_action.triggered.connect(self.translate_selected)
        self.choose_language_action = QAction("Translate into another language…", self)
        self.choose_language_action.setToolTip("Choose the language T translates justifications into "
                                               "(remembered on this computer)")
        self.choose_language_action.triggered.connect(self.choose_translation_language)
        for item in self.lists.values():
            view = item.view
            for action in (*self.stance_actions.values(), self.open_action, self.copy_action, self.discuss_action,
                           self.translate_action):
                view.addAction(action)
            view.doubleClicked.connect(self.on_activated)
            view.customContextMenuRequested.connect(lambda pos, v=view: self.on_context_menu(v, pos))
            view.selectionModel().currentChanged.connect(lambda cur, _prev, v=view: self.on_current_changed(v, cur))
        # Go ▸ Evidence (Ctrl+E) lands in the supporting list, where S, R, N and Enter act.
        self.setFocusProxy(self.lists["supports"].view)
        self.set_proposal(None)

    def _build_filter_bar(self) -> QHBoxLayout:
        """The search box and the filters over the lists (country, language, label source, order)."""
        self.search_box = QLineEdit()
        self.search_box.setPlaceholderText("Search the justifications…")
        self.search_box.setClearButtonEnabled(True)
        self.search_box.setAccessibleName("Search the justifications")
        self.search_box.setToolTip('Words (all must occur; the last may be the start of a word) and "phrases"')
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self.apply_filter)
        self.search_box.textChanged.connect(lambda _text: self._search_timer.start())
        self.search_box.returnPressed.connect(self.apply_filter)
        self.country_box = self._filter_combo("Any country", "Only participants living in this country")
        self.language_box = self._filter_combo(
            "Any language", "Only texts in this language (stored, else guessed from the text, shown as es?)")
        self.group_box = self._filter_combo("Any group", "Only participants in this opinion group (the Groups tab finds"
                                            " them; hidden until it has)")
        self.group_box.setVisible(False)
        self.source_box = self._filter_combo("Any source", "Only stances set by this kind of source")
        for value, title in SOURCE_TITLES.items():
            self.source_box.addItem(title, value)
        self.sort_box = QComboBox()
        self.sort_box.setAccessibleName("Order")
        self.sort_box.addItem("By source", EvidenceSort.SOURCE.value)
        self.sort_box.addItem("Most divisive first", EvidenceSort.DIVISIVE.value)
        self.sort_box.setItemData(1, plain_tooltip(
            "Where the crowd split most evenly on this proposal first: the justification's conversation (its"
            " justifications for and against), or a Pol.is statement's own agree and disagree votes"),
            Qt.ItemDataRole.ToolTipRole)
        self.sort_box.currentIndexChanged.connect(self.apply_filter)
        self.sort_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.sort_box.setMinimumContentsLength(6)
        # Narrow enough that the desk still fits a 1366-pixel screen; the box's tooltip names each filter.
        self.search_box.setMinimumWidth(self.search_box.fontMetrics().horizontalAdvance("Search the…"))
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.setSpacing(4)
        bar.addWidget(self.search_box, 3)
        for box in (self.country_box, self.group_box, self.language_box, self.source_box, self.sort_box):
            bar.addWidget(box, 1)
        return bar

    def _filter_combo(self, anything: str, tooltip: str) -> QComboBox:
        box = QComboBox()
        box.addItem(anything, None)
        box.setToolTip(tooltip)
        box.setAccessibleName(anything.replace("Any ", "").capitalize())
        box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        box.setMinimumContentsLength(4)
        box.currentIndexChanged.connect(self.apply_filter)
        return box

    def current_filter(self) -> EvidenceFilter:
        """The filter the filter bar asks for."""
        return EvidenceFilter(
            search=self.search_box.text(), country=self.country_box.currentData(),
            language=self.language_box.currentData(), source=self.source_box.currentData(),
            group=self.group_box.currentData(), sort=EvidenceSort(self.sort_box.currentData() or EvidenceSort.SOURCE.value),
        ).checked()

    def apply_filter(self) -> None:
        """Show the lists through the filter bar's filter (a search brings the search index up to date first)."""
        self._search_timer.stop()
        wanted = self.current_filter()
        if wanted == self.filter:
            return
        if wanted.search:
            self.say("Searching… (the first search after an import updates the search index)")
            self.lane.run(prepare_search_index, success=lambda index: self._use_filter(wanted, index),
                          failure=lambda error: self._on_failure(self._generation, error))
        else:
            self._use_filter(wanted, self._index)

    def _use_filter(self, filt: EvidenceFilter, index: Path | None) -> None:
        if filt != self.current_filter():
            return  # the reviewer changed the filter while the index was brought up to date
        self.filter, self._index = filt, index
        for model in self.models.values():
            model.set_filter(filt, index)
        self.say(f"Showing justifications {filt.describe()}." if filt.active else KEYS_HINT)
        if self.proposal_id is not None:
            self.set_proposal(self.proposal_id)

    def set_filter(self, filt: EvidenceFilter) -> None:
        """Set the filter bar to ``filt`` and apply it (a value the proposal lacks is offered with no links)."""
        filt = filt.checked()
        for box, value in ((self.country_box, filt.country), (self.language_box, filt.language),
                           (self.source_box, filt.source), (self.group_box, filt.group), (self.sort_box, str(filt.sort))):
            box.blockSignals(True)
            self._select_choice(box, value)
            box.blockSignals(False)
        self.search_box.blockSignals(True)
        self.search_box.setText(filt.search)
        self.search_box.blockSignals(False)
        self.apply_filter()

    def _set_choices(self, choices: FilterChoices) -> None:
        choices_of = (
            (self.country_box, [(value, display_text(value), n) for value, n in choices.countries]),
            (self.language_box, [(value, display_text(value), n) for value, n in choices.languages]),
            (self.group_box, [(opinion_group(label).id, f"Group {label}", n) for label, n in choices.opinion_groups]),
        )
        for box, values in choices_of:
            current = box.currentData()
            box.blockSignals(True)
            while box.count() > 1:
                box.removeItem(1)
            for value, title, n in values:
                box.addItem(f"{title} ({n:,})", value)
            self._select_choice(box, current)
            box.blockSignals(False)
        self.group_box.setVisible(self.group_box.count() > 1)  # no opinion groups found yet: no box

    def _select_choice(self, box: QComboBox, value: str | None) -> None:
        """Select ``value`` in a filter box; a value the proposal lacks is kept, offered with no links."""
        i = box.findData(value) if value is not None else 0
        if i < 0:
            group = GroupRef.parse(value) if box is self.group_box and value else None
            title = f"Group {group.key}" if group is not None and group.kind == "opinion" else display_text(str(value))
            box.addItem(f"{title} (0)", value)
            i = box.count() - 1
        box.setCurrentIndex(i)

    # ---- public API ----------------------------------------------------------------------------

    def set_reviewer(self, name: str) -> None:
        """Record stances under ``name`` from now on ('' means nobody: changes are refused)."""
        self.reviewer = (name or "").strip()

    def set_reader(self, reader: PageReader) -> None:
        """Read the lists through ``reader`` (a new workspace); shows nothing until ``set_proposal``."""
        self.reader = reader
        self._fields_loaded = False
        for model in self.models.values():
            model.set_reader(reader)
        self.set_proposal(None)

    def on_changes(self, changes: Changes) -> None:
        """Re-read the shown proposal's evidence when an operation changed it.

        A stance set here is already shown in place (the list keeps its selection for the keyboard
        flow); imports, model runs, links and rule runs re-read the lists.
        """
        from reviewer.ops import Area

        if self.proposal_id is None:
            return
        if changes.touches(Area.CROWD):
            self._fields_loaded = False
        if (changes.all_proposals and changes.touches(Area.LABELS, Area.LINKS, Area.CROWD)) or (
            changes.touches_proposal(self.proposal_id) and changes.touches(Area.LINKS)
        ):
            self.set_proposal(self.proposal_id)

    def set_proposal(self, proposal_id: str | None) -> None:
        """Show the evidence of ``proposal_id`` (None clears the view)."""
        self._generation += 1
        generation = self._generation
        if proposal_id != self.proposal_id:
            self._reselect = None
        self.proposal_id = proposal_id
        self.summary = None
        self.triage = None
        self.detail.clear()
        if proposal_id is None:
            for model in self.models.values():
                model.set_proposal(None)
            for item in self.lists.values():
                item.set_count(None)
            self._update_toggles()
            self.counts_label.setText("Choose a proposal to see its evidence.")
            self.sources_label.setText("")
            self.chart.clear("Choose a proposal to see how groups split.")
            return
        self.counts_label.setText("Counting the evidence…")
        need_fields = not self._fields_loaded
        # The lists shown open get their first page with the counts; a collapsed one reads it when opened.
        open_lists = [s for s in self.models if self._is_open(s)]

        filt, index = (self.filter, self._index) if self.filter.active else (None, None)

        def op(conn: Any) -> _Loaded | None:
            if generation != self._generation:
                return None  # another proposal was chosen while this waited its turn
            fields = demographic_fields(conn) if need_fields else None
            if filt is None:
                pages = {s: evidence_page(conn, proposal_id, s, limit=PAGE) for s in open_lists}
                counts = None
            else:
                counts = triage_counts(conn, proposal_id, filt, index=index)
                pages = {s: triage_page(conn, proposal_id, s, filt, limit=PAGE, index=index) for s in open_lists}
            return _Loaded(evidence_summary(conn, proposal_id), fields, pages, counts, filter_choices(conn, proposal_id))

        # On the page reader, not the workspace lane: the counts come while the lane computes the diff.
        self.reader.read(op, success=lambda result: self._on_summary(generation, result),
                         failure=lambda error: self._on_failure(generation, error), context=self)

    def refresh(self) -> None:
        """Read the proposal shown again (after changes made elsewhere)."""
        self.set_proposal(self.proposal_id)

    def selected_rows(self) -> list[EvidenceRow]:
        """Return every justification selected in the list last used, in list order."""
        view = self._active
        if view is None:
            return []
        rows = sorted(index.row() for index in view.selectionModel().selectedRows())
        model = view.model()
        found = [model.index(r, 0).data(EvidenceListModel.RowRole) for r in rows]
        return [row for row in found if row is not None]

    def selected_row(self) -> EvidenceRow | None:
        """Return the justification selected in the list last used, or None."""
        view = self._active
        if view is None:
            return None
        index = view.currentIndex()
        return index.data(EvidenceListModel.RowRole) if index.isValid() else None

    def current_field(self) -> str | None:
        """Return the demographic field the chart splits by."""
        data = self.field_combo.currentData()
        return str(data) if data else None

    def set_field(self, name: str) -> None:
        """Split by ``name`` (a key of the participants' demographics offered in the combo box)."""
        i = self.field_combo.findData(name)
        if i < 0:
            raise KnownError(f"No participant has the demographic field {name!r}.")
        if i == self.field_combo.currentIndex():
            self._load_split()
        else:
            self.field_combo.setCurrentIndex(i)

    # ---- loading -------------------------------------------------------------------------------

    def _is_open(self, stance: str) -> bool:
        return stance not in self.toggles or self.toggles[stance].isChecked()

    def _on_summary(self, generation: int, result: _Loaded | None) -> None:
        if generation != self._generation or self.proposal_id is None or result is None:
            return
        summary, fields, pages = result.summary, result.fields, result.pages
        if fields is not None:
            self._set_fields(fields)
        self._set_choices(result.choices)
        self.triage = result.triage
        if self.triage is not None and self.triage.capped:
            self.say(self.triage.note())
        self._show_summary(summary)
        self._active = None
        for stance, model in self.models.items():
            # A list opened since the counts were asked for reads its first page now.
            model.set_proposal(self.proposal_id, fetch=self._is_open(stance), first_page=pages.get(stance))
        self._update_toggles()
        if self._reselect is not None:  # the keyboard flow goes on where the label was set
            stance, position, focused = self._reselect
            self._reselect = None
            model, view = self.models[stance], self.lists[stance].view
            if model.rowCount():
                index = model.index(min(max(position, 0), model.rowCount() - 1), 0)
                view.setCurrentIndex(index)
                view.scrollTo(index)
                if focused:
                    view.setFocus()
        self.loaded.emit(self.proposal_id)
        if self.triage is not None:
            self.filtered.emit(self.proposal_id)
        self._load_split()

    def _set_fields(self, fields: list[Any]) -> None:
        previous = self.current_field()
        self.field_combo.blockSignals(True)
        self.field_combo.clear()
        for field in fields:
            self.field_combo.addItem(f"{field_title(field.name)} ({field.groups})", field.name)
            self.field_combo.setItemData(
                self.field_combo.count() - 1,
                plain_tooltip(f"{field.name}: {field.groups} groups, {field.participants} participants with a value"),
                Qt.ItemDataRole.ToolTipRole,
            )
        if previous is not None and self.field_combo.findData(previous) >= 0:
            self.field_combo.setCurrentIndex(self.field_combo.findData(previous))
        self.field_combo.blockSignals(False)
        self.field_combo.setEnabled(bool(fields))
        self._fields_loaded = True

    def _show_summary(self, summary: EvidenceSummary) -> None:
        self.summary = summary
        counts = summary.counts
        supports, refutes = counts["supports"], counts["refutes"]
        parts = [
            f'<b style="color:{STANCE_COLOURS["supports"]}">{supports:,}</b> supports',
            f'<b style="color:{STANCE_COLOURS["refutes"]}">{refutes:,}</b> refutes',
            f"{counts['no_comment']:,} no comment",
        ]
        if counts.get(UNLABELLED):
            parts.append(f"{counts[UNLABELLED]:,} unlabelled")
        share = share_sentence(supports, refutes)
        self.counts_label.setText(" · ".join(parts) + f"<br/><b>{escape(share)}</b>")
        self.counts_label.setAccessibleName(f"{supports} supports, {refutes} refutes, {share}")
        by_source = summary.by_source
        sources = []
        for key, stances in by_source.items():
            kind, _, name = key.partition(":")
            total = sum(stances.values())
            sources.append(f"{kind} {name}: {total:,}")
        self.sources_label.setText(("Stances set by " + " · ".join(sources)) if sources else "No stance labels yet.")
        for stance, item in self.lists.items():
            if self.triage is not None and self.triage.proposal_id == summary.proposal_id:
                item.set_count(self.triage.counts.get(stance, 0), counts.get(stance, 0), floor=self.triage.capped)
            else:
                item.set_count(counts.get(stance, 0))
        self._update_toggles()

    def _update_toggles(self) -> None:
        counts = self.summary.counts if self.summary else {}
        for stance, toggle in self.toggles.items():
            n = counts.get(stance)
            toggle.setText(f"{STANCE_TITLES[stance]}" + ("" if n is None else f" ({n:,})"))
            if stance == UNLABELLED:
                toggle.setVisible(bool(n))
                if not n:
                    toggle.setChecked(False)

    def set_expanded(self, stance: str, expanded: bool) -> None:
        """Show or hide the collapsed list of ``stance`` (no_comment or unlabelled)."""
        toggle = self.toggles[stance]
        if toggle.isChecked() != expanded:
            toggle.setChecked(expanded)  # calls back here
            return
        toggle.setArrowType(Qt.ArrowType.DownArrow if expanded else Qt.ArrowType.RightArrow)
        self.lists[stance].setVisible(expanded)
        model = self.models[stance]
        if expanded and not model.rowCount() and model.canFetchMore():
            model.fetchMore()

    def on_field_changed(self, _index: int) -> None:
        """The reviewer chose another field to split by."""
        self._load_split()

    def _load_split(self) -> None:
        proposal_id, field = self.proposal_id, self.current_field()
        if proposal_id is None:
            return
        if field is None:
            self.chart.clear("No demographic field to split by.")
            return
        generation = self._generation
        # The split is read with the counts and the labels' digest: the evidence a decision made
        # here keeps, unless something changes it first (``decision_evidence.still_current``).
        self.reader.read(lambda conn: self._read_seen(conn, generation, proposal_id, field),
                         success=lambda seen: self._on_split(generation, proposal_id, field, seen),
                         failure=lambda error: self._on_failure(generation, error), context=self)

    def _read_seen(self, conn: sqlite3.Connection, generation: int, proposal_id: str, field: str) -> SeenEvidence | None:
        """On the reader's thread: the evidence with its split, or None once another proposal is chosen.

        Choosing another proposal stops the reading (half a second on a 50,000-link proposal)
        instead of letting the next proposal's counts wait behind it.
        """
        if generation != self._generation:
            return None
        conn.set_progress_handler(lambda: int(generation != self._generation), _CHECK_EVERY)
        try:
            return seen_evidence(conn, proposal_id, field)
        except Exception:
            if generation != self._generation:
                return None  # stopped: nobody waits for it
            raise
        finally:
            conn.set_progress_handler(None, 0)

    def _on_split(self, generation: int, proposal_id: str, field: str, seen: SeenEvidence | None) -> None:
        if generation != self._generation or field != self.current_field() or seen is None:
            return
        self.seen = seen
        self.chart.set_split(list(seen.groups), field_title(field))
        self.split_shown.emit(proposal_id)

    def seen_evidence(self) -> SeenEvidence | None:
        """The evidence of the proposal shown as last read with its split (None before it has been read)."""
        seen = self.seen
        if seen is None or seen.proposal_id != self.proposal_id or seen.split_by != self.current_field():
            return None
        return seen

    def _on_failure(self, generation: int, error: BaseException) -> None:
        if generation != self._generation:
            return
        if isinstance(error, Cancelled):
            self.say("Cancelled")
            return
        self.say(str(error) if isinstance(error, KnownError) else "The operation failed.", error=True)
        self.failed.emit(error)
        Dialogs.show_error(self, error)

    # ---- selection, context menu, conversation ---------------------------------------------------

    def on_current_changed(self, view: QTableView, current: QModelIndex) -> None:
        """A justification was selected in one of the lists: show it whole."""
        if not current.isValid():
            return
        self._active = view
        for item in self.lists.values():
            if item.view is not view:
                item.view.selectionModel().clearSelection()
        row = current.data(EvidenceListModel.RowRole)
        if row is None or self.proposal_id is None:
            return
        proposal_id, generation = self.proposal_id, self._generation
        self._history = None
        self._show_detail(row)
        self.reader.read(
            lambda conn: label_history(conn, proposal_id, row.justification_id),
            success=lambda history: self._show_history(generation, row, history),
            failure=lambda error: self._on_failure(generation, error),
            context=self,
        )

    def _show_history(self, generation: int, row: EvidenceRow, history: list[Any]) -> None:
        """Show the row whole with every label it has had (read on the page reader)."""
        selected = self.selected_row()
        if generation != self._generation or selected is None or selected.justification_id != row.justification_id:
            return
        self._history = (row.justification_id, history)
        self._show_detail(row)
        self.detail_shown.emit(row.justification_id)

    def _show_detail(self, row: EvidenceRow) -> None:
        """Show ``row`` whole in the detail pane: its text, its machine translation if there is one, its labels."""
        history = self._history[1] if self._history and self._history[0] == row.justification_id else []
        translation = self.translations.get(row.justification_id)
        lines = []
        for label in reversed(history):
            mark = "<b>in force</b> · " if label.id == row.label_id else ""
            version = f" ({label.prompt_version})" if label.prompt_version else ""
            lines.append(
                f"<li>{mark}{escape(label.stance.replace('_', ' '))} by {escape(label.source_kind)} "
                f"{escape(label.source_name)}{escape(version)} <span style='color:#8a94a6'>"
                f"{escape(label.created_at)}</span>{_flags_html(label.detail)}</li>"
            )
        self.detail.setHtml(row_html(row, translation)
                            + ("<p><b>Labels</b>, newest first:</p><ul>" + "".join(lines) + "</ul>" if lines else ""))

    def on_context_menu(self, view: QTableView, pos: QPoint) -> None:
        """Offer the stance actions and opening the conversation for the item under the mouse."""
        index = view.indexAt(pos)
        if not index.isValid():
            return
        view.setCurrentIndex(index)
        menu = QMenu(self)
        for action in self.stance_actions.values():
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction(self.open_action)
        menu.addAction(self.copy_action)
        menu.addAction(self.discuss_action)
        menu.addAction(self.translate_action)
        menu.addAction(self.choose_language_action)
        menu.exec(view.viewport().mapToGlobal(pos))

    def on_activated(self, index: QModelIndex) -> None:
        """Double-click: open the conversation of the justification."""
        row = index.data(EvidenceListModel.RowRole)
        if row is not None:
            self._request_conversation(row)

    def open_selected(self) -> None:
        """Open the conversation of the selected justification (Enter)."""
        row = self.selected_row()
        if row is None:
            self.say("Select a justification first.")
            return
        self._request_conversation(row)

    def _request_conversation(self, row: EvidenceRow) -> None:
        if row.conversation_id is None:
            self.say("This is a Pol.is statement: it has no conversation to open.")
            return
        self.conversation_requested.emit(row.conversation_id, row.justification_id)

    def discuss_selected(self) -> None:
        """Ask for a discussion thread on the selected justification (D)."""
        row = self.selected_row()
        if row is None:
            self.say("Select a justification first.")
            return
        self.discussion_requested.emit(row.justification_id)

    def copy_selected(self) -> None:
        """Copy the selected justification's text."""
        row = self.selected_row()
        if row is not None:
            QApplication.clipboard().setText(row.text)

    # ---- machine translation ---------------------------------------------------------------------

    def translate_selected(self) -> None:
        """Show a machine translation of the selected justifications (T): from the cache at once, else from the model.

        The cache is read on the page reader; what it lacks is asked of the model on a lane of its
        own (the desk keeps working), with progress and Cancel. A translation is a local
        convenience: it changes no label, no figure and nothing in the log.
        """
        from reviewer.translation import MAX_AT_ONCE

        rows = self.selected_rows()
        if not rows:
            self._refuse("Select a justification first.")
            return
        if self._translating is not None:
            self.say("A translation is already running: wait for it, or cancel it.")
            return
        ids = [r.justification_id for r in rows][:MAX_AT_ONCE]
        root, generation, chosen = self.lane.path, self._generation, self.translate_to or None

        def op(conn: Any) -> tuple[str | None, str, dict[str, Translation]]:
            from reviewer.modelconfig import load_config
            from reviewer.translation import cached_translations, target_language

            model, target = load_config(root).model, target_language(chosen)
            return model, target, cached_translations(conn, ids, target=target, model=model) if model else {}

        self.say("Looking for a translation…")
        self.reader.read(op, success=lambda found: self._on_cached_translations(generation, ids, found),
                         failure=self._on_translation_failed, context=self)

    def set_translate_to(self, language: str) -> None:
        """Translate into ``language`` from now on ("" : the environment's ``SPEC_REVIEW_TRANSLATE_TO``, or English)."""
        from reviewer.translation import target_language

        self.translate_to = language
        try:
            shown = target_language(language or None)
        except KnownError:
            shown = "?"  # a bad environment value: said when T is pressed
        self.translate_action.setText(f"Translate into {shown} (machine translation)")

    def choose_translation_language(self) -> str | None:
        """Ask which language T translates into, check it is a language name, and remember it on this computer.

        Returns:
            The language chosen, or None when cancelled or refused (a bad name is said and nothing changes).
        """
        from reviewer.translation import target_language
        from ui import settings as window_settings

        try:
            current = target_language(self.translate_to or None)
        except KnownError:
            current = ""
        items = list(dict.fromkeys([current, *COMMON_LANGUAGES] if current else COMMON_LANGUAGES))
        typed = Dialogs.ask_editable_item(self, "Translate into", "Language to translate justifications into:",
                                          items, current)
        if typed is None:
            return None
        try:
            language = target_language(typed)
        except KnownError as exc:
            self.say(str(exc), error=True)
            self.failed.emit(exc)
            return None
        window_settings.set_translate_to(language)
        self.set_translate_to(language)
        self.say(f"T now translates into {language}.")
        return language

    def _on_cached_translations(self, generation: int, ids: list[str],
                                found: tuple[str | None, str, dict[str, Translation]]) -> None:
        _model, target, cached = found
        self._take_translations(list(cached.values()))
        missing = [j for j in ids if j not in cached]
        if not missing:
            self.say(f"Machine translation into {target}, from the cache (no call to the model).")
            return
        if generation != self._generation:
            return  # another proposal was chosen meanwhile: ask nothing for the one left
        progress = TaskProgress(self)
        self._translating = progress
        self.translation_progress.attach(progress, "Translating…")
        if self._translate_lane is None:
            # A lane of its own, so a slow endpoint never holds up the desk's reads and writes.
            self._translate_lane = WorkspaceLane(self.lane.path, self)

        def op(ws: Any) -> list[Translation]:
            from reviewer.translation import translate_in_workspace

            return translate_in_workspace(ws, missing, target=target, progress=progress)

        self.say(f"Asking the model for a translation into {target}…")
        self._translate_lane.run(op, success=self._on_translations, failure=self._on_translation_failed)

    def _on_translations(self, translations: list[Translation]) -> None:
        self._translation_done()
        self._take_translations(translations)
        if translations:
            first = translations[0]
            self.say(f"Translated into {first.target_language} by {first.model} (it may be wrong).")

    def _take_translations(self, translations: list[Translation]) -> None:
        """Keep ``translations`` and show the selected one's under its text."""
        for translation in translations:
            self.translations[translation.justification_id] = translation
        selected = self.selected_row()
        if selected is not None and selected.justification_id in {t.justification_id for t in translations}:
            self._show_detail(selected)
            self.translated.emit(selected.justification_id)

    def _on_translation_failed(self, error: BaseException) -> None:
        self._translation_done()
        if isinstance(error, Cancelled):
            self.say("Translation cancelled; nothing of it was saved.")
        elif isinstance(error, KnownError):  # the endpoint is down, slow or answered nonsense: its hint says what to do
            self.say(str(error), error=True)
            self.failed.emit(error)
        else:
            self._on_failure(self._generation, error)

    def _translation_done(self) -> None:
        self._translating = None
        self.translation_progress.done()

    def stop_translation(self) -> None:
        """Cancel a translation in progress (the window is closing): its call is left behind, nothing is saved."""
        if self._translating is not None:
            self._translating.cancel()

    # ---- changing a stance -----------------------------------------------------------------------

    def set_selected_stance(self, stance: str) -> None:
        """Record ``stance`` for the selected justification as the current reviewer's label.

        Refused (``failed`` is emitted, nothing is written) when no reviewer name is set or nothing
        is selected.
        """
        row = self.selected_row()
        proposal_id = self.proposal_id
        if row is None or proposal_id is None:
            self._refuse("Select a justification first.")
            return
        if not self.reviewer:
            self._refuse("Set your reviewer name before changing a stance: a stance set by hand is recorded "
                         "under a person's name.")
            return
        many = self.selected_rows()
        if len(many) > 1:
            self._set_many(proposal_id, [r.justification_id for r in many], stance)
            return
        if row.source_kind == "person" and row.source_name == self.reviewer and row.stance == stance:
            self.say(f"You already set this justification to {stance.replace('_', ' ')}.")
            return
        person, field = self.reviewer, self.current_field()
        generation = self._generation
        old_stance = row.stance or UNLABELLED
        view = self._active
        position = view.currentIndex().row() if view is not None else -1

        def op(ws: Any) -> OpResult[tuple[EvidenceRow | None, EvidenceSummary, SeenEvidence | None]]:
            from reviewer import operations

            saved = operations.set_stance(ws, proposal_id, row.justification_id, stance, actor=person)
            seen = seen_evidence(ws.store, proposal_id, field) if field else None
            shown = (evidence_row(ws.store, proposal_id, row.justification_id),
                     evidence_summary(ws.store, proposal_id), seen)
            return saved.with_value(shown)

        self.say("Saving the stance…")
        self.lane.perform(
            op,
            success=lambda result: self._on_stance_saved(
                generation, proposal_id, row.justification_id, old_stance, stance, field, position, result),
            failure=lambda error: self._on_failure(generation, error),
        )

    def _set_many(self, proposal_id: str, justification_ids: list[str], stance: str) -> None:
        """Label every selected justification in one operation (``stance.bulk``), undone by ``undo_labels``."""
        person, generation = self.reviewer, self._generation

        def op(ws: Any) -> OpResult[Any]:
            from reviewer import operations

            return operations.set_stances(ws, proposal_id, justification_ids, stance, actor=person)

        self.say(f"Saving {len(justification_ids):,} stances…")
        self.lane.perform(op, success=lambda result: self._on_bulk_done(generation, proposal_id, result, False),
                          failure=lambda error: self._on_failure(generation, error))

    def undo_labels(self) -> None:
        """Undo the current reviewer's latest bulk labelling (Proposal ▸ Undo labels): each link back to its stance before."""
        if not self.reviewer:
            self._refuse("Set your reviewer name first: an undo is recorded under a person's name.")
            return
        person, generation, proposal_id = self.reviewer, self._generation, self.proposal_id

        def op(ws: Any) -> OpResult[Any]:
            from reviewer import operations

            return operations.undo_stances(ws, actor=person)

        self.say("Undoing the labels…")
        self.lane.perform(op, success=lambda result: self._on_bulk_done(generation, proposal_id, result, True),
                          failure=lambda error: self._on_failure(generation, error))

    def _on_bulk_done(self, generation: int, proposal_id: str | None, result: Any, undone: bool) -> None:
        tail = "" if undone else " Proposal ▸ Undo labels (Ctrl+Z) takes it back."
        self.say(result.describe() + tail)
        if self.proposal_id is not None and (result.proposal_id == self.proposal_id or generation == self._generation):
            self.set_proposal(self.proposal_id)
        (self.undone if undone else self.bulk_saved).emit(result.bulk_id)

    def say(self, text: str, *, error: bool = False) -> None:
        """Show ``text`` (plain text) in the message line below the lists, in red for an error."""
        colour = "#b3261e" if error else "#5f6b7a"
        self.message.setText(f'<span style="color:{colour}">{escape(text)}</span>')

    def _refuse(self, text: str) -> None:
        self.say(text, error=True)
        self.failed.emit(KnownError(text))

    def _on_stance_saved(self, generation: int, proposal_id: str, justification_id: str, old_stance: str,
                         stance: str, field: str | None, position: int, result: tuple[Any, Any, Any]) -> None:
        new_row, summary, seen = result
        if generation == self._generation and proposal_id == self.proposal_id:
            source = self.models[old_stance]
            source.take(justification_id)
            if new_row is not None:
                self.models[new_row.stance or UNLABELLED].place(new_row)
            self._show_summary(summary)
            if seen is not None and field is not None and field == self.current_field():
                self.seen = seen
                self.chart.set_split(list(seen.groups), field_title(field))
            # Keep the keyboard flow: the next justification of the same list is selected.
            view = self.lists[old_stance].view
            if source.rowCount():
                index = source.index(min(max(position, 0), source.rowCount() - 1), 0)
                view.setCurrentIndex(index)
                view.scrollTo(index)
            else:
                self.detail.clear()
            self.say(f"Saved: {STANCE_TITLES[stance].lower()}, by {self.reviewer} (the earlier label is kept).")
            if self.filter.active:  # the filtered lists' order and counts may depend on the stance
                self._reselect = (old_stance, position, view.hasFocus())
                self.set_proposal(proposal_id)
        self.stance_changed.emit(proposal_id, justification_id, stance)


__all__ = ["EvidenceDelegate", "EvidenceView", "field_title", "percent"]
