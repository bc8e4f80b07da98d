"""Saving and copying the result: the output name every front end uses, Save, Save as, clipboard."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog

from engine.io.images import Photo, write_image

from .convert import to_qimage
from .dialogs import show_error

SAVE_FILTERS = ("PNG (*.png)", "JPEG (*.jpg *.jpeg)", "WebP (*.webp)", "TIFF (*.tif *.tiff)")
SAVE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff")


class SaveController:
    def __init__(self, window):
        self.w = window

    def _output_name(self) -> str:
        """<name>_restored.<ext>: the convention the CLI and the batch use too."""
        src = self.w.opened.photo.path if self.w.opened else None
        if src is None:
            return "restored.png"
        ext = src.suffix.lower() if src.suffix.lower() in SAVE_SUFFIXES else ".png"
        return f"{src.stem}_restored{ext}"

    def save_folder(self) -> Optional[Path]:
        folder = str(self.w.settings.value("save/folder", "") or "")
        return Path(folder) if folder and Path(folder).is_dir() else None

    def save(self) -> None:
        """The first save asks where (Save as); later saves go to the folder chosen then, with the usual name."""
        if self.w.result is None:
            return
        folder = self.save_folder()
        if folder is None:
            self.save_as()
        else:
            self.write(str(folder / self._output_name()), self.w.result.result.photo)

    def save_as(self) -> None:
        if self.w.result is None:
            return
        src = self.w.opened.photo.path if self.w.opened else None
        folder = self.save_folder() or (src.parent if src else Path.home())
        name = self._output_name()
        selected = next(f for f in SAVE_FILTERS if Path(name).suffix in f)
        path, chosen = QFileDialog.getSaveFileName(self.w, "Save result as", str(folder / name), ";;".join(SAVE_FILTERS),
                                                   selected)
        if not path:
            return
        if Path(path).suffix.lower() not in SAVE_SUFFIXES:  # no extension typed: the chosen filter's
            path += (chosen or selected).split("*")[1].split()[0].rstrip(")")
        if self.write(path, self.w.result.result.photo):
            self.w.settings.setValue("save/folder", str(Path(path).parent))
            self.w.statusBar().showMessage(f"Saved {path}. Ctrl+S now saves into {Path(path).parent}", 8000)

    def write(self, path: str, photo: Photo) -> bool:
        try:
            target = write_image(path, photo, protect=(self.w.opened.photo.path if self.w.opened else None,))
        except Exception as exc:  # noqa: BLE001 - any write problem is shown, never raised into Qt
            from .workers import ErrorInfo

            show_error(self.w, ErrorInfo(type(exc).__name__, str(exc), ""))
            return False
        self.w.statusBar().showMessage(f"Saved {target}", 8000)
        return True

    def copy_result(self) -> None:
        if self.w.result is not None:
            QGuiApplication.clipboard().setImage(to_qimage(self.w.result.result.photo.pixels))
            self.w.statusBar().showMessage("Result copied to the clipboard", 4000)
