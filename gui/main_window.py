"""The main window: welcome, photo (before/after + faces + controls), step grid and batch views.

It builds the pages and holds what they share (the open photo, its result, the job runner, measured speeds);
each page's behaviour lives in its own controller (photo_page, compare_page, batch_page, saving), the menu bar
in window_menus and what is remembered between runs in window_settings. It owns one JobRunner; every engine
call happens in a job on the worker thread."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QMainWindow, QMessageBox, QProgressBar, QPushButton, QSplitter,
                               QStackedWidget, QVBoxLayout, QWidget)

from engine.cli.paths import default_model_path
from engine.device import available_devices
from engine.errors import DeviceOutOfMemory
from engine.faces.detectors import retinaface_supported
from engine.progress import PauseToken

from . import jobs
from .batch_page import BatchController
from .compare_page import CompareController
from .dialogs import show_error
from .photo_page import PhotoController
from .saving import SaveController
from .widgets.batch_view import BatchView
from .widgets.compare_view import CompareView
from .widgets.controls import Controls
from .widgets.face_panel import FacePanel
from .widgets.grid_view import GridView
from .widgets.status_label import StatusLabel
from .welcome import WelcomeView
from .window_menus import Menus
from .window_settings import WindowSettings


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
        self.upscale_rate: dict = {}  # "device/background" -> (s per processed pixel, measured?)
        self._view_scale = 1.0  # shown photo size / original size (an enlarged result is compared at its size)
        self.setAcceptDrops(True)

        self.stack = QStackedWidget()
        self.welcome = WelcomeView(available_devices())
        self.view = CompareView()
        self.faces = FacePanel()
        self.controls = Controls([d for d in available_devices()])
        self.grid = GridView()
        self.batch = BatchView()
        self.photo, self.compare, self.batch_jobs = PhotoController(self), CompareController(self), BatchController(self)
        self.saving, self.prefs, self.menus = SaveController(self), WindowSettings(self), Menus(self)
        # the window's own verbs, which the pages, the self-test and the screenshots call
        self.open_path, self.open_folder, self.restore = self.photo.open_path, self.photo.open_folder, self.photo.restore
        self.on_progress, self.on_cancelled = self.photo.on_progress, self.photo.on_cancelled
        self.zoom_to_face = self.photo.zoom_to_face
        self.compare_steps_dialog, self.run_compare = self.compare.compare_steps_dialog, self.compare.run_compare
        self.keep_run, self.start_batch = self.compare.keep_run, self.batch_jobs.start_batch
        self.save, self._write, self.save_settings = self.saving.save, self.saving.write, self.prefs.save_settings
        self._build_photo_page()
        for w in (self.welcome, self.photo_page, self.grid, self.batch):
            self.stack.addWidget(w)
        self.setCentralWidget(self.stack)
        self.menus.build()
        self._build_status()
        self._connect()
        self.prefs.load()

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
        self.progress_label = StatusLabel()
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

    def _build_status(self) -> None:
        from engine.device import resolve_device

        dev = resolve_device("auto")
        model = Path(self.model_path) if self.model_path else default_model_path()
        self.device_label = QLabel(f"Device: {dev.type.upper()}")
        self.model_label = QLabel(f"Model: {model.name}" if model.exists() else "Model: missing")
        self.statusBar().addPermanentWidget(self.device_label)
        self.statusBar().addPermanentWidget(self.model_label)

    def _connect(self) -> None:
        self.welcome.openRequested.connect(self.photo.open_dialog)
        self.welcome.folderRequested.connect(self.photo.open_folder_dialog)
        self.welcome.sampleRequested.connect(self.photo.open_sample)
        self.restore_button.clicked.connect(lambda: self.photo.restore())
        self.compare_button.clicked.connect(self.compare.compare_steps_dialog)
        self.cancel_button.clicked.connect(self.runner.cancel)
        self.faces.faceActivated.connect(self.photo.zoom_to_face)
        self.faces.alignedModeRequested.connect(lambda: self.photo.restore(aligned=True))
        self.faces.selectionChanged.connect(self.photo.update_estimate)
        self.faces.selectionChanged.connect(self.photo.selection_note)
        self.controls.changed.connect(self.photo.update_estimate)
        self.grid.cellChosen.connect(self.compare.show_run)
        self.grid.keepRequested.connect(self.compare.keep_run)
        self.grid.exportRequested.connect(self.compare.export_grid)
        self.grid.backRequested.connect(lambda: self.stack.setCurrentWidget(self.photo_page))
        self.batch.startRequested.connect(self.batch_jobs.start_batch)
        self.batch.pauseToggled.connect(lambda p: self.pause.pause() if p else self.pause.resume())
        self.batch.cancelRequested.connect(self.runner.cancel)
        self._busy_changed(False)

    # -- shared ----------------------------------------------------------------------------------
    def key(self) -> jobs.SessionKey:
        v = self.controls.values()
        return jobs.SessionKey(self.model_path, v["device"], v["precision"])

    # -- progress, errors ------------------------------------------------------------------------
    def on_error(self, info) -> None:
        self.statusBar().clearMessage()  # not "Opening …" any more
        self.progress_label.setText(f"Error: {info.message}")
        if isinstance(info.exception, DeviceOutOfMemory) and self.controls.device.currentData() != "cpu":
            if show_error(self, info, retry_text="Retry on CPU"):
                self.controls.device.setCurrentIndex(self.controls.device.findData("cpu"))
                QTimer.singleShot(0, self.photo.restore)
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
        """Once, in the status bar (not a dialog over the photo): the optional, more accurate detector."""
        from engine.downloads import RETINAFACE_RESNET50, cached_path

        if not retinaface_supported():
            return
        if cached_path(RETINAFACE_RESNET50) is None and not self.settings.value("ui/detector_offered", False):
            self.settings.setValue("ui/detector_offered", True)
            self.statusBar().showMessage(
                "Faces are found with the bundled MTCNN detector. The more accurate RetinaFace detector "
                f"({RETINAFACE_RESNET50.size / 1e6:.0f} MB) can be downloaded from Models > Download RetinaFace "
                "detector.", 20000)

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
            self.photo.open_path(paths[0])
        else:
            self.photo.open_folder(str(Path(paths[0]).parent))

    def closeEvent(self, e) -> None:  # noqa: N802
        self.prefs.save_settings()
        if self.runner.busy:
            self.runner.cancel()
            self.runner.wait(5000)
        super().closeEvent(e)
