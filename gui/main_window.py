"""The main window: welcome, photo (before/after + faces + controls), step grid and batch views.
It owns one JobRunner; every engine call happens in a job on the worker thread."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QRectF, QSettings, QTimer
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QInputDialog, QLabel, QMainWindow, QMessageBox, QProgressBar,
                               QPushButton, QSizePolicy, QSplitter, QStackedWidget, QVBoxLayout, QWidget)

from engine.batch import OutputOptions
from engine.cli.paths import default_model_path, resources_dir
from engine.compare import steps_label
from engine.faces.detectors import retinaface_supported
from engine.device import available_devices, resolve_device
from engine.errors import DeviceOutOfMemory
from engine.io.images import Photo, READ_SUFFIXES, write_image
from engine.pipeline import RestoreOptions, format_duration, upscale_estimate
from engine.progress import PauseToken, Progress

from . import jobs
from .convert import from_qimage, to_pixmap, to_qimage
from .dialogs import about_dialog, show_error
from .widgets.batch_view import BatchView
from .widgets.compare_view import CompareView
from .widgets.controls import Controls
from .widgets.face_panel import FacePanel
from .widgets.grid_view import GridView
from .welcome import WelcomeView

FILTER = "Images (" + " ".join(f"*{s}" for s in sorted(READ_SUFFIXES)) + ")"
SAVE_FILTERS = ("PNG (*.png)", "JPEG (*.jpg *.jpeg)", "WebP (*.webp)", "TIFF (*.tif *.tiff)")
SAVE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff")
MAX_RECENT = 8


class MainWindow(QMainWindow):
    def __init__(self, *, model: Optional[str] = None, settings: Optional[QSettings] = None):
        super().__init__()
        from .gc_guard import install_main_thread_gc
        from .workers import JobRunner

        install_main_thread_gc()  # before any job thread starts

        self.setWindowTitle("FaceBridge")
        self.settings = settings or QSettings("FaceBridge", "FaceBridge")
        self.model_path = model
        self.cache = jobs.SessionCache()
        self.runner = JobRunner(self)
        self.runner.busy_changed.connect(self._busy_changed)
        self.opened: Optional[jobs.OpenedPhoto] = None
        self.result: Optional[jobs.RestoredPhoto] = None
        self.runs = []
        self.pause = PauseToken()
        self.sec_per_step: dict = {}
        self.upscale_rate: dict = {}  # device -> (Real-ESRGAN s per processed pixel, measured?)
        self._view_scale = 1.0  # shown photo size / original size (an enlarged result is compared at its size)
        self.setAcceptDrops(True)

        self.stack = QStackedWidget()
        self.welcome = WelcomeView(available_devices())
        self.view = CompareView()
        self.faces = FacePanel()
        self.controls = Controls([d for d in available_devices()])
        self.grid = GridView()
        self.batch = BatchView()
        self._build_photo_page()
        for w in (self.welcome, self.photo_page, self.grid, self.batch):
            self.stack.addWidget(w)
        self.setCentralWidget(self.stack)
        self._build_menus()
        self._build_status()
        self._connect()
        self._load_settings()

    # -- layout ----------------------------------------------------------------------------------
    def _build_photo_page(self) -> None:
        side = QWidget()
        col = QVBoxLayout(side)
        col.addWidget(self.controls)
        buttons = QHBoxLayout()
        self.restore_button = QPushButton("Restore")
        self.restore_button.setToolTip("Restore the ticked faces (Ctrl+R)")
        self.compare_button = QPushButton("Compare steps…")
        self.compare_button.setToolTip("Run several step counts and compare them in a grid (Ctrl+K)")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the running job within one step (Esc)")
        for b in (self.restore_button, self.compare_button, self.cancel_button):
            buttons.addWidget(b)
        col.addLayout(buttons)
        self.progress = QProgressBar()
        self.progress_label = _StatusLabel()
        self.preview = QLabel()
        self.preview.setFixedSize(96, 96)
        self.preview.setToolTip("Live preview: the sampler's current estimate of the face")
        prow = QHBoxLayout()
        pcol = QVBoxLayout()
        pcol.addWidget(self.progress)
        pcol.addWidget(self.progress_label)
        prow.addLayout(pcol, 1)
        prow.addWidget(self.preview)
        col.addLayout(prow)
        col.addWidget(self.faces, 1)
        # a fixed width: the panel must not change size between states and move buttons under the mouse
        side.setFixedWidth(360)
        splitter = QSplitter()
        splitter.addWidget(self.view)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 1)
        splitter.setSizes([900, 340])
        self.photo_page = splitter

    def _act(self, menu, text, slot, shortcut=None, tip=None) -> QAction:
        a = QAction(text, self)
        if shortcut:
            a.setShortcut(QKeySequence(shortcut))
        if tip:
            a.setStatusTip(tip)
            a.setToolTip(tip)
        a.triggered.connect(slot)
        menu.addAction(a)
        return a

    def _build_menus(self) -> None:
        m = self.menuBar().addMenu("&File")
        self._act(m, "&Open photo…", self.open_dialog, QKeySequence.StandardKey.Open)
        self._act(m, "Open &folder (batch)…", self.open_folder_dialog, "Ctrl+Shift+O")
        self.recent_menu = m.addMenu("Open &recent")
        self._act(m, "&Paste image", self.paste_image, QKeySequence.StandardKey.Paste)
        m.addSeparator()
        self.save_action = self._act(m, "&Save result", self.save, QKeySequence.StandardKey.Save)
        self.save_as_action = self._act(m, "Save result &as…", self.save_as, QKeySequence.StandardKey.SaveAs)
        self.copy_action = self._act(m, "&Copy result", self.copy_result, "Ctrl+Shift+C")
        m.addSeparator()
        self._act(m, "&Quit", self.close, QKeySequence.StandardKey.Quit)

        r = self.menuBar().addMenu("&Restore")
        self._act(r, "&Restore", self.restore, "Ctrl+R")
        self._act(r, "&Compare step counts…", self.compare_steps_dialog, "Ctrl+K")
        self._act(r, "C&ancel", self.runner.cancel, "Esc")
        self._act(r, "Restore as &aligned face", lambda: self.restore(aligned=True), "Ctrl+Shift+R")

        v = self.menuBar().addMenu("&View")
        self._act(v, "&Fit", self.view.fit, "Ctrl+0")
        self._act(v, "&100%", self.view.actual_size, "Ctrl+1")
        self._act(v, "Split &slider", lambda: self.view.set_mode("split"), "Ctrl+2")
        self._act(v, "Side &by side", lambda: self.view.set_mode("side"), "Ctrl+3")
        self._act(v, "&Flip before/after", self.view.toggle_flip, "B")
        self._act(v, "&Photo", lambda: self.stack.setCurrentWidget(self.photo_page if self.opened else self.welcome),
                  "Ctrl+4")
        self._act(v, "Ba&tch", lambda: self.stack.setCurrentWidget(self.batch), "Ctrl+5")
        self.identity_action = self._act(v, "&Identity meter", lambda on: self.settings.setValue("ui/identity", on),
                                         tip="Measure how far each restored face drifted from the input "
                                             "(kept / changed / different), in the face panel and the step grid")
        self.identity_action.setCheckable(True)
        t = v.addMenu("&Theme")
        for name in ("dark", "light", "system"):
            self._act(t, name.capitalize(), lambda _=False, n=name: self.set_theme(n))

        mm = self.menuBar().addMenu("&Models")
        download = self._act(mm, "Download &RetinaFace detector…", self.download_detector)
        if not retinaface_supported():
            download.setEnabled(False)
            download.setToolTip("This build of FaceBridge includes only the MTCNN detector")
        h = self.menuBar().addMenu("&Help")
        self._act(h, "&About FaceBridge", lambda: about_dialog(self), "F1")

    def _build_status(self) -> None:
        from engine.device import resolve_device

        dev = resolve_device("auto")
        model = Path(self.model_path) if self.model_path else default_model_path()
        self.device_label = QLabel(f"Device: {dev.type.upper()}")
        self.model_label = QLabel(f"Model: {model.name}" if model.exists() else "Model: missing")
        self.statusBar().addPermanentWidget(self.device_label)
        self.statusBar().addPermanentWidget(self.model_label)

    def _connect(self) -> None:
        self.welcome.openRequested.connect(self.open_dialog)
        self.welcome.folderRequested.connect(self.open_folder_dialog)
        self.welcome.sampleRequested.connect(self.open_sample)
        self.restore_button.clicked.connect(lambda: self.restore())
        self.compare_button.clicked.connect(self.compare_steps_dialog)
        self.cancel_button.clicked.connect(self.runner.cancel)
        self.faces.faceActivated.connect(self.zoom_to_face)
        self.faces.alignedModeRequested.connect(lambda: self.restore(aligned=True))
        self.faces.selectionChanged.connect(self.update_estimate)
        self.faces.selectionChanged.connect(self._selection_note)
        self.controls.changed.connect(self.update_estimate)
        self.grid.cellChosen.connect(self.show_run)
        self.grid.keepRequested.connect(self.keep_run)
        self.grid.exportRequested.connect(self.export_grid)
        self.grid.backRequested.connect(lambda: self.stack.setCurrentWidget(self.photo_page))
        self.batch.startRequested.connect(self.start_batch)
        self.batch.pauseToggled.connect(lambda p: self.pause.pause() if p else self.pause.resume())
        self.batch.cancelRequested.connect(self.runner.cancel)
        self._busy_changed(False)

    # -- settings --------------------------------------------------------------------------------
    def _load_settings(self) -> None:
        s = self.settings
        geometry = s.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)
        spec = self._model_spec()
        # a step count chosen for another model (e.g. the previous release) does not carry over
        same_model = s.value("restore/steps_model", "") == self._model_name()
        default = spec.defaults.steps if spec else 4
        self.controls.steps.setValue(int(s.value("restore/steps", default)) if same_model else default)
        if spec is not None:
            self.controls.set_deterministic(spec.bridge.ot_ode or spec.bridge.objective == "regression")
            self.controls.set_guidance(spec.defaults)
        idx = self.controls.device.findData(s.value("restore/device", "auto"))
        self.controls.device.setCurrentIndex(max(0, idx))
        self.controls.seed.setValue(int(s.value("restore/seed", 0)))
        self.identity_action.setChecked(str(s.value("ui/identity", "true")).lower() == "true")
        from engine.upscale.weights import status as upscaler_status

        self.controls.set_upscaler_available(upscaler_status().available)
        self.controls.upscale.setCurrentIndex(max(0, self.controls.upscale.findData(int(s.value("restore/upscale", 1)))))
        self.batch.input.setText(str(s.value("batch/input", "")))
        self.batch.output.setText(str(s.value("batch/output", "")))
        for k, v in (s.value("speed/sec_per_step", {}) or {}).items():
            self.sec_per_step[k] = float(v)
        for k, v in (s.value("speed/upscale_rate", {}) or {}).items():
            self.upscale_rate[k] = (float(v), True)
        self._refresh_recent()
        self.update_estimate()

    def _model_name(self) -> str:
        return (Path(self.model_path) if self.model_path else default_model_path()).name

    def _model_spec(self):
        """The model's spec, read from its metadata only (no weights are loaded); None if unreadable."""
        from engine.io.checkpoints import read_spec

        try:
            return read_spec(Path(self.model_path) if self.model_path else default_model_path())
        except Exception:  # noqa: BLE001 - a missing/broken model is reported when it is used
            return None

    def _model_default_steps(self) -> int:
        spec = self._model_spec()
        return spec.defaults.steps if spec else 4

    def save_settings(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("restore/steps", self.controls.steps.value())
        s.setValue("restore/steps_model", self._model_name())
        s.setValue("restore/device", self.controls.device.currentData())
        s.setValue("restore/seed", self.controls.seed.value())
        s.setValue("batch/input", self.batch.input.text())
        s.setValue("batch/output", self.batch.output.text())
        s.setValue("speed/sec_per_step", self.sec_per_step)
        s.setValue("speed/upscale_rate", {k: v[0] for k, v in self.upscale_rate.items() if v[1]})
        s.setValue("restore/upscale", self.controls.upscale.currentData() or 1)
        s.sync()

    def set_theme(self, name: str) -> None:
        from PySide6.QtWidgets import QApplication

        from .theme import apply_theme

        apply_theme(QApplication.instance(), name)
        self.settings.setValue("ui/theme", name)

    def _recent(self) -> list[str]:
        value = self.settings.value("files/recent", []) or []
        return [value] if isinstance(value, str) else list(value)

    def _add_recent(self, path: str) -> None:
        items = [path] + [p for p in self._recent() if p != path]
        self.settings.setValue("files/recent", items[:MAX_RECENT])
        self._refresh_recent()

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        for p in self._recent():
            a = QAction(p, self)
            a.triggered.connect(lambda _=False, p=p: self.open_path(p))
            self.recent_menu.addAction(a)
        self.recent_menu.setEnabled(bool(self._recent()))

    # -- opening ---------------------------------------------------------------------------------
    def key(self) -> jobs.SessionKey:
        v = self.controls.values()
        return jobs.SessionKey(self.model_path, v["device"], v["precision"])

    def open_dialog(self) -> None:
        start = str(self.settings.value("files/last_dir", str(Path.home())))
        path, _ = QFileDialog.getOpenFileName(self, "Open a photo", start, FILTER)
        if path:
            self.open_path(path)

    def open_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a folder", self.batch.input.text() or str(Path.home()))
        if folder:
            self.open_folder(folder)

    def open_folder(self, folder: str) -> None:
        self.batch.input.setText(folder)
        self.stack.setCurrentWidget(self.batch)

    def open_sample(self) -> None:
        samples = sorted((resources_dir() / "samples").glob("*.jpg")) + sorted((resources_dir() / "samples").glob("*.png"))
        if samples:
            self.open_path(str(samples[0]))
        else:
            self.show_message("No sample photos are installed.")

    def open_path(self, path: str) -> None:
        if Path(path).is_dir():
            self.open_folder(path)
            return
        self.settings.setValue("files/last_dir", str(Path(path).parent))
        self._add_recent(str(path))
        self._open(jobs.open_photo_job(self.cache, self.key(), path=path), str(path))

    def paste_image(self) -> None:
        image = QGuiApplication.clipboard().image()
        if image.isNull():
            self.show_message("The clipboard holds no image.")
            return
        self._open(jobs.open_photo_job(self.cache, self.key(), photo=Photo(from_qimage(image))), "pasted image")

    def _open(self, job, name: str) -> None:
        if self.runner.busy:
            self.show_message("Please wait for the running job to finish, or cancel it.")
            return
        self.statusBar().showMessage(f"Opening {name}…")
        self.runner.start(job, on_progress=self.on_progress, on_success=lambda o, n=name: self.on_opened(o, n),
                          on_error=self.on_error)

    def on_opened(self, opened: jobs.OpenedPhoto, name: str) -> None:
        self.opened, self.result = opened, None
        self.stack.setCurrentWidget(self.photo_page)  # first, so the view fits at its real size
        self.view.set_images(to_pixmap(opened.photo.pixels), None)
        self._view_scale = 1.0  # the view shows the photo at its own size until an enlarged result arrives
        self.view.set_split(0.5)  # a new photo starts with the slider in the middle
        self.faces.set_faces(opened.crops)
        self.setWindowTitle(f"FaceBridge - {Path(name).name}")
        n = len(opened.faces)
        device = self.controls.device.currentData()
        if opened.sec_per_step:
            self.sec_per_step[device] = opened.sec_per_step
        if opened.upscale_rate is not None and (opened.upscale_rate[1] or device not in self.upscale_rate):
            self.upscale_rate[device] = opened.upscale_rate
        self._offer_detector()
        self.progress_label.setText(f"{n} face{'s' if n != 1 else ''} found" if n else
                                    "No face found. Restore > Restore as aligned face (Ctrl+Shift+R) "
                                    "treats the photo as one face")
        self.progress.setValue(0)
        self.statusBar().showMessage(f"{Path(name).name}: {opened.photo.size[0]}x{opened.photo.size[1]}, "
                                     f"{n} face{'s' if n != 1 else ''} found", 8000)
        if opened.photo.warnings:
            self.progress_label.setText("Note: " + " ".join(opened.photo.warnings))
        self.update_estimate()

    # -- restoring -------------------------------------------------------------------------------
    def options(self, aligned: bool = False) -> RestoreOptions:
        v = self.controls.values()
        seed = self.controls.next_seed()
        return RestoreOptions(steps=v["steps"], sampler=v["sampler"], eta=v["eta"], seed=seed, aligned=aligned,
                              identity=self.identity_action.isChecked() and not aligned, upscale=v["upscale"],
                              background=v["background"])

    def restore(self, aligned: bool = False) -> None:
        if self.opened is None or self.runner.busy:
            return
        include = self.faces.included()
        if not aligned and not any(include):
            self.show_message("No face is selected. Tick a face, or restore the photo as an aligned face.")
            return
        options = self.options(aligned)
        self._t_start = time.monotonic()
        self.runner.start(jobs.restore_job(self.cache, self.key(), self.opened, options, include),
                          on_progress=self.on_progress, on_success=self.on_restored, on_error=self.on_error,
                          on_cancel=self.on_cancelled)

    def on_restored(self, restored: jobs.RestoredPhoto) -> None:
        self.result = restored
        if restored.before is not None or self._view_scale != 1.0:  # enlarged: compare at the output size
            before = restored.before if restored.before is not None else self.opened.photo.pixels
            self.view.set_images(to_pixmap(before), to_pixmap(restored.result.photo.pixels), keep_view=False)
            self._view_scale = restored.result.photo.pixels.shape[1] / self.opened.photo.pixels.shape[1]
        else:
            self.view.set_after(to_pixmap(restored.result.photo.pixels))
        if restored.upscale_rate is not None:
            self.upscale_rate[self.controls.device.currentData()] = (restored.upscale_rate, True)
        crops = [f.before for f in restored.result.faces]
        afters = [f.after for f in restored.result.faces]
        if self.opened and len(crops) == len(self.opened.crops):
            identities = [f.identity for f in restored.result.faces] if self.identity_action.isChecked() else None
            self.faces.set_faces(crops, afters, identities)
        faces = max(1, len(restored.result.faces))
        self.sec_per_step[self.controls.device.currentData()] = restored.result.timings.get("restore", 0) / (
            faces * max(1, restored.steps))
        seed = "" if not self.controls.seed.isEnabled() else f" (seed {self.controls.seed.value()})"  # deterministic: none
        self.progress_label.setText(f"Done: {len(restored.result.faces)} face(s), {steps_label(restored.steps)}, "
                                    f"{restored.seconds:.2f} s{seed}")
        self.update_estimate()

    def compare_steps_dialog(self) -> None:
        if self.opened is None or self.runner.busy:
            return
        spec = self._model_spec()
        model_default = (spec.defaults.compare if spec and spec.defaults.compare else "1,4,16")
        # the last list typed for this model, else the model's own suggestion (from its measured curve)
        same_model = self.settings.value("compare/steps_model", "") == self._model_name()
        text, ok = QInputDialog.getText(self, "Compare step counts", "Step counts (comma separated):",
                                        text=str(self.settings.value("compare/steps", model_default)
                                                 if same_model else model_default))
        if not ok:
            return
        from engine.evaluation.run import parse_steps

        try:
            steps = parse_steps(text)
        except ValueError as exc:
            self.show_message(str(exc))
            return
        self.settings.setValue("compare/steps", text)
        self.settings.setValue("compare/steps_model", self._model_name())
        self.run_compare(steps)

    def run_compare(self, steps) -> None:
        options = self.options()
        self.runner.start(jobs.compare_job(self.cache, self.key(), self.opened, options, steps),
                          on_progress=self.on_progress, on_success=self.on_compared, on_error=self.on_error,
                          on_cancel=self.on_cancelled)

    def on_compared(self, runs) -> None:
        self.runs = runs
        self.grid.set_runs(self.opened.photo.pixels, runs)
        self.stack.setCurrentWidget(self.grid)
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.progress_label.setText(f"Compared {len(runs)} step counts. Select one in the grid; Keep makes it the "
                                    "result that Save writes.")

    def show_run(self, i: int) -> None:
        self.view.set_images(to_pixmap(self.opened.photo.pixels), to_pixmap(self.runs[i].result.photo.pixels),
                             keep_view=self._view_scale == 1.0)  # the grid's runs are at the original size
        self._view_scale = 1.0
        self.stack.setCurrentWidget(self.photo_page)
        kept = f"the kept result ({steps_label(self.result.steps)})" if self.result else "nothing yet (Keep it first)"
        self.progress_label.setText(f"Viewing {steps_label(self.runs[i].steps)} from the comparison. "
                                    f"Save writes {kept}.")

    def keep_run(self, i: int) -> None:
        run = self.runs[i]
        self.on_restored(jobs.RestoredPhoto(run.result, run.seconds, run.steps))
        self.stack.setCurrentWidget(self.photo_page)
        self._busy_changed(self.runner.busy)  # Save is now possible
        self.progress_label.setText(f"Kept {steps_label(run.steps)} as the result: Save writes it.")

    def _selection_note(self) -> None:
        """Unticking or ticking a face changes the result only when Restore runs again: say so at once."""
        if self.result is not None and self.opened is not None:
            n = sum(self.faces.included())
            self.progress_label.setText(f"{n} of {len(self.opened.faces)} face(s) ticked: press Restore to apply; "
                                        "the view still shows the last result.")

    def export_grid(self) -> None:
        from engine.compare import render_grid

        path, _ = QFileDialog.getSaveFileName(self, "Export grid", str(Path.home() / "facebridge_grid.png"),
                                              "PNG (*.png);;JPEG (*.jpg)")
        if path:
            self._write(path, Photo(render_grid(self.opened.photo, self.runs)))

    def zoom_to_face(self, i: int) -> None:
        if self.opened and i < len(self.opened.faces):
            x1, y1, x2, y2 = (v * self._view_scale for v in self.opened.faces[i].box)
            self.view.zoom_to(QRectF(x1, y1, x2 - x1, y2 - y1))

    # -- batch -----------------------------------------------------------------------------------
    def start_batch(self) -> None:
        folder = self.batch.input.text().strip()
        if not folder or not Path(folder).is_dir():
            self.show_message("Choose an existing input folder first.")
            return
        if self.runner.busy:
            self.show_message("Please wait for the running job to finish, or cancel it.")
            return
        out = self.batch.output.text().strip()
        output = OutputOptions(Path(out) if out else None, self.batch.suffix.text(), self.batch.ext.currentData(),
                               self.batch.quality.value(), self.batch.skip_existing.isChecked())
        self.pause.resume()
        report = (Path(out) if out else Path(folder)) / "facebridge-report.json"
        self.batch.set_running(True)
        # no identity meter in batches: it would add about as much time per face as the network (BENCHMARKS.md)
        options = replace(self.options(), identity=False)
        self.runner.start(jobs.batch_job(self.cache, self.key(), [Path(folder)], self.batch.recursive.isChecked(),
                                         options, output, self.pause, report_path=report),
                          on_progress=self.on_batch_progress, on_success=self.on_batch_done, on_error=self.on_error,
                          on_cancel=lambda: self.batch.status.setText("Batch cancelled"))

    def on_batch_progress(self, p: Progress) -> None:
        if p.stage == "queue":
            self.batch.set_queue(p.message.splitlines() if p.message else [])
        elif p.stage == "file" and p.detail is not None:
            self.batch.update_file(p.step, p.detail)

    def on_batch_done(self, summary) -> None:
        self.batch.show_summary(summary)

    # -- progress, errors ------------------------------------------------------------------------
    def on_progress(self, p: Progress) -> None:
        self.progress.setRange(0, max(1, p.total))
        self.progress.setValue(p.step)
        now = time.monotonic()
        if p.stage != getattr(self, "_stage", None):  # each stage's ETA from its own start
            self._stage, self._stage_t0 = p.stage, now
        eta = ((now - self._stage_t0) / p.step * (p.total - p.step)
               if p.step and p.stage in ("restore", "compare", "upscale") else None)
        message = f"Upscaling (Real-ESRGAN): {p.message}" if p.stage == "upscale" and p.message.startswith("tile") \
            else p.message
        self.progress_label.setText(message + (f"  ETA {format_duration(eta)}" if eta is not None else ""))
        if p.preview is not None:
            self.preview.setPixmap(to_pixmap(p.preview))

    def on_cancelled(self) -> None:
        self.progress_label.setText("Cancelled")
        self.progress.setValue(0)

    def on_error(self, info) -> None:
        self.statusBar().clearMessage()  # not "Opening …" any more
        self.progress_label.setText(f"Error: {info.message}")
        if isinstance(info.exception, DeviceOutOfMemory) and self.controls.device.currentData() != "cpu":
            if show_error(self, info, retry_text="Retry on CPU"):
                self.controls.device.setCurrentIndex(self.controls.device.findData("cpu"))
                QTimer.singleShot(0, self.restore)
            return
        show_error(self, info)

    def show_message(self, text: str) -> None:
        QMessageBox.information(self, "FaceBridge", text)

    def _busy_changed(self, busy: bool) -> None:
        self.restore_button.setEnabled(not busy)
        self.compare_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)
        if not busy:
            self.batch.set_running(False)
        has_result = self.result is not None
        for a in (getattr(self, "save_action", None), getattr(self, "save_as_action", None),
                  getattr(self, "copy_action", None)):
            if a is not None:
                a.setEnabled(has_result)
        if not busy:
            self.preview.clear()

    def _offer_detector(self) -> None:
        """Once: point to the optional, more accurate detector if its weights are not downloaded."""
        from engine.downloads import RETINAFACE_RESNET50, cached_path

        if not retinaface_supported():
            return
        if cached_path(RETINAFACE_RESNET50) is None and not self.settings.value("ui/detector_offered", False):
            self.settings.setValue("ui/detector_offered", True)
            box = QMessageBox(QMessageBox.Icon.Information, "FaceBridge",
                              "Faces are found with the bundled MTCNN detector. The more accurate RetinaFace "
                              f"detector can be downloaded ({RETINAFACE_RESNET50.size / 1e6:.0f} MB).",
                              parent=self)
            download = box.addButton("Download now", QMessageBox.ButtonRole.AcceptRole)
            box.addButton("Later", QMessageBox.ButtonRole.RejectRole)
            box.setModal(False)
            box.buttonClicked.connect(lambda b: QTimer.singleShot(0, self.download_detector) if b is download else None)
            box.show()

    def update_estimate(self) -> None:
        v = self.controls.values()
        faces = sum(self.faces.included()) if self.opened else 1
        rate = self.sec_per_step.get(v["device"])
        if rate is None:
            text = "measured after the first run"
        else:
            seconds = rate * v["steps"] * max(1, faces)
            text = f"≈ {format_duration(seconds) if seconds >= 1 else f'{seconds * 1000:.0f} ms'} for " \
                   f"{max(1, faces)} face(s)"
        options = RestoreOptions(upscale=v["upscale"], background=v["background"])
        if options.network_upscale:
            up = self.upscale_rate.get(v["device"])
            if self.opened is None:
                text += f"; upscaling ×{v['upscale']} is estimated once a photo is open"
            elif up is None:
                text += f"; upscaling ×{v['upscale']}: measured when it starts"
            else:
                h, w = self.opened.photo.pixels.shape[:2]
                seconds, measured = upscale_estimate(h, w, options, up, resolve_device(v["device"]))
                text += (f" + upscaling ×{v['upscale']} ≈ {format_duration(seconds)}"
                         + ("" if measured else " (rough until the first upscale)") + ". Cancel stops between tiles.")
        self.controls.estimate.setText(text)
        upscale = (f"upscale ×{v['upscale']} with " + ("Real-ESRGAN" if options.network_upscale else "a plain resize")
                   if v["upscale"] > 1 else "original size")
        self.batch.settings_note.setText(f"{steps_label(v['steps'])}, {upscale} (set in the photo view's "
                                         "Restoration panel)")

    # -- saving ----------------------------------------------------------------------------------
    def _output_name(self) -> str:
        """<name>_restored.<ext>: the convention the CLI and the batch use too."""
        src = self.opened.photo.path if self.opened else None
        if src is None:
            return "restored.png"
        ext = src.suffix.lower() if src.suffix.lower() in SAVE_SUFFIXES else ".png"
        return f"{src.stem}_restored{ext}"

    def save_folder(self) -> Optional[Path]:
        folder = str(self.settings.value("save/folder", "") or "")
        return Path(folder) if folder and Path(folder).is_dir() else None

    def save(self) -> None:
        """The first save asks where (Save as); later saves go to the folder chosen then, with the usual name."""
        if self.result is None:
            return
        folder = self.save_folder()
        if folder is None:
            self.save_as()
        else:
            self._write(str(folder / self._output_name()), self.result.result.photo)

    def save_as(self) -> None:
        if self.result is None:
            return
        src = self.opened.photo.path if self.opened else None
        folder = self.save_folder() or (src.parent if src else Path.home())
        name = self._output_name()
        selected = next(f for f in SAVE_FILTERS if Path(name).suffix in f)
        path, chosen = QFileDialog.getSaveFileName(self, "Save result as", str(folder / name), ";;".join(SAVE_FILTERS),
                                                   selected)
        if not path:
            return
        if Path(path).suffix.lower() not in SAVE_SUFFIXES:  # no extension typed: the chosen filter's
            path += (chosen or selected).split("*")[1].split()[0].rstrip(")")
        if self._write(path, self.result.result.photo):
            self.settings.setValue("save/folder", str(Path(path).parent))
            self.statusBar().showMessage(f"Saved {path}. Ctrl+S now saves into {Path(path).parent}", 8000)

    def _write(self, path: str, photo: Photo) -> bool:
        try:
            target = write_image(path, photo, protect=(self.opened.photo.path if self.opened else None,))
        except Exception as exc:  # noqa: BLE001 - any write problem is shown, never raised into Qt
            from .workers import ErrorInfo

            show_error(self, ErrorInfo(type(exc).__name__, str(exc), ""))
            return False
        self.statusBar().showMessage(f"Saved {target}", 8000)
        return True

    def copy_result(self) -> None:
        if self.result is not None:
            QGuiApplication.clipboard().setImage(to_qimage(self.result.result.photo.pixels))
            self.statusBar().showMessage("Result copied to the clipboard", 4000)

    def download_detector(self) -> None:
        from engine.downloads import RETINAFACE_RESNET50, fetch_weight

        if self.runner.busy:
            return
        self.runner.start(lambda cb, cancel: fetch_weight(RETINAFACE_RESNET50, callback=cb, cancel=cancel),
                          on_progress=self.on_progress, on_error=self.on_error,
                          on_success=lambda p: self.statusBar().showMessage(f"Detector saved to {p}", 8000))

    # -- drag and drop, closing ------------------------------------------------------------------
    def dragEnterEvent(self, e) -> None:  # noqa: N802
        if e.mimeData().hasUrls():
            e.acceptProposedAction()

    def dropEvent(self, e) -> None:  # noqa: N802
        paths = [u.toLocalFile() for u in e.mimeData().urls() if u.isLocalFile()]
        if not paths:
            return
        if len(paths) == 1:
            self.open_path(paths[0])
        else:
            self.open_folder(str(Path(paths[0]).parent))

    def closeEvent(self, e) -> None:  # noqa: N802
        self.save_settings()
        if self.runner.busy:
            self.runner.cancel()
            self.runner.wait(5000)
        super().closeEvent(e)


class _StatusLabel(QLabel):
    """Job status under the progress bar. A long message (a network error, a huge file's reason) wraps in
    at most three lines and never widens the window; the full text is in the tooltip."""

    MAX_LINES = 3

    def __init__(self):
        super().__init__("")
        self.setWordWrap(True)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMaximumHeight(self.fontMetrics().lineSpacing() * self.MAX_LINES + 4)

    def setText(self, text: str) -> None:  # noqa: N802 (Qt name)
        super().setText(text)
        self.setToolTip(text if len(text) > 60 else "")

