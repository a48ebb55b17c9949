"""A progress bar with a label and a Cancel button, driven by a ``TaskProgress``."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QToolButton, QWidget

from ui.labels import PlainLabel
from ui.workers import TaskProgress


class ProgressPanel(QWidget):
    """Shows the progress of one background operation and lets the user cancel it.

    Hidden while nothing runs.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = PlainLabel()
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(220)
        self.bar.setTextVisible(True)
        self.cancel_button = QToolButton()
        self.cancel_button.setText("Cancel")
        self.cancel_button.setToolTip("Stop this operation; nothing half-done is kept")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        self._progress: TaskProgress | None = None
        self.cancel_button.clicked.connect(self.on_cancel)
        self.hide()

    def attach(self, progress: TaskProgress, label: str) -> None:
        """Follow ``progress`` until it finishes; ``label`` says what is running."""
        self._progress = progress
        self.label.setText(label)
        self.bar.setRange(0, 0)
        self.cancel_button.setEnabled(True)
        progress.started.connect(self.on_started)
        progress.advanced.connect(self.on_advanced)
        self.show()

    def on_started(self, total: int, label: str) -> None:
        """A phase began."""
        if label:
            self.label.setText(label)
        self.bar.setRange(0, total)
        self.bar.setValue(0)

    def on_advanced(self, done: int, total: int) -> None:
        """Steps were done."""
        if total:
            self.bar.setRange(0, total)
            self.bar.setValue(min(done, total))

    def on_cancel(self) -> None:
        """Ask the running operation to stop."""
        if self._progress is not None:
            self._progress.cancel()
            self.cancel_button.setEnabled(False)
            self.label.setText("Cancelling…")

    def done(self) -> None:
        """Hide once the operation has ended (success, failure or cancel)."""
        self._progress = None
        self.hide()
