import threading

import pytest
import shiboken6
from PySide6.QtCore import QObject

from tests.datapaths import DEMO_TITLES
from ui.workers import Lane, PageReader

pytestmark = pytest.mark.gui


def test_results_for_a_deleted_object_are_dropped(qtbot):
    lane = Lane("test")
    gate = threading.Event()
    kept, dropped = [], []
    try:
        owner, other = QObject(), QObject()
        lane.submit(lambda: gate.wait(5) and "late", success=dropped.append, failure=dropped.append, context=owner)
        lane.submit(lambda: "for the other", success=kept.append, context=other)
        owner.deleteLater()
        qtbot.waitUntil(lambda: not shiboken6.isValid(owner), timeout=5000)
        gate.set()  # the first result comes after its owner is gone
        qtbot.waitUntil(lambda: kept == ["for the other"], timeout=5000)
        qtbot.wait(50)
        assert dropped == []
    finally:
        gate.set()
        lane.shutdown()


def test_page_reader_reads_on_its_own_thread_and_reports_failures_to_the_caller(qtbot, demo_workspace, tmp_path):
    reader = PageReader(demo_workspace / "reviewer.db")
    try:
        thread = reader.call(lambda conn: threading.current_thread())
        assert thread is not threading.main_thread()
        assert reader.call(lambda conn: conn.execute("SELECT count(*) FROM proposals").fetchone()[0]) == len(DEMO_TITLES)
        with pytest.raises(Exception, match="readonly|read-only"):
            reader.call(lambda conn: conn.execute("DELETE FROM proposals"))
    finally:
        reader.shutdown()
