"""First-run welcome view: open a photo, try a sample, open a folder; what device will be used."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget


def device_summary(devices: list[str]) -> str:
    if "cuda" in devices:
        import torch

        props = torch.cuda.get_device_properties(0)
        gib = props.total_memory / 2**30
        hint = "" if gib >= 4 else " (small GPU: large batches may fall back to the CPU)"
        return f"GPU found: {props.name}, {gib:.1f} GiB{hint}."
    if "mps" in devices:
        return "Apple GPU (Metal) found."
    return ("No CUDA GPU found: FaceBridge runs on the CPU. That works, just slower; "
            "an NVIDIA GPU with a CUDA driver makes restoring much faster.")


class WelcomeView(QWidget):
    openRequested = Signal()
    sampleRequested = Signal()
    folderRequested = Signal()

    def __init__(self, devices: list[str], parent=None):
        super().__init__(parent)
        title = QLabel("<h1>FaceBridge</h1>")
        sub = QLabel("Restore faces in old and low-quality photos. Drop a photo or a folder anywhere on this window.")
        sub.setWordWrap(True)
        row = QHBoxLayout()
        for text, signal, tip in (("Open a photo…", self.openRequested, "Ctrl+O"),
                                  ("Try a sample", self.sampleRequested, "Restore a bundled sample photo"),
                                  ("Open a folder…", self.folderRequested, "Restore a whole folder (Ctrl+Shift+O)")):
            b = QPushButton(text)
            b.setMinimumHeight(44)
            b.setToolTip(tip)
            b.clicked.connect(signal)
            row.addWidget(b)
        self.device = QLabel(device_summary(devices))
        self.device.setWordWrap(True)
        self.device.setObjectName("deviceSummary")
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        for w in (title, sub):
            w.setAlignment(Qt.AlignmentFlag.AlignCenter)
            layout.addWidget(w)
        layout.addSpacing(20)
        layout.addLayout(row)
        layout.addSpacing(20)
        self.device.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.device)
        layout.addStretch(2)
        layout.setContentsMargins(120, 40, 120, 40)
