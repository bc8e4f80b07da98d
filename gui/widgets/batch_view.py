"""Batch view: folder in, folder out, naming and format; a queue with per-file status; overall progress
with ETA and faces/s; pause, resume and cancel; a summary at the end."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QHeaderView, QLabel,
                               QLineEdit, QProgressBar, QPushButton, QSpinBox, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

COLUMNS = ("file", "status", "faces", "seconds", "error / note")


class BatchView(QWidget):
    startRequested = Signal()
    pauseToggled = Signal(bool)
    cancelRequested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        form = QFormLayout()
        self.input = self._folder_row(form, "Input folder", "a folder of photos (or drop one on the window)")
        self.recursive = QCheckBox("include subfolders")
        form.addRow("", self.recursive)
        self.output = self._folder_row(form, "Output folder", "default: a 'restored' folder beside each photo")
        self.suffix = QLineEdit("_restored")
        self.suffix.setToolTip("Output name = original name + this suffix")
        form.addRow("Name suffix", self.suffix)
        fmt = QHBoxLayout()
        self.ext = QComboBox()
        for e in ("auto", "png", "jpg", "webp", "tif"):
            self.ext.addItem(e, e)
        self.quality = QSpinBox()
        self.quality.setRange(1, 100)
        self.quality.setValue(95)
        fmt.addWidget(self.ext)
        fmt.addWidget(QLabel("quality"))
        fmt.addWidget(self.quality)
        fmt.addStretch(1)
        form.addRow("Format", fmt)
        self.skip_existing = QCheckBox("skip photos already restored (resume an interrupted batch)")
        self.skip_existing.setChecked(True)
        form.addRow("", self.skip_existing)
        self.overwrite = QCheckBox("replace outputs that exist already (otherwise such a photo is reported, not "
                                   "replaced)")
        form.addRow("", self.overwrite)
        # the photo page's Restoration panel decides steps and upscale for batches too: say what they are
        self.settings_note = QLabel("")
        self.settings_note.setObjectName("batchSettings")
        self.settings_note.setWordWrap(True)
        form.addRow("Restoration", self.settings_note)

        buttons = QHBoxLayout()
        self.start = QPushButton("Start batch")
        self.pause = QPushButton("Pause")
        self.pause.setCheckable(True)
        self.cancel = QPushButton("Cancel")
        self.start.clicked.connect(self.startRequested)
        self.pause.toggled.connect(self._pause_toggled)
        self.cancel.clicked.connect(self.cancelRequested)
        for b in (self.start, self.pause, self.cancel):
            buttons.addWidget(b)
        buttons.addStretch(1)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels([c.capitalize() for c in COLUMNS])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.progress = QProgressBar()
        self.status = QLabel("")
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        self.set_running(False)
        self._t0 = 0.0
        self._done = 0
        self._faces = 0

    def _folder_row(self, form: QFormLayout, label: str, placeholder: str) -> QLineEdit:
        edit = QLineEdit()
        edit.setPlaceholderText(placeholder)
        browse = QPushButton("Browse…")
        browse.clicked.connect(lambda: self._browse(edit))
        row = QHBoxLayout()
        row.addWidget(edit, 1)
        row.addWidget(browse)
        form.addRow(label, row)
        return edit

    def _browse(self, edit: QLineEdit) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a folder", edit.text() or str(Path.home()))
        if folder:
            edit.setText(folder)

    def _pause_toggled(self, paused: bool) -> None:
        self.pause.setText("Resume" if paused else "Pause")
        if paused:  # no ETA while nothing moves; the clock restarts its estimate on resume
            self._status_before_pause = self.status.text()
            self.status.setText(f"Paused after {self._done}/{self.table.rowCount()} photos (the photo in progress "
                                "finishes first)")
        elif getattr(self, "_status_before_pause", None) is not None:
            self.status.setText(self._status_before_pause.split(", ETA")[0])
            self._status_before_pause = None
        self.pauseToggled.emit(paused)

    def set_running(self, running: bool) -> None:
        self.start.setEnabled(not running)
        self.pause.setEnabled(running)
        self.cancel.setEnabled(running)
        if not running:
            self.pause.setChecked(False)

    def set_queue(self, files: list[str]) -> None:
        self.table.setRowCount(len(files))
        for r, f in enumerate(files):
            self.table.setItem(r, 0, QTableWidgetItem(f))
            self.table.setItem(r, 1, QTableWidgetItem("waiting"))
            for c in range(2, len(COLUMNS)):
                self.table.setItem(r, c, QTableWidgetItem(""))
        self.progress.setRange(0, max(1, len(files)))
        self.progress.setValue(0)
        self._t0, self._done, self._faces = time.monotonic(), 0, 0
        self.status.setText(f"{len(files)} photos queued")

    def update_file(self, row: int, report) -> None:
        if row >= self.table.rowCount():
            return
        values = (report.input, report.status, str(report.faces) if report.faces else "",
                  f"{report.seconds:.2f}" if report.seconds else "",
                  report.error or "; ".join(getattr(report, "warnings", []) or []))
        for c, v in enumerate(values):
            self.table.item(row, c).setText(v)
        if report.status in ("done", "no_face", "skipped", "failed", "cancelled"):
            self._done += 1
            self._faces += report.faces
            self.progress.setValue(self._done)
            elapsed = time.monotonic() - self._t0
            left = self.table.rowCount() - self._done
            eta = elapsed / self._done * left if self._done else 0
            if not self.pause.isChecked():
                self.status.setText(f"{self._done}/{self.table.rowCount()} photos, {self._faces} faces, "
                                    f"{self._faces / max(elapsed, 1e-6):.2f} faces/s, ETA {eta:.0f} s")

    def show_summary(self, summary, report=None) -> None:
        counts = ", ".join(f"{summary.count(s)} {s.replace('_', ' ')}" for s in
                           ("done", "no_face", "skipped", "failed", "cancelled") if summary.count(s))
        for row, f in enumerate(summary.files[-self.table.rowCount():] if self.table.rowCount() else []):
            if self.table.item(row, 1) is not None and self.table.item(row, 1).text() != f.status:
                self.table.item(row, 1).setText(f.status)  # e.g. rows still waiting when Cancel came
        self.status.setText(f"Finished: {counts}; {summary.faces} faces in {summary.seconds:.1f} s"
                            + (" (cancelled)" if summary.cancelled else "")
                            + (f". Report: {report}" if report else ""))
