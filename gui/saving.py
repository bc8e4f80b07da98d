"""Saving and copying the result: the output name every front end uses, Save, Save as, clipboard."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog, QMessageBox

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

    def default_path(self) -> Path:
        """Where Ctrl+S writes: restored/<name>_restored.<ext> beside the photo, as the CLI and the batch do (a
        pasted image, which has no folder, goes to the last folder Save as used, else the home folder)."""
        src = self.w.opened.photo.path if self.w.opened else None
        if src is not None:
            return src.parent / "restored" / self._output_name()
        folder = str(self.w.settings.value("save/folder", "") or "")
        return (Path(folder) if folder and Path(folder).is_dir() else Path.home()) / self._output_name()

    def save(self) -> None:
        """Save to the default place; an earlier result there is replaced only when the user says so."""
        if self.w.result is None:
            return
        path = self.default_path()
        if path.exists():
            box = QMessageBox(QMessageBox.Icon.Question, "FaceBridge",
                              f"{path.name} exists already in {path.parent}.\nReplace it with this result?",
                              parent=self.w)
            replace_button = box.addButton("Replace", QMessageBox.ButtonRole.DestructiveRole)
            save_as = box.addButton("Save as…", QMessageBox.ButtonRole.AcceptRole)
            box.addButton(QMessageBox.StandardButton.Cancel)
            box.exec()
            if box.clickedButton() is save_as:
                self.save_as()
                return
            if box.clickedButton() is not replace_button:
                return
        self.write(str(path), self.w.result.result.photo)

    def save_as(self) -> None:
        """Ask where (starting in the default place); the dialog itself asks before replacing a file."""
        if self.w.result is None:
            return
        start = self.default_path()
        selected = next(f for f in SAVE_FILTERS if start.suffix in f)
        path, chosen = QFileDialog.getSaveFileName(self.w, "Save result as", str(start), ";;".join(SAVE_FILTERS),
                                                   selected)
        if not path:
            return
        if Path(path).suffix.lower() not in SAVE_SUFFIXES:  # no extension typed: the chosen filter's
            path += (chosen or selected).split("*")[1].split()[0].rstrip(")")
        if self.write(path, self.w.result.result.photo):
            self.w.settings.setValue("save/folder", str(Path(path).parent))

    def write(self, path: str, photo: Photo) -> bool:
        try:
            target = write_image(path, photo, protect=(self.w.opened.photo.path if self.w.opened else None,))
        except Exception as exc:  # noqa: BLE001 - any write problem is shown, never raised into Qt
            from .workers import ErrorInfo

            show_error(self.w, ErrorInfo(type(exc).__name__, str(exc), ""))
            return False
        record = self.w.result.result.provenance if self.w.result is not None else None
        note = " (the file records that its faces were restored, and with which model)" if record else ""
        self.w.statusBar().showMessage(f"Saved {target}{note}", 10000)
        return True

    def copy_result(self) -> None:
        if self.w.result is not None:
            QGuiApplication.clipboard().setImage(to_qimage(self.w.result.result.photo.pixels))
            self.w.statusBar().showMessage("Result copied to the clipboard", 4000)
