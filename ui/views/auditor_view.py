"""The auditor's desk: the audit log, the chain and trace checks, and the transparency report; read-only."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QModelIndex, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from reviewer import audit, governance
from reviewer.audit_queries import LogCounts, LogFilter
from reviewer.errors import ReviewerError
from reviewer.render import escape
from reviewer.replay import VerifyReport, verify_workspace
from reviewer.report import FORMATS, WrittenReport, write_report
from reviewer.store import APP_ACTOR
from reviewer.trace import TraceReport, trace
from reviewer.workspace import Workspace
from ui.access import describe, describe_tabs
from ui.changes import Follower
from ui.dialogs import Dialogs
from ui.labels import PlainLabel, RichLabel
from ui.models.audit_log import AuditLogModel, short_time
from ui.text_browser import SafeTextBrowser
from ui.workers import PageReader, ReadConnection, WorkspaceLane, describe_error

ACTION_PREFIXES = (
    "decision", "spec", "proposal", "member", "quorum", "evidence", "stance", "import", "relevance", "judge",
    "workspace",
)
FORMAT_LABELS = {"html": "HTML", "md": "Markdown", "csv": "CSV", "json": "JSON"}
_OK = "#2e7d32"
_BAD = "#b3261e"
_WARN = "#c25e00"
_MUTED = "#6b6b6b"
_CSS = "<style>body { font-family: sans-serif; } code { font-family: monospace; }</style>"
_TABLE = "<table cellspacing='0' cellpadding='3'>"


def _line_edit(combo: QComboBox) -> QLineEdit:
    edit = combo.lineEdit()
    assert edit is not None, "the combo box is editable"
    return edit


def verify_with_anchors(workspace: Workspace) -> VerifyReport:
    """Check the file, the chain against its anchors (``Audit-Head`` trailers included), and the record."""
    return verify_workspace(workspace)


def record_html(report: VerifyReport) -> str:
    """Return the record check: the governance tables against the log replayed, and the logged digests."""
    if not report.chain.ok:
        return f"<p style='color:{_MUTED}'>The record was not compared: the chain itself is broken.</p>"
    if not report.mismatches:
        return (f"<p style='color:{_OK}'><b>✓ The record matches the log</b>: members, quorum, decisions, "
                "proposals, hand links and people's labels are what the events say, and the rows imports, "
                "rule runs and judge jobs stored match the digests their events carry.</p>")
    rows = ["<tr><th align='left'>Table</th><th align='left'>Id</th><th align='left'>Field</th>"
            "<th align='left'>Logged</th><th align='left'>Stored</th></tr>"]
    rows += [
        f"<tr><td>{escape(m.table)}</td><td><code>{escape(m.id)}</code></td><td>{escape(m.field)}</td>"
        f"<td>{escape(repr(m.logged))}</td><td>{escape(repr(m.stored))}</td></tr>"
        for m in report.mismatches
    ]
    return (f"<p style='color:{_BAD};font-size:large'><b>✗ The record does NOT match the log</b>: "
            f"{len(report.mismatches)} difference(s)</p>" + _TABLE + "".join(rows) + "</table>")


def chain_html(report: audit.ChainReport) -> str:
    """Return the chain check as a page: intact or the first bad event, and every anchor compared."""
    parts = [_CSS]
    if report.ok:
        parts.append(
            f"<p style='color:{_OK};font-size:large'><b>✓ Audit log intact</b></p>"
            f"<p>{report.events} events, each sealed to the one before it. "
            f"Head: event {report.head.seq}, <code>{escape(report.head.hash)}</code></p>"
        )
    else:
        where = "the log"
        if report.first_bad_seq is not None:
            where = f"<a href='event:{report.first_bad_seq}'>event {report.first_bad_seq}</a>"
            if report.first_bad_id:
                where += f" <code>{escape(report.first_bad_id)}</code>"
        parts.append(
            f"<p style='color:{_BAD};font-size:large'><b>✗ Audit log NOT intact</b></p>"
            f"<p>First bad: {where}: {escape(report.reason or '')}.</p>"
        )
    if report.anchors:
        rows = [
            "<tr><th align='left'>Anchor</th><th align='left'>Event</th><th align='left'>Hash</th>"
            "<th align='left'>Agrees</th></tr>"
        ]
        for anchor in report.anchors:
            mark = f"<span style='color:{_OK}'>✓</span>" if anchor.ok else (
                f"<span style='color:{_BAD}'>✗ {escape(anchor.detail)}</span>"
            )
            rows.append(
                f"<tr><td>{escape(anchor.source)}</td><td>{'' if anchor.seq is None else anchor.seq}</td>"
                f"<td><code>{escape((anchor.hash or '')[:16])}</code></td><td>{mark}</td></tr>"
            )
        parts.append(f"<p><b>Anchors checked ({len(report.anchors)})</b></p>" + _TABLE + "".join(rows) + "</table>")
    elif not report.ok:
        parts.append(f"<p style='color:{_MUTED}'>The anchors were not compared: the chain itself is broken.</p>")
    return "".join(parts)


def _sha(sha: str | None) -> str:
    return f"<code>{escape((sha or '')[:10])}</code>"


def trace_html(report: TraceReport) -> str:
    """Return the trace check as a page: problems, decisions without commits, and commits without decisions."""
    parts = [_CSS]
    if report.ok:
        parts.append(f"<p style='color:{_OK};font-size:large'><b>✓ Trace OK</b></p>")
    else:
        parts.append(
            f"<p style='color:{_BAD};font-size:large'><b>✗ {len(report.problems)} "
            f"problem{'s' if len(report.problems) != 1 else ''}</b></p><ul>"
            + "".join(f"<li>{escape(p)}</li>" for p in report.problems) + "</ul>"
        )
    parts.append(f"<p style='color:{_MUTED}'>Spec repository HEAD {_sha(report.head)}"
                 + (f", since {_sha(report.baseline)}" if report.baseline else "") + "</p>")

    waiting = [p for p in report.proposals if p["state"] != "committed"]
    parts.append(_titled_table(
        f"Adopted decisions without a commit ({len(waiting)})", ("Proposal", "State", "Sections"),
        [(escape(p["title"]),
          escape("waiting for an editor" if p["state"] == "awaiting_commit" else f"needs a rebase: {p.get('detail', '')}"),
          escape(", ".join(p["sections"]))) for p in waiting],
    ))

    committed = [p for p in report.proposals if p["state"] == "committed"]
    stray = [p for p in committed if p["checks"].get("changed_exactly_its_sections") is False]
    parts.append(_titled_table(
        f"Commits that changed other sections than their proposal's ({len(stray)})",
        ("Commit", "Proposal", "Proposal's sections", "Changed"),
        [(_sha(p["commit_sha"]), escape(p["title"]), escape(", ".join(p["sections"])),
          f"<span style='color:{_BAD}'>{escape(', '.join(p.get('changed_sections', [])) or 'unreadable')}</span>")
         for p in stray],
    ))

    outside = [c for c in report.commits if c["explained_by"] == "outside"]
    unrecorded = [c for c in report.commits if c["explained_by"] == "unrecorded"]
    parts.append(_titled_table(
        f"Commits to the spec made outside the app ({len(outside)})", ("Commit", "When", "Subject"),
        [(_sha(c["sha"]), escape(short_time(str(c["committed_at"]))), escape(c["subject"])) for c in outside],
    ))
    if unrecorded:
        parts.append(f"<p style='color:{_WARN}'><b>Commits the app made but never recorded ({len(unrecorded)})</b>: "
                     + ", ".join(_sha(c["sha"]) for c in unrecorded) + "</p>")

    checked = [p for p in committed if p not in stray]
    rows = []
    for p in checked:
        failed = [name.replace("_", " ") for name, ok in p["checks"].items() if not ok]
        mark = (f"<span style='color:{_OK}'>✓ all {len(p['checks'])}</span>" if not failed
                else f"<span style='color:{_BAD}'>✗ {escape(', '.join(failed))}</span>")
        rows.append((_sha(p["commit_sha"]), escape(p["title"]), mark))
    # Every committed proposal that changed other sections is listed above already.
    parts.append(_titled_table(f"Committed proposals ({len(committed)})", ("Commit", "Proposal", "Checks"), rows,
                               empty="" if committed else "None yet."))
    return "".join(parts)


def _titled_table(title: str, headers: tuple[str, ...], rows: Sequence[tuple[str, ...]], empty: str = "None.") -> str:
    """Return a bold title and a table of ``rows`` (cells already HTML), or ``empty`` in grey when there are none."""
    out = f"<p><b>{escape(title)}</b></p>"
    if not rows:
        return out + (f"<p style='color:{_MUTED}'>{escape(empty)}</p>" if empty else "")
    head = "".join(f"<th align='left'>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"{out}{_TABLE}<tr>{head}</tr>{body}</table>"


def event_html(event: audit.AuditEvent, bad_reason: str | None = None, name: str | None = None) -> str:
    """Return one event in full: its fields (the object named, when ``name`` is given), hashes, and the payload."""
    payload = json.dumps(event.payload, indent=2, ensure_ascii=False, sort_keys=True)
    obj = escape(event.object_type) + (f" <code>{escape(event.object_id)}</code>" if event.object_id else "")
    if name:
        obj = f"<b>{escape(name)}</b><br/>{obj}"
    rows = [
        ("Time", escape(event.at)),
        ("Actor", escape(event.actor)),
        ("Object", obj),
        ("Event id", f"<code>{escape(event.id)}</code>"),
        ("Hash", f"<code>{escape(event.hash)}</code>"),
        ("Previous", f"<code>{escape(event.prev_hash)}</code>"),
    ]
    parts = [_CSS, f"<h3 style='margin-bottom:4px'>Event {event.seq}: {escape(event.action)}</h3>"]
    if bad_reason is not None:
        parts.append(f"<p style='color:{_BAD}'><b>First bad event:</b> {escape(bad_reason)}</p>")
    parts.append(
        _TABLE + "".join(f"<tr><td style='color:{_MUTED}'>{k}</td><td>{v}</td></tr>" for k, v in rows) + "</table>"
    )
    parts.append(f"<pre style='background:#f6f8fa;padding:6px;white-space:pre-wrap'>{escape(payload)}</pre>")
    return "".join(parts)


class AuditorView(QWidget):
    """The audit log with filters, and the checks an auditor runs. Changes nothing in the workspace.

    Signals:
        verified(object): the workspace was checked; the ``VerifyReport`` (chain and record).
        log_shown(): the list shows the filters in force (read on the page reader).
        traced(object): decisions were traced to commits; the ``TraceReport``.
        exported(str): the transparency report was written to this file.
        failed(object): a check, an export or a read failed (the exception).

    Attributes:
        lane: the workspace lane the checks and exports run on.
        read: the read-only connection single events are read through (by sequence number).
        model: the audit log.
        chain_report: the last chain check, if any.
        trace_report: the last trace, if any.
    """

    verified = Signal(object)
    log_shown = Signal()
    traced = Signal(object)
    exported = Signal(str)
    failed = Signal(object)

    def __init__(
        self, lane: WorkspaceLane, read: ReadConnection, reader: PageReader, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.lane = lane
        self.read = read
        self._want_seq: int | None = None  # the event to choose once the list has been read
        self._want_detail = False  # show that event even when the filter hides it
        self.chain_report: audit.ChainReport | None = None
        self.trace_report: TraceReport | None = None
        self._running = 0
        # Every operation appends to the log: any change makes the shown log stale.
        self.follower = Follower(self, self.refresh, lambda changes: bool(changes.events))
        self.on_changes = self.follower.on_changes

        self.action_filter = QComboBox()
        self.action_filter.setEditable(True)
        self.action_filter.addItems(["", *ACTION_PREFIXES])
        _line_edit(self.action_filter).setPlaceholderText("any action")
        self.action_filter.setToolTip("An action (decision.record) or its first part (decision)")
        self.action_filter.setMinimumContentsLength(12)
        self.actor_filter = QComboBox()
        self.actor_filter.setEditable(True)
        _line_edit(self.actor_filter).setPlaceholderText("anyone")
        self.actor_filter.setToolTip("Who made the change")
        self.actor_filter.setMinimumContentsLength(12)
        self.object_filter = QLineEdit()
        self.object_filter.setPlaceholderText("type or id")
        self.object_filter.setToolTip("An object type (proposal, decision, spec_commit…) or an object id")
        self.object_filter.setClearButtonEnabled(True)
        self.since_filter = QLineEdit()
        self.since_filter.setPlaceholderText("YYYY-MM-DD")
        self.since_filter.setToolTip("Only events at or after this date (or ISO time, UTC)")
        self.since_filter.setMaximumWidth(130)
        self.since_filter.setClearButtonEnabled(True)
        clear = QPushButton("Cl&ear")
        clear.setToolTip("Show every event")
        clear.clicked.connect(self.clear_filters)
        filters = QHBoxLayout()
        for text, widget in (("&Action:", self.action_filter), ("Act&or:", self.actor_filter),
                             ("O&bject:", self.object_filter), ("Si&nce:", self.since_filter)):
            label = PlainLabel(text)
            label.setBuddy(widget)
            filters.addWidget(label)
            filters.addWidget(widget)
        filters.addWidget(clear)
        filters.addStretch(1)
        # Typing refilters once the user pauses, so each keystroke does not query the log.
        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(250)
        self._filter_timer.timeout.connect(self.apply_filters)
        self.action_filter.currentTextChanged.connect(self._filter_timer.start)
        self.actor_filter.currentTextChanged.connect(self._filter_timer.start)
        self.object_filter.textChanged.connect(self._filter_timer.start)
        self.since_filter.textChanged.connect(self._filter_timer.start)

        self.verify_button = QPushButton("Ver&ify chain")
        self.verify_button.setToolTip("Recompute every event's hash and compare the log with its anchors")
        self.verify_button.clicked.connect(self.on_verify)
        self.trace_button = QPushButton("Check &trace")
        self.trace_button.setToolTip("Match adopted decisions with the spec repository's commits, both ways")
        self.trace_button.clicked.connect(self.on_trace)
        self.format_box = QComboBox()
        for fmt in FORMATS:
            self.format_box.addItem(FORMAT_LABELS[fmt], fmt)
        self.format_box.setCurrentIndex(FORMATS.index("html"))
        self.format_box.setToolTip("The report's format")
        self.export_button = QPushButton("E&xport report…")
        self.export_button.setToolTip("Write the transparency report: every proposal, its outcome, reasons and commit")
        self.export_button.clicked.connect(self.on_export)
        refresh = QPushButton("&Refresh")
        refresh.setToolTip("Read the log again (F5)")
        refresh.clicked.connect(self.refresh)
        actions = QHBoxLayout()
        actions.addWidget(self.verify_button)
        actions.addWidget(self.trace_button)
        actions.addSpacing(12)
        actions.addWidget(self.format_box)
        actions.addWidget(self.export_button)
        actions.addStretch(1)
        self.count_label = RichLabel()
        self.count_label.setStyleSheet(f"color:{_MUTED}")
        actions.addWidget(self.count_label)
        actions.addWidget(refresh)

        self.model = AuditLogModel(reader, read, self)
        self.model.loaded.connect(self._on_log_loaded)
        self.model.failed.connect(self._report_read_error)
        self.table = QTableView()
        describe(self.table, "Audit log", "Every recorded event, newest first; choose one to read it whole")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        time_width = self.fontMetrics().horizontalAdvance("2026-01-01 00:00:00") + 14
        # The Object column names objects (a proposal's title): wide enough for the start of a title.
        for column, width in enumerate((44, time_width, 104, 118, 240)):
            header.resizeSection(column, width)
        # Compact rows: a log is read as a list, many events at a glance.
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.table.selectionModel().currentRowChanged.connect(self.on_current_changed)
        self.detail = SafeTextBrowser()
        describe(self.detail, "Event detail", "The chosen event whole, with its JSON")

        self.chain_view = SafeTextBrowser()
        describe(self.chain_view, "Chain check", "What verifying the log's hash chain found")
        self.chain_view.anchorClicked.connect(self.on_link)
        self.trace_view = SafeTextBrowser()
        describe(self.trace_view, "Trace check", "What checking every decision's trace found")
        self.checks = QTabWidget()
        self.checks.addTab(self.chain_view, "Chain")
        self.checks.addTab(self.trace_view, "Trace")
        describe_tabs(self.checks, "What verifying the log's hash chain found", "What checking every decision's trace found")
        self.chain_view.setHtml(f"<p style='color:{_MUTED}'>Press Verify chain (Alt+I) to check the log.</p>")
        self.trace_view.setHtml(
            f"<p style='color:{_MUTED}'>Press Check trace (Alt+T) to match decisions with commits.</p>"
        )

        self.message = PlainLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()

        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.detail)
        right.addWidget(self.checks)
        right.setSizes([300, 300])
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([800, 480])

        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addLayout(actions)
        layout.addWidget(self.message)
        layout.addWidget(self.splitter, 1)

        for keys, slot in (
            (QKeySequence.StandardKey.Refresh, self.refresh),
            (QKeySequence.StandardKey.Find, self.action_filter.setFocus),
        ):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        self._show_detail(None)

    # ---- the log ------------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the log again (it grows while others work) and the list of actors."""
        try:
            actors = governance.member_names(self.read.conn)
        except ReviewerError as exc:
            self._report_read_error(exc)
            return
        typed = self.actor_filter.currentText()
        self.actor_filter.blockSignals(True)
        self.actor_filter.clear()
        self.actor_filter.addItems(["", *actors, APP_ACTOR])
        self.actor_filter.setCurrentText(typed)
        self.actor_filter.blockSignals(False)
        self.apply_filters()

    def current_filter(self) -> LogFilter:
        """Return the filter the widgets describe."""
        return LogFilter(
            action=self.action_filter.currentText().strip(),
            actor=" ".join(self.actor_filter.currentText().split()),
            object_ref=self.object_filter.text().strip(),
            since=self.since_filter.text().strip(),
        )

    def apply_filters(self, *, select: int | None = None) -> None:
        """List the events that match the filters (also called after a pause in typing).

        The list is read off the GUI thread; ``log_shown`` says when it is on screen.

        Args:
            select: the event to choose then (by default the one chosen now, if still listed),
                shown in the detail pane even when the filters hide it.
        """
        self._filter_timer.stop()
        log_filter = self.current_filter()
        self._want_seq = select if select is not None else self.current_seq()
        self._want_detail = select is not None
        self.model.set_filter(log_filter)
        problem = log_filter.problem()
        if problem:
            self.count_label.setText(f"<span style='color:{_BAD}'>{escape(problem)}</span>")
            self._show_detail(None)
            self.log_shown.emit()
        else:
            self.count_label.setText("Reading the log…")

    def _on_log_loaded(self, counts: LogCounts) -> None:
        if self.model.log_filter == LogFilter():
            self.count_label.setText(f"{counts.total} events")
        else:
            self.count_label.setText(f"{counts.matching} of {counts.total} events match")
        seq, self._want_seq = self._want_seq, None
        seqs = self.model.seqs
        if seq in seqs:
            self.table.selectRow(seqs.index(seq))
            self.table.scrollTo(self.model.index(seqs.index(seq), 0))
        elif seqs:
            self.table.selectRow(0)
        else:
            self._show_detail(None)
        if self._want_detail and seq is not None:
            self._show_detail(seq)
        self._want_detail = False
        self.log_shown.emit()

    def clear_filters(self) -> None:
        """Show every event."""
        for combo in (self.action_filter, self.actor_filter):
            combo.setCurrentText("")
        self.object_filter.clear()
        self.since_filter.clear()
        self.apply_filters()

    def current_seq(self) -> int | None:
        """Return the sequence number of the chosen event."""
        index = self.table.currentIndex()
        return self.model.seq_at(index.row()) if index.isValid() else None

    def on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        """Show the chosen event in full."""
        self._show_detail(self.model.seq_at(current.row()) if current.isValid() else None)

    def show_event(self, seq: int) -> None:
        """Show event ``seq`` in the detail pane (and choose its row when it is listed)."""
        if seq in self.model.seqs:
            self.table.selectRow(self.model.seqs.index(seq))
            self.table.scrollTo(self.model.index(self.model.seqs.index(seq), 0))
        self._show_detail(seq)

    def on_link(self, url: QUrl) -> None:
        """Follow an ``event:N`` link of the chain report."""
        text = url.toString()
        if text.startswith("event:") and text[6:].isdigit():
            self.show_event(int(text[6:]))

    def _show_detail(self, seq: int | None) -> None:
        if seq is None:
            self.detail.setHtml(f"<p style='color:{_MUTED}'>Choose an event to see it in full.</p>")
            return
        try:
            event = self.model.read_event(seq)
        except ReviewerError as exc:
            self._report_read_error(exc)
            return
        if event is None:
            self.detail.setHtml(f"<p style='color:{_BAD}'>Event {seq} is not in the log.</p>")
            return
        report = self.chain_report
        bad = report.reason if report is not None and not report.ok and report.first_bad_seq == seq else None
        self.detail.setHtml(event_html(event, bad, self.model.object_name(seq)))

    # ---- checks and export ---------------------------------------------------------------------------

    def on_verify(self) -> None:
        """Check the hash chain and its anchors in the background."""
        self._start("Verifying the audit chain…")
        self.lane.run(verify_with_anchors, success=self.on_verified, failure=self.on_failed)

    def on_verified(self, verified: VerifyReport) -> None:
        """Show the chain and record checks, and mark the first bad event in the log."""
        self._finish()
        report = verified.chain
        self.chain_report = report
        self.chain_view.setHtml(chain_html(report) + record_html(verified))
        self.checks.setCurrentWidget(self.chain_view)
        # List the log as it was verified (someone may have changed rows since they were read),
        # with the first bad event marked and chosen.
        self.model.set_bad_seq(None if report.ok else report.first_bad_seq)
        self.apply_filters(select=None if report.ok else report.first_bad_seq)
        if verified.ok:
            self._show_message(f"Audit log intact: {report.events} events, {len(report.anchors)} anchors agree; "
                               "the record matches it.", _OK)
        elif report.ok:
            self._show_message(f"Audit log intact, but the record does NOT match it: {len(verified.mismatches)} "
                               "difference(s); see the Chain tab.", _BAD)
        else:
            where = f"event {report.first_bad_seq}: " if report.first_bad_seq is not None else ""
            self._show_message(f"Audit log NOT intact: {where}{report.reason}.", _BAD)
        self.verified.emit(verified)

    def on_trace(self) -> None:
        """Trace decisions to commits and commits to decisions in the background."""
        self._start("Tracing decisions to commits…")
        self.lane.run(trace, success=self.on_traced, failure=self.on_failed)

    def on_traced(self, report: TraceReport) -> None:
        """Show the trace."""
        self._finish()
        self.trace_report = report
        self.trace_view.setHtml(trace_html(report))
        self.checks.setCurrentWidget(self.trace_view)
        if report.ok:
            self._show_message("Trace OK: every adopted decision and every app commit match.", _OK)
        else:
            self._show_message(f"Trace found {len(report.problems)} problem(s); see the Trace tab.", _BAD)
        self.traced.emit(report)

    def on_export(self) -> None:
        """Ask where to write the transparency report, then write it in the background."""
        fmt = str(self.format_box.currentData())
        filters = ";;".join(f"{FORMAT_LABELS[f]} (*.{f})" for f in (fmt, *[f for f in FORMATS if f != fmt]))
        start = str(Path(self.lane.path).parent / f"transparency-report.{fmt}")
        chosen = Dialogs.ask_save_path(self, "Export the transparency report", start, filters)
        if not chosen:
            return
        path = Path(chosen)
        suffix = path.suffix.lower().lstrip(".")
        suffix = "html" if suffix == "htm" else suffix
        if suffix in FORMATS:
            fmt = suffix
        else:
            path = path.with_name(path.name + f".{fmt}")
        self._start(f"Writing the {FORMAT_LABELS[fmt]} report…")
        self.lane.run(lambda ws: write_report(ws, fmt, path), success=self.on_exported, failure=self.on_failed)

    def on_exported(self, written: WrittenReport) -> None:
        """Say where the report went."""
        self._finish()
        self._show_message(
            f"Wrote the {FORMAT_LABELS.get(written.format, written.format)} report on "
            f"{written.proposals} proposals to {written.file}.", _OK,
        )
        self.exported.emit(written.file)

    def on_failed(self, error: BaseException) -> None:
        """A check or an export failed: say so (a bug also gets the error box)."""
        self._finish()
        text, is_bug = describe_error(error)
        self._show_message(text, _BAD)
        if is_bug:
            Dialogs.show_error(self, error)
        self.failed.emit(error)

    # ---- helpers ---------------------------------------------------------------------------------------

    def _report_read_error(self, error: ReviewerError) -> None:
        self.count_label.setText("")
        self._show_message(f"Cannot read the audit log: {error}", _BAD)
        self.failed.emit(error)

    def _start(self, text: str) -> None:
        self._running += 1
        self._show_message(text, _MUTED)
        self._update_buttons()

    def _finish(self) -> None:
        self._running = max(0, self._running - 1)
        self._update_buttons()

    def _update_buttons(self) -> None:
        idle = self._running == 0
        for button in (self.verify_button, self.trace_button, self.export_button):
            button.setEnabled(idle)

    def _show_message(self, text: str, colour: str) -> None:
        self.message.setStyleSheet(
            f"color:{colour};border:1px solid {colour};border-radius:3px;padding:4px 6px;background:#ffffff"
        )
        self.message.setText(text)
        self.message.show()
