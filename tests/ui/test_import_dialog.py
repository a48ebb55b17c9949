import csv

import pytest

from benchmarks.gen_ca1 import generate
from reviewer.importing import ImportSummary
from reviewer.store import Store
from tests.datapaths import POLIS_SAMPLE
from ui.dialogs import Dialogs
from ui.views.import_dialog import ImportDialog
from ui.workers import WorkspaceLane

pytestmark = pytest.mark.gui



def _counts(path):
    store = Store.open(path / "reviewer.db")
    try:
        counts = store.counts()
        counts["quarantine"] = store.db.execute("SELECT count(*) FROM quarantine").fetchone()[0]
        return counts
    finally:
        store.close()


@pytest.fixture
def dialog(qtbot, demo_workspace):
    lane = WorkspaceLane(demo_workspace)
    d = ImportDialog(lane)
    qtbot.addWidget(d)
    yield d
    lane.shutdown()


def test_ca1_import_runs_on_the_lane_and_shows_the_summary(qtbot, dialog, demo_workspace, tmp_path):
    files = generate(tmp_path / "ca1", 300, seed=7)
    before = _counts(demo_workspace)
    dialog.add_files([str(files["annotators"]), str(files["comparisons"])])
    dialog.add_files([str(files["comparisons"])])  # listed once only
    assert dialog.files_model.stringList() == [str(files["annotators"]), str(files["comparisons"])]
    with qtbot.waitSignal(dialog.imported, timeout=20000) as blocker:
        dialog.import_button.click()
        assert dialog.running and not dialog.import_button.isEnabled() and dialog.panel.isVisibleTo(dialog)
    summary = blocker.args[0]
    assert isinstance(summary, ImportSummary) and summary.source == "ca1"
    assert [f.kind for f in summary.files] == ["comparisons", "annotators"]  # comparisons first, whatever the order
    assert summary.added["assessments"] == 300
    after = _counts(demo_workspace)
    assert after["assessments"] == before["assessments"] + 300
    assert after["audit_events"] == before["audit_events"] + 1
    text = dialog.result_view.toPlainText()
    assert "Assessments" in text and "300" in text and "No bad rows." in text
    assert "comparisons.jsonl" in text
    assert not dialog.running and dialog.import_button.isEnabled() and not dialog.panel.isVisibleTo(dialog)
    assert dialog.status.text().startswith("Imported: ") and "new rows" in dialog.status.text()


def test_cancel_rolls_back_and_writes_nothing(qtbot, dialog, demo_workspace, tmp_path):
    files = generate(tmp_path / "big", 6000, seed=3)
    before = _counts(demo_workspace)
    dialog.add_files([str(files["comparisons"]), str(files["annotators"])])
    dialog.on_import()
    progress = dialog.progress
    assert progress is not None
    with qtbot.waitSignal(dialog.cancelled, timeout=30000):
        with qtbot.waitSignal(progress.advanced, timeout=20000):
            pass
        dialog.panel.cancel_button.click()  # the user's Cancel, on the GUI thread
        assert dialog.panel.label.text() == "Cancelling…"
    assert _counts(demo_workspace) == before  # nothing written, no audit event
    assert dialog.status.text() == "Cancelled: nothing was imported."
    assert dialog.summary is None and Dialogs.shown == []
    assert dialog.import_button.isEnabled()


def test_strict_import_of_a_bad_file_fails_with_a_plain_message(qtbot, dialog, demo_workspace, tmp_path):
    files = generate(tmp_path / "ca1", 40, seed=5)
    lines = files["comparisons"].read_text(encoding="utf-8").splitlines()
    lines.insert(2, "{not json")
    files["comparisons"].write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = _counts(demo_workspace)
    dialog.add_files([str(files["comparisons"])])
    dialog.strict_box.setChecked(True)
    with qtbot.waitSignal(dialog.failed, timeout=20000) as blocker:
        dialog.on_import()
    error = blocker.args[0]
    assert "comparisons.jsonl:3" in str(error)
    assert "comparisons.jsonl:3" in dialog.status.text() and "nothing was imported" in dialog.status.text().lower()
    assert Dialogs.shown == []  # a known error is shown in the dialog, not as a bug box
    assert _counts(demo_workspace) == before


def test_lenient_import_quarantines_bad_rows_and_quotes_the_first(qtbot, dialog, demo_workspace, tmp_path):
    files = generate(tmp_path / "ca1", 40, seed=5)
    lines = files["comparisons"].read_text(encoding="utf-8").splitlines()
    lines.insert(1, "{not json <b>bold</b>")
    files["comparisons"].write_text("\n".join(lines) + "\n", encoding="utf-8")
    dialog.add_files([str(files["comparisons"])])
    with qtbot.waitSignal(dialog.imported, timeout=20000) as blocker:
        dialog.on_import()
    summary = blocker.args[0]
    assert summary.quarantined == 1
    html = dialog.result_view.toHtml()
    text = dialog.result_view.toPlainText()
    assert "Quarantined 1 bad row" in text and "comparisons.jsonl:2" in text
    assert "<b>bold</b>" not in html  # quarantined input never becomes markup
    assert "quarantined" in dialog.status.text()


@pytest.fixture(params=["sample", pytest.param("real", marks=pytest.mark.real_data)])
def polis_export(request):
    """The project's own sample Pol.is export, always; the real CCAI export too when it is there."""
    return POLIS_SAMPLE if request.param == "sample" else request.getfixturevalue("real_polis_dir")


def _polis_size(folder):
    """Statements, participants and vote cells of an export, counted here from its files."""
    with open(folder / "comments.csv", encoding="utf-8", newline="") as handle:
        statements = sum(1 for _ in csv.reader(handle)) - 1
    with open(folder / "participants-votes.csv", encoding="utf-8", newline="") as handle:
        header, *rows = csv.reader(handle)
    first_vote = header.index("n-disagree") + 1
    votes = sum(1 for row in rows for cell in row[first_vote:] if cell)
    return {"statements": statements, "participants": len(rows), "votes": votes}


def test_polis_export_imports_with_its_key(qtbot, dialog, demo_workspace, polis_export):
    before = _counts(demo_workspace)
    dialog.set_polis_files(str(polis_export / "comments.csv"), key="ccai")
    assert dialog.votes_edit.text() == str(polis_export / "participants-votes.csv")  # found beside comments.csv
    with qtbot.waitSignal(dialog.imported, timeout=30000) as blocker:
        dialog.on_import()
    summary = blocker.args[0]
    assert summary.source == "polis" and summary.options == {"key": "ccai"}
    size = _polis_size(polis_export)
    assert summary.added == size and summary.quarantined == 0
    assert size["statements"] >= 30 and size["votes"] >= 500  # not an empty or truncated export
    assert _counts(demo_workspace)["audit_events"] == before["audit_events"] + 1
    text = dialog.result_view.toPlainText()
    assert "Statements" in text and "No bad rows." in text
    assert not dialog.running and dialog.import_button.isEnabled()


def test_missing_input_is_reported_without_running(qtbot, dialog):
    dialog.on_import()
    assert not dialog.running and "Add at least one CA-1 file" in dialog.status.text()
    dialog.tabs.setCurrentIndex(ImportDialog.POLIS_TAB)
    dialog.comments_edit.setText("/nowhere/comments.csv")
    dialog.on_import()
    assert not dialog.running and "participants-votes.csv" in dialog.status.text()
    dialog.votes_edit.setText("/nowhere/participants-votes.csv")
    with qtbot.waitSignal(dialog.failed, timeout=20000) as blocker:
        dialog.on_import()
    assert "does not exist" in str(blocker.args[0]) and "does not exist" in dialog.status.text()


def test_escape_while_running_cancels_instead_of_closing(qtbot, dialog, tmp_path):
    files = generate(tmp_path / "big", 6000, seed=4)
    dialog.add_files([str(files["comparisons"]), str(files["annotators"])])
    dialog.show()
    with qtbot.waitSignal(dialog.cancelled, timeout=30000):
        dialog.on_import()
        dialog.reject()
        assert dialog.isVisible() and dialog.progress.cancelled
    dialog.reject()
    assert not dialog.isVisible()


def test_file_list_removal_and_chooser_seams(qtbot, dialog, monkeypatch, tmp_path):
    chosen = [str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl")]
    monkeypatch.setattr(Dialogs, "ask_open_files", classmethod(lambda cls, *a, **k: chosen))
    dialog.on_add_files()
    assert dialog.files_model.stringList() == chosen
    dialog.files_view.selectionModel().select(
        dialog.files_model.index(0), dialog.files_view.selectionModel().SelectionFlag.Select)
    dialog.on_remove_files()
    assert dialog.files_model.stringList() == chosen[1:]
    monkeypatch.setattr(Dialogs, "ask_open_files", classmethod(lambda cls, *a, **k: None))
    dialog.on_add_files()  # cancelled chooser: nothing changes
    assert dialog.files_model.stringList() == chosen[1:]
