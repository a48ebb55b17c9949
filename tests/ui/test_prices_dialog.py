"""Models ▸ Price table…: rows per model and file, edited with the keyboard, saved as the CLI saves, used by the estimates."""

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QApplication, QComboBox, QLineEdit

from cli.main import main as cli_main
from reviewer.prices import Price, load_prices, prices_files, set_price
from tests.fake_openai_server import FakeOpenAIServer, loop_responder, stance_responder
from tests.ui.test_judge_dialog import stance_dialog
from tests.ui.test_propose_dialog import propose_dialog
from ui.views.model_settings import ModelSettingsDialog
from ui.views.prices_dialog import KEPT_IN, MODEL, OUTPUT, PricesDialog

pytestmark = pytest.mark.gui


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("SPEC_REVIEW_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def workspace(tmp_path):
    path = tmp_path / "ws"
    path.mkdir()
    return path


def prices_dialog(qtbot, workspace):
    dialog = PricesDialog(workspace)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)
    return dialog


def shown(dialog):
    """Each row as (model, input, cached input, output, kept in) as the table shows it."""
    return [tuple(dialog.table.item(r, c).text() for c in range(5)) for r in range(dialog.table.rowCount())]


def cell_editor(qtbot, dialog, column):
    """The cell editor of ``column`` once it has the focus."""
    def editing():
        focus = QApplication.focusWidget()
        return (isinstance(focus, QLineEdit) and dialog.table.viewport().isAncestorOf(focus)
                and dialog.table.currentColumn() == column)

    qtbot.waitUntil(editing)
    return QApplication.focusWidget()


def type_row(qtbot, dialog, model, *prices):
    """Alt+A, then type the model and its three prices cell by cell, as a keyboard user does."""
    rows = dialog.table.rowCount()
    qtbot.keyClick(dialog, Qt.Key.Key_A, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: dialog.table.rowCount() == rows + 1)  # a mnemonic clicks after a moment, as a click shows
    editor = cell_editor(qtbot, dialog, MODEL)  # the new row's model cell is being edited
    qtbot.keyClicks(editor, model)
    for column, price in enumerate(prices, start=MODEL + 1):
        qtbot.keyClick(editor, Qt.Key.Key_Tab)  # commits the cell and edits the next
        editor = cell_editor(qtbot, dialog, column)
        qtbot.keyClicks(editor, price)
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    done_editing(qtbot, dialog)


def done_editing(qtbot, dialog):
    """Wait for the cell editor Enter closed: the delegate commits it a moment after the key, as Qt does."""
    qtbot.waitUntil(lambda: dialog.table.state() != QAbstractItemView.State.EditingState)


def test_rows_of_both_files_are_shown_with_where_each_is_kept_and_which_wins(qtbot, home, workspace):
    user = prices_files()[0]
    set_price(user, "gpt-x", Price(2.0, 0.5, 8.0))
    set_price(user, "gpt-y", Price(1.0, 0.25, 4.0))
    set_price(workspace / "prices.json", "gpt-x", Price(3.0, 1.0, 9.0))
    dialog = prices_dialog(qtbot, workspace)
    assert shown(dialog) == [
        ("gpt-x", "2", "0.5", "8", "your price table (this workspace's row wins)"),
        ("gpt-y", "1", "0.25", "4", "your price table"),
        ("gpt-x", "3", "1", "9", "this workspace"),
    ]
    assert dialog.table.item(0, KEPT_IN).toolTip() == str(user)
    assert str(user) in dialog.files_note.text() and str(workspace / "prices.json") in dialog.files_note.text()


def test_add_edit_and_remove_with_the_keyboard_then_save_writes_the_file_the_cli_reads(qtbot, capsys, home,
                                                                                      demo_workspace):
    workspace = demo_workspace
    set_price(prices_files()[0], "old-model", Price(1.0, 1.0, 1.0))
    dialog = prices_dialog(qtbot, workspace)
    type_row(qtbot, dialog, "gpt-4.1-mini", "0.4", "0.1", "1.6")
    assert shown(dialog)[-1] == ("gpt-4.1-mini", "0.4", "0.1", "1.6", "your price table")
    # Edit a price in place: arrows to the cell, F2, new text, Enter.
    dialog.table.setFocus()
    dialog.table.setCurrentCell(1, OUTPUT)
    qtbot.keyClick(dialog.table, Qt.Key.Key_F2)
    editor = cell_editor(qtbot, dialog, OUTPUT)
    editor.selectAll()
    qtbot.keyClicks(editor, "1.8")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    done_editing(qtbot, dialog)
    # Keep it in this workspace instead: the "Kept in" cell's list.
    dialog.table.setCurrentCell(1, KEPT_IN)
    qtbot.keyClick(dialog.table, Qt.Key.Key_F2)
    qtbot.waitUntil(lambda: isinstance(QApplication.focusWidget(), QComboBox))
    combo = QApplication.focusWidget()
    assert isinstance(combo, QComboBox) and combo.accessibleName() == "Kept in"
    combo.setCurrentIndex(combo.findText("this workspace"))
    qtbot.keyClick(combo, Qt.Key.Key_Return)
    done_editing(qtbot, dialog)
    # Remove the old row.
    dialog.table.setCurrentCell(0, MODEL)
    qtbot.keyClick(dialog, Qt.Key.Key_R, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 1)  # a mnemonic clicks after a moment, as a click shows
    assert [row[0] for row in shown(dialog)] == ["gpt-4.1-mini"]
    assert json.loads(prices_files()[0].read_text()) == {"old-model": {"input": 1.0, "cached_input": 1.0,
                                                                       "output": 1.0}}  # nothing before Save
    with qtbot.waitSignal(dialog.saved) as saved:
        qtbot.keyClick(dialog, Qt.Key.Key_S, Qt.KeyboardModifier.AltModifier)
    assert saved.args[0] == [prices_files()[0], workspace / "prices.json"]
    assert "Saved to" in dialog.message.text()
    assert load_prices(workspace) == {"gpt-4.1-mini": Price(0.4, 0.1, 1.8)}
    assert shown(dialog) == [("gpt-4.1-mini", "0.4", "0.1", "1.8", "this workspace")]  # read back from the files
    # The command line reads what the window wrote.
    assert cli_main(["judge", "prices", str(workspace), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["prices"] == [{"model": "gpt-4.1-mini", "input": 0.4, "cached_input": 0.1, "output": 1.8,
                               "source": str(workspace / "prices.json")}]


@pytest.mark.parametrize(("typed", "message"), [
    (("", "1", "1", "1"), "Row 2 has no model name."),
    (("m", "-2", "1", "1"), "Row 2 (m): The input price cannot be negative (-2)."),
    (("m", "1", "cheap", "1"), "Row 2 (m): The cached input price 'cheap' is not a number."),
])
def test_bad_input_is_said_plainly_the_row_is_chosen_and_nothing_is_written(qtbot, home, workspace, typed, message):
    user = prices_files()[0]
    set_price(user, "kept", Price(1.0, 1.0, 1.0))
    before = user.read_bytes()
    dialog = prices_dialog(qtbot, workspace)
    type_row(qtbot, dialog, *typed)
    with qtbot.waitSignal(dialog.failed) as failed:
        dialog.save_button.click()
    assert failed.args[0].message == message
    assert message in dialog.message.text() and dialog.table.currentRow() == 1
    assert user.read_bytes() == before and not (workspace / "prices.json").exists()
    assert shown(dialog)[1][0] == typed[0]  # what was typed stays, to be mended


def test_an_unreadable_file_is_shown_as_a_problem_and_left_as_it_is(qtbot, home, workspace):
    (workspace / "prices.json").write_text("{oops", encoding="utf-8")
    dialog = prices_dialog(qtbot, workspace)
    assert "cannot be read" in dialog.message.text() and "left as it is" in dialog.message.text()
    assert dialog.delegate.kinds == ["user"]  # rows can be kept only in the file that can be read
    type_row(qtbot, dialog, "m", "1", "1", "1")
    with qtbot.waitSignal(dialog.saved):
        dialog.save_button.click()
    assert (workspace / "prices.json").read_text() == "{oops"
    assert json.loads(prices_files()[0].read_text()) == {"m": {"input": 1.0, "cached_input": 1.0, "output": 1.0}}


def test_the_judge_estimate_uses_the_prices_saved_in_the_window(qtbot, home, demo_workspace):
    with FakeOpenAIServer(stance_responder) as server:
        dialog = stance_dialog(qtbot, demo_workspace, server, limit=12)
        with qtbot.waitSignal(dialog.planned, timeout=20000) as planned:
            dialog.estimate_button.click()
        assert planned.args[0].estimate.cost is None
        assert "no price set for test-model" in dialog.message.text() and "Price table" in dialog.message.text()
        prices = prices_dialog(qtbot, demo_workspace)
        type_row(qtbot, prices, "test-model", "1000", "1000", "0")  # a dollar a thousand input tokens, cached or not
        with qtbot.waitSignal(prices.saved):
            prices.save_button.click()
        with qtbot.waitSignal(dialog.planned, timeout=20000) as planned:
            dialog.estimate_button.click()
        estimate = planned.args[0].estimate
        assert server.requests == []  # estimating sends nothing
        assert estimate.cost == pytest.approx(estimate.input_tokens * 1000 / 1_000_000)
        assert f"Cost: about ${estimate.cost:,.2f}" in dialog.message.text()
        dialog.close()


def test_the_propose_estimate_uses_the_prices_saved_in_the_window(qtbot, home, demo_workspace):
    with FakeOpenAIServer(loop_responder) as server:
        dialog = propose_dialog(qtbot, demo_workspace, server)
        with qtbot.waitSignal(dialog.planned, timeout=20000) as planned:
            dialog.estimate_button.click()
        assert planned.args[0].estimate.cost is None and "no price set for test-model" in dialog.message.text()
        prices = prices_dialog(qtbot, demo_workspace)
        type_row(qtbot, prices, "test-model", "0", "0", "1000000")  # a dollar an output token
        with qtbot.waitSignal(prices.saved):
            prices.save_button.click()
        with qtbot.waitSignal(dialog.planned, timeout=20000) as planned:
            dialog.estimate_button.click()
        estimate = planned.args[0].estimate
        assert estimate.cost == pytest.approx(estimate.output_tokens) and estimate.cost > 0
        assert "Cost: about $" in dialog.message.text() and "no price set" not in dialog.message.text()
        assert server.requests == []
        dialog.close()


def test_the_window_opens_from_the_model_settings_and_from_the_models_menu(qtbot, home, workspace, demo_workspace,
                                                                          open_desk):
    settings = ModelSettingsDialog(workspace)
    qtbot.addWidget(settings)
    settings.show()
    assert settings.prices_button.text() == "&Prices…" and settings.prices_button.accessibleDescription()
    settings.prices_button.click()
    opened = [w for w in settings.findChildren(PricesDialog) if w.isVisible()]
    assert len(opened) == 1 and opened[0].workspace_path == workspace
    opened[0].close()
    settings.shutdown()
    desk = open_desk(demo_workspace, "Amara Okafor")
    action = next(a for a in desk.findChildren(type(desk.actions()[0])) if a.text() == "Price &table…")
    action.trigger()
    opened = [w for w in desk.findChildren(PricesDialog) if w.isVisible()]
    assert len(opened) == 1 and opened[0].workspace_path == demo_workspace
    opened[0].close()
