"""Terminal rendering of engine Progress reports: a redrawn bar on a TTY, plain lines otherwise."""

from __future__ import annotations

import time

from ..progress import Progress


def format_eta(seconds: float) -> str:
    seconds = max(0, int(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class TerminalProgress:
    def __init__(self, stream, *, quiet: bool = False, min_interval: float = 0.2):
        self.stream, self.quiet = stream, quiet
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self.min_interval = min_interval if self.tty else 5.0
        self.start = time.monotonic()
        self.last = 0.0
        self.first_step = None

    def __call__(self, p: Progress) -> None:
        if self.quiet:
            return
        now = time.monotonic()
        if self.first_step is None:
            self.first_step, self.start = p.step, now
        final = p.total and p.step >= p.total
        if now - self.last < self.min_interval and not final:
            return
        self.last = now
        done = p.step - self.first_step
        rate = done / max(1e-9, now - self.start)
        eta = (p.total - p.step) / rate if rate > 0 and p.total else 0
        width = 30
        filled = int(width * p.fraction)
        line = (f"{p.stage:>8} [{'#' * filled}{'.' * (width - filled)}] {p.step}/{p.total} "
                f"ETA {format_eta(eta)} {p.message}")
        if self.tty:
            self.stream.write("\r" + line[:160].ljust(160))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty and not self.quiet:
            self.stream.write("\n")
            self.stream.flush()
