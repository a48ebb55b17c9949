"""Background lanes: one serial lane for the database and git, results delivered on the GUI thread."""

from __future__ import annotations

import concurrent.futures
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import QObject, Qt, Signal

from reviewer.errors import BugError, KnownError

if TYPE_CHECKING:
    import sqlite3

    from reviewer.ops import OpResult
    from reviewer.workspace import Workspace


# A background thread running Python holds the interpreter lock for up to this long before it must
# hand it over; the GUI thread, painting through Python delegates, can wait that long each time.
SWITCH_INTERVAL_S = 0.001


def share_the_interpreter() -> None:
    """Have background threads hand the interpreter to the GUI thread within a millisecond.

    A page reader building rows in Python holds the GIL; with Python's default 5 ms switch
    interval, a frame that calls into Python a few times while a page is being built can wait
    tens of milliseconds in all. Measured by ``benchmarks/bench_desk.py``.
    """
    sys.setswitchinterval(SWITCH_INTERVAL_S)


class Lane(QObject):
    """Runs operations on worker threads and reports back on the GUI thread.

    Operations must not touch widgets; they return a value that ``success`` receives on the GUI thread.

    Signals:
        busy_changed(bool): whether an operation is running.
    """

    busy_changed = Signal(bool)
    _delivered = Signal(object, object)

    def __init__(self, name: str, max_workers: int = 1, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=name)
        self._running = 0
        self._lock = threading.Lock()
        self._closed = False
        # Queued: the slot always runs on the thread this object lives in (the GUI thread).
        self._delivered.connect(self._on_delivered, Qt.ConnectionType.QueuedConnection)

    def submit(
        self,
        op: Callable[[], Any],
        *,
        success: Callable[[Any], None] | None = None,
        failure: Callable[[BaseException], None] | None = None,
        context: QObject | None = None,
    ) -> concurrent.futures.Future[Any]:
        """Run ``op()`` in the background; call ``success(result)`` or ``failure(error)`` on the GUI thread.

        With a ``context``, neither is called once that object has been deleted (a list model
        whose view closed while its page was being read).
        """
        if self._closed:
            raise BugError("lane used after shutdown")
        if context is not None:
            success, failure = _while_alive(context, success), _while_alive(context, failure)
        self._set_running(+1)

        def task() -> Any:
            try:
                result = op()
            except BaseException as exc:  # delivered to the GUI thread, never lost
                exc.__traceback_text__ = traceback.format_exc()  # type: ignore[attr-defined]
                self._delivered.emit(failure or _default_failure, exc)
                raise
            finally:
                self._set_running(-1)
            if success is not None:
                self._delivered.emit(success, result)
            return result

        return self._executor.submit(task)

    def busy(self) -> bool:
        """Whether an operation is queued or running."""
        with self._lock:
            return self._running > 0

    def _set_running(self, delta: int) -> None:
        with self._lock:
            before = self._running
            self._running += delta
            after = self._running
        if (before == 0) != (after == 0):
            self.busy_changed.emit(after > 0)

    def _on_delivered(self, callback: Callable[[Any], None], value: Any) -> None:
        if not self._closed:
            callback(value)

    def shutdown(self, wait: bool = True) -> None:
        """Stop taking work, release what the lane's thread holds, and (by default) wait for it."""
        if not self._closed:
            self._executor.submit(self._release)
        self._closed = True
        self._executor.shutdown(wait=wait, cancel_futures=True)

    def _release(self) -> None:
        """Close what the lane opened, on the lane's own thread (last of its work)."""


def _while_alive(context: QObject, callback: Callable[[Any], None] | None) -> Callable[[Any], None] | None:
    if callback is None:
        return None

    def guarded(value: Any) -> None:
        if shiboken6.isValid(context):
            callback(value)

    return guarded


def _default_failure(error: BaseException) -> None:
    from ui.dialogs import show_error

    show_error(None, error)


class WorkspaceLane(Lane):
    """The serial database-and-git lane: the workspace is opened, used and closed on its one thread.

    Writes go through ``perform``: an operation's ``Changes`` are broadcast on ``changed`` (on the
    GUI thread, before its ``success``), and every view refreshes what it shows from them.

    Signals:
        changed(Changes): an operation changed the record (also after a failed or cancelled long
            run that had written part of its work).
        warned(str): something went wrong after an operation's change was saved (the log ref could
            not be updated, say); the window shows it.
    """

    changed = Signal(object)
    warned = Signal(str)

    def __init__(self, path: Path, parent: QObject | None = None) -> None:
        super().__init__("db-git", max_workers=1, parent=parent)
        self.path = path
        self._workspace: Workspace | None = None

    def run(
        self,
        op: Callable[[Workspace], Any],
        *,
        success: Callable[[Any], None] | None = None,
        failure: Callable[[BaseException], None] | None = None,
        context: QObject | None = None,
    ) -> concurrent.futures.Future[Any]:
        """Run ``op(workspace)`` on the lane thread (``context``: as for ``Lane.submit``)."""

        def with_workspace() -> Any:
            if self._workspace is None:
                # Imported here, on the lane's thread: the database layer loads while the window paints.
                from reviewer.workspace import Workspace

                self._workspace = Workspace.open(self.path)
            return op(self._workspace)

        return self.submit(with_workspace, success=success, failure=failure, context=context)

    def perform(
        self,
        op: Callable[[Workspace], OpResult[Any]],
        *,
        success: Callable[[Any], None] | None = None,
        failure: Callable[[BaseException], None] | None = None,
        context: QObject | None = None,
    ) -> concurrent.futures.Future[Any]:
        """Run the operation ``op(workspace)`` on the lane; broadcast its changes, then call ``success(value)``.

        When it fails after writing part of its work (a commit run stopped by a hook, a model run
        cancelled), what it did write is read from the log and broadcast all the same. With a
        ``context``, ``success`` and ``failure`` are not called once it is deleted (the changes
        are still broadcast).
        """
        if context is not None:
            success, failure = _while_alive(context, success), _while_alive(context, failure)

        def operation(workspace: Workspace) -> OpResult[Any]:
            from reviewer.audit import head_of
            from reviewer.ops import events_since

            before = head_of(workspace.store.db).seq
            try:
                return op(workspace)
            except BaseException:
                try:
                    written = events_since(workspace.store, before)
                except Exception:  # the failure itself is what the user must see
                    written = None
                if written:
                    self.changed.emit(written)
                raise

        def delivered(result: OpResult[Any]) -> None:
            if result.changes:
                self.changed.emit(result.changes)
            if success is not None:
                success(result.value)
            for warning in result.warnings:  # after the success's own message, so it stays in view
                self.warned.emit(warning)

        return self.run(operation, success=delivered, failure=failure)

    def _release(self) -> None:
        if self._workspace is not None:
            self._workspace.close()
            self._workspace = None


def describe_error(error: BaseException) -> tuple[str, bool]:
    """Return the message to show for ``error`` and whether it is a bug (needs debug info)."""
    if isinstance(error, KnownError):
        return str(error), False
    return f"{type(error).__name__}: {error}", True


class TaskProgress(QObject):
    """A ``reviewer.progress.Progress`` that a worker thread ticks and the GUI thread watches and cancels.

    Signals:
        started(int, str): a phase began with this many steps (0 when unknown) and this label.
        advanced(int, int): steps done so far, and the total (0 when unknown).
        finished(): the phase ended.
    """

    started = Signal(int, str)
    advanced = Signal(int, int)
    finished = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cancel = threading.Event()
        self._done = 0
        self._total = 0
        self._last_emit = 0.0

    def start(self, total: int | None, label: str = "") -> None:
        """Begin a phase (called from the worker thread)."""
        self._done = 0
        self._total = int(total or 0)
        self.started.emit(self._total, label)
        self._check()

    def tick(self, amount: int = 1) -> None:
        """Advance (worker thread); raises ``Cancelled`` once the user has asked to stop."""
        import time

        self._done += amount
        now = time.monotonic()
        # Emitting on every row of a million-row import would flood the GUI thread's queue.
        if now - self._last_emit >= 0.05 or (self._total and self._done >= self._total):
            self._last_emit = now
            self.advanced.emit(self._done, self._total)
        self._check()

    def finish(self) -> None:
        """End the phase (worker thread)."""
        self.finished.emit()

    def cancel(self) -> None:
        """Ask the operation to stop at its next tick (GUI thread)."""
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        """Whether a cancel was asked for."""
        return self._cancel.is_set()

    def _check(self) -> None:
        if self._cancel.is_set():
            from reviewer.progress import Cancelled

            raise Cancelled()


class ReadConnection:
    """A read-only SQLite connection, used by item models to read pages lazily.

    Writes never go through it: they run on the workspace lane. SQLite's write-ahead log lets this
    connection read while the lane writes.

    Attributes:
        conn: the sqlite3 connection (only on the thread that opened it).
    """

    def __init__(self, database: Path) -> None:
        from reviewer.store import open_read_only

        self.conn = open_read_only(database)

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()


class PageReader(Lane):
    """Reads pages for item models on its own thread, through its own read-only connection.

    A list that reads its next page here while the reader scrolls never waits for the disk on the
    GUI thread; the page is handed over by ``success`` on the GUI thread. The connection is opened,
    used and closed on the reader's one thread.
    """

    def __init__(self, database: Path, parent: QObject | None = None) -> None:
        super().__init__("pages", max_workers=1, parent=parent)
        self.database = database
        self._read: ReadConnection | None = None

    def read(
        self,
        op: Callable[[sqlite3.Connection], Any],
        *,
        success: Callable[[Any], None] | None = None,
        failure: Callable[[BaseException], None] | None = None,
        context: QObject | None = None,
    ) -> concurrent.futures.Future[Any]:
        """Run ``op(connection)`` on the reader's thread; ``success``/``failure`` come on the GUI thread.

        ``context``: as for ``Lane.submit``, the object the callbacks belong to.
        """

        def with_connection() -> Any:
            if self._read is None:
                self._read = ReadConnection(self.database)
            return op(self._read.conn)

        return self.submit(with_connection, success=success, failure=failure, context=context)

    def call(self, op: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run ``op(connection)`` on the reader's thread and wait for its result (raised on failure)."""
        return self.read(op, failure=_ignore).result()

    def _release(self) -> None:
        if self._read is not None:
            self._read.close()
            self._read = None


def _ignore(_error: BaseException) -> None:
    """A failure the caller receives from the future itself (``PageReader.call``)."""
