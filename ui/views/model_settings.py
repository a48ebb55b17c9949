"""Model endpoint settings: base URL, model, API key (system keyring only), limits, and a connection test."""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QProgressBar,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from reviewer.errors import KnownError
from reviewer.judges.openai_judge import test_connection
from reviewer.modelconfig import (
    CONFIG_FILE,
    HOSTED_URL,
    ApiKey,
    ModelConfig,
    keep_session_key,
    load_config,
    resolve_api_key,
    same_endpoint,
    save_config,
    store_api_key,
)
from ui.access import describe
from ui.dialogs import Dialogs
from ui.labels import PlainLabel
from ui.workers import Lane

# The environment variables that override the saved settings (see reviewer.modelconfig.load_config).
ENV_SETTINGS = ("OPENAI_BASE_URL", "SPEC_REVIEW_BASE_URL", "SPEC_REVIEW_MODEL", "SPEC_REVIEW_TIMEOUT", "SPEC_REVIEW_RETRIES",
                "SPEC_REVIEW_CONCURRENCY")
_KEY_SOURCES = {
    "SPEC_REVIEW_API_KEY": "the SPEC_REVIEW_API_KEY environment variable",
    "OPENAI_API_KEY": "the OPENAI_API_KEY environment variable",
    "session": "this session (typed earlier; no system keyring)",
    "keyring": "the system keyring",
    "placeholder": "none needed (a local server)",
}


def keyring_available() -> bool:
    """Return whether this machine has a usable system keyring backend."""
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return False
    try:
        backend = keyring.get_keyring()
    except Exception:  # noqa: BLE001 - a broken keyring configuration means no keyring
        return False
    return not isinstance(backend, fail.Keyring)


def run_connection_test(config: ModelConfig, typed_key: str | None) -> str:
    """Send the one-request connection test for ``config``, with ``typed_key`` if the user typed one.

    Runs on a network worker, never on the GUI thread or the database lane.

    Raises:
        KnownError: nothing configured, or the endpoint failed (the message says how).
    """
    if not typed_key:
        return test_connection(config)
    message = test_connection(config, key=ApiKey(typed_key, "the form"))
    return re.sub(r"\(API key from [^)]*\)\.$", "(the API key typed here).", message)


def save_api_key(key: str, base_url: str | None) -> tuple[str, bool]:
    """Keep ``key`` for ``base_url`` in the system keyring, or, without one, for this session only.

    Returns:
        What happened, as a sentence for the user, and whether the key went to the keyring.
    """
    try:
        return store_api_key(key, base_url), True
    except KnownError as exc:
        # Never a file: without a keyring the key lives in this process's memory, for this endpoint only.
        keep_session_key(key, base_url)
        return (f"No system keyring is available ({exc.message.rstrip('.')}): the key is used for this "
                "session only and will be asked for again next time."), False


class ModelSettingsDialog(QDialog):
    """Edits the workspace's model endpoint settings and tests the connection on a network worker.

    The non-secret settings go to ``WORKSPACE/models.json``; the API key goes only to the system
    keyring (or, where there is none, stays in memory for this session). The connection test runs on
    the network lane, never on the database lane, and shows the endpoint's answer or the error.

    Signals:
        saved(object): the ``ModelConfig`` written to the workspace's ``models.json``.
        tested(str): the connection test's answer.
        failed(object): an error from saving or from the connection test.

    Attributes:
        workspace_path: the workspace folder.
        settings_file: ``WORKSPACE/models.json``.
        network: the network lane the connection test runs on.
        base_config: the settings from the files, which the form edits.
        last_message: the last status message shown.
    """

    saved = Signal(object)
    tested = Signal(str)
    failed = Signal(object)

    def __init__(self, workspace_path: Path, parent: QWidget | None = None, *, network: Lane | None = None) -> None:
        super().__init__(parent)
        self.workspace_path = Path(workspace_path)
        self.settings_file = self.workspace_path / CONFIG_FILE
        self._owns_network = network is None
        self.network = network if network is not None else Lane("network", max_workers=4, parent=self)
        self._testing = False
        self.last_message = ""
        self.setWindowTitle("Model settings")
        self.setMinimumWidth(560)

        problem = None
        try:
            # The environment is left out: the form shows and saves what the files say.
            self.base_config = load_config(self.workspace_path, env={})
        except KnownError as exc:
            self.base_config, problem = ModelConfig(), exc

        intro = PlainLabel("Model-backed steps (ranking by the spec, relevance, stance labels) call any "
                       "OpenAI-compatible endpoint: the hosted service, or a local vLLM, llama.cpp or Ollama server.")
        intro.setWordWrap(True)
        self.base_url_edit = QLineEdit(self.base_config.base_url or "")
        self.base_url_edit.setPlaceholderText(f"{HOSTED_URL} (the hosted service)")
        self.model_edit = QLineEdit(self.base_config.model or "")
        self.model_edit.setPlaceholderText("e.g. gpt-4.1-mini, or the name your local server serves")
        self.key_edit = QLineEdit()
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        describe(self.key_edit, "API key", "The endpoint's API key, kept in the system keyring, never in the workspace")
        self.key_edit.setClearButtonEnabled(True)
        self.key_status = PlainLabel()
        self.key_status.setWordWrap(True)
        self.key_status.setStyleSheet("color:#555")
        self.timeout_box = QDoubleSpinBox()
        self.timeout_box.setRange(0.1, 3600.0)
        self.timeout_box.setDecimals(1)
        self.timeout_box.setSuffix(" s")
        self.timeout_box.setValue(self.base_config.timeout)
        self.timeout_box.setToolTip("How long to wait for one answer before giving up on that attempt")
        self.retries_box = QSpinBox()
        self.retries_box.setRange(0, 20)
        self.retries_box.setValue(self.base_config.retries)
        self.retries_box.setToolTip("Further attempts after a rate limit, timeout or server error")
        self.concurrency_box = QSpinBox()
        self.concurrency_box.setRange(1, 256)
        self.concurrency_box.setValue(self.base_config.concurrency)
        self.concurrency_box.setToolTip("How many requests run at once")

        form = QFormLayout()
        form.addRow("&Base URL:", self.base_url_edit)
        form.addRow("&Model:", self.model_edit)
        key_box = QWidget()
        key_layout = QVBoxLayout(key_box)
        key_layout.setContentsMargins(0, 0, 0, 0)
        key_layout.setSpacing(2)
        key_layout.addWidget(self.key_edit)
        key_layout.addWidget(self.key_status)
        key_label = PlainLabel("API &key:")
        key_label.setBuddy(self.key_edit)
        form.addRow(key_label, key_box)
        form.addRow("T&imeout:", self.timeout_box)
        form.addRow("&Retries:", self.retries_box)
        form.addRow("&Concurrency:", self.concurrency_box)

        self.env_note = PlainLabel()
        self.env_note.setWordWrap(True)
        self.env_note.setStyleSheet("color:#8a4b00")
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setMaximumWidth(120)
        self.busy.setTextVisible(False)
        self.busy.hide()
        self.message = PlainLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        result_row = QHBoxLayout()
        result_row.addWidget(self.busy, 0, Qt.AlignmentFlag.AlignTop)
        result_row.addWidget(self.message, 1)

        self.buttons = QDialogButtonBox()
        self.test_button = self.buttons.addButton("&Test connection", QDialogButtonBox.ButtonRole.ActionRole)
        self.test_button.setToolTip("Send one tiny request with these settings (nothing is saved)")
        self.prices_button = self.buttons.addButton("&Prices…", QDialogButtonBox.ButtonRole.ActionRole)
        describe(self.prices_button, None, "What each model costs per million tokens (the estimates use it)")
        self.prices_button.clicked.connect(self.open_prices)
        self.save_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Save)
        self.save_button.setText("&Save")
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        describe(self.close_button, None, "Close this window without saving")
        describe(self.save_button, None, "Save these settings for this workspace")
        self.test_button.clicked.connect(self.on_test)
        self.save_button.clicked.connect(self.on_save)
        self.close_button.clicked.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.env_note)
        layout.addLayout(result_row)
        layout.addStretch(1)
        layout.addWidget(self.buttons)

        # Not on every keystroke: the keyring lookup may talk to a system service.
        self.base_url_edit.editingFinished.connect(self._refresh_key_status)
        self._refresh_key_status()
        self._refresh_env_note()
        if problem is not None:
            self._show(f"{problem} The defaults are shown; saving replaces the file.", error=True)

    # ---- reading the form --------------------------------------------------------------------

    def config_from_form(self) -> ModelConfig:
        """Return the settings the form shows, on top of the file settings it does not edit.

        Raises:
            KnownError: a value is invalid.
        """
        base_url = self.base_url_edit.text().strip() or None
        config = replace(
            self.base_config,
            base_url=base_url,
            model=self.model_edit.text().strip() or None,
            timeout=float(self.timeout_box.value()),
            retries=int(self.retries_box.value()),
            concurrency=int(self.concurrency_box.value()),
        )
        if not same_endpoint(base_url, self.base_config.base_url):
            config = replace(config, endpoint_chosen_by=None)  # typed here, on this machine
        return config

    def typed_key(self) -> str | None:
        """Return the API key typed in the form, if any."""
        return self.key_edit.text().strip() or None

    # ---- actions -----------------------------------------------------------------------------

    def on_save(self) -> None:
        """Write the settings to the workspace's ``models.json`` and the typed key to the keyring."""
        try:
            config = self.config_from_form()
            save_config(config, self.settings_file)
        except KnownError as exc:
            self._show(str(exc), error=True)
            self.failed.emit(exc)
            return
        self.base_config = config
        parts = [f"Saved to {self.settings_file}."]
        key = self.typed_key()
        if key:
            text, _in_keyring = save_api_key(key, config.base_url)
            parts.append(text)
            self.key_edit.clear()
        self._refresh_key_status()
        self._show(" ".join(parts))
        self.saved.emit(config)

    def open_prices(self) -> QDialog:
        """Open the price table of this workspace and the user's, over this window."""
        from ui.keys import keyboard_ready
        from ui.views.prices_dialog import PricesDialog

        dialog = keyboard_ready(PricesDialog(self.workspace_path, self))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def on_test(self) -> None:
        """Test the connection with the settings in the form, on the network lane."""
        if self._testing:
            return
        try:
            config = self.config_from_form()
        except KnownError as exc:
            self._show(str(exc), error=True)
            self.failed.emit(exc)
            return
        key = self.typed_key()
        self._testing = True
        self.test_button.setEnabled(False)
        self.busy.show()
        self._show(f"Testing {config.endpoint}…")
        self.network.submit(lambda: run_connection_test(config, key),
                            success=self.on_tested, failure=self.on_test_failed)

    def on_tested(self, message: str) -> None:
        """Show the endpoint's answer."""
        self._end_test()
        self._show(message, ok=True)
        self.tested.emit(message)

    def on_test_failed(self, error: BaseException) -> None:
        """Show why the connection test failed."""
        self._end_test()
        if isinstance(error, KnownError):
            self._show(f"Connection failed: {error}", error=True)
        else:
            self._show("The connection test failed because of an internal error.", error=True)
            Dialogs.show_error(self, error)
        self.failed.emit(error)

    def shutdown(self) -> None:
        """Stop the network lane if this dialog made it (waiting for a running test)."""
        if self._owns_network:
            self.network.shutdown(wait=True)

    def done(self, result: int) -> None:
        """Qt override: close, stopping the dialog's own network lane without waiting for a slow server."""
        if self._owns_network:
            self.network.shutdown(wait=False)
        super().done(result)

    # ---- helpers -----------------------------------------------------------------------------

    def _end_test(self) -> None:
        self._testing = False
        self.test_button.setEnabled(True)
        self.busy.hide()

    def _show(self, text: str, *, error: bool = False, ok: bool = False) -> None:
        self.last_message = text
        self.message.setStyleSheet("color:#b3261e" if error else "color:#2e7d32" if ok else "")
        self.message.setText(text)

    def _refresh_key_status(self, *_: Any) -> None:
        try:
            key = resolve_api_key(self.config_from_form())
        except KnownError:
            key = resolve_api_key(ModelConfig(base_url=self.base_url_edit.text().strip() or None))
        source = key.source
        where = _KEY_SOURCES.get(source or "", "")
        if key.withheld:
            current = (f"The key from {_KEY_SOURCES.get(key.withheld, key.withheld)} is not sent to this endpoint: "
                       "only the workspace's settings name it. Type a key for it here to use it.")
        elif source in (None, "placeholder"):
            current = "No API key is set for this endpoint." if source is None else \
                "No API key is needed for a local server."
        else:
            current = f"The API key comes from {where}."
        if keyring_available():
            hint = "A key typed here is saved in the system keyring, never in a file."
        else:
            hint = ("This machine has no system keyring: a key typed here is used for this session only "
                    "and never written to a file.")
        self.key_status.setText(f"{current} {hint}")
        self.key_edit.setPlaceholderText("type a new key to replace it" if source not in (None, "placeholder")
                                         else "type the key (it is never shown or written to a file)")

    def _refresh_env_note(self) -> None:
        overrides = [f"{name}={os.environ[name]}" for name in ENV_SETTINGS if os.environ.get(name)]
        if overrides:
            self.env_note.setText("The environment overrides these settings while the app runs: "
                                  + ", ".join(overrides) + ".")
            self.env_note.show()
        else:
            self.env_note.hide()
