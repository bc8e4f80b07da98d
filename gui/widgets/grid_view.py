"""The step-count comparison grid: whole photo and each face, one column per step count, labelled
with the measured time. Clicking a cell selects its step count; "Compare with original" shows it in the
before/after view, "Keep selected as result" makes it what Save writes."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (QGridLayout, QHBoxLayout, QLabel, QPushButton, QScrollArea, QToolButton, QVBoxLayout,
                               QWidget)

from engine.compare import steps_label

from ..convert import to_pixmap


class GridView(QWidget):
    cellChosen = Signal(int)  # index of the run (step count) to compare with the original
    keepRequested = Signal(int)
    exportRequested = Signal()
    backRequested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.runs = []
        self.selected = None
        bar = QHBoxLayout()
        self.info = QLabel("")
        self.back = QPushButton("Back to photo")
        self.view = QPushButton("Compare with original")
        self.keep = QPushButton("Keep selected as result")
        self.export = QPushButton("Export grid…")
        for b in (self.view, self.keep):
            b.setEnabled(False)
            b.setToolTip("Click a result in the grid first")
        self.back.clicked.connect(self.backRequested)
        self.view.clicked.connect(lambda: self.cellChosen.emit(self.selected))
        self.keep.clicked.connect(lambda: self.keepRequested.emit(self.selected))
        self.export.clicked.connect(self.exportRequested)
        for w in (self.info, self.back, self.view, self.keep, self.export):
            bar.addWidget(w)
        bar.insertStretch(1)
        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.scroll = scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.grid_host)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(scroll)

    def cell_size(self, columns: int) -> int:
        """Photo cells as large as 220 px while every column fits the view's width (no column hidden behind a
        scroll bar), never below 96 px; the scroll area takes over beyond that."""
        # before the page is first shown its viewport has no size yet: the window's width is what it will get
        width = self.scroll.viewport().width() if self.isVisible() else self.window().width() - 40
        width = max(width, 640)
        return max(96, min(220, (width - 24) // max(1, columns) - 16))

    def set_runs(self, photo_pixels, runs) -> None:
        while self.grid.count():
            w = self.grid.takeAt(0).widget()
            if w:
                w.deleteLater()
        self.runs = runs
        self.selected = None
        self.cells = []  # (run index, button)
        for b in (self.view, self.keep):
            b.setEnabled(False)
        size = self.cell_size(len(runs) + 1)
        face = min(128, size)
        self.grid.addWidget(self._cell(photo_pixels, "original", None, size), 0, 0)
        for j, r in enumerate(runs):
            self.grid.addWidget(self._cell(r.result.photo.pixels, f"{steps_label(r.steps)}\n{r.seconds:.2f} s", j, size),
                                0, j + 1)
        faces = len(runs[0].result.faces) if runs else 0
        for k in range(faces):
            self.grid.addWidget(self._cell(runs[0].result.faces[k].before, f"face {k + 1}", None, face), k + 1, 0)
            for j, r in enumerate(runs):
                reading = r.result.faces[k].identity
                label = steps_label(r.steps) + (f"\n{reading.label()}" if reading is not None else "")
                cell = self._cell(r.result.faces[k].after, label, j, face)
                if reading is not None:  # the identity row: where more steps start to change the person
                    cell.setToolTip(reading.explain())
                self.grid.addWidget(cell, k + 1, j + 1)
        self.info.setText(f"{len(runs)} step counts, {faces} face(s). Click a result to select its step count.")

    def _cell(self, pixels, label: str, run_index, size: int) -> QToolButton:
        b = QToolButton()
        b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
        pix = to_pixmap(pixels)
        b.setIcon(QIcon(pix.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                                   Qt.TransformationMode.SmoothTransformation)))
        b.setIconSize(QSize(size, size))
        b.setText(label)
        b.setAutoRaise(True)
        if run_index is not None:
            b.setCheckable(True)
            b.setToolTip("Select this step count")
            b.clicked.connect(lambda _=False, i=run_index: self._choose(i))
            self.cells.append((run_index, b))
        return b

    def _choose(self, i: int) -> None:
        """Select step count i: its whole column is highlighted, and both actions apply to it."""
        self.selected = i
        for j, b in self.cells:
            b.setChecked(j == i)
        for b in (self.view, self.keep):
            b.setEnabled(True)
            b.setToolTip("")
        self.info.setText(f"Selected: {steps_label(self.runs[i].steps)} ({self.runs[i].seconds:.2f} s).")
