"""The job protocol shared by every long-running engine call: progress callback and cancellation.

No Qt here: the GUI adapts these to signals, the CLI to a terminal progress bar.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np

from .errors import Cancelled


@dataclass(frozen=True)
class Progress:
    """One progress report. `preview` is a small RGB uint8 image (e.g. the sampler's x0 prediction)."""

    stage: str  # "load", "download", "detect", "restore", "paste", "train", "eval", "batch"
    step: int
    total: int
    message: str = ""
    preview: Optional[np.ndarray] = None
    detail: Any = None  # structured detail for front ends (e.g. a batch FileReport)

    @property
    def fraction(self) -> float:
        return 0.0 if self.total <= 0 else min(1.0, self.step / self.total)


ProgressCallback = Callable[[Progress], None]


class CancelToken:
    """Cooperative cancellation: long loops call raise_if_cancelled() at each natural step."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def is_set(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled("cancelled by the user")


def report(callback: Optional[ProgressCallback], *args, **kwargs) -> None:
    """Call `callback` with a Progress if there is one (keeps call sites short)."""
    if callback is not None:
        callback(Progress(*args, **kwargs))


def check(cancel: Optional[CancelToken]) -> None:
    if cancel is not None:
        cancel.raise_if_cancelled()


class PauseToken:
    """Lets a front end pause a batch between files; waiting still honours cancellation."""

    def __init__(self) -> None:
        self._running = threading.Event()
        self._running.set()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def is_paused(self) -> bool:
        return not self._running.is_set()

    def wait(self, cancel: Optional[CancelToken] = None, poll: float = 0.1) -> None:
        while not self._running.wait(poll):
            check(cancel)
