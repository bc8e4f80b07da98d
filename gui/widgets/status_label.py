"""The job status line under the progress bar."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QSizePolicy


class StatusLabel(QLabel):
    """Job status under the progress bar. A long message (a network error, a huge file's reason) wraps in
    at most five lines and never widens the window; the full text is in the tooltip."""

    MAX_LINES = 5

    def __init__(self):
        super().__init__("")
        self.setWordWrap(True)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMaximumHeight(self.fontMetrics().lineSpacing() * self.MAX_LINES + 4)

    def setText(self, text: str) -> None:  # noqa: N802 (Qt name)
        super().setText(text)
        self.setToolTip(text if len(text) > 60 else "")

