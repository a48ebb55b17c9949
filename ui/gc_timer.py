"""Garbage collection on a timer, between events, instead of in the middle of one.

Python collects when allocation counts pass a threshold, which can be in the middle of
scrolling a long list, adding a pause to a frame that already fetched a page of rows. As
qutebrowser does (after a recipe from the PyQt mailing list), automatic collection is turned off
and a timer collects each generation whose threshold has been passed, always on the GUI thread.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 500


class GarbageCollector(QObject):
    """Disables automatic garbage collection and collects from a timer instead.

    Attributes:
        timer: fires every ``INTERVAL_MS`` milliseconds on the GUI thread.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.check)
        self.threshold = gc.get_threshold()
        gc.disable()
        self.timer.start(INTERVAL_MS)

    def check(self) -> None:
        """Collect the generations whose allocation counts have passed their thresholds."""
        counts = gc.get_count()
        if counts[0] > self.threshold[0]:
            generation = 0
            if counts[1] > self.threshold[1]:
                generation = 1
                if counts[2] > self.threshold[2]:
                    generation = 2
            gc.collect(generation)
            if generation == 2:
                # What survives a full collection (list rows, caches) lives as long as its view: keep it
                # out of later full scans, so they stay short however long the lists grow.
                gc.freeze()

    def stop(self) -> None:
        """Give collection back to Python."""
        self.timer.stop()
        gc.enable()
