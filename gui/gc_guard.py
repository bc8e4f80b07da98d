"""Python's cyclic garbage collector runs in whichever thread happens to allocate. When a worker thread
collects a cycle that holds Qt objects (a closed dialog, an old window), they are destroyed off the GUI
thread and the process crashes (seen in CI: a segfault "Garbage-collecting" inside a worker's model load).
So automatic collection is switched off and the GUI thread collects on a timer, with Python's own
thresholds.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication


class MainThreadGC(QObject):
    def __init__(self, parent: QObject, interval_ms: int = 500):
        super().__init__(parent)
        self.threshold = gc.get_threshold()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.check)
        self.timer.start(interval_ms)

    def check(self) -> None:
        c0, c1, c2 = gc.get_count()
        if c0 > self.threshold[0]:
            gc.collect(2 if c2 > self.threshold[2] else 1 if c1 > self.threshold[1] else 0)


def install_main_thread_gc() -> None:
    """Idempotent: one collector per QApplication (the app, the self-test and the tests all get it)."""
    app = QApplication.instance()
    if app is not None and app.findChild(MainThreadGC) is None:
        MainThreadGC(app)
