"""Models ▸ Price table…: what each model costs per million tokens, edited row by row and saved as ``prices.json``."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemDelegate,
    QAbstractItemView,
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from reviewer.errors import KnownError
from reviewer.prices import (
    PriceFile,
    TypedPrice,
    price_tables_from_rows,
    read_price_files,
    save_price_files,
)
from reviewer.vocab import PriceFileKind
from ui.access import describe
from ui.labels import PlainLabel

COLUMNS = ("Model", "Input", "Cached input", "Output", "Kept in")
COLUMN_TIPS = (
    "The model's name, as the endpoint knows it",
    "Dollars per million input tokens not read from the provider's prompt cache",
    "Dollars per million input tokens read from the provider's prompt cache",
    "Dollars per million output tokens",
    "The file the row is kept in: yours (every workspace on this computer) or this workspace's, which wins",
)
MODEL, INPUT, CACHED, OUTPUT, KEPT_IN = range(5)
KIND_TITLES = {PriceFileKind.USER: "your price table", PriceFileKind.WORKSPACE: "this workspace"}
KindRole = Qt.ItemDataRole.UserRole
_Index = QModelIndex | QPersistentModelIndex


def _price_text(value: float) -> str:
    return f"{value:g}"


class KeptInDelegate(QStyledItemDelegate):
    """Edits the "Kept in" column with a list of the files that can be written.

    Attributes:
        kinds: the files offered (those that could be read).
    """

    def __init__(self, kinds: list[PriceFileKind], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kinds = kinds

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: _Index) -> QWidget:  # noqa: N802
        """Qt override: a list of the price files."""
        combo = QComboBox(parent)
        for kind in self.kinds:
            combo.addItem(KIND_TITLES[kind], kind.value)
        describe(combo, "Kept in", COLUMN_TIPS[KEPT_IN])
        return combo

    def setEditorData(self, editor: QWidget, index: _Index) -> None:  # noqa: N802
        """Qt override: show the row's file."""
        assert isinstance(editor, QComboBox)
        found = editor.findData(index.data(KindRole))
        editor.setCurrentIndex(max(found, 0))

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: _Index) -> None:  # noqa: N802
        """Qt override: keep the file chosen (its title is set with the notes)."""
        assert isinstance(editor, QComboBox)
        model.setData(index, editor.currentData(), KindRole)


class PricesDialog(QDialog):
    """Shows every entry of the user's and the workspace's price files, edits them, and saves the files that changed.

    A row is one model's prices in one file; a model both files name has two rows, the
    workspace's winning (the other says so). Save checks every row first (``price_tables_from_rows``)
    and writes nothing when one is bad; it writes the same ``prices.json`` files as
    ``spec-review judge prices``, through the same domain functions. A file that cannot be read is
    shown as a problem and never written over.

    Signals:
        saved(list): the price files written (paths).
        failed(object): the ``KnownError`` a Save was refused with.

    Attributes:
        workspace_path: the workspace whose ``prices.json`` is shown beside the user's (None: the user's only).
        files: the price files as last read.
        table: one row per entry.
        last_message: the last message shown.
    """

    saved = Signal(list)
    failed = Signal(object)

    def __init__(self, workspace_path: Path | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace_path = Path(workspace_path) if workspace_path is not None else None
        self.files: list[PriceFile] = []
        self.last_message = ""
        self._filling = False
        self.setWindowTitle("Model prices")
        self.setMinimumWidth(640)
        self.resize(760, 500)

        intro = PlainLabel("What each model costs, in US dollars per million tokens as providers list them. Estimates "
                           "of model tasks use these prices; nothing is priced by default, and a model without a row "
                           "is estimated as \u201cno price set\u201d. For a model both files name, this workspace's "
                           "row wins.")
        intro.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        for column, tip in enumerate(COLUMN_TIPS):
            header = self.table.horizontalHeaderItem(column)
            if header is not None:
                header.setToolTip(tip)
        self.table.verticalHeader().setVisible(True)
        self.table.horizontalHeader().setSectionResizeMode(MODEL, QHeaderView.ResizeMode.Stretch)
        for column in (INPUT, CACHED, OUTPUT):
            self.table.horizontalHeader().setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(KEPT_IN, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setTabKeyNavigation(False)  # Tab leaves the table; arrows move, F2 or typing edits a cell
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                   | QAbstractItemView.EditTrigger.EditKeyPressed
                                   | QAbstractItemView.EditTrigger.AnyKeyPressed)
        describe(self.table, "Price table",
                 "One row per model and file: model, input, cached input and output prices in dollars per million "
                 "tokens, and the file it is kept in. Arrows move, F2 or typing edits a cell.")
        self.delegate = KeptInDelegate([], self.table)
        self.table.setItemDelegateForColumn(KEPT_IN, self.delegate)
        self.table.itemChanged.connect(self._on_item_changed)
        table_label = PlainLabel("&Prices per million tokens:")
        table_label.setBuddy(self.table)

        self.files_note = PlainLabel()
        self.files_note.setWordWrap(True)
        self.files_note.setStyleSheet("color:#555")
        self.files_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message = PlainLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.add_button = QPushButton("&Add a row")
        describe(self.add_button, None, "Add a row for another model and start typing its name")
        self.remove_button = QPushButton("&Remove the row")
        describe(self.remove_button, None, "Remove the chosen row (nothing changes on disk until Save)")
        row_buttons = QHBoxLayout()
        row_buttons.addWidget(self.add_button)
        row_buttons.addWidget(self.remove_button)
        row_buttons.addStretch(1)
        self.buttons = QDialogButtonBox()
        self.save_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Save)
        self.save_button.setText("&Save")
        describe(self.save_button, None, "Check every row and write the price files that changed")
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        describe(self.close_button, None, "Close this window; rows not saved are dropped")
        for button in (self.add_button, self.remove_button, self.save_button, self.close_button):
            # Enter ends the edit of a cell; it must not also press a button of the dialog.
            button.setAutoDefault(False)
            button.setDefault(False)
        self.add_button.clicked.connect(self.add_row)
        self.remove_button.clicked.connect(self.remove_row)
        self.save_button.clicked.connect(self.on_save)
        self.close_button.clicked.connect(self.reject)
        self.table.itemSelectionChanged.connect(self._refresh_buttons)
        self.table.currentCellChanged.connect(self._refresh_buttons)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(table_label)
        layout.addWidget(self.table, 1)
        layout.addLayout(row_buttons)
        layout.addWidget(self.files_note)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.load()

    # ---- reading -----------------------------------------------------------------------------

    def load(self) -> None:
        """Read the price files again and show their entries (rows not saved are dropped)."""
        self.files = read_price_files(self.workspace_path)
        self.delegate.kinds = [f.kind for f in self.files if f.prices is not None]
        self._filling = True
        try:
            self.table.setRowCount(0)
            for file in self.files:
                for model, price in sorted((file.prices or {}).items()):
                    self._append(model, _price_text(price.input), _price_text(price.cached_input),
                                 _price_text(price.output), file.kind)
        finally:
            self._filling = False
        self._refresh_kept_in()
        where = [f"{KIND_TITLES[f.kind]}: {f.path}" for f in self.files]
        self.files_note.setText("Files: " + "; ".join(where) + ".")
        problems = [f.problem for f in self.files if f.prices is None]
        self._show(" ".join(problems) + " That file is left as it is." if problems else "", error=bool(problems))
        self.add_button.setEnabled(bool(self.delegate.kinds))
        self._refresh_buttons()

    def rows(self) -> list[TypedPrice]:
        """The rows as typed, in table order."""
        out = []
        for row in range(self.table.rowCount()):
            kept = self.table.item(row, KEPT_IN)
            kind = kept.data(KindRole) if kept is not None else None
            out.append(TypedPrice(self._text(row, MODEL), self._text(row, INPUT), self._text(row, CACHED),
                                  self._text(row, OUTPUT), PriceFileKind(kind or PriceFileKind.USER)))
        return out

    # ---- actions -----------------------------------------------------------------------------

    def add_row(self) -> None:
        """Add an empty row, kept in the user's table when it can be written, and edit its model name."""
        if not self.delegate.kinds:
            return
        self._filling = True
        try:
            row = self._append("", "", "", "", self.delegate.kinds[0])
        finally:
            self._filling = False
        self._refresh_kept_in()
        self.table.setFocus(Qt.FocusReason.OtherFocusReason)
        self.table.setCurrentCell(row, MODEL)
        self.table.edit(self.table.model().index(row, MODEL))

    def remove_row(self) -> None:
        """Remove the chosen row (written out at Save)."""
        row = self.table.currentRow()
        if row < 0:
            return
        self.table.removeRow(row)
        self._refresh_kept_in()
        self._refresh_buttons()
        self.table.setFocus(Qt.FocusReason.OtherFocusReason)

    def on_save(self) -> None:
        """Check every row and write the files that changed; a bad row is named and chosen, and nothing is written."""
        self.commit_editing()
        try:
            written = save_price_files(self.files, price_tables_from_rows(self.rows()))
        except KnownError as exc:
            self._show(str(exc), error=True)
            self._choose_bad_row(exc.message)
            self.failed.emit(exc)
            return
        self.load()
        self._show(("Saved to " + " and ".join(str(p) for p in written) + ".") if written else "Nothing changed.",
                   ok=True)
        self.saved.emit(written)

    def commit_editing(self) -> None:
        """Give the table what an open cell editor holds (Alt+S saves without leaving the cell)."""
        if self.table.state() != QAbstractItemView.State.EditingState:
            return
        editor = QApplication.focusWidget()
        while editor is not None and editor.parentWidget() is not self.table.viewport():
            editor = editor.parentWidget()  # a cell editor is a child of the viewport (a combo's line edit is deeper)
        if editor is not None:
            self.table.commitData(editor)
            self.table.closeEditor(editor, QAbstractItemDelegate.EndEditHint.NoHint)

    # ---- helpers -----------------------------------------------------------------------------

    def _append(self, model: str, input_: str, cached: str, output: str, kind: PriceFileKind) -> int:
        row = self.table.rowCount()
        self.table.insertRow(row)
        for column, text in zip((MODEL, INPUT, CACHED, OUTPUT), (model, input_, cached, output), strict=True):
            item = QTableWidgetItem(text)
            if column != MODEL:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(row, column, item)
        kept = QTableWidgetItem()
        kept.setData(KindRole, kind.value)
        self.table.setItem(row, KEPT_IN, kept)
        return row

    def _text(self, row: int, column: int) -> str:
        item = self.table.item(row, column)
        return item.text() if item is not None else ""

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if not self._filling and item.column() in (MODEL, KEPT_IN):
            self._refresh_kept_in()

    def _refresh_kept_in(self) -> None:
        """Title each row's file, and say which user rows the workspace's row for the same model overrides."""
        in_workspace = {" ".join(r.model.split()) for r in self.rows() if r.kind == PriceFileKind.WORKSPACE}
        self._filling = True
        try:
            for row in range(self.table.rowCount()):
                item = self.table.item(row, KEPT_IN)
                if item is None:
                    continue
                kind = PriceFileKind(item.data(KindRole))
                title = KIND_TITLES[kind]
                model = " ".join(self._text(row, MODEL).split())
                if kind == PriceFileKind.USER and model and model in in_workspace:
                    title += " (this workspace's row wins)"
                path = next((str(f.path) for f in self.files if f.kind == kind), "")
                item.setText(title)
                item.setToolTip(path)
        finally:
            self._filling = False

    def _choose_bad_row(self, message: str) -> None:
        words = message.split()
        if len(words) > 1 and words[0] == "Row":
            number = words[1].rstrip(":")
            if number.isdigit() and 0 < int(number) <= self.table.rowCount():
                self.table.setCurrentCell(int(number) - 1, MODEL)

    def _refresh_buttons(self, *_: object) -> None:
        self.remove_button.setEnabled(self.table.currentRow() >= 0 and self.table.rowCount() > 0)

    def _show(self, text: str, *, error: bool = False, ok: bool = False) -> None:
        self.last_message = text
        self.message.setStyleSheet("color:#b3261e" if error else "color:#2e7d32" if ok else "")
        self.message.setText(text)
