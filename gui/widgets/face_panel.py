"""Detected faces as thumbnails, each with an include checkbox and its own before/after."""

from __future__ import annotations

from typing import Optional

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from ..convert import to_pixmap


VERDICT_COLOURS = {"kept": "#5fbf6f", "changed": "#d0a020", "different": "#e05050", "unknown": "#909090"}


class FacePanel(QWidget):
    faceActivated = Signal(int)  # zoom the viewer to this face
    alignedModeRequested = Signal()
    selectionChanged = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.title = QLabel("Faces")
        self.list = QListWidget()
        self.list.setViewMode(QListWidget.ViewMode.IconMode)
        self.list.setIconSize(QSize(72, 72))
        self.list.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.list.setMovement(QListWidget.Movement.Static)
        self.list.setToolTip("Tick the faces to restore; double-click a face to zoom to it")
        self.list.itemDoubleClicked.connect(lambda it: self.faceActivated.emit(self.list.row(it)))
        self.list.itemChanged.connect(lambda _: self.selectionChanged.emit())
        self.empty = QLabel("No face was found in this photo.\nIf it is a face crop, restore it as an aligned face.")
        self.empty.setWordWrap(True)
        self.aligned_button = QPushButton("Restore as aligned face")
        self.aligned_button.clicked.connect(self.alignedModeRequested)
        # what the identity badges mean, under the faces whenever a badge is shown
        self.legend = QLabel("Identity: how far each restored face moved from the face that went in. kept: as "
                             "close as a lightly degraded copy of the photo; changed: look at that face, fewer steps "
                             "usually keep it closer; different: it may read as another person. Small or blurred "
                             "faces read higher than they look (docs/IDENTITY.md).")
        self.legend.setWordWrap(True)
        self.legend.setStyleSheet("color: #a0a0a0; font-size: 11px")
        self.legend.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for w in (self.title, self.list, self.legend, self.empty, self.aligned_button):
            layout.addWidget(w)
        self.set_faces(None)

    def set_faces(self, crops: Optional[list[np.ndarray]], restored: Optional[list[np.ndarray]] = None,
                  identities: Optional[list] = None) -> None:
        """crops=None: no photo; []: a photo without faces. identities: IdentityReading per face (a badge)."""
        self.list.blockSignals(True)
        self.list.clear()
        for i, crop in enumerate(crops or []):
            thumb = np.concatenate([crop, restored[i]], axis=1) if restored and i < len(restored) else crop
            reading = identities[i] if identities and i < len(identities) else None
            item = QListWidgetItem(QIcon(to_pixmap(thumb)), f"face {i + 1}" + (f"\n{reading.label()}" if reading else ""))
            if reading is not None:
                item.setToolTip(reading.explain())
                item.setForeground(QColor(VERDICT_COLOURS[reading.verdict]))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            self.list.addItem(item)
        if restored:
            self.list.setIconSize(QSize(144, 72))
        else:
            self.list.setIconSize(QSize(72, 72))
        self.list.blockSignals(False)
        no_face = crops is not None and len(crops) == 0
        self.empty.setVisible(no_face)
        self.aligned_button.setVisible(no_face)
        self.legend.setVisible(bool(identities) and any(r is not None for r in identities))
        self.title.setText(f"Faces ({len(crops)})" if crops else "Faces")

    def included(self) -> list[bool]:
        return [self.list.item(i).checkState() == Qt.CheckState.Checked for i in range(self.list.count())]
