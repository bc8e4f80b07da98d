"""The photo page's controller: open a photo, restore it, show progress and the time estimate."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QRectF, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog

from engine.cli.paths import resources_dir
from engine.compare import steps_label
from engine.device import resolve_device
from engine.io.images import Photo, READ_SUFFIXES
from engine.pipeline import RestoreOptions, format_duration, upscale_estimate
from engine.progress import Progress

from . import jobs
from .convert import from_qimage, to_pixmap

FILTER = "Images (" + " ".join(f"*{s}" for s in sorted(READ_SUFFIXES)) + ")"


class PhotoController:
    """Everything the photo page does; the photo, its result and the speeds it measures live on the window,
    which the other pages share."""

    def __init__(self, window):
        self.w = window
        self._stage, self._stage_t0, self._t_start = None, 0.0, 0.0
        self._upscaler_title = ""  # the background network of the running job, for its progress line
        self._restore_when_open = False

    def open_dialog(self) -> None:
        start = str(self.w.settings.value("files/last_dir", str(Path.home())))
        path, _ = QFileDialog.getOpenFileName(self.w, "Open a photo", start, FILTER)
        if path:
            self.open_path(path)

    def open_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.w, "Open a folder", self.w.batch.input.text() or str(Path.home()))
        if folder:
            self.open_folder(folder)

    def open_folder(self, folder: str) -> None:
        self.w.batch.input.setText(folder)
        self.w.stack.setCurrentWidget(self.w.batch)

    def open_sample(self) -> None:
        samples = sorted((resources_dir() / "samples").glob("*.jpg")) + sorted((resources_dir() / "samples").glob("*.png"))
        if samples:
            self._restore_when_open = True  # a sample shows what the app does: open it and restore it
            self.open_path(str(samples[0]))
        else:
            self.w.show_message("No sample photos are installed.")

    def open_path(self, path: str) -> None:
        if Path(path).is_dir():
            self.open_folder(path)
            return
        self.w.settings.setValue("files/last_dir", str(Path(path).parent))
        self.w.prefs.add_recent(str(path))
        self._open(jobs.open_photo_job(self.w.cache, self.w.key(), path=path), str(path))

    def paste_image(self) -> None:
        image = QGuiApplication.clipboard().image()
        if image.isNull():
            self.w.show_message("The clipboard holds no image.")
            return
        self._open(jobs.open_photo_job(self.w.cache, self.w.key(), photo=Photo(from_qimage(image))), "pasted image")

    def _open(self, job, name: str) -> None:
        if self.w.runner.busy:
            self.w.show_message("Please wait for the running job to finish, or cancel it.")
            return
        self.w.statusBar().showMessage(f"Opening {name}…")
        self.w.runner.start(job, on_progress=self.w.on_progress, on_success=lambda o, n=name: self.on_opened(o, n),
                            on_error=self.on_open_failed)

    def on_open_failed(self, info) -> None:
        """A photo that cannot be opened replaces the previous one: nothing of the old photo stays restorable."""
        self._restore_when_open = False
        self.w.opened, self.w.result = None, None
        self.w.faces.set_faces([])
        self.w.view.set_images(None, None)
        self.w.setWindowTitle("FaceBridge")
        self.w.stack.setCurrentWidget(self.w.welcome)
        self.w._busy_changed(self.w.runner.busy)
        self.w.on_error(info)

    def on_opened(self, opened: jobs.OpenedPhoto, name: str) -> None:
        self.w.opened, self.w.result = opened, None
        self.w.stack.setCurrentWidget(self.w.photo_page)  # first, so the view fits at its real size
        self.w.view.set_images(to_pixmap(opened.photo.pixels), None)
        self.w._view_scale = 1.0  # the view shows the photo at its own size until an enlarged result arrives
        self.w.view.set_split(0.5)  # a new photo starts with the slider in the middle
        self.w.faces.set_faces(opened.crops)
        self.w.setWindowTitle(f"FaceBridge - {Path(name).name}")
        n = len(opened.faces)
        device = self.w.controls.device.currentData()
        if opened.sec_per_step:
            self.w.sec_per_step[device] = opened.sec_per_step
        for name, rate in opened.upscale_rate.items():  # a rough figure never replaces a measured one
            if rate[1] or f"{device}/{name}" not in self.w.upscale_rate:
                self.w.upscale_rate[f"{device}/{name}"] = rate
        self.w.progress_label.setText(f"{n} face{'s' if n != 1 else ''} found" if n else
                                    "No face found. Restore > Restore as aligned face (Ctrl+Shift+R) "
                                    "treats the photo as one face")
        self.w.progress.setValue(0)
        self.w.statusBar().showMessage(f"{Path(name).name}: {opened.photo.size[0]}x{opened.photo.size[1]}, "
                                     f"{n} face{'s' if n != 1 else ''} found", 8000)
        if opened.photo.warnings:
            self.w.progress_label.setText("Note: " + " ".join(opened.photo.warnings))
        self.update_estimate()
        self.w._offer_detector()  # after the photo's own status message, which it would otherwise hide
        if self._restore_when_open:
            self._restore_when_open = False
            if n:
                QTimer.singleShot(0, self.restore)  # after this callback, when the runner is free

    def options(self, aligned: bool = False) -> RestoreOptions:
        v = self.w.controls.values()
        seed = self.w.controls.next_seed()
        return RestoreOptions(steps=v["steps"], sampler=v["sampler"], eta=v["eta"], seed=seed, aligned=aligned,
                              identity=self.w.identity_action.isChecked() and not aligned, upscale=v["upscale"],
                              background=v["background"], provenance=self.w.provenance_action.isChecked())

    def restore(self, aligned: bool = False) -> None:
        if self.w.opened is None or self.w.runner.busy:
            return
        include = self.w.faces.included()
        if not aligned and not any(include):
            self.w.show_message("No face is selected. Tick a face, or restore the photo as an aligned face.")
            return
        options = self.options(aligned)
        self._upscaler_title = options.background_model.title if options.network_upscale else ""
        self._t_start = time.monotonic()
        self.w.runner.start(jobs.restore_job(self.w.cache, self.w.key(), self.w.opened, options, include),
                          on_progress=self.w.on_progress, on_success=self.on_restored, on_error=self.w.on_error,
                          on_cancel=self.w.on_cancelled)

    def on_restored(self, restored: jobs.RestoredPhoto) -> None:
        self.w.result = restored
        if restored.before is not None or self.w._view_scale != 1.0:  # enlarged: compare at the output size
            before = restored.before if restored.before is not None else self.w.opened.photo.pixels
            self.w.view.set_images(to_pixmap(before), to_pixmap(restored.result.photo.pixels), keep_view=False)
            self.w._view_scale = restored.result.photo.pixels.shape[1] / self.w.opened.photo.pixels.shape[1]
        else:
            self.w.view.set_after(to_pixmap(restored.result.photo.pixels))
        if restored.upscale_rate is not None:
            device = self.w.controls.device.currentData()
            self.w.upscale_rate[f"{device}/{restored.background}"] = (restored.upscale_rate, True)
        crops = [f.before for f in restored.result.faces]
        afters = [f.after for f in restored.result.faces]
        if self.w.opened and len(crops) == len(self.w.opened.crops):
            identities = [f.identity for f in restored.result.faces] if self.w.identity_action.isChecked() else None
            self.w.faces.set_faces(crops, afters, identities)
        faces = max(1, len(restored.result.faces))
        self.w.sec_per_step[self.w.controls.device.currentData()] = restored.result.timings.get("restore", 0) / (
            faces * max(1, restored.steps))
        seed = "" if not self.w.controls.seed.isEnabled() else f" (seed {self.w.controls.seed.value()})"  # deterministic: none
        record = restored.result.provenance
        note = f". {record.summary()[0].upper()}{record.summary()[1:]}." if record is not None else ""
        self.w.progress_label.setText(f"Done: {len(restored.result.faces)} face(s), {steps_label(restored.steps)}, "
                                      f"{restored.seconds:.2f} s{seed}{note}")
        self.update_estimate()

    def selection_note(self) -> None:
        """Unticking or ticking a face changes the result only when Restore runs again: say so at once."""
        if self.w.result is not None and self.w.opened is not None:
            n = sum(self.w.faces.included())
            self.w.progress_label.setText(f"{n} of {len(self.w.opened.faces)} face(s) ticked: press Restore to apply; "
                                        "the view still shows the last result.")

    def zoom_to_face(self, i: int) -> None:
        if self.w.opened and i < len(self.w.opened.faces):
            x1, y1, x2, y2 = (v * self.w._view_scale for v in self.w.opened.faces[i].box)
            self.w.view.zoom_to(QRectF(x1, y1, x2 - x1, y2 - y1))

    def update_estimate(self) -> None:
        v = self.w.controls.values()
        faces = sum(self.w.faces.included()) if self.w.opened else 1
        rate = self.w.sec_per_step.get(v["device"])
        if self.w.opened is not None and not self.w.opened.faces:
            text = "no face found to restore (Restore > Restore as aligned face treats the photo as one)"
        elif self.w.opened is not None and not faces:
            text = "no face ticked"
        elif rate is None:
            text = "measured after the first run"
        else:
            seconds = rate * v["steps"] * max(1, faces)
            text = f"≈ {format_duration(seconds) if seconds >= 1 else f'{seconds * 1000:.0f} ms'} for " \
                   f"{max(1, faces)} face(s)"
        options = RestoreOptions(upscale=v["upscale"], background=v["background"])
        if options.network_upscale:
            up = self.w.upscale_rate.get(f"{v['device']}/{options.background}")
            if self.w.opened is None:
                text += f"; upscaling ×{v['upscale']} is estimated once a photo is open"
            elif up is None:
                text += f"; upscaling ×{v['upscale']}: measured when it starts"
            else:
                h, w = self.w.opened.photo.pixels.shape[:2]
                seconds, measured = upscale_estimate(h, w, options, up, resolve_device(v["device"]))
                text += (f" + upscaling ×{v['upscale']} ≈ {format_duration(seconds)}"
                         + ("" if measured else " (rough until the first upscale)") + ". Cancel stops between tiles.")
        self.w.controls.estimate.setText(text)
        upscale = (f"upscale ×{v['upscale']} with " + (options.background_model.title if options.network_upscale
                                                        else "a plain resize")
                   if v["upscale"] > 1 else "original size")
        self.w.batch.settings_note.setText(f"{steps_label(v['steps'])}, {upscale} (set in the photo view's "
                                         "Restoration panel)")

    def on_progress(self, p: Progress) -> None:
        self.w.progress.setRange(0, max(1, p.total))
        self.w.progress.setValue(p.step)
        now = time.monotonic()
        if p.stage != self._stage:  # each stage's ETA from its own start
            self._stage, self._stage_t0 = p.stage, now
        eta = ((now - self._stage_t0) / p.step * (p.total - p.step)
               if p.step and p.stage in ("restore", "compare", "upscale") else None)
        message = (f"Upscaling ({self._upscaler_title}): {p.message}"
                   if p.stage == "upscale" and p.message.startswith("tile") else p.message)
        self.w.progress_label.setText(message + (f"  ETA {format_duration(eta)}" if eta is not None else ""))
        if p.preview is not None:
            self.w.preview.setPixmap(to_pixmap(p.preview))

    def on_cancelled(self) -> None:
        self.w.progress_label.setText("Cancelled")
        self.w.progress.setValue(0)
