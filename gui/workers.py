"""Run engine jobs on a QThread. A job is any callable `job(callback, cancel) -> result`.

Exactly one terminal signal (succeeded, failed or cancelled) is emitted, then finished. Progress is
throttled to ~20 Hz (the last report of a stage always goes through).
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Optional

from PySide6.QtCore import QObject, QThread, Signal, Slot

from engine.errors import Cancelled
from engine.progress import CancelToken, Progress

Job = Callable[[Callable[[Progress], None], CancelToken], Any]


@dataclass(frozen=True)
class ErrorInfo:
    kind: str  # the exception class name
    message: str
    details: str  # formatted traceback, for the "details" section only
    exception: Optional[BaseException] = None


class JobWorker(QObject):
    progress = Signal(object)
    succeeded = Signal(object)
    failed = Signal(object)
    cancelled = Signal()
    finished = Signal()

    def __init__(self, job: Job, cancel: CancelToken, min_interval: float = 0.05):
        super().__init__()
        self.job, self.cancel = job, cancel
        self.min_interval = min_interval
        self._last = 0.0

    def _report(self, p: Progress) -> None:
        now = time.monotonic()
        # per-file and queue events must never be dropped; step reports are throttled
        if p.stage in ("file", "queue") or now - self._last >= self.min_interval or p.step >= p.total:
            self._last = now
            self.progress.emit(p)

    @Slot()
    def run(self) -> None:
        try:
            result = self.job(self._report, self.cancel)
        except Cancelled:
            self.cancelled.emit()
        except BaseException as exc:  # noqa: BLE001 - the worker's top level: report, never crash the GUI
            self.failed.emit(ErrorInfo(type(exc).__name__, str(exc) or type(exc).__name__,
                                       traceback.format_exc(), exc))
        else:
            if self.cancel.is_set:
                self.cancelled.emit()
            else:
                self.succeeded.emit(result)
        finally:
            self.finished.emit()


class JobRunner(QObject):
    """Starts one job at a time on its own thread and keeps references until it is done."""

    busy_changed = Signal(bool)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.thread: Optional[QThread] = None
        self.worker: Optional[JobWorker] = None
        self.cancel_token: Optional[CancelToken] = None
        self._callbacks: dict = {}

    @property
    def busy(self) -> bool:
        return self.thread is not None

    def start(self, job: Job, *, on_progress=None, on_success=None, on_error=None, on_cancel=None) -> JobWorker:
        if self.busy:
            raise RuntimeError("a job is already running")
        self.cancel_token = CancelToken()
        thread, worker = QThread(), JobWorker(job, self.cancel_token)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        # Deliver to the callbacks through this object's slots: it lives in the GUI thread, so the
        # connections are queued. (A plain lambda would run in the worker thread.)
        self._callbacks = {"progress": on_progress, "success": on_success, "error": on_error, "cancel": on_cancel}
        worker.progress.connect(self._on_progress)
        worker.succeeded.connect(self._on_success)
        worker.failed.connect(self._on_error)
        worker.cancelled.connect(self._on_cancel)
        worker.finished.connect(thread.quit)
        thread.finished.connect(self._cleanup)
        self.thread, self.worker = thread, worker
        self.busy_changed.emit(True)
        thread.start()
        return worker

    def _call(self, name: str, *args) -> None:
        callback = self._callbacks.get(name)
        if callback is not None:
            callback(*args)

    @Slot(object)
    def _on_progress(self, p) -> None:
        self._call("progress", p)

    @Slot(object)
    def _on_success(self, result) -> None:
        self._call("success", result)

    @Slot(object)
    def _on_error(self, info) -> None:
        self._call("error", info)

    @Slot()
    def _on_cancel(self) -> None:
        self._call("cancel")

    def cancel(self) -> None:
        if self.cancel_token is not None:
            self.cancel_token.cancel()

    def wait(self, ms: int = 5000) -> bool:
        return self.thread.wait(ms) if self.thread is not None else True

    @Slot()
    def _cleanup(self) -> None:
        thread, worker = self.thread, self.worker
        if thread is not None:
            # `finished` is emitted from inside the thread before it has fully exited; the Python wrapper
            # may delete the QThread as soon as the last reference goes, so let it exit completely first
            thread.wait()
        self.thread = self.worker = None
        self.cancel_token = None
        if worker is not None:
            worker.deleteLater()
        if thread is not None:
            thread.deleteLater()
        self.busy_changed.emit(False)
